//! Checks of the PAM side: the module is in the service's auth stack, installed,
//! with valid options and a control that makes a wrong code fail; `nullok`;
//! where the password is asked; lines that skip the module; and the module
//! kept out of `common-auth`, which on Proxmox VE breaks the web login.

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use super::pam_analysis::{ModuleUse, PamAnalysis, Skipper, is_totp_line};
use super::pam_stack::{self, Action, Control, ModuleFile, PamLine, PamStack};
use super::report::{Check, Section};
use super::service::Service;
use super::system_root::{ReadError, SystemRoot};

/// The Debian package with the module and rust-totp.
const PACKAGE: &str = "libpam-rust-totp";

/// Files and directories only a Proxmox VE installation has.
const PROXMOX_MARKERS: [&str; 3] = ["/etc/pve", "/usr/share/perl5/PVE", "/usr/bin/pveversion"];

fn add_module(service: &Service) -> String {
    format!(
        "add `auth required pam_rust_totp.so` to {} (see the pam.d examples shipped with \
         rust-totp)",
        service.file()
    )
}

pub fn is_proxmox(root: &SystemRoot) -> bool {
    PROXMOX_MARKERS
        .iter()
        .any(|marker| root.path(marker).exists())
}

/// The checks of the service's auth stack.
pub fn stack_checks(root: &SystemRoot, service: &Service, analysis: &PamAnalysis) -> Vec<Check> {
    let mut checks: Vec<Check> = analysis
        .stack
        .problems
        .iter()
        .map(|problem| {
            Check::warn(
                Section::Pam,
                "stack",
                problem.clone(),
                "fix the line; Linux-PAM may refuse every login through a broken stack",
            )
        })
        .collect();
    let Some(module) = analysis.module() else {
        checks.push(Check::fail(
            Section::Pam,
            "module",
            format!(
                "neither pam_rust_totp.so nor pam_google_authenticator.so is in {service}'s auth \
                 stack: no code is asked"
            ),
            add_module(service),
        ));
        return checks;
    };
    checks.push(module_check(analysis));
    checks.push(installed_check(root, service, &module.line));
    checks.push(control_check(&analysis.stack, module));
    checks.push(options_check(module));
    if module.options.is_ok() {
        checks.push(nullok_check(analysis, module));
    }
    checks.push(password_order_check(analysis, module));
    checks.push(reach_check(&analysis.skippers));
    checks
}

/// The check when the service's file cannot be read.
pub fn missing_stack_check(service: &Service, error: &ReadError) -> Check {
    Check::fail(
        Section::Pam,
        "stack",
        format!("{error}: the PAM service {service} falls back to /etc/pam.d/other"),
        format!(
            "create it from your distribution's default, then {}",
            add_module(service)
        ),
    )
}

fn describe_line(line: &PamLine) -> String {
    match line.included_via.first() {
        Some(file) => format!("{} ({}, via {file})", line.module_name(), line.origin),
        None => format!("{} ({})", line.module_name(), line.origin),
    }
}

fn module_check(analysis: &PamAnalysis) -> Check {
    let lines: Vec<String> = analysis
        .uses
        .iter()
        .map(|module| describe_line(&module.line))
        .collect();
    if lines.len() > 1 {
        return Check::warn(
            Section::Pam,
            "module",
            format!(
                "{} lines run the module, so the code is asked {} times: {}",
                lines.len(),
                lines.len(),
                lines.join(", ")
            ),
            "keep one module line in the auth stack",
        );
    }
    Check::ok(Section::Pam, "module", lines.join(""))
}

