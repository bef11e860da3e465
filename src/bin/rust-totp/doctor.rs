//! `rust-totp doctor`: checks an installation for common set-up mistakes
//! (placeholder until the checks are written).
#![forbid(unsafe_code)]

use std::ffi::OsString;

/// Runs the `doctor` subcommand with the arguments that follow it and returns
/// the process exit status.
pub fn run(_args: Vec<OsString>) -> i32 {
    eprintln!("doctor: not yet available");
    2
}
