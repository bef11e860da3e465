//! Parsing and serialising `~/.google_authenticator`: once per login the
//! module parses the file, and every login that changes it serialises it.
//!
//! The file is the kind `google-authenticator` writes with its recommended
//! answers (rate limit, reuse protection, five scratch codes), after a few
//! logins have filled in the rate-limit timestamps and used time steps.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use pam_rust_totp::state_file::StateFile;

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
    targets = parse, serialise
}
criterion_main!(state_file);
