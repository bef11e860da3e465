//! Declarative scenarios: an initial state file, module arguments and a
//! sequence of authentication attempts, each with the outcome expected from
//! the reference module. [`check`] plays a scenario against the reference
//! and against ours from an identical starting state, and asserts that both give the expected result,
//! the same conversation and a byte-identical state file afterwards, except
//! where the scenario declares an intended [`Difference`].

use std::path::{Path, PathBuf};

use super::codes;
use super::driver::{self, Authtok, DEFAULT_TIMEOUT, Invocation, Message, Outcome, PamCode};
use super::module::{Module, OursStatus, ours_status};
use super::requirements::{Harness, harness, unavailable};
use super::system::{self, ALICE, Account, FileState, HomeLock, Workspace, test_user};

/// The reference's default prompt.
pub const CODE_PROMPT: &str = "Verification code: ";
/// The reference's prompt with `forward_pass`.
pub const PASSWORD_AND_CODE_PROMPT: &str = "Password & verification code: ";
/// Scenario time: 15 s into a 30 s TOTP step, so neighbouring steps are
/// never hit by accident.
pub const T0: u64 = 1_700_000_025;
/// The 30 s time step containing [`T0`].
pub const S0: u64 = T0 / 30;
/// A 16-character base32 secret.
pub const SECRET: &str = "JBSWY3DPEHPK3PXP";
/// The state file's default name, inside the scenario directory.
pub const DEFAULT_FILE: &str = "{dir}/.google_authenticator";
const SERVICE: &str = "rt-test";

/// A conversation answer (or PAM_AUTHTOK value), resolved at run time.
#[derive(Debug, Clone)]
pub enum Answer {
    Text(String),
    /// The TOTP code `n` steps from the step's time.
    Totp(i64),
    /// A password immediately followed by the TOTP code `n` steps away.
    PasswordAndTotp(String, i64),
    /// The TOTP code `n` steps away immediately followed by `suffix`.
    TotpThen(i64, String),
    /// The HOTP code at this counter value.
    Hotp(u64),
    /// `prefix` followed by the app's TOTP code in `codes`, `steps` steps
    /// away.
    AppTotp {
        codes: codes::AppCodes,
        prefix: String,
        steps: i64,
    },
    /// The app's HOTP code in `codes` at `counter`.
    AppHotp {
        codes: codes::AppCodes,
        counter: u64,
    },
    /// A NULL response to the prompt.
    Null,
}

impl Answer {
    pub fn text(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

/// What should happen to the state file in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAfter {
    /// Not replaced, not modified (same inode, content, owner, mode).
    Unchanged,
    /// Replaced with exactly `content`, with permission bits `mode`.
    Rewritten { content: String, mode: u32 },
}

/// The expected outcome of one step.
#[derive(Debug, Clone)]
pub struct Expect {
    pub result: PamCode,
    pub messages: Vec<Message>,
    /// How many times the conversation must be called, when that is checked.
    pub conversations: Option<usize>,
    pub file: FileAfter,
    pub authtok: Authtok,
    /// The `pam_setcred` result, when the step calls it.
    pub setcred: Option<PamCode>,
}

impl Expect {
    /// `result` after the one default prompt, with the file unchanged and
    /// PAM_AUTHTOK unset.
    pub fn result(result: PamCode) -> Self {
        Self {
            result,
            messages: vec![Message::echo_off(CODE_PROMPT)],
            conversations: None,
            file: FileAfter::Unchanged,
            authtok: Authtok::Null,
            setcred: None,
        }
    }

    pub fn success() -> Self {
        Self::result(PamCode::SUCCESS)
    }

    pub fn failure() -> Self {
        Self::result(PamCode::AUTH_ERR)
    }

    pub fn messages(mut self, messages: Vec<Message>) -> Self {
        self.messages = messages;
        self
    }

    pub fn no_messages(self) -> Self {
        self.messages(Vec::new())
    }

    /// Also checks that the conversation was called exactly `calls` times.
    pub fn conversations(mut self, calls: usize) -> Self {
        self.conversations = Some(calls);
        self
    }

    /// The reference replaces the file and always leaves it mode 0400.
    pub fn rewritten(self, content: impl Into<String>) -> Self {
        self.rewritten_with_mode(content, 0o400)
    }

    pub fn rewritten_with_mode(mut self, content: impl Into<String>, mode: u32) -> Self {
        self.file = FileAfter::Rewritten {
            content: content.into(),
            mode,
        };
        self
    }

