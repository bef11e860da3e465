//! Acting with a user's file-system identity.
//!
//! The state file lives in the user's home, which may be on NFS with root
//! squashing, so it has to be read and written with the user's identity.
//! A [`UserIdentity`] names the user; each [`UserIdentity::assume`] switches
//! the calling thread's fsuid and fsgid to the user's and, when the process
//! runs as root, leaves the user's primary group as the only group (the
//! supplementary groups are left alone when they hold nothing else
//! already, as in a daemon started without any). The returned
//! [`FsIdentity`] puts everything back when it is dropped or
//! [`FsIdentity::restore`]d. A login takes the identity only for its file
//! operations, a few system calls each time, never while the user is asked.
//!
//! Looking up all of a user's groups asks every NSS source and costs more
//! than the rest of a login, so it is done only when access is refused:
//! [`FsIdentity::add_supplementary_groups`] adds them, so that homes reached
//! only through group permissions work too, and the [`UserIdentity`] keeps
//! them for its later switches.
//!
//! Everything switched is the calling thread's alone: fsuid and fsgid are
//! per thread, and the supplementary groups are set by the system call
//! itself, not by glibc's `setgroups`, which applies them to every thread
//! (see the private `ffi::groups` module). A host's other threads keep their
//! own identity and never wait for a switch, and a child forked by one of
//! them starts with that thread's identity. An [`FsIdentity`] cannot leave
//! its thread.
//!
//! A process that cannot get its own identity back must not go on: restoring
//! failures log at `LOG_EMERG` and abort the process.
#![forbid(unsafe_code)]

use std::ffi::CString;
use std::io::Write as _;
use std::marker::PhantomData;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::unistd::{Gid, Uid, User, getgrouplist, setfsgid, setfsuid};
use rustix::process::geteuid;

use crate::ffi::groups;

/// The parts of a passwd entry the module needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccount {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

impl From<User> for UserAccount {
    fn from(user: User) -> Self {
        UserAccount {
            name: user.name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            home: user.dir,
        }
    }
}

/// Why an identity could not be looked up, switched or restored.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    #[error("cannot look up user \"{name}\": {source}")]
    LookupName { name: String, source: Errno },
    #[error("cannot look up user id {uid}: {source}")]
    LookupUid { uid: u32, source: Errno },
    #[error("user name \"{name}\" contains a NUL byte")]
    InvalidUserName { name: String },
    #[error("cannot list the groups of user \"{name}\": {source}")]
    GroupList { name: String, source: Errno },
    #[error("cannot read the current supplementary groups: {source}")]
    ReadGroups { source: Errno },
    #[error("cannot switch to the supplementary groups of user \"{name}\": {source}")]
    SetGroups { name: String, source: Errno },
    #[error(
        "cannot switch the file-system uid to {uid} (effective uid {euid}): \
         only root can act as another user"
    )]
    SwitchUid { uid: u32, euid: u32 },
    #[error(
        "cannot switch the file-system gid to {gid} (effective uid {euid}): \
         the group is not one of the process's groups"
    )]
    SwitchGid { gid: u32, euid: u32 },
    /// The process is stuck with the user's identity. Dropping this error
    /// logs it at `LOG_EMERG` and aborts the process: log it, then let it go.
    #[error("{0}")]
    RestoreFailed(RestoreFailure),
}

/// Look up a user by name; `Ok(None)` when there is no such user.
pub fn lookup_user_by_name(name: &str) -> Result<Option<UserAccount>, PrivilegeError> {
    User::from_name(name)
        .map(|user| user.map(UserAccount::from))
        .map_err(|source| PrivilegeError::LookupName {
            name: name.to_owned(),
            source,
        })
}

/// Look up a user by uid; `Ok(None)` when there is no such user.
pub fn lookup_user_by_uid(uid: u32) -> Result<Option<UserAccount>, PrivilegeError> {
    User::from_uid(Uid::from_raw(uid))
        .map(|user| user.map(UserAccount::from))
        .map_err(|source| PrivilegeError::LookupUid { uid, source })
}

