//! Pods: each ReplicaSet is scaled to its replicas with new pods, which are Pending for
//! [`POD_START`](super::POD_START) and then Running (init containers completed, sidecars
//! running); the ReplicaSet's status counts them.

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use jiff::Timestamp;
use serde_json::{Value, json};

use super::objects::{hash_text, ns_uid, owner};
use super::{DemoWorld, ObjKey, POD_START};
use crate::model::Kind;

impl DemoWorld {
    /// Scales the pods of the ReplicaSets of `rollouts` (in key order across all of them,
    /// as pod names draw from one serial) and starts the pending ones.
    pub(super) fn reconcile_pods(&mut self, rollouts: &[ObjKey]) {
        let mut keys: BTreeSet<ObjKey> = BTreeSet::new();
        for ro in rollouts {
            if let Some(uid) = self.objects.get(ro).map(|o| ns_uid(o).1) {
                keys.extend(
                    self.child_refs(Kind::ReplicaSet, ro.namespace(), &uid)
                        .map(|(key, _)| key),
                );
                // An experiment's ReplicaSets are owned by the experiment.
                for (_, exp) in self.child_refs(Kind::Experiment, ro.namespace(), &uid) {
                    let exp_uid = exp["metadata"]["uid"].as_str().unwrap_or_default();
                    keys.extend(
                        self.child_refs(Kind::ReplicaSet, ro.namespace(), exp_uid)
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
                .child_refs(Kind::Pod, key.namespace(), &uid)
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
                let pod = new_pod(&rs, &self.pod_suffix(key.name()));
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

    /// A new pod's name suffix (5 characters, as a ReplicaSet's pods get), unique in the world.
    pub(super) fn pod_suffix(&mut self, rs_name: &str) -> String {
        self.serial += 1;
        let mut h = DefaultHasher::new();
        (rs_name, self.serial).hash(&mut h);
        hash_text(h.finish(), 5)
    }
}

/// A new, Pending pod of the ReplicaSet `rs`, named `<rs>-<suffix>`.
pub(super) fn new_pod(rs: &Value, suffix: &str) -> Value {
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
