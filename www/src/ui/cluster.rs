//! The cluster picture: brokers (process state, disk, clock, their fault actions), the
//! producers and consumers with their configs and requests in flight, and the partitions. Each
//! partition shows every replica's log as offset cells (log start offset, high watermark, log
//! end offset, segment boundaries, the unsynced tail, the consumers' positions and the
//! checker's findings); hovering a cell shows its record. Past six partitions a heat map of
//! every partition and a broker-by-topic table take over, and the detailed list pages.

use super::controls::IntoCommand;
use super::on_screen::OnScreen;
use super::{Hovered, Msg, PAGE_PARTITIONS};
use crate::protocol::{HeatBlock, Snapshot, ToWorker};
use logsim::session::timeline::{Finding, LiveCheck};
use logsim::sim::cluster::scenario::Action;
use logsim::sim::cluster::view::RecordCard;
use logsim::sim::cluster::view::{
    BrokerState, BrokerView, ConsumerPosition, ConsumerView, PartitionView, ReplicaRole,
    ReplicaView, TxnSpanKind,
};
use std::rc::Rc;
use yew::prelude::*;

/// Offsets drawn per partition (the newest ones).
const CELLS: u64 = 36;
const CELL_W: f64 = 20.0;
const CELL_H: f64 = 22.0;
const LABEL_W: f64 = 128.0;
/// Vertical room per replica row: a label band above the cells and one below.
const ROW_H: f64 = CELL_H + 30.0;
/// The first row's top in the strip.
const ROW_TOP: f64 = 12.0;
/// The heat map of every partition appears once the detailed list pages.
const HEAT_ABOVE: u32 = PAGE_PARTITIONS;

#[derive(Properties, PartialEq)]
pub struct ClusterProps {
    pub snapshot: Rc<Snapshot>,
    pub check: Option<Rc<LiveCheck>>,
    pub send: Callback<ToWorker>,
    pub dispatch: Callback<Msg>,
    pub hovered: Option<Hovered>,
    pub records: Option<(Hovered, Rc<Vec<RecordCard>>)>,
    pub focus: Option<(String, u32)>,
    pub page: u32,
}

/// Consumer positions listed on the consumer's card; past this the cards of the partitions
/// drawn in detail carry them (a consumer of 1,000 partitions would fill the page).
const POSITIONS_SHOWN: usize = 12;

/// The positions a consumer's card lists: those of the partitions drawn in detail first.
fn shown_positions<'a>(
    c: &'a ConsumerView,
    s: &'a Snapshot,
) -> impl Iterator<Item = &'a ConsumerPosition> {
    let drawn = |q: &&ConsumerPosition| {
        s.partitions
            .iter()
            .any(|p| p.topic == c.topic && p.partition == q.partition)
    };
    let (mut first, rest): (Vec<_>, Vec<_>) = c.positions.iter().partition(drawn);
    first.extend(rest);
    first.into_iter().take(POSITIONS_SHOWN)
}

