//! The shared cache: every watched object, indexed to its rollout, and every rollout's view.
//!
//! Sources (cluster watchers, files, the demo) call [`Store::apply`] / [`Store::delete`];
//! that marks only the rollouts the object belongs to as dirty. One recompute task
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

use crate::health::Health;
use crate::model::{
    AnalysisRun, EventRecord, Experiment, Kind, Meta, Object, Pod, ReplicaSet, Rollout,
    RolloutEvent,
};
use crate::pages::{self, ListRank, PageEntry, PageError, SnapshotPages};
use crate::protocol::ServerMsg;
use crate::view::{self, Related, RolloutDetail, RolloutSummary};

/// Identifies a rollout (or any namespaced object of a known kind): namespace, then name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RolloutKey {
    pub namespace: String,
    pub name: String,
}

impl RolloutKey {
    /// Builds a key from its parts.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
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
    rollouts: HashMap<RolloutKey, Arc<Rollout>>,
    replica_sets: HashMap<RolloutKey, Arc<ReplicaSet>>,
    pods: HashMap<RolloutKey, Arc<Pod>>,
    analysis_runs: HashMap<RolloutKey, Arc<AnalysisRun>>,
    experiments: HashMap<RolloutKey, Arc<Experiment>>,
    /// (namespace, owner uid) → the objects naming it in an ownerReference.
    children: HashMap<(String, String), Entries>,
    /// (namespace, uid) → objects with that uid (upstream fixtures share uids, so a set), of
    /// the kinds that may own others ([`Kind::may_own`]).
    by_uid: HashMap<(String, String), Entries>,
    /// Each rollout's Events, newest first, at most [`EVENTS_PER_ROLLOUT`].
    events: HashMap<RolloutKey, Vec<Arc<EventRecord>>>,
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
    objects: RwLock<Objects>,
    views: RwLock<Views>,
    dirty: Mutex<HashSet<RolloutKey>>,
    wake: Notify,
    changes: broadcast::Sender<Arc<Change>>,
    health: RwLock<Health>,
    stats: StoreStats,
    /// List snapshot pages by namespace filter (empty: the whole list), each at the version it
    /// was asked at and shared by every connection that asks with that filter at that version;
    /// a cell is filled once (concurrent askers wait for it). At most [`SHARED_FILTERS`].
    shared_pages: Mutex<HashMap<Vec<String>, (u64, SharedPages)>>,
}

/// Pages built once for everyone who asks with the same filter at the same version.
type SharedPages = Arc<tokio::sync::OnceCell<Arc<SnapshotPages>>>;

/// Namespace filters whose pages are kept at once. In proxy and token modes each user's
/// filter is the namespaces they may list, so people of the same groups share one; a version
/// change drops every older entry, so this only bounds many distinct filters at one version.
const SHARED_FILTERS: usize = 64;

impl Store {
    /// An empty store whose health starts as `health`.
    pub fn new(health: Health) -> Self {
        Self::with_feed_capacity(health, CHANGE_FEED_CAPACITY)
    }

