//! What the explanations read from the simulation: brokers, the controller's partition states
//! and topic configs, the leader's view of the ISR, node ids as people say them.

use super::*;
use crate::sim::cluster::scenario::{CONSUMER_NODE_BASE, PRODUCER_NODE_BASE};

pub(super) fn broker_node(
    sim: &ClusterSim,
    b: u32,
) -> Option<&crate::sim::cluster::broker_node::BrokerNode> {
    sim.brokers().get((b as usize).checked_sub(1)?)
}

/// Partitions the controller has this broker lead.
pub(super) fn led_partitions(sim: &ClusterSim, b: u32) -> Vec<TopicPartition> {
    sim.controller()
        .describe()
        .into_iter()
        .filter(|row| row.leader == Some(BrokerId(b)))
        .map(|row| TopicPartition {
            topic: row.topic,
            partition: row.partition,
        })
        .collect()
}

/// Partitions with a replica on this broker that another broker leads (or none does).
pub(super) fn followed_partitions(sim: &ClusterSim, b: u32) -> Vec<TopicPartition> {
    sim.controller()
        .describe()
        .into_iter()
        .filter(|row| row.leader != Some(BrokerId(b)) && row.replicas.contains(&BrokerId(b)))
        .map(|row| TopicPartition {
            topic: row.topic,
            partition: row.partition,
        })
        .collect()
}

pub(super) fn partition_leader(sim: &ClusterSim, tp: &TopicPartition) -> Option<u32> {
    sim.controller().partition(tp)?.leader.map(|l| l.0)
}

/// The ISR as the leader sees it, or as the controller has it when the leader has no view.
pub(super) fn partition_isr(sim: &ClusterSim, tp: &TopicPartition) -> Option<Vec<BrokerId>> {
    let state = sim.controller().partition(tp)?;
    let leader_view = state
        .leader
        .and_then(|l| broker_node(sim, l.0))
        .filter(|node| node.alive)
        .and_then(|node| node.replicas.get(tp))
        .filter(|r| r.is_leader())
        .map(|r| r.isr().to_vec());
    Some(leader_view.unwrap_or_else(|| state.isr.clone()))
}

pub(super) fn topic_config(sim: &ClusterSim, topic: &str, key: &str) -> Option<String> {
    sim.controller().topic_configs(topic)?.get(key).cloned()
}

/// The topic's `min.insync.replicas`, else the brokers' default.
pub(super) fn min_insync_replicas(sim: &ClusterSim, topic: &str) -> u32 {
    topic_config(sim, topic, "min.insync.replicas")
        .and_then(|v| v.parse().ok())
        .or_else(|| {
            sim.scenario()
                .topics
                .iter()
                .find(|t| t.name == topic)
                .and_then(|t| t.config.get("min.insync.replicas"))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(sim.scenario().broker.replica.min_insync_replicas)
}

/// A node id as people say it: the controller is 0, brokers 1..=n, clients from 1000 and 2000.
pub(super) fn node_name(sim: &ClusterSim, node: u32) -> String {
    match node_ref(sim, node) {
        Some(Ref::Broker(b)) => format!("broker {b}"),
        Some(Ref::Producer(p)) => format!("producer {p}"),
        Some(Ref::Consumer(c)) => format!("consumer {c}"),
        _ if node == 0 => "the controller".to_owned(),
        _ => format!("node {node}"),
    }
}

pub(super) fn node_ref(sim: &ClusterSim, node: u32) -> Option<Ref> {
    if (1..=sim.scenario().brokers).contains(&node) {
        Some(Ref::Broker(node))
    } else if node >= CONSUMER_NODE_BASE {
        Some(Ref::Consumer(node - CONSUMER_NODE_BASE))
    } else if node >= PRODUCER_NODE_BASE {
        Some(Ref::Producer(node - PRODUCER_NODE_BASE))
    } else {
        None
    }
}
