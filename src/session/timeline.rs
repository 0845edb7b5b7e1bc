//! One user's session with a cluster: a scenario and seed, the user's actions as timed steps,
//! and the simulation they give. Time can run forward, jump back (restore the nearest
//! checkpoint, a clone of the simulation, and replay) and fork: an action taken in the past
//! drops the old future's actions and continues on a new timeline. Because a step added mid-run
//! replays exactly like the same step in the scenario file (`ClusterSim::add_step`), the
//! session exports as a scenario file that `logsim run` replays to the same trace hash.
//!
//! The session also keeps what the app shows beside the cluster: the plain-language event log
//! (`explain`), the chart samples (`metrics`) and, on request, the live checker's verdict.

use super::explain::{explain, Explained};
use super::metrics::{Metrics, Sample};
use crate::check::drill::judge;
use crate::check::history::Anomaly;
use crate::ids::{BrokerId, Offset, PartitionIndex, TopicPartition};
use crate::sim::cluster::scenario::{Action, ClusterScenario, Step};
use crate::sim::cluster::view::{ClusterView, RecordCard};
use crate::sim::cluster::{ClusterSim, Violation};
use crate::sim::error::SimError;
use crate::sim::history::{Op, SendOutcome};
use crate::time::SimTime;
use serde::{Deserialize, Serialize};

/// A checkpoint every this many events.
const CHECKPOINT_EVERY: u64 = 2_000;
/// At most this many checkpoints; beyond it every other one is dropped (the first stays).
const CHECKPOINTS_MAX: u32 = 64;
/// The event log keeps the newest this many explained lines.
pub const EVENTS_MAX: u32 = 5_000;

#[derive(Clone)]
struct Checkpoint {
    step: u64,
    /// How many of the timeline's user steps the checkpoint's simulation already holds.
    user_steps: u32,
    sim: ClusterSim,
}

/// Where the session stands in time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineView {
    pub step: u64,
    pub time_ms: u64,
    /// The furthest step this timeline has reached (the scrubber's right end).
    pub horizon_step: u64,
    pub horizon_time_ms: u64,
    pub duration_ms: u64,
    /// The run reached the scenario's duration.
    pub finished: bool,
    /// How many timelines this session has had (1 + forks).
    pub timelines: u32,
    /// The user's actions on this timeline.
    pub user_steps: Vec<Step>,
}

/// A finding of the live checker, placed on a partition's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Jepsen's name: `lost-write`, `duplicate`, `inconsistent-offsets`, ...
    pub kind: String,
    pub topic: String,
    pub partition: u32,
    pub offset: Option<u64>,
    pub detail: String,
    /// Why the configuration makes it legal; `None`: a bug.
    pub legal_because: Option<String>,
}

/// The live checker's verdict at one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCheck {
    pub step: u64,
    pub sends_acked: u64,
    /// Sends that definitely failed: refused before any append, never in the log.
    #[serde(default)]
    pub sends_failed: u64,
    /// Sends whose outcome the producer cannot know (a TimeoutException, or a failure after an
    /// attempt the leader may have appended): indeterminate, not failed.
    #[serde(default)]
    pub sends_indeterminate: u64,
    /// Indeterminate sends a consumer read: they were written.
    #[serde(default)]
    pub sends_indeterminate_read: u64,
    pub values_read: u64,
    pub findings: Vec<Finding>,
    /// Invariant violations the world itself detected (always bugs).
    pub violations: Vec<String>,
    /// The exactly-once check of each consume-transform-produce pipeline.
    pub pipelines: Vec<PipelineCheck>,
}

/// One pipeline's exactly-once verdict (T-9), as the live checker last judged it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineCheck {
    pub input_topic: String,
    pub output_topic: String,
    pub group: String,
    /// Judged: no transaction of the pipeline was open at this step.
    pub settled: bool,
    /// Why it is not judged now.
    pub unsettled_because: Option<String>,
    pub inputs_committed: u64,
    pub outputs_committed: u64,
    pub duplicated: u32,
    pub lost: u32,
    pub ahead: u32,
    /// The verdict in a few lines, as the CLI prints it.
    pub lines: Vec<String>,
    /// Why the disagreements found are legal for this run (the application skips the seek
    /// back, or the logs may lose acknowledged records); `None` when they are bugs.
    pub legal_because: Option<String>,
}

