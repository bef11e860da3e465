//! Files whose codes are not SHA-1 with six digits. Google's module ignores
//! the `ALGORITHM`, `DIGITS`, `TOTP` and `HOTP` lines, so for such a file it
//! sees neither time- nor counter-based codes: it accepts no code from the
//! app, in any prompting mode, and still accepts the scratch codes. Our
//! module accepts the app's codes. With `TOTP_AUTH` instead of `TOTP`, the
//! reference would accept the last six digits of a SHA-1 code of seven or
//! eight digits, which is why our module refuses such a file.

use super::*;
use common::codes::AppCodes;

/// Every format but SHA-1 with six digits.
const FORMATS: [(&str, u32); 8] = [
    ("SHA1", 7),
    ("SHA1", 8),
    ("SHA256", 6),
    ("SHA256", 7),
    ("SHA256", 8),
    ("SHA512", 6),
    ("SHA512", 7),
    ("SHA512", 8),
];

const REASON: &str = "a file whose codes are not SHA-1 with six digits names them with lines \
                      Google's module does not read, so it accepts none of the app's codes; \
                      ours does";

/// The `ALGORITHM` and `DIGITS` lines of a format.
fn format_lines(codes: AppCodes) -> String {
    let mut lines = String::new();
    if codes.algorithm != "SHA1" {
        lines.push_str(&format!("\" ALGORITHM {}\n", codes.algorithm));
    }
    if codes.digits != 6 {
        lines.push_str(&format!("\" DIGITS {}\n", codes.digits));
    }
    lines
}

