//! The simulation worker: it owns the one `Session`, runs it at the chosen speed on its own
//! thread (a dedicated Web Worker), and posts a bounded snapshot to the page after every
//! command and about 30 times a second while playing. Stepping, rewinding (a replay from a
//! checkpoint) and the live checker can each cost more than a frame; here they never block the
//! page.

use crate::protocol::{
    playing_lines, thin_samples, FromWorker, Recipe, Snapshot, SnapshotMeta, Source, Speed,
    ToWorker, CHART_POINTS, EVENTS_KEPT,
};
use crate::teach::Teaching;
use logsim::session::explain::{Explained, Topic};
use logsim::session::library;
use logsim::session::timeline::Session;
use logsim::sim::cluster::scenario::ClusterScenario;
use logsim::time::SimTime;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Wall-clock milliseconds between play ticks.
const TICK_MS: i32 = 33;
/// Wall-clock budget of one tick's stepping.
const TICK_BUDGET_MS: f64 = 20.0;
/// The live checker runs at most this often while playing (wall ms): it reads the whole history.
const CHECK_EVERY_MS: f64 = 700.0;
/// While playing, chart samples travel at most this often (wall milliseconds).
const SAMPLES_EVERY_MS: f64 = 250.0;
/// The achieved speed is measured over this much wall time of play.
const ACHIEVED_OVER_MS: f64 = 1_000.0;
/// A tick sends a snapshot the page has not acknowledged its predecessor of after this long
/// anyway (a page in a background tab draws late, and must not stop the picture for good).
const UNDRAWN_WAIT_MS: f64 = 1_000.0;
/// Heat-map blocks at most.
const HEAT_BLOCKS_MAX: u32 = 512;
/// Partitions drawn in detail at most.
pub const WINDOW_MAX: u32 = 64;

struct Worker {
    scope: DedicatedWorkerGlobalScope,
    session: Option<Session>,
    recipe: Option<Recipe>,
    title: String,
    description: String,
    teaching: Teaching,
    playing: bool,
    speed: Speed,
    /// The simulated time play has reached (at least the last event's time).
    clock_ms: f64,
    last_tick: f64,
    tick_scheduled: bool,
    window_first: u32,
    window_count: u32,
    /// The last event step sent, and whether the page must drop its events first.
    events_sent_upto: u64,
    events_reset: bool,
    /// Lines were left out of snapshots sent while playing (`playing_lines`).
    events_thinned: bool,
    samples_sent: Option<(u32, u64)>,
    samples_sent_at: f64,
    /// The achieved speed: simulated ms per wall second over the last measured second of
    /// play, and where the current measurement started (wall ms, simulated ms).
    achieved: Option<f64>,
    achieved_from: Option<(f64, f64)>,
    last_check_at: f64,
    /// Back-pressure: the number of the last snapshot sent, the newest the page said it drew,
    /// and when it was sent. While playing, a tick sends the next snapshot only once the page
    /// drew the last (or after `UNDRAWN_WAIT_MS`); the simulation runs on meanwhile, and the
    /// next snapshot carries everything since. A page slower than the ticks therefore never
    /// falls behind a queue of stale pictures.
    snapshot_seq: u64,
    drawn_seq: u64,
    sent_at: f64,
}

type Shared = Rc<RefCell<Worker>>;

fn now_ms(scope: &DedicatedWorkerGlobalScope) -> f64 {
    scope.performance().map_or(0.0, |p| p.now())
}

/// Starts the worker: installs the message handler and tells the page it is ready.
pub fn run() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let worker: Shared = Rc::new(RefCell::new(Worker {
        scope: scope.clone(),
        session: None,
        recipe: None,
        title: String::new(),
        description: String::new(),
        teaching: Teaching::None,
        playing: false,
        speed: 1_000,
        clock_ms: 0.0,
        last_tick: 0.0,
        tick_scheduled: false,
        window_first: 0,
        window_count: 16,
        events_sent_upto: 0,
        events_reset: true,
        events_thinned: false,
        samples_sent: None,
        samples_sent_at: f64::NEG_INFINITY,
        achieved: None,
        achieved_from: None,
        last_check_at: f64::NEG_INFINITY,
        snapshot_seq: 0,
        drawn_seq: 0,
        sent_at: f64::NEG_INFINITY,
    }));
    let handler = {
        let worker = worker.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let command: Result<ToWorker, String> = match event.data().as_string() {
                Some(text) => crate::protocol::decode(&text),
                None => Err("it is not text".into()),
            };
            match command {
                Ok(command) => on_command(&worker, command),
                Err(e) => post(
                    &worker.borrow().scope,
                    &FromWorker::Error(format!("the worker got a message it cannot read: {e}")),
                ),
            }
        })
    };
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(&scope, &FromWorker::Ready);
}

