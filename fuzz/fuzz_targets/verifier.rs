//! Fuzzes the verifier with an arbitrary state file, settings, time, remote
//! host and answer. It must never panic, and whatever it writes back must be
//! a valid state file that keeps the secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rust_totp_core::state_file::StateFile;
use rust_totp_core::verifier::{AnswerSource, Context, PassMode, Settings, verify};
use zeroize::Zeroizing;

struct Answers<'a> {
    first_pass: &'a [u8],
    prompt: &'a [u8],
}

impl AnswerSource for Answers<'_> {
    fn first_pass(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        Some(Zeroizing::new(self.first_pass.to_vec()))
    }
    fn prompt(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        Some(Zeroizing::new(self.prompt.to_vec()))
    }
}

/// Splits the input at the first three `0xff` bytes into file, answer,
/// remote host and first pass; the leading control bytes pick settings.
fn split(data: &[u8]) -> Option<(u8, u64, &[u8], &[u8], &[u8], &[u8])> {
    let (control, rest) = data.split_first()?;
    let (time, rest) = rest.split_at_checked(5)?;
    let mut parts = rest.splitn(4, |b| *b == 0xff);
    let now = time.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
    Some((
        *control,
        now,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    ))
}

fuzz_target!(|data: &[u8]| {
    let Some((control, now, file, answer, host, first_pass)) = split(data) else {
        return;
    };
    let Ok(state) = StateFile::parse(file) else {
        return;
    };
    let settings = Settings {
        pass_mode: match control % 3 {
            0 => PassMode::Prompt,
            1 => PassMode::TryFirstPass,
            _ => PassMode::UseFirstPass,
        },
        forward_pass: control & 0x04 != 0,
        noskewadj: control & 0x08 != 0,
        no_increment_hotp: control & 0x10 != 0,
        grace_period: if control & 0x20 != 0 { 3600 } else { 0 },
    };
    let host = std::str::from_utf8(host).ok();
    let outcome = verify(
        &state,
        &settings,
        &Context {
            now,
            remote_host: host,
        },
        &mut Answers {
            first_pass,
            prompt: answer,
        },
    );
    if let Some(new_state) = outcome.new_state {
        let reparsed = StateFile::parse(&new_state.to_bytes()).expect("written state parses");
        assert_eq!(reparsed.secret_key(), state.secret_key());
    }
});
