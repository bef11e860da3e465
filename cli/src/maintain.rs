//! Changes to an existing secret file: `--new-scratch-codes` replaces the
//! emergency scratch codes with new ones for the same secret, and `--reset`
//! clears what can lock a user out or out of sync (see
//! [`StateFile::clear_login_state`]).
//!
//! Both change the file the way a login does: under the module's lock, read
//! and checked by the store (the file must be the user's, at most mode
//! 0600), changed through the core's model, which leaves every other line
//! as it is, and replaced atomically with its owner, group and mode. A file
//! that cannot be read, is refused or does not parse is left as it was.

use std::io::{self, Write};
use std::path::PathBuf;

use pam_rust_totp::store::{FilePolicy, LockedStateFile};
use rust_totp_core::state_file::{ClearedState, ParseError, StateFile};
use zeroize::Zeroizing;

use crate::args::FileTarget;
use crate::generate::{self, RandomError};
use crate::target::{AsUserError, Target, TargetError};

/// What to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// New scratch codes, this many.
    NewScratchCodes(u32),
    /// Clear the recorded login state.
    Reset,
}

/// Why the file was not changed.
#[derive(Debug, thiserror::Error)]
pub enum MaintainError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Open(AsUserError),
    #[error("\"{}\" is not a valid secret file: {source}", path.display())]
    Parse { path: PathBuf, source: ParseError },
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("{0}; the file was left as it was")]
    Replace(AsUserError),
    #[error("the file was changed, but cannot write to standard output: {0}")]
    Io(#[from] io::Error),
}

impl MaintainError {
    /// 2 for a user or file that is not there or not usable, 1 for
    /// failures while changing it.
    pub fn exit_status(&self) -> u8 {
        match self {
            Self::Target(_) | Self::Open(_) | Self::Parse { .. } => 2,
            _ => 1,
        }
    }
}

/// Makes `change` to the file named by `given`, reporting on `out`.
pub fn run(given: &FileTarget, change: Change, out: &mut impl Write) -> Result<(), MaintainError> {
    let mut target = Target::resolve(given)?;
    target.warn_if_root_in_foreign_directory(&mut io::stderr(), "the lock file");
    let path = target.path.clone();
    let policy = FilePolicy::new(target.owner_uid);
    let mut locked = target
        .run_as_user(|| LockedStateFile::open(&path, &policy))
        .map_err(MaintainError::Open)?;
    let mut file = StateFile::parse(locked.contents()).map_err(|source| MaintainError::Parse {
        path: locked.path().to_owned(),
        source,
    })?;
    let report = match change {
        Change::NewScratchCodes(count) => {
            let codes = generate::scratch_codes(count)?;
            file.replace_scratch_codes(&codes);
            Report::ScratchCodes(codes)
        }
        Change::Reset => Report::Cleared(file.clear_login_state()),
    };
    let bytes = file.to_bytes();
    if *bytes != *locked.contents() {
        target
            .run_as_user(|| locked.replace(&bytes))
            .map_err(MaintainError::Replace)?;
    }
    drop(locked);
    report.print(out, &path)?;
    Ok(())
}

/// What was done, to tell the user.
enum Report {
    ScratchCodes(Zeroizing<Vec<u32>>),
    Cleared(ClearedState),
}

impl Report {
    fn print(&self, out: &mut impl Write, path: &std::path::Path) -> io::Result<()> {
        match self {
            Self::ScratchCodes(codes) if codes.is_empty() => writeln!(
                out,
                "Removed the emergency scratch codes of \"{}\".",
                path.display()
            ),
            Self::ScratchCodes(codes) => {
                writeln!(
                    out,
                    "New emergency scratch codes for \"{}\" (the old ones no longer work):",
                    path.display()
                )?;
                for code in codes.iter() {
                    writeln!(out, "  {code:08}")?;
                }
                Ok(())
            }
            Self::Cleared(cleared) if cleared.is_empty() => writeln!(
                out,
                "Nothing to clear in \"{}\": no recorded attempts, clock skew, used codes \
                 or grace-period records.",
                path.display()
            ),
            Self::Cleared(cleared) => {
                writeln!(out, "Cleared in \"{}\":", path.display())?;
                for line in cleared_lines(cleared) {
                    writeln!(out, "  {line}")?;
                }
                Ok(())
            }
        }
    }
}

/// One line per kind of thing cleared.
fn cleared_lines(cleared: &ClearedState) -> Vec<String> {
    let mut lines = Vec::new();
    if cleared.rate_limit_attempts > 0 {
        lines.push(format!(
            "rate limit: {} recorded login attempt(s)",
            cleared.rate_limit_attempts
        ));
    }
    if let Some(skew) = cleared.time_skew {
        lines.push(format!("learned clock skew: {skew:+} time step(s)"));
    }
    if cleared.skew_samples > 0 {
        lines.push(format!(
            "clock skew being learned: {} sample(s)",
            cleared.skew_samples
        ));
    }
    if cleared.used_codes > 0 {
        lines.push(format!(
            "used codes (DISALLOW_REUSE): {}",
            cleared.used_codes
        ));
    }
    if cleared.grace_records > 0 {
        lines.push(format!("grace-period records: {}", cleared.grace_records));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_cleared_state_is_named() {
        let cleared = ClearedState {
            rate_limit_attempts: 2,
            time_skew: Some(-3),
            skew_samples: 1,
            used_codes: 4,
            grace_records: 5,
        };
        assert_eq!(
            cleared_lines(&cleared),
            [
                "rate limit: 2 recorded login attempt(s)",
                "learned clock skew: -3 time step(s)",
                "clock skew being learned: 1 sample(s)",
                "used codes (DISALLOW_REUSE): 4",
                "grace-period records: 5",
            ]
        );
        assert!(cleared_lines(&ClearedState::default()).is_empty());
    }
}
