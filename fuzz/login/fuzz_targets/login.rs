//! Fuzzes the module's whole login flow, `pam_rust_totp::authenticate`:
//! a state file on disk (arbitrary bytes, or lines built from arbitrary
//! settings), module options, answers at the prompt and in `PAM_AUTHTOK`,
//! the remote host, the clock, and a write that fails (a file-size limit,
//! so the kernel refuses the store's write with `EFBIG`). A fake PAM
//! session stands in for Linux-PAM.
//!
//! On every input:
//! - nothing panics (the flow runs outside `catch_unwind` here);
//! - a login succeeds only with an answer that holds a valid code (an HMAC
//!   of the secret, computed here independently of the core, at a counter
//!   within the module's reach) or a scratch code of the file, or without
//!   an answer when the file has a grace-period record;
//! - a single-use code (a scratch code, an HOTP code, a TOTP code under
//!   `DISALLOW_REUSE`) that let one login in does not let a second in;
//! - the file afterwards parses again when it parsed before, and is left
//!   as it was when the login failed because the write did; no temporary
//!   file is left next to it.
#![no_main]

use std::fs;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::signal::{SigHandler, Signal, signal};
use pam_rust_totp::authenticate::{Clock, PamReturn, PamSession, authenticate};
use pam_rust_totp::privilege::lookup_user_by_uid;
use rust_totp_core::state_file::{StateFile, encode_secret};
use sha1::Sha1;
use zeroize::Zeroizing;

/// How far from the current time step a code is still accepted: the
/// widest window plus the clock-skew search.
const TOTP_REACH: u64 = 100 + 25 * 60 + 2;
/// How far past the counter an HOTP code is still accepted.
const HOTP_REACH: u64 = 101;

#[derive(Arbitrary, Debug)]
struct Input {
    file: FileSpec,
    /// One bit per flag option, see [`FLAG_OPTIONS`].
    flags: u16,
    grace_period: Option<u16>,
    extra_option: Option<String>,
    clock: ClockSpec,
    remote_host: Option<String>,
    authtok: Option<Answer>,
    answers: Vec<Answer>,
    /// A file-size limit for the login's writes.
    write_limit: Option<u16>,
}

#[derive(Arbitrary, Debug)]
enum FileSpec {
    Bytes(Vec<u8>),
    Lines {
        key: Vec<u8>,
        hotp_counter: Option<u64>,
        settings: Vec<Setting>,
        scratch_codes: Vec<u32>,
        trailing: Vec<String>,
    },
}

/// An option line; times and steps are relative to the login's clock.
#[derive(Arbitrary, Debug)]
enum Setting {
    RateLimit(u8, u8, Vec<u16>),
    WindowSize(u8),
    StepSize(u8),
    DisallowReuse(Vec<i16>),
    TimeSkew(i32),
    ResettingTimeSkew(Vec<(i16, i8)>),
    Last(u8, String, u16),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum ClockSpec {
    /// Seconds after 2017-07-14.
    Recent(u32),
    Raw(u64),
}

#[derive(Arbitrary, Debug, Clone)]
enum Answer {
    Bytes(Vec<u8>),
    /// The code this many steps (or counter values) from the current one.
    Code(i16),
    /// The file's scratch code with this index.
    Scratch(u8),
    /// A password followed by a code, for `forward_pass`.
    PasswordAndCode(String, i16),
    /// The conversation fails.
    Missing,
}

const FLAG_OPTIONS: &[&str] = &[
    "nullok",
    "no_strict_owner",
    "debug",
    "allow_readonly",
    "echo_verification_code",
    "try_first_pass",
    "use_first_pass",
    "forward_pass",
    "noskewadj",
    "no_increment_hotp",
    "allowed_perm=0644",
];

/// A private directory for the state file, on tmpfs where there is one
/// (the store syncs every write), and the user the process runs as.
struct Scene {
    dir: PathBuf,
    user: String,
}

fn scene() -> &'static Scene {
    static SCENE: OnceLock<Scene> = OnceLock::new();
    SCENE.get_or_init(|| {
        // The kernel's answer to writing past the limit is then EFBIG
        // alone, not a signal that ends the process.
        // SAFETY: SIG_IGN installs no handler code; nothing else in the
        // process depends on SIGXFSZ.
        unsafe { signal(Signal::SIGXFSZ, SigHandler::SigIgn) }.expect("ignore SIGXFSZ");
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("pam-rust-totp-fuzz-login-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("state directory");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        let uid = nix::unistd::geteuid().as_raw();
        let user = lookup_user_by_uid(uid)
            .ok()
            .flatten()
            .expect("the fuzzing user has an account")
            .name;
        Scene { dir, user }
    })
}

struct FixedClock(u64);

impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.0
    }
}

