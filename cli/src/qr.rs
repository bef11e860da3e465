//! Drawing an otpauth:// URI as a QR code in the terminal.
//!
//! `ANSI` and `UTF8` look like the reference tool's drawings: black modules on
//! a light grey background set with colour escapes, so they scan on dark and
//! light terminals alike; `ANSI` uses two reverse-video spaces per module,
//! `UTF8` packs two module rows into one text row with half-block
//! characters. The `_INVERSE` variants set no colours and draw the dark
//! modules in the terminal's own text colour, for light-background terminals
//! and for pasting into documents. `ANSI_GREY` and `UTF8_GREY`, the names
//! upstream 1.11 gives the black-on-grey drawings, draw as `ANSI` and `UTF8`.

use qrcode::{Color, EcLevel, QrCode};

const RESET: &str = "\x1b[0m";
const BLACK_ON_GREY: &str = "\x1b[30;47;27m";
const REVERSE_ON: &str = "\x1b[7m";
const REVERSE_OFF: &str = "\x1b[27m";
const FULL_BLOCK: char = '\u{2588}';
const UPPER_HALF: char = '\u{2580}';
const LOWER_HALF: char = '\u{2584}';

/// Light modules drawn around the code in ANSI mode (each two columns wide).
const ANSI_MARGIN_MODULES: usize = 2;
/// Light modules drawn around the code in UTF-8 mode.
const UTF8_MARGIN_MODULES: usize = 2;

/// How (and whether) the QR code is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrMode {
    None,
    Ansi,
    Utf8,
    AnsiInverse,
    Utf8Inverse,
}

impl QrMode {
    /// Parses a `-Q` value, ignoring case and taking `-` for `_`, as
    /// upstream 1.11 does.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.to_ascii_uppercase().replace('-', "_").as_str() {
            "NONE" => Ok(Self::None),
            "ANSI" | "ANSI_GREY" => Ok(Self::Ansi),
            "UTF8" | "UTF8_GREY" => Ok(Self::Utf8),
            "ANSI_INVERSE" => Ok(Self::AnsiInverse),
            "UTF8_INVERSE" => Ok(Self::Utf8Inverse),
            _ => Err("expected NONE, ANSI, UTF8, ANSI_INVERSE, UTF8_INVERSE, \
                      ANSI_GREY or UTF8_GREY"
                .to_owned()),
        }
    }
}

/// Why a URI could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode the URI as a QR code: {0}")]
pub struct QrError(#[from] qrcode::types::QrError);

/// The modules of a QR code, row by row, `true` for dark.
pub struct Matrix {
    width: usize,
    dark: Vec<bool>,
}

impl Matrix {
    /// The QR code of `text`, at error correction level M.
    pub fn encode(text: &str) -> Result<Self, QrError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Ok(Self {
            width: code.width(),
            dark,
        })
    }

    /// Modules per side.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark; outside is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }
}

/// The drawing of `text` in `mode`, one text row per line, each line ending
/// in a newline; empty for [`QrMode::None`].
pub fn render(text: &str, mode: QrMode) -> Result<String, QrError> {
    let (draw, colours): (fn(&Matrix, &str) -> String, &str) = match mode {
        QrMode::None => return Ok(String::new()),
        QrMode::Ansi => (draw_ansi, BLACK_ON_GREY),
        QrMode::AnsiInverse => (draw_ansi, RESET),
        QrMode::Utf8 => (draw_utf8, BLACK_ON_GREY),
        QrMode::Utf8Inverse => (draw_utf8, ""),
    };
    Ok(draw(&Matrix::encode(text)?, colours))
}

/// Two columns per module; dark modules are reverse-video spaces.
fn draw_ansi(matrix: &Matrix, background: &str) -> String {
    let margin = "  ".repeat(ANSI_MARGIN_MODULES);
    let blank_row = format!(
        "{background}{}{RESET}\n",
        "  ".repeat(matrix.width + 2 * ANSI_MARGIN_MODULES)
    );
    let mut out = blank_row.repeat(ANSI_MARGIN_MODULES);
    for y in 0..matrix.width {
        out.push_str(background);
        out.push_str(&margin);
        let mut reversed = false;
        for x in 0..matrix.width {
            let dark = matrix.is_dark(x, y);
            if dark != reversed {
                out.push_str(if dark { REVERSE_ON } else { REVERSE_OFF });
                reversed = dark;
            }
            out.push_str("  ");
        }
        if reversed {
            out.push_str(REVERSE_OFF);
        }
        out.push_str(&margin);
        out.push_str(RESET);
        out.push('\n');
    }
    out.push_str(&blank_row.repeat(ANSI_MARGIN_MODULES));
    out
}

