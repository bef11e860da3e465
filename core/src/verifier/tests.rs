//! Tests of the verifier. Expected values come from the reference module's
//! own test sequence (secret `2SH3V3GDW7ZNMGYE`, whose TOTP code at step
//! 10000 is `050548`) and from its documented behaviour.

use super::*;
use crate::otp::{format_code, hotp};
use proptest::prelude::*;

const SECRET: &str = "2SH3V3GDW7ZNMGYE";
const STEP_10000: u64 = 10_000 * 30;

/// Answers from fixed strings, counting prompts.
#[derive(Default)]
struct Answers {
    first_pass: Option<&'static str>,
    prompt: Option<String>,
    prompts: usize,
}

impl Answers {
    fn typed(answer: &str) -> Self {
        Self {
            prompt: Some(answer.to_owned()),
            ..Self::default()
        }
    }
}

impl AnswerSource for Answers {
    fn first_pass(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        self.first_pass
            .map(|p| Zeroizing::new(p.as_bytes().to_vec()))
    }
    fn prompt(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        self.prompts += 1;
        self.prompt
            .as_ref()
            .map(|p| Zeroizing::new(p.as_bytes().to_vec()))
    }
}

fn file(options: &str) -> StateFile {
    StateFile::parse(format!("{SECRET}\n{options}").as_bytes()).expect("valid test file")
}

fn code_at(step: u64) -> String {
    let key = crate::state_file::decode_secret(SECRET).expect("valid secret");
    format_code(hotp(&key, step))
}

/// Runs one login and, like the PAM module, keeps the written state.
fn login(state: &mut StateFile, settings: &Settings, now: u64, answer: &str) -> Outcome {
    let outcome = verify(
        state,
        settings,
        &Context {
            now,
            remote_host: Some("192.0.2.7"),
        },
        &mut Answers::typed(answer),
    );
    if let Some(new_state) = &outcome.new_state {
        *state = new_state.clone();
    }
    outcome
}

fn text(state: &StateFile) -> String {
    String::from_utf8_lossy(&state.to_bytes()).into_owned()
}

#[test]
fn known_code_is_accepted_and_malformed_answers_are_not() {
    let state = file("\" TOTP_AUTH\n");
    assert_eq!(code_at(10_000), "050548");
    let settings = Settings::default();
    let verdict = |answer: &str| {
        verify(
            &state,
            &settings,
            &Context {
                now: STEP_10000,
                remote_host: None,
            },
            &mut Answers::typed(answer),
        )
        .verdict
    };
    assert_eq!(verdict("050548"), Ok(Granted::TotpCode));
    for bad in [
        "123456", "50548", "0050548", "050548 ", " 050548", "05054８", "",
    ] {
        assert!(verdict(bad).is_err(), "{bad:?} must be refused");
    }
    assert_eq!(verdict(""), Err(Denied::InvalidCode));
}

#[test]
fn window_of_three_and_of_six() {
    let settings = Settings::default();
    for (options, accepted, refused) in [
        ("\" TOTP_AUTH\n", [9_999, 10_001], [9_998, 10_002]),
        (
            "\" TOTP_AUTH\n\" WINDOW_SIZE 6\n",
            [9_997, 10_002],
            [9_996, 10_003],
        ),
    ] {
        for (steps, want_ok) in [(accepted, true), (refused, false)] {
            for step in steps {
                let mut state = file(options);
                let outcome = login(
                    &mut state,
                    &Settings {
                        noskewadj: true,
                        ..settings.clone()
                    },
                    step * 30,
                    "050548",
                );
                assert_eq!(
                    outcome.verdict.is_ok(),
                    want_ok,
                    "{options:?} at step {step}"
                );
            }
        }
    }
}

#[test]
fn step_size_sixty() {
    let settings = Settings {
        noskewadj: true,
        ..Settings::default()
    };
    for (step, want_ok) in [
        (9_998, false),
        (9_999, true),
        (10_001, true),
        (10_002, false),
        (10_000, true),
    ] {
        let mut state = file("\" TOTP_AUTH\n\" STEP_SIZE 60\n");
        let outcome = login(&mut state, &settings, step * 60, "050548");
        assert_eq!(outcome.verdict.is_ok(), want_ok, "step {step}");
        assert!(outcome.new_state.is_none(), "nothing to record");
    }
}

#[test]
fn disallow_reuse_records_steps_and_expires_old_ones() {
    let settings = Settings::default();
    // The reference's sequence runs with a window of six.
    let mut state = file("\" TOTP_AUTH\n\" WINDOW_SIZE 6\n\" DISALLOW_REUSE\n");
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "050548").verdict,
        Ok(Granted::TotpCode)
    );
    assert_eq!(state.disallow_reuse_value(), Some("10000"));
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "050548").verdict,
        Err(Denied::ReusedCode)
    );
    for step in 10_001..10_008 {
        let outcome = login(&mut state, &settings, step * 30, &code_at(step));
        assert_eq!(outcome.verdict, Ok(Granted::TotpCode), "step {step}");
    }
    assert_eq!(
        text(&state),
        format!(
            "{SECRET}\n\" TOTP_AUTH\n\" WINDOW_SIZE 6\n\" DISALLOW_REUSE 10002 10003 10004 10005 10006 10007\n"
        )
    );
}

#[test]
fn disallow_reuse_keeps_the_reference_spacing() {
    // Dropping the last entry leaves its leading blank, so the reference
    // writes two spaces before the new step.
    let settings = Settings::default();
    let mut state = file("\" TOTP_AUTH\n\" DISALLOW_REUSE 10000 9000\n");
    let outcome = login(&mut state, &settings, 10_001 * 30, &code_at(10_001));
    assert_eq!(outcome.verdict, Ok(Granted::TotpCode));
    assert_eq!(state.disallow_reuse_value(), Some("10000  10001"));
}