/// The fake PAM session: hands out the answers in turn and remembers them.
struct Session<'a> {
    user: &'a str,
    remote_host: Option<String>,
    authtok: Option<Vec<u8>>,
    answers: std::vec::IntoIter<Option<Vec<u8>>>,
    handed_out: Vec<Vec<u8>>,
}

impl PamSession for Session<'_> {
    fn service(&self) -> String {
        "rt-fuzz".into()
    }
    fn user(&mut self) -> Option<String> {
        Some(self.user.to_owned())
    }
    fn remote_host(&self) -> Option<String> {
        self.remote_host.clone()
    }
    fn authtok(&self) -> Option<Zeroizing<Vec<u8>>> {
        self.authtok.clone().map(Zeroizing::new)
    }
    fn ask(&mut self, _prompt: &str, _echo: bool) -> Option<Zeroizing<Vec<u8>>> {
        let answer = self.answers.next().flatten()?;
        self.handed_out.push(answer.clone());
        Some(Zeroizing::new(answer))
    }
    fn show_error(&mut self, _message: &str) {}
    fn set_authtok(&mut self, _token: &[u8]) -> bool {
        true
    }
}

/// What one login saw and did.
struct Login {
    result: PamReturn,
    /// Every answer the module could have used: `PAM_AUTHTOK` and the
    /// prompted ones.
    answers: Vec<Vec<u8>>,
    asked: bool,
}

fn log_in(
    scene: &Scene,
    args: &[String],
    now: u64,
    host: Option<&String>,
    authtok: Option<&Vec<u8>>,
    answers: Vec<Option<Vec<u8>>>,
    write_limit: Option<u16>,
) -> Login {
    let mut session = Session {
        user: &scene.user,
        remote_host: host.cloned(),
        authtok: authtok.cloned(),
        answers: answers.into_iter(),
        handed_out: Vec::new(),
    };
    let limit = write_limit.map(|bytes| limit_writes(u64::from(bytes)));
    let result = authenticate(&mut session, &FixedClock(now), args);
    if let Some(previous) = limit {
        setrlimit(Resource::RLIMIT_FSIZE, previous.0, previous.1).expect("restore RLIMIT_FSIZE");
    }
    let asked = !session.handed_out.is_empty();
    let mut used = session.handed_out;
    used.extend(authtok.cloned());
    Login {
        result,
        answers: used,
        asked,
    }
}

/// Limits the size of files the process writes; returns the old limits.
fn limit_writes(bytes: u64) -> (u64, u64) {
    let previous = getrlimit(Resource::RLIMIT_FSIZE).expect("getrlimit");
    setrlimit(Resource::RLIMIT_FSIZE, bytes, previous.1).expect("setrlimit");
    previous
}

/// The time step of `now` for a file's step size.
fn step_of(state: &StateFile, now: u64) -> u64 {
    now / u64::from(state.step_size().max(1))
}

/// The counter value `offset` away from the one a login expects now.
fn counter_at(state: &StateFile, now: u64, offset: i16) -> u64 {
    let base = match state.hotp_counter() {
        Some(counter) => counter,
        None => step_of(state, now).saturating_add_signed(state.time_skew()),
    };
    base.saturating_add_signed(i64::from(offset))
}

