//! The page: the root component owns the UI state (one `Msg` enum and reducer), the connection
//! to the simulation worker, the keyboard shortcuts, the share link and the saved session. The
//! child components (`cluster`, `panels`, `charts`, `controls`) are views over a snapshot and
//! callbacks; none of them holds engine state.

mod charts;
mod cluster;
mod controls;
mod frame_probe;
mod groups;
mod on_screen;
mod panels;
mod transactions;

use crate::protocol::{FromWorker, Recipe, Snapshot, ToWorker, EVENTS_KEPT};
use crate::share;
use gloo::events::{EventListener, EventListenerOptions};
use logsim::session::explain::Explained;
use logsim::session::metrics::Sample;
use logsim::session::timeline::LiveCheck;
use logsim::sim::cluster::view::RecordCard;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{KeyboardEvent, MessageEvent, Worker, WorkerOptions, WorkerType};
use yew::prelude::*;

/// The IndexedDB database of the saved session.
const DB_NAME: &str = "logsim-app";
/// Partitions drawn in detail per page of the partition list: about what a screen shows, since
/// every detailed partition costs each frame its drawing (B5).
pub const PAGE_PARTITIONS: u32 = 6;

/// What a hover card shows: one replica's records near the hovered offset.
#[derive(Clone, Debug, PartialEq)]
pub struct Hovered {
    pub topic: String,
    pub partition: u32,
    pub broker: u32,
    pub offset: u64,
}

#[derive(Clone, Default, PartialEq)]
pub struct UiState {
    pub snapshot: Option<Rc<Snapshot>>,
    /// Event-log lines with a number that never repeats in this page (the list's keys).
    pub events: Rc<Vec<(u64, Rc<Explained>)>>,
    pub events_numbered: u64,
    pub samples: Rc<Vec<Sample>>,
    pub check: Option<Rc<LiveCheck>>,
    /// The newest error, shown in a banner until dismissed.
    pub error: Option<String>,
    /// A passing notice ("Link copied").
    pub notice: Option<String>,
    pub records: Option<(Hovered, Rc<Vec<RecordCard>>)>,
    pub hovered: Option<Hovered>,
    /// The partition and broker the user selected (from the event log or a cell).
    pub focus: Option<(String, u32)>,
    pub help_open: bool,
    pub share_link: Option<String>,
    pub page: u32,
}

pub enum Msg {
    Worker(FromWorker),
    Error(String),
    DismissError,
    Notice(String),
    Hover(Option<Hovered>),
    Focus(Option<(String, u32)>),
    ToggleHelp(bool),
    ShareLink(Option<String>),
    Page(u32),
}

impl Reducible for UiState {
    type Action = Msg;

    fn reduce(self: Rc<Self>, msg: Msg) -> Rc<Self> {
        let mut next = (*self).clone();
        match msg {
            Msg::Worker(FromWorker::Ready) => {}
            Msg::Worker(FromWorker::Snapshot(mut snapshot)) => {
                let mut events = if snapshot.events_reset {
                    Vec::new()
                } else {
                    (*next.events).clone()
                };
                for e in std::mem::take(&mut snapshot.events) {
                    next.events_numbered += 1;
                    events.push((next.events_numbered, Rc::new(e)));
                }
                if events.len() > EVENTS_KEPT {
                    events.drain(..events.len() - EVENTS_KEPT);
                }
                next.events = Rc::new(events);
                if let Some(samples) = &snapshot.samples {
                    next.samples = Rc::new(samples.clone());
                }
                if let Some(check) = &snapshot.check {
                    next.check = Some(Rc::new(check.clone()));
                }
                let mut snapshot = *snapshot;
                snapshot.samples = None;
                next.snapshot = Some(Rc::new(snapshot));
            }
            Msg::Worker(FromWorker::Records {
                topic,
                partition,
                broker,
                records,
            }) => {
                if let Some(h) = next
                    .hovered
                    .clone()
                    .filter(|h| h.topic == topic && h.partition == partition && h.broker == broker)
                {
                    next.records = Some((h, Rc::new(records)));
                }
            }
            Msg::Worker(FromWorker::Error(e)) | Msg::Error(e) => next.error = Some(e),
            Msg::DismissError => next.error = None,
            Msg::Notice(n) => next.notice = Some(n),
            Msg::Hover(h) => {
                if h.is_none() {
                    next.records = None;
                }
                next.hovered = h;
            }
            Msg::Focus(f) => next.focus = f,
            Msg::ToggleHelp(open) => next.help_open = open,
            Msg::ShareLink(link) => next.share_link = link,
            Msg::Page(p) => next.page = p,
        }
        Rc::new(next)
    }
}

