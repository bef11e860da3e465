//! pam_rust_totp: a memory-safe, drop-in replacement for Google's
//! `pam_google_authenticator` PAM module.
//!
//! The crate is layered so that the security decisions are made by plain,
//! I/O-free Rust:
//!
//! * [`otp`], [`state_file`] and [`verifier`] are the pure core: the model of
//!   `~/.google_authenticator` and the function that decides whether an answer
//!   is a valid one-time code and how the file changes.
//! * [`module_options`] and [`secret_path`] turn PAM arguments into settings.
//! * [`privilege`] and [`secret_file`] are the I/O edge: acting with the
//!   user's file-system identity, and reading, locking and atomically
//!   replacing the state file.
//! * [`syslog`], [`authenticate`] and the private `ffi` module are the PAM
//!   glue.
//!
//! `unsafe` is denied crate-wide; only `ffi` and the private
//! `supplementary_groups` (one system call that `nix` makes expensive) are
//! allowed to use it, and every block there carries a `SAFETY` comment.
#![deny(unsafe_code)]

pub mod authenticate;
mod ffi;
pub mod module_options;
pub mod otp;
pub mod privilege;
pub mod secret_file;
pub mod secret_path;
pub mod state_file;
mod supplementary_groups;
pub mod syslog;
pub mod verifier;
