//! Prometheus metrics, served at `/metrics` in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::state::AppState;

/// Counters kept by the HTTP layer (the store keeps its own).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open WebSocket connections.
    pub clients: AtomicI64,
    /// Frames sent on WebSockets.
    pub messages_sent: AtomicU64,
    /// Payload bytes sent on WebSockets.
    pub bytes_sent: AtomicU64,
    /// Actions by (action, result code).
    actions: Mutex<BTreeMap<(String, String), u64>>,
}

impl Metrics {
    /// Counts one action attempt and its result (`ok` or an error code).
    pub fn count_action(&self, action: &str, result: &str) {
        let mut actions = self.actions.lock().unwrap_or_else(|e| e.into_inner());
        *actions
            .entry((action.to_owned(), result.to_owned()))
            .or_default() += 1;
    }

    /// Counts one frame sent to a client.
    pub fn count_frame(&self, bytes: usize) {
        self.messages_sent.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// Renders every metric.
pub fn render(state: &AppState) -> String {
    let m = &state.metrics;
    let stats = state.store.stats();
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let one = |v: f64| vec![(String::new(), v)];
    metric(
        "rollouts_dashboard_clients",
        "gauge",
        "Open WebSocket connections.",
        one(m.clients.load(Ordering::Relaxed) as f64),
    );
    metric(
        "rollouts_dashboard_messages_sent_total",
        "counter",
        "WebSocket frames sent.",
        one(m.messages_sent.load(Ordering::Relaxed) as f64),
    );
    metric(
        "rollouts_dashboard_bytes_sent_total",
        "counter",
        "WebSocket payload bytes sent.",
        one(m.bytes_sent.load(Ordering::Relaxed) as f64),
    );
    metric(
        "rollouts_dashboard_view_recomputes_total",
        "counter",
        "Rollout views rebuilt.",
        one(stats.recomputes.load(Ordering::Relaxed) as f64),
    );
    metric(
        "rollouts_dashboard_view_recompute_seconds_total",
        "counter",
        "Time spent rebuilding rollout views.",
        one(stats.recompute_micros.load(Ordering::Relaxed) as f64 / 1e6),
    );
    metric(
        "rollouts_dashboard_changes_total",
        "counter",
        "View changes broadcast to clients.",
        one(stats.changes.load(Ordering::Relaxed) as f64),
    );
    let health = state.store.health();
    metric(
        "rollouts_dashboard_watch_restarts_total",
        "counter",
        "Watch restarts after errors, by kind.",
        health
            .kinds
            .iter()
            .map(|(k, h)| (format!("{{kind=\"{}\"}}", k.as_str()), h.restarts as f64))
            .collect(),
    );
    metric(
        "rollouts_dashboard_watch_synced",
        "gauge",
        "1 when the watch of a kind has synced.",
        health
            .kinds
            .iter()
            .map(|(k, h)| {
                (
                    format!("{{kind=\"{}\"}}", k.as_str()),
                    f64::from(u8::from(h.synced)),
                )
            })
            .collect(),
    );
    metric(
        "rollouts_dashboard_objects",
        "gauge",
        "Objects in the cache, by kind.",
        state
            .store
            .object_counts()
            .into_iter()
            .map(|(k, n)| (format!("{{kind=\"{}\"}}", k.as_str()), n as f64))
            .collect(),
    );
    let actions = m.actions.lock().unwrap_or_else(|e| e.into_inner()).clone();
    metric(
        "rollouts_dashboard_actions_total",
        "counter",
        "Action attempts by action and result.",
        actions
            .into_iter()
            .map(|((a, r), n)| (format!("{{action=\"{a}\",result=\"{r}\"}}"), n as f64))
            .collect(),
    );
    out
}
