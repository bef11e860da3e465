//! `rust-totp doctor` run on fixture trees: a Debian bookworm base
//! (`tests/fixtures/doctor/base`: sshd_config, pam.d, passwd/shadow/group,
//! home directories with secret files and SSH keys, the module files, a
//! running chronyd in `proc`) with the configuration under test laid over
//! it: the Ubuntu guide's files, the shipped `pam.d-examples/`, or a small
//! edit per check. Each tree is checked through `--root DIR --no-sshd-t
//! --json`, and the tests assert the status of the checks that matter and
//! the exit status.
//!
//! Secret files get mode 0400 as the enrolment command writes them. As root,
//! home directories are given to their owners from the fixture's passwd;
//! otherwise the fixture's users are renumbered to the uid running the tests.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/doctor");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../pam.d-examples");
const DOCTOR: &str = env!("CARGO_BIN_EXE_rust-totp");

/// First uid of the fixture's human users.
const FIRST_USER_UID: u32 = 1000;

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    /// The base tree with the named overlays from the fixtures on top.
    fn new(overlays: &[&str]) -> Tree {
        let dir = tempfile::tempdir().expect("temporary directory");
        copy_tree(&Path::new(FIXTURES).join("base"), dir.path());
        for overlay in overlays {
            copy_tree(&Path::new(FIXTURES).join(overlay), dir.path());
        }
        let tree = Tree { dir };
        tree.set_secret_modes();
        tree.set_owners();
        tree
    }

    /// The base tree with one of the shipped pam.d examples installed.
    fn with_example(flow: &str, overlays: &[&str]) -> Tree {
        let tree = Tree::new(overlays);
        let example = Path::new(EXAMPLES).join(flow);
        tree.copy_in(&example.join("pam.d/sshd"), "/etc/pam.d/sshd");
        tree.copy_in(
            &example.join("sshd_config.d/rust-totp.conf"),
            "/etc/ssh/sshd_config.d/rust-totp.conf",
        );
        tree
    }

    fn path(&self, path: &str) -> PathBuf {
        self.dir.path().join(path.trim_start_matches('/'))
    }

    fn copy_in(&self, from: &Path, to: &str) {
        let to = self.path(to);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }

    fn read(&self, path: &str) -> String {
        fs::read_to_string(self.path(path)).unwrap()
    }

    /// Writes `text` to the file at `path`, keeping the mode of one there
    /// (which may be read-only, as secret files are).
    fn write(&self, path: &str, text: &str) {
        let path = self.path(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let old_mode = fs::metadata(&path).ok().map(|m| m.permissions());
        if let Some(mode) = &old_mode {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600 | mode.mode())).unwrap();
        }
        fs::write(&path, text).unwrap();
        if let Some(mode) = old_mode {
            fs::set_permissions(&path, mode).unwrap();
        }
    }

    /// Replaces `from` (which must occur) with `to` in a file.
    fn edit(&self, path: &str, from: &str, to: &str) {
        let text = self.read(path);
        assert!(text.contains(from), "{path} does not contain {from:?}");
        self.write(path, &text.replacen(from, to, 1));
    }

    fn remove(&self, path: &str) {
        let path = self.path(path);
        if path.is_dir() {
            fs::remove_dir_all(path).unwrap();
        } else {
            fs::remove_file(path).unwrap();
        }
    }

    fn chmod(&self, path: &str, mode: u32) {
        fs::set_permissions(self.path(path), fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Gives `user` another uid in /etc/passwd.
    fn set_uid(&self, user: &str, uid: u32) {
        let passwd = self.read("/etc/passwd");
        let edited: Vec<String> = passwd
            .lines()
            .map(|line| {
                let mut fields: Vec<String> = line.split(':').map(str::to_owned).collect();
                if fields[0] == user {
                    fields[2] = uid.to_string();
                }
                fields.join(":")
            })
            .collect();
        self.write("/etc/passwd", &(edited.join("\n") + "\n"));
    }

    fn set_secret_modes(&self) {
        for home in ["/root", "/home/alice", "/home/bob"] {
            let file = self.path(home).join(".google_authenticator");
            if file.exists() {
                fs::set_permissions(file, fs::Permissions::from_mode(0o400)).unwrap();
            }
        }
    }

    fn set_owners(&self) {
        let passwd = self.read("/etc/passwd");
        let euid = current_uid();
        if euid != 0 {
            for line in passwd.lines() {
                let fields: Vec<&str> = line.split(':').collect();
                let uid: u32 = fields[2].parse().unwrap();
                if uid >= FIRST_USER_UID {
                    self.set_uid(fields[0], euid);
                }
            }
            return;
        }
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            let home = self.path(fields[5]);
            if fields[5].starts_with("/home/") && home.exists() {
                chown_tree(
                    &home,
                    fields[2].parse().unwrap(),
                    fields[3].parse().unwrap(),
                );
            }
        }
    }

    /// Runs the doctor on the tree with `--json` and `args`.
    fn doctor(&self, args: &[&str]) -> Run {
        let output = Command::new(DOCTOR)
            .arg("doctor")
            .arg("--root")
            .arg(self.dir.path())
            .arg("--no-sshd-t")
            .arg("--json")
            .args(args)
            .output()
            .expect("run rust-totp doctor");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        Run {
            status: output.status.code().expect("exit status"),
            json,
        }
    }

    fn doctor_text(&self, args: &[&str]) -> (i32, String) {
        let output = Command::new(DOCTOR)
            .arg("doctor")
            .arg("--root")
            .arg(self.dir.path())
            .arg("--no-sshd-t")
            .args(args)
            .output()
            .expect("run rust-totp doctor");
        (
            output.status.code().expect("exit status"),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }
}

fn current_uid() -> u32 {
    fs::metadata("/proc/self").map_or(u32::MAX, |m| std::os::unix::fs::MetadataExt::uid(&m))
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() {
        for entry in fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid, gid);
        }
    }
}

