//! The IndexedDB backend in headless Chromium: the shared storage conformance suite (the same
//! script the memory and file backends pass), a multi-MiB value, and failures that must come
//! back as errors rather than panics or hangs.
#![cfg(target_arch = "wasm32")]

use logsim::storage::conformance::{pattern, script, Action};
use logsim::storage::{Completion, FileName, RequestId, StorageError, StorageRequest};
use logsim_browser::{delete_database, Durability, IdbStorage, CHUNK_BYTES_MAX};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// A database name no earlier run used: tests start from an empty medium.
fn fresh_db(what: &str) -> String {
    format!("logsim-test-{what}-{}", js_sys::Math::random().to_bits())
}

fn name(s: &str) -> FileName {
    FileName::new(s).expect("test file name")
}

async fn open(db: &str) -> IdbStorage {
    IdbStorage::open(db).await.expect("open IndexedDB")
}

/// Numbers requests from `next` on, like a driver does.
fn numbered(next: &mut u64, requests: Vec<StorageRequest>) -> Vec<(RequestId, StorageRequest)> {
    requests
        .into_iter()
        .map(|r| {
            *next += 1;
            (RequestId(*next), r)
        })
        .collect()
}

async fn run_conformance(durability: Durability) {
    let db = fresh_db("conformance");
    let mut backend = Some(IdbStorage::open_with(&db, durability).await.expect("open"));
    let mut next = 0u64;
    for (i, probe) in script().into_iter().enumerate() {
        let (sent, completions) = match &probe.action {
            Action::Execute(requests) => {
                let storage = backend.as_mut().expect("backend is open");
                let numbered = numbered(&mut next, requests.clone());
                let sent: Vec<RequestId> = numbered.iter().map(|(id, _)| *id).collect();
                (sent, storage.execute(numbered).await)
            }
            Action::CrashAndReopen => {
                // A crash: the backend goes away without a Sync, then the same medium reopens.
                drop(backend.take());
                backend = Some(
                    IdbStorage::open_with(&db, durability)
                        .await
                        .expect("reopen"),
                );
                (Vec::new(), Vec::new())
            }
        };
        if let Err(e) = probe.check(&sent, &completions) {
            panic!("probe {i}: {e}");
        }
    }
    drop(backend);
    delete_database(&db)
        .await
        .expect("delete the test database");
}

#[wasm_bindgen_test]
async fn idb_backend_passes_the_conformance_suite() {
    run_conformance(Durability::Relaxed).await;
}

#[wasm_bindgen_test]
async fn idb_backend_passes_the_conformance_suite_with_strict_durability() {
    run_conformance(Durability::Strict).await;
}

#[wasm_bindgen_test]
async fn several_mib_round_trip_across_chunks_and_a_reopen() {
    let db = fresh_db("big");
    let file = name("big-0/00000000000000000000.log");
    let big = pattern(5 * 1024 * 1024 + 123, 9);
    let mut next = 0;
    let mut storage = open(&db).await;
    // Half in one append, the rest in many small appends around chunk boundaries.
    let half = big.len() / 2;
    let mut requests = vec![StorageRequest::Append {
        file: file.clone(),
        bytes: big[..half].to_vec(),
    }];
    for piece in big[half..].chunks(CHUNK_BYTES_MAX as usize / 3 + 17) {
        requests.push(StorageRequest::Append {
            file: file.clone(),
            bytes: piece.to_vec(),
        });
    }
    requests.push(StorageRequest::Sync);
    let completions = storage.execute(numbered(&mut next, requests)).await;
    assert!(
        completions.iter().all(|c| matches!(c, Completion::Done(_))),
        "{completions:?}"
    );
    drop(storage);

    let mut storage = open(&db).await;
    let read = storage
        .execute(numbered(
            &mut next,
            vec![StorageRequest::Read { file: file.clone() }],
        ))
        .await;
    match read.as_slice() {
        [Completion::Read(_, bytes)] => assert!(bytes == &big, "read {} bytes", bytes.len()),
        other => panic!("expected a read, got {other:?}"),
    }
    // A cut in the middle of a chunk survives a sync and a reopen.
    let cut = 3 * u64::from(CHUNK_BYTES_MAX) + 5;
    let completions = storage
        .execute(numbered(
            &mut next,
            vec![
                StorageRequest::Truncate {
                    file: file.clone(),
                    len: cut,
                },
                StorageRequest::Append {
                    file: file.clone(),
                    bytes: b"after-cut".to_vec(),
                },
                StorageRequest::Sync,
            ],
        ))
        .await;
    assert!(
        completions.iter().all(|c| matches!(c, Completion::Done(_))),
        "{completions:?}"
    );
    drop(storage);
    let mut storage = open(&db).await;
    let read = storage
        .execute(numbered(&mut next, vec![StorageRequest::Read { file }]))
        .await;
    let mut expected = big[..cut as usize].to_vec();
    expected.extend_from_slice(b"after-cut");
    match read.as_slice() {
        [Completion::Read(_, bytes)] => assert!(bytes == &expected, "read {} bytes", bytes.len()),
        other => panic!("expected a read, got {other:?}"),
    }
    drop(storage);
    delete_database(&db)
        .await
        .expect("delete the test database");
}

