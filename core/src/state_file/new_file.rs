//! A new state file, as the enrolment command writes it.

use std::borrow::Cow;

use super::{Line, LineKind, StateFile, classify, encode_secret, parse_scratch_code};
use crate::otp::CodeFormat;

/// The counter a new HOTP file starts at; its first code is for counter 1.
pub const FIRST_HOTP_COUNTER: u64 = 1;

/// Everything a new file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewFile<'a> {
    pub key: &'a [u8],
    /// `RATE_LIMIT`: at most `.0` logins in `.1` seconds.
    pub rate_limit: Option<(u32, u32)>,
    pub window_size: Option<u32>,
    pub token: NewToken,
    /// SHA-1 with six digits writes the reference's lines; any other format
    /// adds `ALGORITHM` and `DIGITS` lines where they differ from the
    /// default, and names the kind of codes with `TOTP` or `HOTP` instead of
    /// `TOTP_AUTH` or `HOTP_COUNTER` (see the [module](super)).
    pub format: CodeFormat,
    /// Eight-digit codes, the first digit not zero.
    pub scratch_codes: &'a [u32],
}

/// Time-based or counter-based codes, with the options only the first has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewToken {
    Totp {
        step_size: Option<u32>,
        disallow_reuse: bool,
    },
    /// Starts at [`FIRST_HOTP_COUNTER`].
    Hotp,
}

impl StateFile {
    /// A new file, its lines in the order the reference's enrolment command
    /// writes them: the secret, then `RATE_LIMIT`, `WINDOW_SIZE`,
    /// `STEP_SIZE`, `DISALLOW_REUSE`, then `TOTP_AUTH` or `HOTP_COUNTER 1`,
    /// then one scratch code per line. For another code format, `ALGORITHM`
    /// and `DIGITS` come before `TOTP` or `HOTP 1`, which take the place of
    /// the last two.
    ///
    /// # Panics
    /// If `file.key` is empty or a scratch code does not have eight digits:
    /// the caller makes both.
    pub fn new(file: &NewFile<'_>) -> Self {
        assert!(!file.key.is_empty(), "a state file needs a key");
        let mut lines = Vec::with_capacity(8 + file.scratch_codes.len());
        lines.push(Line {
            text: encode_secret(file.key),
            breaks: Cow::Borrowed("\n"),
            kind: LineKind::Secret,
        });
        if let Some((attempts, seconds)) = file.rate_limit {
            lines.push(Line::option("RATE_LIMIT", &format!("{attempts} {seconds}")));
        }
        if let Some(size) = file.window_size {
            lines.push(Line::option("WINDOW_SIZE", &size.to_string()));
        }
        match file.token {
            NewToken::Totp {
                step_size,
                disallow_reuse,
            } => {
                if let Some(step) = step_size {
                    lines.push(Line::option("STEP_SIZE", &step.to_string()));
                }
                if disallow_reuse {
                    lines.push(Line::flag("DISALLOW_REUSE"));
                }
                lines.extend(format_lines(file.format));
                lines.push(Line::flag(if file.format.is_default() {
                    "TOTP_AUTH"
                } else {
                    "TOTP"
                }));
            }
            NewToken::Hotp => {
                lines.extend(format_lines(file.format));
                let name = if file.format.is_default() {
                    "HOTP_COUNTER"
                } else {
                    "HOTP"
                };
                lines.push(Line::option(name, &FIRST_HOTP_COUNTER.to_string()));
            }
        }
        lines.extend(file.scratch_codes.iter().map(|&code| scratch_line(code)));
        Self {
            lines,
            key: zeroize::Zeroizing::new(file.key.to_vec()),
        }
    }
}

impl Line {
    /// `" NAME VALUE` and a newline.
    pub(super) fn option(name: &str, value: &str) -> Self {
        Self::option_text(format!("\" {name} {value}"))
    }

    /// `" NAME` and a newline.
    pub(super) fn flag(name: &str) -> Self {
        Self::option_text(format!("\" {name}"))
    }

    fn option_text(text: String) -> Self {
        let kind = classify(&text, false, 0).unwrap_or(LineKind::Other);
        Line {
            text,
            breaks: Cow::Borrowed("\n"),
            kind,
        }
    }
}

/// `ALGORITHM` and `DIGITS`, each only when it is not the default.
fn format_lines(format: CodeFormat) -> impl Iterator<Item = Line> {
    let default = CodeFormat::DEFAULT;
    let algorithm = (format.algorithm() != default.algorithm())
        .then(|| Line::option("ALGORITHM", format.algorithm().name()));
    let digits = (format.digits() != default.digits())
        .then(|| Line::option("DIGITS", &format.digits().to_string()));
    algorithm.into_iter().chain(digits)
}

