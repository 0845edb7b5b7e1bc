//! The messages between the page and the simulation worker. The worker owns the `Session`; the
//! page sends commands and draws the snapshots it gets back. Both sides are this crate, so the
//! types are shared and cross `postMessage` as JSON text (`encode` / `decode`).
//!
//! A snapshot is bounded whatever the cluster's size: it carries every broker, topic and
//! client, but partition detail only for the window the page shows, plus an aggregate (heat
//! map blocks and per-broker-per-topic counts) over all partitions.

use logsim::session::explain::Explained;
use logsim::session::metrics::Sample;
use logsim::session::timeline::{LiveCheck, TimelineView};
use logsim::sim::cluster::scenario::{Action, ClusterScenario, Step};
use logsim::sim::cluster::view::{
    BrokerView, ClusterView, ConsumerView, GroupDescription, HangingView, MessageView, NetworkView,
    PartitionView, ProducerView, RecordCard, TopicView, TransactionView,
};
use serde::{Deserialize, Serialize};

/// Encodes a message for `postMessage` as JSON text. A string is one structured-clone copy and
/// one parse on the other side, where an object graph built through serde-wasm-bindgen costs a
/// JS call per field (B5 measured the decoding of each snapshot among the page's largest
/// costs). Both ends are Rust, so 64-bit integers (Kafka's Long.MAX defaults such as
/// `flush.messages`) keep their exact value: no JavaScript number ever holds them.
pub fn encode<T: Serialize>(message: &T) -> Result<String, String> {
    serde_json::to_string(message).map_err(|e| e.to_string())
}

/// Decodes a message `encode` wrote.
pub fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// The page keeps at most this many event-log lines (the worker's session keeps more), and a
/// snapshot carries at most this many new ones: when more happened since the last, the newest
/// travel with `events_reset` set, so the page never shows a silent gap.
pub const EVENTS_KEPT: usize = 400;

/// While the cluster plays, a snapshot carries at most this many new lines of each topic and
/// weight (routine or important), and every consumer-group and fault line (the groups panel's
/// rebalance story reads those, and they are rare). The page shows the newest 6 lines while
/// playing, whatever its filters, so these are all it can show; at 100x a snapshot had 400
/// lines (120 KB of JSON, the page's largest decoding cost in B5). Pausing sends the newest
/// `EVENTS_KEPT` whole (see `playing_lines`).
pub const EVENTS_PLAYING_PER_KIND: usize = 8;

/// The lines of `new` (oldest first) a snapshot sent while playing carries, oldest first, and
/// whether any was left out (then the page's list has gaps, and the next snapshot sent while
/// paused resends the newest `EVENTS_KEPT` with `events_reset`).
pub fn playing_lines<'a>(new: &[&'a Explained]) -> (Vec<&'a Explained>, bool) {
    use logsim::session::explain::{Severity, Topic};
    let mut counts: std::collections::BTreeMap<(Topic, bool), usize> = Default::default();
    let mut keep = vec![false; new.len()];
    for (i, e) in new.iter().enumerate().rev() {
        if matches!(e.topic, Topic::Group | Topic::Fault) {
            keep[i] = true;
            continue;
        }
        let important = !matches!(e.severity, Severity::Info);
        let n = counts.entry((e.topic, important)).or_default();
        if *n < EVENTS_PLAYING_PER_KIND {
            *n += 1;
            keep[i] = true;
        }
    }
    let mut dropped = keep.iter().any(|k| !k);
    let mut lines: Vec<&Explained> = new
        .iter()
        .zip(keep)
        .filter_map(|(e, k)| k.then_some(*e))
        .collect();
    if lines.len() > EVENTS_KEPT {
        dropped = true;
        lines.drain(..lines.len() - EVENTS_KEPT);
    }
    (lines, dropped)
}

/// Chart samples a snapshot carries at most: a chart is 300 SVG units wide, so more points
/// only cost the page (each snapshot re-sets every series' `points`).
pub const CHART_POINTS: usize = 150;

