//! A simulated broker's disk: the storage contract over `MemoryStorage` (a live image, the page
//! cache, and a durable image, the platter), with seeded latency, a slow-disk fault, and the
//! crash faults of L-8: a process crash (the page cache survives), a power loss (everything not
//! synced is lost) and a power loss that tears the last unsynced append. It also carries Kafka's
//! flush policy (`flush.messages`, `flush.ms`), which says when a broker should issue a `Sync`.
//!
//! Invariants kept: requests complete in submission order (a later request never completes
//! before an earlier one) and take effect when they complete, so a power loss loses exactly the
//! requests still pending plus whatever was not synced; a process crash loses nothing (the
//! kernel finishes what the process handed it). What survives a power
//! loss is what the last completed `Sync` covered, except for a torn write, which keeps a prefix
//! of one append that recovery's CRC check must cut.
//!
//! Sans-IO: `submit` returns the due time (the kernel schedules a wake-up), `poll(now)` returns
//! the completions due by then as data. This is the simulated broker's disk; the browser's
//! IndexedDB persistence of the whole session is a different thing (DESIGN §3).

use crate::prng::Prng;
use crate::storage::memory::MemoryStorage;
use crate::storage::{Completion, FileName, RequestId, StorageError, StorageRequest, SyncStorage};
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// Most requests a disk holds pending at once; a submitter past it gets `DiskError::QueueFull`.
pub const DISK_QUEUE_MAX: u32 = 100_000;

/// Largest latency a config may name: one minute, in µs.
pub const DISK_LATENCY_US_MAX: u64 = 60_000_000;

/// Largest slow-disk factor: a disk ten thousand times slower is as good as stuck.
pub const DISK_SLOW_FACTOR_MAX: u32 = 10_000;

/// Latency of a healthy disk, per request, uniform in each range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiskConfig {
    /// Append, Replace, Truncate, Delete, List and Read: page-cache work.
    pub latency_us_min: u64,
    pub latency_us_max: u64,
    /// Sync: an fsync reaches the medium, so it is much slower.
    pub sync_latency_us_min: u64,
    pub sync_latency_us_max: u64,
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig {
            latency_us_min: 5,
            latency_us_max: 50,
            sync_latency_us_min: 500,
            sync_latency_us_max: 5_000,
        }
    }
}

impl DiskConfig {
    pub fn validate(&self) -> Result<(), DiskError> {
        let ranges = [
            ("latency_us", self.latency_us_min, self.latency_us_max),
            (
                "sync_latency_us",
                self.sync_latency_us_min,
                self.sync_latency_us_max,
            ),
        ];
        for (key, min, max) in ranges {
            if min > max {
                return Err(DiskError::Config(format!(
                    "{key}_min = {min} is above {key}_max = {max}"
                )));
            }
            if max > DISK_LATENCY_US_MAX {
                return Err(DiskError::Config(format!(
                    "{key}_max = {max}: the limit is {DISK_LATENCY_US_MAX} (one minute)"
                )));
            }
        }
        Ok(())
    }
}

/// Operating failures of the simulated disk. Failures of a request itself (a missing file)
/// come back as `Completion::Failed`, like any backend's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskError {
    Config(String),
    QueueFull { pending: u32 },
    SlowFactor(u32),
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskError::Config(m) => write!(f, "invalid disk configuration: {m}"),
            DiskError::QueueFull { pending } => write!(
                f,
                "the disk already has {pending} requests pending (the limit is {DISK_QUEUE_MAX})"
            ),
            DiskError::SlowFactor(x) => write!(
                f,
                "slow-disk factor {x}: expected 1 (healthy) to {DISK_SLOW_FACTOR_MAX}"
            ),
        }
    }
}

impl std::error::Error for DiskError {}

/// A completion and the time it fell due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskCompletion {
    pub at: SimTime,
    pub completion: Completion,
}

/// Which crash fault hit the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CrashKind {
    /// The broker process died (SIGKILL); the OS and its page cache live on.
    Process,
    /// The machine lost power: the page cache is gone.
    PowerLoss,
    /// Power loss while the last unsynced append was being written back.
    PowerLossTornWrite,
}

/// The append a torn write cut: `kept_bytes` of its `append_bytes` survived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TornWrite {
    pub file: FileName,
    pub append_bytes: u64,
    pub kept_bytes: u64,
}