/// Sends commands to the worker; commands sent before it is ready wait in order.
#[derive(Clone)]
pub struct WorkerLink {
    inner: Rc<RefCell<LinkInner>>,
}

struct LinkInner {
    worker: Option<Worker>,
    ready: bool,
    queue: Vec<ToWorker>,
}

impl PartialEq for WorkerLink {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl WorkerLink {
    fn new() -> WorkerLink {
        WorkerLink {
            inner: Rc::new(RefCell::new(LinkInner {
                worker: None,
                ready: false,
                queue: Vec::new(),
            })),
        }
    }

    pub fn send(&self, command: ToWorker) {
        let mut inner = self.inner.borrow_mut();
        if !inner.ready {
            inner.queue.push(command);
            return;
        }
        if let Some(worker) = &inner.worker {
            let sent = crate::protocol::encode(&command).and_then(|text| {
                worker
                    .post_message(&text.into())
                    .map_err(|e| format!("{e:?}"))
            });
            if let Err(e) = sent {
                web_sys::console::error_1(
                    &format!("the page could not send {command:?}: {e}").into(),
                );
            }
        }
    }

    fn set_ready(&self) {
        let queued = {
            let mut inner = self.inner.borrow_mut();
            inner.ready = true;
            std::mem::take(&mut inner.queue)
        };
        for command in queued {
            self.send(command);
        }
    }
}

/// The recipe the page starts with: a share link, else the saved session, else the playground.
fn link_recipe() -> Option<Result<Recipe, String>> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let encoded = hash.strip_prefix('#')?.strip_prefix(share::FRAGMENT_KEY)?;
    let text = js_sys::decode_uri_component(encoded)
        .ok()
        .and_then(|s| s.as_string());
    Some(match text {
        Some(text) => share::decode(&text),
        None => Err("the link's session is not valid percent-encoded text".into()),
    })
}

/// A share link for the recipe.
pub fn share_link(recipe: &Recipe) -> Option<String> {
    let location = web_sys::window()?.location();
    let base = format!("{}{}", location.origin().ok()?, location.pathname().ok()?);
    let encoded: String = js_sys::encode_uri_component(&share::encode(recipe)).into();
    Some(format!("{base}#{}{encoded}", share::FRAGMENT_KEY))
}

fn start_worker(link: &WorkerLink, dispatch: UseReducerDispatcher<UiState>) -> Result<(), String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Classic);
    let worker = Worker::new_with_options("./logsim-worker_loader.js", &options)
        .map_err(|e| format!("cannot start the simulation worker: {e:?}"))?;
    let link2 = link.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        frame_probe::message_arrived();
        let message = match event.data().as_string() {
            Some(text) => crate::protocol::decode::<FromWorker>(&text),
            None => Err("it is not text".into()),
        };
        match message {
            Ok(FromWorker::Ready) => link2.set_ready(),
            Ok(message) => dispatch.dispatch(Msg::Worker(message)),
            Err(e) => dispatch.dispatch(Msg::Error(format!(
                "the page could not read the worker's message: {e}"
            ))),
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    link.inner.borrow_mut().worker = Some(worker);
    Ok(())
}

/// While playing, the session is saved at most this often (wall milliseconds).
const SAVE_EVERY_MS: f64 = 2_000.0;

/// Saves the recipe in IndexedDB, one write at a time, the newest winning.
#[derive(Default)]
struct Saver {
    last_attempt: f64,
    busy: bool,
    pending: Option<String>,
    last_saved: Option<String>,
}

fn save(saver: Rc<RefCell<Saver>>, text: String, dispatch: UseReducerDispatcher<UiState>) {
    {
        let mut s = saver.borrow_mut();
        if s.last_saved.as_deref() == Some(text.as_str()) {
            return;
        }
        if s.busy {
            s.pending = Some(text);
            return;
        }
        s.busy = true;
    }
    wasm_bindgen_futures::spawn_local(async move {
        let mut text = text;
        loop {
            let result = async {
                let mut store = logsim_browser::SessionStore::open(DB_NAME).await?;
                store.save(&text).await
            }
            .await;
            let next = {
                let mut s = saver.borrow_mut();
                match result {
                    Ok(()) => s.last_saved = Some(text.clone()),
                    Err(e) => dispatch.dispatch(Msg::Error(format!(
                        "the session could not be saved in IndexedDB: {e}"
                    ))),
                }
                match s.pending.take() {
                    Some(p) => p,
                    None => {
                        s.busy = false;
                        break;
                    }
                }
            };
            text = next;
        }
    });
}

