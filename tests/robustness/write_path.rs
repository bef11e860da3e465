//! The write path at its edges: a lock file the user cannot lock, a home
//! directory that is a symbolic link, a file whose group is one of the
//! user's supplementary groups, a file system that reports a write it
//! did not make, and an enrolment killed before its rename.

use std::fs;
use std::os::unix::fs::{MetadataExt as _, symlink};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::{
    CONCURRENT_LOGINS, PAM_AUTH_ERR, PAM_SUCCESS, SECRET, Setup, add_to_group, compile_c, count,
    log_capture, parse_results, parse_state, run_bounded, scratch_file,
};
use crate::common::system::{group_id, listing, write_file};

/// Rounds of the lock-file race.
const LOCK_ROUNDS: usize = 20;

/// Puts something at the lock file's path (given) of a [`Setup`].
type ArrangeLock = fn(&Setup, &Path);

/// A state file with three scratch codes, of which the logins present the
/// second.
fn scratch_state() -> String {
    scratch_file(&["11111111", "22222222", "33333333"])
}

/// A lock file that exists but cannot be opened for writing by the user:
/// 16 logins with one scratch code, 20 rounds, none may get in (a login
/// that must write holds the lock or is refused), the file stays as it was,
/// and the refusal says why.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_lock_file_the_user_cannot_write_refuses_every_writing_login() {
    let logs = log_capture::start();
    let arrangements: [(&str, ArrangeLock); 2] = [
        ("a lock file owned by root", |_, lock| {
            write_file(lock, b"", 0, 0, 0o644)
        }),
        ("a hard link to a root-owned file", |setup, lock| {
            let root_file = setup.workspace.path().join("root-owned");
            write_file(&root_file, b"", 0, 0, 0o644);
            fs::hard_link(&root_file, lock).unwrap_or_else(|e| panic!("ln: {e}"));
        }),
    ];
    for (index, (name, arrange)) in arrangements.into_iter().enumerate() {
        let service = format!("rt-lock-refused-{index}");
        let setup = Setup::new(&service, "rt_alice", &[]);
        arrange(&setup, &setup.dir.join("secret.lock"));
        for round in 0..LOCK_ROUNDS {
            setup.write_state(&scratch_state());
            let results = setup.race(CONCURRENT_LOGINS, "22222222", None);
            assert_eq!(
                (count(&results, PAM_SUCCESS), count(&results, PAM_AUTH_ERR)),
                (0, CONCURRENT_LOGINS),
                "{name}, round {round}: {results:?}"
            );
            assert_eq!(setup.state(), scratch_state(), "{name}, round {round}");
            assert!(setup.leftovers().is_empty(), "{name}, round {round}");
        }
        // A burst of 16 may overflow the capture socket: every line that
        // arrives must be a refusal that names the lock file's problem.
        let lines = logs.lines_for(&format!("{service}(pam_rust_totp)"));
        assert!(!lines.is_empty(), "{name}: nothing logged");
        assert!(
            lines.iter().all(|l| l.contains("Refused rt_alice")
                && l.contains("cannot open lock file")
                && l.contains("Permission denied")),
            "{name}: {lines:?}"
        );
    }
}

/// A lock file that cannot be locked stops only logins that write: a code
/// that changes nothing is still accepted.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_login_that_writes_nothing_needs_no_lock() {
    let setup = Setup::new("rt-lock-not-needed", "rt_alice", &[]);
    write_file(&setup.dir.join("secret.lock"), b"", 0, 0, 0o644);
    setup.write_state(&format!("{SECRET}\n\" TOTP_AUTH\n"));
    assert_eq!(
        setup.login(&crate::common::codes::current_totp(SECRET)),
        PAM_SUCCESS
    );
}

/// `/home/u -> /data/u`: the state directory is reached through a symbolic
/// link. Logins that rewrite the file work, the link stays a link, and the
/// race still admits one login per scratch code.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_home_directory_that_is_a_symlink_works_and_stays_a_link() {
    let mut link = PathBuf::new();
    let setup = Setup::at("rt-symlinked-home", "rt_alice", &[], |workspace, user| {
        let real = workspace.dir("disk/home", user, 0o700);
        link = workspace.path().join("home");
        symlink(&real, &link).unwrap_or_else(|e| panic!("ln -s: {e}"));
        (real, link.join("secret"))
    });
    for round in 0..LOCK_ROUNDS {
        setup.write_state(&scratch_state());
        let results = setup.race(CONCURRENT_LOGINS, "22222222", None);
        assert_eq!(
            count(&results, PAM_SUCCESS),
            1,
            "round {round}: {results:?}"
        );
        assert_eq!(
            parse_state(&setup.state()).scratch_codes(),
            vec![11_111_111, 33_333_333],
            "round {round}"
        );
        assert!(
            fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()),
            "round {round}: the home is no longer a link"
        );
        assert!(setup.leftovers().is_empty(), "round {round}");
    }
}

