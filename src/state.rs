//! The one cheap-to-clone state every handler receives.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::actions::KubeBackend;
use crate::health::SourceKind;
use crate::source::demo_cluster::DemoCluster;
use crate::store::ClusterName;
use crate::store::Store;

/// Fixed settings of this server, derived from the configuration at start (settings only:
/// what changes while it runs lives on [`AppState`]).
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
    /// Served over TLS (`--tls-cert`): responses carry HSTS.
    pub tls: bool,
    /// Connection limits (timeouts, connection cap, WebSockets per user).
    pub limits: crate::config::Limits,
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
            tls: false,
            limits: crate::config::Limits::default(),
        }
    }
}

/// Where actions are sent, per cluster: a cluster's API, or a simulated cluster.
#[derive(Clone)]
pub enum ActionBackends {
    /// Each cluster's Kubernetes API, with the dashboard's own identity.
    Kube(Vec<(ClusterName, KubeBackend)>),
    /// The demo's simulated clusters.
    Demo(Vec<(ClusterName, DemoCluster)>),
}

/// Where one cluster's actions are sent.
pub enum ActionBackend<'a> {
    Kube(&'a KubeBackend),
    Demo(&'a DemoCluster),
}

impl ActionBackends {
    /// The backend of `cluster`, if it can be changed.
    pub fn of(&self, cluster: &str) -> Option<ActionBackend<'_>> {
        match self {
            ActionBackends::Kube(all) => all
                .iter()
                .find(|(name, _)| **name == *cluster)
                .map(|(_, b)| ActionBackend::Kube(b)),
            ActionBackends::Demo(all) => all
                .iter()
                .find(|(name, _)| **name == *cluster)
                .map(|(_, b)| ActionBackend::Demo(b)),
        }
    }
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
    /// Authentication mode, sessions and access-review cache.
    pub auth: Arc<crate::auth::Auth>,
    /// Fires when the server shuts down; WebSocket tasks then close with 1001.
    pub shutdown: Shutdown,
    /// WebSocket streams open per user, shared by every clone.
    pub streams: Arc<StreamSlots>,
}

impl AppState {
    /// State over `store` with `settings`: no action backend, `--auth none`, nothing open.
    pub fn new(store: Store, settings: Settings) -> AppState {
        AppState {
            store,
            settings: Arc::new(settings),
            actions: None,
            metrics: Arc::default(),
            auth: Arc::new(crate::auth::Auth::none()),
            shutdown: Shutdown::default(),
            streams: Arc::default(),
        }
    }

    /// With `auth` deciding who is asking.
    pub fn with_auth(mut self, auth: crate::auth::Auth) -> AppState {
        self.auth = Arc::new(auth);
        self
    }

    /// With `actions` performing actions.
    pub fn with_actions(mut self, actions: ActionBackends) -> AppState {
        self.actions = Some(actions);
        self
    }
}

/// Open WebSocket streams per user, for `--max-websockets-per-user`.
#[derive(Debug, Default)]
pub struct StreamSlots {
    open: Mutex<HashMap<String, usize>>,
}

impl StreamSlots {
    /// Takes one of `key`'s `max` slots, or `None` when all are taken. The slot is given
    /// back when the returned guard drops (the socket's task ends, or the upgrade fails).
    pub fn try_take(self: &Arc<Self>, key: &str, max: usize) -> Option<StreamSlot> {
        let mut open = self.open.lock();
        let count = open.entry(key.to_owned()).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(StreamSlot {
            slots: self.clone(),
            key: key.to_owned(),
        })
    }

    /// Streams open in total.
    pub fn total(&self) -> usize {
        self.open.lock().values().sum()
    }
}

/// One open stream of one user; see [`StreamSlots::try_take`].
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    key: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock();
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}
