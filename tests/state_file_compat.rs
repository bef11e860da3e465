//! Files written by Debian's `google-authenticator` enrolment command parse,
//! read back the settings they were written with, and serialize to exactly
//! the same bytes.

mod common;

use common::codes::reference_enrolment;
use rust_totp_core::state_file::StateFile;

/// Settings a file written with some flags must show.
#[derive(Clone, Copy)]
struct Expected {
    totp: bool,
    disallow_reuse: bool,
    window: u32,
    step: u32,
    rate_limit: Option<(u32, u32)>,
    scratch_codes: usize,
}

const QUIET: &[&str] = &["-f", "-q", "-C", "-Q", "NONE"];

fn cases() -> Vec<(Vec<&'static str>, Expected)> {
    let totp = Expected {
        totp: true,
        disallow_reuse: true,
        window: 3,
        step: 30,
        rate_limit: Some((3, 30)),
        scratch_codes: 5,
    };
    vec![
        (vec!["-t", "-d", "-r", "3", "-R", "30", "-w", "3"], totp),
        (
            vec!["-t", "-D", "-u", "-w", "17", "-S", "60", "-e", "10"],
            Expected {
                disallow_reuse: false,
                window: 17,
                step: 60,
                rate_limit: None,
                scratch_codes: 10,
                ..totp
            },
        ),
        (
            vec!["-t", "-d", "-r", "10", "-R", "120", "-W", "-e", "0"],
            Expected {
                rate_limit: Some((10, 120)),
                scratch_codes: 0,
                ..totp
            },
        ),
        (
            vec!["-c", "-u", "-w", "10"],
            Expected {
                totp: false,
                disallow_reuse: false,
                window: 10,
                rate_limit: None,
                ..totp
            },
        ),
        (
            vec!["-c", "-r", "5", "-R", "60", "-W", "-e", "3"],
            Expected {
                totp: false,
                disallow_reuse: false,
                window: 1,
                rate_limit: Some((5, 60)),
                scratch_codes: 3,
                ..totp
            },
        ),
    ]
}

#[test]
#[ignore = "needs the reference tools (tests/install-deps.sh): run by tests/run-all.sh"]
fn reference_files_round_trip_byte_for_byte() {
    for (flags, expected) in cases() {
        let args: Vec<&str> = flags.iter().chain(QUIET).copied().collect();
        let text = reference_enrolment(&args);
        let file =
            StateFile::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{flags:?}: {e}\n{text}"));
        assert_eq!(&*file.to_bytes(), text.as_bytes(), "{flags:?}");
        assert_eq!(file.secret_key().len(), 16, "{flags:?}: a 128-bit secret");
        assert_eq!(file.is_totp(), expected.totp, "{flags:?}");
        assert_eq!(
            file.hotp_counter(),
            (!expected.totp).then_some(1),
            "{flags:?}"
        );
        assert_eq!(file.disallow_reuse(), expected.disallow_reuse, "{flags:?}");
        assert_eq!(file.window_size(), expected.window, "{flags:?}");
        assert_eq!(file.step_size(), expected.step, "{flags:?}");
        assert_eq!(file.rate_limit(), expected.rate_limit, "{flags:?}");
        assert_eq!(
            file.scratch_codes().len(),
            expected.scratch_codes,
            "{flags:?}"
        );
    }
}
