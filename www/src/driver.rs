//! The driver: the one place that steps the simulator and talks to IndexedDB. It runs as a
//! single async task fed by a command channel, so storage requests are executed strictly in
//! order and each step waits for the previous step's requests to complete: simulated time
//! never passes an incomplete request, exactly as natively.
//!
//! Persistence: the session lives in the IndexedDB database [`DB_NAME`]. On start, whatever is
//! there is restored with `HelloSim::restore`; pausing, single steps and hiding the page write
//! a checkpoint, and the scenario's own periodic flushes sync while playing.

use crate::state::{Action, Speed, Status, UiState};
use futures::channel::mpsc::UnboundedReceiver;
use futures::StreamExt;
use logsim::sim::hello::{HelloConfig, HelloSim, SimError};
use logsim::storage::{Completion, FileName, RequestId, StorageError, StorageRequest};
use logsim::time::SimTime;
use logsim_browser::{delete_database, IdbStorage};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_futures::JsFuture;
use yew::UseReducerDispatcher;

/// The IndexedDB database holding the page's session.
pub const DB_NAME: &str = "logsim-session";
/// The seed of a first visit without `?seed=`.
pub const DEFAULT_SEED: u64 = 42;
/// Wall-clock budget of one frame's stepping, in milliseconds: leaves time to draw.
const FRAME_BUDGET_MS: f64 = 10.0;
/// Most events one frame runs, whatever the speed.
const FRAME_STEPS_MAX: u32 = 20_000;

/// The simulator, shared read-only with the views. Only the driver borrows it mutably, and
/// never across an `.await`.
pub type SharedSim = Rc<RefCell<Option<HelloSim>>>;

/// What the page asks the driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    TogglePlay,
    Step,
    SetSpeed(Speed),
    /// Throw the session away and start a new run with this seed.
    NewRun(u64),
    /// After a failure: delete the database and start a new run with the page's seed.
    StartOver,
    /// Write a checkpoint now (the page is being hidden).
    Checkpoint,
}

pub struct Driver {
    sim: SharedSim,
    dispatch: UseReducerDispatcher<UiState>,
    commands: UnboundedReceiver<Command>,
    storage: Option<IdbStorage>,
    next_request_id: u64,
    playing: bool,
    speed: Speed,
    /// The simulated time the current play has reached (at least the last event's time).
    clock: SimTime,
    /// The seed a new run uses: `?seed=` or the default.
    page_seed: u64,
    failed: bool,
}

/// Why a run stopped, in words for the status line.
type Failure = String;

impl Driver {
    pub fn new(
        sim: SharedSim,
        dispatch: UseReducerDispatcher<UiState>,
        commands: UnboundedReceiver<Command>,
        page_seed: u64,
        speed: Speed,
    ) -> Driver {
        Driver {
            sim,
            dispatch,
            commands,
            storage: None,
            next_request_id: 0,
            playing: false,
            speed,
            clock: SimTime::ZERO,
            page_seed,
            failed: false,
        }
    }

    /// Opens or restores the session, then serves commands until the page goes away.
    pub async fn run(mut self, seed_notice: Option<String>) {
        match self.start(seed_notice).await {
            Ok(status) => self.dispatch.dispatch(Action::Ready(status)),
            Err(message) => self.fail(message),
        }
        loop {
            while let Ok(command) = self.commands.try_recv() {
                self.handle(command).await;
            }
            if self.playing && !self.failed {
                next_animation_frame().await;
                self.frame().await;
            } else {
                match self.commands.next().await {
                    Some(command) => self.handle(command).await,
                    None => return,
                }
            }
        }
    }

    async fn start(&mut self, seed_notice: Option<String>) -> Result<Status, Failure> {
        let mut storage = IdbStorage::open(DB_NAME)
            .await
            .map_err(|e| storage_words("The browser's IndexedDB could not be opened", &e))?;
        let files = self.load_all(&mut storage).await?;
        self.storage = Some(storage);
        if files.is_empty() {
            self.new_sim(self.page_seed)?;
            return Ok(Status::NewSession {
                notice: seed_notice,
            });
        }
        let (sim, report) = HelloSim::restore(files).map_err(|e| {
            format!("The saved session could not be restored ({e}). Start over to begin a new run.")
        })?;
        let stored_seed = sim.seed();
        let steps = report.steps;
        self.install(sim);
        // Whatever `restore` cut (bytes written after the last checkpoint) reaches storage too.
        self.settle().await?;
        let mut notes = report.notes;
        if let Some(notice) = seed_notice {
            notes.push(notice);
        } else if stored_seed != self.page_seed && self.page_seed != DEFAULT_SEED {
            notes.push(format!(
                "The address asks for seed {}, but the saved run has seed {stored_seed}; use New run to switch.",
                self.page_seed
            ));
        }
        Ok(Status::Restored { steps, notes })
    }