#[test]
fn rate_limit_refuses_the_fifth_login_and_records_timestamps() {
    let settings = Settings::default();
    let mut state = file("\" TOTP_AUTH\n\" DISALLOW_REUSE\n\" RATE_LIMIT 4 120\n");
    for (step, want_ok) in [
        (20_000, true),
        (20_001, true),
        (20_002, true),
        (20_003, true),
        (20_004, false),
        (20_006, true),
    ] {
        let mut answers = Answers::typed(&code_at(step));
        let outcome = verify(
            &state,
            &settings,
            &Context {
                now: step * 30,
                remote_host: None,
            },
            &mut answers,
        );
        assert_eq!(outcome.verdict.is_ok(), want_ok, "step {step}");
        if !want_ok {
            assert_eq!(outcome.verdict, Err(Denied::RateLimited));
            assert_eq!(answers.prompts, 0, "a rate-limited login is not prompted");
        }
        state = outcome.new_state.expect("the attempt is recorded");
    }
    assert_eq!(
        state.option_value("RATE_LIMIT"),
        Some("4 120 600060 600090 600120 600180")
    );
}

#[test]
fn time_skew_is_learned_from_three_consecutive_codes() {
    let settings = Settings::default();
    let mut state = file("\" TOTP_AUTH\n");
    for i in 0..4 {
        let outcome = login(
            &mut state,
            &settings,
            (12_000 + i) * 30,
            &code_at(11_000 + i),
        );
        assert_eq!(outcome.verdict.is_ok(), i >= 2, "attempt {i}");
        if i == 1 {
            assert_eq!(
                state.option_value("RESETTING_TIME_SKEW"),
                Some("12000-1000 12001-1000")
            );
        }
    }
    assert_eq!(state.time_skew(), -1000);
    assert_eq!(state.option_value("RESETTING_TIME_SKEW"), Some(""));
    let noskewadj = Settings {
        noskewadj: true,
        ..Settings::default()
    };
    let outcome = login(&mut state, &noskewadj, 12_020 * 30, &code_at(11_010));
    assert_eq!(outcome.verdict, Err(Denied::InvalidCode));
}

#[test]
fn repeating_an_out_of_window_code_changes_nothing() {
    let settings = Settings::default();
    let mut state = file("\" TOTP_AUTH\n");
    login(&mut state, &settings, 12_000 * 30, &code_at(11_000));
    let outcome = login(&mut state, &settings, 12_000 * 30, &code_at(11_000));
    assert_eq!(outcome.verdict, Err(Denied::RepeatedSkewSample));
    assert!(outcome.new_state.is_none());
}

#[test]
fn scratch_code_is_consumed_once() {
    let settings = Settings::default();
    let mut state = file("\" TOTP_AUTH\n");
    assert!(
        login(&mut state, &settings, STEP_10000, "12345678")
            .verdict
            .is_err()
    );
    let mut state = file("\" TOTP_AUTH\n12345678\n87654321\n");
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "12345678").verdict,
        Ok(Granted::ScratchCode)
    );
    assert_eq!(state.scratch_codes(), vec![87_654_321]);
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "12345678").verdict,
        Err(Denied::InvalidCode)
    );
}

#[test]
fn hotp_advances_the_counter() {
    let settings = Settings::default();
    let mut state = file("\" HOTP_COUNTER 1\n");
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "293240").verdict,
        Ok(Granted::HotpCode)
    );
    assert_eq!(state.hotp_counter(), Some(2));
    // The same code again fails, and a failure still moves the counter.
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "293240").verdict,
        Err(Denied::InvalidCode)
    );
    assert_eq!(state.hotp_counter(), Some(3));
    // A code ahead within the window of three is accepted.
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "932068").verdict,
        Ok(Granted::HotpCode)
    );
    assert_eq!(state.hotp_counter(), Some(6));
    assert_eq!(text(&state), format!("{SECRET}\n\" HOTP_COUNTER 6\n"));
}

#[test]
fn no_increment_hotp_leaves_the_counter_on_failure() {
    let settings = Settings {
        no_increment_hotp: true,
        ..Settings::default()
    };
    let mut state = file("\" HOTP_COUNTER 1\n");
    let outcome = login(&mut state, &settings, STEP_10000, "000000");
    assert_eq!(outcome.verdict, Err(Denied::InvalidCode));
    assert!(outcome.new_state.is_none());
}

#[test]
fn forward_pass_splits_password_and_code() {
    let settings = Settings {
        forward_pass: true,
        ..Settings::default()
    };
    let state = file("\" TOTP_AUTH\n");
    let outcome = verify(
        &state,
        &settings,
        &Context {
            now: STEP_10000,
            remote_host: None,
        },
        &mut Answers::typed("hunter2050548"),
    );
    assert_eq!(outcome.verdict, Ok(Granted::TotpCode));
    assert_eq!(
        outcome.forwarded_password.as_deref().map(Vec::as_slice),
        Some(&b"hunter2"[..])
    );
    // Without forward_pass a password in front of the code is refused.
    let plain = verify(
        &state,
        &Settings::default(),
        &Context {
            now: STEP_10000,
            remote_host: None,
        },
        &mut Answers::typed("hunter2050548"),
    );
    assert_eq!(plain.verdict, Err(Denied::InvalidCode));
}

