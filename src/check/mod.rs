//! Checkers: oracles outside the engine. They read histories and traces that drivers record;
//! no engine module imports them (the tidy test enforces it), so a checker can never make a bug
//! disappear by sharing the engine's mistake.

pub mod drill;
pub mod groups;
pub mod history;
pub mod pipeline;