/// A file whose group is one of the user's supplementary groups is
/// rewritten with the same owner, group and mode.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_file_of_a_supplementary_group_keeps_owner_group_and_mode() {
    const GROUP: &str = "rt_totp_file";
    const USER: &str = "rt_filegroup";
    let setup = Setup::new("rt-group-file", USER, &["allowed_perm=0440"]);
    add_to_group(USER, GROUP);
    let gid = group_id(GROUP);
    for mode in [0o400, 0o440] {
        let state = scratch_state();
        write_file(&setup.file, state.as_bytes(), setup.user.uid, gid, mode);
        assert_eq!(setup.login("22222222"), PAM_SUCCESS, "mode {mode:o}");
        let meta = fs::metadata(&setup.file).unwrap_or_else(|e| panic!("stat: {e}"));
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (setup.user.uid, gid, mode),
            "mode {mode:o}"
        );
        assert_eq!(
            parse_state(&setup.state()).scratch_codes(),
            vec![11_111_111, 33_333_333]
        );
        assert!(setup.leftovers().is_empty());
    }
}

/// The preload library `tests/driver/<name>.c`, compiled once.
fn preload_library(name: &str) -> PathBuf {
    compile_c(
        name,
        &["-std=gnu11", "-shared", "-fPIC", "-ldl"],
        &format!("{name}.so"),
    )
}

/// A preload library that makes every write to the module's temporary file
/// report success while writing only half: a file system that loses data.
fn short_write_library() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| preload_library("short_write"))
}

/// A write that did not reach the disk whole is never renamed over the
/// secret: the login is refused, the file and its directory are as before.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_temporary_file_that_was_written_short_is_never_installed() {
    let logs = log_capture::start();
    let setup = Setup::new("rt-short-write", "rt_alice", &[]);
    setup.write_state(&scratch_state());
    let mut command = setup.race_command(0, "22222222", None);
    command.env("LD_PRELOAD", short_write_library());
    assert_eq!(
        parse_results(&run_bounded(command)),
        vec![(PAM_AUTH_ERR, 1)]
    );
    assert_eq!(setup.state(), scratch_state());
    assert!(setup.leftovers().is_empty());
    let lines = logs.lines_for("rt-short-write(pam_rust_totp)");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Refused rt_alice") && l.contains("differ from the")),
        "{lines:?}"
    );
    // Without the faulty file system the same login goes through.
    assert_eq!(setup.login("22222222"), PAM_SUCCESS);
}

/// An enrolment by `rust-totp`, run as the user and killed at its rename,
/// leaves its temporary copy of a new secret next to the state file; the
/// next login that writes removes it, because both write through the same
/// store with the same temporary names.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_temporary_file_left_by_a_killed_enrolment_is_removed_by_the_next_login() {
    let setup = Setup::new("rt-killed-enrolment", "rt_alice", &[]);
    setup.write_state(&scratch_state());
    // strace makes the kernel kill it at its first rename: the store makes
    // that system call directly, where no preload library could intercept it.
    let status = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null"])
        .args(["-e", "trace=rename,renameat,renameat2"])
        .args(["-e", "inject=rename,renameat,renameat2:signal=SIGKILL"])
        .arg("--")
        .arg(crate::common::module::rust_totp_command())
        .args(["-t", "-D", "-u", "-W", "-f", "-C", "-q", "-s"])
        .arg(&setup.file)
        .uid(setup.user.uid)
        .gid(setup.user.gid)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("running rust-totp: {e}"));
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    assert_eq!(
        setup.state(),
        scratch_state(),
        "the enrolment was not killed"
    );
    let left = other_files(&setup);
    assert!(!left.is_empty(), "the killed enrolment left nothing");

    assert_eq!(setup.login("22222222"), PAM_SUCCESS);
    assert_eq!(
        parse_state(&setup.state()).scratch_codes(),
        vec![11_111_111, 33_333_333]
    );
    assert!(
        other_files(&setup).is_empty(),
        "left by the enrolment: {left:?}; still there after the login: {:?}",
        other_files(&setup)
    );
}

/// Files next to the state file other than it and its lock file.
fn other_files(setup: &Setup) -> Vec<String> {
    listing(&setup.dir)
        .into_iter()
        .filter(|name| name != "secret" && name != "secret.lock")
        .collect()
}
