//! Throughput of the verifier core, without PAM or file I/O: one call of
//! `verifier::verify` per iteration, on a parsed state file.
//!
//! Every iteration checks the verdict, so a verifier that refuses early (or
//! accepts anything) cannot look fast. The wrong-code cases matter as much as
//! the valid ones: without `noskewadj` a code outside the window is looked for
//! 1500 steps either way to learn the clock skew, as the reference module
//! does.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rust_totp_core::otp::{Algorithm, CodeFormat, hotp, hotp_with, time_step};
use rust_totp_core::state_file::{StateFile, decode_secret};
use rust_totp_core::verifier::{AnswerSource, Context, Denied, Granted, Settings, verify};
use zeroize::Zeroizing;

const SECRET: &str = "2SH3V3GDW7ZNMGYE";
/// A fixed wall-clock time, so every run checks the same codes.
const NOW: u64 = 1_700_000_000;
const STEP_SECONDS: u32 = 30;
/// How far the verifier looks for a code to learn the clock skew, plus
/// margin for the window.
const SKEW_SEARCH_REACH: i64 = 1500 + 10;
const SCRATCH_CODES: [u32; 10] = [
    11_111_111, 22_222_222, 33_333_333, 44_444_444, 55_555_555, 66_666_666, 77_777_777, 88_888_888,
    93_456_789, 98_765_432,
];

/// Answers the prompt with a fixed text; no earlier module's password.
struct Typed(&'static [u8]);

impl AnswerSource for Typed {
    fn first_pass(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        None
    }

    fn prompt(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        Some(Zeroizing::new(self.0.to_vec()))
    }
}

fn key() -> Zeroizing<Vec<u8>> {
    decode_secret(SECRET).expect("the benchmark secret is valid base32")
}

fn parse(text: &str) -> StateFile {
    StateFile::parse(text.as_bytes()).expect("the benchmark state file is valid")
}

/// The answer as typed: six (or eight) digits with leading zeros. Leaked
/// once per benchmark so that the answer source needs no allocation of its
/// own per iteration beyond the one the real PAM glue makes.
fn typed(code: u32, digits: usize) -> &'static [u8] {
    Box::leak(format!("{code:0digits$}").into_bytes().into_boxed_slice())
}

fn totp_code_now() -> u32 {
    hotp(&key(), time_step(NOW, STEP_SECONDS))
}

/// A six-digit code that matches no time step the skew search reaches.
fn code_matching_no_step() -> u32 {
    let key = key();
    let now = time_step(NOW, STEP_SECONDS) as i64;
    let used: HashSet<u32> = (now - SKEW_SEARCH_REACH..=now + SKEW_SEARCH_REACH)
        .map(|step| hotp(&key, step as u64))
        .collect();
    (0..1_000_000)
        .find(|code| !used.contains(code))
        .expect("3000 steps cannot use every code")
}

/// Benchmarks one login: `expected` is checked on every iteration.
fn bench_login(
    c: &mut Criterion,
    name: &str,
    file: &StateFile,
    settings: &Settings,
    answer: &'static [u8],
    expected: Result<Granted, Denied>,
) {
    let context = Context {
        now: NOW,
        remote_host: Some("192.0.2.10"),
    };
    c.bench_function(name, |b| {
        b.iter(|| {
            let outcome = verify(black_box(file), settings, &context, &mut Typed(answer));
            assert_eq!(outcome.verdict, expected, "{name}");
            outcome
        })
    });
}

fn totp_valid(c: &mut Criterion) {
    let answer = typed(totp_code_now(), 6);
    for window in [3, 17] {
        let file = parse(&format!(
            "{SECRET}\n\" WINDOW_SIZE {window}\n\" TOTP_AUTH\n"
        ));
        bench_login(
            c,
            &format!("totp valid code, window {window}"),
            &file,
            &Settings::default(),
            answer,
            Ok(Granted::TotpCode),
        );
    }
}

fn totp_wrong(c: &mut Criterion) {
    let answer = typed(code_matching_no_step(), 6);
    let file = parse(&format!("{SECRET}\n\" TOTP_AUTH\n"));
    bench_login(
        c,
        "totp wrong code, window 3, skew search",
        &file,
        &Settings::default(),
        answer,
        Err(Denied::InvalidCode),
    );
    let noskewadj = Settings {
        noskewadj: true,
        ..Settings::default()
    };
    bench_login(
        c,
        "totp wrong code, window 3, noskewadj",
        &file,
        &noskewadj,
        answer,
        Err(Denied::InvalidCode),
    );
}

fn hotp_valid(c: &mut Criterion) {
    let counter = 1000;
    // The last code of the window: the verifier computes the whole window
    // whatever matches, so the position does not change the time.
    let answer = typed(hotp(&key(), counter + 9), 6);
    let file = parse(&format!(
        "{SECRET}\n\" WINDOW_SIZE 10\n\" HOTP_COUNTER {counter}\n"
    ));
    bench_login(
        c,
        "hotp valid code, window 10",
        &file,
        &Settings::default(),
        answer,
        Ok(Granted::HotpCode),
    );
}

fn scratch_code(c: &mut Criterion) {
    let codes: Vec<String> = SCRATCH_CODES.iter().map(u32::to_string).collect();
    let file = parse(&format!(
        "{SECRET}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n{}\n",
        codes.join("\n")
    ));
    let last = SCRATCH_CODES[SCRATCH_CODES.len() - 1];
    bench_login(
        c,
        "scratch code, last of 10",
        &file,
        &Settings::default(),
        typed(last, 8),
        Ok(Granted::ScratchCode),
    );
}

/// SHA-256 and SHA-512 with eight digits: a valid code in windows of 3 and
/// 17, and a wrong one in a window of 17 without the skew search (every
/// code of the window is computed either way).
fn totp_sha2(c: &mut Criterion) {
    for algorithm in [Algorithm::Sha256, Algorithm::Sha512] {
        let format = CodeFormat::new(algorithm, 8).expect("eight digits is a format");
        let name = algorithm.name();
        let head = format!("{SECRET}\n\" ALGORITHM {name}\n\" DIGITS 8\n");
        let now = time_step(NOW, STEP_SECONDS);
        let valid = typed(hotp_with(&key(), format, now), 8);
        for window in [3, 17] {
            let file = parse(&format!("{head}\" WINDOW_SIZE {window}\n\" TOTP\n"));
            bench_login(
                c,
                &format!("totp {name} 8 digits valid code, window {window}"),
                &file,
                &Settings::default(),
                valid,
                Ok(Granted::TotpCode),
            );
        }
        // Codes with a leading zero are never scratch codes; 8 digits
        // cannot all be taken by 17 steps.
        let used: HashSet<u32> = (now - 8..=now + 8)
            .map(|step| hotp_with(&key(), format, step))
            .collect();
        let wrong = (1..).find(|c| !used.contains(c)).expect("a free code");
        let file = parse(&format!("{head}\" WINDOW_SIZE 17\n\" TOTP\n"));
        bench_login(
            c,
            &format!("totp {name} 8 digits wrong code, window 17, noskewadj"),
            &file,
            &Settings {
                noskewadj: true,
                ..Settings::default()
            },
            typed(wrong, 8),
            Err(Denied::InvalidCode),
        );
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
}

criterion_group! {
    name = verifier;
    config = config();
    targets = totp_valid, totp_wrong, hotp_valid, scratch_code, totp_sha2
}
criterion_main!(verifier);