/// The line of one scratch code.
pub(super) fn scratch_line(code: u32) -> Line {
    let text = format!("{code:08}");
    assert_eq!(
        parse_scratch_code(&text),
        Some(code),
        "scratch codes have eight digits"
    );
    Line {
        text,
        breaks: Cow::Borrowed("\n"),
        kind: LineKind::ScratchCode(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789";

    #[test]
    fn a_totp_file_with_every_option_has_the_reference_tools_lines_in_its_order() {
        let file = StateFile::new(&NewFile {
            key: KEY,
            rate_limit: Some((3, 30)),
            window_size: Some(17),
            token: NewToken::Totp {
                step_size: Some(60),
                disallow_reuse: true,
            },
            format: CodeFormat::DEFAULT,
            scratch_codes: &[12_345_678, 87_654_321],
        });
        assert_eq!(
            *file.to_bytes(),
            b"GAYTEMZUGU3DOOBZ\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 17\n\" STEP_SIZE 60\n\
              \" DISALLOW_REUSE\n\" TOTP_AUTH\n12345678\n87654321\n"
        );
        assert_eq!(StateFile::parse(&file.to_bytes()).unwrap(), file);
        assert!(file.is_totp() && file.disallow_reuse());
        assert_eq!(file.rate_limit(), Some((3, 30)));
        assert_eq!(file.window_size(), 17);
        assert_eq!(file.step_size(), 60);
        assert_eq!(file.scratch_codes(), vec![12_345_678, 87_654_321]);
        assert_eq!(file.secret_key(), KEY);
    }

    #[test]
    fn a_hotp_file_starts_at_counter_one() {
        let file = StateFile::new(&NewFile {
            key: KEY,
            rate_limit: None,
            window_size: Some(1),
            token: NewToken::Hotp,
            format: CodeFormat::DEFAULT,
            scratch_codes: &[],
        });
        assert_eq!(
            *file.to_bytes(),
            b"GAYTEMZUGU3DOOBZ\n\" WINDOW_SIZE 1\n\" HOTP_COUNTER 1\n"
        );
        assert_eq!(StateFile::parse(&file.to_bytes()).unwrap(), file);
        assert_eq!(file.hotp_counter(), Some(FIRST_HOTP_COUNTER));
    }

    #[test]
    fn another_code_format_adds_its_lines_and_names_the_kind_of_codes_for_this_module_only() {
        use crate::otp::Algorithm;
        let totp = StateFile::new(&NewFile {
            key: KEY,
            rate_limit: None,
            window_size: Some(3),
            token: NewToken::Totp {
                step_size: None,
                disallow_reuse: true,
            },
            format: CodeFormat::new(Algorithm::Sha256, 8).unwrap(),
            scratch_codes: &[12_345_678],
        });
        assert_eq!(
            *totp.to_bytes(),
            b"GAYTEMZUGU3DOOBZ\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" ALGORITHM SHA256\n\
              \" DIGITS 8\n\" TOTP\n12345678\n"
        );
        assert_eq!(StateFile::parse(&totp.to_bytes()).unwrap(), totp);
        assert!(totp.is_totp());
        assert_eq!(
            totp.code_format(),
            CodeFormat::new(Algorithm::Sha256, 8).unwrap()
        );
        for (format, lines) in [
            (
                CodeFormat::new(Algorithm::Sha1, 7).unwrap(),
                "\" DIGITS 7\n",
            ),
            (
                CodeFormat::new(Algorithm::Sha512, 6).unwrap(),
                "\" ALGORITHM SHA512\n",
            ),
        ] {
            let hotp = StateFile::new(&NewFile {
                key: KEY,
                rate_limit: None,
                window_size: None,
                token: NewToken::Hotp,
                format,
                scratch_codes: &[],
            });
            assert_eq!(
                String::from_utf8_lossy(&hotp.to_bytes()),
                format!("GAYTEMZUGU3DOOBZ\n{lines}\" HOTP 1\n")
            );
            assert_eq!(StateFile::parse(&hotp.to_bytes()).unwrap(), hotp);
            assert_eq!(hotp.hotp_counter(), Some(FIRST_HOTP_COUNTER));
            assert_eq!(hotp.counter_option_name(), "HOTP");
            assert_eq!(hotp.code_format(), format);
        }
    }

    #[test]
    #[should_panic(expected = "eight digits")]
    fn a_scratch_code_of_seven_digits_is_a_caller_bug() {
        StateFile::new(&NewFile {
            key: KEY,
            rate_limit: None,
            window_size: None,
            token: NewToken::Hotp,
            format: CodeFormat::DEFAULT,
            scratch_codes: &[1_234_567],
        });
    }
}
