//! What sshd's auth stack means for the one-time code: which line runs the
//! module and with which options, whether the stack also checks a password,
//! and which earlier lines can make the stack go past the module.

use rust_totp_core::module_options::{ModuleOptions, OptionError};

use super::accounts::{Account, Accounts};
use super::pam_stack::{Action, Control, PamLine, PamStack};

/// Our module (installed, and as cargo names the build) and the one it
/// replaces; all read the same files.
pub const TOTP_MODULES: [&str; 3] = [
    "pam_rust_totp.so",
    "libpam_rust_totp.so",
    "pam_google_authenticator.so",
];

/// Auth modules that check no credential of the user. Any other module in
/// the stack is taken to ask for one (a password, usually).
const NON_CREDENTIAL_MODULES: [&str; 22] = [
    "pam_access.so",
    "pam_cap.so",
    "pam_debug.so",
    "pam_deny.so",
    "pam_echo.so",
    "pam_env.so",
    "pam_faildelay.so",
    "pam_faillock.so",
    "pam_gnome_keyring.so",
    "pam_group.so",
    "pam_keyinit.so",
    "pam_kwallet5.so",
    "pam_limits.so",
    "pam_listfile.so",
    "pam_loginuid.so",
    "pam_motd.so",
    "pam_nologin.so",
    "pam_permit.so",
    "pam_shells.so",
    "pam_succeed_if.so",
    "pam_time.so",
    "pam_warn.so",
];

/// pam_succeed_if flags that do not change the condition.
const SUCCEED_IF_FLAGS: [&str; 5] = ["debug", "quiet", "quiet_fail", "quiet_success", "audit"];

pub fn is_totp_line(line: &PamLine) -> bool {
    TOTP_MODULES.contains(&line.module_name())
}

/// A line that runs the module.
#[derive(Debug, Clone)]
pub struct ModuleUse {
    /// Position in the flat auth stack.
    pub index: usize,
    pub line: PamLine,
    pub options: Result<ModuleOptions, OptionError>,
}

impl ModuleUse {
    pub fn nullok(&self) -> bool {
        self.options.as_ref().is_ok_and(|options| options.nullok)
    }

    /// Every argument the module refuses, in order. The module reports
    /// only the first; each argument is judged on its own, so this lists
    /// them all.
    pub fn option_errors(&self) -> Vec<OptionError> {
        self.line
            .args
            .iter()
            .filter_map(|arg| ModuleOptions::parse(&[arg]).err())
            .collect()
    }

    pub fn forward_pass(&self) -> bool {
        self.options
            .as_ref()
            .is_ok_and(|options| options.settings.forward_pass)
    }
}

/// An earlier line that can make the stack go past the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipper {
    /// `pam_succeed_if user [not]ingroup G` jumping over the module.
    Group {
        line: PamLine,
        groups: Vec<String>,
        /// `ingroup` rather than `notingroup`.
        in_group: bool,
        skip_when_true: bool,
        skip_when_false: bool,
    },
    /// A success ends the stack (`sufficient`, `success=done`).
    EndsStack(PamLine),
    /// Any other jump over the module.
    Jump(PamLine),
}

/// Whether a user is asked for a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeAsked {
    Yes,
    /// Skipped, and why.
    No(String),
    /// An earlier line may skip the module; it was not evaluated.
    Maybe(String),
}

#[derive(Debug, Clone)]
pub struct PamAnalysis {
    pub stack: PamStack,
    pub uses: Vec<ModuleUse>,
    /// Lines before the first use that can go past it.
    pub skippers: Vec<Skipper>,
    /// Some other module of the stack checks a credential.
    pub asks_password: bool,
}

impl PamAnalysis {
    pub fn new(stack: PamStack) -> Self {
        let uses: Vec<ModuleUse> = stack
            .lines
            .iter()
            .enumerate()
            .filter(|(_, line)| is_totp_line(line))
            .map(|(index, line)| ModuleUse {
                index,
                line: line.clone(),
                options: ModuleOptions::parse(&line.args),
            })
            .collect();
        let skippers = uses
            .first()
            .map(|first| skippers_before(&stack.lines, first.index))
            .unwrap_or_default();
        let asks_password = stack.lines.iter().any(|line| {
            !is_totp_line(line) && !NON_CREDENTIAL_MODULES.contains(&line.module_name())
        });
        PamAnalysis {
            stack,
            uses,
            skippers,
            asks_password,
        }
    }

    /// The first line that runs the module.
    pub fn module(&self) -> Option<&ModuleUse> {
        self.uses.first()
    }

