//! `nanopost admin migrate-media`: copies every media file named by a row from the disk store to
//! the S3 bucket of `[media.s3]`, and proves each copy by reading it back and comparing its
//! SHA-256 with the row's digest.
//!
//! Resumable and idempotent: an object already in the bucket with the right digest is skipped,
//! one with another digest is copied again. Nothing is deleted from the disk; once the summary
//! says every file is in the bucket, set `media.store = "s3"` (and keep the disk copy until a
//! backup of the bucket exists).

use crate::bootstrap;
use crate::cli::MigrateMediaArgs;
use crate::config::Config;
use anyhow::{Context, Result, bail};
use nanopost_media::store::{MediaStore, ObjectKey};
use nanopost_storage::{MediaRecord, Store};

#[derive(Debug, Default)]
struct Summary {
    copied: u64,
    already: u64,
    bytes: u64,
    /// Rows whose file is not on the disk (nor in the bucket).
    missing: Vec<String>,
    /// Files whose bytes do not hash to their row's digest (on disk, or read back from S3).
    mismatched: Vec<String>,
}

pub async fn run(config: &Config, args: &MigrateMediaArgs) -> Result<()> {
    let Some(s3) = config.media.s3_store() else {
        bail!(
            "no S3 bucket is configured: set media.s3.endpoint, bucket, access_key_id and secret_access_key \
             (in the configuration file or NANOPOST_MEDIA__S3__… variables), then run migrate-media again"
        );
    };
    s3.check().await.map_err(|e| {
        anyhow::anyhow!(
            "the bucket {:?} at {} cannot be used ({e}); check media.s3 and that the bucket exists",
            config.media.s3.bucket,
            config.media.s3.endpoint
        )
    })?;
    let disk = config.media.disk_store(&config.data_dir());
    let store = bootstrap::open_store(config, true).await?;
    let result = copy_all(&store, &disk, &s3, args.batch).await;
    store.close().await;
    let summary = result?;
    println!(
        "Media migration to bucket {:?}: {} file(s) copied ({} bytes), {} already there, {} missing, {} with a wrong digest",
        config.media.s3.bucket,
        summary.copied,
        summary.bytes,
        summary.already,
        summary.missing.len(),
        summary.mismatched.len()
    );
    for m in &summary.missing {
        println!("missing\t{m}");
    }
    for m in &summary.mismatched {
        println!("digest mismatch\t{m}");
    }
    if !summary.mismatched.is_empty() || !summary.missing.is_empty() {
        bail!(
            "{} file(s) did not match their digest and {} could not be found, so the migration is incomplete; \
             the lines above name them (restore them from a backup, or delete those media items), then run it again",
            summary.mismatched.len(),
            summary.missing.len()
        );
    }
    println!("Every media file is in the bucket. Set media.store = \"s3\" and restart Nanopost.");
    Ok(())
}

async fn copy_all(store: &Store, disk: &dyn MediaStore, s3: &dyn MediaStore, batch: u32) -> Result<Summary> {
    let mut summary = Summary::default();
    let mut after = None;
    loop {
        let rows = store.all_media(after, batch).await.context("cannot read the media rows")?;
        let Some(last) = rows.last() else { return Ok(summary) };
        after = Some(last.id);
        for row in &rows {
            copy_one(row, disk, s3, &mut summary).await?;
        }
    }
}

async fn copy_one(row: &MediaRecord, disk: &dyn MediaStore, s3: &dyn MediaStore, s: &mut Summary) -> Result<()> {
    let what = format!("{} ({}, {})", row.storage_key, row.file_name, row.digest);
    let Some(key) = ObjectKey::parse(&row.storage_key) else {
        s.missing.push(format!("{what}: the storage key is malformed"));
        return Ok(());
    };
    if let Some(there) = s3.get(&key).await.with_context(|| format!("cannot read {key} from the bucket"))?
        && nanopost_media::digest(&there) == row.digest
    {
        s.already += 1;
        return Ok(());
    }
    let Some(bytes) = disk.get(&key).await.with_context(|| format!("cannot read {key} from the disk"))? else {
        s.missing.push(what);
        return Ok(());
    };
    if nanopost_media::digest(&bytes) != row.digest {
        // Copying it would give the bucket a file no approval ever covered.
        s.mismatched.push(format!("{what}: the file on disk changed"));
        return Ok(());
    }
    s3.put(&key, &bytes).await.with_context(|| format!("cannot store {key} in the bucket"))?;
    let back = s3.get(&key).await.with_context(|| format!("cannot read {key} back from the bucket"))?;
    if back.as_deref().map(nanopost_media::digest).as_deref() != Some(row.digest.as_str()) {
        s.mismatched.push(format!("{what}: the copy read back from the bucket differs"));
        return Ok(());
    }
    s.copied += 1;
    s.bytes += bytes.len() as u64;
    Ok(())
}
