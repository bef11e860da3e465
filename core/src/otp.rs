//! One-time-password arithmetic: HOTP (RFC 4226) codes from a shared key and
//! a moving factor, the TOTP time step (RFC 6238), and constant-time
//! comparison of codes.
//!
//! Only SHA-1 with six digits is used, because that is what
//! `~/.google_authenticator` files and the authenticator apps enrolled from
//! them use.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Number of decimal digits in a verification code.
pub const CODE_DIGITS: u32 = 6;

const CODE_MODULUS: u32 = 10u32.pow(CODE_DIGITS);

/// A shared key made ready for HMAC-SHA-1 once, to compute the codes of
/// many counter values (a window, the skew search) without hashing the key
/// again for each.
#[derive(Clone)]
pub struct HotpKey(Hmac<Sha1>);

impl HotpKey {
    pub fn new(key: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        Self(<Hmac<Sha1> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!()))
    }

    /// The six-digit HOTP value at `counter` (RFC 4226 section 5.3).
    pub fn code(&self, counter: u64) -> u32 {
        let mut mac = self.0.clone();
        mac.update(&counter.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[digest.len() - 1] & 0x0f);
        let word = [
            digest[offset],
            digest[offset + 1],
            digest[offset + 2],
            digest[offset + 3],
        ];
        (u32::from_be_bytes(word) & 0x7fff_ffff) % CODE_MODULUS
    }
}

/// The six-digit HOTP value of `key` at `counter`.
pub fn hotp(key: &[u8], counter: u64) -> u32 {
    HotpKey::new(key).code(counter)
}

/// The TOTP time step that contains `unix_time` for a step of `step_seconds`.
pub fn time_step(unix_time: u64, step_seconds: u32) -> u64 {
    unix_time / u64::from(step_seconds.max(1))
}

/// Whether two codes are equal, compared without data-dependent branches.
pub fn codes_equal(a: u32, b: u32) -> bool {
    a.to_be_bytes().ct_eq(&b.to_be_bytes()).into()
}

/// Formats a code with its leading zeros, as authenticator apps show it.
pub fn format_code(code: u32) -> String {
    format!("{code:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC4226_KEY: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc4226_appendix_d_vectors() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.iter().enumerate() {
            assert_eq!(
                hotp(RFC4226_KEY, counter as u64),
                *want,
                "counter {counter}"
            );
        }
    }

    #[test]
    fn rfc6238_sha1_vectors_truncated_to_six_digits() {
        // RFC 6238 appendix B lists 8-digit SHA-1 values; six digits are the
        // last six of those.
        let cases = [
            (59u64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ];
        for (t, eight_digits) in cases {
            assert_eq!(
                hotp(RFC4226_KEY, time_step(t, 30)),
                eight_digits % 1_000_000,
                "t = {t}"
            );
        }
    }

    #[test]
    fn agrees_with_totp_rs() {
        use totp_rs::{Algorithm, TOTP};
        let key = b"an-independent-shared-key".to_vec();
        let reference = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, key.clone());
        for t in [0u64, 29, 30, 300_000, 1_700_000_000, 4_000_000_000] {
            let ours = format_code(hotp(&key, time_step(t, 30)));
            assert_eq!(ours, reference.generate(t), "t = {t}");
        }
    }

    #[test]
    fn constant_time_equality() {
        assert!(codes_equal(50548, 50548));
        assert!(!codes_equal(50548, 50549));
    }

    #[test]
    fn codes_keep_leading_zeros() {
        assert_eq!(format_code(50548), "050548");
    }
}