#[test]
fn first_pass_modes() {
    let state = file("\" TOTP_AUTH\n");
    let run = |pass_mode, first_pass| {
        let mut answers = Answers {
            first_pass,
            prompt: Some("050548".into()),
            prompts: 0,
        };
        let settings = Settings {
            pass_mode,
            ..Settings::default()
        };
        let verdict = verify(
            &state,
            &settings,
            &Context {
                now: STEP_10000,
                remote_host: None,
            },
            &mut answers,
        )
        .verdict;
        (verdict.is_ok(), answers.prompts)
    };
    assert_eq!(run(PassMode::UseFirstPass, Some("050548")), (true, 0));
    assert_eq!(run(PassMode::UseFirstPass, Some("111111")), (false, 0));
    // Like the reference, the password of an earlier module may carry a
    // prefix before the code.
    assert_eq!(run(PassMode::UseFirstPass, Some("secret050548")), (true, 0));
    assert_eq!(run(PassMode::TryFirstPass, Some("111111")), (true, 1));
    assert_eq!(run(PassMode::TryFirstPass, Some("050548")), (true, 0));
    assert_eq!(run(PassMode::Prompt, Some("111111")), (true, 1));
}

#[test]
fn without_a_checkable_code_only_an_answer_shaped_like_a_code_ends_the_questions() {
    let asks = |pass_mode, first_pass: Option<&str>| {
        let settings = Settings {
            pass_mode,
            ..Settings::default()
        };
        asks_without_checking(&settings, first_pass.map(str::as_bytes))
    };
    assert!(asks(PassMode::Prompt, Some("0123456789")));
    assert!(!asks(PassMode::UseFirstPass, None));
    assert!(!asks(PassMode::TryFirstPass, Some("0123456789")));
    assert!(!asks(PassMode::TryFirstPass, Some("050548")));
    assert!(asks(PassMode::TryFirstPass, Some("hunter2")));
    assert!(asks(PassMode::TryFirstPass, Some("12345")));
    assert!(asks(PassMode::TryFirstPass, None));
}

#[test]
fn rate_limit_is_exceeded_by_one_attempt_more_than_allowed_in_the_interval() {
    let limit = |timestamps: Vec<u32>| RateLimit {
        attempts: 2,
        interval: 30,
        timestamps,
    };
    assert!(!exceeds_rate_limit(&limit(vec![]), 1000));
    assert!(!exceeds_rate_limit(&limit(vec![990]), 1000));
    assert!(exceeds_rate_limit(&limit(vec![990, 995]), 1000));
    // Attempts older than the interval or from the future do not count.
    assert!(!exceeds_rate_limit(&limit(vec![960, 995]), 1000));
    assert!(!exceeds_rate_limit(&limit(vec![995, 2000]), 1000));
}

#[test]
fn grace_period_lets_the_same_host_in_and_is_saved() {
    let settings = Settings {
        grace_period: 3600,
        ..Settings::default()
    };
    let mut state = file("\" TOTP_AUTH\n");
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "050548").verdict,
        Ok(Granted::TotpCode)
    );
    assert_eq!(state.option_value("LAST0"), Some("192.0.2.7 300000"));
    let outcome = login(&mut state, &settings, STEP_10000 + 600, "");
    assert_eq!(outcome.verdict, Ok(Granted::GracePeriod));
    let outcome = login(&mut state, &settings, STEP_10000 + 3600, "");
    assert_eq!(outcome.verdict, Err(Denied::InvalidCode));
}

#[test]
fn grace_records_are_refused_for_unusable_hosts() {
    let settings = Settings {
        grace_period: 3600,
        ..Settings::default()
    };
    let state = file("\" TOTP_AUTH\n");
    let too_long = "h".repeat(256);
    for host in [
        "two words",
        "tab\there",
        "evil\n12345678",
        "",
        "h\u{f4}te",
        "del\u{7f}",
        too_long.as_str(),
    ] {
        let outcome = verify(
            &state,
            &settings,
            &Context {
                now: STEP_10000,
                remote_host: Some(host),
            },
            &mut Answers::typed("050548"),
        );
        assert_eq!(outcome.verdict, Ok(Granted::TotpCode));
        assert_eq!(outcome.notes, vec![Note::GraceHostUnusable]);
        assert!(outcome.new_state.is_none());
    }
}

#[test]
fn grace_record_replaces_the_oldest_slot() {
    let mut options = String::from("\" TOTP_AUTH\n");
    for slot in 0..10 {
        options.push_str(&format!(
            "\" LAST{slot} 10.0.0.{slot} {}\n",
            1000 + (slot + 5) % 10
        ));
    }
    let settings = Settings {
        grace_period: 60,
        ..Settings::default()
    };
    let mut state = file(&options);
    login(&mut state, &settings, STEP_10000, "050548");
    assert_eq!(state.option_value("LAST5"), Some("192.0.2.7 300000"));
}

fn totp_file_strategy() -> impl Strategy<Value = (Vec<u8>, u32, u64)> {
    (
        proptest::collection::vec(any::<u8>(), 10..=20),
        prop_oneof![Just(1u32), Just(3), Just(17), 1u32..=100],
        1_000_000u64..4_000_000_000,
    )
}

