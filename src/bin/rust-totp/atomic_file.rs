//! Writing the secret file atomically: a new temporary file beside the
//! target (created exclusively, never through a symlink, mode 0400), synced
//! to disk and renamed over the target, so readers see the old file or the
//! complete new one and never a partial secret.
#![forbid(unsafe_code)]

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::unistd::{AccessFlags, access};

/// Permissions of a secret file: readable by its owner only.
const SECRET_FILE_MODE: u32 = 0o400;
/// Attempts at finding an unused temporary name before giving up.
const TEMP_NAME_ATTEMPTS: u32 = 16;

/// Why a secret file cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("\"{}\" has no file name", .0.display())]
    NoFileName(PathBuf),
    #[error("\"{}\" is a directory", .0.display())]
    IsDirectory(PathBuf),
    #[error("cannot write into directory \"{}\": {source}", dir.display())]
    Directory { dir: PathBuf, source: io::Error },
    #[error("failed to write \"{}\": {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// Checks, before anything is generated or asked, that `path` names a file
/// that can be created or replaced: its directory exists and is writable and
/// the path itself is not a directory.
pub fn check_writable(path: &Path) -> Result<(), WriteError> {
    let dir = parent_dir(path)?;
    if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(WriteError::IsDirectory(path.to_owned()));
    }
    let directory_error = |source: io::Error| WriteError::Directory {
        dir: dir.to_owned(),
        source,
    };
    let meta = fs::metadata(dir).map_err(directory_error)?;
    if !meta.is_dir() {
        return Err(directory_error(io::Error::from(
            io::ErrorKind::NotADirectory,
        )));
    }
    access(dir, AccessFlags::W_OK | AccessFlags::X_OK)
        .map_err(|errno| directory_error(io::Error::from(errno)))
}

/// Replaces (or creates) `path` with `contents`, atomically, mode 0400.
pub fn write_secret_file(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    let dir = parent_dir(path)?;
    let io_error = |source: io::Error| WriteError::Io {
        path: path.to_owned(),
        source,
    };
    let (temp_path, file) = create_temp_file(path).map_err(io_error)?;
    let written = fill_and_sync(file, contents).and_then(|()| fs::rename(&temp_path, path));
    if let Err(error) = written {
        // Best effort: the temporary file holds the secret and must not stay.
        let _ = fs::remove_file(&temp_path);
        return Err(io_error(error));
    }
    // Make the rename itself durable.
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_error)
}

fn parent_dir(path: &Path) -> Result<&Path, WriteError> {
    if path.file_name().is_none() {
        return Err(WriteError::NoFileName(path.to_owned()));
    }
    Ok(match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    })
}

/// A new file named `.<name>.<random>~` beside `path`, opened with
/// `O_CREAT|O_EXCL|O_NOFOLLOW`, so that neither an existing file nor a
/// planted symlink is ever written through.
fn create_temp_file(path: &Path) -> io::Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last_error = io::Error::from(io::ErrorKind::AlreadyExists);
    for _ in 0..TEMP_NAME_ATTEMPTS {
        let temp_path = path.with_file_name(format!(".{name}.{:016x}~", rand::random::<u64>()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(SECRET_FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp_path)
        {
            Ok(file) => return Ok((temp_path, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => last_error = error,
            Err(error) => return Err(error),
        }
    }
    Err(last_error)
}

fn fill_and_sync(mut file: File, contents: &[u8]) -> io::Result<()> {
    // The umask may have cleared bits of the requested mode; set it exactly.
    file.set_permissions(Permissions::from_mode(SECRET_FILE_MODE))?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn writes_new_file_with_mode_0400_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        check_writable(&path).unwrap();
        write_secret_file(&path, b"ABC\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"ABC\n");
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o400);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replaces_existing_file_and_symlink_without_following_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_secret_file(&path, b"old\n").unwrap();
        write_secret_file(&path, b"new\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new\n");

        let victim = dir.path().join("victim");
        fs::write(&victim, b"untouched").unwrap();
        let link = dir.path().join("link");
        symlink(&victim, &link).unwrap();
        write_secret_file(&link, b"secret\n").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"untouched");
        assert!(
            !fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn unusable_targets_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            check_writable(&dir.path().join("missing/secret")),
            Err(WriteError::Directory { .. })
        ));
        assert!(matches!(
            check_writable(dir.path()),
            Err(WriteError::IsDirectory(_))
        ));
        let file = dir.path().join("plain");
        fs::write(&file, b"").unwrap();
        assert!(matches!(
            check_writable(&file.join("secret")),
            Err(WriteError::Directory { .. })
        ));
        assert!(matches!(
            check_writable(Path::new("/")),
            Err(WriteError::NoFileName(_))
        ));
    }
}
