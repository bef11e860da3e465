//! The PAM driver (`tests/driver/pam_driver.c`) and its helper module
//! (`tests/driver/pam_driver_authtok.c`): compiling them once into the cargo
//! target directory, writing PAM service files, running one authentication
//! at a frozen wall-clock time under libfaketime, and parsing what the driver
//! printed.

use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::requirements::LIBFAKETIME;

const DRIVER_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/driver/pam_driver.c");
const AUTHTOK_SOURCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/driver/pam_driver_authtok.c"
);
const C_FLAGS: &[&str] = &["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror"];
/// Longest a single authentication may take before the run counts as hung.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// The compiled driver program and helper module.
pub struct Driver {
    program: PathBuf,
    authtok_module: PathBuf,
}

impl Driver {
    /// Compiles the driver and its helper module unless the cached builds in
    /// the cargo target directory are newer than their sources.
    pub fn build() -> Result<Self, String> {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pam-driver");
        fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let program = dir.join("pam_driver");
        compile(DRIVER_SOURCE, &program, &[])?;
        let authtok_module = dir.join("pam_driver_authtok.so");
        compile(AUTHTOK_SOURCE, &authtok_module, &["-shared", "-fPIC"])?;
        Ok(Self {
            program,
            authtok_module,
        })
    }

    /// The helper module that moves `--authtok` into PAM_AUTHTOK (`set`) and
    /// reports PAM_AUTHTOK back to the driver (`report`).
    pub fn authtok_module(&self) -> &Path {
        &self.authtok_module
    }

    /// Runs one authentication; panics if the driver itself fails.
    pub fn run(&self, invocation: &Invocation<'_>) -> Outcome {
        match self.try_run(invocation) {
            Ok(outcome) => outcome,
            Err(error) => panic!("pam_driver for {invocation:?}: {error}"),
        }
    }

    /// Runs one authentication, reporting a hang or a driver failure.
    pub fn try_run(&self, invocation: &Invocation<'_>) -> Result<Outcome, String> {
        let mut command = Command::new(&self.program);
        command
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("TZ", "UTC")
            .env("LD_PRELOAD", LIBFAKETIME)
            // libfaketime in its default settings, which also fakes the
            // times some stat functions report.
            .env("FAKETIME", faketime_value(invocation.unix_time))
            .args(invocation.arguments())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (status, stdout, stderr) = run_with_timeout(command, invocation.timeout)?;
        if !status.success() {
            return Err(format!("exit status {status}, stderr: {stderr}"));
        }
        Outcome::parse(&stdout).map_err(|e| format!("{e}; stdout: {stdout}; stderr: {stderr}"))
    }
}

fn compile(source: &str, output: &Path, extra: &[&str]) -> Result<(), String> {
    if is_up_to_date(Path::new(source), output) {
        return Ok(());
    }
    let partial = output.with_extension(format!("partial{}", std::process::id()));
    let result = Command::new("cc")
        .args(C_FLAGS)
        .args(extra)
        .arg("-o")
        .arg(&partial)
        .arg(source)
        .arg("-lpam")
        .output()
        .map_err(|e| format!("running cc: {e}"))?;
    if !result.status.success() {
        return Err(format!(
            "cc {source} failed: {}",
            String::from_utf8_lossy(&result.stderr)
        ));
    }
    fs::rename(&partial, output).map_err(|e| format!("installing {}: {e}", output.display()))
}

fn is_up_to_date(source: &Path, output: &Path) -> bool {
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    match (modified(source), modified(output)) {
        (Some(source), Some(output)) => output >= source,
        _ => false,
    }
}

fn run_with_timeout(
    mut command: Command,
    timeout: Duration,
) -> Result<(std::process::ExitStatus, String, String), String> {
    let mut child = command.spawn().map_err(|e| format!("spawn: {e}"))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("wait: {e}"))? {
            break status;
        }
        if Instant::now() >= deadline {
            // Best effort: the child may exit between the check and the kill.
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {timeout:?} (hung)"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_string(&mut stdout)
            .map_err(|e| format!("reading stdout: {e}"))?;
    }
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr)
            .map_err(|e| format!("reading stderr: {e}"))?;
    }
    Ok((status, stdout, stderr))
}

