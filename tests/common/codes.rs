//! Independent sources of test data: one-time codes from `oathtool` (OATH
//! Toolkit) and state files from the reference `google-authenticator`
//! enrolment command. The crate under test is never used to compute them.

use std::fs;
use std::process::Command;

use super::requirements::require_program;
use super::system::Workspace;

/// The six-digit TOTP code of `secret` (base32) for the step containing
/// `unix_time`, with steps of `step_seconds`.
pub fn totp(secret: &str, unix_time: u64, step_seconds: u64) -> String {
    totp_in(SHA1_SIX_DIGITS, secret, unix_time, step_seconds)
}

/// The six-digit TOTP code of `secret` (base32) for the current 30-second
/// step of the real clock.
pub fn current_totp(secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    totp(secret, now, 30)
}

/// The six-digit HOTP code of `secret` (base32) at `counter`.
pub fn hotp(secret: &str, counter: u64) -> String {
    hotp_in(SHA1_SIX_DIGITS, secret, counter)
}

/// How an app makes codes: the HMAC's hash as `oathtool` names it (`SHA1`,
/// `SHA256`, `SHA512`) and the number of digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppCodes {
    pub algorithm: &'static str,
    pub digits: u32,
}

/// The codes of Google's tools and of apps told nothing else.
pub const SHA1_SIX_DIGITS: AppCodes = AppCodes {
    algorithm: "SHA1",
    digits: 6,
};

/// The TOTP code of `secret` in `codes` for the step containing `unix_time`.
pub fn totp_in(codes: AppCodes, secret: &str, unix_time: u64, step_seconds: u64) -> String {
    oathtool_digits(
        &[
            format!("--totp={}", codes.algorithm),
            format!("--digits={}", codes.digits),
            "--base32".to_owned(),
            format!("--time-step-size={step_seconds}s"),
            format!("--now=@{unix_time}"),
            secret.to_owned(),
        ],
        codes.digits,
    )
}

/// The HOTP code of `secret` in `codes` at `counter`. `oathtool --hotp` is
/// SHA-1 only, so SHA-2 codes are the TOTP codes of one-second steps at
/// time `counter`, which RFC 6238 defines as exactly that HOTP value.
pub fn hotp_in(codes: AppCodes, secret: &str, counter: u64) -> String {
    if codes.algorithm == "SHA1" {
        return oathtool_digits(
            &[
                "--hotp".to_owned(),
                format!("--digits={}", codes.digits),
                "--base32".to_owned(),
                format!("--counter={counter}"),
                secret.to_owned(),
            ],
            codes.digits,
        );
    }
    totp_in(codes, secret, counter, 1)
}

fn oathtool_digits(args: &[String], digits: u32) -> String {
    let output = Command::new("oathtool")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running oathtool: {e}"));
    assert!(
        output.status.success(),
        "oathtool {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let code = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        code.len() == digits as usize && code.bytes().all(|b| b.is_ascii_digit()),
        "oathtool printed {code:?}"
    );
    code
}

/// The secret in the form oathtool accepts: the reference ignores blanks and
/// dashes, reads lower case as upper case, and 0, 1 and 8 as O, L and B.
pub fn normalised_secret(first_line: &str) -> String {
    first_line
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '-'))
        .map(|c| match c.to_ascii_uppercase() {
            '0' => 'O',
            '1' => 'L',
            '8' => 'B',
            other => other,
        })
        .collect()
}

/// A state file written by the reference `google-authenticator` command
/// with `args` (plus `--secret=FILE`); the test fails if the command is not
/// installed.
pub fn reference_enrolment(args: &[&str]) -> String {
    let program = require_program("google-authenticator", "libpam-google-authenticator");
    let workspace = Workspace::new();
    let file = workspace.path().join("google_authenticator");
    let output = Command::new(program)
        .args(args)
        .arg(format!("--secret={}", file.display()))
        .output()
        .unwrap_or_else(|e| panic!("running google-authenticator: {e}"));
    assert!(
        output.status.success(),
        "google-authenticator {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    fs::read_to_string(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()))
}
