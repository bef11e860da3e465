//! Integration tests of the `rust-totp` binary against the reference tools:
//! files it writes are accepted by Debian's `pam_google_authenticator.so`
//! (through `pamtester`, with codes from `oathtool`) and have the same lines
//! as files written by Debian's `google-authenticator` with the same flags
//! or answers; its QR codes decode with `zbarimg` to the printed URI;
//! `--show` reads Google's files; bad command lines write nothing.
//!
//! The tests that need the reference tools or root are `#[ignore]`d with the
//! reason; `tests/run-all.sh` runs them, and a missing tool fails them.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use data_encoding::BASE32_NOPAD;
use rust_totp_core::otp::{hotp, time_step};

const REFERENCE_MODULE: &str = "/usr/lib/x86_64-linux-gnu/security/pam_google_authenticator.so";
/// Flags that make both tools run without any question (in getopt's
/// clustered form).
const UNATTENDED: &[&str] = &["-fCq"];

// ---------------------------------------------------------------- helpers

/// Fails a test that cannot run here, saying why.
fn unavailable(reason: &str) -> ! {
    panic!(
        "this test cannot run here: {reason} (install the tools with \
         tests/install-deps.sh and run as root, as tests/run-all.sh does)"
    )
}

/// Fails the test unless `program` is installed.
fn require_program(program: &str, package: &str) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .any(|dir| dir.join(program).is_file());
    if !found {
        unavailable(&format!("`{program}` not found (Debian package {package})"));
    }
}

fn require_google_authenticator() {
    require_program("google-authenticator", "libpam-google-authenticator");
}

fn run_with_input(program: &str, args: &[&str], input: &str, env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // The program may exit before reading everything; that is not an error.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    child.wait_with_output().expect("wait for child")
}

fn rust_totp(args: &[&str], input: &str) -> Output {
    run_with_input(env!("CARGO_BIN_EXE_rust-totp"), args, input, &[])
}

fn google_authenticator(args: &[&str], input: &str) -> Output {
    run_with_input("google-authenticator", args, input, &[])
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Enrols into `path` with `flags` (plus `-s path`) and returns the output.
fn enrol(path: &Path, flags: &[&str], input: &str) -> Output {
    let mut args = flags.to_vec();
    args.extend(["-s", path_str(path)]);
    let output = rust_totp(&args, input);
    assert_success(&output, &format!("rust-totp {args:?}"));
    output
}

fn file_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn is_scratch_code(line: &str) -> bool {
    line.len() == 8 && line.bytes().all(|b| b.is_ascii_digit()) && !line.starts_with('0')
}

fn option_value<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
    let prefix = format!("\" {name}");
    lines
        .iter()
        .find(|line| *line == &prefix || line.starts_with(&format!("{prefix} ")))
        .map(|line| line[prefix.len()..].trim())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

// ------------------------------------------------------- PAM acceptance

/// A uniquely named /etc/pam.d service using the reference module with
/// `secret=<dir>/${USER}`, or a module with other arguments, for root or
/// another user; removed when dropped.
struct PamService {
    name: String,
    path: PathBuf,
    user: String,
}

impl PamService {
    fn new(secret_dir: &Path) -> Self {
        let arguments = format!("secret={}/${{USER}}", secret_dir.display());
        Self::with_module(Path::new(REFERENCE_MODULE), &arguments, "root")
    }

    /// A service with the line `auth required MODULE ARGUMENTS` for `user`.
    fn with_module(module: &Path, arguments: &str, user: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "rt-cli-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = Path::new("/etc/pam.d").join(&name);
        let rule = format!("auth required {} {arguments}\n", module.display());
        fs::write(&path, rule).expect("write PAM service file");
        Self {
            name,
            path,
            user: user.to_owned(),
        }
    }

    /// Whether `pamtester` authenticates the user with `answer`.
    fn accepts(&self, answer: &str) -> bool {
        self.accepts_from(answer, None)
    }

    /// Whether `pamtester` authenticates the user with `answer`, coming
    /// from `rhost` if given.
    fn accepts_from(&self, answer: &str, rhost: Option<&str>) -> bool {
        let rhost = rhost.map(|host| format!("-Irhost={host}"));
        let mut args: Vec<&str> = rhost.iter().map(String::as_str).collect();
        args.extend([self.name.as_str(), self.user.as_str(), "authenticate"]);
        let output = run_with_input("pamtester", &args, &format!("{answer}\n"), &[]);
        output.status.success()
    }
}

impl Drop for PamService {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Fails the test unless the pamtester tests can run: as root, with the
/// reference module, pamtester and oathtool.
fn require_pam_tools() {
    if !nix::unistd::geteuid().is_root() {
        unavailable("the pamtester tests must run as root (they add /etc/pam.d services)");
    }
    if !Path::new(REFERENCE_MODULE).is_file() {
        unavailable(&format!(
            "{REFERENCE_MODULE} missing (Debian package libpam-google-authenticator)"
        ));
    }
    require_program("pamtester", "pamtester");
    require_program("oathtool", "oathtool");
}

fn oathtool(args: &[&str]) -> String {
    let output = run_with_input("oathtool", args, "", &[]);
    assert_success(&output, &format!("oathtool {args:?}"));
    stdout(&output).trim().to_owned()
}

/// A six-digit code that the file's window does not accept now.
fn wrong_code(key: &[u8], counters: std::ops::RangeInclusive<u64>) -> String {
    let valid: Vec<u32> = counters.map(|c| hotp(key, c)).collect();
    let wrong = (0..)
        .map(|i| (123_456 + 111_111 * i) % 1_000_000)
        .find(|candidate| !valid.contains(candidate))
        .expect("some code is not valid");
    format!("{wrong:06}")
}

/// Enrols with `flags` (answering `input`), then logs in as root through
/// the reference module: the right code from oathtool succeeds, a reused
/// TOTP code fails if reuse is disallowed, a wrong code fails and a scratch
/// code succeeds. (A failed HOTP attempt advances the reference module's
/// counter, so the right code is tried first.)
fn check_accepted_by_reference_module(flags: &[&str], input: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("root");
    enrol(&path, flags, input);
    let lines = file_lines(&path);
    let secret = lines[0].clone();
    let key = BASE32_NOPAD
        .decode(secret.as_bytes())
        .expect("base32 secret");
    let totp = option_value(&lines, "TOTP_AUTH").is_some();
    let window: u64 = option_value(&lines, "WINDOW_SIZE").map_or(3, |w| w.parse().unwrap());
    let step: u64 = option_value(&lines, "STEP_SIZE").map_or(30, |s| s.parse().unwrap());
    let service = PamService::new(dir.path());

    let (code, accepted_counters) = if totp {
        let code = oathtool(&[
            "-b",
            "--totp",
            &format!("--time-step-size={step}s"),
            &secret,
        ]);
        let now = time_step(unix_now(), step as u32);
        (code, now.saturating_sub(window)..=now + window)
    } else {
        let first: u64 = option_value(&lines, "HOTP_COUNTER")
            .unwrap()
            .parse()
            .unwrap();
        let code = oathtool(&["-b", "-c", &first.to_string(), &secret]);
        (code, first..=first + window + 1)
    };
    let context = format!(
        "flags {flags:?}, answers {input:?}, file:\n{}",
        lines.join("\n")
    );
    assert!(
        service.accepts(&code),
        "current code {code} refused; {context}"
    );
    if option_value(&lines, "DISALLOW_REUSE").is_some() {
        assert!(!service.accepts(&code), "reused code accepted; {context}");
    }
    assert!(
        !service.accepts(&wrong_code(&key, accepted_counters)),
        "wrong code accepted; {context}"
    );
    if let Some(scratch) = lines.iter().find(|line| is_scratch_code(line)) {
        assert!(service.accepts(scratch), "scratch code refused; {context}");
        assert!(
            !file_lines(&path).contains(scratch),
            "the module did not use up the scratch code; {context}"
        );
    }
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn files_are_accepted_by_the_reference_module() {
    require_pam_tools();
    let cases: &[(&[&str], &str)] = &[
        (&["-t", "-D", "-u", "-W"], ""),
        (
            &["-t", "-d", "-r", "10", "-R", "30", "-w", "17", "-e", "10"],
            "",
        ),
        (&["-t", "-D", "-u", "-S", "60", "-w", "3", "-e", "1"], ""),
        (&["-t", "-d", "-u", "-S", "10", "-w", "5"], ""),
        (&["-c", "-u", "-W"], ""),
        (&["-c", "-r", "3", "-R", "15", "-w", "5", "-e", "2"], ""),
        (&["-c", "-u", "-w", "21", "-e", "0"], ""),
    ];
    for (flags, input) in cases {
        let mut all = UNATTENDED.to_vec();
        all.extend_from_slice(flags);
        check_accepted_by_reference_module(&all, input);
    }
    // Every question answered on standard input: TOTP, skip the code check,
    // write, disallow reuse, large window, no rate limit (the checks make
    // four attempts).
    check_accepted_by_reference_module(&[], "y\n-1\ny\ny\ny\nn\n");
    // HOTP, write, default window, no rate limit.
    check_accepted_by_reference_module(&[], "n\ny\nn\nn\n");
}

// -------------------------------------- same file as google-authenticator

/// The file's lines with the random parts replaced by placeholders, after
/// checking their form: a secret of `secret_len` base32 characters (160
/// bits for ours, 128 for Debian's google-authenticator 1.08).
fn structure(path: &Path, secret_len: usize) -> Vec<String> {
    let lines = file_lines(path);
    let mode = fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o400, "{} has mode {mode:o}", path.display());
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                assert_eq!(line.len(), secret_len, "secret {line:?}");
                assert!(
                    BASE32_NOPAD.decode(line.as_bytes()).is_ok(),
                    "secret {line:?}"
                );
                "<secret>".to_owned()
            } else if is_scratch_code(line) {
                "<scratch code>".to_owned()
            } else {
                line.clone()
            }
        })
        .collect()
}

