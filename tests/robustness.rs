//! The module must never lose a state file and never accept a one-time code
//! twice: concurrent logins released at one instant, a login killed at every
//! system call and at random moments, a full file system, and hostile input.
//!
//! These tests load our module through real Linux-PAM with
//! `tests/driver/pam_race.c`, which runs one login in-process (`--procs 0`,
//! for tracing and killing) or many logins released together by a barrier.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::codes;
use common::driver::{auth_line, faketime_value, write_service};
use common::module::Module;
use common::requirements::{LIBFAKETIME, require_program};
use common::scenario::ours_harness;
use common::system::{
    Account, FileState, Workspace, group_id, listing, set_mode, set_owner, test_user, write_file,
};
use rust_totp_core::state_file::StateFile;

#[path = "robustness/log_capture.rs"]
mod log_capture;
#[path = "robustness/names_and_sizes.rs"]
mod names_and_sizes;
#[path = "robustness/threaded_host.rs"]
mod threaded_host;
#[path = "robustness/write_path.rs"]
mod write_path;

const SECRET: &str = "2SH3V3GDW7ZNMGYE";

/// A TOTP state file of [`SECRET`] with these scratch codes.
fn scratch_file(codes: &[&str]) -> String {
    let mut text = format!("{SECRET}\n\" TOTP_AUTH\n");
    for code in codes {
        text.push_str(code);
        text.push('\n');
    }
    text
}
const PAM_SUCCESS: i32 = 0;
const PAM_AUTH_ERR: i32 = 7;
const CONCURRENT_LOGINS: usize = 16;
const ROUNDS: usize = 50;
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Compiles `tests/driver/<name>.c` with `flags` (options and libraries)
/// into `output`, a file name in the tests' scratch directory, and returns
/// its path.
fn compile_c(name: &str, flags: &[&str], output: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/driver/{name}.c"));
    let output = Path::new(env!("CARGO_TARGET_TMPDIR")).join(output);
    let status = Command::new("cc")
        .args(["-O1", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&output)
        .arg(&source)
        // After the source, so that libraries resolve its symbols.
        .args(flags)
        .status()
        .unwrap_or_else(|e| panic!("running cc: {e}"));
    assert!(status.success(), "compiling {} failed", source.display());
    output
}

/// The race driver, compiled once per test process.
fn race_driver() -> &'static Path {
    static DRIVER: OnceLock<PathBuf> = OnceLock::new();
    DRIVER.get_or_init(|| compile_c("pam_race", &["-std=c11", "-lpam"], "pam_race"))
}

/// Our module; a test that cannot have it stops here, reported as skipped
/// (a failure in CI).
fn ours() -> PathBuf {
    ours_harness();
    Module::Ours.path()
}

/// One user's state file in a private directory, with a PAM service that
/// reads it through `secret=`.
struct Setup {
    workspace: Workspace,
    confdir: PathBuf,
    service: String,
    user: Account,
    dir: PathBuf,
    file: PathBuf,
}

impl Setup {
    fn new(service: &str, user: &str, module_args: &[&str]) -> Self {
        Self::at(service, user, module_args, |workspace, user| {
            let dir = workspace.dir("state", user, 0o700);
            (dir.clone(), dir.join("secret"))
        })
    }

    /// Like [`Setup::new`], with the state file where `place` puts it:
    /// `place` makes the directory and returns it and the file's path.
    fn at(
        service: &str,
        user: &str,
        module_args: &[&str],
        place: impl FnOnce(&Workspace, &Account) -> (PathBuf, PathBuf),
    ) -> Self {
        let module = ours();
        let workspace = Workspace::new();
        let user = test_user(user);
        let (dir, file) = place(&workspace, &user);
        let mut args = vec![format!("secret={}", file.display())];
        args.extend(module_args.iter().map(|a| (*a).to_owned()));
        let confdir = workspace.confdir();
        write_service(&confdir, service, &auth_line("required", &module, &args));
        Self {
            confdir,
            service: service.to_owned(),
            user,
            dir,
            file,
            workspace,
        }
    }

    fn write_state(&self, content: &str) {
        write_file(
            &self.file,
            content.as_bytes(),
            self.user.uid,
            self.user.gid,
            0o400,
        );
    }

