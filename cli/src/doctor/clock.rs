//! Whether something keeps the clock right: TOTP codes are derived from the
//! time, and a clock that drifts past the window refuses every code. Asks
//! systemd when it runs the machine, else looks for the daemons' processes.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use super::report::{Check, Section};
use super::system_root::SystemRoot;

/// systemd units of time-sync services.
const SYNC_UNITS: [&str; 6] = [
    "systemd-timesyncd",
    "chrony",
    "chronyd",
    "ntp",
    "ntpsec",
    "openntpd",
];

/// Process names (`/proc/PID/comm`, at most 15 bytes) of time-sync daemons.
const SYNC_PROCESSES: [&str; 4] = ["systemd-timesyn", "chronyd", "ntpd", "openntpd"];

const NAME: &str = "time sync";

pub fn check(root: &SystemRoot) -> Check {
    let now = utc_now();
    let found = if root.is_real() && root.path("/run/systemd/system").is_dir() {
        active_unit().map(|unit| format!("{unit} is active"))
    } else {
        None
    };
    let found = found.or_else(|| running_daemon(root).map(|name| format!("{name} is running")));
    match found {
        Some(found) => Check::ok(Section::Clock, NAME, format!("{found}; clock reads {now}")),
        None => Check::warn(
            Section::Clock,
            NAME,
            format!(
                "no time-sync service found (systemd-timesyncd, chrony, ntpd); clock reads \
                 {now}: compare it with your phone, codes fail once it drifts past the window"
            ),
            "apt install systemd-timesyncd (or chrony); in a container the host's clock counts",
        ),
    }
}

/// The first time-sync unit systemd reports as active.
fn active_unit() -> Option<&'static str> {
    let output = Command::new("systemctl")
        .arg("is-active")
        .args(SYNC_UNITS)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let states = String::from_utf8_lossy(&output.stdout);
    SYNC_UNITS
        .iter()
        .zip(states.lines())
        .find(|(_, state)| state.trim() == "active")
        .map(|(unit, _)| *unit)
}

/// The name of a running time-sync daemon, from `/proc`.
fn running_daemon(root: &SystemRoot) -> Option<String> {
    let entries = fs::read_dir(root.path("/proc")).ok()?;
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|entry| fs::read_to_string(entry.path().join("comm")).ok())
        .map(|comm| comm.trim().to_owned())
        .find(|comm| SYNC_PROCESSES.contains(&comm.as_str()))
}

fn utc_now() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    format_utc(seconds)
}

/// `YYYY-MM-DD HH:MM:SS UTC` for seconds since the epoch.
fn format_utc(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;

    #[test]
    fn formats_utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
    }

    fn tree_with_process(comm: Option<&str>) -> (tempfile::TempDir, SystemRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path().to_owned());
        let proc_dir = root.path("/proc/4242");
        fs::create_dir_all(&proc_dir).unwrap();
        fs::write(proc_dir.join("comm"), "bash\n").unwrap();
        fs::create_dir_all(root.path("/proc/self")).unwrap();
        fs::write(root.path("/proc/self/comm"), "chronyd\n").unwrap();
        if let Some(comm) = comm {
            let daemon = root.path("/proc/77");
            fs::create_dir_all(&daemon).unwrap();
            fs::write(daemon.join("comm"), format!("{comm}\n")).unwrap();
        }
        (dir, root)
    }

    #[test]
    fn finds_daemons_in_proc() {
        let (_dir, root) = tree_with_process(Some("systemd-timesyn"));
        let check = check(&root);
        assert_eq!(check.status, Status::Ok);
        assert!(check.detail.starts_with("systemd-timesyn is running"));
    }

    #[test]
    fn warns_without_a_daemon() {
        let (_dir, root) = tree_with_process(None);
        assert_eq!(check(&root).status, Status::Warn);
    }
}
