//! The module's arguments, as written after `pam_rust_totp.so` in a pam.d
//! file: the same names, spellings and meanings as `pam_google_authenticator`.
//!
//! Parsing is strict: an unknown or malformed argument is an error, and the
//! module then refuses the login, as the reference does.

use crate::verifier::{PassMode, Settings};

/// The state file location used when `secret=` is not given.
pub const DEFAULT_SECRET_SPEC: &str = "~/.google_authenticator";

/// The prompt when `authtok_prompt=` is not given.
pub const CODE_PROMPT: &str = "Verification code: ";

/// The prompt with `forward_pass` when `authtok_prompt=` is not given.
pub const PASSWORD_AND_CODE_PROMPT: &str = "Password & verification code: ";

/// The user whose identity is used for the file when `user=` is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixedUser {
    Uid(u32),
    Name(String),
}

/// All module arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleOptions {
    /// `secret=`: where the state file is, with `~`, `${HOME}` and `${USER}`.
    pub secret_spec: String,
    /// `authtok_prompt=`.
    pub prompt: Option<String>,
    /// `user=`: read the file as this user instead of the one logging in.
    pub fixed_user: Option<FixedUser>,
    /// `nullok`: a user without a state file is let through (`PAM_IGNORE`).
    pub nullok: bool,
    /// `no_strict_owner`: the file need not be owned by the user.
    pub no_strict_owner: bool,
    /// `allowed_perm=`: the permission bits the file may have.
    pub allowed_perm: u32,
    /// `echo_verification_code`: the code is shown while typed.
    pub echo_code: bool,
    /// `allow_readonly`: a login is allowed even when the state file cannot
    /// be updated.
    pub allow_readonly: bool,
    /// `debug`: log more detail (never codes or secrets).
    pub debug: bool,
    /// Options that change verification: pass modes, `forward_pass`,
    /// `noskewadj`, `no_increment_hotp`, `grace_period=`.
    pub settings: Settings,
}

impl Default for ModuleOptions {
    fn default() -> Self {
        Self {
            secret_spec: DEFAULT_SECRET_SPEC.to_owned(),
            prompt: None,
            fixed_user: None,
            nullok: false,
            no_strict_owner: false,
            allowed_perm: 0o600,
            echo_code: false,
            allow_readonly: false,
            debug: false,
            settings: Settings::default(),
        }
    }
}

/// A module argument that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("unrecognized option \"{0}\"")]
    Unknown(String),
    #[error("invalid \"{0}\": allowed_perm must be a non-zero octal mode such as 0600")]
    Permissions(String),
    #[error("invalid \"{0}\": grace_period must be a whole number of seconds")]
    GracePeriod(String),
    #[error("invalid \"{0}\": user must name an account or a numeric uid")]
    User(String),
    #[error("invalid \"{0}\": secret must name a file")]
    Secret(String),
}

impl ModuleOptions {
    /// Parses the module arguments in order; a later argument overrides an
    /// earlier one of the same kind.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Self, OptionError> {
        let mut options = Self::default();
        for arg in args {
            options.apply(arg.as_ref())?;
        }
        Ok(options)
    }

    /// The prompt to show.
    pub fn prompt(&self) -> &str {
        match &self.prompt {
            Some(prompt) => prompt,
            None if self.settings.forward_pass => PASSWORD_AND_CODE_PROMPT,
            None => CODE_PROMPT,
        }
    }

    fn apply(&mut self, arg: &str) -> Result<(), OptionError> {
        if let Some((name, value)) = arg.split_once('=') {
            return self.apply_valued(arg, name, value);
        }
        let settings = &mut self.settings;
        match arg {
            "nullok" => self.nullok = true,
            "no_strict_owner" => self.no_strict_owner = true,
            "debug" => self.debug = true,
            "allow_readonly" => self.allow_readonly = true,
            "echo_verification_code" | "echo-verification-code" => self.echo_code = true,
            "try_first_pass" => settings.pass_mode = PassMode::TryFirstPass,
            "use_first_pass" => settings.pass_mode = PassMode::UseFirstPass,
            "forward_pass" => settings.forward_pass = true,
            "noskewadj" => settings.noskewadj = true,
            "no_increment_hotp" => settings.no_increment_hotp = true,
            _ => return Err(OptionError::Unknown(arg.to_owned())),
        }
        Ok(())
    }

    fn apply_valued(&mut self, arg: &str, name: &str, value: &str) -> Result<(), OptionError> {
        match name {
            "secret" if !value.is_empty() => self.secret_spec = value.to_owned(),
            "secret" => return Err(OptionError::Secret(arg.to_owned())),
            "authtok_prompt" => self.prompt = Some(value.to_owned()),
            "user" => self.fixed_user = Some(parse_user(value, arg)?),
            "allowed_perm" => self.allowed_perm = parse_permissions(value, arg)?,
            "grace_period" => {
                self.settings.grace_period =
                    parse_decimal(value).ok_or_else(|| OptionError::GracePeriod(arg.to_owned()))?;
            }
            _ => return Err(OptionError::Unknown(arg.to_owned())),
        }
        Ok(())
    }
}