fn assert_same_structure_as_reference(flags: &[&str], input: &str) {
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours");
    let theirs = dir.path().join("theirs");
    enrol(&ours, flags, input);
    let mut args = flags.to_vec();
    args.extend(["-s", path_str(&theirs)]);
    let output = google_authenticator(&args, input);
    assert_success(&output, &format!("google-authenticator {args:?}"));
    // Ours adds the label and issuer after the options, nothing else.
    let (account, ours): (Vec<String>, Vec<String>) = structure(&ours, 32)
        .into_iter()
        .partition(|line| line.starts_with("\" OTPAUTH_"));
    assert_eq!(
        ours,
        structure(&theirs, 26),
        "flags {flags:?}, answers {input:?}"
    );
    assert_eq!(account.len(), 2, "{account:?}");
    assert!(
        account[0].starts_with("\" OTPAUTH_LABEL ") && account[1].starts_with("\" OTPAUTH_ISSUER ")
    );
}

#[test]
#[ignore = "needs the reference tools (tests/install-deps.sh): run by tests/run-all.sh"]
fn files_match_google_authenticator_line_for_line() {
    require_google_authenticator();
    let cases: &[&[&str]] = &[
        &["-t", "-D", "-u", "-W"],
        &[
            "-t",
            "-d",
            "-r",
            "3",
            "-R",
            "30",
            "-w",
            "3",
            "-i",
            "pve.example.org",
            "-l",
            "root@pam",
        ],
        &[
            "-t", "-D", "-r", "10", "-R", "600", "-S", "60", "-w", "21", "-e", "10",
        ],
        &["-t", "-d", "-u", "-S", "30", "-W", "-e", "0"],
        &["-td", "-r3", "-R15", "--window=7", "-e1"],
        &["-c", "-u", "-W"],
        &["-c", "-r", "1", "-R", "15", "-w", "1", "-e", "3"],
        &["-c", "-u", "-S", "45", "-w", "17"],
    ];
    for flags in cases {
        let mut all = UNATTENDED.to_vec();
        all.extend_from_slice(flags);
        assert_same_structure_as_reference(&all, "");
    }
    // The same answers to the same questions give the same file.
    for answers in [
        "y\n-1\ny\ny\ny\ny\n",
        "y\n-1\ny\nn\nn\nn\n",
        "n\ny\ny\ny\n",
        "n\ny\nn\nn\n",
    ] {
        assert_same_structure_as_reference(&[], answers);
    }
    // Flags settle some questions; the rest are asked in the same order.
    assert_same_structure_as_reference(&["-t", "-C", "-q", "-u"], "y\nn\ny\n");
    assert_same_structure_as_reference(&["-c", "-f", "-w", "4"], "y\n");
}

// ---------------------------------------------------------- QR decoding

/// A parsed otpauth:// URI.
#[derive(Debug)]
struct KeyUri {
    kind: String,
    label: String,
    params: HashMap<String, String>,
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("percent escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8 after decoding")
}

fn parse_key_uri(uri: &str) -> KeyUri {
    let rest = uri.strip_prefix("otpauth://").expect("otpauth scheme");
    let (kind, rest) = rest.split_once('/').expect("type");
    let (label, query) = rest.split_once('?').expect("query");
    for forbidden in [' ', '#', '?', '&', '/'] {
        assert!(
            !label.contains(forbidden),
            "unencoded {forbidden:?} in {label}"
        );
    }
    let params = query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').expect("name=value");
            (name.to_owned(), percent_decode(value))
        })
        .collect();
    KeyUri {
        kind: kind.to_owned(),
        label: percent_decode(label),
        params,
    }
}

/// The printed URI (the line that starts with otpauth://).
fn printed_uri(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|line| line.starts_with("otpauth://"))
        .unwrap_or_else(|| panic!("no URI in output:\n{text}"))
        .to_owned()
}

/// The lines of the QR drawing: those after the URI up to the first line
/// that is plain text again.
fn qr_lines(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|line| !line.trim().starts_with("otpauth://"))
        .skip(1)
        .take_while(|line| !line.starts_with("Your ") && !line.starts_with("Secret key:"))
        .map(str::to_owned)
        .collect()
}

/// Splits a line into (escape sequence or text character) tokens.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            let mut seq = String::from(c);
            for c in chars.by_ref() {
                seq.push(c);
                if c == 'm' {
                    break;
                }
            }
            out.push(seq);
        } else {
            out.push(c.to_string());
        }
    }
    out
}

/// Rows of pixels (`true` = dark) of a half-block drawing.
fn pixels_from_utf8(lines: &[String]) -> Vec<Vec<bool>> {
    let mut rows = Vec::new();
    for line in lines {
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        for token in tokens(line).iter().filter(|t| !t.starts_with('\x1b')) {
            let (t, b) = match token.as_str() {
                "\u{2588}" => (true, true),
                "\u{2580}" => (true, false),
                "\u{2584}" => (false, true),
                " " => (false, false),
                other => panic!("unexpected character {other:?} in QR drawing"),
            };
            top.push(t);
            bottom.push(b);
        }
        rows.push(top);
        rows.push(bottom);
    }
    rows
}

/// Rows of pixels of a drawing where reverse-video pairs of spaces are dark.
fn pixels_from_ansi(lines: &[String]) -> Vec<Vec<bool>> {
    lines
        .iter()
        .map(|line| {
            let mut reverse = false;
            let mut cells = Vec::new();
            for token in tokens(line) {
                match token.as_str() {
                    "\x1b[7m" => reverse = true,
                    "\x1b[27m" | "\x1b[0m" | "\x1b[30;47;27m" => reverse = false,
                    " " => cells.push(reverse),
                    other => panic!("unexpected token {other:?} in ANSI drawing"),
                }
            }
            assert_eq!(cells.len() % 2, 0, "modules are two columns wide");
            cells.chunks(2).map(|pair| pair[0] && pair[1]).collect()
        })
        .collect()
}