struct Run {
    status: i32,
    json: Value,
}

impl Run {
    fn checks(&self) -> &Vec<Value> {
        self.json["checks"].as_array().expect("checks array")
    }

    fn check(&self, section: &str, name: &str) -> &Value {
        self.checks()
            .iter()
            .find(|check| check["section"] == section && check["name"] == name)
            .unwrap_or_else(|| panic!("no check {section}/{name} in {:#}", self.json))
    }

    fn status(&self, section: &str, name: &str) -> &str {
        self.check(section, name)["status"].as_str().unwrap()
    }

    fn detail(&self, section: &str, name: &str) -> &str {
        self.check(section, name)["detail"].as_str().unwrap()
    }

    /// Every check that is not OK, as "section/name: STATUS".
    fn problems(&self) -> Vec<String> {
        self.checks()
            .iter()
            .filter(|check| check["status"] != "ok")
            .map(|check| {
                format!(
                    "{}/{}: {}",
                    check["section"], check["name"], check["status"]
                )
            })
            .map(|line| line.replace('"', ""))
            .collect()
    }

    fn assert_clean(&self) {
        assert_eq!(self.problems(), Vec::<String>::new(), "{:#}", self.json);
        assert_eq!(self.status, 0);
    }

    fn assert_only_problems(&self, expected: &[&str]) {
        assert_eq!(self.problems(), expected, "{:#}", self.json);
        let fails = expected.iter().any(|p| p.ends_with("fail"));
        assert_eq!(self.status, i32::from(fails), "exit status");
    }
}

// ---- the guides' configurations -------------------------------------------

#[test]
fn ubuntu_guide_key_then_code_passes_clean() {
    let run = Tree::new(&["ubuntu-key-totp"]).doctor(&[]);
    run.assert_clean();
    assert!(
        run.detail("sshd", "AuthenticationMethods")
            .starts_with("publickey,keyboard-interactive")
    );
    assert!(
        run.detail("pam", "module")
            .contains("pam_google_authenticator.so")
    );
    assert!(
        run.detail("users", "alice")
            .contains("TOTP, 5 scratch codes left")
    );
    assert!(
        run.detail("users", "bob")
            .contains("/home/bob/.google_authenticator")
    );
}

#[test]
fn codes_google_module_cannot_check_fail_with_it_and_pass_with_ours() {
    let alice = "/home/alice/.google_authenticator";
    for lines in [
        "\" ALGORITHM SHA256\n",
        "\" DIGITS 8\n",
        "\" ALGORITHM SHA512\n\" DIGITS 7\n",
    ] {
        let tree = Tree::new(&["ubuntu-key-totp"]);
        let file = tree
            .read(alice)
            .replace("\" TOTP_AUTH\n", &format!("{lines}\" TOTP\n"));
        tree.write(alice, &file);
        tree.set_secret_modes();
        let run = tree.doctor(&[]);
        run.assert_only_problems(&["users/alice: fail"]);
        assert!(
            run.detail("users", "alice")
                .contains("which pam_google_authenticator.so ignores"),
            "{lines:?}: {}",
            run.detail("users", "alice")
        );
        tree.edit(
            "/etc/pam.d/sshd",
            "pam_google_authenticator.so",
            "pam_rust_totp.so",
        );
        let run = tree.doctor(&[]);
        run.assert_clean();
        assert!(
            run.detail("users", "alice")
                .contains("TOTP, 5 scratch codes left")
        );
    }
}

#[test]
fn shipped_password_and_code_example_passes_clean() {
    let run = Tree::with_example("password-totp", &[]).doctor(&[]);
    run.assert_clean();
    assert!(
        run.detail("pam", "password")
            .contains("common-auth asks the Unix password")
    );
}

#[test]
fn shipped_key_and_code_example_passes_clean() {
    Tree::with_example("publickey-totp", &[])
        .doctor(&[])
        .assert_clean();
}

#[test]
fn shipped_group_only_example_skips_non_members() {
    let tree = Tree::with_example("group-only", &[]);
    tree.remove("/home/bob/.google_authenticator");
    let run = tree.doctor(&[]);
    run.assert_clean();
    assert!(run.detail("users", "bob").contains("not asked for a code"));
    assert!(
        run.detail("pam", "reached")
            .contains("notingroup totp-users")
    );
    // A member without a file is locked out.
    tree.remove("/home/alice/.google_authenticator");
    let run = tree.doctor(&[]);
    assert_eq!(run.status("users", "alice"), "fail");
    assert_eq!(run.status, 1);
}

#[test]
fn shipped_rollout_example_lets_unenrolled_users_in_with_warnings() {
    let tree = Tree::with_example("rollout-nullok", &[]);
    tree.remove("/home/bob/.google_authenticator");
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["pam/nullok: warn", "users/bob: warn"]);
    assert!(
        run.detail("users", "bob")
            .contains("without a code (nullok)")
    );
}

#[test]
fn shipped_proxmox_example_points_at_its_match_block() {
    let tree = Tree::with_example("proxmox-ve", &["proxmox-ve"]);
    let run = tree.doctor(&[]);
    assert!(run.detail("pam", "common-auth").contains("Proxmox VE host"));
    assert_eq!(run.status("sshd", "Match"), "warn");
    assert!(
        run.detail("sshd", "Match")
            .contains("`Match Address 198.51.100.0/24`")
    );
    assert!(
        run.detail("sshd", "Match")
            .contains("AuthenticationMethods")
    );
    // root logs in here; its file can belong to uid 0 only when the tests
    // run as root.
    let expected = if current_uid() == 0 {
        vec!["sshd/Match: warn"]
    } else {
        vec!["sshd/Match: warn", "users/root: fail"]
    };
    run.assert_only_problems(&expected);
}