    fn state(&self) -> String {
        fs::read_to_string(&self.file).unwrap_or_else(|e| panic!("reading state: {e}"))
    }

    fn race_command(&self, procs: usize, answer: &str, unix_time: Option<u64>) -> Command {
        let mut command = Command::new(race_driver());
        command
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .arg("--confdir")
            .arg(&self.confdir)
            .args(["--service", &self.service, "--user", &self.user.name])
            .args(["--procs", &procs.to_string(), "--answer", answer])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(time) = unix_time {
            command
                .env("TZ", "UTC")
                .env("LD_PRELOAD", LIBFAKETIME)
                .env("FAKETIME", faketime_value(time));
        }
        command
    }

    /// Runs `procs` logins released together (or one in-process login for
    /// 0) and returns how many got each PAM result.
    fn race(&self, procs: usize, answer: &str, unix_time: Option<u64>) -> Vec<(i32, usize)> {
        let output = run_bounded(self.race_command(procs, answer, unix_time));
        parse_results(&output)
    }

    fn login(&self, answer: &str) -> i32 {
        match self.race(0, answer, None).as_slice() {
            [(code, 1)] => *code,
            other => panic!("unexpected results {other:?}"),
        }
    }

    /// Temporary files the module may have left next to the state file.
    fn leftovers(&self) -> Vec<String> {
        listing(&self.dir)
            .into_iter()
            .filter(|name| name.starts_with("secret~"))
            .collect()
    }
}

