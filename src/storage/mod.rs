//! The storage contract: completion-based, so the same engine runs over memory, files and
//! IndexedDB. The engine (or a test) submits `StorageRequest`s with ids; a backend answers each
//! with exactly one `Completion`. Memory and file backends complete at once; IndexedDB completes
//! when its transaction resolves. Drivers never let simulated time pass an incomplete request,
//! so the trace is the same whichever backend runs underneath.
//!
//! Durability model, identical for every backend: requests change the *live* image at once;
//! `Sync` makes everything submitted before it *durable*. A crash (dropping a backend without
//! `Sync` and reopening its medium) shows exactly the durable image. This is what the
//! conformance suite checks.

pub mod conformance;
pub mod log_conformance;
pub mod memory;

use serde::{Deserialize, Serialize};
use std::fmt;

/// A file in a log directory, by relative path: `topic-0/00000000000000000000.log`. Backends
/// map it onto their medium (a real path, a key). Names are checked: relative, no `..`, no
/// empty components, ASCII letters, digits and `._-/` only.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FileName(String);

impl FileName {
    pub fn new(name: impl Into<String>) -> Result<FileName, StorageError> {
        let name = name.into();
        let bad = name.is_empty()
            || name.len() > 512
            || name.starts_with('/')
            || name.ends_with('/')
            || name
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b));
        if bad {
            return Err(StorageError::InvalidName(name));
        }
        Ok(FileName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The directory part (`topic-0`), or "" for a top-level file.
    pub fn dir(&self) -> &str {
        self.0.rsplit_once('/').map_or("", |(d, _)| d)
    }

    /// The last component (`00000000000000000000.log`).
    pub fn base_name(&self) -> &str {
        self.0.rsplit_once('/').map_or(&self.0, |(_, b)| b)
    }
}

impl TryFrom<String> for FileName {
    type Error = StorageError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        FileName::new(s)
    }
}

impl From<FileName> for String {
    fn from(f: FileName) -> String {
        f.0
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One request to a backend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StorageRequest {
    /// Append bytes at the end of a file, creating it if missing.
    Append { file: FileName, bytes: Vec<u8> },
    /// Replace a file's whole content atomically (indexes, compaction output, session metadata):
    /// after a crash the file holds either the old or the new content, never a mix.
    Replace { file: FileName, bytes: Vec<u8> },
    /// Cut a file to `len` bytes (no-op if already shorter).
    Truncate { file: FileName, len: u64 },
    /// Remove a file (no-op if missing).
    Delete { file: FileName },
    /// Make every request submitted before this one durable.
    Sync,
    /// List the files whose name starts with `prefix` ("" for all), sorted by name.
    List { prefix: String },
    /// Read a file's whole live content.
    Read { file: FileName },
}

/// A backend's answer to a request, carrying the request's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    Done(RequestId),
    Listed(RequestId, Vec<FileName>),
    Read(RequestId, Vec<u8>),
    Failed(RequestId, StorageError),
}

impl Completion {
    pub fn id(&self) -> RequestId {
        match self {
            Completion::Done(id)
            | Completion::Listed(id, _)
            | Completion::Read(id, _)
            | Completion::Failed(id, _) => *id,
        }
    }
}

/// What a request produced on success, before it is tagged with its id: every backend's
/// `apply` returns `Result<Answer, StorageError>` and `Completion::new` tags it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Done,
    Listed(Vec<FileName>),
    Read(Vec<u8>),
}

impl Completion {
    /// The completion of request `id` from its outcome.
    pub fn new(id: RequestId, outcome: Result<Answer, StorageError>) -> Completion {
        match outcome {
            Ok(Answer::Done) => Completion::Done(id),
            Ok(Answer::Listed(files)) => Completion::Listed(id, files),
            Ok(Answer::Read(bytes)) => Completion::Read(id, bytes),
            Err(e) => Completion::Failed(id, e),
        }
    }
}

/// Identifies a submitted request; assigned by the submitter, increasing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId(pub u64);

/// Operating failures of a backend. Protocol errors are not here: they are data in responses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StorageError {
    InvalidName(String),
    NotFound(FileName),
    /// The medium is out of space (IndexedDB's QuotaExceededError, ENOSPC).
    QuotaExceeded(String),
    /// Any other failure of the medium, with its own message.
    Io(String),
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::InvalidName(n) => write!(
                f,
                "invalid file name {n:?}: expected a relative path of ASCII letters, digits and ._-"
            ),
            StorageError::NotFound(n) => write!(f, "file {n} does not exist"),
            StorageError::QuotaExceeded(m) => write!(f, "storage quota exceeded: {m}"),
            StorageError::Io(m) => write!(f, "storage failure: {m}"),
        }
    }
}

impl std::error::Error for StorageError {}

/// Reading every file a backend holds takes two rounds: `list_everything`, then, with the
/// names its completion gives (`listed_names`), `read_requests`, whose completions
/// `read_contents` pairs with the names. Sync backends have it as `SyncStorage::read_all`;
/// async ones (IndexedDB) run the same rounds with an `.await` between.
pub fn list_everything() -> StorageRequest {
    StorageRequest::List {
        prefix: String::new(),
    }
}

/// The names a `List` answered.
pub fn listed_names(completion: Option<Completion>) -> Result<Vec<FileName>, StorageError> {
    match completion {
        Some(Completion::Listed(_, names)) => Ok(names),
        Some(Completion::Failed(_, e)) => Err(e),
        other => Err(StorageError::Io(format!(
            "unexpected answer to a listing: {other:?}"
        ))),
    }
}

/// One `Read` per name, with ids from `first_id` on.
pub fn read_requests(names: &[FileName], first_id: u64) -> Vec<(RequestId, StorageRequest)> {
    names
        .iter()
        .zip(first_id..)
        .map(|(file, id)| (RequestId(id), StorageRequest::Read { file: file.clone() }))
        .collect()
}

/// Each name with the bytes its `Read` returned, in order; the first failure is the error.
pub fn read_contents(
    names: Vec<FileName>,
    completions: Vec<Completion>,
) -> Result<Vec<(FileName, Vec<u8>)>, StorageError> {
    if completions.len() != names.len() {
        return Err(StorageError::Io(format!(
            "{} reads answered {} times",
            names.len(),
            completions.len()
        )));
    }
    names
        .into_iter()
        .zip(completions)
        .map(|(file, c)| match c {
            Completion::Read(_, bytes) => Ok((file, bytes)),
            Completion::Failed(_, e) => Err(e),
            other => Err(StorageError::Io(format!(
                "unexpected answer to a read of {file}: {other:?}"
            ))),
        })
        .collect()
}

/// A backend that completes every request before `execute` returns (memory, files). The
/// IndexedDB backend offers the same shape as an `async fn` in the browser crate.
pub trait SyncStorage {
    /// Carries out one request.
    fn apply(&mut self, request: StorageRequest) -> Result<Answer, StorageError>;

    /// Runs the requests in order and returns one completion per request, in the same order.
    fn execute(&mut self, requests: Vec<(RequestId, StorageRequest)>) -> Vec<Completion> {
        requests
            .into_iter()
            .map(|(id, request)| Completion::new(id, self.apply(request)))
            .collect()
    }

    /// Every file with its content, sorted by name (what a recovery reads).
    fn read_all(&mut self) -> Result<Vec<(FileName, Vec<u8>)>, StorageError> {
        let names = listed_names(self.execute(vec![(RequestId(0), list_everything())]).pop())?;
        let reads = self.execute(read_requests(&names, 1));
        read_contents(names, reads)
    }
}