    /// No line but the module's could make the stack succeed, so with
    /// `nullok` ("ignore") a user without a file is refused.
    pub fn only_module_decides(&self) -> bool {
        self.stack.lines.iter().all(is_totp_line)
    }

    /// Whether the first module line runs for `account`.
    pub fn code_asked_for(&self, account: &Account, accounts: &Accounts) -> CodeAsked {
        let mut skipped = None;
        for skipper in &self.skippers {
            match skipper {
                Skipper::Group {
                    line,
                    groups,
                    in_group,
                    skip_when_true,
                    skip_when_false,
                } => {
                    let member = groups
                        .iter()
                        .any(|group| accounts.is_member(account, group) == Some(true));
                    let condition = member == *in_group;
                    let skips = if condition {
                        *skip_when_true
                    } else {
                        *skip_when_false
                    };
                    if skips {
                        skipped = Some(format!(
                            "{} {} ({})",
                            line.module_name(),
                            line.args.join(" "),
                            line.origin
                        ));
                    }
                }
                Skipper::EndsStack(line) | Skipper::Jump(line) => {
                    return CodeAsked::Maybe(format!("{} ({})", line.module_name(), line.origin));
                }
            }
        }
        skipped.map_or(CodeAsked::Yes, CodeAsked::No)
    }
}

fn skippers_before(lines: &[PamLine], module_index: usize) -> Vec<Skipper> {
    lines[..module_index]
        .iter()
        .enumerate()
        .filter(|(_, line)| !is_totp_line(line))
        .filter_map(|(index, line)| skipper(line, module_index - index))
        .collect()
}

/// Whether `action` on a line `distance` lines before the module goes past
/// it.
fn passes(action: Action, distance: usize) -> bool {
    match action {
        Action::Done => true,
        Action::Jump(n) => n >= distance,
        _ => false,
    }
}

fn skipper(line: &PamLine, distance: usize) -> Option<Skipper> {
    let gate = (line.module_name() == "pam_succeed_if.so")
        .then(|| group_condition(&line.args))
        .flatten();
    if let Some((in_group, groups)) = gate {
        let skip_when_true = passes(line.control.action("success"), distance);
        let skip_when_false = passes(line.control.action("auth_err"), distance);
        return (skip_when_true || skip_when_false).then(|| Skipper::Group {
            line: line.clone(),
            groups,
            in_group,
            skip_when_true,
            skip_when_false,
        });
    }
    let actions: Vec<Action> = match &line.control {
        Control::Sufficient => vec![Action::Done],
        Control::Actions(actions) => actions.iter().map(|(_, action)| *action).collect(),
        _ => Vec::new(),
    };
    if actions.contains(&Action::Done) {
        Some(Skipper::EndsStack(line.clone()))
    } else if actions.iter().any(|action| passes(*action, distance)) {
        Some(Skipper::Jump(line.clone()))
    } else {
        None
    }
}

