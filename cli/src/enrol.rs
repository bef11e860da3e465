//! Enrolment: a new secret (or the one given with `--key`) and scratch
//! codes, shown to the user and written to the secret file together with
//! the label and issuer of the URI. Questions are asked for whatever the
//! command line left open, in the reference tool's order: the token type
//! first; after the secret and scratch codes are shown, whether to write
//! the file; then reuse of codes (TOTP), the window size and the rate limit.

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use pam_rust_totp::store;
use rust_totp_core::otp::{self, CodeFormat, time_step};
use rust_totp_core::state_file::{
    DEFAULT_STEP_SIZE, FIRST_HOTP_COUNTER, NewFile, NewToken as FileToken, StateFile,
};

use crate::args::{EnrolOptions, RateLimit, TokenType, Window};
use crate::display::{self, DisplayError};
use crate::generate::{self, ENROLMENT_SECRET_BYTES, RandomError, Secret};
use crate::identity;
use crate::prompt::{Dialogue, PromptError};
use crate::qr::QrMode;
use crate::qr_image::{self, ImageError};
use crate::target::{AsUserError, Target, TargetError};
use crate::uri::{Factor, otpauth_uri};

/// Window offered by the interactive question.
const LARGE_WINDOW: u32 = 17;
/// Permissions of a secret file, as the reference tool writes it: readable
/// by its owner only.
const SECRET_FILE_MODE: u32 = 0o400;
/// Smallest window for TOTP: the previous, current and next code.
const MINIMAL_TOTP_WINDOW: u32 = 3;
/// Smallest window for HOTP: the next code only.
const MINIMAL_HOTP_WINDOW: u32 = 1;
/// Rate limit offered by the interactive question.
const DEFAULT_RATE_LIMIT: RateLimit = RateLimit {
    attempts: 3,
    seconds: 30,
};
/// Time steps either side of now accepted when confirming the app's code.
const CONFIRM_SKEW_STEPS: u64 = 1;
/// Time steps either side of now searched for a wrong code, to tell a
/// clock that is off from a wrong account: 10 minutes at 30 seconds.
const CLOCK_HINT_STEPS: u64 = 20;

const ASK_TIME_BASED: &str = "Make the one-time codes time-based (TOTP)? \
    Answering n sets up counter-based (HOTP) codes.";
const ASK_DISALLOW_REUSE: &str = "Refuse a code that was already used once?\n\
    Then at most one login per time step is possible, but a code captured by an\n\
    attacker in the middle can no longer be replayed.";
const ASK_LARGE_TOTP_WINDOW: &str = "The server accepts 3 codes at a time by default: the previous, the \
    current\nand the next one, which allows for clocks that differ by up to one \
    time step.\nIf the phone's clock drifts, the server can accept 17 codes \
    instead (8 before\nand 8 after the current one), allowing for a difference \
    of about 4 minutes\nwith 30-second steps. Accept 17 codes?";
const ASK_LARGE_HOTP_WINDOW: &str = "The server accepts 3 codes at a time by default, so a code that was \
    generated\nbut never used, or a failed login, does not lock the token. \
    Accepting 17 codes\ntolerates more of these. Accept 17 codes?";
const ASK_RATE_LIMIT: &str = "Limit login attempts to 3 every 30 seconds?\n\
    This slows down guessing of codes on a host that does not limit failed\n\
    logins by other means.";

/// Why an enrolment stopped.
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("cannot use the secret file: {0}")]
    TargetFile(AsUserError),
    #[error(transparent)]
    ImageTarget(ImageError),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Display(#[from] DisplayError),
    #[error(transparent)]
    Write(AsUserError),
    #[error("the secret file was written, but not the QR image: {0}")]
    Image(ImageError),
}

impl EnrolError {
    /// 2 for a bad command line (the file or image cannot be where it was
    /// asked to be, no such user), 1 for failures while running.
    pub fn exit_status(&self) -> u8 {
        match self {
            Self::Target(_) | Self::TargetFile(_) | Self::ImageTarget(_) => 2,
            _ => 1,
        }
    }
}

impl From<std::io::Error> for EnrolError {
    fn from(error: std::io::Error) -> Self {
        Self::Display(DisplayError::Io(error))
    }
}

/// What became of the enrolment.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Written,
    /// The user chose not to write the file.
    Declined,
}

