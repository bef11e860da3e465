//! rust-totp: enrolment CLI (in progress).

fn main() {}
