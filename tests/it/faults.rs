//! The simulated world's process, disk and clock faults, each shown doing what it does to a
//! Kafka cluster: a paused (SIGSTOP) leader is fenced and replaced and rejoins after SIGCONT; a
//! torn write is cut by CRC at restart; `flush.messages=1` makes a sole replica survive power
//! loss; a slow disk drops a follower from the ISR; a broker clock days ahead deletes by
//! `retention.ms` early and a producer clock hours ahead gets INVALID_TIMESTAMP; a crash resets
//! every connection of the broker; a restarted broker acts on nothing before it has caught up
//! on metadata.

use logsim::check::drill::judge;
use logsim::check::history::AnomalyKind;
use logsim::ids::BrokerId;
use logsim::sim::cluster::scenario::ClusterScenario;
use logsim::sim::cluster::ClusterSim;
use logsim::time::SimTime;

fn scenario(json: &str) -> ClusterScenario {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("scenario: {e}\n{json}"))
}

/// A run that keeps every trace line, as "actor: text".
struct Run {
    sim: ClusterSim,
    lines: Vec<String>,
}

impl Run {
    fn new(scenario: ClusterScenario, seed: u64) -> Run {
        Run {
            sim: ClusterSim::new(scenario, seed).expect("valid scenario"),
            lines: Vec::new(),
        }
    }

    fn run_until(&mut self, ms: u64) {
        while self
            .sim
            .next_due()
            .is_some_and(|t| t <= SimTime::from_millis(ms))
        {
            self.step();
        }
    }

    /// Runs one event.
    fn step(&mut self) {
        self.sim.step().expect("step");
        self.lines.extend(
            self.sim
                .last_step_trace()
                .iter()
                .map(|l| format!("{}: {}", l.actor, l.text)),
        );
    }

    fn run_to_end(&mut self) {
        let end = self.sim.scenario().duration_ms;
        self.run_until(end);
    }

    fn has_line(&self, needle: &str) -> bool {
        self.lines.iter().any(|l| l.contains(needle))
    }

    fn leader(&self) -> Option<BrokerId> {
        self.sim
            .controller()
            .describe()
            .first()
            .and_then(|r| r.leader)
    }
}

/// Three brokers, `t` with one partition on all three, min.insync.replicas=2, an idempotent
/// acks=all producer and a consumer; `steps` is a JSON array.
fn three_broker_scenario(steps: &str) -> ClusterScenario {
    scenario(&format!(
        r#"{{
  "scenario": "cluster", "duration_ms": 40000, "brokers": 3,
  "broker": {{ "replica.lag.time.max.ms": 4000 }},
  "topics": [ {{ "name": "t", "partitions": 1, "replication_factor": 3,
                 "config": {{ "min.insync.replicas": "2" }} }} ],
  "producers": [ {{ "topic": "t", "keys": 1, "interval_ms_min": 10, "interval_ms_max": 20,
                    "stop_ms": 32000,
                    "config": {{ "acks": "all", "enable.idempotence": true,
                                "request.timeout.ms": 3000 }} }} ],
  "consumers": [ {{ "topic": "t", "poll_interval_ms": 100 }} ],
  "steps": {steps}
}}"#
    ))
}

/// The broker leading t-0 at `ms` in a fault-free run of the same scenario and seed: the
/// faulty run is identical up to its first step, so a step can name that broker.
fn leader_at(ms: u64, seed: u64) -> u32 {
    let mut probe = Run::new(three_broker_scenario("[]"), seed);
    probe.run_until(ms);
    probe.leader().expect("t-0 has a leader").0
}

