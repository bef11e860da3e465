//! Integration tests of our PAM module alone, through real Linux-PAM: what
//! the reference does not do or gets wrong, and how the module behaves in
//! real stacks next to pam_permit, pam_deny and pam_echo.
//!
//! Every refusal must leave the state file byte-identical (same inode,
//! content, owner and mode) and no file behind but the module's lock file.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::driver::{Authtok, Message, PamCode};
use common::module::Module;
use common::scenario::{
    Answer, CODE_PROMPT, Expect, S0, SECRET, Scenario, Step, T0, check_ours, ours_harness, play,
};
use common::system::{self, Account, BOB};

const STATE_FILE: &str = ".google_authenticator";
/// Text pam_echo prints when the stack gets past our module.
const MARKER: &str = "after-module";

fn totp_file() -> String {
    format!("{SECRET}\n\" TOTP_AUTH\n")
}

fn totp_file_with(option: &str) -> String {
    format!("{SECRET}\n\" {option}\n\" TOTP_AUTH\n")
}

fn prompt() -> Message {
    Message::echo_off(CODE_PROMPT)
}

fn marker() -> Message {
    Message::info(MARKER)
}

/// An expectation for a custom stack, which has no PAM_AUTHTOK reporter.
fn stacked(result: PamCode, messages: Vec<Message>) -> Expect {
    Expect::result(result)
        .messages(messages)
        .authtok(Authtok::NotReported)
}

/// `control` for our module, then pam_echo, then `last`.
fn stack(control: &str, last: &str) -> String {
    format!(
        "auth {control} {{module}} {{args}}\n\
         auth optional pam_echo.so {MARKER}\n\
         auth required {last}\n"
    )
}

// ------------------------------------------------------------------ setcred

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn setcred_succeeds_after_authentication() {
    // After a failed authentication Linux-PAM itself answers pam_setcred
    // with PAM_PERM_DENIED, whatever the module says.
    check_ours(|| {
        Scenario::new("setcred", &totp_file())
            .step(Step::at(T0, Expect::success().setcred(PamCode::SUCCESS)).answer(Answer::Totp(0)))
    });
}

