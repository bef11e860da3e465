//! Hostile names in the log and the largest file the module accepts.

use super::{PAM_AUTH_ERR, PAM_SUCCESS, SECRET, Setup, log_capture, parse_results, run_bounded};

/// Characters that can make one log line look like two, or reorder what a
/// reader sees: line and paragraph separators and the bidirectional
/// controls.
const INVISIBLE_BREAKERS: [char; 11] = [
    '\u{2028}', '\u{2029}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}',
    '\u{2067}', '\u{2068}', '\u{2069}',
];

/// A user or remote host name carrying those characters never brings them
/// into the log: they are escaped like control characters.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn hostile_unicode_in_user_and_host_names_is_escaped_in_the_log() {
    let logs = log_capture::start();
    let setup = Setup::new("rt-hostile-names", "rt_alice", &[]);
    setup.write_state(&format!("{SECRET}\n\" TOTP_AUTH\n22222222\n"));
    let hostile: String = INVISIBLE_BREAKERS.iter().collect();
    let fake_user = format!("rt_nobody{hostile}Accepted root");
    let fake_host = format!("192.0.2.1{hostile}\u{202E}gro.elpmaxe");
    for (user, host) in [(fake_user.as_str(), "192.0.2.1"), ("rt_alice", &fake_host)] {
        let mut command = setup.race_command(0, "000000", None);
        command.args(["--user", user, "--rhost", host]);
        assert_eq!(
            parse_results(&run_bounded(command)),
            vec![(PAM_AUTH_ERR, 1)],
            "{user:?} from {host:?}"
        );
    }
    let lines = logs.lines_for("rt-hostile-names(pam_rust_totp)");
    let refusals = lines.iter().filter(|l| l.contains("Refused")).count();
    assert_eq!(refusals, 2, "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|line| !line.contains(INVISIBLE_BREAKERS.as_slice())),
        "unescaped separators or bidi controls in {lines:?}"
    );
}

/// The costliest file to parse: 64 KiB of distinct option names, each line
/// a name the module must keep. A login with a scratch code works and the
/// rewrite keeps every other line.
#[test]
#[ignore = "needs root and the system test tools: run by tests/run-all.sh"]
fn a_file_of_thousands_of_distinct_options_is_handled_whole() {
    let setup = Setup::new("rt-worst-case", "rt_alice", &[]);
    let names = option_names().take_while({
        let mut budget = 65_536 - SECRET.len() - 1 - "\" TOTP_AUTH\n22222222\n".len();
        move |name| {
            let needed = name.len() + 3;
            let fits = needed <= budget;
            budget = budget.saturating_sub(needed);
            fits
        }
    });
    let options: String = names.map(|name| format!("\" {name}\n")).collect();
    let before = format!("{SECRET}\n{options}\" TOTP_AUTH\n22222222\n");
    assert!(before.len() <= 65_536 && options.lines().count() > 10_000);
    setup.write_state(&before);
    assert_eq!(setup.login("22222222"), PAM_SUCCESS);
    assert_eq!(setup.state(), format!("{SECRET}\n{options}\" TOTP_AUTH\n"));
}

/// Option names over `[A-Z0-9_]`, shortest first.
fn option_names() -> impl Iterator<Item = String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    let letter = |i: usize| char::from(ALPHABET[i % ALPHABET.len()]);
    let n = ALPHABET.len();
    let one = (0..n).map(move |a| letter(a).to_string());
    let two = (0..n * n).map(move |i| [letter(i / n), letter(i)].iter().collect());
    let three = (0..n * n * n).map(move |i| {
        [letter(i / (n * n)), letter(i / n), letter(i)]
            .iter()
            .collect()
    });
    one.chain(two).chain(three)
}
