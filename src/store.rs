//! Reading, locking and atomically replacing the per-user state file.
//!
//! Everything here runs with the caller's current file-system identity (the
//! PAM glue switches to the user first, see [`crate::privilege`]), so a
//! symbolic link anywhere in the path reaches nothing the user could not
//! read.
//!
//! [`Snapshot::read`] reads one version of the file without a lock, for
//! deciding what to ask and for logins that change nothing; a replacement
//! is always an atomic rename, so it sees one whole version, and
//! [`Snapshot::is_current`] tells whether that version is still the file.
//!
//! [`LockedStateFile::open`], for a login that will write:
//!
//! 1. resolves a symbolic link at the path to its final target, so that a
//!    replacement is written next to the target and the link survives, and
//!    opens the target's directory (links in the directories above, such as
//!    a home directory that is a link to another disk, are followed by the
//!    kernel with the caller's identity). Every later step works relative to
//!    that one directory descriptor;
//! 2. takes an exclusive OFD lock on the companion file `<target>.lock`,
//!    held until the [`LockedStateFile`] is dropped. The state file itself
//!    is often mode 0400, and a write lock needs a writable descriptor.
//!    There is no fallback: where the lock cannot be had, the file is not
//!    opened for an update ([`StoreError::prevents_update`]);
//! 3. refuses anything but a regular file of 1..=`max_size` bytes whose mode
//!    and owner fit the [`FilePolicy`], without ever blocking on a FIFO or
//!    opening a device;
//! 4. reads the whole file and checks that the inode read is still the one
//!    at the path.
//!
//! [`LockedStateFile::replace`] writes a temporary file with the original's
//! mode, owner, group and SELinux label in the same directory, syncs it,
//! reads it back to check that it holds exactly the new contents, checks
//! that the original has not changed, renames it over the original and syncs
//! the directory. On failure the original is left untouched.
//!
//! [`write_new`], for enrolment, creates the file or replaces it whatever
//! it holds, through the same steps: the same link resolution, lock,
//! removal of leftover temporary files, temporary file, read-back check,
//! rename and directory sync, with a mode given by the caller instead of
//! the original's. [`check_writable`] checks beforehand that it can.
//! Before any replacement, temporary files `<name>~XXXXXX` of the caller
//! left next to the file by a killed process (they may hold a secret) are
//! removed.
//!
//! The system calls are made directly, not through the C library
//! (`sys`), and every status is read with `fstatat(2)`.
#![forbid(unsafe_code)]

mod sys;

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, fcntl};
use rustix::fs::{Mode, OFlags};
use xattr::FileExt as _;
use zeroize::Zeroizing;

use crate::privilege::{current_fsgid, current_fsuid};
use rust_totp_core::module_options::ModuleOptions;
use rust_totp_core::state_file::MAX_FILE_SIZE;
use sys::{Access, CWD, FileStat, fchmod, fchown, fsync, openat, stat_at, stat_fd};

/// How long [`LockedStateFile::open`] waits for another holder of the lock.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// Pauses between attempts to take a busy lock: from the first, doubling
/// up to the longest, so a short wait stays short and a long one costs little.
const LOCK_RETRY_FIRST: Duration = Duration::from_millis(1);
const LOCK_RETRY_LONGEST: Duration = Duration::from_millis(50);

/// Temporary files are named `<file name>~` followed by this many
/// alphanumeric characters, like the ones `mkstemp` makes.
const TEMPORARY_SUFFIX_LEN: usize = 6;
const TEMPORARY_CREATE_ATTEMPTS: usize = 16;

const SELINUX_LABEL: &str = "security.selinux";

/// Which state files are acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilePolicy {
    /// The uid the file must belong to when `strict_owner` is set.
    pub owner_uid: u32,
    pub strict_owner: bool,
    /// Permission bits (`st_mode & 0o3777`) the file may have; any other bit
    /// set is refused.
    pub allowed_perm: u32,
    /// Largest acceptable size in bytes; empty files are always refused.
    pub max_size: u64,
}

impl FilePolicy {
    /// The policy of the module's default options: owned by `owner_uid`,
    /// at most mode 0600, at most 64 KiB.
    pub fn new(owner_uid: u32) -> Self {
        Self::of_module(owner_uid, &ModuleOptions::default())
    }

    /// The policy the module applies with `options` to a file that must
    /// belong to `owner_uid`.
    pub fn of_module(owner_uid: u32, options: &ModuleOptions) -> Self {
        FilePolicy {
            owner_uid,
            strict_owner: !options.no_strict_owner,
            allowed_perm: options.allowed_perm,
            max_size: MAX_FILE_SIZE as u64,
        }
    }
}

