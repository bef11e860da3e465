//! Differential tests: every scenario runs through real Linux-PAM with the
//! reference `pam_google_authenticator.so` and, once it exports
//! `pam_sm_authenticate`, with our module, each from its own copy of the
//! same initial state file. The expected outcomes are the reference's
//! behaviour (read from its source and confirmed here); our module must
//! match it byte for byte, except in the scenarios that declare an intended
//! difference with its reason.
//!
//! Times are frozen with libfaketime in the middle of a TOTP step ([`T0`] is
//! 15 s into step [`S0`]); codes come from `oathtool`.
//!
//! A module that returns PAM_IGNORE as the only deciding module of a stack
//! makes `pam_authenticate` return PAM_PERM_DENIED: that is how `nullok`
//! without a state file shows up here.

#[path = "pam_differential/code_formats.rs"]
mod code_formats;
mod common;

use std::path::Path;

use common::codes::{self, reference_enrolment};
use common::driver::{Authtok, Message, PamCode};
use common::scenario::{
    Answer, CODE_PROMPT, Expect, PASSWORD_AND_CODE_PROMPT, S0, SECRET, Scenario, Step, T0, check,
};
use common::system::{ALICE, Account, BOB, NOFILE, test_user};

/// A TOTP state file with no other options.
fn totp_file() -> String {
    format!("{SECRET}\n\" TOTP_AUTH\n")
}

/// A TOTP state file with one option line before `TOTP_AUTH`.
fn totp_file_with(option: &str) -> String {
    format!("{SECRET}\n\" {option}\n\" TOTP_AUTH\n")
}

fn totp(steps: i64) -> Answer {
    Answer::Totp(steps)
}

fn text(answer: &str) -> Answer {
    Answer::text(answer)
}

const SCRATCH: [&str; 3] = ["48239176", "67530919", "90153377"];

fn file_with_scratch_codes() -> String {
    format!("{SECRET}\n\" TOTP_AUTH\n{}\n", SCRATCH.join("\n"))
}

