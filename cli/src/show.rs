//! `--show`: prints the URI, QR code, secret, issuer, label and remaining
//! scratch codes of an existing secret file, to back it up or to add the
//! token to another device. The label and issuer are the ones stored at
//! enrolment, so the URI is the same as then; `-l` and `-i` override them,
//! and a file without them (written by another tool) gets the defaults.

use std::io::{self, Write};
use std::path::PathBuf;

use pam_rust_totp::store::{FilePolicy, Snapshot, StoreError};
use rust_totp_core::state_file::{ParseError, StateFile};
use zeroize::Zeroizing;

use crate::args::{PVE_STEP_SECONDS, Presentation, ShowOptions};
use crate::display::{self, DisplayError};
use crate::identity;
use crate::qr_image::{self, ImageError};
use crate::target::{AsUserError, Target, TargetError};
use crate::uri::{Factor, otpauth_uri};

/// `--show` reads a file whatever its permission bits.
const ANY_PERMISSIONS: u32 = 0o7777;

/// Why a file could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Read(AsUserError),
    #[error("\"{}\" is not a valid secret file: {source}", path.display())]
    Parse { path: PathBuf, source: ParseError },
    #[error(
        "the Proxmox VE web dialog only takes time-based tokens with \
         {PVE_STEP_SECONDS}-second steps; this file has other settings"
    )]
    NotForPve,
    #[error(transparent)]
    ImageTarget(ImageError),
    #[error(transparent)]
    Display(#[from] DisplayError),
    #[error(transparent)]
    Image(ImageError),
}

impl ShowError {
    /// 2 for a file or user that is not there or not usable, or an image
    /// path that cannot be written, else 1.
    pub fn exit_status(&self) -> u8 {
        match self {
            Self::Target(_) | Self::Read(_) | Self::Parse { .. } | Self::ImageTarget(_) => 2,
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
    let mut target = Target::resolve(&options.target)?;
    if let Some(image) = &options.presentation.qr_image {
        qr_image::check_target(image).map_err(ShowError::ImageTarget)?;
    }
    let (path, owner_uid) = (target.path.clone(), target.owner_uid);
    let snapshot = target
        .run_as_user(|| read_file(&path, owner_uid))
        .map_err(ShowError::Read)?;
    let state = StateFile::parse(snapshot.contents()).map_err(|source| ShowError::Parse {
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
    let stored = Presentation {
        label: (options.presentation.label.clone()).or_else(|| state.account_label()),
        issuer: (options.presentation.issuer.clone()).or_else(|| state.account_issuer()),
        ..options.presentation.clone()
    };
    let (label, issuer) = identity::label_and_issuer(&stored, &target.user_name);
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
        let token = display::PveToken {
            user: &identity::pve_account(&options.presentation, &target.user_name),
            label: &label,
            issuer: &issuer,
            secret_base32: secret,
            format,
            uri: &uri,
        };
        display::pve_details(out, &token)?;
    }
    if let Some(image) = &options.presentation.qr_image {
        qr_image::write(image, &uri).map_err(ShowError::Image)?;
        writeln!(out, "The QR code is in \"{}\".", image.path.display())?;
    }
    Ok(())
}

/// The whole file, read by the store: any owner and mode, but only a
/// regular file of at most the module's size limit.
fn read_file(path: &std::path::Path, owner_uid: u32) -> Result<Snapshot, StoreError> {
    let policy = FilePolicy {
        strict_owner: false,
        allowed_perm: ANY_PERMISSIONS,
        ..FilePolicy::new(owner_uid)
    };
    Snapshot::read(path, &policy)
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