/// libfaketime's absolute-date format, which freezes the clock at that
/// second ("@" would start a running clock instead). Interpreted in the
/// driver's time zone, which the driver runs with set to UTC.
pub fn faketime_value(unix_time: u64) -> String {
    let days = i64::try_from(unix_time / 86_400).unwrap_or(i64::MAX);
    let seconds = unix_time % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Writes the PAM service file `name` into `confdir`.
pub fn write_service(confdir: &Path, name: &str, stack: &str) {
    fs::create_dir_all(confdir).unwrap_or_else(|e| panic!("mkdir {}: {e}", confdir.display()));
    let path = confdir.join(name);
    fs::write(&path, stack).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// One `auth` line of a PAM service file.
pub fn auth_line(control: &str, module: &Path, args: &[String]) -> String {
    format!("auth {control} {} {}\n", module.display(), pam_args(args))
}

/// Module arguments for a service file; arguments containing white space
/// use Linux-PAM's `[...]` quoting.
pub fn pam_args(args: &[String]) -> String {
    args.iter()
        .map(|arg| pam_arg(arg))
        .collect::<Vec<_>>()
        .join(" ")
}

fn pam_arg(arg: &str) -> String {
    if arg.contains(char::is_whitespace) || arg.starts_with('[') {
        format!("[{}]", arg.replace(']', "\\]"))
    } else {
        arg.to_owned()
    }
}

/// One run of the driver.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    pub confdir: &'a Path,
    pub service: &'a str,
    pub user: &'a str,
    /// The frozen wall-clock time (Unix seconds) the run sees.
    pub unix_time: u64,
    pub rhost: Option<&'a str>,
    /// Put into PAM_AUTHTOK before authentication; needs the helper module
    /// with `set` in the stack.
    pub authtok: Option<&'a str>,
    /// Conversation answers in order; `None` answers with a NULL response.
    pub answers: &'a [Option<String>],
    pub setcred: bool,
    pub timeout: Duration,
}

impl Invocation<'_> {
    fn arguments(&self) -> Vec<String> {
        let mut args = vec![
            "--confdir".to_owned(),
            self.confdir.display().to_string(),
            "--service".to_owned(),
            self.service.to_owned(),
            "--user".to_owned(),
            self.user.to_owned(),
        ];
        if let Some(rhost) = self.rhost {
            args.extend(["--rhost".to_owned(), rhost.to_owned()]);
        }
        if let Some(authtok) = self.authtok {
            args.extend(["--authtok".to_owned(), authtok.to_owned()]);
        }
        for answer in self.answers {
            match answer {
                Some(text) => args.extend(["--answer".to_owned(), text.clone()]),
                None => args.push("--no-answer".to_owned()),
            }
        }
        if self.setcred {
            args.push("--setcred".to_owned());
        }
        args
    }
}

/// A Linux-PAM return code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PamCode(pub i32);

impl PamCode {
    pub const SUCCESS: Self = Self(0);
    pub const SERVICE_ERR: Self = Self(3);
    pub const SYSTEM_ERR: Self = Self(4);
    pub const PERM_DENIED: Self = Self(6);
    pub const AUTH_ERR: Self = Self(7);
    pub const CRED_INSUFFICIENT: Self = Self(8);
    pub const AUTHINFO_UNAVAIL: Self = Self(9);
    pub const USER_UNKNOWN: Self = Self(10);
    pub const CONV_ERR: Self = Self(19);
    pub const IGNORE: Self = Self(25);
}

impl fmt::Debug for PamCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Self::SUCCESS => "PAM_SUCCESS",
            Self::SERVICE_ERR => "PAM_SERVICE_ERR",
            Self::SYSTEM_ERR => "PAM_SYSTEM_ERR",
            Self::PERM_DENIED => "PAM_PERM_DENIED",
            Self::AUTH_ERR => "PAM_AUTH_ERR",
            Self::CRED_INSUFFICIENT => "PAM_CRED_INSUFFICIENT",
            Self::AUTHINFO_UNAVAIL => "PAM_AUTHINFO_UNAVAIL",
            Self::USER_UNKNOWN => "PAM_USER_UNKNOWN",
            Self::CONV_ERR => "PAM_CONV_ERR",
            Self::IGNORE => "PAM_IGNORE",
            _ => "PAM code",
        };
        write!(f, "{name}({})", self.0)
    }
}

