//! Owner-only files and directories: the data directory (0700), the SQLite database with its
//! `-wal` and `-shm` files and the key files (0600). A copy of the directory by another local
//! user or a backup reader is then refused by the operating system.

use std::fs;
use std::io;
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::Path;

/// Creates `dir` (and missing parents) with mode 0700. An existing directory that grants group
/// or other users any access is tightened to 0700, with a warning in the log. A shared
/// directory (sticky bit, like `/tmp`) is refused: the data needs a directory of its own.
///
/// # Errors
/// I/O errors; [`io::ErrorKind::PermissionDenied`] for a shared directory.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = fs::metadata(dir)?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o1000 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the data directory is a shared directory (sticky bit); give the issuer a directory of its own",
        ));
    }
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        tracing::warn!(
            dir = %dir.display(),
            was = format!("{mode:o}"),
            "data directory was readable by other users; tightened to 0700"
        );
    }
    Ok(())
}

/// Creates `path` empty with mode 0600 if it does not exist; tightens an existing one to 0600.
///
/// # Errors
/// I/O errors.
pub fn private_file(path: &Path) -> io::Result<()> {
    fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    owner_only(path, 0o600)
}

/// Sets `path` to `mode` when it exists and grants more than that (a missing file is fine).
///
/// # Errors
/// I/O errors other than the file not existing.
pub fn owner_only(path: &Path, mode: u32) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(meta) if meta.mode() & 0o777 & !mode != 0 => {
            fs::set_permissions(path, fs::Permissions::from_mode(mode))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_shared_directory_is_refused_and_a_loose_one_tightened() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        let err = private_dir(&shared).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        let loose = root.path().join("loose");
        fs::create_dir(&loose).unwrap();
        fs::set_permissions(&loose, fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&loose).unwrap();
        assert_eq!(fs::metadata(&loose).unwrap().mode() & 0o777, 0o700);
        let file = loose.join("f");
        fs::write(&file, b"x").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        private_file(&file).unwrap();
        assert_eq!(fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
        assert_eq!(
            fs::read(&file).unwrap(),
            b"x",
            "an existing file keeps its content"
        );
    }
}
