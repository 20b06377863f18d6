//! AnalysisRuns: counts, metrics with limits and thresholds, every measurement, jobs (upstream `pkg/kubectl-argo-rollouts/info/analysisrun_info.go`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::str_enum::str_enum;
use crate::model::{AnalysisArg, AnalysisRun, Measurement, Metric, MetricResult};

/// An AnalysisRun as the detail page and the analysis charts show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRunView {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub created_at: Option<String>,
    pub revision: i64,
    /// `status.phase` (upstream calls this `status`): Pending, Running, Successful, Failed,
    /// Error, Inconclusive, or empty before the controller first looks at the run; a string, as the
    /// controller wrote it (a newer one may add a phase).
    #[cfg_attr(
        test,
        ts(
            type = r#""Pending" | "Running" | "Successful" | "Failed" | "Error" | "Inconclusive" | "" | (string & {})"#
        )
    )]
    pub phase: String,
    pub message: Option<String>,
    pub started_at: Option<String>,
    /// The latest `finishedAt` of any measurement: the end of the run time, when finished.
    pub last_finished_at: Option<String>,
    /// `spec.terminate`: a user or the rollout asked the run to stop.
    pub terminate: bool,
    /// Sums over all metric results.
    pub successful: i32,
    pub failed: i32,
    pub inconclusive: i32,
    pub error: i32,
    pub args: Vec<ArgView>,
    /// One entry per metric (spec metrics and any extra results), sorted by name.
    pub metrics: Vec<MetricView>,
    /// Measurements that ran as Kubernetes Jobs (upstream `jobs`), in status order.
    pub jobs: Vec<JobInfo>,
    /// Measurements without metadata (upstream `nonJobInfo`), in status order.
    pub non_jobs: Vec<NonJobInfo>,
}

/// An analysis argument. A `valueFrom` argument is shown as its reference only, never a value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ArgView {
    pub name: String,
    pub value: Option<String>,
    /// For example `secretKeyRef: creds/token` or `fieldRef: metadata.labels['app']`.
    pub value_from: Option<String>,
}

str_enum! {
    /// A comparison of a [`Threshold`], with the measured key on the left.
    pub enum ThresholdOp {
        Lt = "<",
        Le = "<=",
        Gt = ">",
        Ge = ">=",
        #[default]
        Eq = "==",
        Ne = "!=",
    }
}

impl ThresholdOp {
    /// The same comparison with its sides swapped (`0.9 < x` is `x > 0.9`).
    pub const fn mirrored(self) -> Self {
        match self {
            Self::Lt => Self::Gt,
            Self::Le => Self::Ge,
            Self::Gt => Self::Lt,
            Self::Ge => Self::Le,
            same @ (Self::Eq | Self::Ne) => same,
        }
    }
}

/// A numeric threshold parsed from a simple condition such as `result[0] >= 0.95`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Threshold {
    /// The measured expression: `result`, `result[0]`, `result.p99`, …
    pub key: String,
    pub op: ThresholdOp,
    pub value: f64,
}

/// One metric: its spec (conditions, limits, query) and its results so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MetricView {
    pub name: String,
    /// The provider key: `prometheus`, `job`, `web`, `datadog`, …
    pub provider: Option<String>,
    /// The query text for providers that have one (not web, job, kayenta or plugin).
    pub query: Option<String>,
    pub success_condition: Option<String>,
    pub failure_condition: Option<String>,
    /// Thresholds of the comparisons in the success condition that could be parsed.
    pub success_thresholds: Vec<Threshold>,
    pub failure_thresholds: Vec<Threshold>,
    /// Limits; `None` when unset or not a number (for example an unresolved `{{args.x}}`).
    pub count: Option<i64>,
    pub failure_limit: Option<i64>,
    pub inconclusive_limit: Option<i64>,
    pub consecutive_error_limit: Option<i64>,
    pub interval: Option<String>,
    pub initial_delay: Option<String>,
    /// The metric result's phase, `None` before the first measurement; as the controller
    /// wrote it, so a string.
    #[cfg_attr(
        test,
        ts(
            type = r#""Pending" | "Running" | "Successful" | "Failed" | "Error" | "Inconclusive" | (string & {}) | null"#
        )
    )]
    pub phase: Option<String>,
    pub message: Option<String>,
    pub measured: i32,
    pub successful: i32,
    pub failed: i32,
    pub inconclusive: i32,
    pub error: i32,
    pub consecutive_error: i32,
    /// Every measurement, oldest first.
    pub measurements: Vec<MeasurementView>,
}

