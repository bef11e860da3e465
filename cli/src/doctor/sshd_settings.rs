//! The effective sshd settings the checks need: what `sshd -T` prints when
//! it can run, else what the files say, with OpenSSH's defaults for
//! keywords that are not set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::origin::Origin;
use super::report::{Check, Section};
use super::sshd_config::{self, ConfigFiles, MatchBlock};
use super::system_root::SystemRoot;

/// Where sshd usually is; `PATH` is searched after these, since the
/// `sbin` directories are often missing from it.
const SSHD_LOCATIONS: [&str; 3] = ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"];

/// What `PermitRootLogin` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootLogin {
    /// `yes`: every method.
    Any,
    /// `prohibit-password`, `without-password`, `forced-commands-only`:
    /// public key and host-based only; never keyboard-interactive.
    KeyOnly,
    No,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshdSettings {
    values: BTreeMap<String, Vec<String>>,
    files: Option<ConfigFiles>,
}

impl SshdSettings {
    /// From `sshd -T` output; `files` still supplies line numbers and
    /// `Match` blocks.
    pub fn from_dump(dump: &str, files: Option<ConfigFiles>) -> Self {
        let mut values = BTreeMap::new();
        for line in dump.lines() {
            let mut words = line.split_whitespace();
            if let Some(keyword) = words.next() {
                values
                    .entry(keyword.to_ascii_lowercase())
                    .or_insert_with(|| words.map(str::to_owned).collect());
            }
        }
        SshdSettings { values, files }
    }

    pub fn from_files(files: ConfigFiles) -> Self {
        let values = files
            .global
            .iter()
            .map(|(keyword, directive)| (keyword.clone(), directive.args.clone()))
            .collect();
        SshdSettings {
            values,
            files: Some(files),
        }
    }

    fn flag(&self, keyword: &str, default: bool) -> bool {
        match self.values.get(keyword).and_then(|args| args.first()) {
            Some(value) => value.eq_ignore_ascii_case("yes"),
            None => default,
        }
    }

    pub fn use_pam(&self) -> bool {
        self.flag("usepam", false)
    }

    /// OpenSSH before 8.7 prints both keywords and needs both.
    pub fn kbd_interactive(&self) -> bool {
        self.flag("kbdinteractiveauthentication", true)
            && self.flag("challengeresponseauthentication", true)
    }

    pub fn password_authentication(&self) -> bool {
        self.flag("passwordauthentication", true)
    }

    pub fn pubkey_authentication(&self) -> bool {
        self.flag("pubkeyauthentication", true)
    }

    pub fn hostbased_authentication(&self) -> bool {
        self.flag("hostbasedauthentication", false)
    }

    pub fn gssapi_authentication(&self) -> bool {
        self.flag("gssapiauthentication", false)
    }

    /// The `AuthenticationMethods` lists, `["any"]` by default.
    pub fn authentication_methods(&self) -> Vec<String> {
        match self.values.get("authenticationmethods") {
            Some(lists) if !lists.is_empty() => lists.clone(),
            _ => vec!["any".to_owned()],
        }
    }

    pub fn root_login(&self) -> RootLogin {
        let value = self
            .values
            .get("permitrootlogin")
            .and_then(|args| args.first())
            .map(|value| value.to_ascii_lowercase());
        match value.as_deref() {
            Some("yes") => RootLogin::Any,
            Some("no") => RootLogin::No,
            _ => RootLogin::KeyOnly,
        }
    }

    /// `AuthorizedKeysFile` patterns (`%h`, `%u`, `%%`; relative to home).
    pub fn authorized_keys_files(&self) -> Vec<String> {
        match self.values.get("authorizedkeysfile") {
            Some(files) if !files.is_empty() => files.clone(),
            _ => vec![
                ".ssh/authorized_keys".to_owned(),
                ".ssh/authorized_keys2".to_owned(),
            ],
        }
    }

    pub fn has_authorized_keys_command(&self) -> bool {
        self.values
            .get("authorizedkeyscommand")
            .and_then(|args| args.first())
            .is_some_and(|command| !command.eq_ignore_ascii_case("none"))
    }

    /// The file and line that set `keyword`, when the files were read.
    pub fn origin(&self, keyword: &str) -> Option<&Origin> {
        self.files
            .as_ref()
            .and_then(|files| files.global.get(keyword))
            .map(|directive| &directive.origin)
    }

    pub fn match_blocks(&self) -> &[MatchBlock] {
        self.files
            .as_ref()
            .map_or(&[], |files| files.match_blocks.as_slice())
    }
}

/// How to find the settings.
pub struct LoadOptions<'a> {
    pub root: &'a SystemRoot,
    /// The main configuration file on this machine.
    pub config: &'a Path,
    /// Whether to try `sshd -T` at all.
    pub run_sshd_t: bool,
}

/// The settings, a description of where they came from, and findings about
/// reading them.
pub struct Loaded {
    pub settings: SshdSettings,
    pub source: String,
    pub findings: Vec<Check>,
}

