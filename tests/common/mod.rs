//! Support shared by the PAM integration tests.
//!
//! The tests drive real Linux-PAM through a small C program
//! (`tests/driver/pam_driver.c`) that authenticates one user against a
//! service file written into a private configuration directory, so both our
//! module and the reference `pam_google_authenticator.so` are loaded and
//! called exactly as `sshd` or `login` would call them.
//!
//! * [`requirements`]: the tools the tests need, and what happens when one is
//!   missing (a loud skip for developers, a failure when `CI=true`).
//! * [`driver`]: compiling and running the driver, and its parsed output.
//! * [`system`]: test users, per-scenario directories and state files.
//! * [`codes`]: one-time codes from `oathtool` and state files from the
//!   reference `google-authenticator` enrolment command.
//! * [`module`]: which PAM module a run loads.
//! * [`scenario`]: declarative multi-step scenarios and their runner.
//! * [`locks`]: whether the lock on a state file is held.
#![allow(dead_code)]

pub mod codes;
pub mod driver;
pub mod locks;
pub mod module;
pub mod requirements;
pub mod scenario;
pub mod system;
