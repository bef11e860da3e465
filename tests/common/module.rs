//! The PAM modules under test: ours (this crate's cdylib) and the reference
//! `pam_google_authenticator.so`.
//!
//! Our module is the file named by `PAM_RUST_TOTP_SO`, or else the
//! `libpam_rust_totp.so` that `cargo test` builds next to the test
//! executable in `target/<profile>/deps` (the library is compiled with all
//! its crate types for the integration tests; only `cargo build` copies it up
//! to `target/<profile>`, so that copy may be stale). It counts as present
//! once it exports `pam_sm_authenticate`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::requirements::REFERENCE_MODULE;

/// Environment variable naming our module's shared object explicitly.
pub const OURS_ENV: &str = "PAM_RUST_TOTP_SO";
const OURS_FILE: &str = "libpam_rust_totp.so";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    Ours,
    Reference,
}

impl Module {
    /// The absolute path of the module's shared object.
    pub fn path(self) -> PathBuf {
        match self {
            Self::Ours => ours_path(),
            Self::Reference => PathBuf::from(REFERENCE_MODULE),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Reference => "reference",
        }
    }
}

fn ours_path() -> PathBuf {
    if let Some(path) = std::env::var_os(OURS_ENV) {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/<test executable>
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    exe.parent()
        .unwrap_or_else(|| panic!("unexpected test executable path {}", exe.display()))
        .join(OURS_FILE)
}

/// Whether our module is built and implements authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OursStatus {
    Ready(PathBuf),
    /// The file is missing, or does not export `pam_sm_authenticate` yet.
    NotReady(String),
}

/// Our module's status, checked once per test process.
pub fn ours_status() -> &'static OursStatus {
    static STATUS: OnceLock<OursStatus> = OnceLock::new();
    STATUS.get_or_init(|| {
        let path = ours_path();
        if !path.is_file() {
            return OursStatus::NotReady(format!("{} does not exist", path.display()));
        }
        if exports(&path, "pam_sm_authenticate") {
            OursStatus::Ready(path)
        } else {
            OursStatus::NotReady(format!(
                "{} does not export pam_sm_authenticate",
                path.display()
            ))
        }
    })
}

fn exports(library: &Path, symbol: &str) -> bool {
    let output = Command::new("nm")
        .args(["--dynamic", "--defined-only"])
        .arg(library)
        .output()
        .unwrap_or_else(|e| panic!("running nm: {e}"));
    assert!(
        output.status.success(),
        "nm {}: {}",
        library.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .any(|line| line.split_whitespace().last() == Some(symbol))
}

/// The `rust-totp` command of the workspace's CLI crate, which `cargo test`
/// builds in `target/<profile>` along with the tests of the whole
/// workspace. A missing one fails the test.
pub fn rust_totp_command() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let command = exe
        .parent()
        .and_then(Path::parent)
        .map(|profile_dir| profile_dir.join("rust-totp"))
        .unwrap_or_else(|| panic!("unexpected test executable path {}", exe.display()));
    if !command.is_file() {
        super::requirements::unavailable(&format!(
            "{} is not built (run the tests of the whole workspace: cargo test --workspace)",
            command.display()
        ));
    }
    command
}
