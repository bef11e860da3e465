//! The directory that stands for `/` while checking: the real root normally,
//! a fixture tree in tests. Paths inside the checked system (from
//! `sshd_config`, `/etc/passwd`, pam.d) are mapped through it before they are
//! opened, and shown without it in messages.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// A file of the checked system that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct ReadError {
    /// The path as the checked system sees it.
    pub path: String,
    pub source: io::Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemRoot {
    dir: PathBuf,
}

impl SystemRoot {
    pub fn new(dir: PathBuf) -> Self {
        SystemRoot { dir }
    }

    /// True when checking the machine itself rather than a tree.
    pub fn is_real(&self) -> bool {
        self.dir == Path::new("/")
    }

    /// Where the checked system's `path` is on this machine. A relative
    /// `path` is taken as relative to the checked system's `/`.
    pub fn path(&self, path: impl AsRef<Path>) -> PathBuf {
        let relative: PathBuf = path
            .as_ref()
            .components()
            .filter(|component| !matches!(component, Component::RootDir | Component::Prefix(_)))
            .collect();
        self.dir.join(relative)
    }

    /// Reads `path` (a path on this machine); an error names it as the
    /// checked system sees it.
    pub fn read(&self, path: &Path) -> Result<String, ReadError> {
        fs::read_to_string(path).map_err(|source| ReadError {
            path: self.show(path),
            source,
        })
    }

    /// `path` as the checked system sees it: without the root directory.
    pub fn show(&self, path: &Path) -> String {
        match path.strip_prefix(&self.dir) {
            Ok(inner) if !self.is_real() => Path::new("/").join(inner).display().to_string(),
            _ => path.display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_root_maps_paths_to_themselves() {
        let root = SystemRoot::new(PathBuf::from("/"));
        assert!(root.is_real());
        assert_eq!(root.path("/etc/passwd"), PathBuf::from("/etc/passwd"));
        assert_eq!(root.show(Path::new("/etc/passwd")), "/etc/passwd");
    }

    #[test]
    fn tree_root_prefixes_and_hides_itself_in_messages() {
        let root = SystemRoot::new(PathBuf::from("/tmp/tree"));
        assert!(!root.is_real());
        let mapped = root.path("/etc/ssh/sshd_config");
        assert_eq!(mapped, PathBuf::from("/tmp/tree/etc/ssh/sshd_config"));
        assert_eq!(root.path("etc/pam.d"), PathBuf::from("/tmp/tree/etc/pam.d"));
        assert_eq!(root.show(&mapped), "/etc/ssh/sshd_config");
        assert_eq!(root.show(Path::new("/elsewhere/x")), "/elsewhere/x");
    }
}
