//! UI state: one `Action` enum and one reducer. It holds only what the page shows about the
//! run's controls and status, plus a version number the driver bumps whenever the simulator
//! changed. The simulator itself is never copied in here.

use std::rc::Rc;
use yew::Reducible;

/// How much simulated time one animation frame runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speed {
    X1,
    X10,
    X100,
    Max,
}

impl Speed {
    pub const ALL: [Speed; 4] = [Speed::X1, Speed::X10, Speed::X100, Speed::Max];

    /// Simulated milliseconds per animation frame (about 16 ms of wall time); `None` runs as
    /// many events as fit in the frame's budget.
    pub fn sim_ms_per_frame(self) -> Option<u64> {
        match self {
            Speed::X1 => Some(16),
            Speed::X10 => Some(160),
            Speed::X100 => Some(1_600),
            Speed::Max => None,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Speed::X1 => "1",
            Speed::X10 => "10",
            Speed::X100 => "100",
            Speed::Max => "max",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Speed::X1 => "1× (real time)",
            Speed::X10 => "10×",
            Speed::X100 => "100×",
            Speed::Max => "max",
        }
    }

    pub fn from_key(key: &str) -> Option<Speed> {
        Speed::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// What the status line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Loading,
    NewSession {
        notice: Option<String>,
    },
    Restored {
        steps: u64,
        notes: Vec<String>,
    },
    Finished,
    /// The run cannot go on; the page offers "Start over".
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiState {
    pub playing: bool,
    pub speed: Speed,
    pub status: Status,
    /// Bumped by the driver after it changed the simulator: views re-read it.
    pub version: u64,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            playing: false,
            speed: Speed::X10,
            status: Status::Loading,
            version: 0,
        }
    }
}

pub enum Action {
    /// A session is ready (new or restored).
    Ready(Status),
    Playing(bool),
    Speed(Speed),
    /// The simulator changed.
    Changed,
    Failed(String),
    Finished,
}

impl Reducible for UiState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Ready(status) => {
                next.status = status;
                next.playing = false;
                next.version += 1;
            }
            Action::Playing(playing) => next.playing = playing,
            Action::Speed(speed) => next.speed = speed,
            Action::Changed => next.version += 1,
            Action::Failed(message) => {
                next.status = Status::Failed(message);
                next.playing = false;
                next.version += 1;
            }
            Action::Finished => {
                next.status = Status::Finished;
                next.playing = false;
            }
        }
        Rc::new(next)
    }
}
