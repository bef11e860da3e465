//! Enrolment: a new secret and scratch codes, shown to the user and written
//! to the secret file. Questions are asked for whatever the command line
//! left open, in the reference tool's order: the token type first; after the
//! secret and scratch codes are shown, whether to write the file; then reuse
//! of codes (TOTP), the window size and the rate limit.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use pam_rust_totp::store::{self, StoreError};
use rust_totp_core::otp::{self, CodeFormat, time_step};
use rust_totp_core::state_file::{FIRST_HOTP_COUNTER, NewFile, NewToken as FileToken, StateFile};

use crate::args::{EnrolOptions, RateLimit, TokenType, Window};
use crate::display::{self, DisplayError};
use crate::generate::{self, ENROLMENT_SECRET_BYTES, RandomError, Secret};
use crate::identity::{self, NoHomeDirectory};
use crate::prompt::{Dialogue, PromptError};
use crate::qr::QrMode;
use crate::uri::{Factor, otpauth_uri};

/// TOTP step when `-S` is not given.
const DEFAULT_STEP_SECONDS: u32 = 30;
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
    NoHome(#[from] NoHomeDirectory),
    #[error("cannot use the secret file: {0}")]
    Target(StoreError),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Display(#[from] DisplayError),
    #[error(transparent)]
    Write(StoreError),
}

impl EnrolError {
    /// 2 for a bad command line (the file cannot be where it was asked to
    /// be), 1 for failures while running.
    pub fn exit_status(&self) -> u8 {
        match self {
            Self::NoHome(_) | Self::Target(_) => 2,
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
    let path = identity::secret_path(options.secret_path.as_ref())?;
    store::check_writable(&path).map_err(EnrolError::Target)?;
    let (label, issuer) = identity::label_and_issuer(&options.presentation);
    let secret = generate::secret(ENROLMENT_SECRET_BYTES)?;
    let token_type = token_type(options, dialogue)?;
    let scratch_codes = generate::scratch_codes(options.emergency_codes)?;

    if !options.quiet {
        // As with the reference, `-Q NONE` leaves out the URI too.
        let token = NewToken {
            secret: &secret,
            token_type,
            step_seconds: options.step_seconds.unwrap_or(DEFAULT_STEP_SECONDS),
            format: options.format,
        };
        if options.presentation.qr_mode != Some(QrMode::None) {
            let uri = otpauth_uri(
                &secret.base32,
                &label,
                &issuer,
                token.factor(),
                token.format,
            );
            let qr_mode = display::qr_mode(options.presentation.qr_mode, stdout_is_terminal);
            display::uri_and_qr(dialogue.out(), &uri, qr_mode)?;
        }
        writeln!(
            dialogue.out(),
            "Your new secret key is: {}",
            secret.base32.as_str()
        )?;
        if options.presentation.pve {
            writeln!(dialogue.out())?;
            display::pve_dialog_fields(
                dialogue.out(),
                &label,
                &issuer,
                &secret.base32,
                token.format,
            )?;
        }
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
    let file = StateFile::new(&NewFile {
        key: &secret.key,
        rate_limit: settings.rate_limit,
        window_size: settings.window_size,
        token: settings.token,
        format: options.format,
        scratch_codes: &scratch_codes,
    });
    store::write_new(&path, &file.to_bytes(), SECRET_FILE_MODE).map_err(EnrolError::Write)?;
    Ok(Outcome::Written)
}

/// The secret and how its codes are derived.
struct NewToken<'a> {
    secret: &'a Secret,
    token_type: TokenType,
    step_seconds: u32,
    format: CodeFormat,
}

impl NewToken<'_> {
    /// The code at `counter` (a time step for TOTP), with leading zeros.
    fn code(&self, counter: u64) -> String {
        let key = otp::HotpKey::with_format(&self.secret.key, self.format);
        self.format.format_code(key.code(counter))
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
fn confirm_code<R: BufRead, W: Write>(
    dialogue: &mut Dialogue<R, W>,
    token: &NewToken<'_>,
) -> Result<(), EnrolError> {
    loop {
        let answer = dialogue.number("Enter the code from the app (-1 to skip):")?;
        let Ok(code) = u32::try_from(answer) else {
            writeln!(dialogue.out(), "Code confirmation skipped")?;
            return Ok(());
        };
        let now = time_step(unix_now(), token.step_seconds);
        let first = now.saturating_sub(CONFIRM_SKEW_STEPS);
        let matches = (first..=now + CONFIRM_SKEW_STEPS).any(|step| {
            let expected = otp::hotp_with(&token.secret.key, token.format, step);
            otp::codes_equal(code, expected)
        });
        if matches {
            writeln!(dialogue.out(), "Code confirmed")?;
            return Ok(());
        }
        let expected = token.code(now);
        writeln!(
            dialogue.out(),
            "Code incorrect (the current code is {expected}; check the app's clock). Try again."
        )?;
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
