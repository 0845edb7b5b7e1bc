//! The event queue: events ordered by (time, sequence). The sequence number is assigned at
//! scheduling, so two events due at the same instant run in the order they were scheduled, on
//! every target. The queue is bounded by `limits::SIM_QUEUE_MAX`.
//!
//! A second class of events, scheduled with `schedule_first`, runs before every ordinary event
//! due at the same instant (and in the order they were scheduled among themselves): scenario
//! steps use it, so a step added while the run is under way (the app's fault buttons) lands in
//! the same place in the order as the same step written in the scenario file from the start.

use crate::limits::SIM_QUEUE_MAX;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Orders events by due time, then by the order they were scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventKey {
    pub due: SimTime,
    pub sequence: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "E: Serialize", deserialize = "E: Deserialize<'de>"))]
pub struct Scheduler<E> {
    now: SimTime,
    next_sequence: u64,
    /// The next sequence of a `schedule_first` event: they count up from 0, below
    /// `ORDINARY_SEQUENCE_BASE`, so they sort before ordinary events due at the same time.
    #[serde(default)]
    next_first_sequence: u64,
    // A BTreeMap keyed by (due, sequence) is both the priority queue and a serde-friendly,
    // deterministic structure (a session snapshot stores it as is).
    #[serde(with = "queue_as_vec")]
    queue: BTreeMap<EventKey, E>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueFull;

/// Ordinary events' sequence numbers start here; `schedule_first` events take the numbers
/// below it (2^62 of them: more than any run can schedule).
pub const ORDINARY_SEQUENCE_BASE: u64 = 1 << 62;

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Scheduler {
            now: SimTime::ZERO,
            next_sequence: ORDINARY_SEQUENCE_BASE,
            next_first_sequence: 0,
            queue: BTreeMap::new(),
        }
    }
}

impl<E> Scheduler<E> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn len(&self) -> u32 {
        self.queue.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Schedules `event` at `due` (never in the past: a due time before now runs now).
    pub fn schedule(&mut self, due: SimTime, event: E) -> Result<EventKey, QueueFull> {
        if self.queue.len() as u32 >= SIM_QUEUE_MAX {
            return Err(QueueFull);
        }
        let key = EventKey {
            due: due.max(self.now),
            sequence: self.next_sequence,
        };
        self.next_sequence += 1;
        self.queue.insert(key, event);
        Ok(key)
    }

    /// Schedules `event` at `due` ahead of every ordinary event due at that instant, after the
    /// `schedule_first` events already there.
    pub fn schedule_first(&mut self, due: SimTime, event: E) -> Result<EventKey, QueueFull> {
        if self.queue.len() as u32 >= SIM_QUEUE_MAX
            || self.next_first_sequence >= ORDINARY_SEQUENCE_BASE
        {
            return Err(QueueFull);
        }
        let key = EventKey {
            due: due.max(self.now),
            sequence: self.next_first_sequence,
        };
        self.next_first_sequence += 1;
        self.queue.insert(key, event);
        Ok(key)
    }

    /// The due time of the next event, if any.
    pub fn peek_due(&self) -> Option<SimTime> {
        self.queue.keys().next().map(|k| k.due)
    }

    /// Checks a scheduler that came from outside (a session file): no event due before now,
    /// every sequence number below the next one, so nothing can be overwritten or run back in
    /// time.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(key) = self.queue.keys().find(|k| k.due < self.now) {
            return Err(format!(
                "an event is due at {} but the clock is at {}",
                key.due, self.now
            ));
        }
        if let Some(key) = self.queue.keys().find(|k| {
            k.sequence >= self.next_sequence
                || (self.next_sequence >= ORDINARY_SEQUENCE_BASE
                    && k.sequence < ORDINARY_SEQUENCE_BASE
                    && k.sequence >= self.next_first_sequence)
        }) {
            return Err(format!(
                "event sequence {} is not below the next sequence {}",
                key.sequence, self.next_sequence
            ));
        }
        if self.queue.len() as u32 > SIM_QUEUE_MAX {
            return Err(format!(
                "{} queued events exceed the limit",
                self.queue.len()
            ));
        }
        Ok(())
    }

    /// The queued events in due order (to validate or display them).
    pub fn events(&self) -> impl Iterator<Item = &E> {
        self.queue.values()
    }

    /// Removes the next event and advances the clock to its due time.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let (key, event) = self.queue.pop_first()?;
        debug_assert!(key.due >= self.now, "time never goes backwards");
        self.now = key.due;
        Some((key.due, event))
    }
}

mod queue_as_vec {
    use super::EventKey;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer, E: Serialize>(
        q: &BTreeMap<EventKey, E>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(q.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>, E: Deserialize<'de>>(
        d: D,
    ) -> Result<BTreeMap<EventKey, E>, D::Error> {
        let v: Vec<(EventKey, E)> = Vec::deserialize(d)?;
        Ok(v.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn same_time_events_run_in_schedule_order() {
        let mut s = Scheduler::new();
        s.schedule(SimTime(10), "b").unwrap();
        s.schedule(SimTime(5), "a").unwrap();
        s.schedule(SimTime(10), "c").unwrap();
        let order: Vec<&str> = std::iter::from_fn(|| s.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!["a", "b", "c"]);
        assert_eq!(s.now(), SimTime(10));
    }

    #[test]
    fn first_events_run_before_ordinary_ones_due_at_the_same_time() {
        let mut s = Scheduler::new();
        s.schedule(SimTime(10), "ordinary-1").unwrap();
        s.schedule_first(SimTime(10), "first-1").unwrap();
        s.schedule(SimTime(5), "early").unwrap();
        s.schedule_first(SimTime(10), "first-2").unwrap();
        s.schedule(SimTime(10), "ordinary-2").unwrap();
        let order: Vec<&str> = std::iter::from_fn(|| s.pop().map(|(_, e)| e)).collect();
        assert_eq!(
            order,
            vec!["early", "first-1", "first-2", "ordinary-1", "ordinary-2"]
        );
    }

    #[test]
    fn past_due_times_run_now() {
        let mut s = Scheduler::new();
        s.schedule(SimTime(10), 1).unwrap();
        s.pop();
        let key = s.schedule(SimTime(3), 2).unwrap();
        assert_eq!(key.due, SimTime(10));
    }
}