proptest! {
    #[test]
    fn never_accepts_a_code_outside_the_window(
        (key, window, now) in totp_file_strategy(),
        distance in 0u64..5_000,
    ) {
        let secret = crate::state_file::encode_secret(&key);
        let state = StateFile::parse(format!("{secret}\n\" TOTP_AUTH\n\" WINDOW_SIZE {window}\n").as_bytes()).unwrap();
        let step = now / 30;
        let low = step - u64::from((window - 1) / 2);
        let high = step + u64::from(window / 2);
        let target = if distance % 2 == 0 { high + 1 + distance } else { low - 1 - distance };
        let code = hotp(&key, target);
        let in_window = (low..=high).any(|s| hotp(&key, s) == code);
        prop_assume!(!in_window);
        let outcome = verify(
            &state,
            &Settings::default(),
            &Context { now, remote_host: None },
            &mut Answers::typed(&format_code(code)),
        );
        prop_assert!(outcome.verdict.is_err());
    }

    #[test]
    fn accepts_every_code_inside_the_window((key, window, now) in totp_file_strategy(), pick in any::<u32>()) {
        let secret = crate::state_file::encode_secret(&key);
        let state = StateFile::parse(format!("{secret}\n\" TOTP_AUTH\n\" WINDOW_SIZE {window}\n").as_bytes()).unwrap();
        let step = now / 30;
        let low = step - u64::from((window - 1) / 2);
        let target = low + u64::from(pick % window);
        let outcome = verify(
            &state,
            &Settings::default(),
            &Context { now, remote_host: None },
            &mut Answers::typed(&format_code(hotp(&key, target))),
        );
        prop_assert_eq!(outcome.verdict, Ok(Granted::TotpCode));
    }
}

#[test]
fn no_grace_period_means_no_grace_even_for_a_record_from_the_future() {
    let mut state = file(&format!(
        "\" TOTP_AUTH\n\" LAST0 192.0.2.7 {}\n",
        STEP_10000 + 999
    ));
    let outcome = login(&mut state, &Settings::default(), STEP_10000, "");
    assert_eq!(outcome.verdict, Err(Denied::InvalidCode));
}

#[test]
fn with_every_slot_taken_by_a_newer_record_slot_zero_is_reused() {
    let mut options = String::from("\" TOTP_AUTH\n");
    for slot in 0..10 {
        options.push_str(&format!(
            "\" LAST{slot} 10.0.0.{slot} {}\n",
            STEP_10000 + 50
        ));
    }
    let settings = Settings {
        grace_period: 60,
        ..Settings::default()
    };
    let mut state = file(&options);
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "050548").verdict,
        Ok(Granted::TotpCode)
    );
    assert_eq!(state.option_value("LAST0"), Some("192.0.2.7 300000"));
    assert!(!text(&state).contains("LAST/"));
}

#[test]
fn a_host_with_a_zone_id_gets_its_grace_period() {
    let settings = Settings {
        grace_period: 3600,
        ..Settings::default()
    };
    let mut state = file("\" TOTP_AUTH\n");
    let run = |state: &mut StateFile, now: u64, answer: &str| {
        let outcome = verify(
            state,
            &settings,
            &Context {
                now,
                remote_host: Some("fe80::1%eth0"),
            },
            &mut Answers::typed(answer),
        );
        if let Some(new_state) = &outcome.new_state {
            *state = new_state.clone();
        }
        outcome.verdict
    };
    assert_eq!(run(&mut state, STEP_10000, "050548"), Ok(Granted::TotpCode));
    assert_eq!(state.option_value("LAST0"), Some("fe80::1%eth0 300000"));
    assert_eq!(
        run(&mut state, STEP_10000 + 60, ""),
        Ok(Granted::GracePeriod)
    );
    // Compared as an exact string: another zone is another host.
    let outcome = verify(
        &state,
        &settings,
        &Context {
            now: STEP_10000 + 60,
            remote_host: Some("fe80::1%eth1"),
        },
        &mut Answers::typed(""),
    );
    assert_eq!(outcome.verdict, Err(Denied::InvalidCode));
}

// ------------------------------------------------------ values near the limits

const MAX: u64 = crate::state_file::MAX_HOTP_COUNTER;

fn hotp_code(counter: u64) -> String {
    let key = crate::state_file::decode_secret(SECRET).expect("valid secret");
    format_code(hotp(&key, counter))
}

#[test]
fn the_hotp_counter_never_goes_past_what_the_file_holds() {
    let settings = Settings::default();
    // One below the largest value: the last code can still be used…
    let mut state = file(&format!("\" HOTP_COUNTER {}\n", MAX - 1));
    let outcome = login(&mut state, &settings, STEP_10000, &hotp_code(MAX - 1));
    assert_eq!(outcome.verdict, Ok(Granted::HotpCode));
    assert_eq!(state.hotp_counter(), Some(MAX));
    // …and a failure advances it to the largest value.
    let mut state = file(&format!("\" HOTP_COUNTER {}\n", MAX - 1));
    let outcome = login(&mut state, &settings, STEP_10000, &hotp_code(MAX - 2));
    assert_eq!(outcome.verdict, Err(Denied::InvalidCode));
    assert_eq!(text(&state), format!("{SECRET}\n\" HOTP_COUNTER {MAX}\n"));
    // At the largest value nothing is accepted and the file stays as it is.
    for answer in [hotp_code(MAX), hotp_code(MAX - 1), "000000".to_owned()] {
        let outcome = login(&mut state, &settings, STEP_10000, &answer);
        assert_eq!(outcome.verdict, Err(Denied::InvalidCode));
        assert!(outcome.new_state.is_none());
    }
}

#[test]
fn a_stored_skew_at_either_limit_neither_wraps_nor_matches() {
    for skew in [i64::from(i32::MAX), i64::from(i32::MIN)] {
        let mut state = file(&format!("\" TIME_SKEW {skew}\n\" TOTP_AUTH\n"));
        let noskewadj = Settings {
            noskewadj: true,
            ..Settings::default()
        };
        let outcome = login(&mut state, &noskewadj, STEP_10000, "050548");
        assert_eq!(outcome.verdict, Err(Denied::InvalidCode), "{skew}");
        // Without noskewadj a new skew is learned as usual.
        let outcome = login(&mut state, &Settings::default(), STEP_10000, "050548");
        assert_eq!(outcome.verdict, Err(Denied::SkewSampleRecorded), "{skew}");
        assert_eq!(state.option_value("RESETTING_TIME_SKEW"), Some("10000+0"));
    }
}

