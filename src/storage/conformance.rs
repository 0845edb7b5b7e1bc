//! The storage conformance suite, shared by every backend. It is sans-IO like the engine: a
//! script of probes, each an action for the runner (execute these requests, or crash and
//! reopen the medium) and a check of the completions that came back. Memory and file backends
//! run it with [`run_sync`]; the IndexedDB backend walks the same script with `async` in
//! headless Chromium. What it pins down: read-your-writes, listing, replace/truncate/delete,
//! a crash keeps exactly what was synced, and (at the log level) a torn last batch is cut by its
//! CRC while corruption in the middle is reported.

use super::{Completion, FileName, RequestId, StorageError, StorageRequest, SyncStorage};

/// What the runner must do for one probe.
#[derive(Clone, Debug)]
pub enum Action {
    /// Execute these requests in order and hand every completion to [`Probe::check`].
    Execute(Vec<StorageRequest>),
    /// Drop the backend without syncing (a crash) and open a new one on the same medium.
    /// [`Probe::check`] is called with no completions.
    CrashAndReopen,
}

/// One step of the suite.
pub struct Probe {
    pub case: &'static str,
    pub action: Action,
    expect: Expect,
}

type CheckFn = fn(&[Completion]) -> Result<(), String>;

pub(super) enum Expect {
    AllDone,
    Listed(Vec<&'static str>),
    ReadEquals(Vec<u8>),
    NotFound,
    Custom(CheckFn),
}

impl Probe {
    pub(super) fn new(case: &'static str, action: Action, expect: Expect) -> Probe {
        Probe {
            case,
            action,
            expect,
        }
    }

    /// Checks the completions the runner got for this probe's action, given the ids it sent
    /// the requests with (none for a crash): one completion per request, carrying its id, in
    /// order.
    pub fn check(&self, sent: &[RequestId], completions: &[Completion]) -> Result<(), String> {
        let fail = |what: String| Err(format!("case {:?}: {what}", self.case));
        let got: Vec<RequestId> = completions.iter().map(Completion::id).collect();
        if got != sent {
            return fail(format!(
                "completions carry ids {got:?}, but the requests were sent as {sent:?}"
            ));
        }
        let expected_count = match &self.action {
            Action::Execute(requests) => requests.len(),
            Action::CrashAndReopen => 0,
        };
        if completions.len() != expected_count {
            return fail(format!(
                "expected {expected_count} completions, got {}",
                completions.len()
            ));
        }
        match &self.expect {
            Expect::AllDone => {
                for c in completions {
                    if !matches!(c, Completion::Done(_)) {
                        return fail(format!("expected Done, got {c:?}"));
                    }
                }
                Ok(())
            }
            Expect::Listed(names) => match completions.last() {
                Some(Completion::Listed(_, files)) => {
                    let got: Vec<&str> = files.iter().map(FileName::as_str).collect();
                    if got == *names {
                        Ok(())
                    } else {
                        fail(format!("listed {got:?}, expected {names:?}"))
                    }
                }
                other => fail(format!("expected a listing, got {other:?}")),
            },
            Expect::ReadEquals(bytes) => match completions.last() {
                Some(Completion::Read(_, got)) if got == bytes => Ok(()),
                Some(Completion::Read(_, got)) => fail(format!(
                    "read {} bytes {:?}..., expected {} bytes {:?}...",
                    got.len(),
                    &got[..got.len().min(16)],
                    bytes.len(),
                    &bytes[..bytes.len().min(16)]
                )),
                other => fail(format!("expected a read, got {other:?}")),
            },
            Expect::NotFound => match completions.last() {
                Some(Completion::Failed(_, StorageError::NotFound(_))) => Ok(()),
                other => fail(format!("expected NotFound, got {other:?}")),
            },
            Expect::Custom(check) => check(completions).or_else(fail),
        }
    }
}

fn name(s: &str) -> FileName {
    // The suite's own names are constants known to be valid.
    FileName::new(s).unwrap_or_else(|e| panic!("conformance suite file name: {e}"))
}

fn append(file: &str, bytes: &[u8]) -> StorageRequest {
    StorageRequest::Append {
        file: name(file),
        bytes: bytes.to_vec(),
    }
}

fn read(file: &str) -> StorageRequest {
    StorageRequest::Read { file: name(file) }
}

fn probe(case: &'static str, requests: Vec<StorageRequest>, expect: Expect) -> Probe {
    Probe {
        case,
        action: Action::Execute(requests),
        expect,
    }
}

fn crash(case: &'static str) -> Probe {
    Probe {
        case,
        action: Action::CrashAndReopen,
        expect: Expect::AllDone,
    }
}

/// A deterministic byte pattern of `len` bytes (no PRNG needed: the suite is fixed data).
pub fn pattern(len: u32, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) as u8) ^ salt.wrapping_add((i >> 8) as u8))
        .collect()
}