/// What a crash did, for the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashReport {
    pub kind: CrashKind,
    /// Requests submitted but not completed that never take effect and never complete: those
    /// a power loss caught (a process crash lets the kernel finish them, so it loses none).
    pub lost_requests: Vec<RequestId>,
    /// `None` also when a torn write was asked for but no file had an unsynced append that
    /// could tear (then it was a plain power loss).
    pub torn_write: Option<TornWrite>,
}

/// Counters for traces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskStats {
    pub submitted: u64,
    pub completed: u64,
    pub syncs: u64,
    pub bytes_appended: u64,
    pub process_crashes: u64,
    pub power_losses: u64,
    pub torn_writes: u64,
}

#[derive(Clone, Debug)]
struct Pending {
    id: RequestId,
    due: SimTime,
    request: StorageRequest,
}

/// What happened to a file since the last completed `Sync`, to find an append that can tear.
#[derive(Clone, Debug)]
struct Unsynced {
    /// Only appends since the sync: the durable content is a prefix of the live one.
    append_only: bool,
    /// The length of the last append, if it is still the file's tail.
    last_append_bytes: Option<u64>,
    /// When the last append happened, in completed requests (the newest append tears).
    last_append_order: u64,
}

#[derive(Clone, Debug)]
pub struct SimDisk {
    config: DiskConfig,
    prng: Prng,
    storage: MemoryStorage,
    pending: VecDeque<Pending>,
    /// The due time of the last request submitted: the next is due no earlier (FIFO).
    last_due: SimTime,
    slow_factor: u32,
    unsynced: BTreeMap<FileName, Unsynced>,
    stats: DiskStats,
}

impl SimDisk {
    /// An empty disk. `prng` should be the caller's `prng.fork("disk-<broker>")`.
    pub fn new(config: DiskConfig, prng: Prng) -> Result<SimDisk, DiskError> {
        SimDisk::with_storage(config, prng, MemoryStorage::new())
    }

    /// A disk over existing contents (a restored session).
    pub fn with_storage(
        config: DiskConfig,
        prng: Prng,
        storage: MemoryStorage,
    ) -> Result<SimDisk, DiskError> {
        config.validate()?;
        Ok(SimDisk {
            config,
            prng,
            storage,
            pending: VecDeque::new(),
            last_due: SimTime::ZERO,
            slow_factor: 1,
            unsynced: BTreeMap::new(),
            stats: DiskStats::default(),
        })
    }

    pub fn config(&self) -> &DiskConfig {
        &self.config
    }

    pub fn stats(&self) -> DiskStats {
        self.stats
    }

    /// The underlying images (its `durable_image` is what a power loss now would leave).
    pub fn storage(&self) -> &MemoryStorage {
        &self.storage
    }

    pub fn pending(&self) -> u32 {
        self.pending.len() as u32
    }

    /// When the oldest pending request falls due: the kernel's next wake-up for this disk.
    pub fn next_due(&self) -> Option<SimTime> {
        self.pending.front().map(|p| p.due)
    }

    /// The slow-disk factor in force (1: healthy).
    pub fn slow_factor(&self) -> u32 {
        self.slow_factor
    }

    /// The slow-disk fault: every later request takes `factor` times its drawn latency (1 is a
    /// healthy disk). Requests already pending keep their due times.
    pub fn set_slow(&mut self, factor: u32) -> Result<(), DiskError> {
        if factor == 0 || factor > DISK_SLOW_FACTOR_MAX {
            return Err(DiskError::SlowFactor(factor));
        }
        self.slow_factor = factor;
        Ok(())
    }

    /// Queues a request; returns when it completes. It takes effect then, not now.
    pub fn submit(
        &mut self,
        now: SimTime,
        id: RequestId,
        request: StorageRequest,
    ) -> Result<SimTime, DiskError> {
        if self.pending.len() as u32 >= DISK_QUEUE_MAX {
            return Err(DiskError::QueueFull {
                pending: self.pending.len() as u32,
            });
        }
        let (min, max) = match request {
            StorageRequest::Sync => (
                self.config.sync_latency_us_min,
                self.config.sync_latency_us_max,
            ),
            _ => (self.config.latency_us_min, self.config.latency_us_max),
        };
        let latency_us = self.prng.range_inclusive(min, max) * u64::from(self.slow_factor);
        // One queue, like a single device: a request never overtakes an earlier one.
        let due = now
            .saturating_add(SimDuration::from_micros(latency_us))
            .max(self.last_due);
        self.last_due = due;
        self.pending.push_back(Pending { id, due, request });
        self.stats.submitted += 1;
        Ok(due)
    }