    /// Lists and reads every stored file: what `HelloSim::restore` needs.
    async fn load_all(
        &mut self,
        storage: &mut IdbStorage,
    ) -> Result<Vec<(FileName, Vec<u8>)>, Failure> {
        let listing = storage
            .execute(vec![(
                self.request_id(),
                StorageRequest::List {
                    prefix: String::new(),
                },
            )])
            .await;
        let names = match listing.into_iter().next() {
            Some(Completion::Listed(_, names)) => names,
            Some(Completion::Failed(_, e)) => {
                return Err(storage_words("The saved session could not be listed", &e))
            }
            other => return Err(format!("unexpected answer to a listing: {other:?}")),
        };
        let reads = names
            .iter()
            .map(|file| {
                (
                    self.request_id(),
                    StorageRequest::Read { file: file.clone() },
                )
            })
            .collect();
        let completions = storage.execute(reads).await;
        let mut files = Vec::with_capacity(names.len());
        for (name, completion) in names.into_iter().zip(completions) {
            match completion {
                Completion::Read(_, bytes) => files.push((name, bytes)),
                Completion::Failed(_, e) => {
                    return Err(storage_words(
                        &format!("The saved session could not be read ({name})"),
                        &e,
                    ))
                }
                other => return Err(format!("unexpected answer to a read: {other:?}")),
            }
        }
        Ok(files)
    }

    fn new_sim(&mut self, seed: u64) -> Result<(), Failure> {
        let sim = HelloSim::new(HelloConfig::default(), seed)
            .map_err(|e| format!("cannot start the simulation: {e}"))?;
        self.install(sim);
        Ok(())
    }

    fn install(&mut self, sim: HelloSim) {
        self.clock = sim.now();
        *self.sim.borrow_mut() = Some(sim);
        self.failed = false;
    }

    async fn handle(&mut self, command: Command) {
        let result = match command {
            Command::TogglePlay => self.toggle_play().await,
            Command::Step => self.manual_step().await,
            Command::SetSpeed(speed) => {
                self.speed = speed;
                self.dispatch.dispatch(Action::Speed(speed));
                Ok(())
            }
            Command::NewRun(seed) => self.reset(seed, None).await,
            Command::StartOver => self.reset(self.page_seed, None).await,
            Command::Checkpoint => self.checkpoint().await,
        };
        if let Err(message) = result {
            self.fail(message);
        }
    }

    async fn toggle_play(&mut self) -> Result<(), Failure> {
        if self.failed || self.sim.borrow().is_none() {
            return Ok(());
        }
        self.playing = !self.playing;
        self.dispatch.dispatch(Action::Playing(self.playing));
        if self.playing {
            let now = self.sim.borrow().as_ref().map(HelloSim::now);
            self.clock = now.unwrap_or(SimTime::ZERO);
            Ok(())
        } else {
            // Pausing saves the session, so a reload resumes exactly here.
            self.checkpoint().await
        }
    }

    async fn manual_step(&mut self) -> Result<(), Failure> {
        if self.failed || self.sim.borrow().is_none() {
            return Ok(());
        }
        if self.playing {
            self.playing = false;
            self.dispatch.dispatch(Action::Playing(false));
        }
        let ran = self.step_once().await?;
        self.checkpoint().await?;
        self.dispatch.dispatch(Action::Changed);
        if !ran {
            self.dispatch.dispatch(Action::Finished);
        }
        Ok(())
    }

    /// One animation frame of play: run events up to the frame's simulated time, within a
    /// wall-clock budget.
    async fn frame(&mut self) {
        let started = now_ms();
        let target = match self.speed.sim_ms_per_frame() {
            Some(ms) => {
                let base = self.clock.max(self.sim_now());
                base.saturating_add(logsim::time::SimDuration::from_millis(ms))
            }
            None => SimTime(u64::MAX),
        };
        let mut steps = 0u32;
        let outcome = loop {
            let due = self.sim.borrow().as_ref().and_then(HelloSim::next_due);
            match due {
                None => break Ok(false),
                Some(due) if due > target => break Ok(true),
                Some(_) => {}
            }
            match self.step_once().await {
                Ok(true) => {}
                Ok(false) => break Ok(false),
                Err(e) => break Err(e),
            }
            steps += 1;
            if steps >= FRAME_STEPS_MAX || now_ms() - started > FRAME_BUDGET_MS {
                break Ok(true);
            }
        };
        self.clock = if target == SimTime(u64::MAX) {
            self.sim_now()
        } else {
            target
        };
        match outcome {
            Ok(true) => {
                if steps > 0 {
                    self.dispatch.dispatch(Action::Changed);
                }
            }
            Ok(false) => {
                self.playing = false;
                self.dispatch.dispatch(Action::Changed);
                self.dispatch.dispatch(Action::Finished);
            }
            Err(message) => self.fail(message),
        }
    }

    /// Runs one event and completes every storage request it made. `Ok(false)`: nothing left.
    async fn step_once(&mut self) -> Result<bool, Failure> {
        let stepped = match self.sim.borrow_mut().as_mut() {
            Some(sim) => sim.step(),
            None => return Ok(false),
        };
        let ran = stepped.map_err(|e| sim_words(&e))?;
        self.settle().await?;
        Ok(ran)
    }