/// The style of a conversation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Style {
    PromptEchoOff,
    PromptEchoOn,
    ErrorMsg,
    TextInfo,
    Other(String),
}

/// One conversation message the stack sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub style: Style,
    pub text: String,
}

impl Message {
    pub fn echo_off(text: &str) -> Self {
        Self {
            style: Style::PromptEchoOff,
            text: text.to_owned(),
        }
    }

    pub fn echo_on(text: &str) -> Self {
        Self {
            style: Style::PromptEchoOn,
            text: text.to_owned(),
        }
    }

    pub fn error(text: &str) -> Self {
        Self {
            style: Style::ErrorMsg,
            text: text.to_owned(),
        }
    }

    pub fn info(text: &str) -> Self {
        Self {
            style: Style::TextInfo,
            text: text.to_owned(),
        }
    }
}

/// What the `report` helper saw in PAM_AUTHTOK after authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authtok {
    /// No `report` helper ran.
    NotReported,
    /// PAM_AUTHTOK was unset.
    Null,
    Value(String),
}

/// Everything the driver printed for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How many times the stack called the conversation function.
    pub conversations: usize,
    pub messages: Vec<Message>,
    pub result: PamCode,
    pub authtok: Authtok,
    pub setcred: Option<PamCode>,
}

impl Outcome {
    fn parse(stdout: &str) -> Result<Self, String> {
        let mut conversations = 0;
        let mut messages = Vec::new();
        let mut result = None;
        let mut authtok = Authtok::NotReported;
        let mut setcred = None;
        for line in stdout.lines() {
            let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
            match tag {
                "CONVERSATION" => conversations += 1,
                "RESULT" => result = Some(parse_code(rest)?),
                "SETCRED" => setcred = Some(parse_code(rest)?),
                "AUTHTOK" if rest == "(null)" => authtok = Authtok::Null,
                "AUTHTOK" => authtok = Authtok::Value(unescape(rest)),
                _ => messages.push(Message {
                    style: parse_style(tag),
                    text: unescape(rest),
                }),
            }
        }
        Ok(Self {
            conversations,
            messages,
            result: result.ok_or("no RESULT line")?,
            authtok,
            setcred,
        })
    }
}

fn parse_code(rest: &str) -> Result<PamCode, String> {
    let number = rest.split(' ').next().unwrap_or_default();
    number
        .parse()
        .map(PamCode)
        .map_err(|e| format!("bad PAM code {rest:?}: {e}"))
}

fn parse_style(tag: &str) -> Style {
    match tag {
        "PROMPT_ECHO_OFF" => Style::PromptEchoOff,
        "PROMPT_ECHO_ON" => Style::PromptEchoOn,
        "ERROR_MSG" => Style::ErrorMsg,
        "TEXT_INFO" => Style::TextInfo,
        other => Style::Other(other.to_owned()),
    }
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next() {
            Some('n') => '\n',
            Some(escaped) => escaped,
            None => '\\',
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faketime_dates() {
        assert_eq!(faketime_value(0), "1970-01-01 00:00:00");
        assert_eq!(faketime_value(1_700_000_025), "2023-11-14 22:13:45");
        assert_eq!(faketime_value(951_827_696), "2000-02-29 12:34:56");
    }

    #[test]
    fn parses_driver_output() {
        let outcome = Outcome::parse(
            "CONVERSATION 1\nPROMPT_ECHO_OFF Verification code: \n\
             CONVERSATION 1\nERROR_MSG a\\nb\\\\c\n\
             RESULT 7 PAM_AUTH_ERR\nAUTHTOK \nSETCRED 0 PAM_SUCCESS\n",
        )
        .expect("parses");
        assert_eq!(outcome.conversations, 2);
        assert_eq!(
            outcome.messages,
            [
                Message::echo_off("Verification code: "),
                Message::error("a\nb\\c")
            ]
        );
        assert_eq!(outcome.result, PamCode::AUTH_ERR);
        assert_eq!(outcome.authtok, Authtok::Value(String::new()));
        assert_eq!(outcome.setcred, Some(PamCode::SUCCESS));
    }
}
