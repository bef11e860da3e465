//! The label and issuer an authenticator app shows for the token, kept in
//! the file so that the same `otpauth://` URI can be shown again later.
//!
//! They are option lines of names the PAM modules do not use,
//! `" OTPAUTH_LABEL` and `" OTPAUTH_ISSUER`, with the text percent-encoded
//! as in the URI: the value holds no blank, no double quote and nothing
//! outside printable ASCII, so neither this crate nor the reference module
//! can mistake it for another option (the reference looks for
//! `" TOTP_AUTH` anywhere in the file), and the reference module skips both
//! lines while it looks for scratch codes and keeps them when it rewrites
//! the file. An empty text is the name alone.

use super::{Line, LineKind, StateFile};

/// The option that holds the label (the account name in the URI).
pub const LABEL_OPTION: &str = "OTPAUTH_LABEL";
/// The option that holds the issuer.
pub const ISSUER_OPTION: &str = "OTPAUTH_ISSUER";

impl StateFile {
    /// The stored label, when the file has a well-formed label line.
    pub fn account_label(&self) -> Option<String> {
        self.account_text(LABEL_OPTION)
    }

    /// The stored issuer, when the file has a well-formed issuer line.
    pub fn account_issuer(&self) -> Option<String> {
        self.account_text(ISSUER_OPTION)
    }

    /// Stores `label` and `issuer`: existing lines are replaced where they
    /// are (later duplicates removed), missing ones are added after the
    /// last option line before the scratch codes.
    pub fn set_account(&mut self, label: &str, issuer: &str) {
        self.set_account_line(LABEL_OPTION, label);
        self.set_account_line(ISSUER_OPTION, issuer);
    }

    fn account_text(&self, name: &str) -> Option<String> {
        percent_decode(self.option_value(name)?.trim_end_matches([' ', '\t']))
    }

    fn set_account_line(&mut self, name: &str, text: &str) {
        let encoded = percent_encode(text);
        let line = if encoded.is_empty() {
            Line::flag(name)
        } else {
            Line::option(name, &encoded)
        };
        let is_named = |l: &Line| l.option_name() == Some(name);
        if let Some(index) = self.lines.iter().position(is_named) {
            self.lines[index] = line;
            let mut position = 0;
            self.lines.retain(|l| {
                position += 1;
                position <= index + 1 || !is_named(l)
            });
            return;
        }
        let index = self.end_of_options();
        self.insert_line(index, line);
    }

    /// The index just after the option lines that follow the secret: where
    /// the scratch codes of a new file begin.
    pub(super) fn end_of_options(&self) -> usize {
        1 + self.lines[1..]
            .iter()
            .take_while(|l| matches!(l.kind, LineKind::Option { .. }))
            .count()
    }

    /// Inserts `line` at `index`, giving the line before it a newline if it
    /// had none (the last line of a file may lack one).
    pub(super) fn insert_line(&mut self, index: usize, line: Line) {
        let before = &mut self.lines[index - 1];
        if before.breaks.is_empty() {
            before.breaks.to_mut().push('\n');
        }
        self.lines.insert(index, line);
    }
}

