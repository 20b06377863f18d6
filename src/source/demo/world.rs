//! The object store of the simulated cluster: every object as JSON under its key, the
//! resourceVersions and uids the API server would stamp, the owner and uid indexes, and the
//! list of changes the feed drains. The simulated controllers read and write through it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use jiff::Timestamp;
use serde_json::{Value, json};

use super::objects::{bump_generation, owner_uids, whole_seconds};
use crate::model::{Kind, POD_TEMPLATE_HASH_LABEL};
use crate::source::demo_events::controller_events;

/// Key of a simulated object: its kind, namespace and name. Keys sort by kind first, so the
/// objects of one kind are a range of [`DemoWorld::objects`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjKey {
    kind: Kind,
    namespace: String,
    name: String,
}

impl ObjKey {
    /// The key of the object `kind` `namespace`/`name`.
    pub fn new(kind: Kind, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind,
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The object's kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The object's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Key of the owner index: the objects of `kind` in `namespace` that `owner_uid` owns.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct OwnerKey {
    kind: Kind,
    namespace: String,
    owner_uid: String,
}

impl OwnerKey {
    fn new(kind: Kind, namespace: &str, owner_uid: &str) -> Self {
        Self {
            kind,
            namespace: namespace.to_owned(),
            owner_uid: owner_uid.to_owned(),
        }
    }
}

/// The simulated cluster: every object as JSON, plus the simulated clock.
///
/// A tick only reconciles the rollouts that may change: a rollout whose last tick changed
/// nothing in its tree (itself, its ReplicaSets and their pods, its analysis runs) and that
/// waits for nothing timed is *settled*, and sleeps until one of its objects changes or its
/// wake-up time comes. With thousands of rollouts, most of them settled, a tick (and the
/// seeding's fast-forward of ten simulated minutes) costs what the moving ones cost.
#[derive(Debug, Clone)]
pub struct DemoWorld {
    pub objects: BTreeMap<ObjKey, Value>,
    pub(super) resource_version: u64,
    pub now: Timestamp,
    /// Objects changed since the last [`DemoWorld::take_changes`] (key → deleted?).
    pub(super) changed: BTreeMap<ObjKey, bool>,
    pub(super) serial: u64,
    /// (kind, namespace, owner uid) → names of the objects of that kind it owns, so finding
    /// an object's children does not scan the whole world.
    pub(super) owned: HashMap<OwnerKey, BTreeSet<String>>,
    /// uid → key of every object, to walk owner references up to the rollout.
    pub(super) by_uid: HashMap<String, ObjKey>,
    /// Settled rollouts, skipped by ticks, with the time they must be looked at again.
    pub(super) settled: HashMap<ObjKey, Option<Timestamp>>,
    /// Rollouts whose tree changed during the current tick.
    pub(super) touched: HashSet<ObjKey>,
    /// Whether ticks skip settled rollouts (the tests compare against not skipping).
    pub(super) skip_settled: bool,
    /// How much work the simulation did, for the tests that bound it.
    pub work: DemoWork,
    /// The Events the Argo controller would have recorded since the last
    /// [`DemoWorld::take_events`] (core/v1 JSON): the demo has no controller writing them, so
    /// they are derived from each rollout write ([`controller_events`]) and dated by the
    /// simulated clock.
    pub(super) events: Vec<Value>,
}

/// Counters of the simulation's work (not of time: the tests bound these).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoWork {
    /// Ticks run.
    pub ticks: u64,
    /// Rollouts reconciled, summed over the ticks.
    pub reconciles: u64,
    /// Objects written (created, replaced or deleted).
    pub writes: u64,
}

impl DemoWorld {
    /// An empty world whose clock starts at `now`.
    pub fn new(now: Timestamp) -> Self {
        let now = whole_seconds(now);
        Self {
            objects: BTreeMap::new(),
            resource_version: 1000,
            now,
            changed: BTreeMap::new(),
            serial: 0,
            owned: HashMap::new(),
            by_uid: HashMap::new(),
            settled: HashMap::new(),
            touched: HashSet::new(),
            skip_settled: true,
            work: DemoWork::default(),
            events: Vec::new(),
        }
    }

