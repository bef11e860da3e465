//! The `otpauth://` key URI that authenticator apps import.
//!
//! Unlike the reference tool, the URI is complete: `period` is given when the
//! step is not 30 seconds, `counter` for HOTP tokens, and `algorithm` and
//! `digits` when they are not SHA1 and 6, so apps do not fall back to
//! defaults that produce wrong codes.

use std::fmt::Write as _;

use rust_totp_core::otp::CodeFormat;
use rust_totp_core::state_file::percent_encode;

/// The step apps assume when the URI names none.
const DEFAULT_PERIOD: u32 = 30;

/// What the codes are derived from besides the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// Time-based codes with a step of this many seconds.
    Time { step_seconds: u32 },
    /// Counter-based codes; the first code the server expects.
    Counter { next: u64 },
}

/// The key URI for `secret_base32`, shown under `label` and `issuer` (an
/// empty issuer is left out), for codes of `format`.
pub fn otpauth_uri(
    secret_base32: &str,
    label: &str,
    issuer: &str,
    factor: Factor,
    format: CodeFormat,
) -> String {
    let kind = match factor {
        Factor::Time { .. } => "totp",
        Factor::Counter { .. } => "hotp",
    };
    let mut uri = format!(
        "otpauth://{kind}/{}?secret={secret_base32}",
        percent_encode(label)
    );
    if !issuer.is_empty() {
        // Writing to a String cannot fail.
        let _ = write!(uri, "&issuer={}", percent_encode(issuer));
    }
    match factor {
        Factor::Time { step_seconds } if step_seconds != DEFAULT_PERIOD => {
            let _ = write!(uri, "&period={step_seconds}");
        }
        Factor::Time { .. } => {}
        Factor::Counter { next } => {
            let _ = write!(uri, "&counter={next}");
        }
    }
    push_format(&mut uri, format);
    uri
}

/// Appends `algorithm` and `digits`, each when it is not the default.
fn push_format(uri: &mut String, format: CodeFormat) {
    let default = CodeFormat::DEFAULT;
    if format.algorithm() != default.algorithm() {
        let _ = write!(uri, "&algorithm={}", format.algorithm().name());
    }
    if format.digits() != default.digits() {
        let _ = write!(uri, "&digits={}", format.digits());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "JBSWY3DPEHPK3PXP";

    #[test]
    fn default_totp_uri_matches_the_reference_form() {
        assert_eq!(
            otpauth_uri(
                SECRET,
                "root@pam",
                "pve.example.org",
                Factor::Time { step_seconds: 30 },
                CodeFormat::DEFAULT
            ),
            "otpauth://totp/root@pam?secret=JBSWY3DPEHPK3PXP&issuer=pve.example.org"
        );
    }

    #[test]
    fn algorithm_and_digits_are_given_when_not_the_default() {
        use rust_totp_core::otp::Algorithm;
        let uri = |format| otpauth_uri(SECRET, "a", "", Factor::Time { step_seconds: 60 }, format);
        let format = |algorithm, digits| CodeFormat::new(algorithm, digits).unwrap();
        assert_eq!(
            uri(format(Algorithm::Sha256, 8)),
            "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=60&algorithm=SHA256&digits=8"
        );
        assert!(uri(format(Algorithm::Sha512, 6)).ends_with("&period=60&algorithm=SHA512"));
        assert!(uri(format(Algorithm::Sha1, 7)).ends_with("&period=60&digits=7"));
        assert!(uri(format(Algorithm::Sha1, 6)).ends_with("&period=60"));
        assert_eq!(
            otpauth_uri(
                SECRET,
                "a",
                "",
                Factor::Counter { next: 1 },
                format(Algorithm::Sha1, 8)
            ),
            "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=1&digits=8"
        );
    }

    #[test]
    fn non_default_period_and_hotp_counter_are_given() {
        assert!(
            otpauth_uri(
                SECRET,
                "a",
                "b",
                Factor::Time { step_seconds: 60 },
                CodeFormat::DEFAULT
            )
            .ends_with("&period=60")
        );
        assert_eq!(
            otpauth_uri(
                SECRET,
                "a",
                "",
                Factor::Counter { next: 1 },
                CodeFormat::DEFAULT
            ),
            "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=1"
        );
    }

    #[test]
    fn label_and_issuer_are_percent_encoded() {
        let uri = otpauth_uri(
            SECRET,
            "Jane Doe/ops#1",
            "Ops & Co=?é",
            Factor::Time { step_seconds: 30 },
            CodeFormat::DEFAULT,
        );
        assert_eq!(
            uri,
            "otpauth://totp/Jane%20Doe%2Fops%231?secret=JBSWY3DPEHPK3PXP\
             &issuer=Ops%20%26%20Co%3D%3F%C3%A9"
        );
    }
}
