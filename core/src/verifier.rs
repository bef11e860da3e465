//! The verifier: decides whether the user's answer is a valid one-time code
//! and how the state file changes, with the semantics of the reference
//! module (each deliberate difference is listed in docs/compatibility.md).
//!
//! It is a pure function of the parsed state file, the settings, the current
//! time and remote host, and the answers the user gives; it does no I/O. The
//! caller supplies answers through [`AnswerSource`] (the previous module's
//! password and, lazily, a prompt) and writes the returned state back.
//!
//! Order of checks, as in the reference: the rate limit is applied first (the
//! attempt is recorded even if it is refused), then a recent login from the
//! same remote host may be let through by the grace period, then up to four
//! candidate answers are tried — a code of the file's digit count (six
//! unless `DIGITS` says otherwise) and then an eight-digit scratch code,
//! first from the previous module's password, then from the prompt. A
//! candidate is checked against the scratch codes, then against HOTP when
//! the counter is positive, otherwise against TOTP when the file is
//! time-based.
//!
//! With eight-digit codes a code and a scratch code read the same eight
//! digits, so each source gives one candidate, checked against both: it is
//! a scratch code when it is one of the file's (the reference's order
//! within a candidate: scratch codes first), else a code. Both lookups are
//! always made in full, so the time taken does not tell which one matched;
//! only when neither matches is the clock-skew search made, as for any
//! wrong code.

use crate::otp::{CodeFormat, HotpKey, codes_equal, time_step};
use crate::state_file::{
    GRACE_SLOTS, MAX_HOTP_COUNTER, RateLimit, SkewSample, StateFile, is_grace_host,
};
use std::borrow::Cow;

use zeroize::Zeroizing;

/// How far (in steps, both ways) a code is looked for when learning the
/// clock skew: 25 hours at 60-second steps, as the reference does.
const SKEW_SEARCH_STEPS: i64 = 25 * 60;

/// How many consecutive samples establish a new time skew.
const SKEW_SAMPLES: usize = 3;

/// Where the verifier may take answers from (`try_first_pass`,
/// `use_first_pass`, or the default of prompting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PassMode {
    #[default]
    Prompt,
    TryFirstPass,
    UseFirstPass,
}

/// The module options that change how answers are verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub pass_mode: PassMode,
    /// The answer is a password followed by the code; the password is
    /// handed on to the next module.
    pub forward_pass: bool,
    /// Never learn a time skew from codes outside the window.
    pub noskewadj: bool,
    /// A failed HOTP attempt does not advance the counter.
    pub no_increment_hotp: bool,
    /// Seconds during which a new login from the host of a recent
    /// successful login needs no code; 0 disables it.
    pub grace_period: u64,
}

/// What the verifier needs to know about the current login.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Seconds since the Unix epoch.
    pub now: u64,
    /// The remote host (`PAM_RHOST`), when known.
    pub remote_host: Option<&'a str>,
}

/// Supplies the user's answers.
pub trait AnswerSource {
    /// The password an earlier module collected (`PAM_AUTHTOK`), if any.
    fn first_pass(&mut self) -> Option<Zeroizing<Vec<u8>>>;
    /// Asks the user. Called at most once unless it returns `None`.
    fn prompt(&mut self) -> Option<Zeroizing<Vec<u8>>>;
}

/// Why a login was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granted {
    /// A recent login from the same host, within `grace_period`.
    GracePeriod,
    ScratchCode,
    HotpCode,
    TotpCode,
    /// The third code in a row at a consistent clock skew: the skew is
    /// now stored and the code accepted.
    TimeSkewLearned,
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("too many login attempts within the RATE_LIMIT interval")]
    RateLimited,
    #[error("no verification code was given")]
    NoAnswer,
    #[error("invalid verification code")]
    InvalidCode,
    #[error("a previously used time-based code was presented again (DISALLOW_REUSE)")]
    ReusedCode,
    #[error("the code is valid at another time; clock skew sample recorded")]
    SkewSampleRecorded,
    #[error("the same out-of-window code was presented again")]
    RepeatedSkewSample,
    #[error("the clock is before the first TOTP step")]
    ClockBeforeFirstStep,
    #[error("the clock is beyond the times the state file can record")]
    ClockOutOfRange,
}

