//! `[media]`: where uploaded media live (local disk by default, or an S3-compatible bucket),
//! how large uploads may be, and how long the signed URLs the networks fetch media from work.
//!
//! `[media.s3]` may be filled in while `store` is still `"disk"`: that is how media move to S3
//! (`nanopost admin migrate-media` copies them, then `store = "s3"`).

use super::{ConfigError, SecretText, check_base_url, range};
use nanopost_media::store::{DiskStore, MediaStore, S3Config, S3Secret, S3Store};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Keys of `[media.s3]` whose environment value is text even when it looks like a number.
pub const S3_TEXT_KEYS: &[&str] = &["endpoint", "region", "bucket", "access_key_id", "secret_access_key"];

/// Directory of the disk store inside the data directory (unless `media.dir` says otherwise).
pub const MEDIA_DIR: &str = "media";

const MIB: u64 = 1024 * 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaStoreKind {
    /// Files under the data directory (or `media.dir`).
    #[default]
    Disk,
    /// The bucket of `[media.s3]`.
    S3,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Media {
    pub store: MediaStoreKind,
    /// Directory of the disk store; default `<data_dir>/media`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Largest image accepted, in bytes.
    pub max_image_bytes: u64,
    /// Largest video accepted, in bytes (uploads are held in memory while checked).
    pub max_video_bytes: u64,
    /// Largest image size in megapixels (width × height); larger ones are refused before
    /// decoding (decompression bombs).
    pub max_image_megapixels: u32,
    /// How long a signed media URL works (Instagram and TikTok fetch media from it).
    pub url_ttl_secs: u32,
    pub s3: MediaS3,
}

impl Default for Media {
    fn default() -> Self {
        // The media crate owns the limits' defaults; this keeps the two in step.
        let l = nanopost_media::Limits::default();
        Self {
            store: MediaStoreKind::Disk,
            dir: None,
            max_image_bytes: l.max_image_bytes,
            max_video_bytes: l.max_video_bytes,
            max_image_megapixels: u32::try_from(l.max_pixels / 1_000_000).unwrap_or(50),
            url_ttl_secs: 3600,
            s3: MediaS3::default(),
        }
    }
}

/// An S3-compatible bucket. The secret key is `***` in `Debug` and `config check`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaS3 {
    /// `https://s3.eu-central-1.amazonaws.com`, `http://127.0.0.1:9000`, …
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<SecretText>,
    /// `endpoint/bucket/key` (true: MinIO, Garage, most self-hosted servers) or
    /// `bucket.endpoint/key` (false: AWS's virtual-hosted style).
    pub path_style: bool,
}

impl Default for MediaS3 {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            region: "us-east-1".into(),
            bucket: String::new(),
            access_key_id: String::new(),
            secret_access_key: None,
            path_style: true,
        }
    }
}

impl MediaS3 {
    /// True when any connection setting is filled in.
    pub fn is_configured(&self) -> bool {
        !self.endpoint.is_empty()
            || !self.bucket.is_empty()
            || !self.access_key_id.is_empty()
            || self.secret_access_key.is_some()
    }
}

