//! The `pam_sm_authenticate` flow: parse the module arguments, find the
//! user and the state file, read it with the user's file-system identity,
//! ask the user for a code, verify it and write the new state back under a
//! lock, and turn the result into a PAM return code and one log line.
//!
//! The user is never asked while the lock is held, so a login left waiting
//! at the prompt cannot hold up the same user's other logins:
//!
//! 1. the file is read without the lock, to learn whether a code must be
//!    asked for (the rate limit and the grace period decide that);
//! 2. the user is asked;
//! 3. the answer is verified against that reading, once it is confirmed to
//!    be still the file's current version (or against a new reading). A
//!    login that changes nothing ends here: its verdict rests on a whole,
//!    current version of the file, and there is nothing to lock for;
//! 4. a login that changes the file takes the lock, reads the file again,
//!    verifies again if it changed since step 3, and writes the new state
//!    before letting go of the lock.
//!
//! The calling thread takes on the user's file-system identity for each
//! file operation alone (each reading, the locked opening and the
//! replacement; the check that a reading is still current compares file
//! status only and needs no switch) and puts its own back
//! before the user is asked or told anything, so a host's other threads
//! keep their identity and their logins never wait for this one (see
//! [`crate::privilege`]). Files are reached with the user's primary group
//! first; only when that is refused (`EACCES`) are all the user's groups
//! looked up and the step tried again, and the later steps of the login
//! use them from the start.
//!
//! What the user is asked and told, and when, follows the reference module;
//! docs/compatibility.md lists where and why it does not.
//!
//! PAM itself is reached only through the [`PamSession`] trait, which the
//! `ffi` module implements over a real PAM handle; this module is safe code.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use zeroize::Zeroizing;

use crate::privilege::{self, FsIdentity, PrivilegeError, UserAccount, UserIdentity};
use crate::store::{FilePolicy, LockedStateFile, Snapshot, StoreError};
use crate::syslog::{Logger, Severity};
use rust_totp_core::location::{self, LocationError};
use rust_totp_core::module_options::{FixedUser, ModuleOptions, OptionError};
use rust_totp_core::state_file::{self, ParseError, ReferenceReading, StateFile};
use rust_totp_core::verifier::{
    self, AnswerSource, Context, Denied, Granted, Note, Outcome, PassMode,
};

#[cfg(test)]
mod tests;

/// What the module needs from PAM.
pub trait PamSession {
    /// The PAM service name (`sshd`, `sudo`, …).
    fn service(&self) -> String;
    /// The user being authenticated (`pam_get_user`).
    fn user(&mut self) -> Option<String>;
    /// `PAM_RHOST`.
    fn remote_host(&self) -> Option<String>;
    /// `PAM_AUTHTOK`, as set by an earlier module.
    fn authtok(&self) -> Option<Zeroizing<Vec<u8>>>;
    /// Asks the user; `None` when the conversation failed.
    fn ask(&mut self, prompt: &str, echo: bool) -> Option<Zeroizing<Vec<u8>>>;
    /// Shows an error message to the user.
    fn show_error(&mut self, message: &str);
    /// Sets `PAM_AUTHTOK`; returns whether PAM accepted it.
    fn set_authtok(&mut self, token: &[u8]) -> bool;
}

/// The PAM return codes the module gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PamReturn {
    Success,
    AuthErr,
    /// The user has no state file and `nullok` is set.
    Ignore,
}

/// Where the login flow reads the time.
pub trait Clock {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
}

/// The system's real-time clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// Runs one authentication, reading the time from `clock` each time the
/// flow needs it.
pub fn authenticate(session: &mut dyn PamSession, clock: &dyn Clock, args: &[String]) -> PamReturn {
    let logger = Logger::new(&session.service());
    let options = match ModuleOptions::parse(args) {
        Ok(options) => options,
        Err(error) => {
            logger.log(Severity::Error, &Refusal::Options(error).to_string());
            return PamReturn::AuthErr;
        }
    };
    let Some(user) = session.user().filter(|u| !u.is_empty()) else {
        logger.log(Severity::Error, &Refusal::NoUser.to_string());
        return PamReturn::AuthErr;
    };
    let remote_host = session.remote_host();
    let mut login = Login {
        session,
        clock,
        logger,
        options,
        user,
        remote_host,
    };
    login.debug(format_args!("start of authentication"));
    let result = login.run();
    login.debug(format_args!("end of authentication: {result:?}"));
    result
}

