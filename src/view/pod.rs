//! Pods: the kubectl-style status reason, ready count, restarts and icon (upstream `pkg/kubectl-argo-rollouts/info/pod_info.go`, `newPodInfo`).

use serde::{Deserialize, Serialize};

use super::str_enum::str_enum;
use crate::model::Pod;

str_enum! {
    /// Upstream's one-character pod icon.
    pub enum PodIcon {
        /// Running or completed.
        Success = "✔",
        /// Pending, initializing, terminating, being created.
        Pending = "◌",
        /// Failed, crash-looping, killed by a signal or exit code.
        Failure = "✖",
        /// An error or back-off that may pass (image pull).
        Warning = "⚠",
        /// Phase `Unknown`.
        Unknown = "?",
        /// Any other status.
        #[default]
        Blank = " ",
    }
}

str_enum! {
    /// The colour a pod is drawn in.
    pub enum PodIconClass {
        Pending = "pending",
        Success = "success",
        Failure = "failure",
        Warning = "warning",
        #[default]
        Unknown = "unknown",
    }
}

/// A pod as the detail page shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PodView {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub created_at: Option<String>,
    /// kubectl-style reason: `Running`, `ImagePullBackOff`, `Init:0/2`, `Terminating`, …
    pub status: String,
    pub icon: PodIcon,
    pub icon_class: PodIconClass,
    /// `"<ready containers>/<containers>"`.
    pub ready: String,
    pub restarts: i32,
    pub node_name: Option<String>,
}

/// The few pod fields a list row needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PodBrief {
    pub name: String,
    pub status: String,
    pub ready: String,
    pub restarts: i32,
    pub icon_class: PodIconClass,
}

impl PodView {
    /// The list-row subset.
    pub fn brief(&self) -> PodBrief {
        PodBrief {
            name: self.name.clone(),
            status: self.status.clone(),
            ready: self.ready.clone(),
            restarts: self.restarts,
            icon_class: self.icon_class,
        }
    }
}

/// Builds the view of one pod.
pub fn pod_view(pod: &Pod) -> PodView {
    let (status, ready_count, restarts) = pod_status(pod);
    let icon = pod_icon(&status);
    let total = pod.spec.containers.len();
    let icon_class = match icon {
        // The UI shows a Running pod that is not fully ready as pending, not as success.
        PodIcon::Success
            if status == "Running" && usize::try_from(ready_count).ok() != Some(total) =>
        {
            PodIconClass::Pending
        }
        PodIcon::Success => PodIconClass::Success,
        PodIcon::Pending => PodIconClass::Pending,
        PodIcon::Failure => PodIconClass::Failure,
        PodIcon::Warning => PodIconClass::Warning,
        PodIcon::Unknown | PodIcon::Blank => PodIconClass::Unknown,
    };
    PodView {
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        created_at: pod.metadata.creation_timestamp.clone(),
        status,
        icon,
        icon_class,
        ready: format!("{ready_count}/{total}"),
        restarts,
        node_name: pod.spec.node_name.clone(),
    }
}

/// `(reason, ready containers, restarts)`, the same walk as `kubectl get pods`.
fn pod_status(pod: &Pod) -> (String, i32, i32) {
    let status = &pod.status;
    let mut reason = status
        .reason
        .clone()
        .filter(|r| !r.is_empty())
        .or_else(|| status.phase.clone())
        .unwrap_or_default();
    let is_sidecar = |name: &str| {
        pod.spec
            .init_containers
            .iter()
            .any(|c| c.name == name && c.restart_policy.as_deref() == Some("Always"))
    };
    let mut restarts = 0;
    let mut initializing = false;
    for (i, c) in status.init_container_statuses.iter().enumerate() {
        restarts += c.restart_count;
        let state = &c.state;
        if let Some(t) = &state.terminated {
            let code = t.exit_code.unwrap_or(0);
            if code == 0 {
                continue;
            }
            reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None => match t.signal.filter(|s| *s != 0) {
                    Some(s) => format!("Init:Signal:{s}"),
                    None => format!("Init:ExitCode:{code}"),
                },
            };
            initializing = true;
        } else if is_sidecar(&c.name) && c.started == Some(true) {
            // A started sidecar that is ready lets the next init container be looked at;
            // one that is not ready stops the walk without changing the reason.
            if c.ready {
                continue;
            }
        } else if let Some(r) = state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            reason = format!("Init:{r}");
            initializing = true;
        } else {
            reason = format!("Init:{i}/{}", pod.spec.init_containers.len());
            initializing = true;
        }
        break;
    }
    let mut ready = 0;
    if !initializing {
        restarts = 0;
        let mut has_running = false;
        // Walking from the last container makes the lowest-index container with a reason win.
        for c in status.container_statuses.iter().rev() {
            restarts += c.restart_count;
            let waiting = c.state.waiting.as_ref().and_then(|w| w.reason.as_deref());
            let terminated = c.state.terminated.as_ref();
            if let Some(r) = waiting.filter(|r| !r.is_empty()) {
                reason = r.to_owned();
            } else if let Some(t) = terminated {
                reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => r.to_owned(),
                    None => match t.signal.filter(|s| *s != 0) {
                        Some(s) => format!("Signal:{s}"),
                        None => format!("ExitCode:{}", t.exit_code.unwrap_or(0)),
                    },
                };
            } else if c.ready && c.state.running.is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = "Running".to_owned();
        }
    }
    if pod.metadata.deletion_timestamp.is_some() {
        reason = if status.reason.as_deref() == Some("NodeLost") {
            "Unknown".to_owned()
        } else {
            "Terminating".to_owned()
        };
    }
    (reason, ready, restarts)
}

