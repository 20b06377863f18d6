//! The canary step timeline: kind, label and state of every spec step.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::str_enum::str_enum;
use crate::model::Rollout;

/// Pause condition reason of a canary pause step.
pub const CANARY_PAUSE_STEP: &str = "CanaryPauseStep";

str_enum! {
    /// What a canary step does: the key its spec object sets.
    pub enum StepKind {
        SetWeight = "setWeight",
        Pause = "pause",
        Analysis = "analysis",
        Experiment = "experiment",
        SetCanaryScale = "setCanaryScale",
        SetHeaderRoute = "setHeaderRoute",
        SetMirrorRoute = "setMirrorRoute",
        Plugin = "plugin",
        /// None of the above: a step a newer controller knows, or an empty one. Also what a
        /// kind this build does not know parses as.
        #[default]
        #[serde(other)]
        Unknown = "unknown",
    }
}

str_enum! {
    /// Where a canary step stands relative to `status.currentStepIndex`.
    pub enum StepState {
        Done = "done",
        Current = "current",
        /// After the current step, or every step while the controller has set no index.
        #[default]
        Pending = "pending",
    }
}

/// One canary step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StepView {
    /// 0-based position in `spec.strategy.canary.steps`.
    pub index: usize,
    pub kind: StepKind,
    /// Human label such as "Set weight 20%", "Pause 10s" or "Pause until promoted".
    pub label: String,
    pub state: StepState,
    /// For a timed pause: its length in whole seconds.
    pub duration_seconds: Option<i64>,
    /// For the current timed pause: when it started and when it ends (RFC3339).
    pub started_at: Option<String>,
    pub ends_at: Option<String>,
    /// When the step began (RFC3339), for done and current steps when it is known
    /// ([`super::history::set_step_times`]); `None` is unknown, never a guess.
    #[serde(default)]
    pub began_at: Option<String>,
    /// When the step ended, for done steps when it is known.
    #[serde(default)]
    pub ended_at: Option<String>,
    /// The step exactly as in the spec.
    pub raw: Value,
}

/// Every spec step with its state.
///
/// Upstream sends steps only when `currentStepIndex` is set, and its timeline computes
/// `parseInt("0/N") || N`, so at index 0 it marks every step done. Here every step is sent;
/// with no index yet every step is pending, and index 0 makes the first step current.
pub fn step_views(ro: &Rollout) -> Vec<StepView> {
    let Some(canary) = &ro.spec.strategy.canary else {
        return Vec::new();
    };
    let current = ro
        .status
        .current_step_index
        .and_then(|i| usize::try_from(i).ok());
    let pause_start = pause_step_start(ro);
    canary
        .steps
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let kind = StepKind::ALL
                .iter()
                .copied()
                .filter(|k| *k != StepKind::Unknown)
                .find(|k| raw.get(k.as_str()).is_some_and(|v| !v.is_null()))
                .unwrap_or(StepKind::Unknown);
            let state = match current {
                None => StepState::Pending,
                Some(c) if index < c => StepState::Done,
                Some(c) if index == c => StepState::Current,
                Some(_) => StepState::Pending,
            };
            let duration = pause_duration(raw);
            let (started_at, ends_at) = match (state, duration, &pause_start) {
                (StepState::Current, Some(d), Some(start)) => {
                    (Some(start.clone()), add_seconds(start, d.as_secs()))
                }
                _ => (None, None),
            };
            StepView {
                index,
                kind,
                label: step_label(kind, raw),
                state,
                duration_seconds: duration.map(|d| d.as_secs()),
                started_at,
                ends_at,
                began_at: None,
                ended_at: None,
                raw: raw.clone(),
            }
        })
        .collect()
}

/// When the current canary pause step began: its pause condition's `startTime`.
pub fn pause_step_start(ro: &Rollout) -> Option<String> {
    ro.status
        .pause_conditions
        .iter()
        .find(|p| p.reason == CANARY_PAUSE_STEP)
        .and_then(|p| p.start_time.clone())
}

/// `start + seconds` as RFC3339, `None` when `start` is not a valid time.
pub fn add_seconds(start: &str, seconds: i64) -> Option<String> {
    let start: Timestamp = start.parse().ok()?;
    start
        .checked_add(SignedDuration::from_secs(seconds))
        .ok()
        .map(|t| t.to_string())
}

/// The duration of a pause step; `None` for an indefinite pause or a non-pause step.
/// Like upstream `DurationSeconds`: an integer, a string of digits (seconds), or a Go duration.
pub fn pause_duration(step: &Value) -> Option<SignedDuration> {
    match step.get("pause")?.get("duration")? {
        Value::Number(n) => n.as_i64().map(SignedDuration::from_secs),
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(secs) => Some(SignedDuration::from_secs(secs)),
            Err(_) => parse_go_duration(s.trim()),
        },
        _ => None,
    }
    // Whole seconds, as upstream truncates.
    .map(|d| SignedDuration::from_secs(d.as_secs()))
}

