//! Integration tests of the I/O edge: reading, locking and replacing the
//! state file (`store`) and acting with a user's identity
//! (`privilege`). They run as root and use the test account `rt_io_user`
//! (member of `rt_io_group`), created here when missing.

use std::error::Error;
use std::ffi::OsString;
use std::fs::{self, File, Permissions};
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, chown, symlink};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid, mkfifo, setfsgid, setfsuid, setgroups};
use pam_rust_totp::privilege::{
    PrivilegeError, UserAccount, UserIdentity, current_fsgid, current_fsuid, lookup_user_by_name,
};
use pam_rust_totp::store::{self, FilePolicy, LOCK_TIMEOUT, LockedStateFile, Snapshot, StoreError};
use tempfile::TempDir;
use xattr::FileExt as _;

#[path = "common/locks.rs"]
mod locks;

use locks::lock_is_held;

type TestResult = Result<(), Box<dyn Error>>;

const STATE: &[u8] = b"JBSWY3DPEHPK3PXP\n\" TOTP_AUTH\n12345678\n";
const NEW_STATE: &[u8] = b"JBSWY3DPEHPK3PXP\n\" TOTP_AUTH\n";
const NAME: &str = ".google_authenticator";

const TEST_USER: &str = "rt_io_user";
const TEST_GROUP: &str = "rt_io_group";

/// Set in a child process to the name of the test it is to run as a helper.
const CHILD_ENV: &str = "SECRET_FILE_IO_CHILD";
const CHILD_DIR_ENV: &str = "SECRET_FILE_IO_DIR";

// ---------------------------------------------------------------- helpers

struct TestUser {
    account: UserAccount,
    group: u32,
}

/// The test account, created (idempotently) on first use.
fn test_user() -> &'static TestUser {
    static USER: OnceLock<TestUser> = OnceLock::new();
    USER.get_or_init(|| {
        if !succeeds("getent", &["group", TEST_GROUP]) {
            run_admin("groupadd", &["--system", TEST_GROUP]);
        }
        if !succeeds("getent", &["passwd", TEST_USER]) {
            run_admin(
                "useradd",
                &[
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    TEST_USER,
                ],
            );
        }
        run_admin("usermod", &["--append", "--groups", TEST_GROUP, TEST_USER]);
        let account = lookup_user_by_name(TEST_USER)
            .expect("look up the test user")
            .expect("the test user exists");
        let group = nix::unistd::Group::from_name(TEST_GROUP)
            .expect("look up the test group")
            .expect("the test group exists")
            .gid
            .as_raw();
        TestUser { account, group }
    })
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Run an account-administration command, retrying while another process
/// holds the passwd/group lock.
fn run_admin(program: &str, args: &[&str]) {
    let mut last = None;
    for _ in 0..20 {
        let output = Command::new(program)
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {program}: {err}"));
        if output.status.success() {
            return;
        }
        last = Some(output);
        thread::sleep(Duration::from_millis(250));
    }
    panic!("{program} {args:?} failed: {last:?}");
}

/// Tests that switch identities hold this: groups are process-wide, and
/// some tests switch fsuid/fsgid by hand.
fn identity_switch() -> MutexGuard<'static, ()> {
    static SWITCHING: Mutex<()> = Mutex::new(());
    SWITCHING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A scratch directory everyone may traverse.
fn scratch() -> TempDir {
    let dir = tempfile::tempdir().expect("create a scratch directory");
    set_mode(dir.path(), 0o755);
    dir
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, Permissions::from_mode(mode)).expect("chmod");
}

fn write_file(path: &Path, contents: &[u8], mode: u32) -> PathBuf {
    fs::write(path, contents).expect("write a test file");
    set_mode(path, mode);
    path.to_owned()
}

fn state_file(dir: &Path, mode: u32) -> PathBuf {
    write_file(&dir.join(NAME), STATE, mode)
}

fn root_policy() -> FilePolicy {
    FilePolicy::new(0)
}

fn open_err(path: &Path, policy: &FilePolicy) -> StoreError {
    LockedStateFile::open(path, policy).expect_err("the file must be refused")
}

fn names_in(dir: &Path) -> Vec<OsString> {
    let mut names: Vec<OsString> = fs::read_dir(dir)
        .expect("list the directory")
        .map(|entry| entry.expect("directory entry").file_name())
        .collect();
    names.sort();
    names
}

