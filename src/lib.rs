//! pam_rust_totp: a memory-safe, drop-in replacement for Google's
//! `pam_google_authenticator` PAM module.
//!
//! This crate is the module's contact with the system; every decision is
//! made by the I/O-free core, `rust_totp_core`.
//!
//! * [`store`]: reading, locking and atomically replacing a state file, the
//!   one store the module and the `rust-totp` command both write through.
//! * [`privilege`]: acting with the user's file-system identity.
//! * [`syslog`]: one line per refusal to the system log.
//! * [`authenticate`]: the login flow, from PAM arguments to a PAM code.
//! * `ffi`: the C boundary (the `pam_sm_*` entry points) and the one system
//!   call made without `nix`; the only module allowed `unsafe`, every block
//!   with its `SAFETY` comment.
#![deny(unsafe_code)]

pub mod authenticate;
#[allow(unsafe_code)]
mod ffi;
pub mod privilege;
pub mod store;
pub mod syslog;
