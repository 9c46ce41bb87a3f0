//! What every command needs before it can work: the data directory, the secret key, the store.

use crate::config::Config;
use anyhow::{Context, Result, bail};
use nanopost_services::SecretKey;
use nanopost_storage::Store;
use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// File name of the installation's secret key inside the data directory.
pub const SECRET_KEY_FILE: &str = "secret.key";

/// Creates the data directory (mode 0700) if it does not exist yet.
pub fn prepare_data_dir(dir: &Path) -> Result<()> {
    match fs::metadata(dir) {
        Ok(md) if md.is_dir() => Ok(()),
        Ok(_) => bail!("the data directory {} exists but is not a directory", dir.display()),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
            tracing::info!(path = %dir.display(), "created the data directory");
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("cannot open the data directory {}", dir.display())),
    }
}

/// Reads `<data_dir>/secret.key`, or creates it (32 random bytes, mode 0600) on first start.
///
/// Refuses a key file of the wrong length, or one that group or others may read: the key signs
/// sessions and will encrypt stored tokens, so a leaked or truncated key is not used silently.
pub fn load_or_create_secret_key(data_dir: &Path) -> Result<SecretKey> {
    let path = data_dir.join(SECRET_KEY_FILE);
    match read_secret_key(&path)? {
        Some(key) => Ok(key),
        None => create_secret_key(&path),
    }
}

fn read_secret_key(path: &Path) -> Result<Option<SecretKey>> {
    let md = match fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read the secret key {}", path.display())),
    };
    let shown = path.display();
    if !md.file_type().is_file() {
        bail!("the secret key {shown} is not a regular file; replace it with the key file from your backup");
    }
    let mode = md.mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "the secret key {shown} may be read by group or others (mode {mode:o}); restrict it with `chmod 600 {shown}` and check who could have copied it"
        );
    }
    let bytes = fs::read(path).with_context(|| format!("cannot read the secret key {shown}"))?;
    let Ok(bytes) = <[u8; SecretKey::LEN]>::try_from(bytes.as_slice()) else {
        bail!(
            "the secret key {shown} is {} bytes long instead of {}; restore it from a backup (deleting it signs everyone out)",
            bytes.len(),
            SecretKey::LEN
        );
    };
    Ok(Some(SecretKey::from_bytes(bytes)))
}

/// Writes a new key next to its final place and links it there, so a concurrent start never
/// sees a half-written key and two starts cannot end up with different keys.
fn create_secret_key(path: &Path) -> Result<SecretKey> {
    let key = SecretKey::generate();
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp: PathBuf = dir.join(format!(".{SECRET_KEY_FILE}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let write = || -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        // The umask cannot widen 0600, but make sure anyway.
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.write_all(key.expose())?;
        f.sync_all()
    };
    write().with_context(|| format!("cannot write a new secret key to {}", dir.display()))?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
            tracing::info!(path = %path.display(), "generated a new secret key; keep it with your backups");
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => read_secret_key(path)?
            .with_context(|| format!("the secret key {} disappeared while starting", path.display())),
        Err(e) => Err(e).with_context(|| format!("cannot create the secret key {}", path.display())),
    }
}

/// Checks that the configured media store can be used (the directory is writable, or the
/// bucket answers), so a wrong setting stops the start with a sentence, not the first upload.
pub async fn check_media(config: &Config) -> Result<()> {
    crate::config::media::check_store(&config.media, &config.data_dir()).await.map_err(anyhow::Error::msg)?;
    tracing::info!(store = ?config.media.store, "media store ready");
    Ok(())
}

/// Opens the configured database (creating the data directory for the embedded default) and
/// applies the embedded migrations unless `migrate` is false.
pub async fn open_store(config: &Config, migrate: bool) -> Result<Store> {
    if config.uses_default_database() {
        prepare_data_dir(&config.data_dir())?;
    }
    let url = config.database_url();
    let store =
        Store::connect(url.expose()).await.with_context(|| format!("cannot open the database {}", url.redacted()))?;
    tracing::info!(database = %url, backend = ?store.backend(), "database opened");
    if migrate {
        if let Err(e) = store.migrate().await {
            store.close().await;
            return Err(e).with_context(|| format!("cannot migrate the database {}", url.redacted()));
        }
        tracing::info!("database schema is up to date");
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(name: &str) -> Self {
            let p = std::env::temp_dir().join(format!("nanopost-boot-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            Self(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn key_is_created_private_and_then_reused() {
        let d = TempDir::new("reuse");
        prepare_data_dir(&d.0).unwrap();
        assert_eq!(fs::metadata(&d.0).unwrap().mode() & 0o777, 0o700);
        let k1 = load_or_create_secret_key(&d.0).unwrap();
        let md = fs::metadata(d.0.join(SECRET_KEY_FILE)).unwrap();
        assert_eq!(md.mode() & 0o777, 0o600);
        assert_eq!(md.len(), 32);
        let k2 = load_or_create_secret_key(&d.0).unwrap();
        assert_eq!(k1, k2);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&d.0).unwrap().count(), 1);
    }

    #[test]
    fn refuses_readable_or_truncated_keys() {
        let d = TempDir::new("refuse");
        prepare_data_dir(&d.0).unwrap();
        let path = d.0.join(SECRET_KEY_FILE);
        fs::write(&path, [7u8; 32]).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let e = load_or_create_secret_key(&d.0).unwrap_err().to_string();
        assert!(e.contains("secret.key") && e.contains("mode 644") && e.contains("chmod 600"), "{e}");

        fs::write(&path, [7u8; 5]).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let e = load_or_create_secret_key(&d.0).unwrap_err().to_string();
        assert!(e.contains("5 bytes long instead of 32"), "{e}");
    }
}
