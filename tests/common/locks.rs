//! Probing the OFD lock the module takes on `<state file>.lock`, from
//! outside the process or open file description that holds it.

use std::fs::File;
use std::path::Path;

use nix::errno::Errno;

/// Whether another open file description is refused the lock on `lock_file`.
pub fn lock_is_held(lock_file: &Path) -> bool {
    let probe = File::options()
        .read(true)
        .write(true)
        .open(lock_file)
        .unwrap_or_else(|e| panic!("opening {}: {e}", lock_file.display()));
    let whole_file = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    match nix::fcntl::fcntl(&probe, nix::fcntl::FcntlArg::F_OFD_SETLK(&whole_file)) {
        Ok(_) => false,
        Err(Errno::EAGAIN | Errno::EACCES) => true,
        Err(e) => panic!("probing the lock on {}: {e}", lock_file.display()),
    }
}