fn installed_check(root: &SystemRoot, service: &Service, line: &PamLine) -> Check {
    let not_found = match pam_stack::find_module(root, &line.module) {
        ModuleFile::Found(path) => return Check::ok(Section::Pam, "installed", root.show(&path)),
        ModuleFile::Elsewhere { found, module_dir } => format!(
            "{} is not in {}, where libpam loads modules named without a path from (it is at {})",
            line.module,
            root.show(&module_dir),
            root.show(&found)
        ),
        ModuleFile::Missing => format!("{} not found", line.module),
    };
    let fix = format!(
        "{}, or write the module's full path in the line",
        install_hint(root)
    );
    let effect = if line.skip_if_missing {
        "the line starts with `-`, so PAM skips it silently and no code is asked".to_owned()
    } else {
        format!("PAM refuses every {}", service.logins())
    };
    Check::fail(
        Section::Pam,
        "installed",
        format!("{not_found}: {effect}"),
        fix,
    )
}

/// How to install the package: from the repository when one of the checked
/// system's apt sources provides it, else the `.deb` built from the source.
fn install_hint(root: &SystemRoot) -> String {
    if repository_provides(root, PACKAGE) {
        format!("install the package: `apt install {PACKAGE}`")
    } else {
        format!(
            "install the package: `apt install ./{PACKAGE}_*.deb`, built from the source with \
             `bash tests/system/build_deb.sh` (no apt source provides {PACKAGE})"
        )
    }
}

/// Whether an apt source provides `package`: on this machine as
/// `apt-cache madison` says (it reads the package lists however apt stores
/// them, and leaves out packages installed from a file), in a tree from its
/// uncompressed lists (`/var/lib/apt/lists/*_Packages`).
fn repository_provides(root: &SystemRoot, package: &str) -> bool {
    if root.is_real() {
        return madison_lists(package);
    }
    let wanted = format!("Package: {package}");
    let Ok(entries) = fs::read_dir(root.path("/var/lib/apt/lists")) else {
        return false;
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with("_Packages"))
        .filter_map(|entry| fs::File::open(entry.path()).ok())
        .any(|file| {
            BufReader::new(file)
                .lines()
                .map_while(Result::ok)
                .any(|line| line.trim_end() == wanted)
        })
}

/// Whether `apt-cache madison` lists a version of `package` from a source.
fn madison_lists(package: &str) -> bool {
    Command::new("apt-cache")
        .args(["madison", package])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|output| {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .any(|line| line.split(" | ").next().map(str::trim) == Some(package))
        })
}

/// A wrong code must fail the stack: `required`/`requisite`, or the
/// `[success=1 default=ignore]` + `requisite pam_deny.so` idiom.
fn control_check(stack: &PamStack, module: &ModuleUse) -> Check {
    let control = &module.line.control;
    let written = control.describe();
    match control {
        Control::Required | Control::Requisite => Check::ok(
            Section::Pam,
            "control",
            format!("{written}: a wrong code fails the login"),
        ),
        Control::Sufficient | Control::Optional => Check::fail(
            Section::Pam,
            "control",
            format!("{written}: a wrong code is ignored when another module succeeds"),
            "make the module line `auth required ...`",
        ),
        Control::Actions(_) if denied_on_failure(stack, module.index) => Check::ok(
            Section::Pam,
            "control",
            format!("{written}: a wrong code falls through to pam_deny"),
        ),
        Control::Actions(_) => Check::warn(
            Section::Pam,
            "control",
            format!("{written} not evaluated: make sure a wrong code fails the login"),
            "use `auth required ...` for the module line",
        ),
    }
}

fn denied_on_failure(stack: &PamStack, index: usize) -> bool {
    let control = &stack.lines[index].control;
    let failure = control.action("auth_err");
    if matches!(failure, Action::Bad | Action::Die) {
        return true;
    }
    let next_denies = stack.lines.get(index + 1).is_some_and(|next| {
        next.module_name() == "pam_deny.so"
            && matches!(next.control, Control::Required | Control::Requisite)
    });
    failure == Action::Ignore && next_denies && control.action("success") == Action::Jump(1)
}

