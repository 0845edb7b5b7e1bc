//! Tests of the `hello` scenario: cross-target golden hashes, restore continuing the same run,
//! driver checkpoints leaving the trace alone, and refusals of bad or tampered sessions.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// Hashes of `hello` for seeds 1..=100 over 5 simulated seconds, computed natively. The
/// native test checks them (and rewrites the file with LOGSIM_BLESS=1); the same test
/// compiled to wasm32 and run in Node must find the very same hashes.
const GOLDEN: &str = include_str!("../../../tests/golden/hello-hashes.txt");
const GOLDEN_SECONDS: u64 = 5;

fn computed() -> String {
    let mut out = String::new();
    for seed in 1..=100u64 {
        let hash = hello_trace_hash(seed, GOLDEN_SECONDS * 1000)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        out.push_str(&format!("{seed} {hash:016x}\n"));
    }
    out
}

#[test]
fn hello_hashes_match_the_natively_computed_golden_file() {
    let got = computed();
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var_os("LOGSIM_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/hello-hashes.txt");
        std::fs::write(path, &got).unwrap_or_else(|e| panic!("{path}: {e}"));
        return;
    }
    for (want, have) in GOLDEN.lines().zip(got.lines()) {
        assert_eq!(want, have, "trace hash differs from the native golden file");
    }
    assert_eq!(
        GOLDEN.lines().count(),
        100,
        "golden file must list seeds 1..=100"
    );
}

#[test]
fn a_restored_session_continues_the_same_run() {
    let mut straight = HelloSim::new(HelloConfig::default(), 9).unwrap();
    let mut s1 = crate::storage::memory::MemoryStorage::new();
    let mut id = 0;
    run_until(&mut straight, &mut s1, &mut id, SimTime::from_millis(8_000)).unwrap();

    let mut first = HelloSim::new(HelloConfig::default(), 9).unwrap();
    let mut s2 = crate::storage::memory::MemoryStorage::new();
    run_until(&mut first, &mut s2, &mut id, SimTime::from_millis(3_500)).unwrap();
    // A crash: whatever was not synced by the last flush is lost with the process.
    s2.crash();
    drop(first);
    let files: Vec<(FileName, Vec<u8>)> = s2
        .durable_image()
        .iter()
        .map(|(f, b)| (f.clone(), b.clone()))
        .collect();
    let (mut resumed, report) = HelloSim::restore(files).unwrap();
    assert_eq!(report.steps, resumed.steps());
    assert_eq!(
        resumed.now(),
        SimTime::from_millis(3_000),
        "the last flush was at 3 s"
    );
    run_until(&mut resumed, &mut s2, &mut id, SimTime::from_millis(8_000)).unwrap();
    assert_eq!(resumed.trace_hash(), straight.trace_hash());
    assert_eq!(resumed.view(), straight.view());
}

/// Regression: a driver checkpoint (the app checkpoints on every pause and single step, the
/// CLI on exit) once reset the "bytes since last flush" counter, so the next flush line and
/// the trace hash depended on when the driver checkpointed.
#[test]
fn driver_checkpoints_never_change_the_trace() {
    let mut straight = HelloSim::new(HelloConfig::default(), 5).unwrap();
    let mut s1 = crate::storage::memory::MemoryStorage::new();
    let mut id = 0;
    run_until(&mut straight, &mut s1, &mut id, SimTime::from_millis(6_000)).unwrap();

    let mut stepped = HelloSim::new(HelloConfig::default(), 5).unwrap();
    let mut s2 = crate::storage::memory::MemoryStorage::new();
    while stepped
        .next_due()
        .is_some_and(|due| due <= SimTime::from_millis(6_000))
    {
        stepped.step().unwrap();
        stepped.checkpoint().unwrap();
        settle_sync(&mut stepped, &mut s2, &mut id).unwrap();
    }
    assert_eq!(stepped.trace_hash(), straight.trace_hash());

    // Restoring from a checkpoint taken between two flushes continues the same run.
    let mut first = HelloSim::new(HelloConfig::default(), 5).unwrap();
    let mut s3 = crate::storage::memory::MemoryStorage::new();
    run_until(&mut first, &mut s3, &mut id, SimTime::from_millis(3_500)).unwrap();
    first.checkpoint().unwrap();
    settle_sync(&mut first, &mut s3, &mut id).unwrap();
    let files: Vec<(FileName, Vec<u8>)> = s3
        .durable_image()
        .iter()
        .map(|(f, b)| (f.clone(), b.clone()))
        .collect();
    let (mut resumed, _) = HelloSim::restore(files).unwrap();
    run_until(&mut resumed, &mut s3, &mut id, SimTime::from_millis(6_000)).unwrap();
    assert_eq!(resumed.trace_hash(), straight.trace_hash());
}

