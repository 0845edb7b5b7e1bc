//! The consumer groups: per group its state, generation, assignor and rebalance protocol, the
//! partitions coloured by the member that owns them, each member's rebalance step (waiting in
//! JoinGroup, waiting for its assignment, stable) and what its last rebalance gave and took,
//! the `kafka-consumer-groups --describe` lag table, the group's recent rebalance story, and
//! controls for every member (offset commit, seek, reset, stall, freeze, crash, bounce, leave)
//! and for the group (add a member with an assignor of choice). Several groups are drawn side
//! by side, so an eager and a cooperative group on the same topic rebalance next to each other.

use super::controls::select_value;
use super::Msg;
use crate::protocol::{Snapshot, ToWorker};
use logsim::session::explain::{Explained, Topic};
use logsim::sim::cluster::scenario::{Action, ConsumerSpec};
use logsim::sim::cluster::view::{ConsumerView, GroupDescription, MemberView};
use std::collections::BTreeSet;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// The assignors a user can pick, as `partition.assignment.strategy` spells them.
const STRATEGIES: [&str; 4] = ["range", "roundrobin", "sticky", "cooperative-sticky"];
/// Rows of the lag table drawn when a group reads many partitions: past this, the partitions
/// of the page shown in the cluster panel (and the total lag) are listed.
const ROWS_SHOWN: usize = 48;
/// Lines of a group's rebalance story.
const STORY_LINES: usize = 10;

#[derive(Properties, PartialEq)]
pub struct GroupsProps {
    pub snapshot: Rc<Snapshot>,
    pub events: Rc<Vec<(u64, Rc<Explained>)>>,
    pub send: Callback<ToWorker>,
    pub dispatch: Callback<Msg>,
}

/// What a member is doing in the rebalance, in words.
fn member_state_words(c: &ConsumerView, m: &MemberView) -> (&'static str, String) {
    if !c.alive {
        return ("dead", "not running (stopped or crashed)".into());
    }
    if let Some(f) = &m.fatal {
        return ("dead", format!("stopped by {f}"));
    }
    if c.frozen {
        return (
            "frozen",
            format!(
                "frozen (GC pause): no heartbeats; removed after session.timeout.ms={}",
                m.session_timeout_ms
            ),
        );
    }
    if m.poll_timer_expired {
        // A static member sends no LeaveGroup: it stops heartbeating and the coordinator removes
        // it after session.timeout.ms (G-3).
        return (
            "left",
            if m.group_instance_id.is_some() {
                format!(
                    "no poll() for max.poll.interval.ms={}: a static member, it stopped heartbeating; removed after session.timeout.ms={}",
                    m.max_poll_interval_ms, m.session_timeout_ms
                )
            } else {
                format!(
                    "left the group: no poll() for max.poll.interval.ms={}",
                    m.max_poll_interval_ms
                )
            },
        );
    }
    let stalled = if c.stalled {
        " · poll loop stalled (heartbeats go on)"
    } else {
        ""
    };
    match m.state.as_str() {
        "PREPARING_REBALANCE" if m.rebalance_protocol == "eager" => (
            "joining",
            format!("waiting in JoinGroup, everything revoked, reading nothing{stalled}"),
        ),
        "PREPARING_REBALANCE" => (
            "joining",
            format!("in JoinGroup, still reading what it owns (cooperative){stalled}"),
        ),
        "COMPLETING_REBALANCE" => (
            "syncing",
            format!("waiting for its assignment (SyncGroup){stalled}"),
        ),
        "STABLE" => (
            "stable",
            format!("stable: fetching its partitions{stalled}"),
        ),
        _ => ("joining", format!("finding the coordinator{stalled}")),
    }
}

