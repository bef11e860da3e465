//! Logins in a multi-threaded host (`tests/driver/pam_threads.c`): a login
//! waiting at the prompt holds up no other thread's login and lends the
//! user's identity to no thread, its own included; a child forked while a
//! login waits at the prompt, or while logins work on a state file, logs in
//! by itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::common::codes;
use crate::common::driver::{auth_line, write_service};
use crate::common::system::{Account, Workspace, test_user, write_file};

use super::{PAM_SUCCESS, SECRET, compile_c, ours, parse_state, run_bounded, scratch_file};

/// How long a login run while another waits at the prompt may take.
const LOGIN_BOUND: Duration = Duration::from_secs(5);
/// The module of the `other` service.
const PAM_DENY: &str = "/usr/lib/x86_64-linux-gnu/security/pam_deny.so";
const PROMPT: &str = "Verification code: ";

/// The threaded driver, compiled once per test process.
fn threads_driver() -> &'static Path {
    static DRIVER: OnceLock<PathBuf> = OnceLock::new();
    DRIVER.get_or_init(|| {
        compile_c(
            "pam_threads",
            &["-std=c11", "-pthread", "-lpam"],
            "pam_threads",
        )
    })
}

/// Two users, each with a state file in a directory of their own, and a
/// service that finds each user's file through `${USER}`.
///
/// The driver keeps both modules of the configuration loaded and the
/// configuration has an `other` service, so that no fork lands in libpam's
/// loading of a module or in its `syslog(3)` complaint about a missing
/// `other`: glibc leaves the child's loader or syslog lock broken then,
/// whatever the module (see `tests/driver/pam_threads.c`).
struct Host {
    workspace: Workspace,
    module: PathBuf,
    confdir: PathBuf,
    service: String,
    alice: Account,
    bob: Account,
}

impl Host {
    fn new(service: &str) -> Self {
        let module = ours();
        let workspace = Workspace::new();
        let alice = test_user("rt_alice");
        let bob = test_user("rt_bob");
        for user in [&alice, &bob] {
            workspace.dir(&user.name, user, 0o700);
        }
        let secret = format!("secret={}/${{USER}}/secret", workspace.path().display());
        let confdir = workspace.confdir();
        write_service(
            &confdir,
            service,
            &auth_line("required", &module, &[secret]),
        );
        write_service(&confdir, "other", &format!("auth required {PAM_DENY}\n"));
        Self {
            workspace,
            module,
            confdir,
            service: service.to_owned(),
            alice,
            bob,
        }
    }

    fn file(&self, user: &Account) -> PathBuf {
        self.workspace.path().join(&user.name).join("secret")
    }

    fn write_state(&self, user: &Account, content: &str) {
        write_file(
            &self.file(user),
            content.as_bytes(),
            user.uid,
            user.gid,
            0o400,
        );
    }

    fn scratch_codes(&self, user: &Account) -> Vec<u32> {
        let path = self.file(user);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        parse_state(&text).scratch_codes()
    }

    /// Runs the driver in `mode` with `args`; what it printed.
    fn run(&self, mode: &str, args: &[String]) -> Report {
        let mut command = Command::new(threads_driver());
        command
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .arg("--confdir")
            .arg(&self.confdir)
            .args(["--service", &self.service, "--mode", mode])
            .arg("--timeout-ms")
            .arg(LOGIN_BOUND.as_millis().to_string())
            .arg("--hold")
            .arg(&self.module)
            .args(["--hold", PAM_DENY])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Report(run_bounded(command))
    }

    /// Runs the driver in "prompt" mode with alice's login waiting at the
    /// prompt, to answer scratch code 11111111, and `args` besides.
    fn run_while_alice_waits(&self, args: &[String]) -> Report {
        let mut all = vec![
            "--waiting-user".to_owned(),
            self.alice.name.clone(),
            "--waiting-answer".to_owned(),
            "11111111".to_owned(),
        ];
        all.extend_from_slice(args);
        self.run("prompt", &all)
    }
}

/// `USER:ANSWER`, as the driver takes a login.
fn login(user: &Account, answer: &str) -> String {
    format!("{}:{answer}", user.name)
}

/// The driver's output lines.
struct Report(String);

impl Report {
    /// The rest of each line that starts with `tag`.
    fn lines(&self, tag: &str) -> Vec<&str> {
        self.0
            .lines()
            .filter_map(|line| line.strip_prefix(tag)?.strip_prefix(' '))
            .collect()
    }

    /// The rest of the one line that starts with `tag`.
    fn line(&self, tag: &str) -> &str {
        match self.lines(tag).as_slice() {
            [rest] => rest,
            other => panic!("expected one {tag} line, got {other:?} in:\n{}", self.0),
        }
    }

    /// The PAM result of the login that waited at the prompt.
    fn waiting_result(&self) -> i32 {
        let result = self.line("WAITING");
        result
            .parse()
            .unwrap_or_else(|_| panic!("bad WAITING line {result:?}"))
    }

    /// Each of `forks` children started with the process's own groups and
    /// fsuid, and its login succeeded without hanging.
    fn assert_children_logged_in(&self, forks: usize) {
        let success = format!("exit {PAM_SUCCESS}");
        assert_eq!(
            self.lines("CHILD"),
            vec![success.as_str(); forks],
            "the forked children's logins (signal 14: hung):\n{}",
            self.0
        );
        let own = format!("{} 0", self.line("GROUPS own"));
        assert_eq!(
            self.lines("CHILD_START"),
            vec![own.as_str(); forks],
            "the forked children's groups and fsuid at their start:\n{}",
            self.0
        );
    }