/// One authentication in progress.
struct Login<'a> {
    session: &'a mut dyn PamSession,
    clock: &'a dyn Clock,
    logger: Logger,
    options: ModuleOptions,
    user: String,
    remote_host: Option<String>,
}

impl Login<'_> {
    fn run(&mut self) -> PamReturn {
        let account = match self.file_owner() {
            Ok(account) => account,
            // Like the reference, a bad `user=` is a configuration error
            // found before anything is asked.
            Err(reason) if self.options.fixed_user.is_some() => {
                self.log_refusal(&reason);
                return PamReturn::AuthErr;
            }
            Err(reason) => return self.refuse_after_prompt(&reason),
        };
        let path = match self.secret_path(&account) {
            Ok(path) => path,
            Err(reason) => return self.refuse_after_prompt(&reason),
        };
        let owner = match UserIdentity::new(&account) {
            Ok(owner) => owner,
            Err(error) => {
                self.log_refusal(&Refusal::CannotActAsOwner(error));
                return PamReturn::AuthErr;
            }
        };
        let policy = FilePolicy::of_module(account.uid, &self.options);
        StateFileAccess {
            path: &path,
            policy,
            owner,
        }
        .run(self)
    }

    /// The account whose identity reads the file: `user=` or the user
    /// logging in.
    fn file_owner(&self) -> Result<UserAccount, Refusal> {
        let lookup = match &self.options.fixed_user {
            Some(FixedUser::Name(name)) => privilege::lookup_user_by_name(name),
            Some(FixedUser::Uid(uid)) => privilege::lookup_user_by_uid(*uid),
            None => privilege::lookup_user_by_name(&self.user),
        };
        match lookup {
            Ok(Some(account)) => Ok(account),
            Ok(None) => Err(Refusal::UserNotFound(self.file_owner_name())),
            Err(error) => Err(Refusal::UserLookup(error)),
        }
    }

    fn file_owner_name(&self) -> String {
        match &self.options.fixed_user {
            Some(FixedUser::Name(name)) => name.clone(),
            Some(FixedUser::Uid(uid)) => format!("uid {uid}"),
            None => self.user.clone(),
        }
    }

    fn secret_path(&self, account: &UserAccount) -> Result<PathBuf, Refusal> {
        let home = match self.options.fixed_user {
            Some(_) => None,
            None => Some(account.home.to_string_lossy().into_owned()),
        };
        location::expand(&self.options.secret_spec, &self.user, home.as_deref())
            .map_err(Refusal::SecretPath)
    }

    /// A state file that cannot be used. With `nullok` a missing file lets
    /// the login pass this module; otherwise the user is still asked (unless
    /// already `asked`) where the reference asks with such a file, then
    /// refused.
    fn unusable(&mut self, problem: Unusable, asked: bool) -> PamReturn {
        if matches!(problem, Unusable::Missing(_)) && self.options.nullok {
            self.debug(format_args!(
                "no state file; nullok lets the login pass this module"
            ));
            return PamReturn::Ignore;
        }
        if !asked && self.still_asks(&problem) {
            drop(self.ask_user());
        }
        self.log_refusal(&Refusal::Unusable(problem));
        PamReturn::AuthErr
    }

    /// Whether the reference asks for a code with this file: not when its
    /// `RATE_LIMIT` stops the login first, as for a wrong code when it can
    /// check codes, and as without a secret when it cannot.
    fn still_asks(&self, problem: &Unusable) -> bool {
        let (rate_limit, checks_codes) = match problem {
            Unusable::Missing(_) | Unusable::Unreadable(_) | Unusable::Unparsable { .. } => {
                (None, false)
            }
            Unusable::Malformed { reading, .. } => match reading {
                ReferenceReading::InvalidRateLimit => return false,
                ReferenceReading::Readable {
                    rate_limit,
                    checks_codes,
                } => (rate_limit.as_ref(), *checks_codes),
            },
        };
        let now = self.context().now;
        if rate_limit.is_some_and(|limit| verifier::exceeds_rate_limit(limit, now)) {
            false
        } else if checks_codes {
            self.options.settings.pass_mode != PassMode::UseFirstPass
        } else {
            self.asks_without_checking()
        }
    }

    /// Whether the reference asks for a code it cannot check (see
    /// [`verifier::asks_without_checking`]).
    fn asks_without_checking(&self) -> bool {
        let first_pass = self.session.authtok();
        verifier::asks_without_checking(
            &self.options.settings,
            first_pass.as_deref().map(Vec::as_slice),
        )
    }

    /// Asks the user for a code when the verifier, given the file as it is
    /// and the earlier module's password, would ask for one.
    fn ask_if_needed(&mut self, state: &StateFile) -> Option<Zeroizing<Vec<u8>>> {
        let mut probe = Probe {
            session: &*self.session,
            prompt_wanted: false,
        };
        let settings = self.options.settings.clone();
        let context = self.context();
        verifier::verify(state, &settings, &context, &mut probe);
        if !probe.prompt_wanted {
            return None;
        }
        self.ask_user()
    }

    /// Asks for the code; like the reference, a second time when the first
    /// question got no reply at all.
    fn ask_user(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        let prompt = self.options.prompt().to_owned();
        let answer = self
            .session
            .ask(&prompt, self.options.echo_code)
            .or_else(|| self.session.ask(&prompt, self.options.echo_code));
        if answer.as_ref().is_none_or(|a| a.is_empty()) {
            self.logger.log(
                Severity::Error,
                "Did not receive verification code from user",
            );
        }
        answer
    }

    /// The current time and remote host.
    fn context(&self) -> Context<'_> {
        Context {
            now: self.clock.now(),
            remote_host: self.remote_host.as_deref(),
        }
    }

    fn verify(&self, state: &StateFile, prompted: Option<Zeroizing<Vec<u8>>>) -> Outcome {
        let mut answers = CollectedAnswers {
            session: &*self.session,
            prompted,
        };
        verifier::verify(state, &self.options.settings, &self.context(), &mut answers)
    }

    /// The new state could not be written (or, without a lock, must not
    /// be): refused, unless `allow_readonly` lets the verdict stand.
    fn conclude_unwritten(&mut self, outcome: Outcome, error: StoreError) -> PamReturn {
        self.report_write_failure(&error);
        self.log_notes(&outcome);
        if !self.options.allow_readonly {
            self.log_refusal(&Refusal::NotUpdated(error));
            return PamReturn::AuthErr;
        }
        self.logger.log(
            Severity::Warning,
            &format!("state file not updated (allow_readonly): {error}"),
        );
        self.conclude(outcome)
    }

    /// Hands on the password and reports the verdict; the new state, if
    /// any, has been dealt with.
    fn conclude(&mut self, outcome: Outcome) -> PamReturn {
        let verdict = outcome.verdict;
        if let (Ok(_), Some(password)) = (&verdict, &outcome.forwarded_password) {
            if !self.session.set_authtok(password) {
                self.log_refusal(&Refusal::PasswordNotHandedOn);
                return PamReturn::AuthErr;
            }
        }
        match verdict {
            Ok(granted) => {
                self.log_success(granted);
                PamReturn::Success
            }
            Err(denied) => {
                self.log_refusal(&Refusal::Denied(denied));
                PamReturn::AuthErr
            }
        }
    }

    /// There is no state file to be had (an unknown user, a bad path): ask
    /// for a code where the reference asks without a secret, so that this
    /// cannot be told from a wrong code, then refuse.
    fn refuse_after_prompt(&mut self, reason: &Refusal) -> PamReturn {
        if self.asks_without_checking() {
            drop(self.ask_user());
        }
        self.log_refusal(reason);
        PamReturn::AuthErr
    }

    fn report_write_failure(&mut self, error: &StoreError) {
        if let Some(message) = write_failure_message(error) {
            self.session.show_error(&message);
        }
    }

    fn host(&self) -> &str {
        self.remote_host.as_deref().unwrap_or("(unknown)")
    }

    fn log_success(&self, granted: Granted) {
        let how = match granted {
            Granted::GracePeriod => "within the grace period",
            Granted::ScratchCode => "with an emergency scratch code",
            Granted::HotpCode => "with a counter-based code",
            Granted::TotpCode => "with a time-based code",
            Granted::TimeSkewLearned => "with a time-based code; clock skew adjusted",
        };
        self.logger.log(
            Severity::Info,
            &format!("Accepted {} from {} {how}", self.user, self.host()),
        );
    }

    fn log_refusal(&self, reason: &Refusal) {
        self.logger.log(
            Severity::Error,
            &format!("Refused {} from {}: {reason}", self.user, self.host()),
        );
    }

    fn log_notes(&self, outcome: &Outcome) {
        for note in &outcome.notes {
            self.log_note(*note);
        }
    }

    fn log_note(&self, note: Note) {
        let (severity, text) = match note {
            Note::DummyPassword => (
                Severity::Info,
                "dummy password supplied by PAM: did OpenSSH 'PermitRootLogin' or another \
                 setting block this login?",
            ),
            Note::SkewDetected => (Severity::Info, "code matched at a different clock skew"),
            Note::GraceWithoutHost => (
                Severity::Warning,
                "no remote host known; grace-period record not stored",
            ),
            Note::GraceHostUnusable => (
                Severity::Warning,
                "remote host name has unsupported characters; grace-period record not stored",
            ),
        };
        if severity != Severity::Info || self.options.debug {
            self.logger.log(severity, text);
        }
    }

    /// Logs `message` with the `debug` option; formatted only then.
    fn debug(&self, message: std::fmt::Arguments<'_>) {
        if self.options.debug {
            self.logger
                .log(Severity::Info, &format!("debug: {} ({message})", self.user));
        }
    }
}

