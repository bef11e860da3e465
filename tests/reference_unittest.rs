//! The reference module's own unit test, `tests/pam_google_authenticator_unittest.c`
//! of google-authenticator-libpam (the same at 1.08 and 1.11), ported login by
//! login into the differential suite: each login runs through real Linux-PAM
//! with Debian's `pam_google_authenticator.so` and with ours, and both must give
//! the result the unittest expects, call the conversation as often as it
//! counts, leave the same `PAM_AUTHTOK` and the same state file.
//!
//! The unittest plays its sequence once for each of eight ways of getting the
//! code ([`MODES`]): typed alone, typed after the password (`forward_pass`), or
//! taken from the password an earlier module collected (`use_first_pass`,
//! `try_first_pass`), with the conversation failing whenever the code is in
//! that password. It edits the state file between some logins; here the
//! logins between two edits are one scenario, which starts from the file the
//! previous one ended with, plus the edit.
//!
//! Where this differs from the C test: the file starts at mode 0400 (what the
//! reference leaves after each rewrite) rather than 0600, so that the declared
//! mode difference does not show; the missing file is looked for in the
//! scenario's directory rather than at `/NOSUCHFILE`; and the log message the
//! unittest reads through a test-only symbol of the module is not checked.
//!
//! The last part asks every kind of unusable file the same question in each
//! mode: when the reference asks for a code and when it refuses at once.

mod common;

use common::codes;
use common::driver::{Authtok, Message, PamCode};
use common::scenario::{
    Answer, CODE_PROMPT, Expect, PASSWORD_AND_CODE_PROMPT, Scenario, Step, check,
};
use common::system::BOB;

/// The unittest's secret.
const SECRET: &str = "2SH3V3GDW7ZNMGYE";
/// The password the unittest's earlier module collected.
const PASSWORD: &str = "0123456789";
/// The unittest's clock: TOTP step 10000.
const T: u64 = 10_000 * 30;
/// The code of step 10000.
const CODE: &str = "050548";
/// The remote host the unittest reports.
const RHOST: &str = "::1";

/// How the code reaches the module in one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// The code is typed alone; `PAM_AUTHTOK` holds the password.
    Typed,
    /// Password and code are typed in one answer; `PAM_AUTHTOK` holds the
    /// password.
    TypedAfterPassword,
    /// `PAM_AUTHTOK` holds the password followed by the code, and the
    /// conversation fails.
    Stacked,
}

/// One of the unittest's eight modes.
struct Mode {
    name: &'static str,
    args: &'static [&'static str],
    delivery: Delivery,
    /// Conversation calls of a login that the first code checked decides.
    calls_when_decided: usize,
    /// Conversation calls of a login in which every way of getting a code
    /// was tried.
    calls_when_all_tried: usize,
    /// Whether an earlier module's password is offered as the code.
    from_earlier_module: bool,
}

const MODES: [Mode; 8] = [
    Mode {
        name: "prompt",
        args: &[],
        delivery: Delivery::Typed,
        calls_when_decided: 1,
        calls_when_all_tried: 1,
        from_earlier_module: false,
    },
    Mode {
        name: "forward_pass",
        args: &["forward_pass"],
        delivery: Delivery::TypedAfterPassword,
        calls_when_decided: 1,
        calls_when_all_tried: 1,
        from_earlier_module: false,
    },
    Mode {
        name: "use_first_pass",
        args: &["use_first_pass"],
        delivery: Delivery::Stacked,
        calls_when_decided: 0,
        calls_when_all_tried: 0,
        from_earlier_module: true,
    },
    Mode {
        name: "use_first_pass forward_pass",
        args: &["use_first_pass", "forward_pass"],
        delivery: Delivery::Stacked,
        calls_when_decided: 0,
        calls_when_all_tried: 0,
        from_earlier_module: true,
    },
    Mode {
        name: "try_first_pass, code in the password",
        args: &["try_first_pass"],
        delivery: Delivery::Stacked,
        calls_when_decided: 0,
        calls_when_all_tried: 2,
        from_earlier_module: true,
    },
    Mode {
        name: "try_first_pass forward_pass, code in the password",
        args: &["try_first_pass", "forward_pass"],
        delivery: Delivery::Stacked,
        calls_when_decided: 0,
        calls_when_all_tried: 2,
        from_earlier_module: true,
    },
    Mode {
        name: "try_first_pass, code typed",
        args: &["try_first_pass"],
        delivery: Delivery::Typed,
        calls_when_decided: 1,
        calls_when_all_tried: 1,
        from_earlier_module: true,
    },
    Mode {
        name: "try_first_pass forward_pass, code typed",
        args: &["try_first_pass", "forward_pass"],
        delivery: Delivery::TypedAfterPassword,
        calls_when_decided: 1,
        calls_when_all_tried: 1,
        from_earlier_module: true,
    },
];

