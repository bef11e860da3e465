//! Captures what the module sends to syslog: binds a datagram socket at
//! `/dev/log` when no syslog daemon owns it, and collects every message.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::common::requirements::unavailable;

const SOCKET: &str = "/dev/log";

/// The messages received so far.
pub struct Logs {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Logs {
    /// The messages whose tag contains `tag`, waiting briefly for
    /// datagrams still in flight.
    pub fn lines_for(&self, tag: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let found = self.matching(tag);
            if !found.is_empty() || Instant::now() > deadline {
                std::thread::sleep(Duration::from_millis(50));
                return self.matching(tag);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn matching(&self, tag: &str) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().filter(|l| l.contains(tag)).cloned().collect()
    }
}

/// Starts capturing (once per test process); the test fails when it cannot.
pub fn start() -> &'static Logs {
    static LOGS: OnceLock<Result<Logs, String>> = OnceLock::new();
    match LOGS.get_or_init(bind) {
        Ok(logs) => logs,
        Err(reason) => unavailable(reason),
    }
}

fn bind() -> Result<Logs, String> {
    let path = Path::new(SOCKET);
    if path.exists() {
        let probe = UnixDatagram::unbound().map_err(|e| e.to_string())?;
        if probe.connect(path).is_ok() {
            return Err("a syslog daemon owns /dev/log, so log lines cannot be captured".into());
        }
        // A socket left by an earlier test run that nobody reads.
        std::fs::remove_file(path).map_err(|e| format!("removing stale {SOCKET}: {e}"))?;
    }
    let socket = UnixDatagram::bind(path).map_err(|e| format!("binding {SOCKET}: {e}"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .map_err(|e| format!("chmod {SOCKET}: {e}"))?;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 65536];
        while let Ok(n) = socket.recv(&mut buffer) {
            let line = String::from_utf8_lossy(&buffer[..n]).into_owned();
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        }
    });
    Ok(Logs { lines })
}