pub fn load(options: &LoadOptions<'_>) -> Loaded {
    let shown_config = options.root.show(options.config);
    let files = sshd_config::read(options.root, options.config);
    let mut findings = Vec::new();
    if let Ok(files) = &files {
        for problem in &files.problems {
            findings.push(Check::warn(
                Section::Sshd,
                "Include",
                problem.clone(),
                "fix or remove the Include line; sshd -t shows what sshd makes of it",
            ));
        }
    }
    let dump = if options.run_sshd_t {
        run_sshd_t(options.config)
    } else {
        Err(DumpError::NotRun)
    };
    let (settings, source) = match (dump, files) {
        (Ok(dump), files) => (
            SshdSettings::from_dump(&dump, files.ok()),
            format!("sshd -T -f {shown_config}"),
        ),
        (Err(why), Ok(files)) => {
            if let DumpError::Failed(message) = &why {
                findings.push(sshd_t_failed(message));
            }
            (
                SshdSettings::from_files(files),
                format!("{shown_config} and its Includes ({})", why.describe()),
            )
        }
        (Err(_), Err(error)) => {
            findings.push(Check::fail(
                Section::Sshd,
                "sshd_config",
                error.to_string(),
                "point --sshd-config at sshd's configuration file",
            ));
            (SshdSettings::default(), "OpenSSH defaults".to_owned())
        }
    };
    Loaded {
        settings,
        source,
        findings,
    }
}

fn sshd_t_failed(message: &str) -> Check {
    if nix::unistd::geteuid().is_root() {
        Check::warn(
            Section::Sshd,
            "sshd -T",
            format!("failed: {message}"),
            "fix the configuration until `sshd -t` passes; sshd will not restart until then",
        )
    } else {
        Check::warn(
            Section::Sshd,
            "sshd -T",
            format!("failed as non-root ({message}); read the files instead"),
            "run rust-totp doctor as root for sshd's own view and all secret files",
        )
    }
}

enum DumpError {
    NotRun,
    NoSshd,
    Failed(String),
}

impl DumpError {
    fn describe(&self) -> &'static str {
        match self {
            DumpError::NotRun => "sshd -T not run",
            DumpError::NoSshd => "sshd not found",
            DumpError::Failed(_) => "sshd -T failed",
        }
    }
}

fn run_sshd_t(config: &Path) -> Result<String, DumpError> {
    let sshd = find_sshd().ok_or(DumpError::NoSshd)?;
    let output = Command::new(&sshd)
        .arg("-T")
        .arg("-f")
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| DumpError::Failed(format!("cannot run {}: {error}", sshd.display())))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let message = stderr
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map_or_else(|| output.status.to_string(), str::to_owned);
    Err(DumpError::Failed(message))
}

fn find_sshd() -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    SSHD_LOCATIONS
        .iter()
        .map(PathBuf::from)
        .chain(path_dirs.into_iter().map(|dir| dir.join("sshd")))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_DUMP: &str = "port 22\nusepam yes\npermitrootlogin without-password\n\
        pubkeyauthentication yes\npasswordauthentication yes\n\
        kbdinteractiveauthentication no\nauthenticationmethods any\n\
        authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2\n\
        authorizedkeyscommand none\n";

    #[test]
    fn dump_values() {
        let settings = SshdSettings::from_dump(DEBIAN_DUMP, None);
        assert!(settings.use_pam());
        assert!(!settings.kbd_interactive());
        assert!(settings.password_authentication());
        assert!(settings.pubkey_authentication());
        assert_eq!(settings.authentication_methods(), vec!["any"]);
        assert_eq!(settings.root_login(), RootLogin::KeyOnly);
        assert!(!settings.has_authorized_keys_command());
        assert_eq!(settings.authorized_keys_files().len(), 2);
        assert!(settings.match_blocks().is_empty());
    }

    #[test]
    fn old_openssh_needs_challenge_response_too() {
        let dump = "kbdinteractiveauthentication yes\nchallengeresponseauthentication no\n";
        assert!(!SshdSettings::from_dump(dump, None).kbd_interactive());
    }

    #[test]
    fn defaults_are_openssh_defaults() {
        let settings = SshdSettings::default();
        assert!(!settings.use_pam());
        assert!(settings.kbd_interactive());
        assert!(settings.password_authentication());
        assert!(!settings.hostbased_authentication());
        assert!(!settings.gssapi_authentication());
        assert_eq!(settings.root_login(), RootLogin::KeyOnly);
        assert_eq!(
            settings.authorized_keys_files(),
            vec![".ssh/authorized_keys", ".ssh/authorized_keys2"]
        );
    }

    #[test]
    fn root_login_values() {
        let with = |value: &str| {
            SshdSettings::from_dump(&format!("permitrootlogin {value}\n"), None).root_login()
        };
        assert_eq!(with("yes"), RootLogin::Any);
        assert_eq!(with("no"), RootLogin::No);
        assert_eq!(with("prohibit-password"), RootLogin::KeyOnly);
        assert_eq!(with("forced-commands-only"), RootLogin::KeyOnly);
    }

    #[test]
    fn files_give_values_and_origins() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path().to_owned());
        let config = root.path("/etc/ssh/sshd_config");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(
            &config,
            "# x\nUsePAM no\nAuthenticationMethods publickey password\n",
        )
        .unwrap();
        let loaded = load(&LoadOptions {
            root: &root,
            config: &config,
            run_sshd_t: false,
        });
        assert!(loaded.findings.is_empty());
        assert!(!loaded.settings.use_pam());
        assert_eq!(
            loaded.settings.origin("usepam").unwrap().to_string(),
            "/etc/ssh/sshd_config:2"
        );
        assert_eq!(
            loaded.settings.authentication_methods(),
            vec!["publickey", "password"]
        );
        assert!(loaded.source.contains("sshd -T not run"));
    }

    #[test]
    fn missing_files_fail_and_fall_back_to_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path().to_owned());
        let loaded = load(&LoadOptions {
            root: &root,
            config: &root.path("/etc/ssh/sshd_config"),
            run_sshd_t: false,
        });
        assert_eq!(loaded.findings.len(), 1);
        assert_eq!(loaded.findings[0].name, "sshd_config");
        assert_eq!(loaded.settings, SshdSettings::default());
    }
}