/// The calling thread's file-system uid.
pub fn current_fsuid() -> u32 {
    // The kernel never accepts (uid_t)-1, and setfsuid returns the current
    // fsuid whether or not it changed anything.
    setfsuid(Uid::from_raw(u32::MAX)).as_raw()
}

/// The calling thread's file-system gid (as [`current_fsuid`]).
pub fn current_fsgid() -> u32 {
    setfsgid(Gid::from_raw(u32::MAX)).as_raw()
}

/// The user whose file-system identity a thread takes on, in short
/// switches; what one switch learns (all the supplementary groups) is kept
/// for the next.
#[derive(Debug)]
pub struct UserIdentity {
    uid: u32,
    gid: u32,
    /// For `getgrouplist`; checked here, so that a name that cannot be
    /// looked up is refused before anything changes.
    name: CString,
    /// All the user's groups, once a switch has needed them.
    all_groups: Option<Vec<Gid>>,
}

impl UserIdentity {
    /// Prepares to act as `account`; nothing is switched yet.
    pub fn new(account: &UserAccount) -> Result<Self, PrivilegeError> {
        let name =
            CString::new(account.name.as_str()).map_err(|_| PrivilegeError::InvalidUserName {
                name: account.name.clone(),
            })?;
        Ok(UserIdentity {
            uid: account.uid,
            gid: account.gid,
            name,
            all_groups: None,
        })
    }

    /// Switches the calling thread's file-system identity to the user's.
    ///
    /// As root, the supplementary groups become the user's primary group
    /// alone, or stay empty if the thread has none, or, once
    /// [`FsIdentity::add_supplementary_groups`] has been needed, all the
    /// user's groups; otherwise they are left alone, and switching to any
    /// uid but the process's own fails with [`PrivilegeError::SwitchUid`].
    ///
    /// Only the calling thread changes. Identities taken on one thread
    /// must be put back in the reverse order.
    pub fn assume(&mut self) -> Result<FsIdentity<'_>, PrivilegeError> {
        let mut identity = FsIdentity {
            user: self,
            previous_fsuid: None,
            previous_fsgid: None,
            caller_groups: None,
            groups_switched: false,
            _this_thread: PhantomData,
        };
        // On an early return, dropping `identity` undoes the parts already done.
        if geteuid().is_root() {
            identity.switch_groups()?;
        }
        // The uid first, so that a process that is not root learns that it
        // cannot act as someone else from the uid, not from the group.
        identity.previous_fsuid = Some(switch_fsuid(Uid::from_raw(identity.user.uid))?);
        identity.previous_fsgid = Some(switch_fsgid(Gid::from_raw(identity.user.gid))?);
        Ok(identity)
    }
}

/// The thread acts with a user's file-system identity while this lives.
///
/// Each field holds what to go back to, once that part has been switched.
#[must_use = "dropping the identity switches back at once"]
pub struct FsIdentity<'a> {
    user: &'a mut UserIdentity,
    previous_fsuid: Option<Uid>,
    previous_fsgid: Option<Gid>,
    /// The thread's supplementary groups before the switch; `None` when
    /// the process may not change them (it is not root).
    caller_groups: Option<Vec<Gid>>,
    /// Whether the supplementary groups differ from `caller_groups` now.
    groups_switched: bool,
    /// fsuid, fsgid and groups are switched for this thread only, so the
    /// switch must not move to another (`!Send`).
    _this_thread: PhantomData<*const ()>,
}