#[test]
fn ubuntu_guide_password_and_code_warns_about_keys_and_the_password_method() {
    // The guide leaves AuthenticationMethods and PasswordAuthentication at
    // their defaults: a key alone still logs in, and sshd's password method
    // can never pass the code prompt. Nobody is locked out.
    let run = Tree::new(&["ubuntu-password-totp"]).doctor(&[]);
    run.assert_only_problems(&[
        "sshd/AuthenticationMethods: warn",
        "sshd/PasswordAuthentication: warn",
    ]);
    assert!(
        run.detail("sshd", "AuthenticationMethods")
            .contains("`any (publickey)` logs in without a code")
    );
}

// ---- sshd ------------------------------------------------------------------

#[test]
fn debian_default_sshd_config_has_keyboard_interactive_off() {
    let tree = Tree::new(&["ubuntu-key-totp"]);
    tree.copy_in(
        &Path::new(FIXTURES).join("base/etc/ssh/sshd_config"),
        "/etc/ssh/sshd_config",
    );
    let run = tree.doctor(&[]);
    assert_eq!(run.status("sshd", "KbdInteractiveAuthentication"), "fail");
    assert!(
        run.detail("sshd", "KbdInteractiveAuthentication")
            .contains("/etc/ssh/sshd_config:62")
    );
    assert_eq!(run.status, 1);
}

#[test]
fn a_drop_in_read_first_wins_also_with_the_old_keyword() {
    // Debian's main file says "KbdInteractiveAuthentication no" after its
    // Include; the drop-in's older spelling is read first and wins.
    let tree = Tree::new(&["ubuntu-key-totp"]);
    tree.copy_in(
        &Path::new(FIXTURES).join("base/etc/ssh/sshd_config"),
        "/etc/ssh/sshd_config",
    );
    tree.write(
        "/etc/ssh/sshd_config.d/2fa.conf",
        "ChallengeResponseAuthentication yes\nAuthenticationMethods publickey,keyboard-interactive\n",
    );
    tree.doctor(&[]).assert_clean();
}

#[test]
fn use_pam_no_fails() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.edit(
        "/etc/ssh/sshd_config.d/rust-totp.conf",
        "UsePAM yes",
        "UsePAM no",
    );
    let run = tree.doctor(&[]);
    assert_eq!(run.status("sshd", "UsePAM"), "fail");
    assert!(
        run.detail("sshd", "UsePAM")
            .contains("/etc/ssh/sshd_config.d/rust-totp.conf:8")
    );
    assert_eq!(run.status, 1);
}

#[test]
fn methods_that_never_reach_the_code_fail() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.edit(
        "/etc/ssh/sshd_config.d/rust-totp.conf",
        "AuthenticationMethods publickey,keyboard-interactive",
        "AuthenticationMethods publickey",
    );
    let run = tree.doctor(&[]);
    assert_eq!(run.status("sshd", "AuthenticationMethods"), "fail");
    assert!(
        run.detail("sshd", "AuthenticationMethods")
            .contains("never reaches")
    );
}

#[test]
fn password_listed_before_keyboard_interactive_fails() {
    let tree = Tree::with_example("password-totp", &[]);
    tree.edit(
        "/etc/ssh/sshd_config.d/rust-totp.conf",
        "PasswordAuthentication no\nAuthenticationMethods keyboard-interactive",
        "PasswordAuthentication yes\nAuthenticationMethods password,keyboard-interactive",
    );
    let run = tree.doctor(&[]);
    assert_eq!(run.status("sshd", "AuthenticationMethods"), "fail");
    assert!(
        run.detail("sshd", "AuthenticationMethods")
            .contains("password is listed before keyboard-interactive")
    );
    assert_eq!(run.status("sshd", "PasswordAuthentication"), "warn");
    assert_eq!(run.status, 1);
}

#[test]
fn keyboard_interactive_alone_without_a_password_in_pam_fails() {
    // The key-only PAM stack with the password flow's sshd settings: a
    // code alone would log in.
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.edit(
        "/etc/ssh/sshd_config.d/rust-totp.conf",
        "AuthenticationMethods publickey,keyboard-interactive",
        "AuthenticationMethods keyboard-interactive",
    );
    let run = tree.doctor(&[]);
    assert_eq!(run.status("sshd", "AuthenticationMethods"), "fail");
    assert!(
        run.detail("sshd", "AuthenticationMethods")
            .contains("code alone")
    );
}

#[test]
fn match_blocks_are_reported_not_evaluated() {
    let tree = Tree::with_example("publickey-totp", &[]);
    let conf = tree.read("/etc/ssh/sshd_config.d/rust-totp.conf");
    tree.write(
        "/etc/ssh/sshd_config.d/rust-totp.conf",
        &format!("{conf}Match User backup\n    PasswordAuthentication yes\n    X11Forwarding no\n"),
    );
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["sshd/Match: warn"]);
    assert_eq!(
        run.detail("sshd", "Match"),
        "not evaluated: `Match User backup` (/etc/ssh/sshd_config.d/rust-totp.conf:15) sets \
         PasswordAuthentication"
    );
}

#[test]
fn match_blocks_without_auth_keywords_are_not_reported() {
    let tree = Tree::with_example("publickey-totp", &[]);
    let conf = tree.read("/etc/ssh/sshd_config.d/rust-totp.conf");
    tree.write(
        "/etc/ssh/sshd_config.d/rust-totp.conf",
        &format!("{conf}Match Group sftp\n    ForceCommand internal-sftp\n"),
    );
    tree.doctor(&[]).assert_clean();
}

#[test]
fn unreadable_sshd_config_fails() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.remove("/etc/ssh/sshd_config");
    let run = tree.doctor(&[]);
    assert_eq!(run.status("sshd", "sshd_config"), "fail");
    assert_eq!(run.json["sources"]["sshd"], "OpenSSH defaults");
}

#[test]
fn root_with_keys_is_shut_out_by_prohibit_password() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.write(
        "/root/.ssh/authorized_keys",
        "ssh-ed25519 AAAA root@admin\n",
    );
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["users/root: warn"]);
    assert!(
        run.detail("users", "root")
            .contains("cannot log in over ssh")
    );
    assert!(
        run.detail("sshd", "PermitRootLogin")
            .contains("root cannot log in")
    );
}

