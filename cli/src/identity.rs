//! Who and where the command runs: the defaults for the URI label and
//! issuer, and the default secret file in the home directory.

use std::env;
use std::fs;
use std::path::PathBuf;

use nix::unistd::{User, getuid};

use crate::args::Presentation;

/// The secret file in the home directory, as the PAM module looks for it.
pub const DEFAULT_SECRET_FILE: &str = ".google_authenticator";
/// The kernel's host name (what gethostname(2) returns).
const HOSTNAME_PATH: &str = "/proc/sys/kernel/hostname";
/// Host name used when none can be read, as the reference tool does.
const FALLBACK_HOSTNAME: &str = "unix";
/// The Proxmox VE realm of Linux users.
const PVE_PAM_REALM: &str = "pam";

/// `$HOME` must be an absolute path to be trusted.
#[derive(Debug, thiserror::Error)]
#[error("cannot determine the home directory ($HOME is unset or not absolute); use -s FILE")]
pub struct NoHomeDirectory;

/// The name of the invoking user, or the numeric uid if it has none.
pub fn user_name() -> String {
    let uid = getuid();
    match User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}

/// This machine's host name.
pub fn hostname() -> String {
    fs::read_to_string(HOSTNAME_PATH)
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| FALLBACK_HOSTNAME.to_owned())
}

/// The label and issuer to show: the given ones, else `user@hostname` (or
/// the Proxmox VE user name `user@pam` with `--pve`) and the host name.
pub fn label_and_issuer(presentation: &Presentation, user: &str) -> (String, String) {
    let label = presentation.label.clone().unwrap_or_else(|| {
        if presentation.pve {
            pve_user(user)
        } else {
            format!("{user}@{}", hostname())
        }
    });
    let issuer = presentation.issuer.clone().unwrap_or_else(hostname);
    (label, issuer)
}

/// The Proxmox VE user a token is shown for: the label given, else
/// [`pve_user`] of `user`.
pub fn pve_account(presentation: &Presentation, user: &str) -> String {
    presentation.label.clone().unwrap_or_else(|| pve_user(user))
}

/// The Proxmox VE user of the Linux user `user`: `user@pam`.
pub fn pve_user(user: &str) -> String {
    format!("{user}@{PVE_PAM_REALM}")
}

/// `-s FILE` if given, else `~/.google_authenticator`.
pub fn secret_path(given: Option<&PathBuf>) -> Result<PathBuf, NoHomeDirectory> {
    if let Some(path) = given {
        return Ok(path.clone());
    }
    match env::var_os("HOME").map(PathBuf::from) {
        Some(home) if home.is_absolute() => Ok(home.join(DEFAULT_SECRET_FILE)),
        _ => Err(NoHomeDirectory),
    }
}
