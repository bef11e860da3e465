//! Fuzzes the state-file parser: any bytes must give a file or an error,
//! never a panic, and a parsed file must serialize to exactly its input and
//! parse again to the same model.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rust_totp_core::state_file::StateFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = StateFile::parse(data) {
        let bytes = file.to_bytes();
        assert_eq!(&bytes[..], data, "serialization is not byte-identical");
        let again = StateFile::parse(&bytes).expect("a serialized file parses");
        assert_eq!(again, file);
    }
});