#[test]
fn used_steps_at_the_limit_are_compared_without_overflow() {
    let settings = Settings::default();
    let mut state = file(&format!(
        "\" DISALLOW_REUSE {} 0 9999\n\" TOTP_AUTH\n",
        i64::MAX
    ));
    let outcome = login(&mut state, &settings, STEP_10000, "050548");
    assert_eq!(outcome.verdict, Ok(Granted::TotpCode));
    assert_eq!(state.disallow_reuse_value(), Some("9999 10000"));
}

#[test]
fn a_clock_beyond_what_the_file_records_is_refused() {
    let settings = Settings::default();
    // RATE_LIMIT holds 32-bit timestamps.
    let state = file("\" RATE_LIMIT 3 30\n\" TOTP_AUTH\n");
    let beyond = u64::from(u32::MAX) + 1;
    let outcome = verify(
        &state,
        &settings,
        &Context {
            now: beyond,
            remote_host: None,
        },
        &mut Answers::typed(&code_at(beyond / 30)),
    );
    assert_eq!(outcome.verdict, Err(Denied::ClockOutOfRange));
    assert!(outcome.new_state.is_none());
    // The last second it holds is recorded.
    let mut state = file("\" RATE_LIMIT 3 30\n\" TOTP_AUTH\n");
    let last = u64::from(u32::MAX);
    let outcome = login(&mut state, &settings, last, &code_at(last / 30));
    assert_eq!(outcome.verdict, Ok(Granted::TotpCode));
    assert_eq!(
        state.option_value("RATE_LIMIT"),
        Some(format!("3 30 {last}").as_str())
    );
    // A TOTP step is a signed 64-bit number.
    let state = file("\" STEP_SIZE 1\n\" TOTP_AUTH\n");
    for now in [1 << 63, u64::MAX] {
        let outcome = verify(
            &state,
            &settings,
            &Context {
                now,
                remote_host: None,
            },
            &mut Answers::typed(&code_at(now)),
        );
        assert_eq!(outcome.verdict, Err(Denied::ClockOutOfRange), "{now}");
    }
    let last_step = u64::MAX >> 1;
    let outcome = verify(
        &state,
        &settings,
        &Context {
            now: last_step,
            remote_host: None,
        },
        &mut Answers::typed(&code_at(last_step)),
    );
    assert_eq!(outcome.verdict, Ok(Granted::TotpCode));
}

#[test]
fn rate_limit_interval_reaching_before_the_epoch_keeps_every_attempt() {
    let settings = Settings::default();
    let mut state = file("\" RATE_LIMIT 1 30 5\n\" TOTP_AUTH\n");
    let outcome = login(&mut state, &settings, 10, "");
    assert_eq!(outcome.verdict, Err(Denied::RateLimited));
    assert_eq!(state.option_value("RATE_LIMIT"), Some("1 30 10"));
}

/// Numbers for the numeric fields: their limits, just past them, and
/// ordinary values.
fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(i64::MAX.to_string()),
        Just((i64::MAX - 1).to_string()),
        Just(i64::MIN.to_string()),
        Just(i32::MAX.to_string()),
        Just(i32::MIN.to_string()),
        Just(u32::MAX.to_string()),
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just("-1".to_owned()),
        (-2_000i64..2_000).prop_map(|n| n.to_string()),
        (10_000i64..10_010).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn extreme_clock() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(STEP_10000),
        Just(u64::from(u32::MAX)),
        Just(u64::from(u32::MAX) + 1),
        Just(u64::MAX >> 1),
        Just(1 << 63),
        Just(u64::MAX),
        any::<u64>(),
    ]
}

proptest! {
    #[test]
    fn numbers_at_their_limits_never_panic_and_every_written_file_parses(
        counter in field_value(),
        skew in field_value(),
        used in proptest::collection::vec(field_value(), 0..3),
        samples in proptest::collection::vec((field_value(), field_value()), 0..4),
        step_size in prop_oneof![Just(1u32), Just(30), 1u32..=60],
        now in extreme_clock(),
        answer in prop_oneof![Just("050548".to_owned()), "[0-9]{6}", "[1-9][0-9]{7}"],
        hotp in any::<bool>(),
        noskewadj in any::<bool>(),
    ) {
        let samples: Vec<String> = samples
            .iter()
            .map(|(step, skew)| {
                let sign = if skew.starts_with('-') { "" } else { "+" };
                format!("{}{sign}{skew}", step.trim_start_matches('-'))
            })
            .collect();
        let mut options = format!(
            "\" STEP_SIZE {step_size}\n\" TIME_SKEW {skew}\n\" DISALLOW_REUSE {}\n\" RESETTING_TIME_SKEW {}\n\" RATE_LIMIT 100 60\n\" TOTP_AUTH\n",
            used.iter().map(|u| u.trim_start_matches('-')).collect::<Vec<_>>().join(" "),
            samples.join(" "),
        );
        if hotp {
            options.push_str(&format!("\" HOTP_COUNTER {counter}\n"));
        }
        let text = format!("{SECRET}\n{options}");
        // Values the module cannot handle are refused by the parser.
        let Ok(state) = StateFile::parse(text.as_bytes()) else {
            return Ok(());
        };
        let settings = Settings { noskewadj, ..Settings::default() };
        let outcome = verify(
            &state,
            &settings,
            &Context { now, remote_host: None },
            &mut Answers::typed(&answer),
        );
        if let Some(new_state) = outcome.new_state {
            let again = StateFile::parse(&new_state.to_bytes());
            prop_assert!(again.is_ok(), "{:?} from {:?}", again, text);
        }
    }
}

// ------------------------------------------------- replay after skew learning