async fn saved_recipe() -> Option<Result<Recipe, String>> {
    let mut store = logsim_browser::SessionStore::open(DB_NAME).await.ok()?;
    let text = store.load().await.ok()??;
    Some(share::decode(&text).map_err(|e| format!("the saved session was not restored: {e}")))
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(UiState::default);
    let link = (*use_memo((), |_| WorkerLink::new())).clone();
    let saver = use_mut_ref(Saver::default);
    let restored = use_state(|| None::<String>);

    // Start the worker and load the first session once.
    {
        let link = link.clone();
        let dispatch = state.dispatcher();
        let restored = restored.clone();
        use_effect_with((), move |_| {
            if let Err(e) = start_worker(&link, dispatch.clone()) {
                dispatch.dispatch(Msg::Error(e));
            }
            wasm_bindgen_futures::spawn_local(async move {
                let recipe = match link_recipe() {
                    Some(Ok(recipe)) => {
                        restored.set(Some("Opened the shared session.".into()));
                        recipe
                    }
                    Some(Err(e)) => {
                        dispatch.dispatch(Msg::Error(format!("The link was not opened: {e}")));
                        Recipe::playground()
                    }
                    None => match saved_recipe().await {
                        Some(Ok(recipe)) => {
                            restored.set(Some("Restored your last session.".into()));
                            recipe
                        }
                        Some(Err(e)) => {
                            dispatch.dispatch(Msg::Error(e));
                            Recipe::playground()
                        }
                        None => Recipe::playground(),
                    },
                };
                link.send(ToWorker::Window {
                    first: 0,
                    count: PAGE_PARTITIONS,
                });
                link.send(ToWorker::Load(recipe));
            });
        });
    }

    // Each snapshot drawn: tell the worker (it sends the next one only then, so a slow page
    // never queues stale snapshots), and with the benchmark's probe installed (B5), time the
    // snapshot's main-thread work.
    {
        let seq = state.snapshot.as_ref().map(|s| s.seq);
        let link = link.clone();
        use_effect_with(seq, move |seq| {
            if let Some(seq) = seq {
                link.send(ToWorker::Drawn(*seq));
                frame_probe::rendered();
            }
        });
    }

    // Save the session when its recipe changes: at once when paused (an action, a rewind, a
    // step), at most every two seconds while playing (the step reached moves on every frame).
    {
        let recipe = state
            .snapshot
            .as_ref()
            .map(|s| (s.recipe.clone(), s.playing));
        let saver = saver.clone();
        let dispatch = state.dispatcher();
        use_effect_with(recipe, move |recipe| {
            if let Some((recipe, playing)) = recipe {
                let now = js_sys::Date::now();
                let due = !*playing || now - saver.borrow().last_attempt >= SAVE_EVERY_MS;
                if due {
                    saver.borrow_mut().last_attempt = now;
                    save(saver, share::encode(recipe), dispatch);
                }
            }
        });
    }

    // Keyboard shortcuts. The listener is installed once and reads the newest snapshot.
    let latest = use_mut_ref(|| None::<Rc<Snapshot>>);
    *latest.borrow_mut() = state.snapshot.clone();
    {
        let link = link.clone();
        let dispatch = state.dispatcher();
        let latest = latest.clone();
        use_effect_with((), move |_| {
            let listener = web_sys::window()
                .and_then(|w| w.document())
                .map(|document| {
                    let options = EventListenerOptions::enable_prevent_default();
                    EventListener::new_with_options(&document, "keydown", options, move |event| {
                        let Some(event) = event.dyn_ref::<KeyboardEvent>() else {
                            return;
                        };
                        if event.ctrl_key() || event.meta_key() || event.alt_key() {
                            return;
                        }
                        // Keys typed into a field, or space on a focused button (which clicks it),
                        // are left alone.
                        let in_control = event
                            .target()
                            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                            .is_some_and(|e| {
                                matches!(e.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA")
                                    || (e.tag_name() == "BUTTON" && event.key() == " ")
                                    // A focused log strip reads its cells with the arrows.
                                    || e.closest(".log-strip").ok().flatten().is_some()
                            });
                        if in_control {
                            return;
                        }
                        match event.key().as_str() {
                            "?" => return dispatch.dispatch(Msg::ToggleHelp(true)),
                            "Escape" => return dispatch.dispatch(Msg::ToggleHelp(false)),
                            _ => {}
                        }
                        let Some(s) = latest.borrow().clone() else {
                            return;
                        };
                        match event.key().as_str() {
                            " " => {
                                event.prevent_default();
                                link.send(if s.playing {
                                    ToWorker::Pause
                                } else {
                                    ToWorker::Play
                                });
                            }
                            "ArrowRight" => {
                                event.prevent_default();
                                link.send(ToWorker::Step(1));
                            }
                            "ArrowLeft" => {
                                event.prevent_default();
                                link.send(ToWorker::Seek(s.timeline.step.saturating_sub(1)));
                            }
                            _ => {}
                        }
                    })
                });
            move || drop(listener)
        });
    }

    // The same two callbacks on every render: a callback compares by identity, so a new one
    // per snapshot would make every child re-render even when its own data did not change
    // (B5: a partition card whose replicas did not move is skipped).
    let send = (*use_memo((), {
        let link = link.clone();
        move |_| Callback::from(move |command: ToWorker| link.send(command))
    }))
    .clone();
    let dispatch = (*use_memo((), {
        let dispatcher = state.dispatcher();
        move |_| Callback::from(move |msg: Msg| dispatcher.dispatch(msg))
    }))
    .clone();

    let Some(snapshot) = state.snapshot.clone() else {
        return html! {
            <div class="app" data-testid="app-loading">
                <p class="loading" role="status">{ "Starting the simulated cluster…" }</p>
                if let Some(e) = &state.error {
                    <div class="banner error" role="alert">{ e.clone() }</div>
                }
            </div>
        };
    };

    html! {
        <div class="app" data-testid="app">
            <controls::Header snapshot={snapshot.clone()} send={send.clone()} dispatch={dispatch.clone()} share_link={state.share_link.clone()} />
            if let Some(e) = &state.error {
                <div class="banner error" role="alert" data-testid="error">
                    <span>{ e.clone() }</span>
                    <button class="link" onclick={dispatch.reform(|_| Msg::DismissError)}>{ "Dismiss" }</button>
                </div>
            }
            if let Some(n) = (*restored).clone().or_else(|| state.notice.clone()) {
                <div class="banner ok" role="status" data-testid="status">{ n }</div>
            }
            <controls::TimeBar snapshot={snapshot.clone()} send={send.clone()} />
            <div class="layout">
                <main class="main-column">
                    if let Some(lesson) = &snapshot.lesson {
                        <panels::LessonPanel lesson={lesson.clone()} send={send.clone()} />
                    }
                    if let Some(drill) = &snapshot.drill {
                        <panels::DrillPanel drill={drill.clone()} brokers={snapshot.brokers.len() as u32} consumers={snapshot.consumers.len() as u32} send={send.clone()} />
                    }
                    <cluster::ClusterPanel
                        snapshot={snapshot.clone()}
                        check={state.check.clone()}
                        send={send.clone()}
                        dispatch={dispatch.clone()}
                        hovered={state.hovered.clone()}
                        records={state.records.clone()}
                        focus={state.focus.clone()}
                        page={state.page}
                    />
                    <on_screen::OnScreen gate={snapshot.playing}>
                        <groups::Groups snapshot={snapshot.clone()} events={state.events.clone()} send={send.clone()} dispatch={dispatch.clone()} />
                    </on_screen::OnScreen>
                    <on_screen::OnScreen gate={snapshot.playing}>
                        <charts::Charts samples={state.samples.clone()} />
                    </on_screen::OnScreen>
                </main>
                <aside class="side-column">
                    <controls::FaultPanel nodes={controls::nodes(&snapshot)} network={snapshot.network.clone()} send={send.clone()} />
                    <controls::WirePanel nodes={controls::nodes(&snapshot)} in_flight={if snapshot.playing { Vec::new() } else { snapshot.in_flight.clone() }}
                        total={snapshot.in_flight_total} playing={snapshot.playing} time_ms={snapshot.timeline.time_ms} send={send.clone()} />
                    <panels::CheckerPanel check={state.check.clone()} dispatch={dispatch.clone()} />
                    <panels::EventLog events={state.events.clone()} playing={snapshot.playing} dispatch={dispatch.clone()} />
                </aside>
            </div>
            if state.help_open {
                <panels::Help dispatch={dispatch.clone()} />
            }
        </div>
    }
}
