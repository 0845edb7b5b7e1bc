//! The bare event-loop kernel B4 compares our simulator with: what a discrete-event loop costs
//! when the events do nothing. It replays the event times our run produced, in the same number
//! and order: a binary heap ordered by `(time, sequence)` holds `WINDOW` pending events; each
//! popped event's handler folds its key into a checksum and schedules the next recorded event
//! (never earlier than itself, since simulated time never goes back). So `ours / bare` is the
//! cost of everything our simulator does per event (actors, network, disks, trace, invariant
//! checks) over the bare cost of ordering the events.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Pending events in the bare kernel's queue: about what a small cluster keeps scheduled.
pub const WINDOW: usize = 64;

/// Runs the kernel over `times` (nanoseconds, non-decreasing) and returns a checksum, which
/// the caller must use so the loop cannot be optimised away.
pub fn bare_kernel(times: &[u64]) -> u64 {
    let mut queue: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::with_capacity(WINDOW + 1);
    let mut sequence = 0u64;
    let mut next = 0usize;
    while next < times.len() && next < WINDOW {
        queue.push(Reverse((times[next], sequence)));
        sequence += 1;
        next += 1;
    }
    let mut checksum = 0u64;
    let mut now = 0u64;
    while let Some(Reverse((time, seq))) = queue.pop() {
        debug_assert!(time >= now, "the bare kernel never runs back in time");
        now = time;
        checksum = checksum.rotate_left(5) ^ time.wrapping_add(seq);
        if let Some(due) = times.get(next) {
            queue.push(Reverse(((*due).max(now), sequence)));
            sequence += 1;
            next += 1;
        }
    }
    checksum
}