    /// Drains the set of objects changed since the last call: (key, deleted).
    pub fn take_changes(&mut self) -> Vec<(ObjKey, bool)> {
        std::mem::take(&mut self.changed).into_iter().collect()
    }

    /// Drains the Events recorded since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.events)
    }

    /// The next resourceVersion.
    pub(super) fn next_rv(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    /// A new uid, shaped like a UUID and unique in the world.
    pub(super) fn uid(&mut self, name: &str) -> String {
        self.serial += 1;
        let mut h = DefaultHasher::new();
        (name, self.serial).hash(&mut h);
        let x = h.finish();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            x >> 32,
            (x >> 16) & 0xffff,
            x & 0xfff,
            (x >> 20) & 0xfff,
            x & 0xffff_ffff_ffff
        )
    }

    /// Inserts or replaces an object, stamping uid, resourceVersion and creation time.
    pub fn put(&mut self, mut obj: Value) -> ObjKey {
        let kind = obj["kind"]
            .as_str()
            .and_then(Kind::parse)
            .unwrap_or(Kind::Pod);
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_owned();
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let key = ObjKey::new(kind, ns, name.clone());
        if obj["metadata"]["uid"].as_str().is_none_or(str::is_empty) {
            let uid = match self.objects.get(&key) {
                Some(old) => old["metadata"]["uid"].clone(),
                None => Value::String(self.uid(&name)),
            };
            obj["metadata"]["uid"] = uid;
        }
        if obj["metadata"]["creationTimestamp"].is_null() {
            obj["metadata"]["creationTimestamp"] = json!(self.now.to_string());
        }
        obj["metadata"]["resourceVersion"] = json!(self.next_rv());
        if kind == Kind::Rollout {
            let events = controller_events(self.objects.get(&key), &obj, self.now);
            self.events.extend(events);
        }
        if let Some(old) = self.objects.remove(&key) {
            self.unindex(&key, &old);
        }
        self.index(&key, &obj);
        self.objects.insert(key.clone(), obj);
        self.changed.insert(key.clone(), false);
        self.wake_tree_of(&key);
        self.work.writes += 1;
        key
    }

    /// Adds an object to the owner and uid indexes.
    pub(super) fn index(&mut self, key: &ObjKey, obj: &Value) {
        for uid in owner_uids(obj) {
            self.owned
                .entry(OwnerKey::new(key.kind(), key.namespace(), uid))
                .or_default()
                .insert(key.name().to_owned());
        }
        if let Some(uid) = obj["metadata"]["uid"].as_str() {
            self.by_uid.insert(uid.to_owned(), key.clone());
        }
    }

    /// Removes an object from the owner and uid indexes.
    pub(super) fn unindex(&mut self, key: &ObjKey, obj: &Value) {
        for uid in owner_uids(obj) {
            let entry = OwnerKey::new(key.kind(), key.namespace(), uid);
            if let Some(names) = self.owned.get_mut(&entry) {
                names.remove(key.name());
                if names.is_empty() {
                    self.owned.remove(&entry);
                }
            }
        }
        if let Some(uid) = obj["metadata"]["uid"].as_str()
            && self.by_uid.get(uid) == Some(key)
        {
            self.by_uid.remove(uid);
        }
    }

    /// The rollout an object belongs to (itself for a rollout), through owner references:
    /// pod → ReplicaSet → rollout, analysis run → rollout.
    pub(super) fn root_of(&self, key: &ObjKey) -> Option<ObjKey> {
        let mut key = key.clone();
        // Owner chains are at most pod → ReplicaSet → rollout; the bound guards cycles.
        for _ in 0..4 {
            if key.kind() == Kind::Rollout {
                return Some(key);
            }
            let obj = self.objects.get(&key)?;
            key = owner_uids(obj)
                .find_map(|uid| self.by_uid.get(uid))?
                .clone();
        }
        None
    }

    /// Marks the rollout `key` belongs to as changed: it is reconciled on the next ticks.
    pub(super) fn wake_tree_of(&mut self, key: &ObjKey) {
        if let Some(root) = self.root_of(key) {
            self.settled.remove(&root);
            self.touched.insert(root);
        }
    }

