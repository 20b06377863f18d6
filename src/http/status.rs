//! Source health as one user may see it: `GET /api/v1/status` and the stream's `status`
//! frames.
//!
//! The store's [`Health`] covers every cluster (and [`clusters_for`] gives each one's
//! state): watched namespaces, operator notes and watch
//! errors name namespaces, and the object counts cover every namespace. With `--auth
//! proxy|token` a user who may not list rollouts cluster-wide gets a copy filtered with the
//! same SubjectAccessReviews that filter the list ([`super::access::visible`]): only
//! their namespaces, no text that names another namespace, and counts of their rollouts
//! only.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::auth::Identity;
use crate::auth::review::Visible;
use crate::health::{ClusterStatus, Health};
use crate::model::Kind;
use crate::state::AppState;
use crate::store::ListFilter;

/// What replaces a problem message or watch error that names a namespace the user may not
/// read.
pub const HIDDEN: &str = "details hidden: they concern namespaces you may not read";

/// Whether `text` names any of `hidden` as a word (namespaces are DNS labels, so a word is
/// a run of lowercase letters, digits and '-'). Compared case-insensitively: a false match
/// only hides more.
fn mentions(text: &str, hidden: &[&str]) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| !word.is_empty())
        .any(|word| hidden.iter().any(|h| h.eq_ignore_ascii_case(word)))
}

/// `health` as a user who may read `visible` sees it; `known` are the namespaces the
/// dashboard knows of (watched, or holding rollouts), the ones that could leak.
pub fn redact(mut health: Health, visible: &Visible, known: &[String]) -> Health {
    if matches!(visible, Visible::All) {
        return health;
    }
    let hidden: Vec<String> = known
        .iter()
        .chain(&health.namespaces)
        .filter(|ns| !visible.contains(ns))
        .cloned()
        .collect();
    let hidden: Vec<&str> = hidden.iter().map(String::as_str).collect();
    health.namespaces.retain(|ns| visible.contains(ns));
    health.notes.retain(|note| !mentions(note, &hidden));
    if let Some(problem) = &mut health.problem
        && mentions(&problem.message, &hidden)
    {
        problem.message = HIDDEN.to_owned();
    }
    for kind in health.kinds.values_mut() {
        if kind.error.as_deref().is_some_and(|e| mentions(e, &hidden)) {
            kind.error = Some(HIDDEN.to_owned());
        }
    }
    health
}

/// The health `identity` may see, and what it may read.
pub async fn health_for(state: &AppState, identity: &Identity) -> (Health, Visible) {
    let health = state.store.health();
    if identity.unrestricted {
        return (health, Visible::All);
    }
    let visible = super::access::visible(state, identity).await;
    let known = super::access::candidate_namespaces(state);
    (redact(health, &visible, &known), visible)
}

/// Each cluster's status as `identity` may see it: problem messages that name a namespace
/// it may not read hidden, and rollouts counted in its namespaces only.
pub async fn clusters_for(
    state: &AppState,
    identity: &Identity,
    visible: &Visible,
) -> Vec<ClusterStatus> {
    let mut clusters = state.store.cluster_statuses();
    let Some(readable) = super::access::readable(state, identity).await else {
        return clusters;
    };
    let known = super::access::candidate_namespaces(state);
    let hidden: Vec<&str> = known
        .iter()
        .filter(|ns| !visible.contains(ns))
        .map(String::as_str)
        .collect();
    for cluster in &mut clusters {
        if let Some(problem) = &mut cluster.problem
            && mentions(&problem.message, &hidden)
        {
            problem.message = HIDDEN.to_owned();
        }
        cluster.rollouts = state.store.count(&ListFilter {
            clusters: vec![cluster.name.clone()],
            namespaces: vec![],
            readable: Some(readable.clone()),
        });
    }
    clusters
}

/// Object counts `visible` covers: every kind for a cluster-wide reader, else only the
/// rollouts of the readable namespaces (the store counts the other kinds cluster-wide).
pub fn object_counts(state: &AppState, visible: &Visible) -> BTreeMap<Kind, usize> {
    match visible.restrict(&[]) {
        Some(filter) if filter.is_empty() => state.store.object_counts(),
        Some(filter) => BTreeMap::from([(
            Kind::Rollout,
            state.store.count(&ListFilter::namespaces(filter)),
        )]),
        None => BTreeMap::from([(Kind::Rollout, 0)]),
    }
}

/// The body of `GET /api/v1/status` for `identity`.
pub async fn status_json(state: &AppState, identity: &Identity) -> Value {
    let (health, visible) = health_for(state, identity).await;
    json!({
        "ready": state.store.ready(),
        "health": health,
        "clusters": clusters_for(state, identity, &visible).await,
        "version": state.settings.version,
        "commit": crate::build_info::COMMIT,
        "readOnly": state.settings.read_only,
        "source": state.settings.source,
        "objects": object_counts(state, &visible),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{Problem, SourceKind};

    fn health() -> Health {
        let mut h = Health::starting(SourceKind::Cluster, vec!["team-a".into(), "team-b".into()]);
        h.notes = vec![
            "cannot list rollouts in namespace team-b; retrying".into(),
            "watching 2 namespaces".into(),
            "Team-B is special".into(),
        ];
        h.problem = Some(Problem {
            code: "forbidden".into(),
            message: "forbidden: /apis/argoproj.io/v1alpha1/namespaces/team-b/rollouts".into(),
        });
        h.kinds.get_mut(&Kind::Pod).unwrap().error = Some("pods in team-b: 403".into());
        h.kinds.get_mut(&Kind::Rollout).unwrap().error = Some("team-a: timeout".into());
        h
    }

    #[test]
    fn everything_for_a_cluster_wide_reader() {
        assert_eq!(redact(health(), &Visible::All, &[]), health());
    }

    #[test]
    fn other_namespaces_never_show() {
        let known = vec![
            "team-a".to_owned(),
            "team-b".to_owned(),
            "team-c".to_owned(),
        ];
        let h = redact(health(), &Visible::Only(vec!["team-a".into()]), &known);
        assert_eq!(h.namespaces, vec!["team-a"]);
        assert_eq!(h.notes, vec!["watching 2 namespaces"]);
        assert_eq!(h.problem.as_ref().unwrap().code, "forbidden");
        assert_eq!(h.problem.as_ref().unwrap().message, HIDDEN);
        assert_eq!(h.kinds[&Kind::Pod].error.as_deref(), Some(HIDDEN));
        assert_eq!(
            h.kinds[&Kind::Rollout].error.as_deref(),
            Some("team-a: timeout")
        );
        let text = serde_json::to_string(&h).unwrap();
        assert!(!text.to_ascii_lowercase().contains("team-b"), "{text}");
        // Nothing readable: nothing named.
        let none = redact(health(), &Visible::Only(vec![]), &known);
        let text = serde_json::to_string(&none).unwrap();
        assert!(!text.contains("team-"), "{text}");
    }

    #[test]
    fn words_not_substrings() {
        assert!(mentions("in team-b.", &["team-b"]));
        assert!(!mentions("in team-bb", &["team-b"]));
        assert!(!mentions("steam-b", &["team-b"]));
    }
}