    /// `(user, result, milliseconds)` of each login run while one waited.
    fn logins(&self) -> Vec<(String, String, u64)> {
        self.lines("LOGIN")
            .into_iter()
            .map(
                |rest| match rest.split(' ').collect::<Vec<_>>().as_slice() {
                    [user, result, ms] => (
                        (*user).to_owned(),
                        (*result).to_owned(),
                        ms.parse()
                            .unwrap_or_else(|_| panic!("bad LOGIN line {rest:?}")),
                    ),
                    _ => panic!("bad LOGIN line {rest:?}"),
                },
            )
            .collect()
    }
}

/// While one thread's login waits at the prompt, other threads log in as
/// the same user and as another one, each in a fraction of the wait.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn logins_in_other_threads_go_through_while_one_waits_at_the_prompt() {
    let host = Host::new("rt-threads-prompt");
    host.write_state(&host.alice, &scratch_file(&["11111111", "22222222"]));
    host.write_state(&host.bob, &scratch_file(&["33333333"]));
    let report = host.run_while_alice_waits(&[
        "--login".to_owned(),
        login(&host.alice, "22222222"),
        "--login".to_owned(),
        login(&host.bob, &codes::current_totp(SECRET)),
        "--login".to_owned(),
        login(&host.bob, "33333333"),
    ]);
    assert_eq!(report.line("PROMPT"), PROMPT);
    let logins = report.logins();
    let expected = [&host.alice.name, &host.bob.name, &host.bob.name];
    assert_eq!(logins.len(), expected.len(), "{}", report.0);
    for ((user, result, ms), expected_user) in logins.iter().zip(expected) {
        assert_eq!(user, expected_user);
        assert_eq!(
            result,
            &PAM_SUCCESS.to_string(),
            "{user}'s login while another waited at the prompt, after {ms} ms:\n{}",
            report.0
        );
    }
    assert_eq!(report.waiting_result(), PAM_SUCCESS, "{}", report.0);
    assert!(host.scratch_codes(&host.alice).is_empty());
    assert!(host.scratch_codes(&host.bob).is_empty());
}

/// While a login waits at the prompt, every thread, the waiting one
/// included, has the process's own supplementary groups and file-system
/// uid.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn no_thread_has_the_users_identity_while_a_login_waits_at_the_prompt() {
    let host = Host::new("rt-threads-groups");
    host.write_state(&host.alice, &scratch_file(&["11111111"]));
    let report = host.run_while_alice_waits(&[]);
    assert_eq!(report.line("PROMPT"), PROMPT);
    let own = report.line("GROUPS own");
    assert!(
        !own.split(',').any(|gid| gid == host.alice.gid.to_string()),
        "the driver's own groups {own} must differ from the user's"
    );
    // "prompt": the waiting login's own thread, in the conversation.
    for thread in ["prompt", "main", "thread"] {
        assert_eq!(
            report.line(&format!("GROUPS {thread}")),
            own,
            "the {thread} thread's groups while a login waited at the prompt"
        );
        assert_eq!(report.line(&format!("FSUID {thread}")), "0");
    }
    assert_eq!(report.waiting_result(), PAM_SUCCESS);
}

/// A child forked while a login waits at the prompt logs in by itself,
/// starting with the process's own groups and fsuid.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_child_forked_while_a_login_waits_at_the_prompt_logs_in() {
    const FORKS: usize = 3;
    let host = Host::new("rt-threads-fork-prompt");
    host.write_state(&host.alice, &scratch_file(&["11111111"]));
    let report = host.run_while_alice_waits(&[
        "--forks".to_owned(),
        FORKS.to_string(),
        "--child-login".to_owned(),
        login(&host.alice, &codes::current_totp(SECRET)),
    ]);
    report.assert_children_logged_in(FORKS);
    assert_eq!(report.waiting_result(), PAM_SUCCESS);
}

/// Children forked while another thread logs in back to back, so that
/// forks land in the middle of file operations, each log in by themselves,
/// and the forking thread never sees the user's groups.
///
/// The children log in as another user than the busy thread: a child
/// forked while the busy thread holds the state file's lock shares the
/// lock until it exits, so it could not take that file's lock itself.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn children_forked_while_logins_use_the_file_log_in() {
    const FORKS: usize = 50;
    let host = Host::new("rt-threads-fork-busy");
    // Every login records its attempt, so every login writes the file.
    host.write_state(
        &host.bob,
        &format!("{SECRET}\n\" RATE_LIMIT 100 1\n\" TOTP_AUTH\n"),
    );
    host.write_state(&host.alice, &scratch_file(&[]));
    let code = codes::current_totp(SECRET);
    let report = host.run(
        "busy",
        &[
            "--busy-login".to_owned(),
            login(&host.bob, &code),
            "--forks".to_owned(),
            FORKS.to_string(),
            "--child-login".to_owned(),
            login(&host.alice, &code),
        ],
    );
    report.assert_children_logged_in(FORKS);
    let busy = report.line("BUSY");
    let busy_logins: usize = busy
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bad BUSY line {busy:?}"));
    assert!(
        busy_logins >= FORKS,
        "the busy thread only logged in {busy_logins} times"
    );
    let samples = report.line("SAMPLES");
    let counts: Vec<usize> = samples
        .split(' ')
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| panic!("bad SAMPLES line {samples:?}"))
        })
        .collect();
    assert!(
        matches!(counts.as_slice(), [taken, 0] if *taken > 0),
        "the forking thread saw the user's groups (samples, of them foreign): {samples}"
    );
}
