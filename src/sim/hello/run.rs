//! Driving `hello` against a synchronous storage backend (memory, files): execute the
//! simulator's storage requests after every step, so simulated time never passes an incomplete
//! request; and the canonical run whose trace hash the cross-target check compares.

use super::{HelloConfig, HelloSim, SimError};
use crate::time::SimTime;

/// Runs `sim` for `steps` events against a synchronous backend, executing its storage requests
/// after every step. Returns how many events ran (fewer when the queue empties).
pub fn drive_sync(
    sim: &mut HelloSim,
    storage: &mut dyn crate::storage::SyncStorage,
    next_request_id: &mut u64,
    steps: u64,
) -> Result<u64, SimError> {
    let mut ran = 0;
    while ran < steps {
        settle_sync(sim, storage, next_request_id)?;
        if !sim.step()? {
            break;
        }
        ran += 1;
    }
    settle_sync(sim, storage, next_request_id)?;
    Ok(ran)
}

/// Executes every outstanding storage request of `sim` on a synchronous backend.
pub fn settle_sync(
    sim: &mut HelloSim,
    storage: &mut dyn crate::storage::SyncStorage,
    next_request_id: &mut u64,
) -> Result<(), SimError> {
    let requests = sim.take_storage_requests();
    if requests.is_empty() {
        return Ok(());
    }
    let numbered = requests
        .into_iter()
        .map(|r| {
            *next_request_id += 1;
            (crate::storage::RequestId(*next_request_id), r)
        })
        .collect();
    let completions = storage.execute(numbered);
    sim.storage_completed(&completions)
}

/// Runs `hello` with its default configuration from `seed` until simulated time passes
/// `duration_ms`, on the memory backend, and returns the trace hash. This is the run the
/// cross-target determinism check compares.
pub fn hello_trace_hash(seed: u64, duration_ms: u64) -> Result<u64, SimError> {
    let mut sim = HelloSim::new(HelloConfig::default(), seed)?;
    let mut storage = crate::storage::memory::MemoryStorage::new();
    let mut request_id = 0;
    run_until(
        &mut sim,
        &mut storage,
        &mut request_id,
        SimTime::from_millis(duration_ms),
    )?;
    Ok(sim.trace_hash())
}

/// Runs events due at or before `until` against a synchronous backend. Returns how many ran.
pub fn run_until(
    sim: &mut HelloSim,
    storage: &mut dyn crate::storage::SyncStorage,
    next_request_id: &mut u64,
    until: SimTime,
) -> Result<u64, SimError> {
    let mut ran = 0;
    loop {
        settle_sync(sim, storage, next_request_id)?;
        match sim.next_due() {
            Some(due) if due <= until => {}
            _ => return Ok(ran),
        }
        sim.step()?;
        ran += 1;
    }
}
