//! The external tools the PAM integration tests need, and the policy when one
//! is missing. The tests that need them are `#[ignore]`d with the reason, so
//! plain `cargo test` reports them as ignored on any machine; they run with
//! `--include-ignored` (as `tests/run-all.sh` does, as root, after installing
//! the tools), and then a missing tool fails the test: a test that could not
//! run never passes.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::driver::Driver;

/// Debian's build of the reference module (libpam-google-authenticator).
pub const REFERENCE_MODULE: &str = "/usr/lib/x86_64-linux-gnu/security/pam_google_authenticator.so";
/// Debian's libfaketime preload library (package libfaketime).
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
/// Linux-PAM application header (package libpam0g-dev).
const PAM_HEADER: &str = "/usr/include/security/pam_appl.h";
/// Programs the harness runs, with the Debian package that provides each.
const PROGRAMS: &[(&str, &str)] = &[
    ("cc", "gcc"),
    ("nm", "binutils"),
    ("oathtool", "oathtool"),
    ("useradd", "passwd"),
];
/// Files the harness needs, with the Debian package that provides each.
const FILES: &[(&str, &str)] = &[
    (PAM_HEADER, "libpam0g-dev"),
    (LIBFAKETIME, "libfaketime"),
    (REFERENCE_MODULE, "libpam-google-authenticator"),
];

/// Fails a test that cannot run here, saying why.
pub fn unavailable(reason: &str) -> ! {
    panic!(
        "this test cannot run here: {reason} (install the tools with \
         tests/install-deps.sh and run as root, as tests/run-all.sh does)"
    )
}

/// The absolute path of `program` found on `PATH` (or in the sbin
/// directories, which are not on a non-root `PATH`).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Like [`find_program`], but fails the test when the program is absent.
pub fn require_program(program: &str, package: &str) -> PathBuf {
    find_program(program).unwrap_or_else(|| {
        unavailable(&format!("`{program}` not found (Debian package {package})"))
    })
}

/// Everything checked and built once per test process.
pub struct Harness {
    pub driver: Driver,
}

/// The harness; the test fails when it cannot be had.
pub fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Result<Harness, String>> = OnceLock::new();
    match HARNESS.get_or_init(prepare) {
        Ok(harness) => harness,
        Err(reason) => unavailable(reason),
    }
}

fn prepare() -> Result<Harness, String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("the PAM integration tests must run as root \
                    (useradd, setfsuid, chown)"
            .to_owned());
    }
    for (program, package) in PROGRAMS {
        if find_program(program).is_none() {
            return Err(format!("`{program}` not found (Debian package {package})"));
        }
    }
    for (file, package) in FILES {
        if !Path::new(file).exists() {
            return Err(format!("{file} is missing (Debian package {package})"));
        }
    }
    Ok(Harness {
        driver: Driver::build()?,
    })
}