/// Logs in with the code of `step + 10` at each of three consecutive steps,
/// so the third completes the learning of a skew of +10.
fn learn_skew_of_ten(state: &mut StateFile, settings: &Settings) -> Vec<Outcome> {
    (12_000..12_003)
        .map(|step| login(state, settings, step * 30, &code_at(step + 10)))
        .collect()
}

#[test]
fn the_code_that_completes_skew_learning_is_recorded_and_cannot_be_replayed() {
    let settings = Settings::default();
    let mut state = file("\" DISALLOW_REUSE\n\" TOTP_AUTH\n");
    let verdicts: Vec<_> = learn_skew_of_ten(&mut state, &settings)
        .into_iter()
        .map(|outcome| outcome.verdict)
        .collect();
    assert_eq!(
        verdicts,
        vec![
            Err(Denied::SkewSampleRecorded),
            Err(Denied::SkewSampleRecorded),
            Ok(Granted::TimeSkewLearned)
        ]
    );
    assert_eq!(
        text(&state),
        format!(
            "{SECRET}\n\" TIME_SKEW 10\n\" RESETTING_TIME_SKEW \n\" DISALLOW_REUSE 12012\n\" TOTP_AUTH\n"
        )
    );
    // The same code, now inside the shifted window, is a replay.
    let replay = login(&mut state, &settings, 12_002 * 30, &code_at(12_012));
    assert_eq!(replay.verdict, Err(Denied::ReusedCode));
    assert!(replay.new_state.is_none());
    // The next code is still good.
    let next = login(&mut state, &settings, 12_003 * 30, &code_at(12_013));
    assert_eq!(next.verdict, Ok(Granted::TotpCode));
    assert_eq!(state.disallow_reuse_value(), Some("12012 12013"));
}

#[test]
fn without_disallow_reuse_skew_learning_records_no_step() {
    let settings = Settings::default();
    let mut state = file("\" TOTP_AUTH\n");
    learn_skew_of_ten(&mut state, &settings);
    assert_eq!(
        text(&state),
        format!("{SECRET}\n\" TIME_SKEW 10\n\" RESETTING_TIME_SKEW \n\" TOTP_AUTH\n")
    );
}

#[test]
fn a_used_step_cannot_complete_skew_learning() {
    // The code of step 12012 was used before; two samples are waiting.
    let settings = Settings::default();
    let before =
        "\" RESETTING_TIME_SKEW 12000+10 12001+10\n\" DISALLOW_REUSE 12012\n\" TOTP_AUTH\n";
    let mut state = file(before);
    let outcome = login(&mut state, &settings, 12_002 * 30, &code_at(12_012));
    assert_eq!(outcome.verdict, Err(Denied::ReusedCode));
    assert!(outcome.new_state.is_none(), "no skew is learned");
}

/// One login at step 10000 whose answers come from `answers`.
fn login_with(
    state: &mut StateFile,
    settings: &Settings,
    answers: &mut Answers,
) -> Result<Granted, Denied> {
    let outcome = verify(
        state,
        settings,
        &Context {
            now: STEP_10000,
            remote_host: None,
        },
        answers,
    );
    if let Some(new_state) = outcome.new_state {
        *state = new_state;
    }
    outcome.verdict
}