impl FsIdentity<'_> {
    /// As root: records the thread's groups, and switches them to the
    /// primary group (or all the user's groups, once known) unless they
    /// would grant the same already.
    fn switch_groups(&mut self) -> Result<(), PrivilegeError> {
        let caller = groups::current().map_err(|source| PrivilegeError::ReadGroups { source })?;
        let primary = [Gid::from_raw(self.user.gid)];
        let wanted = match &self.user.all_groups {
            Some(all) => (caller != *all).then_some(all.as_slice()),
            // With the fsgid switched, no groups and the primary group
            // alone grant the same.
            None => (!caller.is_empty() && caller != primary).then_some(&primary[..]),
        };
        if let Some(groups) = wanted {
            self.set_groups(groups)?;
            self.groups_switched = true;
        }
        self.caller_groups = Some(caller);
        Ok(())
    }

    /// Add all the user's supplementary groups (from `getgrouplist`) to
    /// the primary group, for an access the primary group alone was refused.
    ///
    /// Returns whether anything was added: `false` when the groups are
    /// already complete, or when the process is not root and so never
    /// switched them.
    pub fn add_supplementary_groups(&mut self) -> Result<bool, PrivilegeError> {
        if self.user.all_groups.is_some() || self.caller_groups.is_none() {
            return Ok(false);
        }
        let groups =
            getgrouplist(&self.user.name, Gid::from_raw(self.user.gid)).map_err(|source| {
                PrivilegeError::GroupList {
                    name: self.user_name(),
                    source,
                }
            })?;
        self.set_groups(&groups)?;
        self.groups_switched = true;
        self.user.all_groups = Some(groups);
        Ok(true)
    }

    fn set_groups(&self, groups: &[Gid]) -> Result<(), PrivilegeError> {
        groups::set_for_this_thread(groups).map_err(|source| PrivilegeError::SetGroups {
            name: self.user_name(),
            source,
        })
    }

    fn user_name(&self) -> String {
        self.user.name.to_string_lossy().into_owned()
    }

    /// Switch back to the identity the thread had before
    /// [`UserIdentity::assume`].
    ///
    /// On failure the returned [`PrivilegeError::RestoreFailed`] aborts the
    /// process when it is dropped, after the caller has had a chance to log it.
    pub fn restore(mut self) -> Result<(), PrivilegeError> {
        self.restore_all()
            .map_err(|message| PrivilegeError::RestoreFailed(RestoreFailure { message }))
    }

    /// Undo whatever was switched, in reverse order; the error describes
    /// what could not be undone.
    fn restore_all(&mut self) -> Result<(), String> {
        if let Some(gid) = self.previous_fsgid.take() {
            switch_fsgid(gid).map_err(|err| self.stuck_message(&err))?;
        }
        if let Some(uid) = self.previous_fsuid.take() {
            switch_fsuid(uid).map_err(|err| self.stuck_message(&err))?;
        }
        if self.groups_switched {
            let caller = self.caller_groups.as_deref().unwrap_or_default();
            groups::set_for_this_thread(caller).map_err(|source| {
                self.stuck_message(&format!(
                    "cannot restore the supplementary groups: {source}"
                ))
            })?;
            self.groups_switched = false;
        }
        Ok(())
    }

    fn stuck_message(&self, cause: &dyn std::fmt::Display) -> String {
        format!(
            "switched the file-system identity to uid {}, but cannot switch back: {cause}",
            self.user.uid
        )
    }
}

impl Drop for FsIdentity<'_> {
    fn drop(&mut self) {
        if let Err(message) = self.restore_all() {
            abort_with_identity_stuck(&message);
        }
    }
}

impl std::fmt::Debug for FsIdentity<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsIdentity")
            .field("uid", &self.user.uid)
            .finish_non_exhaustive()
    }
}

/// The process could not switch back from a user's identity. Dropping it
/// logs the message at `LOG_EMERG` and aborts the process.
#[derive(Debug)]
pub struct RestoreFailure {
    message: String,
}

impl std::fmt::Display for RestoreFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Drop for RestoreFailure {
    fn drop(&mut self) {
        abort_with_identity_stuck(&self.message);
    }
}

/// Set the fsuid; returns the previous one.
///
/// setfsuid reports no error: it returns the previous fsuid on success and
/// the current one on failure. Calling it a second time with the same value
/// tells the two apart.
fn switch_fsuid(uid: Uid) -> Result<Uid, PrivilegeError> {
    let previous = setfsuid(uid);
    if setfsuid(uid) == uid {
        Ok(previous)
    } else {
        setfsuid(previous);
        Err(PrivilegeError::SwitchUid {
            uid: uid.as_raw(),
            euid: geteuid().as_raw(),
        })
    }
}