/// One measurement of a metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MeasurementView {
    /// The measurement's phase as the controller wrote it.
    #[cfg_attr(
        test,
        ts(
            type = r#""Pending" | "Running" | "Successful" | "Failed" | "Error" | "Inconclusive" | (string & {}) | null"#
        )
    )]
    pub phase: Option<String>,
    pub value: Option<String>,
    /// The value as a number when it is one, or an array whose first element is one (charts).
    pub numeric_value: Option<f64>,
    pub message: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// For job measurements: the Job's name and namespace.
    pub job_name: Option<String>,
    pub job_namespace: Option<String>,
}

/// A measurement that ran as a Job (upstream `JobInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    pub name: String,
    pub namespace: String,
    /// The measurement's phase as the controller wrote it (empty when unset).
    #[cfg_attr(
        test,
        ts(
            type = r#""Pending" | "Running" | "Successful" | "Failed" | "Error" | "Inconclusive" | "" | (string & {})"#
        )
    )]
    pub status: String,
    pub metric_name: String,
    pub started_at: Option<String>,
}

/// A measurement without metadata (upstream `NonJobInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct NonJobInfo {
    pub value: Option<String>,
    /// The measurement's phase as the controller wrote it (empty when unset).
    #[cfg_attr(
        test,
        ts(
            type = r#""Pending" | "Running" | "Successful" | "Failed" | "Error" | "Inconclusive" | "" | (string & {})"#
        )
    )]
    pub status: String,
    pub metric_name: String,
    pub started_at: Option<String>,
}

/// Views of the AnalysisRuns owned by `owner_uid`, sorted as upstream: revision descending,
/// then creation time ascending, then name descending.
pub fn analysis_run_views(owner_uid: &str, runs: &[&AnalysisRun]) -> Vec<AnalysisRunView> {
    let mut views: Vec<AnalysisRunView> = runs
        .iter()
        .filter(|ar| ar.metadata.owned_by(owner_uid))
        .map(|ar| analysis_run_view(ar))
        .collect();
    views.sort_by(|a, b| {
        b.revision
            .cmp(&a.revision)
            .then_with(|| ts_key(&a.created_at).cmp(&ts_key(&b.created_at)))
            .then_with(|| b.name.cmp(&a.name))
    });
    views
}