/// How often a login calls the conversation, in the unittest's terms.
#[derive(Debug, Clone, Copy)]
enum Asked {
    /// The first code checked decides the login: it is accepted, or refused
    /// by a rule such as `DISALLOW_REUSE` or a clock-skew sample.
    FirstCodeDecides,
    /// No code matched, so every way of getting one was tried.
    AllWaysTried,
    Never,
    /// Asked as for a wrong code, unless the code comes from an earlier
    /// module: then nothing is asked.
    UnlessFromEarlierModule,
}

/// One login of the unittest.
struct Login {
    at: u64,
    code: String,
    result: PamCode,
    asked: Asked,
    /// The file's content afterwards, when the login rewrites it.
    rewrites: Option<String>,
    /// Our module's file afterwards, where it differs on purpose.
    ours_rewrites: Option<String>,
}

fn accepted(at: u64, code: &str, asked: Asked) -> Login {
    Login {
        at,
        code: code.to_owned(),
        result: PamCode::SUCCESS,
        asked,
        rewrites: None,
        ours_rewrites: None,
    }
}

fn refused(at: u64, code: &str, asked: Asked) -> Login {
    Login {
        result: PamCode::AUTH_ERR,
        ..accepted(at, code, asked)
    }
}

impl Login {
    fn rewrites(mut self, content: impl Into<String>) -> Self {
        self.rewrites = Some(content.into());
        self
    }

    /// Our module leaves `content` where the reference leaves what
    /// [`rewrites`](Self::rewrites) says: a declared difference.
    fn ours_rewrites(mut self, content: impl Into<String>) -> Self {
        self.ours_rewrites = Some(content.into());
        self
    }
}

/// Why our module's file differs in [`Login::ours_rewrites`] (README, "How
/// it differs").
const SKEW_CODE_RECORDED: &str = "the code that completes clock-skew learning is recorded under \
                                  DISALLOW_REUSE, so it cannot be replayed; the reference \
                                  forgets it";

impl Mode {
    fn forward_pass(&self) -> bool {
        self.args.contains(&"forward_pass")
    }

    fn calls(&self, asked: Asked) -> usize {
        match asked {
            Asked::FirstCodeDecides => self.calls_when_decided,
            Asked::AllWaysTried => self.calls_when_all_tried,
            Asked::Never => 0,
            Asked::UnlessFromEarlierModule if self.from_earlier_module => 0,
            Asked::UnlessFromEarlierModule => self.calls_when_all_tried,
        }
    }

    /// `PAM_AUTHTOK` before the login and the conversation's answer, if any.
    fn delivered(&self, code: &str) -> (String, Option<String>) {
        let together = format!("{PASSWORD}{code}");
        match self.delivery {
            Delivery::Typed => (PASSWORD.to_owned(), Some(code.to_owned())),
            Delivery::TypedAfterPassword => (PASSWORD.to_owned(), Some(together)),
            Delivery::Stacked => (together, None),
        }
    }

