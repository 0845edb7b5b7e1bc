//! The event log before plain-language explanations: each trace line as it is (replaced by the explain helper's module on merge).
use crate::sim::cluster::ClusterSim;
use crate::sim::trace::TraceLine;
use serde::{Deserialize, Serialize};
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Severity {
    Info,
    Notice,
    Warning,
    Error,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explained {
    pub step: u64,
    pub time_ms: u64,
    pub severity: Severity,
    pub topic: Topic,
    pub what: String,
    pub why: Option<String>,
    pub refs: Vec<Ref>,
    pub raw: String,
}
pub fn explain(_sim: &ClusterSim, line: &TraceLine) -> Explained {
    Explained {
        step: line.step,
        time_ms: line.time.as_millis().max(0) as u64,
        severity: Severity::Info,
        topic: Topic::Controller,
        what: line.text.clone(),
        why: None,
        refs: Vec::new(),
        raw: format!("{} {}", line.actor, line.text),
    }
}
