//! Client-side logic shared by simulated producers and consumers.

pub mod assignor;
pub mod metadata;
pub mod partitioner;
pub mod producer;
pub mod transactions;
