//! `--show`: prints the URI, QR code, secret, issuer, label and remaining
//! scratch codes of an existing secret file, to back it up or to add the
//! token to another device.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;

use rust_totp_core::state_file::{ParseError, StateFile};
use zeroize::Zeroizing;

use crate::args::ShowOptions;
use crate::display::{self, DisplayError};
use crate::identity::{self, NoHomeDirectory};
use crate::uri::{Factor, otpauth_uri};

/// The only step the Proxmox VE web dialog supports.
const PVE_STEP_SECONDS: u32 = 30;

/// Why a file could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error(transparent)]
    NoHome(#[from] NoHomeDirectory),
    #[error("cannot read \"{}\": {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("\"{}\" is not a valid secret file: {source}", path.display())]
    Parse { path: PathBuf, source: ParseError },
    #[error(
        "the Proxmox VE web dialog only takes time-based tokens with \
         {PVE_STEP_SECONDS}-second steps; this file has other settings"
    )]
    NotForPve,
    #[error(transparent)]
    Display(#[from] DisplayError),
}

impl ShowError {
    /// 2 when no file was named and none can be found by default, else 1.
    pub fn exit_status(&self) -> u8 {
        match self {
            Self::NoHome(_) => 2,
            _ => 1,
        }
    }
}

impl From<io::Error> for ShowError {
    fn from(error: io::Error) -> Self {
        Self::Display(DisplayError::Io(error))
    }
}

/// Shows the file named by `options` on `out`.
pub fn run(
    options: &ShowOptions,
    out: &mut impl Write,
    stdout_is_terminal: bool,
) -> Result<(), ShowError> {
    let path = identity::secret_path(options.secret_path.as_ref())?;
    let bytes = Zeroizing::new(fs::read(&path).map_err(|source| ShowError::Read {
        path: path.clone(),
        source,
    })?);
    let state = StateFile::parse(&bytes).map_err(|source| ShowError::Parse {
        path: path.clone(),
        source,
    })?;
    let factor = factor(&state);
    if options.presentation.pve
        && factor
            != (Factor::Time {
                step_seconds: PVE_STEP_SECONDS,
            })
    {
        return Err(ShowError::NotForPve);
    }
    let (label, issuer) = identity::label_and_issuer(&options.presentation);
    let secret = state.secret_base32();

    let format = state.code_format();
    let uri = Zeroizing::new(otpauth_uri(secret, &label, &issuer, factor, format));
    let qr_mode = display::qr_mode(options.presentation.qr_mode, stdout_is_terminal);
    display::uri_and_qr(out, &uri, qr_mode)?;
    writeln!(out, "Secret key:  {secret}")?;
    writeln!(out, "Issuer:      {issuer}")?;
    writeln!(out, "Label:       {label}")?;
    match factor {
        Factor::Time { step_seconds } => writeln!(
            out,
            "Codes:       time-based, a new one every {step_seconds} seconds"
        )?,
        Factor::Counter { next } => {
            writeln!(out, "Codes:       counter-based, next counter {next}")?
        }
    }
    writeln!(
        out,
        "Format:      {} digits, HMAC-{}",
        format.digits(),
        format.algorithm().name()
    )?;
    print_scratch_codes(out, &Zeroizing::new(state.scratch_codes()))?;
    if options.presentation.pve {
        writeln!(out)?;
        display::pve_dialog_fields(out, &label, &issuer, secret, format)?;
    }
    Ok(())
}

/// Time-based unless the file has a HOTP counter, as the PAM module reads it.
fn factor(state: &StateFile) -> Factor {
    match state.hotp_counter() {
        Some(next) if !state.is_totp() => Factor::Counter { next },
        _ => Factor::Time {
            step_seconds: state.step_size(),
        },
    }
}

fn print_scratch_codes(out: &mut impl Write, codes: &[u32]) -> io::Result<()> {
    if codes.is_empty() {
        return writeln!(out, "Emergency scratch codes: none left");
    }
    writeln!(out, "Emergency scratch codes left ({}):", codes.len())?;
    for code in codes {
        writeln!(out, "  {code:08}")?;
    }
    Ok(())
}
