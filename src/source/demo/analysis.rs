//! Analysis runs: created for step, background, pre-promotion and experiment analyses, they
//! take a deterministic measurement every few seconds and decide by their conditions.

use std::hash::{DefaultHasher, Hash, Hasher};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::objects::owner;
use super::{DemoWorld, FAILING_TEMPLATE, ObjKey};
use crate::model::{Kind, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION};

impl DemoWorld {
    /// Creates the run (owned by the rollout) if missing and returns its phase.
    pub(super) fn ensure_analysis_run(
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
    pub(super) fn ensure_analysis_run_of(
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
        let key = ObjKey::new(Kind::AnalysisRun, ns.clone(), name);
        if let Some(run) = self.objects.get(&key) {
            return run["status"]["phase"]
                .as_str()
                .unwrap_or("Pending")
                .to_owned();
        }
        let revision = ro["metadata"]["annotations"][REVISION_ANNOTATION].clone();
        let (condition, failure) = Measure::of(template).conditions();
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

    /// Takes the next measurement of every running analysis run (one every 3 s) and decides
    /// the run: failed at the first failed measurement, successful after `count` of them.
    pub(super) fn reconcile_analysis_runs(&mut self) {
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
            let measure = Measure::of(&template);
            let value = sample(key.name(), n, measure, template == FAILING_TEMPLATE);
            let phase = measure.phase(value);
            let failed = phase == "Failed";
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
}

/// What a simulated metric measures, by its template's name: an error rate must stay low,
/// anything else is a success rate that must stay high. Its thresholds are written into the
/// run as conditions and applied to the measurements, so they live here once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Measure {
    ErrorRate,
    SuccessRate,
}

impl Measure {
    pub(super) fn of(template: &str) -> Self {
        if template.contains("error-rate") {
            Self::ErrorRate
        } else {
            Self::SuccessRate
        }
    }

    /// The metric's `successCondition` and `failureCondition`.
    fn conditions(self) -> (&'static str, &'static str) {
        match self {
            Self::ErrorRate => ("result[0] <= 0.05", "result[0] > 0.05"),
            Self::SuccessRate => ("result[0] >= 0.95", "result[0] < 0.90"),
        }
    }

    /// A measurement's phase by those conditions: failed first, then successful, else
    /// inconclusive (between the two thresholds).
    fn phase(self, value: f64) -> &'static str {
        let (passed, failed) = match self {
            Self::ErrorRate => (value <= 0.05, value > 0.05),
            Self::SuccessRate => (value >= 0.95, value < 0.90),
        };
        if failed {
            "Failed"
        } else if passed {
            "Successful"
        } else {
            "Inconclusive"
        }
    }
}

/// A deterministic measurement: healthy values hover near the target, failing ones drift
/// past the failure threshold after a couple of measurements.
pub(super) fn sample(run: &str, n: u64, measure: Measure, failing: bool) -> f64 {
    let mut h = DefaultHasher::new();
    (run, n).hash(&mut h);
    let noise = (h.finish() % 1000) as f64 / 1000.0; // 0..1
    match (measure, failing) {
        (Measure::ErrorRate, true) => 0.01 + 0.04 * n as f64 + 0.01 * noise,
        (Measure::ErrorRate, false) => 0.005 + 0.02 * noise,
        (Measure::SuccessRate, _) => 0.955 + 0.04 * noise,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{rollout_status, world};
    use super::*;

    /// The thresholds the measurements are decided by are the ones the run's conditions say.
    #[test]
    fn measurements_are_decided_by_the_written_conditions() {
        let error = Measure::of("error-rate-failing");
        assert_eq!(
            error.conditions(),
            ("result[0] <= 0.05", "result[0] > 0.05")
        );
        assert_eq!(error.phase(0.05), "Successful");
        assert_eq!(error.phase(0.051), "Failed");
        let success = Measure::of("success-rate");
        assert_eq!(success, Measure::SuccessRate);
        assert_eq!(
            success.conditions(),
            ("result[0] >= 0.95", "result[0] < 0.90")
        );
        assert_eq!(success.phase(0.95), "Successful");
        assert_eq!(success.phase(0.92), "Inconclusive");
        assert_eq!(success.phase(0.899), "Failed");
        // A failing error rate fails by its third measurement; a healthy one never does.
        assert_eq!(error.phase(sample("r", 2, error, true)), "Failed");
        assert!((0..100).all(|n| error.phase(sample("r", n, error, false)) == "Successful"));
    }

    #[test]
    fn analysis_measurements_arrive_and_decide() {
        let mut w = world();
        let gateway = rollout_status(&w, "demo-payments", "payments-gateway");
        let run = gateway["canary"]["currentStepAnalysisRunStatus"]["name"]
            .as_str()
            .unwrap();
        let key = ObjKey::new(Kind::AnalysisRun, "demo-payments", run);
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
}