/// Upstream's pod icon table; the first matching rule wins.
pub fn pod_icon(status: &str) -> PodIcon {
    if status.starts_with("Init:") {
        return PodIcon::Pending;
    }
    if status.starts_with("Signal:") || status.starts_with("ExitCode:") {
        return PodIcon::Failure;
    }
    if status.ends_with("Error") || status.starts_with("Err") {
        return PodIcon::Warning;
    }
    match status {
        "Pending" | "Terminating" | "ContainerCreating" => PodIcon::Pending,
        "Running" | "Completed" => PodIcon::Success,
        "Failed" | "InvalidImageName" | "CrashLoopBackOff" => PodIcon::Failure,
        "ImagePullBackOff" | "RegistryUnavailable" => PodIcon::Warning,
        "Unknown" => PodIcon::Unknown,
        _ => PodIcon::Blank,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn pod(value: Value) -> Pod {
        let mut value = value;
        value["kind"] = json!("Pod");
        value["metadata"]["name"] = json!("p");
        match crate::model::Object::from_json(value) {
            Ok(Some(crate::model::Object::Pod(p))) => p,
            other => panic!("{other:?}"),
        }
    }

    fn running(name: &str, ready: bool, restarts: i32) -> Value {
        json!({"name": name, "ready": ready, "restartCount": restarts,
               "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}})
    }

    #[test]
    fn running_pod() {
        let p = pod(
            json!({"metadata": {}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running",
                "containerStatuses": [running("a", true, 1), running("b", true, 2)]}}),
        );
        let v = pod_view(&p);
        assert_eq!(
            (v.status.as_str(), v.ready.as_str(), v.restarts),
            ("Running", "2/2", 3)
        );
        assert_eq!((v.icon.as_str(), v.icon_class.as_str()), ("✔", "success"));
    }

    #[test]
    fn running_but_not_ready_is_pending_class() {
        let p = pod(
            json!({"metadata": {}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [running("a", false, 0)]}}),
        );
        let v = pod_view(&p);
        assert_eq!((v.status.as_str(), v.ready.as_str()), ("Running", "0/1"));
        assert_eq!(v.icon_class, "pending");
    }

    #[test]
    fn lowest_index_container_reason_wins() {
        let p = pod(
            json!({"metadata": {}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "restartCount": 4},
                {"name": "b", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}}),
        );
        let v = pod_view(&p);
        assert_eq!(
            (v.status.as_str(), v.icon.as_str(), v.restarts),
            ("CrashLoopBackOff", "✖", 4)
        );
    }

    #[test]
    fn terminated_exit_codes_and_signals() {
        let p = pod(
            json!({"metadata": {}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 137}}}]}}),
        );
        assert_eq!(pod_view(&p).status, "ExitCode:137");
        assert_eq!(pod_view(&p).icon, "✖");
        let p = pod(
            json!({"metadata": {}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 1, "signal": 9}}}]}}),
        );
        assert_eq!(pod_view(&p).status, "Signal:9");
        let p = pod(
            json!({"metadata": {}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                running("b", true, 0)]}}),
        );
        // Completed with another container still running shows as Running.
        assert_eq!(pod_view(&p).status, "Running");
        assert_eq!(pod_view(&p).ready, "1/2");
    }

    #[test]
    fn init_containers() {
        let spec = json!({"containers": [{"name": "app"}],
            "initContainers": [{"name": "i1"}, {"name": "i2"}]});
        let p = pod(
            json!({"metadata": {}, "spec": spec, "status": {"phase": "Pending",
            "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 0}}, "restartCount": 1},
                {"name": "i2", "state": {"running": {}}, "restartCount": 2}],
            "containerStatuses": [{"name": "app", "restartCount": 7,
                "state": {"waiting": {"reason": "PodInitializing"}}}]}}),
        );
        let v = pod_view(&p);
        // Restarts while initializing count init containers only; ready stays 0.
        assert_eq!(
            (v.status.as_str(), v.ready.as_str(), v.restarts),
            ("Init:1/2", "0/1", 3)
        );
        assert_eq!(v.icon_class, "pending");

        let p = pod(
            json!({"metadata": {}, "spec": spec, "status": {"phase": "Pending",
            "initContainerStatuses": [
                {"name": "i1", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}}),
        );
        assert_eq!(pod_view(&p).status, "Init:ImagePullBackOff");

        let p = pod(
            json!({"metadata": {}, "spec": spec, "status": {"phase": "Pending",
            "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 2}}}]}}),
        );
        assert_eq!(pod_view(&p).status, "Init:ExitCode:2");
        let p = pod(
            json!({"metadata": {}, "spec": spec, "status": {"phase": "Pending",
            "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}}),
        );
        assert_eq!(pod_view(&p).status, "Init:Error");
        let p = pod(
            json!({"metadata": {}, "spec": spec, "status": {"phase": "Pending",
            "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 2, "signal": 15}}}]}}),
        );
        assert_eq!(pod_view(&p).status, "Init:Signal:15");
    }

    #[test]
    fn sidecars() {
        let spec = json!({"containers": [{"name": "app"}],
            "initContainers": [{"name": "proxy", "restartPolicy": "Always"}, {"name": "i2"}]});
        // A started, ready sidecar lets the walk continue to the main containers.
        let p = pod(
            json!({"metadata": {}, "spec": spec, "status": {"phase": "Running",
            "initContainerStatuses": [
                {"name": "proxy", "started": true, "ready": true, "restartCount": 5,
                 "state": {"running": {}}},
                {"name": "i2", "state": {"terminated": {"exitCode": 0}}}],
            "containerStatuses": [running("app", true, 1)]}}),
        );
        let v = pod_view(&p);
        assert_eq!(
            (v.status.as_str(), v.ready.as_str(), v.restarts),
            ("Running", "1/1", 1)
        );
        // A started sidecar that is not ready stops the walk but is not "initializing".
        let p = pod(
            json!({"metadata": {}, "spec": spec, "status": {"phase": "Running",
            "initContainerStatuses": [
                {"name": "proxy", "started": true, "ready": false, "state": {"running": {}}}],
            "containerStatuses": [running("app", true, 0)]}}),
        );
        assert_eq!(pod_view(&p).status, "Running");
        // A sidecar that has not started yet is still initializing.
        let p = pod(
            json!({"metadata": {}, "spec": spec, "status": {"phase": "Pending",
            "initContainerStatuses": [
                {"name": "proxy", "started": false, "state": {"waiting": {}}}]}}),
        );
        assert_eq!(pod_view(&p).status, "Init:0/2");
    }

    #[test]
    fn deletion_timestamp() {
        let p = pod(
            json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [running("a", true, 0)]}}),
        );
        let v = pod_view(&p);
        assert_eq!(
            (v.status.as_str(), v.icon_class.as_str()),
            ("Terminating", "pending")
        );
        let p = pod(
            json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "reason": "NodeLost"}}),
        );
        let v = pod_view(&p);
        assert_eq!((v.status.as_str(), v.icon.as_str()), ("Unknown", "?"));
    }

    #[test]
    fn status_reason_overrides_phase() {
        let p = pod(
            json!({"metadata": {}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Failed", "reason": "Evicted"}}),
        );
        let v = pod_view(&p);
        assert_eq!(
            (v.status.as_str(), v.icon.as_str(), v.icon_class.as_str()),
            ("Evicted", " ", "unknown")
        );
    }

    #[test]
    fn icon_table() {
        for (status, icon) in [
            ("Init:0/1", "◌"),
            ("Signal:9", "✖"),
            ("ExitCode:1", "✖"),
            ("CreateContainerConfigError", "⚠"),
            ("ErrImagePull", "⚠"),
            ("Pending", "◌"),
            ("Terminating", "◌"),
            ("ContainerCreating", "◌"),
            ("Running", "✔"),
            ("Completed", "✔"),
            ("Failed", "✖"),
            ("InvalidImageName", "✖"),
            ("CrashLoopBackOff", "✖"),
            ("ImagePullBackOff", "⚠"),
            ("RegistryUnavailable", "⚠"),
            ("Unknown", "?"),
            ("Whatever", " "),
        ] {
            assert_eq!(pod_icon(status), icon, "{status}");
        }
    }
}