fn options_check(module: &ModuleUse) -> Check {
    if module.options.is_ok() {
        let detail = if module.line.args.is_empty() {
            "none (defaults)".to_owned()
        } else {
            module.line.args.join(" ")
        };
        return Check::ok(Section::Pam, "options", detail);
    }
    let errors: Vec<String> = module
        .option_errors()
        .iter()
        .map(ToString::to_string)
        .collect();
    Check::fail(
        Section::Pam,
        "options",
        format!("{}: the module refuses every login", errors.join("; ")),
        format!(
            "correct or remove {}; see pam_rust_totp(8)",
            if errors.len() == 1 {
                "the argument"
            } else {
                "each of these arguments"
            }
        ),
    )
}

fn nullok_check(analysis: &PamAnalysis, module: &ModuleUse) -> Check {
    if !module.nullok() {
        return Check::ok(
            Section::Pam,
            "nullok",
            "not set: users without a secret file are refused",
        );
    }
    if analysis.only_module_decides() {
        return Check::fail(
            Section::Pam,
            "nullok",
            "set, but the module is the only auth line: its \"ignore\" for a user without a \
             secret file leaves the stack without a success, so that user is refused",
            "add `auth required pam_permit.so` after the module line",
        );
    }
    Check::warn(
        Section::Pam,
        "nullok",
        "set: users without a secret file log in without a code",
        "enrol every user, then remove nullok",
    )
}

fn password_order_check(analysis: &PamAnalysis, module: &ModuleUse) -> Check {
    let common_auth = analysis
        .stack
        .lines
        .iter()
        .position(|line| line.included_via.first().map(String::as_str) == Some("common-auth"));
    match common_auth {
        Some(position) if position < module.index => Check::ok(
            Section::Pam,
            "password",
            "common-auth asks the Unix password first, then the module asks the code",
        ),
        Some(_) => Check::warn(
            Section::Pam,
            "password",
            "the code is asked before common-auth's password: users see the prompts in an \
             unexpected order, and a code is spent even when the password is wrong",
            "move the module line below `@include common-auth`",
        ),
        None if analysis.asks_password => Check::ok(
            Section::Pam,
            "password",
            "common-auth is not included; another module checks a credential",
        ),
        None => Check::ok(
            Section::Pam,
            "password",
            "common-auth is not included: PAM asks no password, only the code",
        ),
    }
}

fn reach_check(skippers: &[Skipper]) -> Check {
    let mut gates = Vec::new();
    for skipper in skippers {
        match skipper {
            Skipper::EndsStack(line) => {
                return Check::fail(
                    Section::Pam,
                    "reached",
                    format!(
                        "a success of {} ends the stack before the code is asked",
                        describe_line(line)
                    ),
                    "make that line `required` or move the module line above it",
                );
            }
            Skipper::Jump(line) => {
                return Check::warn(
                    Section::Pam,
                    "reached",
                    format!(
                        "{} {} can jump over the module; not evaluated",
                        line.control.describe(),
                        describe_line(line)
                    ),
                    "make sure every path through the stack reaches the module",
                );
            }
            Skipper::Group { line, .. } => gates.push(format!(
                "{} {} ({})",
                line.module_name(),
                line.args.join(" "),
                line.origin
            )),
        }
    }
    if gates.is_empty() {
        Check::ok(
            Section::Pam,
            "reached",
            "every path through the stack runs the module",
        )
    } else {
        Check::ok(
            Section::Pam,
            "reached",
            format!("skipped by group membership: {}", gates.join(", ")),
        )
    }
}

