//! The memory backend: a live image that requests change at once, and a durable image that
//! `Sync` copies the live one into. `crash` throws the live image away, which is exactly what a
//! power loss does to a page cache. Used by tests, by native drills and as the simulated disk.

use super::{Answer, FileName, StorageError, StorageRequest, SyncStorage};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct MemoryStorage {
    live: BTreeMap<FileName, Vec<u8>>,
    durable: BTreeMap<FileName, Vec<u8>>,
}

impl MemoryStorage {
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    /// Loses everything not yet synced, as a crash of the process and its page cache would.
    pub fn crash(&mut self) {
        self.live = self.durable.clone();
    }

    /// The durable image: what a crash right now would leave.
    pub fn durable_image(&self) -> &BTreeMap<FileName, Vec<u8>> {
        &self.durable
    }

    /// Total live bytes held.
    pub fn live_bytes(&self) -> u64 {
        self.live.values().map(|v| v.len() as u64).sum()
    }

    fn apply_request(&mut self, request: StorageRequest) -> Result<Answer, StorageError> {
        match request {
            StorageRequest::Append { file, bytes } => {
                self.live.entry(file).or_default().extend_from_slice(&bytes);
                Ok(Answer::Done)
            }
            StorageRequest::Replace { file, bytes } => {
                self.live.insert(file, bytes);
                Ok(Answer::Done)
            }
            StorageRequest::Truncate { file, len } => {
                if let Some(content) = self.live.get_mut(&file) {
                    let keep = usize::try_from(len)
                        .unwrap_or(usize::MAX)
                        .min(content.len());
                    content.truncate(keep);
                }
                Ok(Answer::Done)
            }
            StorageRequest::Delete { file } => {
                self.live.remove(&file);
                Ok(Answer::Done)
            }
            StorageRequest::Sync => {
                self.durable = self.live.clone();
                Ok(Answer::Done)
            }
            StorageRequest::List { prefix } => Ok(Answer::Listed(
                self.live
                    .keys()
                    .filter(|f| f.as_str().starts_with(&prefix))
                    .cloned()
                    .collect(),
            )),
            StorageRequest::Read { file } => match self.live.get(&file) {
                Some(content) => Ok(Answer::Read(content.clone())),
                None => Err(StorageError::NotFound(file)),
            },
        }
    }
}

impl SyncStorage for MemoryStorage {
    fn apply(&mut self, request: StorageRequest) -> Result<Answer, StorageError> {
        self.apply_request(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn memory_backend_passes_the_conformance_suite() {
        // The medium is the durable image; a crash reopens a backend that only has it.
        crate::storage::conformance::run_sync(|previous: Option<MemoryStorage>| match previous {
            None => MemoryStorage::new(),
            Some(mut crashed) => {
                crashed.crash();
                crashed
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }
}
