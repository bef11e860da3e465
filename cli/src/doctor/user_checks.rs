//! Checks of the accounts that can log in through the service: each needs a
//! secret file the module accepts (regular, owner, mode, size, parseable)
//! unless `nullok` or a group gate lets it through without one, and a few
//! scratch codes left; root must not skip the code while others need it.
//! Never prints anything from a secret file but counts. Each fix names the
//! enrolment command that writes the file where the module looks for it.

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use pam_rust_totp::store::{FilePolicy, Snapshot, StoreError};
use rust_totp_core::location;
use rust_totp_core::module_options::{DEFAULT_SECRET_SPEC, FixedUser, ModuleOptions};
use rust_totp_core::otp::CodeFormat;
use rust_totp_core::state_file::StateFile;

use super::accounts::{Account, Accounts, Password};
use super::pam_analysis::{CodeAsked, PamAnalysis};
use super::report::{self, Check, Section};
use super::service::Service;
use super::sshd_checks::Logins;
use super::sshd_settings::{RootLogin, SshdSettings};
use super::system_root::SystemRoot;

/// Fewer scratch codes than this are worth a warning.
const FEW_SCRATCH_CODES: usize = 3;

pub struct UserChecks<'a> {
    pub root: &'a SystemRoot,
    pub service: &'a Service,
    pub accounts: &'a Accounts,
    /// sshd's settings and what its logins need; `None` for a service
    /// other than sshd, whose logins all run the PAM stack without a key.
    pub sshd: Option<SshdLogins<'a>>,
    pub pam: Option<&'a PamAnalysis>,
}

/// sshd's settings, and what every login needs (from the sshd checks).
pub struct SshdLogins<'a> {
    pub settings: &'a SshdSettings,
    pub logins: Logins,
}

/// Whether an account can log in over ssh.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    Yes,
    No(String),
    /// It could, but the configuration shuts it out.
    ShutOut(String),
    /// root, with a key, where sshd lets root in by key alone and asks
    /// others for the code.
    RootKeyAlone,
}

/// Where a user's secret file is and who must own it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SecretFile {
    /// The path as the checked system names it.
    shown: String,
    owner: Owner,
    /// The module's default place (`~/.google_authenticator`, the user's
    /// own), where the user can enrol by running `rust-totp`.
    default_place: bool,
}

/// What the module would make of a user's secret file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FileState {
    Missing,
    /// This process may not read it (not root).
    Unreadable(String),
    /// The module refuses it; with a fix.
    Refused(String, String),
    Valid {
        totp: bool,
        scratch_codes: usize,
        format: CodeFormat,
    },
}