/// Why the state file was refused, or could not be read, locked or replaced.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("secret file \"{}\" does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("cannot resolve the secret file path \"{}\": {source}", path.display())]
    Resolve { path: PathBuf, source: Errno },
    #[error("secret file \"{}\" is not a regular file but a {kind}", path.display())]
    NotRegularFile { path: PathBuf, kind: &'static str },
    #[error(
        "secret file \"{}\" is a symbolic link of uid {owner}, which is neither the caller nor root",
        path.display()
    )]
    ForeignLink { path: PathBuf, owner: u32 },
    #[error("cannot open secret file \"{}\": {source}", path.display())]
    Open { path: PathBuf, source: Errno },
    #[error("cannot stat \"{}\": {source}", path.display())]
    Stat { path: PathBuf, source: Errno },
    #[error(
        "secret file \"{}\" has an invalid size ({size} bytes; must be 1 to {max})",
        path.display()
    )]
    InvalidSize { path: PathBuf, size: u64, max: u64 },
    #[error(
        "secret file \"{}\" permissions ({mode:04o}) are more permissive than {allowed:04o}",
        path.display()
    )]
    TooPermissive {
        path: PathBuf,
        mode: u32,
        allowed: u32,
    },
    #[error(
        "secret file \"{}\" must be owned by uid {expected}, but is owned by uid {owner}",
        path.display()
    )]
    WrongOwner {
        path: PathBuf,
        owner: u32,
        expected: u32,
    },
    #[error("cannot read secret file \"{}\": {source}", path.display())]
    Read { path: PathBuf, source: Errno },
    #[error("secret file \"{}\" changed while it was in use", path.display())]
    ChangedUnderneath { path: PathBuf },
    #[error("cannot open lock file \"{}\": {source}", path.display())]
    LockFile { path: PathBuf, source: Errno },
    #[error("lock file \"{}\" is not a regular file but a {kind}", path.display())]
    LockFileNotRegular { path: PathBuf, kind: &'static str },
    #[error("cannot lock \"{}\": {source}", path.display())]
    Lock { path: PathBuf, source: Errno },
    #[error(
        "gave up waiting for the lock on \"{}\" after {} s: another login holds it",
        path.display(),
        waited.as_secs()
    )]
    LockTimeout { path: PathBuf, waited: Duration },
    #[error("cannot open directory \"{}\": {source}", path.display())]
    OpenDirectory { path: PathBuf, source: Errno },
    #[error("cannot write into directory \"{}\": {source}", path.display())]
    DirectoryNotWritable { path: PathBuf, source: Errno },
    #[error("cannot create temporary file \"{}\": {source}", path.display())]
    CreateTemporary { path: PathBuf, source: Errno },
    #[error(
        "cannot give temporary file \"{}\" the secret file's owner, mode and label: {source}",
        path.display()
    )]
    CopyAttributes { path: PathBuf, source: Errno },
    #[error("cannot write temporary file \"{}\": {source}", path.display())]
    Write { path: PathBuf, source: Errno },
    #[error(
        "temporary file \"{}\" holds {written} bytes that differ from the {expected} written; \
         the secret file was left as it was",
        path.display()
    )]
    WrittenMismatch {
        path: PathBuf,
        written: usize,
        expected: usize,
    },
    #[error("cannot rename the temporary file over \"{}\": {source}", path.display())]
    Rename { path: PathBuf, source: Errno },
    #[error("cannot flush directory \"{}\" to disk: {source}", path.display())]
    SyncDirectory { path: PathBuf, source: Errno },
}

impl StoreError {
    /// True only when the state file does not exist (ENOENT), which `nullok`
    /// turns into a pass.
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }

    /// True when the file cannot be updated safely here, so that a login
    /// that must write is refused (or, with `allow_readonly`, lets its
    /// verdict stand without writing): the caller may not create or write
    /// the lock file or open the directory (a read-only directory or file
    /// system, a lock file owned by someone else), or the file system offers
    /// no locks.
    pub fn prevents_update(&self) -> bool {
        matches!(
            self,
            StoreError::LockFile {
                source: Errno::EROFS | Errno::EACCES | Errno::EPERM,
                ..
            } | StoreError::OpenDirectory {
                source: Errno::EACCES,
                ..
            } | StoreError::Lock {
                source: Errno::ENOLCK,
                ..
            }
        )
    }

    /// True when the step may succeed with all the caller's supplementary
    /// groups: access was refused (`EACCES`), or the temporary file could
    /// not be given the original's group (`EPERM` from `fchown`), which is
    /// allowed only to a member of that group.
    pub fn needs_more_groups(&self) -> bool {
        matches!(
            self,
            StoreError::CopyAttributes {
                source: Errno::EPERM,
                ..
            }
        ) || self.errno() == Some(Errno::EACCES)
    }

    /// The system error behind this one; `None` for policy refusals.
    pub fn errno(&self) -> Option<Errno> {
        use StoreError as E;
        match self {
            E::NotFound { .. } => Some(Errno::ENOENT),
            E::ChangedUnderneath { .. } | E::LockTimeout { .. } => Some(Errno::EAGAIN),
            E::WrittenMismatch { .. } => Some(Errno::EIO),
            E::NotRegularFile { .. }
            | E::InvalidSize { .. }
            | E::TooPermissive { .. }
            | E::WrongOwner { .. }
            | E::LockFileNotRegular { .. }
            | E::ForeignLink { .. } => None,
            E::Resolve { source, .. }
            | E::Open { source, .. }
            | E::Stat { source, .. }
            | E::Read { source, .. }
            | E::LockFile { source, .. }
            | E::Lock { source, .. }
            | E::OpenDirectory { source, .. }
            | E::DirectoryNotWritable { source, .. }
            | E::CreateTemporary { source, .. }
            | E::CopyAttributes { source, .. }
            | E::Write { source, .. }
            | E::Rename { source, .. }
            | E::SyncDirectory { source, .. } => Some(*source),
        }
    }
}

/// The state file, read and locked; the lock is held until this is dropped.
pub struct LockedStateFile {
    target: Target,
    /// The target's directory: the lock file, the temporary file and the
    /// rename are all reached through it.
    dir: OwnedFd,
    /// The file read (after a replacement: the one written).
    file: File,
    /// Its status when opened, to detect changes behind the lock's back.
    stat: FileStat,
    contents: Zeroizing<Vec<u8>>,
    /// Holds the OFD lock.
    _lock: File,
}

impl LockedStateFile {
    /// Open, lock, check and read the state file at `path`.
    pub fn open(path: &Path, policy: &FilePolicy) -> Result<LockedStateFile, StoreError> {
        let (target, before) = Target::resolve(path)?;
        let dir = open_directory(&target.dir)?;
        let lock = lock_companion(&dir, &target)?;
        let (mut file, stat) = open_checked(&target.path, &before, policy, |flags| {
            openat(&dir, &target.name, flags, Mode::empty())
        })?;
        let contents = read_bounded(&mut file, &target.path, &stat, policy.max_size)?;
        ensure_same_inode(&dir, &target, &stat)?;
        Ok(LockedStateFile {
            target,
            dir,
            file,
            stat,
            contents,
            _lock: lock,
        })
    }

    /// The bytes read (or, after [`replace`](Self::replace), written).
    pub fn contents(&self) -> &[u8] {
        &self.contents
    }