/// At most `max` samples for the charts: consecutive samples merged in buckets, each bucket
/// drawn at its last sample's time and totals, with the worst of its trouble (the most
/// under-replicated and offline partitions, the smallest ISR total) so a short outage stays
/// visible.
pub fn thin_samples(samples: &[Sample], max: usize) -> Vec<Sample> {
    if samples.len() <= max || max == 0 {
        return samples.to_vec();
    }
    let per = samples.len().div_ceil(max);
    // Buckets end at the newest sample, so the newest is always drawn as it is.
    let first_len = samples.len() - (samples.len() - 1) / per * per;
    let (head, rest) = samples.split_at(first_len);
    std::iter::once(head)
        .chain(rest.chunks(per))
        .filter_map(|bucket| {
            let mut out = bucket.last()?.clone();
            out.under_replicated = bucket.iter().map(|s| s.under_replicated).max()?;
            out.offline = bucket.iter().map(|s| s.offline).max()?;
            out.isr_total = bucket.iter().map(|s| s.isr_total).min()?;
            // The worst lag of the bucket per group, so a lag spike stays visible.
            for (group, lag) in &mut out.group_lag {
                *lag = bucket
                    .iter()
                    .flat_map(|s| s.group_lag.iter())
                    .filter(|(g, _)| g == group)
                    .map(|(_, l)| *l)
                    .max()
                    .unwrap_or(*lag);
            }
            Some(out)
        })
        .collect()
}

/// Where a session's scenario comes from: a built-in by name (short links), a lesson or a
/// drill by id, or a whole scenario (an imported file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    Library(String),
    Lesson(String),
    Drill(String),
    Inline(Box<ClusterScenario>),
}

/// Everything that recreates a session: what the share link and IndexedDB hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub source: Source,
    pub seed: u64,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub at_step: u64,
    /// The lesson step the learner reached (lessons only).
    #[serde(default)]
    pub lesson_step: u32,
}

impl Recipe {
    /// A fresh session of `source` with `seed`: no actions yet, at step 0.
    pub fn new(source: Source, seed: u64) -> Recipe {
        Recipe {
            source,
            seed,
            steps: Vec::new(),
            at_step: 0,
            lesson_step: 0,
        }
    }

    /// What a first visit opens.
    pub fn playground() -> Recipe {
        Recipe::new(Source::Library("playground".into()), 42)
    }
}

/// Simulated milliseconds per wall-clock second.
pub type Speed = u32;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToWorker {
    Load(Recipe),
    Play,
    Pause,
    SetSpeed(Speed),
    /// Run this many events.
    Step(u32),
    /// Jump to a step of the timeline (back or forward).
    Seek(u64),
    Act(Action),
    /// Which partitions the page draws in detail: the first index and how many.
    Window {
        first: u32,
        count: u32,
    },
    Records {
        topic: String,
        partition: u32,
        broker: u32,
        from: u64,
        to: u64,
    },
    /// Lessons: go to the next step once its goal is met.
    LessonNext,
    /// Drill mode: the learner's answer.
    Answer {
        choice: String,
        broker: Option<u32>,
        /// The consumer named (group drills).
        #[serde(default)]
        consumer: Option<u32>,
    },
    /// Drill mode: show one more hint (costs a point).
    Hint,
    /// The page drew the snapshot with this `seq` (back-pressure: while playing, the worker
    /// sends the next one only after this).
    Drawn(u64),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromWorker {
    Ready,
    Snapshot(Box<Snapshot>),
    Records {
        topic: String,
        partition: u32,
        broker: u32,
        records: Vec<RecordCard>,
    },
    /// A command could not be done: what is wrong, in words. Nothing was changed.
    Error(String),
}

/// One aggregate block of the partition heat map: a run of consecutive partitions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeatBlock {
    pub first: u32,
    pub count: u32,
    pub offline: u32,
    pub under_replicated: u32,
    /// The smallest ISR in the block. (Its high-watermark lag changes with every produce
    /// request; the broker-by-topic table shows lag, and a block stays unchanged, and is not
    /// redrawn, until a partition's state does change.)
    pub isr_min: u32,
}

/// Per broker and topic: what the broker holds of the topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerTopicCell {
    pub broker: u32,
    pub topic: String,
    pub replicas: u32,
    pub leaders: u32,
    /// Replicas on this broker that are out of the ISR (or offline).
    pub out_of_sync: u32,
    /// The largest lag behind the leader's log end offset among its follower replicas.
    pub lag_max: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregate {
    pub partitions: u32,
    pub under_replicated: u32,
    pub offline: u32,
    pub blocks: Vec<HeatBlock>,
    pub cells: Vec<BrokerTopicCell>,
}

