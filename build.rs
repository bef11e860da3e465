//! Links the unwinder statically into the PAM module.
//!
//! Panics must unwind to the `catch_unwind` at the C boundary, so the module
//! needs an unwinder. On `*-linux-gnu` Rust's standard library asks for it
//! as `-lgcc_s`, which makes every program that loads the module also load
//! `libgcc_s.so.1`: sshd does not use it otherwise, and loading it costs
//! about as much as loading the module itself in each freshly forked login
//! process. GCC's static unwinder `libgcc_eh.a` (what `gcc -static-libgcc`
//! links into shared objects) is the same code. A copy of it named
//! `libgcc_s.a` in a directory searched first satisfies `-lgcc_s` from that
//! archive. The unwinder's symbols stay private to the module: a cdylib
//! exports only its C entry points.
//!
//! Where `libgcc_eh.a` cannot be found, the build keeps the shared
//! `libgcc_s` and says so.

use std::path::PathBuf;
use std::process::Command;
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let linux_gnu = env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if !linux_gnu {
        return;
    }
    match static_unwinder() {
        Ok(archive) => link_instead_of_libgcc_s(&archive),
        Err(reason) => println!("cargo:warning=linking the shared libgcc_s: {reason}"),
    }
}

/// The path of `libgcc_eh.a`, as the C compiler driver finds it.
fn static_unwinder() -> Result<PathBuf, String> {
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let output = Command::new(&cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .map_err(|e| format!("cannot run {cc}: {e}"))?;
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    // The driver prints the bare name when it has no such file.
    if output.status.success() && path.is_absolute() && path.is_file() {
        Ok(path)
    } else {
        Err(format!("{cc} knows no libgcc_eh.a"))
    }
}

fn link_instead_of_libgcc_s(archive: &PathBuf) {
    println!("cargo:rerun-if-changed={}", archive.display());
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dir = out_dir.join("static-unwinder");
    fs::create_dir_all(&dir).expect("creating the unwinder directory");
    fs::copy(archive, dir.join("libgcc_s.a")).expect("copying libgcc_eh.a");
    println!("cargo:rustc-link-search=native={}", dir.display());
}
