//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format (prometheus-client).
//!
//! The HTTP layer's own counters live in [`Metrics`]; what the store already counts (view
//! recomputes, watch health, objects) is read from it at scrape time, so nothing is counted
//! twice and this module depends on the store, never the other way round.

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::store::Store;

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of the action counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: String,
    result: String,
}

/// Labels of the per-kind metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// Labels of the per-cluster metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabels {
    cluster: String,
    state: &'static str,
}

/// Counters kept by the HTTP layer (the store keeps its own). Each metric is a cheap handle
/// onto shared atomics, so a scrape registers clones of them.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open WebSocket connections.
    clients: Gauge,
    /// Frames sent on WebSockets.
    messages_sent: Counter,
    /// Payload bytes sent on WebSockets.
    bytes_sent: Counter,
    /// Actions by (action, result code).
    actions: Family<ActionLabels, Counter>,
}

impl Metrics {
    /// Counts one action attempt and its result (`ok` or an error code).
    pub fn count_action(&self, action: &str, result: &str) {
        self.actions
            .get_or_create(&ActionLabels {
                action: action.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts one frame sent to a client.
    pub fn count_frame(&self, bytes: usize) {
        self.messages_sent.inc();
        self.bytes_sent.inc_by(bytes as u64);
    }

    /// Counts an open WebSocket until the returned guard drops, however the connection ends.
    pub fn client_connected(&self) -> ConnectedClient {
        self.clients.inc();
        ConnectedClient(self.clients.clone())
    }

    /// Open WebSocket connections now.
    pub fn clients(&self) -> i64 {
        self.clients.get()
    }
}

/// One open WebSocket, counted in [`Metrics`] while it lives.
#[derive(Debug)]
pub struct ConnectedClient(Gauge);

impl Drop for ConnectedClient {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A counter holding a value read from elsewhere at scrape time.
fn counter_of(value: &AtomicU64) -> Counter {
    let counter = Counter::default();
    counter.inc_by(value.load(Ordering::Relaxed));
    counter
}

/// Renders every metric.
pub fn render(metrics: &Metrics, store: &Store) -> String {
    let mut registry = Registry::with_prefix("rollouts_dashboard");
    registry.register(
        "clients",
        "Open WebSocket connections",
        metrics.clients.clone(),
    );
    registry.register(
        "messages_sent",
        "WebSocket frames sent",
        metrics.messages_sent.clone(),
    );
    registry.register(
        "bytes_sent",
        "WebSocket payload bytes sent",
        metrics.bytes_sent.clone(),
    );
    registry.register(
        "actions",
        "Action attempts by action and result",
        metrics.actions.clone(),
    );

    let stats = store.stats();
    registry.register(
        "view_recomputes",
        "Rollout views rebuilt",
        counter_of(&stats.recomputes),
    );
    let seconds = Counter::<f64, std::sync::atomic::AtomicU64>::default();
    seconds.inc_by(stats.recompute_micros.load(Ordering::Relaxed) as f64 / 1e6);
    registry.register(
        "view_recompute_seconds",
        "Time spent rebuilding rollout views",
        seconds,
    );
    registry.register(
        "changes",
        "View changes broadcast to clients",
        counter_of(&stats.changes),
    );

    let restarts = Family::<KindLabels, Counter>::default();
    let synced = Family::<KindLabels, Gauge>::default();
    for (kind, health) in &store.health().kinds {
        let labels = KindLabels {
            kind: kind.as_str(),
        };
        restarts.get_or_create(&labels).inc_by(health.restarts);
        synced
            .get_or_create(&labels)
            .set(i64::from(u8::from(health.synced)));
    }
    registry.register(
        "watch_restarts",
        "Watch restarts after errors, by kind",
        restarts,
    );
    registry.register(
        "watch_synced",
        "1 when the watch of a kind has synced",
        synced,
    );
    let objects = Family::<KindLabels, Gauge>::default();
    for (kind, count) in store.object_counts() {
        objects
            .get_or_create(&KindLabels {
                kind: kind.as_str(),
            })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    registry.register("objects", "Objects in the cache, by kind", objects);

    // One series per cluster and state, 1 for its current state (alerts: a cluster not
    // synced for long); the per-kind metrics above are of all clusters together.
    let clusters = Family::<ClusterLabels, Gauge>::default();
    let rollouts = Family::<ClusterLabels, Gauge>::default();
    for status in store.cluster_statuses() {
        for state in crate::health::ClusterState::ALL {
            clusters
                .get_or_create(&ClusterLabels {
                    cluster: status.name.clone(),
                    state: state.as_str(),
                })
                .set(i64::from(state == status.state));
        }
        rollouts
            .get_or_create(&ClusterLabels {
                cluster: status.name.clone(),
                state: status.state.as_str(),
            })
            .set(i64::try_from(status.rollouts).unwrap_or(i64::MAX));
    }
    registry.register(
        "cluster_state",
        "1 for each cluster's current state (synced, syncing, unreachable, forbidden, crdMissing, watchFailing)",
        clusters,
    );
    registry.register(
        "cluster_rollouts",
        "Rollouts in the cache, by cluster (and its state)",
        rollouts,
    );

    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &registry);
    out
}
