//! Runs the demo SIMULATION ([`super::demo::DemoWorld`]) in real time and feeds the store.
//! Only started with `--demo`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;

use super::demo::{DemoWorld, ObjKey};
use crate::model::Object;
use crate::store::Store;

/// How often the simulated controllers run.
pub const TICK: Duration = Duration::from_secs(1);

/// The simulated cluster shared by the tick loop and the action backend.
#[derive(Clone)]
pub struct DemoCluster {
    world: Arc<Mutex<DemoWorld>>,
    store: Store,
}

impl DemoCluster {
    /// Seeds the world (with `extra` filler rollouts) and loads it into the store.
    pub fn new(store: Store, extra: usize) -> Self {
        let mut world = DemoWorld::seeded(Timestamp::now(), extra);
        for (key, obj) in &world.objects {
            feed(&store, key, Some(obj));
        }
        world.take_changes();
        store.flush();
        Self {
            world: Arc::new(Mutex::new(world)),
            store,
        }
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
        let mut world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        let out = f(&mut world);
        for (key, deleted) in world.take_changes() {
            let obj = if deleted { None } else { world.objects.get(&key) };
            feed(&self.store, &key, obj);
        }
        out
    }
}

fn feed(store: &Store, key: &ObjKey, obj: Option<&serde_json::Value>) {
    match obj {
        Some(value) => match Object::decode(key.0, value.clone()) {
            Ok(object) => store.apply(object),
            Err(err) => tracing::error!(%err, "demo produced an object the model cannot read"),
        },
        None => store.delete(key.0, &key.1, &key.2),
    }
}