fn post(scope: &DedicatedWorkerGlobalScope, message: &FromWorker) {
    match crate::protocol::encode(message) {
        Ok(text) => {
            let _ = scope.post_message(&text.into());
        }
        Err(e) => {
            let text = format!("the worker could not encode its answer: {e}");
            if let Ok(text) = crate::protocol::encode(&FromWorker::Error(text)) {
                let _ = scope.post_message(&text.into());
            }
        }
    }
}

fn on_command(shared: &Shared, command: ToWorker) {
    let result = {
        let mut w = shared.borrow_mut();
        w.handle(command)
    };
    // Each arm borrows the worker only for its own `post`: `schedule_tick` below borrows it
    // mutably.
    let scope = shared.borrow().scope.clone();
    match result {
        Ok(Reply::Snapshot) => send_snapshot(shared, true),
        Ok(Reply::Message(message)) => post(&scope, &message),
        Ok(Reply::Nothing) => {}
        Err(message) => {
            post(&scope, &FromWorker::Error(message));
            send_snapshot(shared, false);
        }
    }
    schedule_tick(shared);
}

enum Reply {
    Snapshot,
    Message(FromWorker),
    Nothing,
}

impl Worker {
    fn handle(&mut self, command: ToWorker) -> Result<Reply, String> {
        match command {
            ToWorker::Load(recipe) => {
                self.load(recipe)?;
                Ok(Reply::Snapshot)
            }
            ToWorker::Play => {
                if self.session.as_ref().is_some_and(|s| s.finished()) {
                    return Err("the run has reached its end; rewind or load a new run".into());
                }
                self.playing = true;
                self.last_tick = now_ms(&self.scope);
                self.reset_achieved();
                Ok(Reply::Snapshot)
            }
            ToWorker::Pause => {
                self.playing = false;
                self.last_check_at = f64::NEG_INFINITY;
                Ok(Reply::Snapshot)
            }
            ToWorker::SetSpeed(speed) => {
                self.speed = speed.clamp(10, 1_000_000);
                self.reset_achieved();
                Ok(Reply::Snapshot)
            }
            ToWorker::Step(n) => {
                self.playing = false;
                let session = self.session_mut()?;
                for _ in 0..n.clamp(1, 100_000) {
                    if !session.step().map_err(|e| e.to_string())? {
                        break;
                    }
                }
                self.sync_clock();
                self.teaching_progress();
                self.last_check_at = f64::NEG_INFINITY;
                Ok(Reply::Snapshot)
            }
            ToWorker::Seek(step) => {
                self.playing = false;
                let session = self.session_mut()?;
                let before = session.sim().steps();
                session.seek(step).map_err(|e| e.to_string())?;
                if step < before {
                    self.events_reset = true;
                    self.events_sent_upto = 0;
                }
                self.sync_clock();
                self.last_check_at = f64::NEG_INFINITY;
                Ok(Reply::Snapshot)
            }
            ToWorker::Act(action) => {
                let forks = self
                    .session
                    .as_ref()
                    .is_some_and(|s| s.sim().steps() < s.timeline().horizon_step);
                let session = self.session_mut()?;
                session.act(action).map_err(|e| e.to_string())?;
                if forks {
                    self.events_reset = true;
                    self.events_sent_upto = 0;
                }
                self.last_check_at = f64::NEG_INFINITY;
                Ok(Reply::Snapshot)
            }
            ToWorker::Window { first, count } => {
                self.window_first = first;
                self.window_count = count.clamp(1, WINDOW_MAX);
                Ok(Reply::Snapshot)
            }
            ToWorker::Records {
                topic,
                partition,
                broker,
                from,
                to,
            } => {
                let session = self.session_mut()?;
                let records = session.records(&topic, partition, broker, from, to);
                Ok(Reply::Message(FromWorker::Records {
                    topic,
                    partition,
                    broker,
                    records,
                }))
            }
            ToWorker::LessonNext => {
                let session = self.session.as_ref().ok_or("no session is loaded")?;
                self.teaching.lesson_next(session)?;
                self.teaching_progress();
                Ok(Reply::Snapshot)
            }
            ToWorker::Answer {
                choice,
                broker,
                consumer,
            } => {
                self.teaching
                    .answer(&choice, logsim::session::quiz::Named { broker, consumer })?;
                // The fault is no secret any more: the page gets the whole event log.
                self.events_reset = true;
                self.events_sent_upto = 0;
                Ok(Reply::Snapshot)
            }
            ToWorker::Hint => {
                self.teaching.hint()?;
                Ok(Reply::Snapshot)
            }
            ToWorker::Drawn(seq) => {
                self.drawn_seq = self.drawn_seq.max(seq.min(self.snapshot_seq));
                Ok(Reply::Nothing)
            }
        }
    }

