//! Tests of the login flow over a fake PAM session, a clock set by the test
//! and real state files in a temporary directory. The files belong to the
//! user the flow acts as: the test's own user, or `nobody` when the tests
//! run as root, so that the flow's identity switch and the directory's
//! permissions matter in both cases.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{PermissionsExt, chown};

use nix::fcntl::{FcntlArg, fcntl};
use nix::unistd::geteuid;
use tempfile::TempDir;

use super::*;
use crate::store::WHOLE_FILE_WRITE_LOCK;
use rust_totp_core::otp::{format_code, hotp, time_step};

const SECRET: &str = "2SH3V3GDW7ZNMGYE";
const OTHER_SECRET: &str = "JBSWY3DPEHPK3PXP";
/// A time well after the epoch, at the start of a 30-second step.
const NOW: u64 = 1_700_000_010;

/// The TOTP code of `secret` at `time`.
fn code(secret: &str, time: u64) -> String {
    let key = state_file::decode_secret(secret).expect("valid test secret");
    format_code(hotp(&key, time_step(time, 30)))
}

/// A clock the test sets.
struct TestClock(Cell<u64>);

impl Clock for TestClock {
    fn now(&self) -> u64 {
        self.0.get()
    }
}

/// Something the test does each time the user is asked, before answering.
type OnAsk<'a> = Box<dyn FnMut() + 'a>;

/// A PAM session that answers from a queue and records what it was asked.
struct FakeSession<'a> {
    user: String,
    remote_host: Option<String>,
    authtok: Option<Vec<u8>>,
    answers: VecDeque<String>,
    prompts: Vec<String>,
    errors: Vec<String>,
    authtoks_set: Vec<Vec<u8>>,
    on_ask: Option<OnAsk<'a>>,
}

impl<'a> FakeSession<'a> {
    fn new(user: &str, answers: &[&str]) -> Self {
        FakeSession {
            user: user.to_owned(),
            remote_host: Some("192.0.2.1".to_owned()),
            authtok: None,
            answers: answers.iter().map(|a| (*a).to_owned()).collect(),
            prompts: Vec::new(),
            errors: Vec::new(),
            authtoks_set: Vec::new(),
            on_ask: None,
        }
    }

    fn on_ask(mut self, action: impl FnMut() + 'a) -> Self {
        self.on_ask = Some(Box::new(action));
        self
    }
}

impl PamSession for FakeSession<'_> {
    fn service(&self) -> String {
        "flow-test".to_owned()
    }

    fn user(&mut self) -> Option<String> {
        Some(self.user.clone())
    }

    fn remote_host(&self) -> Option<String> {
        self.remote_host.clone()
    }

    fn authtok(&self) -> Option<Zeroizing<Vec<u8>>> {
        self.authtok.clone().map(Zeroizing::new)
    }

    fn ask(&mut self, prompt: &str, _echo: bool) -> Option<Zeroizing<Vec<u8>>> {
        self.prompts.push(prompt.to_owned());
        if let Some(action) = &mut self.on_ask {
            action();
        }
        self.answers
            .pop_front()
            .map(|answer| Zeroizing::new(answer.into_bytes()))
    }

    fn show_error(&mut self, message: &str) {
        self.errors.push(message.to_owned());
    }

    fn set_authtok(&mut self, token: &[u8]) -> bool {
        self.authtoks_set.push(token.to_vec());
        true
    }
}

/// A state file in a directory of its own, owned by the user the flow acts
/// as.
struct Fixture {
    dir: TempDir,
    path: PathBuf,
    owner: UserAccount,
}

impl Fixture {
    fn new() -> Self {
        let uid = if geteuid().is_root() {
            65534
        } else {
            geteuid().as_raw()
        };
        let owner = privilege::lookup_user_by_uid(uid)
            .expect("user lookup")
            .expect("the test user exists");
        let dir = tempfile::tempdir().expect("temporary directory");
        chown(dir.path(), Some(owner.uid), Some(owner.gid)).expect("chown directory");
        let path = dir.path().join("state");
        Fixture { dir, path, owner }
    }

    /// Writes the state file in place (keeping its inode, owner and mode).
    fn write(&self, contents: &str) {
        write_state(&self.path, contents, &self.owner);
    }

    fn contents(&self) -> String {
        fs::read_to_string(&self.path).expect("state file readable")
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.path().join("state.lock")
    }

