//! The blue-green strategy: the preview ReplicaSet (at `previewReplicaCount` until
//! promotion), the pre-promotion analysis, the pause for a person, and the switch of the
//! active service with the old ReplicaSet's scale-down deadline.

use jiff::SignedDuration;
use serde_json::{Value, json};

use super::objects::ns_uid;
use super::rollout::{BlueGreen, Spec, attempt_suffix, revision, set_cycle_since};
use super::status::Status;
use super::{DemoWorld, ObjKey};
use crate::model::{Kind, POD_TEMPLATE_HASH_LABEL};

impl DemoWorld {
    /// One step of the blue-green `bg` of `spec`, whose preview ReplicaSet (of the pod
    /// template hash `hash`) is `preview`.
    pub(super) fn step_blue_green(
        &mut self,
        ro: &mut Value,
        st: &mut Status,
        spec: &Spec,
        bg: &BlueGreen,
        (preview_key, preview_rs): &(ObjKey, Value),
        hash: &str,
    ) {
        let replicas = spec.replicas;
        let auto = bg.auto_promotion;
        let paused = st.paused();
        // The preview runs `previewReplicaCount` pods until it is promoted, then all of them.
        let promoting = auto || (st.controller_pause() && !paused);
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
            st.set_pre_promotion_analysis(&run_name, &phase);
            match phase.as_str() {
                "Successful" => {}
                "Failed" | "Error" => {
                    self.abort_for(ro, st, &run_name);
                    return;
                }
                _ => {
                    if !auto && !paused && !st.controller_pause() {
                        st.pause("BlueGreenPause", self.now);
                    }
                    return;
                }
            }
        }
        if paused {
            return;
        }
        if !auto && !st.controller_pause() {
            st.pause("BlueGreenPause", self.now);
            return;
        }
        // Promoted (or automatic): switch the active service; old pods go after a delay.
        st.set_controller_pause(false);
        st.set_active_selector(hash);
        st.set_stable(hash);
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
