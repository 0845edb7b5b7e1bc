//! The deterministic simulation kernel: scheduler, trace, scenarios.