fn app_codes((algorithm, digits): (&'static str, u32)) -> AppCodes {
    AppCodes { algorithm, digits }
}

fn app_totp(codes: AppCodes, prefix: &str) -> Answer {
    Answer::AppTotp {
        codes,
        prefix: prefix.to_owned(),
        steps: 0,
    }
}

/// A time-based file of `codes` with the three scratch codes, and the same
/// file once the first scratch code is used.
fn totp_files(codes: AppCodes) -> (String, String) {
    let head = format!("{SECRET}\n{}\" TOTP\n", format_lines(codes));
    (
        format!("{head}{}\n", SCRATCH.join("\n")),
        format!("{head}{}\n{}\n", SCRATCH[1], SCRATCH[2]),
    )
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn the_reference_accepts_no_app_code_but_the_scratch_codes_when_prompting() {
    for format in FORMATS {
        check(|| {
            let codes = app_codes(format);
            let (content, after_scratch) = totp_files(codes);
            Scenario::new(format!("{format:?} prompt"), &content)
                .step(Step::at(T0, Expect::failure()).answer(app_totp(codes, "")))
                .step(Step::at(T0, Expect::failure()).answer(totp(0)))
                .step(
                    Step::at(T0, Expect::success().rewritten(after_scratch.clone()))
                        .answer(text(SCRATCH[0])),
                )
                .difference(
                    REASON,
                    vec![
                        Expect::success(),
                        Expect::failure(),
                        Expect::success().rewritten(after_scratch),
                    ],
                )
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn the_reference_accepts_no_app_code_with_forward_pass() {
    for format in FORMATS {
        check(|| {
            let codes = app_codes(format);
            let (content, after_scratch) = totp_files(codes);
            let pw = || Authtok::Value("pw".to_owned());
            let scratch = Expect::success()
                .messages(forward_pass_prompt())
                .authtok(pw())
                .rewritten(after_scratch);
            let failure = || Expect::failure().messages(forward_pass_prompt());
            Scenario::new(format!("{format:?} forward_pass"), &content)
                .args(&["forward_pass"])
                .step(Step::at(T0, failure()).answer(app_totp(codes, "pw")))
                .step(Step::at(T0, failure()).answer(Answer::PasswordAndTotp("pw".into(), 0)))
                .step(Step::at(T0, scratch.clone()).answer(text(&format!("pw{}", SCRATCH[0]))))
                .difference(
                    REASON,
                    vec![
                        Expect::success()
                            .messages(forward_pass_prompt())
                            .authtok(pw()),
                        failure(),
                        scratch,
                    ],
                )
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn the_reference_accepts_no_app_code_from_the_stacked_password() {
    for format in FORMATS {
        check(|| {
            let codes = app_codes(format);
            let (content, after_scratch) = totp_files(codes);
            let code = codes::totp_in(codes, SECRET, T0, 30);
            let given = |expect: Expect, authtok: &str| {
                expect
                    .no_messages()
                    .authtok(Authtok::Value(authtok.to_owned()))
            };
            let scratch = given(Expect::success().rewritten(after_scratch), SCRATCH[0]);
            Scenario::new(format!("{format:?} use_first_pass"), &content)
                .args(&["use_first_pass"])
                .step(Step::at(T0, given(Expect::failure(), &code)).authtok(text(&code)))
                .step(Step::at(T0, scratch.clone()).authtok(text(SCRATCH[0])))
                .difference(REASON, vec![given(Expect::success(), &code), scratch])
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn the_reference_accepts_no_app_hotp_code_and_leaves_the_counter() {
    for format in FORMATS {
        check(|| {
            let codes = app_codes(format);
            let lines = format_lines(codes);
            let content = format!("{SECRET}\n{lines}\" HOTP 1\n{}\n", SCRATCH[0]);
            let used = |counter: u32| format!("{SECRET}\n{lines}\" HOTP {counter}\n");
            Scenario::new(format!("{format:?} hotp"), &content)
                .step(Step::at(T0, Expect::failure()).answer(Answer::AppHotp { codes, counter: 1 }))
                .step(Step::at(T0, Expect::success().rewritten(used(1))).answer(text(SCRATCH[0])))
                .difference(
                    REASON,
                    vec![
                        Expect::success().rewritten(format!("{}{}\n", used(2), SCRATCH[0])),
                        Expect::success().rewritten(used(2)),
                    ],
                )
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn with_totp_auth_the_reference_takes_the_last_six_digits_of_a_longer_sha1_code() {
    for digits in [7, 8] {
        check(|| {
            let codes = AppCodes {
                algorithm: "SHA1",
                digits,
            };
            let code = codes::totp_in(codes, SECRET, T0, 30);
            let password = format!("pw{}", &code[..code.len() - 6]);
            let content = format!("{SECRET}\n\" DIGITS {digits}\n\" TOTP_AUTH\n");
            Scenario::new(format!("TOTP_AUTH with DIGITS {digits}"), &content)
                .args(&["forward_pass"])
                .step(
                    Step::at(
                        T0,
                        Expect::success()
                            .messages(forward_pass_prompt())
                            .authtok(Authtok::Value(password)),
                    )
                    .answer(app_totp(codes, "pw")),
                )
                .difference(
                    "a file with DIGITS or ALGORITHM and TOTP_AUTH is refused: Google's \
                     module would accept six-digit SHA-1 codes for it",
                    vec![Expect::failure().messages(forward_pass_prompt())],
                )
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_bad_digits_or_algorithm_line_refuses_the_login_and_leaves_the_file() {
    for line in ["\" DIGITS 9", "\" ALGORITHM MD5", "\" DIGITS 8 SHA256"] {
        check(|| {
            let content = format!("{SECRET}\n{line}\n\" TOTP\n{}\n", SCRATCH[0]);
            let reference = format!("{SECRET}\n{line}\n\" TOTP\n");
            Scenario::new(format!("bad line {line}"), &content)
                .step(Step::at(T0, Expect::success().rewritten(reference)).answer(text(SCRATCH[0])))
                .difference(
                    "a malformed file is refused and never rewritten; the reference \
                     ignores the line and accepts a scratch code",
                    vec![Expect::failure()],
                )
        });
    }
}
