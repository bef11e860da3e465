//! Changes an administrator makes to an existing file: new scratch codes
//! for the same secret, and clearing what a login records about recent
//! attempts, so that a user who is locked out or out of sync can log in
//! again. Every other line stays as it is, byte for byte.

use super::{Line, LineKind, Setting, StateFile, new_file::scratch_line};

/// What [`StateFile::clear_login_state`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClearedState {
    /// Timestamps of recent attempts on the `RATE_LIMIT` line.
    pub rate_limit_attempts: usize,
    /// The learned `TIME_SKEW`, in steps, when a line was there.
    pub time_skew: Option<i64>,
    /// Samples of a skew being learned (`RESETTING_TIME_SKEW`).
    pub skew_samples: usize,
    /// Time steps of used codes on the `DISALLOW_REUSE` line.
    pub used_codes: usize,
    /// Grace-period records (`LAST0` … `LAST9` lines).
    pub grace_records: usize,
}

impl ClearedState {
    /// Whether nothing was there to clear.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl StateFile {
    /// Replaces the emergency scratch codes by `codes`: the new ones take
    /// the place of the first old one (after the options when there was
    /// none), and no other line changes.
    ///
    /// # Panics
    /// If a code does not have eight digits: the caller makes them.
    pub fn replace_scratch_codes(&mut self, codes: &[u32]) {
        let first_old = self
            .lines
            .iter()
            .position(|l| matches!(l.kind, LineKind::ScratchCode(_)));
        self.lines
            .retain(|l| !matches!(l.kind, LineKind::ScratchCode(_)));
        let start = first_old.unwrap_or_else(|| self.end_of_options());
        for (index, &code) in (start..).zip(codes) {
            self.insert_line(index, scratch_line(code));
        }
    }

    /// Clears what logins record and what can lock a user out or keep the
    /// codes out of sync: the timestamps on the `RATE_LIMIT` line, the
    /// used codes on the `DISALLOW_REUSE` line (both options stay), the
    /// learned clock skew, the samples of a skew being learned and the
    /// grace-period records. The secret, the other options and the scratch
    /// codes stay; so does the HOTP counter, which only ever moves forward.
    pub fn clear_login_state(&mut self) -> ClearedState {
        let mut cleared = ClearedState::default();
        let mut kept_rate_limit = false;
        let mut kept_disallow_reuse = false;
        self.lines.retain_mut(|line| {
            let LineKind::Option { setting, .. } = &line.kind else {
                return true;
            };
            let replacement = match setting {
                Setting::RateLimit(limit) if !kept_rate_limit => {
                    kept_rate_limit = true;
                    cleared.rate_limit_attempts = limit.timestamps.len();
                    let bare = format!("{} {}", limit.attempts, limit.interval);
                    Line::option("RATE_LIMIT", &bare)
                }
                Setting::DisallowReuse if !kept_disallow_reuse => {
                    kept_disallow_reuse = true;
                    let value = super::option_value_of(&line.text);
                    cleared.used_codes = value.split_ascii_whitespace().count();
                    Line::flag("DISALLOW_REUSE")
                }
                // Only the first line of an option counts; later ones go.
                Setting::RateLimit(_) | Setting::DisallowReuse => return false,
                Setting::TimeSkew(skew) => {
                    cleared.time_skew.get_or_insert(*skew);
                    return false;
                }
                Setting::ResettingTimeSkew(samples) => {
                    cleared.skew_samples += samples.len();
                    return false;
                }
                Setting::Last(_) => {
                    cleared.grace_records += 1;
                    return false;
                }
                _ => return true,
            };
            replace_keeping_breaks(line, replacement);
            true
        });
        cleared
    }
}