    fn args(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec![format!("secret={}", self.path.display())];
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        args
    }

    fn session(&self, answers: &[&str]) -> FakeSession<'static> {
        FakeSession::new(&self.owner.name, answers)
    }

    fn set_directory_mode(&self, mode: u32) {
        fs::set_permissions(self.dir.path(), fs::Permissions::from_mode(mode))
            .expect("chmod directory");
    }
}

fn write_state(path: &Path, contents: &str, owner: &UserAccount) {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).expect("open state file");
    std::io::Write::write_all(&mut file, contents.as_bytes()).expect("write state file");
    chown(path, Some(owner.uid), Some(owner.gid)).expect("chown state file");
}

fn totp_file(secret: &str, extra: &str) -> String {
    format!("{secret}\n\" TOTP_AUTH\n{extra}")
}

fn run(session: &mut FakeSession<'_>, time: u64, args: &[String]) -> PamReturn {
    authenticate(session, &TestClock(Cell::new(time)), args)
}

/// Whether an exclusive OFD lock on `path` can be had from a new open file
/// description: no other holds one.
fn lock_is_free(path: &Path) -> bool {
    let file = File::options()
        .read(true)
        .write(true)
        .open(path)
        .expect("open lock file");
    match fcntl(&file, FcntlArg::F_OFD_SETLK(&WHOLE_FILE_WRITE_LOCK)) {
        Ok(_) => true,
        Err(Errno::EAGAIN | Errno::EACCES) => false,
        Err(error) => panic!("cannot probe the lock: {error}"),
    }
}

#[test]
fn a_current_code_is_accepted_and_a_code_far_from_the_clock_refused() {
    let fixture = Fixture::new();
    fixture.write(&totp_file(SECRET, ""));
    let args = fixture.args(&[]);
    let valid = code(SECRET, NOW);

    let mut session = fixture.session(&[&valid]);
    assert_eq!(run(&mut session, NOW, &args), PamReturn::Success);
    assert_eq!(session.prompts, ["Verification code: "]);

    let mut session = fixture.session(&[&valid]);
    assert_eq!(run(&mut session, NOW + 3600, &args), PamReturn::AuthErr);
    assert_eq!(session.prompts.len(), 1);
}

#[test]
fn the_lock_probe_sees_a_held_lock() {
    let fixture = Fixture::new();
    fixture.write(&totp_file(SECRET, ""));
    let policy = FilePolicy::new(fixture.owner.uid);
    let locked = LockedStateFile::open(&fixture.path, &policy).expect("lock the file");
    assert!(!lock_is_free(&fixture.lock_path()));
    drop(locked);
    assert!(lock_is_free(&fixture.lock_path()));
}

#[test]
fn nothing_is_asked_while_the_lock_is_held() {
    let fixture = Fixture::new();
    // The rate limit makes every login write the file, under the lock.
    fixture.write(&totp_file(SECRET, "\" RATE_LIMIT 5 30\n"));
    let args = fixture.args(&[]);
    // A first login creates the lock file.
    let mut session = fixture.session(&[&code(SECRET, NOW)]);
    assert_eq!(run(&mut session, NOW, &args), PamReturn::Success);
    let lock_path = fixture.lock_path();
    assert!(lock_path.exists());

    let free_when_asked = Cell::new(None);
    let before = fixture.contents();
    let mut session = fixture
        .session(&[&code(SECRET, NOW + 30)])
        .on_ask(|| free_when_asked.set(Some(lock_is_free(&lock_path))));
    assert_eq!(run(&mut session, NOW + 30, &args), PamReturn::Success);
    assert_eq!(free_when_asked.get(), Some(true));
    assert_ne!(fixture.contents(), before, "the login wrote the file");
}

#[test]
fn a_file_changed_while_the_user_typed_is_verified_again() {
    let fixture = Fixture::new();
    fixture.write(&totp_file(SECRET, ""));
    let args = fixture.args(&[]);
    let replacement = totp_file(OTHER_SECRET, "");
    let mut session = fixture
        .session(&[&code(SECRET, NOW)])
        .on_ask(|| write_state(&fixture.path, &replacement, &fixture.owner));
    assert_eq!(run(&mut session, NOW, &args), PamReturn::AuthErr);
    assert_eq!(session.prompts.len(), 1);

    let mut session = fixture.session(&[&code(OTHER_SECRET, NOW)]);
    assert_eq!(run(&mut session, NOW, &args), PamReturn::Success);
}