    /// Completes, in submission order, every request due by `now`.
    pub fn poll(&mut self, now: SimTime) -> Vec<DiskCompletion> {
        let mut done = Vec::new();
        while let Some(front) = self.pending.front() {
            if front.due > now {
                break;
            }
            let Some(Pending { id, due, request }) = self.pending.pop_front() else {
                break;
            };
            let completion = self.apply(id, request);
            done.push(DiskCompletion {
                at: due,
                completion,
            });
        }
        done
    }

    /// The broker process died (SIGKILL); the OS and its page cache live on. What the process
    /// handed the kernel still takes effect: in Kafka a page-cache write is a blocking
    /// `FileChannel.write` inside `LogSegment.append`, done before `Partition.appendRecordsToLeader`
    /// returns and so before any acknowledgement, and the kernel finishes writes and syncs
    /// whether or not their process lives. The simulated broker goes on without waiting for
    /// its page-cache writes (the request latency is the kernel's), so dropping them here lost
    /// records a broker paused and then killed had already acknowledged. Nobody hears their
    /// completions: nothing is lost, nothing completes.
    pub fn crash_process(&mut self) -> CrashReport {
        self.stats.process_crashes += 1;
        while let Some(Pending { id, request, .. }) = self.pending.pop_front() {
            let _ = self.apply(id, request);
        }
        CrashReport {
            kind: CrashKind::Process,
            lost_requests: Vec::new(),
            torn_write: None,
        }
    }

    /// Power loss: pending requests are lost and the live image becomes the durable one, so
    /// everything not covered by a completed `Sync` is gone (L-8's drill).
    pub fn crash(&mut self) -> CrashReport {
        self.stats.power_losses += 1;
        let lost_requests = self.drop_pending();
        self.storage.crash();
        self.unsynced.clear();
        CrashReport {
            kind: CrashKind::PowerLoss,
            lost_requests,
            torn_write: None,
        }
    }

    /// Power loss in the middle of writing back the newest unsynced append: that file keeps
    /// its unsynced content up to a random strict prefix of that append (earlier appends to it
    /// were written back in order, so they survive); every other unsynced change is lost.
    /// Recovery must find the cut batch by its size or CRC and truncate it (L-8).
    pub fn crash_with_torn_write(&mut self) -> CrashReport {
        let candidate = self.torn_write_candidate();
        let mut report = self.crash();
        let Some((file, live, append_bytes)) = candidate else {
            return report;
        };
        // A strict, non-empty prefix when the append allows one: the write is really torn.
        let kept_bytes = if append_bytes >= 2 {
            self.prng.range_inclusive(1, append_bytes - 1)
        } else {
            0
        };
        let start = live.len() as u64 - append_bytes;
        let keep = usize::try_from(start + kept_bytes).unwrap_or(usize::MAX);
        let torn: Vec<u8> = live.into_iter().take(keep).collect();
        // After the power loss the live image equals the durable one, so replacing the file
        // and syncing changes the durable image in that file only.
        let outcomes = self.storage.execute(vec![
            (
                RequestId(0),
                StorageRequest::Replace {
                    file: file.clone(),
                    bytes: torn,
                },
            ),
            (RequestId(1), StorageRequest::Sync),
        ]);
        assert!(
            outcomes.iter().all(|c| matches!(c, Completion::Done(_))),
            "the memory image refused a torn write: {outcomes:?}"
        );
        self.stats.torn_writes += 1;
        report.kind = CrashKind::PowerLossTornWrite;
        report.torn_write = Some(TornWrite {
            file,
            append_bytes,
            kept_bytes,
        });
        report
    }

    /// Every live file with its content, by name: what a restarting broker's recovery reads.
    pub fn live_files(&mut self) -> Vec<(FileName, Vec<u8>)> {
        let listed = self.storage.execute(vec![(
            RequestId(0),
            StorageRequest::List {
                prefix: String::new(),
            },
        )]);
        let names = match listed.into_iter().next() {
            Some(Completion::Listed(_, names)) => names,
            _ => Vec::new(),
        };
        names
            .into_iter()
            .filter_map(|file| self.read_live(&file).map(|bytes| (file, bytes)))
            .collect()
    }

