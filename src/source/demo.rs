//! The demo source (`--demo`): a SIMULATION of a cluster running the Argo Rollouts
//! controller, held in memory, so a newcomer sees live rollouts with no cluster at all.
//!
//! Nothing here talks to Kubernetes and nothing here runs unless `--demo` is given. The
//! simulation is deliberately small: it advances canary steps and timed pauses, scales
//! ReplicaSets to the step weights, moves pods from Pending to Running, produces analysis
//! measurements and decides them, aborts on failed analysis, and switches blue-green
//! services on promotion. Its objects use the real Argo Rollouts field names, so the same
//! view model and the same action planning code run on them; actions are applied as the
//! API server would (JSON merge patch / JSON patch, resourceVersion preconditions).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::model::{Kind, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION};

/// Key of a simulated object: kind, namespace, name.
pub type ObjKey = (Kind, String, String);

/// How long a new pod stays Pending before it is Running and Ready.
const POD_START: SignedDuration = SignedDuration::from_secs(2);
/// How long a healthy "cycling" rollout waits before the simulation ships a new version.
const CYCLE_IDLE: SignedDuration = SignedDuration::from_secs(25);
/// Annotation marking a rollout whose versions the simulation keeps shipping.
const CYCLE_ANNOTATION: &str = "demo.rollouts-dashboard/cycle";
/// Old revisions kept per rollout (the demo's `revisionHistoryLimit`).
const HISTORY_LIMIT: usize = 3;
/// Annotation counting retries, so a retried update gets fresh analysis runs.
const ATTEMPT_ANNOTATION: &str = "demo.rollouts-dashboard/attempt";
/// How long before `now` the `--demo-extra` rollouts start being simulated.
const EXTRA_HISTORY: SignedDuration = SignedDuration::from_mins(2);
/// Label on simulated analysis steps: the measured values pass or fail.
const FAILING_TEMPLATE: &str = "error-rate-failing";
/// Annotations the controller puts on an experiment's ReplicaSets.
const EXPERIMENT_NAME_ANNOTATION: &str = "experiment.argoproj.io/name";
const EXPERIMENT_TEMPLATE_ANNOTATION: &str = "experiment.argoproj.io/template-name";

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
    resource_version: u64,
    pub now: Timestamp,
    /// Objects changed since the last [`DemoWorld::take_changes`] (key → deleted?).
    changed: BTreeMap<ObjKey, bool>,
    serial: u64,
    /// (kind, namespace, owner uid) → names of the objects of that kind it owns, so finding
    /// an object's children does not scan the whole world.
    owned: HashMap<(Kind, String, String), BTreeSet<String>>,
    /// uid → key of every object, to walk owner references up to the rollout.
    by_uid: HashMap<String, ObjKey>,
    /// Settled rollouts, skipped by ticks, with the time they must be looked at again.
    settled: HashMap<ObjKey, Option<Timestamp>>,
    /// Rollouts whose tree changed during the current tick.
    touched: HashSet<ObjKey>,
    /// Whether ticks skip settled rollouts (the tests compare against not skipping).
    skip_settled: bool,
    /// How much work the simulation did, for the tests that bound it.
    pub work: DemoWork,
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
        }
    }

    /// Seeds the scenarios and fast-forwards until they are in their showcase states:
    /// a canary waiting for promotion, a timed pause, an analysis collecting measurements,
    /// a blue-green awaiting promotion, an aborted rollout with failed analysis, a healthy
    /// one, and `extra` small rollouts.
    pub fn seeded(now: Timestamp, extra: usize) -> Self {
        Self::seeded_from(
            DemoWorld::new(now - SignedDuration::from_mins(10)),
            now,
            extra,
        )
    }

    /// [`DemoWorld::seeded`], from an empty `world` whose clock is ten minutes before `now`.
    fn seeded_from(mut world: DemoWorld, now: Timestamp, extra: usize) -> Self {
        // Start in the past and simulate up to `now`, so timestamps look lived-in.
        for scenario in scenarios() {
            world.put(scenario);
        }
        world.advance_to(now - SignedDuration::from_mins(5), 5);
        // Ship new versions so the canaries and the blue-green start moving.
        for (ns, name, image) in [
            (
                "demo-shop",
                "checkout-api",
                "ghcr.io/demo/checkout-api:2.4.0",
            ),
            ("demo-shop", "storefront", "ghcr.io/demo/storefront:7.1.3"),
            (
                "demo-payments",
                "payments-gateway",
                "ghcr.io/demo/payments-gateway:3.0.1",
            ),
            (
                "demo-payments",
                "ledger",
                "registry.internal:5000/payments/ledger:2026.11.2",
            ),
            (
                "demo-search",
                "search-indexer",
                "ghcr.io/demo/search-indexer:1.9.0",
            ),
            (
                "demo-shop",
                "recommendations",
                "ghcr.io/demo/recommendations:5.1.0",
            ),
            (
                "demo-payments",
                "fraud-check",
                "ghcr.io/demo/fraud-check:2.8.0",
            ),
            ("demo-search", "ranking", "ghcr.io/demo/ranking:0.15.0"),
        ] {
            world.set_image(ns, name, image);
        }
        // Someone pushes a step the controller refuses: refunds stays on its old version with
        // an InvalidSpec condition naming the step.
        world.edit_rollout("demo-payments", "refunds", |ro| {
            ro["spec"]["strategy"]["canary"]["steps"][1]["setWeight"] = json!(120);
        });
        // A few seconds into its update, a person pauses ranking (same ticks as one advance).
        world.advance_to(
            now - SignedDuration::from_mins(5) + SignedDuration::from_secs(6),
            2,
        );
        world.edit_rollout("demo-search", "ranking", |ro| {
            ro["spec"]["paused"] = json!(true);
        });
        // The filler rollouts join later, with creation times as old as the others': ten
        // minutes of their cycles cost 20 times the work of the showcase for nothing to see
        // (old revisions are pruned), and two minutes spread their cycles as well.
        world.advance_to(now - EXTRA_HISTORY, 2);
        let created = json!((now - SignedDuration::from_mins(10)).to_string());
        for mut filler in extra_rollouts(extra) {
            filler["metadata"]["creationTimestamp"] = created.clone();
            world.put(filler);
        }
        world.advance_to(now - SignedDuration::from_secs(8), 2);
        // The analysis canary ships last so its measurements arrive while you watch.
        world.set_image(
            "demo-payments",
            "payments-gateway",
            "ghcr.io/demo/payments-gateway:3.1.0",
        );
        world.advance_to(now, 1);
        world.changed.clear();
        world
    }

    /// Runs the simulation in steps of `step_secs` until the clock reaches `until`.
    pub fn advance_to(&mut self, until: Timestamp, step_secs: i64) {
        let until = whole_seconds(until);
        while self.now < until {
            self.now = (self.now + SignedDuration::from_secs(step_secs)).min(until);
            self.tick();
        }
    }

    /// Drains the set of objects changed since the last call: (key, deleted).
    pub fn take_changes(&mut self) -> Vec<(ObjKey, bool)> {
        std::mem::take(&mut self.changed).into_iter().collect()
    }

    /// The next resourceVersion.
    fn next_rv(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    fn uid(&mut self, name: &str) -> String {
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
        let key = (kind, ns, name.clone());
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
    fn index(&mut self, key: &ObjKey, obj: &Value) {
        for uid in owner_uids(obj) {
            self.owned
                .entry((key.0, key.1.clone(), uid.to_owned()))
                .or_default()
                .insert(key.2.clone());
        }
        if let Some(uid) = obj["metadata"]["uid"].as_str() {
            self.by_uid.insert(uid.to_owned(), key.clone());
        }
    }

    /// Removes an object from the owner and uid indexes.
    fn unindex(&mut self, key: &ObjKey, obj: &Value) {
        for uid in owner_uids(obj) {
            let entry = (key.0, key.1.clone(), uid.to_owned());
            if let Some(names) = self.owned.get_mut(&entry) {
                names.remove(&key.2);
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
    fn root_of(&self, key: &ObjKey) -> Option<ObjKey> {
        let mut key = key.clone();
        // Owner chains are at most pod → ReplicaSet → rollout; the bound guards cycles.
        for _ in 0..4 {
            if key.0 == Kind::Rollout {
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
    fn wake_tree_of(&mut self, key: &ObjKey) {
        if let Some(root) = self.root_of(key) {
            self.settled.remove(&root);
            self.touched.insert(root);
        }
    }

    /// Replaces an object only when it differs, so idle ticks change nothing.
    fn put_if_changed(&mut self, key: &ObjKey, obj: Value) {
        if self.objects.get(key) != Some(&obj) {
            self.put(obj);
        }
    }

    fn remove(&mut self, key: &ObjKey) {
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
        let key = (Kind::Rollout, ns.to_owned(), name.to_owned());
        if let Some(mut ro) = self.objects.get(&key).cloned() {
            ro["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
            bump_generation(&mut ro);
            self.put(ro);
        }
    }

    /// Changes a rollout's spec as `kubectl apply` would (the generation goes up).
    fn edit_rollout(&mut self, ns: &str, name: &str, change: impl FnOnce(&mut Value)) {
        let key = (Kind::Rollout, ns.to_owned(), name.to_owned());
        if let Some(mut ro) = self.objects.get(&key).cloned() {
            change(&mut ro);
            bump_generation(&mut ro);
            self.put(ro);
        }
    }

    /// One step of the simulated controllers, over the rollouts that are not settled.
    pub fn tick(&mut self) {
        self.work.ticks += 1;
        let now = self.now;
        let skip = self.skip_settled;
        let settled = &self.settled;
        let rollouts: Vec<ObjKey> = self
            .keys_of(Kind::Rollout)
            .filter(|k| {
                !skip
                    || match settled.get(*k) {
                        None => true,
                        Some(wake) => wake.is_some_and(|at| at <= now),
                    }
            })
            .cloned()
            .collect();
        self.touched.clear();
        self.work.reconciles += rollouts.len() as u64;
        for key in &rollouts {
            self.reconcile_rollout(key);
        }
        self.reconcile_analysis_runs();
        self.reconcile_pods(&rollouts);
        for key in &rollouts {
            self.update_rollout_counts(key);
        }
        for key in rollouts {
            if self.touched.contains(&key) {
                self.settled.remove(&key);
            } else if let Some(wake) = self.quiet_until(&key) {
                self.settled.insert(key, wake);
            }
        }
    }

    /// Reconciles every rollout on each tick, settled or not (the tests check that skipping
    /// settled rollouts changes nothing).
    #[cfg(test)]
    fn never_skip(&mut self) {
        self.skip_settled = false;
        self.settled.clear();
    }

    /// For a rollout whose tick changed nothing: `Some(wake-up time)` when only time (or
    /// nothing: `Some(None)`) can move it, `None` when it must be reconciled on every tick.
    /// Conservative: whatever waits on something timed that is not modelled here stays awake.
    fn quiet_until(&self, key: &ObjKey) -> Option<Option<Timestamp>> {
        let ro = self.objects.get(key)?;
        let (ns, uid) = ns_uid(ro);
        let st = &ro["status"];
        let mut wake: Option<Timestamp> = None;
        let mut wake_at = |t: Timestamp| wake = Some(wake.map_or(t, |w| w.min(t)));
        // Pending pods start POD_START after their creation.
        for (_, rs) in self.child_refs(Kind::ReplicaSet, &ns, &uid) {
            let rs_uid = rs["metadata"]["uid"].as_str().unwrap_or_default();
            for (_, pod) in self.child_refs(Kind::Pod, &ns, rs_uid) {
                if pod["status"]["phase"] == "Pending" {
                    let created = pod["metadata"]["creationTimestamp"]
                        .as_str()
                        .and_then(|t| t.parse::<Timestamp>().ok())?;
                    wake_at(created + POD_START);
                }
            }
        }
        // Running analysis runs take a measurement every few seconds; a running experiment
        // waits for its ReplicaSets, its runs and its duration.
        if self
            .child_refs(Kind::AnalysisRun, &ns, &uid)
            .any(|(_, run)| run["status"]["phase"] == "Running")
            || self
                .child_refs(Kind::Experiment, &ns, &uid)
                .any(|(_, e)| matches!(e["status"]["phase"].as_str(), Some("Pending" | "Running")))
        {
            return None;
        }
        // Timed pauses end by themselves.
        if st["pauseConditions"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
        {
            let idx = st["currentStepIndex"].as_u64().unwrap_or(0) as usize;
            let duration = &ro["spec"]["strategy"]["canary"]["steps"][idx]["pause"]["duration"];
            if !duration.is_null() {
                // As `step_canary` reads it; anything else keeps the rollout awake.
                let duration = duration
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| duration.as_i64().map(|n| format!("{n}s")))
                    .and_then(|d| parse_duration(&d))?;
                let started = st["pauseConditions"][0]["startTime"]
                    .as_str()
                    .and_then(|t| t.parse::<Timestamp>().ok())?;
                wake_at(started + duration);
            }
        }
        // A restart scheduled for later.
        if let Some(at) = ro["spec"]["restartAt"].as_str()
            && st["restartedAt"].as_str() != Some(at)
        {
            wake_at(at.parse::<Timestamp>().ok()?);
        }
        // A cycling rollout ships its next version CYCLE_IDLE after the last one.
        if ro["metadata"]["annotations"][CYCLE_ANNOTATION] == "true" {
            let since = ro["metadata"]["annotations"][CYCLE_ANNOTATION.to_owned() + "-since"]
                .as_str()
                .and_then(|t| t.parse::<Timestamp>().ok())?;
            wake_at(since + CYCLE_IDLE);
        }
        Some(wake)
    }

    /// Keys of every object of `kind` (keys sort by kind first).
    fn keys_of(&self, kind: Kind) -> impl Iterator<Item = &ObjKey> {
        self.objects
            .range((kind, String::new(), String::new())..)
            .map(|(k, _)| k)
            .take_while(move |k| k.0 == kind)
    }

    /// Like [`DemoWorld::children`], borrowed: for reading, without copying the objects.
    fn child_refs<'a>(
        &'a self,
        kind: Kind,
        ns: &str,
        owner_uid: &str,
    ) -> impl Iterator<Item = (ObjKey, &'a Value)> + 'a {
        let ns = ns.to_owned();
        self.owned
            .get(&(kind, ns.clone(), owner_uid.to_owned()))
            .into_iter()
            .flatten()
            .filter_map(move |name| {
                let key = (kind, ns.clone(), name.clone());
                let value = self.objects.get(&key)?;
                Some((key, value))
            })
    }

    /// The objects of `kind` in `ns` that name `owner_uid` as an owner, in key order.
    fn children(&self, kind: Kind, ns: &str, owner_uid: &str) -> Vec<(ObjKey, Value)> {
        let Some(names) = self.owned.get(&(kind, ns.to_owned(), owner_uid.to_owned())) else {
            return vec![];
        };
        names
            .iter()
            .filter_map(|name| {
                let key = (kind, ns.to_owned(), name.clone());
                let value = self.objects.get(&key)?.clone();
                Some((key, value))
            })
            .collect()
    }

    fn replica_set_of(&self, ro: &Value, hash: &str) -> Option<(ObjKey, Value)> {
        let ns = ro["metadata"]["namespace"].as_str()?;
        let uid = ro["metadata"]["uid"].as_str()?;
        self.child_refs(Kind::ReplicaSet, ns, uid)
            .find(|(_, rs)| rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] == hash)
            .map(|(key, rs)| (key, rs.clone()))
    }

    fn scale(&mut self, key: &ObjKey, replicas: i64) {
        if let Some(mut rs) = self.objects.get(key).cloned()
            && rs["spec"]["replicas"] != json!(replicas)
        {
            rs["spec"]["replicas"] = json!(replicas);
            bump_generation(&mut rs);
            self.put(rs);
        }
    }

    fn reconcile_rollout(&mut self, key: &ObjKey) {
        let Some(mut ro) = self.objects.get(key).cloned() else {
            return;
        };
        let ns = key.1.clone();
        let name = key.2.clone();
        let hash = template_hash(&ro["spec"]["template"]);
        let replicas = ro["spec"]["replicas"].as_i64().unwrap_or(1);
        let canary = ro["spec"]["strategy"]["canary"].is_object();
        let steps: Vec<Value> = ro["spec"]["strategy"]["canary"]["steps"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let status = ro["status"].as_object().cloned().unwrap_or_default();
        let mut st = Value::Object(status);
        if let Some(message) = invalid_spec(&ro) {
            // As the controller: an invalid spec is not acted on; the condition says why.
            let condition = condition("InvalidSpec", "True", "InvalidSpec", &message, self.now);
            let mut list: Vec<Value> = st["conditions"].as_array().cloned().unwrap_or_default();
            if !list
                .iter()
                .any(|c| c["type"] == "InvalidSpec" && c["message"] == condition["message"])
            {
                list.retain(|c| c["type"] != "InvalidSpec");
                list.push(condition);
                st["conditions"] = json!(list);
            }
            st["observedGeneration"] = json!(
                ro["metadata"]["generation"]
                    .as_i64()
                    .unwrap_or(1)
                    .to_string()
            );
            ro["status"] = st;
            self.put_if_changed(key, ro);
            return;
        }
        if let Some(list) = st["conditions"].as_array_mut() {
            list.retain(|c| c["type"] != "InvalidSpec");
        }
        let first_deploy = st["stableRS"].as_str().is_none();

        // A new pod template: a new ReplicaSet and revision.
        if st["currentPodHash"] != hash {
            let revision = self
                .child_refs(
                    Kind::ReplicaSet,
                    &ns,
                    ro["metadata"]["uid"].as_str().unwrap_or(""),
                )
                .filter_map(|(_, rs)| {
                    rs["metadata"]["annotations"][REVISION_ANNOTATION]
                        .as_str()
                        .and_then(|r| r.parse::<i64>().ok())
                })
                .max()
                .unwrap_or(0)
                + 1;
            match self.replica_set_of(&ro, &hash) {
                None => {
                    let rs = replica_set(
                        &ro,
                        &hash,
                        revision,
                        if first_deploy { replicas } else { 0 },
                    );
                    self.put(rs);
                }
                // A roll-back reuses the old ReplicaSet under a new revision, as upstream.
                Some((_, mut rs)) => {
                    rs["metadata"]["annotations"][REVISION_ANNOTATION] =
                        json!(revision.to_string());
                    self.put(rs);
                }
            }
            ro["metadata"]["annotations"][REVISION_ANNOTATION] = json!(revision.to_string());
            st["currentPodHash"] = json!(hash);
            st["currentStepHash"] = json!(short_hash(&ro["spec"]["strategy"]));
            st["abort"] = json!(false);
            st["pauseConditions"] = json!([]);
            st["controllerPause"] = json!(false);
            st["conditions"] = json!([condition(
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("ReplicaSet \"{name}-{hash}\" is progressing."),
                self.now
            )]);
            if first_deploy {
                // As upstream: the first deploy goes straight to 100%.
                st["stableRS"] = json!(hash);
                if canary {
                    st["currentStepIndex"] = json!(steps.len());
                } else {
                    st["blueGreen"] = json!({"activeSelector": hash, "previewSelector": hash});
                }
            } else if canary {
                st["currentStepIndex"] = json!(0);
            } else {
                st["blueGreen"]["previewSelector"] = json!(hash);
                if let Some(bg) = st["blueGreen"].as_object_mut() {
                    bg.remove("prePromotionAnalysisRunStatus");
                }
            }
            ro["metadata"]["annotations"][CYCLE_ANNOTATION.to_owned() + "-since"] =
                json!(self.now.to_string());
        }
        let Some((canary_key, canary_rs)) = self.replica_set_of(&ro, &hash) else {
            return;
        };
        let stable_hash = st["stableRS"].as_str().unwrap_or_default().to_owned();
        let stable = self.replica_set_of(&ro, &stable_hash);
        let ready = |rs: &Value| rs["status"]["availableReplicas"].as_i64().unwrap_or(0);

        self.restart_pods(&ro, &mut st);
        if st["abort"] != true && !st["abortedAt"].is_null() {
            // Retried after an abort: start the update again with fresh analysis runs.
            st["abortedAt"] = Value::Null;
            st["message"] = Value::Null;
            let attempt = ro["metadata"]["annotations"][ATTEMPT_ANNOTATION]
                .as_str()
                .and_then(|a| a.parse::<u64>().ok())
                .unwrap_or(0);
            ro["metadata"]["annotations"][ATTEMPT_ANNOTATION] = json!((attempt + 1).to_string());
            st["conditions"] = json!([condition(
                "Progressing",
                "True",
                "RolloutRetry",
                "Rollout is retried",
                self.now
            )]);
        }
        if st["abort"] == true {
            // Abort: back to stable, canary scaled down, Degraded through the condition.
            self.end_experiments(&ro, &mut st, None);
            self.scale(&canary_key, 0);
            if let Some((k, _)) = &stable {
                self.scale(k, replicas);
            }
            let message = st["message"]
                .as_str()
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    format!(
                        "Rollout aborted update to revision {}",
                        ro["metadata"]["annotations"][REVISION_ANNOTATION]
                            .as_str()
                            .unwrap_or("?")
                    )
                });
            set_condition(
                &mut st,
                condition("Progressing", "False", "RolloutAborted", &message, self.now),
            );
            st["pauseConditions"] = json!([]);
            st["controllerPause"] = json!(false);
            st["currentStepIndex"] = json!(0);
            if st["abortedAt"].is_null() {
                st["abortedAt"] = json!(self.now.to_string());
            }
        } else if stable_hash == hash {
            // Fully promoted: scale the others down, and maybe ship the next version.
            self.end_experiments(&ro, &mut st, None);
            self.scale(&canary_key, replicas);
            self.scale_down_others(&ro, &hash);
            self.prune_history(&ro, &hash);
            set_condition(
                &mut st,
                condition(
                    "Available",
                    "True",
                    "AvailableReason",
                    "Rollout has minimum availability",
                    self.now,
                ),
            );
            if !canary {
                st["blueGreen"]["activeSelector"] = json!(hash);
                st["blueGreen"]["previewSelector"] = json!(hash);
            }
            if ro["metadata"]["annotations"][CYCLE_ANNOTATION] == "true"
                && ready(&canary_rs) == replicas
            {
                let since = ro["metadata"]["annotations"][CYCLE_ANNOTATION.to_owned() + "-since"]
                    .as_str()
                    .and_then(|t| t.parse::<Timestamp>().ok())
                    .unwrap_or(self.now);
                if self.now.duration_since(since) >= CYCLE_IDLE {
                    let image = next_version(
                        ro["spec"]["template"]["spec"]["containers"][0]["image"]
                            .as_str()
                            .unwrap_or(""),
                    );
                    ro["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
                    bump_generation(&mut ro);
                }
            }
        } else if canary {
            self.step_canary(
                &mut ro,
                &mut st,
                &steps,
                replicas,
                &canary_key,
                &canary_rs,
                stable.as_ref(),
            );
        } else {
            self.step_blue_green(&mut ro, &mut st, replicas, &canary_key, &canary_rs, &hash);
        }
        st["observedGeneration"] = json!(
            ro["metadata"]["generation"]
                .as_i64()
                .unwrap_or(1)
                .to_string()
        );
        ro["status"] = st;
        self.put_if_changed(key, ro);
    }

    /// `spec.restartAt`: replace every pod once, then record `status.restartedAt`.
    fn restart_pods(&mut self, ro: &Value, st: &mut Value) {
        let Some(at) = ro["spec"]["restartAt"].as_str() else {
            return;
        };
        if st["restartedAt"].as_str() == Some(at)
            || at.parse::<Timestamp>().is_ok_and(|t| t > self.now)
        {
            return;
        }
        let (ns, uid) = ns_uid(ro);
        for (_, rs) in self.children(Kind::ReplicaSet, &ns, &uid) {
            let rs_uid = rs["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            for (pod, _) in self.children(Kind::Pod, &ns, &rs_uid) {
                self.remove(&pod);
            }
        }
        st["restartedAt"] = json!(at);
    }

    /// Keeps the newest [`HISTORY_LIMIT`] old revisions, as `revisionHistoryLimit` does, so
    /// a long-running demo does not grow forever. Old analysis runs go with their revision.
    fn prune_history(&mut self, ro: &Value, keep: &str) {
        let (ns, uid) = ns_uid(ro);
        let revision = |v: &Value| {
            v["metadata"]["annotations"][REVISION_ANNOTATION]
                .as_str()
                .and_then(|r| r.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let mut old: Vec<(ObjKey, Value)> = self
            .children(Kind::ReplicaSet, &ns, &uid)
            .into_iter()
            .filter(|(_, rs)| {
                rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] != keep
                    && rs["spec"]["replicas"].as_i64() == Some(0)
                    && rs["status"]["replicas"].as_i64() == Some(0)
            })
            .collect();
        old.sort_by_key(|(_, rs)| std::cmp::Reverse(revision(rs)));
        for (key, rs) in old.into_iter().skip(HISTORY_LIMIT) {
            let hash = rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL].clone();
            let runs: Vec<ObjKey> = self
                .children(Kind::AnalysisRun, &ns, &uid)
                .into_iter()
                .filter(|(_, run)| run["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] == hash)
                .map(|(k, _)| k)
                .collect();
            for run in runs {
                self.remove(&run);
            }
            self.remove(&key);
        }
    }

    fn scale_down_others(&mut self, ro: &Value, keep: &str) {
        let ns = ro["metadata"]["namespace"].as_str().unwrap_or_default();
        let uid = ro["metadata"]["uid"].as_str().unwrap_or_default();
        let others: Vec<ObjKey> = self
            .child_refs(Kind::ReplicaSet, ns, uid)
            .filter(|(_, rs)| rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] != keep)
            .map(|(k, _)| k)
            .collect();
        for k in others {
            self.scale(&k, 0);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn step_canary(
        &mut self,
        ro: &mut Value,
        st: &mut Value,
        steps: &[Value],
        replicas: i64,
        canary_key: &ObjKey,
        canary_rs: &Value,
        stable: Option<&(ObjKey, Value)>,
    ) {
        let idx = st["currentStepIndex"].as_u64().unwrap_or(0) as usize;
        let paused = ro["spec"]["paused"] == true;
        let pause_conditions = st["pauseConditions"]
            .as_array()
            .is_some_and(|p| !p.is_empty());
        // An experiment ends when the rollout leaves its step (a promote skips it).
        let current_experiment = steps
            .get(idx)
            .filter(|s| s.get("experiment").is_some())
            .map(|_| experiment_name(ro, st, idx));
        self.end_experiments(ro, st, current_experiment.as_deref());
        if paused {
            return;
        }
        self.background_analysis(ro, st);
        if st["abort"] == true {
            return;
        }
        if pause_conditions {
            // Timed pauses end by themselves; indefinite ones wait for promote.
            let step = steps.get(idx);
            if let Some(duration) = step
                .and_then(|s| {
                    s["pause"]["duration"]
                        .as_str()
                        .map(str::to_owned)
                        .or_else(|| s["pause"]["duration"].as_i64().map(|n| format!("{n}s")))
                })
                .and_then(|d| parse_duration(&d))
            {
                let started = st["pauseConditions"][0]["startTime"]
                    .as_str()
                    .and_then(|t| t.parse::<Timestamp>().ok())
                    .unwrap_or(self.now);
                if self.now.duration_since(started) >= duration {
                    st["pauseConditions"] = json!([]);
                    st["controllerPause"] = json!(false);
                    st["currentStepIndex"] = json!(idx + 1);
                }
            }
            return;
        }
        if st["controllerPause"] == true {
            // Promoted out of a pause: the controller moves past the pause step.
            st["controllerPause"] = json!(false);
            if steps.get(idx).is_some_and(|s| s.get("pause").is_some()) {
                st["currentStepIndex"] = json!(idx + 1);
                return;
            }
        }
        if st["promoteFull"] == true || idx >= steps.len() {
            // All steps done (or promote-full): the canary becomes stable.
            self.scale(canary_key, replicas);
            if canary_rs["status"]["availableReplicas"]
                .as_i64()
                .unwrap_or(0)
                >= replicas
            {
                st["stableRS"] = st["currentPodHash"].clone();
                st["promoteFull"] = json!(false);
                st["currentStepIndex"] = json!(steps.len());
                ro["metadata"]["annotations"][CYCLE_ANNOTATION.to_owned() + "-since"] =
                    json!(self.now.to_string());
            }
            return;
        }
        // ReplicaSets of superseded canaries go away; only stable and current stay.
        let (ns, uid) = ns_uid(ro);
        let keep = [st["stableRS"].clone(), st["currentPodHash"].clone()];
        let superseded: Vec<ObjKey> = self
            .child_refs(Kind::ReplicaSet, &ns, &uid)
            .filter(|(_, rs)| !keep.contains(&rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL]))
            .map(|(k, _)| k)
            .collect();
        for k in superseded {
            self.scale(&k, 0);
        }
        let step = &steps[idx];
        if let Some(weight) = step["setWeight"].as_i64() {
            let canary_count = (replicas * weight + 99) / 100;
            self.scale(canary_key, canary_count);
            if let Some((k, _)) = stable {
                self.scale(k, replicas - canary_count);
            }
            if canary_rs["status"]["availableReplicas"]
                .as_i64()
                .unwrap_or(0)
                >= canary_count
                && canary_rs["spec"]["replicas"].as_i64() == Some(canary_count)
            {
                st["currentStepIndex"] = json!(idx + 1);
            }
        } else if step.get("pause").is_some() {
            st["pauseConditions"] =
                json!([{"reason": "CanaryPauseStep", "startTime": self.now.to_string()}]);
            st["controllerPause"] = json!(true);
        } else if let Some(analysis) = step.get("analysis") {
            let template = analysis["templates"][0]["templateName"]
                .as_str()
                .unwrap_or("success-rate");
            let run_name = format!(
                "{}-{}-{}{}",
                ro["metadata"]["name"].as_str().unwrap_or(""),
                st["currentPodHash"].as_str().unwrap_or(""),
                idx,
                attempt_suffix(ro)
            );
            let phase = self.ensure_analysis_run(ro, &run_name, template, 20);
            st["canary"]["currentStepAnalysisRunStatus"] =
                json!({"name": run_name, "status": phase});
            match phase.as_str() {
                "Successful" => st["currentStepIndex"] = json!(idx + 1),
                "Failed" | "Error" => self.abort_for(ro, st, &run_name),
                _ => {}
            }
        } else if let Some(experiment) = step.get("experiment") {
            let name = experiment_name(ro, st, idx);
            st["canary"]["currentExperiment"] = json!(name);
            let stable_template = stable.map(|(_, rs)| rs["spec"]["template"].clone());
            let phase = self.ensure_experiment(ro, st, &name, experiment, stable_template);
            match phase.as_str() {
                "Successful" => {
                    st["currentStepIndex"] = json!(idx + 1);
                    if let Some(c) = st["canary"].as_object_mut() {
                        c.remove("currentExperiment");
                    }
                }
                "Failed" | "Error" => {
                    st["abort"] = json!(true);
                    st["message"] = json!(format!(
                        "Rollout aborted update to revision {}: experiment {name} {}",
                        ro["metadata"]["annotations"][REVISION_ANNOTATION]
                            .as_str()
                            .unwrap_or("?"),
                        phase.to_lowercase()
                    ));
                }
                _ => {}
            }
        } else {
            // Step kinds the simulation does not model pass at once.
            st["currentStepIndex"] = json!(idx + 1);
        }
    }

    fn background_analysis(&mut self, ro: &Value, st: &mut Value) {
        let Some(template) =
            ro["spec"]["strategy"]["canary"]["analysis"]["templates"][0]["templateName"]
                .as_str()
                .map(str::to_owned)
        else {
            return;
        };
        let run_name = format!(
            "{}-{}-background{}",
            ro["metadata"]["name"].as_str().unwrap_or(""),
            st["currentPodHash"].as_str().unwrap_or(""),
            attempt_suffix(ro)
        );
        let phase = self.ensure_analysis_run(ro, &run_name, &template, 0);
        st["canary"]["currentBackgroundAnalysisRunStatus"] =
            json!({"name": run_name, "status": phase});
        if phase == "Failed" {
            self.abort_for(ro, st, &run_name);
        }
    }

    fn abort_for(&mut self, ro: &Value, st: &mut Value, run_name: &str) {
        let ns = ro["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let run = self
            .objects
            .get(&(Kind::AnalysisRun, ns, run_name.to_owned()));
        let why = run
            .and_then(|r| r["status"]["message"].as_str())
            .unwrap_or("analysis failed")
            .to_owned();
        st["abort"] = json!(true);
        st["message"] = json!(format!(
            "Rollout aborted update to revision {}: {why}",
            ro["metadata"]["annotations"][REVISION_ANNOTATION]
                .as_str()
                .unwrap_or("?")
        ));
    }

    fn step_blue_green(
        &mut self,
        ro: &mut Value,
        st: &mut Value,
        replicas: i64,
        preview_key: &ObjKey,
        preview_rs: &Value,
        hash: &str,
    ) {
        let bg = &ro["spec"]["strategy"]["blueGreen"];
        let auto = bg["autoPromotionEnabled"] != false;
        let paused = st["pauseConditions"]
            .as_array()
            .is_some_and(|p| !p.is_empty());
        // The preview runs `previewReplicaCount` pods until it is promoted, then all of them.
        let promoting = auto || (st["controllerPause"] == true && !paused);
        let target = match bg["previewReplicaCount"].as_i64() {
            Some(count) if !promoting => count.min(replicas),
            _ => replicas,
        };
        let pre_promotion = bg["prePromotionAnalysis"]["templates"][0]["templateName"]
            .as_str()
            .map(str::to_owned);
        self.scale(preview_key, target);
        if preview_rs["status"]["availableReplicas"]
            .as_i64()
            .unwrap_or(0)
            < target
            || ro["spec"]["paused"] == true
        {
            return;
        }
        if let Some(template) = pre_promotion {
            // Pre-promotion analysis of the preview: promotion waits for it, a failure aborts.
            let run_name = format!(
                "{}-{hash}-{}-pre{}",
                ro["metadata"]["name"].as_str().unwrap_or(""),
                ro["metadata"]["annotations"][REVISION_ANNOTATION]
                    .as_str()
                    .unwrap_or("0"),
                attempt_suffix(ro)
            );
            let phase = self.ensure_analysis_run(ro, &run_name, &template, 10);
            st["blueGreen"]["prePromotionAnalysisRunStatus"] =
                json!({"name": run_name, "status": phase});
            match phase.as_str() {
                "Successful" => {}
                "Failed" | "Error" => {
                    self.abort_for(ro, st, &run_name);
                    return;
                }
                _ => {
                    if !auto && !paused && st["controllerPause"] != true {
                        st["pauseConditions"] = json!([{"reason": "BlueGreenPause", "startTime": self.now.to_string()}]);
                        st["controllerPause"] = json!(true);
                    }
                    return;
                }
            }
        }
        if paused {
            return;
        }
        if !auto && st["controllerPause"] != true {
            st["pauseConditions"] =
                json!([{"reason": "BlueGreenPause", "startTime": self.now.to_string()}]);
            st["controllerPause"] = json!(true);
            return;
        }
        // Promoted (or automatic): switch the active service; old pods go after a delay.
        st["controllerPause"] = json!(false);
        st["blueGreen"]["activeSelector"] = json!(hash);
        st["stableRS"] = json!(hash);
        let deadline = (self.now + SignedDuration::from_secs(30)).to_string();
        let (ns, uid) = ns_uid(ro);
        for (k, mut rs) in self.children(Kind::ReplicaSet, &ns, &uid) {
            if rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] != hash
                && rs["spec"]["replicas"].as_i64().unwrap_or(0) > 0
            {
                rs["metadata"]["annotations"]["scale-down-deadline"] = json!(deadline);
                self.put(rs);
                let _ = k;
            }
        }
        ro["metadata"]["annotations"][CYCLE_ANNOTATION.to_owned() + "-since"] =
            json!(self.now.to_string());
    }

    /// The rollout's experiment for the step at `idx` of the current update: creates it with
    /// its ReplicaSets (templates from the stable or the canary pod template), starts its
    /// analyses once they are available, ends it after its duration, and returns its phase.
    fn ensure_experiment(
        &mut self,
        ro: &Value,
        st: &Value,
        name: &str,
        step: &Value,
        stable_template: Option<Value>,
    ) -> String {
        let (ns, _) = ns_uid(ro);
        let key = (Kind::Experiment, ns.clone(), name.to_owned());
        let revision = ro["metadata"]["annotations"][REVISION_ANNOTATION].clone();
        let Some(mut exp) = self.objects.get(&key).cloned() else {
            let templates: Vec<Value> = step["templates"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut t| {
                    let mut template = match t["specRef"].as_str() {
                        Some("stable") => stable_template
                            .clone()
                            .unwrap_or_else(|| ro["spec"]["template"].clone()),
                        _ => ro["spec"]["template"].clone(),
                    };
                    let label = format!(
                        "{}-{}",
                        ro["metadata"]["name"].as_str().unwrap_or(""),
                        t["name"].as_str().unwrap_or("")
                    );
                    template["metadata"]["labels"] = json!({"app": label});
                    let hash = template_hash(&template);
                    template["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] = json!(hash);
                    t["replicas"] = json!(t["replicas"].as_i64().unwrap_or(1));
                    t["selector"] = json!({"matchLabels": {"app": label}});
                    t["template"] = template;
                    t
                })
                .collect();
            let exp = json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Experiment",
                "metadata": {
                    "name": name, "namespace": ns, "generation": 1,
                    "labels": {POD_TEMPLATE_HASH_LABEL: st["currentPodHash"].clone()},
                    "annotations": {REVISION_ANNOTATION: revision},
                    "ownerReferences": [owner(ro)],
                },
                "spec": {"duration": step["duration"].clone(), "templates": templates,
                         "analyses": step["analyses"].clone()},
                "status": {"phase": "Pending"},
            });
            self.put(exp.clone());
            let exp = self.objects.get(&key).cloned().unwrap_or(exp);
            for t in exp["spec"]["templates"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let template = t["template"].clone();
                let rs = json!({
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": format!("{name}-{}", t["name"].as_str().unwrap_or("")),
                        "namespace": ns,
                        "generation": 1,
                        "labels": template["metadata"]["labels"].clone(),
                        "annotations": {EXPERIMENT_NAME_ANNOTATION: name,
                                        EXPERIMENT_TEMPLATE_ANNOTATION: t["name"].clone()},
                        "ownerReferences": [owner(&exp)],
                    },
                    "spec": {"replicas": t["replicas"].clone(), "selector": t["selector"].clone(),
                             "template": template},
                    "status": {"replicas": 0, "availableReplicas": 0, "readyReplicas": 0, "observedGeneration": 1},
                });
                self.put(rs);
            }
            return "Pending".to_owned();
        };
        let phase = exp["status"]["phase"]
            .as_str()
            .unwrap_or("Pending")
            .to_owned();
        if !matches!(phase.as_str(), "Pending" | "Running") {
            return phase;
        }
        let exp_uid = exp["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let replica_sets: Vec<(ObjKey, bool)> = self
            .child_refs(Kind::ReplicaSet, &ns, &exp_uid)
            .map(|(k, rs)| {
                let available = rs["status"]["availableReplicas"].as_i64().unwrap_or(0)
                    >= rs["spec"]["replicas"].as_i64().unwrap_or(0);
                (k, available)
            })
            .collect();
        if phase == "Pending" {
            if replica_sets.iter().all(|(_, available)| *available) {
                exp["status"]["phase"] = json!("Running");
                exp["status"]["availableAt"] = json!(self.now.to_string());
                let mut runs = Vec::new();
                for analysis in exp["spec"]["analyses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                {
                    let analysis_name = analysis["name"].as_str().unwrap_or("analysis");
                    let run_name = format!("{name}-{analysis_name}");
                    let template = analysis["templateName"].as_str().unwrap_or("success-rate");
                    self.ensure_analysis_run_of(ro, &exp, &run_name, template, 0);
                    runs.push(
                        json!({"name": analysis_name, "analysisRun": run_name, "phase": "Running"}),
                    );
                }
                exp["status"]["analysisRuns"] = json!(runs);
                exp["status"]["message"] = json!(format!("Experiment \"{name}\" is running."));
            }
        } else {
            let runs: Vec<String> = self
                .child_refs(Kind::AnalysisRun, &ns, &exp_uid)
                .map(|(_, run)| {
                    run["status"]["phase"]
                        .as_str()
                        .unwrap_or("Running")
                        .to_owned()
                })
                .collect();
            let ended = exp["spec"]["duration"]
                .as_str()
                .and_then(parse_duration)
                .zip(
                    exp["status"]["availableAt"]
                        .as_str()
                        .and_then(|t| t.parse::<Timestamp>().ok()),
                )
                .is_some_and(|(duration, at)| self.now.duration_since(at) >= duration);
            if runs.iter().any(|p| p == "Failed" || p == "Error") {
                exp["status"]["phase"] = json!("Failed");
                exp["status"]["message"] = json!("An analysis of the experiment failed");
            } else if ended {
                exp["status"]["phase"] = json!("Successful");
                exp["status"]["message"] = json!("Experiment completed its duration");
            }
            if exp["status"]["phase"] != "Running" {
                self.stop_experiment_children(&ns, &exp_uid);
            }
        }
        let phase = exp["status"]["phase"]
            .as_str()
            .unwrap_or("Pending")
            .to_owned();
        self.put_if_changed(&key, exp);
        phase
    }

    /// Ends the rollout's experiments other than `keep` that are still going, as the controller
    /// does when their step is left (promoted past, aborted, fully promoted): `spec.terminate`,
    /// ReplicaSets scaled to zero, runs terminated.
    fn end_experiments(&mut self, ro: &Value, st: &mut Value, keep: Option<&str>) {
        let (ns, uid) = ns_uid(ro);
        let going: Vec<(ObjKey, Value)> = self
            .child_refs(Kind::Experiment, &ns, &uid)
            .filter(|(k, e)| {
                Some(k.2.as_str()) != keep
                    && e["spec"]["terminate"] != true
                    && matches!(e["status"]["phase"].as_str(), Some("Pending" | "Running"))
            })
            .map(|(k, e)| (k, e.clone()))
            .collect();
        for (key, mut exp) in going {
            let exp_uid = exp["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            exp["spec"]["terminate"] = json!(true);
            exp["status"]["phase"] = json!("Successful");
            exp["status"]["message"] = json!("Experiment terminated");
            bump_generation(&mut exp);
            self.put(exp);
            self.stop_experiment_children(&ns, &exp_uid);
            if st["canary"]["currentExperiment"] == key.2.as_str()
                && let Some(c) = st["canary"].as_object_mut()
            {
                c.remove("currentExperiment");
            }
        }
    }

    /// Scales an experiment's ReplicaSets to zero and terminates its running analysis runs.
    fn stop_experiment_children(&mut self, ns: &str, exp_uid: &str) {
        let rss: Vec<ObjKey> = self
            .child_refs(Kind::ReplicaSet, ns, exp_uid)
            .map(|(k, _)| k)
            .collect();
        for k in rss {
            self.scale(&k, 0);
        }
        let runs: Vec<(ObjKey, Value)> = self
            .child_refs(Kind::AnalysisRun, ns, exp_uid)
            .filter(|(_, run)| run["status"]["phase"] == "Running")
            .map(|(k, run)| (k, run.clone()))
            .collect();
        for (_, mut run) in runs {
            run["spec"]["terminate"] = json!(true);
            run["status"]["phase"] = json!("Successful");
            run["status"]["message"] = json!("Run Terminated");
            self.put(run);
        }
    }

    /// Creates the run (owned by the rollout) if missing and returns its phase.
    fn ensure_analysis_run(
        &mut self,
        ro: &Value,
        name: &str,
        template: &str,
        count: i64,
    ) -> String {
        self.ensure_analysis_run_of(ro, ro, name, template, count)
    }

    /// Creates the run of `ro`'s update, owned by `owner_obj` (the rollout or one of its
    /// experiments), if missing and returns its phase. `count` 0: no limit.
    fn ensure_analysis_run_of(
        &mut self,
        ro: &Value,
        owner_obj: &Value,
        name: &str,
        template: &str,
        count: i64,
    ) -> String {
        let ns = ro["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let key = (Kind::AnalysisRun, ns.clone(), name.to_owned());
        if let Some(run) = self.objects.get(&key) {
            return run["status"]["phase"]
                .as_str()
                .unwrap_or("Pending")
                .to_owned();
        }
        let revision = ro["metadata"]["annotations"][REVISION_ANNOTATION].clone();
        let (condition, failure) = if template.contains("error-rate") {
            ("result[0] <= 0.05", "result[0] > 0.05")
        } else {
            ("result[0] >= 0.95", "result[0] < 0.90")
        };
        let run = json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "metadata": {
                "name": name, "namespace": ns,
                "labels": {POD_TEMPLATE_HASH_LABEL: ro["status"]["currentPodHash"].clone(),
                           "demo.rollouts-dashboard/template": template},
                "annotations": {REVISION_ANNOTATION: revision},
                "ownerReferences": [owner(owner_obj)],
            },
            "spec": {
                "args": [
                    {"name": "service", "value": ro["metadata"]["name"].clone()},
                    {"name": "api-token", "valueFrom": {"secretKeyRef": {"name": "metrics-token", "key": "token"}}}
                ],
                "metrics": [{
                    "name": template,
                    "interval": "3s",
                    "count": if count > 0 { json!(count) } else { Value::Null },
                    "successCondition": condition,
                    "failureCondition": failure,
                    "failureLimit": 0,
                    "provider": {"web": {"url": "http://metrics.demo.svc/api/{{args.service}}", "jsonPath": "{$.value}"}}
                }]
            },
            "status": {"phase": "Running", "startedAt": self.now.to_string(),
                       "metricResults": [{"name": template, "phase": "Running", "count": 0,
                                          "successful": 0, "failed": 0, "measurements": []}]}
        });
        self.put(run);
        "Running".to_owned()
    }

    fn reconcile_analysis_runs(&mut self) {
        // Every running run, whatever its rollout: a rollout with one is never settled.
        let runs: Vec<(ObjKey, Value)> = self
            .keys_of(Kind::AnalysisRun)
            .filter_map(|k| {
                let run = &self.objects[k];
                (run["status"]["phase"] == "Running").then(|| (k.clone(), run.clone()))
            })
            .collect();
        for (key, mut run) in runs {
            let metric = run["spec"]["metrics"][0].clone();
            let template = metric["name"].as_str().unwrap_or_default().to_owned();
            let result = &mut run["status"]["metricResults"][0];
            let measurements = result["measurements"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let last = measurements
                .last()
                .and_then(|m| m["finishedAt"].as_str())
                .and_then(|t| t.parse::<Timestamp>().ok());
            if last.is_some_and(|t| self.now.duration_since(t) < SignedDuration::from_secs(3)) {
                continue;
            }
            // The measurement's number (the list keeps the last 60; the count goes on).
            let n = result["count"]
                .as_u64()
                .unwrap_or(measurements.len() as u64);
            let failing = template == FAILING_TEMPLATE;
            let value = sample(&key.2, n, &template, failing);
            let passed = if template.contains("error-rate") {
                value <= 0.05
            } else {
                value >= 0.95
            };
            let failed = if template.contains("error-rate") {
                value > 0.05
            } else {
                value < 0.90
            };
            let phase = if failed {
                "Failed"
            } else if passed {
                "Successful"
            } else {
                "Inconclusive"
            };
            let started = (self.now - SignedDuration::from_secs(1)).to_string();
            let mut list = measurements;
            // Keep the chart readable and the object small: the last 60 measurements.
            if list.len() >= 60 {
                list.remove(0);
            }
            list.push(json!({"phase": phase, "value": format!("[{value:.3}]"),
                "startedAt": started, "finishedAt": self.now.to_string()}));
            result["measurements"] = json!(list);
            let bump = |r: &mut Value, field: &str| {
                r[field] = json!(r[field].as_i64().unwrap_or(0) + 1);
            };
            bump(result, "count");
            match phase {
                "Successful" => bump(result, "successful"),
                "Failed" => bump(result, "failed"),
                _ => bump(result, "inconclusive"),
            }
            let count_limit = metric["count"].as_i64();
            if failed {
                let msg = format!(
                    "Metric \"{template}\" assessed Failed due to failed ({}) > failureLimit (0)",
                    result["failed"]
                );
                result["phase"] = json!("Failed");
                result["message"] = json!(msg.clone());
                run["status"]["phase"] = json!("Failed");
                run["status"]["message"] = json!(msg);
            } else if count_limit.is_some_and(|c| result["count"].as_i64().unwrap_or(0) >= c) {
                result["phase"] = json!("Successful");
                run["status"]["phase"] = json!("Successful");
            }
            self.put(run);
        }
    }

    /// Scales the pods of the ReplicaSets of `rollouts` (in key order across all of them,
    /// as pod names draw from one serial) and starts the pending ones.
    fn reconcile_pods(&mut self, rollouts: &[ObjKey]) {
        let mut keys: BTreeSet<ObjKey> = BTreeSet::new();
        for ro in rollouts {
            if let Some(uid) = self.objects.get(ro).map(|o| ns_uid(o).1) {
                keys.extend(
                    self.child_refs(Kind::ReplicaSet, &ro.1, &uid)
                        .map(|(key, _)| key),
                );
                // An experiment's ReplicaSets are owned by the experiment.
                for (_, exp) in self.child_refs(Kind::Experiment, &ro.1, &uid) {
                    let exp_uid = exp["metadata"]["uid"].as_str().unwrap_or_default();
                    keys.extend(
                        self.child_refs(Kind::ReplicaSet, &ro.1, exp_uid)
                            .map(|(key, _)| key),
                    );
                }
            }
        }
        // Objects are read in place and copied only to be written: most ticks write nothing.
        for key in keys {
            let Some(rs) = self.objects.get(&key) else {
                continue;
            };
            let desired = rs["spec"]["replicas"].as_i64().unwrap_or(0);
            let generation = rs["metadata"]["generation"].as_i64().unwrap_or(1);
            let uid = rs["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            // (pod, Some(creation time) while Pending); in key order, as `children` gives them.
            let mut pods: Vec<(ObjKey, Option<Timestamp>)> = self
                .child_refs(Kind::Pod, &key.1, &uid)
                .map(|(k, pod)| {
                    let pending = (pod["status"]["phase"] == "Pending").then(|| {
                        pod["metadata"]["creationTimestamp"]
                            .as_str()
                            .and_then(|t| t.parse::<Timestamp>().ok())
                            .unwrap_or(self.now)
                    });
                    (k, pending)
                })
                .collect();
            let mut running =
                pods.len() - pods.iter().filter(|(_, pending)| pending.is_some()).count();
            while (pods.len() as i64) > desired {
                if let Some((k, pending)) = pods.pop() {
                    if pending.is_none() {
                        running -= 1;
                    }
                    self.remove(&k);
                }
            }
            while (pods.len() as i64) < desired {
                let Some(rs) = self.objects.get(&key).cloned() else {
                    break;
                };
                let pod = new_pod(&rs, &self.pod_suffix(&key.2));
                let created = self.now;
                let k = self.put(pod);
                pods.push((k, Some(created)));
            }
            for (k, pending) in pods {
                let Some(created) = pending else {
                    continue;
                };
                if self.now.duration_since(created) < POD_START {
                    continue;
                }
                let Some(mut pod) = self.objects.get(&k).cloned() else {
                    continue;
                };
                let name = pod["spec"]["containers"][0]["name"].clone();
                pod["status"] = json!({
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": name, "ready": true, "restartCount": 0, "started": true,
                        "state": {"running": {"startedAt": self.now.to_string()}}}]
                });
                if let Some(init) = pod["spec"]["initContainers"].as_array() {
                    // Init containers ran to completion; sidecars (restartPolicy Always) run on.
                    let started = json!(self.now.to_string());
                    let statuses: Vec<Value> = init
                        .iter()
                        .map(|c| {
                            let sidecar = c["restartPolicy"] == "Always";
                            let state = if sidecar {
                                json!({"running": {"startedAt": started}})
                            } else {
                                json!({"terminated": {"reason": "Completed", "exitCode": 0,
                                                      "startedAt": started}})
                            };
                            json!({"name": c["name"], "ready": sidecar, "restartCount": 0,
                                   "started": sidecar, "state": state})
                        })
                        .collect();
                    pod["status"]["initContainerStatuses"] = json!(statuses);
                }
                self.put_if_changed(&k, pod);
                running += 1;
            }
            let status = json!({
                "replicas": desired.max(0),
                "readyReplicas": running,
                "availableReplicas": running,
                "observedGeneration": generation,
            });
            if let Some(rs) = self.objects.get(&key)
                && rs["status"] != status
            {
                let mut rs = rs.clone();
                rs["status"] = status;
                self.put(rs);
            }
        }
    }

    fn pod_suffix(&mut self, rs_name: &str) -> String {
        self.serial += 1;
        let mut h = DefaultHasher::new();
        (rs_name, self.serial).hash(&mut h);
        let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
        let mut x = h.finish();
        (0..5)
            .map(|_| {
                let c = alphabet[(x % alphabet.len() as u64) as usize] as char;
                x /= alphabet.len() as u64;
                c
            })
            .collect()
    }

    fn update_rollout_counts(&mut self, key: &ObjKey) {
        let Some(mut ro) = self.objects.get(key).cloned() else {
            return;
        };
        let uid = ro["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let hash = ro["status"]["currentPodHash"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (mut total, mut ready, mut updated, mut updated_available) = (0, 0, 0, 0);
        for (_, rs) in self.child_refs(Kind::ReplicaSet, &key.1, &uid) {
            let r = rs["status"]["replicas"].as_i64().unwrap_or(0);
            let a = rs["status"]["availableReplicas"].as_i64().unwrap_or(0);
            total += r;
            ready += a;
            if rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] == hash.as_str() {
                updated += r;
                updated_available += a;
            }
        }
        let _ = updated_available;
        let st = &mut ro["status"];
        st["replicas"] = json!(total);
        st["readyReplicas"] = json!(ready);
        st["availableReplicas"] = json!(ready);
        st["updatedReplicas"] = json!(updated);
        st["HPAReplicas"] = json!(total);
        self.put_if_changed(key, ro);
    }
}

/// The uids an object's ownerReferences name.
fn owner_uids(obj: &Value) -> impl Iterator<Item = &str> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["uid"].as_str())
}

/// Sets the rollout's single condition, keeping the old one (and its timestamps) when only
/// the time would change: the controller stamps transitions, and a condition re-stamped on
/// every tick would make every settled rollout change every second.
fn set_condition(st: &mut Value, condition: Value) {
    let unchanged = st["conditions"].as_array().is_some_and(|list| {
        list.len() == 1
            && ["type", "status", "reason", "message"]
                .iter()
                .all(|f| list[0][*f] == condition[*f])
    });
    if !unchanged {
        st["conditions"] = json!([condition]);
    }
}

/// An object's namespace and uid.
fn ns_uid(obj: &Value) -> (String, String) {
    let field = |f: &str| obj["metadata"][f].as_str().unwrap_or_default().to_owned();
    (field("namespace"), field("uid"))
}

/// Timestamps with whole seconds, as the API server writes them.
fn whole_seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

fn attempt_suffix(ro: &Value) -> String {
    match ro["metadata"]["annotations"][ATTEMPT_ANNOTATION].as_str() {
        Some(attempt) => format!("-retry{attempt}"),
        None => String::new(),
    }
}

fn bump_generation(obj: &mut Value) {
    let generation = obj["metadata"]["generation"].as_i64().unwrap_or(1);
    obj["metadata"]["generation"] = json!(generation + 1);
}

fn owner(obj: &Value) -> Value {
    json!({
        "apiVersion": obj["apiVersion"].clone(),
        "kind": obj["kind"].clone(),
        "name": obj["metadata"]["name"].clone(),
        "uid": obj["metadata"]["uid"].clone(),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, now: Timestamp) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": now.to_string(), "lastUpdateTime": now.to_string()})
}

fn short_hash(value: &Value) -> String {
    let mut h = DefaultHasher::new();
    value.to_string().hash(&mut h);
    format!("{:08x}", h.finish() as u32)
}

/// A stable 10-character hash of a pod template, like the controller's pod-template-hash.
pub fn template_hash(template: &Value) -> String {
    let mut h = DefaultHasher::new();
    template.to_string().hash(&mut h);
    let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = h.finish();
    (0..10)
        .map(|_| {
            let c = alphabet[(x % alphabet.len() as u64) as usize] as char;
            x /= alphabet.len() as u64;
            c
        })
        .collect()
}

fn replica_set(ro: &Value, hash: &str, revision: i64, replicas: i64) -> Value {
    let name = format!("{}-{hash}", ro["metadata"]["name"].as_str().unwrap_or(""));
    let mut template = ro["spec"]["template"].clone();
    template["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] = json!(hash);
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": ro["metadata"]["namespace"].clone(),
            "generation": 1,
            "labels": template["metadata"]["labels"].clone(),
            "annotations": {REVISION_ANNOTATION: revision.to_string()},
            "ownerReferences": [owner(ro)],
        },
        "spec": {"replicas": replicas, "template": template},
        "status": {"replicas": 0, "availableReplicas": 0, "readyReplicas": 0, "observedGeneration": 1},
    })
}

fn new_pod(rs: &Value, suffix: &str) -> Value {
    let name = format!("{}-{suffix}", rs["metadata"]["name"].as_str().unwrap_or(""));
    let containers = rs["spec"]["template"]["spec"]["containers"].clone();
    let first = containers[0]["name"].clone();
    let init = &rs["spec"]["template"]["spec"]["initContainers"];
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": rs["metadata"]["namespace"].clone(),
            "labels": rs["spec"]["template"]["metadata"]["labels"].clone(),
            "ownerReferences": [owner(rs)],
        },
        "spec": {"containers": containers, "nodeName": "demo-node-1"},
        "status": {"phase": "Pending", "containerStatuses": [{"name": first, "ready": false,
            "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]},
    });
    if let Some(list) = init.as_array() {
        pod["spec"]["initContainers"] = init.clone();
        pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] =
            json!("PodInitializing");
        pod["status"]["initContainerStatuses"] = list
            .iter()
            .map(|c| {
                json!({"name": c["name"], "ready": false, "restartCount": 0,
                            "state": {"waiting": {"reason": "PodInitializing"}}})
            })
            .collect();
    }
    pod
}

/// The experiment a canary's experiment step at `idx` runs, named as the controller names it:
/// `<rollout>-<pod hash>-<revision>-<step>`.
fn experiment_name(ro: &Value, st: &Value, idx: usize) -> String {
    format!(
        "{}-{}-{}-{idx}{}",
        ro["metadata"]["name"].as_str().unwrap_or(""),
        st["currentPodHash"].as_str().unwrap_or(""),
        ro["metadata"]["annotations"][REVISION_ANNOTATION]
            .as_str()
            .unwrap_or("0"),
        attempt_suffix(ro)
    )
}

/// What the controller's validation says of a spec it refuses, as the `InvalidSpec`
/// condition's message; only the checks the demo needs (a canary weight out of range).
fn invalid_spec(ro: &Value) -> Option<String> {
    let steps = ro["spec"]["strategy"]["canary"]["steps"].as_array()?;
    steps.iter().enumerate().find_map(|(i, step)| {
        let weight = step["setWeight"].as_i64()?;
        (!(0..=100).contains(&weight)).then(|| {
            format!(
                "The Rollout \"{}\" is invalid: spec.strategy.canary.steps[{i}].setWeight: Invalid value: {weight}: SetWeight needs to be between 0 and 100",
                ro["metadata"]["name"].as_str().unwrap_or("")
            )
        })
    })
}

/// A deterministic measurement: healthy values hover near the target, failing ones drift
/// past the failure threshold after a couple of measurements.
fn sample(run: &str, n: u64, template: &str, failing: bool) -> f64 {
    let mut h = DefaultHasher::new();
    (run, n).hash(&mut h);
    let noise = (h.finish() % 1000) as f64 / 1000.0; // 0..1
    match (template.contains("error-rate"), failing) {
        (true, true) => 0.01 + 0.04 * n as f64 + 0.01 * noise,
        (true, false) => 0.005 + 0.02 * noise,
        (false, _) => 0.955 + 0.04 * noise,
    }
}

fn next_version(image: &str) -> String {
    // Bump the last number of the tag; images without a tag get one.
    let (repo, tag) = match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "1.0.0"),
    };
    let mut parts: Vec<String> = tag.split('.').map(str::to_owned).collect();
    if let Some(last) = parts.last_mut() {
        *last = last
            .parse::<u64>()
            .map(|n| (n + 1).to_string())
            .unwrap_or_else(|_| "1".into());
    }
    format!("{repo}:{}", parts.join("."))
}

/// Parses Argo durations like `30s`, `5m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<SignedDuration> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i64>() {
        return Some(SignedDuration::from_secs(n));
    }
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = number.parse().ok()?;
    match unit {
        "s" => Some(SignedDuration::from_secs(n)),
        "m" => Some(SignedDuration::from_mins(n)),
        "h" => Some(SignedDuration::from_hours(n)),
        _ => None,
    }
}