    /// The resolved target path, the file that [`replace`](Self::replace)
    /// replaces.
    pub fn path(&self) -> &Path {
        &self.target.path
    }

    /// Atomically replace the file with `new_contents`.
    ///
    /// The copy kept for [`contents`](Self::contents) is zeroized when
    /// dropped; `new_contents` itself belongs to the caller.
    pub fn replace(&mut self, new_contents: &[u8]) -> Result<(), StoreError> {
        let new_contents = Zeroizing::new(new_contents.to_vec());
        let temp = install(
            &self.dir,
            &self.target,
            &new_contents,
            |temp, temp_path| self.copy_attributes(temp, temp_path),
            || self.ensure_unchanged(),
        )?;
        self.stat = stat_fd(&temp).map_err(|source| StoreError::Stat {
            path: self.target.path.clone(),
            source,
        })?;
        self.file = temp;
        self.contents = new_contents;
        sync_directory(&self.dir, &self.target)
    }

    /// Give `temp` the original's owner, mode and SELinux label.
    fn copy_attributes(&self, temp: &File, temp_path: &Path) -> Result<(), StoreError> {
        let attributes_error = |source| StoreError::CopyAttributes {
            path: temp_path.to_owned(),
            source,
        };
        // Owner first: chown may clear set-id bits that chmod then restores.
        copy_owner(temp, &self.stat).map_err(attributes_error)?;
        fchmod(temp, self.stat.st_mode).map_err(attributes_error)?;
        copy_selinux_label(&self.file, temp).map_err(|err| attributes_error(io_errno(&err)))
    }

    /// Refuse to replace a file that is no longer the one read: same inode,
    /// size and modification time, like the reference module checks.
    fn ensure_unchanged(&self) -> Result<(), StoreError> {
        ensure_still_there(&self.dir, &self.target, |now| same_version(now, &self.stat))
    }
}

impl std::fmt::Debug for LockedStateFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockedStateFile")
            .field("path", &self.target.path)
            .field("len", &self.contents.len())
            .finish_non_exhaustive()
    }
}

/// One version of the state file, read with the checks of
/// [`LockedStateFile::open`] but without the lock.
pub struct Snapshot {
    target: Target,
    stat: FileStat,
    contents: Zeroizing<Vec<u8>>,
}

impl Snapshot {
    /// Read the state file at `path` without taking the lock.
    pub fn read(path: &Path, policy: &FilePolicy) -> Result<Snapshot, StoreError> {
        let (target, before) = Target::resolve(path)?;
        let (mut file, stat) = open_checked(&target.path, &before, policy, |flags| {
            openat(CWD, &target.path, flags, Mode::empty())
        })?;
        let contents = read_bounded(&mut file, &target.path, &stat, policy.max_size)?;
        Ok(Snapshot {
            target,
            stat,
            contents,
        })
    }

    /// The bytes read.
    pub fn contents(&self) -> &[u8] {
        &self.contents
    }

    /// The resolved target path.
    pub fn path(&self) -> &Path {
        &self.target.path
    }

    /// Whether `path` still leads to this very version of the file: the
    /// same target, inode, size, modification and status-change times.
    /// Any doubt (an error) counts as changed.
    pub fn is_current(&self, path: &Path) -> bool {
        Target::resolve(path).is_ok_and(|(target, now)| {
            target.path == self.target.path
                && same_version(&now, &self.stat)
                && (now.st_ctime, now.st_ctime_nsec)
                    == (self.stat.st_ctime, self.stat.st_ctime_nsec)
        })
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("path", &self.target.path)
            .field("len", &self.contents.len())
            .finish_non_exhaustive()
    }
}

/// Check, before anything is generated, that [`write_new`] can put a file
/// at `path`: what is there is missing or a regular file (a symbolic link
/// is followed), and its directory can be searched and written to by the
/// caller.
pub fn check_writable(path: &Path) -> Result<(), StoreError> {
    let target = Target::resolve_new(path)?;
    let dir = open_directory(&target.dir)?;
    sys::access_dir(&dir, Access::WRITE_OK | Access::EXEC_OK).map_err(|source| {
        StoreError::DirectoryNotWritable {
            path: target.dir.clone(),
            source,
        }
    })
}

/// Create the state file at `path`, or replace it whatever it holds, with
/// `contents`, owned by the caller's file-system uid and gid (also in a
/// directory whose set-group-ID bit would give it the directory's group)
/// with permissions `mode`, the way
/// [`LockedStateFile::replace`] writes: under the lock, in a temporary
/// file next to it that is synced, read back and renamed over the file.
///
/// A symbolic link at the path is followed with the caller's identity and
/// its target is replaced, so the link survives; a path that is a
/// directory, FIFO, device or socket is refused.
pub fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), StoreError> {
    let target = Target::resolve_new(path)?;
    let dir = open_directory(&target.dir)?;
    let _lock = lock_companion(&dir, &target)?;
    let set_attributes = |temp: &File, temp_path: &Path| {
        let failed = |source| StoreError::CopyAttributes {
            path: temp_path.to_owned(),
            source,
        };
        // Only where it differs: a file system may refuse even a no-op chown.
        let group = current_fsgid();
        if stat_fd(temp).map_err(failed)?.st_gid != group {
            fchown(temp, None, Some(group)).map_err(failed)?;
        }
        // Set exactly: the umask may have cleared bits of the requested mode.
        fchmod(temp, mode).map_err(failed)
    };
    // The type is checked again under the lock, just before the rename.
    let still_writable = || match stat_at(&dir, &target.name) {
        Ok(stat) => check_file_type(&target.path, &stat),
        Err(Errno::ENOENT) => Ok(()),
        Err(source) => Err(StoreError::Stat {
            path: target.path.clone(),
            source,
        }),
    };
    install(&dir, &target, contents, set_attributes, still_writable)?;
    sync_directory(&dir, &target)
}

/// The real file behind the caller's path, split into directory and name.
struct Target {
    path: PathBuf,
    dir: PathBuf,
    name: OsString,
}

