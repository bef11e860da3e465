//! Codes of every algorithm and digit count: each feature of the verifier
//! with them, and how eight-digit answers are told from scratch codes.
//! Expected codes come from `totp-rs`, an implementation independent of
//! this crate's.

use super::*;
use crate::otp::{Algorithm, CodeFormat, hotp_with};

/// Every format but the default, with the lines that declare it.
fn other_formats() -> Vec<(CodeFormat, String)> {
    let mut formats = Vec::new();
    for algorithm in Algorithm::ALL {
        for digits in CodeFormat::DIGITS {
            let format = CodeFormat::new(algorithm, digits).unwrap();
            if format.is_default() {
                continue;
            }
            let mut lines = String::new();
            if algorithm != Algorithm::Sha1 {
                lines.push_str(&format!("\" ALGORITHM {}\n", algorithm.name()));
            }
            if digits != 6 {
                lines.push_str(&format!("\" DIGITS {digits}\n"));
            }
            formats.push((format, lines));
        }
    }
    formats
}

fn key() -> Vec<u8> {
    crate::state_file::decode_secret(SECRET)
        .expect("valid secret")
        .to_vec()
}

/// The app's TOTP code at `now` (30-second steps), from `totp-rs`.
fn app_code(format: CodeFormat, now: u64) -> String {
    use totp_rs::{Algorithm as Theirs, TOTP};
    let algorithm = match format.algorithm() {
        Algorithm::Sha1 => Theirs::SHA1,
        Algorithm::Sha256 => Theirs::SHA256,
        Algorithm::Sha512 => Theirs::SHA512,
    };
    TOTP::new_unchecked(algorithm, format.digits() as usize, 1, 30, key()).generate(now)
}

fn hotp_app_code(format: CodeFormat, counter: u64) -> String {
    format.format_code(hotp_with(&key(), format, counter))
}

fn at_step(step: u64) -> u64 {
    step * 30
}

#[test]
fn totp_codes_of_every_format_are_accepted_in_the_window_and_recorded() {
    for (format, lines) in other_formats() {
        let settings = Settings {
            noskewadj: true,
            ..Settings::default()
        };
        let mut state = file(&format!("{lines}\" DISALLOW_REUSE\n\" TOTP\n"));
        for (offset, accepted) in [(-1i64, true), (1, true), (-2, false), (2, false)] {
            let step = 10_000u64.checked_add_signed(offset).unwrap();
            let code = app_code(format, at_step(step));
            let verdict = login(&mut state, &settings, STEP_10000, &code).verdict;
            assert_eq!(verdict.is_ok(), accepted, "{format:?} offset {offset}");
        }
        let now = app_code(format, STEP_10000);
        assert_eq!(
            login(&mut state, &settings, STEP_10000, &now).verdict,
            Ok(Granted::TotpCode)
        );
        assert_eq!(
            login(&mut state, &settings, STEP_10000, &now).verdict,
            Err(Denied::ReusedCode),
            "{format:?}"
        );
        assert_eq!(state.disallow_reuse_value(), Some("9999 10001 10000"));
        assert_eq!(state.code_format(), format);
    }
}

#[test]
fn the_sha1_six_digit_code_and_the_apps_code_in_another_length_are_refused() {
    for (format, lines) in other_formats() {
        let mut state = file(&format!("{lines}\" TOTP\n"));
        let settings = Settings {
            noskewadj: true,
            ..Settings::default()
        };
        let sha1_six = app_code(CodeFormat::DEFAULT, STEP_10000);
        let outcome = login(&mut state, &settings, STEP_10000, &sha1_six);
        assert_eq!(outcome.verdict, Err(Denied::InvalidCode), "{format:?}");
        for digits in CodeFormat::DIGITS.filter(|d| *d != format.digits()) {
            let other = CodeFormat::new(format.algorithm(), digits).unwrap();
            let answer = app_code(other, STEP_10000);
            let verdict = login(&mut state, &settings, STEP_10000, &answer).verdict;
            assert!(verdict.is_err(), "{format:?} answered with {digits} digits");
        }
    }
}

#[test]
fn hotp_codes_of_every_format_advance_the_counter_under_its_own_name() {
    for (format, lines) in other_formats() {
        let settings = Settings::default();
        let mut state = file(&format!("{lines}\" HOTP 1\n"));
        let first = hotp_app_code(format, 1);
        assert_eq!(
            login(&mut state, &settings, 0, &first).verdict,
            Ok(Granted::HotpCode)
        );
        assert_eq!(state.hotp_counter(), Some(2));
        assert_eq!(
            login(&mut state, &settings, 0, &first).verdict,
            Err(Denied::InvalidCode)
        );
        assert_eq!(state.hotp_counter(), Some(3), "a failure moves the counter");
        let ahead = hotp_app_code(format, 5);
        assert_eq!(
            login(&mut state, &settings, 0, &ahead).verdict,
            Ok(Granted::HotpCode)
        );
        assert_eq!(text(&state), format!("{SECRET}\n{lines}\" HOTP 6\n"));
    }
}