impl PipelineCheck {
    /// Settled with every input's output exactly once.
    pub fn exactly_once(&self) -> bool {
        self.settled && self.duplicated == 0 && self.lost == 0 && self.ahead == 0
    }
}

pub struct Session {
    base: ClusterScenario,
    seed: u64,
    user_steps: Vec<Step>,
    sim: ClusterSim,
    checkpoints: Vec<Checkpoint>,
    checkpoint_every: u64,
    horizon_step: u64,
    horizon_time: SimTime,
    timelines: u32,
    events: Vec<Explained>,
    metrics: Metrics,
    /// How much of the simulation's history the counters have read.
    history_read: u32,
    acked: u64,
}

impl Session {
    /// A fresh session. The scenario's own steps stay; the user's come on top.
    pub fn new(scenario: ClusterScenario, seed: u64) -> Result<Session, SimError> {
        let sim = ClusterSim::new(scenario.clone(), seed)?;
        Ok(Session {
            checkpoints: vec![Checkpoint {
                step: 0,
                user_steps: 0,
                sim: sim.clone(),
            }],
            checkpoint_every: CHECKPOINT_EVERY,
            base: scenario,
            seed,
            user_steps: Vec::new(),
            sim,
            horizon_step: 0,
            horizon_time: SimTime::ZERO,
            timelines: 1,
            events: Vec::new(),
            metrics: Metrics::new(),
            history_read: 0,
            acked: 0,
        })
    }