    pub fn authtok(mut self, authtok: Authtok) -> Self {
        self.authtok = authtok;
        self
    }

    /// Also call `pam_setcred` after authentication, expecting `result`.
    pub fn setcred(mut self, result: PamCode) -> Self {
        self.setcred = Some(result);
        self
    }
}

/// One authentication attempt.
#[derive(Debug, Clone)]
pub struct Step {
    pub at: u64,
    pub rhost: Option<String>,
    pub authtok: Option<Answer>,
    pub answers: Vec<Answer>,
    pub expect: Expect,
}

impl Step {
    /// An attempt at Unix time `at` that must give `expect`.
    pub fn at(at: u64, expect: Expect) -> Self {
        Self {
            at,
            rhost: None,
            authtok: None,
            answers: Vec::new(),
            expect,
        }
    }

    pub fn answer(mut self, answer: Answer) -> Self {
        self.answers.push(answer);
        self
    }

    pub fn rhost(mut self, rhost: &str) -> Self {
        self.rhost = Some(rhost.to_owned());
        self
    }

    pub fn authtok(mut self, authtok: Answer) -> Self {
        self.authtok = Some(authtok);
        self
    }
}

/// The initial state file.
#[derive(Debug, Clone)]
pub struct StateFile {
    pub content: String,
    pub mode: u32,
    /// Owner and group by account name; the group defaults to the owner's.
    pub owner: Option<&'static str>,
    pub group: Option<&'static str>,
}

/// An intended difference between our module and the reference.
#[derive(Debug, Clone)]
pub struct Difference {
    /// Why we differ (listed in the README).
    pub reason: &'static str,
    /// Our expected outcome of each step.
    pub ours: Vec<Expect>,
}

/// A scenario: initial state, module configuration and attempts.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// The PAM user.
    pub user: &'static str,
    /// Whether the PAM user is a real account (created on demand).
    pub user_exists: bool,
    pub file: Option<StateFile>,
    /// Where the file lives; `{dir}` is the scenario directory and `{home}`
    /// the PAM user's home (which serialises the scenario on that home).
    pub file_path: String,
    /// Owner (account name) and mode of the scenario directory.
    pub dir_owner: Option<&'static str>,
    pub dir_mode: u32,
    /// Module arguments; the same templates as `file_path`.
    pub args: Vec<String>,
    /// Base32 secret for generating codes (defaults to the file's first line).
    pub secret: String,
    pub step_seconds: u64,
    pub steps: Vec<Step>,
    pub difference: Option<Difference>,
    /// A whole PAM stack instead of the default one; `{module}` is the
    /// module under test and `{args}` its arguments.
    pub stack: Option<String>,
    /// Adjusts the scenario directory after the state file is installed.
    pub prepare: Option<fn(&Path, &Account)>,
}

impl Scenario {
    /// A scenario for user rt_alice whose state file (mode 0400, owned by the
    /// user) has `content` and is passed with `secret=`.
    pub fn new(name: impl Into<String>, content: &str) -> Self {
        let first_line = content.lines().next().unwrap_or_default();
        Self {
            file: Some(StateFile {
                content: content.to_owned(),
                mode: 0o400,
                owner: None,
                group: None,
            }),
            secret: codes::normalised_secret(first_line),
            ..Self::without_file(name)
        }
    }

