//! Showing a token to the person who adds it to an app: the otpauth:// URI
//! and its QR code, and the fields of the Proxmox VE web TOTP dialog.

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

/// Prints what the Proxmox VE "Add TOTP" dialog asks for, so that the same
/// app entry serves ssh and the web console; its algorithm and digits
/// fields must be those of the file's codes.
pub fn pve_dialog_fields(
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
}
