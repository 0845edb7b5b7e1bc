//! The plain-language event log: every trace line of the cluster world becomes one sentence a
//! Kafka learner understands (`what`), the reason behind it read from the simulation's state
//! just after the event (`why`: min.insync.replicas and the ISR for a NOT_ENOUGH_REPLICAS, the
//! producer's acks, the leader epoch, the fault that caused it), a severity the UI shows as a
//! word and a colour, a topic for the filter chips, and references to the brokers, partitions,
//! replicas, clients and offsets it talks about, so the UI can link the line to its cells.
//!
//! The trace text is the determinism check's input and never changes for this module: lines
//! are parsed here, kind by kind, with small template matches. A line no template knows still
//! comes out, as a readable form of its raw text with whatever references it names; the
//! coverage test runs every scenario and swarm seeds so that a new kind of line without an
//! explanation fails it.

mod broker;
mod consumer;
mod context;
mod controller;
mod faults;
mod group;
mod parse;
mod producer;
#[cfg(test)]
mod tests;
mod transactions;

use crate::ids::{BrokerId, PartitionIndex, TopicPartition};
use crate::sim::cluster::ClusterSim;
use crate::sim::trace::TraceLine;
use context::*;
use parse::*;
use serde::{Deserialize, Serialize};

/// How much a line matters. The UI colours it and always shows `word()` too (never colour alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    /// Routine work: produce requests, acknowledgements, polls.
    Info,
    /// A change worth seeing: an election, an ISR expansion, a restart, a healed network.
    Notice,
    /// Something went wrong and the system copes: a fault, a retry, an ISR shrink.
    Warning,
    /// A write failed, data was lost or may be lost, or a partition is offline.
    Error,
}

impl Severity {
    /// The word shown next to the colour.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// What a line is about: the event log's filter chips.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Topic {
    Produce,
    Replication,
    Isr,
    Election,
    Controller,
    Fault,
    Consumer,
    Storage,
    Network,
    Client,
    /// Consumer groups: coordinators, rebalances, offset commits.
    Group,
    /// Transactions: coordinators, producer ids and epochs, markers, fencing.
    Transaction,
}

impl Topic {
    /// The chip's label.
    pub fn label(self) -> &'static str {
        match self {
            Topic::Produce => "produce",
            Topic::Replication => "replication",
            Topic::Isr => "ISR",
            Topic::Election => "elections",
            Topic::Controller => "controller",
            Topic::Fault => "faults",
            Topic::Consumer => "consumers",
            Topic::Storage => "storage",
            Topic::Network => "network",
            Topic::Client => "clients",
            Topic::Group => "groups",
            Topic::Transaction => "transactions",
        }
    }
}

/// Something a line talks about, for links to the cluster view's cells.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ref {
    Broker(u32),
    Partition {
        topic: String,
        partition: u32,
    },
    Replica {
        topic: String,
        partition: u32,
        broker: u32,
    },
    Producer(u32),
    Consumer(u32),
    Offset {
        topic: String,
        partition: u32,
        offset: u64,
    },
}

/// One trace line, explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explained {
    pub step: u64,
    pub time_ms: u64,
    pub severity: Severity,
    pub topic: Topic,
    /// One short sentence: what happened.
    pub what: String,
    /// Why it happened, or what it means, when there is more to say.
    pub why: Option<String>,
    pub refs: Vec<Ref>,
    /// The trace line's actor and text, as the trace has them.
    pub raw: String,
}

/// Explains one line of the last `step()`; `sim` is the state just after that step.
pub fn explain(sim: &ClusterSim, line: &TraceLine) -> Explained {
    let draft = recognise(sim, line).unwrap_or_else(|| unknown(line));
    // One link per thing, in the order the sentence names them.
    let mut refs: Vec<Ref> = Vec::with_capacity(draft.refs.len());
    for r in draft.refs {
        if !refs.contains(&r) {
            refs.push(r);
        }
    }
    Explained {
        step: line.step,
        time_ms: u64::try_from(line.time.as_millis()).unwrap_or(0),
        severity: draft.severity,
        topic: draft.topic,
        what: draft.what,
        why: draft.why,
        refs,
        raw: format!("{} {}", line.actor, line.text),
    }
}

/// An explanation before the line's step, time and raw text are added.
#[derive(Debug)]
struct Draft {
    severity: Severity,
    topic: Topic,
    what: String,
    why: Option<String>,
    refs: Vec<Ref>,
}