    /// A scenario for user rt_alice who has no state file.
    pub fn without_file(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            user: ALICE,
            user_exists: true,
            file: None,
            file_path: DEFAULT_FILE.to_owned(),
            dir_owner: None,
            dir_mode: 0o700,
            args: vec![format!("secret={DEFAULT_FILE}")],
            secret: SECRET.to_owned(),
            step_seconds: 30,
            steps: Vec::new(),
            difference: None,
            stack: None,
            prepare: None,
        }
    }

    /// Appends module arguments.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|arg| (*arg).to_owned()));
        self
    }

    /// Replaces all module arguments.
    pub fn only_args(mut self, args: &[&str]) -> Self {
        self.args.clear();
        self.args(args)
    }

    pub fn user(mut self, user: &'static str) -> Self {
        self.user = user;
        self
    }

    /// Authenticates `user`, who has no account (the scenario directory
    /// then belongs to root).
    pub fn unknown_user(mut self, user: &'static str) -> Self {
        self.user = user;
        self.user_exists = false;
        self.dir_owner = Some("root");
        self
    }

    pub fn file_path(mut self, template: &str) -> Self {
        self.file_path = template.to_owned();
        self
    }

    pub fn mode(mut self, mode: u32) -> Self {
        self.state_file().mode = mode;
        self
    }

    pub fn file_owner(mut self, owner: &'static str, group: Option<&'static str>) -> Self {
        let file = self.state_file();
        file.owner = Some(owner);
        file.group = group;
        self
    }

    pub fn dir(mut self, owner: &'static str, mode: u32) -> Self {
        self.dir_owner = Some(owner);
        self.dir_mode = mode;
        self
    }

    /// The base32 secret codes are generated from, when the file's first
    /// line is not it.
    pub fn secret(mut self, secret: &str) -> Self {
        self.secret = secret.to_owned();
        self
    }

    pub fn step_seconds(mut self, seconds: u64) -> Self {
        self.step_seconds = seconds;
        self
    }

    pub fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    pub fn stack(mut self, template: &str) -> Self {
        self.stack = Some(template.to_owned());
        self
    }

    pub fn prepare(mut self, prepare: fn(&Path, &Account)) -> Self {
        self.prepare = Some(prepare);
        self
    }

    pub fn difference(mut self, reason: &'static str, ours: Vec<Expect>) -> Self {
        self.difference = Some(Difference { reason, ours });
        self
    }

    fn state_file(&mut self) -> &mut StateFile {
        let name = &self.name;
        self.file
            .as_mut()
            .unwrap_or_else(|| panic!("scenario {name} has no state file"))
    }

    fn uses_home(&self) -> bool {
        self.file_path.contains("{home}")
    }
}

/// Plays `build()`'s scenario against the reference and our module, and
/// asserts the outcomes (see the module documentation). Fails when the
/// harness's tools are missing or our module is not built: a run that
/// tested only the reference proves nothing about ours.
pub fn check(build: impl FnOnce() -> Scenario) {
    let harness = ours_harness();
    let scenario = build();
    let reference = play(harness, &scenario, Module::Reference);
    let expected: Vec<&Expect> = scenario.steps.iter().map(|step| &step.expect).collect();
    assert_expected(&scenario, Module::Reference, &reference, &expected);
    let ours = play(harness, &scenario, Module::Ours);
    match &scenario.difference {
        Some(difference) => {
            assert_eq!(
                difference.ours.len(),
                scenario.steps.len(),
                "{}: one expectation per step for our module",
                scenario.name
            );
            let expected: Vec<&Expect> = difference.ours.iter().collect();
            assert_expected(&scenario, Module::Ours, &ours, &expected);
        }
        None => {
            assert_expected(&scenario, Module::Ours, &ours, &expected);
            assert_same(&scenario, &reference, &ours);
        }
    }
}

/// Plays `build()`'s scenario against our module alone, for behaviour the
/// reference lacks or gets wrong, and asserts the expected outcomes. Without
/// a built module the test fails, as for a missing tool.
pub fn check_ours(build: impl FnOnce() -> Scenario) {
    let harness = ours_harness();
    let scenario = build();
    let seen = play(harness, &scenario, Module::Ours);
    let expected: Vec<&Expect> = scenario.steps.iter().map(|step| &step.expect).collect();
    assert_expected(&scenario, Module::Ours, &seen, &expected);
}

/// The harness, provided our module is built; the test fails otherwise.
pub fn ours_harness() -> &'static Harness {
    let harness = harness();
    match ours_status() {
        OursStatus::Ready(_) => harness,
        OursStatus::NotReady(why) => unavailable(&format!("our module is not built: {why}")),
    }
}

/// What one step did.
#[derive(Debug)]
pub struct Observation {
    pub outcome: Outcome,
    pub before: FileState,
    pub after: FileState,
    /// The state file's name and the names in its directory.
    pub file_name: String,
    pub listing_before: Vec<String>,
    pub listing_after: Vec<String>,
}

/// Names that appeared next to the state file during a step, except our
/// module's companion lock file `<name>.lock`, which it keeps on purpose
/// (the reference takes no lock).
fn new_files(seen: &Observation) -> Vec<&String> {
    let lock_file = seen.file_name.clone() + ".lock";
    seen.listing_after
        .iter()
        .filter(|name| !seen.listing_before.contains(name) && **name != lock_file)
        .collect()
}

/// Runs every step of `scenario` with `module` from a fresh initial state.
pub fn play(harness: &Harness, scenario: &Scenario, module: Module) -> Vec<Observation> {
    let user = pam_account(scenario);
    let _home = scenario
        .uses_home()
        .then(|| HomeLock::acquire(scenario.user));
    let stage = Stage::set_up(scenario, module, &user);
    scenario
        .steps
        .iter()
        .map(|step| stage.run(harness, scenario, module, step))
        .collect()
}