impl UserChecks<'_> {
    /// One check per account that can log in over ssh, or per `requested`
    /// name.
    pub fn run(&self, requested: &[String]) -> Vec<Check> {
        if !requested.is_empty() {
            return requested.iter().map(|name| self.requested(name)).collect();
        }
        let mut checks = Vec::new();
        let mut shells_without_ssh = Vec::new();
        for account in &self.accounts.users {
            match self.reach(account) {
                Reach::Yes => checks.push(self.user_check(account)),
                Reach::ShutOut(why) => checks.push(shut_out(account, &why)),
                Reach::RootKeyAlone => checks.push(root_key_alone(account)),
                Reach::No(why) if account.no_login_shell().is_none() => {
                    shells_without_ssh.push(format!("{} ({why})", account.name));
                }
                Reach::No(_) => {}
            }
        }
        if checks.is_empty() {
            let mut detail = format!("no local account can {}", self.service.log_in());
            if !shells_without_ssh.is_empty() {
                detail = format!("{detail}: {}", shells_without_ssh.join(", "));
            }
            checks.push(Check::ok(Section::Users, "accounts", detail));
        }
        checks
    }

    fn requested(&self, name: &str) -> Check {
        let Some(account) = self.accounts.user(name) else {
            return Check::warn(
                Section::Users,
                name,
                "no such account in /etc/passwd",
                "check the name; accounts from LDAP or SSSD are not checked",
            );
        };
        match self.reach(account) {
            Reach::Yes => self.user_check(account),
            Reach::ShutOut(why) => shut_out(account, &why),
            Reach::RootKeyAlone => root_key_alone(account),
            Reach::No(why) => match self.secret_file(account) {
                Ok((file, FileState::Missing)) => Check::ok(
                    Section::Users,
                    name,
                    format!(
                        "cannot {} ({why}); no {}",
                        self.service.log_in(),
                        file.shown
                    ),
                ),
                _ => self.user_check(account),
            },
        }
    }

    fn reach(&self, account: &Account) -> Reach {
        if let Some(shell) = account.no_login_shell() {
            return Reach::No(format!("shell {shell}"));
        }
        let Some(SshdLogins { settings, logins }) = &self.sshd else {
            return self.reach_through_the_stack(account);
        };
        let has_keys = self.has_authorized_keys(settings, account);
        if account.uid == 0 {
            match settings.root_login() {
                RootLogin::No => return Reach::No("PermitRootLogin no".into()),
                RootLogin::KeyOnly if logins.all_ask_code => {
                    let why = "PermitRootLogin forbids root the keyboard-interactive method that \
                               every login needs";
                    return if has_keys {
                        Reach::ShutOut(why.into())
                    } else {
                        Reach::No(why.into())
                    };
                }
                RootLogin::KeyOnly if !has_keys => {
                    return Reach::No("PermitRootLogin allows keys only, none found".into());
                }
                RootLogin::KeyOnly if logins.some_ask_code => return Reach::RootKeyAlone,
                _ => {}
            }
        }
        if logins.all_need_key && !has_keys {
            return Reach::No("no authorized keys, and every login needs a key".into());
        }
        match self.accounts.password(&account.name) {
            Password::Usable | Password::Unknown => Reach::Yes,
            Password::Locked if has_keys => Reach::Yes,
            Password::Locked => Reach::No("password locked, no authorized keys".into()),
        }
    }

    /// A service other than sshd: whoever has a login shell, unless the
    /// stack checks a password and the account's is locked.
    fn reach_through_the_stack(&self, account: &Account) -> Reach {
        let asks_password = self.pam.is_some_and(|pam| pam.asks_password);
        if asks_password && self.accounts.password(&account.name) == Password::Locked {
            return Reach::No("password locked".into());
        }
        Reach::Yes
    }

    fn has_authorized_keys(&self, sshd: &SshdSettings, account: &Account) -> bool {
        if !sshd.pubkey_authentication() {
            return false;
        }
        if sshd.has_authorized_keys_command() {
            return true;
        }
        sshd.authorized_keys_files()
            .iter()
            .filter(|pattern| !pattern.eq_ignore_ascii_case("none"))
            .map(|pattern| expand_keys_file(pattern, account))
            .any(|path| self.root.path(path).is_file())
    }

    fn options(&self) -> ModuleOptions {
        self.pam
            .and_then(PamAnalysis::module)
            .and_then(|module| module.options.clone().ok())
            .unwrap_or_default()
    }

    /// Where the secret file is, and what the module would make of it.
    fn secret_file(&self, account: &Account) -> Result<(SecretFile, FileState), String> {
        let options = self.options();
        let (home, owner) = match &options.fixed_user {
            None => (Some(account.home.as_str()), Owner::of(account)),
            Some(FixedUser::Uid(uid)) => (None, self.owner_by_uid(*uid)),
            Some(FixedUser::Name(name)) => match self.accounts.user(name) {
                Some(owner) => (None, Owner::of(owner)),
                None => return Err(format!("user={name} names no account in /etc/passwd")),
            },
        };
        let path = location::expand(&options.secret_spec, &account.name, home)
            .map_err(|error| format!("secret={}: {error}", options.secret_spec))?;
        let default_place =
            options.fixed_user.is_none() && options.secret_spec == DEFAULT_SECRET_SPEC;
        let file = SecretFile {
            shown: path.display().to_string(),
            owner,
            default_place,
        };
        let state = inspect(&self.root.path(&path), &file, &account.name, &options);
        Ok((file, state))
    }

    fn owner_by_uid(&self, uid: u32) -> Owner {
        match self.accounts.user_by_uid(uid) {
            Some(account) => Owner::of(account),
            None => Owner {
                uid,
                name: uid.to_string(),
            },
        }
    }

    /// Every login passes keyboard-interactive, where pam_unix asks for the
    /// Unix password: an account with a locked password cannot log in.
    fn unix_password_required(&self) -> bool {
        self.sshd
            .as_ref()
            .is_some_and(|sshd| sshd.logins.all_ask_code)
            && self.pam.is_some_and(|pam| {
                pam.stack
                    .lines
                    .iter()
                    .any(|line| line.module_name() == "pam_unix.so")
            })
    }

    fn user_check(&self, account: &Account) -> Check {
        let name = account.name.as_str();
        if self.accounts.password(name) == Password::Locked && self.unix_password_required() {
            return Check::fail(
                Section::Users,
                name,
                "the password is locked, but every login passes keyboard-interactive, where \
                 pam_unix asks for it: locked out",
                format!(
                    "for key + code comment out `@include common-auth` in /etc/pam.d/sshd, \
                     or give {name} a password"
                ),
            );
        }
        let (file, state) = match self.secret_file(account) {
            Ok(found) => found,
            Err(why) => {
                return Check::fail(
                    Section::Users,
                    name,
                    why,
                    "correct the module's secret= or user= option",
                );
            }
        };
        let asked = self.code_asked(account);
        let path = file.shown.as_str();
        match state {
            FileState::Valid { format, .. }
                if self.runs_google_module() && !format.is_default() =>
            {
                google_module_ignores_format(name, &file.shown, format)
            }
            FileState::Valid {
                totp,
                scratch_codes,
                ..
            } => valid_file(name, &file, totp, scratch_codes),
            FileState::Missing => self.missing_file(name, &file, asked),
            FileState::Unreadable(error) => Check::warn(
                Section::Users,
                name,
                format!("cannot read {path}: {error}"),
                "run rust-totp doctor as root",
            ),
            FileState::Refused(why, fix) => match asked {
                Some(CodeAsked::No(skip)) => Check::warn(
                    Section::Users,
                    name,
                    format!("{path}: {why}; not asked for a code now ({skip})"),
                    fix,
                ),
                None => Check::warn(
                    Section::Users,
                    name,
                    format!(
                        "{path}: {why}, once the module is in {}'s stack",
                        self.service
                    ),
                    fix,
                ),
                Some(_) => Check::fail(Section::Users, name, format!("{path}: {why}"), fix),
            },
        }
    }

    /// Whether the service's stack runs Google's module, which knows only
    /// SHA-1 codes of six digits.
    fn runs_google_module(&self) -> bool {
        self.pam
            .and_then(PamAnalysis::module)
            .is_some_and(|module| module.line.module_name() == "pam_google_authenticator.so")
    }

    /// `None` when the module is not in the service's stack.
    fn code_asked(&self, account: &Account) -> Option<CodeAsked> {
        let pam = self.pam.filter(|pam| pam.module().is_some())?;
        Some(pam.code_asked_for(account, self.accounts))
    }

    fn missing_file(&self, name: &str, file: &SecretFile, asked: Option<CodeAsked>) -> Check {
        let enrol = format!("enrol first: {}", enrol_command(name, file));
        let path = file.shown.as_str();
        let nullok = self
            .pam
            .and_then(PamAnalysis::module)
            .is_some_and(|module| module.nullok());
        match asked {
            None => Check::warn(
                Section::Users,
                name,
                format!("no {path}: locked out once the module is enabled without nullok"),
                enrol,
            ),
            Some(CodeAsked::No(skip)) => Check::ok(
                Section::Users,
                name,
                format!("no {path}; not asked for a code ({skip})"),
            ),
            Some(_) if nullok => Check::warn(
                Section::Users,
                name,
                format!("no {path}: logs in without a code (nullok)"),
                enrol,
            ),
            Some(CodeAsked::Maybe(skip)) => Check::warn(
                Section::Users,
                name,
                format!("no {path}: locked out unless {skip} skips the module for this user"),
                enrol,
            ),
            Some(CodeAsked::Yes) => Check::fail(
                Section::Users,
                name,
                format!("no {path}: locked out (the module has no nullok)"),
                format!("{enrol}, or add nullok to the module line while users enrol"),
            ),
        }
    }
}