impl Target {
    /// Resolve a symbolic link at `path` with the caller's identity; returns
    /// the target and its status (not following a link). Only a link at the
    /// path itself matters: the file is replaced in the directory of the
    /// link's target, so that the link survives; links in the directories
    /// above lead to the same directory either way, and are followed when
    /// that directory is opened.
    fn resolve(path: &Path) -> Result<(Target, FileStat), StoreError> {
        let stat = stat_path(path).map_err(|source| resolve_error(path, source))?;
        let (resolved, stat) = if stat.st_mode & libc::S_IFMT == libc::S_IFLNK {
            let resolved = resolve_link(path)?;
            let stat = stat_path(&resolved).map_err(|source| resolve_error(path, source))?;
            (resolved, stat)
        } else {
            (path.to_owned(), stat)
        };
        Ok((Target::from_path(resolved)?, stat))
    }

    /// Like [`resolve`](Self::resolve), for a file that may not exist yet
    /// (a link whose target does not exist is refused) and must be a
    /// regular file if it does. A link is followed only when it belongs to
    /// the caller or to root: the tool may run as root on a user's path,
    /// where the caller's identity alone would not keep a link planted by
    /// the user from reaching any file on the system.
    fn resolve_new(path: &Path) -> Result<Target, StoreError> {
        if let Ok(link) = stat_path(path) {
            let owner = link.st_uid;
            if link.st_mode & libc::S_IFMT == libc::S_IFLNK
                && owner != 0
                && owner != current_fsuid()
            {
                return Err(StoreError::ForeignLink {
                    path: path.to_owned(),
                    owner,
                });
            }
        }
        match Target::resolve(path) {
            Ok((target, stat)) => {
                check_file_type(&target.path, &stat)?;
                Ok(target)
            }
            Err(StoreError::NotFound { .. })
                if stat_path(path).is_err_and(|errno| errno == Errno::ENOENT) =>
            {
                Target::from_path(path.to_owned())
            }
            Err(StoreError::NotFound { path }) => Err(StoreError::Resolve {
                path,
                source: Errno::ENOENT,
            }),
            Err(err) => Err(err),
        }
    }

    /// `path` as its directory (`.` for a bare name) and file name.
    fn from_path(path: PathBuf) -> Result<Target, StoreError> {
        match (path.parent(), path.file_name()) {
            (Some(dir), Some(name)) => Ok(Target {
                dir: if dir.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    dir.to_owned()
                },
                name: name.to_owned(),
                path: path.clone(),
            }),
            _ => Err(StoreError::NotRegularFile {
                path,
                kind: "directory",
            }),
        }
    }

    fn lock_name(&self) -> OsString {
        let mut name = self.name.clone();
        name.push(".lock");
        name
    }
}

/// A missing file is [`StoreError::NotFound`], any other error a
/// failure to resolve `path`.
fn resolve_error(path: &Path, source: Errno) -> StoreError {
    match source {
        Errno::ENOENT => StoreError::NotFound {
            path: path.to_owned(),
        },
        source => StoreError::Resolve {
            path: path.to_owned(),
            source,
        },
    }
}

/// The final target of the symbolic link at `path`.
fn resolve_link(path: &Path) -> Result<PathBuf, StoreError> {
    std::fs::canonicalize(path).map_err(|err| resolve_error(path, io_errno(&err)))
}

/// Open `<target>.lock` in `dir` (creating it if needed) and lock it
/// exclusively.
fn lock_companion(dir: &OwnedFd, target: &Target) -> Result<File, StoreError> {
    let name = target.lock_name();
    let path = target.dir.join(&name);
    let flags = OFlags::RDWR
        | OFlags::CREATE
        | OFlags::NOFOLLOW
        | OFlags::NONBLOCK
        | OFlags::NOCTTY
        | OFlags::CLOEXEC;
    let file = match openat(dir, &name, flags, Mode::RUSR | Mode::WUSR) {
        Ok(fd) => File::from(fd),
        Err(source) => return Err(StoreError::LockFile { path, source }),
    };
    let stat = stat_fd(&file).map_err(|source| StoreError::Stat {
        path: path.clone(),
        source,
    })?;
    if let Some(kind) = special_file_kind(stat.st_mode) {
        return Err(StoreError::LockFileNotRegular { path, kind });
    }
    acquire_lock(&file, &path)?;
    Ok(file)
}

/// The lock every login that writes takes on `<target>.lock`: exclusive,
/// over the whole file.
pub(crate) const WHOLE_FILE_WRITE_LOCK: libc::flock = libc::flock {
    l_type: libc::F_WRLCK as libc::c_short,
    l_whence: libc::SEEK_SET as libc::c_short,
    l_start: 0,
    l_len: 0,
    l_pid: 0,
};