/// Runs an enrolment with `options`, asking and printing through `dialogue`.
pub fn run<R: BufRead, W: Write>(
    options: &EnrolOptions,
    dialogue: &mut Dialogue<R, W>,
    stdout_is_terminal: bool,
) -> Result<Outcome, EnrolError> {
    let mut target = Target::resolve(&options.target)?;
    let path = target.path.clone();
    target
        .run_as_user(|| store::check_writable(&path))
        .map_err(EnrolError::TargetFile)?;
    if let Some(image) = &options.presentation.qr_image {
        qr_image::check_target(image).map_err(EnrolError::ImageTarget)?;
    }
    target.warn_if_root_in_foreign_directory(&mut io::stderr(), "the new file and its lock file");
    let (label, issuer) = identity::label_and_issuer(&options.presentation, &target.user_name);
    let secret = match &options.key {
        Some(key) => key.to_secret(),
        None => generate::secret(ENROLMENT_SECRET_BYTES)?,
    };
    let token_type = token_type(options, dialogue)?;
    let scratch_codes = generate::scratch_codes(options.emergency_codes)?;
    let token = NewToken::new(
        &secret,
        token_type,
        options.step_seconds.unwrap_or(DEFAULT_STEP_SIZE),
        options.format,
    );
    let uri = zeroize::Zeroizing::new(otpauth_uri(
        &secret.base32,
        &label,
        &issuer,
        token.factor(),
        token.format,
    ));

    if !options.quiet {
        let shown = Shown {
            uri: &uri,
            label: &label,
            issuer: &issuer,
            user: &target.user_name,
        };
        show_token(options, dialogue.out(), &shown, &secret, stdout_is_terminal)?;
        if options.confirm && token_type == TokenType::Totp {
            confirm_code(dialogue, &token)?;
        } else {
            let code = token.code(FIRST_HOTP_COUNTER);
            writeln!(
                dialogue.out(),
                "Your verification code for code {FIRST_HOTP_COUNTER} is {code}"
            )?;
        }
        writeln!(dialogue.out(), "Your emergency scratch codes are:")?;
        for code in scratch_codes.iter() {
            writeln!(dialogue.out(), "  {code:08}")?;
        }
    }

    if !options.force && !dialogue.yes_no(&write_question(&path))? {
        writeln!(dialogue.out(), "Nothing was written.")?;
        return Ok(Outcome::Declined);
    }
    let settings = file_settings(options, token_type, dialogue)?;
    let mut file = StateFile::new(&NewFile {
        key: &secret.key,
        rate_limit: settings.rate_limit,
        window_size: settings.window_size,
        token: settings.token,
        format: options.format,
        scratch_codes: &scratch_codes,
    });
    file.set_account(&label, &issuer);
    let bytes = file.to_bytes();
    target
        .run_as_user(|| store::write_new(&path, &bytes, SECRET_FILE_MODE))
        .map_err(EnrolError::Write)?;
    if let Some(image) = &options.presentation.qr_image {
        qr_image::write(image, &uri).map_err(EnrolError::Image)?;
        if !options.quiet {
            writeln!(
                dialogue.out(),
                "The QR code is in \"{}\".",
                image.path.display()
            )?;
        }
    }
    Ok(Outcome::Written)
}

/// What the token is shown as.
struct Shown<'a> {
    uri: &'a str,
    label: &'a str,
    issuer: &'a str,
    /// The user whose file it is.
    user: &'a str,
}