#[function_component(ClusterPanel)]
pub fn cluster_panel(props: &ClusterProps) -> Html {
    let s = &props.snapshot;
    let total = s.aggregate.partitions;
    let pages = total.div_ceil(PAGE_PARTITIONS).max(1);
    let page = props.page.min(pages - 1);
    let on_page = {
        let send = props.send.clone();
        let dispatch = props.dispatch.clone();
        move |p: u32| {
            let send = send.clone();
            let dispatch = dispatch.clone();
            Callback::from(move |_: MouseEvent| {
                dispatch.emit(Msg::Page(p));
                send.emit(ToWorker::Window {
                    first: p * PAGE_PARTITIONS,
                    count: PAGE_PARTITIONS,
                });
            })
        }
    };
    let findings: Vec<Finding> = props
        .check
        .as_ref()
        .map(|c| c.findings.clone())
        .unwrap_or_default();
    html! {
        <section class="card cluster" aria-labelledby="cluster-h">
            <div class="card-head">
                <h2 id="cluster-h">{ "Cluster" }</h2>
                <p class="muted small" data-testid="cluster-summary">
                    { format!("{} broker(s), {} partition(s): {} under-replicated, {} offline",
                        s.brokers.len(), total, s.aggregate.under_replicated, s.aggregate.offline) }
                </p>
            </div>
            <div class="brokers" role="list" aria-label="Brokers">
                { for s.brokers.iter().map(|b| html! {
                    <BrokerCard broker={b.clone()} send={props.send.clone()} topics={s.topics.iter().map(|t| (t.name.clone(), t.partitions)).collect::<Vec<_>>()} />
                }) }
            </div>
            <Clients snapshot={s.clone()} send={props.send.clone()} />
            if total > HEAT_ABOVE {
                <HeatMap snapshot={s.clone()} dispatch={props.dispatch.clone()} send={props.send.clone()} />
            }
            if !s.transactions.is_empty() || !s.hanging_transactions.is_empty() {
                <super::transactions::TransactionsPanel transactions={s.transactions.clone()} hanging={s.hanging_transactions.clone()} />
            }
            <Legend transactions={!s.transactions.is_empty() || s.producers.iter().any(|p| p.transaction.is_some())} />
            <div class="partitions">
                { for s.partitions.iter().map(|p| {
                    let focused = props.focus.as_ref().is_some_and(|(t, n)| *t == p.topic && *n == p.partition);
                    let mine: Vec<Finding> = findings.iter().filter(|f| f.topic == p.topic && f.partition == p.partition).cloned().collect();
                    html! {
                        <OnScreen key={format!("{}-{}", p.topic, p.partition)} gate={s.playing}>
                        <PartitionCard
                            partition={p.clone()}
                            consumers={s.consumers.iter().filter(|c| c.topic == p.topic).filter_map(|c| c.positions.iter().find(|q| q.partition == p.partition).map(|q| (c.index, q.offset))).collect::<Vec<_>>()}
                            committed={s.groups.iter().flat_map(|g| g.rows.iter().filter(|r| r.topic == p.topic && r.partition == p.partition).filter_map(|r| r.current_offset.map(|o| (g.group_id.clone(), o.max(0) as u64)))).collect::<Vec<_>>()}
                            owners={s.groups.iter().flat_map(|g| g.rows.iter().filter(|r| r.topic == p.topic && r.partition == p.partition).filter_map(|r| r.consumer.map(|c| (g.group_id.clone(), c)))).collect::<Vec<_>>()}
                            findings={mine}
                            focused={focused}
                            send={props.send.clone()}
                            dispatch={props.dispatch.clone()}
                            hovered={props.hovered.clone()}
                            records={props.records.clone()}
                        />
                        </OnScreen>
                    }
                }) }
            </div>
            if pages > 1 {
                <nav class="pager" aria-label="Partition pages">
                    <button class="secondary" disabled={page == 0} onclick={on_page(page.saturating_sub(1))}>{ "◀ Previous" }</button>
                    <span>{ format!("partitions {}–{} of {}", page * PAGE_PARTITIONS, ((page + 1) * PAGE_PARTITIONS).min(total) - 1, total) }</span>
                    <button class="secondary" disabled={page + 1 >= pages} onclick={on_page(page + 1)}>{ "Next ▶" }</button>
                </nav>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct BrokerProps {
    broker: BrokerView,
    send: Callback<ToWorker>,
    topics: Vec<(String, u32)>,
}

fn state_text(state: BrokerState) -> (&'static str, &'static str) {
    match state {
        BrokerState::Up => ("up", "Up"),
        BrokerState::Starting => ("starting", "Starting"),
        BrokerState::Fenced => ("fenced", "Fenced"),
        BrokerState::Paused => ("paused", "Paused"),
        BrokerState::Crashed => ("crashed", "Crashed"),
    }
}

fn bytes_text(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1 << 20))
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

#[function_component(BrokerCard)]
fn broker_card(props: &BrokerProps) -> Html {
    let b = &props.broker;
    let id = b.id;
    let (class, label) = state_text(b.state);
    let act = |action: Action| {
        props.send.reform(move |e: MouseEvent| {
            close_menu(&e);
            action.clone().into_command()
        })
    };
    let alive = b.state != BrokerState::Crashed;
    html! {
        <div class={classes!("broker", class)} role="listitem" data-testid={format!("broker-{id}")} data-state={label.to_lowercase()}>
            <div class="broker-head">
                <span class="broker-name">{ format!("Broker {id}") }</span>
                <span class={classes!("state", class)}>{ state_icon(b.state) }{ " " }{ label }</span>
            </div>
            <dl class="facts">
                <dt>{ "Leads" }</dt><dd>{ format!("{} of {}", b.leaders, b.replicas) }</dd>
                <dt>{ "Unsynced" }</dt><dd title="Written to the page cache, not yet synced to disk: a power loss takes it">{ bytes_text(b.unsynced_bytes) }</dd>
                if b.slow_disk_factor > 1 { <dt>{ "Disk" }</dt><dd class="warn-text">{ format!("{}x slow", b.slow_disk_factor) }</dd> }
                if b.clock_skew_ms != 0 { <dt>{ "Clock" }</dt><dd class="warn-text">{ format!("{:+} s", b.clock_skew_ms / 1000) }</dd> }
                <dt>{ "Runs" }</dt><dd title="Process incarnations">{ b.incarnation }</dd>
            </dl>
            <details class="menu">
                <summary aria-label={format!("Faults for broker {id}")} data-testid={format!("broker-{id}-menu")}>{ "Faults ▾" }</summary>
                <div class="menu-items">
                    if alive {
                        <button data-testid={format!("crash-{id}")} onclick={act(Action::CrashBroker { broker: id, power_loss: false, torn_write: false })}>{ "Crash (kill the process)" }</button>
                        <button onclick={act(Action::CrashBroker { broker: id, power_loss: true, torn_write: false })}>{ "Power loss (lose the unsynced tail)" }</button>
                        <button onclick={act(Action::CrashBroker { broker: id, power_loss: true, torn_write: true })}>{ "Power loss mid-write (torn write)" }</button>
                        if b.state == BrokerState::Paused {
                            <button data-testid={format!("resume-{id}")} onclick={act(Action::ResumeBroker { broker: id })}>{ "Resume (SIGCONT)" }</button>
                        } else {
                            <button data-testid={format!("pause-{id}")} onclick={act(Action::PauseBroker { broker: id })}>{ "Pause (SIGSTOP)" }</button>
                        }
                        if b.slow_disk_factor > 1 {
                            <button onclick={act(Action::SlowDisk { broker: id, factor: 1 })}>{ "Heal the disk" }</button>
                        } else {
                            <button onclick={act(Action::SlowDisk { broker: id, factor: 100 })}>{ "Slow the disk 100x" }</button>
                        }
                        if b.clock_skew_ms == 0 {
                            <button onclick={act(Action::SkewClock { node: id, offset_ms: 3_600_000 })}>{ "Skew the clock +1 h" }</button>
                        } else {
                            <button onclick={act(Action::SkewClock { node: id, offset_ms: 0 })}>{ "Fix the clock" }</button>
                        }
                        <button onclick={act(Action::Isolate { node: id })}>{ "Isolate from the network" }</button>
                    } else {
                        <button data-testid={format!("restart-{id}")} onclick={act(Action::RestartBroker { broker: id })}>{ "Restart" }</button>
                    }
                </div>
            </details>
            if !alive {
                <button class="primary small-button" data-testid={format!("restart-{id}-quick")} onclick={act(Action::RestartBroker { broker: id })}>{ "Restart" }</button>
            }
        </div>
    }
}

/// Closes the fault menu (`<details>`) a menu item was clicked in.
fn close_menu(e: &MouseEvent) {
    use wasm_bindgen::JsCast;
    if let Some(details) = e
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("details").ok().flatten())
    {
        let _ = details.remove_attribute("open");
    }
}

fn state_icon(state: BrokerState) -> &'static str {
    match state {
        BrokerState::Up => "●",
        BrokerState::Starting => "◐",
        BrokerState::Fenced => "⊘",
        BrokerState::Paused => "❚❚",
        BrokerState::Crashed => "✕",
    }
}

#[derive(Properties, PartialEq)]
struct ClientsProps {
    snapshot: Rc<Snapshot>,
    send: Callback<ToWorker>,
}