    /// Writes a checkpoint of the session and waits until it is durable.
    async fn checkpoint(&mut self) -> Result<(), Failure> {
        if self.failed {
            return Ok(());
        }
        let checkpointed = match self.sim.borrow_mut().as_mut() {
            Some(sim) => sim.checkpoint(),
            None => return Ok(()),
        };
        checkpointed.map_err(|e| sim_words(&e))?;
        self.settle().await
    }

    /// Executes the simulator's outstanding storage requests and hands back the completions.
    async fn settle(&mut self) -> Result<(), Failure> {
        let requests = match self.sim.borrow_mut().as_mut() {
            Some(sim) => sim.take_storage_requests(),
            None => return Ok(()),
        };
        if requests.is_empty() {
            return Ok(());
        }
        let numbered: Vec<(RequestId, StorageRequest)> = requests
            .into_iter()
            .map(|r| (self.request_id(), r))
            .collect();
        let Some(storage) = self.storage.as_mut() else {
            return Err("the browser storage is not open".into());
        };
        let completions = storage.execute(numbered).await;
        let completed = match self.sim.borrow_mut().as_mut() {
            Some(sim) => sim.storage_completed(&completions),
            None => Ok(()),
        };
        completed.map_err(|e| sim_words(&e))
    }

    /// Deletes the saved session and starts a new run.
    async fn reset(&mut self, seed: u64, notice: Option<String>) -> Result<(), Failure> {
        self.playing = false;
        self.dispatch.dispatch(Action::Playing(false));
        *self.sim.borrow_mut() = None;
        // Closing our connection first lets the deletion proceed at once.
        drop(self.storage.take());
        delete_database(DB_NAME)
            .await
            .map_err(|e| storage_words("The saved session could not be deleted", &e))?;
        let storage = IdbStorage::open(DB_NAME)
            .await
            .map_err(|e| storage_words("The browser's IndexedDB could not be opened", &e))?;
        self.storage = Some(storage);
        self.new_sim(seed)?;
        set_seed_in_address(seed);
        self.dispatch
            .dispatch(Action::Ready(Status::NewSession { notice }));
        Ok(())
    }

    fn fail(&mut self, message: Failure) {
        self.failed = true;
        self.playing = false;
        self.dispatch.dispatch(Action::Failed(message));
    }

    fn sim_now(&self) -> SimTime {
        self.sim
            .borrow()
            .as_ref()
            .map_or(SimTime::ZERO, HelloSim::now)
    }

    fn request_id(&mut self) -> RequestId {
        self.next_request_id += 1;
        RequestId(self.next_request_id)
    }
}

fn storage_words(doing: &str, e: &StorageError) -> String {
    match e {
        StorageError::QuotaExceeded(m) => format!(
            "The browser ran out of storage space for this site ({m}). Start over to free it, or allow more storage in the browser's site settings."
        ),
        other => format!("{doing}: {other}."),
    }
}

fn sim_words(e: &SimError) -> String {
    match e {
        SimError::Storage(m) if m.contains("quota") => format!(
            "The browser ran out of storage space for this site ({m}). Start over to free it."
        ),
        other => format!("The simulation stopped: {other}."),
    }
}

/// Resolves at the next animation frame. The promise's own `resolve` is the frame callback,
/// so no Rust closure outlives the wait.
async fn next_animation_frame() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let _ = window.request_animation_frame(&resolve);
    });
    let _ = JsFuture::from(promise).await;
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Puts `?seed=N` in the address bar so the run can be shared as a link.
fn set_seed_in_address(seed: u64) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Ok(history) = window.history() {
        let url = format!("?seed={seed}");
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// The seed the page asks for: `?seed=N`, or the default with a notice when `N` is not a seed.
pub fn seed_from_address() -> (u64, Option<String>) {
    let search = web_sys::window()
        .map(|w| w.location())
        .and_then(|l| l.search().ok())
        .unwrap_or_default();
    let params = match web_sys::UrlSearchParams::new_with_str(&search) {
        Ok(params) => params,
        Err(_) => return (DEFAULT_SEED, None),
    };
    match params.get("seed") {
        None => (DEFAULT_SEED, None),
        Some(text) => match parse_seed(&text) {
            Ok(seed) => (seed, None),
            Err(why) => (
                DEFAULT_SEED,
                Some(format!(
                    "The address has seed={text:?}: {why}. Using seed {DEFAULT_SEED} instead."
                )),
            ),
        },
    }
}

/// A seed is a whole number from 0 to 2^64 - 1, in decimal (or hex with `0x`).
pub fn parse_seed(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse::<u64>(),
    };
    parsed.map_err(|_| {
        if text.is_empty() {
            "a seed cannot be empty".to_owned()
        } else {
            format!("a seed is a whole number from 0 to {}", u64::MAX)
        }
    })
}