    /// Replaces an object only when it differs, so idle ticks change nothing.
    pub(super) fn put_if_changed(&mut self, key: &ObjKey, obj: Value) {
        if self.objects.get(key) != Some(&obj) {
            self.put(obj);
        }
    }

    /// Deletes an object, waking the rollout it belonged to.
    pub(super) fn remove(&mut self, key: &ObjKey) {
        // Found before the object goes: its owner chain runs through it.
        let root = self.root_of(key);
        if let Some(old) = self.objects.remove(key) {
            self.unindex(key, &old);
            self.changed.insert(key.clone(), true);
            self.work.writes += 1;
            if let Some(root) = root {
                self.settled.remove(&root);
                self.touched.insert(root);
            }
        }
    }

    /// Changes the image of a rollout's first container (a new version ships).
    pub fn set_image(&mut self, ns: &str, name: &str, image: &str) {
        let key = ObjKey::new(Kind::Rollout, ns, name);
        if let Some(mut ro) = self.objects.get(&key).cloned() {
            ro["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
            bump_generation(&mut ro);
            self.put(ro);
        }
    }

    /// Changes a rollout's spec as `kubectl apply` would (the generation goes up).
    pub(super) fn edit_rollout(&mut self, ns: &str, name: &str, change: impl FnOnce(&mut Value)) {
        let key = ObjKey::new(Kind::Rollout, ns, name);
        if let Some(mut ro) = self.objects.get(&key).cloned() {
            change(&mut ro);
            bump_generation(&mut ro);
            self.put(ro);
        }
    }

    /// Keys of every object of `kind` (keys sort by kind first).
    pub(super) fn keys_of(&self, kind: Kind) -> impl Iterator<Item = &ObjKey> {
        self.objects
            .range(ObjKey::new(kind, "", "")..)
            .map(|(k, _)| k)
            .take_while(move |k| k.kind() == kind)
    }

    /// Like [`DemoWorld::children`], borrowed: for reading, without copying the objects.
    pub(super) fn child_refs<'a>(
        &'a self,
        kind: Kind,
        ns: &str,
        owner_uid: &str,
    ) -> impl Iterator<Item = (ObjKey, &'a Value)> + 'a {
        let ns = ns.to_owned();
        self.owned
            .get(&OwnerKey::new(kind, &ns, owner_uid))
            .into_iter()
            .flatten()
            .filter_map(move |name| {
                let key = ObjKey::new(kind, ns.clone(), name.clone());
                let value = self.objects.get(&key)?;
                Some((key, value))
            })
    }

    /// The objects of `kind` in `ns` that name `owner_uid` as an owner, in key order.
    pub(super) fn children(&self, kind: Kind, ns: &str, owner_uid: &str) -> Vec<(ObjKey, Value)> {
        let Some(names) = self.owned.get(&OwnerKey::new(kind, ns, owner_uid)) else {
            return vec![];
        };
        names
            .iter()
            .filter_map(|name| {
                let key = ObjKey::new(kind, ns, name.clone());
                let value = self.objects.get(&key)?.clone();
                Some((key, value))
            })
            .collect()
    }

    /// The rollout's ReplicaSet of the pod template hash `hash`.
    pub(super) fn replica_set_of(&self, ro: &Value, hash: &str) -> Option<(ObjKey, Value)> {
        let ns = ro["metadata"]["namespace"].as_str()?;
        let uid = ro["metadata"]["uid"].as_str()?;
        self.child_refs(Kind::ReplicaSet, ns, uid)
            .find(|(_, rs)| rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] == hash)
            .map(|(key, rs)| (key, rs.clone()))
    }

    /// Sets a ReplicaSet's `spec.replicas` (the pods follow on the same tick).
    pub(super) fn scale(&mut self, key: &ObjKey, replicas: i64) {
        if let Some(mut rs) = self.objects.get(key).cloned()
            && rs["spec"]["replicas"] != json!(replicas)
        {
            rs["spec"]["replicas"] = json!(replicas);
            bump_generation(&mut rs);
            self.put(rs);
        }
    }
}
