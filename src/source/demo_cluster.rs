//! Runs the demo SIMULATION ([`super::demo::DemoWorld`]) in real time and feeds the store.
//! Only started with `--demo`.

use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use jiff::Timestamp;

use super::demo::{DemoWorld, ObjKey};
use crate::model::{Kind, Object};
use crate::store::ClusterStore;

/// How often the simulated controllers run.
pub const TICK: Duration = Duration::from_secs(1);

/// The simulated cluster shared by the tick loop and the action backend.
#[derive(Clone)]
pub struct DemoCluster {
    world: Arc<Mutex<DemoWorld>>,
    store: ClusterStore,
}

impl DemoCluster {
    /// Seeds the world (with `extra` filler rollouts) and loads it into the store.
    pub fn new(store: ClusterStore, extra: usize) -> Self {
        Self::loaded(store, DemoWorld::seeded(Timestamp::now(), extra))
    }

    /// The fleet's smaller simulated cluster ([`DemoWorld::seeded_staging`]).
    pub fn staging(store: ClusterStore) -> Self {
        Self::loaded(store, DemoWorld::seeded_staging(Timestamp::now()))
    }

    /// Loads `world` into `store`.
    fn loaded(store: ClusterStore, mut world: DemoWorld) -> Self {
        for (key, obj) in &world.objects {
            feed(&store, key, Some(obj));
        }
        world.take_changes();
        for event in world.take_events() {
            feed_event(&store, event);
        }
        store.store().flush();
        Self {
            world: Arc::new(Mutex::new(world)),
            store,
        }
    }

    /// The simulated cluster's name.
    pub fn name(&self) -> &crate::store::ClusterName {
        self.store.name()
    }

    /// Runs the simulation forever, one tick per [`TICK`].
    pub async fn run(self) {
        let mut interval = tokio::time::interval(TICK);
        loop {
            interval.tick().await;
            self.with_world(|world| world.advance_to(Timestamp::now(), 1));
        }
    }

    /// Runs `f` on the world, then pushes every changed object to the store.
    /// NB: the mutex is never held across an `.await`.
    pub fn with_world<T>(&self, f: impl FnOnce(&mut DemoWorld) -> T) -> T {
        let mut world = self.world.lock();
        let out = f(&mut world);
        for (key, deleted) in world.take_changes() {
            let obj = if deleted {
                None
            } else {
                world.objects.get(&key)
            };
            feed(&self.store, &key, obj);
        }
        for event in world.take_events() {
            feed_event(&self.store, event);
        }
        out
    }
}

/// Puts an Event the demo made (ours, or the simulated controller's from
/// [`super::demo_events::controller_events`]) in the rollout's history.
pub fn feed_event(store: &ClusterStore, event: serde_json::Value) {
    match crate::model::RolloutEvent::from_json(event) {
        Ok(Some(event)) => store.apply_event(event),
        Ok(None) => tracing::warn!("the demo made an Event that is not about a rollout"),
        Err(err) => tracing::error!(%err, "the demo made an Event the model cannot read"),
    }
}

fn feed(store: &ClusterStore, key: &ObjKey, obj: Option<&serde_json::Value>) {
    match obj {
        Some(value) => match Object::decode(key.kind(), value.clone()) {
            Ok(object) => store.apply(object),
            Err(err) => tracing::error!(%err, "demo produced an object the model cannot read"),
        },
        None => store.delete(key.kind(), key.namespace(), key.name()),
    }
}

/// Actions in the demo go through the same planning and execution code as on a cluster;
/// the planned patches are applied to the simulated objects as the API server would.
impl crate::actions::ActionBackend for DemoCluster {
    async fn get(
        &self,
        _api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<serde_json::Value, crate::actions::BackendError> {
        let key = Kind::parse(kind).map(|k| ObjKey::new(k, namespace, name));
        self.with_world(|world| key.and_then(|k| world.objects.get(&k).cloned()))
            .ok_or_else(|| not_found(kind, name))
    }

    async fn list_replica_sets(
        &self,
        namespace: &str,
        rollout_uid: &str,
    ) -> Result<Vec<serde_json::Value>, crate::actions::BackendError> {
        Ok(self.with_world(|world| {
            world
                .objects
                .iter()
                .filter(|(k, v)| {
                    k.kind() == Kind::ReplicaSet
                        && k.namespace() == namespace
                        && crate::actions::plan::is_controlled_by(v, rollout_uid)
                })
                .map(|(_, v)| v.clone())
                .collect()
        }))
    }

    async fn patch(
        &self,
        patch: &crate::actions::PlannedPatch,
    ) -> Result<serde_json::Value, crate::actions::BackendError> {
        let target = &patch.target;
        let key =
            Kind::parse(&target.kind).map(|k| ObjKey::new(k, &target.namespace, &target.name));
        self.with_world(|world| {
            let key = key.ok_or_else(|| not_found(&target.kind, &target.name))?;
            let mut object = world
                .objects
                .get(&key)
                .cloned()
                .ok_or_else(|| not_found(&target.kind, &target.name))?;
            let spec_before = object.get("spec").cloned();
            crate::actions::apply_in_memory(&mut object, patch, true)?;
            // As the API server does for custom resources: spec changes bump the generation.
            if object.get("spec") != spec_before.as_ref() {
                let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
                object["metadata"]["generation"] = serde_json::json!(generation + 1);
            }
            world.put(object);
            Ok(world.objects.get(&key).cloned().unwrap_or_default())
        })
    }

    async fn record_event(
        &self,
        rollout: &serde_json::Value,
        reason: &str,
        message: &str,
    ) -> Result<(), crate::actions::BackendError> {
        // As on a cluster (`KubeBackend::record_event`): a Normal Event naming the person,
        // from this dashboard, which the rollout's history then shows.
        let event = super::demo_events::rollout_event(
            rollout,
            "Normal",
            reason,
            message,
            crate::actions::COMPONENT,
            Timestamp::now(),
            0,
        );
        feed_event(&self.store, event);
        Ok(())
    }
}

fn not_found(kind: &str, name: &str) -> crate::actions::BackendError {
    crate::actions::BackendError::NotFound {
        message: format!("{} \"{name}\" not found", kind.to_ascii_lowercase()),
    }
}
