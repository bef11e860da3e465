//! Logging to the system log, the way PAM modules are expected to: facility
//! `authpriv`, tagged `SERVICE(pam_rust_totp)[PID]`.
//!
//! Messages go straight to the `/dev/log` datagram socket instead of through
//! `openlog(3)`, so the host program's own syslog identity and options are
//! never changed. Sending never blocks; when there is no syslog daemon the
//! message is dropped (never written to the console).
//!
//! The socket is made and written with direct system calls (rustix): the
//! module then binds none of the C library's socket functions when it is
//! loaded, which sshd does for every connection.
#![forbid(unsafe_code)]

use std::os::fd::OwnedFd;

use rustix::net::{AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType};

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
    /// One socket for all of a login's messages; `None` when it could not
    /// be made (then nothing is logged).
    socket: Option<LogSocket>,
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
            tag: format!(
                "{service}({MODULE_NAME})[{}]",
                rustix::process::getpid().as_raw_pid()
            ),
            socket: LogSocket::open().ok(),
        }
    }

    /// Sends one message; failures are ignored (there is nowhere to report
    /// them).
    pub fn log(&self, severity: Severity, message: &str) {
        if let Some(socket) = &self.socket {
            socket.send(&self.format(severity, message));
        }
    }

    /// The datagram for `message`: `<PRI>TAG: MESSAGE`, with control
    /// characters, Unicode line breaks and bidirectional controls replaced,
    /// so one message is always one line that reads as it is stored.
    fn format(&self, severity: Severity, message: &str) -> String {
        let priority = FACILITY_AUTHPRIV * 8 + severity as u8;
        let mut text: String = message
            .chars()
            .map(|c| if is_unsafe_in_log(c) { '?' } else { c })
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

/// Characters that could make a log line look other than it is: control
/// characters, the line and paragraph separators U+2028 and U+2029, and
/// Unicode's bidirectional controls (the marks U+061C, U+200E and U+200F,
/// the embeddings and overrides U+202A–U+202E and the isolates
/// U+2066–U+2069), which reorder the text around them when it is displayed.
fn is_unsafe_in_log(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// An unbound datagram socket that never blocks, for [`LOG_SOCKET`].
#[derive(Debug)]
pub(crate) struct LogSocket {
    socket: OwnedFd,
    address: SocketAddrUnix,
}

impl LogSocket {
    pub(crate) fn open() -> rustix::io::Result<Self> {
        let socket = rustix::net::socket_with(
            AddressFamily::UNIX,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None,
        )?;
        Ok(LogSocket {
            socket,
            address: SocketAddrUnix::new(LOG_SOCKET)?,
        })
    }

    /// Sends one datagram; failures are ignored (there is nowhere to
    /// report them).
    pub(crate) fn send(&self, datagram: &str) {
        let _ = rustix::net::sendto(
            &self.socket,
            datagram.as_bytes(),
            SendFlags::empty(),
            &self.address,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn message_format() {
        let logger = Logger::new("sshd");
        let line = logger.format(Severity::Error, "Invalid verification code for \"alice\"");
        let pid = rustix::process::getpid().as_raw_pid();
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
    fn unicode_line_breaks_and_bidi_controls_are_escaped() {
        let logger = Logger::new("sshd");
        let unsafe_chars = [
            '\u{2028}', '\u{2029}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}',
            '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{061c}', '\u{200e}', '\u{200f}',
        ];
        for c in unsafe_chars {
            let line = logger.format(Severity::Info, &format!("user \"al{c}ice\" refused"));
            assert!(
                line.ends_with("user \"al?ice\" refused"),
                "U+{:04X}",
                u32::from(c)
            );
        }
        // Their neighbours, and other non-ASCII text, are kept.
        for c in [
            '\u{2027}', '\u{202f}', '\u{2065}', '\u{206a}', '\u{200d}', 'é',
        ] {
            let line = logger.format(Severity::Info, &format!("host {c}"));
            assert!(
                line.ends_with(&format!("host {c}")),
                "U+{:04X}",
                u32::from(c)
            );
        }
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
        let listener = std::os::unix::net::UnixDatagram::bind(&path).expect("bind");
        let sender = LogSocket::open().expect("socket").socket;
        let send_to = |text: &[u8], to: &Path| {
            let address = SocketAddrUnix::new(to).expect("address");
            rustix::net::sendto(&sender, text, SendFlags::empty(), &address)
        };
        send_to(b"<86>x: hello", &path).expect("sent");
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).expect("received");
        assert_eq!(&buf[..n], b"<86>x: hello");
        assert!(send_to(b"x", &dir.path().join("absent")).is_err());
    }

    #[test]
    fn the_socket_never_blocks_and_is_closed_on_exec() {
        let LogSocket { socket, address } = LogSocket::open().expect("socket");
        let status = rustix::fs::fcntl_getfl(&socket).expect("status flags");
        assert!(status.contains(rustix::fs::OFlags::NONBLOCK));
        let fd_flags = rustix::io::fcntl_getfd(&socket).expect("descriptor flags");
        assert!(fd_flags.contains(rustix::io::FdFlags::CLOEXEC));
        assert_eq!(address.path().as_deref(), Some(c"/dev/log"));
    }
}
