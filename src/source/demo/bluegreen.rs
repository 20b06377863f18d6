//! The blue-green strategy: the preview ReplicaSet (at `previewReplicaCount` until
//! promotion), the pre-promotion analysis, the pause for a person, and the switch of the
//! active service with the old ReplicaSet's scale-down deadline.

use jiff::SignedDuration;
use serde_json::{Value, json};

use super::objects::{attempt_suffix, ns_uid};
use super::rollout::{BlueGreen, Spec, revision, set_cycle_since};
use super::{DemoWorld, ObjKey};
use crate::model::{Kind, POD_TEMPLATE_HASH_LABEL};

impl DemoWorld {
    /// One step of the blue-green `bg` of `spec`, whose preview ReplicaSet (of the pod
    /// template hash `hash`) is `preview`.
    pub(super) fn step_blue_green(
        &mut self,
        ro: &mut Value,
        st: &mut Value,
        spec: &Spec,
        bg: &BlueGreen,
        (preview_key, preview_rs): &(ObjKey, Value),
        hash: &str,
    ) {
        let replicas = spec.replicas;
        let auto = bg.auto_promotion;
        let paused = st["pauseConditions"]
            .as_array()
            .is_some_and(|p| !p.is_empty());
        // The preview runs `previewReplicaCount` pods until it is promoted, then all of them.
        let promoting = auto || (st["controllerPause"] == true && !paused);
        let target = match bg.preview_replica_count {
            Some(count) if !promoting => count.min(replicas),
            _ => replicas,
        };
        self.scale(preview_key, target);
        if preview_rs["status"]["availableReplicas"]
            .as_i64()
            .unwrap_or(0)
            < target
            || spec.paused
        {
            return;
        }
        if let Some(template) = &bg.pre_promotion_template {
            // Pre-promotion analysis of the preview: promotion waits for it, a failure aborts.
            let run_name = format!(
                "{}-{hash}-{}-pre{}",
                ro["metadata"]["name"].as_str().unwrap_or(""),
                revision(ro).unwrap_or("0"),
                attempt_suffix(ro)
            );
            let phase = self.ensure_analysis_run(ro, &run_name, template, 10);
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
        for (_, mut rs) in self.children(Kind::ReplicaSet, &ns, &uid) {
            if rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] != hash
                && rs["spec"]["replicas"].as_i64().unwrap_or(0) > 0
            {
                rs["metadata"]["annotations"]["scale-down-deadline"] = json!(deadline);
                self.put(rs);
            }
        }
        set_cycle_since(ro, self.now);
    }
}
