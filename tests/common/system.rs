//! The system side of a test: non-root test users (created idempotently with
//! `useradd`), per-run directories, state files with a chosen owner and mode,
//! and snapshots of a state file to compare after a run.
//!
//! Each scenario works in its own directory under the system temporary
//! directory, owned by the test user, so runs can proceed in parallel. Runs
//! that must use a user's real home directory take [`HomeLock`] first.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{MetadataExt, PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Group, User};

/// A test user with a secret file in most scenarios.
pub const ALICE: &str = "rt_alice";
/// A second test user, e.g. the owner named by `user=`.
pub const BOB: &str = "rt_bob";
/// A test user who never has a secret file.
pub const NOFILE: &str = "rt_nofile";

/// A local account the tests act as.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// The account `name`, created with a home under /home if it is missing.
pub fn test_user(name: &str) -> Account {
    static USERADD: Mutex<()> = Mutex::new(());
    let _serialised = USERADD.lock().unwrap_or_else(|poison| poison.into_inner());
    if let Some(account) = lookup(name) {
        return account;
    }
    let status = Command::new("useradd")
        .args(["--create-home", "--home-dir"])
        .arg(Path::new("/home").join(name))
        .args(["--shell", "/usr/sbin/nologin", "--user-group", name])
        .status()
        .unwrap_or_else(|e| panic!("running useradd: {e}"));
    // Another test process may have created the account meanwhile.
    lookup(name).unwrap_or_else(|| panic!("useradd {name} failed: {status}"))
}

/// The root account.
pub fn root() -> Account {
    lookup("root").unwrap_or_else(|| panic!("no root account"))
}

fn lookup(name: &str) -> Option<Account> {
    let user = User::from_name(name).unwrap_or_else(|e| panic!("getpwnam({name}): {e}"))?;
    Some(Account {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        home: user.dir,
    })
}

/// The gid of the group `name`.
pub fn group_id(name: &str) -> u32 {
    Group::from_name(name)
        .unwrap_or_else(|e| panic!("getgrnam({name}): {e}"))
        .unwrap_or_else(|| panic!("no group {name}"))
        .gid
        .as_raw()
}

/// A private, root-owned directory for one run, removed when dropped.
pub struct Workspace {
    root: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        let root = tempfile::Builder::new()
            .prefix("pam-rust-totp-")
            .tempdir()
            .unwrap_or_else(|e| panic!("creating a temporary directory: {e}"));
        set_mode(root.path(), 0o755);
        Self { root }
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    /// The PAM configuration directory of this workspace.
    pub fn confdir(&self) -> PathBuf {
        self.path().join("pam.d")
    }

    /// A sub-directory `name` owned by `owner` with `mode`.
    pub fn dir(&self, name: &str, owner: &Account, mode: u32) -> PathBuf {
        let dir = self.path().join(name);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        set_owner(&dir, owner.uid, owner.gid);
        set_mode(&dir, mode);
        dir
    }
}

/// Writes a state file with exactly `content`, `uid`:`gid` and `mode`.
pub fn write_file(path: &Path, content: &[u8], uid: u32, gid: u32, mode: u32) {
    // Replace rather than truncate, so a read-only file or a leftover
    // symlink from an earlier run does not get in the way.
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("removing {}: {e}", path.display()),
    }
    fs::write(path, content).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    set_owner(path, uid, gid);
    set_mode(path, mode);
}

pub fn set_owner(path: &Path, uid: u32, gid: u32) {
    chown(path, Some(uid), Some(gid)).unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}

pub fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// What a path looks like on disk: enough to tell whether a run changed,
/// replaced or removed it.
#[derive(Clone, PartialEq, Eq)]
pub struct FileState {
    /// The bytes of the file or of the regular file a symlink leads to;
    /// `None` if absent or not a regular file.
    pub content: Option<Vec<u8>>,
    /// Permission bits, file type, owner and inode of the path itself.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub inode: u64,
}

impl FileState {
    pub fn of(path: &Path) -> Self {
        let Ok(meta) = fs::symlink_metadata(path) else {
            return Self {
                content: None,
                mode: 0,
                uid: 0,
                gid: 0,
                inode: 0,
            };
        };
        // Only regular files are read: a FIFO would block, /dev/zero never end.
        let regular = fs::metadata(path).is_ok_and(|target| target.is_file());
        Self {
            content: regular.then(|| fs::read(path).ok()).flatten(),
            mode: meta.mode(),
            uid: meta.uid(),
            gid: meta.gid(),
            inode: meta.ino(),
        }
    }

    /// The content as text, for assertion messages.
    pub fn text(&self) -> Option<String> {
        self.content
            .as_ref()
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    }

    /// Permission bits only.
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

impl fmt::Debug for FileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileState")
            .field("content", &self.text())
            .field("mode", &format_args!("{:o}", self.mode))
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("inode", &self.inode)
            .finish()
    }
}

/// The names in `dir`, sorted (e.g. to spot left-over temporary files).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Exclusive use of a test user's home directory across threads and test
/// processes, for scenarios that need the default `~/...` location.
pub struct HomeLock {
    _lock: Flock<File>,
}

impl HomeLock {
    pub fn acquire(user: &str) -> Self {
        let path = std::env::temp_dir().join(format!("pam-rust-totp-home-{user}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .unwrap_or_else(|(_, e)| panic!("locking {}: {e}", path.display()));
        Self { _lock: lock }
    }
}