/// Take an exclusive OFD lock on the whole of `file`, retrying for up to
/// [`LOCK_TIMEOUT`].
fn acquire_lock(file: &File, path: &Path) -> Result<(), StoreError> {
    let deadline = Instant::now() + LOCK_TIMEOUT;
    let mut pause = LOCK_RETRY_FIRST;
    loop {
        match fcntl(file, FcntlArg::F_OFD_SETLK(&WHOLE_FILE_WRITE_LOCK)) {
            Ok(_) => return Ok(()),
            Err(Errno::EAGAIN | Errno::EACCES | Errno::EINTR) => {
                if Instant::now() >= deadline {
                    return Err(StoreError::LockTimeout {
                        path: path.to_owned(),
                        waited: LOCK_TIMEOUT,
                    });
                }
                sleep(pause);
                pause = (pause * 2).min(LOCK_RETRY_LONGEST);
            }
            Err(source) => {
                return Err(StoreError::Lock {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
}

/// Open the state file read-only with `open_with` (given the flags) and
/// check it against `policy`; `before` is its status from
/// [`Target::resolve`], `path` names it in errors.
fn open_checked(
    path: &Path,
    before: &FileStat,
    policy: &FilePolicy,
    open_with: impl FnOnce(OFlags) -> Result<OwnedFd, Errno>,
) -> Result<(File, FileStat), StoreError> {
    // Refuse special files before opening them: opening a device can have
    // side effects. The fstat below is the check that counts.
    check_file_type(path, before)?;
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = open_with(flags).map_err(|source| match source {
        Errno::ENOENT => StoreError::NotFound {
            path: path.to_owned(),
        },
        // The resolved target has been replaced by a symbolic link since.
        Errno::ELOOP => StoreError::ChangedUnderneath {
            path: path.to_owned(),
        },
        source => StoreError::Open {
            path: path.to_owned(),
            source,
        },
    })?;
    let file = File::from(fd);
    let stat = stat_fd(&file).map_err(|source| StoreError::Stat {
        path: path.to_owned(),
        source,
    })?;
    check_stat(path, &stat, policy)?;
    Ok((file, stat))
}

/// The reference module's checks, in its order: type, mode, owner, size.
fn check_stat(path: &Path, stat: &FileStat, policy: &FilePolicy) -> Result<(), StoreError> {
    check_file_type(path, stat)?;
    let mode = stat.st_mode & 0o3777;
    if mode & !policy.allowed_perm != 0 {
        return Err(StoreError::TooPermissive {
            path: path.to_owned(),
            mode,
            allowed: policy.allowed_perm,
        });
    }
    if policy.strict_owner && stat.st_uid != policy.owner_uid {
        return Err(StoreError::WrongOwner {
            path: path.to_owned(),
            owner: stat.st_uid,
            expected: policy.owner_uid,
        });
    }
    let size = u64::try_from(stat.st_size).unwrap_or(0);
    if size == 0 || size > policy.max_size {
        return Err(StoreError::InvalidSize {
            path: path.to_owned(),
            size,
            max: policy.max_size,
        });
    }
    Ok(())
}

fn check_file_type(path: &Path, stat: &FileStat) -> Result<(), StoreError> {
    match special_file_kind(stat.st_mode) {
        None => Ok(()),
        Some(kind) => Err(StoreError::NotRegularFile {
            path: path.to_owned(),
            kind,
        }),
    }
}

/// What a file is when it is not a regular file.
fn special_file_kind(mode: libc::mode_t) -> Option<&'static str> {
    match mode & libc::S_IFMT {
        libc::S_IFREG => None,
        libc::S_IFDIR => Some("directory"),
        libc::S_IFIFO => Some("FIFO"),
        libc::S_IFCHR => Some("character device"),
        libc::S_IFBLK => Some("block device"),
        libc::S_IFSOCK => Some("socket"),
        libc::S_IFLNK => Some("symbolic link"),
        _ => Some("file of unknown type"),
    }
}

/// Read `file` to its end into a zeroizing buffer, refusing more than `max`
/// bytes (the file may have grown since `stat`) and an empty file.
fn read_bounded(
    file: &mut File,
    path: &Path,
    stat: &FileStat,
    max: u64,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let invalid_size = |size: usize| StoreError::InvalidSize {
        path: path.to_owned(),
        size: u64::try_from(size).unwrap_or(u64::MAX),
        max,
    };
    let max_len = usize::try_from(max).unwrap_or(usize::MAX);
    let expected = usize::try_from(stat.st_size).unwrap_or(0).min(max_len);
    // One spare byte tells "exactly max" from "more than max" at EOF.
    let mut buf = Zeroizing::new(vec![0_u8; expected.saturating_add(1)]);
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if filled > max_len {
                return Err(invalid_size(filled));
            }
            let new_len = filled.saturating_mul(2).min(max_len.saturating_add(1));
            grow_zeroizing(&mut buf, new_len);
        }
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => {
                return Err(StoreError::Read {
                    path: path.to_owned(),
                    source: io_errno(&err),
                });
            }
        }
    }
    if filled == 0 {
        return Err(invalid_size(0));
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Enlarge `buf` to `new_len` bytes without leaving a copy of its contents
/// in freed memory.
fn grow_zeroizing(buf: &mut Zeroizing<Vec<u8>>, new_len: usize) {
    let mut bigger = Zeroizing::new(vec![0_u8; new_len]);
    bigger[..buf.len()].copy_from_slice(buf);
    *buf = bigger;
}

/// Check that the inode read is still the one named by `target` in `dir`.
fn ensure_same_inode(dir: &OwnedFd, target: &Target, stat: &FileStat) -> Result<(), StoreError> {
    ensure_still_there(dir, target, |now| {
        (now.st_dev, now.st_ino) == (stat.st_dev, stat.st_ino)
    })
}

/// Check that what `target` names in `dir` now is the file read, as told
/// by `is_the_file_read` from its status; gone or another file is
/// [`StoreError::ChangedUnderneath`].
fn ensure_still_there(
    dir: &OwnedFd,
    target: &Target,
    is_the_file_read: impl FnOnce(&FileStat) -> bool,
) -> Result<(), StoreError> {
    match stat_at(dir, &target.name) {
        Ok(now) if is_the_file_read(&now) => Ok(()),
        Ok(_) | Err(Errno::ENOENT) => Err(StoreError::ChangedUnderneath {
            path: target.path.clone(),
        }),
        Err(source) => Err(StoreError::Stat {
            path: target.path.clone(),
            source,
        }),
    }
}

/// The status of `path`, not following a symbolic link at its end.
fn stat_path(path: &Path) -> Result<FileStat, Errno> {
    stat_at(CWD, path)
}

fn same_version(a: &FileStat, b: &FileStat) -> bool {
    (a.st_dev, a.st_ino, a.st_size, a.st_mtime, a.st_mtime_nsec)
        == (b.st_dev, b.st_ino, b.st_size, b.st_mtime, b.st_mtime_nsec)
}

/// Open the directory at `path`, following symbolic links in it with the
/// caller's identity (a home directory may be a link to another disk).
fn open_directory(path: &Path) -> Result<OwnedFd, StoreError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    openat(CWD, path, flags, Mode::empty()).map_err(|source| StoreError::OpenDirectory {
        path: path.to_owned(),
        source,
    })
}

/// Remove temporary files left behind by killed processes: `<name>~XXXXXX`
/// regular files owned by the caller. They may hold a secret. Best effort:
/// a failure here does not stop the replacement.
fn remove_stale_temporaries(dir: &OwnedFd, name: &OsStr) {
    let Ok(names) = sys::names_in(dir) else {
        return;
    };
    let owner = current_fsuid();
    for entry in names
        .iter()
        .filter(|entry| is_temporary_name(entry.to_bytes(), name.as_bytes()))
    {
        let entry = OsStr::from_bytes(entry.to_bytes());
        let owned_regular_file = stat_at(dir, entry)
            .is_ok_and(|stat| special_file_kind(stat.st_mode).is_none() && stat.st_uid == owner);
        if owned_regular_file {
            let _ = sys::unlinkat(dir, entry);
        }
    }
}

/// Whether `candidate` is `<name>~` followed by a `mkstemp`-style suffix.
fn is_temporary_name(candidate: &[u8], name: &[u8]) -> bool {
    candidate
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(b"~"))
        .is_some_and(|suffix| {
            suffix.len() == TEMPORARY_SUFFIX_LEN && suffix.iter().all(u8::is_ascii_alphanumeric)
        })
}

/// Replace `target` in `dir` by a new file holding `contents`: remove the
/// leftovers of killed processes, create a temporary file, give it its
/// attributes with `prepare`, write, sync and read it back, run
/// `before_rename` last and rename the temporary file over the target. The
/// caller holds the lock. On failure the temporary file is removed and the
/// target left as it was; on success the new file is returned, its
/// directory not yet synced.
fn install(
    dir: &OwnedFd,
    target: &Target,
    contents: &[u8],
    prepare: impl FnOnce(&File, &Path) -> Result<(), StoreError>,
    before_rename: impl FnOnce() -> Result<(), StoreError>,
) -> Result<File, StoreError> {
    // Under the lock, no other writer is writing a temporary file now.
    remove_stale_temporaries(dir, &target.name);
    let (temp, temp_name) = create_temporary(dir, target)?;
    let temp_path = target.dir.join(&temp_name);
    let installed = prepare(&temp, &temp_path)
        .and_then(|()| write_checked(&temp, &temp_path, contents))
        .and_then(|()| before_rename())
        .and_then(|()| {
            sys::renameat(dir, &temp_name, &target.name).map_err(|source| StoreError::Rename {
                path: target.path.clone(),
                source,
            })
        });
    match installed {
        Ok(()) => Ok(temp),
        Err(err) => {
            // Best effort: a leftover is removed by the next replacement.
            let _ = sys::unlinkat(dir, &temp_name);
            Err(err)
        }
    }
}

/// Write and sync `contents` to `temp` and check that they arrived whole.
fn write_checked(temp: &File, temp_path: &Path, contents: &[u8]) -> Result<(), StoreError> {
    let mut out = temp;
    out.write_all(contents)
        .map_err(|err| io_errno(&err))
        .and_then(|()| fsync(temp))
        .map_err(|source| StoreError::Write {
            path: temp_path.to_owned(),
            source,
        })?;
    check_written(temp, temp_path, contents)
}

/// Make a rename in `dir` durable.
fn sync_directory(dir: &OwnedFd, target: &Target) -> Result<(), StoreError> {
    fsync(dir).map_err(|source| StoreError::SyncDirectory {
        path: target.dir.clone(),
        source,
    })
}

/// Create a new, empty, mode-0 temporary file next to the target.
fn create_temporary(dir: &OwnedFd, target: &Target) -> Result<(File, OsString), StoreError> {
    // Read and write: the contents are read back before the rename.
    let flags = OFlags::RDWR
        | OFlags::CREATE
        | OFlags::EXCL
        | OFlags::NOFOLLOW
        | OFlags::NOCTTY
        | OFlags::CLOEXEC;
    let mut last_name = temporary_name(target)?;
    for _ in 0..TEMPORARY_CREATE_ATTEMPTS {
        let temp_name = temporary_name(target)?;
        match openat(dir, &temp_name, flags, Mode::empty()) {
            Ok(fd) => return Ok((File::from(fd), temp_name)),
            Err(Errno::EEXIST) => last_name = temp_name,
            Err(source) => {
                return Err(StoreError::CreateTemporary {
                    path: target.dir.join(temp_name),
                    source,
                });
            }
        }
    }
    Err(StoreError::CreateTemporary {
        path: target.dir.join(last_name),
        source: Errno::EEXIST,
    })
}

/// `name~` and six random letters and digits.
fn temporary_name(target: &Target) -> Result<OsString, StoreError> {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut temp_name = target.name.clone();
    temp_name.push("~");
    let mut suffix = [0u8; TEMPORARY_SUFFIX_LEN];
    let mut filled = 0;
    while filled < TEMPORARY_SUFFIX_LEN {
        let mut random = [0u8; 16];
        sys::fill_random(&mut random).map_err(|source| StoreError::CreateTemporary {
            path: target.dir.join(&temp_name),
            source,
        })?;
        // Bytes below 248 (4 x 62) keep every character equally likely.
        for byte in random.into_iter().filter(|&byte| byte < 248) {
            if filled < TEMPORARY_SUFFIX_LEN {
                suffix[filled] = ALPHABET[usize::from(byte % 62)];
                filled += 1;
            }
        }
    }
    temp_name.push(OsStr::from_bytes(&suffix));
    Ok(temp_name)
}

/// Check that `temp` holds exactly `expected`: a file system that reports
/// success for a write it did not make would otherwise replace the secret
/// with a short or zeroed file.
fn check_written(temp: &File, temp_path: &Path, expected: &[u8]) -> Result<(), StoreError> {
    let mut written = Zeroizing::new(vec![0_u8; expected.len().saturating_add(1)]);
    let mut filled = 0;
    while filled < written.len() {
        match sys::read_at(temp, &mut written[filled..], filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(Errno::EINTR) => {}
            Err(source) => {
                return Err(StoreError::Read {
                    path: temp_path.to_owned(),
                    source,
                });
            }
        }
    }
    if written.get(..filled) == Some(expected) {
        Ok(())
    } else {
        Err(StoreError::WrittenMismatch {
            path: temp_path.to_owned(),
            written: filled,
            expected: expected.len(),
        })
    }
}

/// Give `temp` the owner and group in `original` when they differ (root, or
/// a user changing only to one of their groups, may).
fn copy_owner(temp: &File, original: &FileStat) -> Result<(), Errno> {
    let current = stat_fd(temp)?;
    if (current.st_uid, current.st_gid) == (original.st_uid, original.st_gid) {
        return Ok(());
    }
    fchown(temp, Some(original.st_uid), Some(original.st_gid))
}

/// Copy the SELinux label of `original` onto `temp`, when there is one and
/// the file system supports labels.
fn copy_selinux_label(original: &File, temp: &File) -> io::Result<()> {
    let label = match original.get_xattr(SELINUX_LABEL) {
        Ok(Some(label)) => label,
        Ok(None) => return Ok(()),
        Err(err) if is_unsupported(&err) => return Ok(()),
        Err(err) => return Err(err),
    };
    if matches!(temp.get_xattr(SELINUX_LABEL), Ok(Some(current)) if current == label) {
        return Ok(());
    }
    match temp.set_xattr(SELINUX_LABEL, &label) {
        Err(err) if is_unsupported(&err) => Ok(()),
        other => other,
    }
}

fn is_unsupported(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error().map(Errno::from_raw),
        Some(Errno::ENOTSUP | Errno::ENODATA)
    )
}

