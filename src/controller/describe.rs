//! The `kafka-topics --describe` view of the controller's partitions, for summaries, the CLI
//! table and the UI. It is a read-only copy: nothing here can change controller state.

use crate::ids::{BrokerId, LeaderEpoch, PartitionIndex};
use crate::protocol::PartitionEpoch;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One partition line of `kafka-topics --describe`, plus the epochs the tool omits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeRow {
    pub topic: String,
    pub partition: PartitionIndex,
    pub leader: Option<BrokerId>,
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: PartitionEpoch,
}

fn join(ids: &[BrokerId]) -> String {
    ids.iter()
        .map(|b| b.0.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for DescribeRow {
    /// Kafka's layout: `Topic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3`; an
    /// offline partition prints `Leader: none`, as kafka-topics does for leader -1.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let leader = self
            .leader
            .map_or_else(|| "none".to_string(), |b| b.0.to_string());
        write!(
            f,
            "Topic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\tLeaderEpoch: {}\tPartitionEpoch: {}",
            self.topic,
            self.partition.0,
            leader,
            join(&self.replicas),
            join(&self.isr),
            self.leader_epoch.0,
            self.partition_epoch.0
        )
    }
}

/// All rows as one text block, one line per partition.
pub fn describe_table(rows: &[DescribeRow]) -> String {
    rows.iter().map(|r| format!("{r}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn prints_like_kafka_topics_describe() {
        let row = |leader: Option<u32>| DescribeRow {
            topic: "orders".into(),
            partition: PartitionIndex(2),
            leader: leader.map(BrokerId),
            replicas: vec![BrokerId(3), BrokerId(1), BrokerId(2)],
            isr: vec![BrokerId(3)],
            leader_epoch: LeaderEpoch(4),
            partition_epoch: PartitionEpoch(7),
        };
        expect_test::expect![[r#"
            Topic: orders	Partition: 2	Leader: 3	Replicas: 3,1,2	Isr: 3	LeaderEpoch: 4	PartitionEpoch: 7
            Topic: orders	Partition: 2	Leader: none	Replicas: 3,1,2	Isr: 3	LeaderEpoch: 4	PartitionEpoch: 7
        "#]]
        .assert_eq(&describe_table(&[row(Some(3)), row(None)]));
    }
}
