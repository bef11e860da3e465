//! One-time-password arithmetic: HOTP (RFC 4226) codes from a shared key and
//! a moving factor, the TOTP time step (RFC 6238), and constant-time
//! comparison of codes.
//!
//! A code is an HMAC of the moving factor with SHA-1, SHA-256 or SHA-512
//! (RFC 6238 section 1.2), dynamically truncated and reduced to 6, 7 or 8
//! decimal digits. SHA-1 with six digits ([`CodeFormat::DEFAULT`]) is what
//! Google's tools write and the apps assume when nothing else is said.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

/// Number of decimal digits in a verification code of the default format.
pub const CODE_DIGITS: u32 = 6;

/// The hash function of the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    #[default]
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    /// Every algorithm, in the order of their names in messages.
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// The name used in state files and `otpauth://` URIs: `SHA1`, `SHA256`
    /// or `SHA512`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// The algorithm called `name` (exactly as [`Algorithm::name`] writes
    /// it, upper case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// How codes are made from the HMAC: its hash function and the number of
/// digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeFormat {
    algorithm: Algorithm,
    digits: u32,
}

impl Default for CodeFormat {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl CodeFormat {
    /// SHA-1 with six digits.
    pub const DEFAULT: CodeFormat = CodeFormat {
        algorithm: Algorithm::Sha1,
        digits: CODE_DIGITS,
    };
    /// The digit counts a code can have.
    pub const DIGITS: std::ops::RangeInclusive<u32> = 6..=8;

    /// `digits`-digit codes of `algorithm`; `None` unless `digits` is in
    /// [`CodeFormat::DIGITS`].
    pub fn new(algorithm: Algorithm, digits: u32) -> Option<Self> {
        Self::DIGITS
            .contains(&digits)
            .then_some(Self { algorithm, digits })
    }

    pub fn algorithm(self) -> Algorithm {
        self.algorithm
    }

    pub fn digits(self) -> u32 {
        self.digits
    }

    /// Whether this is SHA-1 with six digits.
    pub fn is_default(self) -> bool {
        self == Self::DEFAULT
    }

    /// Formats a code with its leading zeros, as authenticator apps show it.
    pub fn format_code(self, code: u32) -> String {
        format!("{code:0width$}", width = self.digits as usize)
    }

    fn modulus(self) -> u32 {
        10u32.pow(self.digits)
    }
}

/// A keyed HMAC, one variant per hash function: the algorithm is chosen
/// once per key, and each code costs one `match`.
#[derive(Clone)]
enum KeyedMac {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

/// A shared key made ready for the HMAC once, to compute the codes of many
/// counter values (a window, the skew search) without hashing the key again
/// for each.
#[derive(Clone)]
pub struct HotpKey {
    mac: KeyedMac,
    modulus: u32,
}

impl HotpKey {
    /// A key for codes of the default format (SHA-1, six digits).
    pub fn new(key: &[u8]) -> Self {
        Self::with_format(key, CodeFormat::DEFAULT)
    }

    /// A key for codes of `format`.
    pub fn with_format(key: &[u8], format: CodeFormat) -> Self {
        let mac = match format.algorithm {
            Algorithm::Sha1 => KeyedMac::Sha1(keyed(key)),
            Algorithm::Sha256 => KeyedMac::Sha256(keyed(key)),
            Algorithm::Sha512 => KeyedMac::Sha512(keyed(key)),
        };
        Self {
            mac,
            modulus: format.modulus(),
        }
    }

