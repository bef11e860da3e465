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
/// `secret=<dir>/${USER}`; removed when dropped.
struct PamService {
    name: String,
    path: PathBuf,
}

impl PamService {
    fn new(secret_dir: &Path) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "rt-cli-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = Path::new("/etc/pam.d").join(&name);
        let rule = format!(
            "auth required {REFERENCE_MODULE} secret={}/${{USER}}\n",
            secret_dir.display()
        );
        fs::write(&path, rule).expect("write PAM service file");
        Self { name, path }
    }

    /// Whether `pamtester` authenticates root with `answer`.
    fn accepts(&self, answer: &str) -> bool {
        let output = run_with_input(
            "pamtester",
            &[&self.name, "root", "authenticate"],
            &format!("{answer}\n"),
            &[],
        );
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
/// checking their form.
fn structure(path: &Path) -> Vec<String> {
    let lines = file_lines(path);
    let mode = fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o400, "{} has mode {mode:o}", path.display());
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                assert_eq!(line.len(), 26, "secret {line:?}");
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
    assert_eq!(
        structure(&ours),
        structure(&theirs),
        "flags {flags:?}, answers {input:?}"
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
    for (i, mode) in ["UTF8", "ANSI", "UTF8_INVERSE", "ansi_inverse"]
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
    let uri = parse_key_uri(&printed_uri(&text));
    assert_eq!(uri.label, format!("{user}@pam"));

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
    assert_eq!(file_lines(&path).len(), 8);
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
    assert_eq!(file_lines(&path).len(), 8);
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