/// The PAM user's account, or a stand-in for a user who has none.
fn pam_account(scenario: &Scenario) -> Account {
    if scenario.user_exists {
        return test_user(scenario.user);
    }
    let exists = nix::unistd::User::from_name(scenario.user)
        .ok()
        .flatten()
        .is_some();
    assert!(
        !exists,
        "{}: account {} must not exist",
        scenario.name, scenario.user
    );
    Account {
        name: scenario.user.to_owned(),
        uid: u32::MAX,
        gid: u32::MAX,
        home: PathBuf::from("/nonexistent"),
    }
}

/// One module's private copy of a scenario's initial state.
struct Stage {
    workspace: Workspace,
    file_path: PathBuf,
    args: Vec<String>,
    _cleanup: RemoveOnDrop,
}

impl Stage {
    fn set_up(scenario: &Scenario, module: Module, user: &Account) -> Self {
        let workspace = Workspace::new();
        let dir_owner = scenario.dir_owner.map_or_else(|| user.clone(), account);
        let dir = workspace.dir(module.name(), &dir_owner, scenario.dir_mode);
        let file_path = PathBuf::from(expand(&scenario.file_path, &dir, user));
        let cleanup = RemoveOnDrop(scenario.uses_home().then(|| file_path.clone()));
        install_state_file(scenario, &file_path, user);
        if let Some(prepare) = scenario.prepare {
            prepare(&dir, user);
        }
        Self {
            args: scenario
                .args
                .iter()
                .map(|arg| expand(arg, &dir, user))
                .collect(),
            workspace,
            file_path,
            _cleanup: cleanup,
        }
    }

    fn run(
        &self,
        harness: &Harness,
        scenario: &Scenario,
        module: Module,
        step: &Step,
    ) -> Observation {
        let stack = match &scenario.stack {
            Some(template) => template
                .replace("{module}", &module.path().display().to_string())
                .replace("{args}", &driver::pam_args(&self.args)),
            None => default_stack(harness, module, &self.args, step.authtok.is_some()),
        };
        let confdir = self.workspace.confdir();
        driver::write_service(&confdir, SERVICE, &stack);
        let answers: Vec<Option<String>> = step
            .answers
            .iter()
            .map(|answer| resolve(scenario, step, answer))
            .collect();
        let authtok = step
            .authtok
            .as_ref()
            .and_then(|authtok| resolve(scenario, step, authtok));
        let parent = self.file_path.parent().unwrap_or(Path::new("/"));
        let before = FileState::of(&self.file_path);
        let listing_before = system::listing(parent);
        let outcome = harness.driver.run(&Invocation {
            confdir: &confdir,
            service: SERVICE,
            user: scenario.user,
            unix_time: step.at,
            rhost: step.rhost.as_deref(),
            authtok: authtok.as_deref(),
            answers: &answers,
            setcred: step.expect.setcred.is_some(),
            timeout: DEFAULT_TIMEOUT,
        });
        Observation {
            outcome,
            before,
            after: FileState::of(&self.file_path),
            file_name: self
                .file_path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            listing_before,
            listing_after: system::listing(parent),
        }
    }
}

fn account(name: &'static str) -> Account {
    if name == "root" {
        system::root()
    } else {
        test_user(name)
    }
}

fn expand(template: &str, dir: &Path, user: &Account) -> String {
    template
        .replace("{dir}", &dir.display().to_string())
        .replace("{home}", &user.home.display().to_string())
}

fn install_state_file(scenario: &Scenario, path: &Path, user: &Account) {
    let Some(file) = &scenario.file else {
        if path.exists() {
            std::fs::remove_file(path).unwrap_or_else(|e| panic!("rm {}: {e}", path.display()));
        }
        return;
    };
    let owner = file.owner.map_or_else(|| user.clone(), account);
    let gid = file.group.map_or(owner.gid, system::group_id);
    // A file path below the scenario directory gets its own directory, the
    // user's (e.g. a home that `prepare` then moves behind a symlink).
    if let Some(parent) = path.parent().filter(|dir| !dir.exists()) {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
        system::set_owner(parent, user.uid, user.gid);
        system::set_mode(parent, 0o700);
    }
    system::write_file(path, file.content.as_bytes(), owner.uid, gid, file.mode);
}