/// Puts `new` in the place of `line`, keeping the line breaks that ended it
/// (the last line of a file may have none).
fn replace_keeping_breaks(line: &mut Line, mut new: Line) {
    new.breaks = std::mem::take(&mut line.breaks);
    *line = new;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> StateFile {
        StateFile::parse(text.as_bytes()).expect("valid test file")
    }

    fn text(file: &StateFile) -> String {
        String::from_utf8(file.to_bytes().to_vec()).unwrap()
    }

    #[test]
    fn new_scratch_codes_take_the_place_of_the_old_ones_and_nothing_else_changes() {
        let mut file = parse(
            "GAYTEMZUGU3DOOBZ\n\" TOTP_AUTH\n11111111\n\" X_NOTE kept\r\n22222222\n\
             not a code\n33333333\n",
        );
        file.replace_scratch_codes(&[44_444_444, 55_555_555]);
        assert_eq!(
            text(&file),
            "GAYTEMZUGU3DOOBZ\n\" TOTP_AUTH\n44444444\n55555555\n\" X_NOTE kept\r\n\
             not a code\n33333333\n"
        );
        assert_eq!(file.scratch_codes(), vec![44_444_444, 55_555_555]);
        assert_eq!(parse(&text(&file)), file);
    }

    #[test]
    fn a_file_without_scratch_codes_gets_them_after_its_options() {
        let mut file = parse("GAYTEMZUGU3DOOBZ\n\" TOTP_AUTH\n\" OTPAUTH_LABEL a");
        file.replace_scratch_codes(&[12_345_678]);
        assert_eq!(
            text(&file),
            "GAYTEMZUGU3DOOBZ\n\" TOTP_AUTH\n\" OTPAUTH_LABEL a\n12345678\n"
        );
        file.replace_scratch_codes(&[]);
        assert_eq!(
            text(&file),
            "GAYTEMZUGU3DOOBZ\n\" TOTP_AUTH\n\" OTPAUTH_LABEL a\n"
        );
        assert!(file.scratch_codes().is_empty());
    }

    #[test]
    #[should_panic(expected = "eight digits")]
    fn a_short_scratch_code_is_a_caller_bug() {
        parse("GAYTEMZUGU3DOOBZ\n").replace_scratch_codes(&[1]);
    }

    #[test]
    fn clearing_keeps_secret_options_and_scratch_codes() {
        let mut file = parse(
            "GAYTEMZUGU3DOOBZ\n\" LAST1 host2 1700000100\n\" RESETTING_TIME_SKEW 56666666+2 56666667+2\n\
             \" TIME_SKEW -2\n\" RATE_LIMIT 3 30 1700000000 1700000001\n\" WINDOW_SIZE 17\n\
             \" DISALLOW_REUSE 56666666 56666667 56666668\n\" LAST0 host1 1700000000\n\
             \" TOTP_AUTH\n\" RATE_LIMIT 5 60 1\n\" DISALLOW_REUSE 9\n12345678\n87654321",
        );
        let cleared = file.clear_login_state();
        assert!(!cleared.is_empty());
        assert_eq!(
            cleared,
            ClearedState {
                rate_limit_attempts: 2,
                time_skew: Some(-2),
                skew_samples: 2,
                used_codes: 3,
                grace_records: 2,
            }
        );
        assert_eq!(
            text(&file),
            "GAYTEMZUGU3DOOBZ\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE\n\
             \" TOTP_AUTH\n12345678\n87654321"
        );
        assert_eq!(file.time_skew(), 0);
        assert_eq!(file.scratch_codes(), vec![12_345_678, 87_654_321]);
        assert!(file.disallow_reuse() && file.is_totp());
        assert_eq!(file.rate_limit(), Some((3, 30)));
        assert!(file.clear_login_state().is_empty(), "nothing left to clear");
    }

    #[test]
    fn clearing_a_file_with_nothing_recorded_changes_nothing() {
        let original =
            "GAYTEMZUGU3DOOBZ\r\n\" RATE_LIMIT 3 30\r\n\" HOTP_COUNTER 7\r\n12345678\r\n";
        let mut file = parse(original);
        assert!(file.clear_login_state().is_empty());
        assert_eq!(text(&file), original);
        assert_eq!(file.hotp_counter(), Some(7));
    }
}