    /// One live file's content, if it exists.
    pub fn read_live(&mut self, file: &FileName) -> Option<Vec<u8>> {
        let read = self.storage.execute(vec![(
            RequestId(0),
            StorageRequest::Read { file: file.clone() },
        )]);
        match read.into_iter().next() {
            Some(Completion::Read(_, bytes)) => Some(bytes),
            _ => None,
        }
    }

    fn drop_pending(&mut self) -> Vec<RequestId> {
        self.pending.drain(..).map(|p| p.id).collect()
    }

    /// The file whose newest unsynced append can tear, its live content, and that append's
    /// length.
    fn torn_write_candidate(&mut self) -> Option<(FileName, Vec<u8>, u64)> {
        let (file, append_bytes) = self
            .unsynced
            .iter()
            .filter(|(_, u)| u.append_only)
            .filter_map(|(f, u)| u.last_append_bytes.map(|n| (u.last_append_order, f, n)))
            .max_by_key(|(order, _, _)| *order)
            .map(|(_, f, n)| (f.clone(), n))?;
        let live = self.read_live(&file)?;
        assert!(
            live.len() as u64 >= append_bytes,
            "file {file} holds {} bytes, less than its last append of {append_bytes}",
            live.len()
        );
        Some((file, live, append_bytes))
    }

    fn apply(&mut self, id: RequestId, request: StorageRequest) -> Completion {
        self.stats.completed += 1;
        let order = self.stats.completed;
        self.track(&request, order);
        let mut outcomes = self.storage.execute(vec![(id, request)]);
        // The memory backend answers each request with exactly one completion.
        outcomes.pop().unwrap_or_else(|| {
            Completion::Failed(
                id,
                StorageError::Io("the memory image gave no completion".into()),
            )
        })
    }

    /// Keeps the bookkeeping a torn write needs: which files changed since the last sync, and
    /// how.
    fn track(&mut self, request: &StorageRequest, order: u64) {
        let fresh = || Unsynced {
            append_only: true,
            last_append_bytes: None,
            last_append_order: 0,
        };
        match request {
            StorageRequest::Append { file, bytes } => {
                self.stats.bytes_appended += bytes.len() as u64;
                let entry = self.unsynced.entry(file.clone()).or_insert_with(fresh);
                if !bytes.is_empty() {
                    entry.last_append_bytes = Some(bytes.len() as u64);
                    entry.last_append_order = order;
                }
            }
            StorageRequest::Replace { file, .. }
            | StorageRequest::Truncate { file, .. }
            | StorageRequest::Delete { file } => {
                // After these the durable content is no longer a prefix of the live one.
                let entry = self.unsynced.entry(file.clone()).or_insert_with(fresh);
                entry.append_only = false;
                entry.last_append_bytes = None;
            }
            StorageRequest::Sync => {
                self.stats.syncs += 1;
                self.unsynced.clear();
            }
            StorageRequest::List { .. } | StorageRequest::Read { .. } => {}
        }
    }
}

/// Kafka's flush policy for one log (topic configs; the broker-wide defaults are
/// `log.flush.interval.messages` and `log.flush.interval.ms`). Both default to Long.MAX: Kafka
/// never fsyncs on its own and relies on replication for durability (L-8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlushPolicy {
    /// Sync once this many messages (offsets) were appended since the last flush.
    #[serde(rename = "flush.messages")]
    pub flush_messages: i64,
    /// Sync once this long has passed since the last flush, if anything is unflushed.
    #[serde(rename = "flush.ms")]
    pub flush_ms: i64,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy {
            flush_messages: i64::MAX,
            flush_ms: i64::MAX,
        }
    }
}

impl FlushPolicy {
    /// Kafka's bounds: `flush.messages` at least 1, `flush.ms` at least 0.
    pub fn validate(&self) -> Result<(), DiskError> {
        if self.flush_messages < 1 {
            return Err(DiskError::Config(format!(
                "flush.messages = {}: expected at least 1",
                self.flush_messages
            )));
        }
        if self.flush_ms < 0 {
            return Err(DiskError::Config(format!(
                "flush.ms = {}: expected at least 0",
                self.flush_ms
            )));
        }
        Ok(())
    }
}

/// Where one log stands against its flush policy: messages appended since the last flush, and
/// when it was. A `Sync` covers every request submitted before it, so the broker calls
/// `flushed` when it submits one (a disk-wide sync flushes every log on the disk).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlushState {
    unflushed_messages: u64,
    last_flush_at: SimTime,
}