fn shut_out(account: &Account, why: &str) -> Check {
    Check::warn(
        Section::Users,
        account.name.as_str(),
        format!("has SSH keys but cannot log in over ssh: {why}"),
        "set `PermitRootLogin yes` (AuthenticationMethods still demands the key) \
         or give the admins their own accounts",
    )
}

fn root_key_alone(account: &Account) -> Check {
    Check::warn(
        Section::Users,
        account.name.as_str(),
        "logs in with an SSH key alone, never asked for a code: PermitRootLogin lets root use \
         keys only, not the keyboard-interactive method that asks for the code, while other \
         users are asked for it (root bypasses the second factor)",
        "ask root for the code too: `PermitRootLogin yes` with `AuthenticationMethods \
         publickey,keyboard-interactive` (globally or in a `Match User root` block), or \
         `PermitRootLogin no`",
    )
}

/// A file of codes Google's module cannot check: it accepts none of the
/// app's codes, only scratch codes.
fn google_module_ignores_format(name: &str, path: &str, format: CodeFormat) -> Check {
    Check::fail(
        Section::Users,
        name,
        format!(
            "{path}: {}-digit HMAC-{} codes, which pam_google_authenticator.so ignores: \
             it accepts only the scratch codes",
            format.digits(),
            format.algorithm().name()
        ),
        "use pam_rust_totp.so in the PAM service, or enrol the user again without \
         --algorithm and --digits",
    )
}