/// Builds the view of one AnalysisRun.
pub fn analysis_run_view(ar: &AnalysisRun) -> AnalysisRunView {
    let status = &ar.status;
    let results = &status.metric_results;
    let mut jobs = Vec::new();
    let mut non_jobs = Vec::new();
    for result in results {
        for m in &result.measurements {
            let phase = m.phase.clone().unwrap_or_default();
            match &m.metadata {
                Some(meta) => {
                    if let Some(job) = meta.get("job-name") {
                        jobs.push(JobInfo {
                            name: job.clone(),
                            namespace: meta
                                .get("job-namespace")
                                .cloned()
                                .unwrap_or_else(|| ar.metadata.namespace.clone()),
                            status: phase,
                            metric_name: result.name.clone(),
                            started_at: m.started_at.clone(),
                        });
                    }
                    // Metadata without a job name: upstream lists it nowhere; it still appears
                    // in `metrics[].measurements`.
                }
                None => non_jobs.push(NonJobInfo {
                    value: m.value.clone(),
                    status: phase,
                    metric_name: result.name.clone(),
                    started_at: m.started_at.clone(),
                }),
            }
        }
    }

    let mut metrics: Vec<MetricView> = ar
        .spec
        .metrics
        .iter()
        .map(|metric| {
            let result = results.iter().find(|r| r.name == metric.name);
            metric_view(Some(metric), result, &ar.metadata.namespace, &metric.name)
        })
        .collect();
    for result in results {
        if !ar.spec.metrics.iter().any(|m| m.name == result.name) {
            metrics.push(metric_view(
                None,
                Some(result),
                &ar.metadata.namespace,
                &result.name,
            ));
        }
    }
    metrics.sort_by(|a, b| a.name.cmp(&b.name));

    let last_finished_at = results
        .iter()
        .flat_map(|r| &r.measurements)
        .filter_map(|m| m.finished_at.as_ref())
        .max_by_key(|t| ts_key(&Some((*t).clone())))
        .cloned();

    AnalysisRunView {
        name: ar.metadata.name.clone(),
        namespace: ar.metadata.namespace.clone(),
        uid: ar.metadata.uid.clone(),
        created_at: ar.metadata.creation_timestamp.clone(),
        revision: ar.metadata.revision(),
        phase: status.phase.clone().unwrap_or_default(),
        message: status.message.clone(),
        started_at: status.started_at.clone(),
        last_finished_at,
        terminate: ar.spec.terminate,
        successful: results.iter().map(|r| r.successful).sum(),
        failed: results.iter().map(|r| r.failed).sum(),
        inconclusive: results.iter().map(|r| r.inconclusive).sum(),
        error: results.iter().map(|r| r.error).sum(),
        args: ar.spec.args.iter().map(arg_view).collect(),
        metrics,
        jobs,
        non_jobs,
    }
}

fn arg_view(arg: &AnalysisArg) -> ArgView {
    match &arg.value_from {
        // Never the value: with valueFrom, any value present was resolved from a secret/field.
        Some(reference) => ArgView {
            name: arg.name.clone(),
            value: None,
            value_from: Some(describe_reference(reference)),
        },
        None => ArgView {
            name: arg.name.clone(),
            value: arg.value.clone(),
            value_from: None,
        },
    }
}

/// A short description of a `valueFrom` reference, naming what it points at.
fn describe_reference(reference: &Value) -> String {
    let Some(map) = reference.as_object() else {
        return "reference".to_owned();
    };
    let parts: Vec<String> = map
        .iter()
        .map(|(kind, target)| {
            let field = |k: &str| target.get(k).and_then(Value::as_str);
            let what = match (field("name"), field("key"), field("fieldPath")) {
                (Some(name), Some(key), _) => format!("{name}/{key}"),
                (Some(name), None, _) => name.to_owned(),
                (None, _, Some(path)) => path.to_owned(),
                _ => String::new(),
            };
            if what.is_empty() {
                kind.clone()
            } else {
                format!("{kind}: {what}")
            }
        })
        .collect();
    parts.join(", ")
}

fn metric_view(
    metric: Option<&Metric>,
    result: Option<&MetricResult>,
    namespace: &str,
    name: &str,
) -> MetricView {
    let success = metric.and_then(|m| m.success_condition.clone());
    let failure = metric.and_then(|m| m.failure_condition.clone());
    let limit = |f: fn(&Metric) -> &Option<Value>| metric.and_then(|m| int_or_string(f(m)));
    let mut measurements: Vec<MeasurementView> = result
        .map(|r| {
            r.measurements
                .iter()
                .map(|m| measurement_view(m, namespace))
                .collect()
        })
        .unwrap_or_default();
    // Oldest first. The controller appends in order, but a stable sort on startedAt also fixes
    // the order of hand-edited or merged status; measurements without a time go last.
    measurements.sort_by_key(|m| ts_key_last(&m.started_at));
    let provider = metric.and_then(|m| m.provider.as_ref());
    MetricView {
        name: name.to_owned(),
        provider: provider
            .and_then(Value::as_object)
            .and_then(|p| p.keys().next().cloned()),
        query: provider.and_then(provider_query),
        success_thresholds: success.as_deref().map(parse_thresholds).unwrap_or_default(),
        failure_thresholds: failure.as_deref().map(parse_thresholds).unwrap_or_default(),
        success_condition: success,
        failure_condition: failure,
        count: limit(|m| &m.count),
        failure_limit: limit(|m| &m.failure_limit),
        inconclusive_limit: limit(|m| &m.inconclusive_limit),
        consecutive_error_limit: limit(|m| &m.consecutive_error_limit),
        interval: metric.and_then(|m| m.interval.clone()),
        initial_delay: metric.and_then(|m| m.initial_delay.clone()),
        phase: result.and_then(|r| r.phase.clone()),
        message: result.and_then(|r| r.message.clone()),
        measured: result.map_or(0, |r| r.count),
        successful: result.map_or(0, |r| r.successful),
        failed: result.map_or(0, |r| r.failed),
        inconclusive: result.map_or(0, |r| r.inconclusive),
        error: result.map_or(0, |r| r.error),
        consecutive_error: result.map_or(0, |r| r.consecutive_error),
        measurements,
    }
}