#[wasm_bindgen_test]
async fn many_small_syncs_keep_every_byte() {
    // Small appends each followed by a Sync (what the simulator does) go through the
    // small-last-chunk rewrite; the bytes must survive exactly.
    let db = fresh_db("small-syncs");
    let file = name("s-0/00000000000000000000.log");
    let mut next = 0;
    let mut storage = open(&db).await;
    let mut expected = Vec::new();
    for i in 0..200u32 {
        let record = pattern(97 + i % 13, i as u8);
        expected.extend_from_slice(&record);
        let completions = storage
            .execute(numbered(
                &mut next,
                vec![
                    StorageRequest::Append {
                        file: file.clone(),
                        bytes: record,
                    },
                    StorageRequest::Sync,
                ],
            ))
            .await;
        assert!(
            completions.iter().all(|c| matches!(c, Completion::Done(_))),
            "{completions:?}"
        );
    }
    drop(storage);
    let mut storage = open(&db).await;
    let read = storage
        .execute(numbered(&mut next, vec![StorageRequest::Read { file }]))
        .await;
    match read.as_slice() {
        [Completion::Read(_, bytes)] => assert!(bytes == &expected, "read {} bytes", bytes.len()),
        other => panic!("expected a read, got {other:?}"),
    }
    drop(storage);
    delete_database(&db)
        .await
        .expect("delete the test database");
}

#[wasm_bindgen_test]
async fn a_sync_on_a_deleted_database_fails_with_an_error() {
    let db = fresh_db("deleted");
    let file = name("x-0/00000000000000000000.log");
    let mut next = 0;
    let mut storage = open(&db).await;
    let done = storage
        .execute(numbered(
            &mut next,
            vec![
                StorageRequest::Append {
                    file: file.clone(),
                    bytes: b"synced".to_vec(),
                },
                StorageRequest::Sync,
                StorageRequest::Append {
                    file: file.clone(),
                    bytes: b"pending".to_vec(),
                },
            ],
        ))
        .await;
    assert!(
        done.iter().all(|c| matches!(c, Completion::Done(_))),
        "{done:?}"
    );
    // Deleting the database under the open backend closes its connection (versionchange).
    delete_database(&db).await.expect("delete while open");
    let failed = storage
        .execute(numbered(
            &mut next,
            vec![
                StorageRequest::Sync,
                StorageRequest::Read { file: file.clone() },
            ],
        ))
        .await;
    match failed.as_slice() {
        [Completion::Failed(_, StorageError::Io(message)), Completion::Failed(_, StorageError::Io(_))] =>
        {
            assert!(message.contains("InvalidStateError"), "{message}")
        }
        other => panic!("expected two Io failures, got {other:?}"),
    }
    // Requests that need no IndexedDB still answer from the live image.
    let listed = storage
        .execute(numbered(
            &mut next,
            vec![StorageRequest::List { prefix: "".into() }],
        ))
        .await;
    assert_eq!(
        listed,
        vec![Completion::Listed(RequestId(next), vec![file])]
    );
}

#[wasm_bindgen_test]
async fn a_closed_connection_fails_every_io_with_an_error() {
    let db = fresh_db("closed");
    let mut next = 0;
    let mut storage = open(&db).await;
    storage.close();
    let failed = storage
        .execute(numbered(
            &mut next,
            vec![
                StorageRequest::Append {
                    file: name("y"),
                    bytes: b"1".to_vec(),
                },
                StorageRequest::Sync,
            ],
        ))
        .await;
    assert!(matches!(failed[0], Completion::Done(_)), "{failed:?}");
    assert!(
        matches!(&failed[1], Completion::Failed(_, StorageError::Io(m)) if m.contains("InvalidStateError")),
        "{failed:?}"
    );
    drop(storage);
    delete_database(&db)
        .await
        .expect("delete the test database");
}