#[test]
fn a_paused_leader_is_fenced_replaced_and_rejoins_the_isr_after_resume() {
    let seed = 3;
    let old = leader_at(3_000, seed);
    let mut run = Run::new(
        three_broker_scenario(&format!(
            r#"[ {{ "at_ms": 3000, "action": {{ "pause_broker": {{ "broker": {old} }} }} }},
                 {{ "at_ms": 18000, "action": {{ "resume_broker": {{ "broker": {old} }} }} }} ]"#
        )),
        seed,
    );
    run.run_until(17_900);
    // broker.session.timeout.ms (9 s) after its last heartbeat the controller fenced it and
    // elected another ISR member.
    assert!(run.has_line(&format!("controller: fence broker {old}")));
    let registration = run
        .sim
        .controller()
        .broker(BrokerId(old))
        .expect("registered");
    assert!(registration.fenced, "the paused broker is fenced");
    let new = run.leader().expect("a new leader");
    assert_ne!(
        new.0, old,
        "another replica leads while broker {old} is stopped"
    );
    // The stopped process never noticed: it still thinks it leads.
    let paused = &run.sim.brokers()[old as usize - 1];
    assert!(paused.replicas.values().all(|r| r.is_leader()));
    run.run_to_end();
    assert!(run.has_line(&format!("nemesis: resume broker {old} (SIGCONT)")));
    let row = run.sim.controller().describe().remove(0);
    assert_eq!(row.leader, Some(new), "the new leader keeps leading");
    assert!(
        row.isr.contains(&BrokerId(old)),
        "the resumed broker rejoins the ISR: {:?}",
        row.isr
    );
    let resumed = &run.sim.brokers()[old as usize - 1];
    assert!(!resumed.fenced);
    assert!(resumed.replicas.values().all(|r| !r.is_leader()));
    let report = judge(&run.sim, true);
    assert!(!report.has_bug(), "{:?}", report.check.bugs().next());
    assert!(report.check.sends_acked > 500);
}

#[test]
fn a_torn_write_is_cut_by_crc_at_restart_and_the_log_stays_valid() {
    let seed = 5;
    let old = leader_at(6_000, seed);
    let mut run = Run::new(
        three_broker_scenario(&format!(
            r#"[ {{ "at_ms": 6000, "action": {{ "crash_broker": {{ "broker": {old},
                    "power_loss": true, "torn_write": true }} }} }},
                 {{ "at_ms": 8000, "action": {{ "restart_broker": {{ "broker": {old} }} }} }} ]"#
        )),
        seed,
    );
    run.run_to_end();
    let actor = format!("broker-{old}");
    assert!(run.has_line(&format!("{actor}: crash (PowerLossTornWrite)")));
    assert!(
        run.has_line(&format!("{actor}: torn write: t-0/")),
        "the crash tore an unsynced append"
    );
    let cut = run
        .lines
        .iter()
        .find(|l| l.starts_with(&format!("{actor}: recovered t-0:")))
        .unwrap_or_else(|| panic!("no recovery note: {:#?}", &run.lines[..40]));
    assert!(cut.contains("truncat") || cut.contains("cut"), "{cut}");
    // The recovered replica holds every offset it claims, and it rejoined.
    let replica = run.sim.brokers()[old as usize - 1]
        .replicas
        .values()
        .next()
        .expect("hosts t-0");
    let (start, end) = (replica.log_start_offset(), replica.log_end_offset());
    let records = replica.log().read_records(start, end, u32::MAX);
    assert_eq!(records.len() as i64, end.0 - start.0);
    assert!(records
        .windows(2)
        .all(|w| w[1].offset.0 == w[0].offset.0 + 1));
    assert!(
        run.sim.violations().is_empty(),
        "{:?}",
        run.sim.violations()
    );
    let row = run.sim.controller().describe().remove(0);
    assert!(row.isr.contains(&BrokerId(old)));
    assert!(!judge(&run.sim, true).has_bug());
}

/// One broker, one replica, acks=all: only the flush policy stands between an acknowledged
/// record and a power loss. The disk is a hundred times slower from 1 s, so each sync takes
/// 50-500 ms: an acknowledgement sent before its sync completed would be lost too.
fn sole_replica_power_loss(flush_messages: Option<u32>) -> ClusterSim {
    let broker = match flush_messages {
        Some(n) => format!(r#"{{ "flush.messages": {n} }}"#),
        None => "{}".into(),
    };
    let s = scenario(&format!(
        r#"{{
  "scenario": "cluster", "duration_ms": 30000, "brokers": 1, "broker": {broker},
  "topics": [ {{ "name": "t", "partitions": 1, "replication_factor": 1 }} ],
  "producers": [ {{ "topic": "t", "keys": 1, "interval_ms_min": 5, "interval_ms_max": 10,
                    "stop_ms": 20000,
                    "config": {{ "acks": "all", "enable.idempotence": false,
                                "request.timeout.ms": 3000 }} }} ],
  "consumers": [ {{ "topic": "t", "poll_interval_ms": 100 }} ],
  "steps": [
    {{ "at_ms": 1000, "action": {{ "slow_disk": {{ "broker": 1, "factor": 100 }} }} }},
    {{ "at_ms": 9000, "action": {{ "crash_broker": {{ "broker": 1, "power_loss": true }} }} }},
    {{ "at_ms": 9500, "action": {{ "restart_broker": {{ "broker": 1 }} }} }}
  ]
}}"#
    ));
    let mut sim = ClusterSim::new(s, 9).expect("valid");
    sim.run_to_end().expect("runs");
    sim
}