    fn session_mut(&mut self) -> Result<&mut Session, String> {
        self.session
            .as_mut()
            .ok_or_else(|| "no session is loaded".to_owned())
    }

    fn load(&mut self, mut recipe: Recipe) -> Result<(), String> {
        // A lesson's narration names brokers by its own seed's replica placement.
        if let Source::Lesson(id) = &recipe.source {
            recipe.seed = crate::teach::lesson_seed(id)?;
        }
        let (scenario, teaching): (ClusterScenario, Teaching) = match &recipe.source {
            Source::Library(name) => (library::scenario(name)?, Teaching::None),
            Source::Inline(scenario) => {
                scenario.validate()?;
                ((**scenario).clone(), Teaching::None)
            }
            Source::Lesson(id) => Teaching::lesson(id, recipe.lesson_step)?,
            Source::Drill(id) => Teaching::drill(id, recipe.seed)?,
        };
        let session = Session::resume(
            scenario.clone(),
            recipe.seed,
            recipe.steps.clone(),
            recipe.at_step,
        )
        .map_err(|e| format!("cannot start this session: {e}"))?;
        self.title = scenario.name.clone();
        self.description = scenario.description.clone();
        self.session = Some(session);
        self.teaching = teaching;
        self.recipe = Some(recipe);
        self.playing = false;
        self.events_reset = true;
        self.events_sent_upto = 0;
        self.samples_sent = None;
        self.last_check_at = f64::NEG_INFINITY;
        self.sync_clock();
        self.teaching_progress();
        Ok(())
    }

    fn sync_clock(&mut self) {
        if let Some(s) = &self.session {
            self.clock_ms = s.sim().now().as_millis() as f64;
        }
    }

    /// A new speed, a new play or a new run: the next second of play is measured afresh.
    fn reset_achieved(&mut self) {
        self.achieved = None;
        self.achieved_from = None;
    }

    fn teaching_progress(&mut self) {
        if let Some(session) = &self.session {
            self.teaching.progress(session);
        }
    }

    /// One play tick: advance the simulated clock by the wall time passed times the speed, in
    /// at most the tick's budget.
    fn tick(&mut self) -> Result<(), String> {
        let now = now_ms(&self.scope);
        let elapsed = (now - self.last_tick).clamp(0.0, 250.0);
        self.last_tick = now;
        let target = self.clock_ms + elapsed * f64::from(self.speed) / 1_000.0;
        let deadline = now + TICK_BUDGET_MS;
        let Some(session) = self.session.as_mut() else {
            self.playing = false;
            return Ok(());
        };
        let until = SimTime::from_millis(target.max(0.0) as u64);
        loop {
            let ran = session.run_until(until, 256).map_err(|e| e.to_string())?;
            if ran < 256 || now_ms(&self.scope) > deadline {
                break;
            }
        }
        // A clock that cannot keep up does not run a debt: it continues from where it got.
        let reached = session.sim().now().as_millis() as f64;
        self.clock_ms = if session.sim().next_due().is_some_and(|t| t <= until) {
            reached
        } else {
            target
        };
        if session.finished() {
            self.playing = false;
        }
        // The speed achieved, measured over a second of play at a time on the play clock (the
        // time of the last event would lag on a quiet cluster that keeps up).
        let sim_ms = self.clock_ms;
        match self.achieved_from {
            Some((wall, sim)) if now - wall >= ACHIEVED_OVER_MS => {
                self.achieved = Some((sim_ms - sim) * 1_000.0 / (now - wall));
                self.achieved_from = Some((now, sim_ms));
            }
            Some(_) => {}
            None => self.achieved_from = Some((now, sim_ms)),
        }
        self.teaching_progress();
        Ok(())
    }