fn list(ps: &[u32]) -> String {
    if ps.is_empty() {
        "none".into()
    } else {
        ps.iter()
            .map(|p| format!("p{p}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Group errors that are steps of the protocol or retried on their own, shown without alarm.
fn is_protocol_step(name: &str) -> bool {
    matches!(
        name,
        "MEMBER_ID_REQUIRED"
            | "COORDINATOR_NOT_AVAILABLE"
            | "COORDINATOR_LOAD_IN_PROGRESS"
            | "NOT_COORDINATOR"
            | "REBALANCE_IN_PROGRESS"
    )
}

#[function_component(Groups)]
pub fn groups(props: &GroupsProps) -> Html {
    let s = &props.snapshot;
    if s.groups.is_empty() {
        return html! {};
    }
    html! {
        <section class="card groups" aria-labelledby="groups-h" data-testid="groups">
            <div class="card-head">
                <h2 id="groups-h">{ "Consumer groups" }</h2>
                <p class="muted small">{ "Who owns which partition, where each rebalance stands, and how far each group lags. Committed offsets are marked ✓ on the leaders' logs." }</p>
            </div>
            <div class="group-grid">
                { for s.groups.iter().map(|g| html! {
                    <GroupCard group={g.clone()} snapshot={s.clone()} events={props.events.clone()} send={props.send.clone()} dispatch={props.dispatch.clone()} />
                }) }
            </div>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct GroupProps {
    group: GroupDescription,
    snapshot: Rc<Snapshot>,
    events: Rc<Vec<(u64, Rc<Explained>)>>,
    send: Callback<ToWorker>,
    dispatch: Callback<Msg>,
}

#[function_component(GroupCard)]
fn group_card(props: &GroupProps) -> Html {
    let g = &props.group;
    let s = &props.snapshot;
    let members: Vec<(&ConsumerView, &MemberView)> = s
        .consumers
        .iter()
        .filter_map(|c| {
            c.member
                .as_ref()
                .filter(|m| m.group_id == g.group_id)
                .map(|m| (c, m))
        })
        .collect();
    let cooperative = members
        .iter()
        .any(|(c, m)| c.alive && m.rebalance_protocol == "cooperative");
    let topic = members
        .first()
        .map(|(c, _)| c.topic.clone())
        .unwrap_or_default();
    let partitions = s
        .topics
        .iter()
        .find(|t| t.name == topic)
        .map_or(0, |t| t.partitions);
    // The owner is the coordinator's word (its describe rows), not a member's belief: a
    // stalled or frozen member may still think it owns what was given away.
    let owner_of = |p: u32| {
        g.rows
            .iter()
            .find(|r| r.topic == topic && r.partition == p)
            .and_then(|r| r.consumer)
    };
    let total_lag: i64 = g.rows.iter().filter_map(|r| r.lag).sum();
    let state_class = match g.state.as_str() {
        "Stable" => "ok",
        "Empty" => "idle",
        "Dead" => "offline",
        _ => "under",
    };
    let gid = g.group_id.clone();
    let testid = |what: &str| format!("group-{gid}-{what}");
    // The lag table: every row when there are few, else the rows of the cluster panel's page.
    let window = s.window_first..s.window_first + super::PAGE_PARTITIONS;
    let rows: Vec<_> = if g.rows.len() <= ROWS_SHOWN {
        g.rows.iter().collect()
    } else {
        g.rows
            .iter()
            .filter(|r| window.contains(&r.partition))
            .collect()
    };
    let story: Vec<Rc<Explained>> = {
        let indexes: BTreeSet<u32> = members.iter().map(|(c, _)| c.index).collect();
        let mut lines: Vec<Rc<Explained>> = props
            .events
            .iter()
            .rev()
            .filter(|(_, e)| e.topic == Topic::Group || e.topic == Topic::Fault)
            // The rebalance, not the offset commits every few seconds (the lag table shows
            // those).
            .filter(|(_, e)| {
                !(e.raw.contains("auto-commit of") || e.raw.contains("offset commit stored"))
            })
            .filter(|(_, e)| {
                e.raw.contains(&g.group_id)
                    || e.refs.iter().any(|r| {
                        matches!(r, logsim::session::explain::Ref::Consumer(c) if indexes.contains(c))
                    })
            })
            .take(STORY_LINES)
            .map(|(_, e)| e.clone())
            .collect();
        lines.reverse();
        lines
    };
    // Add a member: the assignor and whether it is static are the user's choice.
    // The group's own assignor by default: a member sharing no assignor with the others gets
    // INCONSISTENT_GROUP_PROTOCOL.
    let strategy = {
        let first = members
            .first()
            .and_then(|(_, m)| m.strategy.first().cloned())
            .unwrap_or_else(|| "cooperative-sticky".to_owned());
        use_state(move || first)
    };
    let is_static = use_state(|| false);
    let add = {
        let send = props.send.clone();
        let strategy = (*strategy).clone();
        let is_static = *is_static;
        let topic = topic.clone();
        let gid = gid.clone();
        let index = s.consumers.len();
        let template = members.first().map(|(c, m)| (c.index, (*m).clone()));
        Callback::from(move |_: MouseEvent| {
            let mut spec = ConsumerSpec::assign(&topic);
            spec.group_id = Some(gid.clone());
            spec.partition_assignment_strategy = vec![strategy.clone()];
            if let Some((_, m)) = &template {
                spec.session_timeout_ms = m.session_timeout_ms;
                spec.heartbeat_interval_ms = m.heartbeat_interval_ms;
                spec.max_poll_interval_ms = m.max_poll_interval_ms;
                spec.enable_auto_commit = m.enable_auto_commit;
                spec.auto_commit_interval_ms = m.auto_commit_interval_ms;
            }
            if is_static {
                spec.group_instance_id = Some(format!("{gid}-instance-{index}"));
            }
            send.emit(ToWorker::Act(Action::AddConsumer { consumer: spec }));
        })
    };
    let switch_all = {
        let send = props.send.clone();
        let strategy = (*strategy).clone();
        let live: Vec<(u32, Vec<String>)> = members
            .iter()
            .filter(|(c, _)| c.alive)
            .map(|(c, m)| (c.index, m.strategy.clone()))
            .collect();
        Callback::from(move |_: MouseEvent| {
            // Every member closes and starts again preferring the new assignor but still
            // offering its old ones, so the group keeps a common assignor at every step and
            // moves to the new one once all members offer it (the first of Kafka's two rolling
            // bounces; the second would drop the old assignors).
            for (c, old) in &live {
                let mut list = vec![strategy.clone()];
                list.extend(old.iter().filter(|s| **s != strategy).cloned());
                send.emit(ToWorker::Act(Action::StopConsumer { consumer: *c }));
                send.emit(ToWorker::Act(Action::RestartConsumer {
                    consumer: *c,
                    strategy: Some(list),
                }));
            }
        })
    };
    html! {
        <article class="group" data-testid={format!("group-{gid}")} data-state={g.state.clone()} data-generation={g.generation.to_string()}
            data-members={g.members.to_string()} data-protocol={if cooperative { "cooperative" } else { "eager" }} aria-label={format!("Consumer group {gid}")}>
            <header class="group-head">
                <h3>{ format!("group {gid}") }</h3>
                <span class={classes!("badge", state_class)} data-testid={testid("state")}>{ g.state.clone() }</span>
                <span data-testid={testid("generation")}>{ format!("generation {}", g.generation) }</span>
                <span>{ format!("assignor {}", g.protocol.clone().unwrap_or_else(|| "–".into())) }</span>
                <span class={classes!("proto", if cooperative { "coop" } else { "eager" })} title={if cooperative { "Cooperative (KIP-429): members keep what they own; a partition that moves is revoked in one rebalance and assigned in the next" } else { "Eager: every member revokes everything before it rejoins (stop the world)" }}>
                    { if cooperative { "cooperative" } else { "eager" } }
                </span>
                <span>{ match g.coordinator { Some(b) => format!("coordinator broker {b}"), None => "no coordinator (COORDINATOR_NOT_AVAILABLE)".into() } }</span>
                <span data-testid={testid("lag")}>{ format!("lag {total_lag}") }</span>
            </header>
            <div class="owner-strip" role="list" aria-label={format!("Partitions of {topic} and their owners in group {gid}")}>
                { for (0..partitions).map(|p| {
                    let owner = owner_of(p);
                    let focus = props.dispatch.reform({ let topic = topic.clone(); move |_: MouseEvent| Msg::Focus(Some((topic.clone(), p))) });
                    html! {
                        <button role="listitem" class={classes!("owner-cell", owner.map_or("owner-none".to_owned(), |c| format!("owner-{}", c % 8)))}
                            data-testid={format!("group-{gid}-p{p}")} data-owner={owner.map_or("none".to_owned(), |c| c.to_string())}
                            title={owner.map_or(format!("{topic}-{p}: no owner now"), |c| format!("{topic}-{p}: owned by consumer {c}"))} onclick={focus}>
                            <span class="p">{ format!("p{p}") }</span>
                            <span class="o">{ owner.map_or("—".to_owned(), |c| format!("C{c}")) }</span>
                        </button>
                    }
                }) }
            </div>
            <ul class="members" aria-label={format!("Members of {gid}")}>
                { for members.iter().map(|(c, m)| {
                    // What the coordinator assigned this member, if it is in the group.
                    let assigned = g.member_list.iter().find(|r| r.member_id == m.member_id && !m.member_id.is_empty()).map(|r| r.partitions.iter().map(|(_, p)| *p).collect::<Vec<_>>());
                    html! { <MemberRow consumer={(*c).clone()} member={(*m).clone()} assigned={assigned} send={props.send.clone()} /> }
                }) }
            </ul>
            <div class="group-actions">
                <label>{ "Assignor " }
                    <select aria-label="partition.assignment.strategy" data-testid={testid("strategy")} onchange={{ let strategy = strategy.clone(); Callback::from(move |e: Event| strategy.set(select_value(&e))) }}>
                        { for STRATEGIES.iter().map(|n| html! { <option value={*n} selected={*n == strategy.as_str()}>{ *n }</option> }) }
                    </select>
                </label>
                <label class="check"><input type="checkbox" checked={*is_static} onchange={{ let is_static = is_static.clone(); Callback::from(move |_: Event| is_static.set(!*is_static)) }} />{ " static (group.instance.id)" }</label>
                <button class="primary" data-testid={testid("add")} onclick={add}>{ "Add a consumer" }</button>
                <button class="secondary" data-testid={testid("switch")} title="Every member closes and starts again with partition.assignment.strategy = [the chosen assignor, its old ones]: the group moves to the chosen one once all offer it" onclick={switch_all}>{ "Bounce every member to prefer it" }</button>
            </div>
            <table class="lag-table" data-testid={testid("lag-table")}>
                <caption>{ format!("kafka-consumer-groups --describe --group {gid}") }</caption>
                <thead><tr>
                    <th scope="col">{ "TOPIC" }</th><th scope="col">{ "PARTITION" }</th><th scope="col">{ "CURRENT-OFFSET" }</th>
                    <th scope="col">{ "LOG-END-OFFSET" }</th><th scope="col">{ "LAG" }</th><th scope="col">{ "CONSUMER-ID" }</th><th scope="col">{ "HOST" }</th><th scope="col">{ "CLIENT-ID" }</th>
                </tr></thead>
                <tbody>
                    { for rows.iter().map(|r| {
                        let dash = |v: Option<i64>| v.map_or("-".to_owned(), |v| v.to_string());
                        html! {
                            <tr data-testid={format!("lag-{gid}-{}-{}", r.topic, r.partition)} data-lag={dash(r.lag)} data-current={dash(r.current_offset)}>
                                <td>{ r.topic.clone() }</td><td>{ r.partition }</td><td>{ dash(r.current_offset) }</td>
                                <td>{ dash(r.log_end_offset) }</td><td class={classes!(r.lag.is_some_and(|l| l > 0).then_some("lagging"))}>{ dash(r.lag) }</td>
                                <td class="mono">{ r.consumer_id.clone().unwrap_or_else(|| "-".into()) }</td><td>{ r.host.clone().unwrap_or_else(|| "-".into()) }</td>
                                <td>{ r.client_id.clone().unwrap_or_else(|| "-".into()) }</td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            if rows.len() < g.rows.len() {
                <p class="muted small">{ format!("{} of {} partitions listed: those of the page shown in the cluster panel. Total lag {total_lag}.", rows.len(), g.rows.len()) }</p>
            }
            if !story.is_empty() {
                <ol class="story" aria-label={format!("Recent rebalance events of {gid}")} data-testid={testid("story")}>
                    { for story.iter().map(|e| html! {
                        <li><span class="t">{ format!("{:.1} s", e.time_ms as f64 / 1000.0) }</span>{ format!(" {}", e.what) }</li>
                    }) }
                </ol>
            }
        </article>
    }
}

#[derive(Properties, PartialEq)]
struct MemberProps {
    consumer: ConsumerView,
    member: MemberView,
    /// The coordinator's assignment for it; `None` when the coordinator does not count it as a
    /// member (it left, was removed, or has not joined).
    assigned: Option<Vec<u32>>,
    send: Callback<ToWorker>,
}

#[function_component(MemberRow)]
fn member_row(props: &MemberProps) -> Html {
    let c = &props.consumer;
    let m = &props.member;
    let i = c.index;
    let (state_class, words) = member_state_words(c, m);
    let act = |action: Action| {
        props
            .send
            .reform(move |_: MouseEvent| ToWorker::Act(action.clone()))
    };
    let seek_partition = use_state(|| None::<u32>);
    let seek_offset = use_state(|| "0".to_owned());
    let seek_error = use_state(|| None::<String>);
    let partition = seek_partition.or(m.owned.first().copied());
    let seek = {
        let send = props.send.clone();
        let offset = (*seek_offset).clone();
        let seek_error = seek_error.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(partition) = partition else {
                seek_error.set(Some("it owns no partition to seek".into()));
                return;
            };
            match offset.trim().parse::<i64>() {
                Ok(offset) if offset >= 0 => {
                    seek_error.set(None);
                    send.emit(ToWorker::Act(Action::SeekConsumer {
                        consumer: i,
                        partition,
                        offset,
                    }));
                }
                _ => seek_error.set(Some(format!(
                    "{:?} is not an offset: expected a whole number, 0 or more",
                    offset.trim()
                ))),
            }
        })
    };
    let reset = {
        let send = props.send.clone();
        let owned = m.owned.clone();
        Callback::from(move |_: MouseEvent| {
            for partition in &owned {
                send.emit(ToWorker::Act(Action::SeekConsumer {
                    consumer: i,
                    partition: *partition,
                    offset: 0,
                }));
            }
        })
    };
    let bounce = {
        let send = props.send.clone();
        Callback::from(move |_: MouseEvent| {
            send.emit(ToWorker::Act(Action::StopConsumer { consumer: i }));
            send.emit(ToWorker::Act(Action::RestartConsumer {
                consumer: i,
                strategy: None,
            }));
        })
    };
    let kept: Vec<u32> = m
        .owned
        .iter()
        .copied()
        .filter(|p| {
            m.last_rebalance
                .as_ref()
                .is_none_or(|r| !r.assigned.contains(p))
        })
        .collect();
    html! {
        <li class={classes!("member", state_class)} data-testid={format!("member-{i}")} data-state={m.state.clone()} data-alive={c.alive.to_string()}
            data-owned={m.owned.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",")}>
            <div class="member-head">
                <span class={classes!("swatch-dot", format!("owner-{}", i % 8))} aria-hidden="true"></span>
                <b>{ format!("Consumer {i}") }</b>
                if m.is_leader && c.alive && props.assigned.is_some() { <span class="tag" title="The group leader runs the assignor">{ "leader" }</span> }
                if let Some(id) = &m.group_instance_id { <span class="tag" title="Static member (KIP-345)">{ format!("static {id}") }</span> }
                <span class="muted small mono" title="member.id">{ if m.member_id.is_empty() { "no member id yet".to_owned() } else { m.member_id.clone() } }</span>
            </div>
            <div class="member-state" data-testid={format!("member-{i}-state")}>{ words }</div>
            <div class="member-owns">
                { format!("owns {} · generation {} · {}", list(&m.owned), m.generation, m.strategy.join(",")) }
            </div>
            if c.alive && props.assigned.is_none() && !m.owned.is_empty() {
                <div class="member-zombie" data-testid={format!("member-{i}-zombie")}>
                    { format!("a zombie owner: it still believes it owns {}, but the coordinator no longer counts it as a member; it finds out at its next request (onPartitionsLost)", list(&m.owned)) }
                </div>
            }
            if let Some(r) = &m.last_rebalance {
                <div class="member-rebalance" data-testid={format!("member-{i}-rebalance")}>
                    { format!("rebalance to generation {}: kept {}, ", r.generation, list(&kept)) }
                    <span class={classes!((!r.revoked.is_empty()).then_some("revoked"))}>{ format!("revoked {}", list(&r.revoked)) }</span>{ ", " }
                    <span class={classes!((!r.assigned.is_empty()).then_some("assigned"))}>{ format!("assigned {}", list(&r.assigned)) }</span>
                </div>
            }
            if !m.errors.is_empty() || m.commit_failures > 0 {
                <div class="errors">
                    { for m.errors.iter().map(|(name, n)| html! { <span class={if is_protocol_step(name) { "note-chip" } else { "error-chip" }} title={if is_protocol_step(name) { "A normal step or a retriable error: the consumer retries" } else { "An error the member had to act on" }}>{ format!("{name} ×{n}") }</span> }) }
                    if m.commit_failures > 0 { <span class="error-chip">{ format!("CommitFailedException ×{}", m.commit_failures) }</span> }
                </div>
            }
            <div class="member-actions" role="group" aria-label={format!("Controls of consumer {i}")}>
                if c.alive {
                    <button class="secondary tiny-btn" data-testid={format!("offset-commit-{i}")} title="commitSync() of its positions" onclick={act(Action::CommitOffsets { consumer: i })}>{ "Commit offsets" }</button>
                    <button class="secondary tiny-btn" data-testid={format!("stall-{i}")} title={format!("The poll loop stalls {} ms, past max.poll.interval.ms={}; heartbeats go on", m.max_poll_interval_ms + 5_000, m.max_poll_interval_ms)}
                        onclick={act(Action::StallConsumer { consumer: i, duration_ms: m.max_poll_interval_ms + 5_000 })}>{ "Stall past max.poll.interval.ms" }</button>
                    <button class="secondary tiny-btn" data-testid={format!("freeze-{i}")} title={format!("The whole process stops {} ms (GC pause), past session.timeout.ms={}", m.session_timeout_ms + 5_000, m.session_timeout_ms)}
                        onclick={act(Action::FreezeConsumer { consumer: i, duration_ms: m.session_timeout_ms + 5_000 })}>{ "GC pause past session.timeout.ms" }</button>
                    <button class="secondary tiny-btn" data-testid={format!("bounce-{i}")} title="close() and start again" onclick={bounce}>{ "Bounce" }</button>
                    <button class="secondary tiny-btn" data-testid={format!("leave-{i}")} title="close(): last offset commit, LeaveGroup" onclick={act(Action::StopConsumer { consumer: i })}>{ "Remove (leave)" }</button>
                    <button class="danger tiny-btn" data-testid={format!("crash-consumer-{i}")} title="Kill the process: no LeaveGroup" onclick={act(Action::CrashConsumer { consumer: i })}>{ "Crash" }</button>
                    <form class="seek" onsubmit={seek}>
                        <select aria-label={format!("Partition consumer {i} seeks")} onchange={{ let sp = seek_partition.clone(); Callback::from(move |e: Event| sp.set(select_value(&e).parse().ok())) }}>
                            { for m.owned.iter().map(|p| html! { <option value={p.to_string()} selected={Some(*p) == partition}>{ format!("p{p}") }</option> }) }
                        </select>
                        <input aria-label={format!("Offset consumer {i} seeks to")} size="5" value={(*seek_offset).clone()} oninput={{ let so = seek_offset.clone(); Callback::from(move |e: InputEvent| so.set(e.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()).map(|i| i.value()).unwrap_or_default())) }} />
                        <button class="secondary tiny-btn" type="submit" data-testid={format!("seek-{i}")}>{ "Seek" }</button>
                        <button class="secondary tiny-btn" type="button" title="seek() every owned partition to offset 0: below the log start, auto.offset.reset decides where it lands" onclick={reset}>{ "Seek all to 0" }</button>
                    </form>
                    if let Some(e) = &*seek_error { <span class="error-chip" role="alert">{ e.clone() }</span> }
                } else {
                    <button class="primary tiny-btn" data-testid={format!("restart-consumer-{i}")} onclick={act(Action::RestartConsumer { consumer: i, strategy: None })}>{ "Restart" }</button>
                }
            </div>
        </li>
    }
}