impl Media {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        range("media.max_image_bytes", self.max_image_bytes, 1024, 512 * MIB)?;
        range("media.max_video_bytes", self.max_video_bytes, 1024, 4096 * MIB)?;
        range("media.max_image_megapixels", self.max_image_megapixels, 1, 1000)?;
        range("media.url_ttl_secs", self.url_ttl_secs, 60, 7 * 24 * 3600)?;
        if let Some(dir) = &self.dir
            && dir.trim().is_empty()
        {
            return Err(ConfigError::new("media.dir", "must not be empty; leave it unset for <data_dir>/media"));
        }
        if self.store == MediaStoreKind::S3 && !self.s3.is_configured() {
            return Err(ConfigError::new(
                "media.s3.endpoint",
                "is required when media.store is \"s3\" (with bucket, access_key_id and secret_access_key)",
            ));
        }
        if self.s3.is_configured() {
            self.check_s3()?;
        }
        Ok(())
    }

    fn check_s3(&self) -> Result<(), ConfigError> {
        let s = &self.s3;
        let required = |key: &str, v: &str| {
            if v.trim().is_empty() {
                Err(ConfigError::new(format!("media.s3.{key}"), "is required when [media.s3] is used"))
            } else {
                Ok(())
            }
        };
        required("endpoint", &s.endpoint)?;
        check_base_url("media.s3.endpoint", &s.endpoint)?;
        required("region", &s.region)?;
        required("bucket", &s.bucket)?;
        let b = &s.bucket;
        if !(3..=63).contains(&b.len())
            || !b.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            || b.starts_with(['-', '.'])
            || b.ends_with(['-', '.'])
        {
            return Err(ConfigError::new(
                "media.s3.bucket",
                format!("{b:?} is not a bucket name (3 to 63 lower-case letters, digits, '-' or '.')"),
            ));
        }
        required("access_key_id", &s.access_key_id)?;
        if s.secret_access_key.as_ref().is_none_or(|k| k.expose().is_empty()) {
            return Err(ConfigError::new("media.s3.secret_access_key", "is required when [media.s3] is used"));
        }
        S3Store::new(&self.s3_config()).map_err(|e| ConfigError::new("media.s3.endpoint", e))?;
        Ok(())
    }

    pub fn limits(&self) -> nanopost_media::Limits {
        nanopost_media::Limits {
            max_image_bytes: self.max_image_bytes,
            max_video_bytes: self.max_video_bytes,
            max_pixels: u64::from(self.max_image_megapixels) * 1_000_000,
        }
    }

    /// The directory of the disk store.
    pub fn disk_dir(&self, data_dir: &Path) -> PathBuf {
        match &self.dir {
            Some(d) => std::path::absolute(d).unwrap_or_else(|_| PathBuf::from(d)),
            None => data_dir.join(MEDIA_DIR),
        }
    }

    pub fn s3_config(&self) -> S3Config {
        let s = &self.s3;
        S3Config {
            endpoint: s.endpoint.trim().to_owned(),
            region: s.region.trim().to_owned(),
            bucket: s.bucket.trim().to_owned(),
            access_key_id: s.access_key_id.trim().to_owned(),
            secret_access_key: S3Secret::new(s.secret_access_key.as_ref().map(|k| k.expose()).unwrap_or("")),
            path_style: s.path_style,
            max_object_bytes: self.max_image_bytes.max(self.max_video_bytes),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(600),
        }
    }

    /// The S3 store, when `[media.s3]` is filled in (checked by `validate`).
    pub fn s3_store(&self) -> Option<S3Store> {
        if !self.s3.is_configured() {
            return None;
        }
        S3Store::new(&self.s3_config()).ok()
    }

    pub fn disk_store(&self, data_dir: &Path) -> DiskStore {
        DiskStore::new(self.disk_dir(data_dir))
    }

    /// The store `media.store` names.
    pub fn store(&self, data_dir: &Path) -> Arc<dyn MediaStore> {
        match (self.store, self.s3_store()) {
            (MediaStoreKind::S3, Some(s3)) => Arc::new(s3),
            // `validate` refuses "s3" without settings; the disk is the safe reading otherwise.
            _ => Arc::new(self.disk_store(data_dir)),
        }
    }

    pub fn service_settings(&self, data_dir: &Path) -> nanopost_services::media::MediaSettings {
        nanopost_services::media::MediaSettings {
            store: self.store(data_dir),
            limits: self.limits(),
            url_ttl: jiff::SignedDuration::from_secs(i64::from(self.url_ttl_secs)),
            sweep: Default::default(),
        }
    }
}