/// What the user is told when the new state could not be written: only
/// the errors the reference shows (docs/compatibility.md), in its words.
fn write_failure_message(error: &StoreError) -> Option<String> {
    let shown = [
        Errno::EPERM,
        Errno::ENOSPC,
        Errno::EROFS,
        Errno::EIO,
        Errno::EDQUOT,
    ];
    let errno = error.errno().filter(|e| shown.contains(e))?;
    Some(format!("Error \"{}\" while writing config", errno.desc()))
}

/// The state file of one login, reached with the owner's file-system
/// identity for each file operation: the steps listed in the module
/// documentation.
struct StateFileAccess<'a> {
    path: &'a Path,
    policy: FilePolicy,
    owner: UserIdentity,
}

impl StateFileAccess<'_> {
    /// Steps 1 to 3; step 4 ([`Self::update`]) only for a login whose
    /// verdict changes the file.
    fn run(mut self, login: &mut Login<'_>) -> PamReturn {
        let Some(read) = self.read_snapshot(login) else {
            return PamReturn::AuthErr;
        };
        let (snapshot, state) = match read {
            Ok(read) => read,
            Err(problem) => return login.unusable(problem, false),
        };
        let answer = login.ask_if_needed(&state);
        // Checked with the module's own identity, saving two switches: only
        // the status of the path is compared with the reading's, so nothing
        // is read that the user could not; and any difference or error (a
        // directory the module itself may not enter, as on root-squashed
        // NFS) leads to a new reading as the user.
        let current = snapshot.is_current(self.path);
        let (snapshot, state) = if current {
            (snapshot, state)
        } else {
            login.debug(format_args!(
                "state file changed while the user was asked; reading it again"
            ));
            let Some(read) = self.read_snapshot(login) else {
                return PamReturn::AuthErr;
            };
            match read {
                Ok(read) => read,
                Err(problem) => return login.unusable(problem, true),
            }
        };
        login.debug(format_args!(
            "state file \"{}\" read",
            snapshot.path().display()
        ));
        let outcome = login.verify(&state, answer.clone());
        if outcome.new_state.is_none() {
            login.log_notes(&outcome);
            return login.conclude(outcome);
        }
        self.update(login, &snapshot, outcome, answer)
    }

    /// Reads the file as its owner and parses it; `None` when the owner's
    /// identity could not be taken on or given up (logged).
    fn read_snapshot(
        &mut self,
        login: &Login<'_>,
    ) -> Option<Result<(Snapshot, StateFile), Unusable>> {
        let read = self.as_owner(login, |files| {
            files.with_all_groups_on_denial(login, Snapshot::read)
        })?;
        Some(read.map_err(Unusable::from).and_then(|snapshot| {
            let state = parse_state(snapshot.contents(), snapshot.path())?;
            Ok((snapshot, state))
        }))
    }

    /// Step 4: lock, verify again if the file changed since `snapshot`, and
    /// write. The `outcome` verified against `snapshot` stands when the
    /// locked file holds the same bytes: the verifier depends on nothing else.
    /// Where no lock can be had, nothing is written: the login is refused,
    /// or with `allow_readonly` the verdict stands unrecorded.
    fn update(
        &mut self,
        login: &mut Login<'_>,
        snapshot: &Snapshot,
        mut outcome: Outcome,
        answer: Option<Zeroizing<Vec<u8>>>,
    ) -> PamReturn {
        let mut verified = Zeroizing::new(snapshot.contents().to_vec());
        loop {
            let Some(opened) = self.as_owner(login, |files| {
                files.with_all_groups_on_denial(login, LockedStateFile::open)
            }) else {
                return PamReturn::AuthErr;
            };
            let mut file = match opened {
                Ok(file) => file,
                Err(error) if error.prevents_update() => {
                    return login.conclude_unwritten(outcome, error);
                }
                Err(error) => return login.unusable(error.into(), true),
            };
            if file.contents() != verified.as_slice() {
                outcome = match parse_state(file.contents(), file.path()) {
                    Ok(state) => login.verify(&state, answer.clone()),
                    Err(problem) => return login.unusable(problem, true),
                };
                verified = Zeroizing::new(file.contents().to_vec());
            }
            let Some(new_state) = &outcome.new_state else {
                login.log_notes(&outcome);
                return login.conclude(outcome);
            };
            let Some((written, groups_added)) = self.as_owner(login, |files| {
                let written = file.replace(&new_state.to_bytes());
                let added = written.as_ref().is_err_and(StoreError::needs_more_groups)
                    && files.add_groups(login);
                (written, added)
            }) else {
                return PamReturn::AuthErr;
            };
            match written {
                // Nothing was written: try once more with all the groups
                // (`groups_added` is true only the first time).
                Err(_) if groups_added => continue,
                Err(error) => return login.conclude_unwritten(outcome, error),
                Ok(()) => {
                    login.log_notes(&outcome);
                    return login.conclude(outcome);
                }
            }
        }
    }

    /// Runs `step` with the file owner's identity, on this thread alone,
    /// and puts the thread's own back. `None` when the identity could not be
    /// taken on (the login is refused; logged) or given up (logged; the
    /// process aborts).
    fn as_owner<T>(
        &mut self,
        login: &Login<'_>,
        step: impl FnOnce(&mut OwnerFiles<'_, '_>) -> T,
    ) -> Option<T> {
        let identity = match self.owner.assume() {
            Ok(identity) => identity,
            Err(error) => {
                login.log_refusal(&Refusal::CannotActAsOwner(error));
                return None;
            }
        };
        let mut files = OwnerFiles {
            path: self.path,
            policy: &self.policy,
            identity,
        };
        let result = step(&mut files);
        if let Err(error) = files.identity.restore() {
            // Dropping the error aborts the process: it must not go on with
            // the user's identity. Log the reason first.
            login.logger.log(
                Severity::Error,
                &format!("cannot restore the file-system identity: {error}"),
            );
            return None;
        }
        Some(result)
    }
}