#[test]
fn every_way_of_giving_a_totp_code_records_it() {
    let code = "050548";
    let with_password = "hunter2050548";
    let cases: [(PassMode, bool, Option<&'static str>, Option<&str>); 5] = [
        (PassMode::Prompt, false, None, Some(code)),
        (PassMode::TryFirstPass, false, Some(code), Some("111111")),
        (PassMode::UseFirstPass, false, Some(code), None),
        (PassMode::Prompt, true, None, Some(with_password)),
        (PassMode::UseFirstPass, true, Some(with_password), None),
    ];
    for (pass_mode, forward_pass, first_pass, prompt) in cases {
        let settings = Settings {
            pass_mode,
            forward_pass,
            ..Settings::default()
        };
        let mut state = file("\" DISALLOW_REUSE\n\" TOTP_AUTH\n");
        let answers = || Answers {
            first_pass,
            prompt: prompt.map(str::to_owned),
            prompts: 0,
        };
        let case = format!("{pass_mode:?}, forward_pass {forward_pass}");
        assert_eq!(
            login_with(&mut state, &settings, &mut answers()),
            Ok(Granted::TotpCode),
            "{case}"
        );
        assert_eq!(state.disallow_reuse_value(), Some("10000"), "{case}");
        assert_eq!(
            login_with(&mut state, &settings, &mut answers()),
            Err(Denied::ReusedCode),
            "{case}"
        );
    }
}

// ------------------------------------------------------- skew learning rules

/// The verdict and `RESETTING_TIME_SKEW` after one login at step 12002
/// with the code of step `12002 + skew`, from a file whose
/// `RESETTING_TIME_SKEW` is `samples`.
fn third_sample(samples: &str, skew: i64) -> (Result<Granted, Denied>, StateFile) {
    let mut state = file(&format!("\" RESETTING_TIME_SKEW {samples}\n\" TOTP_AUTH\n"));
    let code = code_at(12_002u64.checked_add_signed(skew).expect("a valid step"));
    let outcome = login(&mut state, &Settings::default(), 12_002 * 30, &code);
    (outcome.verdict, state)
}

#[test]
fn samples_must_come_from_consecutive_steps_at_most_two_apart() {
    for (samples, learned) in [
        ("12000+10 12001+10", true),
        ("11998+10 12000+10", true),
        ("11999+10 12000+10", true),
        ("11997+10 12000+10", false),
        ("12000+10 12000+9", false),
        ("12001+10 12000+9", false),
        ("11996+10 11998+10", false),
    ] {
        let (verdict, _) = third_sample(samples, 10);
        assert_eq!(
            verdict == Ok(Granted::TimeSkewLearned),
            learned,
            "{samples}: {verdict:?}"
        );
    }
}

#[test]
fn earlier_skews_must_be_within_one_of_the_newest() {
    for (samples, newest, learned) in [
        ("12000+9 12001+9", 10, true),
        ("12000+11 12001+9", 10, true),
        ("12000+8 12001+10", 10, false),
        ("12000+10 12001+12", 10, false),
        ("12000-9 12001-11", -10, true),
        ("12000-8 12001-10", -10, false),
    ] {
        let (verdict, _) = third_sample(samples, newest);
        assert_eq!(
            verdict == Ok(Granted::TimeSkewLearned),
            learned,
            "{samples} then {newest:+}: {verdict:?}"
        );
    }
}

#[test]
fn the_learned_skew_is_the_average_rounded_toward_zero() {
    for (samples, newest, average) in [
        ("12000+10 12001+10", 10, 10),
        ("12000+9 12001+10", 10, 9),
        ("12000+11 12001+10", 11, 10),
        ("12000-9 12001-10", -10, -9),
        ("12000-11 12001-11", -10, -10),
    ] {
        let (verdict, state) = third_sample(samples, newest);
        assert_eq!(verdict, Ok(Granted::TimeSkewLearned), "{samples}");
        assert_eq!(state.time_skew(), average, "{samples} then {newest:+}");
    }
}

#[test]
fn only_the_three_most_recent_samples_count() {
    // Older entries are dropped, whatever they say.
    let (verdict, _) = third_sample("5+900 6-900 7+0 12000+10 12001+10", 10);
    assert_eq!(verdict, Ok(Granted::TimeSkewLearned));
    let (verdict, state) = third_sample("5+900 6-900 12000+10 12001+3", 10);
    assert_eq!(verdict, Err(Denied::SkewSampleRecorded));
    assert_eq!(
        state.option_value("RESETTING_TIME_SKEW"),
        Some("12000+10 12001+3 12002+10")
    );
}

#[test]
fn a_sample_repeating_the_last_code_is_ignored_even_from_another_step() {
    // 12001+11 and 12002+10 are the same code.
    let (verdict, state) = third_sample("12000+10 12001+11", 10);
    assert_eq!(verdict, Err(Denied::RepeatedSkewSample));
    assert_eq!(
        state.option_value("RESETTING_TIME_SKEW"),
        Some("12000+10 12001+11")
    );
}

#[test]
fn the_skew_search_reaches_1499_steps_either_way() {
    for (skew, found) in [
        (1_499, true),
        (-1_499, true),
        (1_500, false),
        (-1_500, false),
    ] {
        let (verdict, _) = third_sample("", skew);
        let want = if found {
            Err(Denied::SkewSampleRecorded)
        } else {
            Err(Denied::InvalidCode)
        };
        assert_eq!(verdict, want, "{skew:+}");
    }
}

// ------------------------------------------------------------------ HOTP

#[test]
fn the_hotp_window_reaches_window_size_codes_ahead() {
    let settings = Settings::default();
    for (counter, window, code, accepted) in [
        (5, 3, 7, true),
        (5, 3, 8, false),
        (5, 3, 4, false),
        (40, 1, 40, true),
        (40, 1, 41, false),
        (2, 10, 11, true),
        (2, 10, 12, false),
    ] {
        let mut state = file(&format!(
            "\" HOTP_COUNTER {counter}\n\" WINDOW_SIZE {window}\n"
        ));
        let outcome = login(&mut state, &settings, STEP_10000, &hotp_code(code));
        let want_counter = if accepted { code + 1 } else { counter + 1 };
        assert_eq!(
            (outcome.verdict.is_ok(), state.hotp_counter()),
            (accepted, Some(want_counter)),
            "counter {counter}, window {window}, code {code}"
        );
    }
}

#[test]
fn a_counter_of_zero_or_below_means_totp() {
    for counter in ["0", "-3"] {
        let mut state = file(&format!("\" HOTP_COUNTER {counter}\n\" TOTP_AUTH\n"));
        let outcome = login(&mut state, &Settings::default(), STEP_10000, "050548");
        assert_eq!(outcome.verdict, Ok(Granted::TotpCode), "{counter}");
        // A failure does not touch the counter either.
        let outcome = login(&mut state, &Settings::default(), STEP_10000, &hotp_code(0));
        assert!(outcome.new_state.is_none(), "{counter}");
    }
}

#[test]
fn a_file_in_neither_mode_accepts_only_scratch_codes() {
    let mut state = file("12345678\n");
    let settings = Settings::default();
    for answer in ["050548", &hotp_code(0), &hotp_code(1)] {
        let outcome = login(&mut state, &settings, STEP_10000, answer);
        assert_eq!(outcome.verdict, Err(Denied::InvalidCode), "{answer}");
        assert!(outcome.new_state.is_none(), "{answer}");
    }
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "12345678").verdict,
        Ok(Granted::ScratchCode)
    );
}

// ------------------------------------------------------------ rate limit

#[test]
fn a_rate_limit_of_one_keeps_only_the_newest_attempt() {
    let settings = Settings::default();
    let mut state = file(&format!(
        "\" RATE_LIMIT 1 60 {} {}\n\" TOTP_AUTH\n",
        STEP_10000 - 61,
        STEP_10000 - 10
    ));
    let outcome = login(&mut state, &settings, STEP_10000, "050548");
    assert_eq!(outcome.verdict, Err(Denied::RateLimited));
    assert_eq!(
        state.option_value("RATE_LIMIT"),
        Some(format!("1 60 {STEP_10000}").as_str())
    );
    // Once the interval has passed, the next attempt gets in.
    let outcome = login(&mut state, &settings, STEP_10000 + 61, &code_at(10_002));
    assert_eq!(outcome.verdict, Ok(Granted::TotpCode));
}

