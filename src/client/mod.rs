//! Client-side logic shared by simulated producers and consumers.

pub mod metadata;
pub mod partitioner;
pub mod producer;
