//! The blue-green strategy: the preview ReplicaSet (at `previewReplicaCount` until
//! promotion), the pre-promotion analysis, the pause for a person, and the switch of the
//! active service with the old ReplicaSet's scale-down deadline.

use jiff::SignedDuration;
use serde_json::{Value, json};

use super::objects::{attempt_suffix, ns_uid};
use super::{CYCLE_ANNOTATION, DemoWorld, ObjKey};
use crate::model::{Kind, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION};

impl DemoWorld {
    pub(super) fn step_blue_green(
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
}
