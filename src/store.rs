//! The shared cache: every watched object, indexed to its rollout, and every rollout's view.
//!
//! Every rollout is keyed by its cluster, namespace and name ([`RolloutKey`]). Sources (a
//! cluster's watchers, files, a simulated cluster) feed their cluster's part of the store
//! through its handle ([`Store::cluster`] → [`ClusterStore::apply`] /
//! [`ClusterStore::delete`]); each cluster keeps its own objects, owner indexes (uids and
//! names are unique only within a cluster) and health, so one cluster's relist or outage
//! never touches another's. Applying an object marks only the rollouts it belongs to as
//! dirty; the views are one ordered map over every cluster. One recompute task
//! ([`Store::run_recompute`]) coalesces bursts, rebuilds the dirty views with the pure view
//! model, and broadcasts a [`Change`] only when a view's JSON actually changed. Every frame is
//! serialized once, whatever the number of clients.
//!
//! NB: locks are parking_lot's (no poisoning: a panicking recompute is caught and logged, and
//! the cache stays usable), held only for in-memory work and never across `.await`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::{Notify, broadcast};

use crate::health::{ClusterState, ClusterStatus, Health, KindHealth, Problem};
use crate::model::{
    AnalysisRun, EventRecord, Experiment, Kind, Meta, Object, Pod, ReplicaSet, Rollout,
    RolloutEvent,
};
use crate::pages::{self, ListRank, PageEntry, PageError, SnapshotPages};
use crate::protocol::ServerMsg;
use crate::view::{self, Related, RolloutDetail, RolloutSummary};

/// A cluster's short name (`prod-eu`; the context name, `in-cluster`, `files`, or a name
/// given on the command line); cheap to clone, as every key holds one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ClusterName(Arc<str>);

impl ClusterName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, shared.
    pub fn shared(&self) -> Arc<str> {
        self.0.clone()
    }
}

impl std::ops::Deref for ClusterName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClusterName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ClusterName {
    fn from(name: &str) -> Self {
        Self(name.into())
    }
}

impl From<String> for ClusterName {
    fn from(name: String) -> Self {
        Self(name.into())
    }
}

impl From<&String> for ClusterName {
    fn from(name: &String) -> Self {
        Self(name.as_str().into())
    }
}

impl From<&ClusterName> for ClusterName {
    fn from(name: &ClusterName) -> Self {
        name.clone()
    }
}

impl PartialEq<str> for ClusterName {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for ClusterName {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

/// Identifies a rollout: its cluster, namespace, then name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RolloutKey {
    pub cluster: ClusterName,
    pub namespace: String,
    pub name: String,
}

impl RolloutKey {
    /// Builds a key from its parts.
    pub fn new(
        cluster: impl Into<ClusterName>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            cluster: cluster.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

/// Identifies an object of a known kind within one cluster: namespace, then name (the
/// object indexes are per cluster, so they need no cluster in their keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    /// Builds a key from its parts.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The rollout of this key in `cluster`.
    fn in_cluster(self, cluster: &ClusterName) -> RolloutKey {
        RolloutKey {
            cluster: cluster.clone(),
            namespace: self.namespace,
            name: self.name,
        }
    }
}

/// What one person may read, per cluster: the namespaces (`None`: every one); a cluster
/// missing from the map: nothing of it.
pub type Readable = BTreeMap<String, Option<Vec<String>>>;

/// Which rollouts a list shows: of these clusters and these namespaces (each: all when
/// empty), and of what its reader may read (`readable`; `None`: everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ListFilter {
    pub clusters: Vec<String>,
    pub namespaces: Vec<String>,
    pub readable: Option<Readable>,
}

impl ListFilter {
    /// Every rollout.
    pub const ALL: ListFilter = ListFilter {
        clusters: Vec::new(),
        namespaces: Vec::new(),
        readable: None,
    };

    /// Rollouts of `namespaces` (all when empty), in every cluster.
    pub fn namespaces(namespaces: Vec<String>) -> Self {
        Self {
            namespaces,
            ..Self::default()
        }
    }

    /// Whether the list shows `key`.
    pub fn matches(&self, key: &RolloutKey) -> bool {
        (self.clusters.is_empty() || self.clusters.iter().any(|c| *c == *key.cluster))
            && in_namespaces(&self.namespaces, &key.namespace)
            && self.readable.as_ref().is_none_or(|readable| {
                match readable.get(key.cluster.as_str()) {
                    None => false,
                    Some(None) => true,
                    Some(Some(namespaces)) => namespaces.contains(&key.namespace),
                }
            })
    }
}

/// Minimum time between two flushes of the recompute task: changes arriving meanwhile are
/// folded into the next flush, one frame per rollout.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(40);

/// Capacity of the change feed, in flushes (each at most [`FLUSH_CHUNK`] rollouts): a client
/// further behind than this gets a fresh snapshot. 128 flushes are ≥ 5.1 s of changes at one
/// flush per [`COALESCE_WINDOW`] (what the 4,096 changes of protocol 4's per-change feed were
/// at 1,000 changes/s), and bound what the feed holds for a stalled client: the feed is
/// shared, and a flush is dropped once every client has read it or it is overwritten. At
/// 1,000 changes/s (~40 rollouts a flush, each with its ~20 KB detail frame) that is ~100 MB
/// at most, whatever the number of clients.
pub const CHANGE_FEED_CAPACITY: usize = 128;

/// One rollout's change, with its frames already serialized for every client.
#[derive(Debug)]
pub struct RolloutChange {
    pub seq: u64,
    pub key: RolloutKey,
    /// Frame for list subscribers; `None` when the summary did not change.
    pub list_frame: Option<Utf8Bytes>,
    /// Frame for detail subscribers of this rollout; `None` when the detail did not change.
    pub detail_frame: Option<Utf8Bytes>,
}

/// What the change feed carries: one item per flush of the store, so that a connection
/// wakes once per flush and sends one message for it (protocol 5's `batch`).
#[derive(Debug)]
pub enum Change {
    /// The rollouts whose views one flush changed, in `seq` order (a flush of more than
    /// [`FLUSH_CHUNK`] rollouts, such as the initial load, goes as several).
    Rollouts(Flush),
    /// The health of the sources changed.
    Health { frame: Utf8Bytes },
}

/// The changes of one flush, and the list message every client of the whole list receives
/// for them (built once, by the first connection that needs it).
#[derive(Debug)]
pub struct Flush {
    changes: Vec<RolloutChange>,
    /// `seq` of the last change with a list frame.
    last_list_seq: Option<u64>,
    list_message: OnceLock<Option<Utf8Bytes>>,
}

impl Flush {
    /// The changes of one flush, in `seq` order.
    pub fn new(changes: Vec<RolloutChange>) -> Self {
        let last_list_seq = changes
            .iter()
            .rev()
            .find(|c| c.list_frame.is_some())
            .map(|c| c.seq);
        Self {
            changes,
            last_list_seq,
            list_message: OnceLock::new(),
        }
    }

    /// The changes, in `seq` order.
    pub fn changes(&self) -> &[RolloutChange] {
        &self.changes
    }

    /// `seq` of the first change (0 for an empty flush, which the store never sends).
    pub fn first_seq(&self) -> u64 {
        self.changes.first().map_or(0, |c| c.seq)
    }

    /// `seq` of the last change with a list frame, if any.
    pub fn last_list_seq(&self) -> Option<u64> {
        self.last_list_seq
    }

    /// Every list frame of this flush as one message: the bare frame when there is one, a
    /// `batch` of them when several, `None` when no summary changed. Built once, by
    /// concatenation, and shared by every client of the whole list (1,000 such clients cost
    /// one copy of it, and one wake-up and one write each).
    pub fn list_message(&self) -> Option<&Utf8Bytes> {
        self.list_message
            .get_or_init(|| {
                message_of(
                    self.changes
                        .iter()
                        .filter_map(|c| c.list_frame.as_ref())
                        .collect(),
                )
            })
            .as_ref()
    }
}

/// The message carrying `frames`: none, the bare frame, or a `batch` of them in order.
pub fn message_of(frames: Vec<&Utf8Bytes>) -> Option<Utf8Bytes> {
    match frames.as_slice() {
        [] => None,
        [one] => Some((*one).clone()),
        many => Some(Utf8Bytes::from(crate::protocol::batch_text(
            many.iter().map(|f| f.as_str()),
        ))),
    }
}

/// Rollouts whose views one flush computes at a time (then stores, and drops their details):
/// computing all 10,000 of a fresh load at once held every detail (~20 KB each) together, a
/// peak the allocator kept as RSS afterwards.
const FLUSH_CHUNK: usize = 128;

/// Events kept per rollout, newest first: a rollout's history within the hour the API server
/// keeps Events is a few dozen (one per step, pause and scaling); the cap bounds the cache at
/// 10,000 rollouts whatever a noisy controller writes.
pub const EVENTS_PER_ROLLOUT: usize = 100;

/// Distinct Event reasons and sources shared at most; beyond, each record keeps its own.
const MAX_INTERNED: usize = 1024;

/// The cached view of one rollout.
#[derive(Debug)]
struct RolloutView {
    /// The summary as JSON only: every reader wants JSON (snapshots, the list, patches are
    /// diffed against it), and the value tree besides it cost ~2 KB per rollout.
    summary_json: Arc<RawValue>,
    /// `seq` of the last list frame of this rollout: the `base` of the next patch.
    summary_seq: u64,
    /// Where the list shows it by default (snapshot pages follow that order).
    rank: ListRank,
    /// The detail itself is not kept (it is several times the summary, and only open detail
    /// pages need it): it is rebuilt on demand, and its hash tells whether it changed.
    detail_hash: u64,
}

#[derive(Default)]
struct Objects {
    rollouts: HashMap<ObjectKey, Arc<Rollout>>,
    replica_sets: HashMap<ObjectKey, Arc<ReplicaSet>>,
    pods: HashMap<ObjectKey, Arc<Pod>>,
    analysis_runs: HashMap<ObjectKey, Arc<AnalysisRun>>,
    experiments: HashMap<ObjectKey, Arc<Experiment>>,
    /// (namespace, owner uid) → the objects naming it in an ownerReference.
    children: HashMap<(String, String), Entries>,
    /// (namespace, uid) → objects with that uid (upstream fixtures share uids, so a set), of
    /// the kinds that may own others ([`Kind::may_own`]).
    by_uid: HashMap<(String, String), Entries>,
    /// Each rollout's Events, newest first, at most [`EVENTS_PER_ROLLOUT`].
    events: HashMap<ObjectKey, Vec<Arc<EventRecord>>>,
    /// The Events' reasons and sources, shared: a few dozen distinct ones for a million
    /// Events. Bounded by [`MAX_INTERNED`].
    interned: HashSet<Arc<str>>,
    /// Why Events cannot be shown (the identity may not list them), by the namespace of the
    /// watch that failed (`None`: the cluster-wide watch).
    events_unavailable: BTreeMap<Option<String>, String>,
}

/// A set of (kind, name) in order, for the indexes: almost always one to three entries, for
/// which a sorted vector takes 32 bytes each where a `BTreeSet` takes a ~370-byte B-tree leaf
/// (about 2.5 KB per rollout over its five objects' index entries).
#[derive(Default)]
struct Entries(Vec<(Kind, String)>);

impl Entries {
    fn insert(&mut self, entry: (Kind, String)) {
        if let Err(at) = self.0.binary_search(&entry) {
            // One more slot, not the doubling of a growing vector: the sets stay this small.
            self.0.reserve_exact(1);
            self.0.insert(at, entry);
        }
    }