/// Prints the URI and QR code, the secret and the Proxmox VE fields. A key
/// given with `--key` is printed back only when asked for: with `-Q` for
/// the URI, QR code and secret, with `--pve` for the Proxmox VE fields.
fn show_token(
    options: &EnrolOptions,
    out: &mut impl Write,
    shown: &Shown<'_>,
    secret: &Secret,
    stdout_is_terminal: bool,
) -> Result<(), EnrolError> {
    let presentation = &options.presentation;
    let show_key = options.key.is_none() || presentation.qr_mode.is_some();
    // As with the reference, `-Q NONE` leaves out the URI too.
    if show_key && presentation.qr_mode != Some(QrMode::None) {
        let qr_mode = display::qr_mode(presentation.qr_mode, stdout_is_terminal);
        display::uri_and_qr(out, shown.uri, qr_mode)?;
    }
    match (show_key, options.key.is_some()) {
        (true, false) => writeln!(out, "Your new secret key is: {}", secret.base32.as_str())?,
        (true, true) => writeln!(out, "Your secret key is: {}", secret.base32.as_str())?,
        (false, _) => writeln!(
            out,
            "Enrolling the key given with --key (not shown; -Q MODE shows it with its QR code)."
        )?,
    }
    if presentation.pve {
        let token = display::PveToken {
            user: &identity::pve_account(presentation, shown.user),
            label: shown.label,
            issuer: shown.issuer,
            secret_base32: &secret.base32,
            format: options.format,
            uri: shown.uri,
        };
        display::pve_details(out, &token)?;
    }
    Ok(())
}

/// How the codes of a new secret are derived.
struct NewToken {
    token_type: TokenType,
    step_seconds: u32,
    format: CodeFormat,
    /// The secret made ready for the codes of `format`, once.
    key: otp::HotpKey,
}

impl NewToken {
    fn new(secret: &Secret, token_type: TokenType, step_seconds: u32, format: CodeFormat) -> Self {
        NewToken {
            token_type,
            step_seconds,
            format,
            key: otp::HotpKey::with_format(&secret.key, format),
        }
    }

    /// The code at `counter` (a time step for TOTP), with leading zeros.
    fn code(&self, counter: u64) -> String {
        self.format.format_code(self.key.code(counter))
    }

    fn factor(&self) -> Factor {
        match self.token_type {
            TokenType::Totp => Factor::Time {
                step_seconds: self.step_seconds,
            },
            TokenType::Hotp => Factor::Counter {
                next: FIRST_HOTP_COUNTER,
            },
        }
    }
}

fn token_type<R: BufRead, W: Write>(
    options: &EnrolOptions,
    dialogue: &mut Dialogue<R, W>,
) -> Result<TokenType, PromptError> {
    Ok(match options.token_type {
        Some(token_type) => token_type,
        // The Proxmox VE dialog enrols time-based tokens only.
        None if options.presentation.pve => TokenType::Totp,
        None if dialogue.yes_no(ASK_TIME_BASED)? => TokenType::Totp,
        None => TokenType::Hotp,
    })
}