/// Checks at start-up that the configured store can be used: the disk directory is writable,
/// or the bucket answers to these credentials. A sentence naming the key otherwise.
pub async fn check_store(media: &Media, data_dir: &Path) -> Result<(), String> {
    match media.store {
        MediaStoreKind::Disk => {
            let dir = media.disk_dir(data_dir);
            media.disk_store(data_dir).check().map_err(|e| {
                format!(
                    "the media directory {} cannot be used ({e}); fix its permissions or set media.dir",
                    dir.display()
                )
            })
        }
        MediaStoreKind::S3 => {
            let s3 = media.s3_store().ok_or("media.store is \"s3\" but [media.s3] is not usable")?;
            s3.check().await.map_err(|e| {
                format!(
                    "the media bucket {:?} at {} cannot be used ({e}); check media.s3.endpoint, bucket and keys",
                    media.s3.bucket, media.s3.endpoint
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3() -> MediaS3 {
        MediaS3 {
            endpoint: "http://127.0.0.1:9000".into(),
            region: "eu-central-1".into(),
            bucket: "nanopost-media".into(),
            access_key_id: "AKIA1234".into(),
            secret_access_key: Some(SecretText::new("shh-secret")),
            path_style: true,
        }
    }

    #[test]
    fn defaults_are_valid_and_disk() {
        let m = Media::default();
        m.validate().unwrap();
        assert_eq!(m.store, MediaStoreKind::Disk);
        assert_eq!(m.disk_dir(Path::new("/data")), PathBuf::from("/data/media"));
        assert_eq!(m.store(Path::new("/data")).kind(), "disk");
    }

    #[test]
    fn s3_needs_every_setting_and_a_real_bucket_name() {
        let err = |m: Media| m.validate().unwrap_err().to_string();
        assert!(err(Media { store: MediaStoreKind::S3, ..Media::default() }).starts_with("media.s3.endpoint"));
        let with = |s: MediaS3| Media { store: MediaStoreKind::S3, s3: s, ..Media::default() };
        assert!(err(with(MediaS3 { bucket: "Bad_Bucket".into(), ..s3() })).starts_with("media.s3.bucket"));
        assert!(err(with(MediaS3 { secret_access_key: None, ..s3() })).starts_with("media.s3.secret_access_key"));
        assert!(err(with(MediaS3 { endpoint: "s3.example.com".into(), ..s3() })).starts_with("media.s3.endpoint"));
        assert!(err(with(MediaS3 { access_key_id: String::new(), ..s3() })).starts_with("media.s3.access_key_id"));
        let ok = with(s3());
        ok.validate().unwrap();
        assert_eq!(ok.store(Path::new("/data")).kind(), "s3");
        // Filled in while still on disk (before migrate-media): checked, but disk stays.
        let staged = Media { s3: s3(), ..Media::default() };
        staged.validate().unwrap();
        assert_eq!(staged.store(Path::new("/data")).kind(), "disk");
        assert!(staged.s3_store().is_some());
    }

    #[test]
    fn limits_are_bounded() {
        let err = |m: Media| m.validate().unwrap_err().to_string();
        assert!(err(Media { url_ttl_secs: 10, ..Media::default() }).starts_with("media.url_ttl_secs"));
        assert!(err(Media { max_image_bytes: 0, ..Media::default() }).starts_with("media.max_image_bytes"));
        assert!(err(Media { max_image_megapixels: 0, ..Media::default() }).starts_with("media.max_image_megapixels"));
        let l = Media { max_image_megapixels: 12, ..Media::default() }.limits();
        assert_eq!(l.max_pixels, 12_000_000);
    }

    #[test]
    fn environment_variables_set_every_key_and_keep_s3_settings_as_text() {
        let env =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let c = super::super::load(
            None,
            env(&[
                ("NANOPOST_MEDIA__STORE", "s3"),
                ("NANOPOST_MEDIA__URL_TTL_SECS", "600"),
                ("NANOPOST_MEDIA__MAX_IMAGE_BYTES", "1048576"),
                ("NANOPOST_MEDIA__S3__ENDPOINT", "https://s3.eu-central-1.amazonaws.com"),
                ("NANOPOST_MEDIA__S3__BUCKET", "123456"),
                ("NANOPOST_MEDIA__S3__ACCESS_KEY_ID", "0042"),
                ("NANOPOST_MEDIA__S3__SECRET_ACCESS_KEY", "12345678"),
                ("NANOPOST_MEDIA__S3__PATH_STYLE", "false"),
            ]),
            &super::super::Overrides::default(),
        )
        .unwrap();
        let m = &c.media;
        assert_eq!((m.store, m.url_ttl_secs, m.max_image_bytes), (MediaStoreKind::S3, 600, 1_048_576));
        assert_eq!((m.s3.bucket.as_str(), m.s3.access_key_id.as_str()), ("123456", "0042"));
        assert_eq!(m.s3.secret_access_key.as_ref().map(|k| k.expose()), Some("12345678"));
        assert!(!m.s3.path_style);
        assert_eq!(c.service_config("http://x", nanopost_services::SecretKey::generate()).media.store.kind(), "s3");

        let e = super::super::load(None, env(&[("NANOPOST_MEDIA__STORE", "s3")]), &super::super::Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("media.s3.endpoint: is required"), "{e}");
        // Virtual-hosted style cannot put a bucket in front of an IP address.
        let e =
            Media { s3: MediaS3 { path_style: false, ..s3() }, ..Media::default() }.validate().unwrap_err().to_string();
        assert!(e.starts_with("media.s3.endpoint") && e.contains("path-style"), "{e}");
        let e = super::super::load(None, env(&[("NANOPOST_MEDIA__STORE", "ftp")]), &super::super::Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("media.store") && e.contains("NANOPOST_MEDIA__STORE"), "{e}");
    }

    #[test]
    fn the_secret_is_never_shown() {
        let m = Media { s3: s3(), ..Media::default() };
        assert!(!format!("{m:?}").contains("shh-secret"));
        let toml = toml::to_string(&m).unwrap();
        assert!(!toml.contains("shh-secret") && toml.contains("***"), "{toml}");
    }
}