    /// An empty store whose change feed holds `capacity` changes (tests use small ones).
    pub fn with_feed_capacity(health: Health, capacity: usize) -> Self {
        let (changes, _) = broadcast::channel(capacity);
        Self {
            inner: Arc::new(StoreInner {
                objects: RwLock::new(Objects::default()),
                views: RwLock::new(Views::default()),
                dirty: Mutex::new(HashSet::new()),
                wake: Notify::new(),
                changes,
                health: RwLock::new(health),
                stats: StoreStats::default(),
                shared_pages: Mutex::new(HashMap::new()),
            }),
        }
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

    /// Inserts or replaces an object and marks the rollouts it belongs to as dirty.
    pub fn apply(&self, object: Object) {
        let mut affected = Vec::new();
        {
            let mut objects = self.inner.objects.write();
            let meta = object.meta();
            let key = RolloutKey::new(&meta.namespace, &meta.name);
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
            let mut objects = self.inner.objects.write();
            let key = RolloutKey::new(namespace, name);
            if let Some(old) = objects.remove(kind, &key) {
                objects.affected_rollouts(&old, &mut affected);
            }
            if kind == Kind::Rollout {
                objects.events.remove(&key);
            }
        }
        self.mark_dirty(affected);
    }

    /// Replaces every object of `kind` (a watcher's initial list or a relist after an
    /// expired resource version): objects missing from `objects` are deleted.
    pub fn replace_kind(&self, kind: Kind, objects: Vec<Object>) {
        let fresh: HashSet<RolloutKey> = objects
            .iter()
            .map(|o| RolloutKey::new(&o.meta().namespace, &o.meta().name))
            .collect();
        for key in self.keys_of(kind) {
            if !fresh.contains(&key) {
                self.delete(kind, &key.namespace, &key.name);
            }
        }
        if kind == Kind::Rollout {
            // Events that came before their rollout's list, of rollouts that are gone.
            self.inner
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
            self.inner
                .objects
                .write()
                .events
                .retain(|key, _| key.namespace != namespace || fresh.contains(key.name.as_str()));
        }
        for object in objects {
            self.apply(object);
        }
    }

    /// Keys of every stored object of `kind`.
    pub fn keys_of(&self, kind: Kind) -> Vec<RolloutKey> {
        let objects = self.inner.objects.read();
        match kind {
            Kind::Rollout => objects.rollouts.keys().cloned().collect(),
            Kind::ReplicaSet => objects.replica_sets.keys().cloned().collect(),
            Kind::Pod => objects.pods.keys().cloned().collect(),
            Kind::AnalysisRun => objects.analysis_runs.keys().cloned().collect(),
            Kind::Experiment => objects.experiments.keys().cloned().collect(),
        }
    }

    /// Number of stored objects of each kind.
    pub fn object_counts(&self) -> BTreeMap<Kind, usize> {
        let objects = self.inner.objects.read();
        BTreeMap::from([
            (Kind::Rollout, objects.rollouts.len()),
            (Kind::ReplicaSet, objects.replica_sets.len()),
            (Kind::Pod, objects.pods.len()),
            (Kind::AnalysisRun, objects.analysis_runs.len()),
            (Kind::Experiment, objects.experiments.len()),
        ])
    }

    /// Adds or replaces (by name) an Event about a rollout, keeping that rollout's newest
    /// [`EVENTS_PER_ROLLOUT`]; marks the rollout dirty.
    pub fn apply_event(&self, event: RolloutEvent) {
        let key = event_key(&event);
        self.inner.objects.write().add_event(key.clone(), event);
        self.mark_dirty(vec![key]);
    }

    /// Removes an Event (deleted, or expired by the API server).
    pub fn delete_event(&self, event: &RolloutEvent) {
        let key = event_key(event);
        {
            let mut objects = self.inner.objects.write();
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
        let mut affected: Vec<RolloutKey> = vec![];
        {
            let mut objects = self.inner.objects.write();
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
            let mut objects = self.inner.objects.write();
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

    /// A rollout's stored Events, newest first.
    pub fn events_of(&self, key: &RolloutKey) -> Vec<Arc<EventRecord>> {
        self.inner
            .objects
            .read()
            .events
            .get(key)
            .cloned()
            .unwrap_or_default()
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
        let dirty: Vec<RolloutKey> = {
            let mut dirty = self.inner.dirty.lock();
            let mut keys: Vec<_> = dirty.drain().collect();
            keys.sort();
            keys
        };
        if dirty.is_empty() {
            return;
        }
        let stats = &self.inner.stats;
        for chunk in dirty.chunks(FLUSH_CHUNK) {
            let started = Instant::now();
            // Compute outside the views lock: readers (snapshots) are never blocked by the
            // view model.
            let computed: Vec<(&RolloutKey, Option<(RolloutDetail, RolloutSummary)>)> = {
                let objects = self.inner.objects.read();
                chunk
                    .iter()
                    .map(|key| {
                        let view = objects.rollouts.get(key).map(|ro| {
                            let related = objects.related(ro);
                            let detail = view::rollout_detail(ro, &related);
                            let summary = detail.summary();
                            (detail, summary)
                        });
                        (key, view)
                    })
                    .collect()
            };
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

    /// The list snapshot: summaries (optionally of some namespaces) and the sequence number
    /// they are current at. Decoded from the cached JSON (the store keeps no value trees), so
    /// prefer [`Store::list_json`] or [`Store::list_pages`] where JSON will do.
    pub fn summaries(&self, namespaces: &[String]) -> (u64, Vec<Arc<RolloutSummary>>) {
        let views = self.inner.views.read();
        let list = views
            .by_key
            .iter()
            .filter(|(key, _)| in_namespaces(namespaces, &key.namespace))
            .filter_map(|(_, v)| {
                serde_json::from_str(v.summary_json.get())
                    .ok()
                    .map(Arc::new)
            })
            .collect();
        (views.seq, list)
    }

    /// The list snapshot of `namespaces` (all when empty) as compressed pages, built now from
    /// the cached per-rollout JSON (CPU work: call it off the async workers, or use
    /// [`Store::shared_list_pages`]). The views lock is held only to copy the rows out.
    pub fn list_pages(&self, namespaces: &[String]) -> Result<SnapshotPages, PageError> {
        let (seq, entries) = {
            let views = self.inner.views.read();
            let entries: Vec<PageEntry> = views
                .by_key
                .iter()
                .filter(|(key, _)| in_namespaces(namespaces, &key.namespace))
                .map(|(key, view)| PageEntry {
                    rank: view.rank,
                    name: key.name.clone(),
                    namespace: key.namespace.clone(),
                    json: view.summary_json.clone(),
                })
                .collect();
            (views.seq, entries)
        };
        pages::build(seq, entries)
    }

    /// [`Store::list_pages`] on a blocking thread, built once per namespace filter and
    /// version and shared by every caller with that filter at that version (a reconnect storm
    /// of 1,000 clients compresses the list once, and holds one copy of it). The pages may be
    /// newer than the version asked at, never older: a caller that subscribed to the change
    /// feed before asking misses nothing.
    pub async fn shared_list_pages(
        &self,
        namespaces: &[String],
    ) -> Result<Arc<SnapshotPages>, PageError> {
        let cell = {
            let seq = self.inner.views.read().seq;
            let mut shared = self.inner.shared_pages.lock();
            // Pages of older versions are never handed out again.
            shared.retain(|_, (at, _)| *at == seq);
            if shared.len() >= SHARED_FILTERS && !shared.contains_key(namespaces) {
                shared.clear();
            }
            shared
                .entry(namespaces.to_vec())
                .or_insert_with(|| (seq, SharedPages::default()))
                .1
                .clone()
        };
        cell.get_or_try_init(|| self.list_pages_blocking(namespaces.to_vec()))
            .await
            .cloned()
    }

    async fn list_pages_blocking(
        &self,
        namespaces: Vec<String>,
    ) -> Result<Arc<SnapshotPages>, PageError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.list_pages(&namespaces).map(Arc::new))
            .await
            .map_err(|_| PageError::Panicked)?
    }

    /// `{"rollouts":[...]}` for the REST list, from the cached per-rollout JSON (no value
    /// tree is built, which took most of the time at 10,000 rollouts).
    pub fn list_json(&self, namespaces: &[String]) -> String {
        let views = self.inner.views.read();
        serialize(&RawList {
            rollouts: views.summaries_in(namespaces),
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
        let objects = self.inner.objects.read();
        let detail = objects
            .rollouts
            .get(key)
            .map(|ro| Arc::new(view::rollout_detail(ro, &objects.related(ro))));
        (views.seq, detail)
    }

    /// The stored Rollout object, if the list shows it (for what only the spec says, such as
    /// its workloadRef, without building the whole detail view).
    pub fn rollout(&self, key: &RolloutKey) -> Option<Arc<Rollout>> {
        let views = self.inner.views.read();
        if !views.by_key.contains_key(key) {
            return None;
        }
        self.inner.objects.read().rollouts.get(key).cloned()
    }

    /// Namespaces that hold at least one rollout.
    pub fn namespaces(&self) -> Vec<String> {
        let views = self.inner.views.read();
        let set: BTreeSet<&str> = views.by_key.keys().map(|k| k.namespace.as_str()).collect();
        set.into_iter().map(str::to_owned).collect()
    }

    /// Current health of the sources.
    pub fn health(&self) -> Health {
        self.inner.health.read().clone()
    }

    /// Updates the health and broadcasts it when it changed.
    pub fn update_health(&self, update: impl FnOnce(&mut Health)) {
        let changed = {
            let mut health = self.inner.health.write();
            let before = health.clone();
            update(&mut health);
            (*health != before).then(|| health.clone())
        };
        if let Some(health) = changed {
            let frame = serialize(&ServerMsg::Status { health });
            let _ = self.inner.changes.send(Arc::new(Change::Health {
                frame: Utf8Bytes::from(frame),
            }));
        }
    }
}

impl Views {
    /// The cached summaries of `namespaces` (all when empty), in key order.
    fn summaries_in(&self, namespaces: &[String]) -> Vec<&RawValue> {
        self.by_key
            .iter()
            .filter(|(key, _)| in_namespaces(namespaces, &key.namespace))
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
    /// Adds `event` to `key`'s log, replacing an Event of the same name (the API server
    /// updates an Event in place when it recurs), newest first, trimmed.
    fn add_event(&mut self, key: RolloutKey, event: RolloutEvent) {
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
        let key = RolloutKey::new(&meta.namespace, &meta.name);
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
    fn remove(&mut self, kind: Kind, key: &RolloutKey) -> Option<MetaWithKind> {
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
    fn affected_rollouts(&self, object: &MetaWithKind, out: &mut Vec<RolloutKey>) {
        self.walk_up(object.kind, &object.meta, 0, out);
    }

    fn walk_up(&self, kind: Kind, meta: &Meta, depth: u8, out: &mut Vec<RolloutKey>) {
        if kind == Kind::Rollout {
            out.push(RolloutKey::new(&meta.namespace, &meta.name));
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
                let key = RolloutKey::new(&meta.namespace, owner_name);
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
                .get(&RolloutKey::new(ns, &ro.metadata.name))
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
            let key = RolloutKey::new(ns, name);
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
                            let key = RolloutKey::new(ns, name);
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
                        .extend(self.pods.get(&RolloutKey::new(ns, name)).map(|p| &**p));
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

/// The rollout an Event is about.
fn event_key(event: &RolloutEvent) -> RolloutKey {
    let o = &event.involved_object;
    let namespace = if o.namespace.is_empty() {
        &event.metadata.namespace
    } else {
        &o.namespace
    };
    RolloutKey::new(namespace, &o.name)
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
            store.apply(Object::from_json(value).unwrap().unwrap());
        }
        let objects = store.inner.objects.read();
        let mut indexed: Vec<&str> = objects.by_uid.keys().map(|(_, uid)| uid.as_str()).collect();
        indexed.sort();
        assert_eq!(indexed, ["u-ro", "u-rs"]);
        let pod = Object::from_json(pod).unwrap().unwrap();
        let mut affected = vec![];
        objects.affected_rollouts(&pod.meta_with_kind(), &mut affected);
        assert_eq!(affected, [RolloutKey::new("shop", "web")]);
    }

    /// The list message of a flush: its list frames in order, as a batch when several, the
    /// bare frame when one, none without; built once and shared (the same bytes every time).
    #[test]
    fn a_flush_builds_its_list_message_once() {
        let change = |seq: u64, list: Option<&str>| RolloutChange {
            seq,
            key: RolloutKey::new("a", format!("r{seq}")),
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
            store.apply(object);
        }
        store.flush();
        let (_, summaries) = store.summaries(&[]);
        let summary = summaries.first().expect("a rollout").clone();
        let key = RolloutKey::new(&summary.namespace, &summary.name);
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
        let pages = store.list_pages(&[]).expect("pages");
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
            store.apply(pod(ns, name));
        }
        store.replace_in_namespace(Kind::Pod, "a", vec![pod("a", "2"), pod("a", "4")]);
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
        store.apply(rollout("web"));
        let key = RolloutKey::new("a", "web");
        for i in 0..(EVENTS_PER_ROLLOUT as u32 + 20) {
            store.apply_event(event(&format!("e{i}"), "web", i));
        }
        let log = store.events_of(&key);
        assert_eq!(log.len(), EVENTS_PER_ROLLOUT);
        let newest = EVENTS_PER_ROLLOUT as u32 + 19;
        assert_eq!(log[0].name, format!("e{newest}").into());
        assert_eq!(log[EVENTS_PER_ROLLOUT - 1].name, "e20".into());
        // An Event updated in place (it recurred) replaces the stored one and moves up.
        store.apply_event(event("e30", "web", 1000));
        let log = store.events_of(&key);
        assert_eq!(log[0].name, "e30".into());
        assert_eq!(log.iter().filter(|e| &*e.name == "e30").count(), 1);
        // One older than every kept Event is not kept.
        store.apply_event(event("ancient", "web", 0));
        assert_eq!(store.events_of(&key).len(), EVENTS_PER_ROLLOUT);
        assert!(store.events_of(&key).iter().all(|e| &*e.name != "ancient"));
        store.delete_event(&event("e30", "web", 0));
        assert!(store.events_of(&key).iter().all(|e| &*e.name != "e30"));
        // A relist replaces them; deleting the rollout drops its Events.
        store.replace_events(None, vec![event("x", "web", 5), event("y", "web", 7)]);
        let names: Vec<String> = store
            .events_of(&key)
            .iter()
            .map(|e| e.name.to_string())
            .collect();
        assert_eq!(names, ["y", "x"]);
        store.delete(Kind::Rollout, "a", "web");
        assert!(store.events_of(&key).is_empty());
        // Events of a rollout that is not (or no longer) listed go with the rollouts' relist.
        store.apply_event(event("z", "gone", 1));
        store.apply_event(event("w", "web", 1));
        store.replace_kind(Kind::Rollout, vec![rollout("web")]);
        assert!(store.events_of(&RolloutKey::new("a", "gone")).is_empty());
        assert_eq!(store.events_of(&key).len(), 1);
    }

    #[test]
    fn the_detail_carries_the_history_and_why_it_is_unavailable() {
        let store = Store::new(Health::loaded(crate::health::SourceKind::Cluster));
        store.apply(rollout("web"));
        store.apply_event(event("e1", "web", 1));
        store.flush();
        let key = RolloutKey::new("a", "web");
        let detail = store.detail(&key).1.unwrap();
        assert_eq!(detail.history.events.len(), 1);
        assert_eq!(detail.history.unavailable, None);
        let mut feed = store.subscribe();
        store.set_events_unavailable(Some("a"), Some("may not list events".into()));
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
        store.set_events_unavailable(Some("b"), None);
        store.flush();
        assert!(store.detail(&key).1.unwrap().history.unavailable.is_some());
        assert!(feed.try_recv().is_err(), "nothing changed for namespace a");
        store.set_events_unavailable(Some("a"), None);
        store.flush();
        assert_eq!(store.detail(&key).1.unwrap().history.unavailable, None);
        // The cluster-wide watch speaks for every namespace.
        store.set_events_unavailable(None, Some("forbidden".into()));
        store.flush();
        assert_eq!(
            store.detail(&key).1.unwrap().history.unavailable.as_deref(),
            Some("forbidden")
        );
    }
}