#[test]
fn explicit_paths_replace_the_defaults() {
    let tree = Tree::with_example("publickey-totp", &[]);
    let elsewhere = tempfile::tempdir().unwrap();
    let config = elsewhere.path().join("sshd_config");
    fs::write(&config, "UsePAM no\n").unwrap();
    let pam_dir = elsewhere.path().join("pam.d");
    fs::create_dir(&pam_dir).unwrap();
    fs::write(pam_dir.join("sshd"), "auth required pam_unix.so\n").unwrap();
    let run = tree.doctor(&[
        "--sshd-config",
        config.to_str().unwrap(),
        "--pam-dir",
        pam_dir.to_str().unwrap(),
    ]);
    assert_eq!(run.status("sshd", "UsePAM"), "fail");
    assert_eq!(run.status("pam", "module"), "fail");
    assert_eq!(
        run.json["sources"]["pam"],
        pam_dir.join("sshd").display().to_string()
    );
}

// ---- PAM -------------------------------------------------------------------

#[test]
fn missing_module_line_fails_and_users_are_warned_ahead() {
    let run = Tree::new(&[]).doctor(&[]);
    assert_eq!(run.status("pam", "module"), "fail");
    assert_eq!(run.status("users", "alice"), "ok");
    let tree = Tree::new(&[]);
    tree.remove("/home/bob/.google_authenticator");
    let run = tree.doctor(&[]);
    assert_eq!(run.status("users", "bob"), "warn");
    assert!(
        run.detail("users", "bob")
            .contains("once the module is enabled")
    );
}

#[test]
fn missing_pam_service_fails() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.remove("/etc/pam.d/sshd");
    let run = tree.doctor(&[]);
    assert_eq!(run.status("pam", "stack"), "fail");
    assert!(run.detail("pam", "stack").contains("/etc/pam.d/other"));
}

#[test]
fn module_not_installed_fails() {
    let tree = Tree::with_example("publickey-totp", &[]);
    let run = tree.doctor(&[]);
    assert_eq!(
        run.detail("pam", "installed"),
        "/lib/x86_64-linux-gnu/security/pam_rust_totp.so"
    );
    tree.remove("/lib/x86_64-linux-gnu/security/pam_rust_totp.so");
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["pam/installed: fail"]);
    assert_eq!(
        run.detail("pam", "installed"),
        "pam_rust_totp.so not found: PAM refuses every ssh login"
    );
}

#[test]
fn invalid_module_options_fail() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.edit(
        "/etc/pam.d/sshd",
        "pam_rust_totp.so\n",
        "pam_rust_totp.so allowed_perm=0999\n",
    );
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["pam/options: fail"]);
    assert!(run.detail("pam", "options").contains("allowed_perm=0999"));
}

#[test]
fn every_invalid_module_option_is_reported() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.edit(
        "/etc/pam.d/sshd",
        "pam_rust_totp.so\n",
        "pam_rust_totp.so nulok debug allowed_perm=0999 grace_period=1h\n",
    );
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["pam/options: fail"]);
    assert_eq!(
        run.detail("pam", "options"),
        "unrecognized option \"nulok\"; invalid \"allowed_perm=0999\": allowed_perm must be a \
         non-zero octal mode such as 0600; invalid \"grace_period=1h\": grace_period must be a \
         whole number of seconds: the module refuses every login"
    );
    assert!(
        run.check("pam", "options")["fix"]
            .as_str()
            .unwrap()
            .starts_with("correct or remove each of these arguments")
    );
}

#[test]
fn install_hint_names_the_deb_unless_a_repository_provides_the_package() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.remove("/lib/x86_64-linux-gnu/security/pam_rust_totp.so");
    let fix = |tree: &Tree| {
        tree.doctor(&[]).check("pam", "installed")["fix"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let built = fix(&tree);
    assert!(
        built.starts_with("install the package: `apt install ./libpam-rust-totp_*.deb`"),
        "{built}"
    );
    assert!(built.contains("tests/system/build_deb.sh"));
    // An apt source that lists another package changes nothing.
    let lists =
        "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages";
    tree.write(
        lists,
        "Package: libpam-google-authenticator\nVersion: 20191231-2\n\n",
    );
    assert_eq!(fix(&tree), built);
    tree.write(
        "/var/lib/apt/lists/apt.example.org_dists_bookworm_main_binary-amd64_Packages",
        "Package: libpam-rust-totp\nVersion: 0.1.0-1\n\n",
    );
    assert_eq!(
        fix(&tree),
        "install the package: `apt install libpam-rust-totp`, or write the module's full path \
         in the line"
    );
}

#[test]
fn a_module_where_libpam_does_not_look_fails() {
    // Bookworm's libpam loads bare names from /lib/x86_64-linux-gnu/security;
    // without merged /usr, /usr/lib/... is another directory.
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.remove("/lib/x86_64-linux-gnu/security/pam_rust_totp.so");
    tree.write("/usr/lib/x86_64-linux-gnu/security/pam_rust_totp.so", "");
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["pam/installed: fail"]);
    assert_eq!(
        run.detail("pam", "installed"),
        "pam_rust_totp.so is not in /lib/x86_64-linux-gnu/security, where libpam loads modules \
         named without a path from (it is at /usr/lib/x86_64-linux-gnu/security/pam_rust_totp.so): \
         PAM refuses every ssh login"
    );
    // The full path in the line is loaded from there.
    tree.edit(
        "/etc/pam.d/sshd",
        "pam_rust_totp.so",
        "/usr/lib/x86_64-linux-gnu/security/pam_rust_totp.so",
    );
    tree.doctor(&[]).assert_clean();
}

