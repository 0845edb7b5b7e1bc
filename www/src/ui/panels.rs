//! The side panels: the guided lesson, the drill (a hidden fault to diagnose), the live checker,
//! the plain-language event log with its filters, and the help overlay.

use super::Msg;
use crate::protocol::{DrillState, LessonState, ToWorker, EVENTS_KEPT};
use logsim::session::explain::{Explained, Ref, Severity, Topic};
use logsim::session::timeline::LiveCheck;
use std::collections::BTreeSet;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LessonProps {
    pub lesson: LessonState,
    pub send: Callback<ToWorker>,
}

#[function_component(LessonPanel)]
pub fn lesson_panel(props: &LessonProps) -> Html {
    let l = &props.lesson;
    let show_hint = use_state(|| false);
    let on_do = {
        let action = l.action.clone();
        props
            .send
            .reform(move |_: MouseEvent| match action.clone() {
                Some(a) => ToWorker::Act(a),
                None => ToWorker::Play,
            })
    };
    let on_next = props.send.reform(|_: MouseEvent| ToWorker::LessonNext);
    let on_hint = {
        let show_hint = show_hint.clone();
        Callback::from(move |_: MouseEvent| show_hint.set(!*show_hint))
    };
    html! {
        <section class="card lesson" aria-labelledby="lesson-h" data-testid="lesson">
            <div class="card-head">
                <h2 id="lesson-h">{ l.title.clone() }</h2>
                <span class="badge" data-testid="lesson-step">{ format!("step {} of {}", l.step + 1, l.steps) }</span>
            </div>
            <progress max={l.steps.to_string()} value={(l.step + u32::from(l.goal_met)).to_string()} aria-label="Lesson progress"></progress>
            <h3>{ l.step_title.clone() }</h3>
            { for l.narration.iter().map(|p| html! { <p>{ p.clone() }</p> }) }
            <div class={classes!("goal", l.goal_met.then_some("met"))} data-testid="lesson-goal" data-met={l.goal_met.to_string()}>
                <span aria-hidden="true">{ if l.goal_met { "✓" } else { "○" } }</span>
                <span>{ if l.goal_met { "Checkpoint reached: " } else { "Checkpoint: " } }{ l.goal.clone() }</span>
            </div>
            if l.goal_met {
                { for l.after.iter().map(|p| html! { <p class="after">{ p.clone() }</p> }) }
            }
            <div class="row buttons">
                if !l.goal_met {
                    if let Some(label) = &l.action_label {
                        <button class="primary" data-testid="lesson-do" onclick={on_do.clone()}>{ label.clone() }</button>
                    }
                    <button class="link" onclick={on_hint}>{ if *show_hint { "Hide hint" } else { "Hint" } }</button>
                }
                if l.goal_met && !l.finished {
                    <button class="primary" data-testid="lesson-next" onclick={on_next}>{ "Next step ▶" }</button>
                }
            </div>
            if *show_hint && !l.goal_met {
                <p class="hint">{ l.hint.clone() }</p>
            }
            if l.finished {
                <p class="done" data-testid="lesson-done">{ "Lesson complete. You are in free play from this state: break anything you like." }</p>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct DrillProps {
    pub drill: DrillState,
    pub brokers: u32,
    pub consumers: u32,
    pub send: Callback<ToWorker>,
}

#[function_component(DrillPanel)]
pub fn drill_panel(props: &DrillProps) -> Html {
    let d = &props.drill;
    let choice = use_state(|| None::<String>);
    // The broker or consumer the learner names (group drills name a consumer).
    let target = use_state(|| None::<u32>);
    let on_choice = |id: String| {
        let choice = choice.clone();
        Callback::from(move |_: Event| choice.set(Some(id.clone())))
    };
    let on_target = {
        let target = target.clone();
        Callback::from(move |e: Event| target.set(super::controls::select_value(&e).parse().ok()))
    };
    // Group drills name a consumer; the others a broker. One select serves both.
    let asks_consumer = d.target == "consumer";
    let on_submit = {
        let send = props.send.clone();
        let choice = choice.clone();
        let target = target.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(c) = (*choice).clone() {
                let (broker, consumer) = if asks_consumer {
                    (None, *target)
                } else {
                    (*target, None)
                };
                send.emit(ToWorker::Answer {
                    choice: c,
                    broker,
                    consumer,
                });
            }
        })
    };
    let on_hint = props.send.reform(|_: MouseEvent| ToWorker::Hint);
    html! {
        <section class="card drill" aria-labelledby="drill-h" data-testid="drill">
            <div class="card-head">
                <h2 id="drill-h">{ format!("Drill: {}", d.title) }</h2>
            </div>
            <p>{ d.briefing.clone() }</p>
            if let Some(r) = &d.result {
                <div class={classes!("score", if r.correct { "met" } else { "missed" })} data-testid="drill-score" role="status">
                    <strong>{ format!("{} — {} of {} points", if r.correct { "Right" } else { "Not quite" }, r.points, r.max) }</strong>
                    <p>{ r.explanation.clone() }</p>
                </div>
            } else {
                <form onsubmit={on_submit}>
                    <fieldset>
                        <legend>{ d.question.clone() }</legend>
                        { for d.choices.iter().map(|c| html! {
                            <label class="choice">
                                <input type="radio" name="drill-choice" value={c.id.clone()} data-testid={format!("choice-{}", c.id)} onchange={on_choice(c.id.clone())} />
                                { c.text.clone() }
                            </label>
                        }) }
                    </fieldset>
                    if asks_consumer {
                        <label>{ "Which consumer? " }
                            <select data-testid="drill-consumer" onchange={on_target.clone()}>
                                <option value="" selected={target.is_none()}>{ "not sure / none" }</option>
                                { for (0..props.consumers).map(|c| html! { <option value={c.to_string()} selected={*target == Some(c)}>{ format!("consumer {c}") }</option> }) }
                            </select>
                        </label>
                    } else {
                        <label>{ "Which broker? " }
                            <select data-testid="drill-broker" onchange={on_target.clone()}>
                                <option value="" selected={target.is_none()}>{ "not sure / none" }</option>
                                { for (1..=props.brokers).map(|b| html! { <option value={b.to_string()} selected={*target == Some(b)}>{ format!("broker {b}") }</option> }) }
                            </select>
                        </label>
                    }
                    <div class="row buttons">
                        <button class="primary" type="submit" data-testid="drill-submit" disabled={choice.is_none()}>{ "Answer" }</button>
                        <button class="link" type="button" onclick={on_hint}>{ "Hint (−1 point)" }</button>
                    </div>
                </form>
                { for d.hints.iter().map(|h| html! { <p class="hint">{ h.clone() }</p> }) }
            }
        </section>
    }
}

/// The history's sends by outcome. An indeterminate send (Jepsen's `:info`) is neither a
/// success nor a failure: a TimeoutException does not say whether an earlier attempt was
/// appended, so more values can be read than were acknowledged.
fn checker_counts(c: &LiveCheck) -> String {
    let mut parts = vec![format!("{} acknowledged sends", c.sends_acked)];
    if c.sends_indeterminate > 0 {
        parts.push(format!(
            "{} indeterminate (outcome unknown: may be in the log; {} of them read)",
            c.sends_indeterminate, c.sends_indeterminate_read
        ));
    }
    if c.sends_failed > 0 {
        parts.push(format!("{} failed (never written)", c.sends_failed));
    }
    parts.push(format!(
        "{} values read (at step {})",
        c.values_read, c.step
    ));
    parts.join(", ")
}

#[derive(Properties, PartialEq)]
pub struct CheckerProps {
    pub check: Option<Rc<LiveCheck>>,
    pub dispatch: Callback<Msg>,
}

#[function_component(CheckerPanel)]
pub fn checker_panel(props: &CheckerProps) -> Html {
    let Some(c) = &props.check else {
        return html! {};
    };
    let bugs = c
        .findings
        .iter()
        .filter(|f| f.legal_because.is_none())
        .count()
        + c.violations.len();
    let legal = c.findings.len()
        - c.findings
            .iter()
            .filter(|f| f.legal_because.is_none())
            .count();
    let verdict = if bugs > 0 {
        (
            "bug",
            format!("✖ {bugs} bug(s): behaviour the configuration does not allow"),
        )
    } else if legal > 0 {
        (
            "legal",
            format!("⚠ {legal} finding(s), all legal under this configuration"),
        )
    } else {
        (
            "clean",
            "✓ No lost, duplicated or reordered records so far".to_owned(),
        )
    };
    html! {
        <section class="card checker" aria-labelledby="checker-h" data-testid="checker" data-bugs={bugs.to_string()} data-findings={c.findings.len().to_string()}>
            <h2 id="checker-h">{ "Live checker" }</h2>
            <p class={classes!("verdict", verdict.0)}>{ verdict.1 }</p>
            <p class="muted small" data-testid="checker-counts" data-indeterminate={c.sends_indeterminate.to_string()}>{ checker_counts(c) }</p>
            { for c.pipelines.iter().map(|p| {
                let (class, text) = if !p.settled {
                    ("pending", format!("… {} → {}: checked when its transactions settle ({})", p.input_topic, p.output_topic, p.unsettled_because.clone().unwrap_or_default()))
                } else if p.exactly_once() {
                    ("clean", format!("✓ Exactly once: {} → {}: {} inputs below group {}'s committed offsets, {} committed outputs, one each", p.input_topic, p.output_topic, p.inputs_committed, p.group, p.outputs_committed))
                } else {
                    let counts = format!("Not exactly once: {} → {}: {} lost, {} duplicated, {} ahead of the offsets ({} inputs, {} outputs)", p.input_topic, p.output_topic, p.lost, p.duplicated, p.ahead, p.inputs_committed, p.outputs_committed);
                    match &p.legal_because {
                        Some(why) => ("legal", format!("⚠ {counts}. Legal here: {why}")),
                        None => ("bug", format!("✖ {counts}")),
                    }
                };
                html! {
                    <p class={classes!("pipeline-check", class)} data-testid="pipeline-check" data-settled={p.settled.to_string()} data-exactly-once={p.exactly_once().to_string()} data-inputs={p.inputs_committed.to_string()} data-outputs={p.outputs_committed.to_string()} data-lost={p.lost.to_string()} title="The end-to-end exactly-once check (T-9): every input record below the group's committed offset has exactly one committed output, and no committed output is ahead of the offsets.">
                        { text }
                    </p>
                }
            }) }
            <ul class="findings">
                { for c.violations.iter().map(|v| html! { <li class="bug">{ format!("✖ invariant: {v}") }</li> }) }
                { for c.findings.iter().take(50).map(|f| {
                    let focus = (f.topic.clone(), f.partition);
                    let onclick = props.dispatch.reform(move |_: MouseEvent| Msg::Focus(Some(focus.clone())));
                    html! {
                        <li class={if f.legal_because.is_some() { "legal" } else { "bug" }} data-testid="finding" data-kind={f.kind.clone()}>
                            <button class="link" onclick={onclick}>{ format!("{}-{}", f.topic, f.partition) }</button>
                            { format!(" {}{}: {}", f.kind, f.offset.map(|o| format!(" at offset {o}")).unwrap_or_default(), f.detail) }
                            <div class="why">{ match &f.legal_because {
                                Some(w) => format!("Legal: {w}"),
                                None => "BUG: no setting of this run allows it".to_owned(),
                            } }</div>
                        </li>
                    }
                }) }
            </ul>
            if c.findings.len() > 50 {
                <p class="muted small">{ format!("…and {} more", c.findings.len() - 50) }</p>
            }
        </section>
    }
}

const TOPICS: &[(Topic, &str)] = &[
    (Topic::Produce, "Produce"),
    (Topic::Replication, "Replication"),
    (Topic::Isr, "ISR"),
    (Topic::Election, "Elections"),
    (Topic::Controller, "Controller"),
    (Topic::Fault, "Faults"),
    (Topic::Consumer, "Consumers"),
    (Topic::Storage, "Storage"),
    (Topic::Network, "Network"),
    (Topic::Client, "Clients"),
    (Topic::Group, "Groups"),
    (Topic::Transaction, "Transactions"),
];

fn severity_word(s: Severity) -> (&'static str, &'static str) {
    match s {
        Severity::Info => ("info", "ℹ"),
        Severity::Notice => ("notice", "●"),
        Severity::Warning => ("warning", "⚠"),
        Severity::Error => ("error", "✖"),
    }
}

#[derive(Properties, PartialEq)]
pub struct EventLogProps {
    pub events: Rc<Vec<(u64, Rc<Explained>)>>,
    /// While the cluster plays the list shows fewer lines (see `SHOWN_PLAYING`).
    pub playing: bool,
    pub dispatch: Callback<Msg>,
}

/// Lines shown at first, and how many more each "older lines" press adds. The newest lines
/// replace the shown ones on every snapshot while the cluster plays (thousands of events per
/// simulated second), so the list is kept short enough to redraw within a frame; pausing and
/// asking for older lines reads back through all the page keeps.
const SHOWN_FIRST: usize = 40;
const SHOWN_MORE: usize = 120;
/// Lines shown while the cluster plays: at full speed every line is new on every snapshot, and
/// nobody reads more than a few lines a tenth of a second; pausing shows `SHOWN_FIRST`.
const SHOWN_PLAYING: usize = 6;

#[function_component(EventLog)]
pub fn event_log(props: &EventLogProps) -> Html {
    let hidden = use_state(BTreeSet::<u8>::new);
    let important_only = use_state(|| false);
    let limit = use_state(|| SHOWN_FIRST);
    let toggle = |i: u8| {
        let hidden = hidden.clone();
        Callback::from(move |_: MouseEvent| {
            let mut h = (*hidden).clone();
            if !h.remove(&i) {
                h.insert(i);
            }
            hidden.set(h);
        })
    };
    let on_important = {
        let important_only = important_only.clone();
        Callback::from(move |_: Event| important_only.set(!*important_only))
    };
    let topic_index = |t: Topic| TOPICS.iter().position(|(x, _)| *x == t).unwrap_or(0) as u8;
    let mut matching = props
        .events
        .iter()
        .rev()
        .filter(|(_, e)| !hidden.contains(&topic_index(e.topic)))
        .filter(|(_, e)| {
            !*important_only
                || matches!(
                    e.severity,
                    Severity::Warning | Severity::Error | Severity::Notice
                )
        });
    // While playing the worker sends only the newest lines of each kind, so older ones may be
    // missing: the log shows the newest few, whatever was asked for when paused.
    let showing = if props.playing { SHOWN_PLAYING } else { *limit };
    let shown: Vec<&(u64, Rc<Explained>)> = matching.by_ref().take(showing).collect();
    let older = matching.count();
    let on_more = {
        let limit = limit.clone();
        Callback::from(move |_: MouseEvent| limit.set(*limit + SHOWN_MORE))
    };
    let on_fewer = {
        let limit = limit.clone();
        Callback::from(move |_: MouseEvent| limit.set(SHOWN_FIRST))
    };
    html! {
        <section class="card events" aria-labelledby="events-h" data-testid="event-log">
            <h2 id="events-h">{ "What happened, and why" }</h2>
            <div class="chips" role="group" aria-label="Filter the event log">
                { for TOPICS.iter().enumerate().map(|(i, (_, name))| {
                    let on = !hidden.contains(&(i as u8));
                    html! { <button class={classes!("chip", on.then_some("on"))} aria-pressed={on.to_string()} onclick={toggle(i as u8)}>{ *name }</button> }
                }) }
                <label class="chip-toggle"><input type="checkbox" checked={*important_only} onchange={on_important} />{ " important only" }</label>
            </div>
            <ol class="event-list" aria-live="off">
                { for shown.iter().map(|(key, e)| {
                    let (class, icon) = severity_word(e.severity);
                    // Keyed while paused (a line keeps its element as older ones load); while
                    // playing every line is new on every snapshot, and patching the few shown
                    // elements in place costs a fraction of replacing them (B5).
                    let mut line = html! {
                        <li class={classes!("event", class)} data-testid="event" data-step={e.step.to_string()}>
                            <div class="event-line">
                                <span class="event-time">{ format!("{:.3}s", e.time_ms as f64 / 1000.0) }</span>
                                <span class="sev" aria-label={class}>{ icon }</span>
                                <span class="what">{ e.what.clone() }</span>
                            </div>
                            if let Some(why) = &e.why {
                                <div class="why">{ why.clone() }</div>
                            }
                            if !e.refs.is_empty() {
                                <div class="refs">
                                    { for e.refs.iter().filter_map(|r| ref_chip(r, &props.dispatch)) }
                                </div>
                            }
                        </li>
                    };
                    if let (false, Html::VTag(tag)) = (props.playing, &mut line) {
                        Rc::make_mut(tag).key = Some((*key).into());
                    }
                    line
                }) }
            </ol>
            if shown.is_empty() {
                <p class="muted">{ "Nothing yet: press play." }</p>
            }
            if props.playing && !shown.is_empty() {
                <p class="muted small">{ "Playing: the newest lines. Pause to read back through older ones." }</p>
            }
            if !props.playing && (older > 0 || *limit > SHOWN_FIRST) {
                <div class="event-more">
                    if older > 0 {
                        <button class="secondary" data-testid="events-older" onclick={on_more}>
                            { format!("Show {} older line(s)", older.min(SHOWN_MORE)) }
                        </button>
                    }
                    if *limit > SHOWN_FIRST {
                        <button class="link" onclick={on_fewer}>{ "Newest only" }</button>
                    }
                    <span class="muted small">{ format!("the page keeps the newest {EVENTS_KEPT} lines") }</span>
                </div>
            }
        </section>
    }
}

fn ref_chip(r: &Ref, dispatch: &Callback<Msg>) -> Option<Html> {
    let (label, focus) = match r {
        Ref::Partition { topic, partition }
        | Ref::Replica {
            topic, partition, ..
        }
        | Ref::Offset {
            topic, partition, ..
        } => (
            match r {
                Ref::Offset { offset, .. } => format!("{topic}-{partition}@{offset}"),
                Ref::Replica { broker, .. } => format!("{topic}-{partition} on B{broker}"),
                _ => format!("{topic}-{partition}"),
            },
            Some((topic.clone(), *partition)),
        ),
        Ref::Broker(b) => (format!("broker {b}"), None),
        Ref::Producer(p) => (format!("producer {p}"), None),
        Ref::Consumer(c) => (format!("consumer {c}"), None),
    };
    Some(match focus {
        Some(f) => {
            let onclick = dispatch.reform(move |_: MouseEvent| Msg::Focus(Some(f.clone())));
            html! { <button class="ref" onclick={onclick} title="Show this partition">{ label }</button> }
        }
        None => html! { <span class="ref static">{ label }</span> },
    })
}

#[derive(Properties, PartialEq)]
pub struct HelpProps {
    pub dispatch: Callback<Msg>,
}

#[function_component(Help)]
pub fn help(props: &HelpProps) -> Html {
    let close = props
        .dispatch
        .reform(|_: MouseEvent| Msg::ToggleHelp(false));
    html! {
        <div class="overlay" role="dialog" aria-modal="true" aria-labelledby="help-h" data-testid="help">
            <div class="dialog">
                <h2 id="help-h">{ "Keyboard and help" }</h2>
                <table>
                    <tbody>
                        <tr><th scope="row"><kbd>{ "Space" }</kbd></th><td>{ "play / pause" }</td></tr>
                        <tr><th scope="row"><kbd>{ "→" }</kbd></th><td>{ "one event forward" }</td></tr>
                        <tr><th scope="row"><kbd>{ "←" }</kbd></th><td>{ "one event back (a rewind: acting then forks the timeline)" }</td></tr>
                        <tr><th scope="row"><kbd>{ "?" }</kbd></th><td>{ "this help" }</td></tr>
                        <tr><th scope="row"><kbd>{ "Esc" }</kbd></th><td>{ "close" }</td></tr>
                    </tbody>
                </table>
                <p>{ "Every run is deterministic: the seed and your actions decide everything, so a share link or an exported file replays the same trace (its hash is in the header) in any browser and with the native CLI: logsim run --scenario FILE." }</p>
                <p>{ "Drag the timeline back to rewind. Acting in the past (a fault button) starts a new timeline from there; the old future is dropped." }</p>
                <p>{ "Cells: each square is one offset of a replica's log. Filled blue: below the high watermark (replicated to the whole ISR, visible to consumers). Outlined orange: above it. Hatched: written but not yet synced to disk, lost on a power loss. Thick bars mark segment starts." }</p>
                <button class="primary" onclick={close}>{ "Close" }</button>
            </div>
        </div>
    }
}