/// The PAM stack of a scenario: our helper module around the module under
/// test, so PAM_AUTHTOK can be set before and read after it.
fn default_stack(harness: &Harness, module: Module, args: &[String], set_authtok: bool) -> String {
    let helper = harness.driver.authtok_module();
    let mut stack = String::new();
    if set_authtok {
        stack.push_str(&driver::auth_line("optional", helper, &["set".to_owned()]));
    }
    stack.push_str(&driver::auth_line("required", &module.path(), args));
    stack.push_str(&driver::auth_line(
        "optional",
        helper,
        &["report".to_owned()],
    ));
    stack
}

fn resolve(scenario: &Scenario, step: &Step, answer: &Answer) -> Option<String> {
    let time = |steps: i64| {
        let offset = steps * i64::try_from(scenario.step_seconds).unwrap_or(i64::MAX);
        step.at.checked_add_signed(offset).unwrap_or_else(|| {
            panic!("{}: code time out of range", scenario.name);
        })
    };
    let totp = |steps: i64| codes::totp(&scenario.secret, time(steps), scenario.step_seconds);
    match answer {
        Answer::Text(text) => Some(text.clone()),
        Answer::Totp(steps) => Some(totp(*steps)),
        Answer::PasswordAndTotp(password, steps) => Some(format!("{password}{}", totp(*steps))),
        Answer::TotpThen(steps, suffix) => Some(format!("{}{suffix}", totp(*steps))),
        Answer::Hotp(counter) => Some(codes::hotp(&scenario.secret, *counter)),
        Answer::AppTotp {
            codes,
            prefix,
            steps,
        } => {
            let code = codes::totp_in(
                *codes,
                &scenario.secret,
                time(*steps),
                scenario.step_seconds,
            );
            Some(format!("{prefix}{code}"))
        }
        Answer::AppHotp { codes, counter } => {
            Some(codes::hotp_in(*codes, &scenario.secret, *counter))
        }
        Answer::Null => None,
    }
}

fn assert_expected(
    scenario: &Scenario,
    module: Module,
    observed: &[Observation],
    expected: &[&Expect],
) {
    for (index, (seen, want)) in observed.iter().zip(expected).enumerate() {
        let at = format!("{} step {} [{}]", scenario.name, index + 1, module.name());
        assert_eq!(
            seen.outcome.result, want.result,
            "{at}: PAM result; {seen:#?}"
        );
        assert_eq!(seen.outcome.messages, want.messages, "{at}: conversation");
        if let Some(calls) = want.conversations {
            assert_eq!(
                seen.outcome.conversations, calls,
                "{at}: calls of the conversation"
            );
        }
        assert_eq!(
            seen.outcome.authtok, want.authtok,
            "{at}: PAM_AUTHTOK after"
        );
        assert_eq!(seen.outcome.setcred, want.setcred, "{at}: pam_setcred");
        assert_eq!(
            new_files(seen),
            Vec::<&String>::new(),
            "{at}: files created or left behind next to the state file"
        );
        match &want.file {
            FileAfter::Unchanged => assert_eq!(
                seen.after,
                seen.before,
                "{at}: state file must be unchanged; after:\n{}",
                seen.after.text().unwrap_or_default()
            ),
            FileAfter::Rewritten { content, mode } => {
                assert_eq!(
                    seen.after.text().as_deref(),
                    Some(content.as_str()),
                    "{at}: state file content"
                );
                assert_eq!(
                    seen.after.permissions(),
                    *mode,
                    "{at}: state file mode {:o}",
                    seen.after.permissions()
                );
                assert_eq!(
                    (seen.after.uid, seen.after.gid),
                    (seen.before.uid, seen.before.gid),
                    "{at}: state file owner"
                );
            }
        }
    }
}

fn assert_same(scenario: &Scenario, reference: &[Observation], ours: &[Observation]) {
    for (index, (theirs, mine)) in reference.iter().zip(ours).enumerate() {
        let at = format!("{} step {}", scenario.name, index + 1);
        assert_eq!(
            mine.outcome, theirs.outcome,
            "{at}: ours vs reference outcome"
        );
        assert_eq!(
            mine.after.text(),
            theirs.after.text(),
            "{at}: ours vs reference state file"
        );
        assert_eq!(
            (mine.after.permissions(), mine.after.uid, mine.after.gid),
            (
                theirs.after.permissions(),
                theirs.after.uid,
                theirs.after.gid
            ),
            "{at}: ours vs reference mode and owner"
        );
    }
}

/// Removes a file left in a shared location (a real home directory).
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            // Best effort: the file may legitimately be gone already.
            let _ = std::fs::remove_file(path);
        }
    }
}
