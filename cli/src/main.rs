//! `rust-totp`: sets up two-factor login for `pam_rust_totp` and
//! `pam_google_authenticator`. It takes the command line of Google's
//! `google-authenticator` tool and writes the same `~/.google_authenticator`
//! file, and can also show an existing file again (`--show`), print the
//! fields of the Proxmox VE TOTP dialog (`--pve`) and generate a bare key
//! (`--keygen`). `rust-totp doctor` checks an installation.
#![forbid(unsafe_code)]

mod args;
mod display;
mod doctor;
mod enrol;
mod generate;
mod identity;
mod prompt;
mod qr;
mod show;
mod uri;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use args::Command;
use generate::{KEYGEN_SECRET_BYTES, RandomError};
use prompt::Dialogue;

const DOCTOR_SUBCOMMAND: &str = "doctor";

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|arg| arg == DOCTOR_SUBCOMMAND) {
        let status = doctor::run(argv[2..].to_vec());
        return ExitCode::from(u8::try_from(status).unwrap_or(1));
    }
    let command = match args::parse(argv) {
        Ok(command) => command,
        // Prints the message (or help/version) and exits with 2 (or 0).
        Err(error) => error.exit(),
    };
    let stdout_is_terminal = io::stdout().is_terminal();
    match command {
        Command::Enrol(options) => {
            let mut dialogue = Dialogue::new(io::stdin().lock(), io::stdout().lock());
            match enrol::run(&options, &mut dialogue, stdout_is_terminal) {
                Ok(_) => ExitCode::SUCCESS,
                Err(error) => fail(&error, error.exit_status()),
            }
        }
        Command::Show(options) => {
            match show::run(&options, &mut io::stdout().lock(), stdout_is_terminal) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(&error, error.exit_status()),
            }
        }
        Command::Keygen => match keygen() {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(&error, 1),
        },
    }
}

/// Prints a new 80-bit key in base32, as Proxmox VE's `oathkeygen` does.
fn keygen() -> Result<(), KeygenError> {
    let secret = generate::secret(KEYGEN_SECRET_BYTES)?;
    writeln!(io::stdout().lock(), "{}", secret.base32.as_str())?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
enum KeygenError {
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("cannot write to standard output: {0}")]
    Io(#[from] io::Error),
}

fn fail(error: &dyn std::error::Error, status: u8) -> ExitCode {
    // Output may already be partly written; keep the message after it.
    let _ = io::stdout().flush();
    eprintln!("rust-totp: {error}");
    ExitCode::from(status)
}
