//! Runbook definitions and the languages inside them (subscriptions, functions, conditions),
//! with validation that reports every problem at once. Pure: parses text, does no I/O.

pub mod compare;
