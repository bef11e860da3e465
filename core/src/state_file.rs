//! The model of the per-user state file, `~/.google_authenticator`.
//!
//! The format is the one Google's `google-authenticator` tool writes and its
//! PAM module rewrites: the first line holds the base32 secret, lines that
//! start with `" ` (a double quote and a space) hold options, and lines of
//! eight digits are one-time emergency scratch codes.
//!
//! Codes are SHA-1 with six digits unless `ALGORITHM` or `DIGITS` lines say
//! otherwise. A file with other codes names its kind of codes with `" TOTP`
//! or `" HOTP <counter>` instead of `TOTP_AUTH` or `HOTP_COUNTER`, which
//! Google's module reads: that module ignores all four of these lines, so it
//! checks no time- or counter-based code for such a file (only its scratch
//! codes) rather than six-digit SHA-1 codes, which for SHA-1 with seven or
//! eight digits would be the last digits of the app's codes.
//!
//! A file is kept as its lines, each with the exact run of line-break
//! characters that followed it, so that a file that is parsed and written back
//! unchanged is byte-identical, lines this crate does not know are kept in
//! place, and every edit changes the text exactly the way the reference module
//! does (docs/compatibility.md). Parsing validates every option this crate
//! uses and reports the first problem with its line number; it never panics.

use crate::otp::{Algorithm, CodeFormat};
use std::borrow::Cow;
use std::str::FromStr;
use zeroize::{Zeroize, Zeroizing};

mod account;
mod base32;
mod maintenance;
mod new_file;
pub use account::{ISSUER_OPTION, LABEL_OPTION, percent_encode};
pub use maintenance::ClearedState;
pub use new_file::{FIRST_HOTP_COUNTER, NewFile, NewToken};

/// Largest state file accepted, in bytes (the reference module's limit).
pub const MAX_FILE_SIZE: usize = 64 * 1024;

/// Default `STEP_SIZE` in seconds.
pub const DEFAULT_STEP_SIZE: u32 = 30;

/// Default `WINDOW_SIZE` in codes.
pub const DEFAULT_WINDOW_SIZE: u32 = 3;

/// Largest `HOTP_COUNTER` value: the largest the file format's signed
/// 64-bit counter holds. The verifier never advances the counter past it.
pub const MAX_HOTP_COUNTER: u64 = i64::MAX.unsigned_abs();

/// Number of `LASTn` grace-period records a file can hold.
pub const GRACE_SLOTS: usize = 10;

/// Why a state file was refused. Every variant that concerns a line carries
/// its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {MAX_FILE_SIZE} bytes")]
    TooLarge,
    #[error("line {line}: contains a NUL byte")]
    NulByte { line: usize },
    #[error("line {line}: is not valid UTF-8 text")]
    NotText { line: usize },
    #[error("line 1: no valid base32 secret")]
    InvalidSecret,
    #[error("line {line}: invalid {option} value (expected {expected})")]
    InvalidOption {
        line: usize,
        option: &'static str,
        expected: &'static str,
    },
    #[error(
        "line {line}: {option} cannot be used with ALGORITHM or DIGITS lines other than \
         SHA1 and 6, nor with a TOTP or HOTP line: pam_google_authenticator would read \
         {option} and accept six-digit SHA1 codes for this file; name the kind of \
         codes with \" TOTP or \" HOTP <counter> instead"
    )]
    ModeLineForSha1SixDigits { line: usize, option: &'static str },
}

/// A recognised option line, with its already validated value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Setting {
    TotpAuth,
    /// `HOTP_COUNTER`, or `HOTP` in a file of another code format.
    HotpCounter(i64),
    /// `TOTP`: time-based codes, in a file of another code format.
    Totp,
    Algorithm(Algorithm),
    Digits(u32),
    StepSize(u32),
    WindowSize(u32),
    DisallowReuse,
    RateLimit(RateLimit),
    TimeSkew(i64),
    ResettingTimeSkew(Vec<SkewSample>),
    /// A `LASTn` grace-period record; the digit is the slot.
    Last(u8),
    /// An option line with a name this crate does not use.
    Unknown,
}

/// What a line of the file is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LineKind {
    Secret,
    /// An option line; its name is the `name_len` bytes after the `" `.
    Option {
        name_len: usize,
        setting: Setting,
    },
    ScratchCode(u32),
    /// Anything else: kept verbatim, never interpreted.
    Other,
}

/// One line: its text without line breaks, and the run of `\r`/`\n`
/// characters that ends it (empty only for a last line without newline;
/// the usual runs are not allocated).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    text: String,
    breaks: Cow<'static, str>,
    kind: LineKind,
}

impl Line {
    /// The option name, for an option line.
    fn option_name(&self) -> Option<&str> {
        match self.kind {
            LineKind::Option { name_len, .. } => self.text.get(2..2 + name_len),
            _ => None,
        }
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

/// The `RATE_LIMIT` option: at most `attempts` logins per `interval` seconds,
/// with the timestamps of recent attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub attempts: u32,
    pub interval: u32,
    pub timestamps: Vec<u32>,
}

/// One entry of `RESETTING_TIME_SKEW`: a time step and the skew (in steps)
/// at which the user's code matched it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkewSample {
    pub step: i64,
    pub skew: i64,
}

/// A grace-period record: the remote host of a successful login and when it
/// happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRecord {
    pub host: String,
    pub when: u64,
}

/// A parsed `~/.google_authenticator` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFile {
    lines: Vec<Line>,
    key: Zeroizing<Vec<u8>>,
}

