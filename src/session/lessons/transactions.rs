//! The transaction lessons: idempotence versus transactions, the transaction lifecycle and its
//! markers, read_committed and the last stable offset, and zombie fencing. Each runs on three
//! brokers with three `__transaction_state` partitions (Kafka's default is 50), so the
//! coordinator's partition is easy to find on screen.

use super::*;
use crate::broker::messages::IsolationLevel;
use crate::sim::cluster::scenario::TransactionSpec;

fn txn_broker() -> BrokerSettings {
    BrokerSettings {
        transaction_state_log_num_partitions: 3,
        transaction_abort_timed_out_transaction_cleanup_interval_ms: 1_000,
        ..BrokerSettings::default()
    }
}

/// A transactional producer of `topic` with `transactional.id` `id`: `per_txn` records a
/// transaction, `abort_percent` of them aborted.
fn txn_producer(
    topic: &str,
    id: &str,
    keys: u32,
    interval_ms: (u64, u64),
    per_txn: u32,
    abort_percent: u32,
    timeout_ms: u64,
) -> ProducerSpec {
    ProducerSpec {
        transactions: TransactionSpec {
            records_per_transaction: per_txn,
            abort_percent,
            recreate_after_fatal_ms: None,
            ..TransactionSpec::default()
        },
        ..producer(
            topic,
            keys,
            interval_ms,
            ProducerConfig {
                transactional_id: Some(id.to_owned()),
                transaction_timeout_ms: timeout_ms,
                ..safe_producer_config()
            },
        )
    }
}

fn reader(topic: &str, isolation_level: IsolationLevel) -> ConsumerSpec {
    ConsumerSpec {
        isolation_level,
        ..consumer(topic, 200)
    }
}

fn state(id: &str, state: &str) -> Goal {
    Goal::TransactionState {
        transactional_id: id.to_owned(),
        state: state.to_owned(),
    }
}

fn marker(topic: &str, partition: u32, abort: bool) -> Goal {
    Goal::TransactionMarker {
        topic: topic.to_owned(),
        partition,
        abort,
    }
}

pub(super) fn lessons() -> Vec<Lesson> {
    vec![
        idempotence_versus_transactions(),
        transaction_lifecycle(),
        read_committed_and_the_lso(),
        zombie_fencing(),
    ]
}