    fn remove(&mut self, entry: &(Kind, String)) {
        if let Ok(at) = self.0.binary_search(entry) {
            self.0.remove(at);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> std::slice::Iter<'_, (Kind, String)> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a Entries {
    type Item = &'a (Kind, String);
    type IntoIter = std::slice::Iter<'a, (Kind, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[derive(Default)]
struct Views {
    /// Sequence number of the last change broadcast.
    seq: u64,
    by_key: BTreeMap<RolloutKey, RolloutView>,
}

/// Counters the metrics endpoint reports.
#[derive(Debug, Default)]
pub struct StoreStats {
    /// Views rebuilt.
    pub recomputes: AtomicU64,
    /// Total time spent rebuilding views, in microseconds.
    pub recompute_micros: AtomicU64,
    /// Changes broadcast.
    pub changes: AtomicU64,
}

/// The shared cache; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    /// Every cluster's objects and health, in display order (the order they were added).
    clusters: RwLock<Vec<Arc<ClusterCell>>>,
    views: RwLock<Views>,
    dirty: Mutex<HashSet<RolloutKey>>,
    wake: Notify,
    changes: broadcast::Sender<Arc<Change>>,
    /// The health a new cluster starts with, and the aggregate while there is none.
    template: Health,
    /// Held while a `status` frame is built and sent, so that frames go out in the order of
    /// the health changes they report.
    status_lock: Mutex<()>,
    /// A cluster became synced: its `status` frame waits for the next flush, so that it
    /// follows the rows its lists brought (a client never sees "synced" with rows missing).
    health_pending: std::sync::atomic::AtomicBool,
    stats: StoreStats,
    /// List snapshot pages by filter (empty: the whole list), each at the version it was
    /// asked at and shared by every connection that asks with that filter at that version;
    /// a cell is filled once (concurrent askers wait for it). At most [`SHARED_FILTERS`].
    shared_pages: Mutex<HashMap<ListFilter, (u64, SharedPages)>>,
}

/// One cluster's part of the store: its objects (owner indexes are per cluster: uids and
/// names are only unique within one) and its health.
struct ClusterCell {
    name: ClusterName,
    objects: RwLock<Objects>,
    health: RwLock<ClusterHealth>,
}

/// A cluster's kind-level health and the times its state changed.
#[derive(Clone)]
struct ClusterHealth {
    health: Health,
    state: ClusterState,
    since: jiff::Timestamp,
    last_synced_at: Option<jiff::Timestamp>,
}

impl ClusterHealth {
    fn new(health: Health) -> Self {
        let now = jiff::Timestamp::now();
        let state = ClusterState::of(&health);
        Self {
            state,
            since: now,
            last_synced_at: (state == ClusterState::Synced).then_some(now),
            health,
        }
    }

    /// Follows a change of `health`: a new state starts now.
    fn refresh(&mut self) {
        let state = ClusterState::of(&self.health);
        if state == self.state {
            return;
        }
        let now = jiff::Timestamp::now();
        if state == ClusterState::Synced || self.state == ClusterState::Synced {
            // Entering: current from now; leaving: it was current until now.
            self.last_synced_at = Some(now);
        }
        self.state = state;
        self.since = now;
    }
}

/// Pages built once for everyone who asks with the same filter at the same version.
type SharedPages = Arc<tokio::sync::OnceCell<Arc<SnapshotPages>>>;

/// Filters whose pages are kept at once. In proxy and token modes each user's filter is the
/// namespaces they may list, so people of the same groups share one; a version change drops
/// every older entry, so this only bounds many distinct filters at one version.
const SHARED_FILTERS: usize = 64;

/// One cluster's handle on the store (cheap to clone): what a source (a cluster's watchers,
/// the file loader, a simulated cluster) feeds its objects and health through.
#[derive(Clone)]
pub struct ClusterStore {
    store: Store,
    cell: Arc<ClusterCell>,
}

impl Store {
    /// An empty store whose clusters' health starts as `health`.
    pub fn new(health: Health) -> Self {
        Self::with_feed_capacity(health, CHANGE_FEED_CAPACITY)
    }

    /// An empty store whose change feed holds `capacity` changes (tests use small ones).
    pub fn with_feed_capacity(health: Health, capacity: usize) -> Self {
        let (changes, _) = broadcast::channel(capacity);
        Self {
            inner: Arc::new(StoreInner {
                clusters: RwLock::new(Vec::new()),
                views: RwLock::new(Views::default()),
                dirty: Mutex::new(HashSet::new()),
                wake: Notify::new(),
                changes,
                template: health,
                status_lock: Mutex::new(()),
                health_pending: std::sync::atomic::AtomicBool::new(false),
                stats: StoreStats::default(),
                shared_pages: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The handle of cluster `name`, added (after the others, its health as the store's
    /// initial one) if it is new.
    pub fn cluster(&self, name: impl Into<ClusterName>) -> ClusterStore {
        self.cluster_with(name.into(), None)
    }

    /// The handle of cluster `name`, added with `health` if it is new.
    pub fn cluster_with_health(
        &self,
        name: impl Into<ClusterName>,
        health: Health,
    ) -> ClusterStore {
        self.cluster_with(name.into(), Some(health))
    }

    fn cluster_with(&self, name: ClusterName, health: Option<Health>) -> ClusterStore {
        let mut clusters = self.inner.clusters.write();
        let cell = match clusters.iter().find(|c| c.name == name) {
            Some(cell) => cell.clone(),
            None => {
                let health = health.unwrap_or_else(|| self.inner.template.clone());
                let cell = Arc::new(ClusterCell {
                    name,
                    objects: RwLock::new(Objects::default()),
                    health: RwLock::new(ClusterHealth::new(health)),
                });
                clusters.push(cell.clone());
                cell
            }
        };
        ClusterStore {
            store: self.clone(),
            cell,
        }
    }

    /// The handle of cluster `name` if it exists.
    pub fn existing_cluster(&self, name: &str) -> Option<ClusterStore> {
        let cell = self
            .inner
            .clusters
            .read()
            .iter()
            .find(|c| *c.name == *name)
            .cloned()?;
        Some(ClusterStore {
            store: self.clone(),
            cell,
        })
    }

    /// The state of cluster `name`, if it exists.
    pub fn cluster_state(&self, name: &str) -> Option<ClusterState> {
        Some(self.cell(name)?.health.read().state)
    }

    /// Why actions on cluster `name` must wait, if they must: its state when the rows shown
    /// are not current — a problem (unreachable, forbidden, …), or a resync after one (the
    /// rows are last known: the UI shows them stale). The first sync after start is not such
    /// a state: the rollouts listed are live, and an action re-reads its rollout anyway.
    pub fn actions_blocked(&self, name: &str) -> Option<ClusterState> {
        let cell = self.cell(name)?;
        let health = cell.health.read();
        let first_sync = health.state == ClusterState::Syncing && health.last_synced_at.is_none();
        (health.state != ClusterState::Synced && !first_sync).then_some(health.state)
    }

    /// The clusters' names, in display order.
    pub fn cluster_names(&self) -> Vec<ClusterName> {
        self.inner
            .clusters
            .read()
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    fn cells(&self) -> Vec<Arc<ClusterCell>> {
        self.inner.clusters.read().clone()
    }

    /// Subscribes to the change feed. Subscribe first, then take a snapshot, then apply the
    /// changes whose `seq` is newer than the snapshot's.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.inner.changes.subscribe()
    }

    /// Number of live subscribers of the change feed.
    pub fn subscriber_count(&self) -> usize {
        self.inner.changes.receiver_count()
    }

    /// Counters for the metrics endpoint.
    pub fn stats(&self) -> &StoreStats {
        &self.inner.stats
    }

    /// Keys of every stored object of `kind`, of every cluster.
    pub fn keys_of(&self, kind: Kind) -> Vec<RolloutKey> {
        self.cells()
            .iter()
            .flat_map(|cell| {
                cell.objects
                    .read()
                    .keys_of(kind)
                    .into_iter()
                    .map(|k| k.in_cluster(&cell.name))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Number of stored objects of each kind, of every cluster.
    pub fn object_counts(&self) -> BTreeMap<Kind, usize> {
        let mut counts: BTreeMap<Kind, usize> = Kind::ALL.into_iter().map(|k| (k, 0)).collect();
        for cell in self.cells() {
            for (kind, n) in cell.objects.read().counts() {
                *counts.entry(kind).or_default() += n;
            }
        }
        counts
    }

    /// A rollout's stored Events, newest first.
    pub fn events_of(&self, key: &RolloutKey) -> Vec<Arc<EventRecord>> {
        let Some(cell) = self.cell(&key.cluster) else {
            return vec![];
        };
        let objects = cell.objects.read();
        objects
            .events
            .get(&ObjectKey::new(&key.namespace, &key.name))
            .cloned()
            .unwrap_or_default()
    }

    fn cell(&self, name: &str) -> Option<Arc<ClusterCell>> {
        self.inner
            .clusters
            .read()
            .iter()
            .find(|c| *c.name == *name)
            .cloned()
    }

    fn mark_dirty(&self, keys: Vec<RolloutKey>) {
        if keys.is_empty() {
            return;
        }
        self.inner.dirty.lock().extend(keys);
        self.inner.wake.notify_one();
    }

    /// Rebuilds every dirty view now and broadcasts the changes. The recompute task calls
    /// this; sources with no task (tests, the file loader) may call it directly.
    pub fn flush(&self) {
        self.flush_views();
        if self.inner.health_pending.swap(false, Ordering::SeqCst) {
            self.broadcast_health();
        }
    }

    /// [`Store::flush`]'s rows: the dirty views rebuilt and their changes broadcast.
    fn flush_views(&self) {
        let dirty: Vec<RolloutKey> = {
            let mut dirty = self.inner.dirty.lock();
            let mut keys: Vec<_> = dirty.drain().collect();
            keys.sort();
            keys
        };
        if dirty.is_empty() {
            return;
        }
        let cells = self.cells();
        let stats = &self.inner.stats;
        for chunk in dirty.chunks(FLUSH_CHUNK) {
            let started = Instant::now();
            // Compute outside the views lock: readers (snapshots) are never blocked by the
            // view model. Keys are sorted, so a chunk holds few clusters, each read-locked
            // once.
            let mut computed: Vec<(&RolloutKey, Option<(RolloutDetail, RolloutSummary)>)> =
                Vec::with_capacity(chunk.len());
            for group in chunk.chunk_by(|a, b| a.cluster == b.cluster) {
                let cell = cells.iter().find(|c| c.name == group[0].cluster);
                let objects = cell.map(|c| c.objects.read());
                for key in group {
                    let view = objects.as_ref().and_then(|objects| {
                        let ro = objects
                            .rollouts
                            .get(&ObjectKey::new(&key.namespace, &key.name))?;
                        let related = objects.related(ro);
                        let detail = detail_in(&key.cluster, ro, &related);
                        let summary = detail.summary();
                        Some((detail, summary))
                    });
                    computed.push((key, view));
                }
            }
            stats
                .recomputes
                .fetch_add(computed.len() as u64, Ordering::Relaxed);
            stats
                .recompute_micros
                .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);

            let mut views = self.inner.views.write();
            let changes: Vec<RolloutChange> = computed
                .into_iter()
                .filter_map(|(key, view)| match view {
                    Some((detail, summary)) => views.upsert(key.clone(), detail, summary),
                    None => views.remove(key.clone()),
                })
                .collect();
            if changes.is_empty() {
                continue;
            }
            stats
                .changes
                .fetch_add(changes.len() as u64, Ordering::Relaxed);
            // One item for the whole chunk, sent while the views lock is held: a snapshot
            // (which reads the views) is either older than every change of it or holds them
            // all. No receivers is fine: nobody is watching.
            let _ = self
                .inner
                .changes
                .send(Arc::new(Change::Rollouts(Flush::new(changes))));
        }
    }

    /// Runs forever: flushes as soon as something is dirty, then waits [`COALESCE_WINDOW`]
    /// before the next flush, so a lone change goes out at once while a burst (a rollout's
    /// pods all changing) is folded into one frame per rollout per window.
    pub async fn run_recompute(self) {
        loop {
            self.inner.wake.notified().await;
            // The view model is CPU work; keep it off the async workers' critical path.
            let store = self.clone();
            if tokio::task::spawn_blocking(move || store.flush())
                .await
                .is_err()
            {
                tracing::error!("view recompute panicked");
            }
            tokio::time::sleep(COALESCE_WINDOW).await;
        }
    }

    /// The list snapshot: summaries (optionally of some clusters and namespaces) and the
    /// sequence number they are current at. Decoded from the cached JSON (the store keeps no
    /// value trees), so prefer [`Store::list_json`] or [`Store::list_pages`] where JSON will do.
    pub fn summaries(&self, filter: &ListFilter) -> (u64, Vec<Arc<RolloutSummary>>) {
        let views = self.inner.views.read();
        let list = views
            .by_key
            .iter()
            .filter(|(key, _)| filter.matches(key))
            .filter_map(|(_, v)| {
                serde_json::from_str(v.summary_json.get())
                    .ok()
                    .map(Arc::new)
            })
            .collect();
        (views.seq, list)
    }

    /// How many rollouts `filter` shows.
    pub fn count(&self, filter: &ListFilter) -> usize {
        let views = self.inner.views.read();
        views
            .by_key
            .keys()
            .filter(|key| filter.matches(key))
            .count()
    }

    /// The list snapshot of `filter` as compressed pages, built now from the cached
    /// per-rollout JSON (CPU work: call it off the async workers, or use
    /// [`Store::shared_list_pages`]). The views lock is held only to copy the rows out.
    pub fn list_pages(&self, filter: &ListFilter) -> Result<SnapshotPages, PageError> {
        let (seq, entries) = {
            let views = self.inner.views.read();
            let entries: Vec<PageEntry> = views
                .by_key
                .iter()
                .filter(|(key, _)| filter.matches(key))
                .map(|(key, view)| PageEntry {
                    rank: view.rank,
                    name: key.name.clone(),
                    namespace: key.namespace.clone(),
                    cluster: key.cluster.shared(),
                    json: view.summary_json.clone(),
                })
                .collect();
            (views.seq, entries)
        };
        pages::build(seq, entries)
    }

    /// [`Store::list_pages`] on a blocking thread, built once per filter and version and
    /// shared by every caller with that filter at that version (a reconnect storm of 1,000
    /// clients compresses the list once, and holds one copy of it). The pages may be newer
    /// than the version asked at, never older: a caller that subscribed to the change feed
    /// before asking misses nothing.
    pub async fn shared_list_pages(
        &self,
        filter: &ListFilter,
    ) -> Result<Arc<SnapshotPages>, PageError> {
        let cell = {
            let seq = self.inner.views.read().seq;
            let mut shared = self.inner.shared_pages.lock();
            // Pages of older versions are never handed out again.
            shared.retain(|_, (at, _)| *at == seq);
            if shared.len() >= SHARED_FILTERS && !shared.contains_key(filter) {
                shared.clear();
            }
            shared
                .entry(filter.clone())
                .or_insert_with(|| (seq, SharedPages::default()))
                .1
                .clone()
        };
        cell.get_or_try_init(|| self.list_pages_blocking(filter.clone()))
            .await
            .cloned()
    }

    async fn list_pages_blocking(
        &self,
        filter: ListFilter,
    ) -> Result<Arc<SnapshotPages>, PageError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.list_pages(&filter).map(Arc::new))
            .await
            .map_err(|_| PageError::Panicked)?
    }

    /// `{"rollouts":[...]}` for the REST list, from the cached per-rollout JSON (no value
    /// tree is built, which took most of the time at 10,000 rollouts).
    pub fn list_json(&self, filter: &ListFilter) -> String {
        let views = self.inner.views.read();
        serialize(&RawList {
            rollouts: views.summaries_in(filter),
        })
    }

    /// One rollout's detail, built now from the stored objects, and the sequence number of
    /// the views (the detail may be a little newer; a later `detail` frame replaces it whole).
    pub fn detail(&self, key: &RolloutKey) -> (u64, Option<Arc<RolloutDetail>>) {
        let views = self.inner.views.read();
        if !views.by_key.contains_key(key) {
            // Not in the list yet (or any more): answer as the list does.
            return (views.seq, None);
        }
        let Some(cell) = self.cell(&key.cluster) else {
            return (views.seq, None);
        };
        let objects = cell.objects.read();
        let detail = objects
            .rollouts
            .get(&ObjectKey::new(&key.namespace, &key.name))
            .map(|ro| Arc::new(detail_in(&key.cluster, ro, &objects.related(ro))));
        (views.seq, detail)
    }

    /// The stored Rollout object, if the list shows it (for what only the spec says, such as
    /// its workloadRef, without building the whole detail view).
    pub fn rollout(&self, key: &RolloutKey) -> Option<Arc<Rollout>> {
        let views = self.inner.views.read();
        if !views.by_key.contains_key(key) {
            return None;
        }
        let cell = self.cell(&key.cluster)?;
        let objects = cell.objects.read();
        objects
            .rollouts
            .get(&ObjectKey::new(&key.namespace, &key.name))
            .cloned()
    }

    /// Namespaces that hold at least one rollout, in any cluster.
    pub fn namespaces(&self) -> Vec<String> {
        let views = self.inner.views.read();
        let set: BTreeSet<&str> = views.by_key.keys().map(|k| k.namespace.as_str()).collect();
        set.into_iter().map(str::to_owned).collect()
    }

    /// Rollouts in the cache per cluster.
    fn rollout_counts(&self) -> HashMap<ClusterName, usize> {
        let views = self.inner.views.read();
        let mut counts = HashMap::new();
        for key in views.by_key.keys() {
            *counts.entry(key.cluster.clone()).or_default() += 1;
        }
        counts
    }

    /// Current health of the sources, all clusters together: with one cluster, its health;
    /// with several, each kind synced when it is in every cluster, and a blocking `problem`
    /// only when no cluster is current (one cluster down never blanks the page: the
    /// clusters' states say which are not current).
    pub fn health(&self) -> Health {
        let cells = self.cells();
        let healths: Vec<(ClusterName, ClusterHealth)> = cells
            .iter()
            .map(|c| (c.name.clone(), c.health.read().clone()))
            .collect();
        aggregate(&self.inner.template, &healths)
    }

    /// Each cluster's status, in display order.
    pub fn cluster_statuses(&self) -> Vec<ClusterStatus> {
        let counts = self.rollout_counts();
        self.cells()
            .iter()
            .map(|cell| {
                let health = cell.health.read();
                ClusterStatus {
                    name: cell.name.to_string(),
                    state: health.state,
                    problem: health.health.problem.clone(),
                    since: Some(health.since.to_string()),
                    last_synced_at: health.last_synced_at.map(|t| t.to_string()),
                    rollouts: counts.get(&cell.name).copied().unwrap_or(0),
                }
            })
            .collect()
    }

    /// Whether the Service may send traffic here: every cluster has synced once or reports
    /// a problem (one dead cluster does not take every replica out of the Service), and at
    /// least one is current. With one cluster: it is synced, as before there were several.
    pub fn ready(&self) -> bool {
        let statuses = self.cluster_statuses();
        if statuses.is_empty() {
            return self.inner.template.ready();
        }
        statuses.iter().any(|s| s.state == ClusterState::Synced)
            && statuses
                .iter()
                .all(|s| s.last_synced_at.is_some() || s.problem.is_some())
    }

    /// Broadcasts the current health (after a cluster's changed).
    fn broadcast_health(&self) {
        let _order = self.inner.status_lock.lock();
        let frame = serialize(&ServerMsg::Status {
            health: self.health(),
            clusters: self.cluster_statuses(),
        });
        let _ = self.inner.changes.send(Arc::new(Change::Health {
            frame: Utf8Bytes::from(frame),
        }));
    }
}

/// The health of all clusters together ([`Store::health`]).
fn aggregate(template: &Health, clusters: &[(ClusterName, ClusterHealth)]) -> Health {
    match clusters {
        [] => template.clone(),
        [(_, one)] => one.health.clone(),
        several => {
            let mut health = template.clone();
            health.notes.clear();
            let mut namespaces = BTreeSet::new();
            let mut all_namespaces = false;
            for (name, cluster) in several {
                let h = &cluster.health;
                all_namespaces |= h.namespaces.is_empty();
                namespaces.extend(h.namespaces.iter().cloned());
                health
                    .notes
                    .extend(h.notes.iter().map(|note| format!("{name}: {note}")));
            }
            health.namespaces = if all_namespaces {
                vec![]
            } else {
                namespaces.into_iter().collect()
            };
            for (kind, merged) in &mut health.kinds {
                *merged = KindHealth::default();
                merged.synced = true;
                for (name, cluster) in several {
                    let Some(k) = cluster.health.kinds.get(kind) else {
                        continue;
                    };
                    merged.synced &= k.synced;
                    merged.restarts += k.restarts;
                    if merged.error.is_none()
                        && let Some(error) = &k.error
                    {
                        merged.error = Some(format!("{name}: {error}"));
                        merged.problem = k.problem.clone();
                    }
                }
            }
            let any_current = several.iter().any(|(_, c)| c.state == ClusterState::Synced);
            health.problem = if any_current {
                None
            } else {
                several
                    .iter()
                    .filter_map(|(name, c)| {
                        c.health
                            .problem
                            .as_ref()
                            .map(|p| Problem::new(p.code, format!("cluster {name}: {}", p.message)))
                    })
                    .min_by_key(|p| p.code)
            };
            health
        }
    }
}

impl ClusterStore {
    /// The cluster's name.
    pub fn name(&self) -> &ClusterName {
        &self.cell.name
    }

    /// The whole store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn keys(&self, keys: Vec<ObjectKey>) -> Vec<RolloutKey> {
        keys.into_iter()
            .map(|k| k.in_cluster(&self.cell.name))
            .collect()
    }

    fn mark_dirty(&self, keys: Vec<ObjectKey>) {
        self.store.mark_dirty(self.keys(keys));
    }

    /// Inserts or replaces an object and marks the rollouts it belongs to as dirty.
    pub fn apply(&self, object: Object) {
        let mut affected = Vec::new();
        {
            let mut objects = self.cell.objects.write();
            let meta = object.meta();
            let key = ObjectKey::new(&meta.namespace, &meta.name);
            if let Some(old) = objects.remove(object.kind(), &key) {
                objects.affected_rollouts(&old, &mut affected);
            }
            let new_meta = object.meta_with_kind();
            objects.insert(object);
            objects.affected_rollouts(&new_meta, &mut affected);
        }
        self.mark_dirty(affected);
    }

    /// Removes an object and marks the rollouts it belonged to as dirty.
    pub fn delete(&self, kind: Kind, namespace: &str, name: &str) {
        let mut affected = Vec::new();
        {
            let mut objects = self.cell.objects.write();
            let key = ObjectKey::new(namespace, name);
            if let Some(old) = objects.remove(kind, &key) {
                objects.affected_rollouts(&old, &mut affected);
            }
            if kind == Kind::Rollout {
                objects.events.remove(&key);
            }
        }
        self.mark_dirty(affected);
    }

    /// Replaces every object of `kind` of this cluster (a watcher's initial list or a relist
    /// after an expired resource version): objects missing from `objects` are deleted; other
    /// clusters' objects are not touched.
    pub fn replace_kind(&self, kind: Kind, objects: Vec<Object>) {
        let fresh: HashSet<ObjectKey> = objects
            .iter()
            .map(|o| ObjectKey::new(&o.meta().namespace, &o.meta().name))
            .collect();
        for key in self.keys_of(kind) {
            if !fresh.contains(&key) {
                self.delete(kind, &key.namespace, &key.name);
            }
        }
        if kind == Kind::Rollout {
            // Events that came before their rollout's list, of rollouts that are gone.
            self.cell
                .objects
                .write()
                .events
                .retain(|key, _| fresh.contains(key));
        }
        for object in objects {
            self.apply(object);
        }
    }

    /// Replaces every object of `kind` in `namespace` (a relist of a watch of one of several
    /// namespaces): objects of that namespace missing from `objects` are deleted, those of
    /// other namespaces stay. Linear in the stored and the listed objects.
    pub fn replace_in_namespace(&self, kind: Kind, namespace: &str, objects: Vec<Object>) {
        let fresh: HashSet<&str> = objects
            .iter()
            .filter(|o| o.meta().namespace == namespace)
            .map(|o| o.meta().name.as_str())
            .collect();
        for key in self.keys_of(kind) {
            if key.namespace == namespace && !fresh.contains(key.name.as_str()) {
                self.delete(kind, &key.namespace, &key.name);
            }
        }
        if kind == Kind::Rollout {
            self.cell
                .objects
                .write()
                .events
                .retain(|key, _| key.namespace != namespace || fresh.contains(key.name.as_str()));
        }
        for object in objects {
            self.apply(object);
        }
    }

    /// Removes every object of this cluster (its rollouts leave the list); the cluster and
    /// its health stay.
    pub fn clear(&self) {
        let keys: Vec<ObjectKey> = {
            let mut objects = self.cell.objects.write();
            let keys = objects.rollouts.keys().cloned().collect();
            *objects = Objects::default();
            keys
        };
        self.mark_dirty(keys);
    }

    /// Keys of this cluster's stored objects of `kind`.
    pub fn keys_of(&self, kind: Kind) -> Vec<ObjectKey> {
        self.cell.objects.read().keys_of(kind)
    }

    /// Adds or replaces (by name) an Event about a rollout, keeping that rollout's newest
    /// [`EVENTS_PER_ROLLOUT`]; marks the rollout dirty.
    pub fn apply_event(&self, event: RolloutEvent) {
        let key = event_key(&event);
        self.cell.objects.write().add_event(key.clone(), event);
        self.mark_dirty(vec![key]);
    }

    /// Removes an Event (deleted, or expired by the API server).
    pub fn delete_event(&self, event: &RolloutEvent) {
        let key = event_key(event);
        {
            let mut objects = self.cell.objects.write();
            if let Some(log) = objects.events.get_mut(&key) {
                log.retain(|e| *e.name != *event.metadata.name);
                if log.is_empty() {
                    objects.events.remove(&key);
                }
            }
        }
        self.mark_dirty(vec![key]);
    }

    /// Replaces every Event (of `namespace`, or all with `None`): a watch's (re)list.
    pub fn replace_events(&self, namespace: Option<&str>, events: Vec<RolloutEvent>) {
        let mut affected: Vec<ObjectKey> = vec![];
        {
            let mut objects = self.cell.objects.write();
            objects.events.retain(|key, _| {
                let keep = namespace.is_some_and(|ns| ns != key.namespace);
                if !keep {
                    affected.push(key.clone());
                }
                keep
            });
            for event in events {
                let key = event_key(&event);
                affected.push(key.clone());
                objects.add_event(key, event);
            }
        }
        self.mark_dirty(affected);
    }

    /// Says why the Events of `namespace` (`None`: of every namespace) cannot be shown, or
    /// (`why` = `None`) that they can again; the histories of its rollouts say so. Each watch
    /// reports its own namespace, so one forbidden namespace does not flap with another's.
    pub fn set_events_unavailable(&self, namespace: Option<&str>, why: Option<String>) {
        let keys = {
            let mut objects = self.cell.objects.write();
            let scope = namespace.map(str::to_owned);
            if objects.events_unavailable.get(&scope) == why.as_ref() {
                return;
            }
            match why {
                Some(why) => objects.events_unavailable.insert(scope, why),
                None => objects.events_unavailable.remove(&scope),
            };
            objects
                .rollouts
                .keys()
                .filter(|k| namespace.is_none_or(|ns| k.namespace == ns))
                .cloned()
                .collect()
        };
        self.mark_dirty(keys);
    }

    /// This cluster's (kind-level) health.
    pub fn health(&self) -> Health {
        self.cell.health.read().health.clone()
    }

    /// Updates this cluster's health and broadcasts the store's when it changed.
    pub fn update_health(&self, update: impl FnOnce(&mut Health)) {
        let changed = {
            let mut cluster = self.cell.health.write();
            let before = cluster.health.clone();
            update(&mut cluster.health);
            let changed = cluster.health != before;
            let was = cluster.state;
            if changed {
                cluster.refresh();
            }
            changed.then_some(was != ClusterState::Synced && cluster.state == ClusterState::Synced)
        };
        match changed {
            // Synced: the status frame goes out after the rows of the lists (next flush).
            Some(true) => {
                self.store
                    .inner
                    .health_pending
                    .store(true, Ordering::SeqCst);
                self.store.inner.wake.notify_one();
            }
            Some(false) => self.store.broadcast_health(),
            None => {}
        }
    }
}
impl Views {
    /// The cached summaries `filter` shows, in key order.
    fn summaries_in(&self, filter: &ListFilter) -> Vec<&RawValue> {
        self.by_key
            .iter()
            .filter(|(key, _)| filter.matches(key))
            .map(|(_, view)| &*view.summary_json)
            .collect()
    }

    fn upsert(
        &mut self,
        key: RolloutKey,
        detail: RolloutDetail,
        summary: RolloutSummary,
    ) -> Option<RolloutChange> {
        // Each view is serialized once: its JSON is hashed or compared, then wrapped in the frame.
        let summary_json: Arc<RawValue> = raw(&summary).into();
        let rank = ListRank::of(&summary);
        let detail_json = raw(&detail);
        let detail_hash = hash_str(detail_json.get());
        let old = self.by_key.get(&key);
        let summary_changed = old.is_none_or(|o| o.summary_json.get() != summary_json.get());
        let detail_changed = old.is_none_or(|o| o.detail_hash != detail_hash);
        if !summary_changed && !detail_changed {
            return None;
        }
        self.seq += 1;
        let seq = self.seq;
        let list_frame = summary_changed.then(|| {
            let upsert = rollout_frame("upsert", seq, &summary_json);
            let patch = old.and_then(|o| patch_frame(seq, &key, o, &summary));
            // Most changes touch a field or two of a ~1–2 KB summary: send just those.
            Utf8Bytes::from(match patch {
                Some(patch) if patch.len() < upsert.len() => patch,
                _ => upsert,
            })
        });
        let summary_seq = if summary_changed {
            seq
        } else {
            old.map_or(seq, |o| o.summary_seq)
        };
        let detail_frame =
            detail_changed.then(|| Utf8Bytes::from(rollout_frame("detail", seq, &detail_json)));
        self.by_key.insert(
            key.clone(),
            RolloutView {
                summary_json,
                summary_seq,
                rank,
                detail_hash,
            },
        );
        Some(RolloutChange {
            seq,
            key,
            list_frame,
            detail_frame,
        })
    }

    fn remove(&mut self, key: RolloutKey) -> Option<RolloutChange> {
        self.by_key.remove(&key)?;
        self.seq += 1;
        let seq = self.seq;
        let frame = Utf8Bytes::from(serialize(&ServerMsg::Delete {
            seq,
            cluster: key.cluster.to_string(),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
        }));
        Some(RolloutChange {
            seq,
            key,
            list_frame: Some(frame.clone()),
            detail_frame: Some(frame),
        })
    }
}

impl Objects {
    /// Keys of every stored object of `kind`.
    fn keys_of(&self, kind: Kind) -> Vec<ObjectKey> {
        match kind {
            Kind::Rollout => self.rollouts.keys().cloned().collect(),
            Kind::ReplicaSet => self.replica_sets.keys().cloned().collect(),
            Kind::Pod => self.pods.keys().cloned().collect(),
            Kind::AnalysisRun => self.analysis_runs.keys().cloned().collect(),
            Kind::Experiment => self.experiments.keys().cloned().collect(),
        }
    }

    /// Number of stored objects of each kind.
    fn counts(&self) -> [(Kind, usize); 5] {
        [
            (Kind::Rollout, self.rollouts.len()),
            (Kind::ReplicaSet, self.replica_sets.len()),
            (Kind::Pod, self.pods.len()),
            (Kind::AnalysisRun, self.analysis_runs.len()),
            (Kind::Experiment, self.experiments.len()),
        ]
    }

    /// Adds `event` to `key`'s log, replacing an Event of the same name (the API server
    /// updates an Event in place when it recurs), newest first, trimmed.
    fn add_event(&mut self, key: ObjectKey, event: RolloutEvent) {
        let mut record = event.record();
        record.reason = self.intern(&record.reason);
        record.source = self.intern(&record.source);
        let log = self.events.entry(key).or_default();
        log.retain(|e| e.name != record.name);
        // Newest first (then by name, so the order is total): after every newer entry. A relist
        // of a rollout's Events is then linear per Event, not a sort each.
        let pos = log.partition_point(|e| (e.last, &e.name) > (record.last, &record.name));
        if pos < EVENTS_PER_ROLLOUT {
            log.insert(pos, Arc::new(record));
            log.truncate(EVENTS_PER_ROLLOUT);
        }
    }

    /// The shared copy of an Event's reason or source.
    fn intern(&mut self, text: &Arc<str>) -> Arc<str> {
        if let Some(shared) = self.interned.get(text) {
            return shared.clone();
        }
        if self.interned.len() < MAX_INTERNED {
            self.interned.insert(text.clone());
        }
        text.clone()
    }

    fn insert(&mut self, object: Object) {
        let meta = object.meta();
        let key = ObjectKey::new(&meta.namespace, &meta.name);
        let kind = object.kind();
        self.index(kind, meta, true);
        match object {
            Object::Rollout(o) => drop(self.rollouts.insert(key, Arc::new(o))),
            Object::ReplicaSet(o) => drop(self.replica_sets.insert(key, Arc::new(o))),
            Object::Pod(o) => drop(self.pods.insert(key, Arc::new(o))),
            Object::AnalysisRun(o) => drop(self.analysis_runs.insert(key, Arc::new(o))),
            Object::Experiment(o) => drop(self.experiments.insert(key, Arc::new(o))),
        }
    }

    /// Removes an object, returning its metadata (with kind) for dirty tracking.
    fn remove(&mut self, kind: Kind, key: &ObjectKey) -> Option<MetaWithKind> {
        let meta = match kind {
            Kind::Rollout => self.rollouts.remove(key).map(|o| o.metadata.clone()),
            Kind::ReplicaSet => self.replica_sets.remove(key).map(|o| o.metadata.clone()),
            Kind::Pod => self.pods.remove(key).map(|o| o.metadata.clone()),
            Kind::AnalysisRun => self.analysis_runs.remove(key).map(|o| o.metadata.clone()),
            Kind::Experiment => self.experiments.remove(key).map(|o| o.metadata.clone()),
        }?;
        self.index(kind, &meta, false);
        Some(MetaWithKind { kind, meta })
    }

    fn index(&mut self, kind: Kind, meta: &Meta, add: bool) {
        let entry = (kind, meta.name.clone());
        let mut keys = vec![];
        // Only owners are looked up by uid (`walk_up`): pods and AnalysisRuns own nothing the
        // dashboard watches, and a cluster has many of them.
        if !meta.uid.is_empty() && kind.may_own() {
            keys.push((true, (meta.namespace.clone(), meta.uid.clone())));
        }
        for owner in &meta.owner_references {
            keys.push((false, (meta.namespace.clone(), owner.uid.clone())));
        }
        for (is_uid, key) in keys {
            let map = if is_uid {
                &mut self.by_uid
            } else {
                &mut self.children
            };
            if add {
                map.entry(key).or_default().insert(entry.clone());
            } else if let Some(set) = map.get_mut(&key) {
                set.remove(&entry);
                if set.is_empty() {
                    map.remove(&key);
                }
            }
        }
    }

    /// Collects the rollouts an object belongs to: itself for a rollout, else the owners'
    /// rollouts, up to three levels (pod → ReplicaSet → Experiment → Rollout).
    fn affected_rollouts(&self, object: &MetaWithKind, out: &mut Vec<ObjectKey>) {
        self.walk_up(object.kind, &object.meta, 0, out);
    }

    fn walk_up(&self, kind: Kind, meta: &Meta, depth: u8, out: &mut Vec<ObjectKey>) {
        if kind == Kind::Rollout {
            out.push(ObjectKey::new(&meta.namespace, &meta.name));
            return;
        }
        if depth >= 3 {
            return;
        }
        for owner in &meta.owner_references {
            let Some(entries) = self
                .by_uid
                .get(&(meta.namespace.clone(), owner.uid.clone()))
            else {
                continue;
            };
            for (owner_kind, owner_name) in entries {
                let key = ObjectKey::new(&meta.namespace, owner_name);
                let owner_meta = match owner_kind {
                    Kind::Rollout => self.rollouts.get(&key).map(|o| &o.metadata),
                    Kind::ReplicaSet => self.replica_sets.get(&key).map(|o| &o.metadata),
                    Kind::Experiment => self.experiments.get(&key).map(|o| &o.metadata),
                    Kind::Pod | Kind::AnalysisRun => None,
                };
                if let Some(owner_meta) = owner_meta {
                    self.walk_up(*owner_kind, owner_meta, depth + 1, out);
                }
            }
        }
    }

    fn children_of(&self, namespace: &str, uid: &str) -> impl Iterator<Item = &(Kind, String)> {
        self.children
            .get(&(namespace.to_owned(), uid.to_owned()))
            .into_iter()
            .flatten()
    }

    /// The objects that may belong to `ro`, found through the owner index (the view model
    /// filters by UID again, so a superset is harmless).
    fn related<'a>(&'a self, ro: &Rollout) -> Related<'a> {
        let ns = ro.metadata.namespace.as_str();
        let mut related = Related {
            replica_sets: vec![],
            pods: vec![],
            analysis_runs: vec![],
            experiments: vec![],
            events: self
                .events
                .get(&ObjectKey::new(ns, &ro.metadata.name))
                .map(|log| log.iter().map(|e| &**e).collect())
                .unwrap_or_default(),
            events_unavailable: self
                .events_unavailable
                .get(&Some(ns.to_owned()))
                .or_else(|| self.events_unavailable.get(&None))
                .map(String::as_str),
        };
        let mut replica_set_uids = vec![];
        for (kind, name) in self.children_of(ns, &ro.metadata.uid) {
            let key = ObjectKey::new(ns, name);
            match kind {
                Kind::ReplicaSet => {
                    if let Some(rs) = self.replica_sets.get(&key) {
                        replica_set_uids.push(rs.metadata.uid.clone());
                        related.replica_sets.push(rs);
                    }
                }
                Kind::AnalysisRun => related
                    .analysis_runs
                    .extend(self.analysis_runs.get(&key).map(|a| &**a)),
                Kind::Experiment => {
                    if let Some(exp) = self.experiments.get(&key) {
                        related.experiments.push(exp);
                        for (kind, name) in self.children_of(ns, &exp.metadata.uid) {
                            let key = ObjectKey::new(ns, name);
                            match kind {
                                Kind::ReplicaSet => {
                                    if let Some(rs) = self.replica_sets.get(&key) {
                                        replica_set_uids.push(rs.metadata.uid.clone());
                                        related.replica_sets.push(rs);
                                    }
                                }
                                Kind::AnalysisRun => related
                                    .analysis_runs
                                    .extend(self.analysis_runs.get(&key).map(|a| &**a)),
                                _ => {}
                            }
                        }
                    }
                }
                Kind::Rollout | Kind::Pod => {}
            }
        }
        replica_set_uids.sort();
        replica_set_uids.dedup();
        for uid in &replica_set_uids {
            for (kind, name) in self.children_of(ns, uid) {
                if *kind == Kind::Pod {
                    related
                        .pods
                        .extend(self.pods.get(&ObjectKey::new(ns, name)).map(|p| &**p));
                }
            }
        }
        related
            .replica_sets
            .sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        related
            .replica_sets
            .dedup_by(|a, b| a.metadata.name == b.metadata.name);
        related
    }
}

/// An object's metadata with its kind, for walking owner references.
struct MetaWithKind {
    kind: Kind,
    meta: Meta,
}

impl Object {
    fn meta_with_kind(&self) -> MetaWithKind {
        MetaWithKind {
            kind: self.kind(),
            meta: self.meta().clone(),
        }
    }
}

/// The detail of `ro` of `cluster` (the view model knows nothing of clusters).
fn detail_in(cluster: &ClusterName, ro: &Rollout, related: &Related<'_>) -> RolloutDetail {
    let mut detail = view::rollout_detail(ro, related);
    detail.summary.cluster = cluster.to_string();
    detail
}

/// The rollout an Event is about.
fn event_key(event: &RolloutEvent) -> ObjectKey {
    let o = &event.involved_object;
    let namespace = if o.namespace.is_empty() {
        &event.metadata.namespace
    } else {
        &o.namespace
    };
    ObjectKey::new(namespace, &o.name)
}

fn in_namespaces(namespaces: &[String], namespace: &str) -> bool {
    namespaces.is_empty() || namespaces.iter().any(|n| n == namespace)
}

/// Serializes a value we own; our view types cannot fail to serialize.
pub(crate) fn serialize<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|err| {
        tracing::error!(%err, "serialization failed");
        r#"{"type":"error","code":"internal","message":"serialization failed"}"#.to_owned()
    })
}

/// The `patch` frame from a rollout's previous list frame to `new`, if both serialize.
fn patch_frame(
    seq: u64,
    key: &RolloutKey,
    old: &RolloutView,
    new: &RolloutSummary,
) -> Option<String> {
    let before: serde_json::Value = serde_json::from_str(old.summary_json.get()).ok()?;
    let after = serde_json::to_value(new).ok()?;
    Some(serialize(&ServerMsg::Patch {
        seq,
        base: old.summary_seq,
        cluster: key.cluster.to_string(),
        namespace: key.namespace.clone(),
        name: key.name.clone(),
        patch: json_patch::diff(&before, &after),
    }))
}

fn hash_str(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// A frame that carries one rollout's already-serialized view (`upsert`, `detail`): serde
/// writes the frame around it, and the cached JSON goes in untouched ([`RawValue`]). Equal to
/// what serde writes for [`ServerMsg::Upsert`] and [`ServerMsg::Detail`] (pinned by a test).
#[derive(Serialize)]
struct RawRollout<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    seq: u64,
    rollout: &'a RawValue,
}

/// The REST list's `{"rollouts": …}` over the cached summaries.
#[derive(Serialize)]
struct RawList<'a> {
    rollouts: Vec<&'a RawValue>,
}

fn rollout_frame(kind: &str, seq: u64, rollout_json: &RawValue) -> String {
    serialize(&RawRollout {
        kind,
        seq,
        rollout: rollout_json,
    })
}

/// A view serialized once, kept as JSON ([`serialize`]'s fallback if it ever failed).
fn raw<T: Serialize>(value: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_else(|err| {
        tracing::error!(%err, "serialization failed");
        RawValue::from_string("null".to_owned()).expect("null is JSON")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Only owners are indexed by uid, and a pod still leads to its rollout (pod → its
    /// ReplicaSet → the rollout).
    #[test]
    fn uid_index_holds_owners_only() {
        let rollout = json!({"kind": "Rollout", "metadata": {"name": "web", "namespace": "shop",
            "uid": "u-ro"}});
        let rs = json!({"kind": "ReplicaSet", "metadata": {"name": "web-1", "namespace": "shop",
            "uid": "u-rs", "ownerReferences": [{"kind": "Rollout", "name": "web", "uid": "u-ro"}]}});
        let pod = json!({"kind": "Pod", "metadata": {"name": "web-1-a", "namespace": "shop",
            "uid": "u-pod", "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "uid": "u-rs"}]}});
        let run = json!({"kind": "AnalysisRun", "metadata": {"name": "web-1-run", "namespace": "shop",
            "uid": "u-run", "ownerReferences": [{"kind": "Rollout", "name": "web", "uid": "u-ro"}]}});
        let store = Store::new(Health::loaded(crate::health::SourceKind::Files));
        for value in [rollout, rs, pod.clone(), run] {
            store
                .cluster("c")
                .apply(Object::from_json(value).unwrap().unwrap());
        }
        let cell = store.cell("c").unwrap();
        let objects = cell.objects.read();
        let mut indexed: Vec<&str> = objects.by_uid.keys().map(|(_, uid)| uid.as_str()).collect();
        indexed.sort();
        assert_eq!(indexed, ["u-ro", "u-rs"]);
        let pod = Object::from_json(pod).unwrap().unwrap();
        let mut affected = vec![];
        objects.affected_rollouts(&pod.meta_with_kind(), &mut affected);
        assert_eq!(affected, [ObjectKey::new("shop", "web")]);
    }

    /// The list message of a flush: its list frames in order, as a batch when several, the
    /// bare frame when one, none without; built once and shared (the same bytes every time).
    #[test]
    fn a_flush_builds_its_list_message_once() {
        let change = |seq: u64, list: Option<&str>| RolloutChange {
            seq,
            key: RolloutKey::new("c", "a", format!("r{seq}")),
            list_frame: list.map(|f| Utf8Bytes::from(f.to_owned())),
            detail_frame: Some(Utf8Bytes::from(format!(
                r#"{{"type":"detail","seq":{seq}}}"#
            ))),
        };
        let flush = Flush::new(vec![
            change(4, Some(r#"{"type":"delete","seq":4}"#)),
            change(5, None),
            change(6, Some(r#"{"type":"heartbeat","seq":6}"#)),
            change(7, None),
        ]);
        assert_eq!((flush.first_seq(), flush.last_list_seq()), (4, Some(6)));
        let message = flush.list_message().expect("two list frames");
        assert_eq!(
            message.as_str(),
            r#"{"type":"batch","frames":[{"type":"delete","seq":4},{"type":"heartbeat","seq":6}]}"#
        );
        let again = flush.list_message().unwrap();
        assert_eq!(
            message.as_str().as_ptr(),
            again.as_str().as_ptr(),
            "built once"
        );
        let one = Flush::new(vec![change(8, Some(r#"{"type":"delete","seq":8}"#))]);
        assert_eq!(
            one.list_message().map(Utf8Bytes::as_str),
            Some(r#"{"type":"delete","seq":8}"#)
        );
        let none = Flush::new(vec![change(9, None)]);
        assert_eq!((none.list_message(), none.last_list_seq()), (None, None));
    }

    #[test]
    fn index_entries_are_a_sorted_set() {
        let mut set = Entries::default();
        set.insert((Kind::Pod, "b".into()));
        set.insert((Kind::ReplicaSet, "z".into()));
        set.insert((Kind::Pod, "a".into()));
        set.insert((Kind::Pod, "b".into()));
        let order = |set: &Entries| set.iter().cloned().collect::<Vec<_>>();
        // Kind's order first (as the BTreeSet this replaced), then the name; no duplicates.
        assert_eq!(
            order(&set),
            [
                (Kind::ReplicaSet, "z".to_owned()),
                (Kind::Pod, "a".into()),
                (Kind::Pod, "b".into())
            ]
        );
        set.remove(&(Kind::Pod, "a".into()));
        set.remove(&(Kind::Pod, "missing".into()));
        assert_eq!(
            order(&set),
            [(Kind::ReplicaSet, "z".to_owned()), (Kind::Pod, "b".into())]
        );
        set.remove(&(Kind::ReplicaSet, "z".into()));
        set.remove(&(Kind::Pod, "b".into()));
        assert!(set.is_empty());
    }

    #[test]
    fn frames_from_cached_json_equal_what_serde_writes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/argo-rollouts-info/canary");
        // As tests/common's `fixtures()`: a failure in CI, one line and a skip elsewhere.
        if !dir.is_dir() && std::env::var("CI").as_deref() != Ok("true") {
            eprintln!(
                "SKIPPED: {} is missing (clone shared/ beside this repository)",
                dir.display()
            );
            return;
        }
        let objects = crate::source::files::load(&dir).expect("fixtures in ../shared");
        let store = Store::new(Health::loaded(crate::health::SourceKind::Files));
        for object in objects {
            store.cluster("c").apply(object);
        }
        store.flush();
        let (_, summaries) = store.summaries(&ListFilter::ALL);
        let summary = summaries.first().expect("a rollout").clone();
        let key = RolloutKey::new(&summary.cluster, &summary.namespace, &summary.name);
        let detail = store.detail(&key).1.expect("its detail");
        assert_eq!(
            rollout_frame("upsert", 7, &raw(&*summary)),
            serialize(&ServerMsg::Upsert {
                seq: 7,
                rollout: summary
            })
        );
        assert_eq!(
            rollout_frame("detail", 8, &raw(&*detail)),
            serialize(&ServerMsg::Detail {
                seq: 8,
                rollout: detail
            })
        );
        let pages = store.list_pages(&ListFilter::ALL).expect("pages");
        let mut page = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&pages.pages[0][..]),
            &mut page,
        )
        .expect("gzip");
        assert_eq!(
            page,
            serialize(&ServerMsg::SnapshotPage {
                seq: pages.seq,
                index: 0,
                rollouts: summaries
            })
        );
    }

    fn pod(namespace: &str, name: &str) -> Object {
        Object::decode(
            Kind::Pod,
            serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"namespace": namespace, "name": name, "uid": format!("{namespace}/{name}")}}),
        )
        .expect("a pod")
    }

    #[test]
    fn replacing_one_namespace_keeps_the_others() {
        let store = Store::new(Health::loaded(crate::health::SourceKind::Cluster));
        for (ns, name) in [("a", "1"), ("a", "2"), ("b", "1"), ("b", "3")] {
            store.cluster("c").apply(pod(ns, name));
        }
        store
            .cluster("c")
            .replace_in_namespace(Kind::Pod, "a", vec![pod("a", "2"), pod("a", "4")]);
        let mut keys = store.keys_of(Kind::Pod);
        keys.sort();
        let names: Vec<(&str, &str)> = keys
            .iter()
            .map(|k| (k.namespace.as_str(), k.name.as_str()))
            .collect();
        assert_eq!(names, [("a", "2"), ("a", "4"), ("b", "1"), ("b", "3")]);
    }

    fn event(name: &str, rollout: &str, second: u32) -> RolloutEvent {
        RolloutEvent::from_json(serde_json::json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"namespace": "a", "name": name},
            "involvedObject": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                               "name": rollout, "namespace": "a"},
            "reason": "R", "lastTimestamp": format!("2026-01-01T10:{:02}:{:02}Z", second / 60, second % 60)}))
        .unwrap()
        .unwrap()
    }

    fn rollout(name: &str) -> Object {
        Object::decode(
            Kind::Rollout,
            serde_json::json!({"kind": "Rollout", "metadata": {"namespace": "a", "name": name, "uid": name}}),
        )
        .unwrap()
    }

    #[test]
    fn event_logs_are_newest_first_trimmed_and_dropped_with_their_rollout() {
        let store = Store::new(Health::loaded(crate::health::SourceKind::Cluster));
        store.cluster("c").apply(rollout("web"));
        let key = RolloutKey::new("c", "a", "web");
        for i in 0..(EVENTS_PER_ROLLOUT as u32 + 20) {
            store
                .cluster("c")
                .apply_event(event(&format!("e{i}"), "web", i));
        }
        let log = store.events_of(&key);
        assert_eq!(log.len(), EVENTS_PER_ROLLOUT);
        let newest = EVENTS_PER_ROLLOUT as u32 + 19;
        assert_eq!(log[0].name, format!("e{newest}").into());
        assert_eq!(log[EVENTS_PER_ROLLOUT - 1].name, "e20".into());
        // An Event updated in place (it recurred) replaces the stored one and moves up.
        store.cluster("c").apply_event(event("e30", "web", 1000));
        let log = store.events_of(&key);
        assert_eq!(log[0].name, "e30".into());
        assert_eq!(log.iter().filter(|e| &*e.name == "e30").count(), 1);
        // One older than every kept Event is not kept.
        store.cluster("c").apply_event(event("ancient", "web", 0));
        assert_eq!(store.events_of(&key).len(), EVENTS_PER_ROLLOUT);
        assert!(store.events_of(&key).iter().all(|e| &*e.name != "ancient"));
        store.cluster("c").delete_event(&event("e30", "web", 0));
        assert!(store.events_of(&key).iter().all(|e| &*e.name != "e30"));
        // A relist replaces them; deleting the rollout drops its Events.
        store
            .cluster("c")
            .replace_events(None, vec![event("x", "web", 5), event("y", "web", 7)]);
        let names: Vec<String> = store
            .events_of(&key)
            .iter()
            .map(|e| e.name.to_string())
            .collect();
        assert_eq!(names, ["y", "x"]);
        store.cluster("c").delete(Kind::Rollout, "a", "web");
        assert!(store.events_of(&key).is_empty());
        // Events of a rollout that is not (or no longer) listed go with the rollouts' relist.
        store.cluster("c").apply_event(event("z", "gone", 1));
        store.cluster("c").apply_event(event("w", "web", 1));
        store
            .cluster("c")
            .replace_kind(Kind::Rollout, vec![rollout("web")]);
        assert!(
            store
                .events_of(&RolloutKey::new("c", "a", "gone"))
                .is_empty()
        );
        assert_eq!(store.events_of(&key).len(), 1);
    }

    #[test]
    fn the_detail_carries_the_history_and_why_it_is_unavailable() {
        let store = Store::new(Health::loaded(crate::health::SourceKind::Cluster));
        store.cluster("c").apply(rollout("web"));
        store.cluster("c").apply_event(event("e1", "web", 1));
        store.flush();
        let key = RolloutKey::new("c", "a", "web");
        let detail = store.detail(&key).1.unwrap();
        assert_eq!(detail.history.events.len(), 1);
        assert_eq!(detail.history.unavailable, None);
        let mut feed = store.subscribe();
        store
            .cluster("c")
            .set_events_unavailable(Some("a"), Some("may not list events".into()));
        store.flush();
        // The open detail pages get a new frame saying so.
        let Change::Rollouts(flush) = &*feed.try_recv().unwrap() else {
            panic!("a flush of rollouts")
        };
        assert!(matches!(
            flush.changes(),
            [RolloutChange {
                detail_frame: Some(_),
                ..
            }]
        ));
        let detail = store.detail(&key).1.unwrap();
        assert_eq!(
            detail.history.unavailable.as_deref(),
            Some("may not list events")
        );
        // Another namespace's watch recovering does not clear it; its own does.
        store.cluster("c").set_events_unavailable(Some("b"), None);
        store.flush();
        assert!(store.detail(&key).1.unwrap().history.unavailable.is_some());
        assert!(feed.try_recv().is_err(), "nothing changed for namespace a");
        store.cluster("c").set_events_unavailable(Some("a"), None);
        store.flush();
        assert_eq!(store.detail(&key).1.unwrap().history.unavailable, None);
        // The cluster-wide watch speaks for every namespace.
        store
            .cluster("c")
            .set_events_unavailable(None, Some("forbidden".into()));
        store.flush();
        assert_eq!(
            store.detail(&key).1.unwrap().history.unavailable.as_deref(),
            Some("forbidden")
        );
    }

    fn rollout_in(namespace: &str, name: &str, uid: &str) -> Object {
        Object::decode(
            Kind::Rollout,
            serde_json::json!({"kind": "Rollout",
                "metadata": {"namespace": namespace, "name": name, "uid": uid}}),
        )
        .unwrap()
    }

    fn replica_set_of(name: &str, owner_uid: &str) -> Object {
        Object::decode(
            Kind::ReplicaSet,
            serde_json::json!({"kind": "ReplicaSet", "metadata": {"namespace": "a", "name": name,
                "uid": format!("rs-{name}"),
                "ownerReferences": [{"kind": "Rollout", "name": "web", "uid": owner_uid}]}}),
        )
        .unwrap()
    }

    #[test]
    fn the_same_namespace_and_name_in_two_clusters_are_two_rollouts() {
        let store = Store::new(Health::loaded(crate::health::SourceKind::Cluster));
        let (eu, staging) = (store.cluster("prod-eu"), store.cluster("staging"));
        // Same uid too (a restored backup): owner indexes are per cluster.
        eu.apply(rollout_in("a", "web", "u1"));
        staging.apply(rollout_in("a", "web", "u1"));
        eu.apply(replica_set_of("web-1", "u1"));
        store.flush();
        let (_, list) = store.summaries(&ListFilter::ALL);
        let rows: Vec<(&str, &str, &str)> = list
            .iter()
            .map(|s| (s.cluster.as_str(), s.namespace.as_str(), s.name.as_str()))
            .collect();
        assert_eq!(rows, [("prod-eu", "a", "web"), ("staging", "a", "web")]);
        let detail = |cluster: &str| {
            store
                .detail(&RolloutKey::new(cluster, "a", "web"))
                .1
                .unwrap()
        };
        assert_eq!(detail("prod-eu").summary.cluster, "prod-eu");
        assert_eq!(detail("prod-eu").summary.replica_sets.len(), 1);
        assert!(
            detail("staging").summary.replica_sets.is_empty(),
            "not the other cluster's"
        );
        let only = |cluster: &str| ListFilter {
            clusters: vec![cluster.into()],
            ..ListFilter::default()
        };
        // What a reader may read, per cluster: a cluster missing is none of it.
        let readable = |map: &[(&str, Option<Vec<String>>)]| ListFilter {
            readable: Some(
                map.iter()
                    .map(|(c, n)| ((*c).to_owned(), n.clone()))
                    .collect(),
            ),
            ..ListFilter::default()
        };
        assert_eq!(store.count(&readable(&[("staging", None)])), 1);
        assert_eq!(
            store.count(&readable(&[("staging", Some(vec!["b".into()]))])),
            0
        );
        assert_eq!(
            store.count(&readable(&[
                ("staging", Some(vec!["a".into()])),
                ("prod-eu", None)
            ])),
            2
        );
        assert_eq!(store.count(&readable(&[])), 0);
        assert_eq!(store.summaries(&only("staging")).1.len(), 1);
        assert_eq!(store.count(&only("nowhere")), 0);
        assert_eq!(
            store.cluster_names(),
            ["prod-eu".into(), "staging".into()] as [ClusterName; 2]
        );
        // Frames name the cluster.
        let mut feed = store.subscribe();
        staging.delete(Kind::Rollout, "a", "web");
        store.flush();
        let Change::Rollouts(flush) = &*feed.try_recv().unwrap() else {
            panic!("a flush of rollout changes")
        };
        let [
            RolloutChange {
                key,
                list_frame: Some(frame),
                ..
            },
        ] = flush.changes()
        else {
            panic!("one rollout change with a list frame: {flush:?}")
        };
        assert_eq!(key, &RolloutKey::new("staging", "a", "web"));
        let frame: serde_json::Value = serde_json::from_str(frame.as_str()).unwrap();
        assert_eq!(
            frame,
            json!({"type": "delete", "seq": frame["seq"], "cluster": "staging",
            "namespace": "a", "name": "web"})
        );
        assert!(
            store
                .detail(&RolloutKey::new("prod-eu", "a", "web"))
                .1
                .is_some()
        );
    }

    /// "Synced" is said after the rows the lists brought: its status frame waits for the
    /// flush that broadcasts them (a client never sees a synced cluster with rows missing).
    #[test]
    fn a_cluster_is_said_synced_after_its_rows() {
        let store = Store::new(Health::starting(crate::health::SourceKind::Cluster, vec![]));
        let eu = store.cluster("prod-eu");
        let mut feed = store.subscribe();
        eu.apply(rollout_in("a", "web", "web"));
        eu.update_health(|h| {
            for k in h.kinds.values_mut() {
                k.recover();
            }
            h.refresh_problem();
        });
        assert_eq!(store.cluster_state("prod-eu"), Some(ClusterState::Synced));
        assert!(feed.try_recv().is_err(), "nothing before the flush");
        store.flush();
        assert!(matches!(&*feed.try_recv().unwrap(), Change::Rollouts(_)));
        let Change::Health { frame } = &*feed.try_recv().unwrap() else {
            panic!("then the status frame")
        };
        assert!(frame.as_str().contains(r#""state":"synced""#), "{frame}");
        // Leaving synced is said at once.
        eu.update_health(|h| {
            h.kinds.get_mut(&Kind::Pod).unwrap().fail(Problem::new(
                crate::health::ProblemCode::Unreachable,
                "down",
            ));
            h.refresh_problem();
        });
        assert!(matches!(&*feed.try_recv().unwrap(), Change::Health { .. }));
    }

    #[test]
    fn a_clusters_relist_and_clear_leave_the_others_alone() {
        let store = Store::new(Health::loaded(crate::health::SourceKind::Cluster));
        let (eu, staging) = (store.cluster("prod-eu"), store.cluster("staging"));
        for name in ["web", "api"] {
            eu.apply(rollout_in("a", name, name));
            staging.apply(rollout_in("a", name, name));
        }
        staging.replace_kind(Kind::Rollout, vec![rollout_in("a", "db", "db")]);
        store.flush();
        let names = |store: &Store| {
            store
                .summaries(&ListFilter::ALL)
                .1
                .iter()
                .map(|s| format!("{}/{}", s.cluster, s.name))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&store), ["prod-eu/api", "prod-eu/web", "staging/db"]);
        staging.replace_in_namespace(Kind::Rollout, "a", vec![]);
        store.flush();
        assert_eq!(names(&store), ["prod-eu/api", "prod-eu/web"]);
        staging.apply(rollout_in("a", "db", "db"));
        eu.clear();
        store.flush();
        assert_eq!(names(&store), ["staging/db"]);
        assert_eq!(
            store.keys_of(Kind::Rollout),
            [RolloutKey::new("staging", "a", "db")]
        );
        assert_eq!(
            store.cluster_names().len(),
            2,
            "a cleared cluster stays configured"
        );
    }

    #[test]
    fn each_cluster_has_its_health_and_one_down_never_blanks_the_page() {
        use crate::health::{ProblemCode, SourceKind};
        let store = Store::new(Health::starting(SourceKind::Cluster, vec![]));
        let (eu, staging) = (store.cluster("prod-eu"), store.cluster("staging"));
        let sync = |c: &ClusterStore| {
            c.update_health(|h| {
                for k in h.kinds.values_mut() {
                    k.recover();
                }
                h.refresh_problem();
            })
        };
        let fail = |c: &ClusterStore, code: ProblemCode| {
            c.update_health(|h| {
                h.kinds
                    .get_mut(&Kind::Pod)
                    .unwrap()
                    .fail(Problem::new(code, "down"));
                h.refresh_problem();
            })
        };
        let states = |store: &Store| {
            store
                .cluster_statuses()
                .iter()
                .map(|c| c.state)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            states(&store),
            [ClusterState::Syncing, ClusterState::Syncing]
        );
        assert!(!store.ready());
        // The first sync does not hold actions back: what is listed is live.
        assert_eq!(store.actions_blocked("staging"), None);
        sync(&eu);
        assert!(!store.ready(), "staging has neither synced nor failed");
        let mut feed = store.subscribe();
        fail(&staging, ProblemCode::Forbidden);
        // A definite problem: the replica serves the clusters it can.
        assert!(store.ready());
        assert_eq!(
            states(&store),
            [ClusterState::Synced, ClusterState::Forbidden]
        );
        assert_eq!(store.health().problem, None);
        assert_eq!(
            store.cluster_statuses()[1].last_synced_at,
            None,
            "never synced"
        );
        let Change::Health { frame } = &*feed.try_recv().unwrap() else {
            panic!("a status frame")
        };
        let frame: serde_json::Value = serde_json::from_str(frame.as_str()).unwrap();
        assert_eq!(frame["clusters"][1]["state"], "forbidden");
        assert_eq!(frame["health"]["problem"], serde_json::Value::Null);
        sync(&staging);
        let synced_at = store.cluster_statuses()[1].last_synced_at.clone();
        assert!(synced_at.is_some());
        fail(&staging, ProblemCode::Unreachable);
        let status = &store.cluster_statuses()[1];
        assert_eq!(status.state, ClusterState::Unreachable);
        assert!(
            status.last_synced_at.is_some(),
            "stale since it stopped being synced"
        );
        assert_eq!(status.since, status.last_synced_at);
        assert_eq!(
            store.actions_blocked("staging"),
            Some(ClusterState::Unreachable)
        );
        assert_eq!(store.actions_blocked("prod-eu"), None);
        // Answering again but still relisting: the rows are still last known.
        staging.update_health(|h| {
            let pods = h.kinds.get_mut(&Kind::Pod).unwrap();
            pods.recover();
            pods.synced = false;
            h.refresh_problem();
        });
        assert_eq!(
            store.actions_blocked("staging"),
            Some(ClusterState::Syncing)
        );
        sync(&staging);
        assert_eq!(store.actions_blocked("staging"), None);
        fail(&staging, ProblemCode::Unreachable);
        // Aggregated kinds: not synced everywhere, the first error named by cluster.
        let health = store.health();
        assert_eq!(
            health.kinds[&Kind::Pod].error.as_deref(),
            Some("staging: unreachable: down")
        );
        // Every cluster down: now the page says why.
        fail(&eu, ProblemCode::CrdMissing);
        let problem = store.health().problem.unwrap();
        assert_eq!(problem.code, ProblemCode::CrdMissing);
        assert_eq!(problem.message, "cluster prod-eu: down");
        assert!(!store.ready());
        // With one cluster, its health is the store's, as before there were several.
        let single = Store::new(Health::starting(SourceKind::Cluster, vec!["x".into()]));
        let only = single.cluster("only");
        fail(&only, ProblemCode::Unreachable);
        assert_eq!(single.health(), only.health());
        assert_eq!(
            single.health().problem.unwrap().code,
            ProblemCode::Unreachable
        );
    }
}
