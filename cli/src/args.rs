//! Command-line parsing: the flags of `google-authenticator` with the same
//! short letters, long names, value ranges and mutual exclusions, plus the
//! `rust-totp` additions: `--user`, `--key`, `--show`, `--qr-file`,
//! `--new-scratch-codes`, `--reset`, `--pve`, `--keygen`, `--version`.
//!
//! Parsing follows getopt_long conventions: short flags cluster (`-tdf`),
//! values attach or follow (`-r3`, `-r 3`, `--qr-mode=UTF8`,
//! `--qr-mode UTF8`) and unambiguous prefixes of long names are accepted.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::NonEmptyStringValueParser;
use clap::error::ErrorKind;
use clap::{ArgAction, ArgGroup, CommandFactory, Parser};

use crate::key::ProvidedKey;
use crate::qr::QrMode;
use crate::qr_image::ImageFormat;
use rust_totp_core::otp::{Algorithm, CodeFormat};

/// The only step size the Proxmox VE web dialog can enrol.
pub const PVE_STEP_SECONDS: u32 = 30;

#[derive(Debug, Parser)]
#[command(
    name = "rust-totp",
    version,
    about = "Create or show a ~/.google_authenticator file for TOTP/HOTP two-factor login",
    after_help = "Without flags on a terminal, the settings are asked interactively.\n\
                  `rust-totp doctor` checks an installation.",
    disable_version_flag = true,
    infer_long_args = true,
    group(ArgGroup::new("enrolment").multiple(true)),
    group(ArgGroup::new("mode").multiple(false))
)]
struct Cli {
    /// Set up time-based (TOTP) codes
    #[arg(short = 't', long = "time-based", group = "enrolment")]
    time_based: bool,