#[test]
fn flush_messages_1_keeps_every_acknowledged_write_through_power_loss() {
    let unsynced = judge(&sole_replica_power_loss(None), true);
    assert!(
        unsynced.check.count(AnomalyKind::LostWrite) > 0,
        "without a flush policy the page cache since the last writeback is lost"
    );
    // The sole replica's power loss is the correlated failure Kafka does not protect against.
    assert!(unsynced
        .policy
        .partitions
        .iter()
        .any(|p| p.correlated_power_loss || p.sole_isr_power_loss));
    let flushed = judge(&sole_replica_power_loss(Some(1)), true);
    assert_eq!(flushed.check.count(AnomalyKind::LostWrite), 0);
    assert_eq!(flushed.check.count(AnomalyKind::InconsistentOffsets), 0);
    assert!(
        flushed.check.sends_acked > 1_000,
        "{}",
        flushed.check.sends_acked
    );
}

#[test]
fn a_slow_follower_disk_drops_it_from_the_isr_until_healed() {
    let seed = 2;
    let leader = leader_at(3_000, seed);
    let follower = if leader == 1 { 2 } else { 1 };
    let mut run = Run::new(
        three_broker_scenario(&format!(
            r#"[ {{ "at_ms": 3000, "action": {{ "slow_disk": {{ "broker": {follower}, "factor": 3000 }} }} }},
                 {{ "at_ms": 16000, "action": {{ "slow_disk": {{ "broker": {follower}, "factor": 1 }} }} }} ]"#
        )),
        seed,
    );
    run.run_until(15_900);
    assert!(run.has_line(&format!("broker {follower}'s disk is 3000 times slower")));
    let row = run.sim.controller().describe().remove(0);
    assert!(
        !row.isr.contains(&BrokerId(follower)),
        "a follower stuck on its disk falls out of the ISR: {:?}",
        row.isr
    );
    run.run_to_end();
    let row = run.sim.controller().describe().remove(0);
    assert!(row.isr.contains(&BrokerId(follower)), "{:?}", row.isr);
    assert!(!judge(&run.sim, true).has_bug());
}

/// One broker, segments of about 20 records, retention.ms the default 7 days, a consumer that
/// stops reading at 2 s; `skew` is the broker's clock offset from 4 s on.
fn retention_run(skew_ms: i64) -> Run {
    let s = scenario(&format!(
        r#"{{
  "scenario": "cluster", "duration_ms": 20000, "brokers": 1,
  "broker": {{ "log.retention.check.interval.ms": 1000 }},
  "topics": [ {{ "name": "t", "partitions": 1, "replication_factor": 1,
                 "config": {{ "segment.bytes": "2048" }} }} ],
  "producers": [ {{ "topic": "t", "keys": 1, "interval_ms_min": 10, "interval_ms_max": 20,
                    "stop_ms": 8000, "config": {{ "acks": "all" }} }} ],
  "consumers": [ {{ "topic": "t", "poll_interval_ms": 100 }} ],
  "steps": [
    {{ "at_ms": 2000, "action": "pause_consumers" }},
    {{ "at_ms": 4000, "action": {{ "skew_clock": {{ "node": 1, "offset_ms": {skew_ms} }} }} }},
    {{ "at_ms": 12000, "action": "resume_consumers" }}
  ]
}}"#
    ));
    let mut run = Run::new(s, 2);
    run.run_to_end();
    run
}

#[test]
fn a_broker_clock_eight_days_ahead_deletes_by_retention_ms_early() {
    let eight_days_ms = 8 * 24 * 3_600_000;
    let skewed = retention_run(eight_days_ms);
    assert!(skewed.has_line("skew node 1's wall clock by +691200000 ms"));
    assert!(
        skewed.has_line("retention deleted segment") && skewed.has_line("RetentionMs"),
        "records seconds old look 8 days old to the broker"
    );
    let resets = skewed.sim.retention_resets();
    assert!(
        !resets.is_empty(),
        "the consumer lost unread records to retention"
    );
    let report = judge(&skewed.sim, true);
    assert!(!report.has_bug(), "{:?}", report.check.bugs().next());
    // The same run with a true clock keeps everything.
    let true_clock = retention_run(0);
    assert!(!true_clock.has_line("retention deleted segment"));
    assert!(true_clock.sim.retention_resets().is_empty());
}