/// Asks for the app's current code until it is right or skipped with -1.
/// A wrong code is never answered with the right one: whoever reads the
/// screen must not learn a valid code from it.
fn confirm_code<R: BufRead, W: Write>(
    dialogue: &mut Dialogue<R, W>,
    token: &NewToken,
) -> Result<(), EnrolError> {
    loop {
        let answer = dialogue.number("Enter the code from the app (-1 to skip):")?;
        let Ok(code) = u32::try_from(answer) else {
            writeln!(dialogue.out(), "Code confirmation skipped")?;
            return Ok(());
        };
        let now = time_step(unix_now(), token.step_seconds);
        let matches_at = |step: Option<u64>| {
            step.is_some_and(|step| otp::codes_equal(code, token.key.code(step)))
        };
        let ahead = |d: u64| matches_at(now.checked_add(d));
        let behind = |d: u64| matches_at(now.checked_sub(d));
        if (0..=CONFIRM_SKEW_STEPS).any(|d| ahead(d) || behind(d)) {
            writeln!(dialogue.out(), "Code confirmed")?;
            return Ok(());
        }
        let skew = (CONFIRM_SKEW_STEPS + 1..=CLOCK_HINT_STEPS).find_map(|d| {
            let seconds = d * u64::from(token.step_seconds);
            if ahead(d) {
                Some(format!("{seconds} seconds ahead of"))
            } else if behind(d) {
                Some(format!("{seconds} seconds behind"))
            } else {
                None
            }
        });
        match skew {
            Some(skew) => writeln!(
                dialogue.out(),
                "Code incorrect: it is the app's code for a time about {skew} this machine's \
                 clock. Set the clocks right (of the phone, or of this machine). Try again."
            )?,
            None => writeln!(
                dialogue.out(),
                "Code incorrect. Check that it is the code of this account and that the \
                 clocks of the phone and of this machine are right. Try again."
            )?,
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn write_question(path: &Path) -> String {
    format!(
        "Write the new secret to \"{}\"? An existing file there is replaced.",
        path.display()
    )
}

/// The options of a new file, after every question has been answered.
struct FileSettings {
    rate_limit: Option<(u32, u32)>,
    window_size: Option<u32>,
    token: FileToken,
}

/// The file options: from the command line, else from the questions.
fn file_settings<R: BufRead, W: Write>(
    options: &EnrolOptions,
    token_type: TokenType,
    dialogue: &mut Dialogue<R, W>,
) -> Result<FileSettings, PromptError> {
    let totp = token_type == TokenType::Totp;
    let disallow_reuse = match options.disallow_reuse {
        _ if !totp => false,
        Some(disallow) => disallow,
        None => dialogue.yes_no(ASK_DISALLOW_REUSE)?,
    };
    let window_size = match options.window {
        Some(Window::Size(size)) => Some(size),
        Some(Window::Minimal) if totp => Some(MINIMAL_TOTP_WINDOW),
        Some(Window::Minimal) => Some(MINIMAL_HOTP_WINDOW),
        None => {
            let question = if totp {
                ASK_LARGE_TOTP_WINDOW
            } else {
                ASK_LARGE_HOTP_WINDOW
            };
            dialogue.yes_no(question)?.then_some(LARGE_WINDOW)
        }
    };
    let rate_limit = match options.rate_limit {
        Some(given) => given,
        None => dialogue
            .yes_no(ASK_RATE_LIMIT)?
            .then_some(DEFAULT_RATE_LIMIT),
    };
    let token = if totp {
        FileToken::Totp {
            step_size: options.step_seconds,
            disallow_reuse,
        }
    } else {
        FileToken::Hotp
    };
    Ok(FileSettings {
        rate_limit: rate_limit.map(|RateLimit { attempts, seconds }| (attempts, seconds)),
        window_size,
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_totp_core::otp::{format_code, hotp};

    const KEY: &[u8] = b"12345678901234567890";

    /// Runs the confirmation with `answers` for a 30-second token; returns
    /// what was printed.
    fn confirm(answers: &str) -> String {
        let key = zeroize::Zeroizing::new(KEY.to_vec());
        let secret = Secret {
            base32: zeroize::Zeroizing::new(rust_totp_core::state_file::encode_secret(KEY)),
            key,
        };
        let token = NewToken::new(&secret, TokenType::Totp, 30, CodeFormat::DEFAULT);
        let mut dialogue = Dialogue::new(answers.as_bytes(), Vec::new());
        confirm_code(&mut dialogue, &token).expect("the answers end with -1");
        String::from_utf8(std::mem::take(dialogue.out())).unwrap()
    }

    fn code_at(offset_steps: i64) -> String {
        let now = time_step(unix_now(), 30);
        format_code(hotp(KEY, now.saturating_add_signed(offset_steps)))
    }

    /// The codes the app could show now, give or take a step.
    fn current_codes() -> Vec<String> {
        (-2..=2).map(code_at).collect()
    }

    #[test]
    fn a_wrong_code_is_never_answered_with_the_right_one() {
        let valid = current_codes();
        let wrong = (0..)
            .map(|i| format!("{:06}", (123_456 + 111_111 * i) % 1_000_000))
            .find(|c| !(-25..=25).map(code_at).any(|v| v == *c))
            .unwrap();
        let shown = confirm(&format!("{wrong}\n-1\n"));
        assert!(shown.contains("Code incorrect"), "{shown}");
        for code in &valid {
            assert!(!shown.contains(code.as_str()), "{code} shown: {shown}");
        }
        assert!(shown.ends_with("Code confirmation skipped\n"), "{shown}");
    }

    #[test]
    fn a_code_from_a_clock_that_is_off_is_named_as_such() {
        let shown = confirm(&format!("{}\n-1\n", code_at(6)));
        assert!(
            shown.contains("seconds ahead of this machine's clock"),
            "{shown}"
        );
        let shown = confirm(&format!("{}\n-1\n", code_at(-6)));
        assert!(
            shown.contains("seconds behind this machine's clock"),
            "{shown}"
        );
        for code in current_codes() {
            assert!(!shown.contains(code.as_str()), "{code} shown: {shown}");
        }
        assert!(confirm(&format!("{}\n", code_at(0))).contains("Code confirmed"));
    }
}