// ---------------------------------------------------------------- TOTP window

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn totp_code_of_the_current_step_is_accepted() {
    check(|| {
        Scenario::new("totp current step", &totp_file())
            .step(Step::at(T0, Expect::success()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn totp_code_one_step_behind_is_accepted() {
    check(|| {
        Scenario::new("totp -1 step", &totp_file())
            .step(Step::at(T0, Expect::success()).answer(totp(-1)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn totp_code_one_step_ahead_is_accepted() {
    check(|| {
        Scenario::new("totp +1 step", &totp_file())
            .step(Step::at(T0, Expect::success()).answer(totp(1)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn totp_code_two_steps_behind_is_refused_and_starts_skew_learning() {
    check(|| {
        Scenario::new("totp -2 steps", &totp_file()).step(
            Step::at(
                T0,
                Expect::failure().rewritten(format!(
                    "{SECRET}\n\" RESETTING_TIME_SKEW {S0}-2\n\" TOTP_AUTH\n"
                )),
            )
            .answer(totp(-2)),
        )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn totp_code_two_steps_ahead_is_refused_and_starts_skew_learning() {
    check(|| {
        Scenario::new("totp +2 steps", &totp_file()).step(
            Step::at(
                T0,
                Expect::failure().rewritten(format!(
                    "{SECRET}\n\" RESETTING_TIME_SKEW {S0}+2\n\" TOTP_AUTH\n"
                )),
            )
            .answer(totp(2)),
        )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn totp_code_outside_the_window_with_noskewadj_changes_nothing() {
    check(|| {
        Scenario::new("totp +2 steps noskewadj", &totp_file())
            .args(&["noskewadj"])
            .step(Step::at(T0, Expect::failure()).answer(totp(2)))
            .step(Step::at(T0, Expect::failure()).answer(totp(-2)))
    });
}

// ------------------------------------------------------------ answer formats

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn wrong_code_is_refused() {
    check(|| {
        Scenario::new("wrong code", &totp_file())
            .args(&["noskewadj"])
            .step(Step::at(T0, Expect::failure()).answer(text("000000")))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn malformed_answers_are_refused_without_any_change() {
    // Without noskewadj: a malformed answer never reaches skew learning.
    check(|| {
        let mut scenario = Scenario::new("malformed answers", &totp_file());
        for answer in [
            text("12345"),
            text("1234567"),
            Answer::PasswordAndTotp("9".to_owned(), 0),
            Answer::PasswordAndTotp(" ".to_owned(), 0),
            text("abcdef"),
            text("12a456"),
            text("+12345"),
            text("-12345"),
            text(""),
            Answer::TotpThen(0, "x".to_owned()),
            Answer::TotpThen(0, " ".to_owned()),
            Answer::TotpThen(0, "\n".to_owned()),
        ] {
            scenario = scenario.step(Step::at(T0, Expect::failure()).answer(answer));
        }
        scenario
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn null_response_prompts_twice_then_fails() {
    // The reference asks again for the scratch-code pass when the first
    // prompt got no text; the driver then has no answer left and fails the
    // conversation.
    check(|| {
        Scenario::new("null response", &totp_file()).step(
            Step::at(
                T0,
                Expect::failure().messages(vec![
                    Message::echo_off(CODE_PROMPT),
                    Message::echo_off(CODE_PROMPT),
                ]),
            )
            .answer(Answer::Null),
        )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn failing_conversation_prompts_twice_then_fails() {
    check(|| {
        Scenario::new("conversation error", &totp_file()).step(Step::at(
            T0,
            Expect::failure().messages(vec![
                Message::echo_off(CODE_PROMPT),
                Message::echo_off(CODE_PROMPT),
            ]),
        ))
    });
}

// ------------------------------------------------------------ scratch codes

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn scratch_code_is_consumed_and_the_others_kept() {
    check(|| {
        Scenario::new("scratch code", &file_with_scratch_codes())
            .step(
                Step::at(
                    T0,
                    Expect::success().rewritten(format!(
                        "{SECRET}\n\" TOTP_AUTH\n{}\n{}\n",
                        SCRATCH[0], SCRATCH[2]
                    )),
                )
                .answer(text(SCRATCH[1])),
            )
            .step(Step::at(T0 + 1, Expect::failure()).answer(text(SCRATCH[1])))
            .step(
                Step::at(
                    T0 + 2,
                    Expect::success()
                        .rewritten(format!("{SECRET}\n\" TOTP_AUTH\n{}\n", SCRATCH[0])),
                )
                .answer(text(SCRATCH[2])),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_scratch_code_after_a_line_starting_with_a_quote_is_accepted() {
    check(|| {
        let content = format!("{SECRET}\n\" TOTP_AUTH\n\"a note\n{}\n", SCRATCH[0]);
        Scenario::new("scratch code after a note", &content).step(
            Step::at(
                T0,
                Expect::success().rewritten(format!("{SECRET}\n\" TOTP_AUTH\n\"a note\n")),
            )
            .answer(text(SCRATCH[0])),
        )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn last_scratch_code_without_newline_is_consumed() {
    check(|| {
        let content = format!("{SECRET}\n\" TOTP_AUTH\n{}\n{}", SCRATCH[0], SCRATCH[1]);
        Scenario::new("scratch code at end of file", &content).step(
            Step::at(
                T0,
                Expect::success().rewritten(format!("{SECRET}\n\" TOTP_AUTH\n{}\n", SCRATCH[0])),
            )
            .answer(text(SCRATCH[1])),
        )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn consuming_a_scratch_code_swallows_the_blank_lines_after_it() {
    check(|| {
        let content = format!(
            "{SECRET}\n\" TOTP_AUTH\n{}\n\n\n{}\n",
            SCRATCH[0], SCRATCH[1]
        );
        Scenario::new("scratch code before blank lines", &content).step(
            Step::at(
                T0,
                Expect::success().rewritten(format!("{SECRET}\n\" TOTP_AUTH\n{}\n", SCRATCH[1])),
            )
            .answer(text(SCRATCH[0])),
        )
    });
}

// ---------------------------------------------------------- DISALLOW_REUSE

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn disallow_reuse_records_codes_refuses_replays_and_expires_old_entries() {
    check(|| {
        let file = |list: &str| format!("{SECRET}\n\" DISALLOW_REUSE {list}\n\" TOTP_AUTH\n");
        Scenario::new("disallow reuse", &totp_file_with("DISALLOW_REUSE"))
            .step(Step::at(T0, Expect::success().rewritten(file(&S0.to_string()))).answer(totp(0)))
            .step(Step::at(T0, Expect::failure()).answer(totp(0)))
            .step(Step::at(T0 + 30, Expect::failure()).answer(totp(-1)))
            .step(
                Step::at(
                    T0 + 30,
                    Expect::success().rewritten(file(&format!("{S0} {}", S0 + 1))),
                )
                .answer(totp(0)),
            )
            .step(
                Step::at(
                    T0 + 120,
                    Expect::success().rewritten(file(&(S0 + 4).to_string())),
                )
                .answer(totp(0)),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn disallow_reuse_leaves_a_double_space_when_the_last_entry_expires() {
    check(|| {
        let content = totp_file_with(&format!("DISALLOW_REUSE {} {}", S0 - 1, S0 - 70));
        Scenario::new("disallow reuse double space", &content).step(
            Step::at(
                T0,
                Expect::success()
                    .rewritten(totp_file_with(&format!("DISALLOW_REUSE {}  {S0}", S0 - 1))),
            )
            .answer(totp(0)),
        )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn disallow_reuse_drops_expired_leading_entries_cleanly() {
    check(|| {
        let content = totp_file_with(&format!("DISALLOW_REUSE {} {}", S0 - 70, S0 + 1));
        Scenario::new("disallow reuse expiry", &content).step(
            Step::at(
                T0,
                Expect::success()
                    .rewritten(totp_file_with(&format!("DISALLOW_REUSE {} {S0}", S0 + 1))),
            )
            .answer(totp(0)),
        )
    });
}

// --------------------------------------------------------------- RATE_LIMIT

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn rate_limit_refuses_the_fourth_attempt_within_the_interval() {
    check(|| {
        let file = |stamps: &[u64]| {
            let stamps: Vec<String> = stamps.iter().map(u64::to_string).collect();
            totp_file_with(&format!("RATE_LIMIT 3 30 {}", stamps.join(" ")))
        };
        Scenario::new("rate limit", &totp_file_with("RATE_LIMIT 3 30"))
            .step(Step::at(T0, Expect::failure().rewritten(file(&[T0]))).answer(text("12345")))
            .step(
                Step::at(T0 + 1, Expect::failure().rewritten(file(&[T0, T0 + 1])))
                    .answer(text("12345")),
            )
            .step(
                Step::at(
                    T0 + 2,
                    Expect::success().rewritten(file(&[T0, T0 + 1, T0 + 2])),
                )
                .answer(totp(0)),
            )
            .step(
                Step::at(
                    T0 + 3,
                    Expect::failure()
                        .no_messages()
                        .rewritten(file(&[T0 + 1, T0 + 2, T0 + 3])),
                )
                .answer(totp(0)),
            )
            .step(Step::at(T0 + 40, Expect::success().rewritten(file(&[T0 + 40]))).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn rate_limit_drops_timestamps_from_the_future() {
    check(|| {
        let content = totp_file_with(&format!("RATE_LIMIT 3 30 {}", T0 + 100));
        Scenario::new("rate limit future stamp", &content).step(
            Step::at(
                T0,
                Expect::success().rewritten(totp_file_with(&format!("RATE_LIMIT 3 30 {T0}"))),
            )
            .answer(totp(0)),
        )
    });
}

// -------------------------------------------------------- WINDOW/STEP_SIZE

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn window_size_17_accepts_eight_steps_either_side() {
    check(|| {
        Scenario::new("window size 17", &totp_file_with("WINDOW_SIZE 17"))
            .args(&["noskewadj"])
            .step(Step::at(T0, Expect::success()).answer(totp(8)))
            .step(Step::at(T0, Expect::success()).answer(totp(-8)))
            .step(Step::at(T0, Expect::failure()).answer(totp(9)))
            .step(Step::at(T0, Expect::failure()).answer(totp(-9)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn even_window_size_reaches_further_ahead_than_behind() {
    check(|| {
        Scenario::new("window size 4", &totp_file_with("WINDOW_SIZE 4"))
            .args(&["noskewadj"])
            .step(Step::at(T0, Expect::success()).answer(totp(2)))
            .step(Step::at(T0, Expect::success()).answer(totp(-1)))
            .step(Step::at(T0, Expect::failure()).answer(totp(-2)))
            .step(Step::at(T0, Expect::failure()).answer(totp(3)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn step_size_60_uses_one_minute_steps() {
    // 30 s into a 60 s step.
    const T60: u64 = 1_700_000_010;
    check(|| {
        Scenario::new("step size 60", &totp_file_with("STEP_SIZE 60"))
            .args(&["noskewadj"])
            .step_seconds(60)
            .step(Step::at(T60, Expect::success()).answer(totp(0)))
            .step(Step::at(T60, Expect::success()).answer(totp(-1)))
            .step(Step::at(T60, Expect::success()).answer(totp(1)))
            .step(Step::at(T60, Expect::failure()).answer(totp(2)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn rewriting_an_option_swallows_the_blank_lines_after_it() {
    check(|| {
        let content = format!("{SECRET}\n\" DISALLOW_REUSE\n\n\n\" TOTP_AUTH\n");
        Scenario::new("blank lines after an option", &content).step(
            Step::at(
                T0,
                Expect::success().rewritten(totp_file_with(&format!("DISALLOW_REUSE {S0}"))),
            )
            .answer(totp(0)),
        )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn crlf_file_is_read_and_the_rewritten_line_ends_in_lf() {
    check(|| {
        let content = format!("{SECRET}\r\n\" DISALLOW_REUSE\r\n\" TOTP_AUTH\r\n");
        Scenario::new("CRLF line ends", &content).step(
            Step::at(
                T0,
                Expect::success().rewritten(format!(
                    "{SECRET}\r\n\" DISALLOW_REUSE {S0}\n\" TOTP_AUTH\r\n"
                )),
            )
            .answer(totp(0)),
        )
    });
}

// --------------------------------------------------------------------- HOTP

fn hotp_file(counter: u64) -> String {
    format!("{SECRET}\n\" HOTP_COUNTER {counter}\n")
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn hotp_code_advances_the_counter_and_cannot_be_replayed() {
    check(|| {
        Scenario::new("hotp", &hotp_file(1))
            .step(Step::at(T0, Expect::success().rewritten(hotp_file(2))).answer(Answer::Hotp(1)))
            .step(Step::at(T0, Expect::success().rewritten(hotp_file(3))).answer(Answer::Hotp(2)))
            .step(Step::at(T0, Expect::failure().rewritten(hotp_file(4))).answer(Answer::Hotp(2)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn hotp_look_ahead_window() {
    check(|| {
        Scenario::new("hotp look-ahead", &hotp_file(1))
            .step(Step::at(T0, Expect::success().rewritten(hotp_file(4))).answer(Answer::Hotp(3)))
            .step(Step::at(T0, Expect::failure().rewritten(hotp_file(5))).answer(Answer::Hotp(7)))
            .step(Step::at(T0, Expect::success().rewritten(hotp_file(8))).answer(Answer::Hotp(7)))
            .step(Step::at(T0, Expect::failure().rewritten(hotp_file(9))).answer(Answer::Hotp(7)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn hotp_wrong_code_increments_the_counter() {
    check(|| {
        Scenario::new("hotp wrong code", &hotp_file(1))
            .step(Step::at(T0, Expect::failure().rewritten(hotp_file(2))).answer(text("000000")))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn hotp_with_no_increment_hotp_keeps_the_counter_on_failure() {
    check(|| {
        Scenario::new("hotp no_increment_hotp", &hotp_file(1))
            .args(&["no_increment_hotp"])
            .step(Step::at(T0, Expect::failure()).answer(text("000000")))
            .step(Step::at(T0, Expect::success().rewritten(hotp_file(2))).answer(Answer::Hotp(1)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn hotp_malformed_answer_does_not_touch_the_counter() {
    check(|| {
        Scenario::new("hotp malformed answer", &hotp_file(1))
            .step(Step::at(T0, Expect::failure()).answer(text("12345")))
            .step(Step::at(T0, Expect::failure()).answer(text("")))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn hotp_counter_takes_precedence_over_totp_auth() {
    check(|| {
        let file = |counter: u64| format!("{SECRET}\n\" HOTP_COUNTER {counter}\n\" TOTP_AUTH\n");
        Scenario::new("HOTP and TOTP_AUTH", &file(1))
            .step(Step::at(T0, Expect::success().rewritten(file(2))).answer(Answer::Hotp(1)))
            .step(Step::at(T0, Expect::failure().rewritten(file(3))).answer(totp(0)))
    });
}

// ---------------------------------------------------------------- time skew

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn three_consecutive_codes_at_the_same_skew_set_time_skew() {
    check(|| {
        let resetting =
            |entries: &str| format!("{SECRET}\n\" RESETTING_TIME_SKEW {entries}\n\" TOTP_AUTH\n");
        Scenario::new("time skew learning", &totp_file())
            .step(
                Step::at(
                    T0,
                    Expect::failure().rewritten(resetting(&format!("{S0}+10"))),
                )
                .answer(totp(10)),
            )
            .step(
                Step::at(
                    T0 + 30,
                    Expect::failure().rewritten(resetting(&format!("{S0}+10 {}+10", S0 + 1))),
                )
                .answer(totp(10)),
            )
            .step(
                // The third code logs in; the emptied RESETTING_TIME_SKEW
                // line keeps a trailing space.
                Step::at(
                    T0 + 60,
                    Expect::success().rewritten(format!(
                        "{SECRET}\n\" TIME_SKEW 10\n\" RESETTING_TIME_SKEW \n\" TOTP_AUTH\n"
                    )),
                )
                .answer(totp(10)),
            )
            .step(Step::at(T0 + 90, Expect::success()).answer(totp(10)))
            .step(
                Step::at(
                    T0 + 90,
                    Expect::failure().rewritten(format!(
                        "{SECRET}\n\" TIME_SKEW 10\n\" RESETTING_TIME_SKEW {}+0\n\" TOTP_AUTH\n",
                        S0 + 3
                    )),
                )
                .answer(totp(0)),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn repeating_the_same_skewed_code_changes_nothing() {
    check(|| {
        let first = format!("{SECRET}\n\" RESETTING_TIME_SKEW {S0}-10\n\" TOTP_AUTH\n");
        Scenario::new("time skew same code", &totp_file())
            .step(Step::at(T0, Expect::failure().rewritten(first)).answer(totp(-10)))
            .step(Step::at(T0, Expect::failure()).answer(totp(-10)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn the_code_that_completes_skew_learning_is_recorded_for_disallow_reuse() {
    // The reference does not record it, so it accepts the same code once
    // more through the shifted window.
    check(|| {
        let file = |lines: &str| format!("{SECRET}\n{lines}\" DISALLOW_REUSE\n\" TOTP_AUTH\n");
        let learned = |used: &str| {
            format!(
                "{SECRET}\n\" TIME_SKEW 10\n\" RESETTING_TIME_SKEW \n\" DISALLOW_REUSE{used}\n\" TOTP_AUTH\n"
            )
        };
        let third_code_used = learned(&format!(" {}", S0 + 12));
        let before_learning = [
            Expect::failure().rewritten(file(&format!("\" RESETTING_TIME_SKEW {S0}+10\n"))),
            Expect::failure().rewritten(file(&format!(
                "\" RESETTING_TIME_SKEW {S0}+10 {}+10\n",
                S0 + 1
            ))),
        ];
        Scenario::new(
            "time skew and DISALLOW_REUSE",
            &totp_file_with("DISALLOW_REUSE"),
        )
        .step(Step::at(T0, before_learning[0].clone()).answer(totp(10)))
        .step(Step::at(T0 + 30, before_learning[1].clone()).answer(totp(10)))
        .step(Step::at(T0 + 60, Expect::success().rewritten(learned(""))).answer(totp(10)))
        .step(
            Step::at(
                T0 + 60,
                Expect::success().rewritten(third_code_used.clone()),
            )
            .answer(totp(10)),
        )
        .step(Step::at(T0 + 60, Expect::failure()).answer(totp(10)))
        .difference(
            "the code that completes skew learning is recorded under DISALLOW_REUSE, \
             so it cannot be used again; the reference does not record it and \
             accepts it a second time",
            vec![
                before_learning[0].clone(),
                before_learning[1].clone(),
                Expect::success().rewritten(third_code_used),
                Expect::failure(),
                Expect::failure(),
            ],
        )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn noskewadj_never_learns_a_skew() {
    check(|| {
        Scenario::new("time skew noskewadj", &totp_file())
            .args(&["noskewadj"])
            .step(Step::at(T0, Expect::failure()).answer(totp(10)))
            .step(Step::at(T0 + 30, Expect::failure()).answer(totp(10)))
            .step(Step::at(T0 + 60, Expect::failure()).answer(totp(10)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn stored_time_skew_shifts_the_window() {
    check(|| {
        Scenario::new("stored time skew", &totp_file_with("TIME_SKEW -5"))
            .args(&["noskewadj"])
            .step(Step::at(T0, Expect::success()).answer(totp(-5)))
            .step(Step::at(T0, Expect::success()).answer(totp(-4)))
            .step(Step::at(T0, Expect::failure()).answer(totp(0)))
    });
}

// ------------------------------------------------------------------ secrets

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn secrets_of_16_26_and_32_characters() {
    for secret in [
        SECRET,
        "GEZDGNBVGY3TQOJQGEZDGNBVGY",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    ] {
        check(|| {
            Scenario::new(
                format!("secret {secret}"),
                &format!("{secret}\n\" TOTP_AUTH\n"),
            )
            .step(Step::at(T0, Expect::success()).answer(totp(0)))
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn secret_in_lower_case_with_blanks_is_accepted() {
    check(|| {
        Scenario::new("secret lower case", "jbsw y3dp ehpk 3pxp\n\" TOTP_AUTH\n")
            .step(Step::at(T0, Expect::success()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn invalid_secret_asks_for_a_code_and_fails() {
    check(|| {
        Scenario::new("invalid secret", "JBSW!Y3DPEHPK3PXP\n\" TOTP_AUTH\n")
            .step(Step::at(T0, Expect::failure()).answer(text("123456")))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn secret_only_file_without_newline_validates_nothing() {
    check(|| {
        Scenario::new("secret only, no newline", SECRET)
            .step(Step::at(T0, Expect::failure()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn file_without_final_newline_is_rewritten_without_one() {
    check(|| {
        let content = format!("{SECRET}\n\" DISALLOW_REUSE\n\" TOTP_AUTH");
        Scenario::new("no final newline", &content).step(
            Step::at(
                T0,
                Expect::success()
                    .rewritten(format!("{SECRET}\n\" DISALLOW_REUSE {S0}\n\" TOTP_AUTH")),
            )
            .answer(totp(0)),
        )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn empty_file_asks_for_a_code_and_fails() {
    check(|| {
        Scenario::new("empty file", "").step(Step::at(T0, Expect::failure()).answer(text("123456")))
    });
}

// ---------------------------------------------------------- nullok, prompts

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn nullok_without_a_file_ignores_the_user_without_prompting() {
    check(|| {
        Scenario::without_file("nullok without file")
            .user(NOFILE)
            .file_path("{home}/.google_authenticator")
            .only_args(&["nullok"])
            .step(Step::at(
                T0,
                Expect::result(PamCode::PERM_DENIED).no_messages(),
            ))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn nullok_with_a_file_still_requires_the_code() {
    check(|| {
        Scenario::new("nullok with file", &totp_file())
            .args(&["nullok", "noskewadj"])
            .step(Step::at(T0, Expect::failure()).answer(text("000000")))
            .step(Step::at(T0, Expect::success()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn missing_file_without_nullok_asks_for_a_code_and_fails() {
    check(|| {
        Scenario::without_file("missing file").step(Step::at(T0, Expect::failure()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn missing_file_with_a_null_reply_asks_twice_and_fails() {
    check(|| {
        Scenario::without_file("missing file, null reply").step(
            Step::at(
                T0,
                Expect::failure().messages(vec![
                    Message::echo_off(CODE_PROMPT),
                    Message::echo_off(CODE_PROMPT),
                ]),
            )
            .answer(Answer::Null),
        )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn unknown_user_asks_for_a_code_and_fails() {
    check(|| {
        Scenario::without_file("unknown user")
            .unknown_user("rt_no_such_user")
            .step(Step::at(T0, Expect::failure()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn echo_verification_code_prompts_with_echo() {
    for option in ["echo_verification_code", "echo-verification-code"] {
        check(|| {
            Scenario::new(option, &totp_file()).args(&[option]).step(
                Step::at(
                    T0,
                    Expect::success().messages(vec![Message::echo_on(CODE_PROMPT)]),
                )
                .answer(totp(0)),
            )
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn authtok_prompt_replaces_the_prompt() {
    check(|| {
        Scenario::new("authtok_prompt", &totp_file())
            .args(&["authtok_prompt=OTP:"])
            .step(
                Step::at(
                    T0,
                    Expect::success().messages(vec![Message::echo_off("OTP:")]),
                )
                .answer(totp(0)),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn bracketed_authtok_prompt_keeps_its_spaces() {
    // Written to the service file as `[authtok_prompt=Your code: ]`.
    check(|| {
        Scenario::new("[authtok_prompt]", &totp_file())
            .args(&["authtok_prompt=Your code: "])
            .step(
                Step::at(
                    T0,
                    Expect::success().messages(vec![Message::echo_off("Your code: ")]),
                )
                .answer(totp(0)),
            )
    });
}

// ------------------------------------------------- forward_pass, first_pass

fn forward_pass_prompt() -> Vec<Message> {
    vec![Message::echo_off(PASSWORD_AND_CODE_PROMPT)]
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn forward_pass_splits_password_and_code() {
    check(|| {
        Scenario::new("forward_pass", &totp_file())
            .args(&["forward_pass", "noskewadj"])
            .step(
                Step::at(
                    T0,
                    Expect::success()
                        .messages(forward_pass_prompt())
                        .authtok(Authtok::Value("hunter2".to_owned())),
                )
                .answer(Answer::PasswordAndTotp("hunter2".to_owned(), 0)),
            )
            .step(
                Step::at(
                    T0,
                    Expect::success()
                        .messages(forward_pass_prompt())
                        .authtok(Authtok::Value(String::new())),
                )
                .answer(totp(0)),
            )
            .step(
                Step::at(T0, Expect::failure().messages(forward_pass_prompt()))
                    .answer(text("hunter2abcdef")),
            )
            .step(
                Step::at(T0, Expect::failure().messages(forward_pass_prompt()))
                    .answer(text("hunter2000000")),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn forward_pass_with_a_scratch_code() {
    check(|| {
        Scenario::new("forward_pass scratch", &file_with_scratch_codes())
            .args(&["forward_pass", "noskewadj"])
            .step(
                Step::at(
                    T0,
                    Expect::success()
                        .messages(forward_pass_prompt())
                        .authtok(Authtok::Value("pw".to_owned()))
                        .rewritten(format!(
                            "{SECRET}\n\" TOTP_AUTH\n{}\n{}\n",
                            SCRATCH[1], SCRATCH[2]
                        )),
                )
                .answer(text(&format!("pw{}", SCRATCH[0]))),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn try_first_pass_uses_the_stacked_password_then_prompts() {
    check(|| {
        let code = codes::totp(SECRET, T0, 30);
        Scenario::new("try_first_pass", &totp_file())
            .args(&["try_first_pass", "noskewadj"])
            .step(
                Step::at(
                    T0,
                    Expect::success()
                        .no_messages()
                        .authtok(Authtok::Value(code.clone())),
                )
                .authtok(text(&code)),
            )
            .step(
                Step::at(
                    T0,
                    Expect::success().authtok(Authtok::Value("12345".to_owned())),
                )
                .authtok(text("12345"))
                .answer(totp(0)),
            )
            .step(Step::at(T0, Expect::success()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn use_first_pass_never_prompts() {
    check(|| {
        let code = codes::totp(SECRET, T0, 30);
        Scenario::new("use_first_pass", &totp_file())
            .args(&["use_first_pass", "noskewadj"])
            .step(
                Step::at(
                    T0,
                    Expect::success()
                        .no_messages()
                        .authtok(Authtok::Value(code.clone())),
                )
                .authtok(text(&code)),
            )
            .step(Step::at(T0, Expect::failure().no_messages()))
            .step(
                Step::at(
                    T0,
                    Expect::failure()
                        .no_messages()
                        .authtok(Authtok::Value("12345".to_owned())),
                )
                .authtok(text("12345")),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn use_first_pass_with_forward_pass_keeps_the_password() {
    check(|| {
        Scenario::new("use_first_pass forward_pass", &totp_file())
            .args(&["use_first_pass", "forward_pass", "noskewadj"])
            .step(
                Step::at(
                    T0,
                    Expect::success()
                        .no_messages()
                        .authtok(Authtok::Value("hunter2".to_owned())),
                )
                .authtok(Answer::PasswordAndTotp("hunter2".to_owned(), 0)),
            )
    });
}

// ------------------------------------------------------ file location, owner

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn secret_path_expands_user() {
    check(|| {
        Scenario::new("secret=${USER}", &totp_file())
            .file_path("{dir}/rt_alice.totp")
            .only_args(&["secret={dir}/${USER}.totp"])
            .step(Step::at(T0, Expect::success()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn secret_path_expands_home() {
    check(|| {
        Scenario::new("secret=${HOME}", &totp_file())
            .user(BOB)
            .file_path("{home}/.rt_totp_home")
            .only_args(&["secret=${HOME}/.rt_totp_home"])
            .step(Step::at(T0, Expect::success()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn secret_path_expands_tilde() {
    check(|| {
        Scenario::new("secret=~", &totp_file_with("DISALLOW_REUSE"))
            .user(BOB)
            .file_path("{home}/.rt_totp_tilde")
            .only_args(&["secret=~/.rt_totp_tilde"])
            .step(
                Step::at(
                    T0,
                    Expect::success().rewritten(totp_file_with(&format!("DISALLOW_REUSE {S0}"))),
                )
                .answer(totp(0)),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn default_path_is_google_authenticator_in_the_home() {
    check(|| {
        Scenario::new("default path", &totp_file())
            .user(BOB)
            .file_path("{home}/.google_authenticator")
            .only_args(&[])
            .step(Step::at(T0, Expect::success()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn fixed_user_by_name_owns_and_updates_the_file() {
    check(|| {
        Scenario::new("user=rt_bob", &totp_file_with("DISALLOW_REUSE"))
            .dir(BOB, 0o700)
            .file_owner(BOB, None)
            .file_path("{dir}/rt_alice")
            .only_args(&["user=rt_bob", "secret={dir}/${USER}"])
            .step(
                Step::at(
                    T0,
                    Expect::success().rewritten(totp_file_with(&format!("DISALLOW_REUSE {S0}"))),
                )
                .answer(totp(0)),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn fixed_user_by_uid() {
    check(|| {
        let uid = test_user(BOB).uid;
        Scenario::new("user=<uid>", &totp_file())
            .dir(BOB, 0o700)
            .file_owner(BOB, None)
            .file_path("{dir}/rt_alice")
            .only_args(&[&format!("user={uid}"), "secret={dir}/${USER}"])
            .step(Step::at(T0, Expect::success()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn fixed_user_refuses_a_file_owned_by_the_pam_user() {
    check(|| {
        Scenario::new("user=rt_bob, file of rt_alice", &totp_file())
            .file_path("{dir}/rt_alice")
            .only_args(&["user=rt_bob", "secret={dir}/${USER}"])
            .step(Step::at(T0, Expect::failure()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn fixed_user_cannot_use_a_home_relative_path() {
    check(|| {
        Scenario::new("user= with ~", &totp_file())
            .only_args(&["user=rt_bob", "secret=~/.google_authenticator"])
            .step(Step::at(T0, Expect::failure()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn file_owned_by_another_user_is_refused() {
    check(|| {
        Scenario::new("wrong owner", &totp_file())
            .mode(0o444)
            .file_owner(BOB, None)
            .args(&["allowed_perm=0444"])
            .step(Step::at(T0, Expect::failure()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn no_strict_owner_accepts_a_readable_file_of_another_user() {
    check(|| {
        Scenario::new("no_strict_owner", &totp_file())
            .mode(0o440)
            .file_owner(BOB, Some(ALICE))
            .args(&["no_strict_owner", "allowed_perm=0440"])
            .step(Step::at(T0, Expect::success()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn allowed_perm_permits_group_read() {
    check(|| {
        Scenario::new("allowed_perm=0640", &totp_file())
            .mode(0o640)
            .args(&["allowed_perm=0640"])
            .step(Step::at(T0, Expect::success()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn group_readable_file_is_refused_by_default() {
    check(|| {
        Scenario::new("mode 0640 refused", &totp_file())
            .mode(0o640)
            .step(Step::at(T0, Expect::failure()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn debug_changes_no_outcome() {
    check(|| {
        Scenario::new("debug", &totp_file_with("DISALLOW_REUSE"))
            .args(&["debug"])
            .step(
                Step::at(
                    T0,
                    Expect::success().rewritten(totp_file_with(&format!("DISALLOW_REUSE {S0}"))),
                )
                .answer(totp(0)),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn unwritable_directory_fails_unless_allow_readonly() {
    for (args, expect) in [
        (&[][..], Expect::failure()),
        (&["allow_readonly"][..], Expect::success()),
    ] {
        check(|| {
            Scenario::new(
                format!("read-only directory {args:?}"),
                &totp_file_with("DISALLOW_REUSE"),
            )
            .dir("root", 0o755)
            .args(args)
            .step(Step::at(T0, expect.clone()).answer(totp(0)))
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn invalid_module_arguments_fail_without_prompting() {
    for arg in [
        "no_such_option",
        "allowed_perm=0",
        "allowed_perm=abc",
        "grace_period=-1",
        "grace_period=10s",
        "user=rt_no_such_user",
    ] {
        check(|| {
            Scenario::new(format!("invalid argument {arg}"), &totp_file())
                .args(&[arg])
                .step(Step::at(T0, Expect::failure().no_messages()).answer(totp(0)))
        });
    }
}

// ------------------------------------------------------------- grace period

fn last_login(rhost: &str, at: u64) -> String {
    format!("LAST0 {rhost} {at}")
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn grace_period_skips_the_code_for_a_recent_host() {
    check(|| {
        let after_first = format!(
            "{SECRET}\n\" {}\n\" DISALLOW_REUSE {S0}\n\" TOTP_AUTH\n",
            last_login("10.0.0.1", T0)
        );
        let after_second = format!(
            "{SECRET}\n\" LAST1 10.0.0.2 {}\n\" {}\n\" DISALLOW_REUSE {}\n\" TOTP_AUTH\n",
            T0 + 100,
            last_login("10.0.0.1", T0),
            S0 + 3
        );
        Scenario::new("grace period", &totp_file_with("DISALLOW_REUSE"))
            .args(&["grace_period=3600"])
            .step(
                Step::at(T0, Expect::success().rewritten(after_first))
                    .rhost("10.0.0.1")
                    .answer(totp(0)),
            )
            .step(Step::at(T0 + 100, Expect::success().no_messages()).rhost("10.0.0.1"))
            .step(
                Step::at(T0 + 100, Expect::success().rewritten(after_second))
                    .rhost("10.0.0.2")
                    .answer(totp(0)),
            )
            .step(
                Step::at(T0 + 3599, Expect::success().no_messages())
                    .rhost("10.0.0.1")
                    .answer(text("unused")),
            )
            .step(
                Step::at(T0 + 3600, Expect::failure())
                    .rhost("10.0.0.1")
                    .answer(text("12345")),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn grace_period_without_a_remote_host_always_asks() {
    check(|| {
        Scenario::new("grace period, no rhost", &totp_file())
            .args(&["grace_period=3600"])
            .step(Step::at(T0, Expect::success()).answer(totp(0)))
            .step(Step::at(T0 + 1, Expect::success()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn grace_period_record_is_saved_even_when_nothing_else_changes() {
    check(|| {
        let saved = format!(
            "{SECRET}\n\" {}\n\" TOTP_AUTH\n",
            last_login("10.0.0.1", T0)
        );
        Scenario::new("grace period record", &totp_file())
            .args(&["grace_period=3600"])
            .step(
                Step::at(T0, Expect::success())
                    .rhost("10.0.0.1")
                    .answer(totp(0)),
            )
            .step(
                Step::at(T0 + 100, Expect::success())
                    .rhost("10.0.0.1")
                    .answer(totp(0)),
            )
            .difference(
                "the reference computes the LAST0 record but only saves it when another \
                 change forces a rewrite; ours always saves it, so grace_period works \
                 without DISALLOW_REUSE or RATE_LIMIT",
                vec![
                    Expect::success().rewritten(saved),
                    Expect::success().no_messages(),
                ],
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn remote_host_with_a_space_is_never_stored() {
    // The reference writes the host as it is and then finds it with an
    // sscanf pattern made from it.
    check(|| {
        let reference =
            format!("{SECRET}\n\" LAST0 two words {T0}\n\" DISALLOW_REUSE {S0}\n\" TOTP_AUTH\n");
        let ours = totp_file_with(&format!("DISALLOW_REUSE {S0}"));
        Scenario::new(
            "remote host with a space",
            &totp_file_with("DISALLOW_REUSE"),
        )
        .args(&["grace_period=3600"])
        .step(
            Step::at(T0, Expect::success().rewritten(reference))
                .rhost("two words")
                .answer(totp(0)),
        )
        .step(
            Step::at(T0 + 30, Expect::success().no_messages())
                .rhost("two words")
                .answer(text("12345")),
        )
        .difference(
            "a remote host with a space, line break, control or non-ASCII \
                 character is never stored, so it never gets a grace period",
            vec![Expect::success().rewritten(ours), Expect::failure()],
        )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn remote_host_with_a_zone_id_gets_the_grace_period() {
    // Both store the host; the reference (1.08) then looks it up with an
    // sscanf pattern made from it, in which "%eth0" is a conversion that
    // never matches. Upstream 1.11 compares the host as a string.
    check(|| {
        let host = "fe80::1%eth0";
        let recorded =
            format!("{SECRET}\n\" LAST0 {host} {T0}\n\" DISALLOW_REUSE {S0}\n\" TOTP_AUTH\n");
        Scenario::new(
            "remote host with a zone id",
            &totp_file_with("DISALLOW_REUSE"),
        )
        .args(&["grace_period=3600"])
        .step(
            Step::at(T0, Expect::success().rewritten(recorded.clone()))
                .rhost(host)
                .answer(totp(0)),
        )
        .step(
            Step::at(T0 + 100, Expect::failure())
                .rhost(host)
                .answer(text("12345")),
        )
        .difference(
            "a remote host of printable ASCII without spaces, such as an IPv6 \
                 address with a zone id, is stored and compared as a string, as in \
                 upstream 1.11",
            vec![
                Expect::success().rewritten(recorded),
                Expect::success().no_messages(),
            ],
        )
    });
}

// ---------------------------------------------------- intended differences

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn rewritten_file_keeps_its_mode() {
    check(|| {
        let after = totp_file_with(&format!("DISALLOW_REUSE {S0}"));
        Scenario::new("rewrite keeps mode", &totp_file_with("DISALLOW_REUSE"))
            .mode(0o600)
            .step(Step::at(T0, Expect::success().rewritten(after.clone())).answer(totp(0)))
            .difference(
                "the reference forces mode 0400 on every rewrite; ours keeps the \
                 file's mode",
                vec![Expect::success().rewritten_with_mode(after, 0o600)],
            )
    });
}

/// Moves the scenario's `home` directory to another "disk" and leaves a
/// symbolic link in its place, as when homes were moved to another disk.
fn move_home_behind_a_link(dir: &Path, _user: &Account) {
    let disk = dir.join("disk");
    std::fs::create_dir(&disk).unwrap_or_else(|e| panic!("mkdir {}: {e}", disk.display()));
    std::fs::rename(dir.join("home"), disk.join("home")).unwrap_or_else(|e| panic!("mv: {e}"));
    std::os::unix::fs::symlink("disk/home", dir.join("home"))
        .unwrap_or_else(|e| panic!("ln -s: {e}"));
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_home_directory_that_is_a_symlink_is_rewritten_like_any_other() {
    check(|| {
        let path = "{dir}/home/.google_authenticator";
        Scenario::new("symlinked home", &totp_file_with("DISALLOW_REUSE"))
            .file_path(path)
            .only_args(&[&format!("secret={path}")])
            .prepare(move_home_behind_a_link)
            .step(
                Step::at(
                    T0,
                    Expect::success().rewritten(totp_file_with(&format!("DISALLOW_REUSE {S0}"))),
                )
                .answer(totp(0)),
            )
            .step(Step::at(T0, Expect::failure()).answer(totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn malformed_file_is_never_rewritten() {
    check(|| {
        let content = format!(
            "{SECRET}\n\" WINDOW_SIZE 0\n\" TOTP_AUTH\n{}\n{}\n",
            SCRATCH[0], SCRATCH[1]
        );
        let reference = format!("{SECRET}\n\" WINDOW_SIZE 0\n\" TOTP_AUTH\n{}\n", SCRATCH[1]);
        Scenario::new("malformed WINDOW_SIZE", &content)
            .step(Step::at(T0, Expect::success().rewritten(reference)).answer(text(SCRATCH[0])))
            .difference(
                "a malformed file is refused and never rewritten; the reference \
                 accepts a scratch code before it notices the bad option",
                vec![Expect::failure()],
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn malformed_secret_does_not_record_rate_limit_attempts() {
    check(|| {
        let content = "JBSW!Y3DPEHPK3PXP\n\" RATE_LIMIT 3 30\n\" TOTP_AUTH\n";
        let reference = format!("JBSW!Y3DPEHPK3PXP\n\" RATE_LIMIT 3 30 {T0}\n\" TOTP_AUTH\n");
        Scenario::new("malformed secret with RATE_LIMIT", content)
            .step(Step::at(T0, Expect::failure().rewritten(reference)).answer(text("123456")))
            .difference(
                "a malformed file is refused and never rewritten; the reference \
                 records the attempt in RATE_LIMIT before decoding the secret",
                vec![Expect::failure()],
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn hotp_counter_at_its_largest_value_is_never_wrapped() {
    check(|| {
        let max = i64::MAX.unsigned_abs();
        let wrapped = format!("{SECRET}\n\" HOTP_COUNTER {}\n", i64::MIN);
        Scenario::new("HOTP_COUNTER at 2^63-1", &hotp_file(max))
            .step(Step::at(T0, Expect::success().rewritten(wrapped)).answer(Answer::Hotp(max)))
            .difference(
                "the counter cannot be advanced past 2^63-1, so its last code is \
                 refused and the file left as it is; the reference accepts it and \
                 wraps the counter to a negative value, after which the file is no \
                 longer HOTP",
                vec![Expect::failure()],
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn time_skew_beyond_32_bits_is_refused() {
    // The reference reads TIME_SKEW into an int: 2^63-1 becomes -1 and
    // -2^63 becomes 0.
    for (skew, reference_skew) in [(i64::MAX, -1), (i64::MIN, 0)] {
        check(|| {
            Scenario::new(
                format!("TIME_SKEW {skew}"),
                &totp_file_with(&format!("TIME_SKEW {skew}")),
            )
            .args(&["noskewadj"])
            .step(Step::at(T0, Expect::success()).answer(totp(reference_skew)))
            .difference(
                "a TIME_SKEW outside the 32-bit range is refused, naming the line, \
                 and the file is left as it is; the reference truncates it",
                vec![Expect::failure()],
            )
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn disallow_reuse_entry_beyond_63_bits_is_refused() {
    // The reference reads each entry into an int: 2^63 becomes 0, an old
    // step it drops.
    check(|| {
        let content = totp_file_with("DISALLOW_REUSE 9223372036854775808");
        Scenario::new("DISALLOW_REUSE 2^63", &content)
            .step(
                Step::at(
                    T0,
                    Expect::success().rewritten(totp_file_with(&format!("DISALLOW_REUSE {S0}"))),
                )
                .answer(totp(0)),
            )
            .difference(
                "a DISALLOW_REUSE entry above 2^63-1 is refused, naming the line, and \
                 the file is left as it is; the reference truncates it",
                vec![Expect::failure()],
            )
    });
}

// ------------------------------------ files from the reference enrolment CLI

/// `google-authenticator` output: secret, options, five scratch codes.
fn enrolled(args: &[&str]) -> (String, Vec<String>) {
    let content = reference_enrolment(args);
    let scratch: Vec<String> = content
        .lines()
        .filter(|line| line.len() == 8 && line.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
        .collect();
    assert_eq!(scratch.len(), 5, "five scratch codes in {content:?}");
    (content, scratch)
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn totp_file_from_the_reference_cli() {
    let (content, scratch) = enrolled(&[
        "-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "3", "-e", "5", "-q", "-Q", "NONE", "-C",
    ]);
    check(|| {
        let with_state = |stamps: &str, used: &str, codes: &[String]| {
            let mut lines: Vec<String> = content.lines().map(str::to_owned).collect();
            lines.retain(|line| !(line.len() == 8 && line.bytes().all(|b| b.is_ascii_digit())));
            for line in &mut lines {
                if line == "\" RATE_LIMIT 3 30" {
                    *line = format!("\" RATE_LIMIT 3 30 {stamps}");
                } else if line == "\" DISALLOW_REUSE" {
                    *line = format!("\" DISALLOW_REUSE {used}");
                }
            }
            lines.extend(codes.iter().cloned());
            lines.join("\n") + "\n"
        };
        Scenario::new("reference CLI, TOTP", &content)
            .step(
                Step::at(
                    T0,
                    Expect::success().rewritten(with_state(
                        &T0.to_string(),
                        &S0.to_string(),
                        &scratch,
                    )),
                )
                .answer(totp(0)),
            )
            .step(
                Step::at(
                    T0 + 1,
                    Expect::success().rewritten(with_state(
                        &format!("{T0} {}", T0 + 1),
                        &S0.to_string(),
                        &scratch[1..],
                    )),
                )
                .answer(Answer::Text(scratch[0].clone())),
            )
            .step(
                Step::at(
                    T0 + 2,
                    Expect::failure().rewritten(with_state(
                        &format!("{T0} {} {}", T0 + 1, T0 + 2),
                        &S0.to_string(),
                        &scratch[1..],
                    )),
                )
                .answer(totp(0)),
            )
            .step(
                Step::at(
                    T0 + 3,
                    Expect::failure().no_messages().rewritten(with_state(
                        &format!("{} {} {}", T0 + 1, T0 + 2, T0 + 3),
                        &S0.to_string(),
                        &scratch[1..],
                    )),
                )
                .answer(totp(0)),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn hotp_file_from_the_reference_cli() {
    let (content, scratch) = enrolled(&[
        "-c", "-f", "-r", "3", "-R", "30", "-w", "3", "-e", "5", "-q", "-Q", "NONE", "-C",
    ]);
    check(|| {
        let with_state = |stamps: &str, counter: u64, codes: &[String]| {
            let mut lines: Vec<String> = content.lines().map(str::to_owned).collect();
            lines.retain(|line| !(line.len() == 8 && line.bytes().all(|b| b.is_ascii_digit())));
            for line in &mut lines {
                if line == "\" RATE_LIMIT 3 30" {
                    *line = format!("\" RATE_LIMIT 3 30 {stamps}");
                } else if line.starts_with("\" HOTP_COUNTER ") {
                    *line = format!("\" HOTP_COUNTER {counter}");
                }
            }
            lines.extend(codes.iter().cloned());
            lines.join("\n") + "\n"
        };
        Scenario::new("reference CLI, HOTP", &content)
            .step(
                Step::at(
                    T0,
                    Expect::success().rewritten(with_state(&T0.to_string(), 2, &scratch)),
                )
                .answer(Answer::Hotp(1)),
            )
            .step(
                Step::at(
                    T0 + 1,
                    Expect::failure().rewritten(with_state(
                        &format!("{T0} {}", T0 + 1),
                        3,
                        &scratch,
                    )),
                )
                .answer(Answer::Hotp(1)),
            )
            .step(
                Step::at(
                    T0 + 2,
                    Expect::success().rewritten(with_state(
                        &format!("{T0} {} {}", T0 + 1, T0 + 2),
                        3,
                        &scratch[..4],
                    )),
                )
                .answer(Answer::Text(scratch[4].clone())),
            )
    });
}