    /// Set up counter-based (HOTP) codes
    #[arg(
        short = 'c',
        long = "counter-based",
        group = "enrolment",
        conflicts_with = "time_based"
    )]
    counter_based: bool,

    /// Do not ask for a code from the app to confirm the set-up
    #[arg(short = 'C', long = "no-confirm", group = "enrolment")]
    no_confirm: bool,

    /// Refuse a TOTP code that was already used once
    #[arg(
        short = 'd',
        long = "disallow-reuse",
        group = "enrolment",
        conflicts_with = "counter_based"
    )]
    disallow_reuse: bool,

    /// Accept a TOTP code more than once within its time step
    #[arg(
        short = 'D',
        long = "allow-reuse",
        group = "enrolment",
        conflicts_with_all = ["disallow_reuse", "counter_based"]
    )]
    allow_reuse: bool,

    /// Write the file without asking first, replacing an existing one
    /// (with --qr-file: replace an existing image)
    #[arg(
        short = 'f',
        long = "force",
        conflicts_with_all = ["new_scratch_codes", "reset"]
    )]
    force: bool,

    /// Account label in the otpauth:// URI (default: user@hostname)
    #[arg(
        short = 'l',
        long = "label",
        allow_hyphen_values = true,
        conflicts_with_all = ["new_scratch_codes", "reset"]
    )]
    label: Option<String>,

    /// Issuer in the otpauth:// URI [default: hostname]
    #[arg(
        short = 'i',
        long = "issuer",
        allow_hyphen_values = true,
        conflicts_with_all = ["new_scratch_codes", "reset"]
    )]
    issuer: Option<String>,

    /// Print nothing but the questions that are still to be answered
    #[arg(short = 'q', long = "quiet", group = "enrolment")]
    quiet: bool,

    /// QR code drawing: NONE, ANSI, UTF8, ANSI_INVERSE, UTF8_INVERSE,
    /// ANSI_GREY or UTF8_GREY
    #[arg(
        short = 'Q',
        long = "qr-mode",
        value_name = "MODE",
        allow_hyphen_values = true,
        value_parser = QrMode::parse,
        conflicts_with_all = ["new_scratch_codes", "reset"]
    )]
    qr_mode: Option<QrMode>,

    /// Allow at most N logins every M seconds (with -R)
    #[arg(
        short = 'r',
        long = "rate-limit",
        value_name = "N",
        group = "enrolment",
        allow_hyphen_values = true,
        requires = "rate_time",
        conflicts_with = "no_rate_limit",
        value_parser = clap::value_parser!(u32).range(1..=10)
    )]
    rate_limit: Option<u32>,

    /// The M seconds of the rate limit (with -r)
    #[arg(
        short = 'R',
        long = "rate-time",
        value_name = "M",
        group = "enrolment",
        allow_hyphen_values = true,
        requires = "rate_limit",
        conflicts_with = "no_rate_limit",
        value_parser = clap::value_parser!(u32).range(15..=600)
    )]
    rate_time: Option<u32>,

    /// Do not limit the rate of login attempts
    #[arg(short = 'u', long = "no-rate-limit", group = "enrolment")]
    no_rate_limit: bool,

    /// File to write or show [default: ~/.google_authenticator]
    #[arg(
        short = 's',
        long = "secret",
        value_name = "FILE",
        allow_hyphen_values = true,
        value_parser = NonEmptyStringValueParser::new(),
        conflicts_with = "keygen"
    )]
    secret: Option<String>,

    /// Act on this user's file, as root: its default path is in the
    /// user's home, and it is written with the user's identity, owned by
    /// the user and the primary group
    #[arg(
        long = "user",
        value_name = "NAME",
        allow_hyphen_values = true,
        value_parser = NonEmptyStringValueParser::new(),
        conflicts_with = "keygen"
    )]
    user: Option<String>,

    /// Enrol with this existing base32 key (at least 80 bits) instead of a
    /// new random one; it is not printed back unless -Q or --pve asks
    #[arg(
        long = "key",
        value_name = "BASE32",
        group = "enrolment",
        value_parser = KeyParser
    )]
    key: Option<ProvidedKey>,

    /// Also write the QR code of the URI to this new PNG or SVG file
    /// (by its extension), mode 0600
    #[arg(
        long = "qr-file",
        value_name = "PATH",
        allow_hyphen_values = true,
        value_parser = parse_image_path,
        conflicts_with_all = ["new_scratch_codes", "reset"]
    )]
    qr_file: Option<(PathBuf, ImageFormat)>,

    /// Seconds between new TOTP codes
    #[arg(
        short = 'S',
        long = "step-size",
        value_name = "S",
        group = "enrolment",
        allow_hyphen_values = true,
        value_parser = clap::value_parser!(u32).range(1..=60)
    )]
    step_size: Option<u32>,

    /// Number of codes valid at the same time
    #[arg(
        short = 'w',
        long = "window-size",
        value_name = "W",
        group = "enrolment",
        allow_hyphen_values = true,
        value_parser = clap::value_parser!(u32).range(1..=21)
    )]
    window_size: Option<u32>,

    /// Smallest window: 3 codes for TOTP, 1 for HOTP
    #[arg(
        short = 'W',
        long = "minimal-window",
        group = "enrolment",
        conflicts_with = "window_size"
    )]
    minimal_window: bool,

    /// HMAC of the codes: SHA1, SHA256 or SHA512 [default: SHA1]
    #[arg(
        long = "algorithm",
        value_name = "HASH",
        group = "enrolment",
        value_parser = parse_algorithm
    )]
    algorithm: Option<Algorithm>,

    /// Digits of a code: 6, 7 or 8 [default: 6]
    #[arg(
        long = "digits",
        value_name = "N",
        group = "enrolment",
        allow_hyphen_values = true,
        value_parser = clap::value_parser!(u32).range(6..=8)
    )]
    digits: Option<u32>,

    /// Number of emergency scratch codes [default: 5]
    #[arg(
        short = 'e',
        long = "emergency-codes",
        value_name = "N",
        allow_hyphen_values = true,
        conflicts_with_all = ["show", "reset", "keygen"],
        value_parser = clap::value_parser!(u32).range(0..=10)
    )]
    emergency_codes: Option<u32>,

    /// Print the URI, QR code, secret and remaining scratch codes of an
    /// existing file instead of creating one
    #[arg(long = "show", group = "mode", conflicts_with = "enrolment")]
    show: bool,

    /// Replace the scratch codes of an existing file by -e N new ones
    /// (default 5), keeping its secret and everything else
    #[arg(
        long = "new-scratch-codes",
        group = "mode",
        conflicts_with = "enrolment"
    )]
    new_scratch_codes: bool,

    /// Clear the rate-limit attempts, learned clock skew, used codes and
    /// grace-period records of an existing file, keeping its secret,
    /// options and scratch codes
    #[arg(long = "reset", group = "mode", conflicts_with = "enrolment")]
    reset: bool,

    /// Also print the fields of the Proxmox VE web TOTP dialog and the
    /// pvesh command that registers the token there; the label defaults to
    /// user@pam
    #[arg(
        long = "pve",
        conflicts_with_all = ["counter_based", "new_scratch_codes", "reset"]
    )]
    pve: bool,

    /// Print a new random 16-character base32 key, like Proxmox's
    /// oathkeygen; with -Q, -l, -i, --pve or --qr-file also its URI and QR
    #[arg(long = "keygen", group = "mode", conflicts_with = "enrolment")]
    keygen: bool,

    /// Print the version
    #[arg(long = "version", action = ArgAction::Version)]
    version: Option<bool>,
}