fn rollout(
    ns: &str,
    name: &str,
    image: &str,
    replicas: i64,
    strategy: Value,
    cycle: bool,
) -> Value {
    let container = name.split('-').next().unwrap_or(name);
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {
            "name": name, "namespace": ns, "generation": 1,
            "labels": {"app": name, "team": ns.trim_start_matches("demo-")},
            "annotations": if cycle { json!({CYCLE_ANNOTATION: "true"}) } else { json!({}) },
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": container, "image": image}]},
            },
        },
        "status": {},
    })
}

fn scenarios() -> Vec<Value> {
    vec![
        rollout(
            "demo-shop",
            "checkout-api",
            "ghcr.io/demo/checkout-api:2.3.9",
            5,
            json!({"canary": {"steps": [
                {"setWeight": 20}, {"pause": {}}, {"setWeight": 40}, {"pause": {"duration": "30s"}},
                {"setWeight": 60}, {"pause": {"duration": "30s"}}, {"setWeight": 80}, {"pause": {"duration": "30s"}}
            ]}}),
            false,
        ),
        rollout(
            "demo-shop",
            "storefront",
            "ghcr.io/demo/storefront:7.1.2",
            4,
            json!({"canary": {"steps": [
                {"setWeight": 25}, {"pause": {"duration": "20s"}}, {"setWeight": 50}, {"pause": {"duration": "20s"}},
                {"setWeight": 75}, {"pause": {"duration": "15s"}}
            ]}}),
            true,
        ),
        rollout(
            "demo-payments",
            "payments-gateway",
            "ghcr.io/demo/payments-gateway:3.0.0",
            5,
            json!({"canary": {"steps": [
                {"setWeight": 20}, {"analysis": {"templates": [{"templateName": "success-rate"}]}},
                {"setWeight": 60}, {"pause": {"duration": "20s"}}
            ]}}),
            true,
        ),
        rollout(
            "demo-payments",
            "ledger",
            "registry.internal:5000/payments/ledger:2026.11.1",
            3,
            json!({"blueGreen": {
                "activeService": "ledger-active", "previewService": "ledger-preview", "autoPromotionEnabled": false,
                "scaleDownDelaySeconds": 30
            }}),
            false,
        ),
        rollout(
            "demo-search",
            "search-indexer",
            "ghcr.io/demo/search-indexer:1.8.4",
            4,
            json!({"canary": {
                "analysis": {"templates": [{"templateName": FAILING_TEMPLATE}]},
                "steps": [{"setWeight": 10}, {"pause": {}}]
            }}),
            false,
        ),
        rollout(
            "demo-search",
            "query-frontend",
            "ghcr.io/demo/query-frontend:5.2.0",
            3,
            json!({"canary": {"steps": [
                {"setWeight": 50}, {"pause": {"duration": "10s"}}
            ]}}),
            false,
        ),
        // A canary at an experiment step: baseline and canary ReplicaSets side by side, with an
        // analysis comparing them, for an hour.
        rollout(
            "demo-shop",
            "recommendations",
            "ghcr.io/demo/recommendations:5.0.3",
            5,
            json!({"canary": {"steps": [
                {"setWeight": 20},
                {"experiment": {"duration": "1h",
                    "templates": [{"name": "baseline", "specRef": "stable", "replicas": 1},
                                  {"name": "canary", "specRef": "canary", "replicas": 1}],
                    "analyses": [{"name": "success-rate", "templateName": "success-rate"}]}},
                {"setWeight": 60}, {"pause": {}}
            ]}}),
            false,
        ),
        // Init containers: a schema migration and a sidecar (restartPolicy Always).
        with_init_containers(rollout(
            "demo-shop",
            "cart",
            "ghcr.io/demo/cart:4.2.0",
            2,
            json!({"canary": {"steps": [{"setWeight": 50}, {"pause": {"duration": "10s"}}]}}),
            false,
        )),
        // A blue-green whose preview (one pod until promotion) passes a pre-promotion analysis
        // and then waits for a person.
        rollout(
            "demo-payments",
            "fraud-check",
            "ghcr.io/demo/fraud-check:2.7.4",
            3,
            json!({"blueGreen": {
                "activeService": "fraud-check-active", "previewService": "fraud-check-preview",
                "autoPromotionEnabled": false, "previewReplicaCount": 1, "scaleDownDelaySeconds": 30,
                "prePromotionAnalysis": {"templates": [{"templateName": "success-rate"}]}
            }}),
            false,
        ),
        // Paused by a person in the middle of an update (seeded_from pauses it).
        rollout(
            "demo-search",
            "ranking",
            "ghcr.io/demo/ranking:0.14.2",
            4,
            json!({"canary": {"steps": [
                {"setWeight": 25}, {"setWeight": 50}, {"pause": {"duration": "1m"}}, {"setWeight": 75}
            ]}}),
            false,
        ),
        // Scaled to zero.
        rollout(
            "demo-search",
            "legacy-search",
            "ghcr.io/demo/legacy-search:0.9.8",
            0,
            json!({"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}),
            false,
        ),
        // Deployed, then given a step the controller refuses (seeded_from breaks it).
        rollout(
            "demo-payments",
            "refunds",
            "ghcr.io/demo/refunds:1.4.1",
            2,
            json!({"canary": {"steps": [
                {"setWeight": 20}, {"setWeight": 60}, {"pause": {}}
            ]}}),
            false,
        ),
    ]
}

/// `ro` with init containers in its pod template.
fn with_init_containers(mut ro: Value) -> Value {
    ro["spec"]["template"]["spec"]["initContainers"] = json!([
        {"name": "migrate-schema", "image": "ghcr.io/demo/cart-migrations:4.2.0"},
        {"name": "config-agent", "image": "ghcr.io/demo/config-agent:1.3.1", "restartPolicy": "Always"}
    ]);
    ro
}

/// `extra` small canaries in `demo-fleet`, one in four shipping versions by itself.
fn extra_rollouts(extra: usize) -> Vec<Value> {
    (1..=extra)
        .map(|i| {
            rollout(
                "demo-fleet",
                &format!("svc-{i:02}"),
                &format!("ghcr.io/demo/svc-{i:02}:1.{i}.0"),
                1 + (i as i64 % 3),
                json!({"canary": {"steps": [{"setWeight": 50}, {"pause": {"duration": format!("{}s", 10 + i % 20)}}]}}),
                i % 4 == 0,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> DemoWorld {
        DemoWorld::seeded("2026-11-26T12:00:00Z".parse().unwrap(), 3)
    }

    fn rollout_status(w: &DemoWorld, ns: &str, name: &str) -> Value {
        w.objects[&(Kind::Rollout, ns.to_owned(), name.to_owned())]["status"].clone()
    }

    #[test]
    fn seeded_world_shows_every_scenario() {
        let w = world();
        let checkout = rollout_status(&w, "demo-shop", "checkout-api");
        assert_eq!(checkout["currentStepIndex"], 1, "{checkout}");
        assert_eq!(checkout["pauseConditions"][0]["reason"], "CanaryPauseStep");
        let ledger = rollout_status(&w, "demo-payments", "ledger");
        assert_eq!(
            ledger["pauseConditions"][0]["reason"], "BlueGreenPause",
            "{ledger}"
        );
        let indexer = rollout_status(&w, "demo-search", "search-indexer");
        assert_eq!(indexer["abort"], true, "{indexer}");
        let gateway = rollout_status(&w, "demo-payments", "payments-gateway");
        assert_eq!(gateway["currentStepIndex"], 1, "{gateway}");
        assert_eq!(
            gateway["canary"]["currentStepAnalysisRunStatus"]["status"],
            "Running"
        );
        let healthy = rollout_status(&w, "demo-search", "query-frontend");
        assert_eq!(healthy["stableRS"], healthy["currentPodHash"]);
        let fleet = w
            .objects
            .keys()
            .filter(|k| k.0 == Kind::Rollout && k.1 == "demo-fleet")
            .count();
        assert_eq!(fleet, 3);
    }

    fn object(w: &DemoWorld, kind: Kind, ns: &str, name: &str) -> Value {
        w.objects[&key(kind, ns, name)].clone()
    }

    /// The states added for #15.12, each as the controller would leave it.
    #[test]
    fn seeded_world_shows_the_rarer_states() {
        let w = world();
        // An experiment step: the experiment (owned by the rollout) with a ReplicaSet per
        // template, each with a running pod, and a running analysis owned by the experiment.
        let ro = object(&w, Kind::Rollout, "demo-shop", "recommendations");
        let st = &ro["status"];
        assert_eq!(st["currentStepIndex"], 1, "{st}");
        let name = st["canary"]["currentExperiment"]
            .as_str()
            .unwrap()
            .to_owned();
        let exp = object(&w, Kind::Experiment, "demo-shop", &name);
        assert_eq!(exp["status"]["phase"], "Running", "{exp}");
        assert_eq!(
            exp["metadata"]["ownerReferences"][0]["uid"],
            ro["metadata"]["uid"]
        );
        let exp_uid = exp["metadata"]["uid"].as_str().unwrap();
        let rss = w.children(Kind::ReplicaSet, "demo-shop", exp_uid);
        assert_eq!(rss.len(), 2, "{rss:?}");
        for (_, rs) in &rss {
            assert_eq!(rs["status"]["availableReplicas"], 1, "{rs}");
        }
        let runs = w.children(Kind::AnalysisRun, "demo-shop", exp_uid);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].1["status"]["phase"], "Running");
        // Past the 60 measurements kept, the values still vary.
        let result = &runs[0].1["status"]["metricResults"][0];
        assert!(result["count"].as_i64().unwrap() > 60, "{result}");
        let values: BTreeSet<String> = result["measurements"].as_array().unwrap()[50..]
            .iter()
            .map(|m| m["value"].to_string())
            .collect();
        assert!(values.len() > 1, "{values:?}");
        // Init containers in the template and in the pods, completed (and the sidecar running).
        let cart = object(&w, Kind::Rollout, "demo-shop", "cart");
        assert_eq!(
            cart["spec"]["template"]["spec"]["initContainers"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let pods: Vec<Value> = w
            .keys_of(Kind::Pod)
            .filter(|k| k.1 == "demo-shop" && k.2.starts_with("cart-"))
            .map(|k| w.objects[k].clone())
            .collect();
        assert_eq!(pods.len(), 2);
        let init = &pods[0]["status"]["initContainerStatuses"];
        assert_eq!(
            init[0]["state"]["terminated"]["reason"], "Completed",
            "{init}"
        );
        assert!(init[1]["state"]["running"].is_object(), "{init}");
        // Blue-green: a one-pod preview, a successful pre-promotion analysis, waiting.
        let fraud = rollout_status(&w, "demo-payments", "fraud-check");
        assert_eq!(
            fraud["pauseConditions"][0]["reason"], "BlueGreenPause",
            "{fraud}"
        );
        let pre = &fraud["blueGreen"]["prePromotionAnalysisRunStatus"];
        assert_eq!(pre["status"], "Successful", "{fraud}");
        let preview = fraud["blueGreen"]["previewSelector"].as_str().unwrap();
        assert_ne!(Some(preview), fraud["blueGreen"]["activeSelector"].as_str());
        let preview_rs = object(
            &w,
            Kind::ReplicaSet,
            "demo-payments",
            &format!("fraud-check-{preview}"),
        );
        assert_eq!(preview_rs["spec"]["replicas"], 1);
        // Paused by a person mid-update.
        let ranking = object(&w, Kind::Rollout, "demo-search", "ranking");
        assert_eq!(ranking["spec"]["paused"], true);
        assert_ne!(
            ranking["status"]["stableRS"],
            ranking["status"]["currentPodHash"]
        );
        assert_eq!(
            ranking["status"]["observedGeneration"],
            ranking["metadata"]["generation"].to_string()
        );
        // Zero replicas, healthy.
        let zero = rollout_status(&w, "demo-search", "legacy-search");
        assert_eq!(
            (zero["replicas"].clone(), zero["availableReplicas"].clone()),
            (json!(0), json!(0))
        );
        assert_eq!(zero["stableRS"], zero["currentPodHash"]);
        // InvalidSpec: the condition names the step; the old version keeps running.
        let refunds = rollout_status(&w, "demo-payments", "refunds");
        let invalid = refunds["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "InvalidSpec")
            .unwrap_or_else(|| panic!("{refunds}"));
        assert!(
            invalid["message"]
                .as_str()
                .unwrap()
                .contains("steps[1].setWeight"),
            "{invalid}"
        );
        assert_eq!(refunds["availableReplicas"], 2);
    }

    /// Promoting past the experiment step ends the experiment (spec.terminate, ReplicaSets
    /// scaled to zero, run terminated) and the canary goes on.
    #[test]
    fn promoting_past_an_experiment_terminates_it() {
        let mut w = world();
        let ro_key = key(Kind::Rollout, "demo-shop", "recommendations");
        let mut ro = w.objects[&ro_key].clone();
        let name = ro["status"]["canary"]["currentExperiment"]
            .as_str()
            .unwrap()
            .to_owned();
        // What promote's rule 3 patches: the next step.
        ro["status"]["currentStepIndex"] = json!(2);
        w.put(ro);
        let now = w.now;
        w.advance_to(now + SignedDuration::from_secs(6), 1);
        let exp = object(&w, Kind::Experiment, "demo-shop", &name);
        assert_eq!(exp["spec"]["terminate"], true, "{exp}");
        let exp_uid = exp["metadata"]["uid"].as_str().unwrap();
        for (_, rs) in w.children(Kind::ReplicaSet, "demo-shop", exp_uid) {
            assert_eq!(rs["spec"]["replicas"], 0, "{rs}");
            assert_eq!(rs["status"]["replicas"], 0, "{rs}");
        }
        let runs = w.children(Kind::AnalysisRun, "demo-shop", exp_uid);
        assert_eq!(runs[0].1["status"]["phase"], "Successful");
        let st = rollout_status(&w, "demo-shop", "recommendations");
        assert!(st["currentStepIndex"].as_i64().unwrap() >= 3, "{st}");
        assert!(st["canary"]["currentExperiment"].is_null(), "{st}");
    }

    #[test]
    fn analysis_measurements_arrive_and_decide() {
        let mut w = world();
        let gateway = rollout_status(&w, "demo-payments", "payments-gateway");
        let run = gateway["canary"]["currentStepAnalysisRunStatus"]["name"]
            .as_str()
            .unwrap();
        let key = (
            Kind::AnalysisRun,
            "demo-payments".to_owned(),
            run.to_owned(),
        );
        let before = w.objects[&key]["status"]["metricResults"][0]["count"]
            .as_i64()
            .unwrap();
        let now = w.now;
        w.advance_to(now + SignedDuration::from_secs(7), 1);
        let after = w.objects[&key]["status"]["metricResults"][0]["count"]
            .as_i64()
            .unwrap();
        assert!(after > before, "{before} → {after}");
        w.advance_to(now + SignedDuration::from_secs(70), 1);
        assert_eq!(w.objects[&key]["status"]["phase"], "Successful");
        let gateway = rollout_status(&w, "demo-payments", "payments-gateway");
        assert!(
            gateway["currentStepIndex"].as_i64().unwrap() >= 2,
            "{gateway}"
        );
    }

    #[test]
    fn promote_by_clearing_pause_conditions_moves_on() {
        let mut w = world();
        let key = (
            Kind::Rollout,
            "demo-shop".to_owned(),
            "checkout-api".to_owned(),
        );
        let mut ro = w.objects[&key].clone();
        ro["status"]["pauseConditions"] = Value::Null;
        w.put(ro);
        let now = w.now;
        w.advance_to(now + SignedDuration::from_secs(5), 1);
        assert_eq!(
            rollout_status(&w, "demo-shop", "checkout-api")["currentStepIndex"],
            3
        );
    }

    #[test]
    fn idle_ticks_change_nothing_for_settled_rollouts() {
        let mut w = DemoWorld::seeded("2026-11-26T12:00:00Z".parse().unwrap(), 0);
        w.take_changes();
        w.tick();
        let changed: Vec<_> = w.take_changes().into_iter().map(|(k, _)| k).collect();
        assert!(
            !changed.iter().any(|k| k.2.starts_with("query-frontend")),
            "{changed:?}"
        );
    }

    fn key(kind: Kind, ns: &str, name: &str) -> ObjKey {
        (kind, ns.to_owned(), name.to_owned())
    }

    /// The same simulation, with every rollout reconciled on every tick.
    fn seeded_without_skipping(now: Timestamp, extra: usize) -> DemoWorld {
        let mut w = DemoWorld::new(now - SignedDuration::from_mins(10));
        w.never_skip();
        DemoWorld::seeded_from(w, now, extra)
    }

    /// Skipping settled rollouts is an optimisation only: the world evolves exactly as when
    /// every rollout is reconciled on every tick, through seeding, actions and cycles.
    #[test]
    fn skipping_settled_rollouts_changes_nothing() {
        let now: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let mut fast = DemoWorld::seeded(now, 40);
        let mut slow = seeded_without_skipping(now, 40);
        assert_eq!(fast.objects, slow.objects, "after seeding");
        assert!(
            fast.work.reconciles * 2 < slow.work.reconciles,
            "{:?} vs {:?}",
            fast.work,
            slow.work
        );
        for w in [&mut fast, &mut slow] {
            // Promote the paused canary, restart a settled fleet rollout now and another
            // later, pause one, and ship a version of a settled one.
            let mut ro = w.objects[&key(Kind::Rollout, "demo-shop", "checkout-api")].clone();
            ro["status"]["pauseConditions"] = Value::Null;
            w.put(ro);
            let at = (w.now + SignedDuration::from_secs(1)).to_string();
            let mut ro = w.objects[&key(Kind::Rollout, "demo-fleet", "svc-01")].clone();
            ro["spec"]["restartAt"] = json!(at);
            w.put(ro);
            let later = (w.now + SignedDuration::from_secs(40)).to_string();
            let mut ro = w.objects[&key(Kind::Rollout, "demo-fleet", "svc-02")].clone();
            ro["spec"]["restartAt"] = json!(later);
            w.put(ro);
            let mut ro = w.objects[&key(Kind::Rollout, "demo-fleet", "svc-03")].clone();
            ro["spec"]["paused"] = json!(true);
            w.put(ro);
            w.set_image("demo-fleet", "svc-05", "ghcr.io/demo/svc-05:9.9.9");
            w.take_changes();
        }
        for second in 1..=180 {
            let until = now + SignedDuration::from_secs(second);
            fast.advance_to(until, 1);
            slow.advance_to(until, 1);
            assert_eq!(fast.take_changes(), slow.take_changes(), "at +{second}s");
        }
        assert_eq!(fast.objects, slow.objects, "after three minutes");
        let restarted = &fast.objects[&key(Kind::Rollout, "demo-fleet", "svc-02")];
        assert!(!restarted["status"]["restartedAt"].is_null(), "{restarted}");
    }

    /// With 2,000 extra rollouts, seeding (ten simulated minutes) and each later second
    /// cost what the moving rollouts cost, not what every rollout costs: the old simulation
    /// reconciled all 2,006 rollouts on each of its ~210 seeding ticks (and searched every
    /// object for each one's children), and re-stamped every healthy rollout's condition on
    /// every tick, so each second changed ~2,000 objects.
    #[test]
    fn seeding_two_thousand_extras_is_bounded_work() {
        let now: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let started = std::time::Instant::now();
        let mut w = DemoWorld::seeded(now, 2000);
        let seeding = started.elapsed();
        let rollouts = w.keys_of(Kind::Rollout).count() as u64;
        assert_eq!(rollouts, 2012);
        let work = w.work;
        println!(
            "seeding 2,012 rollouts: {work:?}, {:.0} reconciles per tick, {:.2}s (unoptimised build)",
            work.reconciles as f64 / work.ticks as f64,
            seeding.as_secs_f64()
        );
        assert!(work.ticks >= 200, "{work:?}");
        // Every rollout is reconciled a few times until it settles; the 500 cycling ones
        // (simulated for two minutes) wake every ~25 s for a few ticks each.
        assert!(
            work.reconciles < 20 * rollouts,
            "{work:?}: {} reconciles per rollout",
            work.reconciles / rollouts
        );
        let before = w.work;
        let later = w.now + SignedDuration::from_secs(1);
        w.advance_to(later, 1);
        let changed = w.take_changes().len();
        let tick = DemoWork {
            ticks: w.work.ticks - before.ticks,
            reconciles: w.work.reconciles - before.reconciles,
            writes: w.work.writes - before.writes,
        };
        println!("one second later: {tick:?}, {changed} objects changed");
        assert!(changed < 300, "{changed} objects changed in one second");
        assert!(tick.reconciles < 600, "{tick:?}");
    }

    #[test]
    fn helpers() {
        assert_eq!(parse_duration("30s"), Some(SignedDuration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Some(SignedDuration::from_mins(2)));
        assert_eq!(parse_duration("15"), Some(SignedDuration::from_secs(15)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(next_version("a/b:1.2.3"), "a/b:1.2.4");
        assert_eq!(next_version("reg:5000/b"), "reg:5000/b:1.0.1");
        assert_eq!(template_hash(&json!({"a": 1})).len(), 10);
    }
}
