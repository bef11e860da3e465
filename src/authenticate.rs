//! The `pam_sm_authenticate` flow: parse the module arguments, find the
//! user and the state file, read it with the user's file-system identity
//! under a lock, ask the verifier, write the new state back, and turn the
//! result into a PAM return code and one log line.
//!
//! PAM itself is reached only through the [`PamSession`] trait, which the
//! `ffi` module implements over a real PAM handle; this module is safe code.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use zeroize::Zeroizing;

use crate::module_options::{FixedUser, ModuleOptions};
use crate::privilege::{self, UserAccount};
use crate::secret_file::{FilePolicy, LockedSecretFile, SecretFileError};
use crate::secret_path;
use crate::state_file::{MAX_FILE_SIZE, StateFile};
use crate::syslog::{Logger, Severity};
use crate::verifier::{self, AnswerSource, Context, Granted, Note, Outcome, PassMode};

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

/// Runs one authentication.
pub fn authenticate(session: &mut dyn PamSession, args: &[String]) -> PamReturn {
    let logger = Logger::new(&session.service());
    let options = match ModuleOptions::parse(args) {
        Ok(options) => options,
        Err(error) => {
            logger.log(Severity::Error, &format!("Refusing login: {error}"));
            return PamReturn::AuthErr;
        }
    };
    let Some(user) = session.user().filter(|u| !u.is_empty()) else {
        logger.log(Severity::Error, "pam_get_user() failed to get a user name");
        return PamReturn::AuthErr;
    };
    let remote_host = session.remote_host();
    let mut login = Login {
        session,
        logger,
        options,
        user,
        remote_host,
    };
    login.debug("start of authentication");
    let result = login.run();
    login.debug(&format!("end of authentication: {result:?}"));
    result
}

