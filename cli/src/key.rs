//! `--key`: an existing secret to enrol with, such as the key of the
//! Proxmox VE TOTP dialog, `oathkeygen`'s output or another device's.
//!
//! It is read strictly: the RFC 4648 base32 alphabet in either case, with
//! spaces, dashes and trailing `=` padding allowed for keys copied in
//! groups, and at least 80 bits. The module itself reads `0`, `1` and `8`
//! as `O`, `L` and `B`, but an app given the same text would refuse it, so
//! such a key is refused here rather than enrolled as something else.

use rust_totp_core::state_file::{decode_secret, encode_secret};
use zeroize::Zeroizing;

use crate::generate::Secret;

/// The smallest key accepted: RFC 4226 requires 128 bits and recommends
/// 160, but 80-bit keys are what `oathkeygen` and older tools make.
pub const MIN_KEY_BITS: usize = 80;
/// The largest key accepted: a SHA-512 block.
pub const MAX_KEY_BITS: usize = 1024;

/// A key given on the command line, decoded; its `Debug` form hides it.
#[derive(Clone)]
pub struct ProvidedKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for ProvidedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProvidedKey({} bytes)", self.0.len())
    }
}

impl ProvidedKey {
    /// Decodes `text`; the error says what is wrong without repeating it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut symbols = Zeroizing::new(String::with_capacity(text.len()));
        for c in text.chars() {
            match c {
                ' ' | '-' => {}
                'a'..='z' | 'A'..='Z' | '2'..='7' => symbols.push(c.to_ascii_uppercase()),
                '=' => break,
                _ => {
                    return Err("not base32: only the letters A-Z and the digits 2-7 \
                                (and spaces or dashes between groups) can be in it"
                        .to_owned());
                }
            }
        }
        if text
            .split_once('=')
            .is_some_and(|(_, padding)| padding.chars().any(|c| c != '='))
        {
            return Err("not base32: '=' may only pad its end".to_owned());
        }
        let bits = symbols.len() * 5;
        if bits < MIN_KEY_BITS {
            return Err(format!(
                "too short: {} base32 characters are {bits} bits, a key needs at least \
                 {MIN_KEY_BITS} ({} characters)",
                symbols.len(),
                MIN_KEY_BITS / 5
            ));
        }
        if bits > MAX_KEY_BITS + 7 {
            return Err(format!("too long: at most {MAX_KEY_BITS} bits"));
        }
        // Base32 without padding, the unused low bits of the last character
        // ignored, as apps and the module read it; a length that leaves a
        // partial character is refused (the module would drop it).
        let partial = || "not base32: its length leaves a partial character".to_owned();
        if matches!(symbols.len() % 8, 1 | 3 | 6) {
            return Err(partial());
        }
        decode_secret(&symbols).map(Self).ok_or_else(partial)
    }

    /// The key, with the base32 text the file and the URI will hold.
    pub fn to_secret(&self) -> Secret {
        Secret {
            key: self.0.clone(),
            base32: Zeroizing::new(encode_secret(&self.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_in_either_case_with_groups_and_padding() {
        let plain = ProvidedKey::parse("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(plain.to_secret().base32.as_str(), "JBSWY3DPEHPK3PXP");
        assert_eq!(*plain.to_secret().key, b"Hello!\xde\xad\xbe\xef");
        for same in [
            "jbswy3dpehpk3pxp",
            "JBSW Y3DP EHPK 3PXP",
            "jbsw-y3dp-ehpk-3pxp",
            "JBSWY3DPEHPK3PXP======",
        ] {
            assert_eq!(
                *ProvidedKey::parse(same).unwrap().to_secret().key,
                *plain.to_secret().key,
                "{same}"
            );
        }
        let long = ProvidedKey::parse("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(long.to_secret().key.len(), 20);
    }

    #[test]
    fn keys_that_are_not_base32_or_too_short_are_refused() {
        for (text, reason) in [
            ("JBSWY3DPEHPK3PX1", "not base32"),
            ("JBSWY3DPEHPK3PX8", "not base32"),
            ("JBSWY3DPEHPK3PX0", "not base32"),
            ("JBSWY3DP_EHPK3PXP", "not base32"),
            ("JBSWY3DPEHPK3PXPé", "not base32"),
            ("JBSWY3DPEHPK3PXP=A", "not base32"),
            ("JBSWY3DPEHPK3PX", "too short"),
            ("", "too short"),
            ("JBSWY3DPEHPK3PXPJ", "partial character"),
        ] {
            let error = ProvidedKey::parse(text).unwrap_err();
            assert!(error.contains(reason), "{text:?}: {error}");
            assert!(text.is_empty() || !error.contains(text), "{error}");
        }
        assert!(ProvidedKey::parse(&"A".repeat(205)).is_ok());
        assert!(ProvidedKey::parse(&"A".repeat(208)).is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let key = ProvidedKey::parse("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(format!("{key:?}"), "ProvidedKey(10 bytes)");
    }
}