#[test]
fn skew_is_learned_from_three_codes_of_every_format() {
    for (format, lines) in other_formats() {
        let mut state = file(&format!("{lines}\" TOTP\n"));
        let settings = Settings::default();
        // The phone is 100 steps ahead.
        let verdicts: Vec<_> = (0..3)
            .map(|i| {
                let now = at_step(10_000 + i);
                let code = app_code(format, at_step(10_100 + i));
                login(&mut state, &settings, now, &code).verdict
            })
            .collect();
        assert_eq!(
            verdicts,
            [
                Err(Denied::SkewSampleRecorded),
                Err(Denied::SkewSampleRecorded),
                Ok(Granted::TimeSkewLearned)
            ],
            "{format:?}"
        );
        assert_eq!(state.time_skew(), 100);
    }
}

#[test]
fn forward_pass_and_first_pass_take_the_files_digit_count() {
    for (format, lines) in other_formats() {
        let state = file(&format!("{lines}\" TOTP\n12345678\n"));
        let code = app_code(format, STEP_10000);
        let run = |settings: Settings, first_pass: Option<&'static str>, typed: &str| {
            let mut answers = Answers {
                first_pass,
                prompt: Some(typed.to_owned()),
                prompts: 0,
            };
            let context = Context {
                now: STEP_10000,
                remote_host: None,
            };
            let outcome = verify(&state, &settings, &context, &mut answers);
            (outcome.verdict, outcome.forwarded_password, answers.prompts)
        };
        let forward = Settings {
            forward_pass: true,
            ..Settings::default()
        };
        let (verdict, password, _) = run(forward.clone(), None, &format!("hunter2{code}"));
        assert_eq!(verdict, Ok(Granted::TotpCode), "{format:?}");
        assert_eq!(
            password.as_deref().map(Vec::as_slice),
            Some(&b"hunter2"[..])
        );
        let (verdict, password, _) = run(forward, None, "hunter212345678");
        assert_eq!(verdict, Ok(Granted::ScratchCode), "{format:?}");
        assert_eq!(
            password.as_deref().map(Vec::as_slice),
            Some(&b"hunter2"[..])
        );
        let first_pass: &'static str = Box::leak(format!("secret{code}").into_boxed_str());
        let try_first = Settings {
            pass_mode: PassMode::TryFirstPass,
            ..Settings::default()
        };
        let (verdict, _, prompts) = run(try_first.clone(), Some(first_pass), "000000");
        assert_eq!((verdict, prompts), (Ok(Granted::TotpCode), 0), "{format:?}");
        let (verdict, _, prompts) = run(try_first, Some("secret"), &code);
        assert_eq!((verdict, prompts), (Ok(Granted::TotpCode), 1), "{format:?}");
    }
}

#[test]
fn rate_limit_and_grace_period_work_for_every_format() {
    for (format, lines) in other_formats() {
        let settings = Settings {
            grace_period: 60,
            ..Settings::default()
        };
        let mut state = file(&format!("{lines}\" RATE_LIMIT 2 30\n\" TOTP\n"));
        let code = app_code(format, STEP_10000);
        assert_eq!(
            login(&mut state, &settings, STEP_10000, "xx").verdict,
            Err(Denied::InvalidCode)
        );
        assert_eq!(
            login(&mut state, &settings, STEP_10000, &code).verdict,
            Ok(Granted::TotpCode)
        );
        assert_eq!(
            login(&mut state, &settings, STEP_10000 + 1, &code).verdict,
            Ok(Granted::GracePeriod),
            "{format:?}"
        );
        assert_eq!(
            login(&mut state, &Settings::default(), STEP_10000 + 2, &code).verdict,
            Err(Denied::RateLimited)
        );
    }
}

/// A step whose eight-digit code of `format` does not start with 0, so it
/// can also be a scratch code, and that code.
fn step_with_scratch_shaped_code(format: CodeFormat) -> (u64, u32) {
    (10_000..)
        .map(|step| (step, hotp_with(&key(), format, step)))
        .find(|(_, code)| *code >= 10_000_000)
        .unwrap()
}