/// Runs a command with a time limit, so a hang fails the test.
fn run_bounded(mut command: Command) -> String {
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
    let started = Instant::now();
    loop {
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        if started.elapsed() > LOGIN_TIMEOUT {
            let _ = child.kill();
            panic!("{command:?} did not finish within {LOGIN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn parse_results(output: &str) -> Vec<(i32, usize)> {
    output
        .lines()
        .filter_map(|line| {
            let mut fields = line.strip_prefix("RESULT ")?.split_whitespace();
            Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
        })
        .collect()
}

fn count(results: &[(i32, usize)], code: i32) -> usize {
    results
        .iter()
        .filter(|(c, _)| *c == code)
        .map(|(_, n)| n)
        .sum()
}

fn parse_state(text: &str) -> StateFile {
    StateFile::parse(text.as_bytes()).unwrap_or_else(|e| panic!("state file broken: {e}\n{text}"))
}

// --- concurrency ----------------------------------------------------------

/// One round of a concurrency test: the state to start from, the answer all
/// logins present, the frozen time (if any), and how many must get in.
struct Round {
    state: String,
    answer: String,
    time: Option<u64>,
    admitted: usize,
}

/// Runs [`ROUNDS`] rounds of [`CONCURRENT_LOGINS`] simultaneous logins and
/// checks the admitted count and, with `check`, the file after each round.
fn race_rounds(setup: &Setup, round: impl Fn(u64) -> Round, check: impl Fn(u64, &StateFile)) {
    for n in 0..ROUNDS as u64 {
        let spec = round(n);
        setup.write_state(&spec.state);
        let results = setup.race(CONCURRENT_LOGINS, &spec.answer, spec.time);
        assert_eq!(
            count(&results, PAM_SUCCESS),
            spec.admitted,
            "round {n}: {results:?}"
        );
        assert_eq!(
            count(&results, PAM_AUTH_ERR),
            CONCURRENT_LOGINS - spec.admitted,
            "round {n}: {results:?}"
        );
        let state = parse_state(&setup.state());
        assert_eq!(state.secret_base32(), SECRET, "round {n}");
        check(n, &state);
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn one_scratch_code_presented_by_sixteen_logins_admits_exactly_one() {
    let setup = Setup::new("rt-race-scratch", "rt_alice", &[]);
    let round = |_| Round {
        state: format!("{SECRET}\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n11111111\n22222222\n33333333\n"),
        answer: "22222222".into(),
        time: None,
        admitted: 1,
    };
    race_rounds(&setup, round, |_, state| {
        assert_eq!(state.scratch_codes(), vec![11_111_111, 33_333_333]);
        assert!(state.is_totp() && state.disallow_reuse());
    });
}

/// A frozen time in the middle of a 30-second step, a new step each round.
fn round_time(round: u64, steps_apart: u64) -> u64 {
    1_700_000_015 + round * 30 * steps_apart
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn one_totp_code_with_disallow_reuse_admits_exactly_one() {
    let setup = Setup::new("rt-race-totp", "rt_alice", &[]);
    let round = |n| Round {
        state: format!("{SECRET}\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n44444444\n"),
        answer: codes::totp(SECRET, round_time(n, 1), 30),
        time: Some(round_time(n, 1)),
        admitted: 1,
    };
    race_rounds(&setup, round, |n, state| {
        let step = (round_time(n, 1) / 30).to_string();
        assert_eq!(state.disallow_reuse_value(), Some(step.as_str()));
        assert_eq!(state.scratch_codes(), vec![44_444_444]);
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn rate_limit_admits_at_most_three_of_a_burst() {
    let setup = Setup::new("rt-race-rate", "rt_alice", &[]);
    // Every attempt counts against the limit and the lock serialises them,
    // so exactly the first three are admitted.
    let round = |n| Round {
        state: format!("{SECRET}\n\" RATE_LIMIT 3 30\n\" TOTP_AUTH\n55555555\n"),
        answer: codes::totp(SECRET, round_time(n, 2), 30),
        time: Some(round_time(n, 2)),
        admitted: 3,
    };
    race_rounds(&setup, round, |n, state| {
        let now = round_time(n, 2);
        let recorded = format!("3 30 {now} {now} {now}");
        assert_eq!(state.option_value("RATE_LIMIT"), Some(recorded.as_str()));
        assert_eq!(state.scratch_codes(), vec![55_555_555]);
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn hotp_counter_advances_once_per_accepted_code() {
    let setup = Setup::new("rt-race-hotp", "rt_alice", &["no_increment_hotp"]);
    let counter = |n: u64| 1 + n * 7;
    let round = |n| Round {
        state: format!("{SECRET}\n\" HOTP_COUNTER {}\n66666666\n", counter(n)),
        answer: codes::hotp(SECRET, counter(n)),
        time: None,
        admitted: 1,
    };
    race_rounds(&setup, round, |n, state| {
        assert_eq!(state.hotp_counter(), Some(counter(n) + 1));
        assert_eq!(state.scratch_codes(), vec![66_666_666]);
    });
}

/// A login that answers `answer` only after `delay`, started and waited
/// for until it sits at the prompt.
struct SlowLogin {
    child: std::process::Child,
    output: std::io::BufReader<std::process::ChildStdout>,
}

impl SlowLogin {
    fn start(setup: &Setup, answer: &str, delay: Duration) -> Self {
        use std::io::BufRead as _;
        let mut command = setup.race_command(0, answer, None);
        command
            .arg("--answer-delay-ms")
            .arg(delay.as_millis().to_string());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting the driver: {e}"));
        let mut output = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        output
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("reading the driver: {e}"));
        assert_eq!(
            line, "PROMPTED\n",
            "the slow login never reached the prompt"
        );
        SlowLogin { child, output }
    }

    /// The PAM result once the login has answered.
    fn result(mut self) -> i32 {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.output, &mut rest)
            .unwrap_or_else(|e| panic!("reading the driver: {e}"));
        assert!(self.child.wait().is_ok_and(|s| s.success()));
        match parse_results(&rest).as_slice() {
            [(code, 1)] => *code,
            other => panic!("unexpected results {other:?}"),
        }
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_login_waiting_at_the_prompt_does_not_hold_up_another() {
    let setup = Setup::new("rt-slow-prompt", "rt_alice", &[]);
    setup.write_state(&format!("{SECRET}\n\" TOTP_AUTH\n11111111\n22222222\n"));
    let slow_answer = Duration::from_secs(4);
    let slow = SlowLogin::start(&setup, "11111111", slow_answer);

    // While the first login sits at its prompt, a second one goes through.
    let started = Instant::now();
    assert_eq!(setup.login("22222222"), PAM_SUCCESS);
    let waited = started.elapsed();
    assert!(
        waited < slow_answer / 2,
        "the second login waited {waited:?} for the one at the prompt"
    );

    assert_eq!(slow.result(), PAM_SUCCESS);
    assert!(parse_state(&setup.state()).scratch_codes().is_empty());
}

/// The code is checked against the file as it is when the user answers,
/// not as it was when the prompt was shown, also when nothing is written.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_file_replaced_while_the_user_types_is_checked_as_it_is_now() {
    const OTHER_SECRET: &str = "JBSWY3DPEHPK3PXP";
    let setup = Setup::new("rt-replaced-at-prompt", "rt_alice", &[]);
    let delay = Duration::from_secs(1);
    for (replacement, expected) in [
        // Re-enrolled with another secret: the old code no longer counts.
        (format!("{OTHER_SECRET}\n\" TOTP_AUTH\n"), PAM_AUTH_ERR),
        // Same secret, other scratch codes: the code still counts.
        (format!("{SECRET}\n\" TOTP_AUTH\n33333333\n"), PAM_SUCCESS),
    ] {
        setup.write_state(&format!("{SECRET}\n\" TOTP_AUTH\n"));
        let code = codes::current_totp(SECRET);
        let slow = SlowLogin::start(&setup, &code, delay);
        // Replaced as every writer does: a new file renamed over the old.
        let staged = setup.dir.join("staged");
        write_file(
            &staged,
            replacement.as_bytes(),
            setup.user.uid,
            setup.user.gid,
            0o400,
        );
        fs::rename(&staged, &setup.file).unwrap_or_else(|e| panic!("renaming: {e}"));
        assert_eq!(
            slow.result(),
            expected,
            "after replacing it with {replacement:?}"
        );
        assert_eq!(setup.state(), replacement, "nothing to write");
    }
}

/// A login that changes nothing does not take the lock; one that writes
/// waits for it.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn only_logins_that_change_the_file_wait_for_the_lock() {
    use pam_rust_totp::store::{FilePolicy, LockedStateFile};
    let setup = Setup::new("rt-lock-holder", "rt_alice", &[]);
    setup.write_state(&format!("{SECRET}\n\" TOTP_AUTH\n11111111\n"));
    let lock_file = setup.dir.join("secret.lock");
    write_file(&lock_file, b"", setup.user.uid, setup.user.gid, 0o600);
    let held = LockedStateFile::open(&setup.file, &FilePolicy::new(setup.user.uid))
        .unwrap_or_else(|e| panic!("taking the lock: {e}"));
    assert!(common::locks::lock_is_held(&lock_file));

    let started = Instant::now();
    assert_eq!(setup.login(&codes::current_totp(SECRET)), PAM_SUCCESS);
    let read_only = started.elapsed();
    assert!(
        read_only < Duration::from_secs(2),
        "a login that writes nothing waited {read_only:?} for the lock"
    );

    let hold_for = Duration::from_millis(1500);
    let release = std::thread::spawn(move || {
        std::thread::sleep(hold_for);
        drop(held);
    });
    let started = Instant::now();
    assert_eq!(setup.login("11111111"), PAM_SUCCESS);
    let writing = started.elapsed();
    release.join().expect("releasing the lock");
    assert!(
        writing >= hold_for,
        "a login that consumes a scratch code went ahead after {writing:?} without the lock"
    );
    assert!(parse_state(&setup.state()).scratch_codes().is_empty());
}

// --- crashes --------------------------------------------------------------

/// The state before and after a login that consumes scratch code 22222222.
fn crash_states() -> (String, String) {
    let before = format!("{SECRET}\n\" TOTP_AUTH\n11111111\n22222222\n33333333\n");
    let after = format!("{SECRET}\n\" TOTP_AUTH\n11111111\n33333333\n");
    (before, after)
}

/// After a killed login: the file is the old or the new one, whole; the
/// next login works and removes any temporary copy of the secret.
fn check_recovery(setup: &Setup, context: &str) {
    let (before, after) = crash_states();
    let state = setup.state();
    assert!(
        state == before || state == after,
        "{context}: state file is neither old nor new:\n{state}"
    );
    assert_eq!(
        setup.login("11111111"),
        PAM_SUCCESS,
        "{context}: next login"
    );
    assert!(
        setup.leftovers().is_empty(),
        "{context}: temporary files left after the next login: {:?}",
        setup.leftovers()
    );
}

/// The system calls of one scratch-code login, in order, with the number of
/// the call among calls of the same name.
fn traced_calls(setup: &Setup, strace: &Path) -> Vec<(String, usize)> {
    let trace = setup.workspace.path().join("trace");
    let mut command = Command::new(strace);
    command
        .args(["-qq", "-o"])
        .arg(&trace)
        .arg(race_driver())
        .args(setup.race_command(0, "22222222", None).get_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run_bounded(command);
    let text = fs::read_to_string(&trace).unwrap_or_else(|e| panic!("reading trace: {e}"));
    let mut seen: Vec<(String, usize)> = Vec::new();
    for line in text.lines() {
        let Some(name) = line
            .split('(')
            .next()
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        else {
            continue;
        };
        let nth = seen.iter().filter(|(n, _)| n == name).count() + 1;
        seen.push((name.to_owned(), nth));
    }
    seen
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_login_killed_at_every_system_call_loses_nothing() {
    let setup = Setup::new("rt-kill-each", "rt_bob", &[]);
    let strace = require_program("strace", "strace");
    let (before, _) = crash_states();
    setup.write_state(&before);
    let calls = traced_calls(&setup, &strace);
    assert!(
        calls.iter().any(|(name, _)| name.starts_with("rename")),
        "the traced login did not rewrite the file: {calls:?}"
    );
    for (name, nth) in &calls {
        setup.write_state(&before);
        let mut command = Command::new(&strace);
        command
            .args(["-qq", "-o", "/dev/null", "-e"])
            .arg(format!("trace={name}"))
            .arg("-e")
            .arg(format!("inject={name}:signal=KILL:when={nth}"))
            .arg(race_driver())
            .args(setup.race_command(0, "22222222", None).get_args())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let status = command
            .status()
            .unwrap_or_else(|e| panic!("running strace: {e}"));
        let killed = !status.success();
        check_recovery(
            &setup,
            &format!("killed at {name} #{nth} (killed: {killed})"),
        );
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn five_hundred_logins_killed_at_random_moments_lose_nothing() {
    let setup = Setup::new("rt-kill-random", "rt_alice", &[]);
    let (before, _) = crash_states();
    setup.write_state(&before);
    // The kill moment is drawn around `scale`, which follows how long a
    // login takes right now: it shrinks when a login finished before the kill
    // and grows when it did not, so about half the logins are interrupted
    // whatever the machine's load.
    let started = Instant::now();
    setup.login("22222222");
    let mut scale = started.elapsed().max(Duration::from_millis(1));
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut killed_mid_login = 0;
    for trial in 0..500 {
        setup.write_state(&before);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = scale.mul_f64((seed % 1000) as f64 / 1000.0 * 1.5);
        let mut child = setup
            .race_command(0, "22222222", None)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the driver: {e}"));
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap_or_else(|e| panic!("waiting: {e}"));
        if status.success() {
            scale = scale.mul_f64(0.9);
        } else {
            killed_mid_login += 1;
            scale = scale.mul_f64(1.1);
        }
        check_recovery(&setup, &format!("trial {trial}, killed after {delay:?}"));
    }
    assert!(
        killed_mid_login > 100,
        "only {killed_mid_login} of 500 logins were actually interrupted"
    );
}

// --- full file system ------------------------------------------------------

/// Runs one scratch-code login with the state file on a full 64 KiB tmpfs
/// mounted in a private mount namespace; returns the PAM result and the
/// state file's bytes afterwards.
fn login_on_full_disk(extra_args: &[&str], service: &str) -> (i32, String) {
    let module = ours();
    require_program("unshare", "util-linux");
    let workspace = Workspace::new();
    let user = test_user("rt_alice");
    let mount = workspace.dir("mnt", &user, 0o755);
    let file = mount.join("secret");
    let mut args = vec![format!("secret={}", file.display())];
    args.extend(extra_args.iter().map(|a| (*a).to_owned()));
    write_service(
        &workspace.confdir(),
        service,
        &auth_line("required", &module, &args),
    );
    let (before, _) = crash_states();
    let script = format!(
        "set -e
         mount -t tmpfs -o size=64k,mode=0755,uid={uid},gid={gid} tmpfs {mnt}
         printf '%s' '{before}' > {file}
         chown {uid}:{gid} {file}; chmod 0400 {file}
         dd if=/dev/zero of={mnt}/filler bs=4k 2>/dev/null || true
         {driver} --confdir {confdir} --service {service} --user {user} --procs 0 --answer 22222222
         echo '--- state'
         cat {file}",
        uid = user.uid,
        gid = user.gid,
        mnt = mount.display(),
        file = file.display(),
        driver = race_driver().display(),
        confdir = workspace.confdir().display(),
        user = user.name,
    );
    let mut command = Command::new("unshare");
    command.args(["--mount", "--propagation", "private", "sh", "-c", &script]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let output = run_bounded(command);
    let (results, state) = output
        .split_once("--- state\n")
        .unwrap_or_else(|| panic!("unexpected output: {output}"));
    match parse_results(results).as_slice() {
        [(code, 1)] => (*code, state.to_owned()),
        other => panic!("unexpected results {other:?}"),
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_full_disk_fails_closed_and_keeps_the_file() {
    let (code, state) = login_on_full_disk(&[], "rt-full");
    assert_eq!(code, PAM_AUTH_ERR);
    assert_eq!(state, crash_states().0);
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_full_disk_with_allow_readonly_lets_the_login_pass_and_keeps_the_file() {
    let (code, state) = login_on_full_disk(&["allow_readonly"], "rt-full-ro");
    assert_eq!(code, PAM_SUCCESS);
    assert_eq!(state, crash_states().0);
}

// --- hostile input --------------------------------------------------------

/// A hostile case: how to lay out the state path, what to answer, and a
/// word the log line must contain.
struct Hostile {
    name: &'static str,
    arrange: fn(&Setup),
    answer: String,
    log_says: &'static str,
}

/// What is at a path, without reading through links or special files (a
/// link may point at `/dev/zero`).
#[derive(Debug, PartialEq, Eq)]
struct PathState {
    metadata: (u32, u32, u32, u64, i64),
    content: Option<Vec<u8>>,
    link: Option<PathBuf>,
}

impl PathState {
    fn of(path: &Path) -> Self {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("lstat: {e}"));
        Self {
            metadata: (
                meta.mode(),
                meta.uid(),
                meta.gid(),
                meta.ino(),
                meta.mtime(),
            ),
            content: meta.is_file().then(|| fs::read(path).unwrap_or_default()),
            link: fs::read_link(path).ok(),
        }
    }
}

const VALID: &str = "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n22222222\n";

fn hostile_cases() -> Vec<Hostile> {
    let valid = |setup: &Setup| setup.write_state(VALID);
    vec![
        Hostile {
            name: "symlink to a file the user cannot read",
            arrange: |s| {
                let target = s.workspace.path().join("root-only");
                write_file(&target, VALID.as_bytes(), 0, 0, 0o600);
                symlink(&target, &s.file).unwrap_or_else(|e| panic!("{e}"));
            },
            answer: "22222222".into(),
            log_says: "Permission denied",
        },
        Hostile {
            name: "symlink to /dev/zero",
            arrange: |s| symlink("/dev/zero", &s.file).unwrap_or_else(|e| panic!("{e}")),
            answer: "22222222".into(),
            log_says: "not a regular file",
        },
        Hostile {
            name: "FIFO",
            arrange: |s| {
                nix::unistd::mkfifo(&s.file, nix::sys::stat::Mode::from_bits_truncate(0o600))
                    .unwrap_or_else(|e| panic!("{e}"));
                common::system::set_owner(&s.file, s.user.uid, s.user.gid);
            },
            answer: "22222222".into(),
            log_says: "not a regular file",
        },
        Hostile {
            name: "directory",
            arrange: |s| {
                fs::create_dir(&s.file).unwrap_or_else(|e| panic!("{e}"));
                common::system::set_owner(&s.file, s.user.uid, s.user.gid);
            },
            answer: "22222222".into(),
            log_says: "not a regular file",
        },
        Hostile {
            name: "file owned by another user",
            arrange: |s| {
                let bob = test_user("rt_bob");
                write_file(&s.file, VALID.as_bytes(), bob.uid, bob.gid, 0o400);
            },
            answer: "22222222".into(),
            // Read with the user's own identity, another user's file is
            // out of reach before the owner check is even needed.
            log_says: "Permission denied",
        },
        Hostile {
            name: "group-writable file",
            arrange: |s| write_file(&s.file, VALID.as_bytes(), s.user.uid, s.user.gid, 0o620),
            answer: "22222222".into(),
            log_says: "permissions",
        },
        Hostile {
            name: "world-writable file",
            arrange: |s| write_file(&s.file, VALID.as_bytes(), s.user.uid, s.user.gid, 0o602),
            answer: "22222222".into(),
            log_says: "permissions",
        },
        Hostile {
            name: "10 MB file",
            arrange: |s| {
                let mut content = VALID.as_bytes().to_vec();
                content.resize(10 << 20, b'1');
                write_file(&s.file, &content, s.user.uid, s.user.gid, 0o400);
            },
            answer: "22222222".into(),
            log_says: "size",
        },
        Hostile {
            name: "NUL bytes",
            arrange: |s| {
                let content = b"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n22222222\n\0\0\n";
                write_file(&s.file, content, s.user.uid, s.user.gid, 0o400);
            },
            answer: "22222222".into(),
            log_says: "NUL",
        },
        Hostile {
            name: "invalid base32",
            arrange: |s| s.write_state("2SH3V3GDW7ZNMGY!\n\" TOTP_AUTH\n22222222\n"),
            answer: "22222222".into(),
            log_says: "base32",
        },
        Hostile {
            name: "HOTP_COUNTER beyond the largest signed 64-bit value",
            arrange: |s| {
                s.write_state("2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER 9223372036854775808\n22222222\n")
            },
            answer: "22222222".into(),
            log_says: "HOTP_COUNTER",
        },
        Hostile {
            name: "TIME_SKEW at the largest signed 64-bit value",
            arrange: |s| {
                s.write_state(
                    "2SH3V3GDW7ZNMGYE\n\" TIME_SKEW 9223372036854775807\n\" TOTP_AUTH\n22222222\n",
                )
            },
            answer: "22222222".into(),
            log_says: "TIME_SKEW",
        },
        Hostile {
            name: "TIME_SKEW at the smallest signed 64-bit value",
            arrange: |s| {
                s.write_state(
                    "2SH3V3GDW7ZNMGYE\n\" TIME_SKEW -9223372036854775808\n\" TOTP_AUTH\n22222222\n",
                )
            },
            answer: "22222222".into(),
            log_says: "TIME_SKEW",
        },
        Hostile {
            name: "DISALLOW_REUSE entry above 2^63",
            arrange: |s| {
                s.write_state(
                    "2SH3V3GDW7ZNMGYE\n\" DISALLOW_REUSE 9223372036854775808\n\" TOTP_AUTH\n22222222\n",
                )
            },
            answer: "22222222".into(),
            log_says: "DISALLOW_REUSE",
        },
        Hostile {
            name: "100 KB answer (the longest one argument can carry)",
            arrange: valid,
            answer: "2".repeat(100 << 10),
            log_says: "invalid verification code",
        },
        Hostile {
            name: "non-ASCII answer",
            arrange: valid,
            answer: "２２２２２２２２".into(),
            log_says: "invalid verification code",
        },
        Hostile {
            name: "the right digits with trailing junk",
            arrange: valid,
            answer: "22222222x".into(),
            log_says: "invalid verification code",
        },
    ]
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn hostile_input_is_refused_with_a_clear_log_line_and_nothing_changes() {
    let logs = log_capture::start();
    for (index, case) in hostile_cases().into_iter().enumerate() {
        let service = format!("rt-hostile-{index}");
        let setup = Setup::new(&service, "rt_alice", &[]);
        (case.arrange)(&setup);
        let before = PathState::of(&setup.file);
        let started = Instant::now();
        let results = setup.race(0, &case.answer, None);
        assert_eq!(results, vec![(PAM_AUTH_ERR, 1)], "{}", case.name);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} took too long",
            case.name
        );
        assert_eq!(
            PathState::of(&setup.file),
            before,
            "{}: file changed",
            case.name
        );
        let lines = logs.lines_for(&format!("{service}(pam_rust_totp)"));
        let refusals: Vec<&String> = lines.iter().filter(|l| l.contains("Refused")).collect();
        assert_eq!(refusals.len(), 1, "{}: log lines {lines:?}", case.name);
        assert!(
            refusals[0].contains("rt_alice") && refusals[0].contains(case.log_says),
            "{}: log line {:?} should name the user and say {:?}",
            case.name,
            refusals[0],
            case.log_says
        );
        assert!(
            lines
                .iter()
                .all(|l| !l.contains("22222222") && !l.contains(SECRET)),
            "{}: a log line shows a code or the secret: {lines:?}",
            case.name
        );
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn secret_path_into_another_home_is_refused() {
    let module = ours();
    let logs = log_capture::start();
    let alice = test_user("rt_alice");
    let bob = test_user("rt_bob");
    let workspace = Workspace::new();
    let homes = workspace.dir("homes", &common::system::root(), 0o755);
    let alice_home = homes.join(&alice.name);
    let bob_home = homes.join(&bob.name);
    for (home, account) in [(&alice_home, &alice), (&bob_home, &bob)] {
        fs::create_dir(home).unwrap_or_else(|e| panic!("{e}"));
        common::system::set_owner(home, account.uid, account.gid);
        common::system::set_mode(home, 0o755);
    }
    let bob_file = bob_home.join(".google_authenticator");
    write_file(&bob_file, VALID.as_bytes(), bob.uid, bob.gid, 0o400);
    let spec = format!(
        "secret={}/${{USER}}/../{}/.google_authenticator",
        homes.display(),
        bob.name
    );
    let service = "rt-dotdot";
    write_service(
        &workspace.confdir(),
        service,
        &auth_line("required", &module, &[spec]),
    );
    let before = FileState::of(&bob_file);
    let mut command = Command::new(race_driver());
    command
        .arg("--confdir")
        .arg(workspace.confdir())
        .args(["--service", service, "--user", &alice.name, "--procs", "0"])
        .args(["--answer", "22222222"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    assert_eq!(
        parse_results(&run_bounded(command)),
        vec![(PAM_AUTH_ERR, 1)]
    );
    assert_eq!(FileState::of(&bob_file), before);
    let lines = logs.lines_for("rt-dotdot(pam_rust_totp)");
    assert!(
        lines.iter().any(|l| l.contains("Refused rt_alice")),
        "no refusal logged: {lines:?}"
    );
}

/// Makes `user` a member of the (system) group `group`, creating it.
fn add_to_group(user: &str, group: &str) {
    for command in [
        vec!["groupadd", "--force", "--system", group],
        vec!["usermod", "--append", "--groups", group, user],
    ] {
        let status = Command::new(command[0])
            .args(&command[1..])
            .status()
            .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
        assert!(status.success(), "{command:?}: {status}");
    }
}

/// A state directory the user reaches only through a supplementary group
/// (as on NFS with root squashing, or a shared `secret=` directory): the
/// primary group is refused, so the module adds the user's other groups,
/// and both a login that only reads and one that rewrites the file work.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_directory_open_only_to_a_supplementary_group_works() {
    const GROUP: &str = "rt_totp_share";
    let setup = Setup::new("rt-group-dir", "rt_grouped", &[]);
    add_to_group("rt_grouped", GROUP);
    set_owner(&setup.dir, 0, group_id(GROUP));
    set_mode(&setup.dir, 0o770);
    setup.write_state(&format!("{SECRET}\n\" TOTP_AUTH\n11111111\n22222222\n"));

    assert_eq!(setup.login(&codes::current_totp(SECRET)), PAM_SUCCESS);
    assert_eq!(setup.login("11111111"), PAM_SUCCESS);
    assert_eq!(
        parse_state(&setup.state()).scratch_codes(),
        vec![22_222_222]
    );
    assert!(setup.leftovers().is_empty());

    // Open to all, writable only by the group, the lock file there already:
    // only the replacement is refused to the primary group.
    set_mode(&setup.dir, 0o775);
    assert!(setup.dir.join("secret.lock").is_file());
    assert_eq!(setup.login("22222222"), PAM_SUCCESS);
    assert!(parse_state(&setup.state()).scratch_codes().is_empty());
    assert!(setup.leftovers().is_empty());

    // Without the group the directory is closed: the login is refused.
    set_owner(&setup.dir, 0, 0);
    set_mode(&setup.dir, 0o770);
    setup.write_state(&format!("{SECRET}\n\" TOTP_AUTH\n33333333\n"));
    assert_eq!(setup.login("33333333"), PAM_AUTH_ERR);
}