/// Which kind of one-time code the file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Totp,
    Hotp,
}

/// The window of codes the module accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The smallest useful window: 3 for TOTP, 1 for HOTP.
    Minimal,
    /// An explicit number of codes.
    Size(u32),
}

/// Rate limit of login attempts: `attempts` per `seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub attempts: u32,
    pub seconds: u32,
}

/// How the URI and the QR code are labelled, and where else they go.
#[derive(Debug, Clone, Default)]
pub struct Presentation {
    pub label: Option<String>,
    pub issuer: Option<String>,
    pub qr_mode: Option<QrMode>,
    pub pve: bool,
    pub qr_image: Option<QrImage>,
}

/// An image file of the QR code to write (`--qr-file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrImage {
    pub path: PathBuf,
    pub format: ImageFormat,
    /// Replace an existing file (`-f`).
    pub replace: bool,
}

/// Whose secret file, and where: `--user` and `-s`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileTarget {
    pub user: Option<String>,
    pub secret_path: Option<PathBuf>,
}

/// Settings for a new enrolment. `None` means "ask", as the reference does.
#[derive(Debug, Clone)]
pub struct EnrolOptions {
    pub token_type: Option<TokenType>,
    pub confirm: bool,
    pub disallow_reuse: Option<bool>,
    pub force: bool,
    pub quiet: bool,
    /// `Some(None)` is an explicit "no rate limit" (`-u`).
    pub rate_limit: Option<Option<RateLimit>>,
    pub target: FileTarget,
    /// `--key`: the secret to enrol instead of a new random one.
    pub key: Option<ProvidedKey>,
    pub step_seconds: Option<u32>,
    pub window: Option<Window>,
    pub emergency_codes: u32,
    /// `--algorithm` and `--digits`.
    pub format: CodeFormat,
    pub presentation: Presentation,
}

/// Settings for `--show`.
#[derive(Debug, Clone)]
pub struct ShowOptions {
    pub target: FileTarget,
    pub presentation: Presentation,
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub enum Command {
    Enrol(Box<EnrolOptions>),
    Show(ShowOptions),
    /// `--new-scratch-codes`: this many new codes for the file.
    NewScratchCodes {
        target: FileTarget,
        count: u32,
    },
    /// `--reset`.
    Reset(FileTarget),
    Keygen(Presentation),
}

/// Number of scratch codes when `-e` is not given.
pub const DEFAULT_EMERGENCY_CODES: u32 = 5;

/// Parses the arguments (program name first). On a bad command line, or for
/// `--help`/`--version`, returns clap's error, whose `exit()` prints it and
/// exits with status 2 (0 for help and version).
pub fn parse<I, T>(args: I) -> Result<Command, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    check_reuse_mode(&cli)?;
    check_pve_step(&cli)?;
    check_force(&cli)?;
    Ok(cli.into_command())
}