/// The module must stay out of `common-auth`, which su, sudo, the console
/// login and (on Proxmox VE) the web UI's pam realm use.
pub fn common_auth_check(root: &SystemRoot, pam_dir: &Path, proxmox: bool) -> Check {
    let in_common_auth: Vec<String> = pam_stack::load(root, pam_dir, "common-auth", "auth")
        .map(|stack| {
            stack
                .lines
                .iter()
                .filter(|line| is_totp_line(line))
                .map(describe_line)
                .collect()
        })
        .unwrap_or_default();
    match (in_common_auth.is_empty(), proxmox) {
        (true, true) => Check::ok(
            Section::Pam,
            "common-auth",
            "Proxmox VE host: the module is kept out of common-auth",
        ),
        (true, false) => Check::ok(
            Section::Pam,
            "common-auth",
            "the module is not in common-auth",
        ),
        (false, true) => Check::fail(
            Section::Pam,
            "common-auth",
            format!(
                "{} on a Proxmox VE host: the web UI and API log in the pam realm through \
                 common-auth and answer only one prompt, so every such login fails",
                in_common_auth.join(", ")
            ),
            "remove the module from /etc/pam.d/common-auth, put it in /etc/pam.d/sshd only, \
             and use Proxmox VE's own TOTP for the web UI",
        ),
        (false, false) => Check::warn(
            Section::Pam,
            "common-auth",
            format!(
                "{}: su, sudo, the console login and every other service using common-auth \
                 ask for a code too, so a lost secret file locks you out of the console",
                in_common_auth.join(", ")
            ),
            "put the module in /etc/pam.d/sshd only",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;

    struct Tree {
        _dir: tempfile::TempDir,
        root: SystemRoot,
    }

    impl Tree {
        fn new(files: &[(&str, &str)]) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let root = SystemRoot::new(dir.path().to_owned());
            for (path, text) in files {
                let host = root.path(path);
                fs::create_dir_all(host.parent().unwrap()).unwrap();
                fs::write(host, text).unwrap();
            }
            Tree { _dir: dir, root }
        }

        fn checks(&self) -> Vec<Check> {
            let stack =
                pam_stack::load(&self.root, &self.root.path("/etc/pam.d"), "sshd", "auth").unwrap();
            stack_checks(&self.root, &Service::default(), &PamAnalysis::new(stack))
        }
    }

    const MODULE_FILE: (&str, &str) = ("/usr/lib/x86_64-linux-gnu/security/pam_rust_totp.so", "");
    const COMMON_AUTH: (&str, &str) = (
        "/etc/pam.d/common-auth",
        "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n\
         auth required pam_permit.so\n",
    );

    fn status_of(checks: &[Check], name: &str) -> Status {
        checks
            .iter()
            .find(|check| check.name == name)
            .map(|check| check.status)
            .unwrap_or_else(|| panic!("no check {name} in {checks:#?}"))
    }

    #[test]
    fn password_then_code_is_clean() {
        let tree = Tree::new(&[
            MODULE_FILE,
            COMMON_AUTH,
            (
                "/etc/pam.d/sshd",
                "@include common-auth\nauth required pam_rust_totp.so\n",
            ),
        ]);
        let checks = tree.checks();
        assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:#?}");
        assert_eq!(checks.len(), 7);
    }

    #[test]
    fn missing_module_line_fails() {
        let tree = Tree::new(&[COMMON_AUTH, ("/etc/pam.d/sshd", "@include common-auth\n")]);
        let checks = tree.checks();
        assert_eq!(checks.len(), 1);
        assert_eq!(status_of(&checks, "module"), Status::Fail);
    }

    #[test]
    fn module_not_installed_fails() {
        let tree = Tree::new(&[("/etc/pam.d/sshd", "-auth required pam_rust_totp.so\n")]);
        let checks = tree.checks();
        assert_eq!(status_of(&checks, "installed"), Status::Fail);
        assert!(
            checks
                .iter()
                .any(|c| c.detail.contains("skips it silently"))
        );
    }

    #[test]
    fn optional_or_sufficient_control_fails() {
        for control in ["optional", "sufficient"] {
            let tree = Tree::new(&[
                MODULE_FILE,
                (
                    "/etc/pam.d/sshd",
                    &format!("auth {control} pam_rust_totp.so\n"),
                ),
            ]);
            assert_eq!(status_of(&tree.checks(), "control"), Status::Fail);
        }
    }

    #[test]
    fn deny_idiom_is_accepted_other_brackets_warn() {
        let tree = Tree::new(&[
            MODULE_FILE,
            (
                "/etc/pam.d/sshd",
                "auth [success=1 default=ignore] pam_google_authenticator.so\n\
                 auth requisite pam_deny.so\nauth required pam_permit.so\n",
            ),
        ]);
        let checks = tree.checks();
        assert_eq!(status_of(&checks, "control"), Status::Ok);
        assert_eq!(status_of(&checks, "installed"), Status::Fail);
        let tree = Tree::new(&[
            MODULE_FILE,
            (
                "/etc/pam.d/sshd",
                "auth [success=ok default=ignore] pam_rust_totp.so\n",
            ),
        ]);
        assert_eq!(status_of(&tree.checks(), "control"), Status::Warn);
    }

    #[test]
    fn invalid_options_fail() {
        let tree = Tree::new(&[
            MODULE_FILE,
            (
                "/etc/pam.d/sshd",
                "auth required pam_rust_totp.so allowed_perm=999\n",
            ),
        ]);
        let checks = tree.checks();
        assert_eq!(status_of(&checks, "options"), Status::Fail);
        assert!(checks.iter().all(|c| c.name != "nullok"));
    }

    #[test]
    fn nullok_warns_and_fails_without_another_success() {
        let tree = Tree::new(&[
            MODULE_FILE,
            (
                "/etc/pam.d/sshd",
                "auth required pam_rust_totp.so nullok\nauth required pam_permit.so\n",
            ),
        ]);
        assert_eq!(status_of(&tree.checks(), "nullok"), Status::Warn);
        let tree = Tree::new(&[
            MODULE_FILE,
            ("/etc/pam.d/sshd", "auth required pam_rust_totp.so nullok\n"),
        ]);
        assert_eq!(status_of(&tree.checks(), "nullok"), Status::Fail);
    }

    #[test]
    fn code_before_password_warns() {
        let tree = Tree::new(&[
            MODULE_FILE,
            COMMON_AUTH,
            (
                "/etc/pam.d/sshd",
                "auth required pam_rust_totp.so\n@include common-auth\n",
            ),
        ]);
        assert_eq!(status_of(&tree.checks(), "password"), Status::Warn);
    }

    #[test]
    fn sufficient_line_before_the_module_fails() {
        let tree = Tree::new(&[
            MODULE_FILE,
            (
                "/etc/pam.d/sshd",
                "auth sufficient pam_unix.so\nauth required pam_rust_totp.so\n",
            ),
        ]);
        assert_eq!(status_of(&tree.checks(), "reached"), Status::Fail);
    }

    #[test]
    fn duplicate_module_lines_warn() {
        let tree = Tree::new(&[
            MODULE_FILE,
            (
                "/etc/pam.d/sshd",
                "auth required pam_rust_totp.so\nauth required pam_rust_totp.so\n",
            ),
        ]);
        assert_eq!(status_of(&tree.checks(), "module"), Status::Warn);
    }

    #[test]
    fn common_auth_on_proxmox() {
        let with_module = Tree::new(&[(
            "/etc/pam.d/common-auth",
            "auth required pam_unix.so\nauth required pam_rust_totp.so\n",
        )]);
        let pam_dir = with_module.root.path("/etc/pam.d");
        assert!(!is_proxmox(&with_module.root));
        let check = common_auth_check(&with_module.root, &pam_dir, false);
        assert_eq!(check.status, Status::Warn);
        let check = common_auth_check(&with_module.root, &pam_dir, true);
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("/etc/pam.d/common-auth:2"));

        let pve = Tree::new(&[COMMON_AUTH, ("/usr/bin/pveversion", "")]);
        assert!(is_proxmox(&pve.root));
        let check = common_auth_check(&pve.root, &pve.root.path("/etc/pam.d"), true);
        assert_eq!(check.status, Status::Ok);
    }
}
