//! Showing a token to the person who adds it to an app: the otpauth:// URI
//! and its QR code, the fields of the Proxmox VE web TOTP dialog, and the
//! `pvesh` command that registers the same token there.

use std::io::Write;

use rust_totp_core::otp::CodeFormat;

use crate::qr::{self, QrError, QrMode};

/// Why a token could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum DisplayError {
    #[error(transparent)]
    Qr(#[from] QrError),
    #[error("cannot write to standard output: {0}")]
    Io(#[from] std::io::Error),
}

/// The drawing to use: the one asked for with `-Q`, else ANSI on a terminal
/// and none when the output is redirected (as the reference tool does).
pub fn qr_mode(requested: Option<QrMode>, stdout_is_terminal: bool) -> QrMode {
    match requested {
        Some(mode) => mode,
        None if stdout_is_terminal => QrMode::Ansi,
        None => QrMode::None,
    }
}

/// Prints the URI on its own line, then its QR code in `mode`.
pub fn uri_and_qr(out: &mut impl Write, uri: &str, mode: QrMode) -> Result<(), DisplayError> {
    writeln!(
        out,
        "Add the account to an authenticator app with this URI or the QR code:"
    )?;
    writeln!(out, "  {uri}")?;
    out.write_all(qr::render(uri, mode)?.as_bytes())?;
    Ok(())
}

/// A token as the Proxmox VE output shows it.
pub struct PveToken<'a> {
    /// The Proxmox VE user ([`crate::identity::pve_account`]).
    pub user: &'a str,
    pub label: &'a str,
    pub issuer: &'a str,
    pub secret_base32: &'a str,
    pub format: CodeFormat,
    pub uri: &'a str,
}

/// Prints, after a blank line, the Proxmox VE dialog's fields, the
/// Description suggested for it and the `pvesh` command.
pub fn pve_details(out: &mut impl Write, token: &PveToken<'_>) -> std::io::Result<()> {
    writeln!(out)?;
    pve_dialog_fields(
        out,
        token.user,
        token.issuer,
        token.secret_base32,
        token.format,
    )?;
    let description = pve_description(token.label, token.issuer);
    pve_registration(out, token.user, &description, token.uri)
}

/// Prints what the Proxmox VE "Add TOTP" dialog asks for, so that the same
/// app entry serves ssh and the web console; its algorithm and digits
/// fields must be those of the file's codes.
fn pve_dialog_fields(
    out: &mut impl Write,
    label: &str,
    issuer: &str,
    secret_base32: &str,
    format: CodeFormat,
) -> std::io::Result<()> {
    writeln!(
        out,
        "For the Proxmox VE web interface (Datacenter > Permissions > Two Factor > Add > TOTP):"
    )?;
    writeln!(out, "  User:        {label}")?;
    writeln!(out, "  Issuer Name: {issuer}")?;
    writeln!(out, "  Secret:      {secret_base32}")?;
    writeln!(out, "  Algorithm:   {}", format.algorithm().name())?;
    writeln!(out, "  Digits:      {}", format.digits())?;
    writeln!(
        out,
        "  Verify Code: the code the app shows for this account now"
    )
}

/// Prints the dialog's Description field and the `pvesh` command that
/// registers the token `uri` for the Proxmox VE user `pve_user`. The API
/// wants a code the app shows now, which cannot be known here: the command
/// has a placeholder for it, and the text says so.
fn pve_registration(
    out: &mut impl Write,
    pve_user: &str,
    description: &str,
    uri: &str,
) -> std::io::Result<()> {
    writeln!(out, "  Description: {description}")?;
    writeln!(
        out,
        "Or register it from a shell on the Proxmox VE host, with CODE replaced by the code\n\
         the app shows now (the API checks a current code):"
    )?;
    writeln!(
        out,
        "  pvesh create {} --type totp --description {} --totp {} --value CODE",
        shell_quote(&format!("/access/tfa/{pve_user}")),
        shell_quote(description),
        shell_quote(uri)
    )
}

/// The Description field suggested for a token also used for ssh.
fn pve_description(label: &str, issuer: &str) -> String {
    if issuer.is_empty() {
        format!("{label}, shared with ssh")
    } else {
        format!("{label} on {issuer}, shared with ssh")
    }
}

/// `text` as one shell word: as it is when it holds only characters no
/// shell treats specially, else in single quotes.
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_is_drawn_on_terminals_or_on_request() {
        assert_eq!(qr_mode(None, true), QrMode::Ansi);
        assert_eq!(qr_mode(None, false), QrMode::None);
        assert_eq!(qr_mode(Some(QrMode::Utf8), false), QrMode::Utf8);
        assert_eq!(qr_mode(Some(QrMode::None), true), QrMode::None);
    }

    #[test]
    fn pve_fields_name_user_issuer_and_secret() {
        let mut out = Vec::new();
        let format = CodeFormat::new(rust_totp_core::otp::Algorithm::Sha256, 8).expect("a format");
        pve_dialog_fields(&mut out, "root@pam", "pve1", "JBSWY3DPEHPK3PXP", format).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("User:        root@pam\n"));
        assert!(text.contains("Issuer Name: pve1\n"));
        assert!(text.contains("Secret:      JBSWY3DPEHPK3PXP\n"));
        assert!(text.contains("Algorithm:   SHA256\n  Digits:      8\n"));
    }

    #[test]
    fn pvesh_command_quotes_what_the_shell_would_split() {
        let mut out = Vec::new();
        let uri = "otpauth://totp/root@pam?secret=JBSWY3DPEHPK3PXP&issuer=pve";
        let description = pve_description("root@pam", "Bob's pve");
        pve_registration(&mut out, "root@pam", &description, uri).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("  Description: root@pam on Bob's pve, shared with ssh\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  pvesh create /access/tfa/root@pam --type totp \
                 --description 'root@pam on Bob'\\''s pve, shared with ssh' \
                 --totp 'otpauth://totp/root@pam?secret=JBSWY3DPEHPK3PXP&issuer=pve' \
                 --value CODE\n"
            ),
            "{text}"
        );
        assert!(text.contains("replaced by the code"), "{text}");
        assert_eq!(shell_quote(""), "''");
    }
}
