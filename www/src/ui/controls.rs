//! The header (what runs, its seed and trace hash, the scenario, lesson and drill pickers,
//! share, export and import), the time bar (play, pause, step, rewind, speed, the timeline
//! scrubber) and the network fault panel.

use super::{share_link, Msg};
use crate::protocol::{action_label, Recipe, Snapshot, Source, ToWorker};
use crate::share;
use crate::teach::catalogue;
use logsim::session::library;
use logsim::sim::cluster::scenario::Action;
use logsim::sim::cluster::view::{MessageView, NetworkView};
use logsim::sim::network::{ExtraLatency, NetworkConfig, Ratio};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    pub snapshot: Rc<Snapshot>,
    pub send: Callback<ToWorker>,
    pub dispatch: Callback<Msg>,
    pub share_link: Option<String>,
}

pub(super) fn select_value(e: &Event) -> String {
    e.target_dyn_into::<HtmlSelectElement>()
        .map(|s| s.value())
        .unwrap_or_default()
}

fn load(send: &Callback<ToWorker>, source: Source, seed: u64) {
    send.emit(ToWorker::Load(Recipe::new(source, seed)));
}

/// Starts a browser download of `text`.
fn download(name: &str, text: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|_| "cannot make the file".to_owned())?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|_| "cannot make the file's address".to_owned())?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| "cannot make a link")?
        .unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