/// The picture the page draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Numbers the worker's snapshots (from 1), for the page's `Drawn` acknowledgement.
    pub seq: u64,
    pub title: String,
    pub description: String,
    pub seed: u64,
    pub trace_hash: String,
    pub playing: bool,
    pub speed: Speed,
    /// While playing: the simulated milliseconds per wall second reached over the last second
    /// (below `speed` when the cluster is too large for the worker to keep up).
    pub achieved_speed: Option<f64>,
    pub timeline: TimelineView,
    pub brokers: Vec<BrokerView>,
    pub topics: Vec<TopicView>,
    pub producers: Vec<ProducerView>,
    pub consumers: Vec<ConsumerView>,
    /// The consumer groups (`kafka-consumer-groups --describe`).
    pub groups: Vec<GroupDescription>,
    /// The transactional ids at their coordinators (`kafka-transactions describe`).
    pub transactions: Vec<TransactionView>,
    /// `kafka-transactions find-hanging`.
    pub hanging_transactions: Vec<HangingView>,
    pub network: NetworkView,
    /// Messages on the wire, the soonest due first (a bounded list), and how many in all.
    pub in_flight: Vec<MessageView>,
    pub in_flight_total: u32,
    /// Detailed partitions: the page's window.
    pub window_first: u32,
    pub partitions: Vec<PartitionView>,
    pub aggregate: Aggregate,
    /// New event-log lines; when `events_reset`, the page drops what it had first (a rewind or
    /// a new session).
    pub events: Vec<Explained>,
    pub events_reset: bool,
    /// The chart samples, when they changed.
    pub samples: Option<Vec<Sample>>,
    pub check: Option<LiveCheck>,
    pub lesson: Option<LessonState>,
    pub drill: Option<DrillState>,
    /// The recipe of this session (for the share link, the export and IndexedDB).
    pub recipe: Recipe,
}

/// What a snapshot carries besides the cluster's view: the worker's own state.
pub struct SnapshotMeta {
    pub seq: u64,
    pub title: String,
    pub description: String,
    pub playing: bool,
    pub speed: Speed,
    pub achieved_speed: Option<f64>,
    pub timeline: TimelineView,
    pub events: Vec<Explained>,
    pub events_reset: bool,
    pub samples: Option<Vec<Sample>>,
    pub check: Option<LiveCheck>,
    pub lesson: Option<LessonState>,
    pub drill: Option<DrillState>,
    pub recipe: Recipe,
}

