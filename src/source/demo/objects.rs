//! Pure helpers on Kubernetes JSON: builders of the objects the controller creates
//! (ReplicaSets, conditions, owner references), hashes, durations and versions. No state.

use std::hash::{DefaultHasher, Hash, Hasher};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::model::{POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION};

/// The uids an object's ownerReferences name.
pub(super) fn owner_uids(obj: &Value) -> impl Iterator<Item = &str> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["uid"].as_str())
}

/// An object's namespace and uid.
pub(super) fn ns_uid(obj: &Value) -> (String, String) {
    let field = |f: &str| obj["metadata"][f].as_str().unwrap_or_default().to_owned();
    (field("namespace"), field("uid"))
}

/// Timestamps with whole seconds, as the API server writes them.
pub(super) fn whole_seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// The object's spec changed: its `metadata.generation` goes up.
pub(super) fn bump_generation(obj: &mut Value) {
    let generation = obj["metadata"]["generation"].as_i64().unwrap_or(1);
    obj["metadata"]["generation"] = json!(generation + 1);
}

/// An owner reference to `obj`, as its controller.
pub(super) fn owner(obj: &Value) -> Value {
    json!({
        "apiVersion": obj["apiVersion"].clone(),
        "kind": obj["kind"].clone(),
        "name": obj["metadata"]["name"].clone(),
        "uid": obj["metadata"]["uid"].clone(),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// A status condition that changed at `now`.
pub(super) fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": now.to_string(), "lastUpdateTime": now.to_string()})
}

/// An 8-digit hex hash of a JSON value (the steps' hash, `currentStepHash`).
pub(super) fn short_hash(value: &Value) -> String {
    let mut h = DefaultHasher::new();
    value.to_string().hash(&mut h);
    format!("{:08x}", h.finish() as u32)
}

/// A stable 10-character hash of a pod template, like the controller's pod-template-hash.
pub fn template_hash(template: &Value) -> String {
    let mut h = DefaultHasher::new();
    template.to_string().hash(&mut h);
    hash_text(h.finish(), 10)
}

/// `len` characters of `hash` in the alphabet of Kubernetes' generated names (no vowels, so
/// no words), as pod-template-hashes and pod name suffixes are written.
pub(super) fn hash_text(mut hash: u64, len: usize) -> String {
    let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
    (0..len)
        .map(|_| {
            let c = alphabet[(hash % alphabet.len() as u64) as usize] as char;
            hash /= alphabet.len() as u64;
            c
        })
        .collect()
}

/// A new ReplicaSet of the rollout `ro` for its pod template of hash `hash`.
pub(super) fn replica_set(ro: &Value, hash: &str, revision: i64, replicas: i64) -> Value {
    let name = format!("{}-{hash}", ro["metadata"]["name"].as_str().unwrap_or(""));
    let mut template = ro["spec"]["template"].clone();
    template["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] = json!(hash);
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": ro["metadata"]["namespace"].clone(),
            "generation": 1,
            "labels": template["metadata"]["labels"].clone(),
            "annotations": {REVISION_ANNOTATION: revision.to_string()},
            "ownerReferences": [owner(ro)],
        },
        "spec": {"replicas": replicas, "template": template},
        "status": {"replicas": 0, "availableReplicas": 0, "readyReplicas": 0, "observedGeneration": 1},
    })
}

/// The image with the last number of its tag bumped: the next version a cycling rollout ships.
pub(super) fn next_version(image: &str) -> String {
    // Bump the last number of the tag; images without a tag get one.
    let (repo, tag) = match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "1.0.0"),
    };
    let mut parts: Vec<String> = tag.split('.').map(str::to_owned).collect();
    if let Some(last) = parts.last_mut() {
        *last = last
            .parse::<u64>()
            .map(|n| (n + 1).to_string())
            .unwrap_or_else(|_| "1".into());
    }
    format!("{repo}:{}", parts.join("."))
}

/// Parses Argo durations like `30s`, `5m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<SignedDuration> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i64>() {
        return Some(SignedDuration::from_secs(n));
    }
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = number.parse().ok()?;
    match unit {
        "s" => Some(SignedDuration::from_secs(n)),
        "m" => Some(SignedDuration::from_mins(n)),
        "h" => Some(SignedDuration::from_hours(n)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(parse_duration("30s"), Some(SignedDuration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Some(SignedDuration::from_mins(2)));
        assert_eq!(parse_duration("15"), Some(SignedDuration::from_secs(15)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(next_version("a/b:1.2.3"), "a/b:1.2.4");
        assert_eq!(next_version("reg:5000/b"), "reg:5000/b:1.0.1");
        assert_eq!(template_hash(&json!({"a": 1})).len(), 10);
    }
}
