//! The app's saved session: one small JSON document (the session's recipe: scenario source,
//! seed, the user's actions and the step reached) kept in IndexedDB through the same
//! `IdbStorage` backend and durability model as the logs (`Replace` then `Sync`: after a crash
//! the document is the old one or the new one, never a mix). Replaying the recipe rebuilds every
//! simulated broker's disk byte for byte, so the recipe is all a reload needs.

use crate::idb_storage::IdbStorage;
use logsim::storage::{Completion, FileName, RequestId, StorageError, StorageRequest};

const FILE: &str = "app/session.json";

pub struct SessionStore {
    storage: IdbStorage,
    next_id: u64,
}

impl SessionStore {
    pub async fn open(db_name: &str) -> Result<SessionStore, StorageError> {
        Ok(SessionStore {
            storage: IdbStorage::open(db_name).await?,
            next_id: 0,
        })
    }

    async fn run(
        &mut self,
        requests: Vec<StorageRequest>,
    ) -> Result<Vec<Completion>, StorageError> {
        let tagged = requests
            .into_iter()
            .map(|r| {
                self.next_id += 1;
                (RequestId(self.next_id), r)
            })
            .collect();
        let completions = self.storage.execute(tagged).await;
        for c in &completions {
            if let Completion::Failed(_, e) = c {
                return Err(e.clone());
            }
        }
        Ok(completions)
    }

    /// The saved document, if there is one.
    pub async fn load(&mut self) -> Result<Option<String>, StorageError> {
        let file = FileName::new(FILE)?;
        let listed = self
            .run(vec![StorageRequest::List {
                prefix: FILE.to_owned(),
            }])
            .await?;
        let exists = listed
            .iter()
            .any(|c| matches!(c, Completion::Listed(_, names) if names.contains(&file)));
        if !exists {
            return Ok(None);
        }
        for c in self.run(vec![StorageRequest::Read { file }]).await? {
            if let Completion::Read(_, bytes) = c {
                return String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| StorageError::Io("the saved session is not UTF-8 text".into()));
            }
        }
        Ok(None)
    }

    /// Replaces the saved document and waits until it is durable.
    pub async fn save(&mut self, text: &str) -> Result<(), StorageError> {
        let file = FileName::new(FILE)?;
        self.run(vec![
            StorageRequest::Replace {
                file,
                bytes: text.as_bytes().to_vec(),
            },
            StorageRequest::Sync,
        ])
        .await
        .map(|_| ())
    }
}