#[test]
fn a_control_that_ignores_a_wrong_code_fails() {
    let tree = Tree::with_example("password-totp", &[]);
    tree.edit(
        "/etc/pam.d/sshd",
        "auth       required     pam_rust_totp.so",
        "auth       optional     pam_rust_totp.so",
    );
    tree.doctor(&[])
        .assert_only_problems(&["pam/control: fail"]);
}

#[test]
fn code_before_password_warns() {
    let tree = Tree::with_example("password-totp", &[]);
    tree.edit(
        "/etc/pam.d/sshd",
        "@include common-auth\nauth       required     pam_rust_totp.so",
        "auth       required     pam_rust_totp.so\n@include common-auth",
    );
    tree.doctor(&[])
        .assert_only_problems(&["pam/password: warn"]);
}

#[test]
fn a_sufficient_password_before_the_module_fails() {
    let tree = Tree::with_example("password-totp", &[]);
    tree.write(
        "/etc/pam.d/common-auth",
        "auth sufficient pam_unix.so nullok\nauth requisite pam_deny.so\n",
    );
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["pam/reached: fail"]);
    assert!(
        run.detail("pam", "reached")
            .contains("pam_unix.so (/etc/pam.d/common-auth:1, via common-auth)")
    );
}

#[test]
fn nullok_as_the_only_auth_line_refuses_unenrolled_users() {
    let tree = Tree::with_example("rollout-nullok", &[]);
    tree.edit(
        "/etc/pam.d/sshd",
        "auth       required     pam_permit.so\n",
        "",
    );
    let run = tree.doctor(&[]);
    assert_eq!(run.status("pam", "nullok"), "fail");
    assert_eq!(run.status, 1);
}

#[test]
fn module_in_common_auth_fails_on_proxmox_and_warns_elsewhere() {
    let add_to_common_auth = |tree: &Tree| {
        let common = tree.read("/etc/pam.d/common-auth");
        tree.write(
            "/etc/pam.d/common-auth",
            &format!("{common}auth required pam_rust_totp.so\n"),
        );
    };
    let plain = Tree::with_example("password-totp", &[]);
    add_to_common_auth(&plain);
    let run = plain.doctor(&[]);
    assert_eq!(run.status("pam", "common-auth"), "warn");
    // sshd now runs it twice, through common-auth and its own line.
    assert_eq!(run.status("pam", "module"), "warn");

    let pve = Tree::with_example("proxmox-ve", &["proxmox-ve"]);
    add_to_common_auth(&pve);
    let run = pve.doctor(&[]);
    assert_eq!(run.status("pam", "common-auth"), "fail");
    assert!(run.detail("pam", "common-auth").contains("Proxmox VE host"));
    assert_eq!(run.status, 1);
}

#[test]
fn each_proxmox_marker_is_recognised() {
    for marker in ["/etc/pve", "/usr/share/perl5/PVE", "/usr/bin/pveversion"] {
        let tree = Tree::with_example("password-totp", &[]);
        if marker.ends_with("pveversion") {
            tree.write(marker, "");
        } else {
            fs::create_dir_all(tree.path(marker)).unwrap();
        }
        let run = tree.doctor(&[]);
        assert!(
            run.detail("pam", "common-auth").contains("Proxmox VE host"),
            "{marker}"
        );
    }
}

// ---- users -----------------------------------------------------------------

#[test]
fn user_without_secret_file_is_locked_out_without_nullok() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.remove("/home/bob/.google_authenticator");
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["users/bob: fail"]);
    assert!(run.detail("users", "bob").contains("locked out"));
}

#[test]
fn secret_file_with_a_loose_mode_fails() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.chmod("/home/alice/.google_authenticator", 0o644);
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["users/alice: fail"]);
    assert!(run.detail("users", "alice").contains("mode 0644"));
    assert_eq!(
        run.check("users", "alice")["fix"],
        "chmod 600 /home/alice/.google_authenticator"
    );
    // allowed_perm relaxes the check as it relaxes the module.
    tree.edit(
        "/etc/pam.d/sshd",
        "pam_rust_totp.so\n",
        "pam_rust_totp.so allowed_perm=0644\n",
    );
    tree.doctor(&[]).assert_clean();
}

#[test]
fn secret_file_of_another_owner_fails() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.set_uid("alice", 4242);
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["users/alice: fail"]);
    assert!(
        run.detail("users", "alice")
            .contains("the module wants alice (uid 4242)")
    );
}

#[test]
fn unparseable_secret_file_fails() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.chmod("/home/alice/.google_authenticator", 0o600);
    tree.write("/home/alice/.google_authenticator", "this is not base32!\n");
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["users/alice: fail"]);
    assert!(run.detail("users", "alice").contains("cannot be parsed"));
    assert!(!run.detail("users", "alice").contains("this is not"));
}

#[test]
fn few_scratch_codes_warn() {
    let tree = Tree::with_example("publickey-totp", &[]);
    let text = tree.read("/home/alice/.google_authenticator");
    let kept: Vec<&str> = text.lines().take(6).collect();
    tree.chmod("/home/alice/.google_authenticator", 0o600);
    tree.write(
        "/home/alice/.google_authenticator",
        &(kept.join("\n") + "\n"),
    );
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["users/alice: warn"]);
    assert!(
        run.detail("users", "alice")
            .contains("TOTP, 1 scratch code left")
    );
}

#[test]
fn fixes_name_the_enrolment_command_for_the_files_place() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.remove("/home/bob/.google_authenticator");
    let fix = |tree: &Tree| {
        tree.doctor(&[]).check("users", "bob")["fix"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        fix(&tree)
            .starts_with("enrol first: run `rust-totp` as bob, or as root `rust-totp --user bob`"),
        "{}",
        fix(&tree)
    );
    // A central file: bob cannot write /var/lib/totp, root enrols him.
    tree.edit(
        "/etc/pam.d/sshd",
        "pam_rust_totp.so\n",
        "pam_rust_totp.so secret=/var/lib/totp/${USER}\n",
    );
    assert!(
        fix(&tree)
            .starts_with("enrol first: as root: `rust-totp --user bob -s /var/lib/totp/bob`,"),
        "{}",
        fix(&tree)
    );
    // Kept by root for everyone (user=root): the file is handed to root.
    tree.edit(
        "/etc/pam.d/sshd",
        "secret=/var/lib/totp/${USER}",
        "user=root secret=/var/lib/totp/${USER}",
    );
    assert!(
        fix(&tree).starts_with(
            "enrol first: as root: `rust-totp --user bob -s /var/lib/totp/bob`, then \
             `chown root /var/lib/totp/bob`,"
        ),
        "{}",
        fix(&tree)
    );
}