    /// The HOTP value at `counter` (RFC 4226 section 5.3, with the digest
    /// of the key's hash function as in RFC 6238).
    pub fn code(&self, counter: u64) -> u32 {
        let word = match &self.mac {
            KeyedMac::Sha1(mac) => truncated_mac(mac, counter),
            KeyedMac::Sha256(mac) => truncated_mac(mac, counter),
            KeyedMac::Sha512(mac) => truncated_mac(mac, counter),
        };
        word % self.modulus
    }
}

fn keyed<M: Mac + hmac::digest::KeyInit>(key: &[u8]) -> M {
    // HMAC accepts keys of any length, so this cannot fail.
    <M as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

/// The 31-bit dynamic truncation of the HMAC of `counter`.
fn truncated_mac<M: Mac + Clone>(mac: &M, counter: u64) -> u32 {
    let mut mac = mac.clone();
    mac.update(&counter.to_be_bytes());
    dynamic_truncation(&mac.finalize().into_bytes())
}

fn dynamic_truncation(digest: &[u8]) -> u32 {
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let word = [
        digest[offset],
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ];
    u32::from_be_bytes(word) & 0x7fff_ffff
}

/// The six-digit HOTP value of `key` at `counter`.
pub fn hotp(key: &[u8], counter: u64) -> u32 {
    HotpKey::new(key).code(counter)
}

/// The HOTP value of `key` at `counter` in `format`.
pub fn hotp_with(key: &[u8], format: CodeFormat, counter: u64) -> u32 {
    HotpKey::with_format(key, format).code(counter)
}

/// The TOTP time step that contains `unix_time` for a step of `step_seconds`.
pub fn time_step(unix_time: u64, step_seconds: u32) -> u64 {
    unix_time / u64::from(step_seconds.max(1))
}

/// Whether two codes are equal, compared without data-dependent branches.
pub fn codes_equal(a: u32, b: u32) -> bool {
    a.to_be_bytes().ct_eq(&b.to_be_bytes()).into()
}

/// Formats a six-digit code with its leading zeros, as authenticator apps
/// show it.
pub fn format_code(code: u32) -> String {
    CodeFormat::DEFAULT.format_code(code)
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

    /// RFC 6238 appendix B: the seeds of 20, 32 and 64 bytes, and the
    /// eight-digit values of every algorithm at each test time.
    #[test]
    fn rfc6238_vectors_of_every_algorithm_with_eight_digits() {
        let seed20 = b"12345678901234567890";
        let seed32 = b"12345678901234567890123456789012";
        let seed64 = b"1234567890123456789012345678901234567890123456789012345678901234";
        let cases: [(u64, [u32; 3]); 6] = [
            (59, [94287082, 46119246, 90693936]),
            (1111111109, [7081804, 68084774, 25091201]),
            (1111111111, [14050471, 67062674, 99943326]),
            (1234567890, [89005924, 91819424, 93441116]),
            (2000000000, [69279037, 90698825, 38618901]),
            (20000000000, [65353130, 77737706, 47863826]),
        ];
        let keys: [(&[u8], Algorithm); 3] = [
            (seed20, Algorithm::Sha1),
            (seed32, Algorithm::Sha256),
            (seed64, Algorithm::Sha512),
        ];
        for (t, want) in cases {
            for ((key, algorithm), want) in keys.into_iter().zip(want) {
                let format = CodeFormat::new(algorithm, 8).unwrap();
                let got = hotp_with(key, format, time_step(t, 30));
                assert_eq!(got, want, "{} at t = {t}", algorithm.name());
                assert_eq!(format.format_code(got).len(), 8);
            }
        }
    }

    #[test]
    fn fewer_digits_are_the_last_digits_of_the_eight_digit_code() {
        let key = b"12345678901234567890123456789012";
        for algorithm in Algorithm::ALL {
            for counter in [0, 1, 37_037_036, u64::MAX] {
                let eight = hotp_with(key, CodeFormat::new(algorithm, 8).unwrap(), counter);
                for digits in 6..=7 {
                    let format = CodeFormat::new(algorithm, digits).unwrap();
                    assert_eq!(
                        hotp_with(key, format, counter),
                        eight % 10u32.pow(digits),
                        "{} {digits} digits",
                        algorithm.name()
                    );
                }
            }
        }
    }

    #[test]
    fn agrees_with_totp_rs_for_every_algorithm_and_digit_count() {
        use totp_rs::{Algorithm as Theirs, TOTP};
        let key = b"an-independent-shared-key-of-32b".to_vec();
        for (ours, theirs) in [
            (Algorithm::Sha1, Theirs::SHA1),
            (Algorithm::Sha256, Theirs::SHA256),
            (Algorithm::Sha512, Theirs::SHA512),
        ] {
            for digits in CodeFormat::DIGITS {
                let format = CodeFormat::new(ours, digits).unwrap();
                let reference = TOTP::new_unchecked(theirs, digits as usize, 1, 60, key.clone());
                for t in [0u64, 59, 60, 1_700_000_000, 4_000_000_000] {
                    let code = format.format_code(hotp_with(&key, format, time_step(t, 60)));
                    assert_eq!(code, reference.generate(t), "{ours:?} {digits} t = {t}");
                }
            }
        }
    }

    #[test]
    fn formats_outside_six_to_eight_digits_do_not_exist() {
        for digits in [0, 5, 9, 10] {
            assert_eq!(CodeFormat::new(Algorithm::Sha256, digits), None);
        }
        assert!(CodeFormat::new(Algorithm::Sha1, 6).unwrap().is_default());
        assert!(!CodeFormat::new(Algorithm::Sha1, 8).unwrap().is_default());
        for algorithm in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(algorithm.name()), Some(algorithm));
        }
        assert_eq!(Algorithm::from_name("sha256"), None);
        assert_eq!(Algorithm::from_name("MD5"), None);
    }

    #[test]
    fn constant_time_equality() {
        assert!(codes_equal(50548, 50548));
        assert!(!codes_equal(50548, 50549));
    }

    #[test]
    fn codes_keep_leading_zeros() {
        assert_eq!(format_code(50548), "050548");
        let eight = CodeFormat::new(Algorithm::Sha512, 8).unwrap();
        assert_eq!(eight.format_code(50548), "00050548");
    }
}