#[function_component(Header)]
pub fn header(props: &HeaderProps) -> Html {
    let s = &props.snapshot;
    let (lessons, drills) = (*use_memo((), |_| catalogue())).clone();
    let scenarios = use_memo((), |_| {
        library::names()
            .filter_map(|n| library::scenario(n).ok().map(|s| (n.to_owned(), s.name)))
            .collect::<Vec<_>>()
    });
    let current = match &s.recipe.source {
        Source::Library(n) => format!("library:{n}"),
        Source::Lesson(n) => format!("lesson:{n}"),
        Source::Drill(n) => format!("drill:{n}"),
        Source::Inline(_) => "inline".to_owned(),
    };
    let on_pick = {
        let send = props.send.clone();
        let seed = s.seed;
        Callback::from(move |e: Event| {
            let value = select_value(&e);
            let (kind, name) = value.split_once(':').unwrap_or(("", ""));
            let source = match kind {
                "library" => Source::Library(name.to_owned()),
                "lesson" => Source::Lesson(name.to_owned()),
                "drill" => Source::Drill(name.to_owned()),
                _ => return,
            };
            // A drill draws its hidden fault from the seed: a new one each time.
            let seed = if kind == "drill" {
                (js_sys::Math::random() * 1_000_000.0) as u64 + 1
            } else {
                seed
            };
            load(&send, source, seed);
        })
    };
    let seed_input = use_node_ref();
    let on_seed = {
        let send = props.send.clone();
        let dispatch = props.dispatch.clone();
        let recipe = s.recipe.clone();
        let seed_input = seed_input.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let text = seed_input
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            match text.trim().parse::<u64>() {
                Ok(seed) => load(&send, recipe.source.clone(), seed),
                Err(_) => dispatch.emit(Msg::Error(format!(
                    "{text:?} is not a seed: use a whole number from 0 to 18446744073709551615"
                ))),
            }
        })
    };
    let on_share = {
        let dispatch = props.dispatch.clone();
        let recipe = s.recipe.clone();
        Callback::from(move |_: MouseEvent| {
            let Some(link) = share_link(&recipe) else {
                dispatch.emit(Msg::Error("cannot make a link on this page".into()));
                return;
            };
            if let Some(clipboard) = web_sys::window().map(|w| w.navigator().clipboard()) {
                let _ = clipboard.write_text(&link);
            }
            dispatch.emit(Msg::ShareLink(Some(link)));
        })
    };
    let on_export = {
        let dispatch = props.dispatch.clone();
        let recipe = s.recipe.clone();
        let seed = s.seed;
        Callback::from(move |_: MouseEvent| {
            let result = share::export(&recipe)
                .and_then(|text| download(&format!("logsim-seed{seed}.json"), &text));
            match result {
                Ok(()) => dispatch.emit(Msg::Notice(format!(
                    "Exported. Replay it natively with: logsim run --scenario logsim-seed{seed}.json"
                ))),
                Err(e) => dispatch.emit(Msg::Error(format!("export failed: {e}"))),
            }
        })
    };
    let on_import = {
        let send = props.send.clone();
        let dispatch = props.dispatch.clone();
        Callback::from(move |e: Event| {
            let Some(input) = e.target_dyn_into::<HtmlInputElement>() else {
                return;
            };
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            if file.size() > share::RECIPE_BYTES_MAX as f64 {
                dispatch.emit(Msg::Error(format!(
                    "{} is too large for a scenario file ({} bytes)",
                    file.name(),
                    file.size()
                )));
                return;
            }
            let send = send.clone();
            let dispatch = dispatch.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let text = wasm_bindgen_futures::JsFuture::from(file.text())
                    .await
                    .ok()
                    .and_then(|v| v.as_string());
                match text.map(|t| share::import(&t)) {
                    Some(Ok(recipe)) => send.emit(ToWorker::Load(recipe)),
                    Some(Err(e)) => dispatch.emit(Msg::Error(format!("{}: {e}", file.name()))),
                    None => dispatch.emit(Msg::Error(format!(
                        "{} cannot be read as text",
                        file.name()
                    ))),
                }
            });
        })
    };
    let on_help = props.dispatch.reform(|_: MouseEvent| Msg::ToggleHelp(true));
    html! {
        <header class="topbar">
            <div class="brand">
                <span class="logo" aria-hidden="true">{ "▤" }</span>
                <div>
                    <h1>{ "logsim" }</h1>
                    <p class="subtitle" data-testid="title">{ s.title.clone() }</p>
                </div>
            </div>
            <div class="identity">
                <form class="seed-form" onsubmit={on_seed} aria-label="Seed">
                    <label for="seed">{ "Seed" }</label>
                    <input id="seed" ref={seed_input} data-testid="seed" value={s.seed.to_string()} inputmode="numeric" size="8" />
                    <button type="submit" class="secondary" title="Start this scenario again with this seed">{ "Run" }</button>
                </form>
                <div class="hash">
                    <span class="label">{ "Trace hash" }</span>
                    <code data-testid="trace-hash">{ s.trace_hash.clone() }</code>
                </div>
            </div>
            <div class="pickers">
                <label class="visually-hidden" for="picker">{ "Scenario, lesson or drill" }</label>
                <select id="picker" data-testid="picker" onchange={on_pick}>
                    <optgroup label="Lessons">
                        { for lessons.iter().enumerate().map(|(i, (id, title, _))| {
                            let v = format!("lesson:{id}");
                            let sel = v == current;
                            html! { <option selected={sel} value={v}>{ format!("Lesson {}: {title}", i + 1) }</option> }
                        }) }
                    </optgroup>
                    <optgroup label="Drills (a hidden fault)">
                        { for drills.iter().map(|(id, title, _)| {
                            let v = format!("drill:{id}");
                            let sel = v == current;
                            html! { <option selected={sel} value={v}>{ format!("Drill: {title}") }</option> }
                        }) }
                    </optgroup>
                    <optgroup label="Scenarios">
                        { for scenarios.iter().map(|(name, title)| {
                            let v = format!("library:{name}");
                            let sel = v == current;
                            html! { <option selected={sel} value={v}>{ title.clone() }</option> }
                        }) }
                    </optgroup>
                    if current == "inline" {
                        <option selected=true value="inline">{ "Imported scenario" }</option>
                    }
                </select>
                <button class="secondary" data-testid="share" onclick={on_share}>{ "Share link" }</button>
                <button class="secondary" data-testid="export" onclick={on_export}>{ "Export" }</button>
                <label class="button secondary file">
                    { "Import" }
                    <input type="file" accept=".json,application/json" data-testid="import" onchange={on_import} />
                </label>
                <a class="button secondary" href="buffer/" data-testid="buffer-demo" title="The log engine alone as a durable local buffer for pages and workers: the LogBuffer JS API">{ "Edge buffer demo" }</a>
                <button class="icon" aria-label="Keyboard shortcuts and help" title="Help (?)" onclick={on_help}>{ "?" }</button>
            </div>
            if let Some(link) = &props.share_link {
                <div class="share-box" role="region" aria-label="Share link">
                    <label for="share-link">{ "Link to this session (copied):" }</label>
                    <input id="share-link" data-testid="share-link" readonly=true value={link.clone()} />
                    <button class="link" onclick={props.dispatch.reform(|_| Msg::ShareLink(None))}>{ "Close" }</button>
                </div>
            }
        </header>
    }
}

#[derive(Properties, PartialEq)]
pub struct TimeBarProps {
    pub snapshot: Rc<Snapshot>,
    pub send: Callback<ToWorker>,
}

/// "0.27x": simulated milliseconds per wall second as a multiple of real time.
fn speed_text(ms_per_s: f64) -> String {
    let x = ms_per_s / 1_000.0;
    if x >= 10.0 {
        format!("{x:.0}x")
    } else if x >= 1.0 {
        format!("{x:.1}x")
    } else {
        format!("{x:.2}x")
    }
}