/// Percent-encodes all but letters, digits, `-._~` and the `@` and `:` of
/// labels such as `root@pam` or `issuer:account`, as in an `otpauth://`
/// URI (RFC 3986's unreserved characters and those two).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The text of a percent-encoded value; `None` for a stray `%`, a bad
/// escape, a character [`percent_encode`] never writes, or bytes that are
/// not UTF-8.
fn percent_decode(value: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else if first.is_ascii_alphanumeric() || b"-._~@:".contains(&first) {
            bytes.push(first);
            rest = tail;
        } else {
            return None;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::super::{NewFile, NewToken};
    use super::*;
    use crate::otp::CodeFormat;

    fn totp_file(scratch_codes: &[u32]) -> StateFile {
        StateFile::new(&NewFile {
            key: b"0123456789",
            rate_limit: Some((3, 30)),
            window_size: None,
            token: NewToken::Totp {
                step_size: None,
                disallow_reuse: true,
            },
            format: CodeFormat::DEFAULT,
            scratch_codes,
        })
    }

    #[test]
    fn label_and_issuer_go_after_the_options_and_before_the_scratch_codes() {
        let mut file = totp_file(&[12_345_678]);
        file.set_account("Jane Doe/ops@host", "Ops & \"Co\" é");
        let text = String::from_utf8(file.to_bytes().to_vec()).unwrap();
        assert_eq!(
            text,
            "GAYTEMZUGU3DOOBZ\n\" RATE_LIMIT 3 30\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n\
             \" OTPAUTH_LABEL Jane%20Doe%2Fops@host\n\
             \" OTPAUTH_ISSUER Ops%20%26%20%22Co%22%20%C3%A9\n12345678\n"
        );
        let again = StateFile::parse(&file.to_bytes()).unwrap();
        assert_eq!(again.account_label().as_deref(), Some("Jane Doe/ops@host"));
        assert_eq!(again.account_issuer().as_deref(), Some("Ops & \"Co\" é"));
        assert_eq!(again.scratch_codes(), vec![12_345_678]);
        assert!(again.is_totp() && again.disallow_reuse());
    }

    #[test]
    fn a_value_can_never_look_like_an_option_to_the_reference() {
        let mut file = totp_file(&[]);
        file.set_account("x\n\" HOTP_COUNTER 1", "\" TOTP_AUTH\r\n");
        let bytes = file.to_bytes();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(text.matches("\" TOTP_AUTH").count(), 1, "{text}");
        assert!(!text.contains("HOTP_COUNTER 1"), "{text}");
        assert_eq!(text.lines().count(), 6, "{text}");
        assert!(text.is_ascii());
        let again = StateFile::parse(&bytes).unwrap();
        assert_eq!(
            again.account_label().as_deref(),
            Some("x\n\" HOTP_COUNTER 1")
        );
        assert_eq!(again.hotp_counter(), None);
    }

    #[test]
    fn setting_again_replaces_in_place_and_removes_duplicates() {
        let text = "GAYTEMZUGU3DOOBZ\n\" OTPAUTH_ISSUER old\n\" TOTP_AUTH\n\
                    \" OTPAUTH_ISSUER dup\n12345678";
        let mut file = StateFile::parse(text.as_bytes()).unwrap();
        assert_eq!(file.account_issuer().as_deref(), Some("old"));
        assert_eq!(file.account_label(), None);
        file.set_account("", "new");
        assert_eq!(
            &*file.to_bytes(),
            b"GAYTEMZUGU3DOOBZ\n\" OTPAUTH_ISSUER new\n\" TOTP_AUTH\n\
              \" OTPAUTH_LABEL\n12345678"
        );
        let again = StateFile::parse(&file.to_bytes()).unwrap();
        assert_eq!(again.account_label().as_deref(), Some(""));
        assert_eq!(again.scratch_codes(), vec![12_345_678]);
    }

    #[test]
    fn a_file_without_a_final_newline_gets_one_before_an_added_line() {
        let mut file = StateFile::parse(b"GAYTEMZUGU3DOOBZ\n\" TOTP_AUTH").unwrap();
        file.set_account("a", "b");
        assert_eq!(
            &*file.to_bytes(),
            b"GAYTEMZUGU3DOOBZ\n\" TOTP_AUTH\n\" OTPAUTH_LABEL a\n\" OTPAUTH_ISSUER b\n"
        );
    }

    #[test]
    fn malformed_values_read_as_absent() {
        for value in ["%", "%4", "%zz", "a b", "caf\u{e9}", "%FF", "\"x"] {
            let text = format!("GAYTEMZUGU3DOOBZ\n\" OTPAUTH_LABEL {value}\n");
            let file = StateFile::parse(text.as_bytes()).unwrap();
            assert_eq!(file.account_label(), None, "{value:?}");
        }
        assert_eq!(percent_decode("a%40b%3a").as_deref(), Some("a@b:"));
    }
}
