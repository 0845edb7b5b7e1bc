//! Consumer groups as `kafka-consumer-groups --describe` shows them: per group its state,
//! generation, assignor and coordinator, and per partition the committed offset
//! (CURRENT-OFFSET), the log end offset a client can read (LOG-END-OFFSET, the high
//! watermark, as the tool's ListOffsets latest answers at read_uncommitted), the lag between
//! them, and the member that owns the partition (G-8).

use super::coordinator::OFFSETS_TOPIC;
use super::ClusterSim;
use crate::ids::{PartitionIndex, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One row of the describe table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupPartitionRow {
    pub topic: String,
    pub partition: u32,
    /// The committed offset (the next offset to read); `None` printed as `-`.
    pub current_offset: Option<i64>,
    /// The partition's high watermark on its leader; `None` while it has no leader.
    pub log_end_offset: Option<i64>,
    /// LOG-END-OFFSET - CURRENT-OFFSET, when both are known.
    pub lag: Option<i64>,
    /// The member the coordinator assigned the partition to, if any.
    pub consumer_id: Option<String>,
    /// The member's client (`consumer-<index>`) and node.
    pub client_id: Option<String>,
    pub host: Option<String>,
    /// The owner's consumer index in the scenario (its client id is `consumer-<index>`).
    pub consumer: Option<u32>,
}

/// A group as its coordinator describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDescription {
    pub group_id: String,
    /// `None` when no live broker coordinates it right now (COORDINATOR_NOT_AVAILABLE).
    pub coordinator: Option<u32>,
    /// Kafka's state name (`Stable`, `PreparingRebalance`, ...), `Dead` when unknown.
    pub state: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub members: u32,
    /// Every member, with its partitions (`--describe --members --verbose`).
    pub member_list: Vec<GroupMemberRow>,
    pub rows: Vec<GroupPartitionRow>,
}

/// A member as `kafka-consumer-groups --describe --members --verbose` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMemberRow {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    /// Its assignment in the current generation, as (topic, partition).
    pub partitions: Vec<(String, u32)>,
}

impl ClusterSim {
    /// Every group the scenario's consumers name, as the coordinators know them now.
    pub fn describe_groups(&self) -> Vec<GroupDescription> {
        let mut ids: BTreeSet<String> = BTreeSet::new();
        for c in &self.consumers {
            if let Some(g) = &c.spec().group_id {
                ids.insert(g.clone());
            }
        }
        let mut out = Vec::new();
        for group_id in ids {
            let found = self.brokers.iter().find_map(|b| {
                b.alive
                    .then(|| b.coordinator.groups().get(&group_id).map(|g| (b.id, g)))
                    .flatten()
            });
            let topics: BTreeSet<String> = self
                .consumers
                .iter()
                .filter(|c| c.spec().group_id.as_deref() == Some(group_id.as_str()))
                .map(|c| c.spec().topic.clone())
                .collect();
            let Some((coordinator, group)) = found else {
                out.push(GroupDescription {
                    group_id,
                    coordinator: None,
                    state: "Dead".into(),
                    generation: -1,
                    protocol: None,
                    members: 0,
                    member_list: Vec::new(),
                    rows: Vec::new(),
                });
                continue;
            };
            let committed = group.offset_fetch(None);
            let mut owner: BTreeMap<TopicPartition, (String, String)> = BTreeMap::new();
            for member in group.members().values() {
                for tp in &member.assignment {
                    owner.insert(
                        tp.clone(),
                        (member.member_id.clone(), member.client_id.clone()),
                    );
                }
            }
            let mut partitions: BTreeSet<TopicPartition> = committed.keys().cloned().collect();
            for topic in &topics {
                let count = self
                    .scenario
                    .topics
                    .iter()
                    .find(|t| &t.name == topic)
                    .map_or(0, |t| t.partitions);
                for p in 0..count {
                    partitions.insert(TopicPartition {
                        topic: topic.clone(),
                        partition: PartitionIndex(p),
                    });
                }
            }
            partitions.extend(owner.keys().cloned());
            let rows = partitions
                .into_iter()
                .filter(|tp| tp.topic != OFFSETS_TOPIC)
                .map(|tp| {
                    let current = committed
                        .get(&tp)
                        .cloned()
                        .flatten()
                        .map(|o| o.committed_offset.0);
                    let log_end = self.high_watermark_on_leader(&tp);
                    let (consumer_id, client_id) = match owner.get(&tp) {
                        Some((m, c)) => (Some(m.clone()), Some(c.clone())),
                        None => (None, None),
                    };
                    let consumer = client_id
                        .as_deref()
                        .and_then(|c| c.strip_prefix("consumer-"))
                        .and_then(|i| i.parse::<u32>().ok());
                    let host = consumer.map(|i| format!("/node-{}", super::CONSUMER_NODE_BASE + i));
                    GroupPartitionRow {
                        topic: tp.topic.clone(),
                        partition: tp.partition.0,
                        current_offset: current,
                        log_end_offset: log_end,
                        lag: match (current, log_end) {
                            (Some(c), Some(e)) => Some((e - c).max(0)),
                            _ => None,
                        },
                        consumer_id,
                        client_id,
                        host,
                        consumer,
                    }
                })
                .collect();
            out.push(GroupDescription {
                group_id,
                coordinator: Some(coordinator.0),
                state: group.state().name().to_string(),
                generation: group.generation_id(),
                protocol: group.protocol_name().map(str::to_string),
                members: group.members().len() as u32,
                member_list: group
                    .members()
                    .values()
                    .map(|m| GroupMemberRow {
                        member_id: m.member_id.clone(),
                        group_instance_id: m.group_instance_id.clone(),
                        client_id: m.client_id.clone(),
                        partitions: m
                            .assignment
                            .iter()
                            .map(|tp| (tp.topic.clone(), tp.partition.0))
                            .collect(),
                    })
                    .collect(),
                rows,
            });
        }
        out
    }