impl Snapshot {
    /// The picture of `view`: partitions in detail only for `window` (the first index, clamped
    /// to the last partition, and how many), an aggregate of at most `blocks_max` heat-map
    /// blocks over all of them, and everything else whole.
    pub fn new(
        view: ClusterView,
        window: (u32, u32),
        blocks_max: u32,
        meta: SnapshotMeta,
    ) -> Snapshot {
        let first = window
            .0
            .min((view.partitions.len() as u32).saturating_sub(1));
        let aggregate = aggregate(&view, blocks_max);
        let partitions = view
            .partitions
            .into_iter()
            .skip(first as usize)
            .take(window.1 as usize)
            .collect();
        Snapshot {
            seq: meta.seq,
            title: meta.title,
            description: meta.description,
            seed: view.seed,
            trace_hash: view.trace_hash,
            playing: meta.playing,
            speed: meta.speed,
            achieved_speed: meta.achieved_speed,
            timeline: meta.timeline,
            brokers: view.brokers,
            topics: view.topics,
            producers: view.producers,
            consumers: view.consumers,
            groups: view.groups,
            transactions: view.transactions,
            hanging_transactions: view.hanging_transactions,
            network: view.network,
            in_flight: view.in_flight,
            in_flight_total: view.in_flight_total,
            window_first: first,
            partitions,
            aggregate,
            events: meta.events,
            events_reset: meta.events_reset,
            samples: meta.samples,
            check: meta.check,
            lesson: meta.lesson,
            drill: meta.drill,
            recipe: meta.recipe,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LessonState {
    pub id: String,
    pub title: String,
    pub step: u32,
    pub steps: u32,
    pub step_title: String,
    pub narration: Vec<String>,
    pub action: Option<Action>,
    pub action_label: Option<String>,
    pub goal: String,
    pub goal_met: bool,
    pub hint: String,
    pub after: Vec<String>,
    /// The last step's goal is met: free play from here.
    pub finished: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillChoice {
    pub id: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillState {
    pub id: String,
    pub title: String,
    pub briefing: String,
    pub question: String,
    pub choices: Vec<DrillChoice>,
    pub hints: Vec<String>,
    /// What the answer names besides the fault: "broker" or "consumer".
    pub target: String,
    pub result: Option<DrillResult>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillResult {
    pub points: u32,
    pub max: u32,
    pub correct: bool,
    pub explanation: String,
}

/// Splits the partitions into at most `blocks_max` runs for the heat map.
pub fn aggregate(view: &ClusterView, blocks_max: u32) -> Aggregate {
    let n = view.partitions.len() as u32;
    let per_block = n.div_ceil(blocks_max.max(1)).max(1);
    let mut blocks: Vec<HeatBlock> = Vec::new();
    for (i, p) in view.partitions.iter().enumerate() {
        let i = i as u32;
        if i.is_multiple_of(per_block) {
            blocks.push(HeatBlock {
                first: i,
                count: 0,
                offline: 0,
                under_replicated: 0,
                isr_min: u32::MAX,
            });
        }
        if let Some(b) = blocks.last_mut() {
            b.count += 1;
            b.offline += u32::from(p.offline());
            b.under_replicated += u32::from(p.under_replicated());
            b.isr_min = b.isr_min.min(p.isr.len() as u32);
        }
    }
    let mut cells: Vec<BrokerTopicCell> = Vec::new();
    for b in &view.brokers {
        for t in &view.topics {
            cells.push(BrokerTopicCell {
                broker: b.id,
                topic: t.name.clone(),
                replicas: 0,
                leaders: 0,
                out_of_sync: 0,
                lag_max: 0,
            });
        }
    }
    let topics = view.topics.len();
    for p in &view.partitions {
        let Some(t) = view.topics.iter().position(|t| t.name == p.topic) else {
            continue;
        };
        for r in &p.replica_logs {
            let Some(b) = view.brokers.iter().position(|b| b.id == r.broker) else {
                continue;
            };
            let cell = &mut cells[b * topics + t];
            cell.replicas += 1;
            cell.leaders += u32::from(p.leader == Some(r.broker));
            cell.out_of_sync += u32::from(!r.in_isr);
            if p.leader != Some(r.broker) {
                cell.lag_max = cell
                    .lag_max
                    .max(p.log_end_offset.saturating_sub(r.log_end_offset));
            }
        }
    }
    Aggregate {
        partitions: n,
        under_replicated: view
            .partitions
            .iter()
            .filter(|p| p.under_replicated())
            .count() as u32,
        offline: view.partitions.iter().filter(|p| p.offline()).count() as u32,
        blocks,
        cells,
    }
}

/// A short label for an action, for buttons and the actions list.
pub fn action_label(action: &Action) -> String {
    match action {
        Action::CrashBroker {
            broker,
            power_loss,
            torn_write,
        } => match (power_loss, torn_write) {
            (_, true) => format!("Broker {broker} loses power mid-write (torn write)"),
            (true, false) => format!("Broker {broker} loses power"),
            _ => format!("Crash broker {broker}"),
        },
        Action::CrashLeader {
            topic, partition, ..
        } => format!("Crash the leader of {topic}-{partition}"),
        Action::RestartBroker { broker } => format!("Restart broker {broker}"),
        Action::RestartCrashedBrokers => "Restart every crashed broker".to_owned(),
        Action::PauseBroker { broker } => format!("Pause broker {broker} (SIGSTOP)"),
        Action::ResumeBroker { broker } => format!("Resume broker {broker} (SIGCONT)"),
        Action::SlowDisk { broker, factor } if *factor <= 1 => {
            format!("Heal broker {broker}'s disk")
        }
        Action::SlowDisk { broker, factor } => format!("Slow broker {broker}'s disk {factor}x"),
        Action::SkewClock { node, offset_ms } => {
            format!("Skew node {node}'s clock by {offset_ms:+} ms")
        }
        Action::PartitionLeaderFromFollowers { topic, partition } => {
            format!("Cut the leader of {topic}-{partition} off from its followers")
        }
        Action::PartitionLeaderFromCluster { topic, partition } => {
            format!("Cut the leader of {topic}-{partition} off from the cluster")
        }
        Action::Partition { sides } => format!("Cut the network between {sides:?}"),
        Action::PartitionOneWay { from, to } => {
            format!("Cut messages from node {from} to node {to}")
        }
        Action::DropInFlight { from, to } => {
            format!("Drop the messages in flight from node {from} to node {to}")
        }
        Action::DropMessage { from, to, sequence } => {
            format!("Drop message #{sequence} in flight from node {from} to node {to}")
        }
        Action::DelayNextProduce { from, to, delay_ms } => match to {
            Some(to) => format!("Hold node {from}'s next Produce to broker {to} for {delay_ms} ms"),
            None => format!("Hold node {from}'s next Produce for {delay_ms} ms"),
        },
        Action::DelayNextEndTxn {
            from,
            delay_ms,
            committed,
            ..
        } => {
            let which = match committed {
                Some(true) => "EndTxn(commit)",
                Some(false) => "EndTxn(abort)",
                None => "EndTxn",
            };
            format!("Hold node {from}'s next {which} for {delay_ms} ms")
        }
        Action::Isolate { node } => format!("Isolate node {node}"),
        Action::Heal => "Heal the network".to_owned(),
        Action::SetNetwork { config } => format!(
            "Network: drop {}/{}, duplicate {}/{}",
            config.drop.numerator(),
            config.drop.denominator(),
            config.duplicate.numerator(),
            config.duplicate.denominator()
        ),
        Action::PauseConsumers => "Pause the consumers".to_owned(),
        Action::ResumeConsumers => "Resume the consumers".to_owned(),
        Action::StopProducers => "Stop the producers".to_owned(),
        Action::AddConsumer { consumer } => match &consumer.group_id {
            Some(g) => format!("Add a consumer to group {g}"),
            None => "Add a consumer".to_owned(),
        },
        Action::StopConsumer { consumer } => format!("Close consumer {consumer}"),
        Action::CrashConsumer { consumer } => format!("Crash consumer {consumer}"),
        Action::RestartConsumer {
            consumer,
            strategy: None,
        } => format!("Restart consumer {consumer}"),
        Action::RestartConsumer {
            consumer,
            strategy: Some(s),
        } => format!(
            "Restart consumer {consumer} with partition.assignment.strategy={}",
            s.join(",")
        ),
        Action::StallConsumer {
            consumer,
            duration_ms,
        } => format!("Stall consumer {consumer}'s poll loop for {duration_ms} ms"),
        Action::FreezeConsumer {
            consumer,
            duration_ms,
        } => format!("Freeze consumer {consumer} for {duration_ms} ms (GC pause)"),
        Action::FreezeProducer {
            producer,
            duration_ms,
        } => format!("Freeze producer {producer} for {duration_ms} ms (a zombie in waiting)"),
        Action::CommitOffsets { consumer } => format!("Consumer {consumer}: commitSync()"),
        Action::SeekConsumer {
            consumer,
            partition,
            offset,
        } => format!("Consumer {consumer}: seek partition {partition} to {offset}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logsim::session::{library, timeline::Session};
    use logsim::time::SimTime;

    #[test]
    fn while_playing_a_snapshot_carries_the_newest_lines_of_each_kind_and_every_group_line() {
        use logsim::session::explain::{Severity, Topic};
        let line = |step: u64, topic: Topic, severity: Severity| Explained {
            step,
            time_ms: step,
            severity,
            topic,
            what: format!("line {step}"),
            why: None,
            refs: Vec::new(),
            raw: String::new(),
        };
        let mut all = Vec::new();
        for step in 0..100 {
            all.push(line(step, Topic::Produce, Severity::Info));
        }
        all.push(line(100, Topic::Group, Severity::Info));
        for step in 101..200 {
            all.push(line(step, Topic::Replication, Severity::Info));
        }
        all.push(line(200, Topic::Produce, Severity::Warning));
        let refs: Vec<&Explained> = all.iter().collect();
        let (kept, dropped) = playing_lines(&refs);
        assert!(dropped);
        let steps: Vec<u64> = kept.iter().map(|e| e.step).collect();
        // Oldest first: the 8 newest routine produce lines, the group line, the 8 newest
        // replication lines, the warning.
        let mut expected: Vec<u64> = (92..100).collect();
        expected.push(100);
        expected.extend(191..200);
        expected.retain(|s| *s != 191);
        expected.push(200);
        assert_eq!(steps, expected);
        // Few lines: all of them, nothing dropped.
        let (kept, dropped) = playing_lines(&refs[..5]);
        assert_eq!(kept.len(), 5);
        assert!(!dropped);
    }

    #[test]
    fn a_snapshot_crosses_as_json_unchanged() {
        let scenario = library::scenario("playground").expect("built in");
        let mut session = Session::new(scenario, 42).expect("valid");
        session
            .run_until(SimTime::from_millis(2_000), u32::MAX)
            .expect("runs");
        let view = session.view();
        let meta = SnapshotMeta {
            seq: 1,
            title: "playground".into(),
            description: String::new(),
            playing: true,
            speed: 1_000,
            achieved_speed: Some(640.0),
            timeline: session.timeline(),
            events: session.events_after(0).to_vec(),
            events_reset: true,
            samples: Some(session.samples().to_vec()),
            check: Some(session.live_check()),
            lesson: None,
            drill: None,
            recipe: Recipe::playground(),
        };
        let partitions = view.partitions.len() as u32;
        let snapshot = Snapshot::new(view, (1, 2), 64, meta);
        assert_eq!(snapshot.window_first, 1);
        assert_eq!(snapshot.partitions.len() as u32, 2.min(partitions - 1));
        assert_eq!(snapshot.aggregate.partitions, partitions);
        assert!(!snapshot.events.is_empty() && !snapshot.partitions.is_empty());
        let message = FromWorker::Snapshot(Box::new(snapshot));
        let decoded: FromWorker = decode(&encode(&message).expect("encodes")).expect("decodes");
        assert_eq!(decoded, message);
    }

    #[test]
    fn long_max_defaults_keep_their_exact_value() {
        let mut scenario = library::scenario("playground").expect("built in");
        scenario.seed = Some(u64::MAX);
        let command = ToWorker::Load(Recipe::new(Source::Inline(Box::new(scenario)), u64::MAX));
        let text = encode(&command).expect("encodes");
        assert!(text.contains("18446744073709551615"), "{text:.200}");
        assert_eq!(decode::<ToWorker>(&text).expect("decodes"), command);
    }

    fn sample(time_ms: u64) -> Sample {
        Sample {
            time_ms,
            acked_total: time_ms * 3,
            partitions: 3,
            under_replicated: 0,
            offline: 0,
            isr_total: 9,
            replicas_total: 9,
            high_watermark_total: time_ms,
            log_end_offset_total: time_ms + 1,
            group_lag: vec![("g".into(), 1)],
        }
    }

    #[test]
    fn thinned_samples_keep_the_newest_and_every_outage() {
        let mut samples: Vec<Sample> = (0..600).map(|i| sample(i * 100)).collect();
        samples[301].under_replicated = 2;
        samples[301].isr_total = 7;
        samples[302].offline = 1;
        samples[303].group_lag[0].1 = 900;
        let thin = thin_samples(&samples, CHART_POINTS);
        assert!(
            thin.len() <= CHART_POINTS && thin.len() >= CHART_POINTS - 1,
            "{}",
            thin.len()
        );
        assert_eq!(thin.last(), samples.last());
        assert!(thin.windows(2).all(|w| w[0].time_ms < w[1].time_ms));
        assert_eq!(thin.iter().map(|s| s.under_replicated).max(), Some(2));
        assert_eq!(thin.iter().map(|s| s.offline).max(), Some(1));
        assert_eq!(thin.iter().map(|s| s.isr_total).min(), Some(7));
        assert_eq!(
            thin.iter().map(|s| s.group_lag[0].1).max(),
            Some(900),
            "a lag spike survives the thinning"
        );
        assert_eq!(
            thin_samples(&samples[..10], CHART_POINTS),
            samples[..10].to_vec()
        );
    }

    #[test]
    fn a_message_that_is_not_ours_is_an_error_in_words() {
        let e = decode::<ToWorker>(r#"{"Launch":1}"#).expect_err("unknown command");
        assert!(e.contains("unknown variant"), "{e}");
    }
}