fn idempotence_versus_transactions() -> Lesson {
    let scenario = cluster(
        "Lesson: idempotence versus transactions",
        "Three brokers. Producer 0 is idempotent (enable.idempotence=true, acks=all) and writes to events; producer 1 has transactional.id=billing and writes transactions of 6 records over the two partitions of orders. A read_committed consumer reads orders.",
        3,
        txn_broker(),
        vec![
            topic("events", 1, 3, &[("min.insync.replicas", "2")]),
            topic("orders", 2, 3, &[("min.insync.replicas", "2")]),
        ],
        vec![
            producer("events", 2, (200, 300), safe_producer_config()),
            txn_producer("orders", "billing", 4, (150, 250), 6, 0, 60_000),
        ],
        vec![reader("orders", IsolationLevel::ReadCommitted)],
    );
    lesson(
        "idempotence-versus-transactions",
        "Idempotence versus transactions",
        "An idempotent producer writes each record once per partition, even through retries; a transaction writes records to several partitions all or nothing, and read_committed consumers see them only once they are committed.",
        scenario,
        vec![
            step(
                "An idempotent producer",
                text(&[
                    "Producer 0 is idempotent: the broker gave it a producer id, and every batch carries that id, an epoch and a sequence number per partition. A leader that sees a sequence it already has answers the retry with the original offsets instead of appending it twice.",
                    "That guarantee is per partition and per producer session: nothing ties a record in one partition to a record in another. Press play.",
                ]),
                None,
                hw("events", 0, 10),
                "Press play until events-0 holds 10 records.",
                text(&[
                    "Every record of events-0 is plain data: blue cells. Hover one: its producer id is producer 0's.",
                ]),
            ),
            step(
                "A transaction spans partitions",
                text(&[
                    "Producer 1 has transactional.id=billing. Before its first record it asked for its transaction coordinator (FindCoordinator) and got its producer id from it (InitProducerId). Each transaction adds the partitions it writes to (AddPartitionsToTxn), writes 6 records with keys that land in both partitions of orders, then ends (EndTxn).",
                    "Watch orders-0 and orders-1: an open transaction's records are amber, and the transaction ends with a marker in every partition it wrote to.",
                ]),
                None,
                Goal::All(vec![marker("orders", 0, false), marker("orders", 1, false)]),
                "Play until a COMMIT marker (a dark cell lettered C) lands in both partitions of orders.",
                text(&[
                    "One EndTxn, a COMMIT marker in each partition: the coordinator wrote them after it had made PrepareCommit durable in __transaction_state. Each marker is a control record; it takes an offset but no consumer ever returns it to the application.",
                ]),
            ),
            step(
                "Crash a leader mid-stream",
                text(&[
                    "Crash the leader of orders-0. The producer's batches in flight fail over to the new leader (the producer id and sequence numbers keep them from being duplicated), and the transactions go on.",
                ]),
                Some(Action::CrashLeader {
                    topic: "orders".into(),
                    partition: 0,
                    power_loss: false,
                    torn_write: false,
                }),
                Goal::All(vec![
                    leader_changed("orders", 0),
                    Goal::HighWatermarkGrows {
                        topic: "orders".into(),
                        partition: 0,
                        by: 15,
                    },
                ]),
                "Use this step's button to crash the leader of orders-0, then play.",
                text(&[
                    "A new leader took over and the transactions continued. Idempotence keeps retries from duplicating; transactions add atomicity across partitions and, with read_committed consumers, hide what was aborted.",
                ]),
            ),
            free_play(&[
                "Try freezing producer 1 for 10 s: with transaction.timeout.ms=60000 nothing happens to its open transaction, but read_committed consumers of orders wait at the last stable offset meanwhile.",
            ]),
        ],
    )
}

fn transaction_lifecycle() -> Lesson {
    let t = "payments";
    let id = "payments-app";
    let scenario = cluster(
        "Lesson: the transaction lifecycle and markers",
        "Three brokers, topic payments with two partitions, and a producer with transactional.id=payments-app writing transactions of 8 records, four in ten of them aborted. A read_committed consumer reads payments.",
        3,
        txn_broker(),
        vec![topic(t, 2, 3, &[("min.insync.replicas", "2")])],
        vec![txn_producer(t, id, 4, (200, 300), 8, 40, 60_000)],
        vec![reader(t, IsolationLevel::ReadCommitted)],
    );
    let any_marker = |abort| Goal::Any(vec![marker(t, 0, abort), marker(t, 1, abort)]);
    lesson(
        "transaction-lifecycle-and-markers",
        "The transaction lifecycle and markers",
        "A transaction's coordinator walks it through Empty, Ongoing, PrepareCommit or PrepareAbort, and CompleteCommit or CompleteAbort, logging each step in __transaction_state and writing COMMIT or ABORT markers into every partition the transaction touched.",
        scenario,
        vec![
            step(
                "The coordinator",
                text(&[
                    "The producer's transactional.id picks its coordinator: the leader of the __transaction_state partition the id hashes to (3 partitions here). The producer finds it (FindCoordinator), then InitProducerId gives it a producer id and epoch and moves the id to Empty.",
                    "Press play and watch the Transactions panel: the state machine of payments-app, its current state marked.",
                ]),
                None,
                state(id, "Ongoing"),
                "Press play until payments-app is Ongoing.",
                text(&[
                    "Ongoing: the producer sent AddPartitionsToTxn for the partitions it writes to, and the coordinator logged them. Its records are in the partition logs already (amber cells) but read_committed consumers wait below them.",
                ]),
            ),
            step(
                "Committing: prepare, then markers",
                text(&[
                    "After 8 records the producer sends EndTxn(commit). The coordinator first appends PrepareCommit to __transaction_state and waits until every in-sync replica has it: from then on the transaction will commit, whatever crashes. Only then does it answer the producer and write the markers (WriteTxnMarkers) to the partitions' leaders.",
                ]),
                None,
                any_marker(false),
                "Play until a COMMIT marker (C) lands in payments.",
                text(&[
                    "The transaction's records turned blue with a teal bar (committed), and a C cell closes them. The coordinator logs CompleteCommit once every marker is written.",
                ]),
            ),
            step(
                "Aborting",
                text(&[
                    "About four transactions in ten are aborted here (the application called abortTransaction). The path is the same with PrepareAbort, ABORT markers and CompleteAbort.",
                ]),
                None,
                any_marker(true),
                "Play until an ABORT marker (A) lands in payments.",
                text(&[
                    "The aborted records stay in the log (the log is append-only): they are grey and struck out. The partition's leader also notes the transaction in its aborted-transaction index, which read_committed fetches return so consumers can drop those records.",
                ]),
            ),
            free_play(&[
                "Hover a marker cell to read its control record (its type and the coordinator epoch). Crash the coordinator (the leader of the __transaction_state partition that holds records): the new leader loads the log and finishes any transaction left in PrepareCommit or PrepareAbort.",
            ]),
        ],
    )
}

