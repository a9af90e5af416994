//! Tests of every workflow, driving the core as a phone does (see `crate::sim`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod workflows;

mod outbox_props;
mod views;
