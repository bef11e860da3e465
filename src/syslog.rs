//! Logging to the system log, the way PAM modules are expected to: facility
//! `authpriv`, tagged `SERVICE(pam_rust_totp)[PID]`.
//!
//! Messages go straight to the `/dev/log` datagram socket instead of through
//! `openlog(3)`, so the host program's own syslog identity and options are
//! never changed. Sending never blocks; when there is no syslog daemon the
//! message is dropped (never written to the console).
#![forbid(unsafe_code)]

use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// The socket syslog daemons listen on.
pub const LOG_SOCKET: &str = "/dev/log";

/// The name PAM modules put in parentheses after the service.
pub const MODULE_NAME: &str = "pam_rust_totp";

/// `LOG_AUTHPRIV`.
const FACILITY_AUTHPRIV: u8 = 10;

/// Longest message sent; longer ones are cut (at a character boundary).
const MAX_MESSAGE: usize = 1024;

/// syslog severities used by the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error = 3,
    Warning = 4,
    Info = 6,
}

/// Sends messages tagged with one PAM service name.
#[derive(Debug)]
pub struct Logger {
    tag: String,
    /// One non-blocking socket for all of a login's messages; `None` when
    /// it could not be made (then nothing is logged).
    socket: Option<UnixDatagram>,
}

impl Logger {
    /// A logger for `service` (the PAM service, e.g. `sshd`).
    pub fn new(service: &str) -> Self {
        let service: String = service
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect();
        Self {
            tag: format!("{service}({MODULE_NAME})[{}]", std::process::id()),
            socket: nonblocking_socket().ok(),
        }
    }

    /// Sends one message; failures are ignored (there is nowhere to report
    /// them).
    pub fn log(&self, severity: Severity, message: &str) {
        if let Some(socket) = &self.socket {
            let datagram = self.format(severity, message);
            let _ = socket.send_to(datagram.as_bytes(), Path::new(LOG_SOCKET));
        }
    }

    /// The datagram for `message`: `<PRI>TAG: MESSAGE`, with control
    /// characters replaced so one message is always one line.
    fn format(&self, severity: Severity, message: &str) -> String {
        let priority = FACILITY_AUTHPRIV * 8 + severity as u8;
        let mut text: String = message
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        if text.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        format!("<{priority}>{}: {text}", self.tag)
    }
}

fn nonblocking_socket() -> std::io::Result<UnixDatagram> {
    let socket = UnixDatagram::unbound()?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_format() {
        let logger = Logger::new("sshd");
        let line = logger.format(Severity::Error, "Invalid verification code for \"alice\"");
        let pid = std::process::id();
        assert_eq!(
            line,
            format!("<83>sshd(pam_rust_totp)[{pid}]: Invalid verification code for \"alice\"")
        );
    }

    #[test]
    fn control_characters_cannot_forge_lines() {
        let logger = Logger::new("ss\nhd");
        let line = logger.format(Severity::Info, "host evil\nroot logged in");
        assert!(!line.contains('\n'));
        assert!(line.contains("sshd(pam_rust_totp)"));
        assert!(line.ends_with("host evil?root logged in"));
    }

    #[test]
    fn long_messages_are_cut() {
        let logger = Logger::new("sshd");
        let line = logger.format(Severity::Warning, &"é".repeat(2000));
        assert!(line.len() < MAX_MESSAGE + 64);
    }

    #[test]
    fn datagrams_reach_a_listening_socket_and_a_missing_one_is_harmless() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log");
        let listener = UnixDatagram::bind(&path).expect("bind");
        let sender = nonblocking_socket().expect("socket");
        sender.send_to(b"<86>x: hello", &path).expect("sent");
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).expect("received");
        assert_eq!(&buf[..n], b"<86>x: hello");
        assert!(sender.send_to(b"x", dir.path().join("absent")).is_err());
    }
}