    fn snapshot(&mut self, force_check: bool) -> Option<Snapshot> {
        let session = self.session.as_ref()?;
        let mut view = session.view();
        let hide_faults = self.teaching.hides_faults();
        if hide_faults {
            // A drill's answer must not be printed: a stalled poll loop or a frozen process
            // shows only through what it causes (lag, a member leaving or removed).
            for c in &mut view.consumers {
                c.stalled = false;
                c.frozen = false;
            }
        }
        // Paused after lines were left out while playing: the page gets the newest whole.
        let refill = !self.playing && self.events_thinned;
        let all_events = session.events_after(if refill { 0 } else { self.events_sent_upto });
        let shown = |e: &&Explained| !(hide_faults && e.topic == Topic::Fault);
        let mut events: Vec<&Explained> = if refill {
            let mut newest: Vec<_> = all_events
                .iter()
                .rev()
                .filter(shown)
                .take(EVENTS_KEPT)
                .collect();
            newest.reverse();
            newest
        } else {
            all_events.iter().filter(shown).collect()
        };
        let mut events_reset = self.events_reset || refill;
        if refill {
            self.events_thinned = false;
        }
        if self.playing {
            let (kept, thinned) = playing_lines(&events);
            self.events_thinned |= thinned;
            events = kept;
        }
        if events.len() > EVENTS_KEPT {
            events.drain(..events.len() - EVENTS_KEPT);
            events_reset = true;
        }
        let events: Vec<_> = events.into_iter().cloned().collect();
        self.events_reset = false;
        if let Some(last) = all_events.last() {
            self.events_sent_upto = last.step;
        }
        let samples = session.samples();
        let mark = (
            samples.len() as u32,
            samples.last().map_or(0, |s| s.time_ms),
        );
        let now = now_ms(&self.scope);
        // While playing, the charts move a few times a second: the series are most of what
        // is left of a snapshot's size, and the page decodes and redraws them whole (B5).
        let due = !self.playing || now - self.samples_sent_at >= SAMPLES_EVERY_MS;
        let samples = (due && self.samples_sent != Some(mark)).then(|| {
            self.samples_sent = Some(mark);
            self.samples_sent_at = now;
            thin_samples(samples, CHART_POINTS)
        });
        let check = (force_check || now - self.last_check_at >= CHECK_EVERY_MS).then(|| {
            self.last_check_at = now;
            session.live_check()
        });
        let mut recipe = self.recipe.clone()?;
        recipe.steps = session.user_steps().to_vec();
        recipe.at_step = session.sim().steps();
        recipe.lesson_step = self.teaching.lesson_step();
        self.snapshot_seq += 1;
        let meta = SnapshotMeta {
            seq: self.snapshot_seq,
            title: self.title.clone(),
            description: self.description.clone(),
            playing: self.playing,
            speed: self.speed,
            achieved_speed: self.playing.then_some(self.achieved).flatten(),
            timeline: session.timeline(),
            events,
            events_reset,
            samples,
            check,
            lesson: self.teaching.lesson_state(),
            drill: self.teaching.drill_state(),
            recipe,
        };
        Some(Snapshot::new(
            view,
            (self.window_first, self.window_count),
            HEAT_BLOCKS_MAX,
            meta,
        ))
    }
}

fn send_snapshot(shared: &Shared, force_check: bool) {
    let mut w = shared.borrow_mut();
    if let Some(snapshot) = w.snapshot(force_check) {
        w.sent_at = now_ms(&w.scope);
        post(&w.scope, &FromWorker::Snapshot(Box::new(snapshot)));
    }
}

fn schedule_tick(shared: &Shared) {
    let scope = {
        let mut w = shared.borrow_mut();
        if !w.playing || w.tick_scheduled {
            return;
        }
        w.tick_scheduled = true;
        w.scope.clone()
    };
    let shared2 = shared.clone();
    let callback = Closure::once_into_js(move || {
        let result = {
            let mut w = shared2.borrow_mut();
            w.tick_scheduled = false;
            if w.playing {
                w.tick()
            } else {
                Ok(())
            }
        };
        if let Err(message) = result {
            let mut w = shared2.borrow_mut();
            w.playing = false;
            post(&w.scope, &FromWorker::Error(message));
        }
        let due = {
            let w = shared2.borrow();
            w.drawn_seq >= w.snapshot_seq
                || now_ms(&w.scope) - w.sent_at >= UNDRAWN_WAIT_MS
                || !w.playing
        };
        if due {
            send_snapshot(&shared2, false);
        }
        schedule_tick(&shared2);
    });
    let _ = scope
        .set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), TICK_MS);
}
