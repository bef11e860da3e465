//! The text of a new `~/.google_authenticator` file, with its lines in the
//! order the reference tool writes them: the secret, then `RATE_LIMIT`,
//! `WINDOW_SIZE`, `STEP_SIZE`, `DISALLOW_REUSE`, then `TOTP_AUTH` or
//! `HOTP_COUNTER 1`, then one scratch code per line.

use std::fmt::Write as _;

use zeroize::Zeroizing;

use crate::args::{RateLimit, TokenType};

/// The counter a new HOTP file starts at; its first code is for counter 1.
pub const FIRST_HOTP_COUNTER: u64 = 1;

/// The options of a new file, after every question has been answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSettings {
    pub token_type: TokenType,
    pub rate_limit: Option<RateLimit>,
    pub window_size: Option<u32>,
    /// Only written for TOTP files.
    pub step_seconds: Option<u32>,
    /// Only written for TOTP files.
    pub disallow_reuse: bool,
}

/// The complete file text for `secret_base32` with `settings` and
/// `scratch_codes`.
pub fn file_text(
    secret_base32: &str,
    settings: &FileSettings,
    scratch_codes: &[u32],
) -> Zeroizing<String> {
    let mut text = Zeroizing::new(format!("{secret_base32}\n"));
    // Writing to a String cannot fail.
    if let Some(RateLimit { attempts, seconds }) = settings.rate_limit {
        let _ = writeln!(text, "\" RATE_LIMIT {attempts} {seconds}");
    }
    if let Some(size) = settings.window_size {
        let _ = writeln!(text, "\" WINDOW_SIZE {size}");
    }
    match settings.token_type {
        TokenType::Totp => {
            if let Some(step) = settings.step_seconds {
                let _ = writeln!(text, "\" STEP_SIZE {step}");
            }
            if settings.disallow_reuse {
                text.push_str("\" DISALLOW_REUSE\n");
            }
            text.push_str("\" TOTP_AUTH\n");
        }
        TokenType::Hotp => {
            let _ = writeln!(text, "\" HOTP_COUNTER {FIRST_HOTP_COUNTER}");
        }
    }
    for code in scratch_codes {
        let _ = writeln!(text, "{code:08}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_file_with_every_option() {
        let settings = FileSettings {
            token_type: TokenType::Totp,
            rate_limit: Some(RateLimit {
                attempts: 3,
                seconds: 30,
            }),
            window_size: Some(17),
            step_seconds: Some(60),
            disallow_reuse: true,
        };
        assert_eq!(
            *file_text("SECRET", &settings, &[12345678, 87654321]),
            "SECRET\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 17\n\" STEP_SIZE 60\n\
             \" DISALLOW_REUSE\n\" TOTP_AUTH\n12345678\n87654321\n"
        );
    }

    #[test]
    fn hotp_file_ignores_time_only_options() {
        let settings = FileSettings {
            token_type: TokenType::Hotp,
            rate_limit: None,
            window_size: Some(1),
            step_seconds: Some(60),
            disallow_reuse: true,
        };
        assert_eq!(
            *file_text("SECRET", &settings, &[]),
            "SECRET\n\" WINDOW_SIZE 1\n\" HOTP_COUNTER 1\n"
        );
    }
}
