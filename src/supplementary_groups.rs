//! The calling process's supplementary groups, as `getgroups(2)` gives them.
//!
//! `nix::unistd::getgroups` first calls `sysconf(_SC_NGROUPS_MAX)`, which
//! glibc answers by opening and reading `/proc/sys/kernel/ngroups_max`:
//! about 5 µs, a third of what the module's whole file access costs in a
//! login. Asking the kernel for the count instead costs a system call.
//!
//! This is one of the two modules allowed `unsafe` (with `ffi`): two calls
//! of `getgroups`, each with its `SAFETY` comment.
#![allow(unsafe_code)]

use nix::errno::Errno;
use nix::unistd::Gid;

/// The calling thread's supplementary groups.
pub fn current() -> Result<Vec<Gid>, Errno> {
    loop {
        // SAFETY: with a size of 0 the kernel writes nothing and returns
        // the number of supplementary groups; the pointer is never used.
        let count = Errno::result(unsafe { libc::getgroups(0, std::ptr::null_mut()) })?;
        let mut groups: Vec<libc::gid_t> = vec![0; usize::try_from(count).unwrap_or(0)];
        // SAFETY: `groups` holds `count` initialised `gid_t`s, and the
        // kernel writes at most `count` of them: it fails with EINVAL
        // rather than write more.
        match Errno::result(unsafe { libc::getgroups(count, groups.as_mut_ptr()) }) {
            Ok(written) => {
                groups.truncate(usize::try_from(written).unwrap_or(0));
                return Ok(groups.into_iter().map(Gid::from_raw).collect());
            }
            // Another thread changed the groups between the two calls.
            Err(Errno::EINVAL) => {}
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn agrees_with_nix() {
        assert_eq!(super::current(), nix::unistd::getgroups());
    }
}
