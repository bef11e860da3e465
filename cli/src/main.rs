//! `rust-totp`: sets up two-factor login for `pam_rust_totp` and
//! `pam_google_authenticator`. It takes the command line of Google's
//! `google-authenticator` tool and writes the same `~/.google_authenticator`
//! file, for the invoking user or, as root, for another (`--user`), with a
//! new key or a given one (`--key`). It can also show an existing file again
//! (`--show`), write the QR code as an image (`--qr-file`), give a file new
//! scratch codes (`--new-scratch-codes`), unlock it (`--reset`), print the
//! fields and the `pvesh` command of the Proxmox VE TOTP dialog (`--pve`)
//! and generate a bare key (`--keygen`). `rust-totp doctor` checks an
//! installation.
#![forbid(unsafe_code)]

mod args;
mod display;
mod doctor;
mod enrol;
mod generate;
mod identity;
mod key;
mod keygen;
mod maintain;
mod prompt;
mod qr;
mod qr_image;
mod show;
mod target;
mod uri;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use args::Command;
use maintain::Change;
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
        Command::NewScratchCodes { target, count } => {
            maintain_file(&target, Change::NewScratchCodes(count))
        }
        Command::Reset(target) => maintain_file(&target, Change::Reset),
        Command::Keygen(presentation) => {
            match keygen::run(&presentation, &mut io::stdout().lock(), stdout_is_terminal) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(&error, error.exit_status()),
            }
        }
    }
}

fn maintain_file(target: &args::FileTarget, change: Change) -> ExitCode {
    match maintain::run(target, change, &mut io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error, error.exit_status()),
    }
}

fn fail(error: &dyn std::error::Error, status: u8) -> ExitCode {
    // Output may already be partly written; keep the message after it.
    let _ = io::stdout().flush();
    eprintln!("rust-totp: {error}");
    ExitCode::from(status)
}