/// Writes the pixels as a plain PBM, scaled and with a wide quiet zone.
fn write_pbm(pixels: &[Vec<bool>], path: &Path) {
    const SCALE: usize = 6;
    const BORDER: usize = 4;
    let width = pixels.iter().map(Vec::len).max().expect("rows");
    assert!(
        pixels.iter().all(|row| row.len() == width),
        "ragged drawing"
    );
    let side = |n: usize| (n + 2 * BORDER) * SCALE;
    let mut pbm = format!("P1\n{} {}\n", side(width), side(pixels.len()));
    for y in 0..side(pixels.len()) {
        let row = (y / SCALE).checked_sub(BORDER).and_then(|r| pixels.get(r));
        for x in 0..side(width) {
            let dark = row
                .and_then(|r| (x / SCALE).checked_sub(BORDER).and_then(|c| r.get(c)))
                .copied()
                .unwrap_or(false);
            pbm.push_str(if dark { "1 " } else { "0 " });
        }
        pbm.push('\n');
    }
    fs::write(path, pbm).unwrap();
}

fn zbar_decode(image: &Path) -> String {
    let output = run_with_input("zbarimg", &["--quiet", "--raw", path_str(image)], "", &[]);
    assert_success(&output, "zbarimg");
    stdout(&output).trim_end_matches('\n').to_owned()
}

/// Decodes the QR drawing in `text` (drawn in `mode`) and checks that it
/// holds exactly the printed URI; returns that URI.
fn assert_qr_matches_uri(text: &str, mode: &str) -> String {
    let uri = printed_uri(text);
    let lines = qr_lines(text);
    assert!(!lines.is_empty(), "no QR drawing in output:\n{text}");
    let pixels = if mode.starts_with("UTF8") {
        pixels_from_utf8(&lines)
    } else {
        pixels_from_ansi(&lines)
    };
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("qr.pbm");
    write_pbm(&pixels, &image);
    assert_eq!(zbar_decode(&image), uri, "QR drawn in {mode}");
    uri
}

#[test]
#[ignore = "needs the reference tools (tests/install-deps.sh): run by tests/run-all.sh"]
fn printed_qr_codes_decode_to_the_printed_uri() {
    require_program("zbarimg", "zbar-tools");
    let dir = tempfile::tempdir().unwrap();
    for (i, mode) in [
        "UTF8",
        "ANSI",
        "UTF8_INVERSE",
        "ansi_inverse",
        "UTF8_GREY",
        "ansi-grey",
    ]
    .iter()
    .enumerate()
    {
        let path = dir.path().join(format!("totp{i}"));
        let output = enrol(
            &path,
            &[
                "-t",
                "-D",
                "-u",
                "-W",
                "-f",
                "-C",
                "-S",
                "60",
                "-Q",
                mode,
                "-l",
                "Jane Doe/ops#1@host",
                "-i",
                "Ops & Co",
            ],
            "",
        );
        let text = stdout(&output);
        let uri = parse_key_uri(&assert_qr_matches_uri(&text, mode));
        let secret = file_lines(&path)[0].clone();
        assert_eq!(uri.kind, "totp");
        assert_eq!(uri.label, "Jane Doe/ops#1@host");
        assert_eq!(uri.params["secret"], secret);
        assert_eq!(uri.params["issuer"], "Ops & Co");
        assert_eq!(uri.params["period"], "60");
        assert!(text.contains(&format!("Your new secret key is: {secret}\n")));
    }
    let path = dir.path().join("hotp");
    let output = enrol(
        &path,
        &["-c", "-u", "-W", "-f", "-Q", "UTF8", "-l", "u@h", "-i", "h"],
        "",
    );
    let uri = parse_key_uri(&assert_qr_matches_uri(&stdout(&output), "UTF8"));
    assert_eq!(uri.kind, "hotp");
    assert_eq!(uri.params["counter"], "1");
    assert_eq!(uri.params["secret"], file_lines(&path)[0]);
    assert!(!uri.params.contains_key("period"));

    // Default 30-second TOTP: the same URI as google-authenticator prints.
    let path = dir.path().join("default");
    let output = enrol(
        &path,
        &[
            "-t", "-D", "-u", "-W", "-f", "-C", "-l", "root@pam", "-i", "pve",
        ],
        "",
    );
    assert_eq!(
        printed_uri(&stdout(&output)),
        format!(
            "otpauth://totp/root@pam?secret={}&issuer=pve",
            file_lines(&path)[0]
        )
    );
    assert!(
        qr_lines(&stdout(&output)).is_empty(),
        "no QR on a pipe unless -Q asks"
    );
}

// ------------------------------------------------------------- --show

#[test]
#[ignore = "needs the reference tools (tests/install-deps.sh): run by tests/run-all.sh"]
fn show_reads_files_written_by_google_authenticator() {
    require_google_authenticator();
    require_program("zbarimg", "zbar-tools");
    let dir = tempfile::tempdir().unwrap();
    let totp = dir.path().join("totp");
    let args = [
        "-t",
        "-D",
        "-u",
        "-W",
        "-f",
        "-C",
        "-q",
        "-S",
        "60",
        "-e",
        "3",
        "-s",
        path_str(&totp),
    ];
    assert_success(&google_authenticator(&args, ""), "google-authenticator");
    let lines = file_lines(&totp);

    let output = rust_totp(
        &[
            "--show",
            "-s",
            path_str(&totp),
            "-Q",
            "UTF8",
            "-l",
            "alice@pam",
            "-i",
            "pve1",
        ],
        "",
    );
    assert_success(&output, "rust-totp --show");
    let text = stdout(&output);
    let uri = parse_key_uri(&assert_qr_matches_uri(&text, "UTF8"));
    assert_eq!(uri.kind, "totp");
    assert_eq!(uri.params["secret"], lines[0]);
    assert_eq!(uri.params["period"], "60");
    assert_eq!(uri.label, "alice@pam");
    assert_eq!(uri.params["issuer"], "pve1");
    for code in lines.iter().filter(|l| is_scratch_code(l)) {
        assert!(
            text.contains(&format!("  {code}\n")),
            "scratch code {code} not shown"
        );
    }
    // The Proxmox VE dialog cannot take a 60-second token.
    let pve = rust_totp(&["--show", "--pve", "-s", path_str(&totp)], "");
    assert_eq!(pve.status.code(), Some(1));

    let hotp = dir.path().join("hotp");
    let args = ["-c", "-u", "-W", "-f", "-q", "-s", path_str(&hotp)];
    assert_success(&google_authenticator(&args, ""), "google-authenticator");
    let output = rust_totp(&["--show", "-s", path_str(&hotp)], "");
    assert_success(&output, "rust-totp --show");
    let uri = parse_key_uri(&printed_uri(&stdout(&output)));
    assert_eq!(uri.kind, "hotp");
    assert_eq!(uri.params["secret"], file_lines(&hotp)[0]);
    assert_eq!(uri.params["counter"], "1");
}