impl FlushState {
    pub fn new(now: SimTime) -> FlushState {
        FlushState {
            unflushed_messages: 0,
            last_flush_at: now,
        }
    }

    pub fn unflushed_messages(&self) -> u64 {
        self.unflushed_messages
    }

    /// Records an append of `messages` records; true when `flush.messages` says to sync now
    /// (Kafka checks `unflushedMessages >= flush.messages` after each append).
    pub fn appended(&mut self, policy: &FlushPolicy, messages: u32) -> bool {
        self.unflushed_messages += u64::from(messages);
        let threshold = u64::try_from(policy.flush_messages).unwrap_or(u64::MAX);
        self.unflushed_messages >= threshold
    }

    /// When `flush.ms` next asks for a sync: `None` while nothing is unflushed or when it is
    /// Long.MAX (never). May be in the past: then sync at once.
    pub fn flush_due_at(&self, policy: &FlushPolicy) -> Option<SimTime> {
        if self.unflushed_messages == 0 || policy.flush_ms == i64::MAX {
            return None;
        }
        let interval = SimDuration::from_millis(u64::try_from(policy.flush_ms).unwrap_or(0));
        Some(self.last_flush_at.saturating_add(interval))
    }

    /// Whether either knob asks for a sync at `now` (for a periodic flusher like Kafka's
    /// `log.flush.scheduler.interval.ms` task).
    pub fn should_flush(&self, policy: &FlushPolicy, now: SimTime) -> bool {
        let threshold = u64::try_from(policy.flush_messages).unwrap_or(u64::MAX);
        self.unflushed_messages > 0
            && (self.unflushed_messages >= threshold
                || self.flush_due_at(policy).is_some_and(|due| now >= due))
    }

    /// The broker submitted a `Sync` at `now` covering everything appended so far.
    pub fn flushed(&mut self, now: SimTime) {
        self.unflushed_messages = 0;
        self.last_flush_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Offset, PartitionIndex, TopicPartition};
    use crate::log::batch::{NewRecord, ProducerFields, RecordBatch};
    use crate::log::config::LogConfig;
    use crate::log::partition_log::PartitionLog;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn file(name: &str) -> FileName {
        FileName::new(name).unwrap()
    }

    fn append(name: &str, bytes: &[u8]) -> StorageRequest {
        StorageRequest::Append {
            file: file(name),
            bytes: bytes.to_vec(),
        }
    }

    fn fixed(latency_us: u64, sync_latency_us: u64) -> DiskConfig {
        DiskConfig {
            latency_us_min: latency_us,
            latency_us_max: latency_us,
            sync_latency_us_min: sync_latency_us,
            sync_latency_us_max: sync_latency_us,
        }
    }

    fn disk(seed: u64, config: DiskConfig) -> SimDisk {
        SimDisk::new(config, Prng::new(seed).fork("disk")).unwrap()
    }

    /// Submits every request at `now` and completes them all.
    fn run_all(disk: &mut SimDisk, now: SimTime, requests: Vec<StorageRequest>) -> SimTime {
        let mut last = now;
        for (i, r) in (0u64..).zip(requests) {
            last = disk.submit(now, RequestId(i), r).unwrap();
        }
        let done = disk.poll(last);
        assert!(done
            .iter()
            .all(|c| matches!(c.completion, Completion::Done(_))));
        last
    }

    /// Files by name with their content.
    type Image = Vec<(String, Vec<u8>)>;

    fn image(disk: &mut SimDisk) -> Image {
        disk.live_files()
            .into_iter()
            .map(|(f, b)| (f.to_string(), b))
            .collect()
    }