fn draft(severity: Severity, topic: Topic, what: String) -> Draft {
    Draft {
        severity,
        topic,
        what,
        why: None,
        refs: Vec::new(),
    }
}

impl Draft {
    fn why(mut self, why: String) -> Draft {
        self.why = Some(why);
        self
    }

    fn refs(mut self, refs: impl IntoIterator<Item = Ref>) -> Draft {
        self.refs.extend(refs);
        self
    }
}

/// Who wrote the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    Controller,
    Nemesis,
    Network,
    Broker(u32),
    Producer(u32),
    Consumer(u32),
}

fn parse_actor(actor: &str) -> Option<Actor> {
    match actor {
        "controller" => return Some(Actor::Controller),
        "nemesis" => return Some(Actor::Nemesis),
        "network" => return Some(Actor::Network),
        _ => {}
    }
    let (kind, n) = actor.rsplit_once('-')?;
    let n = num::<u32>(n)?;
    match kind {
        "broker" => Some(Actor::Broker(n)),
        "producer" => Some(Actor::Producer(n)),
        "consumer" => Some(Actor::Consumer(n)),
        _ => None,
    }
}

/// The explanation of a line whose kind is known; `None` sends it to the fallback.
fn recognise(sim: &ClusterSim, line: &TraceLine) -> Option<Draft> {
    let text = line.text.as_str();
    match parse_actor(&line.actor)? {
        Actor::Controller => controller::controller_line(sim, text),
        Actor::Nemesis => faults::nemesis_line(sim, line.time.as_millis(), text)
            .or_else(|| group::nemesis_group_line(sim, text))
            .or_else(|| transactions::nemesis_txn_line(text)),
        Actor::Network => faults::network_line(sim, text),
        Actor::Broker(b) => broker::broker_line(sim, b, text)
            .or_else(|| group::broker_group_line(sim, b, text))
            .or_else(|| transactions::broker_txn_line(sim, b, text)),
        Actor::Producer(p) => producer::producer_line(sim, p, text)
            .or_else(|| transactions::producer_txn_line(sim, p, text)),
        Actor::Consumer(c) => transactions::consumer_txn_line(sim, c, text)
            .or_else(|| group::consumer_group_line(sim, c, text))
            .or_else(|| consumer::consumer_line(sim, c, text)),
    }
}

/// A line no template knows: its raw text, as a sentence, with the references it names.
fn unknown(line: &TraceLine) -> Draft {
    let mut refs = Vec::new();
    match parse_actor(&line.actor) {
        Some(Actor::Broker(b)) => refs.push(Ref::Broker(b)),
        Some(Actor::Producer(p)) => refs.push(Ref::Producer(p)),
        Some(Actor::Consumer(c)) => refs.push(Ref::Consumer(c)),
        _ => {}
    }
    for word in line
        .text
        .split(|c: char| c.is_whitespace() || "[](),;".contains(c))
    {
        if let Some(tp) = parse_tp(word.trim_end_matches(':')) {
            refs.push(partition_ref(&tp));
        }
    }
    let topic = match parse_actor(&line.actor) {
        Some(Actor::Controller) => Topic::Controller,
        Some(Actor::Nemesis) => Topic::Fault,
        Some(Actor::Network) => Topic::Network,
        Some(Actor::Broker(_)) => Topic::Storage,
        Some(Actor::Consumer(_)) => Topic::Consumer,
        Some(Actor::Producer(_)) | None => Topic::Client,
    };
    let what = match (line.actor.is_empty(), line.text.is_empty()) {
        (true, true) => "An empty trace line".to_owned(),
        (true, false) => line.text.clone(),
        (false, _) => format!("{}: {}", actor_name(&line.actor), line.text),
    };
    draft(Severity::Info, topic, what).refs(refs)
}

fn actor_name(actor: &str) -> String {
    match parse_actor(actor) {
        Some(Actor::Controller) => "Controller".into(),
        Some(Actor::Nemesis) => "Nemesis".into(),
        Some(Actor::Network) => "Network".into(),
        Some(Actor::Broker(b)) => format!("Broker {b}"),
        Some(Actor::Producer(p)) => format!("Producer {p}"),
        Some(Actor::Consumer(c)) => format!("Consumer {c}"),
        None => actor.to_owned(),
    }
}