fn valid_file(name: &str, file: &SecretFile, totp: bool, scratch_codes: usize) -> Check {
    let kind = if totp { "TOTP" } else { "HOTP" };
    let left = report::count(scratch_codes, "scratch code", "scratch codes");
    let detail = format!("{}: {kind}, {left} left", file.shown);
    if scratch_codes < FEW_SCRATCH_CODES {
        return Check::warn(
            Section::Users,
            name,
            detail,
            format!(
                "enrol {name} again ({}) and keep the new scratch codes",
                enrol_command(name, file)
            ),
        );
    }
    Check::ok(Section::Users, name, detail)
}

/// The command that writes `name`'s secret file where the module looks for
/// it: run by the user for the default place, else by root for that path,
/// handing the file to its owner when `user=` names another account.
fn enrol_command(name: &str, file: &SecretFile) -> String {
    if file.default_place {
        return format!("run `rust-totp` as {name}, or as root `rust-totp --user {name}`");
    }
    let path = &file.shown;
    let command = format!("as root: `rust-totp --user {name} -s {path}`");
    if file.owner.name == name {
        command
    } else {
        format!("{command}, then `chown {} {path}`", file.owner.name)
    }
}

/// An `AuthorizedKeysFile` pattern for `account`, as a path on the checked
/// system: `%h`, `%u`, `%U` and `%%` replaced, relative to the home.
fn expand_keys_file(pattern: &str, account: &Account) -> PathBuf {
    let mut expanded = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            expanded.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => expanded.push_str(&account.home),
            Some('u') => expanded.push_str(&account.name),
            Some('U') => expanded.push_str(&account.uid.to_string()),
            Some(other) => expanded.push(other),
            None => {}
        }
    }
    Path::new(&account.home).join(expanded)
}

/// The account whose file it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    uid: u32,
    name: String,
}

impl Owner {
    fn of(account: &Account) -> Self {
        Owner {
            uid: account.uid,
            name: account.name.clone(),
        }
    }
}

/// The module's checks, in its order: type, mode, owner, size; then
/// parsing. `path` is `file` on this machine, `name` the user's.
fn inspect(path: &Path, file: &SecretFile, name: &str, options: &ModuleOptions) -> FileState {
    let policy = FilePolicy::of_module(file.owner.uid, options);
    match Snapshot::read(path, &policy) {
        Ok(snapshot) => match StateFile::parse(snapshot.contents()) {
            Ok(state) => FileState::Valid {
                totp: state.is_totp(),
                scratch_codes: state.scratch_codes().len(),
                format: state.code_format(),
            },
            Err(error) => FileState::Refused(
                format!("cannot be parsed: {error}"),
                format!(
                    "enrol {name} again ({}), or repair the line named",
                    enrol_command(name, file)
                ),
            ),
        },
        Err(error) => refusal(&error, file, name),
    }
}

