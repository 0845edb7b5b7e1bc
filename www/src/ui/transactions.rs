//! The transactions panel: every transactional id as its coordinator has it (what `kafka-
//! transactions describe` prints), with the coordinator's state machine drawn and the state it
//! is in marked, how long the open transaction has run against `transaction.timeout.ms`, and
//! the partitions it wrote to.

use logsim::sim::cluster::view::{HangingView, TransactionView};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TransactionsProps {
    pub transactions: Vec<TransactionView>,
    #[prop_or_default]
    pub hanging: Vec<HangingView>,
}

/// The coordinator's states in the order a transaction passes them: the commit path on top,
/// the abort path below (PrepareEpochFence is how an InitProducerId fences an open one).
const COMMIT_PATH: &[&str] = &["Empty", "Ongoing", "PrepareCommit", "CompleteCommit"];
const ABORT_PATH: &[&str] = &["PrepareEpochFence", "PrepareAbort", "CompleteAbort"];

fn what(state: &str) -> &'static str {
    match state {
        "Empty" => "initialized, no transaction open",
        "Ongoing" => "a transaction is open: partitions added, records being written",
        "PrepareCommit" => "EndTxn(commit) is durable in __transaction_state; COMMIT markers are being written",
        "CompleteCommit" => "every partition has its COMMIT marker",
        "PrepareAbort" => "aborting (the producer asked, or the transaction timed out); ABORT markers are being written",
        "CompleteAbort" => "every partition has its ABORT marker",
        "PrepareEpochFence" => "a new InitProducerId fences the open transaction: it is aborted with a bumped epoch",
        "Dead" => "expired (transactional.id.expiration.ms)",
        _ => "",
    }
}

fn chips(path: &[&str], current: &str) -> Html {
    html! {
        <ol class="txn-path">
            { for path.iter().map(|state| {
                let on = *state == current;
                html! {
                    <li class={classes!("txn-state", on.then_some("current"))} aria-current={on.then_some("step")} title={what(state)}>
                        { *state }
                        if on { <span class="visually-hidden">{ " (current state)" }</span><span aria-hidden="true">{ " ●" }</span> }
                    </li>
                }
            }) }
        </ol>
    }
}

#[function_component(TransactionsPanel)]
pub fn transactions_panel(props: &TransactionsProps) -> Html {
    html! {
        <div class="transactions" data-testid="transactions" aria-label="Transactions">
            <h3>{ "Transactions " }<span class="muted small">{ "(kafka-transactions describe, at each transaction coordinator)" }</span></h3>
            { for props.hanging.iter().map(|h| html! {
                <p class="hanging" role="alert" data-testid={format!("hanging-{}", h.topic_partition)} data-first-offset={h.first_offset.to_string()}>
                    <strong>{ format!("⚠ Hanging transaction in {}", h.topic_partition) }</strong>
                    { format!(": producer id {} (epoch {}) has a transaction open there since offset {}, and no coordinator knows of it, so no marker will ever end it. The last stable offset is stuck at {}: read_committed consumers stop there for good (kafka-transactions find-hanging; an operator ends it with kafka-transactions abort). A late write of an ended transaction did this; transaction.partition.verification.enable refuses such writes (T-8).", h.producer_id, h.producer_epoch, h.first_offset, h.first_offset) }
                </p>
            }) }
            { for props.transactions.iter().map(|t| {
                let share = t.duration_ms.map(|d| (d as f64 / t.timeout_ms.max(1) as f64).min(1.0));
                html! {
                    <div class="txn-row" data-testid={format!("txn-{}", t.transactional_id)} data-state={t.state.clone()} data-epoch={t.producer_epoch.to_string()} data-producer-id={t.producer_id.to_string()} data-coordinator={t.coordinator.to_string()}>
                        <div class="txn-head">
                            <strong>{ t.transactional_id.clone() }</strong>
                            <span>{ format!("coordinator B{}", t.coordinator) }</span>
                            <span>{ format!("producer id {} · epoch {}", t.producer_id, t.producer_epoch) }</span>
                            <span class="muted">{ what(&t.state) }</span>
                        </div>
                        { chips(COMMIT_PATH, &t.state) }
                        { chips(ABORT_PATH, &t.state) }
                        <div class="txn-foot small">
                            if let (Some(d), Some(share)) = (t.duration_ms, share) {
                                <span class={classes!("txn-timer", (share > 0.8).then_some("late"))} title="The coordinator aborts the transaction when it runs past transaction.timeout.ms">
                                    <span class="bar"><span style={format!("width:{:.0}%", share * 100.0)}></span></span>
                                    { format!(" open {d} ms of transaction.timeout.ms={}", t.timeout_ms) }
                                </span>
                            } else {
                                <span class="muted">{ format!("transaction.timeout.ms={}", t.timeout_ms) }</span>
                            }
                            <span>{ if t.partitions.is_empty() { "no partitions".to_owned() } else { format!("partitions: {}", t.partitions.join(", ")) } }</span>
                        </div>
                    </div>
                }
            }) }
        </div>
    }
}