#[test]
fn the_rate_limit_interval_includes_its_first_second() {
    let settings = Settings::default();
    // An attempt exactly `interval` seconds ago still counts.
    let mut state = file(&format!(
        "\" RATE_LIMIT 1 30 {}\n\" TOTP_AUTH\n",
        STEP_10000 - 30
    ));
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "050548").verdict,
        Err(Denied::RateLimited)
    );
    let mut state = file(&format!(
        "\" RATE_LIMIT 1 30 {}\n\" TOTP_AUTH\n",
        STEP_10000 - 31
    ));
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "050548").verdict,
        Ok(Granted::TotpCode)
    );
    assert_eq!(
        state.option_value("RATE_LIMIT"),
        Some(format!("1 30 {STEP_10000}").as_str())
    );
}

// ------------------------------------------------------------ answer sources

#[test]
fn without_a_first_pass_mode_the_earlier_password_is_not_used() {
    let state = file("\" TOTP_AUTH\n");
    let mut answers = Answers {
        first_pass: Some("050548"),
        prompt: Some("111111".to_owned()),
        prompts: 0,
    };
    let outcome = verify(
        &state,
        &Settings::default(),
        &Context {
            now: STEP_10000,
            remote_host: None,
        },
        &mut answers,
    );
    assert_eq!(outcome.verdict, Err(Denied::InvalidCode));
    assert_eq!(answers.prompts, 1);
}

// ------------------------------------------------------------ grace period

/// The options of a file whose `LASTn` lines are `records` (slot, host,
/// time), after one successful login from 192.0.2.7 at step 10000.
fn after_grace_login(records: &[(u8, &str, u64)]) -> StateFile {
    let mut options = String::from("\" TOTP_AUTH\n");
    for (slot, host, when) in records {
        options.push_str(&format!("\" LAST{slot} {host} {when}\n"));
    }
    let settings = Settings {
        grace_period: 60,
        ..Settings::default()
    };
    let mut state = file(&options);
    assert_eq!(
        login(&mut state, &settings, STEP_10000, "050548").verdict,
        Ok(Granted::TotpCode)
    );
    state
}

/// The slot that holds the record of 192.0.2.7.
fn slot_of_new_record(state: &StateFile) -> Option<u8> {
    (0..10).find(|slot| {
        state
            .login_record(*slot)
            .is_some_and(|record| record.host == "192.0.2.7" && record.when == STEP_10000)
    })
}

#[test]
fn the_host_keeps_its_slot() {
    let state = after_grace_login(&[(0, "10.0.0.1", 5), (4, "192.0.2.7", 6), (6, "10.0.0.2", 1)]);
    assert_eq!(slot_of_new_record(&state), Some(4));
    assert_eq!(state.option_value("LAST0"), Some("10.0.0.1 5"));
}

#[test]
fn a_new_host_takes_the_first_free_slot() {
    let state = after_grace_login(&[(0, "10.0.0.1", 5), (1, "10.0.0.2", 1), (3, "10.0.0.3", 7)]);
    assert_eq!(slot_of_new_record(&state), Some(2));
    let state = after_grace_login(&[]);
    assert_eq!(slot_of_new_record(&state), Some(0));
}

#[test]
fn a_record_of_the_host_after_a_free_slot_is_still_reused() {
    let state = after_grace_login(&[(0, "10.0.0.1", 5), (7, "192.0.2.7", 6)]);
    assert_eq!(slot_of_new_record(&state), Some(7));
    assert!(!state.has_login_slot(1));
}

#[test]
fn with_every_slot_taken_the_first_of_the_oldest_is_replaced() {
    let mut records: Vec<(u8, String, u64)> = (0..10)
        .map(|slot| (slot, format!("10.0.0.{slot}"), 900))
        .collect();
    records[3].2 = 100;
    records[8].2 = 100;
    let records: Vec<(u8, &str, u64)> = records
        .iter()
        .map(|(s, h, w)| (*s, h.as_str(), *w))
        .collect();
    let state = after_grace_login(&records);
    assert_eq!(slot_of_new_record(&state), Some(3));
    assert_eq!(state.option_value("LAST8"), Some("10.0.0.8 100"));
}

#[test]
fn records_as_new_as_now_are_not_replaced_before_slot_zero() {
    let hosts: Vec<String> = (0..10).map(|slot| format!("10.0.0.{slot}")).collect();
    let records: Vec<(u8, &str, u64)> = (0..10u8)
        .map(|slot| (slot, hosts[usize::from(slot)].as_str(), STEP_10000))
        .collect();
    let state = after_grace_login(&records);
    assert_eq!(slot_of_new_record(&state), Some(0));
    assert_eq!(
        state.option_value("LAST9"),
        Some(format!("10.0.0.9 {STEP_10000}").as_str())
    );
}

#[test]
fn a_malformed_record_is_neither_free_nor_old() {
    let mut options = String::from("\" TOTP_AUTH\n\" LAST0 10.0.0.1 soon\n");
    for slot in 1..10 {
        options.push_str(&format!("\" LAST{slot} 10.0.0.{slot} {}\n", 500 + slot));
    }
    let settings = Settings {
        grace_period: 60,
        ..Settings::default()
    };
    let mut state = file(&options);
    login(&mut state, &settings, STEP_10000, "050548");
    assert_eq!(slot_of_new_record(&state), Some(1));
    assert_eq!(state.option_value("LAST0"), Some("10.0.0.1 soon"));
}

mod formats;