/// Something worth logging that does not change the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// The answer starts with the `\b` OpenSSH puts in the dummy password it
    /// hands to PAM when its own configuration refuses the login.
    DummyPassword,
    /// A code outside the window matched at a different clock skew.
    SkewDetected,
    /// No grace-period record was stored because there is no remote host.
    GraceWithoutHost,
    /// No grace-period record was stored because the remote host has
    /// characters a record cannot hold.
    GraceHostUnusable,
}

/// The verdict and what to write back.
#[derive(Debug)]
pub struct Outcome {
    pub verdict: Result<Granted, Denied>,
    /// The new file, when it changed; it must be written even when the
    /// login is refused (rate-limit timestamps, HOTP counter, skew samples).
    pub new_state: Option<StateFile>,
    /// With `forward_pass`, the password part of the accepted answer, to be
    /// set as `PAM_AUTHTOK`.
    pub forwarded_password: Option<Zeroizing<Vec<u8>>>,
    pub notes: Vec<Note>,
}

/// What an answer's trailing digits are read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeKind {
    /// The file's digit count (6 or 7): a TOTP or HOTP code.
    Verification,
    /// Eight digits, the first not zero: a scratch code.
    Scratch,
    /// Eight digits in a file of eight-digit codes: a scratch code when it
    /// is one, else a TOTP or HOTP code.
    CodeOrScratch,
}

/// Digits of a scratch code.
const SCRATCH_DIGITS: usize = 8;

/// Where a candidate answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    FirstPass,
    Prompt,
}

/// The four candidates of the reference, in order.
const CANDIDATES: [(Origin, CodeKind); 4] = [
    (Origin::FirstPass, CodeKind::Verification),
    (Origin::FirstPass, CodeKind::Scratch),
    (Origin::Prompt, CodeKind::Verification),
    (Origin::Prompt, CodeKind::Scratch),
];

/// The candidates when codes have as many digits as scratch codes.
const EIGHT_DIGIT_CANDIDATES: [(Origin, CodeKind); 2] = [
    (Origin::FirstPass, CodeKind::CodeOrScratch),
    (Origin::Prompt, CodeKind::CodeOrScratch),
];

/// The candidates for codes of `format`, in order.
fn candidates(format: CodeFormat) -> &'static [(Origin, CodeKind)] {
    if format.digits() as usize == SCRATCH_DIGITS {
        &EIGHT_DIGIT_CANDIDATES
    } else {
        &CANDIDATES
    }
}

/// Where a code of the file's kind matched in the window, before anything
/// is recorded.
enum WindowMatch {
    /// The file has neither a positive HOTP counter nor time-based codes.
    NoCodes,
    /// The counter value that matched, if any.
    Hotp(Option<u64>),
    /// The time step that matched, if any, or why none can.
    Totp(Result<Option<i64>, Denied>),
}

/// Result of checking one candidate code.
enum Check {
    Accepted(Granted),
    Rejected(Denied),
    /// Not a code of this kind; the next candidate is tried.
    NoMatch,
}

/// One login's working state.
struct Attempt<'a> {
    /// The file as it is now; copied (and so `Owned`) only once the
    /// attempt changes it.
    file: Cow<'a, StateFile>,
    settings: &'a Settings,
    now: u64,
    /// The HOTP counter as read before any change, when HOTP is in use.
    hotp_counter: Option<u64>,
    /// The algorithm and digit count of the file's codes.
    format: CodeFormat,
    /// A failed HOTP attempt was made, so the counter must advance.
    must_advance_counter: bool,
    notes: Vec<Note>,
}