#[test]
fn tampered_sessions_are_refused_not_run() {
    let mut sim = HelloSim::new(HelloConfig::default(), 3).unwrap();
    let mut storage = crate::storage::memory::MemoryStorage::new();
    let mut id = 0;
    run_until(&mut sim, &mut storage, &mut id, SimTime::from_millis(1_500)).unwrap();
    let session =
        String::from_utf8(storage.durable_image()[&FileName::new(SESSION_FILE).unwrap()].clone())
            .unwrap();
    let restore_with = |text: String| {
        HelloSim::restore(vec![(
            FileName::new(SESSION_FILE).unwrap(),
            text.into_bytes(),
        )])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
    };
    // A queued event for a partition the topic does not have.
    let mut value: serde_json::Value = serde_json::from_str(&session).unwrap();
    value["scheduler"]["next_first_sequence"] = serde_json::json!(1);
    let queue = value["scheduler"]["queue"].as_array_mut().unwrap();
    queue.push(serde_json::json!([
        {"due": 9_000_000_000u64, "sequence": 0},
        {"FetchArrives": {"partition": 99, "fetch_offset": 0}}
    ]));
    let err = restore_with(value.to_string());
    assert!(err.contains("partition 99"), "{err}");
    // A PRNG state of zeros would make the run spin forever.
    let mut value: serde_json::Value = serde_json::from_str(&session).unwrap();
    value["rng_producer"]["s"] = serde_json::json!([0, 0, 0, 0]);
    let err = restore_with(value.to_string());
    assert!(err.contains("all zeros"), "{err}");
    // An event due before the clock.
    let mut value: serde_json::Value = serde_json::from_str(&session).unwrap();
    value["scheduler"]["queue"][0][0]["due"] = serde_json::json!(0);
    let err = restore_with(value.to_string());
    assert!(err.contains("but the clock is at"), "{err}");
}

#[test]
fn step_refuses_while_storage_is_outstanding() {
    let mut sim = HelloSim::new(HelloConfig::default(), 1).unwrap();
    // The first append creates segment files: requests wait in the outbox.
    let mut steps = 0;
    while sim.step().is_ok() {
        steps += 1;
        assert!(
            steps < 100,
            "a storage request should appear within a few steps"
        );
    }
    assert!(matches!(
        sim.step(),
        Err(SimError::StorageOutstanding { .. })
    ));
    let requests = sim.take_storage_requests();
    assert!(matches!(
        sim.step(),
        Err(SimError::StorageOutstanding { .. })
    ));
    let completions: Vec<Completion> = (0..requests.len() as u64)
        .map(|i| Completion::Done(crate::storage::RequestId(i)))
        .collect();
    sim.storage_completed(&completions).unwrap();
    assert!(sim.step().is_ok());
}

#[test]
fn a_storage_failure_stops_the_run_with_a_clear_error() {
    let mut sim = HelloSim::new(HelloConfig::default(), 1).unwrap();
    while sim.step().is_ok() {}
    let requests = sim.take_storage_requests();
    let mut completions: Vec<Completion> = (0..requests.len() as u64)
        .map(|i| Completion::Done(crate::storage::RequestId(i)))
        .collect();
    completions[0] = Completion::Failed(
        crate::storage::RequestId(0),
        crate::storage::StorageError::QuotaExceeded("no room".into()),
    );
    let err = sim.storage_completed(&completions).unwrap_err();
    assert!(
        err.to_string().contains("storage quota exceeded: no room"),
        "{err}"
    );
    assert_eq!(sim.step().unwrap_err(), err);
}

#[test]
fn restore_rejects_bad_sessions_with_reasons() {
    let f = |s: &str| FileName::new(s).unwrap();
    let no_session = HelloSim::restore(vec![]).err().unwrap();
    assert!(
        no_session.to_string().contains("no session.json"),
        "{no_session}"
    );
    let garbage = HelloSim::restore(vec![(f(SESSION_FILE), b"{not json".to_vec())])
        .err()
        .unwrap();
    assert!(
        garbage.to_string().contains("not a valid session"),
        "{garbage}"
    );
}
