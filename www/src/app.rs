//! The page: header with the run's identity, controls, status line, one drawing per
//! partition, client counters and the recent trace. It owns the UI reducer, holds the shared
//! simulator handle, starts the driver once, and turns clicks and keys into driver commands.

use crate::driver::{parse_seed, seed_from_address, Command, Driver, SharedSim};
use crate::state::{Speed, Status, UiState};
use crate::view::{visible_from, Counters, Legend, PartitionLogView, TracePanel};
use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use gloo::events::{EventListener, EventListenerOptions};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, KeyboardEvent};
use yew::prelude::*;

/// Trace lines shown.
const TRACE_LINES: usize = 30;

/// The command channel: the sender for callbacks, the receiver handed to the driver once.
struct Channel {
    sender: UnboundedSender<Command>,
    receiver: RefCell<Option<UnboundedReceiver<Command>>>,
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(UiState::default);
    let sim: SharedSim = (*use_memo((), |_| Rc::new(RefCell::new(None)))).clone();
    let channel = use_memo((), |_| {
        let (sender, receiver) = unbounded();
        Channel {
            sender,
            receiver: RefCell::new(Some(receiver)),
        }
    });
    let (page_seed, seed_notice) = (*use_memo((), |_| seed_from_address())).clone();
    let seed_input = use_state(|| page_seed.to_string());
    let seed_error = use_state(|| None::<String>);

    let send = {
        let sender = channel.sender.clone();
        Callback::from(move |command: Command| {
            // The driver lives as long as the page; a closed channel only means it is gone.
            let _ = sender.unbounded_send(command);
        })
    };

    // Start the driver once.
    {
        let sim = sim.clone();
        let channel = channel.clone();
        let dispatch = state.dispatcher();
        let speed = state.speed;
        use_effect_with((), move |_| {
            if let Some(receiver) = channel.receiver.borrow_mut().take() {
                let driver = Driver::new(sim, dispatch, receiver, page_seed, speed);
                wasm_bindgen_futures::spawn_local(driver.run(seed_notice));
            }
        });
    }

    // Keyboard: space plays or pauses, right arrow steps. Keys typed into a field, or space on
    // a focused button (which clicks it), are left alone.
    {
        let send = send.clone();
        use_effect_with((), move |_| {
            let listener = web_sys::window()
                .and_then(|w| w.document())
                .map(|document| {
                    // Not passive: space and the arrow key must not also scroll the page.
                    let options = EventListenerOptions::enable_prevent_default();
                    EventListener::new_with_options(&document, "keydown", options, move |event| {
                        let Some(event) = event.dyn_ref::<KeyboardEvent>() else {
                            return;
                        };
                        if event.ctrl_key() || event.meta_key() || event.alt_key() {
                            return;
                        }
                        let in_control = event
                            .target()
                            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                            .map(|e| {
                                matches!(
                                    e.tag_name().as_str(),
                                    "INPUT" | "SELECT" | "TEXTAREA" | "BUTTON"
                                )
                            })
                            .unwrap_or(false);
                        if in_control {
                            return;
                        }
                        match event.key().as_str() {
                            " " => {
                                event.prevent_default();
                                send.emit(Command::TogglePlay);
                            }
                            "ArrowRight" => {
                                event.prevent_default();
                                send.emit(Command::Step);
                            }
                            _ => {}
                        }
                    })
                });
            move || drop(listener)
        });
    }

    // Hiding the page (switching tabs, closing it) writes a checkpoint.
    {
        let send = send.clone();
        use_effect_with((), move |_| {
            let listener = web_sys::window()
                .and_then(|w| w.document())
                .map(|document| {
                    let doc = document.clone();
                    EventListener::new(&document, "visibilitychange", move |_| {
                        if doc.visibility_state() == web_sys::VisibilityState::Hidden {
                            send.emit(Command::Checkpoint);
                        }
                    })
                });
            move || drop(listener)
        });
    }

