//! The calling thread's supplementary groups, read and set by the system
//! calls themselves.
//!
//! Reading: `nix::unistd::getgroups` first calls `sysconf(_SC_NGROUPS_MAX)`,
//! which glibc answers by opening and reading
//! `/proc/sys/kernel/ngroups_max`: about 5 µs, a third of what the module's
//! whole file access costs in a login. [`current`] reads the groups into
//! room for a few dozen, and asks the kernel for the count only when they
//! do not fit: one system call for nearly every process.
//!
//! Setting: the kernel's `setgroups` changes the calling thread's
//! credentials alone, but glibc's wrapper (and so `nix`'s) makes every
//! thread of the process repeat it, so that a host's other threads would
//! run with the user's groups, and a child forked by one of them would
//! start with them. [`set_for_this_thread`] makes the system call directly.
//!
//! Two calls of `getgroups` and one `setgroups` system call, each with its
//! `SAFETY` comment.

use nix::errno::Errno;
use nix::unistd::Gid;

/// The `setgroups` system call that takes 32-bit group ids. On 32-bit x86,
/// ARM and SPARC, `SYS_setgroups` is the old one with 16-bit ids.
#[cfg(any(target_arch = "x86", target_arch = "arm", target_arch = "sparc"))]
const SYS_SETGROUPS: libc::c_long = libc::SYS_setgroups32;
#[cfg(not(any(target_arch = "x86", target_arch = "arm", target_arch = "sparc")))]
const SYS_SETGROUPS: libc::c_long = libc::SYS_setgroups;

/// Room for the groups at the first attempt, so that one system call
/// reads them for nearly every process.
const FIRST_GUESS: usize = 32;

/// The calling thread's supplementary groups.
pub fn current() -> Result<Vec<Gid>, Errno> {
    let mut groups: Vec<libc::gid_t> = vec![0; FIRST_GUESS];
    loop {
        // At most 65536 (the kernel's NGROUPS_MAX): it fits.
        let size = libc::c_int::try_from(groups.len()).map_err(|_| Errno::EINVAL)?;
        // SAFETY: `groups` holds `size` initialised `gid_t`s, and the kernel
        // writes at most `size` of them: it fails with EINVAL rather than
        // write more.
        match Errno::result(unsafe { libc::getgroups(size, groups.as_mut_ptr()) }) {
            Ok(written) => {
                groups.truncate(usize::try_from(written).unwrap_or(0));
                return Ok(groups.into_iter().map(Gid::from_raw).collect());
            }
            // More groups than room: make room for as many as there are now,
            // and for one at least, so that the next call never asks for
            // the count alone. (A setgroups broadcast by glibc from another
            // thread may change them in between.)
            Err(Errno::EINVAL) => {
                // SAFETY: with a size of 0 the kernel writes nothing and
                // returns the number of supplementary groups; the pointer is
                // never used.
                let count = Errno::result(unsafe { libc::getgroups(0, std::ptr::null_mut()) })?;
                groups.resize(usize::try_from(count).unwrap_or(0).max(1), 0);
            }
            Err(error) => return Err(error),
        }
    }
}

/// Sets the calling thread's supplementary groups, leaving every other
/// thread's alone. Needs `CAP_SETGID`.
pub fn set_for_this_thread(groups: &[Gid]) -> Result<(), Errno> {
    let raw: Vec<libc::gid_t> = groups.iter().map(|gid| gid.as_raw()).collect();
    let count = libc::c_int::try_from(raw.len()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: the system call reads `count` `gid_t`s from `raw`, which holds
    // exactly that many initialised ones and outlives the call, and writes
    // no memory. The count is passed as a `long`, the width the variadic
    // `syscall` reads each argument with.
    let result = unsafe { libc::syscall(SYS_SETGROUPS, libc::c_long::from(count), raw.as_ptr()) };
    Errno::result(result).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_nix() {
        assert_eq!(current(), nix::unistd::getgroups());
    }

    /// Another thread's groups change, the test thread's stay (the unit
    /// tests run as root).
    /// Sets `wanted` in a new thread and reads them back there.
    fn set_and_read_in_a_new_thread(wanted: Vec<Gid>) -> Result<Vec<Gid>, Errno> {
        std::thread::spawn(move || set_for_this_thread(&wanted).and_then(|()| current()))
            .join()
            .expect("the thread ran")
    }

    #[test]
    #[ignore = "needs root (CAP_SETGID): run by tests/run-all.sh"]
    fn setting_changes_only_the_calling_threads_groups() {
        let before = current();
        let wanted = vec![Gid::from_raw(4242), Gid::from_raw(65534)];
        assert_eq!(set_and_read_in_a_new_thread(wanted.clone()), Ok(wanted));
        assert_eq!(current(), before);
    }

    #[test]
    #[ignore = "needs root (CAP_SETGID): run by tests/run-all.sh"]
    fn reads_more_groups_than_the_first_guess() {
        let wanted: Vec<Gid> = (0..).take(FIRST_GUESS + 9).map(Gid::from_raw).collect();
        assert_eq!(set_and_read_in_a_new_thread(wanted.clone()), Ok(wanted));
    }
}
