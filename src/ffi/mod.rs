//! All of the module's `unsafe` code, and nothing else.
//!
//! * `pam`: the `pam_sm_*` entry points Linux-PAM calls, and the login
//!   flow's view of a real PAM handle.
//! * [`groups`]: reading and setting the calling thread's supplementary
//!   groups by the system calls themselves.
//!
//! Each `unsafe` block carries a `SAFETY` comment saying why it is sound.

pub mod groups;
mod pam;
