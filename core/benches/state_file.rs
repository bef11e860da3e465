//! Parsing and serialising `~/.google_authenticator`: once per login the
//! module parses the file, and every login that changes it serialises it.
//!
//! The file is the kind `google-authenticator` writes with its recommended
//! answers (rate limit, reuse protection, five scratch codes), after a few
//! logins have filled in the rate-limit timestamps and used time steps.
//!
//! The worst case is a file of the largest size holding only option lines
//! with distinct names (about 11,500 of them): it is parsed and then read
//! by every accessor a login uses, so per-line work repeated for each line
//! would show up here.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rust_totp_core::state_file::{GRACE_SLOTS, MAX_FILE_SIZE, StateFile};

const TYPICAL: &str = "2SH3V3GDW7ZNMGYE\n\
\" RATE_LIMIT 3 30 1699999950 1699999975 1700000000\n\
\" WINDOW_SIZE 17\n\
\" DISALLOW_REUSE 56666664 56666665 56666666\n\
\" TOTP_AUTH\n\
11111111\n\
22222222\n\
33333333\n\
44444444\n\
55555555\n";

fn parse(c: &mut Criterion) {
    c.bench_function("state file parse", |b| {
        b.iter(|| {
            let file = StateFile::parse(black_box(TYPICAL.as_bytes()));
            assert!(file.as_ref().is_ok_and(StateFile::is_totp));
            file
        })
    });
}

/// The largest file, of option lines with distinct two- and three-letter
/// names.
fn distinct_options_file() -> String {
    let alphabet: Vec<char> = ('A'..='Z').chain('a'..='z').chain('0'..='9').collect();
    let pick = |n: usize| alphabet[n % alphabet.len()];
    let two = (0..alphabet.len().pow(2)).map(|n| format!("{}{}", pick(n / 62), pick(n)));
    let three = (0..alphabet.len().pow(3))
        .map(|n| format!("{}{}{}", pick(n / 62 / 62), pick(n / 62), pick(n)));
    let mut text = String::from("2SH3V3GDW7ZNMGYE\n");
    for name in two.chain(three) {
        if text.len() + name.len() + 3 > MAX_FILE_SIZE {
            break;
        }
        text.push_str(&format!("\" {name}\n"));
    }
    text
}

fn parse_worst_case(c: &mut Criterion) {
    let text = distinct_options_file();
    c.bench_function("state file parse, 64 KiB of distinct options", |b| {
        b.iter(|| {
            let file =
                StateFile::parse(black_box(text.as_bytes())).expect("the benchmark file is valid");
            let slots = (0..GRACE_SLOTS as u8)
                .filter(|slot| file.has_login_slot(*slot) || file.login_record(*slot).is_some())
                .count();
            let read = (
                file.is_totp(),
                file.hotp_counter(),
                file.step_size(),
                file.window_size(),
                file.time_skew(),
                file.disallow_reuse_value().is_some(),
                file.rate_limit_state().is_some(),
                file.resetting_time_skew().len(),
                file.scratch_codes().len(),
                slots,
            );
            assert_eq!(read, (false, None, 30, 3, 0, false, false, 0, 0, 0));
            file
        })
    });
}

fn serialise(c: &mut Criterion) {
    let file = StateFile::parse(TYPICAL.as_bytes()).expect("the benchmark file is valid");
    c.bench_function("state file serialise", |b| {
        b.iter(|| {
            let bytes = black_box(&file).to_bytes();
            assert_eq!(bytes.len(), TYPICAL.len());
            bytes
        })
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
}

criterion_group! {
    name = state_file;
    config = config();
    targets = parse, parse_worst_case, serialise
}
criterion_main!(state_file);
