//! The `otpauth://` key URI that authenticator apps import.
//!
//! Unlike the reference tool, the URI is complete: `period` is given when the
//! step is not 30 seconds and `counter` for HOTP tokens, so apps do not fall
//! back to defaults that produce wrong codes.

use std::fmt::Write as _;

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
/// empty issuer is left out).
pub fn otpauth_uri(secret_base32: &str, label: &str, issuer: &str, factor: Factor) -> String {
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
    uri
}

/// Percent-encodes everything but RFC 3986 unreserved characters and the `@`
/// and `:` that labels such as `root@pam` or `issuer:account` contain.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
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
                Factor::Time { step_seconds: 30 }
            ),
            "otpauth://totp/root@pam?secret=JBSWY3DPEHPK3PXP&issuer=pve.example.org"
        );
    }

    #[test]
    fn non_default_period_and_hotp_counter_are_given() {
        assert!(
            otpauth_uri(SECRET, "a", "b", Factor::Time { step_seconds: 60 })
                .ends_with("&period=60")
        );
        assert_eq!(
            otpauth_uri(SECRET, "a", "", Factor::Counter { next: 1 }),
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
        );
        assert_eq!(
            uri,
            "otpauth://totp/Jane%20Doe%2Fops%231?secret=JBSWY3DPEHPK3PXP\
             &issuer=Ops%20%26%20Co%3D%3F%C3%A9"
        );
    }
}
