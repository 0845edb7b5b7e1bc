//! The scenarios the app offers by name: the playground, and every drill of the `scenarios/`
//! folder (each with its expected outcome, checked natively in `tests/it/drills.rs`). Shared
//! links refer to these by name, so a link stays short; any other scenario travels whole.

use crate::sim::cluster::scenario::ClusterScenario;

/// (name, file text). The name is the file's stem.
const FILES: &[(&str, &str)] = &[
    (
        "playground",
        include_str!("../../scenarios/app/playground.json"),
    ),
    (
        "playground-acks1",
        include_str!("../../scenarios/app/playground-acks1.json"),
    ),
    ("groups", include_str!("../../scenarios/app/groups.json")),
    (
        "groups-eager-vs-cooperative",
        include_str!("../../scenarios/app/groups-eager-vs-cooperative.json"),
    ),
    (
        "transactions",
        include_str!("../../scenarios/app/transactions.json"),
    ),
    (
        "pipeline",
        include_str!("../../scenarios/app/pipeline.json"),
    ),
    (
        "d16-abort-without-seek",
        include_str!("../../scenarios/d16-abort-without-seek.json"),
    ),
    (
        "pipeline-coordinator-crash",
        include_str!("../../scenarios/pipeline-coordinator-crash.json"),
    ),
    (
        "d14-hanging-transaction",
        include_str!("../../scenarios/d14-hanging-transaction.json"),
    ),
    (
        "d14-verification-on",
        include_str!("../../scenarios/d14-verification-on.json"),
    ),
    (
        "d15-late-end-txn",
        include_str!("../../scenarios/d15-late-end-txn.json"),
    ),
    (
        "d15-late-end-txn-tv2",
        include_str!("../../scenarios/d15-late-end-txn-tv2.json"),
    ),
    (
        "early-read-uncommitted",
        include_str!("../../scenarios/early-read-uncommitted.json"),
    ),
    (
        "early-read-committed",
        include_str!("../../scenarios/early-read-committed.json"),
    ),
    (
        "d12-zombie-transactional-producer",
        include_str!("../../scenarios/d12-zombie-transactional-producer.json"),
    ),
    (
        "d13-producer-stall-past-transaction-timeout",
        include_str!("../../scenarios/d13-producer-stall-past-transaction-timeout.json"),
    ),
    (
        "d17-read-uncommitted-aborts",
        include_str!("../../scenarios/d17-read-uncommitted-aborts.json"),
    ),
    (
        "d21-transaction-coordinator-crash",
        include_str!("../../scenarios/d21-transaction-coordinator-crash.json"),
    ),
    (
        "d9-auto-commit-consumer-crash",
        include_str!("../../scenarios/d9-auto-commit-consumer-crash.json"),
    ),
    (
        "d10-eager-rebalance",
        include_str!("../../scenarios/d10-eager-rebalance.json"),
    ),
    (
        "d10-cooperative-rebalance",
        include_str!("../../scenarios/d10-cooperative-rebalance.json"),
    ),
    (
        "d11-stall-past-max-poll-interval",
        include_str!("../../scenarios/d11-stall-past-max-poll-interval.json"),
    ),
    (
        "d11-freeze-past-session-timeout",
        include_str!("../../scenarios/d11-freeze-past-session-timeout.json"),
    ),
    (
        "d21-group-coordinator-crash",
        include_str!("../../scenarios/d21-group-coordinator-crash.json"),
    ),
    (
        "d1-acks1-leader-crash",
        include_str!("../../scenarios/d1-acks1-leader-crash.json"),
    ),
    (
        "d1-acks-all-safe",
        include_str!("../../scenarios/d1-acks-all-safe.json"),
    ),
    (
        "d2-zombie-leader-acks1",
        include_str!("../../scenarios/d2-zombie-leader-acks1.json"),
    ),
    (
        "d2-zombie-leader-acks-all",
        include_str!("../../scenarios/d2-zombie-leader-acks-all.json"),
    ),
    (
        "d3-min-isr-1-leader-disk-loss",
        include_str!("../../scenarios/d3-min-isr-1-leader-disk-loss.json"),
    ),
    (
        "d4-unclean-election",
        include_str!("../../scenarios/d4-unclean-election.json"),
    ),
    (
        "d5-legacy-hw-truncation",
        include_str!("../../scenarios/d5-legacy-hw-truncation.json"),
    ),
    (
        "d5-leader-epoch-truncation",
        include_str!("../../scenarios/d5-leader-epoch-truncation.json"),
    ),
    (
        "d6-correlated-power-loss",
        include_str!("../../scenarios/d6-correlated-power-loss.json"),
    ),
    (
        "d7-retries-without-idempotence",
        include_str!("../../scenarios/d7-retries-without-idempotence.json"),
    ),
    (
        "d8-idempotent-failover",
        include_str!("../../scenarios/d8-idempotent-failover.json"),
    ),
    (
        "d8-six-in-flight",
        include_str!("../../scenarios/d8-six-in-flight.json"),
    ),
    (
        "d19-retention-before-consumption",
        include_str!("../../scenarios/d19-retention-before-consumption.json"),
    ),
    (
        "leader-dies-clients-follow",
        include_str!("../../scenarios/leader-dies-clients-follow.json"),
    ),
    (
        "preferred-leader-returns",
        include_str!("../../scenarios/preferred-leader-returns.json"),
    ),
    (
        "pause-leader",
        include_str!("../../scenarios/pause-leader.json"),
    ),
    (
        "slow-disk-follower",
        include_str!("../../scenarios/slow-disk-follower.json"),
    ),
    (
        "torn-write-leader-crash",
        include_str!("../../scenarios/torn-write-leader-crash.json"),
    ),
    (
        "flush-messages-power-loss",
        include_str!("../../scenarios/flush-messages-power-loss.json"),
    ),
    (
        "clock-skew-retention",
        include_str!("../../scenarios/clock-skew-retention.json"),
    ),
    (
        "clock-skew-producer-invalid-timestamp",
        include_str!("../../scenarios/clock-skew-producer-invalid-timestamp.json"),
    ),
];

/// The names the app lists, in order.
pub fn names() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(name, _)| *name)
}

/// The built-in scenario `name`, parsed and validated.
pub fn scenario(name: &str) -> Result<ClusterScenario, String> {
    let (_, text) = FILES
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| format!("there is no built-in scenario named {name:?}"))?;
    parse(text).map_err(|e| format!("built-in scenario {name}: {e}"))
}

/// Parses and validates a scenario file's text, with an error that says what is wrong.
pub fn parse(text: &str) -> Result<ClusterScenario, String> {
    let scenario: ClusterScenario =
        serde_json::from_str(text).map_err(|e| format!("not a valid scenario file: {e}"))?;
    scenario.validate()?;
    Ok(scenario)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn every_built_in_scenario_parses_and_validates() {
        for name in names() {
            let s = scenario(name).unwrap_or_else(|e| panic!("{e}"));
            assert!(!s.name.is_empty(), "{name} has a title");
        }
        let err = scenario("nope").err().unwrap_or_default();
        assert!(err.contains("nope"), "{err}");
        let err = parse("{\"scenario\": \"cluster\"}")
            .err()
            .unwrap_or_default();
        assert!(err.contains("missing field"), "{err}");
    }
}