    fn high_watermark_on_leader(&self, tp: &TopicPartition) -> Option<i64> {
        let leader = self.controller.partition(tp)?.leader?;
        let broker = self.brokers.get(leader.0 as usize - 1)?;
        if !broker.alive {
            return None;
        }
        broker.replicas.get(tp).map(|r| r.high_watermark().0)
    }

    /// The groups as `kafka-consumer-groups --describe` prints them (one block per group), or
    /// an empty string when the scenario has no group.
    pub fn groups_table(&self) -> String {
        let mut out = String::new();
        for g in self.describe_groups() {
            match g.coordinator {
                Some(c) => out.push_str(&format!(
                    "GROUP {} state {} generation {} assignor {} coordinator broker {} members {}\n",
                    g.group_id,
                    g.state,
                    g.generation,
                    g.protocol.as_deref().unwrap_or("-"),
                    c,
                    g.members
                )),
                None => {
                    out.push_str(&format!(
                        "GROUP {}: COORDINATOR_NOT_AVAILABLE (no live broker coordinates it now)\n",
                        g.group_id
                    ));
                    continue;
                }
            }
            out.push_str(&format!(
                "{:<12} {:<16} {:<9} {:<14} {:<14} {:<6} {:<24} {:<11} {}\n",
                "GROUP",
                "TOPIC",
                "PARTITION",
                "CURRENT-OFFSET",
                "LOG-END-OFFSET",
                "LAG",
                "CONSUMER-ID",
                "HOST",
                "CLIENT-ID"
            ));
            let dash = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
            for r in &g.rows {
                out.push_str(&format!(
                    "{:<12} {:<16} {:<9} {:<14} {:<14} {:<6} {:<24} {:<11} {}\n",
                    g.group_id,
                    r.topic,
                    r.partition,
                    dash(r.current_offset),
                    dash(r.log_end_offset),
                    dash(r.lag),
                    r.consumer_id.as_deref().unwrap_or("-"),
                    r.host.as_deref().unwrap_or("-"),
                    r.client_id.as_deref().unwrap_or("-"),
                ));
            }
        }
        out
    }
}