    /// What the unittest expects of `login` in this mode.
    fn expect(&self, login: &Login) -> Expect {
        self.expect_file(login, login.rewrites.as_ref())
    }

    /// What our module must do with `login` in this mode.
    fn expect_ours(&self, login: &Login) -> Expect {
        self.expect_file(
            login,
            login.ours_rewrites.as_ref().or(login.rewrites.as_ref()),
        )
    }

    /// [`expect`](Self::expect), with the file afterwards `rewrites`.
    fn expect_file(&self, login: &Login, rewrites: Option<&String>) -> Expect {
        let (authtok, _) = self.delivered(&login.code);
        // With forward_pass an accepted login hands on the password alone.
        let authtok_after = if login.result == PamCode::SUCCESS && self.forward_pass() {
            PASSWORD.to_owned()
        } else {
            authtok
        };
        let prompt = if self.forward_pass() {
            PASSWORD_AND_CODE_PROMPT
        } else {
            CODE_PROMPT
        };
        let calls = self.calls(login.asked);
        let expect = Expect::result(login.result)
            .messages(vec![Message::echo_off(prompt); calls])
            .conversations(calls)
            .authtok(Authtok::Value(authtok_after));
        match rewrites {
            Some(content) => expect.rewritten(content.clone()),
            None => expect,
        }
    }

    fn step(&self, login: &Login) -> Step {
        let (authtok, answer) = self.delivered(&login.code);
        let step = Step::at(login.at, self.expect(login))
            .rhost(RHOST)
            .authtok(Answer::Text(authtok));
        match answer {
            Some(answer) => step.answer(Answer::Text(answer)),
            None => step,
        }
    }

    /// The logins as one scenario, in this mode, with `args` added.
    fn scenario(&self, start: Scenario, args: &[&str], logins: &[Login]) -> Scenario {
        let mut scenario = Scenario {
            name: format!("{} [{}]", start.name, self.name),
            ..start
        }
        .args(self.args)
        .args(args);
        for login in logins {
            scenario = scenario.step(self.step(login));
        }
        if logins.iter().any(|login| login.ours_rewrites.is_some()) {
            let ours = logins.iter().map(|login| self.expect_ours(login)).collect();
            scenario = scenario.difference(SKEW_CODE_RECORDED, ours);
        }
        scenario
    }
}

/// Plays `logins` on a file with `content`, in every mode.
fn in_every_mode(what: &str, content: &str, logins: &[Login]) {
    in_every_mode_with(&[], what, content, logins);
}

fn in_every_mode_with(args: &[&str], what: &str, content: &str, logins: &[Login]) {
    for mode in &MODES {
        check(|| mode.scenario(Scenario::new(what, content), args, logins));
    }
}

/// The TOTP code of `step`.
fn code_of(step: u64) -> String {
    codes::totp(SECRET, step * 30, 30)
}

/// The file each mode starts with: the secret and `TOTP_AUTH`, without a
/// final newline.
fn initial_file() -> String {
    format!("{SECRET}\n\" TOTP_AUTH")
}

/// The clock-skew sample the first default-window login leaves.
const FIRST_SAMPLE: &str = "\" RESETTING_TIME_SKEW 9998+2\n";

/// The file from the `WINDOW_SIZE 6` logins on: the secret, the clock-skew
/// lines `skew`, `TOTP_AUTH`, `WINDOW_SIZE 6`, then `DISALLOW_REUSE` with the
/// steps `used` and `RATE_LIMIT 4 120` with the times of the recent
/// `attempts`, once the unittest has added them.
fn later_file(skew: &str, used: Option<&[u64]>, attempts: Option<&[u64]>) -> String {
    let list =
        |numbers: &[u64]| -> String { numbers.iter().map(|n| format!(" {n}")).collect::<String>() };
    let mut file = format!("{SECRET}\n{skew}\" TOTP_AUTH\n\" WINDOW_SIZE 6\n");
    if let Some(used) = used {
        file.push_str(&format!("\" DISALLOW_REUSE{}\n", list(used)));
    }
    if let Some(attempts) = attempts {
        file.push_str(&format!("\" RATE_LIMIT 4 120{}\n", list(attempts)));
    }
    file
}