    #[test]
    fn durable_and_live_images_after_each_fault() {
        // L-8: what each fault leaves. Before it: "a" synced to t/f.log, then "bb" appended to
        // t/f.log and "ccc" to t/g.log (completed, unsynced), and "dd" to t/f.log still pending.
        // A process crash keeps the pending "dd" too: the kernel finishes the write its process
        // handed it (seed 4902 lost an acknowledged record when this dropped it).
        let f = |s: &str| ("t/f.log".to_string(), s.as_bytes().to_vec());
        let g = |s: &str| ("t/g.log".to_string(), s.as_bytes().to_vec());
        type Fault = fn(&mut SimDisk) -> CrashReport;
        let table: [(&str, Fault, CrashKind, Image, Vec<RequestId>); 2] = [
            (
                "process crash keeps the page cache and what was on its way there",
                SimDisk::crash_process,
                CrashKind::Process,
                vec![f("abbdd"), g("ccc")],
                vec![],
            ),
            (
                "power loss keeps only what was synced",
                SimDisk::crash,
                CrashKind::PowerLoss,
                vec![f("a")],
                vec![RequestId(99)],
            ),
        ];
        for (story, fault, kind, expected, lost) in table {
            let mut d = disk(1, fixed(10, 100));
            let t = run_all(
                &mut d,
                SimTime(0),
                vec![append("t/f.log", b"a"), StorageRequest::Sync],
            );
            let t = run_all(
                &mut d,
                t,
                vec![append("t/f.log", b"bb"), append("t/g.log", b"ccc")],
            );
            d.submit(t, RequestId(99), append("t/f.log", b"dd"))
                .unwrap();
            let report = fault(&mut d);
            assert_eq!(report.kind, kind, "{story}");
            assert_eq!(report.lost_requests, lost, "{story}");
            assert_eq!(image(&mut d), expected, "{story}");
            // A request the crash caught never completes, whether it took effect or not.
            assert!(d.poll(SimTime(u64::MAX)).is_empty(), "{story}");
            let durable: Image = d
                .storage()
                .durable_image()
                .iter()
                .map(|(f, b)| (f.to_string(), b.clone()))
                .collect();
            assert_eq!(durable, vec![f("a")], "{story}: the durable image");
        }
    }

    #[test]
    fn a_sync_still_pending_at_power_loss_makes_nothing_durable() {
        let mut d = disk(2, fixed(10, 1_000));
        let t = run_all(&mut d, SimTime(0), vec![append("t/f.log", b"abc")]);
        let sync_due = d.submit(t, RequestId(7), StorageRequest::Sync).unwrap();
        assert!(d.poll(SimTime(sync_due.0 - 1)).is_empty());
        let report = d.crash();
        assert_eq!(report.lost_requests, vec![RequestId(7)]);
        assert!(image(&mut d).is_empty());
    }

    #[test]
    fn a_torn_write_keeps_a_strict_prefix_of_the_newest_unsynced_append() {
        for seed in 0..50 {
            let mut d = disk(seed, fixed(10, 100));
            run_all(
                &mut d,
                SimTime(0),
                vec![
                    append("t/f.log", b"synced"),
                    StorageRequest::Sync,
                    append("t/f.log", b"-early"),
                    append("t/g.log", b"lost"),
                    append("t/f.log", b"-newest-append"),
                ],
            );
            let report = d.crash_with_torn_write();
            let torn = report.torn_write.unwrap();
            assert_eq!(report.kind, CrashKind::PowerLossTornWrite);
            assert_eq!((torn.file.as_str(), torn.append_bytes), ("t/f.log", 14));
            assert!((1..14).contains(&torn.kept_bytes), "{torn:?}");
            let kept = usize::try_from(torn.kept_bytes).unwrap();
            let expected = [&b"synced-early"[..], &b"-newest-append"[..kept]].concat();
            assert_eq!(
                image(&mut d),
                vec![("t/f.log".to_string(), expected.clone())]
            );
            assert_eq!(
                d.storage().durable_image().get(&file("t/f.log")),
                Some(&expected)
            );
        }
    }

    #[test]
    fn a_torn_write_needs_an_append_only_file_or_is_a_plain_power_loss() {
        let mut d = disk(3, fixed(10, 100));
        run_all(
            &mut d,
            SimTime(0),
            vec![
                append("t/f.log", b"synced"),
                StorageRequest::Sync,
                append("t/f.log", b"more"),
                StorageRequest::Truncate {
                    file: file("t/f.log"),
                    len: 2,
                },
            ],
        );
        let report = d.crash_with_torn_write();
        assert_eq!(
            (report.kind, report.torn_write),
            (CrashKind::PowerLoss, None)
        );
        assert_eq!(
            image(&mut d),
            vec![("t/f.log".to_string(), b"synced".to_vec())]
        );
    }

    fn batch(i: u32) -> RecordBatch {
        let value = format!("value-{i}-padding-to-make-the-batch-longer");
        RecordBatch::new_data(
            &[NewRecord::new(
                1_000 + i64::from(i),
                Some(format!("key-{i}").as_bytes()),
                Some(value.as_bytes()),
            )],
            ProducerFields::NONE,
        )
    }