#[test]
fn pve_mode_prints_the_dialog_fields_for_enrolment_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("root");
    let output = enrol(
        &path,
        &[
            "--pve",
            "-D",
            "-u",
            "-W",
            "-f",
            "-C",
            "-i",
            "pve.example.org",
        ],
        "",
    );
    let text = stdout(&output);
    let secret = file_lines(&path)[0].clone();
    assert!(
        option_value(&file_lines(&path), "TOTP_AUTH").is_some(),
        "--pve enrols TOTP"
    );
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    assert!(
        text.contains(&format!("User:        {user}@pam\n")),
        "{text}"
    );
    assert!(text.contains("Issuer Name: pve.example.org\n"), "{text}");
    assert!(text.contains(&format!("Secret:      {secret}\n")), "{text}");
    let printed = printed_uri(&text);
    let uri = parse_key_uri(&printed);
    assert_eq!(uri.label, format!("{user}@pam"));
    let description = format!("{user}@pam on pve.example.org, shared with ssh");
    assert!(
        text.contains(&format!("  Description: {description}\n")),
        "{text}"
    );
    let command = format!(
        "  pvesh create /access/tfa/{user}@pam --type totp --description '{description}' \
         --totp '{printed}' --value CODE\n"
    );
    assert!(text.contains(&command), "{text}");
    assert!(text.contains("with CODE replaced by the code"), "{text}");

    let shown = rust_totp(
        &["--show", "--pve", "-s", path_str(&path), "-l", "admin@pve"],
        "",
    );
    assert_success(&shown, "rust-totp --show --pve");
    let shown = stdout(&shown);
    assert!(shown.contains("User:        admin@pve\n"), "{shown}");
    assert!(
        shown.contains(&format!("Secret:      {secret}\n")),
        "{shown}"
    );
    // -l names the PVE user and the URI's label.
    let shown_uri = format!("otpauth://totp/admin@pve?secret={secret}&issuer=pve.example.org");
    assert!(shown.contains(&format!("--totp '{shown_uri}'")), "{shown}");
    assert!(
        shown.contains("pvesh create /access/tfa/admin@pve "),
        "{shown}"
    );
    // Without -l, --show gives the URI of the enrolment.
    let again = rust_totp(&["--show", "--pve", "-s", path_str(&path)], "");
    assert!(stdout(&again).contains(&command), "{}", stdout(&again));
}

// ---------------------------------------------- --algorithm and --digits

/// The current TOTP code of `secret` from `oathtool --totp=ALGORITHM -d N`.
fn oathtool_totp(secret: &str, algorithm: &str, digits: u32) -> String {
    oathtool(&[
        "-b",
        &format!("--totp={algorithm}"),
        &format!("--digits={digits}"),
        secret,
    ])
}

/// A key enrolled with `--key` and `--algorithm`/`--digits`: its file takes
/// oathtool's codes of that kind through our module, none through Google's
/// (which keeps only the scratch codes), and its printed URI carries the
/// parameters.
#[test]
#[ignore = "needs root and the reference tools (tests/install-deps.sh): run by tests/run-all.sh"]
fn a_given_key_with_another_algorithm_and_digits_works_with_our_module_only() {
    require_pam_tools();
    let key = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let user = TestUser::new();
    let output = rust_totp(
        &[
            "--user",
            &user.name,
            "--key",
            key,
            "--algorithm",
            "sha256",
            "--digits",
            "8",
            "-t",
            "-D",
            "-u",
            "-W",
            "-f",
            "-C",
            "-Q",
            "UTF8",
        ],
        "",
    );
    assert_success(&output, "rust-totp --key --algorithm --digits");
    let uri = parse_key_uri(&printed_uri(&stdout(&output)));
    assert_eq!(uri.params["algorithm"], "SHA256");
    assert_eq!(uri.params["digits"], "8");
    let lines = file_lines(&user.secret_file());
    assert_eq!(option_value(&lines, "ALGORITHM"), Some("SHA256"));
    assert_eq!(option_value(&lines, "DIGITS"), Some("8"));
    let scratch = scratch_codes_of(&lines);

    let ours = user.service(&our_module(), "");
    assert!(ours.accepts(&oathtool_totp(key, "SHA256", 8)));
    let reference = user.service(Path::new(REFERENCE_MODULE), "");
    assert!(!reference.accepts(&oathtool_totp(key, "SHA256", 8)));
    assert!(!reference.accepts(&oathtool_totp(key, "SHA1", 6)));
    assert!(reference.accepts(&scratch[0]));
}