#[function_component(Clients)]
fn clients(props: &ClientsProps) -> Html {
    let s = &props.snapshot;
    let stop = props
        .send
        .reform(|_: MouseEvent| Action::StopProducers.into_command());
    let pause = props
        .send
        .reform(|_: MouseEvent| Action::PauseConsumers.into_command());
    let resume = props
        .send
        .reform(|_: MouseEvent| Action::ResumeConsumers.into_command());
    let any_paused = s.consumers.iter().any(|c| c.paused);
    html! {
        <div class="clients">
            { for s.producers.iter().map(|p| {
                let in_flight: u32 = p.in_flight.iter().map(|(_, n)| n).sum();
                html! {
                    <div class="client producer" data-testid={format!("producer-{}", p.index)}>
                        <div class="client-head">
                            <span class="client-name">{ format!("Producer {} → {}", p.index, p.topic) }</span>
                            if p.stopped { <span class="state crashed">{ "stopped" }</span> }
                            if let Some(fatal) = p.transaction.as_ref().and_then(|t| t.fatal.clone()) {
                                <span class="state crashed" data-testid={format!("producer-{}-fenced", p.index)} title={format!("{fatal}: a newer instance with this transactional.id (or the coordinator's timeout abort) bumped the epoch; this producer must be closed")}>{ format!("fenced: {fatal}") }</span>
                            }
                        </div>
                        <div class="config">
                            <code>{ format!("acks={}", p.acks) }</code>
                            <code>{ format!("enable.idempotence={}", p.enable_idempotence) }</code>
                            <code>{ format!("linger.ms={}", p.linger_ms) }</code>
                            <code>{ format!("max.in.flight={}", p.max_in_flight_requests_per_connection) }</code>
                            if let Some(t) = &p.transaction {
                                <code>{ format!("transactional.id={}", t.transactional_id) }</code>
                            }
                        </div>
                        if let Some(t) = &p.transaction {
                            <div class="txn-client" data-testid={format!("producer-{}-txn", p.index)} data-state={t.state.clone()} data-epoch={t.producer_epoch.to_string()}>
                                { format!("producer id {} · epoch {} · {} · {} committed, {} aborted{}", t.producer_id, t.producer_epoch, t.state, t.committed, t.aborted,
                                    t.coordinator.map(|c| format!(" · coordinator B{c}")).unwrap_or_default()) }
                                if t.fatal.is_none() && !p.stopped {
                                    <button class="link tiny" data-testid={format!("freeze-producer-{}", p.index)}
                                        title="Freeze this producer's process for 10 s (a GC pause): its open transaction times out, or a new instance with its transactional.id fences it"
                                        onclick={props.send.reform({ let producer = p.index; move |_: MouseEvent| Action::FreezeProducer { producer, duration_ms: 10_000 }.into_command() })}>{ "freeze 10 s" }</button>
                                }
                            </div>
                        }
                        <div class="flight" aria-label="Requests in flight">
                            { format!("sent {} · in flight {}", p.sent, in_flight) }
                            { for p.in_flight.iter().map(|(b, n)| {
                                let drop = props.send.reform({
                                    let (from, to) = (p.node, *b);
                                    move |_: MouseEvent| Action::DropInFlight { from, to }.into_command()
                                });
                                html! {
                                    <span class="in-flight">
                                        <span class="arrow" title={format!("{n} produce request(s) in flight to broker {b}")}>{ format!(" →B{b}×{n}") }</span>
                                        <button class="link tiny" data-testid={format!("drop-{}-{b}", p.node)} title={format!("Lose the {n} request(s) on the wire to broker {b}")} onclick={drop}>{ "drop" }</button>
                                    </span>
                                }
                            }) }
                        </div>
                        if !p.errors.is_empty() {
                            <div class="errors" data-testid={format!("producer-{}-errors", p.index)}>
                                { for p.errors.iter().map(|(name, n)| html! { <span class="error-chip">{ format!("{name} ×{n}") }</span> }) }
                            </div>
                        }
                    </div>
                }
            }) }
            { for s.consumers.iter().map(|c| html! {
                <div class="client consumer" data-testid={format!("consumer-{}", c.index)}>
                    <div class="client-head">
                        <span class="client-name">{ format!("Consumer {} ← {}", c.index, c.topic) }</span>
                        if c.paused { <span class="state paused">{ "paused" }</span> }
                    </div>
                    <div class="config">
                        if c.isolation_level == "read_committed" || s.producers.iter().any(|p| p.transaction.is_some()) {
                            <code data-testid={format!("consumer-{}-isolation", c.index)}>{ format!("isolation.level={}", c.isolation_level) }</code>
                        }
                        { for shown_positions(c, s).map(|q| html! {
                            <code title={format!("state: {}", q.state)}>{ format!("p{} @ {}{}", q.partition, q.offset, if q.state == "fetching" { String::new() } else { format!(" ({})", q.state) }) }</code>
                        }) }
                        if c.positions.is_empty() {
                            <span class="muted small">{ if !c.alive { "not running" } else if c.member.is_some() { "no partition assigned now (see the group panel)" } else { "no partition" } }</span>
                        }
                        if c.positions.len() > POSITIONS_SHOWN {
                            <span class="muted small">{ format!("and {} more partition(s) (their positions are marked C{} on the partition cards)", c.positions.len() - POSITIONS_SHOWN.min(c.positions.len()), c.index) }</span>
                        }
                    </div>
                </div>
            }) }
            <div class="client-actions">
                if !s.producers.is_empty() {
                    <button class="secondary" onclick={stop}>{ "Stop producers" }</button>
                }
                if !s.consumers.is_empty() {
                    if any_paused {
                        <button class="secondary" onclick={resume}>{ "Resume consumers" }</button>
                    } else {
                        <button class="secondary" data-testid="pause-consumers" onclick={pause}>{ "Stall consumers" }</button>
                    }
                }
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct LegendProps {
    /// Explain the transaction cells and the LSO too.
    transactions: bool,
}

#[function_component(Legend)]
fn legend(props: &LegendProps) -> Html {
    html! {
        <div class="legend" aria-label="Legend">
            <span><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" class="cell committed" /></svg>{ " below the high watermark (committed)" }</span>
            <span><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" class="cell uncommitted" /></svg>{ " above it (not yet replicated to the ISR)" }</span>
            <span><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" class="cell committed" /><rect y="9" width="14" height="5" class="unsynced-bar" /></svg>{ " dark foot: not yet synced to disk (a power loss takes it)" }</span>
            if props.transactions {
                <span data-testid="legend-transactions">
                    <svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" class="cell txn-open" /></svg>{ " open transaction  " }
                    <svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" class="cell txn-aborted" /><path d="M0 7h14" class="txn-strike" /></svg>{ " aborted (read_committed skips it)  " }
                    <svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" class="cell committed" /><rect width="14" height="3" class="txn-committed-bar" /></svg>{ " committed transaction  " }
                    <svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" class="cell marker-commit" /></svg>{ " C/A: COMMIT/ABORT marker  " }
                    <b class="mark lso-text">{ "LSO" }</b>{ " last stable offset (read_committed reads up to it)" }
                </span>
            }
            <span><b class="mark hw-text">{ "HW" }</b>{ " high watermark  " }<b class="mark leo-text">{ "LEO" }</b>{ " log end offset  " }<b class="mark start-text">{ "start" }</b>{ " log start offset  " }<b class="mark">{ "┃" }</b>{ " segment start  " }<b class="mark consumer-text">{ "C0" }</b>{ " consumer position  " }<b class="mark committed-text">{ "✓g" }</b>{ " offset committed by group g  " }<b class="mark bug-text">{ "!" }</b>{ " checker finding" }</span>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct PartitionProps {
    partition: PartitionView,
    consumers: Vec<(u32, u64)>,
    /// Committed offsets of the groups that read the partition: (group id, offset).
    committed: Vec<(String, u64)>,
    /// The group members that own the partition: (group id, consumer index).
    owners: Vec<(String, u32)>,
    findings: Vec<Finding>,
    focused: bool,
    send: Callback<ToWorker>,
    dispatch: Callback<Msg>,
    hovered: Option<Hovered>,
    records: Option<(Hovered, Rc<Vec<RecordCard>>)>,
}

#[function_component(PartitionCard)]
fn partition_card(props: &PartitionProps) -> Html {
    let p = &props.partition;
    let name = format!("{}-{}", p.topic, p.partition);
    let end = p
        .replica_logs
        .iter()
        .map(|r| r.log_end_offset)
        .max()
        .unwrap_or(0)
        .max(p.log_end_offset);
    let first = window_start(end);
    let leader_lso = p
        .replica_logs
        .iter()
        .find(|r| r.role == ReplicaRole::Leader)
        .filter(|r| transactional(r))
        .map(|r| r.last_stable_offset);
    let rows = p.replica_logs.len() as f64;
    let width = LABEL_W + CELLS as f64 * CELL_W + 40.0;
    let height = rows * ROW_H + 4.0;
    let leader = p.leader.map_or("none".to_owned(), |l| l.to_string());
    let isr = p
        .isr
        .iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let state = if p.offline() {
        ("offline", "OFFLINE: no leader")
    } else if p.leader_unreachable {
        ("offline", "LEADER DOWN: not fenced yet")
    } else if p.under_replicated() {
        ("under", "under-replicated")
    } else {
        ("ok", "fully replicated")
    };
    let act = |action: Action| {
        props.send.reform(move |e: MouseEvent| {
            close_menu(&e);
            action.clone().into_command()
        })
    };
    // The strip is a few shapes per replica, not an element per offset, so the cell under the
    // mouse is found from the pointer's position; one listener serves the whole strip.
    let rows: Rc<Vec<(u32, u64, u64)>> = Rc::new(
        p.replica_logs
            .iter()
            .map(|r| {
                if r.role == ReplicaRole::Offline {
                    (r.broker, 0, 0)
                } else {
                    (r.broker, r.log_start_offset, r.log_end_offset)
                }
            })
            .collect(),
    );
    // Shows one cell's record (hover or keyboard): the highlight and the record card.
    let select = {
        let topic = p.topic.clone();
        let partition = p.partition;
        let current = props.hovered.clone();
        let send = props.send.clone();
        let dispatch = props.dispatch.clone();
        Rc::new(move |broker: u32, offset: u64| {
            let hovered = Hovered {
                topic: topic.clone(),
                partition,
                broker,
                offset,
            };
            if current.as_ref() == Some(&hovered) {
                return;
            }
            dispatch.emit(Msg::Hover(Some(hovered)));
            send.emit(ToWorker::Records {
                topic: topic.clone(),
                partition,
                broker,
                from: offset,
                to: offset + 1,
            });
        })
    };
    let on_cell = {
        let rows = rows.clone();
        let select = select.clone();
        Callback::from(move |e: MouseEvent| {
            if let Some((broker, offset)) = cell_under(&e, &rows, first) {
                select(broker, offset);
            }
        })
    };
    // The keyboard reads the cells too: focus the strip (Tab), then the arrows move between
    // offsets (left, right) and replicas (up, down); Escape closes the card.
    let mine = props
        .hovered
        .as_ref()
        .filter(|h| h.topic == p.topic && h.partition == p.partition)
        .map(|h| (h.broker, h.offset));
    let on_key = {
        let rows = rows.clone();
        let select = select.clone();
        let dispatch = props.dispatch.clone();
        Callback::from(move |e: KeyboardEvent| {
            let key = e.key();
            if key == "Escape" {
                dispatch.emit(Msg::Hover(None));
                return;
            }
            let Some(row) = mine
                .and_then(|(b, _)| rows.iter().position(|r| r.0 == b))
                .or_else(|| rows.iter().position(|r| r.2 > r.1))
            else {
                return;
            };
            let (dr, dx): (i64, i64) = match key.as_str() {
                "ArrowLeft" => (0, -1),
                "ArrowRight" => (0, 1),
                "ArrowUp" => (-1, 0),
                "ArrowDown" => (1, 0),
                _ => return,
            };
            e.prevent_default();
            let row = (row as i64 + dr).clamp(0, rows.len() as i64 - 1) as usize;
            let (broker, start, end) = rows[row];
            let (lo, hi) = (start.max(first), end.min(first + CELLS));
            if lo >= hi {
                return;
            }
            let offset = match mine {
                Some((_, o)) => o.saturating_add_signed(dx),
                None => hi - 1,
            };
            select(broker, offset.clamp(lo, hi - 1));
        })
    };
    let on_focus = {
        let rows = rows.clone();
        let select = select.clone();
        Callback::from(move |_: FocusEvent| {
            if mine.is_some() {
                return;
            }
            // The newest offset of the first replica with records (the leader is listed first).
            if let Some(&(broker, start, end)) = rows.iter().find(|r| r.2 > r.1.max(first)) {
                select(broker, (end - 1).max(start));
            }
        })
    };
    let card_ref = use_node_ref();
    {
        let card_ref = card_ref.clone();
        use_effect_with(props.focused, move |focused| {
            if *focused {
                if let Some(el) = card_ref.cast::<web_sys::Element>() {
                    el.scroll_into_view();
                }
            }
        });
    }
    html! {
        <article ref={card_ref} class={classes!("partition", props.focused.then_some("focused"))}
            data-testid={format!("partition-{name}")}
            data-leader={leader.clone()} data-isr={isr.clone()} data-leader-epoch={p.leader_epoch.to_string()}
            data-hw={p.high_watermark.to_string()} data-leo={p.log_end_offset.to_string()}
            data-log-start={p.replica_logs.iter().find(|r| r.role == ReplicaRole::Leader).map_or(0, |r| r.log_start_offset).to_string()}
            data-findings={props.findings.len().to_string()}
            aria-label={format!("Partition {name}")}>
            <header class="partition-head">
                <h3>{ name.clone() }</h3>
                <span>{ format!("leader {leader}") }</span>
                <span>{ format!("epoch {}", p.leader_epoch) }</span>
                <span>{ format!("ISR [{isr}]") }</span>
                if p.leader_unreachable {
                    <span data-testid={format!("last-known-{name}")} title="The leader's broker is down: its high watermark and log end offset died with it. These are the highest its live replicas hold, until the controller fences the broker (broker.session.timeout.ms) and elects a new leader.">{ format!("last known: HW ≥ {} · LEO ≥ {} (leader unreachable)", p.high_watermark, p.log_end_offset) }</span>
                } else if let Some(lso) = leader_lso {
                    <span data-testid={format!("lso-{name}")}>{ format!("HW {} · LSO {} · LEO {}", p.high_watermark, lso, p.log_end_offset) }</span>
                } else {
                    <span>{ format!("HW {} · LEO {}", p.high_watermark, p.log_end_offset) }</span>
                }
                <span class={classes!("badge", state.0)}>{ state.1 }</span>
                { for props.owners.iter().map(|(g, c)| html! {
                    <span class={classes!("owner-chip", format!("owner-{}", c % 8))} data-testid={format!("owner-{name}")} title={format!("Consumer {c} of group {g} owns this partition")}>{ format!("C{c} · {g}") }</span>
                }) }
                if p.leader.is_some() {
                    <details class="menu partition-menu">
                        <summary data-testid={format!("partition-{name}-menu")} aria-label={format!("Faults for partition {name}")}>{ "Faults ▾" }</summary>
                        <div class="menu-items">
                            <button data-testid={format!("crash-leader-{name}")} onclick={act(Action::CrashLeader { topic: p.topic.clone(), partition: p.partition, power_loss: false, torn_write: false })}>{ "Crash its leader" }</button>
                            <button data-testid={format!("cut-leader-{name}")} onclick={act(Action::PartitionLeaderFromFollowers { topic: p.topic.clone(), partition: p.partition })}>{ "Cut its leader off from the followers" }</button>
                            <button data-testid={format!("zombie-leader-{name}")} onclick={act(Action::PartitionLeaderFromCluster { topic: p.topic.clone(), partition: p.partition })}>{ "Cut its leader off from the cluster (zombie)" }</button>
                        </div>
                    </details>
                }
            </header>
            <svg class="log-strip" tabindex="0" onmousemove={on_cell} onkeydown={on_key} onfocus={on_focus}
                aria-description="Tab here, then use the arrow keys to read the records; Escape closes the record card" viewBox={format!("0 0 {width} {height}")} width={width.to_string()} height={height.to_string()}
                role="img" aria-label={format!("Replica logs of {name}: offsets {first} to {end}")}>
                { for p.replica_logs.iter().enumerate().map(|(i, r)| replica_row(props, r, i as f64 * ROW_H + ROW_TOP, first, end)) }
            </svg>
            if let Some(card) = hover_card(props, &p.topic, p.partition) {
                { card }
            }
            if !props.findings.is_empty() {
                <ul class="findings-inline">
                    { for props.findings.iter().take(4).map(|f| html! {
                        <li class={if f.legal_because.is_some() { "legal" } else { "bug" }}>
                            { format!("{} {}{}: {}", if f.legal_because.is_some() { "⚠" } else { "✖" }, f.kind, f.offset.map(|o| format!(" at offset {o}")).unwrap_or_default(),
                                f.legal_because.clone().map(|w| format!("legal ({w})")).unwrap_or_else(|| "BUG: the configuration does not allow this".into())) }
                        </li>
                    }) }
                </ul>
            }
        </article>
    }
}

/// The first offset drawn when the log ends at `end`: the newest `CELLS` offsets, with the start
/// moved in steps of `CELLS / 3`. Between steps a new record fills the next empty cell and the
/// others stay where they are, so a snapshot changes a few cells instead of sliding all of
/// them (what a reader can follow, and what keeps a frame's DOM work small).
fn window_start(end: u64) -> u64 {
    const STEP: u64 = CELLS / 3;
    end.saturating_sub(CELLS).div_ceil(STEP) * STEP
}

/// The broker and offset of the cell a mouse event happened in.
/// The broker and offset of the cell under the pointer: its column from the pointer's x, its
/// replica row from y (`rows`: each replica's broker, log start offset and log end offset,
/// top to bottom). `None` between cells or off the log.
fn cell_under(e: &MouseEvent, rows: &[(u32, u64, u64)], first: u64) -> Option<(u32, u64)> {
    use wasm_bindgen::JsCast;
    // Yew delegates events from its root, so `current_target` is not the strip: find it.
    let target = e.target()?.dyn_into::<web_sys::Element>().ok()?;
    let svg = target.closest("svg.log-strip").ok()??;
    let rect = svg.get_bounding_client_rect();
    let width: f64 = svg.get_attribute("width")?.parse().ok()?;
    if rect.width() <= 0.0 {
        return None;
    }
    let scale = width / rect.width();
    let x = (f64::from(e.client_x()) - rect.left()) * scale - LABEL_W;
    let y = (f64::from(e.client_y()) - rect.top()) * scale - ROW_TOP;
    if x < 0.0 || y < 0.0 {
        return None;
    }
    let row = (y / ROW_H) as usize;
    if y - row as f64 * ROW_H > CELL_H {
        return None;
    }
    let (broker, start, end) = *rows.get(row)?;
    let offset = first + (x / CELL_W) as u64;
    (offset >= start && offset < end && offset < first + CELLS).then_some((broker, offset))
}

/// `M x y h w v h h -w z` for each cell of `offsets` in a strip starting at `first`: many
/// cells, one SVG element.
fn cells_path(offsets: std::ops::Range<u64>, first: u64, y: f64, top: f64, height: f64) -> String {
    let mut d = String::new();
    for offset in offsets {
        let x = LABEL_W + (offset - first) as f64 * CELL_W;
        d.push_str(&format!(
            "M{x} {}h{}v{height}h-{}z",
            y + top,
            CELL_W - 2.0,
            CELL_W - 2.0
        ));
    }
    d
}

fn replica_row(props: &PartitionProps, r: &ReplicaView, y: f64, first: u64, end: u64) -> Html {
    let p = &props.partition;
    let role = match r.role {
        ReplicaRole::Leader => "leader",
        ReplicaRole::Follower => "follower",
        ReplicaRole::Offline => "offline",
    };
    let label = format!(
        "B{} {}{}",
        r.broker,
        role,
        if r.in_isr { " ✓ISR" } else { "" }
    );
    let x0 = LABEL_W;
    // The cells of one replica as three paths (below the HW, above it, the unsynced feet) and a
    // few texts: a snapshot changes a handful of attributes per replica, where an element per
    // offset made the page rebuild and re-place thousands of them (B5).
    let cells: Html = if r.role == ReplicaRole::Offline {
        html! {}
    } else {
        let last = first + CELLS;
        let from = first.max(r.log_start_offset);
        let to = r.log_end_offset.min(last).max(from);
        let hw = r.high_watermark.clamp(from, to);
        let synced = r.synced_offset.clamp(from, to);
        let hovered = props
            .hovered
            .as_ref()
            .filter(|h| h.topic == p.topic && h.partition == p.partition && h.broker == r.broker)
            .map(|h| h.offset)
            .filter(|o| (from..to).contains(o));
        html! {
            <>
                <path class="cell committed" d={cells_path(from..hw, first, y, 0.0, CELL_H)} />
                <path class="cell uncommitted" d={cells_path(hw..to, first, y, 0.0, CELL_H)} />
                { txn_overlay(r, first, from, to, y) }
                <path class="unsynced-bar" d={cells_path(synced..to, first, y, CELL_H - 5.0, 5.0)} />
                if let Some(o) = hovered {
                    <path class="cell-hover" d={cells_path(o..o + 1, first, y, 0.0, CELL_H)} />
                }
                { for (from..to).filter(|o| ((o - first).is_multiple_of(5) || o + 1 == r.log_end_offset) && !is_marker(r, *o)).map(|o| {
                    let x = LABEL_W + (o - first) as f64 * CELL_W;
                    let class = if o >= r.high_watermark { "cell-text above-hw" } else if on_light_cell(r, o) { "cell-text on-light" } else { "cell-text" };
                    html! { <text x={(x + (CELL_W - 2.0) / 2.0).to_string()} y={(y + 12.5).to_string()} class={class} text-anchor="middle">{ (o % 1000).to_string() }</text> }
                }) }
                { for props.findings.iter().filter_map(|f| f.offset.filter(|o| (from..to).contains(o)).map(|o| (o, f))).map(|(o, f)| {
                    let x = LABEL_W + (o - first) as f64 * CELL_W;
                    html! { <text x={(x + CELL_W - 6.0).to_string()} y={(y + 8.0).to_string()} class={if f.legal_because.is_some() { "finding legal" } else { "finding bug" }}>{ "!" }</text> }
                }) }
            </>
        }
    };
    // Labels above the cells (LEO, consumers) or below them (HW, LSO), so equal offsets do not
    // print over each other.
    // A label starts right of its line, or with `left` ends left of it: consumer positions are
    // labelled on the left, so a consumer one offset behind the LEO does not print over it.
    let mark = |offset: u64,
                text: &str,
                class: &'static str,
                above: bool,
                dx: f64,
                left: bool|
     -> Html {
        if offset < first || offset > end {
            return html! {};
        }
        let x = x0 + (offset - first) as f64 * CELL_W - 1.0;
        let ty = if above { y - 3.0 } else { y + CELL_H + 10.0 };
        let (tx, anchor) = if left {
            (x - 2.0 - dx, "end")
        } else {
            (x + 2.0 + dx, "start")
        };
        html! {
            <g class={class}>
                <line x1={x.to_string()} x2={x.to_string()} y1={(y - 2.0).to_string()} y2={(y + CELL_H + 2.0).to_string()} />
                <text x={tx.to_string()} y={ty.to_string()} text-anchor={anchor}>{ text.to_owned() }</text>
            </g>
        }
    };
    let segments: Html = r
        .segment_base_offsets
        .iter()
        .filter(|b| **b > first && **b < end)
        .map(|b| {
            let x = x0 + (*b - first) as f64 * CELL_W - 1.0;
            html! { <line class="segment" x1={x.to_string()} x2={x.to_string()} y1={(y - 3.0).to_string()} y2={(y + CELL_H + 3.0).to_string()} /> }
        })
        .collect();
    let consumers: Html = if r.role == ReplicaRole::Leader {
        props
            .consumers
            .iter()
            .map(|(c, o)| mark(*o, &format!("C{c}"), "consumer-mark", true, 0.0, true))
            .chain(props.committed.iter().map(|(g, o)| {
                let short: String = g.chars().take(10).collect();
                mark(*o, &format!("✓{short}"), "committed-mark", false, 0.0, true)
            }))
            .collect()
    } else {
        html! {}
    };
    html! {
        <g class={classes!("replica", role)} data-testid={format!("replica-{}-{}-{}", p.topic, p.partition, r.broker)} data-broker={r.broker.to_string()}
            data-role={role} data-in-isr={r.in_isr.to_string()} data-hw={r.high_watermark.to_string()} data-leo={r.log_end_offset.to_string()}>
            <text x="2" y={(y + 15.0).to_string()} class={classes!("replica-label", role)}>{ label }</text>
            if r.role == ReplicaRole::Offline {
                <text x={(x0 + 4.0).to_string()} y={(y + 15.0).to_string()} class="offline-text">{ "broker down: no log to show" }</text>
            }
            { cells }
            { segments }
            if r.role != ReplicaRole::Offline {
                { mark(r.log_start_offset, "start", "start-mark", false, 0.0, false) }
                { mark(r.high_watermark, "HW", "hw-mark", false, if r.high_watermark == r.log_start_offset { 26.0 } else { 0.0 }, false) }
                if transactional(r) {
                    { mark(r.last_stable_offset, "LSO", "lso-mark", false, if r.last_stable_offset == r.high_watermark { if r.high_watermark == r.log_start_offset { 46.0 } else { 20.0 } } else if r.last_stable_offset == r.log_start_offset { 26.0 } else { 0.0 }, false) }
                }
                { mark(r.log_end_offset, "LEO", "leo-mark", true, 0.0, false) }
                { consumers }
            }
        </g>
    }
}

/// A replica whose log holds (or held) transactions: its LSO is worth drawing.
fn transactional(r: &ReplicaView) -> bool {
    !r.txn_spans.is_empty() || r.last_stable_offset != r.high_watermark
}

/// Whether `offset` is drawn on a light cell (an open or aborted transaction's record): its
/// number is printed dark.
fn on_light_cell(r: &ReplicaView, offset: u64) -> bool {
    r.txn_spans.iter().any(|s| {
        matches!(s.kind, TxnSpanKind::Open | TxnSpanKind::Aborted)
            && (s.first..=s.last).contains(&offset)
    })
}

/// Whether `offset` is a COMMIT or ABORT marker in `r`'s log.
fn is_marker(r: &ReplicaView, offset: u64) -> bool {
    r.txn_spans.iter().any(|s| {
        matches!(s.kind, TxnSpanKind::CommitMarker | TxnSpanKind::AbortMarker)
            && (s.first..=s.last).contains(&offset)
    })
}

/// The transaction layer over a replica's cells in `[from, to)`: open transactions' records
/// shaded, aborted ones greyed and struck through, committed ones with a top bar, markers as
/// dark cells lettered C or A. A path per kind, as for the plain cells.
fn txn_overlay(r: &ReplicaView, first: u64, from: u64, to: u64, y: f64) -> Html {
    if r.txn_spans.is_empty() || from >= to {
        return html! {};
    }
    let (mut open, mut aborted, mut strike, mut committed, mut commit_marker, mut abort_marker) = (
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    );
    let mut letters: Vec<(u64, &'static str)> = Vec::new();
    for span in &r.txn_spans {
        let range = span.first.max(from)..(span.last + 1).min(to);
        if range.is_empty() {
            continue;
        }
        match span.kind {
            TxnSpanKind::Open => open.push_str(&cells_path(range, first, y, 0.0, CELL_H)),
            TxnSpanKind::Aborted => {
                aborted.push_str(&cells_path(range.clone(), first, y, 0.0, CELL_H));
                let x = LABEL_W + (range.start - first) as f64 * CELL_W;
                let w = (range.end - range.start) as f64 * CELL_W - 2.0;
                strike.push_str(&format!("M{x} {}h{w}", y + CELL_H / 2.0));
            }
            TxnSpanKind::Committed => committed.push_str(&cells_path(range, first, y, 0.0, 3.0)),
            TxnSpanKind::CommitMarker => {
                letters.extend(range.clone().map(|o| (o, "C")));
                commit_marker.push_str(&cells_path(range, first, y, 0.0, CELL_H));
            }
            TxnSpanKind::AbortMarker => {
                letters.extend(range.clone().map(|o| (o, "A")));
                abort_marker.push_str(&cells_path(range, first, y, 0.0, CELL_H));
            }
        }
    }
    html! {
        <g class="txn-layer">
            <path class="cell txn-open" d={open} />
            <path class="cell txn-aborted" d={aborted} />
            <path class="txn-strike" d={strike} />
            <path class="txn-committed-bar" d={committed} />
            <path class="cell marker-commit" d={commit_marker} />
            <path class="cell marker-abort" d={abort_marker} />
            { for letters.into_iter().map(|(o, letter)| {
                let x = LABEL_W + (o - first) as f64 * CELL_W + (CELL_W - 2.0) / 2.0;
                html! { <text x={x.to_string()} y={(y + 14.5).to_string()} class="marker-text" text-anchor="middle">{ letter }</text> }
            }) }
        </g>
    }
}

fn hover_card(props: &PartitionProps, topic: &str, partition: u32) -> Option<Html> {
    let h = props.hovered.as_ref()?;
    if h.topic != topic || h.partition != partition {
        return None;
    }
    let record = props
        .records
        .as_ref()
        .filter(|(rh, _)| rh == h)
        .and_then(|(_, rs)| rs.iter().find(|r| r.offset == h.offset).cloned());
    let dismiss = props.dispatch.reform(|_: MouseEvent| Msg::Hover(None));
    // Where the offset stands in that replica's log (what the cell's colour and marks say).
    let standing = props
        .partition
        .replica_logs
        .iter()
        .find(|r| r.broker == h.broker)
        .map(|r| {
            let mut words = vec![if h.offset < r.high_watermark {
                "below the high watermark: readable by consumers".to_owned()
            } else {
                "above the high watermark: not yet on every ISR replica".to_owned()
            }];
            if h.offset >= r.synced_offset {
                words.push("not yet synced to disk (lost on power loss)".into());
            }
            if let Some(span) = r.txn_spans.iter().find(|s| (s.first..=s.last).contains(&h.offset)) {
                words.push(match span.kind {
                    TxnSpanKind::Open => format!("in an open transaction of producer id {}: read_committed consumers stop at the LSO ({}) until its marker", span.producer_id, r.last_stable_offset),
                    TxnSpanKind::Aborted => format!("in an aborted transaction of producer id {}: read_committed consumers skip it, read_uncommitted ones return it", span.producer_id),
                    TxnSpanKind::Committed => format!("in a committed transaction of producer id {}", span.producer_id),
                    TxnSpanKind::CommitMarker => format!("COMMIT marker of producer id {}: a control record, never returned to applications", span.producer_id),
                    TxnSpanKind::AbortMarker => format!("ABORT marker of producer id {}: a control record, never returned to applications", span.producer_id),
                });
            }
            for f in props.findings.iter().filter(|f| f.offset == Some(h.offset)) {
                words.push(format!(
                    "checker: {} ({})",
                    f.kind,
                    f.legal_because
                        .clone()
                        .map(|w| format!("legal: {w}"))
                        .unwrap_or_else(|| "BUG".into())
                ));
            }
            words.join("; ")
        });
    Some(html! {
        <div class="hover-card" role="status" data-testid="record-card">
            <strong>{ format!("{}-{} offset {} on broker {}", topic, partition, h.offset, h.broker) }</strong>
            if let Some(standing) = standing {
                <p class="small">{ standing }</p>
            }
            { match record {
                Some(r) => html! {
                    <dl>
                        <dt>{ "key" }</dt><dd><code>{ r.key.unwrap_or_else(|| "null".into()) }</code></dd>
                        <dt>{ "value" }</dt><dd><code>{ r.value.unwrap_or_else(|| "null".into()) }</code></dd>
                        <dt>{ "timestamp" }</dt><dd>{ format!("{} ms", r.timestamp) }</dd>
                        <dt>{ "leader epoch" }</dt><dd>{ r.partition_leader_epoch }</dd>
                        <dt>{ "producer id" }</dt><dd>{ r.producer_id }</dd>
                        if let Some(control) = r.control.clone() {
                            <dt>{ "control record" }</dt><dd>{ control }</dd>
                        } else if r.transactional {
                            <dt>{ "batch" }</dt><dd>{ "transactional" }</dd>
                        }
                    </dl>
                },
                None => html! { <p class="muted">{ "Reading the record…" }</p> },
            } }
            <button class="link" onclick={dismiss}>{ "Close" }</button>
        </div>
    })
}

#[derive(Properties, PartialEq)]
struct HeatBlocksProps {
    blocks: Vec<HeatBlock>,
    dispatch: Callback<Msg>,
    send: Callback<ToWorker>,
}

/// The heat map's squares: their own component, so a snapshot that changes no partition's
/// state (most of them) skips them whole.
#[function_component(HeatBlocks)]
fn heat_blocks(props: &HeatBlocksProps) -> Html {
    let per_row = HEAT_PER_ROW;
    let size = HEAT_SIZE;
    props
        .blocks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let i = i as u32;
            let x = f64::from(i % per_row) * (size + 2.0);
            let y = f64::from(i / per_row) * (size + 2.0);
            let (class, word) = if b.offline > 0 {
                ("heat offline", "offline")
            } else if b.under_replicated > 0 {
                ("heat under", "under-replicated")
            } else {
                ("heat ok", "healthy")
            };
            let page = b.first / super::PAGE_PARTITIONS;
            let dispatch = props.dispatch.clone();
            let send = props.send.clone();
            let onclick = Callback::from(move |_: MouseEvent| {
                dispatch.emit(Msg::Page(page));
                send.emit(ToWorker::Window {
                    first: page * super::PAGE_PARTITIONS,
                    count: super::PAGE_PARTITIONS,
                });
            });
            html! {
                <rect x={x.to_string()} y={y.to_string()} width={size.to_string()} height={size.to_string()} rx="2" class={class} onclick={onclick}>
                    <title>{ format!("partitions {}–{}: {word}; {} offline, {} under-replicated, smallest ISR {}", b.first, b.first + b.count - 1, b.offline, b.under_replicated, b.isr_min) }</title>
                </rect>
            }
        })
        .collect()
}

const HEAT_PER_ROW: u32 = 32;
const HEAT_SIZE: f64 = 16.0;

#[derive(Properties, PartialEq)]
struct HeatProps {
    snapshot: Rc<Snapshot>,
    dispatch: Callback<Msg>,
    send: Callback<ToWorker>,
}

/// Every partition at a glance (blocks of consecutive partitions, worst state wins), and per
/// broker and topic: replicas, leaders, replicas out of the ISR and the largest follower lag.
#[function_component(HeatMap)]
fn heat_map(props: &HeatProps) -> Html {
    let a = &props.snapshot.aggregate;
    let per_row = HEAT_PER_ROW;
    let size = HEAT_SIZE;
    let rows = (a.blocks.len() as u32).div_ceil(per_row);
    let width = f64::from(per_row) * (size + 2.0);
    let height = f64::from(rows) * (size + 2.0);
    let brokers: Vec<u32> = props.snapshot.brokers.iter().map(|b| b.id).collect();
    let topics: Vec<String> = props
        .snapshot
        .topics
        .iter()
        .map(|t| t.name.clone())
        .collect();
    html! {
        <div class="heat" data-testid="heat-map">
            <h3>{ format!("All {} partitions", a.partitions) }</h3>
            <p class="muted small">{ format!("Each square is {} partition(s); the worst state wins. Click one to see its partitions in detail.", a.blocks.first().map_or(1, |b| b.count)) }</p>
            <svg viewBox={format!("0 0 {width} {height}")} width={width.to_string()} height={height.to_string()} role="img"
                aria-label={format!("Heat map of {} partitions: {} under-replicated, {} offline", a.partitions, a.under_replicated, a.offline)}>
                <HeatBlocks blocks={a.blocks.clone()} dispatch={props.dispatch.clone()} send={props.send.clone()} />
            </svg>
            <table class="heat-table">
                <caption>{ "Per broker and topic: replicas (leaders), out of the ISR, largest follower lag" }</caption>
                <thead><tr><th scope="col">{ "Broker" }</th>{ for topics.iter().map(|t| html! { <th scope="col">{ t.clone() }</th> }) }</tr></thead>
                <tbody>
                    { for brokers.iter().map(|b| html! {
                        <tr>
                            <th scope="row">{ format!("B{b}") }</th>
                            { for a.cells.iter().filter(|c| c.broker == *b).map(|c| {
                                let class = if c.out_of_sync > 0 { "hot" } else if c.lag_max > 0 { "warm" } else { "cool" };
                                html! { <td class={class}>{ format!("{} ({}) · {} out · lag {}", c.replicas, c.leaders, c.out_of_sync, c.lag_max) }</td> }
                            }) }
                        </tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}