    #[test]
    fn recovery_cuts_the_torn_batch_and_keeps_every_synced_one() {
        // L-8: a power loss tears the last unsynced batch; recovery validates batches after the
        // recovery point and truncates at the first invalid one. Here 3 batches were synced, 2
        // more appended; the newest tears. Recovery keeps the synced 3 plus the whole 4th (it
        // was written back before the torn one) and cuts the 5th.
        let tp = TopicPartition {
            topic: "events".into(),
            partition: PartitionIndex(0),
        };
        for seed in 0..20 {
            let mut log = PartitionLog::new(tp.clone(), LogConfig::default(), 0).unwrap();
            let mut d = disk(seed, DiskConfig::default());
            let mut now = SimTime(0);
            let mut next_id = 0;
            let mut write = |d: &mut SimDisk, now: &mut SimTime, requests: Vec<StorageRequest>| {
                for r in requests {
                    *now = d.submit(*now, RequestId(next_id), r).unwrap();
                    next_id += 1;
                }
                for c in d.poll(*now) {
                    assert!(matches!(c.completion, Completion::Done(_)), "{c:?}");
                }
            };
            for i in 0..3 {
                let bytes = batch(i).encode();
                log.append_bytes_as_leader(&bytes, crate::ids::LeaderEpoch(0), 1_000)
                    .unwrap();
            }
            let mut requests = log.take_storage_requests();
            requests.push(StorageRequest::Sync);
            write(&mut d, &mut now, requests);
            for i in 3..5 {
                log.append_as_leader(batch(i), crate::ids::LeaderEpoch(0), 1_000)
                    .unwrap();
            }
            write(&mut d, &mut now, log.take_storage_requests());
            assert_eq!(log.log_end_offset(), Offset(5));

            let report = d.crash_with_torn_write();
            let torn = report.torn_write.unwrap();
            assert_eq!(torn.append_bytes, u64::from(batch(4).size_in_bytes()));

            let (recovered, recovery) =
                PartitionLog::recover(tp.clone(), LogConfig::default(), d.live_files(), 2_000)
                    .unwrap();
            assert_eq!(recovered.log_end_offset(), Offset(4), "seed {seed}");
            let cut = recovery
                .torn_tail
                .clone()
                .unwrap_or_else(|| panic!("seed {seed}: {recovery:?}"));
            assert_eq!(cut.file, torn.file);
            assert_eq!(recovery.torn_tail_bytes, torn.kept_bytes);
            assert!(recovery.corruption.is_none());
        }
    }

    #[test]
    fn completions_come_in_submission_order_with_seeded_latency() {
        // A later request never completes before an earlier one, whatever latency it drew; the
        // same seed gives the same due times.
        let stream = |seed: u64| {
            let mut d = disk(seed, DiskConfig::default());
            let mut p = Prng::new(seed).fork("workload");
            let mut dues = Vec::new();
            let mut completed = Vec::new();
            let mut now = SimTime(0);
            for i in 0..500u64 {
                now = now.saturating_add(SimDuration(p.below(20_000)));
                let request = if p.chance(1, 10) {
                    StorageRequest::Sync
                } else {
                    append("t/f.log", b"x")
                };
                let is_sync = request == StorageRequest::Sync;
                let due = d.submit(now, RequestId(i), request).unwrap();
                let min_us = if is_sync { 500 } else { 5 };
                assert!(due >= now.saturating_add(SimDuration::from_micros(min_us)));
                dues.push(due);
                completed.extend(d.poll(now));
            }
            completed.extend(d.poll(SimTime(u64::MAX)));
            let ids: Vec<u64> = completed.iter().map(|c| c.completion.id().0).collect();
            assert_eq!(ids, (0..500).collect::<Vec<u64>>(), "seed {seed}");
            assert!(dues.windows(2).all(|w| w[0] <= w[1]), "seed {seed}");
            let at: Vec<SimTime> = completed.iter().map(|c| c.at).collect();
            assert_eq!(at, dues);
            dues
        };
        assert_eq!(stream(5), stream(5));
        assert_ne!(stream(5), stream(6));
    }

