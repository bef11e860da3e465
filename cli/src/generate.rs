//! Fresh random material from the operating system: shared secrets in base32
//! and eight-digit emergency scratch codes.

use zeroize::Zeroizing;

/// Bytes of a new enrolment secret: 160 bits (32 base32 characters), the
/// length RFC 4226 recommends and `google-authenticator` writes since 1.11
/// (1.08 to 1.10 wrote 128 bits).
pub const ENROLMENT_SECRET_BYTES: usize = 20;

/// Bytes of a `--keygen` secret: 80 bits (16 base32 characters), the size
/// Proxmox VE's `oathkeygen` prints.
pub const KEYGEN_SECRET_BYTES: usize = 10;

/// Smallest eight-digit scratch code (the first digit is never zero).
const SCRATCH_CODE_MIN: u32 = 10_000_000;
/// Number of eight-digit scratch codes.
const SCRATCH_CODE_SPAN: u32 = 90_000_000;

/// Why no random material could be had.
#[derive(Debug, thiserror::Error)]
#[error("cannot read random bytes from the operating system: {0}")]
pub struct RandomError(#[from] getrandom::Error);

/// A shared secret, as raw key bytes and as the base32 text that files and
/// apps use; both are wiped when dropped.
pub struct Secret {
    pub key: Zeroizing<Vec<u8>>,
    pub base32: Zeroizing<String>,
}

/// A new secret of `bytes` random bytes.
pub fn secret(bytes: usize) -> Result<Secret, RandomError> {
    let mut key = Zeroizing::new(vec![0u8; bytes]);
    getrandom::fill(&mut key)?;
    let base32 = Zeroizing::new(rust_totp_core::state_file::encode_secret(&key));
    Ok(Secret { key, base32 })
}

/// `count` uniformly random eight-digit scratch codes.
pub fn scratch_codes(count: u32) -> Result<Zeroizing<Vec<u32>>, RandomError> {
    let mut codes = Zeroizing::new(Vec::new());
    for _ in 0..count {
        codes.push(scratch_code()?);
    }
    Ok(codes)
}

/// Rejection sampling keeps every eight-digit code equally likely.
fn scratch_code() -> Result<u32, RandomError> {
    let unbiased_below = u32::MAX - u32::MAX % SCRATCH_CODE_SPAN;
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes)?;
        let candidate = u32::from_ne_bytes(bytes);
        if candidate < unbiased_below {
            return Ok(SCRATCH_CODE_MIN + candidate % SCRATCH_CODE_SPAN);
        }
    }
}

#[cfg(test)]
mod tests {
    use data_encoding::BASE32_NOPAD;

    use super::*;

    #[test]
    fn secrets_have_the_expected_length_and_alphabet() {
        for (bytes, chars) in [(ENROLMENT_SECRET_BYTES, 32), (KEYGEN_SECRET_BYTES, 16)] {
            let new = secret(bytes).unwrap();
            assert_eq!(new.base32.len(), chars);
            assert!(
                new.base32
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
            );
            assert_eq!(
                BASE32_NOPAD.decode(new.base32.as_bytes()).unwrap(),
                *new.key
            );
        }
        assert_ne!(*secret(16).unwrap().key, *secret(16).unwrap().key);
    }

    #[test]
    fn scratch_codes_have_eight_digits() {
        let codes = scratch_codes(200).unwrap();
        assert_eq!(codes.len(), 200);
        assert!(codes.iter().all(|c| (10_000_000..=99_999_999).contains(c)));
        assert!(scratch_codes(0).unwrap().is_empty());
    }
}
