//! The app's session layer: a driver over the cluster simulation that the web app and tests
//! use (timeline, views, explanations, lessons); it reads the engine and the checkers, and no
//! engine module imports it.

pub mod explain;
pub mod lessons;
pub mod metrics;
pub mod quiz;
#[cfg(test)]
mod tests;
pub mod timeline;
