//! The CLI's cluster summaries: `kafka-topics --describe` with each replica's HW and LEO,
//! `kafka-transactions describe` per transactional id, and `kafka-transactions
//! describe-producers` per partition, read from the brokers as they stand now.

use super::view::TransactionView;
use super::ClusterSim;
use crate::client::transactions::TRANSACTION_STATE_TOPIC;
use crate::ids::{BrokerId, TopicPartition};

impl ClusterSim {
    /// The `kafka-topics --describe`-like table with each replica's HW and LEO, and the LSO
    /// of partitions that hold transactions. Empty `__transaction_state` partitions are
    /// counted, not listed: there are 50 by default and only the coordinators' ones hold
    /// anything.
    pub fn describe_table(&self) -> String {
        let mut rows: Vec<(String, String)> = Vec::new();
        let mut empty_internal = 0u32;
        for row in self.controller.describe() {
            let tp = TopicPartition {
                topic: row.topic.clone(),
                partition: row.partition,
            };
            let list = |v: &[BrokerId]| {
                v.iter()
                    .map(|b| b.0.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let replica = |b: BrokerId| {
                let node = self.brokers.get(b.0 as usize - 1)?;
                node.alive.then(|| node.replicas.get(&tp)).flatten()
            };
            let offsets: Vec<String> = row
                .replicas
                .iter()
                .map(|r| match replica(*r) {
                    Some(rep) => format!(
                        "{}:{}/{}",
                        r.0,
                        rep.high_watermark().0,
                        rep.log_end_offset().0
                    ),
                    None => format!("{}:down", r.0),
                })
                .collect();
            let empty = row
                .replicas
                .iter()
                .all(|r| replica(*r).is_none_or(|rep| rep.log_end_offset().0 == 0));
            if tp.topic == TRANSACTION_STATE_TOPIC && empty {
                empty_internal += 1;
                continue;
            }
            let lso = row.leader.and_then(replica).and_then(|rep| {
                let transactional = rep.transactions().has_transactions()
                    || rep.last_stable_offset() != rep.high_watermark();
                transactional.then(|| format!("  LSO {}", rep.last_stable_offset().0))
            });
            rows.push((
                tp.to_string(),
                format!(
                    "{:<7} {:<6} {:<9} {:<9} {}{}",
                    row.leader.map_or("none".to_owned(), |l| l.0.to_string()),
                    row.leader_epoch.0,
                    list(&row.replicas),
                    list(&row.isr),
                    offsets.join(" "),
                    lso.unwrap_or_default()
                ),
            ));
        }
        let mut out = first_column_aligned(
            "LEADER  EPOCH  REPLICAS  ISR       HW/LEO per replica (LSO if transactional)",
            rows,
        );
        if empty_internal > 0 {
            out.push_str(&format!(
                "({empty_internal} empty {TRANSACTION_STATE_TOPIC} partitions not shown)\n"
            ));
        }
        out
    }

    /// Every summary table that has rows: topics, groups, transactions, producers (what the
    /// CLI prints after a run).
    pub fn summary_tables(&self) -> String {
        let mut out = self.describe_table();
        for table in [
            self.groups_table(),
            self.transactions_table(),
            self.producers_table(),
            self.hanging_table(),
        ] {
            if !table.is_empty() {
                out.push('\n');
                out.push_str(&table);
            }
        }
        out
    }

    /// Every transactional id as the coordinator that has it loaded now describes it, sorted
    /// by id.
    pub fn transaction_views(&self) -> Vec<TransactionView> {
        let mut out: Vec<TransactionView> = Vec::new();
        for b in self.brokers.iter().filter(|b| b.alive) {
            for (id, m) in b.txn_coordinator.transactions() {
                let open = m.state.is_open();
                out.push(TransactionView {
                    transactional_id: id.clone(),
                    coordinator: b.id.0,
                    producer_id: m.producer_id.0,
                    producer_epoch: m.producer_epoch.0,
                    state: m.state.name().to_owned(),
                    timeout_ms: m.timeout_ms,
                    duration_ms: m.txn_start.filter(|_| open).map(|start| {
                        self.now()
                            .as_millis()
                            .saturating_sub(start.as_millis())
                            .max(0) as u64
                    }),
                    partitions: m.partitions.iter().map(|tp| tp.to_string()).collect(),
                });
            }
        }
        out.sort_by(|a, b| {
            (&a.transactional_id, a.coordinator).cmp(&(&b.transactional_id, b.coordinator))
        });
        out
    }

    /// `kafka-transactions describe` for every transactional id, from the coordinator that
    /// has it loaded now; empty when no producer is transactional.
    pub fn transactions_table(&self) -> String {
        let views = self.transaction_views();
        if views.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "TRANSACTIONAL-ID  COORDINATOR  PRODUCER-ID  EPOCH  STATE              TIMEOUT-MS  TXN-DURATION-MS  TOPIC-PARTITIONS\n",
        );
        for t in views {
            out.push_str(&format!(
                "{:<17} {:<12} {:<12} {:<6} {:<18} {:<11} {:<16} {}\n",
                t.transactional_id,
                t.coordinator,
                t.producer_id,
                t.producer_epoch,
                t.state,
                t.timeout_ms,
                t.duration_ms.map_or("-".to_owned(), |d| d.to_string()),
                if t.partitions.is_empty() {
                    "-".to_owned()
                } else {
                    t.partitions.join(",")
                }
            ));
        }
        out
    }

    /// `kafka-transactions describe-producers` for every partition leader that has producer
    /// state: each idempotent or transactional producer's epoch, last sequence and, while a
    /// transaction is open on the partition, its first offset (what holds the LSO back).
    pub fn producers_table(&self) -> String {
        let mut rows: Vec<(String, String)> = Vec::new();
        for row in self.controller.describe() {
            let Some(leader) = row.leader else { continue };
            let Some(node) = self.brokers.get(leader.0 as usize - 1).filter(|n| n.alive) else {
                continue;
            };
            let tp = TopicPartition {
                topic: row.topic.clone(),
                partition: row.partition,
            };
            let (Some(table), Some(rep)) = (node.producer_state(&tp), node.replicas.get(&tp))
            else {
                continue;
            };
            for entry in table.entries() {
                let open = rep
                    .transactions()
                    .ongoing()
                    .get(&entry.producer_id)
                    .map_or("-".to_owned(), |t| t.first_offset.0.to_string());
                rows.push((
                    tp.to_string(),
                    format!(
                        "{:<7} {:<12} {:<6} {:<14} {}",
                        leader.0,
                        entry.producer_id.0,
                        entry.producer_epoch.0,
                        entry.last_sequence(),
                        open
                    ),
                ));
            }
        }
        if rows.is_empty() {
            return String::new();
        }
        first_column_aligned(
            "LEADER  PRODUCER-ID  EPOCH  LAST-SEQUENCE  CURRENT-TXN-START-OFFSET",
            rows,
        )
    }
}

/// A transaction open in a partition that no coordinator will end (T-8, Kafka's
/// `kafka-transactions find-hanging`): the partition leader has it open, but no coordinator
/// has an ongoing transaction of that producer id (at that epoch or later) including the
/// partition, so no marker is coming and the LSO stays behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HangingTransaction {
    pub topic_partition: TopicPartition,
    pub leader: u32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub first_offset: i64,
}