/// The state file while the thread acts as its owner.
struct OwnerFiles<'s, 'u> {
    path: &'s Path,
    policy: &'s FilePolicy,
    identity: FsIdentity<'u>,
}

impl OwnerFiles<'_, '_> {
    /// Runs `step`; when it is refused for lack of a group
    /// ([`StoreError::needs_more_groups`]), adds the user's
    /// supplementary groups and runs it once more.
    fn with_all_groups_on_denial<T>(
        &mut self,
        login: &Login<'_>,
        step: impl Fn(&Path, &FilePolicy) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match step(self.path, self.policy) {
            Err(error) if error.needs_more_groups() && self.add_groups(login) => {
                step(self.path, self.policy)
            }
            other => other,
        }
    }

    /// Adds the user's supplementary groups; whether any were added.
    fn add_groups(&mut self, login: &Login<'_>) -> bool {
        match self.identity.add_supplementary_groups() {
            Ok(added) => added,
            Err(error) => {
                login.logger.log(Severity::Error, &error.to_string());
                false
            }
        }
    }
}

/// Why a login was refused, until it becomes `PAM_AUTH_ERR` and one log
/// line. The first two come before a user is known and are logged as they
/// are; the others follow `Refused USER from HOST: `.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("Refusing login: {0}")]
    Options(OptionError),
    #[error("pam_get_user() failed to get a user name")]
    NoUser,
    #[error("user \"{0}\" not found")]
    UserNotFound(String),
    #[error("{0}")]
    UserLookup(PrivilegeError),
    #[error("{0}")]
    SecretPath(LocationError),
    #[error("cannot act as the file's owner: {0}")]
    CannotActAsOwner(PrivilegeError),
    #[error("{0}")]
    Unusable(Unusable),
    #[error("{0}")]
    Denied(Denied),
    #[error("the state file could not be updated: {0}")]
    NotUpdated(StoreError),
    #[error("the password could not be handed on (forward_pass)")]
    PasswordNotHandedOn,
}

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
enum Unusable {
    /// There is no file; `nullok` turns this into `PAM_IGNORE`.
    #[error("{0}")]
    Missing(StoreError),
    /// A file that could not be read.
    #[error("{0}")]
    Unreadable(StoreError),
    /// A file read but refused that the reference would not read either.
    #[error("invalid state file \"{}\": {error}", path.display())]
    Unparsable { path: PathBuf, error: ParseError },
    /// A file read but refused; what the reference makes of it decides
    /// whether the user is still asked.
    #[error("invalid state file \"{}\": {error}", path.display())]
    Malformed {
        path: PathBuf,
        error: ParseError,
        reading: ReferenceReading,
    },
}