/// Parses `--key` without repeating the value in the error, as clap's own
/// messages do: a mistyped key is still almost the secret.
#[derive(Debug, Clone, Copy)]
struct KeyParser;

impl clap::builder::TypedValueParser for KeyParser {
    type Value = ProvidedKey;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<ProvidedKey, clap::Error> {
        let text = value.to_str().unwrap_or("\u{fffd}");
        ProvidedKey::parse(text).map_err(|reason| {
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("the key given with --key is {reason}\n"),
            )
        })
    }
}

/// `--qr-file PATH`: the format comes from the extension.
fn parse_image_path(value: &str) -> Result<(PathBuf, ImageFormat), String> {
    let path = PathBuf::from(value);
    let format = ImageFormat::of_path(&path)?;
    Ok((path, format))
}

/// With `--show` or `--keygen`, `-f` can only mean replacing the image of
/// `--qr-file`.
fn check_force(cli: &Cli) -> Result<(), clap::Error> {
    if cli.force && (cli.show || cli.keygen) && cli.qr_file.is_none() {
        return Err(Cli::command().error(
            ErrorKind::MissingRequiredArgument,
            "-f/--force with --show or --keygen only replaces the image of --qr-file",
        ));
    }
    Ok(())
}

/// `--algorithm`'s value, in any case: `SHA1`, `SHA256` or `SHA512`.
fn parse_algorithm(value: &str) -> Result<Algorithm, String> {
    Algorithm::from_name(&value.to_ascii_uppercase())
        .ok_or_else(|| format!("unknown algorithm \"{value}\": use SHA1, SHA256 or SHA512"))
}

/// Reuse of codes only means something for time-based tokens, so `-d` and
/// `-D` need `-t` (or `--pve`, which implies it), as in the reference.
fn check_reuse_mode(cli: &Cli) -> Result<(), clap::Error> {
    if (cli.disallow_reuse || cli.allow_reuse) && !cli.time_based && !cli.pve {
        return Err(Cli::command().error(
            ErrorKind::MissingRequiredArgument,
            "-d/--disallow-reuse and -D/--allow-reuse need time-based mode (-t)",
        ));
    }
    Ok(())
}

/// The Proxmox VE dialog only enrols 30-second TOTP tokens, so `--pve` with
/// another step would print settings that cannot work there.
fn check_pve_step(cli: &Cli) -> Result<(), clap::Error> {
    match cli.step_size {
        Some(step) if cli.pve && step != PVE_STEP_SECONDS => Err(Cli::command().error(
            ErrorKind::ArgumentConflict,
            format!(
                "--pve needs the {PVE_STEP_SECONDS}-second step of the Proxmox VE dialog, \
                 not -S {step}"
            ),
        )),
        _ => Ok(()),
    }
}

/// The code format of `--algorithm` and `--digits`, defaults for what is
/// not given.
fn code_format(algorithm: Option<Algorithm>, digits: Option<u32>) -> CodeFormat {
    let default = CodeFormat::DEFAULT;
    let digits = digits.unwrap_or(default.digits());
    // clap admits only digit counts a format has.
    CodeFormat::new(algorithm.unwrap_or_default(), digits).unwrap_or(default)
}