/// Simulated milliseconds per wall second, with labels.
const SPEEDS: &[(u32, &str)] = &[
    (100, "0.1x"),
    (250, "0.25x"),
    (1_000, "1x"),
    (3_000, "3x"),
    (10_000, "10x"),
    (100_000, "100x"),
];

#[function_component(TimeBar)]
pub fn time_bar(props: &TimeBarProps) -> Html {
    let s = &props.snapshot;
    let t = &s.timeline;
    let send = props.send.clone();
    let on_play = {
        let send = send.clone();
        let playing = s.playing;
        Callback::from(move |_: MouseEvent| {
            send.emit(if playing {
                ToWorker::Pause
            } else {
                ToWorker::Play
            })
        })
    };
    let on_step = send.reform(|_: MouseEvent| ToWorker::Step(1));
    let on_back = {
        let step = t.step;
        send.reform(move |_: MouseEvent| ToWorker::Seek(step.saturating_sub(1)))
    };
    let on_speed =
        send.reform(|e: Event| ToWorker::SetSpeed(select_value(&e).parse().unwrap_or(1_000)));
    let on_scrub = send.reform(|e: Event| {
        let step = e
            .target_dyn_into::<HtmlInputElement>()
            .and_then(|i| i.value().parse().ok())
            .unwrap_or(0);
        ToWorker::Seek(step)
    });
    let max = t.horizon_step.max(t.step).max(1);
    let forked = t.timelines > 1;
    html! {
        <section class="timebar" aria-label="Time controls">
            <button class="primary play" data-testid="play" onclick={on_play} aria-keyshortcuts="Space">
                { if s.playing { "❚❚ Pause" } else if t.finished { "■ Ended" } else { "▶ Play" } }
            </button>
            <button class="secondary" data-testid="step-back" onclick={on_back} aria-keyshortcuts="ArrowLeft" title="One event back (←)">{ "◀ Back" }</button>
            <button class="secondary" data-testid="step" onclick={on_step} aria-keyshortcuts="ArrowRight" title="One event forward (→)">{ "Step ▶" }</button>
            <label class="speed">
                <span>{ "Speed" }</span>
                <select data-testid="speed" onchange={on_speed}>
                    { for SPEEDS.iter().map(|(v, label)| html! {
                        <option value={v.to_string()} selected={*v == s.speed}>{ *label }</option>
                    }) }
                </select>
            </label>
            <div class="scrubber">
                <label for="scrubber" class="visually-hidden">{ "Timeline: drag back to rewind" }</label>
                <input id="scrubber" type="range" data-testid="scrubber" min="0" max={max.to_string()}
                    value={t.step.to_string()} onchange={on_scrub} />
                <div class="scrub-labels">
                    <span data-testid="clock">{ format!("{:.1} s", t.time_ms as f64 / 1000.0) }</span>
                    <span>{ format!("step {}", t.step) }</span>
                    <span data-testid="step-count" class="visually-hidden">{ t.step }</span>
                    if t.step < t.horizon_step {
                        <span class="badge warn" data-testid="in-past">{ format!("in the past: acting now forks (future ends at {:.1} s)", t.horizon_time_ms as f64 / 1000.0) }</span>
                    }
                    if forked {
                        <span class="badge" data-testid="timelines">{ format!("timeline {}", t.timelines) }</span>
                    }
                    <span class="muted">{ format!("of {:.0} s", t.duration_ms as f64 / 1000.0) }</span>
                    if let Some(achieved) = s.achieved_speed.filter(|a| *a < 0.8 * f64::from(s.speed)) {
                        <span class="badge warn" data-testid="achieved-speed" title="Every event of every replica is simulated; a large cluster takes the worker longer than the chosen speed allows">
                            { format!("running at {} of the chosen {}: the simulation cannot keep up", speed_text(achieved), speed_text(f64::from(s.speed))) }
                        </span>
                    }
                </div>
            </div>
            if !t.user_steps.is_empty() {
                <details class="actions-list">
                    <summary data-testid="actions-count">{ format!("{} action(s)", t.user_steps.len()) }</summary>
                    <ol>
                        { for t.user_steps.iter().map(|step| html! {
                            <li>{ format!("{:.3} s — {}", step.at_ms as f64 / 1000.0, action_label(&step.action)) }</li>
                        }) }
                    </ol>
                </details>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct FaultPanelProps {
    /// What the panel reads of the snapshot (not the whole of it, so the panel is redrawn only
    /// when the nodes or the network change, not on every snapshot).
    pub nodes: Vec<(u32, String)>,
    pub network: NetworkView,
    pub send: Callback<ToWorker>,
}

/// The nodes a network cut can name: brokers, producers and consumers.
pub fn nodes(s: &Snapshot) -> Vec<(u32, String)> {
    let mut out = vec![(0, "controller".to_owned())];
    out.extend(s.brokers.iter().map(|b| (b.id, format!("broker {}", b.id))));
    out.extend(
        s.producers
            .iter()
            .map(|p| (p.node, format!("producer {}", p.index))),
    );
    out.extend(
        s.consumers
            .iter()
            .map(|c| (c.node, format!("consumer {}", c.index))),
    );
    out
}

#[derive(Properties, PartialEq)]
pub struct WireProps {
    pub nodes: Vec<(u32, String)>,
    pub in_flight: Vec<MessageView>,
    pub total: u32,
    pub playing: bool,
    pub time_ms: u64,
    pub send: Callback<ToWorker>,
}

/// Messages shown on the wire when paused.
const WIRE_SHOWN: usize = 12;

/// The messages on the wire, each droppable by itself (when paused: while playing they change
/// faster than anyone can pick one, so the panel only counts them).
#[function_component(WirePanel)]
pub fn wire_panel(props: &WireProps) -> Html {
    let name = |n: u32| {
        props
            .nodes
            .iter()
            .find(|(id, _)| *id == n)
            .map_or_else(|| format!("node {n}"), |(_, label)| label.clone())
    };
    html! {
        <section class="card wire" aria-labelledby="wire-h" data-testid="wire">
            <h2 id="wire-h">{ "On the wire" }</h2>
            if props.total == 0 {
                <p class="muted small">{ "No message in flight." }</p>
            } else if props.playing {
                <p class="small" data-testid="wire-count">{ format!("{} message(s) in flight. Pause (space) to pick one and drop it.", props.total) }</p>
            } else {
                <p class="small" data-testid="wire-count">{ format!("{} message(s) in flight, the soonest due first:", props.total) }</p>
                <ul class="wire-list">
                    { for props.in_flight.iter().take(WIRE_SHOWN).map(|m| {
                        let action = Action::DropMessage { from: m.from, to: m.to, sequence: m.sequence };
                        let drop = props.send.reform(move |_: MouseEvent| action.clone().into_command());
                        let in_ms = (m.due_us / 1_000).saturating_sub(props.time_ms);
                        html! {
                            <li key={format!("{}-{}-{}-{}", m.from, m.to, m.sequence, m.duplicate)} data-testid="wire-message" data-kind={m.kind.clone()}>
                                <span class="wire-what">
                                    <b>{ m.kind.clone() }</b>
                                    { format!(" #{} {} → {}{}", m.sequence, name(m.from), name(m.to), if m.duplicate { " (duplicate)" } else { "" }) }
                                </span>
                                <span class="muted small">{ if in_ms == 0 { "arrives now".to_owned() } else { format!("arrives in {in_ms} ms") } }</span>
                                <button class="link tiny" data-testid="drop-message" onclick={drop}
                                    aria-label={format!("Drop {} #{} from {} to {}", m.kind, m.sequence, name(m.from), name(m.to))}>{ "drop" }</button>
                            </li>
                        }
                    }) }
                </ul>
                if props.total as usize > WIRE_SHOWN.min(props.in_flight.len()) {
                    <p class="muted small">{ format!("and {} more; step (→) to see them come up", props.total as usize - WIRE_SHOWN.min(props.in_flight.len())) }</p>
                }
            }
        </section>
    }
}

fn ratio(per_hundred: u32) -> Ratio {
    Ratio::new(per_hundred, 100).unwrap_or_default()
}

#[function_component(FaultPanel)]
pub fn fault_panel(props: &FaultPanelProps) -> Html {
    let from = use_state(|| 1u32);
    let to = use_state(|| 2u32);
    let drop_pct = use_state(|| 0u32);
    let dup_pct = use_state(|| 0u32);
    let delay_ms = use_state(|| 0u64);
    let all = &props.nodes;
    let pick = |state: UseStateHandle<u32>| {
        Callback::from(move |e: Event| {
            if let Ok(v) = select_value(&e).parse() {
                state.set(v);
            }
        })
    };
    let node_select = |id: &str, value: u32, onchange: Callback<Event>| {
        html! {
            <select id={id.to_owned()} onchange={onchange}>
                { for all.iter().map(|(n, label)| html! {
                    <option value={n.to_string()} selected={*n == value}>{ label.clone() }</option>
                }) }
            </select>
        }
    };
    let send = props.send.clone();
    let (a, b) = (*from, *to);
    let cut_both = send.reform(move |_: MouseEvent| {
        Action::Partition {
            sides: vec![vec![a], vec![b]],
        }
        .into_command()
    });
    let cut_one =
        send.reform(move |_: MouseEvent| Action::PartitionOneWay { from: a, to: b }.into_command());
    let isolate = send.reform(move |_: MouseEvent| Action::Isolate { node: a }.into_command());
    let heal = send.reform(|_: MouseEvent| Action::Heal.into_command());
    let set_net = {
        let (d, u, l) = (*drop_pct, *dup_pct, *delay_ms);
        send.reform(move |_: MouseEvent| {
            let delay = if l > 0 {
                ExtraLatency {
                    probability: ratio(100),
                    extra_us_max: l * 1_000,
                }
            } else {
                ExtraLatency::NONE
            };
            let config = NetworkConfig {
                drop: ratio(d),
                duplicate: ratio(u),
                delay,
                ..NetworkConfig::default()
            };
            Action::SetNetwork { config }.into_command()
        })
    };
    let pct = |state: UseStateHandle<u32>| {
        Callback::from(move |e: Event| state.set(select_value(&e).parse().unwrap_or(0)))
    };
    let delay = {
        let delay_ms = delay_ms.clone();
        Callback::from(move |e: Event| delay_ms.set(select_value(&e).parse().unwrap_or(0)))
    };
    let network = &props.network;
    let cuts = &network.cut_links;
    html! {
        <section class="card faults" aria-labelledby="faults-h">
            <h2 id="faults-h">{ "Network" }</h2>
            <div class="row">
                <label for="net-from">{ "Between" }</label>
                { node_select("net-from", *from, pick(from.clone())) }
                <label for="net-to">{ "and" }</label>
                { node_select("net-to", *to, pick(to.clone())) }
            </div>
            <div class="row buttons">
                <button class="danger" data-testid="cut-both" onclick={cut_both}>{ "Cut both ways" }</button>
                <button class="danger" data-testid="cut-one" onclick={cut_one} title="Messages from the first node to the second are lost">{ "Cut one way →" }</button>
                <button class="danger" data-testid="isolate" onclick={isolate} title="Cut the first node off from everyone">{ "Isolate first" }</button>
                <button class="secondary" data-testid="heal" onclick={heal}>{ "Heal all" }</button>
            </div>
            if cuts.is_empty() && network.isolated.is_empty() {
                <p class="muted small">{ "No cuts: every node reaches every other." }</p>
            } else {
                <p class="small" data-testid="cuts">
                    { "Cut: " }
                    { cuts.iter().map(|(f, t)| format!("{f}→{t}")).collect::<Vec<_>>().join(", ") }
                    { if network.isolated.is_empty() { String::new() } else { format!(" isolated: {:?}", network.isolated) } }
                </p>
            }
            <h3>{ "Message faults" }</h3>
            <div class="row">
                <label>{ "Drop " }
                    <select onchange={pct(drop_pct.clone())}>
                        { for [0u32, 1, 5, 20, 50].iter().map(|v| html! { <option value={v.to_string()} selected={*v == *drop_pct}>{ format!("{v}%") }</option> }) }
                    </select>
                </label>
                <label>{ "Duplicate " }
                    <select onchange={pct(dup_pct.clone())}>
                        { for [0u32, 1, 5, 20].iter().map(|v| html! { <option value={v.to_string()} selected={*v == *dup_pct}>{ format!("{v}%") }</option> }) }
                    </select>
                </label>
                <label>{ "Delay up to " }
                    <select onchange={delay}>
                        { for [0u64, 50, 500, 5_000].iter().map(|v| html! { <option value={v.to_string()} selected={*v == *delay_ms}>{ format!("{v} ms") }</option> }) }
                    </select>
                </label>
                <button class="secondary" data-testid="set-network" onclick={set_net}>{ "Apply" }</button>
            </div>
            if !network.drop.is_empty() || !network.duplicate.is_empty() {
                <p class="small">{ format!("In effect: drop {}, duplicate {}", or_none(&network.drop), or_none(&network.duplicate)) }</p>
            }
        </section>
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "none"
    } else {
        s
    }
}

/// Actions become worker commands.
pub trait IntoCommand {
    fn into_command(self) -> ToWorker;
}

impl IntoCommand for Action {
    fn into_command(self) -> ToWorker {
        ToWorker::Act(self)
    }
}