impl ClusterSim {
    /// Every hanging transaction on the current partition leaders.
    pub fn hanging_transactions(&self) -> Vec<HangingTransaction> {
        let live: Vec<&crate::broker::txn::TransactionMetadata> = self
            .brokers
            .iter()
            .filter(|b| b.alive)
            .flat_map(|b| b.txn_coordinator.transactions().values())
            .collect();
        let mut out = Vec::new();
        for row in self.controller.describe() {
            let Some(leader) = row.leader else { continue };
            let Some(node) = self.brokers.get(leader.0 as usize - 1).filter(|n| n.alive) else {
                continue;
            };
            let tp = TopicPartition {
                topic: row.topic.clone(),
                partition: row.partition,
            };
            let Some(rep) = node.replicas.get(&tp) else {
                continue;
            };
            for (pid, open) in rep.transactions().ongoing() {
                let known = live.iter().any(|m| {
                    m.producer_id == *pid
                        && m.state.is_open()
                        && m.producer_epoch >= open.producer_epoch
                        && m.partitions.contains(&tp)
                });
                if !known {
                    out.push(HangingTransaction {
                        topic_partition: tp.clone(),
                        leader: leader.0,
                        producer_id: pid.0,
                        producer_epoch: open.producer_epoch.0,
                        first_offset: open.first_offset.0,
                    });
                }
            }
        }
        out
    }

    /// Late transactional batches partition verification refused, on every broker.
    pub fn verification_refusals(&self) -> u32 {
        self.brokers.iter().map(|b| b.verification_refusals).sum()
    }

    /// `kafka-transactions find-hanging`: empty when nothing hangs.
    pub fn hanging_table(&self) -> String {
        let rows: Vec<(String, String)> = self
            .hanging_transactions()
            .into_iter()
            .map(|h| {
                (
                    h.topic_partition.to_string(),
                    format!(
                        "{:<7} {:<12} {:<6} {}",
                        h.leader, h.producer_id, h.producer_epoch, h.first_offset
                    ),
                )
            })
            .collect();
        if rows.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "HANGING TRANSACTIONS (kafka-transactions find-hanging): open in the partition, unknown to every coordinator; the LSO stays at their start
",
        );
        out.push_str(&first_column_aligned(
            "LEADER  PRODUCER-ID  EPOCH  START-OFFSET",
            rows,
        ));
        out
    }
}

/// A table whose first column is a topic-partition, as wide as its longest name
/// (`__transaction_state-12` is longer than most).
fn first_column_aligned(header_rest: &str, rows: Vec<(String, String)>) -> String {
    let width = rows
        .iter()
        .map(|(tp, _)| tp.len())
        .max()
        .unwrap_or(0)
        .max("TOPIC-PARTITION".len() + 1);
    let mut out = format!("{:<width$} {header_rest}\n", "TOPIC-PARTITION");
    for (tp, rest) in rows {
        out.push_str(&format!("{tp:<width$} {rest}\n"));
    }
    out
}