/// Runs one authentication against `file`.
pub fn verify(
    file: &StateFile,
    settings: &Settings,
    context: &Context<'_>,
    answers: &mut dyn AnswerSource,
) -> Outcome {
    let mut attempt = Attempt {
        file: Cow::Borrowed(file),
        settings,
        now: context.now,
        hotp_counter: file.hotp_counter().filter(|c| *c > 0),
        format: file.code_format(),
        must_advance_counter: false,
        notes: Vec::new(),
    };
    let rate_limit = attempt.apply_rate_limit();
    if within_grace_period(file, settings, context) {
        // Like the reference, a grace-period login writes nothing.
        return Outcome {
            verdict: Ok(Granted::GracePeriod),
            new_state: None,
            forwarded_password: None,
            notes: attempt.notes,
        };
    }
    if let Err(denied) = rate_limit {
        return attempt.finish(Err(denied), None);
    }
    let (verdict, forwarded) = attempt.try_candidates(answers);
    if attempt.must_advance_counter && !settings.no_increment_hotp {
        attempt.advance_hotp_counter();
    }
    if verdict.is_ok() && settings.grace_period > 0 {
        attempt.record_login(context.remote_host);
    }
    attempt.finish(verdict, forwarded)
}

/// The timestamps `limit` keeps after an attempt at `now` (those within the
/// interval, at most `attempts` of them, sorted), and whether the attempt
/// exceeds the limit. The format stores 32-bit timestamps, as the
/// reference does: a later clock is refused.
fn record_attempt(limit: &RateLimit, now: u64) -> Result<(Vec<u32>, bool), Denied> {
    let now = u32::try_from(now).map_err(|_| Denied::ClockOutOfRange)?;
    let mut stamps = limit.timestamps.clone();
    stamps.push(now);
    stamps.sort_unstable();
    let oldest_allowed = now.saturating_sub(limit.interval);
    let mut kept: Vec<u32> = stamps
        .into_iter()
        .skip_while(|t| *t < oldest_allowed)
        .take_while(|t| *t <= now)
        .collect();
    let allowed = usize::try_from(limit.attempts).unwrap_or(usize::MAX);
    let excess = kept.len().saturating_sub(allowed);
    kept.drain(..excess);
    Ok((kept, excess > 0))
}

/// Whether an attempt at `now` is refused by `limit` (or by a clock the
/// format cannot hold): the reference refuses such a login before it asks
/// anything, even when the rest of the file is unusable.
pub fn exceeds_rate_limit(limit: &RateLimit, now: u64) -> bool {
    record_attempt(limit, now).map_or(true, |(_, exceeded)| exceeded)
}

/// Whether the reference asks for a code when it cannot check one (no
/// secret, or a malformed option it reads for every code). It stops at the
/// first answer shaped like a code, so with `try_first_pass` it asks only
/// when the earlier module's password does not end in six digits, and with
/// `use_first_pass` never.
pub fn asks_without_checking(settings: &Settings, first_pass: Option<&[u8]>) -> bool {
    match settings.pass_mode {
        PassMode::Prompt => true,
        PassMode::UseFirstPass => false,
        PassMode::TryFirstPass => first_pass.is_none_or(|answer| {
            split_answer(answer, CodeFormat::DEFAULT.digits() as usize, false).is_none()
        }),
    }
}

/// Whether the remote host logged in successfully less than `grace_period`
/// seconds ago.
fn within_grace_period(file: &StateFile, settings: &Settings, context: &Context<'_>) -> bool {
    if settings.grace_period == 0 {
        return false;
    }
    let Some(host) = context.remote_host.filter(|h| is_grace_host(h)) else {
        return false;
    };
    (0..GRACE_SLOTS as u8)
        .filter_map(|slot| file.login_record(slot))
        .find(|record| record.host == host)
        .is_some_and(|record| record.when.saturating_add(settings.grace_period) > context.now)
}