/// One column per module and two module rows per text row.
fn draw_utf8(matrix: &Matrix, colours: &str) -> String {
    let reset = if colours.is_empty() { "" } else { RESET };
    let margin = " ".repeat(UTF8_MARGIN_MODULES);
    let full_width = matrix.width + 2 * UTF8_MARGIN_MODULES;
    // The margin above and below is a whole number of text rows.
    let blank_row = format!("{colours}{}{reset}\n", " ".repeat(full_width));
    let margin_rows = UTF8_MARGIN_MODULES.div_ceil(2);
    let mut out = blank_row.repeat(margin_rows);
    for y in (0..matrix.width).step_by(2) {
        out.push_str(colours);
        out.push_str(&margin);
        for x in 0..matrix.width {
            out.push(half_block(matrix.is_dark(x, y), matrix.is_dark(x, y + 1)));
        }
        out.push_str(&margin);
        out.push_str(reset);
        out.push('\n');
    }
    out.push_str(&blank_row.repeat(margin_rows));
    out
}

fn half_block(top: bool, bottom: bool) -> char {
    match (top, bottom) {
        (true, true) => FULL_BLOCK,
        (true, false) => UPPER_HALF,
        (false, true) => LOWER_HALF,
        (false, false) => ' ',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "otpauth://totp/root@pam?secret=JBSWY3DPEHPK3PXP&issuer=pve";

    fn strip_escapes(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn mode_names_ignore_case() {
        assert_eq!(QrMode::parse("utf8"), Ok(QrMode::Utf8));
        assert_eq!(QrMode::parse("Ansi_Inverse"), Ok(QrMode::AnsiInverse));
        assert_eq!(QrMode::parse("utf8-inverse"), Ok(QrMode::Utf8Inverse));
        assert!(QrMode::parse("png").is_err());
    }

    #[test]
    fn grey_modes_of_upstream_1_11_are_the_black_on_grey_drawings() {
        assert_eq!(QrMode::parse("ANSI_GREY"), Ok(QrMode::Ansi));
        assert_eq!(QrMode::parse("ansi-grey"), Ok(QrMode::Ansi));
        assert_eq!(QrMode::parse("UTF8_GREY"), Ok(QrMode::Utf8));
        assert_eq!(QrMode::parse("Utf8-Grey"), Ok(QrMode::Utf8));
        assert!(QrMode::parse("UTF8_GRAY").is_err());
    }

    #[test]
    fn none_draws_nothing() {
        assert_eq!(render(URI, QrMode::None).ok().as_deref(), Some(""));
    }

    #[test]
    fn utf8_drawing_is_rectangular_and_reproduces_the_matrix() {
        let matrix = Matrix::encode(URI).unwrap();
        let drawing = render(URI, QrMode::Utf8).unwrap();
        let rows: Vec<String> = strip_escapes(&drawing).lines().map(str::to_owned).collect();
        assert_eq!(rows.len(), matrix.width.div_ceil(2) + 2);
        for row in &rows {
            assert_eq!(row.chars().count(), matrix.width + 4);
        }
        for (text_row, row) in rows[1..rows.len() - 1].iter().enumerate() {
            for (x, c) in row.chars().skip(2).take(matrix.width).enumerate() {
                let y = 2 * text_row;
                assert_eq!(
                    c,
                    half_block(matrix.is_dark(x, y), matrix.is_dark(x, y + 1))
                );
            }
        }
    }

    #[test]
    fn ansi_drawing_has_two_columns_per_module_and_balanced_reverse_video() {
        let matrix = Matrix::encode(URI).unwrap();
        let drawing = render(URI, QrMode::Ansi).unwrap();
        let rows: Vec<&str> = drawing.lines().collect();
        assert_eq!(rows.len(), matrix.width + 4);
        for row in rows {
            assert!(row.starts_with(BLACK_ON_GREY) && row.ends_with(RESET));
            assert_eq!(strip_escapes(row).len(), 2 * (matrix.width + 4));
            assert_eq!(
                row.matches(REVERSE_ON).count(),
                row.matches(REVERSE_OFF).count(),
                "every dark run is closed"
            );
        }
    }

    #[test]
    fn inverse_modes_set_no_colours() {
        let utf8 = render(URI, QrMode::Utf8Inverse).unwrap();
        assert!(!utf8.contains('\x1b'));
        let ansi = render(URI, QrMode::AnsiInverse).unwrap();
        assert!(!ansi.contains(BLACK_ON_GREY));
        assert!(ansi.contains(REVERSE_ON));
    }
}
