//! The store's file-system calls, made directly with `rustix` instead of
//! through the C library, with errors as [`Errno`].
//!
//! The module is loaded afresh for every sshd connection, and with
//! `BIND_NOW` every C library function it imports is looked up at each
//! load; these calls import none. A status is always read with `fstatat(2)`
//! itself (with `AT_EMPTY_PATH` for an open descriptor), so that two
//! readings that are compared come from the same system call, and no
//! preload library (libfaketime, say) can alter one and not the other.
//! Only the OFD lock stays with `nix`: rustix's `fcntl_lock` takes
//! process-wide POSIX locks, which do not keep two threads of one host
//! program apart.
#![forbid(unsafe_code)]

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use rustix::fs::{AtFlags, Dir, Gid, Mode, OFlags, Stat, Uid};

/// The status of a file, as `fstatat(2)` fills it.
pub type FileStat = Stat;

pub use rustix::fs::{Access, CWD};

fn errno(error: rustix::io::Errno) -> Errno {
    Errno::from_raw(error.raw_os_error())
}

/// `openat(2)` of `name` in `dir` ([`CWD`] for a path).
pub fn openat(
    dir: impl AsFd,
    name: &(impl AsRef<OsStr> + ?Sized),
    flags: OFlags,
    mode: Mode,
) -> Result<OwnedFd, Errno> {
    rustix::fs::openat(dir, name.as_ref(), flags, mode).map_err(errno)
}

/// The status of an open file.
pub fn stat_fd(file: impl AsFd) -> Result<FileStat, Errno> {
    rustix::fs::statat(file, "", AtFlags::EMPTY_PATH).map_err(errno)
}

/// The status of `name` in `dir` ([`CWD`] for a path), not following a
/// symbolic link at its end.
pub fn stat_at(dir: impl AsFd, name: &(impl AsRef<OsStr> + ?Sized)) -> Result<FileStat, Errno> {
    rustix::fs::statat(dir, name.as_ref(), AtFlags::SYMLINK_NOFOLLOW).map_err(errno)
}

/// The permission bits `mode & 0o7777` for an open file.
pub fn fchmod(file: impl AsFd, mode: u32) -> Result<(), Errno> {
    rustix::fs::fchmod(file, Mode::from_raw_mode(mode & 0o7777)).map_err(errno)
}

/// `fchown(2)`; `None` leaves the owner or the group as it is.
pub fn fchown(file: impl AsFd, owner: Option<u32>, group: Option<u32>) -> Result<(), Errno> {
    let owner = owner.map(Uid::from_raw_unchecked);
    let group = group.map(Gid::from_raw_unchecked);
    rustix::fs::fchown(file, owner, group).map_err(errno)
}

pub fn fsync(file: impl AsFd) -> Result<(), Errno> {
    rustix::fs::fsync(file).map_err(errno)
}

/// Remove the file (not a directory) `name` in `dir`.
pub fn unlinkat(dir: impl AsFd, name: &(impl AsRef<OsStr> + ?Sized)) -> Result<(), Errno> {
    rustix::fs::unlinkat(dir, name.as_ref(), AtFlags::empty()).map_err(errno)
}

/// Rename `from` to `to`, both in `dir`.
pub fn renameat(dir: impl AsFd, from: &OsStr, to: &OsStr) -> Result<(), Errno> {
    let dir = dir.as_fd();
    rustix::fs::renameat(dir, from, dir, to).map_err(errno)
}

/// `pread(2)`: read into `buf` from `offset`.
pub fn read_at(file: impl AsFd, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
    rustix::io::pread(file, buf, offset).map_err(errno)
}

/// Whether the caller may do `access` to `dir` itself, judged with its
/// effective (file-system) identity.
pub fn access_dir(dir: impl AsFd, access: Access) -> Result<(), Errno> {
    rustix::fs::accessat(dir, ".", access, AtFlags::EACCESS).map_err(errno)
}

/// The names in the directory `dir`, `.` and `..` included.
pub fn names_in(dir: impl AsFd) -> Result<Vec<CString>, Errno> {
    let listing = Dir::read_from(dir).map_err(errno)?;
    Ok(listing
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_owned())
        .collect())
}

/// Fill `buf` from the kernel's random number generator (`getrandom(2)`,
/// which waits only until it has been seeded once after boot).
pub fn fill_random(buf: &mut [u8]) -> Result<(), Errno> {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(read) => filled += read,
            Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(errno(error)),
        }
    }
    Ok(())
}