#[test]
fn few_scratch_codes_in_a_central_file_name_roots_command() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.edit(
        "/etc/pam.d/sshd",
        "pam_rust_totp.so\n",
        "pam_rust_totp.so secret=/var/lib/totp/${USER} no_strict_owner\n",
    );
    let text = tree.read("/home/alice/.google_authenticator");
    let kept: Vec<&str> = text.lines().take(6).collect();
    tree.write("/var/lib/totp/alice", &(kept.join("\n") + "\n"));
    tree.chmod("/var/lib/totp/alice", 0o400);
    tree.copy_in(
        &tree.path("/home/bob/.google_authenticator"),
        "/var/lib/totp/bob",
    );
    tree.chmod("/var/lib/totp/bob", 0o400);
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["users/alice: warn"]);
    assert_eq!(
        run.check("users", "alice")["fix"],
        "enrol alice again (as root: `rust-totp --user alice -s /var/lib/totp/alice`) and keep \
         the new scratch codes"
    );
}

#[test]
fn secret_path_follows_the_module_options() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.edit(
        "/etc/pam.d/sshd",
        "pam_rust_totp.so\n",
        "pam_rust_totp.so secret=/var/lib/totp/${USER}\n",
    );
    let run = tree.doctor(&[]);
    assert_eq!(run.status("users", "alice"), "fail");
    assert!(
        run.detail("users", "alice")
            .contains("no /var/lib/totp/alice")
    );
}

#[test]
fn accounts_that_cannot_log_in_are_not_checked() {
    let tree = Tree::with_example("publickey-totp", &[]);
    // carol: locked password, no keys; dave: locked password with a key;
    // erin: nologin shell.
    let passwd = tree.read("/etc/passwd");
    let uid = if current_uid() == 0 {
        1002
    } else {
        current_uid()
    };
    tree.write(
        "/etc/passwd",
        &format!(
            "{passwd}carol:x:{uid}:{uid}::/home/carol:/bin/bash\n\
             dave:x:{uid}:{uid}::/home/dave:/bin/bash\n\
             erin:x:{uid}:{uid}::/home/erin:/usr/sbin/nologin\n"
        ),
    );
    let shadow = tree.read("/etc/shadow");
    tree.write(
        "/etc/shadow",
        &format!("{shadow}carol:!:19700::::::\ndave:!$y$locked:19700::::::\nerin:*:19700::::::\n"),
    );
    tree.write("/home/dave/.ssh/authorized_keys", "ssh-ed25519 AAAA dave\n");
    let run = tree.doctor(&[]);
    let users: Vec<&str> = run
        .checks()
        .iter()
        .filter(|check| check["section"] == "users")
        .map(|check| check["name"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["alice", "bob", "dave"]);
    assert_eq!(run.status("users", "dave"), "fail");
}

#[test]
fn root_logging_in_with_a_key_alone_where_others_need_a_code_warns() {
    // The guide's password and code: keys still log in alone, and
    // PermitRootLogin prohibit-password lets root in by key only, so root
    // is never asked for the code that everyone typing a password is.
    let tree = Tree::new(&["ubuntu-password-totp"]);
    tree.write(
        "/root/.ssh/authorized_keys",
        "ssh-ed25519 AAAA root@admin\n",
    );
    let run = tree.doctor(&[]);
    run.assert_only_problems(&[
        "sshd/AuthenticationMethods: warn",
        "sshd/PasswordAuthentication: warn",
        "users/root: warn",
    ]);
    assert!(
        run.detail("users", "root")
            .contains("logs in with an SSH key alone, never asked for a code"),
        "{}",
        run.detail("users", "root")
    );
    assert!(
        run.detail("users", "root")
            .contains("root bypasses the second factor")
    );
    assert!(
        run.check("users", "root")["fix"]
            .as_str()
            .unwrap()
            .contains("`PermitRootLogin no`")
    );
    // Where no login is asked for a code at all, AuthenticationMethods
    // fails for everyone; root is not singled out.
    tree.write(
        "/etc/ssh/sshd_config.d/keys.conf",
        "AuthenticationMethods publickey\n",
    );
    let run = tree.doctor(&[]);
    assert_eq!(run.status("sshd", "AuthenticationMethods"), "fail");
    assert!(!run.detail("users", "root").contains("bypasses"));
    // Without a key root cannot log in, and is not listed.
    tree.remove("/etc/ssh/sshd_config.d/keys.conf");
    tree.remove("/root/.ssh");
    let run = tree.doctor(&[]);
    assert!(run.checks().iter().all(|check| check["name"] != "root"));
}

#[test]
fn requested_users_only() {
    let tree = Tree::with_example("publickey-totp", &[]);
    let run = tree.doctor(&["--user", "alice", "nosuchuser", "--user", "daemon"]);
    let users: Vec<&str> = run
        .checks()
        .iter()
        .filter(|check| check["section"] == "users")
        .map(|check| check["name"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["alice", "nosuchuser", "daemon"]);
    assert_eq!(run.status("users", "nosuchuser"), "warn");
    assert_eq!(run.status("users", "daemon"), "ok");
    assert!(
        run.detail("users", "daemon")
            .contains("cannot log in over ssh (shell /usr/sbin/nologin)")
    );
}

// ---- other PAM services ----------------------------------------------------

#[test]
fn another_pam_service_is_checked_without_sshd() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.write(
        "/etc/pam.d/login",
        "auth optional pam_faildelay.so delay=3000000\n@include common-auth\n\
         auth required pam_rust_totp.so nulok grace_period=x\naccount required pam_nologin.so\n",
    );
    let run = tree.doctor(&["--service", "login"]);
    assert_eq!(run.json["sources"]["pam"], "/etc/pam.d/login");
    assert_eq!(
        run.json["sources"]["sshd"],
        "not checked (PAM service login)"
    );
    assert!(run.checks().iter().all(|check| check["section"] != "sshd"));
    assert_eq!(
        run.detail("pam", "module"),
        "pam_rust_totp.so (/etc/pam.d/login:3)"
    );
    assert_eq!(
        run.detail("pam", "password"),
        "common-auth asks the Unix password first, then the module asks the code"
    );
    // On the console root, whom sshd keeps out, is asked for a code too.
    run.assert_only_problems(&["pam/options: fail", "users/root: fail"]);
    assert!(
        run.detail("users", "root")
            .starts_with("no /root/.google_authenticator: locked out")
    );
    // Users are those with a login shell and a usable password; bob's
    // locked one cannot pass pam_unix.
    let shadow = tree.read("/etc/shadow");
    let bob = shadow
        .lines()
        .find(|line| line.starts_with("bob:"))
        .unwrap();
    tree.edit("/etc/shadow", bob, "bob:!:19700::::::");
    tree.edit("/etc/pam.d/login", " nulok grace_period=x", "");
    tree.remove("/home/alice/.google_authenticator");
    let run = tree.doctor(&["--service", "login"]);
    run.assert_only_problems(&["users/root: fail", "users/alice: fail"]);
    assert!(
        run.detail("users", "root")
            .starts_with("no /root/.google_authenticator: locked out")
    );
    assert!(run.checks().iter().all(|check| check["name"] != "bob"));
    assert_eq!(
        run.detail("users", "alice"),
        "no /home/alice/.google_authenticator: locked out (the module has no nullok)"
    );
    // The same tree through sshd is judged by sshd's settings: bob logs in
    // with his key.
    let run = tree.doctor(&[]);
    assert_eq!(run.status("users", "bob"), "ok");
}

#[test]
fn another_pam_service_without_the_module_or_file_names_it() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.write(
        "/etc/pam.d/su",
        "auth sufficient pam_rootok.so\n@include common-auth\n",
    );
    let run = tree.doctor(&["--service", "su"]);
    assert_eq!(run.status("pam", "module"), "fail");
    assert!(run.detail("pam", "module").contains("in su's auth stack"));
    assert!(
        run.check("pam", "module")["fix"]
            .as_str()
            .unwrap()
            .starts_with("add `auth required pam_rust_totp.so` to /etc/pam.d/su")
    );
    let run = tree.doctor(&["--service", "cockpit"]);
    assert_eq!(run.status("pam", "stack"), "fail");
    assert!(
        run.detail("pam", "stack")
            .contains("cannot read /etc/pam.d/cockpit")
    );
    assert!(
        run.detail("pam", "stack")
            .contains("the PAM service cockpit falls back to /etc/pam.d/other")
    );
}

