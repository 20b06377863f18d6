//! The one cheap-to-clone state every handler receives.

use std::sync::Arc;

use crate::actions::KubeBackend;
use crate::health::SourceKind;
use crate::source::demo_cluster::DemoCluster;
use crate::store::Store;

/// Fixed settings of this server, derived from the configuration at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Version of this binary.
    pub version: String,
    /// Path prefix everything is served under: empty, or `/prefix` without trailing slash.
    pub base_path: String,
    /// Actions are refused (explicit `--read-only`, or a source that cannot change).
    pub read_only: bool,
    /// Which source feeds the store.
    pub source: SourceKind,
    /// Listening on a loopback address only: then only loopback host names are accepted in
    /// the `Host` header, which defeats DNS rebinding.
    pub loopback_only: bool,
    /// `--allowed-host`: host names the `Host` header may carry (lower case, with or without
    /// port); empty: any on a non-loopback address, loopback names on loopback.
    pub allowed_hosts: Vec<String>,
    /// Authentication mode, sessions and access-review cache.
    pub auth: Arc<crate::auth::Auth>,
    /// Fires when the server shuts down; WebSocket tasks then close with 1001.
    pub shutdown: Shutdown,
    /// Served over TLS (`--tls-cert`): responses carry HSTS.
    pub tls: bool,
    /// Connection limits (timeouts, connection cap, WebSockets per user).
    pub limits: crate::http::serve::Limits,
    /// WebSocket streams open per user (or client address), shared by every clone.
    pub streams: Arc<crate::http::ws::StreamSlots>,
}

/// A shutdown signal every WebSocket task can wait for.
#[derive(Debug, Clone)]
pub struct Shutdown(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown(Arc::new(tokio::sync::watch::channel(false).0))
    }
}

impl Shutdown {
    /// Signals every waiter.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once [`Shutdown::trigger`] has been called.
    pub async fn wait(&self) {
        let mut rx = self.0.subscribe();
        // Err only when the sender is dropped, which cannot happen while we hold it.
        let _ = rx.wait_for(|fired| *fired).await;
    }
}

impl Settings {
    /// Settings for tests and simple embeddings.
    pub fn new(source: SourceKind, read_only: bool, base_path: &str) -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            base_path: base_path.to_owned(),
            read_only,
            source,
            loopback_only: true,
            allowed_hosts: vec![],
            auth: Arc::new(crate::auth::Auth::none()),
            shutdown: Shutdown::default(),
            tls: false,
            limits: crate::http::serve::Limits::default(),
            streams: Arc::default(),
        }
    }
}

/// Where actions are sent: a cluster, or the demo's simulated objects.
#[derive(Clone)]
pub enum ActionBackends {
    /// The Kubernetes API, with the dashboard's own identity.
    Kube(KubeBackend),
    /// The demo simulation.
    Demo(DemoCluster),
}

/// Shared state: the store, the settings and the action backend (all cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// The cache of objects and views.
    pub store: Store,
    /// Fixed settings.
    pub settings: Arc<Settings>,
    /// Where actions go; `None` when the source cannot be changed (files).
    pub actions: Option<ActionBackends>,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}
