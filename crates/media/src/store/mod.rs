//! Where media bytes live: local disk ([`DiskStore`], the default), an S3-compatible bucket
//! ([`S3Store`]), or memory ([`MemoryStore`], for tests and throwaway instances). One
//! conformance suite (`tests/it/stores.rs`) runs against each.
//!
//! Object keys are built from ids only ([`ObjectKey::media`]): `<workspace id>/<media id>`.
//! Nothing a person typed ever becomes part of a path or a key, so no upload can name a file
//! outside the store.

mod disk;
mod memory;
mod s3;

pub use disk::DiskStore;
pub use memory::MemoryStore;
pub use s3::{S3Config, S3Secret, S3Store};

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

/// The key of one stored object.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// The key of a media item: `<workspace id>/<media id>`.
    pub fn media(workspace: Uuid, media: Uuid) -> Self {
        Self(format!("{}/{}", workspace.hyphenated(), media.hyphenated()))
    }

    /// A key read back from a store or the database; only the shape [`ObjectKey::media`]
    /// makes is accepted.
    pub fn parse(s: &str) -> Option<Self> {
        let (ws, id) = s.split_once('/')?;
        let ws = Uuid::parse_str(ws).ok()?;
        let id = Uuid::parse_str(id).ok()?;
        let key = Self::media(ws, id);
        (key.0 == s).then_some(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn workspace(&self) -> Uuid {
        self.parts().0
    }

    pub fn media_id(&self) -> Uuid {
        self.parts().1
    }

    fn parts(&self) -> (Uuid, Uuid) {
        let (ws, id) = self.0.split_once('/').expect("keys are made by ObjectKey::media");
        (Uuid::parse_str(ws).expect("valid"), Uuid::parse_str(id).expect("valid"))
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectKey({})", self.0)
    }
}

/// Which objects a listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPrefix {
    All,
    Workspace(Uuid),
}

impl KeyPrefix {
    pub fn as_string(self) -> String {
        match self {
            KeyPrefix::All => String::new(),
            KeyPrefix::Workspace(ws) => format!("{}/", ws.hyphenated()),
        }
    }

    pub fn matches(self, key: &ObjectKey) -> bool {
        match self {
            KeyPrefix::All => true,
            KeyPrefix::Workspace(ws) => key.workspace() == ws,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The disk refused (permissions, full, …).
    #[error("media storage I/O failed: {0}")]
    Io(String),
    /// The object store answered with an error or not at all. Never carries credentials or
    /// signed URLs.
    #[error("the object store {0}")]
    Remote(String),
    #[error("the stored object {key} is larger than the {limit} bytes allowed")]
    TooLarge { key: String, limit: u64 },
}

pub type StoreResult<T> = Result<T, StoreError>;
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// A place for media bytes. Objects are written whole and read whole (uploads are bounded by
/// the configured limits). Writes are atomic: a reader sees the old object, the new one, or
/// none, never part of one.
pub trait MediaStore: fmt::Debug + Send + Sync {
    /// `disk`, `s3` or `memory` (for logs and `config check`).
    fn kind(&self) -> &'static str;
    /// Stores `bytes` under `key`, replacing any object there.
    fn put<'a>(&'a self, key: &'a ObjectKey, bytes: &'a [u8]) -> StoreFuture<'a, ()>;
    /// The object, or `None` if there is none.
    fn get<'a>(&'a self, key: &'a ObjectKey) -> StoreFuture<'a, Option<Vec<u8>>>;
    /// Removes the object; removing one that is not there is not an error.
    fn delete<'a>(&'a self, key: &'a ObjectKey) -> StoreFuture<'a, ()>;
    fn exists<'a>(&'a self, key: &'a ObjectKey) -> StoreFuture<'a, bool>;
    /// Up to `limit` keys under `prefix`, in key order, after `after` if given.
    fn list<'a>(
        &'a self,
        prefix: KeyPrefix,
        after: Option<&'a ObjectKey>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<ObjectKey>>;
}

/// Every key under `prefix` (page by page).
pub async fn list_all(store: &dyn MediaStore, prefix: KeyPrefix) -> StoreResult<Vec<ObjectKey>> {
    const PAGE: usize = 500;
    let mut out: Vec<ObjectKey> = Vec::new();
    loop {
        let page = store.list(prefix, out.last(), PAGE).await?;
        let done = page.len() < PAGE;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_from_ids_only() {
        let (ws, id) = (Uuid::now_v7(), Uuid::now_v7());
        let k = ObjectKey::media(ws, id);
        assert_eq!(ObjectKey::parse(k.as_str()), Some(k.clone()));
        assert_eq!((k.workspace(), k.media_id()), (ws, id));
        for bad in [
            "../etc/passwd",
            "a/b",
            "",
            &format!("{ws}/{id}/x"),
            &format!("{ws}/../{id}"),
            &format!("{}/{}", ws.simple(), id.simple()),
            &format!("{}/{id}", ws.to_string().to_uppercase()),
        ] {
            assert_eq!(ObjectKey::parse(bad), None, "{bad}");
        }
        assert!(KeyPrefix::Workspace(ws).matches(&k));
        assert!(!KeyPrefix::Workspace(id).matches(&k));
    }
}