/// One authentication in progress.
struct Login<'a> {
    session: &'a mut dyn PamSession,
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
        let identity = match privilege::become_user(&account) {
            Ok(identity) => identity,
            Err(error) => {
                self.log_refusal(&format!("cannot act as the file's owner: {error}"));
                return PamReturn::AuthErr;
            }
        };
        let result = self.with_state_file(&path, account.uid);
        if let Err(error) = identity.restore() {
            // Dropping the error aborts the process: it must not go on with
            // the user's identity. Log the reason first.
            self.logger.log(
                Severity::Error,
                &format!("cannot restore the file-system identity: {error}"),
            );
            return PamReturn::AuthErr;
        }
        result
    }

    /// The account whose identity reads the file: `user=` or the user
    /// logging in.
    fn file_owner(&self) -> Result<UserAccount, String> {
        let lookup = match &self.options.fixed_user {
            Some(FixedUser::Name(name)) => privilege::lookup_user_by_name(name),
            Some(FixedUser::Uid(uid)) => privilege::lookup_user_by_uid(*uid),
            None => privilege::lookup_user_by_name(&self.user),
        };
        match lookup {
            Ok(Some(account)) => Ok(account),
            Ok(None) => Err(format!("user \"{}\" not found", self.file_owner_name())),
            Err(error) => Err(error.to_string()),
        }
    }

    fn file_owner_name(&self) -> String {
        match &self.options.fixed_user {
            Some(FixedUser::Name(name)) => name.clone(),
            Some(FixedUser::Uid(uid)) => format!("uid {uid}"),
            None => self.user.clone(),
        }
    }

    fn secret_path(&self, account: &UserAccount) -> Result<PathBuf, String> {
        let home = match self.options.fixed_user {
            Some(_) => None,
            None => Some(account.home.to_string_lossy().into_owned()),
        };
        secret_path::expand(&self.options.secret_spec, &self.user, home.as_deref())
            .map_err(|error| error.to_string())
    }

    /// Reads, verifies and rewrites the state file; runs with the owner's
    /// file-system identity.
    fn with_state_file(&mut self, path: &Path, owner_uid: u32) -> PamReturn {
        let policy = FilePolicy {
            owner_uid,
            strict_owner: !self.options.no_strict_owner,
            allowed_perm: self.options.allowed_perm,
            max_size: MAX_FILE_SIZE as u64,
        };
        let mut file = match LockedSecretFile::open(path, &policy) {
            Ok(file) => file,
            Err(error) if error.is_not_found() && self.options.nullok => {
                self.debug("no state file; nullok lets the login pass this module");
                return PamReturn::Ignore;
            }
            Err(error) => return self.refuse_after_prompt(&error.to_string()),
        };
        self.debug(&format!("state file \"{}\" read", file.path().display()));
        let state = match StateFile::parse(file.contents()) {
            Ok(state) => state,
            Err(error) => {
                let reason = format!("invalid state file \"{}\": {error}", file.path().display());
                return self.refuse_after_prompt(&reason);
            }
        };
        let outcome = self.verify(&state);
        self.finish(&mut file, outcome)
    }

    fn verify(&mut self, state: &StateFile) -> Outcome {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let remote_host = self.remote_host.clone();
        let context = Context {
            now,
            remote_host: remote_host.as_deref(),
        };
        let settings = self.options.settings.clone();
        let mut answers = SessionAnswers {
            session: &mut *self.session,
            prompt: self.options.prompt().to_owned(),
            echo: self.options.echo_code,
            logger: &self.logger,
        };
        verifier::authenticate(state, &settings, &context, &mut answers)
    }

    /// Writes the new state, hands on the password and reports the verdict.
    fn finish(&mut self, file: &mut LockedSecretFile, outcome: Outcome) -> PamReturn {
        for note in &outcome.notes {
            self.log_note(*note);
        }
        if let Some(new_state) = &outcome.new_state {
            if let Err(error) = file.replace(&new_state.to_bytes()) {
                self.report_write_failure(&error);
                if !self.options.allow_readonly {
                    self.log_refusal(&format!("the state file could not be updated: {error}"));
                    return PamReturn::AuthErr;
                }
                self.logger.log(
                    Severity::Warning,
                    &format!("state file not updated (allow_readonly): {error}"),
                );
            }
        }
        let verdict = outcome.verdict;
        if let (Ok(_), Some(password)) = (&verdict, &outcome.forwarded_password) {
            if !self.session.set_authtok(password) {
                self.log_refusal("the password could not be handed on (forward_pass)");
                return PamReturn::AuthErr;
            }
        }
        match verdict {
            Ok(granted) => {
                self.log_success(granted);
                PamReturn::Success
            }
            Err(denied) => {
                self.log_refusal(&denied.to_string());
                PamReturn::AuthErr
            }
        }
    }

    /// The state file cannot be used: still ask for a code (unless the code
    /// can only come from an earlier module), so that a missing or broken
    /// file cannot be told from a wrong code, then refuse.
    fn refuse_after_prompt(&mut self, reason: &str) -> PamReturn {
        if self.options.settings.pass_mode != PassMode::UseFirstPass {
            let prompt = self.options.prompt().to_owned();
            drop(self.session.ask(&prompt, self.options.echo_code));
        }
        self.log_refusal(reason);
        PamReturn::AuthErr
    }

    fn report_write_failure(&mut self, error: &SecretFileError) {
        let shown = [
            Errno::EPERM,
            Errno::ENOSPC,
            Errno::EROFS,
            Errno::EIO,
            Errno::EDQUOT,
        ];
        if let Some(errno) = error.errno().filter(|e| shown.contains(e)) {
            self.session
                .show_error(&format!("Error \"{}\" while writing config", errno.desc()));
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

    fn log_refusal(&self, reason: &str) {
        self.logger.log(
            Severity::Error,
            &format!("Refused {} from {}: {reason}", self.user, self.host()),
        );
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

    fn debug(&self, message: &str) {
        if self.options.debug {
            self.logger
                .log(Severity::Info, &format!("debug: {} ({message})", self.user));
        }
    }
}

/// Answers for the verifier, from the PAM session.
struct SessionAnswers<'a> {
    session: &'a mut dyn PamSession,
    prompt: String,
    echo: bool,
    logger: &'a Logger,
}

impl AnswerSource for SessionAnswers<'_> {
    fn first_pass(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        self.session.authtok()
    }

    fn prompt(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        let answer = self.session.ask(&self.prompt, self.echo);
        if answer.as_ref().is_none_or(|a| a.is_empty()) {
            self.logger.log(
                Severity::Error,
                "Did not receive verification code from user",
            );
        }
        answer
    }
}