/// The whole suite, in order. Every backend must pass every probe, starting from an empty medium.
pub fn script() -> Vec<Probe> {
    let big = pattern(1024 * 1024 + 7, 3);
    let mut p = vec![
        // Read-your-writes and appends that accumulate.
        probe(
            "append then read",
            vec![
                append("a-0/00000000000000000000.log", b"hello "),
                append("a-0/00000000000000000000.log", b"world"),
            ],
            Expect::AllDone,
        ),
        probe(
            "append then read",
            vec![read("a-0/00000000000000000000.log")],
            Expect::ReadEquals(b"hello world".to_vec()),
        ),
        probe(
            "read a missing file",
            vec![read("a-0/missing.log")],
            Expect::NotFound,
        ),
        // Listing is by prefix and sorted by name.
        probe(
            "list by prefix",
            vec![
                append("b-1/00000000000000000010.log", b"x"),
                append("b-0/00000000000000000000.log", b"y"),
                append("b-1/00000000000000000000.log", b"z"),
            ],
            Expect::AllDone,
        ),
        probe(
            "list by prefix",
            vec![StorageRequest::List {
                prefix: "b-1/".into(),
            }],
            Expect::Listed(vec![
                "b-1/00000000000000000000.log",
                "b-1/00000000000000000010.log",
            ]),
        ),
        // Replace, truncate and delete.
        probe(
            "replace truncate delete",
            vec![
                StorageRequest::Replace {
                    file: name("c-0/meta"),
                    bytes: b"v1".to_vec(),
                },
                StorageRequest::Replace {
                    file: name("c-0/meta"),
                    bytes: b"version-2".to_vec(),
                },
                append("c-0/00000000000000000000.log", b"0123456789"),
                StorageRequest::Truncate {
                    file: name("c-0/00000000000000000000.log"),
                    len: 4,
                },
                StorageRequest::Truncate {
                    file: name("c-0/00000000000000000000.log"),
                    len: 100,
                },
            ],
            Expect::AllDone,
        ),
        probe(
            "replace truncate delete",
            vec![read("c-0/meta")],
            Expect::ReadEquals(b"version-2".to_vec()),
        ),
        probe(
            "replace truncate delete",
            vec![read("c-0/00000000000000000000.log")],
            Expect::ReadEquals(b"0123".to_vec()),
        ),
        probe(
            "replace truncate delete",
            vec![
                StorageRequest::Delete {
                    file: name("c-0/meta"),
                },
                read("c-0/meta"),
            ],
            Expect::NotFound,
        ),
        probe(
            "delete a missing file is a no-op",
            vec![StorageRequest::Delete {
                file: name("c-0/never"),
            }],
            Expect::AllDone,
        ),
        // A large value survives whole.
        probe(
            "large value",
            vec![
                append("d-0/00000000000000000000.log", &big),
                StorageRequest::Sync,
            ],
            Expect::AllDone,
        ),
        probe(
            "large value",
            vec![read("d-0/00000000000000000000.log")],
            Expect::ReadEquals(big),
        ),
        // Crash keeps exactly what was synced.
        probe(
            "crash keeps the synced prefix",
            vec![
                append("e-0/00000000000000000000.log", b"synced|"),
                StorageRequest::Replace {
                    file: name("e-0/meta"),
                    bytes: b"old".to_vec(),
                },
                append("e-0/00000000000000000000.log", b"also-synced|"),
                StorageRequest::Sync,
                append("e-0/00000000000000000000.log", b"lost-tail"),
                StorageRequest::Replace {
                    file: name("e-0/meta"),
                    bytes: b"new-unsynced".to_vec(),
                },
                append("e-0/00000000000000000099.log", b"new file, unsynced"),
                StorageRequest::Delete {
                    file: name("d-0/00000000000000000000.log"),
                },
            ],
            Expect::AllDone,
        ),
        crash("crash keeps the synced prefix"),
        probe(
            "crash keeps the synced prefix",
            vec![read("e-0/00000000000000000000.log")],
            Expect::ReadEquals(b"synced|also-synced|".to_vec()),
        ),
        probe(
            "crash keeps the synced prefix",
            vec![read("e-0/meta")],
            Expect::ReadEquals(b"old".to_vec()),
        ),
        probe(
            "crash keeps the synced prefix",
            vec![read("e-0/00000000000000000099.log")],
            Expect::NotFound,
        ),
        probe(
            "crash keeps the synced prefix",
            vec![StorageRequest::List {
                prefix: "d-0/".into(),
            }],
            Expect::Listed(vec!["d-0/00000000000000000000.log"]),
        ),
        // Truncation and deletion become durable with a sync.
        probe(
            "truncate and delete survive a crash after sync",
            vec![
                StorageRequest::Truncate {
                    file: name("e-0/00000000000000000000.log"),
                    len: 6,
                },
                StorageRequest::Delete {
                    file: name("e-0/meta"),
                },
                StorageRequest::Sync,
            ],
            Expect::AllDone,
        ),
        crash("truncate and delete survive a crash after sync"),
        probe(
            "truncate and delete survive a crash after sync",
            vec![read("e-0/00000000000000000000.log")],
            Expect::ReadEquals(b"synced".to_vec()),
        ),
        probe(
            "truncate and delete survive a crash after sync",
            vec![read("e-0/meta")],
            Expect::NotFound,
        ),
        // Appends after a reopen continue the same file.
        probe(
            "append after reopen",
            vec![
                append("e-0/00000000000000000000.log", b"+more"),
                StorageRequest::Sync,
            ],
            Expect::AllDone,
        ),
        crash("append after reopen"),
        probe(
            "append after reopen",
            vec![read("e-0/00000000000000000000.log")],
            Expect::ReadEquals(b"synced+more".to_vec()),
        ),
        // Every request gets exactly one completion with its own id, in order.
        probe(
            "one completion per request, ids kept",
            vec![
                append("f-0/x", b"1"),
                StorageRequest::Sync,
                read("f-0/x"),
                read("f-0/y"),
            ],
            Expect::Custom(|cs| match cs {
                [Completion::Done(_), Completion::Done(_), Completion::Read(_, one), Completion::Failed(_, StorageError::NotFound(_))]
                    if one == b"1" =>
                {
                    Ok(())
                }
                other => Err(format!(
                    "expected Done, Done, Read(\"1\"), NotFound; got {other:?}"
                )),
            }),
        ),
    ];
    p.extend(super::log_conformance::probes());
    p
}

/// Runs the whole script against a synchronous backend. `open` gets the previous backend
/// (dropped without syncing: a crash) or `None` at the start, and returns a backend over the
/// same medium.
pub fn run_sync<B: SyncStorage>(mut open: impl FnMut(Option<B>) -> B) -> Result<(), String> {
    let mut backend = open(None);
    let mut next_id = 0u64;
    for (i, probe) in script().into_iter().enumerate() {
        let (sent, completions) = match &probe.action {
            Action::Execute(requests) => {
                let numbered: Vec<(RequestId, StorageRequest)> = requests
                    .iter()
                    .cloned()
                    .map(|r| {
                        next_id += 1;
                        (RequestId(next_id), r)
                    })
                    .collect();
                let sent: Vec<RequestId> = numbered.iter().map(|(id, _)| *id).collect();
                (sent, backend.execute(numbered))
            }
            Action::CrashAndReopen => {
                backend = open(Some(backend));
                (Vec::new(), Vec::new())
            }
        };
        probe
            .check(&sent, &completions)
            .map_err(|e| format!("probe {i}: {e}"))?;
    }
    Ok(())
}