#[test]
fn bad_service_names_are_usage_errors() {
    let tree = Tree::with_example("publickey-totp", &[]);
    for bad in ["", "..", "../shadow", "/etc/pam.d/sshd", "ss hd"] {
        let output = Command::new(DOCTOR)
            .args(["doctor", "--root"])
            .arg(tree.dir.path())
            .args(["--no-sshd-t", "--service", bad])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
        assert!(output.stdout.is_empty(), "{bad:?}: nothing is printed");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("invalid value") && stderr.contains("--service <NAME>"),
            "{bad:?}: {stderr}"
        );
    }
    let output = Command::new(DOCTOR)
        .args(["doctor", "--service", "../shadow"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a file name in /etc/pam.d"), "{stderr}");
}

// ---- clock -----------------------------------------------------------------

#[test]
fn clock_without_a_time_sync_daemon_warns() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.remove("/proc/631");
    tree.doctor(&[])
        .assert_only_problems(&["clock/time sync: warn"]);
    tree.write("/proc/88/comm", "ntpd\n");
    let run = tree.doctor(&[]);
    run.assert_clean();
    assert!(
        run.detail("clock", "time sync")
            .starts_with("ntpd is running")
    );
}

// ---- output ----------------------------------------------------------------

#[test]
fn text_report_lists_checks_with_fixes_and_a_summary() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.remove("/home/bob/.google_authenticator");
    let (status, text) = tree.doctor_text(&[]);
    assert_eq!(status, 1);
    assert!(text.starts_with("sshd settings: /etc/ssh/sshd_config and its Includes"));
    assert!(text.contains("\nsshd\n  OK    UsePAM "));
    assert!(text.contains("\nusers\n"));
    let bob = text
        .lines()
        .position(|line| line.starts_with("  FAIL  bob "))
        .expect("bob's line");
    let fix = text.lines().nth(bob + 1).unwrap();
    assert!(
        fix.trim_start()
            .starts_with("fix: enrol first: run `rust-totp` as bob")
    );
    assert!(text.trim_end().ends_with("1 FAIL"));
}

