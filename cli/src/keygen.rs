//! `--keygen`: a new random 80-bit key in base32, as Proxmox VE's
//! `oathkeygen` prints it. With `-Q`, `-l`, `-i`, `--pve` or `--qr-file`
//! it also shows the key's `otpauth://` URI and QR code (and the Proxmox VE
//! fields), as the PVE guide's `oathkeygen` and `qrencode` steps do, for a
//! key that is enrolled elsewhere or later with `--key`.

use std::io::{self, Write};

use crate::args::Presentation;
use crate::display::{self, DisplayError};
use crate::generate::{self, KEYGEN_SECRET_BYTES, RandomError};
use crate::identity;
use crate::qr::QrMode;
use crate::qr_image::{self, ImageError};
use rust_totp_core::otp::CodeFormat;
use rust_totp_core::state_file::DEFAULT_STEP_SIZE;

use crate::uri::{Factor, otpauth_uri};

/// Why no key was printed.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    ImageTarget(ImageError),
    #[error(transparent)]
    Image(ImageError),
    #[error(transparent)]
    Display(#[from] DisplayError),
}

impl KeygenError {
    /// 2 for an image path that cannot be written, else 1.
    pub fn exit_status(&self) -> u8 {
        match self {
            Self::ImageTarget(_) => 2,
            _ => 1,
        }
    }
}

impl From<io::Error> for KeygenError {
    fn from(error: io::Error) -> Self {
        Self::Display(DisplayError::Io(error))
    }
}

/// Prints a new key, and with `presentation` its URI, QR code and fields.
pub fn run(
    presentation: &Presentation,
    out: &mut impl Write,
    stdout_is_terminal: bool,
) -> Result<(), KeygenError> {
    if let Some(image) = &presentation.qr_image {
        qr_image::check_target(image).map_err(KeygenError::ImageTarget)?;
    }
    let secret = generate::secret(KEYGEN_SECRET_BYTES)?;
    let wants_uri = presentation
        .qr_mode
        .is_some_and(|mode| mode != QrMode::None)
        || presentation.label.is_some()
        || presentation.issuer.is_some()
        || presentation.pve
        || presentation.qr_image.is_some();
    if !wants_uri {
        writeln!(out, "{}", secret.base32.as_str())?;
        return Ok(());
    }
    let user = identity::user_name();
    let (label, issuer) = identity::label_and_issuer(presentation, &user);
    let factor = Factor::Time {
        // The apps' and Proxmox VE's default step.
        step_seconds: DEFAULT_STEP_SIZE,
    };
    // `--algorithm` and `--digits` are for enrolment: a new key is for the
    // apps' and PVE's default codes.
    let format = CodeFormat::DEFAULT;
    let uri = zeroize::Zeroizing::new(otpauth_uri(&secret.base32, &label, &issuer, factor, format));
    if presentation.qr_mode != Some(QrMode::None) {
        let qr_mode = display::qr_mode(presentation.qr_mode, stdout_is_terminal);
        display::uri_and_qr(out, &uri, qr_mode)?;
    }
    writeln!(out, "Key: {}", secret.base32.as_str())?;
    if presentation.pve {
        let token = display::PveToken {
            user: &identity::pve_account(presentation, &user),
            label: &label,
            issuer: &issuer,
            secret_base32: &secret.base32,
            format,
            uri: &uri,
        };
        display::pve_details(out, &token)?;
    }
    if let Some(image) = &presentation.qr_image {
        qr_image::write(image, &uri).map_err(KeygenError::Image)?;
        writeln!(out, "The QR code is in \"{}\".", image.path.display())?;
    }
    Ok(())
}
