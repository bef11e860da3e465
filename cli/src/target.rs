//! Whose secret file a command works on, where it is, and with which
//! identity it is read and written.
//!
//! Without `--user` it is the invoking user's file, `~/.google_authenticator`
//! from `$HOME` unless `-s` names another, used with the process's own
//! identity. With `--user NAME` (root only, but for one's own name) it is
//! NAME's: the default path is in NAME's home from the password database,
//! and every file operation runs with NAME's file-system uid and primary
//! group ([`pam_rust_totp::privilege`]), as the PAM module does, so that the
//! file and its lock file belong to NAME and a path or link can reach
//! nothing NAME could not.
//!
//! Root working on a file in another user's directory without `--user` is
//! warned: the file (or its lock file) would belong to root, and the
//! module refuses a file that is not the user's and logins that cannot
//! take the lock.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::unistd::{geteuid, getuid};
use pam_rust_totp::privilege::{
    PrivilegeError, UserAccount, UserIdentity, lookup_user_by_name, lookup_user_by_uid,
};
use pam_rust_totp::store::StoreError;

use crate::args::FileTarget;
use crate::identity::{self, NoHomeDirectory};

/// Why the file to work on could not be settled.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    NoHome(#[from] NoHomeDirectory),
    #[error("no user \"{0}\" (--user)")]
    UnknownUser(String),
    #[error("only root can act for another user (--user {0})")]
    NotRoot(String),
    #[error("user \"{name}\" has no absolute home directory (\"{}\"); use -s FILE", home.display())]
    NoUserHome { name: String, home: PathBuf },
    #[error("cannot act as user \"{name}\": {source}")]
    Identity {
        name: String,
        source: PrivilegeError,
    },
}

/// The user whose file it is, and the file.
#[derive(Debug)]
pub struct Target {
    /// The file as named (a symbolic link is followed by the store).
    pub path: PathBuf,
    /// The user's name: the default label is `NAME@host`.
    pub user_name: String,
    /// The uid the file must belong to.
    pub owner_uid: u32,
    /// Set with `--user`: the identity to take for every file operation.
    identity: Option<(UserAccount, UserIdentity)>,
}

impl Target {
    /// Settles the file named by `given` (`--user`, `-s`).
    pub fn resolve(given: &FileTarget) -> Result<Self, TargetError> {
        let Some(name) = &given.user else {
            return Ok(Self {
                path: identity::secret_path(given.secret_path.as_ref())?,
                user_name: identity::user_name(),
                owner_uid: getuid().as_raw(),
                identity: None,
            });
        };
        let account = lookup_user_by_name(name)
            .map_err(|source| TargetError::Identity {
                name: name.clone(),
                source,
            })?
            .ok_or_else(|| TargetError::UnknownUser(name.clone()))?;
        if !geteuid().is_root() && account.uid != geteuid().as_raw() {
            return Err(TargetError::NotRoot(name.clone()));
        }
        let path = match &given.secret_path {
            Some(path) => path.clone(),
            None if account.home.is_absolute() => account.home.join(identity::DEFAULT_SECRET_FILE),
            None => {
                return Err(TargetError::NoUserHome {
                    name: account.name,
                    home: account.home,
                });
            }
        };
        let user_identity =
            UserIdentity::new(&account).map_err(|source| TargetError::Identity {
                name: name.clone(),
                source,
            })?;
        Ok(Self {
            path,
            user_name: account.name.clone(),
            owner_uid: account.uid,
            identity: Some((account, user_identity)),
        })
    }

    /// Runs the file operation `op` with the user's file-system identity
    /// (with `--user`) or the process's own. Where access is refused with
    /// the primary group alone, `op` runs again with all the user's groups,
    /// as the module does.
    pub fn run_as_user<T>(
        &mut self,
        mut op: impl FnMut() -> Result<T, StoreError>,
    ) -> Result<T, AsUserError> {
        let Some((account, user)) = &mut self.identity else {
            return op().map_err(AsUserError::Store);
        };
        let identity_error = |source| AsUserError::Identity {
            name: account.name.clone(),
            source,
        };
        let mut fs_identity = user.assume().map_err(identity_error)?;
        let mut result = op();
        if result.as_ref().is_err_and(StoreError::needs_more_groups)
            && fs_identity
                .add_supplementary_groups()
                .map_err(identity_error)?
        {
            result = op();
        }
        fs_identity.restore().map_err(identity_error)?;
        result.map_err(AsUserError::Store)
    }

    /// Warns on `err` when root works without `--user` on a file in a
    /// directory of another user: `what` says what would belong to root.
    pub fn warn_if_root_in_foreign_directory(&self, err: &mut impl Write, what: &str) {
        if self.identity.is_some() || !geteuid().is_root() {
            return;
        }
        let Some(owner) = directory_owner(&self.path).filter(|&uid| uid != 0) else {
            return;
        };
        let name = match lookup_user_by_uid(owner) {
            Ok(Some(account)) => account.name,
            _ => owner.to_string(),
        };
        // A warning that cannot be written changes nothing.
        let _ = writeln!(
            err,
            "rust-totp: warning: \"{}\" is in a directory of {name}, but {what} would belong \
             to root: the PAM module refuses a secret file that is not the user's, and \
             logins that cannot take the lock; use --user {name}",
            self.path.display()
        );
    }
}

/// Why a file operation as the user failed.
#[derive(Debug, thiserror::Error)]
pub enum AsUserError {
    #[error(transparent)]
    Store(StoreError),
    #[error("cannot act as user \"{name}\": {source}")]
    Identity {
        name: String,
        source: PrivilegeError,
    },
}

/// The owner of the directory the file is in (after following a symbolic
/// link at the path), when it can be seen.
fn directory_owner(path: &Path) -> Option<u32> {
    let real = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let dir = match real.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::metadata(dir).ok().map(|meta| meta.uid())
}
