//! The external tools the PAM integration tests need, and the policy when one
//! is missing: with `CI=true` the test fails loudly; elsewhere it prints a
//! `SKIPPED:` notice and returns, so `cargo test` still works on a developer
//! machine without PAM headers, libfaketime or root.

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

/// Whether the tests run in CI, where every missing tool is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

/// Reports that a test cannot run: a panic in CI, a loud notice otherwise.
pub fn unavailable(reason: &str) {
    assert!(!in_ci(), "PAM integration test cannot run in CI: {reason}");
    eprintln!("SKIPPED: {reason} (install with tests/install-deps.sh, run as root)");
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

/// Like [`find_program`], but reports the program as unavailable when absent.
pub fn require_program(program: &str, package: &str) -> Option<PathBuf> {
    let found = find_program(program);
    if found.is_none() {
        unavailable(&format!("`{program}` not found (Debian package {package})"));
    }
    found
}

/// Everything checked and built once per test process.
pub struct Harness {
    pub driver: Driver,
}

/// The harness, or `None` (after the skip notice) when the tests cannot run.
pub fn harness() -> Option<&'static Harness> {
    static HARNESS: OnceLock<Result<Harness, String>> = OnceLock::new();
    match HARNESS.get_or_init(prepare) {
        Ok(harness) => Some(harness),
        Err(reason) => {
            unavailable(reason);
            None
        }
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