/// The four ids (real, effective, saved, file-system) of a line of
/// /proc/thread-self/status, or the list of supplementary groups.
fn thread_status(field: &str) -> Vec<u32> {
    let status = fs::read_to_string("/proc/thread-self/status").expect("read thread status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .expect("field present")
        .split_whitespace()
        .map(|id| id.parse().expect("numeric id"))
        .collect()
}

fn in_child(test: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|name| name == test)
}

/// The arguments that make this test binary run test `test` alone, ignored
/// or not.
fn only_test(test: &str) -> [&str; 6] {
    [
        "--exact",
        test,
        "--include-ignored",
        "--nocapture",
        "--test-threads",
        "1",
    ]
}

/// Run test `test` of this binary again in a child process set up by
/// `configure`; the child knows its role from [`CHILD_ENV`].
fn rerun_in_child(program: &Path, test: &str, configure: impl FnOnce(&mut Command)) -> Output {
    let mut command = Command::new(program);
    command.args(only_test(test)).env(CHILD_ENV, test);
    configure(&mut command);
    command.output().expect("run the child test")
}

fn assert_child_passed(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed: {output:?}"
    );
}

// ---------------------------------------------------------------- acceptance

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn files_of_mode_0600_and_0400_are_read_and_locked() -> TestResult {
    for mode in [0o600, 0o400] {
        let dir = scratch();
        let path = state_file(dir.path(), mode);
        let file = LockedStateFile::open(&path, &root_policy())?;
        assert_eq!(file.contents(), STATE);
        assert_eq!(file.path(), fs::canonicalize(&path)?);
        assert!(lock_is_held(&dir.path().join(format!("{NAME}.lock"))));
    }
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn allowed_perm_override_accepts_a_group_readable_file() -> TestResult {
    let dir = scratch();
    let path = state_file(dir.path(), 0o640);
    let err = open_err(&path, &root_policy());
    assert!(matches!(
        err,
        StoreError::TooPermissive {
            mode: 0o640,
            allowed: 0o600,
            ..
        }
    ));
    let policy = FilePolicy {
        allowed_perm: 0o640,
        ..root_policy()
    };
    assert_eq!(LockedStateFile::open(&path, &policy)?.contents(), STATE);
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_file_of_exactly_max_size_is_accepted() -> TestResult {
    let dir = scratch();
    let contents = vec![b'x'; 64 * 1024];
    let path = write_file(&dir.path().join(NAME), &contents, 0o600);
    assert_eq!(
        LockedStateFile::open(&path, &root_policy())?.contents(),
        &contents[..]
    );
    Ok(())
}

// ---------------------------------------------------------------- refusals

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn group_or_world_accessible_files_are_refused() {
    // Like the reference, only `st_mode & 0o3777` counts: set-uid is ignored.
    for mode in [0o620, 0o602, 0o644, 0o2600, 0o1600, 0o700] {
        let dir = scratch();
        let path = state_file(dir.path(), mode);
        let err = open_err(&path, &root_policy());
        match &err {
            StoreError::TooPermissive {
                path: reported,
                mode: reported_mode,
                allowed: 0o600,
            } => {
                assert_eq!(reported, &path);
                assert_eq!(*reported_mode, mode);
            }
            other => panic!("mode {mode:o}: unexpected {other}"),
        }
        assert!(err.to_string().contains(&format!("({mode:04o})")), "{err}");
        assert_eq!(err.errno(), None);
    }
    let dir = scratch();
    let set_uid = state_file(dir.path(), 0o4600);
    assert!(LockedStateFile::open(&set_uid, &root_policy()).is_ok());
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_file_owned_by_someone_else_is_refused_when_strict() -> TestResult {
    let user = test_user();
    let dir = scratch();
    let path = state_file(dir.path(), 0o600);
    chown(&path, Some(user.account.uid), Some(user.account.gid))?;
    let err = open_err(&path, &root_policy());
    assert!(
        matches!(err, StoreError::WrongOwner { owner, expected: 0, .. } if owner == user.account.uid),
        "{err}"
    );
    assert!(err.to_string().contains("must be owned by uid 0"), "{err}");
    let lenient = FilePolicy {
        strict_owner: false,
        ..root_policy()
    };
    assert_eq!(LockedStateFile::open(&path, &lenient)?.contents(), STATE);
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_missing_file_is_not_found() -> TestResult {
    let dir = scratch();
    let missing = dir.path().join(NAME);
    let dangling = dir.path().join("dangling");
    symlink(dir.path().join("nowhere"), &dangling)?;
    let no_home = dir.path().join("no-such-home").join(NAME);
    for path in [missing, dangling, no_home] {
        let err = open_err(&path, &root_policy());
        assert!(err.is_not_found(), "{err}");
        assert_eq!(err.errno(), Some(Errno::ENOENT));
        assert!(err.to_string().contains(&path.display().to_string()));
    }
    // Other failures are not "not found".
    let not_a_dir = state_file(dir.path(), 0o600).join(NAME);
    let err = open_err(&not_a_dir, &root_policy());
    assert!(!err.is_not_found(), "{err}");
    assert_eq!(err.errno(), Some(Errno::ENOTDIR));
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_fifo_is_refused_without_blocking() -> TestResult {
    let dir = scratch();
    let path = dir.path().join(NAME);
    mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR)?;
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let _ = sender.send(LockedStateFile::open(&path, &root_policy()));
    });
    let result = receiver
        .recv_timeout(Duration::from_secs(5))
        .expect("opening a FIFO must not block");
    let err = result.expect_err("a FIFO must be refused");
    assert!(
        matches!(err, StoreError::NotRegularFile { kind: "FIFO", .. }),
        "{err}"
    );
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_directory_is_refused() -> TestResult {
    let dir = scratch();
    let path = dir.path().join(NAME);
    fs::create_dir(&path)?;
    let err = open_err(&path, &root_policy());
    assert!(
        matches!(
            err,
            StoreError::NotRegularFile {
                kind: "directory",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("is not a regular file"), "{err}");
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_device_behind_a_symlink_is_refused() -> TestResult {
    let dir = scratch();
    let path = dir.path().join(NAME);
    symlink("/dev/zero", &path)?;
    let err = open_err(&path, &root_policy());
    match &err {
        StoreError::NotRegularFile {
            path: reported,
            kind: "character device",
        } => assert_eq!(reported, Path::new("/dev/zero")),
        other => panic!("unexpected {other}"),
    }
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn empty_and_oversized_files_are_refused() -> TestResult {
    let dir = scratch();
    let empty = write_file(&dir.path().join("empty"), b"", 0o600);
    let err = open_err(&empty, &root_policy());
    assert!(
        matches!(err, StoreError::InvalidSize { size: 0, .. }),
        "{err}"
    );

    let just_over = write_file(&dir.path().join("over"), &vec![b'x'; 64 * 1024 + 1], 0o600);
    let err = open_err(&just_over, &root_policy());
    assert!(
        matches!(
            err,
            StoreError::InvalidSize {
                size: 65_537,
                max: 65_536,
                ..
            }
        ),
        "{err}"
    );

    let huge = write_file(
        &dir.path().join("huge"),
        &vec![b'x'; 10 * 1024 * 1024],
        0o600,
    );
    let err = open_err(&huge, &root_policy());
    assert!(matches!(err, StoreError::InvalidSize { .. }), "{err}");

    let small_limit = FilePolicy {
        max_size: STATE.len() as u64 - 1,
        ..root_policy()
    };
    let path = state_file(dir.path(), 0o600);
    assert!(matches!(
        open_err(&path, &small_limit),
        StoreError::InvalidSize { .. }
    ));
    Ok(())
}

// ---------------------------------------------------------------- symlinks

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_symlink_is_followed_and_survives_replace() -> TestResult {
    let home = scratch();
    let store = scratch();
    let target = state_file(store.path(), 0o400);
    let link = home.path().join(NAME);
    symlink(&target, &link)?;

    let mut file = LockedStateFile::open(&link, &root_policy())?;
    assert_eq!(file.path(), fs::canonicalize(&target)?);
    assert_eq!(file.contents(), STATE);
    file.replace(NEW_STATE)?;
    assert_eq!(file.contents(), NEW_STATE);
    drop(file);

    assert!(fs::symlink_metadata(&link)?.file_type().is_symlink());
    assert_eq!(fs::read_link(&link)?, target);
    assert_eq!(fs::read(&target)?, NEW_STATE);
    assert_eq!(fs::metadata(&target)?.mode() & 0o7777, 0o400);
    // Lock file and temporary files live next to the target, not the link.
    assert_eq!(names_in(home.path()), vec![OsString::from(NAME)]);
    assert_eq!(
        names_in(store.path()),
        vec![OsString::from(NAME), OsString::from(format!("{NAME}.lock"))]
    );
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_symlink_to_a_file_the_user_cannot_read_is_refused() -> TestResult {
    let _switching = identity_switch();
    let user = test_user();
    let home = scratch();
    chown(home.path(), Some(user.account.uid), Some(user.account.gid))?;
    let secret_dir = scratch();
    let secret = state_file(secret_dir.path(), 0o600);
    let link = home.path().join(NAME);
    symlink(&secret, &link)?;

    let policy = FilePolicy {
        strict_owner: false,
        ..FilePolicy::new(user.account.uid)
    };
    let mut owner = UserIdentity::new(&user.account)?;
    let identity = owner.assume()?;
    let result = Snapshot::read(&link, &policy).map(|_| ());
    identity.restore()?;

    let err = result.expect_err("the user cannot read root's file");
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert_eq!(err.errno(), Some(Errno::EACCES));
    assert!(!err.is_not_found());
    // Root, by contrast, may read it: the refusal came from the identity.
    assert_eq!(Snapshot::read(&link, &policy)?.contents(), STATE);
    assert_eq!(LockedStateFile::open(&link, &policy)?.contents(), STATE);
    Ok(())
}

// ---------------------------------------------------------------- replace

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn replace_keeps_mode_owner_and_group() -> TestResult {
    let user = test_user();
    for mode in [0o400, 0o600] {
        let dir = scratch();
        let path = state_file(dir.path(), mode);
        chown(&path, Some(user.account.uid), Some(user.group))?;
        let before = fs::metadata(&path)?;
        let policy = FilePolicy::new(user.account.uid);

        let mut file = LockedStateFile::open(&path, &policy)?;
        file.replace(NEW_STATE)?;
        drop(file);

        let after = fs::metadata(&path)?;
        assert_eq!(fs::read(&path)?, NEW_STATE);
        assert_ne!(after.ino(), before.ino(), "a new file was renamed in");
        assert_eq!(after.mode(), before.mode());
        assert_eq!((after.uid(), after.gid()), (user.account.uid, user.group));
    }
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn replace_twice_through_one_handle() -> TestResult {
    let dir = scratch();
    let path = state_file(dir.path(), 0o400);
    let mut file = LockedStateFile::open(&path, &root_policy())?;
    file.replace(NEW_STATE)?;
    file.replace(b"third\n")?;
    assert_eq!(file.contents(), b"third\n");
    drop(file);
    assert_eq!(fs::read(&path)?, b"third\n");
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn replace_as_the_user_writes_a_file_the_user_owns() -> TestResult {
    let _switching = identity_switch();
    let user = test_user();
    let home = scratch();
    chown(home.path(), Some(user.account.uid), Some(user.account.gid))?;
    let path = state_file(home.path(), 0o400);
    chown(&path, Some(user.account.uid), Some(user.account.gid))?;

    let mut owner = UserIdentity::new(&user.account)?;
    let identity = owner.assume()?;
    let result = LockedStateFile::open(&path, &FilePolicy::new(user.account.uid))
        .and_then(|mut file| file.replace(NEW_STATE));
    identity.restore()?;
    result?;

    assert_eq!(fs::read(&path)?, NEW_STATE);
    let meta = fs::metadata(&path)?;
    assert_eq!(
        (meta.uid(), meta.mode() & 0o7777),
        (user.account.uid, 0o400)
    );
    let lock = fs::metadata(home.path().join(format!("{NAME}.lock")))?;
    assert_eq!(
        (lock.uid(), lock.mode() & 0o7777),
        (user.account.uid, 0o600)
    );
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn replace_copies_the_selinux_label() -> TestResult {
    const LABEL: &[u8] = b"unconfined_u:object_r:auth_home_t:s0";
    let dir = scratch();
    let path = state_file(dir.path(), 0o600);
    if let Err(err) = File::open(&path)?.set_xattr("security.selinux", LABEL) {
        let message = format!("cannot set security.selinux on {}: {err}", path.display());
        panic!("this test cannot run here: {message}");
    }
    let mut file = LockedStateFile::open(&path, &root_policy())?;
    file.replace(NEW_STATE)?;
    drop(file);
    assert_eq!(
        File::open(&path)?.get_xattr("security.selinux")?.as_deref(),
        Some(LABEL)
    );
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn stale_temporary_files_are_removed() -> TestResult {
    let user = test_user();
    let dir = scratch();
    let path = state_file(dir.path(), 0o400);
    let stale = [format!("{NAME}~a1B2c3"), format!("{NAME}~ZZZZZZ")];
    for name in &stale {
        write_file(&dir.path().join(name), STATE, 0o400);
    }
    let kept = [
        format!("{NAME}~"),
        format!("{NAME}~toolong"),
        format!("{NAME}~short"),
        format!("{NAME}~a.b-c_"),
        format!("other{NAME}~a1B2c3"),
        format!("{NAME}~byUser"),
        format!("{NAME}~subdir"),
    ];
    for name in &kept[..5] {
        write_file(&dir.path().join(name), STATE, 0o400);
    }
    let by_user = write_file(&dir.path().join(&kept[5]), STATE, 0o400);
    chown(&by_user, Some(user.account.uid), None)?;
    fs::create_dir(dir.path().join(&kept[6]))?;

    let mut file = LockedStateFile::open(&path, &root_policy())?;
    file.replace(NEW_STATE)?;
    drop(file);

    let mut expected: Vec<OsString> = kept.iter().map(OsString::from).collect();
    expected.push(NAME.into());
    expected.push(format!("{NAME}.lock").into());
    expected.sort();
    assert_eq!(names_in(dir.path()), expected);
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn replace_refuses_a_file_changed_behind_the_lock() -> TestResult {
    let dir = scratch();
    let path = state_file(dir.path(), 0o600);

    // Replaced by another inode (as a writer that ignores the lock does).
    let mut file = LockedStateFile::open(&path, &root_policy())?;
    let other = write_file(&dir.path().join("other"), b"written elsewhere\n", 0o600);
    fs::rename(&other, &path)?;
    let err = file.replace(NEW_STATE).expect_err("the file changed");
    assert!(matches!(err, StoreError::ChangedUnderneath { .. }), "{err}");
    assert_eq!(err.errno(), Some(Errno::EAGAIN));
    assert_eq!(fs::read(&path)?, b"written elsewhere\n");
    drop(file);

    // Modified in place.
    let mut file = LockedStateFile::open(&path, &root_policy())?;
    fs::OpenOptions::new()
        .append(true)
        .open(&path)?
        .write_all(b"12345678\n")?;
    let err = file.replace(NEW_STATE).expect_err("the file changed");
    assert!(matches!(err, StoreError::ChangedUnderneath { .. }), "{err}");
    assert_eq!(fs::read(&path)?, b"written elsewhere\n12345678\n");
    drop(file);

    assert_eq!(
        names_in(dir.path()),
        vec![OsString::from(NAME), OsString::from(format!("{NAME}.lock"))]
    );
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_read_only_directory_cannot_be_opened_for_an_update() -> TestResult {
    let _switching = identity_switch();
    let user = test_user();
    let home = scratch();
    let path = state_file(home.path(), 0o400);
    chown(&path, Some(user.account.uid), Some(user.account.gid))?;
    chown(home.path(), Some(user.account.uid), Some(user.account.gid))?;
    set_mode(home.path(), 0o555);

    let policy = FilePolicy::new(user.account.uid);
    let mut owner = UserIdentity::new(&user.account)?;
    let identity = owner.assume()?;
    let locked = LockedStateFile::open(&path, &policy).map(|_| ());
    identity.restore()?;

    let lock_err = locked.expect_err("no lock file can be made in a read-only directory");
    assert!(
        matches!(lock_err, StoreError::LockFile { .. }),
        "{lock_err}"
    );
    assert!(lock_err.prevents_update(), "{lock_err}");
    assert_eq!(lock_err.errno(), Some(Errno::EACCES));
    assert_eq!(fs::read(&path)?, STATE);
    assert_eq!(names_in(home.path()), vec![OsString::from(NAME)]);
    Ok(())
}

/// Fills a small tmpfs, then checks that replace fails with ENOSPC and
/// leaves the original alone. The tmpfs is mounted in a child process in its
/// own mount namespace.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn replace_on_a_full_file_system_fails_and_keeps_the_original() -> TestResult {
    const TEST: &str = "replace_on_a_full_file_system_fails_and_keeps_the_original";
    if in_child(TEST) {
        return fill_and_replace(Path::new(&std::env::var(CHILD_DIR_ENV)?));
    }
    let mount_point = scratch();
    let probe = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "mount",
            "-t",
            "tmpfs",
            "tmpfs",
        ])
        .arg(mount_point.path())
        .output();
    if !probe.as_ref().is_ok_and(|output| output.status.success()) {
        let message = format!("cannot mount a tmpfs in a private mount namespace: {probe:?}");
        panic!("this test cannot run here: {message}");
    }
    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private"])
        .arg(std::env::current_exe()?)
        .args(only_test(TEST))
        .env(CHILD_ENV, TEST)
        .env(CHILD_DIR_ENV, mount_point.path())
        .output()?;
    assert_child_passed(&output);
    Ok(())
}

fn fill_and_replace(mount_point: &Path) -> TestResult {
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs"])
        .arg(mount_point)
        .status()?;
    assert!(status.success(), "mount a small tmpfs");
    let path = state_file(mount_point, 0o400);
    let mut file = LockedStateFile::open(&path, &root_policy())?;

    let mut filler = File::create(mount_point.join("filler"))?;
    let chunk = [b'f'; 4096];
    let full = loop {
        if let Err(err) = filler.write_all(&chunk) {
            break err;
        }
    };
    assert_eq!(full.raw_os_error(), Some(libc::ENOSPC), "{full}");

    let err = file
        .replace(NEW_STATE)
        .expect_err("the file system is full");
    assert!(matches!(err, StoreError::Write { .. }), "{err}");
    assert_eq!(err.errno(), Some(Errno::ENOSPC));
    assert_eq!(file.contents(), STATE);
    drop(file);
    assert_eq!(fs::read(&path)?, STATE);
    assert_eq!(
        names_in(mount_point),
        vec![
            OsString::from(NAME),
            OsString::from(format!("{NAME}.lock")),
            OsString::from("filler")
        ]
    );
    Ok(())
}

// ---------------------------------------------------------------- locking

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_second_open_waits_until_the_first_is_dropped() -> TestResult {
    let dir = scratch();
    let path = state_file(dir.path(), 0o400);
    let mut first = LockedStateFile::open(&path, &root_policy())?;

    let (started, has_started) = mpsc::channel();
    let (finished, has_finished) = mpsc::channel();
    let second_path = path.clone();
    let second = thread::spawn(move || {
        let _ = started.send(());
        let result = LockedStateFile::open(&second_path, &root_policy())
            .map(|file| file.contents().to_vec());
        let _ = finished.send(result);
    });
    has_started.recv()?;
    assert_eq!(
        has_finished.recv_timeout(Duration::from_millis(500)).err(),
        Some(RecvTimeoutError::Timeout),
        "the second open must wait for the lock"
    );

    first.replace(NEW_STATE)?;
    drop(first);
    let seen = has_finished.recv_timeout(Duration::from_secs(5))??;
    assert_eq!(
        seen, NEW_STATE,
        "the second reader sees the first one's update"
    );
    second.join().map_err(|_| "second opener panicked")?;
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn waiting_for_the_lock_gives_up_after_the_timeout() -> TestResult {
    let dir = scratch();
    let path = state_file(dir.path(), 0o400);
    let _held = LockedStateFile::open(&path, &root_policy())?;
    let start = Instant::now();
    let err = open_err(&path, &root_policy());
    let waited = start.elapsed();
    assert!(matches!(err, StoreError::LockTimeout { .. }), "{err}");
    assert_eq!(err.errno(), Some(Errno::EAGAIN));
    assert!(waited >= LOCK_TIMEOUT, "gave up after {waited:?}");
    assert!(waited < LOCK_TIMEOUT + Duration::from_secs(5), "{waited:?}");
    Ok(())
}

// ---------------------------------------------------------------- identity

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn assume_switches_fsuid_fsgid_and_groups_and_restores_them() -> TestResult {
    let _switching = identity_switch();
    let user = test_user();
    let groups_before = thread_status("Groups:");

    // The caller has a supplementary group of its own, which must not
    // count while acting as the user.
    setgroups(&[Gid::from_raw(user.group)])?;
    let caller_groups = thread_status("Groups:");
    let mut owner = UserIdentity::new(&user.account)?;
    let mut identity = owner.assume()?;
    assert_eq!(thread_status("Uid:"), vec![0, 0, 0, user.account.uid]);
    assert_eq!(thread_status("Gid:"), vec![0, 0, 0, user.account.gid]);
    assert_eq!(thread_status("Groups:"), vec![user.account.gid]);
    assert_eq!(current_fsuid(), user.account.uid);
    assert!(identity.add_supplementary_groups()?);
    let mut groups = thread_status("Groups:");
    groups.sort_unstable();
    let mut expected = vec![user.account.gid, user.group];
    expected.sort_unstable();
    assert_eq!(groups, expected);
    assert!(
        !identity.add_supplementary_groups()?,
        "the groups are complete already"
    );
    identity.restore()?;

    assert_eq!(thread_status("Uid:"), vec![0, 0, 0, 0]);
    assert_eq!(thread_status("Gid:"), vec![0, 0, 0, 0]);
    assert_eq!(thread_status("Groups:"), caller_groups);

    // The groups looked up once are kept: the next switch starts with them.
    let identity = owner.assume()?;
    let mut groups = thread_status("Groups:");
    groups.sort_unstable();
    assert_eq!(groups, expected);
    identity.restore()?;
    assert_eq!(thread_status("Groups:"), caller_groups);

    // A caller without supplementary groups keeps none: with the fsgid
    // switched, that grants what the primary group alone grants.
    setgroups(&[])?;
    let mut owner = UserIdentity::new(&user.account)?;
    let mut identity = owner.assume()?;
    assert_eq!(thread_status("Groups:"), Vec::<u32>::new());
    assert!(identity.add_supplementary_groups()?);
    assert_eq!(thread_status("Groups:").len(), 2);
    // Dropping restores too.
    drop(identity);
    assert_eq!(thread_status("Uid:"), vec![0, 0, 0, 0]);
    assert_eq!(thread_status("Groups:"), Vec::<u32>::new());

    let groups_before: Vec<Gid> = groups_before.into_iter().map(Gid::from_raw).collect();
    setgroups(&groups_before)?;
    Ok(())
}

/// A home reachable only through a supplementary group (as on NFS with
/// root squashing) is readable once the supplementary groups are added, but
/// not with fsuid and fsgid switched alone, nor with the primary group.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn supplementary_groups_give_access_to_group_only_homes() -> TestResult {
    let _switching = identity_switch();
    let user = test_user();
    let parent = scratch();
    let home = parent.path().join("home");
    fs::create_dir(&home)?;
    chown(&home, Some(0), Some(user.group))?;
    set_mode(&home, 0o750);
    let path = state_file(&home, 0o400);
    chown(&path, Some(user.account.uid), Some(user.account.gid))?;
    let policy = FilePolicy::new(user.account.uid);

    let account = user.account.clone();
    let fs_ids_only = thread::spawn(move || {
        // On a thread of its own: fsuid and fsgid are per thread.
        setfsgid(Gid::from_raw(account.gid));
        setfsuid(Uid::from_raw(account.uid));
        Snapshot::read(&path, &policy).map(|file| file.contents().to_vec())
    })
    .join()
    .map_err(|_| "thread panicked")?;
    let err = fs_ids_only.expect_err("without the group the home is closed");
    assert_eq!(err.errno(), Some(Errno::EACCES), "{err}");

    let path = home.join(NAME);
    let mut owner = UserIdentity::new(&user.account)?;
    let mut identity = owner.assume()?;
    let primary_only = Snapshot::read(&path, &policy).map(|_| ());
    let added = identity.add_supplementary_groups();
    let result = Snapshot::read(&path, &policy).map(|file| file.contents().to_vec());
    identity.restore()?;
    let err = primary_only.expect_err("the primary group alone cannot enter the home");
    assert_eq!(err.errno(), Some(Errno::EACCES), "{err}");
    assert!(added?);
    assert_eq!(result?, STATE);
    Ok(())
}

/// Without root, a thread may only "switch" to the process's own
/// identity. Runs as `rt_io_user` in a child process.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn without_root_only_the_own_identity_can_be_taken() -> TestResult {
    const TEST: &str = "without_root_only_the_own_identity_can_be_taken";
    if in_child(TEST) {
        let me = lookup_user_by_name(TEST_USER)?.ok_or("no test user")?;
        let root = lookup_user_by_name("root")?.ok_or("no root")?;
        let err = UserIdentity::new(&root)?
            .assume()
            .expect_err("a user cannot act as root");
        assert!(
            matches!(err, PrivilegeError::SwitchUid { uid: 0, .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("only root can act as another user"),
            "{err}"
        );
        assert_eq!(current_fsuid(), me.uid);
        assert_eq!(thread_status("Gid:")[3], me.gid, "fsgid put back");
        UserIdentity::new(&me)?.assume()?.restore()?;
        assert_eq!(current_fsuid(), me.uid);
        return Ok(());
    }
    let user = test_user();
    // A copy of this test binary the test user can reach and run.
    let bin_dir = scratch();
    let program = bin_dir.path().join("store_tests");
    fs::copy(std::env::current_exe()?, &program)?;
    set_mode(&program, 0o755);
    let output = rerun_in_child(&program, TEST, |command| {
        command
            .uid(user.account.uid)
            .gid(user.account.gid)
            .current_dir("/");
    });
    assert_child_passed(&output);
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_snapshot_does_not_wait_for_the_lock_and_checks_the_same() -> TestResult {
    let dir = scratch();
    let path = state_file(dir.path(), 0o400);
    let held = LockedStateFile::open(&path, &root_policy())?;
    assert!(lock_is_held(&dir.path().join(format!("{NAME}.lock"))));
    let (sender, receiver) = mpsc::channel();
    let reader_path = path.clone();
    thread::spawn(move || {
        let _ = sender.send(Snapshot::read(&reader_path, &root_policy()));
    });
    let snapshot = receiver
        .recv_timeout(Duration::from_secs(2))
        .expect("a snapshot must not wait for the lock")?;
    assert_eq!(snapshot.contents(), STATE);
    drop(held);

    fs::set_permissions(&path, Permissions::from_mode(0o644))?;
    let err =
        Snapshot::read(&path, &root_policy()).expect_err("a world-readable file must be refused");
    assert!(matches!(err, StoreError::TooPermissive { .. }), "{err}");
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_snapshot_is_current_until_the_file_changes() -> TestResult {
    let dir = scratch();
    let path = state_file(dir.path(), 0o600);
    let snapshot = Snapshot::read(&path, &root_policy())?;
    assert!(snapshot.is_current(&path));

    // Rewritten in place with the same bytes: the times change.
    thread::sleep(Duration::from_millis(10));
    fs::write(&path, STATE)?;
    assert!(!snapshot.is_current(&path));

    // Only the mode changes: the status-change time tells.
    let snapshot = Snapshot::read(&path, &root_policy())?;
    thread::sleep(Duration::from_millis(10));
    fs::set_permissions(&path, Permissions::from_mode(0o400))?;
    assert!(!snapshot.is_current(&path));

    // Replaced by a rename, as every writer does.
    let snapshot = Snapshot::read(&path, &root_policy())?;
    LockedStateFile::open(&path, &root_policy())?.replace(NEW_STATE)?;
    assert!(!snapshot.is_current(&path));

    // Gone.
    let snapshot = Snapshot::read(&path, &root_policy())?;
    fs::remove_file(&path)?;
    assert!(!snapshot.is_current(&path));
    Ok(())
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_snapshot_through_a_link_is_stale_once_the_link_points_elsewhere() -> TestResult {
    let dir = scratch();
    let first = state_file(dir.path(), 0o400);
    let second = dir.path().join("second");
    fs::copy(&first, &second)?;
    set_mode(&second, 0o400);
    let link = dir.path().join("link");
    symlink(&first, &link)?;
    let snapshot = Snapshot::read(&link, &root_policy())?;
    assert!(snapshot.is_current(&link));
    assert_eq!(snapshot.path(), fs::canonicalize(&first)?);

    fs::remove_file(&link)?;
    symlink(&second, &link)?;
    assert!(!snapshot.is_current(&link));
    Ok(())
}

/// A new file gets the caller's file-system group, not the group a
/// set-group-ID directory would give it.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn write_new_gives_the_file_the_callers_group_in_a_set_group_id_directory() -> TestResult {
    let user = test_user();
    let dir = scratch();
    std::os::unix::fs::chown(dir.path(), None, Some(user.account.gid))?;
    set_mode(dir.path(), 0o2755);
    let path = dir.path().join(NAME);
    store::write_new(&path, NEW_STATE, 0o400)?;
    let written = fs::metadata(&path)?;
    assert_eq!(written.gid(), current_fsgid());
    assert_ne!(written.gid(), user.account.gid);
    assert_eq!(written.mode() & 0o7777, 0o400);
    assert_eq!(fs::read(&path)?, NEW_STATE);
    Ok(())
}

/// Run as root on a user's path, the enrolment does not follow a link the
/// user planted there: it would reach any file on the system.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn write_new_as_root_refuses_a_link_of_another_user() -> TestResult {
    let user = test_user();
    let dir = scratch();
    let victim = write_file(&dir.path().join("victim"), b"untouched", 0o644);
    let link = dir.path().join(NAME);
    symlink(&victim, &link)?;
    std::os::unix::fs::lchown(&link, Some(user.account.uid), None)?;
    for result in [
        store::check_writable(&link),
        store::write_new(&link, NEW_STATE, 0o400),
    ] {
        assert!(
            matches!(&result, Err(StoreError::ForeignLink { owner, .. }) if *owner == user.account.uid),
            "{result:?}"
        );
    }
    assert_eq!(fs::read(&victim)?, b"untouched");
    assert!(fs::symlink_metadata(&link)?.file_type().is_symlink());
    assert_eq!(
        names_in(dir.path()),
        [OsString::from(NAME), "victim".into()]
    );

    // The same link of root's own is followed.
    std::os::unix::fs::lchown(&link, Some(0), None)?;
    store::write_new(&link, NEW_STATE, 0o400)?;
    assert_eq!(fs::read(&victim)?, NEW_STATE);
    Ok(())
}