impl Cli {
    fn into_command(self) -> Command {
        let presentation = Presentation {
            label: self.label,
            issuer: self.issuer,
            qr_mode: self.qr_mode,
            pve: self.pve,
            qr_image: self.qr_file.map(|(path, format)| QrImage {
                path,
                format,
                replace: self.force,
            }),
        };
        let target = FileTarget {
            user: self.user,
            secret_path: self.secret.map(PathBuf::from),
        };
        let emergency_codes = self.emergency_codes.unwrap_or(DEFAULT_EMERGENCY_CODES);
        if self.keygen {
            return Command::Keygen(presentation);
        }
        if self.show {
            return Command::Show(ShowOptions {
                target,
                presentation,
            });
        }
        if self.new_scratch_codes {
            return Command::NewScratchCodes {
                target,
                count: emergency_codes,
            };
        }
        if self.reset {
            return Command::Reset(target);
        }
        let token_type = match (self.time_based, self.counter_based) {
            (true, _) => Some(TokenType::Totp),
            (_, true) => Some(TokenType::Hotp),
            _ => None,
        };
        let disallow_reuse = match (self.disallow_reuse, self.allow_reuse) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        let rate_limit = match (self.rate_limit, self.rate_time, self.no_rate_limit) {
            (Some(attempts), Some(seconds), _) => Some(Some(RateLimit { attempts, seconds })),
            (_, _, true) => Some(None),
            _ => None,
        };
        let window = match (self.window_size, self.minimal_window) {
            (Some(size), _) => Some(Window::Size(size)),
            (_, true) => Some(Window::Minimal),
            _ => None,
        };
        Command::Enrol(Box::new(EnrolOptions {
            token_type,
            confirm: !self.no_confirm,
            disallow_reuse,
            force: self.force,
            quiet: self.quiet,
            rate_limit,
            target,
            key: self.key,
            step_seconds: self.step_size,
            window,
            emergency_codes,
            format: code_format(self.algorithm, self.digits),
            presentation,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enrol(args: &[&str]) -> EnrolOptions {
        let argv = std::iter::once("rust-totp").chain(args.iter().copied());
        match parse(argv) {
            Ok(Command::Enrol(options)) => *options,
            other => panic!("{args:?} did not parse as an enrolment: {other:?}"),
        }
    }

    fn error_kind(args: &[&str]) -> ErrorKind {
        let argv = std::iter::once("rust-totp").chain(args.iter().copied());
        match parse(argv) {
            Err(error) => error.kind(),
            Ok(command) => panic!("{args:?} was accepted: {command:?}"),
        }
    }

    #[test]
    fn guide_command_line() {
        let o = enrol(&[
            "-t",
            "-d",
            "-f",
            "-r",
            "3",
            "-R",
            "30",
            "-w",
            "3",
            "-Q",
            "UTF8",
            "-i",
            "pve.example.org",
            "-l",
            "root@pam",
        ]);
        assert_eq!(o.token_type, Some(TokenType::Totp));
        assert_eq!(o.disallow_reuse, Some(true));
        assert!(o.force);
        assert_eq!(
            o.rate_limit,
            Some(Some(RateLimit {
                attempts: 3,
                seconds: 30
            }))
        );
        assert_eq!(o.window, Some(Window::Size(3)));
        assert_eq!(o.presentation.qr_mode, Some(QrMode::Utf8));
        assert_eq!(o.presentation.issuer.as_deref(), Some("pve.example.org"));
        assert_eq!(o.presentation.label.as_deref(), Some("root@pam"));
    }

    #[test]
    fn getopt_style_clusters_attached_values_and_prefixes() {
        let o = enrol(&["-tdf", "-r3", "-R30", "--qr-mode=utf8", "--window=5", "-e0"]);
        assert_eq!(o.token_type, Some(TokenType::Totp));
        assert_eq!(o.disallow_reuse, Some(true));
        assert!(o.force);
        assert_eq!(o.window, Some(Window::Size(5)));
        assert_eq!(o.emergency_codes, 0);
        assert_eq!(o.presentation.qr_mode, Some(QrMode::Utf8));
        assert_eq!(
            enrol(&["-l", "-odd-label"]).presentation.label.as_deref(),
            Some("-odd-label")
        );
    }

    #[test]
    fn defaults_leave_questions_open() {
        let o = enrol(&[]);
        assert_eq!(o.token_type, None);
        assert_eq!(o.disallow_reuse, None);
        assert_eq!(o.rate_limit, None);
        assert_eq!(o.window, None);
        assert!(o.confirm);
        assert_eq!(o.emergency_codes, DEFAULT_EMERGENCY_CODES);
        assert_eq!(enrol(&["-u"]).rate_limit, Some(None));
        assert_eq!(enrol(&["-c", "-W"]).window, Some(Window::Minimal));
    }

    #[test]
    fn values_out_of_range_are_rejected() {
        for args in [
            &["-w", "0"][..],
            &["-w", "22"],
            &["-S", "0"],
            &["-S", "61"],
            &["-e", "11"],
            &["-e", "-1"],
            &["-r", "11", "-R", "30"],
            &["-r", "3", "-R", "14"],
            &["-Q", "PNG"],
            &["-Q", "UTF8_GRAY"],
            &["-w", "3x"],
            &["--key", "JBSWY3DPEHPK3PX1"],
            &["--key", "JBSWY3DPEHPK"],
            &["--qr-file", "qr.jpg"],
            &["--qr-file", "qr"],
        ] {
            assert_eq!(error_kind(args), ErrorKind::ValueValidation, "{args:?}");
        }
        assert_eq!(error_kind(&["-s", ""]), ErrorKind::InvalidValue);
        assert_eq!(error_kind(&["--user", ""]), ErrorKind::InvalidValue);
    }

    #[test]
    fn contradictions_are_rejected() {
        for args in [
            &["-t", "-c"][..],
            &["-t", "-d", "-D"],
            &["-u", "-r", "3", "-R", "30"],
            &["-w", "3", "-W"],
            &["--show", "-t"],
            &["--keygen", "-t"],
            &["--keygen", "-s", "x"],
            &["--keygen", "--user", "root"],
            &["--pve", "-c"],
            &["--show", "--reset"],
            &["--show", "--new-scratch-codes"],
            &["--reset", "--new-scratch-codes"],
            &["--reset", "-e", "3"],
            &["--show", "-e", "3"],
            &["--reset", "-Q", "UTF8"],
            &["--reset", "-l", "x"],
            &["--new-scratch-codes", "-f"],
            &["--new-scratch-codes", "-t"],
            &["--new-scratch-codes", "--pve"],
            &["--new-scratch-codes", "--qr-file", "x.png"],
            &["--show", "--key", "JBSWY3DPEHPK3PXP"],
            &["--keygen", "--key", "JBSWY3DPEHPK3PXP"],
        ] {
            assert_eq!(error_kind(args), ErrorKind::ArgumentConflict, "{args:?}");
        }
        assert_eq!(error_kind(&["-c", "-d"]), ErrorKind::ArgumentConflict);
        assert_eq!(error_kind(&["-d"]), ErrorKind::MissingRequiredArgument);
        assert_eq!(error_kind(&["-r", "3"]), ErrorKind::MissingRequiredArgument);
        assert_eq!(error_kind(&["-f", "-f"]), ErrorKind::ArgumentConflict);
        assert_eq!(error_kind(&["extra"]), ErrorKind::UnknownArgument);
        assert_eq!(
            error_kind(&["--pve", "-S", "60"]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn algorithm_and_digits_set_the_code_format() {
        assert!(enrol(&[]).format.is_default());
        for (args, algorithm, digits) in [
            (&["--algorithm", "SHA256"][..], Algorithm::Sha256, 6),
            (
                &["--algorithm=sha512", "--digits", "8"],
                Algorithm::Sha512,
                8,
            ),
            (&["--digits=7"], Algorithm::Sha1, 7),
            (
                &["--algorithm", "Sha1", "--digits", "6"],
                Algorithm::Sha1,
                6,
            ),
        ] {
            assert_eq!(
                enrol(args).format,
                CodeFormat::new(algorithm, digits).unwrap(),
                "{args:?}"
            );
        }
        for args in [
            &["--algorithm", "MD5"][..],
            &["--algorithm", "SHA-256"],
            &["--algorithm", ""],
            &["--digits", "5"],
            &["--digits", "9"],
            &["--digits", "-8"],
            &["--digits", "eight"],
        ] {
            assert_eq!(error_kind(args), ErrorKind::ValueValidation, "{args:?}");
        }
        let argv = ["rust-totp", "--algorithm", "MD5"];
        let message = parse(argv).unwrap_err().to_string();
        assert!(message.contains("unknown algorithm \"MD5\""), "{message}");
        assert_eq!(
            error_kind(&["--show", "--digits", "8"]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn show_and_keygen() {
        let argv = ["rust-totp", "--show", "-s", "/tmp/x", "--pve", "-Q", "none"];
        match parse(argv) {
            Ok(Command::Show(s)) => {
                assert_eq!(s.target.secret_path, Some(PathBuf::from("/tmp/x")));
                assert_eq!(s.target.user, None);
                assert!(s.presentation.pve);
                assert_eq!(s.presentation.qr_mode, Some(QrMode::None));
            }
            other => panic!("{other:?}"),
        }
        match parse([
            "rust-totp",
            "--keygen",
            "-Q",
            "utf8_grey",
            "-l",
            "a@pam",
            "--pve",
        ]) {
            Ok(Command::Keygen(p)) => {
                assert_eq!(p.qr_mode, Some(QrMode::Utf8));
                assert_eq!(p.label.as_deref(), Some("a@pam"));
                assert!(p.pve);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(["rust-totp", "--keygen"]),
            Ok(Command::Keygen(_))
        ));
    }

    #[test]
    fn user_key_and_qr_file() {
        let o = enrol(&[
            "--user",
            "alice",
            "--key",
            "jbsw y3dp ehpk 3pxp",
            "--qr-file",
            "/t/A.SVG",
        ]);
        assert_eq!(o.target.user.as_deref(), Some("alice"));
        assert_eq!(o.target.secret_path, None);
        assert_eq!(o.key.map(|k| k.to_secret().key.len()), Some(10));
        assert_eq!(
            o.presentation.qr_image,
            Some(QrImage {
                path: PathBuf::from("/t/A.SVG"),
                format: ImageFormat::Svg,
                replace: false,
            })
        );
        let argv = ["rust-totp", "--show", "--qr-file", "b.png", "-f"];
        match parse(argv) {
            Ok(Command::Show(s)) => {
                let image = s.presentation.qr_image.expect("image");
                assert_eq!((image.format, image.replace), (ImageFormat::Png, true));
            }
            other => panic!("{other:?}"),
        }
        for args in [&["--show", "-f"][..], &["--keygen", "-f"]] {
            assert_eq!(
                error_kind(args),
                ErrorKind::MissingRequiredArgument,
                "{args:?}"
            );
        }
    }

    #[test]
    fn new_scratch_codes_and_reset() {
        let argv = [
            "rust-totp",
            "--new-scratch-codes",
            "--user",
            "bob",
            "-e",
            "7",
        ];
        match parse(argv) {
            Ok(Command::NewScratchCodes { target, count }) => {
                assert_eq!(target.user.as_deref(), Some("bob"));
                assert_eq!(count, 7);
            }
            other => panic!("{other:?}"),
        }
        match parse(["rust-totp", "--new-scratch-codes", "-s", "f"]) {
            Ok(Command::NewScratchCodes { count, .. }) => {
                assert_eq!(count, DEFAULT_EMERGENCY_CODES);
            }
            other => panic!("{other:?}"),
        }
        match parse(["rust-totp", "--reset", "--user", "bob", "-s", "/x"]) {
            Ok(Command::Reset(target)) => {
                assert_eq!(target.user.as_deref(), Some("bob"));
                assert_eq!(target.secret_path, Some(PathBuf::from("/x")));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            error_kind(&["--new-scratch-codes", "-e", "11"]),
            ErrorKind::ValueValidation
        );
    }
}