/// The errno behind an I/O error; EIO for errors that carry none (such as a
/// write that made no progress).
fn io_errno(err: &io::Error) -> Errno {
    err.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_match_the_stale_pattern() {
        let target = Target {
            path: PathBuf::from("/home/u/.google_authenticator"),
            dir: PathBuf::from("/home/u"),
            name: OsString::from(".google_authenticator"),
        };
        for _ in 0..32 {
            let name = temporary_name(&target).unwrap();
            assert!(
                is_temporary_name(name.as_bytes(), b".google_authenticator"),
                "{name:?}"
            );
        }
    }

    #[test]
    fn only_six_alphanumerics_after_the_tilde_are_stale() {
        let name = b".google_authenticator";
        assert!(is_temporary_name(b".google_authenticator~aB3xY9", name));
        // A tilde without a suffix.
        assert!(!is_temporary_name(b".google_authenticator~", name));
        assert!(!is_temporary_name(b".google_authenticator~aB3xY", name));
        assert!(!is_temporary_name(b".google_authenticator~aB3xY9z", name));
        assert!(!is_temporary_name(b".google_authenticator~aB3x.9", name));
        assert!(!is_temporary_name(b".google_authenticator.lock", name));
        assert!(!is_temporary_name(b"other~aB3xY9", name));
        assert!(!is_temporary_name(b".google_authenticator", name));
    }

    #[test]
    fn special_file_kinds_are_named() {
        assert_eq!(special_file_kind(libc::S_IFREG | 0o600), None);
        assert_eq!(special_file_kind(libc::S_IFDIR | 0o700), Some("directory"));
        assert_eq!(special_file_kind(libc::S_IFIFO | 0o600), Some("FIFO"));
        assert_eq!(special_file_kind(libc::S_IFCHR), Some("character device"));
        assert_eq!(special_file_kind(libc::S_IFBLK), Some("block device"));
        assert_eq!(special_file_kind(libc::S_IFSOCK), Some("socket"));
        assert_eq!(special_file_kind(libc::S_IFLNK), Some("symbolic link"));
    }

    #[test]
    fn growing_keeps_the_prefix() {
        let mut buf = Zeroizing::new(b"abc".to_vec());
        grow_zeroizing(&mut buf, 8);
        assert_eq!(&buf[..], b"abc\0\0\0\0\0");
    }

    #[test]
    fn only_lock_and_directory_access_errors_prevent_an_update() {
        let path = PathBuf::from("/x");
        let lock_file = |source| StoreError::LockFile {
            path: path.clone(),
            source,
        };
        for errno in [Errno::EROFS, Errno::EACCES, Errno::EPERM] {
            assert!(lock_file(errno).prevents_update(), "{errno}");
        }
        assert!(!lock_file(Errno::EMFILE).prevents_update());
        let no_locks = StoreError::Lock {
            path: path.clone(),
            source: Errno::ENOLCK,
        };
        assert!(no_locks.prevents_update());
        let timeout = StoreError::LockTimeout {
            path: path.clone(),
            waited: LOCK_TIMEOUT,
        };
        assert!(!timeout.prevents_update());
        let closed_dir = StoreError::OpenDirectory {
            path: path.clone(),
            source: Errno::EACCES,
        };
        assert!(closed_dir.prevents_update());
    }

    #[test]
    fn a_group_refused_to_chown_or_any_eacces_asks_for_more_groups() {
        let path = PathBuf::from("/x");
        let chown = |source| StoreError::CopyAttributes {
            path: path.clone(),
            source,
        };
        assert!(chown(Errno::EPERM).needs_more_groups());
        assert!(chown(Errno::EACCES).needs_more_groups());
        assert!(!chown(Errno::ENOTSUP).needs_more_groups());
        let rename = |source| StoreError::Rename {
            path: path.clone(),
            source,
        };
        assert!(rename(Errno::EACCES).needs_more_groups());
        assert!(!rename(Errno::EPERM).needs_more_groups());
        assert!(
            !StoreError::WrongOwner {
                path: path.clone(),
                owner: 1,
                expected: 2
            }
            .needs_more_groups()
        );
    }

    #[test]
    fn policy_refusals_carry_no_errno_and_system_errors_do() {
        let path = PathBuf::from("/x");
        let refusal = StoreError::TooPermissive {
            path: path.clone(),
            mode: 0o644,
            allowed: 0o600,
        };
        assert_eq!(refusal.errno(), None);
        assert_eq!(
            refusal.to_string(),
            "secret file \"/x\" permissions (0644) are more permissive than 0600"
        );
        let full = StoreError::Write {
            path: path.clone(),
            source: Errno::ENOSPC,
        };
        assert_eq!(full.errno(), Some(Errno::ENOSPC));
        assert!(!full.is_not_found());
        assert!(StoreError::NotFound { path }.is_not_found());
    }

    mod write_new {
        use super::super::*;
        use std::fs;
        use std::os::unix::fs::{PermissionsExt as _, symlink};

        const SECRET: &[u8] = b"JBSWY3DPEHPK3PXP\n\" TOTP_AUTH\n";

        fn names_in(dir: &Path) -> Vec<String> {
            let mut names: Vec<String> = fs::read_dir(dir)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }

        fn mode_of(path: &Path) -> u32 {
            fs::metadata(path).unwrap().permissions().mode() & 0o7777
        }

        #[test]
        fn creates_the_file_with_the_mode_and_leaves_only_it_and_its_lock() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("secret");
            check_writable(&path).unwrap();
            write_new(&path, SECRET, 0o400).unwrap();
            assert_eq!(fs::read(&path).unwrap(), SECRET);
            assert_eq!(mode_of(&path), 0o400);
            assert_eq!(names_in(dir.path()), ["secret", "secret.lock"]);
        }

        #[test]
        fn replaces_a_file_whatever_it_holds_with_the_mode_given() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("secret");
            for old in [&b""[..], b"not a state file\0\xff", SECRET] {
                // The last round left it 0400, which only root may write.
                let _ = fs::remove_file(&path);
                fs::write(&path, old).unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
                write_new(&path, b"new\n", 0o400).unwrap();
                assert_eq!(fs::read(&path).unwrap(), b"new\n");
                assert_eq!(mode_of(&path), 0o400);
            }
            assert_eq!(names_in(dir.path()), ["secret", "secret.lock"]);
        }

        /// One policy with the module: a link at the path is followed and
        /// its target replaced in the target's directory; the link stays.
        #[test]
        fn follows_a_symlink_at_the_path_and_replaces_its_target() {
            let dir = tempfile::tempdir().unwrap();
            let elsewhere = dir.path().join("elsewhere");
            fs::create_dir(&elsewhere).unwrap();
            let target = elsewhere.join("real");
            fs::write(&target, b"old\n").unwrap();
            let link = dir.path().join("secret");
            symlink(&target, &link).unwrap();

            check_writable(&link).unwrap();
            write_new(&link, SECRET, 0o400).unwrap();
            assert!(
                fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(fs::read_link(&link).unwrap(), target);
            assert_eq!(fs::read(&target).unwrap(), SECRET);
            assert_eq!(mode_of(&target), 0o400);
            assert_eq!(names_in(&elsewhere), ["real", "real.lock"]);
            assert_eq!(names_in(dir.path()), ["elsewhere", "secret"]);
        }

        #[test]
        fn a_link_to_nothing_is_refused() {
            let dir = tempfile::tempdir().unwrap();
            let link = dir.path().join("secret");
            symlink(dir.path().join("missing"), &link).unwrap();
            for result in [check_writable(&link), write_new(&link, SECRET, 0o400)] {
                assert!(
                    matches!(
                        result,
                        Err(StoreError::Resolve {
                            source: Errno::ENOENT,
                            ..
                        })
                    ),
                    "{result:?}"
                );
            }
            assert_eq!(names_in(dir.path()), ["secret"]);
        }

        #[test]
        fn a_directory_or_fifo_at_the_path_is_refused() {
            let dir = tempfile::tempdir().unwrap();
            let fifo = dir.path().join("fifo");
            rustix::fs::mknodat(
                sys::CWD,
                &fifo,
                rustix::fs::FileType::Fifo,
                Mode::RUSR | Mode::WUSR,
                0,
            )
            .unwrap();
            for (path, expected) in [
                (dir.path(), "directory"),
                (&fifo, "FIFO"),
                (Path::new("/"), "directory"),
            ] {
                for result in [check_writable(path), write_new(path, SECRET, 0o400)] {
                    assert!(
                        matches!(&result, Err(StoreError::NotRegularFile { kind, .. }) if *kind == expected),
                        "{}: {result:?}",
                        path.display()
                    );
                }
            }
            assert_eq!(names_in(dir.path()), ["fifo"]);
        }

        #[test]
        fn a_missing_or_unusable_directory_is_refused() {
            let dir = tempfile::tempdir().unwrap();
            let plain = dir.path().join("plain");
            fs::write(&plain, b"").unwrap();
            let missing = dir.path().join("missing/secret");
            assert!(matches!(
                check_writable(&missing),
                Err(StoreError::OpenDirectory {
                    source: Errno::ENOENT,
                    ..
                })
            ));
            assert!(matches!(
                check_writable(&plain.join("secret")),
                Err(StoreError::Resolve {
                    source: Errno::ENOTDIR,
                    ..
                })
            ));
            assert!(write_new(&missing, SECRET, 0o400).is_err());
            assert_eq!(names_in(dir.path()), ["plain"]);
        }

        /// `<name>~XXXXXX` files of the caller, such as a killed enrolment
        /// leaves with a secret in them, are removed by the next write.
        #[test]
        fn removes_temporary_files_left_by_a_killed_writer() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("secret");
            fs::write(dir.path().join("secret~a1B2c3"), SECRET).unwrap();
            fs::write(dir.path().join("secret~"), SECRET).unwrap();
            write_new(&path, SECRET, 0o400).unwrap();
            assert_eq!(names_in(dir.path()), ["secret", "secret.lock", "secret~"]);
        }

        #[test]
        fn a_bare_name_is_written_in_the_current_directory() {
            let target = Target::resolve_new(Path::new("secret")).unwrap();
            assert_eq!(target.dir, Path::new("."));
            assert_eq!(target.name, "secret");
        }
    }
}
