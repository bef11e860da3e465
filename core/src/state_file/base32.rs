//! Base32 of RFC 4648 (the alphabet `A`–`Z`, `2`–`7`) without padding, the
//! encoding of a state file's secret.
//!
//! Decoding is strict about symbols and lengths but, as the reference is,
//! ignores the unused low bits of the last symbol. The lenient reading of a
//! secret as a user typed it (case, spaces, dashes, mistyped digits) is
//! [`super::decode_secret`]'s, on top of this one.

use zeroize::Zeroizing;

/// The 32 symbols, each standing for its index.
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The five bits `symbol` stands for, if it is one of the alphabet's.
fn value(symbol: u8) -> Option<u32> {
    match symbol {
        b'A'..=b'Z' => Some(u32::from(symbol - b'A')),
        b'2'..=b'7' => Some(u32::from(symbol - b'2') + 26),
        _ => None,
    }
}

/// The bytes `text` encodes, or `None` if it holds a symbol outside the
/// alphabet (padding included) or has a length no byte string encodes to
/// (1, 3 or 6 symbols past a multiple of 8).
pub(super) fn decode(text: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return None;
    }
    // Each 8 symbols are 5 bytes; room for all of them from the start, so
    // that no copy of the key is left behind by a reallocation.
    let mut bytes = Zeroizing::new(Vec::with_capacity(text.len() / 8 * 5 + 4));
    // The bits read and not yet written: fewer than 8 between symbols.
    let mut pending: u32 = 0;
    let mut count: u32 = 0;
    for &symbol in text {
        pending = (pending << 5) | value(symbol)?;
        count += 5;
        if count >= 8 {
            count -= 8;
            bytes.push(low_byte(pending >> count));
            pending &= (1 << count) - 1;
        }
    }
    Some(bytes)
}

/// Encodes `bytes`, upper case, without padding.
pub(super) fn encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len().div_ceil(5) * 8);
    // The bits not yet written: fewer than 5 between bytes.
    let mut pending: u32 = 0;
    let mut count: u32 = 0;
    for &byte in bytes {
        pending = (pending << 8) | u32::from(byte);
        count += 8;
        while count >= 5 {
            count -= 5;
            text.push(symbol(pending >> count));
        }
        pending &= (1 << count) - 1;
    }
    if count > 0 {
        // The last symbol's unused low bits are zero.
        text.push(symbol(pending << (5 - count)));
    }
    text
}

/// The symbol for the low five bits of `bits`.
fn symbol(bits: u32) -> char {
    char::from(ALPHABET[(bits & 0x1f) as usize])
}

/// The low eight bits of `bits`.
fn low_byte(bits: u32) -> u8 {
    bits.to_le_bytes()[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 4648, section 10, with the padding removed.
    const RFC_4648_VECTORS: [(&str, &str); 7] = [
        ("", ""),
        ("f", "MY"),
        ("fo", "MZXQ"),
        ("foo", "MZXW6"),
        ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ];

    #[test]
    fn rfc_4648_test_vectors() {
        for (bytes, text) in RFC_4648_VECTORS {
            assert_eq!(encode(bytes.as_bytes()), text, "{bytes:?}");
            assert_eq!(
                decode(text.as_bytes()).as_deref().map(Vec::as_slice),
                Some(bytes.as_bytes()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn padding_lower_case_and_other_symbols_are_refused() {
        for text in [
            "MY======", "my", "MZXW6YT8", "MZXW6YT1", "MZXW6YT0", "MZ XQ",
        ] {
            assert!(decode(text.as_bytes()).is_none(), "{text:?}");
        }
    }

    #[test]
    fn lengths_no_byte_string_encodes_to_are_refused() {
        for length in 0..=24 {
            let text = "A".repeat(length);
            assert_eq!(
                decode(text.as_bytes()).is_some(),
                !matches!(length % 8, 1 | 3 | 6),
                "{length} symbols"
            );
        }
    }

    #[test]
    fn unused_low_bits_of_the_last_symbol_are_ignored() {
        // "MY" is `f` and two zero bits; "MZ", "M2" and "M3" set them.
        for text in ["MZ", "M2", "M3"] {
            assert_eq!(
                decode(text.as_bytes()).as_deref(),
                Some(&b"f".to_vec()),
                "{text}"
            );
        }
    }

    /// data-encoding's reading of the same alphabet, as the module used it.
    fn data_encoding_base32() -> data_encoding::Encoding {
        let mut spec = data_encoding::Specification::new();
        spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        spec.check_trailing_bits = false;
        spec.encoding().expect("a valid specification")
    }

    proptest! {
        #[test]
        fn encodes_as_data_encoding_does_and_decodes_back(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let text = encode(&bytes);
            prop_assert_eq!(&text, &data_encoding::BASE32_NOPAD.encode(&bytes));
            let decoded = decode(text.as_bytes()).map(|bytes| bytes.to_vec());
            prop_assert_eq!(decoded, Some(bytes));
        }

        #[test]
        fn decodes_any_text_as_data_encoding_does(text in "[A-Z2-7a=1!]{0,40}") {
            let ours = decode(text.as_bytes()).map(|bytes| bytes.to_vec());
            prop_assert_eq!(ours, data_encoding_base32().decode(text.as_bytes()).ok());
        }

        #[test]
        fn decodes_alphabet_text_of_any_length_as_data_encoding_does(
            text in "[A-Z2-7]{0,64}",
        ) {
            let ours = decode(text.as_bytes()).map(|bytes| bytes.to_vec());
            prop_assert_eq!(ours, data_encoding_base32().decode(text.as_bytes()).ok());
        }
    }
}
