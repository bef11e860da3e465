//! The core of pam_rust_totp: everything that decides, and nothing that
//! touches the system.
//!
//! * [`otp`]: HOTP and TOTP codes (RFC 4226, RFC 6238).
//! * [`state_file`]: the model of `~/.google_authenticator`, read from and
//!   written to bytes.
//! * [`verifier`]: [`verifier::verify`], which decides whether an answer is
//!   a valid code and how the file changes: a function of the file, the
//!   settings, the time and the answers.
//! * [`module_options`]: the module's `pam.d` arguments as settings.
//! * [`location`]: the rule that names a user's state file (`secret=`).
//!
//! No file system, no clock, no syslog, no `unsafe`: time and answers come
//! in as values, so every decision is a plain function to test and fuzz.
#![forbid(unsafe_code)]

pub mod location;
pub mod module_options;
pub mod otp;
pub mod state_file;
pub mod verifier;