fn steps(first: u64, last: u64) -> Vec<u64> {
    (first..=last).collect()
}

fn times_of(steps: &[u64]) -> Vec<u64> {
    steps.iter().map(|step| step * 30).collect()
}

// ------------------------------------------------------------ the unittest

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn wrong_code_is_refused() {
    in_every_mode(
        "wrong code",
        &initial_file(),
        &[refused(T, "123456", Asked::AllWaysTried)],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn code_typed_with_too_few_or_too_many_digits_is_refused() {
    let logins: Vec<Login> = ["50548", "0050548", "00050548"]
        .iter()
        .map(|code| refused(T, code, Asked::AllWaysTried))
        .collect();
    for mode in MODES.iter().filter(|m| m.delivery == Delivery::Typed) {
        check(|| mode.scenario(Scenario::new("digits", &initial_file()), &[], &logins));
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn blank_answer_is_refused() {
    in_every_mode(
        "blank answer",
        &initial_file(),
        &[refused(T, "", Asked::AllWaysTried)],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn missing_file_is_asked_for_only_when_the_code_cannot_come_from_an_earlier_module() {
    for mode in &MODES {
        let login = refused(T, CODE, Asked::UnlessFromEarlierModule);
        check(|| mode.scenario(Scenario::without_file("missing file"), &[], &[login]));
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn missing_file_with_nullok_passes_without_a_question() {
    for mode in &MODES {
        // PAM_IGNORE from the only deciding module: pam_authenticate then
        // answers PAM_PERM_DENIED.
        let login = Login {
            result: PamCode::PERM_DENIED,
            ..refused(T, CODE, Asked::Never)
        };
        check(|| {
            mode.scenario(
                Scenario::without_file("missing file, nullok"),
                &["nullok"],
                &[login],
            )
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn valid_code_is_accepted() {
    in_every_mode(
        "valid code",
        &initial_file(),
        &[accepted(T, CODE, Asked::FirstCodeDecides)],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn step_size_60_accepts_one_step_either_side() {
    let content = format!("{}\n\" STEP_SIZE 60\n", initial_file());
    let sampled = format!("{SECRET}\n{FIRST_SAMPLE}\" TOTP_AUTH\n\" STEP_SIZE 60\n");
    let decided = Asked::FirstCodeDecides;
    in_every_mode(
        "STEP_SIZE 60",
        &content,
        &[
            refused(9998 * 60, CODE, decided).rewrites(sampled),
            accepted(9999 * 60, CODE, decided),
            accepted(10_001 * 60, CODE, decided),
            refused(10_002 * 60, CODE, decided),
            accepted(10_000 * 60, CODE, decided),
        ],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn default_window_accepts_one_step_either_side() {
    let sampled = format!("{SECRET}\n{FIRST_SAMPLE}\" TOTP_AUTH");
    let decided = Asked::FirstCodeDecides;
    in_every_mode(
        "default window",
        &initial_file(),
        &[
            refused(9998 * 30, CODE, decided).rewrites(sampled),
            accepted(9999 * 30, CODE, decided),
            accepted(10_001 * 30, CODE, decided),
            refused(10_002 * 30, CODE, decided),
            accepted(10_000 * 30, CODE, decided),
        ],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn window_size_6_accepts_two_steps_behind_and_three_ahead() {
    let decided = Asked::FirstCodeDecides;
    in_every_mode(
        "WINDOW_SIZE 6",
        &later_file(FIRST_SAMPLE, None, None),
        &[
            refused(9996 * 30, CODE, decided),
            accepted(9997 * 30, CODE, decided),
            accepted(10_002 * 30, CODE, decided),
            refused(10_003 * 30, CODE, decided),
            accepted(10_000 * 30, CODE, decided),
        ],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn without_disallow_reuse_a_code_is_accepted_again() {
    in_every_mode(
        "code used again",
        &later_file(FIRST_SAMPLE, None, None),
        &[accepted(T, CODE, Asked::FirstCodeDecides)],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn disallow_reuse_refuses_a_replay_and_forgets_steps_outside_the_window() {
    let decided = Asked::FirstCodeDecides;
    let used = |first, last| later_file(FIRST_SAMPLE, Some(&steps(first, last)), None);
    let mut logins = vec![
        accepted(T, CODE, decided).rewrites(used(10_000, 10_000)),
        refused(T, CODE, decided),
    ];
    for step in 10_001..10_008 {
        // Steps six or more away from the current one are dropped.
        let oldest = (step - 5).max(10_000);
        logins.push(accepted(step * 30, &code_of(step), decided).rewrites(used(oldest, step)));
    }
    in_every_mode(
        "DISALLOW_REUSE",
        &later_file(FIRST_SAMPLE, Some(&[]), None),
        &logins,
    );
}

/// The file after the `DISALLOW_REUSE` logins.
fn after_disallow_reuse() -> String {
    later_file(FIRST_SAMPLE, Some(&steps(10_002, 10_007)), None)
}

/// The file after the `RATE_LIMIT` logins: used steps and attempt times.
fn after_rate_limit() -> String {
    later_file(
        FIRST_SAMPLE,
        Some(&[20_001, 20_002, 20_003, 20_006]),
        Some(&times_of(&[20_002, 20_003, 20_004, 20_006])),
    )
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn rate_limit_refuses_the_fifth_login_within_two_minutes_without_a_question() {
    let decided = Asked::FirstCodeDecides;
    let file = |used: &[u64], attempted: &[u64]| {
        later_file(FIRST_SAMPLE, Some(used), Some(&times_of(attempted)))
    };
    let content = format!("{}\" RATE_LIMIT 4 120\n", after_disallow_reuse());
    in_every_mode(
        "RATE_LIMIT 4 120",
        &content,
        &[
            accepted(20_000 * 30, &code_of(20_000), decided).rewrites(file(&[20_000], &[20_000])),
            accepted(20_001 * 30, &code_of(20_001), decided)
                .rewrites(file(&steps(20_000, 20_001), &steps(20_000, 20_001))),
            accepted(20_002 * 30, &code_of(20_002), decided)
                .rewrites(file(&steps(20_000, 20_002), &steps(20_000, 20_002))),
            accepted(20_003 * 30, &code_of(20_003), decided)
                .rewrites(file(&steps(20_000, 20_003), &steps(20_000, 20_003))),
            refused(20_004 * 30, &code_of(20_004), Asked::Never)
                .rewrites(file(&steps(20_000, 20_003), &steps(20_001, 20_004))),
            accepted(20_006 * 30, &code_of(20_006), decided).rewrites(after_rate_limit()),
        ],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn blank_after_the_rate_limit_timestamps() {
    let content = after_rate_limit().replace("600180\n", "600180 ");
    let reference = refused(T, CODE, Asked::Never);
    let ours = accepted(T, CODE, Asked::FirstCodeDecides).rewrites(later_file(
        FIRST_SAMPLE,
        Some(&[10_000]),
        Some(&[T]),
    ));
    for mode in &MODES {
        check(|| {
            mode.scenario(
                Scenario::new("blank after RATE_LIMIT", &content),
                &[],
                std::slice::from_ref(&reference),
            )
            .difference(
                "blanks after the RATE_LIMIT timestamps are tolerated; the \
                 reference refuses the file",
                vec![mode.expect(&ours)],
            )
        });
    }
}

/// The clock-skew lines once `TIME_SKEW` is learned.
const LEARNED_SKEW: &str = "\" TIME_SKEW -1000\n\" RESETTING_TIME_SKEW \n";

/// The file after the `TIME_SKEW` logins.
fn after_time_skew() -> String {
    later_file(
        LEARNED_SKEW,
        Some(&[11_003]),
        Some(&times_of(&steps(12_000, 12_003))),
    )
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn three_codes_at_the_same_skew_set_time_skew() {
    let decided = Asked::FirstCodeDecides;
    let used = [20_001, 20_002, 20_003, 20_006];
    let file = |skew: &str, used: &[u64], attempted: &[u64]| {
        later_file(skew, Some(used), Some(&times_of(attempted)))
    };
    // The user's clock is 1000 steps behind.
    let login = |i: u64| ((12_000 + i) * 30, code_of(11_000 + i));
    let (at0, code0) = login(0);
    let (at1, code1) = login(1);
    let (at2, code2) = login(2);
    let (at3, code3) = login(3);
    in_every_mode(
        "TIME_SKEW",
        &after_rate_limit(),
        &[
            refused(at0, &code0, decided).rewrites(file(
                "\" RESETTING_TIME_SKEW 9998+2 12000-1000\n",
                &used,
                &[12_000],
            )),
            refused(at1, &code1, decided).rewrites(file(
                "\" RESETTING_TIME_SKEW 9998+2 12000-1000 12001-1000\n",
                &used,
                &steps(12_000, 12_001),
            )),
            accepted(at2, &code2, decided)
                .rewrites(file(LEARNED_SKEW, &used, &steps(12_000, 12_002)))
                .ours_rewrites(file(LEARNED_SKEW, &[11_002], &steps(12_000, 12_002))),
            accepted(at3, &code3, decided)
                .rewrites(after_time_skew())
                .ours_rewrites(file(
                    LEARNED_SKEW,
                    &[11_002, 11_003],
                    &steps(12_000, 12_003),
                )),
        ],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn noskewadj_refuses_a_code_outside_the_skewed_window() {
    let after = later_file(LEARNED_SKEW, Some(&[11_003]), Some(&[12_020 * 30]));
    in_every_mode_with(
        &["noskewadj"],
        "noskewadj",
        &after_time_skew(),
        &[refused(12_020 * 30, &code_of(11_010), Asked::AllWaysTried).rewrites(after)],
    );
}

/// The file after the failed scratch-code login.
fn before_scratch_code() -> String {
    later_file(LEARNED_SKEW, Some(&[11_003]), Some(&[T]))
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn scratch_code_is_refused_while_the_file_has_none() {
    in_every_mode(
        "no scratch code",
        &after_time_skew(),
        &[refused(T, "12345678", Asked::AllWaysTried).rewrites(before_scratch_code())],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn scratch_code_is_accepted_once() {
    let attempts = |n: usize| later_file(LEARNED_SKEW, Some(&[11_003]), Some(&vec![T; n]));
    in_every_mode(
        "scratch code",
        &format!("{}12345678\n", before_scratch_code()),
        &[
            accepted(T, "12345678", Asked::FirstCodeDecides).rewrites(attempts(2)),
            refused(T, "12345678", Asked::AllWaysTried).rewrites(attempts(3)),
        ],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn hotp_counter_advances_on_success_and_failure_and_looks_ahead() {
    let counter = |n: u64| format!("{SECRET}\n\" HOTP_COUNTER {n}\n");
    in_every_mode(
        "HOTP",
        &counter(1),
        &[
            accepted(T, "293240", Asked::FirstCodeDecides).rewrites(counter(2)),
            refused(T, "293240", Asked::AllWaysTried).rewrites(counter(3)),
            accepted(T, "932068", Asked::FirstCodeDecides).rewrites(counter(6)),
        ],
    );
}

// ------------------------------------------- unusable files, in every mode

/// A file with the unittest's secret, `option` and `TOTP_AUTH`.
fn totp_file_with(option: &str) -> String {
    format!("{SECRET}\n\" {option}\n\" TOTP_AUTH\n")
}

/// The unittest's secret with a character base32 does not have.
const INVALID_SECRET: &str = "2SH3V3GDW7ZN!GYE";

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn invalid_rate_limit_is_refused_without_a_question() {
    for value in ["0 30", "101 30", "3 0", "3 3601", "3", "x 30", "3 30x"] {
        in_every_mode(
            &format!("RATE_LIMIT {value}"),
            &totp_file_with(&format!("RATE_LIMIT {value}")),
            &[refused(T, CODE, Asked::Never)],
        );
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn invalid_rate_limit_is_refused_without_a_question_before_the_secret_is_read() {
    in_every_mode(
        "RATE_LIMIT 0 30, invalid secret",
        &format!("{INVALID_SECRET}\n\" RATE_LIMIT 0 30\n\" TOTP_AUTH\n"),
        &[refused(T, CODE, Asked::Never)],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn invalid_secret_is_asked_for_like_a_missing_file() {
    in_every_mode(
        "invalid secret",
        &format!("{INVALID_SECRET}\n\" TOTP_AUTH\n"),
        &[refused(T, CODE, Asked::UnlessFromEarlierModule)],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn empty_file_or_nul_byte_is_asked_for_like_a_missing_file() {
    for (what, content) in [
        ("empty file", String::new()),
        ("NUL byte", format!("{SECRET}\n\" TOTP_AUTH\n\0\n")),
    ] {
        in_every_mode(
            what,
            &content,
            &[refused(T, CODE, Asked::UnlessFromEarlierModule)],
        );
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn file_of_another_user_or_open_to_others_is_asked_for_like_a_missing_file() {
    let login = || [refused(T, CODE, Asked::UnlessFromEarlierModule)];
    for mode in &MODES {
        check(|| {
            let start =
                Scenario::new("file of another user", &initial_file()).file_owner(BOB, None);
            mode.scenario(start, &[], &login())
        });
        check(|| {
            let start = Scenario::new("file readable by all", &initial_file()).mode(0o644);
            mode.scenario(start, &[], &login())
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn unknown_user_is_asked_for_like_a_missing_file() {
    for mode in &MODES {
        let start = || Scenario::without_file("unknown user").unknown_user("rt_no_such_user");
        check(|| {
            mode.scenario(
                start(),
                &[],
                &[refused(T, CODE, Asked::UnlessFromEarlierModule)],
            )
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn invalid_step_or_window_size_stops_at_the_first_code_checked() {
    for option in [
        "STEP_SIZE 0",
        "STEP_SIZE 61",
        "WINDOW_SIZE 0",
        "WINDOW_SIZE 101",
    ] {
        in_every_mode(
            option,
            &totp_file_with(option),
            &[refused(T, CODE, Asked::UnlessFromEarlierModule)],
        );
    }
    in_every_mode(
        "HOTP, WINDOW_SIZE 0",
        &format!("{SECRET}\n\" WINDOW_SIZE 0\n\" HOTP_COUNTER 1\n"),
        &[refused(T, "293240", Asked::UnlessFromEarlierModule)],
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn other_malformed_lines_are_asked_for_like_a_wrong_code() {
    let wrong = || [refused(T, "123456", Asked::AllWaysTried)];
    for option in [
        "DISALLOW_REUSE x",
        "TIME_SKEW x",
        "RESETTING_TIME_SKEW x",
        "HOTP_COUNTER x",
    ] {
        in_every_mode_with(&["noskewadj"], option, &totp_file_with(option), &wrong());
    }
    // A counter-based login never reads STEP_SIZE; no_increment_hotp keeps
    // the reference from rewriting the file.
    in_every_mode_with(
        &["no_increment_hotp"],
        "STEP_SIZE 0 in a HOTP file",
        &format!("{SECRET}\n\" STEP_SIZE 0\n\" HOTP_COUNTER 1\n"),
        &wrong(),
    );
    // Only the first line of an option counts, and a file that is neither
    // time- nor counter-based never reads STEP_SIZE or WINDOW_SIZE.
    in_every_mode_with(
        &["noskewadj"],
        "second STEP_SIZE line malformed",
        &format!("{SECRET}\n\" STEP_SIZE 30\n\" STEP_SIZE 0\n\" TOTP_AUTH\n"),
        &wrong(),
    );
    in_every_mode(
        "WINDOW_SIZE 0 without TOTP_AUTH",
        &format!("{SECRET}\n\" WINDOW_SIZE 0\n"),
        &wrong(),
    );
    in_every_mode_with(
        &["noskewadj"],
        "line that is not UTF-8",
        &format!("{SECRET}\n\" TOTP_AUTH\n\" NOTE caf\u{e9}\n"),
        &wrong(),
    );
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn rate_limit_reached_in_a_malformed_file_is_refused_without_a_question() {
    let attempts = |first: u64, second: u64| format!("RATE_LIMIT 2 30 {first} {second}");
    for (what, secret, option) in [
        ("WINDOW_SIZE 0", SECRET, "WINDOW_SIZE 0"),
        ("invalid secret", INVALID_SECRET, "TOTP_AUTH"),
    ] {
        let file = |rate_limit: String| format!("{secret}\n\" {rate_limit}\n\" {option}\n");
        let content = file(attempts(T - 10, T - 5));
        let reference = refused(T, CODE, Asked::Never).rewrites(file(attempts(T - 5, T)));
        let ours = refused(T, CODE, Asked::Never);
        for mode in &MODES {
            check(|| {
                mode.scenario(
                    Scenario::new(format!("RATE_LIMIT reached, {what}"), &content),
                    &[],
                    std::slice::from_ref(&reference),
                )
                .difference(
                    "a malformed file is never rewritten; the reference records \
                     the attempt in RATE_LIMIT",
                    vec![mode.expect(&ours)],
                )
            });
        }
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn try_first_pass_asks_without_a_file_when_the_password_does_not_end_in_a_code() {
    let prompt = Message::echo_off(CODE_PROMPT);
    let stacked = "hunter2".to_owned();
    check(|| {
        Scenario::without_file("try_first_pass, password without a code")
            .args(&["try_first_pass"])
            .step(
                Step::at(
                    T,
                    Expect::failure()
                        .conversations(1)
                        .authtok(Authtok::Value(stacked.clone())),
                )
                .authtok(Answer::Text(stacked.clone()))
                .answer(Answer::text(CODE)),
            )
            .step(
                Step::at(
                    T,
                    Expect::failure()
                        .messages(vec![prompt.clone(), prompt.clone()])
                        .conversations(2)
                        .authtok(Authtok::Value(stacked.clone())),
                )
                .authtok(Answer::Text(stacked.clone())),
            )
            .step(Step::at(
                T,
                Expect::failure()
                    .messages(vec![prompt.clone(), prompt.clone()])
                    .conversations(2),
            ))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn malformed_line_read_only_once_a_code_matches_is_asked_for_like_a_wrong_code() {
    let content = totp_file_with("DISALLOW_REUSE x");
    let reference = refused(T, CODE, Asked::FirstCodeDecides);
    let ours = refused(T, CODE, Asked::AllWaysTried);
    for mode in &MODES {
        check(|| {
            mode.scenario(
                Scenario::new("DISALLOW_REUSE x, valid code", &content),
                &[],
                std::slice::from_ref(&reference),
            )
            .difference(
                "a malformed file is refused whatever the code, so it is asked \
                 for like a wrong code; the reference stops at a valid code from \
                 an earlier module before it reads the bad line",
                vec![mode.expect(&ours)],
            )
        });
    }
}