fn measurement_view(m: &Measurement, namespace: &str) -> MeasurementView {
    let job_name = m
        .metadata
        .as_ref()
        .and_then(|md| md.get("job-name").cloned());
    let job_namespace = job_name.as_ref().map(|_| {
        m.metadata
            .as_ref()
            .and_then(|md| md.get("job-namespace").cloned())
            .unwrap_or_else(|| namespace.to_owned())
    });
    MeasurementView {
        phase: m.phase.clone(),
        numeric_value: m.value.as_deref().and_then(numeric_value),
        value: m.value.clone(),
        message: m.message.clone(),
        started_at: m.started_at.clone(),
        finished_at: m.finished_at.clone(),
        job_name,
        job_namespace,
    }
}

/// A measurement value as a chartable number: a number, or the first number of an array.
fn numeric_value(value: &str) -> Option<f64> {
    let n = match serde_json::from_str::<Value>(value.trim()).ok()? {
        Value::Number(n) => n.as_f64(),
        Value::Array(items) => items.first().and_then(Value::as_f64),
        _ => None,
    }?;
    n.is_finite().then_some(n)
}

/// An IntOrString limit as a number.
fn int_or_string(value: &Option<Value>) -> Option<i64> {
    match value.as_ref()? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The query of providers whose query the UI shows.
fn provider_query(provider: &Value) -> Option<String> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    for key in [
        "prometheus",
        "wavefront",
        "newRelic",
        "graphite",
        "influxdb",
        "skywalking",
    ] {
        if let Some(p) = provider.get(key) {
            return text(p, "query");
        }
    }
    if let Some(dd) = provider.get("datadog") {
        if let Some(q) = text(dd, "query") {
            return Some(q);
        }
        let mut lines: Vec<String> = dd
            .get("queries")
            .and_then(Value::as_object)
            .map(|qs| {
                qs.iter()
                    .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(f) = text(dd, "formula") {
            lines.push(format!("formula: {f}"));
        }
        return (!lines.is_empty()).then(|| lines.join("\n"));
    }
    if let Some(cw) = provider.get("cloudWatch") {
        return cw
            .get("metricDataQueries")
            .and_then(|q| serde_json::to_string_pretty(q).ok());
    }
    None
}

/// Parses the simple comparisons of a condition (`result[0] >= 0.95`, `result < 100`,
/// `0.9 < result`, parts joined by `&&` or `||`); other parts are skipped.
pub fn parse_thresholds(condition: &str) -> Vec<Threshold> {
    condition
        .split("&&")
        .flat_map(|p| p.split("||"))
        .filter_map(|part| parse_comparison(part.trim().trim_matches(|c| c == '(' || c == ')')))
        .collect()
}

fn parse_comparison(expr: &str) -> Option<Threshold> {
    // The leftmost operator; at the same place the longer one (`>=` over `>`).
    let (pos, op) = ThresholdOp::ALL
        .iter()
        .filter_map(|op| expr.find(op.as_str()).map(|pos| (pos, *op)))
        .min_by_key(|(pos, op)| (*pos, std::cmp::Reverse(op.as_str().len())))?;
    let (lhs, rhs) = (expr[..pos].trim(), expr[pos + op.as_str().len()..].trim());
    let is_key = |s: &str| {
        s.starts_with("result")
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.[]'\"".contains(c))
    };
    let number = |s: &str| s.parse::<f64>().ok().filter(|n| n.is_finite());
    if is_key(lhs) {
        let value = number(rhs)?;
        return Some(Threshold {
            key: lhs.to_owned(),
            op,
            value,
        });
    }
    if is_key(rhs) {
        let value = number(lhs)?;
        return Some(Threshold {
            key: rhs.to_owned(),
            op: op.mirrored(),
            value,
        });
    }
    None
}

/// Sort key for an optional RFC3339 time: unparsable and missing times first, as Go's zero time.
pub(crate) fn ts_key(t: &Option<String>) -> (bool, Option<jiff::Timestamp>, String) {
    let parsed = t.as_deref().and_then(|s| s.parse::<jiff::Timestamp>().ok());
    (parsed.is_some(), parsed, t.clone().unwrap_or_default())
}

/// Sort key for an optional RFC3339 time with missing times last.
fn ts_key_last(t: &Option<String>) -> (bool, Option<jiff::Timestamp>, String) {
    let (known, parsed, raw) = ts_key(t);
    (!known, parsed, raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(value: Value) -> AnalysisRun {
        let mut value = value;
        value["kind"] = json!("AnalysisRun");
        match crate::model::Object::from_json(value) {
            Ok(Some(crate::model::Object::AnalysisRun(ar))) => ar,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn thresholds() {
        let t = parse_thresholds("result[0] >= 0.95");
        assert_eq!(
            t,
            [Threshold {
                key: "result[0]".into(),
                op: ThresholdOp::Ge,
                value: 0.95
            }]
        );
        let t = parse_thresholds("result < 100");
        assert_eq!(
            t,
            [Threshold {
                key: "result".into(),
                op: ThresholdOp::Lt,
                value: 100.0
            }]
        );
        let t = parse_thresholds("0.9 < result.rate && result.p99 <= 250");
        assert_eq!(
            t,
            [
                Threshold {
                    key: "result.rate".into(),
                    op: ThresholdOp::Gt,
                    value: 0.9
                },
                Threshold {
                    key: "result.p99".into(),
                    op: ThresholdOp::Le,
                    value: 250.0
                },
            ]
        );
        assert!(parse_thresholds("len(result) == 0").is_empty());
        assert!(parse_thresholds("result == 'ok'").is_empty());
        assert!(parse_thresholds("result[0] > NaN").is_empty());
        assert!(parse_thresholds("").is_empty());
    }

    #[test]
    fn metrics_measurements_and_counts() {
        let ar = run(json!({
            "metadata": {"name": "ar", "namespace": "ns",
                "annotations": {"rollout.argoproj.io/revision": "4"}},
            "spec": {
                "args": [
                    {"name": "svc", "value": "web"},
                    {"name": "token", "value": "s3cr3t", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
                    {"name": "app", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}}
                ],
                "metrics": [
                    {"name": "success-rate", "successCondition": "result[0] >= 0.95",
                     "failureLimit": 2, "count": "5", "interval": "1m",
                     "provider": {"prometheus": {"address": "http://p", "query": "sum(x)"}}},
                    {"name": "errors", "failureCondition": "result > 10", "inconclusiveLimit": "{{args.n}}",
                     "provider": {"web": {"url": "http://x?token=abc"}}}
                ]
            },
            "status": {"phase": "Running", "metricResults": [
                {"name": "success-rate", "phase": "Running", "count": 3, "successful": 2, "failed": 1,
                 "measurements": [
                    {"phase": "Successful", "value": "[0.99]", "startedAt": "2024-01-01T00:01:00Z", "finishedAt": "2024-01-01T00:01:01Z"},
                    {"phase": "Failed", "value": "[0.5]", "startedAt": "2024-01-01T00:00:00Z", "finishedAt": "2024-01-01T00:00:01Z"},
                    {"phase": "Pending"},
                    {"phase": "Successful", "value": "0.97", "startedAt": "2024-01-01T00:02:00Z", "finishedAt": "2024-01-01T00:02:01Z"}
                 ]},
                {"name": "errors", "phase": "Error", "error": 1, "consecutiveError": 1, "measurements": [
                    {"phase": "Error", "message": "connection refused", "startedAt": "2024-01-01T00:00:00Z",
                     "finishedAt": "2024-01-01T00:00:02Z", "metadata": {"status": "500"}}
                ]}
            ]}
        }));
        let v = analysis_run_view(&ar);
        assert_eq!((v.revision, v.phase.as_str()), (4, "Running"));
        assert_eq!(
            (v.successful, v.failed, v.inconclusive, v.error),
            (2, 1, 0, 1)
        );
        assert_eq!(v.last_finished_at.as_deref(), Some("2024-01-01T00:02:01Z"));
        // No secret value, only the reference.
        assert_eq!(
            v.args,
            [
                ArgView {
                    name: "svc".into(),
                    value: Some("web".into()),
                    value_from: None
                },
                ArgView {
                    name: "token".into(),
                    value: None,
                    value_from: Some("secretKeyRef: creds/token".into())
                },
                ArgView {
                    name: "app".into(),
                    value: None,
                    value_from: Some("fieldRef: metadata.labels['app']".into())
                },
            ]
        );
        assert!(
            !serde_json::to_string(&v)
                .unwrap_or_default()
                .contains("s3cr3t")
        );
        // Metrics sorted by name.
        let names: Vec<_> = v.metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["errors", "success-rate"]);
        let errors = &v.metrics[0];
        assert_eq!(errors.provider.as_deref(), Some("web"));
        assert_eq!(errors.query, None, "web URLs are not shown");
        assert_eq!(errors.inconclusive_limit, None);
        assert_eq!(errors.failure_thresholds[0].value, 10.0);
        assert_eq!(
            errors.measurements[0].message.as_deref(),
            Some("connection refused")
        );
        let sr = &v.metrics[1];
        assert_eq!((sr.count, sr.failure_limit), (Some(5), Some(2)));
        assert_eq!(sr.query.as_deref(), Some("sum(x)"));
        assert_eq!(sr.success_thresholds[0].key, "result[0]");
        // Every measurement, oldest first, pending (no time) last.
        let order: Vec<_> = sr
            .measurements
            .iter()
            .map(|m| (m.phase.as_deref().unwrap_or(""), m.numeric_value))
            .collect();
        assert_eq!(
            order,
            [
                ("Failed", Some(0.5)),
                ("Successful", Some(0.99)),
                ("Successful", Some(0.97)),
                ("Pending", None)
            ]
        );
        // Metadata without job-name is neither a job nor a non-job, as upstream.
        assert!(v.jobs.is_empty());
        assert_eq!(v.non_jobs.len(), 4);
        assert_eq!(
            v.non_jobs[0].value.as_deref(),
            Some("[0.99]"),
            "status order"
        );
    }

    #[test]
    fn run_sort_order() {
        let mk = |name: &str, rev: &str, created: &str| {
            run(
                json!({"metadata": {"name": name, "creationTimestamp": created,
                "annotations": {"rollout.argoproj.io/revision": rev},
                "ownerReferences": [{"uid": "o"}]}}),
            )
        };
        let a = mk("a", "1", "2024-01-01T00:00:00Z");
        let b = mk("b", "2", "2024-01-02T00:00:00Z");
        let c = mk("c", "2", "2024-01-01T00:00:00Z");
        let d = mk("d", "2", "2024-01-01T00:00:00Z");
        let other = run(json!({"metadata": {"name": "x", "ownerReferences": [{"uid": "p"}]}}));
        let views = analysis_run_views("o", &[&a, &b, &c, &d, &other]);
        let names: Vec<_> = views.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["d", "c", "b", "a"]);
    }

    #[test]
    fn numeric_values() {
        assert_eq!(numeric_value("12"), Some(12.0));
        assert_eq!(numeric_value(" [1.5, 2] "), Some(1.5));
        assert_eq!(numeric_value("{\"a\": 1}"), None);
        assert_eq!(numeric_value("NaN"), None);
        assert_eq!(numeric_value("[]"), None);
    }
}