/// Runs the doctor on a pseudo-terminal (util-linux `script`) with `env`
/// added and returns what it printed.
fn doctor_on_a_terminal(tree: &Tree, env: &[(&str, &str)], args: &str) -> String {
    let command = format!(
        "{DOCTOR} doctor --root {} --no-sshd-t {args}",
        tree.dir.path().display()
    );
    let output = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        // script(1) runs the command with $SHELL, else the account's shell,
        // which for a system user such as nobody refuses to run anything.
        .env("SHELL", "/bin/sh")
        .envs(env.iter().copied())
        .output()
        .expect("run script(1)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_text_report_is_coloured_on_a_terminal_unless_no_color_is_set() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.remove("/home/bob/.google_authenticator");
    let coloured = doctor_on_a_terminal(&tree, &[], "");
    assert!(
        coloured.contains("  \x1b[32mOK  \x1b[0m  UsePAM"),
        "{coloured}"
    );
    assert!(
        coloured.contains("  \x1b[1;31mFAIL\x1b[0m  bob"),
        "{coloured}"
    );
    // NO_COLOR set to anything but the empty string turns it off.
    let empty = doctor_on_a_terminal(&tree, &[("NO_COLOR", "")], "");
    assert!(empty.contains("\x1b[32mOK"), "{empty}");
    let plain = doctor_on_a_terminal(&tree, &[("NO_COLOR", "1")], "");
    assert!(plain.contains("  OK    UsePAM"), "{plain}");
    assert!(!plain.contains('\x1b'), "{plain}");
    let json = doctor_on_a_terminal(&tree, &[], "--json");
    assert!(json.contains("\"summary\""), "{json}");
    assert!(!json.contains('\x1b'), "{json}");
    // Piped: no colour.
    let (_, piped) = tree.doctor_text(&[]);
    assert!(piped.contains("  OK    UsePAM"));
    assert!(!piped.contains('\x1b'));
}

#[test]
fn json_report_has_sources_checks_and_summary() {
    let run = Tree::with_example("publickey-totp", &[]).doctor(&[]);
    let summary = &run.json["summary"];
    let total = run.checks().len() as u64;
    assert_eq!(summary["ok"].as_u64().unwrap(), total);
    assert_eq!(summary["fail"], 0);
    assert_eq!(run.json["sources"]["pam"], "/etc/pam.d/sshd");
    assert!(
        run.json["sources"]["users"]
            .as_str()
            .unwrap()
            .contains("/etc/shadow")
    );
    for check in run.checks() {
        assert!(check["detail"].is_string());
        assert!(["sshd", "pam", "users", "clock"].contains(&check["section"].as_str().unwrap()));
    }
}

#[test]
fn usage_errors_exit_2() {
    let output = Command::new(DOCTOR)
        .args(["doctor", "--no-such-option"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = Command::new(DOCTOR)
        .args(["doctor", "--help"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("--sshd-config"));
    assert!(!help.contains("--root"), "test options stay hidden");
}

#[test]
fn locked_password_with_a_unix_password_prompt_is_locked_out() {
    // alice logs in with her key only; her password is locked.
    let lock_alice = |tree: &Tree| {
        let shadow = tree.read("/etc/shadow");
        let alice = shadow
            .lines()
            .find(|line| line.starts_with("alice:"))
            .unwrap();
        tree.edit("/etc/shadow", alice, "alice:!:19700:0:99999:7:::");
    };
    let key_and_code = Tree::new(&["ubuntu-key-totp"]);
    lock_alice(&key_and_code);
    key_and_code.doctor(&[]).assert_clean();
    // The guide's step of commenting out common-auth forgotten.
    key_and_code.edit(
        "/etc/pam.d/sshd",
        "#@include common-auth",
        "@include common-auth",
    );
    let run = key_and_code.doctor(&[]);
    run.assert_only_problems(&["users/alice: fail"]);
    assert!(run.detail("users", "alice").contains("password is locked"));
    // With AuthenticationMethods any she still gets in with the key alone.
    let any = Tree::new(&["ubuntu-password-totp"]);
    lock_alice(&any);
    assert_eq!(any.doctor(&[]).status("users", "alice"), "ok");
}

#[test]
fn without_ssh_accounts_the_reasons_are_listed() {
    let tree = Tree::with_example("password-totp", &[]);
    for user in ["alice", "bob"] {
        let shadow = tree.read("/etc/shadow");
        let line = shadow
            .lines()
            .find(|line| line.starts_with(&format!("{user}:")))
            .unwrap();
        tree.edit("/etc/shadow", line, &format!("{user}:!:19700::::::"));
        tree.remove(&format!("/home/{user}/.ssh"));
    }
    let run = tree.doctor(&[]);
    run.assert_clean();
    assert_eq!(
        run.detail("users", "accounts"),
        "no local account can log in over ssh: \
         root (PermitRootLogin forbids root the keyboard-interactive method that every login \
         needs), sync (password locked, no authorized keys), alice (password locked, no \
         authorized keys), bob (password locked, no authorized keys)"
    );
}

#[test]
fn users_without_keys_are_not_checked_where_every_login_needs_one() {
    let tree = Tree::with_example("publickey-totp", &[]);
    tree.remove("/home/bob/.ssh");
    tree.remove("/home/bob/.google_authenticator");
    let run = tree.doctor(&[]);
    run.assert_clean();
    assert!(run.checks().iter().all(|check| check["name"] != "bob"));
    // With password and code, bob's password gets him to the code prompt.
    let tree = Tree::with_example("password-totp", &[]);
    tree.remove("/home/bob/.ssh");
    tree.remove("/home/bob/.google_authenticator");
    tree.doctor(&[]).assert_only_problems(&["users/bob: fail"]);
}

#[test]
fn unreadable_includes_are_reported() {
    let tree = Tree::with_example("publickey-totp", &[]);
    let pam = tree.read("/etc/pam.d/sshd");
    tree.write("/etc/pam.d/sshd", &format!("@include common-gone\n{pam}"));
    let config = tree.read("/etc/ssh/sshd_config");
    tree.write(
        "/etc/ssh/sshd_config",
        &format!("Include /etc/ssh/gone.conf\n{config}"),
    );
    let run = tree.doctor(&[]);
    run.assert_only_problems(&["sshd/Include: warn", "pam/stack: warn"]);
    assert!(
        run.detail("pam", "stack")
            .contains("cannot read included /etc/pam.d/common-gone")
    );
    assert!(run.detail("sshd", "Include").contains("/etc/ssh/gone.conf"));
}
