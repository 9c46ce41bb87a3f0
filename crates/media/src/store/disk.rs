//! Objects as files under one directory (`<data_dir>/media` by default):
//! `<root>/<workspace id>/<media id>`, private to the owner (0700 directories, 0600 files).
//!
//! A write goes to a temporary file in the same directory, is flushed to disk, renamed over the
//! final name and the directory flushed too: after a crash the object is either complete or
//! absent, never half-written.

use super::{KeyPrefix, MediaStore, ObjectKey, StoreError, StoreFuture, StoreResult};
use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct DiskStore {
    root: PathBuf,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io(format!("{what} {}: {e}", path.display()))
}

impl DiskStore {
    /// A store under `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `key`. Keys are ids (see [`ObjectKey`]), so this never leaves `root`.
    fn path(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(key.workspace().hyphenated().to_string()).join(key.media_id().hyphenated().to_string())
    }

    /// Creates `root` and checks it can be written to: at start-up, so a misconfigured
    /// directory is reported before the first upload.
    pub fn check(&self) -> StoreResult<()> {
        make_dir(&self.root)?;
        let probe = self.root.join(format!(".probe-{}", std::process::id()));
        fs::write(&probe, b"ok").map_err(|e| io("cannot write to", &self.root, e))?;
        let _ = fs::remove_file(&probe);
        Ok(())
    }

    fn put_sync(&self, key: &ObjectKey, bytes: &[u8]) -> StoreResult<()> {
        let path = self.path(key);
        let dir = path.parent().expect("object paths have a directory");
        make_dir(&self.root)?;
        make_dir(dir)?;
        let mut rand = [0u8; 8];
        getrandom::fill(&mut rand).map_err(|e| StoreError::Io(format!("no randomness: {e}")))?;
        let tmp = dir.join(format!(".{}.{}.tmp", key.media_id().simple(), u64::from_le_bytes(rand)));
        let written = (|| -> std::io::Result<()> {
            let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            // The rename is durable only once the directory is.
            fs::File::open(dir)?.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(io("cannot write", &path, e));
        }
        Ok(())
    }

    fn list_sync(&self, prefix: KeyPrefix, after: Option<&ObjectKey>, limit: usize) -> StoreResult<Vec<ObjectKey>> {
        let workspaces: Vec<String> = match prefix {
            KeyPrefix::Workspace(ws) => vec![ws.hyphenated().to_string()],
            KeyPrefix::All => match fs::read_dir(&self.root) {
                Ok(rd) => rd.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect(),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(vec![]),
                Err(e) => return Err(io("cannot list", &self.root, e)),
            },
        };
        let mut keys = Vec::new();
        for ws in workspaces {
            let dir = self.root.join(&ws);
            let entries = match fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => continue,
                Err(e) => return Err(io("cannot list", &dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io("cannot list", &dir, e))?;
                // Temporary files and strays do not parse as keys and are skipped.
                let Ok(name) = entry.file_name().into_string() else { continue };
                if let Some(key) = ObjectKey::parse(&format!("{ws}/{name}"))
                    && prefix.matches(&key)
                    && after.is_none_or(|a| key > *a)
                {
                    keys.push(key);
                }
            }
        }
        keys.sort();
        keys.truncate(limit);
        Ok(keys)
    }
}

fn make_dir(dir: &Path) -> StoreResult<()> {
    match fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io("cannot create", dir, e)),
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> StoreResult<T> + Send + 'static) -> StoreResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Io(format!("file task failed: {e}")))?
}

impl MediaStore for DiskStore {
    fn kind(&self) -> &'static str {
        "disk"
    }

    fn put<'a>(&'a self, key: &'a ObjectKey, bytes: &'a [u8]) -> StoreFuture<'a, ()> {
        let (me, key, bytes) = (self.clone(), key.clone(), bytes.to_vec());
        Box::pin(blocking(move || me.put_sync(&key, &bytes)))
    }

    fn get<'a>(&'a self, key: &'a ObjectKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        let path = self.path(key);
        Box::pin(blocking(move || match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("cannot read", &path, e)),
        }))
    }

    fn delete<'a>(&'a self, key: &'a ObjectKey) -> StoreFuture<'a, ()> {
        let path = self.path(key);
        Box::pin(blocking(move || {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io("cannot delete", &path, e)),
            }
            if let Some(dir) = path.parent() {
                // An emptied workspace directory goes too (fails harmlessly if not empty).
                let _ = fs::remove_dir(dir);
                if let Ok(d) = fs::File::open(dir.parent().unwrap_or(dir)) {
                    let _ = d.sync_all();
                }
            }
            Ok(())
        }))
    }

    fn exists<'a>(&'a self, key: &'a ObjectKey) -> StoreFuture<'a, bool> {
        let path = self.path(key);
        Box::pin(blocking(move || match fs::metadata(&path) {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io("cannot read", &path, e)),
        }))
    }

    fn list<'a>(
        &'a self,
        prefix: KeyPrefix,
        after: Option<&'a ObjectKey>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<ObjectKey>> {
        let (me, after) = (self.clone(), after.cloned());
        Box::pin(blocking(move || me.list_sync(prefix, after.as_ref(), limit)))
    }
}