/// What the module's refusal of the file means for the admin.
fn refusal(error: &StoreError, file: &SecretFile, name: &str) -> FileState {
    let (shown, owner) = (&file.shown, &file.owner);
    match *error {
        StoreError::NotFound { .. } => FileState::Missing,
        StoreError::Resolve {
            source: Errno::ENOTDIR,
            ..
        } => FileState::Missing,
        StoreError::NotRegularFile { kind, .. } => FileState::Refused(
            format!("not a regular file but a {kind}"),
            format!(
                "replace it with the file rust-totp writes ({})",
                enrol_command(name, file)
            ),
        ),
        StoreError::TooPermissive { mode, allowed, .. } => FileState::Refused(
            format!("mode {mode:04o}, the module accepts at most {allowed:04o}"),
            format!("chmod 600 {shown}"),
        ),
        StoreError::WrongOwner { owner: uid, .. } => FileState::Refused(
            format!(
                "owned by uid {uid}, the module wants {} (uid {})",
                owner.name, owner.uid
            ),
            format!("chown {} {shown}", owner.name),
        ),
        StoreError::InvalidSize { size, max, .. } => FileState::Refused(
            format!("{size} bytes, the module accepts 1 to {max}"),
            format!("enrol {name} again ({})", enrol_command(name, file)),
        ),
        _ => FileState::Unreadable(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt as _;

    const STATE: &str = "JBSWY3DPEHPK3PXP\n\" TOTP_AUTH\n11111111\n22222222\n";

    fn me() -> Owner {
        Owner {
            uid: nix::unistd::geteuid().as_raw(),
            name: "me".into(),
        }
    }

    /// The file shown as `/x`, in the default place.
    fn at_x(owner: Owner) -> SecretFile {
        SecretFile {
            shown: "/x".into(),
            owner,
            default_place: true,
        }
    }

    fn file(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let path = dir.join("state");
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn valid_file_counts_scratch_codes() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), STATE, 0o400);
        let state = inspect(&path, &at_x(me()), "me", &ModuleOptions::default());
        assert_eq!(
            state,
            FileState::Valid {
                totp: true,
                scratch_codes: 2,
                format: CodeFormat::DEFAULT,
            }
        );
        assert_eq!(
            valid_file("alice", &at_x(me()), true, 2).status,
            crate::doctor::report::Status::Warn
        );
        assert_eq!(
            valid_file("alice", &at_x(me()), true, 5).status,
            crate::doctor::report::Status::Ok
        );
    }

    #[test]
    fn refusals_follow_the_module() {
        let dir = tempfile::tempdir().unwrap();
        let options = ModuleOptions::default();
        let loose = file(dir.path(), STATE, 0o644);
        let FileState::Refused(why, fix) = inspect(&loose, &at_x(me()), "me", &options) else {
            panic!("mode 0644 must be refused");
        };
        assert!(why.contains("mode 0644"));
        assert_eq!(fix, "chmod 600 /x");
        let relaxed = ModuleOptions::parse(&["allowed_perm=0644"]).unwrap();
        assert!(matches!(
            inspect(&loose, &at_x(me()), "me", &relaxed),
            FileState::Valid { .. }
        ));

        let other = Owner {
            uid: me().uid + 1,
            name: "alice".into(),
        };
        let strict = file(dir.path(), STATE, 0o600);
        let FileState::Refused(why, fix) = inspect(&strict, &at_x(other.clone()), "me", &options)
        else {
            panic!("a file of another owner must be refused");
        };
        assert!(why.contains("wants alice"));
        assert_eq!(fix, "chown alice /x");
        let lenient = ModuleOptions::parse(&["no_strict_owner"]).unwrap();
        assert!(matches!(
            inspect(&strict, &at_x(other.clone()), "me", &lenient),
            FileState::Valid { .. }
        ));

        let empty = file(dir.path(), "", 0o600);
        assert!(matches!(
            inspect(&empty, &at_x(me()), "me", &options),
            FileState::Refused(..)
        ));
        let garbage = file(dir.path(), "not base32 !!\n", 0o600);
        let FileState::Refused(why, _) = inspect(&garbage, &at_x(me()), "me", &options) else {
            panic!("garbage must be refused");
        };
        assert!(why.starts_with("cannot be parsed"));
        assert!(matches!(
            inspect(dir.path(), &at_x(me()), "me", &options),
            FileState::Refused(..)
        ));
        assert_eq!(
            inspect(&dir.path().join("none"), &at_x(me()), "me", &options),
            FileState::Missing
        );
        assert_eq!(
            inspect(&garbage.join("below-a-file"), &at_x(me()), "me", &options),
            FileState::Missing
        );
    }

    #[test]
    fn authorized_keys_patterns() {
        let account = Account {
            name: "alice".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/alice".into(),
            shell: "/bin/sh".into(),
        };
        assert_eq!(
            expand_keys_file(".ssh/authorized_keys", &account),
            PathBuf::from("/home/alice/.ssh/authorized_keys")
        );
        assert_eq!(
            expand_keys_file("/etc/ssh/keys/%u-%U%%", &account),
            PathBuf::from("/etc/ssh/keys/alice-1000%")
        );
        assert_eq!(
            expand_keys_file("%h/.ssh/keys", &account),
            PathBuf::from("/home/alice/.ssh/keys")
        );
    }
}
