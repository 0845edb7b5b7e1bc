//! The firehose workload and padded values (`interval_ms_min = interval_ms_max = 0`,
//! `value_bytes`): what the LinkedIn 2014 producer benchmark of B4 needs. A firehose sends back
//! to back until `buffer.memory` is full and waits for responses to free it, so a few thousand
//! records are acknowledged in well under a simulated second, where a paced workload (at least
//! 1 ms per record) would need seconds; every stored value is exactly `value_bytes` long and
//! still names its value id.

use logsim::client::producer::{Acks, ProducerConfig};
use logsim::ids::{Offset, PartitionIndex, TopicPartition};
use logsim::sim::cluster::scenario::{ClusterScenario, ProducerSpec, TopicSpec};
use logsim::sim::cluster::ClusterSim;
use std::collections::BTreeSet;

const RECORDS: u64 = 4_000;

fn firehose_scenario(interval_ms: u64) -> ClusterScenario {
    ClusterScenario {
        scenario: "cluster".into(),
        name: "firehose".into(),
        description: String::new(),
        seed: None,
        duration_ms: 2_000,
        brokers: 3,
        broker: Default::default(),
        network: Default::default(),
        topics: vec![TopicSpec {
            name: "t".into(),
            partitions: 2,
            replication_factor: 3,
            config: Default::default(),
            replica_assignment: Vec::new(),
        }],
        producers: vec![ProducerSpec {
            topic: "t".into(),
            config: ProducerConfig {
                acks: Acks::All,
                batch_size: 8_196,
                // Room for about 40 batches: the workload must block and resume many times.
                buffer_memory: 40 * 8_196,
                ..ProducerConfig::default()
            },
            interval_ms_min: interval_ms,
            interval_ms_max: interval_ms,
            keys: 0,
            records_max: Some(RECORDS),
            stop_ms: None,
            value_bytes: Some(100),
            start_ms: None,
            transactions: Default::default(),
        }],
        consumers: Vec::new(),
        steps: Vec::new(),
        expect: Default::default(),
    }
}

fn acked(sim: &ClusterSim) -> u64 {
    sim.history().iter().filter(|op| op.is_acked_send()).count() as u64
}

#[test]
fn a_firehose_sends_back_to_back_and_blocks_on_buffer_memory() {
    let mut sim = ClusterSim::new(firehose_scenario(0), 7).expect("valid scenario");
    sim.run_to_end().expect("runs");
    assert_eq!(acked(&sim), RECORDS, "every record is acknowledged");
    // Paced at 1 ms a record, 4,000 records need 4 simulated seconds; the run lasts 2.
    let paced = {
        let mut sim = ClusterSim::new(firehose_scenario(1), 7).expect("valid scenario");
        sim.run_to_end().expect("runs");
        acked(&sim)
    };
    assert!(paced < RECORDS / 2, "paced run acknowledged {paced}");
    assert!(sim.violations().is_empty(), "{:?}", sim.violations());
    // The stored values: 100 bytes each, the zero-padded decimal value id, all distinct.
    let mut ids = BTreeSet::new();
    for p in 0..2 {
        let tp = TopicPartition {
            topic: "t".into(),
            partition: PartitionIndex(p),
        };
        let leader = sim
            .brokers()
            .iter()
            .find(|b| b.replicas.get(&tp).is_some_and(|r| r.is_leader()))
            .expect("a leader");
        let replica = &leader.replicas[&tp];
        let records = replica
            .log()
            .read_records(Offset::ZERO, replica.high_watermark(), u32::MAX);
        for record in records {
            let value = record.value.expect("a value");
            assert_eq!(value.len(), 100);
            let text = std::str::from_utf8(&value).expect("decimal text");
            ids.insert(text.parse::<u64>().expect("a value id"));
        }
    }
    assert_eq!(ids.len() as u64, RECORDS);
}

#[test]
fn value_bytes_and_firehose_intervals_are_validated() {
    let mut s = firehose_scenario(0);
    s.producers[0].value_bytes = Some(19);
    assert!(s.validate().unwrap_err().contains("value_bytes = 19"));
    let mut s = firehose_scenario(0);
    s.producers[0].interval_ms_max = 5;
    assert!(s.validate().unwrap_err().contains("interval_ms_min"));
    // Old scenario files (no value_bytes) still parse, and serialize without the field.
    let text = r#"{"scenario":"cluster","duration_ms":1000,"brokers":1,
        "topics":[{"name":"t","partitions":1,"replication_factor":1}],
        "producers":[{"topic":"t"}]}"#;
    let s: ClusterScenario = serde_json::from_str(text).expect("parses");
    assert_eq!(s.producers[0].value_bytes, None);
    assert!(!serde_json::to_string(&s)
        .expect("json")
        .contains("value_bytes"));
}