/// `user ingroup G[:G2...]` or `user notingroup ...`, the only conditions
/// evaluated.
fn group_condition(args: &[String]) -> Option<(bool, Vec<String>)> {
    let condition: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|arg| !SUCCEED_IF_FLAGS.contains(arg))
        .collect();
    let [field, operator, value] = condition.as_slice() else {
        return None;
    };
    let in_group = match (*field, *operator) {
        ("user", "ingroup") => true,
        ("user", "notingroup") => false,
        _ => return None,
    };
    let groups = value.split(':').map(str::to_owned).collect();
    Some((in_group, groups))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::origin::Origin;

    fn line(control: Control, module: &str, args: &[&str]) -> PamLine {
        PamLine {
            origin: Origin {
                file: "/etc/pam.d/sshd".into(),
                line: 1,
            },
            skip_if_missing: false,
            control,
            module: module.into(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            included_via: Vec::new(),
        }
    }

    fn jump(success: usize) -> Control {
        Control::Actions(vec![
            ("success".into(), Action::Jump(success)),
            ("default".into(), Action::Ignore),
        ])
    }

    fn analysis(lines: Vec<PamLine>) -> PamAnalysis {
        PamAnalysis::new(PamStack {
            lines,
            problems: Vec::new(),
        })
    }

    fn debian_common_auth() -> Vec<PamLine> {
        vec![
            line(jump(1), "pam_unix.so", &["nullok"]),
            line(Control::Requisite, "pam_deny.so", &[]),
            line(Control::Required, "pam_permit.so", &[]),
        ]
    }

    const ACCOUNTS_PASSWD: &str = "alice:x:1000:1000::/home/alice:/bin/sh\n\
        bob:x:1001:1001::/home/bob:/bin/sh\n";

    #[test]
    fn password_then_code() {
        let mut lines = debian_common_auth();
        lines.push(line(Control::Required, "pam_rust_totp.so", &[]));
        let analysis = analysis(lines);
        let module = analysis.module().unwrap();
        assert_eq!(module.index, 3);
        assert!(!module.nullok());
        assert!(analysis.asks_password);
        assert!(analysis.skippers.is_empty());
        assert!(!analysis.only_module_decides());
    }

    #[test]
    fn code_only_with_nullok() {
        let analysis = analysis(vec![line(
            Control::Required,
            "/lib/security/pam_google_authenticator.so",
            &["nullok", "forward_pass"],
        )]);
        let module = analysis.module().unwrap();
        assert!(module.nullok());
        assert!(module.forward_pass());
        assert!(!analysis.asks_password);
        assert!(analysis.only_module_decides());
    }

    #[test]
    fn the_cargo_build_is_recognised() {
        let analysis = analysis(vec![line(
            Control::Required,
            "/work/target/release/libpam_rust_totp.so",
            &[],
        )]);
        assert_eq!(analysis.module().unwrap().index, 0);
    }

    #[test]
    fn invalid_options_are_kept() {
        let analysis = analysis(vec![line(
            Control::Required,
            "pam_rust_totp.so",
            &["bogus"],
        )]);
        assert!(analysis.module().unwrap().options.is_err());
    }

    #[test]
    fn every_refused_argument_is_listed() {
        let analysis = analysis(vec![line(
            Control::Required,
            "pam_rust_totp.so",
            &["nulok", "debug", "allowed_perm=0999", "grace_period=1h"],
        )]);
        let errors = analysis.module().unwrap().option_errors();
        assert_eq!(
            errors,
            [
                OptionError::Unknown("nulok".into()),
                OptionError::Permissions("allowed_perm=0999".into()),
                OptionError::GracePeriod("grace_period=1h".into()),
            ]
        );
    }

    #[test]
    fn group_gate_is_evaluated_per_user() {
        let analysis = analysis(vec![
            line(
                jump(1),
                "pam_succeed_if.so",
                &["quiet", "user", "notingroup", "totp-users"],
            ),
            line(Control::Required, "pam_rust_totp.so", &[]),
            line(Control::Required, "pam_permit.so", &[]),
        ]);
        let accounts = Accounts::parse(ACCOUNTS_PASSWD, None, "totp-users:x:3000:alice\n");
        let alice = accounts.user("alice").unwrap();
        let bob = accounts.user("bob").unwrap();
        assert_eq!(analysis.code_asked_for(alice, &accounts), CodeAsked::Yes);
        let CodeAsked::No(why) = analysis.code_asked_for(bob, &accounts) else {
            panic!("bob is not in the group and must be skipped");
        };
        assert!(why.contains("notingroup totp-users"));
        assert!(!analysis.asks_password);
    }

    #[test]
    fn sufficient_and_other_jumps_are_not_evaluated() {
        let accounts = Accounts::parse(ACCOUNTS_PASSWD, None, "");
        let alice = accounts.user("alice").unwrap();
        let ends = analysis(vec![
            line(Control::Sufficient, "pam_unix.so", &[]),
            line(Control::Required, "pam_rust_totp.so", &[]),
        ]);
        assert!(matches!(ends.skippers[..], [Skipper::EndsStack(_)]));
        assert!(matches!(
            ends.code_asked_for(alice, &accounts),
            CodeAsked::Maybe(_)
        ));
        let jumps = analysis(vec![
            line(jump(2), "pam_sss.so", &[]),
            line(Control::Requisite, "pam_deny.so", &[]),
            line(Control::Required, "pam_rust_totp.so", &[]),
        ]);
        assert!(matches!(jumps.skippers[..], [Skipper::Jump(_)]));
        let short = analysis(vec![
            line(jump(1), "pam_sss.so", &[]),
            line(Control::Requisite, "pam_deny.so", &[]),
            line(Control::Required, "pam_rust_totp.so", &[]),
        ]);
        assert!(short.skippers.is_empty());
    }

    #[test]
    fn group_conditions() {
        let args = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            group_condition(&args(&["user", "ingroup", "a:b", "quiet"])),
            Some((true, vec!["a".into(), "b".into()]))
        );
        assert_eq!(group_condition(&args(&["uid", ">=", "1000"])), None);
        assert_eq!(
            group_condition(&args(&["use_uid", "user", "ingroup", "a"])),
            None
        );
    }
}
