//! Tests for the producer.