/// RFC 4226's HOTP, six digits, computed here rather than by the core.
fn hotp(key: &[u8], counter: u64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[19] & 0x0f);
    let word = u32::from_be_bytes([
        hash[offset],
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    (word & 0x7fff_ffff) % 1_000_000
}

fn answer_bytes(answer: &Answer, state: Option<&StateFile>, now: u64) -> Option<Vec<u8>> {
    let code = |offset: i16| match state {
        Some(state) => format!(
            "{:06}",
            hotp(state.secret_key(), counter_at(state, now, offset))
        ),
        None => "123456".to_owned(),
    };
    match answer {
        Answer::Bytes(bytes) => Some(bytes.clone()),
        Answer::Code(offset) => Some(code(*offset).into_bytes()),
        Answer::Scratch(index) => {
            let codes = state.map(StateFile::scratch_codes).unwrap_or_default();
            let code = match codes.len() {
                0 => 12_345_678,
                len => codes[usize::from(*index) % len],
            };
            Some(format!("{code:08}").into_bytes())
        }
        Answer::PasswordAndCode(password, offset) => {
            Some(format!("{password}{}", code(*offset)).into_bytes())
        }
        Answer::Missing => None,
    }
}

fn file_bytes(spec: &FileSpec, now: u64) -> Vec<u8> {
    let (key, hotp_counter, settings, scratch_codes, trailing) = match spec {
        FileSpec::Bytes(bytes) => return bytes.clone(),
        FileSpec::Lines {
            key,
            hotp_counter,
            settings,
            scratch_codes,
            trailing,
        } => (key, hotp_counter, settings, scratch_codes, trailing),
    };
    let step = now / 30;
    let mut text = format!("{}\n", encode_secret(key));
    for setting in settings {
        text.push_str(&setting_line(setting, now, step));
        text.push('\n');
    }
    match hotp_counter {
        Some(counter) => text.push_str(&format!("\" HOTP_COUNTER {counter}\n")),
        None => text.push_str("\" TOTP_AUTH\n"),
    }
    for code in scratch_codes {
        text.push_str(&format!("{:08}\n", 10_000_000 + code % 90_000_000));
    }
    for line in trailing {
        text.push_str(line);
        text.push('\n');
    }
    text.into_bytes()
}

fn setting_line(setting: &Setting, now: u64, step: u64) -> String {
    let joined = |values: Vec<String>| values.join(" ");
    match setting {
        Setting::RateLimit(attempts, seconds, ages) => format!(
            "\" RATE_LIMIT {attempts} {seconds} {}",
            joined(
                ages.iter()
                    .map(|age| now.saturating_sub(u64::from(*age)).to_string())
                    .collect()
            )
        ),
        Setting::WindowSize(size) => format!("\" WINDOW_SIZE {size}"),
        Setting::StepSize(size) => format!("\" STEP_SIZE {size}"),
        Setting::DisallowReuse(offsets) => format!(
            "\" DISALLOW_REUSE {}",
            joined(
                offsets
                    .iter()
                    .map(|d| step.saturating_add_signed(i64::from(*d)).to_string())
                    .collect()
            )
        ),
        Setting::TimeSkew(skew) => format!("\" TIME_SKEW {skew}"),
        Setting::ResettingTimeSkew(samples) => format!(
            "\" RESETTING_TIME_SKEW {}",
            joined(
                samples
                    .iter()
                    .map(|(d, skew)| {
                        let at = step.saturating_add_signed(i64::from(*d));
                        format!("{at}{skew:+}")
                    })
                    .collect()
            )
        ),
        Setting::Last(slot, host, age) => format!(
            "\" LAST{} {host} {}",
            slot % 10,
            now.saturating_sub(u64::from(*age))
        ),
        Setting::Raw(line) => line.clone(),
    }
}

fn module_args(input: &Input, path: &Path) -> Vec<String> {
    let mut args = vec![format!("secret={}", path.display())];
    for (bit, option) in FLAG_OPTIONS.iter().enumerate() {
        if input.flags & (1 << bit) != 0 {
            args.push((*option).to_owned());
        }
    }
    if let Some(seconds) = input.grace_period {
        args.push(format!("grace_period={seconds}"));
    }
    // Never another file: the fuzzer must not reach beyond its directory.
    if let Some(extra) = input.extra_option.as_ref().filter(|option| {
        !option.starts_with("secret") && !option.starts_with("user") && !option.contains('\0')
    }) {
        args.push(extra.clone());
    }
    args
}

/// The counters at which an answer's code would be valid now, or the
/// scratch codes it matches: each digit string at the end of the answer.
fn matches(answer: &[u8], state: &StateFile, now: u64) -> usize {
    let tail = |digits: usize| {
        let start = answer.len().checked_sub(digits)?;
        let tail = &answer[start..];
        tail.iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(tail).ok()?.parse::<u32>().ok())
            .flatten()
    };
    let mut found = 0;
    if let Some(code) = tail(8).filter(|code| *code >= 10_000_000) {
        found += state
            .scratch_codes()
            .iter()
            .filter(|scratch| **scratch == code)
            .count();
    }
    if let Some(code) = tail(6) {
        found += valid_counters(state, now)
            .filter(|counter| hotp(state.secret_key(), *counter) == code)
            .count();
    }
    found
}