// ----------------------------------------------------------------- stacking

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn required_continues_the_stack_either_way() {
    check_ours(|| {
        Scenario::new("required", &totp_file())
            .args(&["noskewadj"])
            .stack(&stack("required", "pam_permit.so"))
            .step(
                Step::at(T0, stacked(PamCode::SUCCESS, vec![prompt(), marker()]))
                    .answer(Answer::Totp(0)),
            )
            .step(
                Step::at(T0, stacked(PamCode::AUTH_ERR, vec![prompt(), marker()]))
                    .answer(Answer::text("000000")),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn requisite_stops_the_stack_on_failure() {
    check_ours(|| {
        Scenario::new("requisite", &totp_file())
            .args(&["noskewadj"])
            .stack(&stack("requisite", "pam_permit.so"))
            .step(
                Step::at(T0, stacked(PamCode::SUCCESS, vec![prompt(), marker()]))
                    .answer(Answer::Totp(0)),
            )
            .step(
                Step::at(T0, stacked(PamCode::AUTH_ERR, vec![prompt()]))
                    .answer(Answer::text("000000")),
            )
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn sufficient_ends_the_stack_on_success_only() {
    check_ours(|| {
        Scenario::new("sufficient", &totp_file())
            .args(&["noskewadj"])
            .stack(&stack("sufficient", "pam_deny.so"))
            .step(Step::at(T0, stacked(PamCode::SUCCESS, vec![prompt()])).answer(Answer::Totp(0)))
            .step(
                Step::at(T0, stacked(PamCode::AUTH_ERR, vec![prompt(), marker()]))
                    .answer(Answer::text("000000")),
            )
    });
}

/// Tells PAM_SUCCESS (stack ends, no marker), failure (stack dies, no
/// marker) and PAM_IGNORE (marker, then pam_permit) apart.
const IGNORE_PROBE: &str = "auth [success=done ignore=ignore default=die] {module} {args}\n\
                            auth optional pam_echo.so after-module\n\
                            auth required pam_permit.so\n";

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn nullok_without_a_file_returns_pam_ignore() {
    check_ours(|| {
        Scenario::without_file("nullok, no file")
            .args(&["nullok"])
            .stack(IGNORE_PROBE)
            .step(Step::at(T0, stacked(PamCode::SUCCESS, vec![marker()])))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn missing_file_without_nullok_fails() {
    check_ours(|| {
        Scenario::without_file("no nullok, no file")
            .stack(IGNORE_PROBE)
            .step(Step::at(T0, stacked(PamCode::AUTH_ERR, vec![prompt()])).answer(Answer::Totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn nullok_with_a_file_succeeds_or_fails_but_never_ignores() {
    check_ours(|| {
        Scenario::new("nullok, file", &totp_file())
            .args(&["nullok", "noskewadj"])
            .stack(IGNORE_PROBE)
            .step(Step::at(T0, stacked(PamCode::SUCCESS, vec![prompt()])).answer(Answer::Totp(0)))
            .step(
                Step::at(T0, stacked(PamCode::AUTH_ERR, vec![prompt()]))
                    .answer(Answer::text("000000")),
            )
    });
}

// ------------------------------------------------- refused files and answers

/// A refusal after the usual prompt, with the file untouched.
fn refused() -> Expect {
    Expect::failure()
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn file_of_another_owner_is_refused() {
    check_ours(|| {
        Scenario::new("owned by rt_bob", &totp_file())
            .mode(0o444)
            .file_owner(BOB, None)
            .args(&["allowed_perm=0444"])
            .step(Step::at(T0, refused()).answer(Answer::Totp(0)))
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn too_permissive_modes_are_refused() {
    for mode in [0o440, 0o404, 0o644, 0o666, 0o1600, 0o2600] {
        check_ours(|| {
            Scenario::new(format!("mode {mode:o}"), &totp_file())
                .mode(mode)
                .step(Step::at(T0, refused()).answer(Answer::Totp(0)))
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn owner_only_modes_are_accepted() {
    for mode in [0o400, 0o600] {
        check_ours(|| {
            Scenario::new(format!("mode {mode:o}"), &totp_file())
                .mode(mode)
                .step(Step::at(T0, Expect::success()).answer(Answer::Totp(0)))
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn malformed_files_are_refused_and_left_alone() {
    let big = format!("{}{}\n", totp_file(), "1".repeat(65 * 1024));
    for content in [
        totp_file_with("WINDOW_SIZE 0"),
        totp_file_with("WINDOW_SIZE 101"),
        totp_file_with("STEP_SIZE 0"),
        totp_file_with("STEP_SIZE 61"),
        totp_file_with("STEP_SIZE abc"),
        totp_file_with("DISALLOW_REUSE abc"),
        totp_file_with("TIME_SKEW abc"),
        format!("{SECRET}\n\" HOTP_COUNTER abc\n"),
        format!("{SECRET}\0\n\" TOTP_AUTH\n"),
        "JBSW!Y3DPEHPK3PXP\n\" TOTP_AUTH\n".to_owned(),
        big,
    ] {
        let content = format!("{content}48239176\n");
        check_ours(|| {
            Scenario::new(format!("malformed {:.40?}", content), &content)
                .secret(SECRET)
                .step(Step::at(T0, refused()).answer(Answer::Totp(0)))
                .step(Step::at(T0, refused()).answer(Answer::text("48239176")))
        });
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn refused_answers_leave_the_file_byte_identical() {
    check_ours(|| {
        let content = format!("{SECRET}\n\" DISALLOW_REUSE {S0}\n\" TOTP_AUTH\n48239176\n");
        let mut scenario = Scenario::new("refused answers", &content).args(&["noskewadj"]);
        for answer in [
            Answer::Totp(0),
            Answer::Totp(2),
            Answer::text("000000"),
            Answer::text("4823917"),
            Answer::text("48239177"),
            Answer::text("x48239176"),
            Answer::text(""),
            Answer::TotpThen(0, "0".to_owned()),
        ] {
            scenario = scenario.step(Step::at(T0, refused()).answer(answer));
        }
        scenario
    });
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn unwritable_directory_refuses_without_leaving_files() {
    check_ours(|| {
        Scenario::new("unwritable directory", &totp_file_with("DISALLOW_REUSE"))
            .dir("root", 0o755)
            .step(Step::at(T0, refused()).answer(Answer::Totp(0)))
    });
}

// -------------------------------------------------- symlinks and odd files

/// Moves the state file to `real` in the same directory and puts a
/// symlink in its place.
fn link_to_own_file(dir: &Path, _user: &Account) {
    let path = dir.join(STATE_FILE);
    let target = dir.join("real");
    fs::rename(&path, &target).unwrap_or_else(|e| panic!("mv: {e}"));
    symlink("real", &path).unwrap_or_else(|e| panic!("ln -s: {e}"));
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn symlink_to_the_users_file_is_followed_and_survives_a_rewrite() {
    let harness = ours_harness();
    let scenario = Scenario::new("symlink", &totp_file_with("DISALLOW_REUSE"))
        .prepare(link_to_own_file)
        .step(Step::at(T0, Expect::success()).answer(Answer::Totp(0)))
        .step(Step::at(T0, Expect::failure()).answer(Answer::Totp(0)));
    let seen = play(harness, &scenario, Module::Ours);
    let expected = totp_file_with(&format!("DISALLOW_REUSE {S0}"));
    let [first, replay] = &seen[..] else {
        panic!("two steps expected");
    };
    assert_eq!(first.outcome.result, PamCode::SUCCESS, "{first:#?}");
    assert_eq!(first.after.text().as_deref(), Some(expected.as_str()));
    assert_eq!(first.after.mode & 0o170_000, 0o120_000, "still a symlink");
    assert_eq!(first.after.inode, first.before.inode, "same symlink");
    assert_eq!(replay.outcome.result, PamCode::AUTH_ERR, "{replay:#?}");
    assert_eq!(replay.after, replay.before);
}

/// Moves the state file out of the user's directory to a root-owned file
/// the user cannot read, and links to it.
fn link_to_root_only_file(dir: &Path, _user: &Account) {
    let path = dir.join(STATE_FILE);
    let target = dir.parent().unwrap_or(dir).join("root-only");
    fs::rename(&path, &target).unwrap_or_else(|e| panic!("mv: {e}"));
    system::set_owner(&target, 0, 0);
    system::set_mode(&target, 0o400);
    symlink(&target, &path).unwrap_or_else(|e| panic!("ln -s: {e}"));
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn symlink_to_a_file_the_user_cannot_read_is_refused() {
    check_ours(|| {
        Scenario::new(
            "symlink to root-only file",
            &totp_file_with("DISALLOW_REUSE"),
        )
        .prepare(link_to_root_only_file)
        .step(Step::at(T0, refused()).answer(Answer::Totp(0)))
    });
}

fn link_to_root_readable_file(dir: &Path, user: &Account) {
    link_to_root_only_file(dir, user);
    let target = dir.parent().unwrap_or(dir).join("root-only");
    system::set_mode(&target, 0o444);
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn symlink_to_a_readable_file_of_root_is_refused() {
    check_ours(|| {
        Scenario::new("symlink to root's file", &totp_file())
            .args(&["allowed_perm=0444"])
            .prepare(link_to_root_readable_file)
            .step(Step::at(T0, refused()).answer(Answer::Totp(0)))
    });
}

fn replace_with_fifo(dir: &Path, user: &Account) {
    let path = dir.join(STATE_FILE);
    fs::remove_file(&path).unwrap_or_else(|e| panic!("rm: {e}"));
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .unwrap_or_else(|e| panic!("mkfifo: {e}"));
    system::set_owner(&path, user.uid, user.gid);
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn fifo_is_refused_without_blocking() {
    // The reference opens it and waits for a writer forever.
    check_ours(|| {
        Scenario::new("FIFO", &totp_file())
            .prepare(replace_with_fifo)
            .step(Step::at(T0, refused()).answer(Answer::Totp(0)))
    });
}

fn link_to_dev_zero(dir: &Path, _user: &Account) {
    let path = dir.join(STATE_FILE);
    fs::remove_file(&path).unwrap_or_else(|e| panic!("rm: {e}"));
    symlink("/dev/zero", &path).unwrap_or_else(|e| panic!("ln -s: {e}"));
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn symlink_to_a_device_is_refused_without_reading_it() {
    check_ours(|| {
        Scenario::new("symlink to /dev/zero", &totp_file())
            .args(&["no_strict_owner", "allowed_perm=0666"])
            .prepare(link_to_dev_zero)
            .step(Step::at(T0, refused()).answer(Answer::Totp(0)))
    });
}

fn replace_with_directory(dir: &Path, user: &Account) {
    let path = dir.join(STATE_FILE);
    fs::remove_file(&path).unwrap_or_else(|e| panic!("rm: {e}"));
    fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir: {e}"));
    system::set_owner(&path, user.uid, user.gid);
    system::set_mode(&path, 0o700);
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn directory_is_refused() {
    check_ours(|| {
        Scenario::new("directory", &totp_file())
            .prepare(replace_with_directory)
            .step(Step::at(T0, refused()).answer(Answer::Totp(0)))
    });
}

// ------------------------------------------------------------ dependencies

/// Loading the module pulls in nothing sshd does not load already: the
/// unwinder is linked in statically (see `build.rs`), not `libgcc_s`.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn the_module_needs_only_libpam_and_libc() {
    let _harness = ours_harness();
    let output = std::process::Command::new("readelf")
        .args(["--dynamic", "--wide"])
        .arg(Module::Ours.path())
        .output()
        .unwrap_or_else(|e| panic!("running readelf: {e}"));
    assert!(output.status.success(), "{output:?}");
    let needed: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .filter_map(|line| Some(line.split_once('[')?.1.trim_end_matches(']').to_owned()))
        .collect();
    assert!(
        needed.iter().any(|lib| lib == "libpam.so.0")
            && needed
                .iter()
                .all(|lib| ["libpam.so.0", "libc.so.6"].contains(&lib.as_str())
                    || lib.starts_with("ld-linux")),
        "shared libraries the module needs: {needed:?}"
    );
}

/// The module keeps its hardening (full RELRO, `-z now`, a stack that is
/// not executable) and is a shared object any process can load, although
/// its code is compiled as for an executable (`.cargo/config.toml`): no text
/// relocations, and no thread-local variable in the static TLS block
/// (`STATIC_TLS`, initial-exec `TPOFF` relocations), which `dlopen` can
/// find full.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn the_module_is_hardened_and_needs_no_static_tls() {
    let _harness = ours_harness();
    let output = std::process::Command::new("readelf")
        .args(["--dynamic", "--program-headers", "--relocs", "--wide"])
        .arg(Module::Ours.path())
        .output()
        .unwrap_or_else(|e| panic!("running readelf: {e}"));
    assert!(output.status.success(), "{output:?}");
    let elf = String::from_utf8_lossy(&output.stdout);
    let line_with = |word: &str| elf.lines().find(|line| line.contains(word)).unwrap_or("");
    assert!(line_with("GNU_RELRO").contains("GNU_RELRO"), "{elf}");
    assert!(line_with("(FLAGS)").contains("BIND_NOW"), "{elf}");
    assert!(line_with("(FLAGS_1)").contains("NOW"), "{elf}");
    let stack = line_with("GNU_STACK");
    assert!(stack.contains("RW") && !stack.contains("RWE"), "{stack}");
    for forbidden in ["TEXTREL", "STATIC_TLS", "TPOFF"] {
        assert!(!elf.contains(forbidden), "{forbidden} in\n{elf}");
    }
}
