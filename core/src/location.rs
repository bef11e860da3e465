//! Expansion of the `secret=` specification into the state file's path.
//!
//! As in the reference, `~` (at the start or right after a `/`) and
//! `${HOME}` stand for the user's home directory and `${USER}` for the user
//! name. Unlike the reference, a user name that could move the path
//! elsewhere (`..`, a `/`) is refused, and the result must be absolute.

use std::path::PathBuf;

/// Why `secret=` could not be turned into a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error("the home directory in 'secret' cannot be used together with 'user'")]
    HomeWithFixedUser,
    #[error("the user name \"{0}\" cannot be used in a file name")]
    UnsafeUserName(String),
    #[error("the home directory \"{0}\" is not absolute")]
    RelativeHome(String),
    #[error("the secret file path \"{0}\" is not absolute")]
    NotAbsolute(String),
}

/// Expands `spec` for `user`, whose home directory is `home` (`None` when
/// the module reads the file as a fixed `user=`).
pub fn expand(spec: &str, user: &str, home: Option<&str>) -> Result<PathBuf, LocationError> {
    let home_dir = || -> Result<&str, LocationError> {
        let home = home.ok_or(LocationError::HomeWithFixedUser)?;
        if home.starts_with('/') {
            Ok(home)
        } else {
            Err(LocationError::RelativeHome(home.to_owned()))
        }
    };
    let mut path = String::with_capacity(spec.len() + 32);
    let mut rest = spec;
    let mut tilde_allowed = true;
    while let Some(c) = rest.chars().next() {
        if tilde_allowed && c == '~' {
            path.push_str(home_dir()?);
            rest = &rest[1..];
            tilde_allowed = false;
        } else if let Some(after) = rest.strip_prefix("${HOME}") {
            path.push_str(home_dir()?);
            rest = after;
            tilde_allowed = false;
        } else if let Some(after) = rest.strip_prefix("${USER}") {
            path.push_str(safe_user_name(user)?);
            rest = after;
            tilde_allowed = false;
        } else {
            path.push(c);
            rest = &rest[c.len_utf8()..];
            tilde_allowed = c == '/';
        }
    }
    if !path.starts_with('/') {
        return Err(LocationError::NotAbsolute(path));
    }
    Ok(PathBuf::from(path))
}

fn safe_user_name(user: &str) -> Result<&str, LocationError> {
    let unsafe_name = user.is_empty() || user == "." || user == ".." || user.contains(['/', '\0']);
    if unsafe_name {
        Err(LocationError::UnsafeUserName(user.to_owned()))
    } else {
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice(spec: &str) -> Result<PathBuf, LocationError> {
        expand(spec, "alice", Some("/home/alice"))
    }

    #[test]
    fn default_location() {
        assert_eq!(
            alice("~/.google_authenticator"),
            Ok(PathBuf::from("/home/alice/.google_authenticator"))
        );
    }

    #[test]
    fn variables_and_tilde_positions() {
        assert_eq!(
            alice("/var/lib/totp/${USER}/~/x"),
            Ok(PathBuf::from("/var/lib/totp/alice//home/alice/x"))
        );
        assert_eq!(
            alice("${HOME}/.ga-${USER}"),
            Ok(PathBuf::from("/home/alice/.ga-alice"))
        );
        // A tilde right after a substitution or inside a name stays.
        assert_eq!(alice("${HOME}~"), Ok(PathBuf::from("/home/alice~")));
        assert_eq!(alice("/a~b"), Ok(PathBuf::from("/a~b")));
        assert_eq!(alice("/x/${SHELL}"), Ok(PathBuf::from("/x/${SHELL}")));
    }

    #[test]
    fn fixed_user_has_no_home() {
        assert_eq!(
            expand("/etc/totp/${USER}", "alice", None),
            Ok(PathBuf::from("/etc/totp/alice"))
        );
        assert_eq!(
            expand("~/.google_authenticator", "alice", None),
            Err(LocationError::HomeWithFixedUser)
        );
    }

    #[test]
    fn user_names_cannot_escape() {
        for name in ["..", ".", "../bob", "a/b", "", "a\0b"] {
            assert_eq!(
                expand("/etc/totp/${USER}", name, None),
                Err(LocationError::UnsafeUserName(name.to_owned())),
                "{name:?}"
            );
        }
    }

    #[test]
    fn relative_paths_are_refused() {
        assert_eq!(
            alice("${USER}.totp"),
            Err(LocationError::NotAbsolute("alice.totp".into()))
        );
        assert_eq!(
            expand("~/.x", "alice", Some("home/alice")),
            Err(LocationError::RelativeHome("home/alice".into()))
        );
    }
}