/// Go's `time.ParseDuration` for the units that matter: `1h30m`, `10s`, `1.5m`, `500ms`.
pub fn parse_go_duration(s: &str) -> Option<SignedDuration> {
    let (negative, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest.is_empty() {
        return None;
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        nanos += number * scale;
    }
    let nanos = if negative { -nanos } else { nanos };
    nanos
        .is_finite()
        .then(|| SignedDuration::from_nanos(nanos as i64))
}

fn names(list: Option<&Value>, key: &str) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get(key).and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn step_label(kind: StepKind, raw: &Value) -> String {
    let body = raw.get(kind.as_str()).unwrap_or(&Value::Null);
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
    let has_match = body
        .get("match")
        .and_then(Value::as_array)
        .is_some_and(|m| !m.is_empty());
    match kind {
        StepKind::SetWeight => format!("Set weight {body}%"),
        StepKind::Pause => match body.get("duration").filter(|d| !d.is_null()) {
            None => "Pause until promoted".to_owned(),
            // As the UI: a bare number is seconds.
            Some(Value::Number(n)) => format!("Pause {n}s"),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
                format!("Pause {}s", s.trim())
            }
            Some(Value::String(s)) => format!("Pause {s}"),
            Some(other) => format!("Pause {other}"),
        },
        StepKind::Analysis => {
            let templates = names(body.get("templates"), "templateName");
            format!("Analysis: {}", templates.join(", "))
        }
        StepKind::Experiment => {
            let templates = names(body.get("templates"), "name");
            let analyses = names(body.get("analyses"), "name");
            let mut label = format!("Experiment: {}", templates.join(", "));
            if !analyses.is_empty() {
                label.push_str(&format!(" (analysis: {})", analyses.join(", ")));
            }
            label
        }
        StepKind::SetCanaryScale => {
            let detail = if let Some(r) = body.get("replicas").filter(|v| !v.is_null()) {
                format!("{r} replicas")
            } else if let Some(w) = body.get("weight").filter(|v| !v.is_null()) {
                format!("{w}%")
            } else if body.get("matchTrafficWeight").and_then(Value::as_bool) == Some(true) {
                "match traffic weight".to_owned()
            } else {
                "default".to_owned()
            };
            format!("Set canary scale: {detail}")
        }
        StepKind::SetHeaderRoute if has_match => format!("Set header route: {name}"),
        StepKind::SetHeaderRoute => format!("Remove header route: {name}"),
        StepKind::SetMirrorRoute if has_match => format!("Set mirror route: {name}"),
        StepKind::SetMirrorRoute => format!("Remove mirror route: {name}"),
        StepKind::Plugin => format!("Plugin: {name}"),
        StepKind::Unknown => match raw.as_object().filter(|o| !o.is_empty()) {
            Some(o) => format!(
                "Unknown step: {}",
                o.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            None => "Empty step".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(steps: Value) -> Vec<(String, String)> {
        let mut ro = Rollout::default();
        ro.spec.strategy.canary = Some(crate::model::CanaryStrategy {
            steps: steps.as_array().cloned().unwrap_or_default(),
            ..Default::default()
        });
        step_views(&ro)
            .into_iter()
            .map(|s| (s.kind.as_str().to_owned(), s.label))
            .collect()
    }

    #[test]
    fn every_kind_has_a_label() {
        let got = labels(json!([
            {"setWeight": 20},
            {"pause": {}},
            {"pause": {"duration": "10s"}},
            {"pause": {"duration": 30}},
            {"pause": {"duration": "45"}},
            {"analysis": {"templates": [{"templateName": "tmpl-a"}, {"templateName": "tmpl-b"}]}},
            {"experiment": {"templates": [{"name": "baseline", "specRef": "stable"}, {"name": "canary", "specRef": "canary"}],
                "analyses": [{"name": "a", "templateName": "t"}]}},
            {"setCanaryScale": {"replicas": 3}},
            {"setCanaryScale": {"weight": 25}},
            {"setCanaryScale": {"matchTrafficWeight": true}},
            {"setHeaderRoute": {"name": "hdr", "match": [{"headerName": "x"}]}},
            {"setHeaderRoute": {"name": "hdr"}},
            {"setMirrorRoute": {"name": "mirror", "match": [{"method": {"exact": "GET"}}]}},
            {"setMirrorRoute": {"name": "mirror"}},
            {"plugin": {"name": "acme/thing", "config": {}}},
            {"somethingNew": {}},
            {}
        ]));
        let want = [
            ("setWeight", "Set weight 20%"),
            ("pause", "Pause until promoted"),
            ("pause", "Pause 10s"),
            ("pause", "Pause 30s"),
            ("pause", "Pause 45s"),
            ("analysis", "Analysis: tmpl-a, tmpl-b"),
            ("experiment", "Experiment: baseline, canary (analysis: a)"),
            ("setCanaryScale", "Set canary scale: 3 replicas"),
            ("setCanaryScale", "Set canary scale: 25%"),
            ("setCanaryScale", "Set canary scale: match traffic weight"),
            ("setHeaderRoute", "Set header route: hdr"),
            ("setHeaderRoute", "Remove header route: hdr"),
            ("setMirrorRoute", "Set mirror route: mirror"),
            ("setMirrorRoute", "Remove mirror route: mirror"),
            ("plugin", "Plugin: acme/thing"),
            ("unknown", "Unknown step: somethingNew"),
            ("unknown", "Empty step"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, l)| (k.to_string(), l.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("10s"),
            Some(SignedDuration::from_secs(10))
        );
        assert_eq!(
            parse_go_duration("1h30m"),
            Some(SignedDuration::from_secs(5400))
        );
        assert_eq!(
            parse_go_duration("1.5m"),
            Some(SignedDuration::from_secs(90))
        );
        assert_eq!(
            parse_go_duration("500ms"),
            Some(SignedDuration::from_millis(500))
        );
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("10x"), None);
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(
            pause_duration(&json!({"pause": {"duration": "1500ms"}})),
            Some(SignedDuration::from_secs(1))
        );
        assert_eq!(pause_duration(&json!({"pause": {}})), None);
        assert_eq!(pause_duration(&json!({"setWeight": 5})), None);
    }

    #[test]
    fn add_seconds_formats_rfc3339() {
        assert_eq!(
            add_seconds("2019-10-28T04:50:20Z", 10).as_deref(),
            Some("2019-10-28T04:50:30Z")
        );
        assert_eq!(add_seconds("not a time", 10), None);
    }
}
