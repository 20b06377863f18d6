//! The simulated rollout controller: the tick over the rollouts that may change, the
//! reconcile of one rollout (new revisions, aborts, retries, full promotion, restarts,
//! history), and the bookkeeping that lets settled rollouts sleep. The strategies' steps
//! are in [`super::canary`] and [`super::bluegreen`].

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::objects::{
    bump_generation, condition, next_version, ns_uid, replica_set, short_hash, template_hash,
    whole_seconds,
};
use super::rollout::{
    PauseDuration, Spec, Step, Strategy, count_retry, cycle_since, cycles, revision,
    set_cycle_since, set_revision,
};
use super::status::Status;
use super::{CYCLE_IDLE, DemoWorld, HISTORY_LIMIT, ObjKey, POD_START};
use crate::model::{Kind, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION};

impl DemoWorld {
    /// Runs the simulation in steps of `step_secs` until the clock reaches `until`.
    pub fn advance_to(&mut self, until: Timestamp, step_secs: i64) {
        let until = whole_seconds(until);
        while self.now < until {
            self.now = (self.now + SignedDuration::from_secs(step_secs)).min(until);
            self.tick();
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
    pub(super) fn never_skip(&mut self) {
        self.skip_settled = false;
        self.settled.clear();
    }

    /// For a rollout whose tick changed nothing: `Some(wake-up time)` when only time (or
    /// nothing: `Some(None)`) can move it, `None` when it must be reconciled on every tick.
    /// Conservative: whatever waits on something timed that is not modelled here stays awake.
    pub(super) fn quiet_until(&self, key: &ObjKey) -> Option<Option<Timestamp>> {
        let ro = self.objects.get(key)?;
        let spec = Spec::read(ro);
        let (ns, uid) = ns_uid(ro);
        let st = Status::of(ro);
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
        if st.paused() {
            match spec.steps().get(st.step_index()) {
                Some(Step::Pause(PauseDuration::Timed(duration))) => {
                    wake_at(st.pause_started()? + *duration);
                }
                // Maybe something timed that the simulation does not read: stays awake.
                Some(Step::Pause(PauseDuration::Unreadable)) => return None,
                _ => {}
            }
        }
        // A restart scheduled for later.
        if let Some(at) = spec.restart_at.as_deref()
            && st.restarted_at() != Some(at)
        {
            wake_at(at.parse::<Timestamp>().ok()?);
        }
        // A cycling rollout ships its next version CYCLE_IDLE after the last one.
        if cycles(ro) {
            wake_at(cycle_since(ro)? + CYCLE_IDLE);
        }
        Some(wake)
    }

    /// Reconciles one rollout as the Argo controller would: a new pod template starts an update
    /// (a ReplicaSet and revision), then it is aborted, retried, fully promoted (maybe shipping
    /// the next version of a cycling rollout) or moved on by its strategy's steps.
    pub(super) fn reconcile_rollout(&mut self, key: &ObjKey) {
        let Some(mut ro) = self.objects.get(key).cloned() else {
            return;
        };
        let ns = key.namespace().to_owned();
        let name = key.name().to_owned();
        // The spec as it is now: the reconcile changes it only last (a cycling rollout's
        // next version), and reads it only before.
        let spec = Spec::read(&ro);
        let hash = template_hash(&ro["spec"]["template"]);
        let replicas = spec.replicas;
        let mut st = Status::of(&ro);
        if let Some(message) = spec.invalid(&name) {
            // As the controller: an invalid spec is not acted on; the condition says why.
            st.set_invalid_spec(&message, self.now);
            self.write_status(key, ro, st);
            return;
        }
        st.clear_invalid_spec();
        let first_deploy = st.stable_rs().is_none();

        // A new pod template: a new ReplicaSet and revision.
        if st.current_pod_hash() != Some(hash.as_str()) {
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
            set_revision(&mut ro, revision);
            st.start_update(
                &hash,
                &short_hash(&ro["spec"]["strategy"]),
                condition(
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    &format!("ReplicaSet \"{name}-{hash}\" is progressing."),
                    self.now,
                ),
            );
            match (&spec.strategy, first_deploy) {
                // As upstream: the first deploy goes straight to 100%.
                (Strategy::Canary(canary), true) => {
                    st.set_stable(&hash);
                    st.set_step_index(canary.steps.len());
                }
                (Strategy::BlueGreen(_), true) => {
                    st.set_stable(&hash);
                    st.set_selectors(&hash);
                }
                (Strategy::Canary(_), false) => st.set_step_index(0),
                (Strategy::BlueGreen(_), false) => st.start_preview(&hash),
            }
            set_cycle_since(&mut ro, self.now);
        }
        let Some(current) = self.replica_set_of(&ro, &hash) else {
            return;
        };
        let (canary_key, canary_rs) = &current;
        let stable_hash = st.stable_rs().unwrap_or_default().to_owned();
        let stable = self.replica_set_of(&ro, &stable_hash);
        let ready = |rs: &Value| rs["status"]["availableReplicas"].as_i64().unwrap_or(0);

        self.restart_pods(&ro, &spec, &mut st);
        if !st.aborted() && st.abort_recorded() {
            // Retried after an abort: start the update again with fresh analysis runs.
            st.clear_abort_record();
            count_retry(&mut ro);
            st.set_only_condition(condition(
                "Progressing",
                "True",
                "RolloutRetry",
                "Rollout is retried",
                self.now,
            ));
        }
        if st.aborted() {
            // Abort: back to stable, canary scaled down, Degraded through the condition.
            self.end_experiments(&ro, &mut st, None);
            self.scale(canary_key, 0);
            if let Some((k, _)) = &stable {
                self.scale(k, replicas);
            }
            let message = st.message().map(str::to_owned).unwrap_or_else(|| {
                format!(
                    "Rollout aborted update to revision {}",
                    revision(&ro).unwrap_or("?")
                )
            });
            st.record_abort(&message, self.now);
        } else if stable_hash == hash {
            // Fully promoted: scale the others down, and maybe ship the next version.
            self.end_experiments(&ro, &mut st, None);
            self.scale(canary_key, replicas);
            self.scale_down_others(&ro, &hash);
            self.prune_history(&ro, &hash);
            st.set_condition(condition(
                "Available",
                "True",
                "AvailableReason",
                "Rollout has minimum availability",
                self.now,
            ));
            if let Strategy::BlueGreen(_) = spec.strategy {
                st.set_active_and_preview(&hash);
            }
            if cycles(&ro) && ready(canary_rs) == replicas {
                let since = cycle_since(&ro).unwrap_or(self.now);
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
        } else {
            match &spec.strategy {
                Strategy::Canary(canary) => {
                    self.step_canary(&mut ro, &mut st, &spec, canary, &current, stable.as_ref())
                }
                Strategy::BlueGreen(bg) => {
                    self.step_blue_green(&mut ro, &mut st, &spec, bg, &current, &hash)
                }
            }
        }
        self.write_status(key, ro, st);
    }

    /// Stores the reconciled rollout with its new status, which has observed its generation.
    fn write_status(&mut self, key: &ObjKey, mut ro: Value, mut st: Status) {
        st.set_observed_generation(ro["metadata"]["generation"].as_i64().unwrap_or(1));
        ro["status"] = st.into_value();
        self.put_if_changed(key, ro);
    }

    /// `spec.restartAt`: replace every pod once, then record `status.restartedAt`.
    pub(super) fn restart_pods(&mut self, ro: &Value, spec: &Spec, st: &mut Status) {
        let Some(at) = spec.restart_at.as_deref() else {
            return;
        };
        if st.restarted_at() == Some(at) || at.parse::<Timestamp>().is_ok_and(|t| t > self.now) {
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
        st.set_restarted_at(at);
    }

    /// Keeps the newest [`HISTORY_LIMIT`] old revisions, as `revisionHistoryLimit` does, so
    /// a long-running demo does not grow forever. Old analysis runs go with their revision.
    pub(super) fn prune_history(&mut self, ro: &Value, keep: &str) {
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

    /// Scales every ReplicaSet of the rollout but the one of the pod template hash `keep` to 0.
    pub(super) fn scale_down_others(&mut self, ro: &Value, keep: &str) {
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

    /// The rollout's replica counts, summed over its ReplicaSets (after the pods moved).
    pub(super) fn update_rollout_counts(&mut self, key: &ObjKey) {
        let Some(mut ro) = self.objects.get(key).cloned() else {
            return;
        };
        let (_, uid) = ns_uid(&ro);
        let mut st = Status::of(&ro);
        let hash = st.current_pod_hash().unwrap_or_default();
        let (mut total, mut available, mut updated) = (0, 0, 0);
        for (_, rs) in self.child_refs(Kind::ReplicaSet, key.namespace(), &uid) {
            let replicas = rs["status"]["replicas"].as_i64().unwrap_or(0);
            total += replicas;
            available += rs["status"]["availableReplicas"].as_i64().unwrap_or(0);
            if rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] == hash {
                updated += replicas;
            }
        }
        st.set_replica_counts(total, available, updated);
        ro["status"] = st.into_value();
        self.put_if_changed(key, ro);
    }
}

#[cfg(test)]
mod tests {
    use super::super::DemoWork;
    use super::super::testing::{key, seeded_without_skipping};
    use super::*;

    #[test]
    fn idle_ticks_change_nothing_for_settled_rollouts() {
        let mut w = DemoWorld::seeded("2026-11-26T12:00:00Z".parse().unwrap(), 0);
        w.take_changes();
        w.tick();
        let changed: Vec<_> = w.take_changes().into_iter().map(|(k, _)| k).collect();
        assert!(
            !changed
                .iter()
                .any(|k| k.name().starts_with("query-frontend")),
            "{changed:?}"
        );
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
}
