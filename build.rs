//! Links the PAM module so that loading it costs little: sshd loads it
//! afresh for every connection (`pam_start` opens it, `pam_end` closes it),
//! so that cost is paid at every login (BENCHMARKS.md, "Loading the
//! module").
//!
//! * The functions that run while the module is loaded and in a login are
//!   placed together at the start of its code (`--symbol-ordering-file`, an
//!   `lld` option; the list is `link/login-symbols.txt`). The kernel maps
//!   code around each page a process touches, so scattered functions made a
//!   login map 530 KiB of the module's 580; together they map 240 KiB.
//!   Symbol names change with the compiler, the dependencies' versions and
//!   the profile (the release profile keeps line tables, as debian/rules
//!   builds, so that both builds have the same names). A name the module
//!   lacks costs speed, never correctness: `benches/run-all.sh` reports how
//!   many were found, and `BENCH_ONLY=login-symbols` rewrites the list.
//! * Relative relocations are packed (`-z pack-relative-relocs`, `DT_RELR`,
//!   read by glibc 2.36 and later): the 23 KiB table of about 1,000 of them
//!   becomes 280 bytes.
//! * The PLT is placed in front of the code rather than after it
//!   (`link/plt-first.ld`, a linker script that only `INSERT`s one output
//!   section): every load, unload and login calls through it, and at the
//!   end of the code it cost one page fault more per login.
//! * Each segment starts on a page of its own (`-z
//!   separate-loadable-segments`): the written data (`.data`, `.bss`) then
//!   fits one page instead of straddling two, one copy-on-write fault less
//!   at every load.
//!
//! Each option is passed only to the cdylib, and only once a probe link
//! shows that the linker accepts it. None weakens the hardening: the module
//! is still linked with full RELRO and `-z now`, its code neither writable
//! nor its data executable.
//!
//! The unwinder is linked statically into the module.
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
use std::process::{Command, Stdio};
use std::{env, fs};

/// The list of functions a login runs, in the order they are to be placed.
const LOGIN_SYMBOLS: &str = "link/login-symbols.txt";

/// The linker script that moves the PLT in front of the code.
const PLT_FIRST: &str = "link/plt-first.ld";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let linux_gnu = env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if !linux_gnu {
        return;
    }
    link_compactly();
    match static_unwinder() {
        Ok(archive) => link_instead_of_libgcc_s(&archive),
        Err(reason) => println!("cargo:warning=linking the shared libgcc_s: {reason}"),
    }
}

/// Passes the linker options that make the module cheaper to load, each one
/// the linker accepts.
fn link_compactly() {
    println!("cargo:rerun-if-changed={LOGIN_SYMBOLS}");
    println!("cargo:rerun-if-changed={PLT_FIRST}");
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let options = [
        "-Wl,-z,pack-relative-relocs".to_owned(),
        format!(
            "-Wl,--symbol-ordering-file={},--no-warn-symbol-ordering",
            manifest_dir.join(LOGIN_SYMBOLS).display()
        ),
        format!("-Wl,-T,{}", manifest_dir.join(PLT_FIRST).display()),
        "-Wl,-z,separate-loadable-segments".to_owned(),
    ];
    for option in options {
        match linker_accepts(&option) {
            Ok(()) => println!("cargo:rustc-cdylib-link-arg={option}"),
            Err(reason) => println!("cargo:warning=not linking with {option}: {reason}"),
        }
    }
}

/// Whether a cdylib links with `option`, built by the same compiler, for
/// the same target and with the same flags as the module.
fn linker_accepts(option: &str) -> Result<(), String> {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dir = out_dir.join("linker-probe");
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let source = dir.join("probe.rs");
    fs::write(
        &source,
        "#[unsafe(no_mangle)]\npub extern \"C\" fn probe() {}\n",
    )
    .map_err(|e| format!("writing {}: {e}", source.display()))?;
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let status = Command::new(&rustc)
        .args(flags.split('\x1f').filter(|flag| !flag.is_empty()))
        .args([
            "--edition=2024",
            "--crate-type=cdylib",
            "--crate-name=probe",
        ])
        .arg(format!(
            "--target={}",
            env::var("TARGET").expect("cargo sets TARGET")
        ))
        .arg(format!("-Clink-arg={option}"))
        .arg("-o")
        .arg(dir.join("libprobe.so"))
        .arg(&source)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {rustc}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("the linker refuses it".to_owned())
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