fn read_committed_and_the_lso() -> Lesson {
    let t = "payments";
    let scenario = cluster(
        "Lesson: read_committed and the last stable offset",
        "Three brokers, topic payments with one partition, and a producer with transactional.id=payments-app writing transactions of 10 records, three in ten aborted (transaction.timeout.ms=10000). Consumer 0 reads with isolation.level=read_committed, consumer 1 with read_uncommitted.",
        3,
        txn_broker(),
        vec![topic(t, 1, 3, &[("min.insync.replicas", "2")])],
        vec![txn_producer(t, "payments-app", 4, (150, 250), 10, 30, 10_000)],
        vec![
            reader(t, IsolationLevel::ReadCommitted),
            reader(t, IsolationLevel::ReadUncommitted),
        ],
    );
    lesson(
        "read-committed-and-the-lso",
        "read_committed and the last stable offset",
        "The last stable offset (LSO) is the first offset of the oldest open transaction: read_committed consumers read up to it and drop aborted records; read_uncommitted consumers read up to the high watermark, aborted records included.",
        scenario,
        vec![
            step(
                "The LSO",
                text(&[
                    "While a transaction is open, the partition's leader cannot tell whether its records will commit. So it keeps a last stable offset (LSO): the first offset of the oldest open transaction, or the high watermark when none is open. A read_committed fetch returns nothing at or above the LSO.",
                    "Press play and watch payments-0: the LSO line stays at the first amber cell while the HW moves on.",
                ]),
                None,
                Goal::LastStableOffsetBehind {
                    topic: t.into(),
                    partition: 0,
                    by: 4,
                },
                "Play until the LSO is 4 or more offsets below the HW.",
                text(&[
                    "C0 (read_committed) waits at the LSO; C1 (read_uncommitted) reads right up to the HW, into the open transaction.",
                ]),
            ),
            step(
                "read_uncommitted reads aborted records",
                text(&[
                    "When a transaction aborts, its records stay in the log. Consumer 1 has already read them: it returned records of a transaction that never happened.",
                ]),
                None,
                finding("G1a", true, Some(t)),
                "Play until the checker flags an aborted read (G1a).",
                text(&[
                    "G1a, an aborted read: legal at read_uncommitted, which is Kafka's default isolation.level. Every finding is consumer 1's: consumer 0 drops the aborted transactions' records, using the aborted-transaction list each read_committed fetch carries.",
                ]),
            ),
            step(
                "Stop the producer",
                text(&[
                    "Stop the producer. Whatever transaction it had open ends (the producer closes it, or the coordinator aborts it after transaction.timeout.ms=10000), the LSO catches up with the HW, and both consumers reach the end of the log.",
                ]),
                Some(Action::StopProducers),
                Goal::All(vec![
                    Goal::ActionTaken(ActionKind::StopProducers),
                    Goal::ConsumerCaughtUp {
                        topic: t.into(),
                        partition: 0,
                    },
                ]),
                "Use this step's button to stop the producer, then play until both consumers reach the HW.",
                text(&[
                    "Both consumers are at the end: with no open transaction the LSO equals the HW. A read_committed consumer is only ever as far behind as the oldest open transaction, which is why a transaction left open (a hanging transaction) stalls every read_committed consumer of the partition.",
                ]),
            ),
            free_play(&[
                "Scrub back and freeze the producer instead of stopping it: the LSO stays put until the coordinator aborts the transaction after transaction.timeout.ms, then jumps to the HW.",
            ]),
        ],
    )
}