#[test]
fn a_producer_clock_two_hours_ahead_gets_invalid_timestamp() {
    let s = scenario(
        r#"{
  "scenario": "cluster", "duration_ms": 12000, "brokers": 1,
  "topics": [ { "name": "t", "partitions": 1, "replication_factor": 1 } ],
  "producers": [ { "topic": "t", "keys": 1, "interval_ms_min": 10, "interval_ms_max": 20,
                   "stop_ms": 8000, "config": { "acks": "all" } } ],
  "consumers": [ { "topic": "t", "poll_interval_ms": 100 } ],
  "steps": [
    { "at_ms": 3000, "action": { "skew_clock": { "node": 1000, "offset_ms": 7200000 } } },
    { "at_ms": 5000, "action": { "skew_clock": { "node": 1000, "offset_ms": 1800000 } } }
  ]
}"#,
    );
    let mut run = Run::new(s, 1);
    run.run_to_end();
    assert!(run.has_line("INVALID_TIMESTAMP: record timestamps"));
    assert!(run.has_line("failed: INVALID_TIMESTAMP"));
    // Half an hour ahead is inside message.timestamp.after.max.ms (1 h): accepted again.
    let failed_after_5s = run
        .lines
        .iter()
        .skip_while(|l| !l.contains("by +1800000 ms"))
        .filter(|l| l.contains("failed: INVALID_TIMESTAMP"))
        .count();
    let report = judge(&run.sim, true);
    assert!(report.check.sends_acked > 200);
    assert!(failed_after_5s < 5, "only batches already in flight fail");
    assert!(!report.has_bug());
}

#[test]
fn a_crash_resets_every_connection_of_the_broker() {
    let seed = 6;
    let old = leader_at(5_000, seed);
    // Restarted 1 ms later: messages in flight to the old process (network latency is 0.5-3
    // ms) would reach the new one if only client connections were reset.
    let mut run = Run::new(
        three_broker_scenario(&format!(
            r#"[ {{ "at_ms": 5000, "action": {{ "crash_broker": {{ "broker": {old} }} }} }},
                 {{ "at_ms": 5001, "action": {{ "restart_broker": {{ "broker": {old} }} }} }} ]"#
        )),
        seed,
    );
    run.run_until(4_999);
    let discarded_before = run.sim.network_stats().discarded_by_disconnect;
    run.run_until(5_100);
    // The controller, two brokers, one producer and one consumer: not only the clients.
    assert!(run.has_line(&format!("network: 5 connection(s) of node {old} reset")));
    let discarded = run.sim.network_stats().discarded_by_disconnect - discarded_before;
    assert!(
        discarded > 0,
        "messages in flight to or from the dead process are discarded"
    );
    run.run_to_end();
    assert!(!judge(&run.sim, true).has_bug());
}

#[test]
fn a_restarted_broker_acts_on_no_partition_before_its_metadata_catch_up() {
    let seed = 8;
    let old = leader_at(5_000, seed);
    let mut run = Run::new(
        three_broker_scenario(&format!(
            r#"[ {{ "at_ms": 5000, "action": {{ "crash_broker": {{ "broker": {old} }} }} }},
                 {{ "at_ms": 7000, "action": {{ "restart_broker": {{ "broker": {old} }} }} }} ]"#
        )),
        seed,
    );
    run.run_until(7_000);
    let mut caught_up_at = None;
    while caught_up_at.is_none() && run.sim.now() < SimTime::from_millis(20_000) {
        let broker = &run.sim.brokers()[old as usize - 1];
        assert!(
            broker.serving() || broker.replicas.is_empty(),
            "at {}: a broker still replaying metadata hosts replicas",
            run.sim.now()
        );
        if broker.serving() {
            caught_up_at = Some(run.sim.now());
        }
        run.step();
    }
    assert!(caught_up_at.is_some(), "the broker caught up");
    assert!(run.has_line(&format!("broker-{old}: caught up on metadata at offset")));
    run.run_to_end();
    let row = run.sim.controller().describe().remove(0);
    assert!(row.isr.contains(&BrokerId(old)));
    assert!(!judge(&run.sim, true).has_bug());
}
