//! The doctor's findings and their two renderings: an aligned text table for
//! people (status words coloured on a terminal) and a JSON document for
//! configuration management (never coloured).

use std::fmt::Write as _;
use std::io::IsTerminal as _;

use serde::Serialize;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }

    /// The ANSI SGR code of its colour: green, yellow, bold red.
    fn colour(self) -> &'static str {
        match self {
            Status::Ok => "32",
            Status::Warn => "33",
            Status::Fail => "1;31",
        }
    }
}

/// Whether the text report uses colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Never,
    Always,
}

impl Colour {
    /// Colour when standard output is a terminal and `NO_COLOR` is unset or
    /// empty (<https://no-color.org>).
    pub fn for_stdout() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        if !no_color && std::io::stdout().is_terminal() {
            Colour::Always
        } else {
            Colour::Never
        }
    }
}

/// `count` and the noun in singular or plural: "1 scratch code",
/// "2 scratch codes".
pub fn count(count: usize, singular: &str, plural: &str) -> String {
    let noun = if count == 1 { singular } else { plural };
    format!("{count} {noun}")
}

/// The part of the system a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    Sshd,
    Pam,
    Users,
    Clock,
}

impl Section {
    fn title(self) -> &'static str {
        match self {
            Section::Sshd => "sshd",
            Section::Pam => "PAM",
            Section::Users => "users",
            Section::Clock => "clock",
        }
    }
}

/// One finding: what was checked, how it came out, why, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub section: Section,
    pub name: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(section: Section, name: impl Into<String>, detail: impl Into<String>) -> Self {
        Check {
            section,
            name: name.into(),
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn warn(
        section: Section,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::problem(section, name, Status::Warn, detail, fix)
    }

    pub fn fail(
        section: Section,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::problem(section, name, Status::Fail, detail, fix)
    }

    fn problem(
        section: Section,
        name: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Check {
            section,
            name: name.into(),
            status,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Where the inputs were read from, shown above the table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sources {
    pub sshd: String,
    pub pam: String,
    pub users: String,
}

/// Counts of each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub ok: usize,
    pub warn: usize,
    pub fail: usize,
}

/// Everything the doctor found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub sources: Sources,
    pub checks: Vec<Check>,
    pub summary: Summary,
}

impl Report {
    pub fn new(sources: Sources, checks: Vec<Check>) -> Self {
        let mut summary = Summary::default();
        for check in &checks {
            match check.status {
                Status::Ok => summary.ok += 1,
                Status::Warn => summary.warn += 1,
                Status::Fail => summary.fail += 1,
            }
        }
        Report {
            sources,
            checks,
            summary,
        }
    }

    /// The process exit status: 0 when nothing failed, 1 otherwise.
    pub fn exit_status(&self) -> i32 {
        i32::from(self.summary.fail > 0)
    }

    pub fn to_json(&self) -> String {
        // A tree of strings, numbers and enums always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn to_text(&self, colour: Colour) -> String {
        let name_width = self
            .checks
            .iter()
            .map(|check| check.name.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        let _ = writeln!(out, "sshd settings: {}", self.sources.sshd);
        let _ = writeln!(out, "PAM stack:     {}", self.sources.pam);
        let _ = writeln!(out, "accounts:      {}", self.sources.users);
        let mut section = None;
        for check in &self.checks {
            if section != Some(check.section) {
                section = Some(check.section);
                let _ = writeln!(out, "\n{}", check.section.title());
            }
            write_check(&mut out, check, name_width, colour);
        }
        let _ = writeln!(
            out,
            "\n{} OK, {} WARN, {} FAIL",
            self.summary.ok, self.summary.warn, self.summary.fail
        );
        out
    }
}

fn write_check(out: &mut String, check: &Check, name_width: usize, colour: Colour) {
    let label = format!("{:<4}", check.status.label());
    let label = match colour {
        Colour::Always => format!("\x1b[{}m{label}\x1b[0m", check.status.colour()),
        Colour::Never => label,
    };
    let _ = writeln!(
        out,
        "  {label}  {:<name_width$}  {}",
        check.name, check.detail
    );
    if let Some(fix) = &check.fix {
        let _ = writeln!(out, "  {:<4}  {:<name_width$}  fix: {fix}", "", "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report::new(
            Sources {
                sshd: "sshd -T".into(),
                pam: "/etc/pam.d/sshd".into(),
                users: "/etc/passwd".into(),
            },
            vec![
                Check::ok(Section::Sshd, "UsePAM", "yes"),
                Check::fail(
                    Section::Sshd,
                    "KbdInteractiveAuthentication",
                    "no",
                    "set yes",
                ),
                Check::warn(Section::Clock, "time sync", "none found", "install chrony"),
            ],
        )
    }

    #[test]
    fn counts_and_exit_status() {
        let report = sample();
        assert_eq!(
            report.summary,
            Summary {
                ok: 1,
                warn: 1,
                fail: 1
            }
        );
        assert_eq!(report.exit_status(), 1);
        let clean = Report::new(Sources::default(), vec![sample().checks[0].clone()]);
        assert_eq!(clean.exit_status(), 0);
    }

    #[test]
    fn text_groups_by_section_and_aligns_fixes() {
        let text = sample().to_text(Colour::Never);
        assert!(!text.contains('\x1b'));
        assert!(text.contains("\nsshd\n  OK    UsePAM "));
        assert!(text.contains("  FAIL  KbdInteractiveAuthentication  no\n"));
        assert!(text.contains("                                      fix: set yes\n"));
        assert!(text.contains("\nclock\n  WARN  time sync"));
        assert!(text.ends_with("1 OK, 1 WARN, 1 FAIL\n"));
    }

    #[test]
    fn colour_marks_only_the_status_words() {
        let text = sample().to_text(Colour::Always);
        assert!(text.contains("\n  \x1b[32mOK  \x1b[0m  UsePAM "));
        assert!(text.contains("\n  \x1b[1;31mFAIL\x1b[0m  KbdInteractiveAuthentication  no\n"));
        assert!(text.contains("\n  \x1b[33mWARN\x1b[0m  time sync"));
        assert_eq!(text.matches('\x1b').count(), 6);
        assert!(text.contains("                                      fix: set yes\n"));
    }

    #[test]
    fn counts_take_the_plural_except_for_one() {
        assert_eq!(count(0, "scratch code", "scratch codes"), "0 scratch codes");
        assert_eq!(count(1, "scratch code", "scratch codes"), "1 scratch code");
        assert_eq!(count(2, "line", "lines"), "2 lines");
    }

    #[test]
    fn json_uses_lowercase_statuses_and_omits_missing_fixes() {
        let value: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(value["checks"][0]["status"], "ok");
        assert_eq!(value["checks"][0]["section"], "sshd");
        assert!(value["checks"][0].get("fix").is_none());
        assert_eq!(value["checks"][1]["status"], "fail");
        assert_eq!(value["checks"][1]["fix"], "set yes");
        assert_eq!(value["summary"]["fail"], 1);
    }
}