impl Attempt<'_> {
    fn set(&mut self, name: &str, value: &str) {
        self.file.to_mut().set_option(name, value);
    }

    fn finish(
        self,
        verdict: Result<Granted, Denied>,
        forwarded_password: Option<Zeroizing<Vec<u8>>>,
    ) -> Outcome {
        Outcome {
            verdict,
            new_state: match self.file {
                Cow::Owned(changed) => Some(changed),
                Cow::Borrowed(_) => None,
            },
            forwarded_password,
            notes: self.notes,
        }
    }

    /// Records this attempt in `RATE_LIMIT` and refuses it when it exceeds
    /// the limit (see [`record_attempt`]); a clock the format cannot hold is
    /// refused and nothing is recorded.
    fn apply_rate_limit(&mut self) -> Result<(), Denied> {
        let Some(limit) = self.file.rate_limit_state() else {
            return Ok(());
        };
        let (kept, exceeded) = record_attempt(limit, self.now)?;
        let (attempts, interval) = (limit.attempts, limit.interval);
        let mut value = format!("{attempts} {interval}");
        for stamp in kept {
            value.push_str(&format!(" {stamp}"));
        }
        self.set("RATE_LIMIT", &value);
        if exceeded {
            Err(Denied::RateLimited)
        } else {
            Ok(())
        }
    }

    /// Moves the HOTP counter one on after a failed attempt, unless it is
    /// already the largest value the file can hold.
    fn advance_hotp_counter(&mut self) {
        let next = self.hotp_counter.and_then(|counter| counter.checked_add(1));
        if let Some(next) = next.filter(|next| *next <= MAX_HOTP_COUNTER) {
            self.set(self.file.counter_option_name(), &next.to_string());
        }
    }

    /// Tries the candidate answers in the reference's order. Returns the
    /// verdict and, with `forward_pass`, the password part of the accepted
    /// answer.
    fn try_candidates(
        &mut self,
        answers: &mut dyn AnswerSource,
    ) -> (Result<Granted, Denied>, Option<Zeroizing<Vec<u8>>>) {
        let mut first_pass = None;
        let mut prompted: Option<Zeroizing<Vec<u8>>> = None;
        let mut answered = false;
        for &(origin, kind) in candidates(self.format) {
            let answer = match origin {
                Origin::FirstPass if self.settings.pass_mode != PassMode::Prompt => first_pass
                    .get_or_insert_with(|| answers.first_pass())
                    .clone(),
                Origin::Prompt if self.settings.pass_mode != PassMode::UseFirstPass => {
                    if prompted.is_none() {
                        prompted = answers.prompt();
                    }
                    prompted.clone()
                }
                _ => None,
            };
            let Some(answer) = answer else { continue };
            answered = true;
            if answer.first() == Some(&b'\x08') {
                self.notes.push(Note::DummyPassword);
            }
            let digits = match kind {
                CodeKind::Verification => self.format.digits() as usize,
                CodeKind::Scratch | CodeKind::CodeOrScratch => SCRATCH_DIGITS,
            };
            let Some((password, code)) = split_answer(&answer, digits, kind == CodeKind::Scratch)
            else {
                continue;
            };
            if origin == Origin::Prompt && !self.settings.forward_pass && !password.is_empty() {
                continue;
            }
            match self.check_code(code, kind) {
                Check::Accepted(granted) => {
                    let forwarded = self.settings.forward_pass.then_some(password);
                    return (Ok(granted), forwarded);
                }
                Check::Rejected(denied) => return (Err(denied), None),
                Check::NoMatch => {}
            }
        }
        let denied = if answered {
            Denied::InvalidCode
        } else {
            Denied::NoAnswer
        };
        (Err(denied), None)
    }

    /// Checks `code` as `kind`: against the scratch codes and, but for a
    /// scratch code, the window, both in full before either is used.
    fn check_code(&mut self, code: u32, kind: CodeKind) -> Check {
        let key = HotpKey::with_format(self.file.secret_key(), self.format);
        let scratch = match kind {
            CodeKind::Verification => None,
            CodeKind::Scratch | CodeKind::CodeOrScratch => self.matching_scratch_code(code),
        };
        let window = match kind {
            CodeKind::Scratch => WindowMatch::NoCodes,
            CodeKind::Verification | CodeKind::CodeOrScratch => self.window_match(&key, code),
        };
        if let Some(used) = scratch {
            self.file.to_mut().remove_scratch_code(used);
            return Check::Accepted(Granted::ScratchCode);
        }
        match window {
            WindowMatch::NoCodes => Check::NoMatch,
            WindowMatch::Hotp(matched) => self.use_hotp_match(matched),
            WindowMatch::Totp(Err(denied)) => Check::Rejected(denied),
            WindowMatch::Totp(Ok(Some(step))) => match self.record_used_step(step) {
                Ok(()) => Check::Accepted(Granted::TotpCode),
                Err(denied) => Check::Rejected(denied),
            },
            WindowMatch::Totp(Ok(None)) => self.look_for_skew(&key, code),
        }
    }

    /// The scratch code equal to `code`, every one compared.
    fn matching_scratch_code(&self, code: u32) -> Option<u32> {
        self.file
            .scratch_codes()
            .into_iter()
            .fold(None, |found, candidate| {
                found.or(codes_equal(candidate, code).then_some(candidate))
            })
    }

    /// Where `code` matches in the window of the file's kind of codes,
    /// every code of the window computed.
    fn window_match(&self, key: &HotpKey, code: u32) -> WindowMatch {
        if let Some(counter) = self.hotp_counter {
            let window = u64::from(self.file.window_size());
            // Only counter values whose successor the file can hold are
            // tried, so the counter written back is always one the parser
            // reads.
            let end = counter.saturating_add(window).min(MAX_HOTP_COUNTER);
            let matched = (counter..end).fold(None, |found, value| {
                found.or(codes_equal(key.code(value), code).then_some(value))
            });
            return WindowMatch::Hotp(matched);
        }
        if !self.file.is_totp() {
            return WindowMatch::NoCodes;
        }
        WindowMatch::Totp(self.current_step().map(|step| {
            let skew = self.file.time_skew();
            let window = i64::from(self.file.window_size());
            (-((window - 1) / 2)..=window / 2)
                .filter_map(|offset| step.checked_add(skew)?.checked_add(offset))
                .fold(None, |found, candidate| {
                    found.or(code_matches_step(key, code, candidate).then_some(candidate))
                })
        }))
    }

    /// The current TOTP time step, refused when it is 0 or beyond what the
    /// file can record.
    fn current_step(&self) -> Result<i64, Denied> {
        match i64::try_from(time_step(self.now, self.file.step_size())) {
            Err(_) => Err(Denied::ClockOutOfRange),
            Ok(0) => Err(Denied::ClockBeforeFirstStep),
            Ok(step) => Ok(step),
        }
    }

    /// Moves the counter past a matched HOTP code, or notes that a failed
    /// attempt must advance it.
    fn use_hotp_match(&mut self, matched: Option<u64>) -> Check {
        match matched {
            Some(value) => {
                // `value < end <= MAX_HOTP_COUNTER`, so this cannot overflow.
                self.set(self.file.counter_option_name(), &(value + 1).to_string());
                self.must_advance_counter = false;
                Check::Accepted(Granted::HotpCode)
            }
            None => {
                self.must_advance_counter = true;
                Check::NoMatch
            }
        }
    }

    /// Looks for a TOTP code outside the window, to learn the clock skew.
    fn look_for_skew(&mut self, key: &HotpKey, code: u32) -> Check {
        if self.settings.noskewadj {
            return Check::NoMatch;
        }
        let Ok(step) = self.current_step() else {
            return Check::NoMatch;
        };
        match find_skew(key, code, step) {
            Some((skew, code_step)) => {
                self.notes.push(Note::SkewDetected);
                self.learn_skew(SkewSample { step, skew }, code_step)
            }
            None => Check::NoMatch,
        }
    }

    /// Records the time step of an accepted TOTP code under
    /// `DISALLOW_REUSE`, or refuses a step already recorded there. Every
    /// path that accepts a TOTP code goes through here: the window, and the
    /// completion of skew learning. The stored list is rewritten exactly as
    /// the reference rewrites it: steps that can no longer fall in the
    /// window are dropped together with the blanks after them, and the new
    /// step is appended.
    fn record_used_step(&mut self, matched_step: i64) -> Result<(), Denied> {
        let Some(value) = self.file.disallow_reuse_value() else {
            return Ok(());
        };
        let window = u64::from(self.file.window_size());
        let mut kept = String::with_capacity(value.len() + 12);
        let mut rest = value;
        loop {
            let blank_len = rest.len() - rest.trim_start().len();
            kept.push_str(&rest[..blank_len]);
            rest = &rest[blank_len..];
            if rest.is_empty() {
                break;
            }
            let token_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let (token, after) = rest.split_at(token_len);
            // The parser admits only steps an `i64` holds; anything else is
            // kept as it is and never matches.
            match token.parse::<i64>() {
                Ok(used) if used == matched_step => return Err(Denied::ReusedCode),
                Ok(used) if used.abs_diff(matched_step) >= window => {
                    rest = after.trim_start_matches([' ', '\t']);
                }
                _ => {
                    kept.push_str(token);
                    rest = after;
                }
            }
        }
        if !kept.is_empty() {
            kept.push(' ');
        }
        kept.push_str(&matched_step.to_string());
        self.set("DISALLOW_REUSE", &kept);
        Ok(())
    }

    /// Records `sample`, a code that matched the time step `code_step`
    /// outside the window, in `RESETTING_TIME_SKEW`. Three samples in quick
    /// succession (consecutive steps at most two apart) with consistent
    /// skews set `TIME_SKEW` to their average and accept the code, whose
    /// time step is then recorded under `DISALLOW_REUSE` like any accepted
    /// code (a deliberate difference: docs/compatibility.md).
    fn learn_skew(&mut self, sample: SkewSample, code_step: i64) -> Check {
        let mut samples = self.file.resetting_time_skew();
        if samples
            .last()
            .is_some_and(|last| sample_code_step(*last) == i128::from(code_step))
        {
            // The same code again tells nothing new.
            return Check::Rejected(Denied::RepeatedSkewSample);
        }
        // Like the reference, only the most recent samples count.
        samples.push(sample);
        samples.drain(..samples.len().saturating_sub(SKEW_SAMPLES));
        let learned = (samples.len() == SKEW_SAMPLES)
            .then(|| consistent_skew(&samples, sample.skew))
            .flatten();
        match learned {
            Some(average) => {
                if let Err(denied) = self.record_used_step(code_step) {
                    return Check::Rejected(denied);
                }
                self.set("TIME_SKEW", &average.to_string());
                self.set("RESETTING_TIME_SKEW", "");
                Check::Accepted(Granted::TimeSkewLearned)
            }
            None => {
                let list: Vec<String> = samples
                    .iter()
                    .map(|s| format!("{}{:+}", s.step, s.skew))
                    .collect();
                self.set("RESETTING_TIME_SKEW", &list.join(" "));
                Check::Rejected(Denied::SkewSampleRecorded)
            }
        }
    }

    /// Stores `LASTn host now` for a successful login: the slot already
    /// holding this host, else the first free slot, else the oldest.
    fn record_login(&mut self, remote_host: Option<&str>) {
        let Some(host) = remote_host else {
            self.notes.push(Note::GraceWithoutHost);
            return;
        };
        if !is_grace_host(host) {
            self.notes.push(Note::GraceHostUnusable);
            return;
        }
        let slot = self.login_slot_for(host);
        self.set(&format!("LAST{slot}"), &format!("{host} {}", self.now));
    }

    fn login_slot_for(&self, host: &str) -> u8 {
        let mut oldest: Option<(u8, u64)> = None;
        for slot in 0..GRACE_SLOTS as u8 {
            if !self.file.has_login_slot(slot) {
                if oldest.is_none_or(|(_, when)| when > 0) {
                    oldest = Some((slot, 0));
                }
                continue;
            }
            let Some(record) = self.file.login_record(slot) else {
                continue;
            };
            if record.host == host {
                return slot;
            }
            if record.when < oldest.map_or(self.now, |(_, when)| when) {
                oldest = Some((slot, record.when));
            }
        }
        oldest.map_or(0, |(slot, _)| slot)
    }
}