    #[test]
    fn a_slow_disk_multiplies_latency() {
        let table = [(1, 10_000), (3, 30_000), (100, 1_000_000)];
        for (factor, latency_ns) in table {
            let mut d = disk(1, fixed(10, 10));
            d.set_slow(factor).unwrap();
            let due = d
                .submit(SimTime(0), RequestId(0), append("t/f.log", b"x"))
                .unwrap();
            assert_eq!(due, SimTime(latency_ns), "factor {factor}");
        }
        let mut d = disk(1, fixed(10, 10));
        assert_eq!(d.set_slow(0), Err(DiskError::SlowFactor(0)));
    }

    #[test]
    fn flush_policy_says_when_to_sync() {
        // L-8 knobs. Each row: policy, then appends of n messages at t ms; the expected answer
        // of `appended` and of `should_flush` right after each.
        struct Row {
            flush_messages: i64,
            flush_ms: i64,
            appends: &'static [(u32, u64)],
            expect: &'static [(bool, bool)],
        }
        let table = [
            // Kafka's defaults: never.
            Row {
                flush_messages: i64::MAX,
                flush_ms: i64::MAX,
                appends: &[(1000, 0), (1, 1_000_000_000)],
                expect: &[(false, false), (false, false)],
            },
            // flush.messages=1: every append.
            Row {
                flush_messages: 1,
                flush_ms: i64::MAX,
                appends: &[(1, 0), (1, 1)],
                expect: &[(true, true), (true, true)],
            },
            // flush.messages=5: once 5 messages are unflushed (batches count their records).
            Row {
                flush_messages: 5,
                flush_ms: i64::MAX,
                appends: &[(2, 0), (2, 1), (1, 2)],
                expect: &[(false, false), (false, false), (true, true)],
            },
            // flush.ms=100: due 100 ms after the last flush (at 0), if anything is unflushed.
            Row {
                flush_messages: i64::MAX,
                flush_ms: 100,
                appends: &[(1, 50), (1, 99), (1, 100)],
                expect: &[(false, false), (false, false), (false, true)],
            },
        ];
        for row in table {
            let policy = FlushPolicy {
                flush_messages: row.flush_messages,
                flush_ms: row.flush_ms,
            };
            policy.validate().unwrap();
            let mut state = FlushState::new(SimTime::ZERO);
            for (&(messages, at_ms), &(now, due)) in row.appends.iter().zip(row.expect) {
                let t = SimTime::from_millis(at_ms);
                assert_eq!(
                    state.appended(&policy, messages),
                    now,
                    "{policy:?} at {at_ms}"
                );
                assert_eq!(state.should_flush(&policy, t), due, "{policy:?} at {at_ms}");
                if now {
                    state.flushed(t);
                }
            }
        }
        // flush.ms counts from the last flush, and nothing is due while nothing is unflushed.
        let policy = FlushPolicy {
            flush_ms: 100,
            ..FlushPolicy::default()
        };
        let mut state = FlushState::new(SimTime::ZERO);
        assert_eq!(state.flush_due_at(&policy), None);
        state.appended(&policy, 1);
        assert_eq!(state.flush_due_at(&policy), Some(SimTime::from_millis(100)));
        state.flushed(SimTime::from_millis(100));
        assert_eq!(state.flush_due_at(&policy), None);
        state.appended(&policy, 1);
        assert_eq!(state.flush_due_at(&policy), Some(SimTime::from_millis(200)));
        assert_eq!(
            FlushState::new(SimTime::ZERO).flush_due_at(&FlushPolicy::default()),
            None
        );
    }

    #[test]
    fn configs_use_kafka_names_and_are_validated() {
        let policy: FlushPolicy =
            serde_json::from_str(r#"{"flush.messages": 10000, "flush.ms": 1000}"#).unwrap();
        assert_eq!((policy.flush_messages, policy.flush_ms), (10_000, 1_000));
        assert_eq!(FlushPolicy::default().flush_messages, i64::MAX);
        let bad = FlushPolicy {
            flush_messages: 0,
            ..FlushPolicy::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("flush.messages = 0"));
        let bad = FlushPolicy {
            flush_ms: -1,
            ..FlushPolicy::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("flush.ms = -1"));
        let error = SimDisk::new(
            DiskConfig {
                sync_latency_us_min: 10,
                sync_latency_us_max: 1,
                ..DiskConfig::default()
            },
            Prng::new(1),
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("sync_latency_us_min = 10"),
            "{error}"
        );
    }
}