#[test]
fn an_eight_digit_answer_that_is_both_a_scratch_code_and_a_code_is_used_as_the_scratch_code() {
    for algorithm in Algorithm::ALL {
        let format = CodeFormat::new(algorithm, 8).unwrap();
        let (step, code) = step_with_scratch_shaped_code(format);
        let lines = format!("\" ALGORITHM {}\n\" DIGITS 8\n", algorithm.name());
        let mut state = file(&format!(
            "{lines}\" DISALLOW_REUSE\n\" TOTP\n{code}\n22222222\n"
        ));
        let answer = code.to_string();
        let settings = Settings::default();
        assert_eq!(
            login(&mut state, &settings, at_step(step), &answer).verdict,
            Ok(Granted::ScratchCode),
            "{algorithm:?}"
        );
        assert_eq!(state.scratch_codes(), vec![22_222_222]);
        assert_eq!(
            state.disallow_reuse_value(),
            Some(""),
            "no step is recorded"
        );
        // Now it is only a code, accepted once.
        assert_eq!(
            login(&mut state, &settings, at_step(step), &answer).verdict,
            Ok(Granted::TotpCode)
        );
        assert_eq!(
            login(&mut state, &settings, at_step(step), &answer).verdict,
            Err(Denied::ReusedCode)
        );
        // Another scratch code, and a code with a leading zero, still work.
        assert_eq!(
            login(&mut state, &settings, at_step(step), "22222222").verdict,
            Ok(Granted::ScratchCode)
        );
    }
}

#[test]
fn a_scratch_code_in_an_eight_digit_hotp_file_does_not_move_the_counter() {
    let format = CodeFormat::new(Algorithm::Sha1, 8).unwrap();
    let mut state = file("\" DIGITS 8\n\" HOTP 1\n12345678\n");
    let outcome = login(&mut state, &Settings::default(), 0, "12345678");
    assert_eq!(outcome.verdict, Ok(Granted::ScratchCode));
    assert_eq!(state.hotp_counter(), Some(1));
    let code = hotp_app_code(format, 1);
    assert_eq!(
        login(&mut state, &Settings::default(), 0, &code).verdict,
        Ok(Granted::HotpCode)
    );
    assert_eq!(text(&state), format!("{SECRET}\n\" DIGITS 8\n\" HOTP 2\n"));
}

#[test]
fn an_eight_digit_code_with_a_leading_zero_is_a_code_and_never_a_scratch_code() {
    let format = CodeFormat::new(Algorithm::Sha256, 8).unwrap();
    let (step, code) = (1..)
        .map(|step| (step, hotp_with(&key(), format, step)))
        .find(|(_, code)| *code < 10_000_000)
        .unwrap();
    let mut state = file("\" ALGORITHM SHA256\n\" DIGITS 8\n\" TOTP\n");
    let answer = format.format_code(code);
    assert!(answer.starts_with('0'));
    let outcome = login(&mut state, &Settings::default(), at_step(step), &answer);
    assert_eq!(outcome.verdict, Ok(Granted::TotpCode));
}

#[test]
fn with_seven_digits_eight_digit_answers_are_scratch_codes_only() {
    let format = CodeFormat::new(Algorithm::Sha512, 7).unwrap();
    let mut state = file("\" ALGORITHM SHA512\n\" DIGITS 7\n\" TOTP\n12345678\n");
    let settings = Settings {
        noskewadj: true,
        ..Settings::default()
    };
    let code = app_code(format, STEP_10000);
    assert_eq!(code.len(), 7);
    // A digit in front of the code is a password, refused without
    // forward_pass.
    let login_as =
        |state: &mut StateFile, answer: &str| login(state, &settings, STEP_10000, answer);
    assert_eq!(
        login_as(&mut state, &format!("1{code}")).verdict,
        Err(Denied::InvalidCode)
    );
    assert_eq!(
        login_as(&mut state, "12345678").verdict,
        Ok(Granted::ScratchCode)
    );
    assert_eq!(login_as(&mut state, &code).verdict, Ok(Granted::TotpCode));
}

#[test]
fn files_of_the_default_format_still_refuse_other_formats_codes() {
    let mut state = file("\" TOTP_AUTH\n");
    let settings = Settings {
        noskewadj: true,
        ..Settings::default()
    };
    for (format, _) in other_formats() {
        if format.algorithm() == Algorithm::Sha1 {
            continue;
        }
        let code = app_code(format, STEP_10000);
        let outcome = login(&mut state, &settings, STEP_10000, &code);
        assert_eq!(outcome.verdict, Err(Denied::InvalidCode), "{format:?}");
    }
}