/// Whether `code` is the TOTP code of time step `step`.
fn code_matches_step(key: &HotpKey, code: u32, step: i64) -> bool {
    u64::try_from(step).is_ok_and(|step| codes_equal(key.code(step), code))
}

/// Looks for `code` up to [`SKEW_SEARCH_STEPS`] steps before and after
/// `step`, nearest first (the earlier side first at equal distance), and
/// gives the offset at which it matched and the step it matched. Every
/// step is computed, whatever matches, so the time taken does not depend on
/// where the code was found.
fn find_skew(key: &HotpKey, code: u32, step: i64) -> Option<(i64, i64)> {
    (0..SKEW_SEARCH_STEPS)
        .flat_map(|distance| [-distance, distance])
        .fold(None, |found, offset| {
            let matched = step
                .checked_add(offset)
                .filter(|candidate| code_matches_step(key, code, *candidate));
            found.or(matched.map(|candidate| (offset, candidate)))
        })
}

/// The time step of the code a skew sample was learned from. Computed in
/// 128 bits, so a sample read from a file cannot overflow.
fn sample_code_step(sample: SkewSample) -> i128 {
    i128::from(sample.step) + i128::from(sample.skew)
}

/// The average skew of three samples when they are consecutive (each step
/// after the previous, at most two apart) and each earlier skew is within
/// one step of the newest skew; `None` otherwise. The comparison against the
/// newest skew, and the average rounded toward zero, are the reference's.
/// The average of skews read from the file lies between the smallest and
/// the largest of them, so it is a skew the file can hold.
fn consistent_skew(samples: &[SkewSample], newest_skew: i64) -> Option<i64> {
    let consistent = samples.windows(2).all(|pair| {
        let (earlier, later) = (pair[0], pair[1]);
        later.step > earlier.step
            && later.step.abs_diff(earlier.step) <= 2
            && earlier.skew.abs_diff(newest_skew) <= 1
    });
    let sum: i128 = samples.iter().map(|s| i128::from(s.skew)).sum();
    let count = i128::try_from(samples.len()).ok()?;
    consistent
        .then(|| i64::try_from(sum.checked_div(count)?).ok())
        .flatten()
}

/// Splits an answer into the password before the code and the code itself,
/// when its last `digits` characters are digits (with `scratch`, the first
/// not zero).
fn split_answer(answer: &[u8], digits: usize, scratch: bool) -> Option<(Zeroizing<Vec<u8>>, u32)> {
    let split_at = answer.len().checked_sub(digits)?;
    let (password, tail) = answer.split_at(split_at);
    if !tail.iter().all(u8::is_ascii_digit) || (scratch && tail[0] == b'0') {
        return None;
    }
    let code = tail
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    Some((Zeroizing::new(password.to_vec()), code))
}

#[cfg(test)]
mod tests;