#[test]
#[ignore = "needs the reference tools (tests/install-deps.sh): run by tests/run-all.sh"]
fn algorithm_and_digits_reach_the_file_the_qr_code_and_show_and_match_oathtool() {
    require_program("zbarimg", "zbar-tools");
    require_program("oathtool", "oathtool");
    let dir = tempfile::tempdir().unwrap();
    for (algorithm, digits) in [("SHA256", 8), ("SHA512", 8), ("SHA1", 7), ("SHA512", 6)] {
        let path = dir.path().join(format!("{algorithm}-{digits}"));
        let flags = [
            "-t", "-D", "-u", "-W", "-f", "-Q", "UTF8", "-l", "u@h", "-i", "h",
        ];
        let mut args = flags.to_vec();
        let (algorithm_flag, digits_flag) =
            (format!("--algorithm={algorithm}"), digits.to_string());
        args.extend([algorithm_flag.as_str(), "--digits", &digits_flag]);
        // The secret is only known once printed, so the app's code is typed
        // through a pipe that is fed after the first output.
        let mut child = Command::new(env!("CARGO_BIN_EXE_rust-totp"))
            .args(&args)
            .args(["-s", path_str(&path)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run rust-totp");
        let mut stdout_pipe = child.stdout.take().unwrap();
        let mut seen = Vec::new();
        let secret = loop {
            let mut buf = [0u8; 4096];
            let n = std::io::Read::read(&mut stdout_pipe, &mut buf).unwrap();
            assert!(
                n > 0,
                "no secret printed: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen);
            if let Some(line) = text
                .lines()
                .find(|l| l.starts_with("Your new secret key is: "))
            {
                if text.contains("(-1 to skip)") {
                    break line["Your new secret key is: ".len()..].to_owned();
                }
            }
        };
        let code = oathtool_totp(&secret, algorithm, digits);
        writeln!(child.stdin.take().unwrap(), "{code}").unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout_pipe, &mut rest).unwrap();
        assert!(child.wait().unwrap().success());
        let text = format!("{}{rest}", String::from_utf8_lossy(&seen));
        assert!(
            text.contains("Code confirmed"),
            "oathtool's {code} refused:\n{text}"
        );

        let uri = parse_key_uri(&assert_qr_matches_uri(&text, "UTF8"));
        let default_algorithm = algorithm == "SHA1";
        assert_eq!(
            uri.params.get("algorithm").map(String::as_str),
            (!default_algorithm).then_some(algorithm)
        );
        let digits_param = uri.params.get("digits").map(String::as_str);
        assert_eq!(digits_param, (digits != 6).then_some(digits_flag.as_str()));
        let lines = file_lines(&path);
        assert_eq!(option_value(&lines, "TOTP"), Some(""));
        assert_eq!(option_value(&lines, "TOTP_AUTH"), None);
        assert_eq!(
            option_value(&lines, "ALGORITHM"),
            (!default_algorithm).then_some(algorithm)
        );

        let shown = rust_totp(
            &["--show", "--pve", "-Q", "UTF8", "-s", path_str(&path)],
            "",
        );
        assert_success(&shown, "rust-totp --show");
        let shown = stdout(&shown);
        let shown_uri = parse_key_uri(&assert_qr_matches_uri(&shown, "UTF8"));
        assert_eq!(
            shown_uri.params.get("algorithm"),
            uri.params.get("algorithm")
        );
        assert_eq!(shown_uri.params.get("digits"), uri.params.get("digits"));
        assert!(
            shown.contains(&format!(
                "Algorithm:   {algorithm}\n  Digits:      {digits}\n"
            )),
            "{shown}"
        );
        assert!(
            shown.contains(&format!("Format:      {digits} digits, HMAC-{algorithm}\n")),
            "{shown}"
        );
    }
}

#[test]
#[ignore = "needs the reference tools (tests/install-deps.sh): run by tests/run-all.sh"]
fn an_eight_digit_hotp_enrolment_shows_oathtools_first_code() {
    require_program("oathtool", "oathtool");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hotp");
    let output = enrol(&path, &["-c", "-u", "-W", "-f", "-C", "--digits", "8"], "");
    let secret = file_lines(&path)[0].clone();
    let code = oathtool(&["-b", "--hotp", "--digits=8", "-c", "1", &secret]);
    assert!(
        stdout(&output).contains(&format!("Your verification code for code 1 is {code}\n")),
        "{}",
        stdout(&output)
    );
    assert_eq!(option_value(&file_lines(&path), "HOTP"), Some("1"));
    assert!(printed_uri(&stdout(&output)).ends_with("&counter=1&digits=8"));
}

#[test]
fn unknown_algorithms_and_digit_counts_exit_2_naming_the_value_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file");
    for (flags, named) in [
        (&["--algorithm", "MD5"][..], "MD5"),
        (&["--digits", "9"], "9"),
        (&["--digits", "5"], "5"),
    ] {
        let mut args = vec!["-t", "-D", "-u", "-W", "-f", "-C", "-s", path_str(&path)];
        args.extend_from_slice(flags);
        let output = rust_totp(&args, "");
        assert_eq!(output.status.code(), Some(2), "{flags:?}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains(named), "{flags:?}: {message}");
        assert!(!path.exists(), "{flags:?} wrote a file");
    }
}

#[test]
fn keygen_prints_sixteen_base32_characters() {
    let first = rust_totp(&["--keygen"], "");
    assert_success(&first, "rust-totp --keygen");
    let key = stdout(&first);
    let key = key.strip_suffix('\n').expect("one line");
    assert_eq!(key.len(), 16);
    assert_eq!(BASE32_NOPAD.decode(key.as_bytes()).unwrap().len(), 10);
    assert_ne!(stdout(&rust_totp(&["--keygen"], "")), stdout(&first));
}

// ------------------------------------------------------- writing rules

#[test]
fn default_file_is_in_home() {
    let home = tempfile::tempdir().unwrap();
    let output = run_with_input(
        env!("CARGO_BIN_EXE_rust-totp"),
        &["-t", "-D", "-u", "-W", "-f", "-C", "-q"],
        "",
        &[("HOME", home.path())],
    );
    assert_success(&output, "rust-totp with HOME");
    let lines = file_lines(&home.path().join(".google_authenticator"));
    assert_eq!(lines[1..3], ["\" WINDOW_SIZE 3", "\" TOTP_AUTH"]);
    assert_eq!(output.stdout, b"", "-q prints nothing");
}

#[test]
fn existing_file_is_kept_unless_confirmed_or_forced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    fs::write(&path, "OLD\n").unwrap();
    let flags = ["-t", "-D", "-u", "-W", "-C", "-q", "-s", path_str(&path)];

    let declined = rust_totp(&flags, "n\n");
    assert_eq!(declined.status.code(), Some(0));
    let no_answer = rust_totp(&flags, "");
    assert_eq!(no_answer.status.code(), Some(1));
    assert_eq!(fs::read_to_string(&path).unwrap(), "OLD\n");

    assert_success(&rust_totp(&flags, "y\n"), "rust-totp answered yes");
    assert_eq!(
        file_lines(&path).len(),
        10,
        "secret, 2 options, label, issuer, 5 codes"
    );
    let mut forced = flags.to_vec();
    forced.push("-f");
    let before = fs::read_to_string(&path).unwrap();
    assert_success(&rust_totp(&forced, ""), "rust-totp -f");
    assert_ne!(fs::read_to_string(&path).unwrap(), before);
    assert_eq!(
        names_in(dir.path()),
        ["secret", "secret.lock"],
        "no temporary file left"
    );
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A temporary copy of a secret left by a killed enrolment or login is
/// removed by the next enrolment, which writes through the same store.
#[test]
fn enrolment_removes_temporary_files_left_by_a_killed_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    fs::write(&path, "OLD\n").unwrap();
    let leftover = dir.path().join("secret~Kx9Qa2");
    fs::write(&leftover, "JBSWY3DPEHPK3PXP\n\" TOTP_AUTH\n").unwrap();
    let unrelated = dir.path().join("secret~notmine");
    fs::write(&unrelated, "kept").unwrap();

    enrol(&path, &["-t", "-D", "-u", "-W", "-f", "-C", "-q"], "");
    assert_eq!(
        names_in(dir.path()),
        ["secret", "secret.lock", "secret~notmine"]
    );
    assert_eq!(
        file_lines(&path).len(),
        10,
        "secret, 2 options, label, issuer, 5 codes"
    );
}

#[test]
fn bad_command_lines_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    let target = path_str(&path);
    let cases: &[&[&str]] = &[
        &["-x"],
        &["--no-such-flag"],
        &["-w", "0"],
        &["-w", "22"],
        &["-S", "0"],
        &["-S", "61"],
        &["-e", "1000"],
        &["-e", "-1"],
        &["-r", "0", "-R", "30"],
        &["-r", "3", "-R", "601"],
        &["-r", "3"],
        &["-t", "-c"],
        &["-d"],
        &["-c", "-D"],
        &["-u", "-r", "3", "-R", "30"],
        &["-W", "-w", "3"],
        &["-f", "-f"],
        &["-Q", "PNG"],
        &["--show", "-t"],
        &["--keygen", "-t"],
        &["--pve", "-c"],
        &["--pve", "-S", "60"],
        &["stray-argument"],
        &["--key", "JBSWY3DPEHPK3PX1"],
        &["--key", "JBSWY3DP"],
        &["--qr-file", "qr.jpg"],
        &["--user", "rt-no-such-user"],
        &["--user", ""],
        &["--reset", "-e", "3"],
        &["--new-scratch-codes", "--qr-file", "x.png"],
        &["--show", "--new-scratch-codes"],
        &["--keygen", "--user", "root"],
    ];
    for flags in cases {
        let mut args = vec!["-f", "-C", "-s", target];
        args.extend_from_slice(flags);
        let output = rust_totp(&args, "y\ny\ny\ny\ny\n");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?}: no message");
        assert!(
            output.stdout.is_empty(),
            "{args:?}: printed {}",
            stdout(&output)
        );
        assert!(!path.exists(), "{args:?} wrote a file");
    }

    let not_a_dir = dir.path().join("plain-file");
    fs::write(&not_a_dir, "").unwrap();
    for unwritable in [
        dir.path().join("missing-dir/secret"),
        not_a_dir.join("secret"),
        dir.path().to_owned(),
    ] {
        let args = [
            "-t",
            "-D",
            "-u",
            "-W",
            "-f",
            "-C",
            "-s",
            path_str(&unwritable),
        ];
        let output = rust_totp(&args, "");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(
            message.contains(path_str(&unwritable)) || message.contains("directory"),
            "{message}"
        );
        assert!(
            output.stdout.is_empty(),
            "secret shown although it cannot be saved"
        );
    }
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the plain file"
    );
}

// ------------------------------------------- the life of a token: helpers

/// Our module, as `cargo test` builds it next to the test executable.
fn our_module() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let module = exe.with_file_name("libpam_rust_totp.so");
    if !module.is_file() {
        unavailable(&format!(
            "{} missing (built by cargo test --workspace)",
            module.display()
        ));
    }
    module
}

/// Both modules, to check a file with each.
fn both_modules() -> [PathBuf; 2] {
    [PathBuf::from(REFERENCE_MODULE), our_module()]
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("host name")
        .trim()
        .to_owned()
}

/// A user made for one test with `useradd -m`, removed with its home when
/// dropped.
struct TestUser {
    name: String,
    uid: u32,
    gid: u32,
    home: PathBuf,
}

impl TestUser {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "rtlife{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        retry_account_tool("useradd", &["-m", "-s", "/bin/sh", &name]);
        let user = nix::unistd::User::from_name(&name)
            .expect("look up the new user")
            .expect("the new user exists");
        Self {
            name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            home: user.dir,
        }
    }

    fn secret_file(&self) -> PathBuf {
        self.home.join(".google_authenticator")
    }

    /// A service with `module` and its default `~/.google_authenticator`.
    fn service(&self, module: &Path, arguments: &str) -> PamService {
        PamService::with_module(module, arguments, &self.name)
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        retry_account_tool("userdel", &["-r", &self.name]);
    }
}