fn zombie_fencing() -> Lesson {
    let t = "t";
    let id = "app";
    let mut replacement = txn_producer(t, id, 4, (50, 100), 20, 0, 60_000);
    replacement.start_ms = Some(12_000);
    let scenario = cluster(
        "Lesson: zombie fencing",
        "Three brokers, topic t with one partition. Producer 0 has transactional.id=app and writes transactions of 20 records. At 12 s a second instance with the same transactional.id (producer 1) starts, as a restarted or rescheduled application would. A read_committed consumer reads t.",
        3,
        txn_broker(),
        vec![topic(t, 1, 3, &[("min.insync.replicas", "2")])],
        vec![
            txn_producer(t, id, 4, (50, 100), 20, 0, 60_000),
            replacement,
        ],
        vec![reader(t, IsolationLevel::ReadCommitted)],
    );
    lesson(
        "zombie-fencing",
        "Zombie fencing",
        "A new instance with the same transactional.id bumps the producer epoch at the coordinator: the old instance, a zombie that woke from a pause, is fenced, and its open transaction is aborted.",
        scenario,
        vec![
            step(
                "One instance",
                text(&[
                    "Producer 0 writes transactions of 20 records as transactional.id app at epoch 0. Press play.",
                ]),
                None,
                marker(t, 0, false),
                "Play until the first COMMIT marker lands in t-0.",
                text(&["The first transaction is committed; the next one is open."]),
            ),
            step(
                "Freeze it",
                text(&[
                    "Freeze producer 0 for 15 s, as a long GC pause or a paused VM would, in the middle of a transaction. At 12 s its replacement, producer 1, starts with the same transactional.id. Its InitProducerId makes the coordinator bump app's epoch and abort the transaction producer 0 left open.",
                ]),
                Some(Action::FreezeProducer {
                    producer: 0,
                    duration_ms: 15_000,
                }),
                Goal::All(vec![
                    Goal::TransactionEpochAtLeast {
                        transactional_id: id.into(),
                        epoch: 1,
                    },
                    marker(t, 0, true),
                ]),
                "Use this step's button to freeze producer 0, then play until the epoch of app is bumped.",
                text(&[
                    "Epoch 1 belongs to producer 1 now. The coordinator aborted producer 0's open transaction first (the ABORT marker in t-0), so nothing of it will ever be read_committed.",
                ]),
            ),
            step(
                "The zombie wakes up",
                text(&[
                    "Keep playing: producer 0 wakes and carries on where it was, with epoch 0. The partition leader refuses its batches (INVALID_PRODUCER_EPOCH) and the coordinator its requests (PRODUCER_FENCED).",
                ]),
                None,
                Goal::ProducerFenced { producer: 0 },
                "Play until producer 0 is fenced.",
                text(&[
                    "ProducerFencedException is fatal: the only thing the zombie can do is close. This is what makes a transactional.id safe to reuse across restarts: at most one instance can write with it.",
                ]),
            ),
            step(
                "Nothing of the zombie is read",
                text(&[
                    "The read_committed consumer skips the aborted transaction. Run the clock and watch the checker.",
                ]),
                None,
                Goal::NoFindingFor {
                    kind: "G1a".into(),
                    topic: Some(t.into()),
                    ms: 5_000,
                },
                "Run the clock for 5 s more.",
                text(&[
                    "No aborted read: the consumer returned only committed transactions, none of the zombie's last one.",
                ]),
            ),
            free_play(&[
                "Scrub back to before the freeze and freeze producer 0 for only 2 s: it wakes before producer 1 starts, finishes its transaction, and is fenced later, when producer 1's InitProducerId bumps the epoch.",
            ]),
        ],
    )
}