    /// A session replaying `user_steps` on `scenario` and standing at `at_step` (a shared link
    /// or a saved session).
    pub fn resume(
        scenario: ClusterScenario,
        seed: u64,
        user_steps: Vec<Step>,
        at_step: u64,
    ) -> Result<Session, SimError> {
        let mut with_steps = scenario.clone();
        with_steps.steps.extend(user_steps.iter().cloned());
        with_steps.validate().map_err(SimError::Config)?;
        let mut session = Session::new(scenario, seed)?;
        // Steps run first in their millisecond, so adding them all now replays exactly as
        // adding each when the user did.
        for step in &user_steps {
            session
                .sim
                .add_step(step.clone())
                .map_err(|e| SimError::Config(format!("the action at {} ms: {e}", step.at_ms)))?;
            session.user_steps.push(step.clone());
        }
        session.seek(at_step)?;
        Ok(session)
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Checkpoint spacing in events (tests use small ones to exercise rewinds).
    pub fn set_checkpoint_every(&mut self, events: u64) {
        self.checkpoint_every = events.max(1);
    }

    /// The scenario as loaded, without the user's steps.
    pub fn base_scenario(&self) -> &ClusterScenario {
        &self.base
    }

    pub fn user_steps(&self) -> &[Step] {
        &self.user_steps
    }

    pub fn sim(&self) -> &ClusterSim {
        &self.sim
    }

    pub fn view(&self) -> ClusterView {
        self.sim.view()
    }

    pub fn timeline(&self) -> TimelineView {
        TimelineView {
            step: self.sim.steps(),
            time_ms: millis(self.sim.now()),
            horizon_step: self.horizon_step,
            horizon_time_ms: millis(self.horizon_time),
            duration_ms: self.base.duration_ms,
            finished: self.finished(),
            timelines: self.timelines,
            user_steps: self.user_steps.clone(),
        }
    }

    /// Explained events with a step after `after_step`, oldest first.
    pub fn events_after(&self, after_step: u64) -> &[Explained] {
        let from = self.events.partition_point(|e| e.step <= after_step);
        &self.events[from..]
    }

    pub fn samples(&self) -> &[Sample] {
        self.metrics.samples()
    }

    /// Whether the run reached the scenario's duration (or ran out of events).
    pub fn finished(&self) -> bool {
        let end = SimTime::from_millis(self.base.duration_ms);
        self.sim.next_due().is_none_or(|t| t > end)
    }

    /// Runs one event; `false` when the run is over.
    pub fn step(&mut self) -> Result<bool, SimError> {
        if self.finished() {
            return Ok(false);
        }
        self.sim.step()?;
        self.after_step();
        Ok(true)
    }

    /// Runs events due up to `until`, at most `max_steps` of them; returns how many ran.
    pub fn run_until(&mut self, until: SimTime, max_steps: u32) -> Result<u32, SimError> {
        let mut ran = 0;
        while ran < max_steps && self.sim.next_due().is_some_and(|t| t <= until) && self.step()? {
            ran += 1;
        }
        Ok(ran)
    }

    fn after_step(&mut self) {
        let step = self.sim.steps();
        for line in self.sim.last_step_trace() {
            self.events.push(explain(&self.sim, line));
        }
        if self.events.len() as u32 > EVENTS_MAX + EVENTS_MAX / 4 {
            let cut = self.events.len() - EVENTS_MAX as usize;
            self.events.drain(..cut);
        }
        let history = self.sim.history();
        for op in &history[self.history_read as usize..] {
            if let Op::Send {
                outcome: SendOutcome::Acked(_),
                ..
            } = op
            {
                self.acked += 1;
            }
        }
        self.history_read = history.len() as u32;
        if self.metrics.due(self.sim.now()) {
            self.metrics.sample(&self.sim, self.acked);
        }
        if step > self.horizon_step {
            self.horizon_step = step;
            self.horizon_time = self.sim.now();
        }
        if step.is_multiple_of(self.checkpoint_every)
            && self.checkpoints.last().is_some_and(|c| c.step < step)
        {
            self.checkpoints.push(Checkpoint {
                step,
                user_steps: self.user_steps.len() as u32,
                sim: self.sim.clone(),
            });
            if self.checkpoints.len() as u32 > CHECKPOINTS_MAX {
                // Keep the first; drop every other one after it, and space later ones wider.
                let mut i = 0;
                self.checkpoints.retain(|_| {
                    i += 1;
                    i == 1 || i % 2 == 0
                });
                self.checkpoint_every *= 2;
            }
        }
    }

    /// Moves to step `target`: forward by running (at most to the end of the run), back by
    /// restoring the nearest checkpoint and replaying. The timeline's future is kept until an
    /// action forks it.
    pub fn seek(&mut self, target: u64) -> Result<(), SimError> {
        if target < self.sim.steps() {
            self.restore_before(target)?;
        }
        while self.sim.steps() < target && self.step()? {}
        Ok(())
    }

    /// Restores the newest checkpoint at or before `target` and re-adds the user's later steps.
    fn restore_before(&mut self, target: u64) -> Result<(), SimError> {
        let Some(checkpoint) = self
            .checkpoints
            .iter()
            .rev()
            .find(|c| c.step <= target && c.user_steps as usize <= self.user_steps.len())
            .cloned()
        else {
            return Err(SimError::Config("no checkpoint to rewind to".into()));
        };
        self.sim = checkpoint.sim;
        for step in &self.user_steps[checkpoint.user_steps as usize..] {
            self.sim.add_step(step.clone())?;
        }
        let from = self.events.partition_point(|e| e.step <= checkpoint.step);
        self.events.truncate(from);
        self.metrics.truncate_after(self.sim.now());
        self.history_read = self.sim.history().len() as u32;
        self.acked = self
            .sim
            .history()
            .iter()
            .filter(|op| op.is_acked_send())
            .count() as u64;
        Ok(())
    }

    /// The user acts now: the action becomes a step at the next millisecond. Acting before the
    /// timeline's horizon forks it: the old future and its later actions are dropped.
    pub fn act(&mut self, action: Action) -> Result<Step, SimError> {
        let now = self.sim.now();
        if self.sim.steps() < self.horizon_step {
            self.fork_here()?;
        }
        let step = Step {
            at_ms: millis(now) + 1,
            action,
        };
        self.sim.add_step(step.clone())?;
        self.user_steps.push(step.clone());
        Ok(step)
    }

    /// Makes the current step the end of the timeline, dropping the user's later actions.
    fn fork_here(&mut self) -> Result<(), SimError> {
        let here = self.sim.steps();
        let now = self.sim.now();
        let kept = self
            .user_steps
            .iter()
            .take_while(|s| SimTime::from_millis(s.at_ms) <= now)
            .count();
        let dropped_any = kept < self.user_steps.len();
        self.user_steps.truncate(kept);
        self.checkpoints
            .retain(|c| c.step <= here && c.user_steps as usize <= kept);
        if dropped_any {
            // The simulation holds the dropped steps in its queue: rebuild it without them.
            self.restore_before(here)?;
            while self.sim.steps() < here && self.step()? {}
        }
        self.horizon_step = here;
        self.horizon_time = now;
        self.timelines += 1;
        Ok(())
    }

    /// The scenario file that replays this session: the loaded scenario, the user's steps and
    /// the seed. `logsim run` on it gives the trace hash the session has at the end of the run.
    pub fn export_scenario(&self) -> ClusterScenario {
        let mut scenario = self.base.clone();
        scenario.steps.extend(self.user_steps.iter().cloned());
        scenario.seed = Some(self.seed);
        scenario
    }

    /// Records of one replica's log in `[from, to)`, for hover cards.
    pub fn records(
        &self,
        topic: &str,
        partition: u32,
        broker: u32,
        from: u64,
        to: u64,
    ) -> Vec<RecordCard> {
        let tp = TopicPartition {
            topic: topic.to_owned(),
            partition: PartitionIndex(partition),
        };
        let offset = |o: u64| Offset(i64::try_from(o).unwrap_or(i64::MAX));
        self.sim
            .replica_records(&tp, BrokerId(broker), offset(from), offset(to), 64)
    }

    /// The checker's verdict on the history so far (no final reads: `unseen` is not judged).
    pub fn live_check(&self) -> LiveCheck {
        let report = judge(&self.sim, false);
        LiveCheck {
            step: self.sim.steps(),
            sends_acked: report.check.sends_acked,
            sends_failed: report.check.sends_failed,
            sends_indeterminate: report.check.sends_indeterminate,
            sends_indeterminate_read: report.check.sends_indeterminate_read,
            values_read: report.check.values_read,
            findings: report
                .check
                .anomalies
                .iter()
                .map(finding)
                .chain(group_findings(&report.groups))
                .chain(reprocessed_findings(&self.sim, &report.groups))
                .chain(report.pipelines.iter().flat_map(pipeline_findings))
                .collect(),
            violations: report.violations.iter().map(violation_text).collect(),
            pipelines: report
                .pipelines
                .iter()
                .map(|p| PipelineCheck {
                    input_topic: p.input_topic.clone(),
                    output_topic: p.output_topic.clone(),
                    group: p.group.clone(),
                    settled: p.settled,
                    unsettled_because: p.unsettled_because.clone(),
                    inputs_committed: p.inputs_committed,
                    outputs_committed: p.outputs_committed,
                    duplicated: p.duplicated.len() as u32,
                    lost: p.lost.len() as u32,
                    ahead: p.ahead.len() as u32,
                    lines: p.lines(),
                    legal_because: if p.duplicated.is_empty() && p.ahead.is_empty() {
                        p.lost_legal_because().map(str::to_owned)
                    } else {
                        p.loss_legal_because.clone()
                    },
                })
                .collect(),
        }
    }
}

fn finding(a: &Anomaly) -> Finding {
    Finding {
        kind: a.kind.name().to_owned(),
        topic: a.partition.topic.clone(),
        partition: a.partition.partition.0,
        offset: a.offset.map(|o| o.0.max(0) as u64),
        detail: a.detail.clone(),
        legal_because: a.legal_because.clone(),
    }
}

/// A pipeline's exactly-once findings, placed on the input partition of a skipped input
/// (lost) or on the output topic (duplicated, ahead of the offsets).
fn pipeline_findings(p: &crate::check::pipeline::PipelineReport) -> Vec<Finding> {
    let legal = |lost: bool| {
        if lost {
            p.lost_legal_because().map(str::to_owned)
        } else {
            p.loss_legal_because.clone()
        }
    };
    let lost = p.lost.iter().map(|(tp, offset, input)| Finding {
        kind: "exactly-once-lost".to_owned(),
        topic: tp.topic.clone(),
        partition: tp.partition.0,
        offset: Some(offset.0.max(0) as u64),
        detail: format!(
            "input {} is below group {}'s committed offset but has no committed output in {}",
            input.0, p.group, p.output_topic
        ),
        legal_because: legal(true),
    });
    let duplicated = p.duplicated.iter().map(|(input, n)| Finding {
        kind: "exactly-once-duplicate".to_owned(),
        topic: p.output_topic.clone(),
        partition: 0,
        offset: None,
        detail: format!("input {} has {n} committed outputs", input.0),
        legal_because: legal(false),
    });
    let ahead = p.ahead.iter().map(|input| Finding {
        kind: "exactly-once-ahead".to_owned(),
        topic: p.output_topic.clone(),
        partition: 0,
        offset: None,
        detail: format!(
            "input {} has a committed output but group {}'s offset is not past it",
            input.0, p.group
        ),
        legal_because: legal(false),
    });
    lost.chain(duplicated).chain(ahead).collect()
}

/// The group checks' findings: two owners at once (a bug unless the first was a zombie) and a
/// member starting below the committed offset (always a bug).
fn group_findings(report: &crate::check::groups::GroupReport) -> Vec<Finding> {
    let overlaps = report.overlaps.iter().map(|o| Finding {
        kind: "double-ownership".to_owned(),
        topic: o.partition.topic.clone(),
        partition: o.partition.partition.0,
        offset: None,
        detail: format!(
            "group {}: owned by consumer {} (generation {}) and consumer {} (generation {}) at once",
            o.group, o.first.0, o.first.1, o.second.0, o.second.1
        ),
        legal_because: o.legal_because.clone(),
    });
    let lost = report.committed_offsets_lost.iter().map(|l| Finding {
        kind: "committed-offset-lost".to_owned(),
        topic: l.partition.topic.clone(),
        partition: l.partition.partition.0,
        offset: Some(l.started_at.0.max(0) as u64),
        detail: format!(
            "group {}: consumer {} started at offset {}, below the committed offset {}",
            l.group, l.consumer, l.started_at.0, l.committed.0
        ),
        legal_because: None,
    });
    overlaps.chain(lost).collect()
}

/// Records a group read again: legal (at-least-once), each explained by how the group commits
/// its offsets, which decides how much a failure or a rebalance makes it read twice.
fn reprocessed_findings(
    sim: &ClusterSim,
    report: &crate::check::groups::GroupReport,
) -> Vec<Finding> {
    use crate::sim::cluster::scenario::CommitAfterPoll;
    report
        .reprocessed_by
        .iter()
        .map(|r| {
            let spec = sim
                .consumers()
                .iter()
                .map(|c| c.spec())
                .find(|s| s.group_id.as_deref() == Some(r.group.as_str()));
            let policy = match spec {
                Some(s) if s.commit_after_poll == CommitAfterPoll::Sync => {
                    "commits with commitSync() after each poll, so a member that fails or loses the partition leaves at most the poll in progress to be read again".to_owned()
                }
                Some(s) if s.commit_after_poll == CommitAfterPoll::Async => {
                    "commits with commitAsync() after each poll (not retried), so what a member read since its last acknowledged offset commit is read again by the next owner".to_owned()
                }
                Some(s) if s.enable_auto_commit => format!(
                    "auto-commits every auto.commit.interval.ms={} from inside poll, so what a member read since its last offset commit is read again by the next owner after a crash, a stall or a rebalance",
                    s.auto_commit_interval_ms
                ),
                _ => "commits no offsets on its own, so a new owner starts from the last committed offset or auto.offset.reset".to_owned(),
            };
            Finding {
                kind: "reprocessed".to_owned(),
                topic: r.partition.topic.clone(),
                partition: r.partition.partition.0,
                offset: Some(r.lowest_offset.0.max(0) as u64),
                detail: format!(
                    "group {} read {} record(s) of this partition again, from offset {}",
                    r.group, r.records, r.lowest_offset.0
                ),
                legal_because: Some(format!(
                    "at-least-once: group {} {policy} (a seek back reads again too)",
                    r.group
                )),
            }
        })
        .collect()
}

fn violation_text(v: &Violation) -> String {
    format!(
        "step {} at {}: {} {}",
        v.step, v.time, v.invariant, v.detail
    )
}

fn millis(t: SimTime) -> u64 {
    t.as_millis().max(0) as u64
}
