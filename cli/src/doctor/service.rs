//! The PAM service whose stack is checked: `sshd` unless `--service` names
//! another one. Only for sshd are sshd's own settings read and SSH keys
//! counted; any other service is judged by its PAM stack and the accounts'
//! shells and passwords alone.

use std::fmt;

/// The PAM service name sshd uses.
const SSHD: &str = "sshd";

/// A PAM service name: the name of a file in the PAM directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service(String);

impl Default for Service {
    fn default() -> Self {
        Service(SSHD.to_owned())
    }
}

impl Service {
    /// A service name as given on the command line: a plain file name.
    pub fn parse(name: &str) -> Result<Service, String> {
        if name.is_empty() {
            return Err("the service name is empty".into());
        }
        if name == "." || name == ".." || name.contains('/') {
            return Err(format!(
                "\"{name}\" is not a file name in /etc/pam.d (no \"/\", not \".\" or \"..\")"
            ));
        }
        if let Some(c) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "\"{}\" contains {c:?}; a PAM service name has no blanks or control characters",
                name.escape_debug()
            ));
        }
        Ok(Service(name.to_owned()))
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// Whether sshd's settings decide who reaches this stack.
    pub fn is_sshd(&self) -> bool {
        self.0 == SSHD
    }

    /// The service's file as the checked system names it.
    pub fn file(&self) -> String {
        format!("/etc/pam.d/{}", self.0)
    }

    /// How a login through the service is called in messages.
    pub fn logins(&self) -> String {
        if self.is_sshd() {
            "ssh login".to_owned()
        } else {
            format!("login through {}", self.0)
        }
    }

    /// "log in over ssh", or through the service.
    pub fn log_in(&self) -> String {
        if self.is_sshd() {
            "log in over ssh".to_owned()
        } else {
            format!("log in through {}", self.0)
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_file_names_are_services() {
        for name in ["sshd", "login", "su", "common-auth", "cockpit", "Sshd.2fa"] {
            assert_eq!(Service::parse(name).unwrap().name(), name);
        }
        assert!(Service::default().is_sshd());
        assert!(!Service::parse("login").unwrap().is_sshd());
        assert_eq!(Service::parse("su").unwrap().file(), "/etc/pam.d/su");
    }

    #[test]
    fn paths_blanks_and_empty_names_are_refused() {
        for name in [
            "",
            ".",
            "..",
            "/etc/pam.d/sshd",
            "../shadow",
            "a b",
            "ssh\td",
            "x\n",
        ] {
            let error = Service::parse(name).unwrap_err();
            assert!(!error.is_empty(), "{name:?}");
        }
        assert!(Service::parse("a b").unwrap_err().contains("' '"));
    }
}