fn parse_decimal(value: &str) -> Option<u64> {
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| value.parse().ok()).flatten()
}

fn parse_user(value: &str, arg: &str) -> Result<FixedUser, OptionError> {
    if value.is_empty() {
        return Err(OptionError::User(arg.to_owned()));
    }
    Ok(
        match parse_decimal(value).and_then(|n| u32::try_from(n).ok()) {
            Some(uid) => FixedUser::Uid(uid),
            None => FixedUser::Name(value.to_owned()),
        },
    )
}

fn parse_permissions(value: &str, arg: &str) -> Result<u32, OptionError> {
    let octal = !value.is_empty() && value.bytes().all(|b| (b'0'..=b'7').contains(&b));
    octal
        .then(|| u32::from_str_radix(value, 8).ok())
        .flatten()
        .filter(|mode| (1..=0o7777).contains(mode))
        .ok_or_else(|| OptionError::Permissions(arg.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_reference() {
        let options = ModuleOptions::parse::<&str>(&[]).expect("no options");
        assert_eq!(options.secret_spec, "~/.google_authenticator");
        assert_eq!(options.allowed_perm, 0o600);
        assert_eq!(options.prompt(), "Verification code: ");
        assert!(!options.nullok);
    }

    #[test]
    fn every_reference_option_is_understood() {
        let options = ModuleOptions::parse(&[
            "secret=/var/lib/totp/${USER}",
            "authtok_prompt=Your code: ",
            "user=root",
            "nullok",
            "no_strict_owner",
            "allowed_perm=0640",
            "echo-verification-code",
            "allow_readonly",
            "debug",
            "try_first_pass",
            "forward_pass",
            "noskewadj",
            "no_increment_hotp",
            "grace_period=86400",
        ])
        .expect("valid options");
        assert_eq!(options.secret_spec, "/var/lib/totp/${USER}");
        assert_eq!(options.prompt(), "Your code: ");
        assert_eq!(options.fixed_user, Some(FixedUser::Name("root".into())));
        assert!(options.nullok && options.no_strict_owner && options.echo_code);
        assert!(options.allow_readonly && options.debug);
        assert_eq!(options.allowed_perm, 0o640);
        assert_eq!(
            options.settings,
            Settings {
                pass_mode: PassMode::TryFirstPass,
                forward_pass: true,
                noskewadj: true,
                no_increment_hotp: true,
                grace_period: 86400,
            }
        );
    }

    #[test]
    fn forward_pass_changes_the_default_prompt() {
        let options = ModuleOptions::parse(&["forward_pass"]).expect("valid");
        assert_eq!(options.prompt(), "Password & verification code: ");
        let options =
            ModuleOptions::parse(&["use_first_pass", "echo_verification_code"]).expect("valid");
        assert_eq!(options.settings.pass_mode, PassMode::UseFirstPass);
        assert!(options.echo_code);
    }

    #[test]
    fn numeric_user_is_a_uid() {
        let options = ModuleOptions::parse(&["user=1001"]).expect("valid");
        assert_eq!(options.fixed_user, Some(FixedUser::Uid(1001)));
    }

    #[test]
    fn malformed_options_are_refused() {
        for (arg, want) in [
            ("nulok", OptionError::Unknown("nulok".into())),
            (
                "secret_file=/x",
                OptionError::Unknown("secret_file=/x".into()),
            ),
            (
                "allowed_perm=0",
                OptionError::Permissions("allowed_perm=0".into()),
            ),
            (
                "allowed_perm=0689",
                OptionError::Permissions("allowed_perm=0689".into()),
            ),
            (
                "allowed_perm=",
                OptionError::Permissions("allowed_perm=".into()),
            ),
            (
                "grace_period=-5",
                OptionError::GracePeriod("grace_period=-5".into()),
            ),
            (
                "grace_period=1h",
                OptionError::GracePeriod("grace_period=1h".into()),
            ),
            (
                "grace_period=+5",
                OptionError::GracePeriod("grace_period=+5".into()),
            ),
            (
                "grace_period=",
                OptionError::GracePeriod("grace_period=".into()),
            ),
            (
                "allowed_perm=+600",
                OptionError::Permissions("allowed_perm=+600".into()),
            ),
            (
                "allowed_perm=010000",
                OptionError::Permissions("allowed_perm=010000".into()),
            ),
            ("user=", OptionError::User("user=".into())),
            ("secret=", OptionError::Secret("secret=".into())),
        ] {
            assert_eq!(ModuleOptions::parse(&[arg]), Err(want), "{arg}");
        }
    }
}