/// Every counter a login may accept a code for now.
fn valid_counters(state: &StateFile, now: u64) -> Box<dyn Iterator<Item = u64>> {
    if let Some(counter) = state.hotp_counter() {
        return Box::new(counter..=counter.saturating_add(HOTP_REACH));
    }
    let step = step_of(state, now);
    let around =
        |centre: u64| centre.saturating_sub(TOTP_REACH)..=centre.saturating_add(TOTP_REACH);
    let skewed = step.saturating_add_signed(state.time_skew());
    let mut counters: Vec<u64> = around(step).chain(around(skewed)).collect();
    counters.sort_unstable();
    counters.dedup();
    Box::new(counters.into_iter())
}

fn has_grace_record(state: &StateFile) -> bool {
    (0..10).any(|slot| state.login_record(slot).is_some())
}

/// Whether a code, once accepted, may never be accepted again: a scratch
/// code of the file, or any code of an HOTP file or under `DISALLOW_REUSE`.
fn single_use(answer: &[u8], state: &StateFile) -> bool {
    let tail = answer.len().checked_sub(8).map(|start| &answer[start..]);
    let is_scratch = tail
        .and_then(|tail| std::str::from_utf8(tail).ok()?.parse::<u32>().ok())
        .is_some_and(|code| state.scratch_codes().contains(&code));
    is_scratch || state.hotp_counter().is_some() || state.disallow_reuse()
}

fn reset_directory(dir: &Path) {
    for entry in fs::read_dir(dir).expect("read state directory") {
        let path = entry.expect("directory entry").path();
        fs::remove_file(&path).expect("clean state directory");
    }
}

fn write_state(path: &Path, bytes: &[u8]) {
    use std::io::Write as _;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("create state file");
    file.write_all(bytes).expect("write state file");
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("read state directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name != "state" && name != "state.lock")
        .collect()
}

fuzz_target!(|input: Input| {
    let scene = scene();
    let now = match input.clock {
        ClockSpec::Recent(seconds) => 1_500_000_000 + u64::from(seconds),
        ClockSpec::Raw(seconds) => seconds,
    };
    reset_directory(&scene.dir);
    let path = scene.dir.join("state");
    let original = file_bytes(&input.file, now);
    write_state(&path, &original);
    let parsed = StateFile::parse(&original).ok();
    let args = module_args(&input, &path);
    let authtok = input
        .authtok
        .as_ref()
        .and_then(|answer| answer_bytes(answer, parsed.as_ref(), now));
    let answers: Vec<Option<Vec<u8>>> = input
        .answers
        .iter()
        .take(3)
        .map(|answer| answer_bytes(answer, parsed.as_ref(), now))
        .collect();

    let first = log_in(
        scene,
        &args,
        now,
        input.remote_host.as_ref(),
        authtok.as_ref(),
        answers,
        input.write_limit,
    );
    let after = fs::read(&path).expect("the state file is still there");
    assert!(
        leftovers(&scene.dir).is_empty(),
        "{:?}",
        leftovers(&scene.dir)
    );
    match &parsed {
        Some(_) => assert!(
            StateFile::parse(&after).is_ok(),
            "the login left a file that does not parse"
        ),
        None => assert_eq!(after, original, "a file that does not parse was changed"),
    }
    if first.result != PamReturn::Success {
        return;
    }
    let state = parsed.expect("a login succeeded without a readable file");
    let valid: Vec<&Vec<u8>> = first
        .answers
        .iter()
        .filter(|answer| matches(answer, &state, now) > 0)
        .collect();
    assert!(
        !valid.is_empty() || (!first.asked && has_grace_record(&state)),
        "a login succeeded without a valid code: {:?}",
        first.answers
    );
    // The one valid answer, matching one code only, and recorded.
    let [used] = valid[..] else { return };
    let recorded = input.write_limit.is_none();
    if !recorded
        || input.grace_period.is_some()
        || matches(used, &state, now) != 1
        || !single_use(used, &state)
    {
        return;
    }
    let again = vec![Some(used.clone()); 3];
    let second = log_in(
        scene,
        &args,
        now,
        input.remote_host.as_ref(),
        Some(used),
        again,
        None,
    );
    assert_ne!(
        second.result,
        PamReturn::Success,
        "a single-use code let two logins in"
    );
});
