//! Questions to the person enrolling: yes/no questions and the request for
//! a code from the app. Answers are read line by line, so a script can pipe
//! them in; end of input aborts before anything is written.

use std::io::{self, BufRead, Write};

/// Why a question got no answer.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("no answer (end of input); nothing was written")]
    EndOfInput,
    #[error("terminal input/output failed: {0}")]
    Io(#[from] io::Error),
}

/// Questions asked on `input`, with prompts and all other output on `output`.
pub struct Dialogue<R, W> {
    input: R,
    output: W,
}

impl<R: BufRead, W: Write> Dialogue<R, W> {
    pub fn new(input: R, output: W) -> Self {
        Self { input, output }
    }

    /// Where normal output goes.
    pub fn out(&mut self) -> &mut W {
        &mut self.output
    }

    /// Asks `question` after a blank line until the answer starts with y or
    /// n (either case).
    pub fn yes_no(&mut self, question: &str) -> Result<bool, PromptError> {
        writeln!(self.output)?;
        loop {
            write!(self.output, "{question} (y/n) ")?;
            match self.read_answer()?.trim_start().chars().next() {
                Some('y' | 'Y') => return Ok(true),
                Some('n' | 'N') => return Ok(false),
                _ => {}
            }
        }
    }

    /// Asks for a number; see [`parse_number`] for how the answer is read.
    pub fn number(&mut self, question: &str) -> Result<i64, PromptError> {
        write!(self.output, "{question} ")?;
        Ok(parse_number(&self.read_answer()?))
    }

    fn read_answer(&mut self) -> Result<String, PromptError> {
        self.output.flush()?;
        let mut line = Vec::new();
        if self.input.read_until(b'\n', &mut line)? == 0 {
            writeln!(self.output)?;
            return Err(PromptError::EndOfInput);
        }
        Ok(String::from_utf8_lossy(&line).into_owned())
    }
}

/// Reads a leading decimal number as strtol(3) does: leading white space and
/// a sign are allowed, anything after the digits is ignored, and no digits
/// at all read as 0.
pub fn parse_number(answer: &str) -> i64 {
    let text = answer.trim_start();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if negative { -magnitude } else { magnitude }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialogue(input: &str) -> Dialogue<&[u8], Vec<u8>> {
        Dialogue::new(input.as_bytes(), Vec::new())
    }

    #[test]
    fn yes_no_repeats_until_answered() {
        let mut d = dialogue("maybe\n\nYes please\nn\n");
        assert!(d.yes_no("Continue?").unwrap());
        assert!(!d.yes_no("Again?").unwrap());
        let shown = String::from_utf8(d.output).unwrap();
        assert_eq!(shown.matches("Continue? (y/n) ").count(), 3);
        assert!(matches!(
            dialogue("").yes_no("Q?"),
            Err(PromptError::EndOfInput)
        ));
    }

    #[test]
    fn numbers_are_read_like_strtol() {
        assert_eq!(parse_number("  123456\n"), 123456);
        assert_eq!(parse_number("-1\n"), -1);
        assert_eq!(parse_number("+42abc"), 42);
        assert_eq!(parse_number("abc"), 0);
        assert_eq!(parse_number("99999999999999999999999"), i64::MAX);
        assert_eq!(dialogue("007\n").number("Code:").unwrap(), 7);
    }
}