/// Set the fsgid; returns the previous one (same protocol as [`switch_fsuid`]).
fn switch_fsgid(gid: Gid) -> Result<Gid, PrivilegeError> {
    let previous = setfsgid(gid);
    if setfsgid(gid) == gid {
        Ok(previous)
    } else {
        setfsgid(previous);
        Err(PrivilegeError::SwitchGid {
            gid: gid.as_raw(),
            euid: geteuid().as_raw(),
        })
    }
}

/// Log at `LOG_EMERG` (syslog and stderr, both best effort), then abort.
fn abort_with_identity_stuck(message: &str) -> ! {
    let line = format!(
        "pam_rust_totp[{}]: {message}",
        rustix::process::getpid().as_raw_pid()
    );
    let priority = libc::LOG_AUTHPRIV | libc::LOG_EMERG;
    if let Ok(socket) = crate::syslog::LogSocket::open() {
        socket.send(&format!("<{priority}>{line}"));
    }
    let _ = writeln!(std::io::stderr(), "{line}");
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt as _;
    use std::process::Command;

    #[test]
    fn looks_up_root_by_name_and_uid() {
        let by_name = lookup_user_by_name("root").expect("lookup by name");
        let by_uid = lookup_user_by_uid(0).expect("lookup by uid");
        assert_eq!(by_name, by_uid);
        let root = by_name.expect("root exists");
        assert_eq!((root.name.as_str(), root.uid, root.gid), ("root", 0, 0));
        assert_eq!(root.home, PathBuf::from("/root"));
    }

    #[test]
    fn unknown_users_are_none() {
        assert_eq!(
            lookup_user_by_name("no-such-user-rt-totp").expect("lookup"),
            None
        );
        assert_eq!(lookup_user_by_uid(3_999_999_999).expect("lookup"), None);
    }

    #[test]
    fn nul_in_user_name_is_refused_before_switching() {
        let account = UserAccount {
            name: "bad\0name".into(),
            uid: 0,
            gid: 0,
            home: PathBuf::from("/"),
        };
        let err = UserIdentity::new(&account).expect_err("a NUL byte must be refused");
        assert!(
            matches!(err, PrivilegeError::InvalidUserName { .. }),
            "{err}"
        );
        assert_eq!(current_fsuid(), geteuid().as_raw());
    }

    #[test]
    fn switching_to_own_identity_round_trips() {
        let me = lookup_user_by_uid(geteuid().as_raw())
            .expect("lookup")
            .expect("the test user exists");
        let mut user = UserIdentity::new(&me).expect("the name is usable");
        let identity = user.assume().expect("become self");
        assert_eq!(current_fsuid(), me.uid);
        identity.restore().expect("restore");
        assert_eq!(current_fsuid(), geteuid().as_raw());
    }

    const ABORT_CHILD: &str = "PAM_RUST_TOTP_ABORT_CHILD";

    /// Runs twice: as the test, it re-runs itself in a child that drops a
    /// [`RestoreFailure`], and checks that the child died of SIGABRT.
    #[test]
    #[ignore = "needs root (a private mount namespace): run by tests/run-all.sh"]
    fn dropping_a_restore_failure_aborts_the_process() -> std::io::Result<()> {
        if std::env::var_os(ABORT_CHILD).is_some() {
            drop(RestoreFailure {
                message: "test: identity stuck".into(),
            });
            unreachable!("dropping a RestoreFailure must abort");
        }
        // The child runs in its own mount namespace with /dev/log hidden, so
        // that the test's LOG_EMERG line reaches no real syslog.
        let hide_syslog =
            r#"if [ -e /dev/log ]; then mount --bind /dev/null /dev/log || exit 97; fi; exec "$@""#;
        let output = Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                hide_syslog,
                "sh",
            ])
            .arg(std::env::current_exe()?)
            .args([
                "--exact",
                "privilege::tests::dropping_a_restore_failure_aborts_the_process",
                "--include-ignored",
                "--nocapture",
            ])
            .env(ABORT_CHILD, "1")
            .output()?;
        assert_eq!(output.status.signal(), Some(libc::SIGABRT), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("test: identity stuck"), "{stderr}");
        Ok(())
    }
}