/// Runs useradd or userdel, again while another process holds the
/// account files' lock.
fn retry_account_tool(program: &str, args: &[&str]) {
    for _ in 0..50 {
        let output = run_with_input(program, args, "", &[]);
        if output.status.success() {
            return;
        }
        let message = String::from_utf8_lossy(&output.stderr);
        if !message.contains("lock") {
            // userdel -r warns about a missing mail spool; the user is gone.
            if program == "userdel" && message.contains("mail spool") {
                return;
            }
            panic!("{program} {args:?} failed: {message}");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("{program} {args:?}: the account files stayed locked");
}

/// The current TOTP code of a base32 secret.
fn totp_code(secret: &str) -> String {
    oathtool(&["-b", "--totp", secret])
}

fn scratch_codes_of(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| is_scratch_code(l))
        .cloned()
        .collect()
}

fn without_scratch_codes(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| !is_scratch_code(l))
        .cloned()
        .collect()
}

/// The eight-digit codes printed as indented lines.
fn printed_scratch_codes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("  "))
        .filter(|code| is_scratch_code(code))
        .map(str::to_owned)
        .collect()
}

/// Owner, group and permission bits of `path`.
fn ownership(path: &Path) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (meta.uid(), meta.gid(), meta.mode() & 0o7777)
}

fn assert_exit_2(output: &Output, what: &str) -> String {
    assert_eq!(
        output.status.code(),
        Some(2),
        "{what}: stdout {}, stderr {}",
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    );
    let message = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        message.starts_with("rust-totp: ") || message.starts_with("error: "),
        "{what}: {message}"
    );
    message
}

// --------------------------------------------------- enrolment for a user

