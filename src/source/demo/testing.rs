//! Shared helpers of the demo's unit tests.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::{DemoWorld, ObjKey};
use crate::model::Kind;

pub(super) fn world() -> DemoWorld {
    DemoWorld::seeded("2026-11-26T12:00:00Z".parse().unwrap(), 3)
}

pub(super) fn rollout_status(w: &DemoWorld, ns: &str, name: &str) -> Value {
    w.objects[&key(Kind::Rollout, ns, name)]["status"].clone()
}

pub(super) fn object(w: &DemoWorld, kind: Kind, ns: &str, name: &str) -> Value {
    w.objects[&key(kind, ns, name)].clone()
}

pub(super) fn key(kind: Kind, ns: &str, name: &str) -> ObjKey {
    ObjKey::new(kind, ns, name)
}

/// The same simulation, with every rollout reconciled on every tick.
pub(super) fn seeded_without_skipping(now: Timestamp, extra: usize) -> DemoWorld {
    let mut w = DemoWorld::new(now - SignedDuration::from_mins(10));
    w.never_skip();
    DemoWorld::seeded_from(w, now, extra)
}
