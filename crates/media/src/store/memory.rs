//! Objects in memory: for tests, and for processes that never keep media (they are gone when
//! the process ends).

use super::{KeyPrefix, MediaStore, ObjectKey, StoreFuture};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    objects: Arc<Mutex<BTreeMap<ObjectKey, Vec<u8>>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<ObjectKey, Vec<u8>>> {
        // A panic while holding the lock cannot leave a half-written object (inserts are
        // whole), so a poisoned map is still consistent.
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MediaStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn put<'a>(&'a self, key: &'a ObjectKey, bytes: &'a [u8]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.map().insert(key.clone(), bytes.to_vec());
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a ObjectKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { Ok(self.map().get(key).cloned()) })
    }

    fn delete<'a>(&'a self, key: &'a ObjectKey) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.map().remove(key);
            Ok(())
        })
    }

    fn exists<'a>(&'a self, key: &'a ObjectKey) -> StoreFuture<'a, bool> {
        Box::pin(async move { Ok(self.map().contains_key(key)) })
    }

    fn list<'a>(
        &'a self,
        prefix: KeyPrefix,
        after: Option<&'a ObjectKey>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<ObjectKey>> {
        Box::pin(async move {
            Ok(self
                .map()
                .keys()
                .filter(|k| prefix.matches(k) && after.is_none_or(|a| *k > a))
                .take(limit)
                .cloned()
                .collect())
        })
    }
}