#[test]
#[ignore = "needs root, test users and the system test tools: run by tests/run-all.sh"]
fn files_enrolled_for_another_user_are_theirs_and_accepted_by_both_modules() {
    require_pam_tools();
    let user = TestUser::new();
    let path = user.secret_file();
    for module in both_modules() {
        let flags = [
            "--user", &user.name, "-t", "-d", "-u", "-w", "3", "-e", "2", "-f", "-C", "-q",
        ];
        let output = rust_totp(&flags, "");
        assert_success(&output, "rust-totp --user");
        assert!(
            output.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(ownership(&path), (user.uid, user.gid, 0o400));
        let lock = user.home.join(".google_authenticator.lock");
        assert_eq!(ownership(&lock).0, user.uid, "the lock file is the user's");
        let lines = file_lines(&path);
        assert_eq!(lines[0].len(), 32, "160-bit secret");
        let label = format!("\" OTPAUTH_LABEL {}@{}", user.name, hostname());
        assert!(lines.contains(&label), "{lines:?}");

        let service = user.service(&module, "");
        let code = totp_code(&lines[0]);
        assert!(service.accepts(&code), "{}: code refused", module.display());
        assert!(!service.accepts(&code), "{}: reused code", module.display());
        let scratch = &scratch_codes_of(&lines)[0];
        assert!(
            service.accepts(scratch),
            "{}: scratch code",
            module.display()
        );
    }

    let output = rust_totp(&["--user", "rt-no-such-user", "-tdfCq", "-u", "-W"], "");
    assert!(assert_exit_2(&output, "unknown user").contains("no user \"rt-no-such-user\""));

    // Root writing into the user's home without --user is told to use it.
    let stray = user.home.join("stray");
    let output = rust_totp(
        &[
            "-s",
            path_str(&stray),
            "-t",
            "-D",
            "-u",
            "-W",
            "-f",
            "-C",
            "-q",
        ],
        "",
    );
    assert_success(&output, "rust-totp -s in another user's home");
    let warning = String::from_utf8_lossy(&output.stderr);
    assert!(
        warning.contains(&format!("use --user {}", user.name)),
        "{warning}"
    );
    assert_eq!(ownership(&stray).0, 0);
}

#[test]
#[ignore = "needs root and a test user: run by tests/run-all.sh"]
fn only_root_acts_for_another_user() {
    let user = TestUser::new();
    // A copy of the program that the user can run.
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let program = dir.path().join("rust-totp");
    fs::copy(env!("CARGO_BIN_EXE_rust-totp"), &program).unwrap();
    let as_user = |args: &[&str]| {
        let mut all = vec![
            format!("--reuid={}", user.uid),
            format!("--regid={}", user.gid),
            "--clear-groups".to_owned(),
            path_str(&program).to_owned(),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        run_with_input("setpriv", &all, "", &[("HOME", &user.home)])
    };
    let output = as_user(&["--user", "root", "-t", "-D", "-u", "-W", "-f", "-C", "-q"]);
    assert!(assert_exit_2(&output, "--user root as a user").contains("only root"));
    // One's own name is fine.
    let output = as_user(&[
        "--user", &user.name, "-t", "-D", "-u", "-W", "-f", "-C", "-q",
    ]);
    assert_success(&output, "--user self");
    assert_eq!(ownership(&user.secret_file()), (user.uid, user.gid, 0o400));
}

// ------------------------------------------------------------- --key

#[test]
#[ignore = "needs root, test users and the system test tools: run by tests/run-all.sh"]
fn a_given_key_is_enrolled_unprinted_and_its_codes_pass_both_modules() {
    require_pam_tools();
    let keygen = rust_totp(&["--keygen"], "");
    assert_success(&keygen, "rust-totp --keygen");
    let key = stdout(&keygen).trim().to_owned();
    // As copied from a dialog that shows it in groups, in lower case.
    let typed: String = key
        .to_lowercase()
        .as_bytes()
        .chunks(4)
        .map(|group| std::str::from_utf8(group).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let user = TestUser::new();
    for module in both_modules() {
        let output = rust_totp(
            &[
                "--user", &user.name, "--key", &typed, "-t", "-D", "-u", "-W", "-f", "-C",
            ],
            "",
        );
        assert_success(&output, "rust-totp --key");
        let text = stdout(&output);
        assert!(
            !text.contains(&key) && !text.contains("otpauth://"),
            "{text}"
        );
        let lines = file_lines(&user.secret_file());
        assert_eq!(lines[0], key);
        let service = user.service(&module, "");
        assert!(service.accepts(&totp_code(&key)), "{}", module.display());
    }

    // Asked for with -Q, the key and its URI are shown.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    let output = enrol(
        &path,
        &[
            "--key", &key, "-t", "-D", "-u", "-W", "-f", "-C", "-Q", "UTF8",
        ],
        "",
    );
    let text = stdout(&output);
    assert!(
        text.contains(&format!("Your secret key is: {key}\n")),
        "{text}"
    );
    assert_eq!(parse_key_uri(&printed_uri(&text)).params["secret"], key);

    // Bad keys: exit 2, the existing file untouched.
    let before = fs::read(&path).unwrap();
    for bad in [
        "JBSWY3DPEHPK3PX1",
        "JBSWY3DPEHPK",
        "not a key!",
        "",
        "JBSWY3DPEHPK3PXP=X",
    ] {
        let output = rust_totp(
            &[
                "--key",
                bad,
                "-t",
                "-D",
                "-u",
                "-W",
                "-f",
                "-C",
                "-s",
                path_str(&path),
            ],
            "",
        );
        let message = assert_exit_2(&output, bad);
        assert!(message.contains("--key"), "{message}");
        assert!(
            bad.is_empty() || !message.contains(bad),
            "the key is echoed: {message}"
        );
        assert!(output.stdout.is_empty());
        assert_eq!(fs::read(&path).unwrap(), before, "{bad:?} changed the file");
    }
}

// ---------------------------------------------- --new-scratch-codes, --reset

#[test]
#[ignore = "needs root, test users and the system test tools: run by tests/run-all.sh"]
fn new_scratch_codes_replace_only_the_codes_and_the_old_ones_stop_working() {
    require_pam_tools();
    let ours = our_module();
    let user = TestUser::new();
    let path = user.secret_file();
    let flags = [
        "--user", &user.name, "-t", "-d", "-r", "10", "-R", "60", "-w", "3", "-e", "3", "-f", "-C",
        "-q",
    ];
    assert_success(&rust_totp(&flags, ""), "enrol");
    let old = scratch_codes_of(&file_lines(&path));
    let reference = user.service(Path::new(REFERENCE_MODULE), "");
    let ours_service = user.service(&ours, "");
    // The C module uses one up and rewrites the file first.
    assert!(reference.accepts(&old[0]));
    let before = file_lines(&path);

    let output = rust_totp(
        &["--new-scratch-codes", "--user", &user.name, "-e", "4"],
        "",
    );
    assert_success(&output, "rust-totp --new-scratch-codes");
    let new = printed_scratch_codes(&stdout(&output));
    let after = file_lines(&path);
    assert_eq!(new.len(), 4, "{}", stdout(&output));
    assert_eq!(scratch_codes_of(&after), new);
    assert_eq!(
        without_scratch_codes(&after),
        without_scratch_codes(&before)
    );
    assert_eq!(ownership(&path), (user.uid, user.gid, 0o400));
    assert_eq!(
        ownership(&user.home.join(".google_authenticator.lock")).0,
        user.uid
    );

    for code in &old[1..] {
        assert!(
            !reference.accepts(code),
            "old code {code} still works (reference)"
        );
        assert!(
            !ours_service.accepts(code),
            "old code {code} still works (ours)"
        );
    }
    assert!(
        reference.accepts(&new[0]),
        "new code refused by the reference module"
    );
    assert!(ours_service.accepts(&new[1]), "new code refused by ours");
    assert_eq!(scratch_codes_of(&file_lines(&path)), new[2..]);
    assert!(ours_service.accepts(&totp_code(&after[0])), "same secret");

    // Bad input: exit 2, nothing written.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let output = rust_totp(&["--new-scratch-codes", "-s", path_str(&missing)], "");
    assert!(assert_exit_2(&output, "missing file").contains("does not exist"));
    assert!(!missing.exists());
    let broken = dir.path().join("broken");
    fs::write(&broken, "not base32!\n\" TOTP_AUTH\n12345678\n").unwrap();
    fs::set_permissions(&broken, fs::Permissions::from_mode(0o600)).unwrap();
    for args in [
        &["--new-scratch-codes", "-s", path_str(&broken)][..],
        &["--reset", "-s", path_str(&broken)],
    ] {
        let message = assert_exit_2(&rust_totp(args, ""), "broken file");
        assert!(message.contains("not a valid secret file"), "{message}");
        assert_eq!(
            fs::read_to_string(&broken).unwrap(),
            "not base32!\n\" TOTP_AUTH\n12345678\n"
        );
    }
    let before = fs::read(&path).unwrap();
    for args in [
        &["--new-scratch-codes", "--user", "rt-no-such-user"][..],
        &["--reset", "--user", "rt-no-such-user"],
        &["--new-scratch-codes", "--user", &user.name, "-e", "11"],
        &["--new-scratch-codes", "--user", &user.name, "-t"],
        &["--reset", "--user", &user.name, "-e", "3"],
    ] {
        assert_exit_2(&rust_totp(args, ""), &format!("{args:?}"));
        assert_eq!(fs::read(&path).unwrap(), before, "{args:?}");
    }
    // Root without --user: the file is the user's, and root is told so.
    let output = rust_totp(&["--reset", "-s", path_str(&path)], "");
    let message = assert_exit_2(&output, "root without --user");
    assert!(
        message.contains(&format!("use --user {}", user.name)),
        "{message}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
#[ignore = "needs root, test users and the system test tools: run by tests/run-all.sh"]
fn reset_unlocks_a_user_and_keeps_secret_options_and_scratch_codes() {
    require_pam_tools();
    let ours = our_module();
    let user = TestUser::new();
    let path = user.secret_file();
    let flags = [
        "--user", &user.name, "-t", "-d", "-r", "1", "-R", "600", "-w", "3", "-e", "2", "-f", "-C",
        "-q",
    ];
    assert_success(&rust_totp(&flags, ""), "enrol");
    let enrolled = file_lines(&path);
    let ours_service = user.service(&ours, "grace_period=600");
    let reference = user.service(Path::new(REFERENCE_MODULE), "");
    assert!(ours_service.accepts_from(&totp_code(&enrolled[0]), Some("192.0.2.7")));
    // One login per 600 seconds: now even a scratch code is refused.
    let scratch = scratch_codes_of(&enrolled)[0].clone();
    assert!(!reference.accepts(&scratch), "the rate limit did not hold");
    let locked = file_lines(&path);
    assert_ne!(
        option_value(&locked, "RATE_LIMIT"),
        Some("1 600"),
        "{locked:?}"
    );
    assert_ne!(
        option_value(&locked, "DISALLOW_REUSE"),
        Some(""),
        "{locked:?}"
    );
    assert!(option_value(&locked, "LAST0").is_some(), "{locked:?}");

    let output = rust_totp(&["--reset", "--user", &user.name], "");
    assert_success(&output, "rust-totp --reset");
    let report = stdout(&output);
    for cleared in ["rate limit:", "used codes", "grace-period records: 1"] {
        assert!(report.contains(cleared), "{report}");
    }
    let after = file_lines(&path);
    assert_eq!(option_value(&after, "RATE_LIMIT"), Some("1 600"));
    assert_eq!(option_value(&after, "DISALLOW_REUSE"), Some(""));
    assert!(after.iter().all(|l| !l.starts_with("\" LAST")), "{after:?}");
    assert_eq!(
        after, enrolled,
        "back to the enrolled file: secret, options and scratch codes kept"
    );
    assert_eq!(ownership(&path), (user.uid, user.gid, 0o400));
    assert!(
        reference.accepts(&scratch),
        "still locked out after --reset"
    );

    let again = rust_totp(&["--reset", "--user", &user.name], "");
    assert_success(&again, "second --reset");
    assert!(
        stdout(&again).contains("rate limit: 1"),
        "{}",
        stdout(&again)
    );
}

// ------------------------------------------------------- --show, --qr-file

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn show_prints_the_enrolment_uri_also_after_the_c_module_rewrote_the_file() {
    require_pam_tools();
    require_program("zbarimg", "zbar-tools");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("root");
    let flags = [
        "-t",
        "-d",
        "-u",
        "-W",
        "-e",
        "2",
        "-f",
        "-C",
        "-Q",
        "UTF8",
        "-l",
        "Jane Doe/ops@host",
        "-i",
        "Ops & Co",
    ];
    let uri = assert_qr_matches_uri(&stdout(&enrol(&path, &flags, "")), "UTF8");
    let show = || {
        let output = rust_totp(&["--show", "-s", path_str(&path), "-Q", "UTF8_GREY"], "");
        assert_success(&output, "rust-totp --show");
        assert_qr_matches_uri(&stdout(&output), "UTF8")
    };
    assert_eq!(show(), uri);

    let enrolled = file_lines(&path);
    let service = PamService::new(dir.path());
    assert!(service.accepts(&totp_code(&enrolled[0])));
    assert!(service.accepts(&scratch_codes_of(&enrolled)[0]));
    let rewritten = file_lines(&path);
    assert_ne!(rewritten, enrolled, "the C module rewrote the file");
    assert_eq!(
        rewritten
            .iter()
            .filter(|l| l.starts_with("\" OTPAUTH_"))
            .count(),
        2,
        "{rewritten:?}"
    );
    assert_eq!(show(), uri, "same URI after the C module's rewrite");

    let output = rust_totp(
        &["--show", "-s", path_str(&path), "-l", "x@y", "-i", "z"],
        "",
    );
    let other = parse_key_uri(&printed_uri(&stdout(&output)));
    assert_eq!(
        (other.label.as_str(), other.params["issuer"].as_str()),
        ("x@y", "z")
    );
}

#[test]
#[ignore = "needs zbarimg (tests/install-deps.sh): run by tests/run-all.sh"]
fn qr_files_are_png_or_svg_images_of_the_uri_and_never_replace_a_file_unasked() {
    require_program("zbarimg", "zbar-tools");
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    let png = dir.path().join("enrol.png");
    let output = enrol(
        &secret,
        &[
            "-t",
            "-D",
            "-u",
            "-W",
            "-f",
            "-C",
            "--qr-file",
            path_str(&png),
        ],
        "",
    );
    let uri = printed_uri(&stdout(&output));
    assert_eq!(zbar_decode(&png), uri);
    assert_eq!(ownership(&png).2, 0o600);

    let svg = dir.path().join("show.SVG");
    let output = rust_totp(
        &[
            "--show",
            "-s",
            path_str(&secret),
            "--qr-file",
            path_str(&svg),
        ],
        "",
    );
    assert_success(&output, "rust-totp --show --qr-file");
    assert_eq!(zbar_decode(&svg), uri, "the SVG of --show");
    assert_eq!(ownership(&svg).2, 0o600);

    let keygen_svg = dir.path().join("key.svg");
    let output = rust_totp(&["--keygen", "--qr-file", path_str(&keygen_svg)], "");
    assert_success(&output, "rust-totp --keygen --qr-file");
    assert_eq!(zbar_decode(&keygen_svg), printed_uri(&stdout(&output)));

    // An existing file is kept unless -f (which in an enrolment also
    // replaces the secret file without asking), and nothing else is written.
    let existing = dir.path().join("existing.png");
    fs::write(&existing, "keep").unwrap();
    let other_secret = dir.path().join("other");
    let output = rust_totp(
        &[
            "-t",
            "-D",
            "-u",
            "-W",
            "-C",
            "-s",
            path_str(&other_secret),
            "--qr-file",
            path_str(&existing),
        ],
        "y\n",
    );
    assert!(assert_exit_2(&output, "existing image").contains("-f"));
    assert!(!other_secret.exists(), "the secret file was written");
    assert!(output.stdout.is_empty(), "the secret was shown");
    let show_existing = [
        "--show",
        "-s",
        path_str(&secret),
        "--qr-file",
        path_str(&existing),
    ];
    assert_exit_2(&rust_totp(&show_existing, ""), "existing image");
    assert_eq!(fs::read_to_string(&existing).unwrap(), "keep");
    let mut forced = show_existing.to_vec();
    forced.push("-f");
    assert_success(&rust_totp(&forced, ""), "--qr-file -f");
    assert_eq!(zbar_decode(&existing), uri);

    let a_dir = dir.path().join("dir.svg");
    fs::create_dir(&a_dir).unwrap();
    for bad in [
        dir.path().join("no-such-dir/x.png"),
        a_dir,
        dir.path().join("x.gif"),
    ] {
        let output = rust_totp(
            &[
                "-t",
                "-D",
                "-u",
                "-W",
                "-C",
                "-s",
                path_str(&other_secret),
                "--qr-file",
                path_str(&bad),
            ],
            "y\n",
        );
        assert_exit_2(&output, path_str(&bad));
        assert!(!other_secret.exists(), "{}", bad.display());
    }
    assert_eq!(
        names_in(dir.path()),
        [
            "dir.svg",
            "enrol.png",
            "existing.png",
            "key.svg",
            "secret",
            "secret.lock",
            "show.SVG"
        ]
    );
}

// ------------------------------------------------ on a pseudo-terminal

/// A program on a pseudo-terminal, driven like a person at a terminal: its
/// output is read by a thread, and answers are typed into the terminal.
struct Terminal {
    child: std::process::Child,
    input: fs::File,
    chunks: std::sync::mpsc::Receiver<Vec<u8>>,
    output: Vec<u8>,
    /// How much of `output` earlier calls of `expect` consumed.
    seen: usize,
}

impl Terminal {
    fn spawn(program: &str, args: &[&str]) -> Self {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let slave = pty.slave;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::from(slave.try_clone().expect("dup")))
            .stdout(Stdio::from(slave.try_clone().expect("dup")))
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        // The Command and its copies of the slave are gone: the reader sees
        // the end once the child has exited.
        let master = fs::File::from(pty.master);
        let mut reader = master.try_clone().expect("dup");
        let (sender, chunks) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = reader.read(&mut buffer) {
                if sender.send(buffer[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            input: master,
            chunks,
            output: Vec::new(),
            seen: 0,
        }
    }

    /// Waits for `text`; returns the output from the end of the previous
    /// match up to and including it.
    fn expect(&mut self, text: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(at) = self.output[self.seen..]
                .windows(text.len())
                .position(|w| w == text.as_bytes())
            {
                let end = self.seen + at + text.len();
                let part = String::from_utf8_lossy(&self.output[self.seen..end]).into_owned();
                self.seen = end;
                return part;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.output.extend_from_slice(&chunk),
                Err(_) => panic!(
                    "no {text:?} on the terminal; after the last match:\n{}",
                    String::from_utf8_lossy(&self.output[self.seen..])
                ),
            }
        }
    }

    fn type_line(&mut self, line: &str) {
        self.input
            .write_all(format!("{line}\n").as_bytes())
            .expect("type into the terminal");
    }

    /// Waits for the program to exit; returns its status and everything
    /// it wrote.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().expect("wait");
        while let Ok(chunk) = self.chunks.recv_timeout(std::time::Duration::from_secs(5)) {
            self.output.extend_from_slice(&chunk);
        }
        (status, String::from_utf8_lossy(&self.output).into_owned())
    }
}

/// The runs of exactly six digits in `text`.
fn six_digit_numbers(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() == 6)
        .map(str::to_owned)
        .collect()
}

#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn interactive_enrolment_on_a_terminal_never_shows_the_expected_code() {
    require_pam_tools();
    require_program("zbarimg", "zbar-tools");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("root");
    let mut terminal = Terminal::spawn(env!("CARGO_BIN_EXE_rust-totp"), &["-s", path_str(&path)]);
    terminal.expect("time-based (TOTP)?");
    terminal.expect("(y/n) ");
    terminal.type_line("y");
    let shown = terminal.expect("Enter the code from the app (-1 to skip): ");
    // On a terminal the QR code is drawn without being asked for.
    let uri = assert_qr_matches_uri(&shown, "ANSI");
    let secret = parse_key_uri(&uri).params["secret"].clone();
    assert!(
        shown.contains(&format!("Your new secret key is: {secret}")),
        "{shown}"
    );

    let key = BASE32_NOPAD.decode(secret.as_bytes()).unwrap();
    let now = time_step(unix_now(), 30);
    let wrong = wrong_code(&key, now.saturating_sub(25)..=now + 25);
    terminal.type_line(&wrong);
    let answer = terminal.expect("Try again.");
    let reply = answer
        .split_once(&wrong)
        .map_or(answer.as_str(), |(_, after)| after);
    assert!(reply.contains("Code incorrect"), "{answer}");
    assert_eq!(
        six_digit_numbers(reply),
        Vec::<String>::new(),
        "a code was shown: {reply}"
    );
    terminal.expect("Enter the code from the app (-1 to skip): ");
    terminal.type_line(&totp_code(&secret));
    terminal.expect("Code confirmed");
    terminal.expect(&format!("Write the new secret to \"{}\"?", path.display()));
    terminal.expect("(y/n) ");
    terminal.type_line("y");
    for answer in ["y", "n", "y"] {
        terminal.expect("(y/n) ");
        terminal.type_line(answer);
    }
    let (status, all) = terminal.finish();
    assert!(status.success(), "{status}:\n{all}");
    assert!(!all.contains("current code is"), "{all}");

    let lines = file_lines(&path);
    assert_eq!(lines[0], secret);
    assert_eq!(option_value(&lines, "RATE_LIMIT"), Some("3 30"));
    assert!(option_value(&lines, "DISALLOW_REUSE").is_some());
    assert_eq!(option_value(&lines, "WINDOW_SIZE"), None);
    let service = PamService::new(dir.path());
    assert!(service.accepts(&totp_code(&secret)), "{lines:?}");
}