fn parse_state(bytes: &[u8], path: &Path) -> Result<StateFile, Unusable> {
    StateFile::parse(bytes).map_err(|error| {
        let path = path.to_owned();
        match error {
            ParseError::Empty | ParseError::TooLarge | ParseError::NulByte { .. } => {
                Unusable::Unparsable { path, error }
            }
            _ => Unusable::Malformed {
                path,
                error,
                reading: state_file::reference_reading(bytes),
            },
        }
    })
}

impl From<StoreError> for Unusable {
    fn from(error: StoreError) -> Self {
        if error.is_not_found() {
            Unusable::Missing(error)
        } else {
            Unusable::Unreadable(error)
        }
    }
}

/// Answers while the file is only being looked at: the earlier module's
/// password is given, and a wish to prompt is only noted.
struct Probe<'a> {
    session: &'a dyn PamSession,
    prompt_wanted: bool,
}

impl AnswerSource for Probe<'_> {
    fn first_pass(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        self.session.authtok()
    }

    fn prompt(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        self.prompt_wanted = true;
        None
    }
}

/// Answers for the verification proper: the earlier module's password and
/// what the user already typed.
struct CollectedAnswers<'a> {
    session: &'a dyn PamSession,
    prompted: Option<Zeroizing<Vec<u8>>>,
}

impl AnswerSource for CollectedAnswers<'_> {
    fn first_pass(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        self.session.authtok()
    }

    fn prompt(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        self.prompted.clone()
    }
}