#[test]
fn nullok_lets_a_user_without_a_file_pass_without_a_prompt() {
    let fixture = Fixture::new();
    let mut session = fixture.session(&["123456"]);
    assert_eq!(
        run(&mut session, NOW, &fixture.args(&["nullok"])),
        PamReturn::Ignore
    );
    assert!(session.prompts.is_empty());

    let mut session = fixture.session(&["123456"]);
    assert_eq!(
        run(&mut session, NOW, &fixture.args(&[])),
        PamReturn::AuthErr
    );
}

#[test]
fn allow_readonly_lets_a_correct_code_in_without_a_lock_and_leaves_the_file() {
    let fixture = Fixture::new();
    fixture.write(&totp_file(SECRET, "\" RATE_LIMIT 5 30\n"));
    // No lock file, and none can be created.
    fixture.set_directory_mode(0o555);
    let before = fixture.contents();
    let valid = code(SECRET, NOW);

    let mut session = fixture.session(&[&valid]);
    let readonly = run(&mut session, NOW, &fixture.args(&["allow_readonly"]));
    let mut session = fixture.session(&[&valid]);
    let strict = run(&mut session, NOW, &fixture.args(&[]));
    let after = fixture.contents();
    let lock_created = fixture.lock_path().exists();
    fixture.set_directory_mode(0o700);

    assert_eq!(readonly, PamReturn::Success);
    assert_eq!(strict, PamReturn::AuthErr);
    assert_eq!(after, before);
    assert!(!lock_created);
    assert!(session.errors.is_empty());
}

#[test]
fn past_the_rate_limit_the_user_is_refused_without_a_prompt() {
    let fixture = Fixture::new();
    fixture.write(&totp_file(SECRET, "\" RATE_LIMIT 2 30\n"));
    let args = fixture.args(&[]);
    for time in [NOW, NOW + 1] {
        let mut session = fixture.session(&["000000"]);
        assert_eq!(run(&mut session, time, &args), PamReturn::AuthErr);
        assert_eq!(session.prompts.len(), 1);
    }
    let mut session = fixture.session(&[&code(SECRET, NOW + 2)]);
    assert_eq!(run(&mut session, NOW + 2, &args), PamReturn::AuthErr);
    assert!(session.prompts.is_empty());

    // Once the interval has passed, the user is asked again.
    let mut session = fixture.session(&[&code(SECRET, NOW + 60)]);
    assert_eq!(run(&mut session, NOW + 60, &args), PamReturn::Success);
    assert_eq!(session.prompts.len(), 1);
}

#[test]
fn within_the_grace_period_a_second_login_from_the_same_host_is_not_asked() {
    let fixture = Fixture::new();
    fixture.write(&totp_file(SECRET, ""));
    let args = fixture.args(&["grace_period=300"]);
    let mut session = fixture.session(&[&code(SECRET, NOW)]);
    assert_eq!(run(&mut session, NOW, &args), PamReturn::Success);

    let mut session = fixture.session(&[]);
    assert_eq!(run(&mut session, NOW + 60, &args), PamReturn::Success);
    assert!(session.prompts.is_empty());

    let mut session = fixture.session(&[]);
    session.remote_host = Some("192.0.2.2".to_owned());
    assert_eq!(run(&mut session, NOW + 60, &args), PamReturn::AuthErr);
    assert!(!session.prompts.is_empty());
}

#[test]
fn only_the_write_errors_the_reference_shows_reach_the_user() {
    let path = PathBuf::from("/home/u/.google_authenticator");
    let write = |source| StoreError::Write {
        path: path.clone(),
        source,
    };
    assert_eq!(
        write_failure_message(&write(Errno::ENOSPC)).as_deref(),
        Some("Error \"No space left on device\" while writing config")
    );
    for errno in [Errno::EPERM, Errno::EROFS, Errno::EIO, Errno::EDQUOT] {
        assert!(write_failure_message(&write(errno)).is_some(), "{errno}");
    }
    for errno in [Errno::EFBIG, Errno::EACCES, Errno::EINTR] {
        assert_eq!(write_failure_message(&write(errno)), None, "{errno}");
    }
    let refused = StoreError::ChangedUnderneath { path: path.clone() };
    assert_eq!(write_failure_message(&refused), None);
}