impl StateFile {
    /// Parses the bytes of a state file.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        if bytes.is_empty() {
            return Err(ParseError::Empty);
        }
        if bytes.len() > MAX_FILE_SIZE {
            return Err(ParseError::TooLarge);
        }
        let mut lines = split_lines(bytes)?;
        let key = decode_secret(&lines[0].text).ok_or(ParseError::InvalidSecret)?;
        lines[0].kind = LineKind::Secret;
        let mut in_scratch_run = true;
        for (index, line) in lines.iter_mut().enumerate().skip(1) {
            line.kind = classify(&line.text, in_scratch_run, index + 1)?;
            if line.kind == LineKind::Other && !line.text.starts_with('"') {
                // Like the reference, scratch codes are only looked for up to
                // the first line that is neither a code nor starts with `"`.
                in_scratch_run = false;
            }
        }
        let file = Self { lines, key };
        file.check_mode_lines()?;
        Ok(file)
    }

    /// Refuses a `TOTP_AUTH` or `HOTP_COUNTER` line in a file whose codes
    /// are not SHA-1 with six digits, or beside a `TOTP` or `HOTP` line:
    /// Google's module would check six-digit SHA-1 codes for it. It finds
    /// `" TOTP_AUTH` anywhere in the file, as that module does.
    fn check_mode_lines(&self) -> Result<(), ParseError> {
        let own_mode_line = self
            .lines
            .iter()
            .any(|l| matches!(l.option_name(), Some("TOTP" | "HOTP")));
        if self.code_format().is_default() && !own_mode_line {
            return Ok(());
        }
        let legacy = self.lines.iter().enumerate().find_map(|(index, line)| {
            if line.option_name() == Some("HOTP_COUNTER") {
                Some((index, "HOTP_COUNTER"))
            } else {
                line.text
                    .contains("\" TOTP_AUTH")
                    .then_some((index, "TOTP_AUTH"))
            }
        });
        match legacy {
            Some((index, option)) => Err(ParseError::ModeLineForSha1SixDigits {
                line: index + 1,
                option,
            }),
            None => Ok(()),
        }
    }

    /// The file's bytes, exactly as they would be written.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(
            self.lines
                .iter()
                .map(|l| l.text.len() + l.breaks.len())
                .sum(),
        ));
        for line in &self.lines {
            out.extend_from_slice(line.text.as_bytes());
            out.extend_from_slice(line.breaks.as_bytes());
        }
        out
    }

    /// The secret as written on the first line.
    pub fn secret_base32(&self) -> &str {
        self.lines[0].text.trim()
    }

    /// The decoded shared key.
    pub fn secret_key(&self) -> &[u8] {
        &self.key
    }

    /// Whether `TOTP_AUTH` (or, in a file of another code format, `TOTP`)
    /// is present.
    pub fn is_totp(&self) -> bool {
        self.settings()
            .any(|s| matches!(s, Setting::TotpAuth | Setting::Totp))
    }

    /// How codes are made: `ALGORITHM` and `DIGITS`, SHA-1 and six digits
    /// when absent.
    pub fn code_format(&self) -> CodeFormat {
        let algorithm = self
            .find(|s| match s {
                Setting::Algorithm(a) => Some(*a),
                _ => None,
            })
            .unwrap_or_default();
        let digits = self
            .find(|s| match s {
                Setting::Digits(d) => Some(*d),
                _ => None,
            })
            .unwrap_or(crate::otp::CODE_DIGITS);
        // The parser admits only digit counts a format has.
        CodeFormat::new(algorithm, digits).unwrap_or_default()
    }

    /// The name of the option that holds the HOTP counter: `HOTP` in a file
    /// that has that line, else `HOTP_COUNTER`.
    pub fn counter_option_name(&self) -> &'static str {
        if self.lines.iter().any(|l| l.option_name() == Some("HOTP")) {
            "HOTP"
        } else {
            "HOTP_COUNTER"
        }
    }

    /// The `HOTP_COUNTER` (or `HOTP`) value, when present. The file uses
    /// HOTP when it is positive.
    pub fn hotp_counter(&self) -> Option<u64> {
        self.find(|s| match s {
            Setting::HotpCounter(n) => Some(u64::try_from(*n).unwrap_or(0)),
            _ => None,
        })
    }

    /// `STEP_SIZE` in seconds.
    pub fn step_size(&self) -> u32 {
        self.find(|s| match s {
            Setting::StepSize(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(DEFAULT_STEP_SIZE)
    }

    /// `WINDOW_SIZE` in codes.
    pub fn window_size(&self) -> u32 {
        self.find(|s| match s {
            Setting::WindowSize(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(DEFAULT_WINDOW_SIZE)
    }

    /// `TIME_SKEW` in steps.
    pub fn time_skew(&self) -> i64 {
        self.find(|s| match s {
            Setting::TimeSkew(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(0)
    }

    /// Whether `DISALLOW_REUSE` is present.
    pub fn disallow_reuse(&self) -> bool {
        self.settings().any(|s| *s == Setting::DisallowReuse)
    }

    /// The raw value of the `DISALLOW_REUSE` line: the time steps already
    /// used, separated by white space.
    pub fn disallow_reuse_value(&self) -> Option<&str> {
        self.option_value("DISALLOW_REUSE")
    }

    /// `RATE_LIMIT` as `(attempts, interval)`.
    pub fn rate_limit(&self) -> Option<(u32, u32)> {
        self.rate_limit_state().map(|r| (r.attempts, r.interval))
    }

    /// `RATE_LIMIT` with its recorded timestamps.
    pub fn rate_limit_state(&self) -> Option<&RateLimit> {
        self.find(|s| match s {
            Setting::RateLimit(r) => Some(r),
            _ => None,
        })
    }

    /// The samples of `RESETTING_TIME_SKEW`, oldest first.
    pub fn resetting_time_skew(&self) -> Vec<SkewSample> {
        self.find(|s| match s {
            Setting::ResettingTimeSkew(v) => Some(v.clone()),
            _ => None,
        })
        .unwrap_or_default()
    }

    /// The emergency scratch codes, in file order.
    pub fn scratch_codes(&self) -> Vec<u32> {
        self.lines
            .iter()
            .filter_map(|l| match l.kind {
                LineKind::ScratchCode(code) => Some(code),
                _ => None,
            })
            .collect()
    }

    /// The grace-period record in slot `slot` (`LAST0` … `LAST9`), when it is
    /// present and well formed.
    pub fn login_record(&self, slot: u8) -> Option<LoginRecord> {
        let line = self.lines.iter().find(
            |l| matches!(&l.kind, LineKind::Option { setting: Setting::Last(n), .. } if *n == slot),
        )?;
        parse_login_record(option_value_of(&line.text))
    }

    /// Whether a `LASTn` line exists for `slot`, well formed or not.
    pub fn has_login_slot(&self, slot: u8) -> bool {
        self.settings().any(|s| *s == Setting::Last(slot))
    }

    /// The value of the first option line named `name`, white space after
    /// the name skipped.
    pub fn option_value(&self, name: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|l| l.option_name() == Some(name))
            .map(|l| option_value_of(&l.text))
    }

    /// Sets option `name` to `value` the way the reference module does: the
    /// first line with that name is replaced (together with any blank lines
    /// after it) by `" NAME VALUE` and a newline, later lines with that name
    /// are removed, and a missing option is inserted right after the secret.
    /// `name` must be an option name: upper-case letters, digits and `_`.
    pub fn set_option(&mut self, name: &str, value: &str) {
        debug_assert!(is_option_name(name), "invalid option name {name}");
        let new_line = Line::option(name, value);
        let is_named = |l: &Line| l.option_name() == Some(name);
        match self.lines.iter().position(is_named) {
            Some(index) => {
                self.lines[index] = new_line;
                // One pass, however many duplicates there are.
                let mut position = 0;
                self.lines.retain(|line| {
                    position += 1;
                    position <= index + 1 || !is_named(line)
                });
            }
            None => {
                if self.lines[0].breaks.is_empty() {
                    // The reference would glue the option onto the secret
                    // line here; give the secret its newline instead.
                    self.lines[0].breaks.to_mut().push('\n');
                }
                self.lines.insert(1, new_line);
            }
        }
    }

    /// Removes the first scratch-code line holding `code`. Returns whether
    /// one was removed.
    pub fn remove_scratch_code(&mut self, code: u32) -> bool {
        let found = self
            .lines
            .iter()
            .position(|l| l.kind == LineKind::ScratchCode(code));
        if let Some(index) = found {
            self.lines.remove(index);
        }
        found.is_some()
    }

    fn settings(&self) -> impl Iterator<Item = &Setting> {
        self.lines.iter().filter_map(|l| match &l.kind {
            LineKind::Option { setting, .. } => Some(setting),
            _ => None,
        })
    }

    /// The first recognised setting for which `pick` returns a value. An
    /// option's name decides its kind of setting, so this is the option's
    /// first line: like the reference, only the first line of each option
    /// counts.
    fn find<'a, T>(&'a self, pick: impl Fn(&'a Setting) -> Option<T>) -> Option<T> {
        self.settings().find_map(pick)
    }
}

/// Splits the file into lines at runs of `\r`/`\n`, checking for NUL bytes
/// and non-UTF-8 text.
fn split_lines(bytes: &[u8]) -> Result<Vec<Line>, ParseError> {
    // At most one line per line feed, plus a last one without.
    let mut lines = Vec::with_capacity(bytes.iter().filter(|b| **b == b'\n').count() + 1);
    let mut rest = bytes;
    while !rest.is_empty() || lines.is_empty() {
        let number = lines.len() + 1;
        let text_len = rest
            .iter()
            .position(|b| *b == b'\r' || *b == b'\n')
            .unwrap_or(rest.len());
        let (text, after) = rest.split_at(text_len);
        let breaks_len = after
            .iter()
            .position(|b| *b != b'\r' && *b != b'\n')
            .unwrap_or(after.len());
        let (breaks, next) = after.split_at(breaks_len);
        if text.contains(&0) {
            return Err(ParseError::NulByte { line: number });
        }
        let text = std::str::from_utf8(text).map_err(|_| ParseError::NotText { line: number })?;
        lines.push(Line {
            text: text.to_owned(),
            breaks: line_breaks(breaks),
            kind: LineKind::Other,
        });
        rest = next;
    }
    Ok(lines)
}

/// A run of line-break characters, without an allocation for the usual
/// ones.
fn line_breaks(run: &[u8]) -> Cow<'static, str> {
    match run {
        b"" => Cow::Borrowed(""),
        b"\n" => Cow::Borrowed("\n"),
        b"\r\n" => Cow::Borrowed("\r\n"),
        other => Cow::Owned(String::from_utf8_lossy(other).into_owned()),
    }
}

/// Decodes a secret the way the reference reads it: spaces, tabs, carriage
/// returns and dashes are ignored, lower case is accepted, the commonly
/// mistyped `0`, `1` and `8` stand for `O`, `L` and `B`, and characters that do
/// not complete a byte are dropped. At least one byte must result.
pub fn decode_secret(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let mut normalized = Zeroizing::new(String::with_capacity(text.len()));
    for c in text.chars() {
        match c {
            ' ' | '\t' | '\r' | '\n' | '-' => {}
            '0' => normalized.push('O'),
            '1' => normalized.push('L'),
            '8' => normalized.push('B'),
            c if c.is_ascii_alphabetic() || ('2'..='7').contains(&c) => {
                normalized.push(c.to_ascii_uppercase());
            }
            _ => return None,
        }
    }
    // A trailing character that cannot complete a byte carries no data.
    if matches!(normalized.len() % 8, 1 | 3 | 6) {
        normalized.pop();
    }
    let key = base32::decode(normalized.as_bytes())?;
    (!key.is_empty()).then_some(key)
}

/// Encodes a key in upper-case base32 without padding, as the reference
/// tool writes secrets.
pub fn encode_secret(key: &[u8]) -> String {
    base32::encode(key)
}

fn is_option_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The part of an option line after its name and the white space that
/// follows the name.
fn option_value_of(text: &str) -> &str {
    let after_quote = &text[2..];
    let name_len = after_quote.find([' ', '\t']).unwrap_or(after_quote.len());
    after_quote[name_len..].trim_start_matches([' ', '\t'])
}

/// Classifies a line other than the first. `line` is its 1-based number,
/// used in errors.
fn classify(text: &str, in_scratch_run: bool, line: usize) -> Result<LineKind, ParseError> {
    if let Some(after_quote) = text.strip_prefix("\" ") {
        let name_len = after_quote.find([' ', '\t']).unwrap_or(after_quote.len());
        let name = &after_quote[..name_len];
        let setting = parse_setting(name, option_value_of(text), line)?;
        return Ok(LineKind::Option { name_len, setting });
    }
    if text.starts_with('"') {
        return Ok(LineKind::Other);
    }
    match parse_scratch_code(text) {
        Some(code) if in_scratch_run => Ok(LineKind::ScratchCode(code)),
        _ => Ok(LineKind::Other),
    }
}

/// An eight-digit code whose first digit is not zero.
fn parse_scratch_code(text: &str) -> Option<u32> {
    let bytes = text.as_bytes();
    let well_formed = bytes.len() == 8 && bytes.iter().all(u8::is_ascii_digit) && bytes[0] != b'0';
    if well_formed { text.parse().ok() } else { None }
}

fn parse_setting(name: &str, value: &str, line: usize) -> Result<Setting, ParseError> {
    let invalid = |option: &'static str, expected: &'static str| ParseError::InvalidOption {
        line,
        option,
        expected,
    };
    let value = value.trim_end_matches([' ', '\t']);
    let setting = match name {
        "TOTP_AUTH" => Setting::TotpAuth,
        "DISALLOW_REUSE" => {
            let mut steps = value.split_ascii_whitespace();
            if !steps.all(|step| parse_unsigned::<i64>(step).is_some()) {
                return Err(invalid(
                    "DISALLOW_REUSE",
                    "time steps from 0 to 9223372036854775807",
                ));
            }
            Setting::DisallowReuse
        }
        "HOTP_COUNTER" | "HOTP" => {
            let option = if name == "HOTP" {
                "HOTP"
            } else {
                "HOTP_COUNTER"
            };
            Setting::HotpCounter(parse_signed(value).ok_or_else(|| {
                invalid(
                    option,
                    "an integer from -9223372036854775808 to 9223372036854775807",
                )
            })?)
        }
        "TOTP" if value.is_empty() => Setting::Totp,
        "TOTP" => return Err(invalid("TOTP", "nothing after the name")),
        "ALGORITHM" => Setting::Algorithm(
            Algorithm::from_name(value)
                .ok_or_else(|| invalid("ALGORITHM", "SHA1, SHA256 or SHA512"))?,
        ),
        "DIGITS" => Setting::Digits(
            parse_unsigned(value)
                .filter(|d| CodeFormat::DIGITS.contains(d))
                .ok_or_else(|| invalid("DIGITS", "6, 7 or 8"))?,
        ),
        "STEP_SIZE" => Setting::StepSize(
            parse_in_range(value, 1, 60).ok_or_else(|| invalid("STEP_SIZE", "1 to 60 seconds"))?,
        ),
        "WINDOW_SIZE" => Setting::WindowSize(
            parse_in_range(value, 1, 100).ok_or_else(|| invalid("WINDOW_SIZE", "1 to 100"))?,
        ),
        "RATE_LIMIT" => Setting::RateLimit(parse_rate_limit(value).ok_or_else(|| {
            invalid(
                "RATE_LIMIT",
                "1 to 100 attempts, 1 to 3600 seconds, then timestamps",
            )
        })?),
        "TIME_SKEW" => Setting::TimeSkew(
            parse_signed::<i32>(value)
                .map(i64::from)
                .ok_or_else(|| invalid("TIME_SKEW", "an integer from -2147483648 to 2147483647"))?,
        ),
        "RESETTING_TIME_SKEW" => {
            Setting::ResettingTimeSkew(parse_skew_samples(value).ok_or_else(|| {
                invalid(
                    "RESETTING_TIME_SKEW",
                    "entries like 1234567+2: a time step and a 32-bit skew",
                )
            })?)
        }
        _ => match name.strip_prefix("LAST").map(str::as_bytes) {
            Some([digit]) if digit.is_ascii_digit() => Setting::Last(digit - b'0'),
            _ => Setting::Unknown,
        },
    };
    Ok(setting)
}

/// A number of type `T` written as decimal digits only: no sign, no
/// blanks, and not beyond what `T` holds.
fn parse_unsigned<T: FromStr>(token: &str) -> Option<T> {
    let digits_only = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if digits_only {
        token.parse().ok()
    } else {
        None
    }
}

/// A signed integer written as decimal digits with an optional `+` or `-`
/// in front (exactly what `FromStr` accepts for signed integers), and not
/// beyond what `T` holds.
fn parse_signed<T: FromStr>(value: &str) -> Option<T> {
    value.parse().ok()
}

fn parse_in_range(value: &str, low: u32, high: u32) -> Option<u32> {
    parse_unsigned(value).filter(|n| (low..=high).contains(n))
}

fn parse_rate_limit(value: &str) -> Option<RateLimit> {
    let mut fields = value.split_ascii_whitespace();
    let attempts = parse_in_range(fields.next()?, 1, 100)?;
    let interval = parse_in_range(fields.next()?, 1, 3600)?;
    let timestamps = fields.map(parse_unsigned).collect::<Option<Vec<u32>>>()?;
    Some(RateLimit {
        attempts,
        interval,
        timestamps,
    })
}

/// Parses `STEP+SKEW` or `STEP-SKEW` entries: a time step as the verifier
/// computes them, and a skew in the range of `TIME_SKEW` (the learned skew
/// is an average of these).
fn parse_skew_samples(value: &str) -> Option<Vec<SkewSample>> {
    value
        .split_ascii_whitespace()
        .map(|entry| {
            let sign_at = entry.find(['+', '-'])?;
            let (step, skew) = entry.split_at(sign_at);
            Some(SkewSample {
                step: parse_unsigned(step)?,
                skew: i64::from(parse_signed::<i32>(skew)?),
            })
        })
        .collect()
}

/// Parses `host when`, accepting the host characters the reference accepts.
fn parse_login_record(value: &str) -> Option<LoginRecord> {
    let mut fields = value.split_ascii_whitespace();
    let host = fields.next()?;
    let when = fields.next()?;
    if !is_grace_host(host) {
        return None;
    }
    Some(LoginRecord {
        host: host.to_owned(),
        when: parse_unsigned(when)?,
    })
}

/// Whether `host` can be stored in a grace-period record: 1 to 255
/// printable ASCII characters other than the space. That covers host names,
/// IP addresses and IPv6 addresses with a zone id (`fe80::1%eth0`), as the
/// reference stores them since 1.11, and excludes anything that could break
/// the line format (a space, a line break, a control character).
pub fn is_grace_host(host: &str) -> bool {
    (1..=255).contains(&host.len()) && host.bytes().all(|b| b.is_ascii_graphic())
}

/// How far the reference module gets with a file that [`StateFile::parse`]
/// refuses, which decides whether it still asks for a code. It looks an
/// option up only when it needs it, by the first line with that name, so a
/// malformed line stops it only when it gets there: `RATE_LIMIT` before it
/// asks anything, the secret, then `STEP_SIZE` and `WINDOW_SIZE` when it
/// checks a code. It applies only to files the reference reads at all: not
/// empty, at most [`MAX_FILE_SIZE`] bytes, without NUL bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceReading {
    /// The first `RATE_LIMIT` line is malformed: the login is refused
    /// before anything is asked.
    InvalidRateLimit,
    Readable {
        /// The first `RATE_LIMIT` line, when there is one.
        rate_limit: Option<RateLimit>,
        /// Whether a six-digit code can be checked at all: not with an
        /// invalid secret, nor when a time-based file has a malformed
        /// `STEP_SIZE` or `WINDOW_SIZE`, or a counter-based one a malformed
        /// `WINDOW_SIZE`.
        checks_codes: bool,
    },
}

/// Reads `bytes` the way the reference module does before it checks a code
/// (see [`ReferenceReading`]).
pub fn reference_reading(bytes: &[u8]) -> ReferenceReading {
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\r' || *b == b'\n').collect();
    let rate_limit = match first_option_value(&lines, "RATE_LIMIT") {
        None => None,
        Some(value) => match parse_rate_limit(&value) {
            Some(limit) => Some(limit),
            None => return ReferenceReading::InvalidRateLimit,
        },
    };
    let valid_number = |name, low, high| {
        first_option_value(&lines, name).is_none_or(|value| {
            let number = value.split([' ', '\t']).next().unwrap_or_default();
            parse_in_range(number, low, high).is_some()
        })
    };
    let secret = String::from_utf8_lossy(lines[0]);
    let hotp = first_option_value(&lines, "HOTP_COUNTER")
        .is_some_and(|v| starts_with_positive_integer(&v));
    let totp = !hotp && bytes.windows(11).any(|w| w == b"\" TOTP_AUTH");
    let checks_codes = decode_secret(&secret).is_some()
        && (!hotp || valid_number("WINDOW_SIZE", 1, 100))
        && (!totp || (valid_number("STEP_SIZE", 1, 60) && valid_number("WINDOW_SIZE", 1, 100)));
    ReferenceReading::Readable {
        rate_limit,
        checks_codes,
    }
}

/// The value of the first line `" NAME`, white space after the name
/// skipped, as the reference looks options up.
fn first_option_value(lines: &[&[u8]], name: &str) -> Option<String> {
    lines.iter().find_map(|line| {
        let rest = line.strip_prefix(b"\" ")?.strip_prefix(name.as_bytes())?;
        if !matches!(rest.first(), None | Some(b' ' | b'\t')) {
            return None;
        }
        let value = String::from_utf8_lossy(rest);
        Some(value.trim_start_matches([' ', '\t']).to_owned())
    })
}

/// Whether `value` starts with a positive integer, as C's `strtol` reads it.
fn starts_with_positive_integer(value: &str) -> bool {
    let unsigned = value.strip_prefix('+').unwrap_or(value);
    unsigned
        .bytes()
        .take_while(u8::is_ascii_digit)
        .any(|digit| digit != b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOGLE_TOTP: &str = "2SH3V3GDW7ZNMGYE\n\" RATE_LIMIT 3 30 1700000000\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE 56666666\n\" TOTP_AUTH\n12345678\n87654321\n";

    fn parse(text: &str) -> StateFile {
        StateFile::parse(text.as_bytes()).expect("valid test file")
    }

    #[test]
    fn reads_every_option() {
        let file = parse(GOOGLE_TOTP);
        assert_eq!(file.secret_base32(), "2SH3V3GDW7ZNMGYE");
        assert_eq!(file.secret_key().len(), 10);
        assert!(file.is_totp());
        assert!(file.disallow_reuse());
        assert_eq!(file.disallow_reuse_value(), Some("56666666"));
        assert_eq!(file.window_size(), 17);
        assert_eq!(file.step_size(), 30);
        assert_eq!(file.rate_limit(), Some((3, 30)));
        assert_eq!(
            file.rate_limit_state().map(|r| r.timestamps.clone()),
            Some(vec![1_700_000_000])
        );
        assert_eq!(file.scratch_codes(), vec![12_345_678, 87_654_321]);
        assert_eq!(file.hotp_counter(), None);
        assert_eq!(&*file.to_bytes(), GOOGLE_TOTP.as_bytes());
    }

    #[test]
    fn absent_options_read_as_absent_or_default() {
        let file = parse("2SH3V3GDW7ZNMGYE\n\" DISALLOW_REUSEX\n\" TOTP_AUTHX\n");
        assert!(!file.is_totp());
        assert!(!file.disallow_reuse());
        assert_eq!(file.disallow_reuse_value(), None);
        assert_eq!(file.rate_limit(), None);
        assert_eq!(file.time_skew(), 0);
        assert_eq!(file.window_size(), DEFAULT_WINDOW_SIZE);
        assert_eq!(file.step_size(), DEFAULT_STEP_SIZE);
        assert!(file.resetting_time_skew().is_empty());
    }

    #[test]
    fn secrets_of_every_era_decode() {
        for (secret, bytes) in [
            ("2SH3V3GDW7ZNMGYE", 10),
            ("JBSWY3DPEHPK3PXPJBSWY3DPEH", 16),
            ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 20),
        ] {
            let file = parse(&format!("{secret}\n\" TOTP_AUTH\n"));
            assert_eq!(file.secret_key().len(), bytes, "{secret}");
        }
    }

    #[test]
    fn secret_is_read_leniently_like_the_reference() {
        let strict = decode_secret("2SH3V3GDW7ZNMGYE").expect("valid");
        let sloppy = decode_secret("2sh3 v3gd-w7zn mgye\r").expect("valid");
        assert_eq!(strict, sloppy);
        assert_eq!(decode_secret("0O"), decode_secret("OO"));
        assert!(decode_secret("ABC=").is_none());
        assert!(decode_secret("ABC!").is_none());
        assert!(decode_secret("").is_none());
        assert!(decode_secret("A").is_none());
    }

    #[test]
    fn base32_round_trip() {
        let key = decode_secret("2SH3V3GDW7ZNMGYE").expect("valid");
        assert_eq!(encode_secret(&key), "2SH3V3GDW7ZNMGYE");
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("", ParseError::Empty),
            ("!!!!\n", ParseError::InvalidSecret),
            (
                "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" STEP_SIZE 0\n",
                ParseError::InvalidOption {
                    line: 3,
                    option: "STEP_SIZE",
                    expected: "1 to 60 seconds",
                },
            ),
            (
                "2SH3V3GDW7ZNMGYE\n\" WINDOW_SIZE 101\n",
                ParseError::InvalidOption {
                    line: 2,
                    option: "WINDOW_SIZE",
                    expected: "1 to 100",
                },
            ),
            (
                "2SH3V3GDW7ZNMGYE\n12345678\n\0\n",
                ParseError::NulByte { line: 3 },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(StateFile::parse(text.as_bytes()), Err(want), "{text:?}");
        }
        let big = vec![b'A'; MAX_FILE_SIZE + 1];
        assert_eq!(StateFile::parse(&big), Err(ParseError::TooLarge));
        assert_eq!(
            StateFile::parse(b"2SH3V3GDW7ZNMGYE\n\xff\n"),
            Err(ParseError::NotText { line: 2 })
        );
    }

    #[test]
    fn trailing_blanks_after_rate_limit_are_tolerated() {
        let file = parse("2SH3V3GDW7ZNMGYE\n\" RATE_LIMIT 3 30 1700000000 \t\n");
        assert_eq!(file.rate_limit(), Some((3, 30)));
        assert_eq!(
            file.rate_limit_state().map(|r| r.timestamps.clone()),
            Some(vec![1_700_000_000])
        );
    }

    #[test]
    fn reference_reading_finds_what_stops_the_reference_before_a_code() {
        let read = |text: &str| reference_reading(text.as_bytes());
        let readable = |rate_limit, checks_codes| ReferenceReading::Readable {
            rate_limit,
            checks_codes,
        };
        for value in ["0 30", "3", "x 30", "3 30x", ""] {
            let text = format!("!\n\" WINDOW_SIZE 0\n\" RATE_LIMIT {value}\n");
            assert_eq!(read(&text), ReferenceReading::InvalidRateLimit, "{value}");
        }
        let limit = RateLimit {
            attempts: 3,
            interval: 30,
            timestamps: vec![17],
        };
        assert_eq!(
            read("2SH3V3GDW7ZNMGYE\n\" RATE_LIMIT 3 30 17\n\" RATE_LIMIT 0 0\n\" TIME_SKEW x\n"),
            readable(Some(limit), true)
        );
        assert_eq!(
            read("2SH3V3GDW7ZN!GYE\n\" TOTP_AUTH\n"),
            readable(None, false)
        );
        for option in [
            "STEP_SIZE 0",
            "STEP_SIZE 61",
            "WINDOW_SIZE 0",
            "WINDOW_SIZE 101",
        ] {
            let text = format!("2SH3V3GDW7ZNMGYE\n\" {option}\n\" TOTP_AUTH\n");
            assert_eq!(read(&text), readable(None, false), "{option}");
        }
        // The first line of an option counts; STEP_SIZE only for TOTP, and
        // neither for a file that is neither time- nor counter-based.
        assert_eq!(
            read("2SH3V3GDW7ZNMGYE\n\" STEP_SIZE 30 x\n\" STEP_SIZE 0\n\" TOTP_AUTH\n"),
            readable(None, true)
        );
        assert_eq!(
            read("2SH3V3GDW7ZNMGYE\n\" STEP_SIZE 0\n\" HOTP_COUNTER +2\n\" TOTP_AUTH\n"),
            readable(None, true)
        );
        assert_eq!(
            read("2SH3V3GDW7ZNMGYE\n\" WINDOW_SIZE 0\n\" HOTP_COUNTER 1\n"),
            readable(None, false)
        );
        assert_eq!(
            read("2SH3V3GDW7ZNMGYE\n\" WINDOW_SIZE 0\n\" HOTP_COUNTER 0\n"),
            readable(None, true)
        );
        assert_eq!(
            reference_reading(b"2SH3V3GDW7ZNMGYE\r\n\" NOTE \xff\r\n\" TOTP_AUTH\r\n"),
            readable(None, true)
        );
    }

    #[test]
    fn malformed_rate_limit_is_refused() {
        for value in ["0 30", "3 0", "3", "101 30", "3 3601", "3 30 x", "a b"] {
            let text = format!("2SH3V3GDW7ZNMGYE\n\" RATE_LIMIT {value}\n");
            assert!(
                matches!(
                    StateFile::parse(text.as_bytes()),
                    Err(ParseError::InvalidOption {
                        line: 2,
                        option: "RATE_LIMIT",
                        ..
                    })
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn unknown_lines_are_kept_in_place() {
        let text =
            "2SH3V3GDW7ZNMGYE\r\n# a comment\n\" FUTURE_OPTION 1 2\n\n\n\" TOTP_AUTH\n12345678";
        let mut file = parse(text);
        assert_eq!(&*file.to_bytes(), text.as_bytes());
        file.set_option("DISALLOW_REUSE", "1");
        assert_eq!(
            String::from_utf8_lossy(&file.to_bytes()),
            "2SH3V3GDW7ZNMGYE\r\n\" DISALLOW_REUSE 1\n# a comment\n\" FUTURE_OPTION 1 2\n\n\n\" TOTP_AUTH\n12345678"
        );
    }

    #[test]
    fn scratch_codes_stop_at_the_first_foreign_line() {
        let file = parse("2SH3V3GDW7ZNMGYE\n11111111\n\" TOTP_AUTH\n22222222\nhello\n33333333\n");
        assert_eq!(file.scratch_codes(), vec![11_111_111, 22_222_222]);
    }

    #[test]
    fn a_line_starting_with_a_quote_does_not_end_the_scratch_codes() {
        let file = parse(
            "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n11111111\n\"a note\n22222222\nhello\n33333333\n",
        );
        assert_eq!(file.scratch_codes(), vec![11_111_111, 22_222_222]);
    }

    #[test]
    fn set_option_replaces_first_swallows_blank_lines_and_drops_duplicates() {
        let mut file =
            parse("2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER 4\n\n\n\" WINDOW_SIZE 3\n\" HOTP_COUNTER 9\n");
        assert_eq!(file.hotp_counter(), Some(4));
        file.set_option("HOTP_COUNTER", "5");
        assert_eq!(
            String::from_utf8_lossy(&file.to_bytes()),
            "2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER 5\n\" WINDOW_SIZE 3\n"
        );
    }

    #[test]
    fn empty_value_keeps_the_space_after_the_name() {
        let mut file = parse("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n");
        file.set_option("RESETTING_TIME_SKEW", "");
        assert_eq!(
            String::from_utf8_lossy(&file.to_bytes()),
            "2SH3V3GDW7ZNMGYE\n\" RESETTING_TIME_SKEW \n\" TOTP_AUTH\n"
        );
        assert!(file.resetting_time_skew().is_empty());
    }

    #[test]
    fn secret_without_newline_gets_one_before_an_insert() {
        let mut file = parse("2SH3V3GDW7ZNMGYE");
        file.set_option("TIME_SKEW", "1");
        assert_eq!(
            String::from_utf8_lossy(&file.to_bytes()),
            "2SH3V3GDW7ZNMGYE\n\" TIME_SKEW 1\n"
        );
    }

    #[test]
    fn removing_a_scratch_code_removes_its_line() {
        let mut file = parse("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n11111111\n22222222\n");
        assert!(file.remove_scratch_code(11_111_111));
        assert!(!file.remove_scratch_code(11_111_111));
        assert_eq!(
            String::from_utf8_lossy(&file.to_bytes()),
            "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n22222222\n"
        );
    }

    #[test]
    fn login_records() {
        let file = parse(
            "2SH3V3GDW7ZNMGYE\n\" LAST0 192.0.2.1 1700000000\n\" LAST1 192.0.2.2 soon\n\" LAST2 192.0.2.3 +5\n\" LAST4 192.0.2.4\n\" TOTP_AUTH\n",
        );
        assert_eq!(
            file.login_record(0),
            Some(LoginRecord {
                host: "192.0.2.1".into(),
                when: 1_700_000_000
            })
        );
        for slot in [1, 2, 4] {
            assert_eq!(file.login_record(slot), None, "LAST{slot}");
            assert!(file.has_login_slot(slot), "LAST{slot}");
        }
        assert!(!file.has_login_slot(3));
    }

    #[test]
    fn grace_hosts_are_printable_ascii_without_blanks() {
        let longest = "h".repeat(255);
        for host in [
            "192.0.2.1",
            "2001:db8::1",
            "fe80::1%eth0",
            "host.example.org",
            "under_score",
            "[::1]:22",
            "%s%n",
            "!~",
            longest.as_str(),
        ] {
            assert!(is_grace_host(host), "{host:?}");
            let file = parse(&format!("2SH3V3GDW7ZNMGYE\n\" LAST3 {host} 1700000000\n"));
            assert_eq!(
                file.login_record(3),
                Some(LoginRecord {
                    host: host.to_owned(),
                    when: 1_700_000_000
                }),
                "{host:?}"
            );
        }
        let too_long = "h".repeat(256);
        for host in [
            "",
            "a b",
            "a\tb",
            "a\nb",
            "a\rb",
            "nul\0",
            "del\u{7f}",
            "h\u{f4}te",
            too_long.as_str(),
        ] {
            assert!(!is_grace_host(host), "{host:?}");
        }
    }

    /// Lines of the kinds a real file holds, valid and otherwise.
    fn line_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            Just("\" TOTP_AUTH".to_owned()),
            (1u32..=60).prop_map(|n| format!("\" STEP_SIZE {n}")),
            (1u32..=100).prop_map(|n| format!("\" WINDOW_SIZE {n}")),
            (
                1u32..=100,
                1u32..=3600,
                proptest::collection::vec(any::<u32>(), 0..4)
            )
                .prop_map(|(a, i, ts)| {
                    let ts: Vec<String> = ts.iter().map(u32::to_string).collect();
                    format!("\" RATE_LIMIT {a} {i} {}", ts.join(" "))
                }),
            proptest::collection::vec(0u32..100_000_000, 0..4).prop_map(|v| format!(
                "\" DISALLOW_REUSE {}",
                v.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
            )),
            (-5000i64..5000).prop_map(|n| format!("\" TIME_SKEW {n}")),
            (0u64..1_000_000).prop_map(|n| format!("\" HOTP_COUNTER {n}")),
            (0u8..10, "[0-9a-z.:-]{1,20}", any::<u32>())
                .prop_map(|(slot, host, when)| format!("\" LAST{slot} {host} {when}")),
            (10_000_000u32..100_000_000).prop_map(|c| c.to_string()),
            // Free text, never starting like an option line.
            "([ !#-~][ -~]{0,29})?",
        ]
    }

    proptest::proptest! {
        #[test]
        fn parse_then_serialize_is_the_identity(
            key in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..40),
            lines in proptest::collection::vec(line_strategy(), 0..12),
            breaks in proptest::collection::vec(proptest::sample::select(vec!["\n", "\r\n", "\n\n"]), 12),
            final_newline in proptest::prelude::any::<bool>(),
        ) {
            let mut text = encode_secret(&key);
            for (line, end) in lines.iter().zip(&breaks) {
                text.push_str(end);
                text.push_str(line);
            }
            if final_newline {
                text.push('\n');
            }
            let file = StateFile::parse(text.as_bytes());
            proptest::prop_assert!(file.is_ok(), "{:?}: {:?}", text, file);
            if let Ok(file) = file {
                proptest::prop_assert_eq!(&*file.to_bytes(), text.as_bytes());
                proptest::prop_assert_eq!(file.secret_key(), &key[..]);
                let again = StateFile::parse(&file.to_bytes()).expect("serialized file parses");
                proptest::prop_assert_eq!(again, file);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            if let Ok(file) = StateFile::parse(&bytes) {
                proptest::prop_assert_eq!(&*file.to_bytes(), &bytes[..]);
            }
        }

        #[test]
        fn set_option_keeps_the_file_valid(
            lines in proptest::collection::vec(line_strategy(), 0..8),
            value in 0u32..1_000_000,
        ) {
            let text = format!("2SH3V3GDW7ZNMGYE\n{}\n", lines.join("\n"));
            if let Ok(mut file) = StateFile::parse(text.as_bytes()) {
                file.set_option("HOTP_COUNTER", &value.to_string());
                let again = StateFile::parse(&file.to_bytes()).expect("edited file parses");
                proptest::prop_assert_eq!(again.hotp_counter(), Some(u64::from(value)));
                proptest::prop_assert_eq!(again.secret_base32(), "2SH3V3GDW7ZNMGYE");
            }
        }
    }

    #[test]
    fn skew_samples() {
        let file = parse("2SH3V3GDW7ZNMGYE\n\" RESETTING_TIME_SKEW 100+3 101-2 102+0\n");
        assert_eq!(
            file.resetting_time_skew(),
            vec![
                SkewSample { step: 100, skew: 3 },
                SkewSample {
                    step: 101,
                    skew: -2
                },
                SkewSample { step: 102, skew: 0 }
            ]
        );
    }

    /// A file of the largest size with as many distinct option names as fit
    /// (about 11,500 lines), or with one name repeated on as many lines of
    /// the same length: the worst case for per-line work inside a per-line
    /// loop, and its harmless twin.
    fn many_option_lines(distinct: bool) -> String {
        let alphabet: Vec<char> = ('A'..='Z').chain('a'..='z').chain('0'..='9').collect();
        let names = (0..alphabet.len().pow(2))
            .map(|n| format!("{}{}", alphabet[n / 62], alphabet[n % 62]))
            .chain((0..alphabet.len().pow(3)).map(|n| {
                let (a, b, c) = (n / 62 / 62, n / 62 % 62, n % 62);
                format!("{}{}{}", alphabet[a], alphabet[b], alphabet[c])
            }));
        let mut text = String::from("2SH3V3GDW7ZNMGYE\n");
        for name in names {
            let name = if distinct {
                name
            } else {
                "Z".repeat(name.len())
            };
            if text.len() + name.len() + 3 > MAX_FILE_SIZE {
                break;
            }
            text.push_str(&format!("\" {name}\n"));
        }
        text
    }

    /// The shortest of five runs of `work`, in seconds.
    fn fastest_of_five(mut work: impl FnMut()) -> f64 {
        (0..5)
            .map(|_| {
                let start = std::time::Instant::now();
                work();
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// Parses `text` and calls every accessor a login uses.
    fn parse_and_read(text: &str) {
        let file = parse(text);
        std::hint::black_box((
            file.is_totp(),
            file.hotp_counter(),
            file.step_size(),
            file.window_size(),
            file.time_skew(),
            file.disallow_reuse_value(),
            file.rate_limit_state(),
            file.resetting_time_skew(),
            file.scratch_codes(),
            (0..GRACE_SLOTS as u8)
                .map(|slot| (file.has_login_slot(slot), file.login_record(slot)))
                .collect::<Vec<_>>(),
        ));
    }

    #[test]
    fn distinct_option_names_cost_no_more_than_a_repeated_one() {
        let distinct = many_option_lines(true);
        let repeated = many_option_lines(false);
        assert!(distinct.lines().count() > 11_000);
        assert_eq!(distinct.len(), repeated.len());
        let slow = fastest_of_five(|| parse_and_read(&distinct));
        let fast = fastest_of_five(|| parse_and_read(&repeated));
        assert!(
            slow < fast * 10.0,
            "distinct names: {slow:.4} s, one name: {fast:.4} s"
        );
    }

    #[test]
    fn replacing_an_option_with_many_duplicates_takes_one_pass() {
        // As many lines `" A` as fit, against a file with one and as many
        // lines `" B`.
        let lines = (MAX_FILE_SIZE - 17) / 4;
        let duplicates = format!("2SH3V3GDW7ZNMGYE\n{}", "\" A\n".repeat(lines));
        let single = format!("2SH3V3GDW7ZNMGYE\n\" A\n{}", "\" B\n".repeat(lines - 1));
        let replace = |text: &str| {
            let mut file = parse(text);
            file.set_option("A", "1");
            file
        };
        assert_eq!(
            &*replace(&duplicates).to_bytes(),
            b"2SH3V3GDW7ZNMGYE\n\" A 1\n"
        );
        let slow = fastest_of_five(|| drop(replace(&duplicates)));
        let fast = fastest_of_five(|| drop(replace(&single)));
        assert!(
            slow < fast * 10.0,
            "{lines} duplicates: {slow:.4} s, one: {fast:.4} s"
        );
    }

    /// The option named in the error for `line` as line 2 of a file.
    fn refused_option(line: &str) -> Option<&'static str> {
        match StateFile::parse(format!("2SH3V3GDW7ZNMGYE\n{line}\n\" TOTP_AUTH\n").as_bytes()) {
            Err(ParseError::InvalidOption {
                line: 2, option, ..
            }) => Some(option),
            _ => None,
        }
    }

    #[test]
    fn numbers_the_module_cannot_handle_are_refused_naming_the_line() {
        for (line, option) in [
            ("\" HOTP_COUNTER 9223372036854775808", "HOTP_COUNTER"),
            ("\" HOTP_COUNTER -9223372036854775809", "HOTP_COUNTER"),
            ("\" TIME_SKEW 2147483648", "TIME_SKEW"),
            ("\" TIME_SKEW -2147483649", "TIME_SKEW"),
            ("\" TIME_SKEW 9223372036854775807", "TIME_SKEW"),
            ("\" DISALLOW_REUSE 9223372036854775808", "DISALLOW_REUSE"),
            ("\" DISALLOW_REUSE 5 18446744073709551615", "DISALLOW_REUSE"),
            (
                "\" RESETTING_TIME_SKEW 9223372036854775808+1",
                "RESETTING_TIME_SKEW",
            ),
            (
                "\" RESETTING_TIME_SKEW 100+2147483648",
                "RESETTING_TIME_SKEW",
            ),
            (
                "\" RESETTING_TIME_SKEW 100-2147483649",
                "RESETTING_TIME_SKEW",
            ),
            ("\" RATE_LIMIT 3 30 4294967296", "RATE_LIMIT"),
        ] {
            assert_eq!(refused_option(line), Some(option), "{line}");
        }
    }

    #[test]
    fn numbers_at_the_limits_are_read() {
        let file = parse(
            "2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER 9223372036854775807\n\" TIME_SKEW -2147483648\n\" DISALLOW_REUSE 9223372036854775807 0\n\" RESETTING_TIME_SKEW 9223372036854775807+2147483647 0-2147483648\n\" RATE_LIMIT 3 30 4294967295\n",
        );
        assert_eq!(file.hotp_counter(), Some(MAX_HOTP_COUNTER));
        assert_eq!(file.time_skew(), i64::from(i32::MIN));
        assert_eq!(
            file.resetting_time_skew(),
            vec![
                SkewSample {
                    step: i64::MAX,
                    skew: i64::from(i32::MAX)
                },
                SkewSample {
                    step: 0,
                    skew: i64::from(i32::MIN)
                }
            ]
        );
        assert_eq!(
            file.rate_limit_state().map(|r| r.timestamps.clone()),
            Some(vec![u32::MAX])
        );
        assert_eq!(
            parse("2SH3V3GDW7ZNMGYE\n\" TIME_SKEW +2147483647\n").time_skew(),
            2_147_483_647
        );
    }

    #[test]
    fn unsigned_fields_take_digits_only() {
        for line in [
            "\" DISALLOW_REUSE abc",
            "\" DISALLOW_REUSE +5",
            "\" DISALLOW_REUSE 5 -6",
            "\" DISALLOW_REUSE 5x",
            "\" STEP_SIZE +30",
            "\" STEP_SIZE 30s",
            "\" WINDOW_SIZE +3",
            "\" WINDOW_SIZE",
            "\" RATE_LIMIT +3 30",
            "\" RATE_LIMIT 3 +30",
            "\" RATE_LIMIT 3 30 +1700000000",
            "\" RATE_LIMIT 3 30 -1",
            "\" RESETTING_TIME_SKEW +100+1",
            "\" RESETTING_TIME_SKEW 100",
            "\" RESETTING_TIME_SKEW 100+",
            "\" RESETTING_TIME_SKEW 100+-1",
            "\" RESETTING_TIME_SKEW 100+1x",
            "\" HOTP_COUNTER",
            "\" HOTP_COUNTER +-1",
            "\" HOTP_COUNTER 1.5",
            "\" TIME_SKEW --1",
            "\" TIME_SKEW 1 2",
        ] {
            assert!(refused_option(line).is_some(), "{line}");
        }
        let signed = parse("2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER +5\n\" TIME_SKEW +3\n");
        assert_eq!((signed.hotp_counter(), signed.time_skew()), (Some(5), 3));
    }

    #[test]
    fn a_counter_of_zero_or_below_is_read_as_zero() {
        for counter in ["0", "-1", "-9223372036854775808"] {
            let file = parse(&format!("2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER {counter}\n"));
            assert_eq!(file.hotp_counter(), Some(0), "{counter}");
        }
        assert_eq!(parse("2SH3V3GDW7ZNMGYE\n").hotp_counter(), None);
    }

    #[test]
    fn scratch_codes_have_exactly_eight_digits() {
        // A line of seven or nine digits is no code and ends the run.
        for other in ["1234567", "123456789", "01234567", "1234567a"] {
            let file = parse(&format!("2SH3V3GDW7ZNMGYE\n11111111\n{other}\n22222222\n"));
            assert_eq!(file.scratch_codes(), vec![11_111_111], "{other}");
        }
    }

    #[test]
    fn mistyped_base32_digits_stand_for_letters() {
        assert_eq!(decode_secret("AB1CD8EF0G"), decode_secret("ABLCDBEFOG"));
        assert_ne!(decode_secret("AB1CD8EF"), decode_secret("ABICDBEF"));
        assert!(decode_secret("ABCDEFG9").is_none());
        // Not even as a last character that would carry no data.
        for bad in ["ABCDEFGH9", "ABCDEFGH!", "ABCDEFGH=", "ABCDEFGH\u{e9}"] {
            assert!(decode_secret(bad).is_none(), "{bad:?}");
        }
        assert!(decode_secret("ABCDEFGHI").is_some());
    }

    #[test]
    fn last_followed_by_anything_but_one_digit_is_an_unknown_option() {
        let text = "2SH3V3GDW7ZNMGYE\n\" LAST! 192.0.2.1 5\n\" LAST: 192.0.2.2 5\n\" LASTx 192.0.2.3 5\n\" LAST10 192.0.2.4 5\n\" LAST 192.0.2.5 5\n";
        let file = parse(text);
        for slot in 0..GRACE_SLOTS as u8 {
            assert!(!file.has_login_slot(slot), "LAST{slot}");
        }
        assert_eq!(&*file.to_bytes(), text.as_bytes());
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "invalid option name")]
    fn setting_an_option_with_a_name_that_is_no_option_name_is_a_bug() {
        parse("2SH3V3GDW7ZNMGYE\n").set_option("TIME SKEW", "1");
    }

    #[test]
    fn code_format_lines_are_read_and_default_to_sha1_with_six_digits() {
        use crate::otp::Algorithm;
        assert!(parse(GOOGLE_TOTP).code_format().is_default());
        assert_eq!(parse(GOOGLE_TOTP).counter_option_name(), "HOTP_COUNTER");
        for (lines, algorithm, digits) in [
            ("\" ALGORITHM SHA256\n\" TOTP\n", Algorithm::Sha256, 6),
            (
                "\" DIGITS 8\n\" ALGORITHM SHA512\n\" TOTP\n",
                Algorithm::Sha512,
                8,
            ),
            ("\" DIGITS 7 \n\" HOTP 5\n", Algorithm::Sha1, 7),
            // Explicit defaults, with the reference's mode line.
            (
                "\" ALGORITHM SHA1\n\" DIGITS 6\n\" TOTP_AUTH\n",
                Algorithm::Sha1,
                6,
            ),
            // Only the first line of an option counts.
            ("\" DIGITS 8\n\" DIGITS 6\n\" TOTP\n", Algorithm::Sha1, 8),
        ] {
            let text = format!("2SH3V3GDW7ZNMGYE\n{lines}12345678\n");
            let file = parse(&text);
            assert_eq!(
                file.code_format(),
                CodeFormat::new(algorithm, digits).unwrap(),
                "{lines:?}"
            );
            assert!(
                file.is_totp() || file.hotp_counter() == Some(5),
                "{lines:?}"
            );
            assert_eq!(file.scratch_codes(), vec![12_345_678]);
            assert_eq!(&*file.to_bytes(), text.as_bytes());
        }
        let hotp = parse("2SH3V3GDW7ZNMGYE\n\" DIGITS 8\n\" HOTP 41\n");
        assert_eq!((hotp.hotp_counter(), hotp.is_totp()), (Some(41), false));
        assert_eq!(hotp.counter_option_name(), "HOTP");
    }

    #[test]
    fn bad_code_format_values_are_refused_naming_the_line() {
        for (line, option) in [
            ("\" ALGORITHM MD5", "ALGORITHM"),
            ("\" ALGORITHM sha256", "ALGORITHM"),
            ("\" ALGORITHM SHA-256", "ALGORITHM"),
            ("\" ALGORITHM", "ALGORITHM"),
            ("\" ALGORITHM SHA256 SHA512", "ALGORITHM"),
            ("\" DIGITS 5", "DIGITS"),
            ("\" DIGITS 9", "DIGITS"),
            ("\" DIGITS 10", "DIGITS"),
            ("\" DIGITS +8", "DIGITS"),
            ("\" DIGITS 8x", "DIGITS"),
            ("\" DIGITS", "DIGITS"),
            ("\" TOTP x", "TOTP"),
            ("\" HOTP x", "HOTP"),
            ("\" HOTP 9223372036854775808", "HOTP"),
        ] {
            assert_eq!(refused_option(line), Some(option), "{line}");
        }
    }

    #[test]
    fn google_mode_lines_are_refused_where_google_would_check_sha1_six_digit_codes() {
        let refused = |text: &str| match StateFile::parse(text.as_bytes()) {
            Err(ParseError::ModeLineForSha1SixDigits { line, option }) => Some((line, option)),
            _ => None,
        };
        for (text, want) in [
            (
                "2SH3V3GDW7ZNMGYE\n\" DIGITS 8\n\" TOTP_AUTH\n",
                (3, "TOTP_AUTH"),
            ),
            (
                "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" ALGORITHM SHA256\n",
                (2, "TOTP_AUTH"),
            ),
            (
                "2SH3V3GDW7ZNMGYE\n\" DIGITS 7\n\" HOTP_COUNTER 1\n",
                (3, "HOTP_COUNTER"),
            ),
            // Google's module finds `" TOTP_AUTH` anywhere in the file.
            (
                "2SH3V3GDW7ZNMGYE\n\" DIGITS 8\n\" TOTP\n\" NOTE \" TOTP_AUTH\n",
                (4, "TOTP_AUTH"),
            ),
            (
                "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTHENTIC\n\" ALGORITHM SHA512\n",
                (2, "TOTP_AUTH"),
            ),
            // Both kinds of mode line, whatever the format.
            (
                "2SH3V3GDW7ZNMGYE\n\" HOTP 3\n\" HOTP_COUNTER 3\n",
                (3, "HOTP_COUNTER"),
            ),
            (
                "2SH3V3GDW7ZNMGYE\n\" TOTP\n\" TOTP_AUTH\n",
                (3, "TOTP_AUTH"),
            ),
        ] {
            assert_eq!(refused(text), Some(want), "{text:?}");
        }
        let message = StateFile::parse(b"2SH3V3GDW7ZNMGYE\n\" DIGITS 8\n\" TOTP_AUTH\n")
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("line 3: TOTP_AUTH cannot be used"),
            "{message}"
        );
        // The reference's own lines stay fine with explicit defaults, and
        // this module's lines with the default format.
        parse("2SH3V3GDW7ZNMGYE\n\" ALGORITHM SHA1\n\" DIGITS 6\n\" HOTP_COUNTER 1\n");
        assert!(parse("2SH3V3GDW7ZNMGYE\n\" TOTP\n").is_totp());
    }

    #[test]
    fn a_file_of_exactly_the_size_limit_is_read() {
        let mut text = String::from("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n");
        text.push_str(&"#".repeat(MAX_FILE_SIZE - text.len()));
        assert_eq!(text.len(), MAX_FILE_SIZE);
        assert!(parse(&text).is_totp());
    }
}