    let on_play = send.reform(|_: MouseEvent| Command::TogglePlay);
    let on_step = send.reform(|_: MouseEvent| Command::Step);
    let on_speed = send.reform(|e: Event| {
        let key = e
            .target_dyn_into::<HtmlSelectElement>()
            .map(|s| s.value())
            .unwrap_or_default();
        Command::SetSpeed(Speed::from_key(&key).unwrap_or(Speed::X10))
    });
    let on_seed_input = {
        let seed_input = seed_input.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                seed_input.set(input.value());
            }
        })
    };
    let on_new_run = {
        let send = send.clone();
        let seed_input = seed_input.clone();
        let seed_error = seed_error.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match parse_seed(&seed_input) {
                Ok(seed) => {
                    seed_error.set(None);
                    send.emit(Command::NewRun(seed));
                }
                Err(why) => seed_error.set(Some(format!("Not a seed: {why}."))),
            }
        })
    };
    let on_start_over = send.reform(|_: MouseEvent| Command::StartOver);

    // Read the simulator once per render; views get plain data.
    let sim_ref = sim.borrow();
    let view = sim_ref.as_ref().map(|s| s.view());
    let partitions: Vec<_> = match (sim_ref.as_ref(), &view) {
        (Some(s), Some(v)) => v
            .partitions
            .iter()
            .map(|p| {
                let records = s.records(p.partition, visible_from(p), p.log_end_offset);
                (p.clone(), records)
            })
            .collect(),
        _ => Vec::new(),
    };
    let trace: Vec<String> = sim_ref
        .as_ref()
        .map(|s| {
            s.recent_trace()
                .rev()
                .take(TRACE_LINES)
                .map(|l| l.to_string())
                .collect()
        })
        .unwrap_or_default();
    drop(sim_ref);

    let loading = view.is_none();
    let failed = matches!(state.status, Status::Failed(_));
    let seed_text = view
        .as_ref()
        .map(|v| v.seed.to_string())
        .unwrap_or_default();
    let hash_text = view
        .as_ref()
        .map(|v| format!("{:016x}", v.trace_hash))
        .unwrap_or_default();
    let steps_text = view
        .as_ref()
        .map(|v| v.steps.to_string())
        .unwrap_or_default();
    let time_text = view.as_ref().map(|v| v.now.to_string()).unwrap_or_default();
    let topic = view.as_ref().map(|v| v.topic.clone()).unwrap_or_default();

    html! {
        <div class="app" data-testid="app" data-version={state.version.to_string()}>
            <header class="topbar">
                <div class="brand">
                    <h1>{"logsim"}</h1>
                    <p class="tagline">{"A Kafka-like log, simulated step by step. Same seed, same run."}</p>
                </div>
                <dl class="facts">
                    <div><dt>{"seed"}</dt><dd><code data-testid="seed">{seed_text}</code></dd></div>
                    <div><dt>{"trace hash"}</dt><dd><code data-testid="trace-hash">{hash_text}</code></dd></div>
                    <div><dt>{"steps"}</dt><dd><code data-testid="step-count">{steps_text}</code></dd></div>
                    <div><dt>{"simulated time"}</dt><dd><code data-testid="sim-time">{time_text}</code></dd></div>
                </dl>
            </header>

            <section class="controls" aria-label="Simulation controls">
                <button type="button" class="primary" data-testid="play" onclick={on_play}
                    disabled={loading || failed} aria-pressed={state.playing.to_string()}
                    aria-keyshortcuts="Space"
                    title="Play or pause (Space)">
                    { if state.playing { "Pause" } else { "Play" } }
                </button>
                <button type="button" data-testid="step" onclick={on_step}
                    disabled={loading || failed} aria-keyshortcuts="ArrowRight"
                    title="Run exactly one event (→)">
                    {"Step"}
                </button>
                <label class="speed">
                    {"Speed "}
                    <select data-testid="speed" onchange={on_speed} disabled={loading}>
                        { for Speed::ALL.iter().map(|s| html! {
                            <option value={s.key()} selected={*s == state.speed}>{s.label()}</option>
                        }) }
                    </select>
                </label>
                <form class="new-run" onsubmit={on_new_run}>
                    <label for="seed-input">{"Seed"}</label>
                    <input id="seed-input" data-testid="seed-input" type="text" inputmode="numeric"
                        autocomplete="off" spellcheck="false" value={(*seed_input).clone()}
                        oninput={on_seed_input}
                        aria-invalid={seed_error.is_some().to_string()}
                        aria-describedby="seed-error" />
                    <button type="submit" data-testid="new-run" disabled={loading && !failed}>{"New run"}</button>
                    <span id="seed-error" class="field-error" role="alert">
                        { (*seed_error).clone().unwrap_or_default() }
                    </span>
                </form>
            </section>

            <StatusLine status={state.status.clone()} on_start_over={on_start_over} />

            <main class="layout">
                <section class="partitions card" aria-labelledby="partitions-title">
                    <div class="section-head">
                        <h2 id="partitions-title">
                            { if topic.is_empty() { "Partitions".to_owned() }
                              else { format!("Topic “{topic}”: {} partitions on one broker", partitions.len()) } }
                        </h2>
                        <Legend />
                    </div>
                    <p class="explain">
                        {"Each square is one record at one offset. The producer appends at the log end offset (LEO); "}
                        {"records below the high watermark (HW) are committed and the consumer may read them; "}
                        {"retention deletes whole old segments, which moves the log start offset forward."}
                    </p>
                    if loading && !failed {
                        <p class="muted">{"Opening the saved session…"}</p>
                    }
                    { for partitions.into_iter().map(|(p, records)| {
                        let key = p.partition;
                        html! {
                            <PartitionLogView key={key} topic={topic.clone()} partition={p} records={records} />
                        }
                    }) }
                </section>
                <div class="side">
                    if let Some(v) = view {
                        <Counters view={v} />
                    }
                    <TracePanel lines={trace} />
                </div>
            </main>

            <footer class="footer">
                <p>
                    {"Keys: "}<kbd>{"Space"}</kbd>{" play / pause · "}<kbd>{"→"}</kbd>{" one step. "}
                    {"The session is saved in this browser (IndexedDB) when you pause, step or leave, and resumes on reload. "}
                    {"Hover a cell for its key, value and timestamp."}
                </p>
            </footer>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct StatusProps {
    status: Status,
    on_start_over: Callback<MouseEvent>,
}

#[function_component(StatusLine)]
fn status_line(props: &StatusProps) -> Html {
    let (class, text, notes): (&str, String, Vec<String>) = match &props.status {
        Status::Loading => ("status", "Opening the saved session…".into(), Vec::new()),
        Status::NewSession { notice } => (
            if notice.is_some() {
                "status status-warn"
            } else {
                "status"
            },
            "New session".into(),
            notice.iter().cloned().collect(),
        ),
        Status::Restored { steps, notes } => (
            "status status-ok",
            format!("Restored from IndexedDB at step {steps}"),
            notes.clone(),
        ),
        Status::Finished => (
            "status",
            "The run is over: no events are left.".into(),
            Vec::new(),
        ),
        Status::Failed(message) => ("status status-error", message.clone(), Vec::new()),
    };
    let failed = matches!(props.status, Status::Failed(_));
    html! {
        <div class={class} role={if failed { "alert" } else { "status" }}>
            <p data-testid="status">
                {text}
                { for notes.iter().map(|n| html! { <span class="note">{" · "}{n}</span> }) }
            </p>
            if failed {
                <button type="button" class="danger" data-testid="start-over"
                    onclick={props.on_start_over.clone()}>
                    {"Start over (deletes the saved session)"}
                </button>
            }
        </div>
    }
}
