//! `--qr-file`: the QR code of the `otpauth://` URI as an image, to print
//! or keep as a backup: PNG (black and white, one bit per pixel) or SVG,
//! chosen by the file's extension.
//!
//! The image holds the secret, so it is created with mode 0600, never
//! through a symbolic link, and never over an existing file unless asked
//! (`-f`). [`check_target`] is called before anything is generated or
//! written, so a bad path stops the command before it changes anything.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::{AccessFlags, access};

use crate::args::QrImage;
use crate::qr::{Matrix, QrError};

/// Permissions of the image: it holds the secret.
const IMAGE_MODE: u32 = 0o600;
/// Pixels per module.
const SCALE: usize = 8;
/// Light modules around the code, as the QR specification asks.
const QUIET_ZONE: usize = 4;

/// The kinds of image `--qr-file` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    /// The format named by the extension of `path`, in either case.
    pub fn of_path(path: &Path) -> Result<Self, String> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("png") => Ok(Self::Png),
            Some("svg") => Ok(Self::Svg),
            _ => Err("the file name must end in .png or .svg".to_owned()),
        }
    }
}

/// Why the image was not written.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("\"{}\" already exists; use -f to replace it", path.display())]
    Exists { path: PathBuf },
    #[error("\"{}\" is a directory", path.display())]
    IsDirectory { path: PathBuf },
    #[error("cannot write the QR image into \"{}\": {source}", dir.display())]
    Directory { dir: PathBuf, source: io::Error },
    #[error("cannot write the QR image \"{}\": {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot encode the QR image \"{}\": {source}", path.display())]
    Encode {
        path: PathBuf,
        source: png::EncodingError,
    },
    #[error(transparent)]
    Qr(#[from] QrError),
}

/// Checks that the image can be written: nothing is at the path (or `-f`
/// was given and it is not a directory), and its directory exists and can
/// be written to.
pub fn check_target(image: &QrImage) -> Result<(), ImageError> {
    let path = &image.path;
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(ImageError::IsDirectory { path: path.clone() });
        }
        Ok(_) if !image.replace => return Err(ImageError::Exists { path: path.clone() }),
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(ImageError::Write {
                path: path.clone(),
                source,
            });
        }
    }
    let dir = directory_of(path);
    access(&dir, AccessFlags::W_OK | AccessFlags::X_OK).map_err(|errno| ImageError::Directory {
        dir: dir.clone(),
        source: errno.into(),
    })
}

/// Writes the QR code of `uri` to the image file.
pub fn write(image: &QrImage, uri: &str) -> Result<(), ImageError> {
    check_target(image)?;
    let matrix = Matrix::encode(uri)?;
    let bytes = match image.format {
        ImageFormat::Png => png_bytes(&matrix).map_err(|source| ImageError::Encode {
            path: image.path.clone(),
            source,
        })?,
        ImageFormat::Svg => svg_text(&matrix).into_bytes(),
    };
    let write_error = |source| ImageError::Write {
        path: image.path.clone(),
        source,
    };
    if image.replace {
        match fs::remove_file(&image.path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(write_error(error));
            }
            _ => {}
        }
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(IMAGE_MODE)
        .custom_flags(no_follow_flag())
        .open(&image.path)
        .map_err(write_error)?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(write_error)
}

/// `O_NOFOLLOW`, so that a link put at the path meanwhile is not followed.
fn no_follow_flag() -> i32 {
    nix::fcntl::OFlag::O_NOFOLLOW.bits()
}

/// The directory the file goes in (the current one for a bare name).
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Side of the image in pixels.
fn side(matrix: &Matrix) -> usize {
    (matrix.width() + 2 * QUIET_ZONE) * SCALE
}

/// Whether the pixel at `x`, `y` is dark.
fn pixel_is_dark(matrix: &Matrix, x: usize, y: usize) -> bool {
    let module = |p: usize| (p / SCALE).checked_sub(QUIET_ZONE);
    match (module(x), module(y)) {
        (Some(mx), Some(my)) => matrix.is_dark(mx, my),
        _ => false,
    }
}

/// A one-bit greyscale PNG: 1 is white, 0 black.
fn png_bytes(matrix: &Matrix) -> Result<Vec<u8>, png::EncodingError> {
    let side = side(matrix);
    let row_bytes = side.div_ceil(8);
    let mut data = vec![0u8; row_bytes * side];
    for y in 0..side {
        for x in 0..side {
            if !pixel_is_dark(matrix, x, y) {
                data[y * row_bytes + x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    let side = u32::try_from(side).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&data)?;
    writer.finish()?;
    Ok(out)
}

/// An SVG of one white square and one path of squares, one per dark
/// module, in pixels (some renderers do not scale a view box of module
/// units).
fn svg_text(matrix: &Matrix) -> String {
    let pixels = side(matrix);
    let mut path = String::new();
    for y in 0..matrix.width() {
        for x in 0..matrix.width() {
            if matrix.is_dark(x, y) {
                path.push_str(&format!(
                    "M{} {}h{SCALE}v{SCALE}h-{SCALE}z",
                    (x + QUIET_ZONE) * SCALE,
                    (y + QUIET_ZONE) * SCALE
                ));
            }
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" \
         width=\"{pixels}\" height=\"{pixels}\" viewBox=\"0 0 {pixels} {pixels}\" \
         shape-rendering=\"crispEdges\">\n\
         <rect width=\"{pixels}\" height=\"{pixels}\" fill=\"#ffffff\"/>\n\
         <path fill=\"#000000\" d=\"{path}\"/>\n\
         </svg>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "otpauth://totp/root@pam?secret=JBSWY3DPEHPK3PXP&issuer=pve";

    #[test]
    fn the_extension_names_the_format() {
        assert_eq!(
            ImageFormat::of_path(Path::new("a/b.png")),
            Ok(ImageFormat::Png)
        );
        assert_eq!(
            ImageFormat::of_path(Path::new("B.SVG")),
            Ok(ImageFormat::Svg)
        );
        for bad in ["qr", "qr.jpg", "qr.png.txt", ".png"] {
            assert!(ImageFormat::of_path(Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn png_has_the_matrix_scaled_with_a_quiet_zone() {
        let matrix = Matrix::encode(URI).unwrap();
        let bytes = png_bytes(&matrix).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut data = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut data).unwrap();
        let side = (matrix.width() + 8) * SCALE;
        assert_eq!((info.width as usize, info.height as usize), (side, side));
        assert_eq!(info.bit_depth, png::BitDepth::One);
        let dark = |x: usize, y: usize| data[y * info.line_size + x / 8] & (0x80 >> (x % 8)) == 0;
        for my in 0..matrix.width() {
            for mx in 0..matrix.width() {
                let (x, y) = ((mx + QUIET_ZONE) * SCALE + 3, (my + QUIET_ZONE) * SCALE + 5);
                assert_eq!(dark(x, y), matrix.is_dark(mx, my), "module {mx},{my}");
            }
        }
        assert!(!dark(0, 0) && !dark(side - 1, side - 1));
    }

    #[test]
    fn svg_has_one_square_per_dark_module() {
        let matrix = Matrix::encode(URI).unwrap();
        let svg = svg_text(&matrix);
        let dark = (0..matrix.width())
            .flat_map(|y| (0..matrix.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| matrix.is_dark(x, y))
            .count();
        assert_eq!(svg.matches("h8v8h-8z").count(), dark);
        let corner = QUIET_ZONE * SCALE;
        assert!(svg.contains(&format!("d=\"M{corner} {corner}h8v8h-8z")));
        assert!(svg.starts_with("<?xml") && svg.ends_with("</svg>\n"));
    }
}
