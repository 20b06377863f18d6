//! Authorization from the cluster's RBAC: SubjectAccessReviews (authorization.k8s.io/v1)
//! asked with the dashboard's own client for the user and groups, cached for
//! [`REVIEW_TTL`]. Errors deny (fail closed) and are not cached.

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use serde::Serialize;

use super::{Auth, Identity};
use crate::actions::ACTION_NAMES;

/// How long an answer is reused.
pub const REVIEW_TTL: Duration = Duration::from_secs(30);
const MAX_ENTRIES: usize = 20_000;

/// One question: may (user, groups) `verb` `group/resource[/subresource]` in `namespace`
/// (empty: cluster-wide) of `cluster` (each cluster's RBAC answers for itself)?
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Question {
    pub cluster: String,
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: &'static str,
    pub namespace: String,
}

impl Question {
    /// `list rollouts.argoproj.io` in `namespace` of `cluster`.
    pub fn list_rollouts(cluster: &str, namespace: &str) -> Question {
        Question {
            cluster: cluster.to_owned(),
            verb: "list",
            group: "argoproj.io",
            resource: "rollouts",
            subresource: "",
            namespace: namespace.to_owned(),
        }
    }

    fn describe(&self) -> String {
        let resource = if self.subresource.is_empty() {
            self.resource.to_owned()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        };
        let group = if self.group.is_empty() {
            String::new()
        } else {
            format!(".{}", self.group)
        };
        let scope = if self.namespace.is_empty() {
            "cluster-wide".to_owned()
        } else {
            format!("in namespace {}", self.namespace)
        };
        format!("{} {resource}{group} {scope}", self.verb)
    }
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

type Key = (String, Vec<String>, Question);

/// Cached answers.
#[derive(Default)]
pub struct ReviewCache {
    entries: Mutex<HashMap<Key, (Decision, Instant)>>,
}

/// Namespaces a person may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visible {
    /// Every namespace.
    All,
    /// Only these (possibly none).
    Only(Vec<String>),
}

impl Visible {
    /// The namespace filter to give the store for a request asking for `requested` (empty:
    /// all), or `None` when nothing may be shown.
    pub fn restrict(&self, requested: &[String]) -> Option<Vec<String>> {
        match self {
            Visible::All => Some(requested.to_vec()),
            Visible::Only(allowed) => {
                let effective: Vec<String> = if requested.is_empty() {
                    allowed.clone()
                } else {
                    requested
                        .iter()
                        .filter(|n| allowed.contains(n))
                        .cloned()
                        .collect()
                };
                // An empty filter would mean "all" to the store.
                (!effective.is_empty()).then_some(effective)
            }
        }
    }

    /// Whether `namespace` may be read.
    pub fn contains(&self, namespace: &str) -> bool {
        match self {
            Visible::All => true,
            Visible::Only(allowed) => allowed.iter().any(|n| n == namespace),
        }
    }
}

/// What the UI may offer for one rollout.
#[derive(Debug, Clone, Serialize)]
pub struct Permissions {
    pub actions: BTreeMap<&'static str, bool>,
    pub reasons: BTreeMap<&'static str, String>,
}

impl Auth {
    /// Asks (or recalls) one question for `identity`.
    pub async fn review(&self, identity: &Identity, question: Question) -> Decision {
        if identity.unrestricted {
            return Decision {
                allowed: true,
                reason: "--auth none".into(),
            };
        }
        if !self.has_cluster() {
            // Demo and files: no cluster to ask, nothing secret to protect.
            return Decision {
                allowed: true,
                reason: "no cluster".into(),
            };
        }
        let Some(kube) = self.kube_for(&question.cluster) else {
            return Decision {
                allowed: false,
                reason: format!("no cluster {:?} is configured", question.cluster),
            };
        };
        let key: Key = (
            identity.user.clone(),
            identity.groups.clone(),
            question.clone(),
        );
        let now = Instant::now();
        if let Some((decision, at)) = self.reviews.entries.lock().get(&key)
            && now.duration_since(*at) < REVIEW_TTL
        {
            return decision.clone();
        }
        // The API server adds system:authenticated to every impersonated (and every
        // token-authenticated) user; ask about the same set of groups it will use.
        let mut groups = identity.groups.clone();
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".to_owned());
        }
        let sar = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(identity.user.clone()),
                groups: Some(groups),
                resource_attributes: Some(ResourceAttributes {
                    namespace: (!question.namespace.is_empty()).then(|| question.namespace.clone()),
                    verb: Some(question.verb.to_owned()),
                    group: Some(question.group.to_owned()),
                    resource: Some(question.resource.to_owned()),
                    subresource: (!question.subresource.is_empty())
                        .then(|| question.subresource.to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<SubjectAccessReview> = Api::all(kube.client.clone());
        let decision = match api.create(&PostParams::default(), &sar).await {
            Ok(answer) => {
                let status = answer.status.unwrap_or_default();
                let allowed = status.allowed && status.denied != Some(true);
                let mut reason = format!(
                    "Kubernetes RBAC: {} {} {}",
                    identity.user,
                    if allowed { "may" } else { "may not" },
                    question.describe()
                );
                if let Some(why) = status.reason.filter(|r| !r.is_empty() && !allowed) {
                    reason.push_str(&format!(" ({why})"));
                }
                Decision { allowed, reason }
            }
            Err(err) => {
                tracing::warn!(%err, "SubjectAccessReview failed; denying");
                return Decision {
                    allowed: false,
                    reason: format!("cannot check access with Kubernetes: {err}"),
                };
            }
        };
        let mut entries = self.reviews.entries.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, at)| now.duration_since(*at) < REVIEW_TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (decision.clone(), now));
        decision
    }

    /// Whether `identity` may list rollouts in `namespace` of `cluster` (with `--auth token`,
    /// only on a cluster that accepted its token).
    pub async fn can_list(&self, identity: &Identity, cluster: &str, namespace: &str) -> bool {
        self.signed_in(identity, cluster)
            && self
                .review(identity, Question::list_rollouts(cluster, namespace))
                .await
                .allowed
    }

    /// Which of `candidates` `identity` may read in `cluster`: all when it may list rollouts
    /// cluster-wide, else those it may list in.
    pub async fn visible(
        &self,
        identity: &Identity,
        cluster: &str,
        candidates: &[String],
    ) -> Visible {
        if identity.unrestricted {
            return Visible::All;
        }
        if !self.signed_in(identity, cluster) {
            return Visible::Only(vec![]);
        }
        if !self.has_cluster() {
            return Visible::All;
        }
        if self.can_list(identity, cluster, "").await {
            return Visible::All;
        }
        let answers = futures::future::join_all(
            candidates
                .iter()
                .map(|ns| async move { (ns, self.can_list(identity, cluster, ns).await) }),
        )
        .await;
        Visible::Only(
            answers
                .into_iter()
                .filter(|(_, ok)| *ok)
                .map(|(ns, _)| ns.clone())
                .collect(),
        )
    }

    /// Which actions `identity` may take on a rollout in `namespace` of `cluster`;
    /// `workload_kind` is the workloadRef's kind, if any (set-image and undo then write to it).
    pub async fn permissions(
        &self,
        identity: &Identity,
        cluster: &str,
        namespace: &str,
        workload: Option<(&str, &str)>,
        read_only: Option<&str>,
    ) -> Permissions {
        let mut actions = BTreeMap::new();
        let mut reasons = BTreeMap::new();
        if let Some(why) = read_only {
            for name in ACTION_NAMES.iter() {
                actions.insert(*name, false);
                reasons.insert(*name, why.to_owned());
            }
            return Permissions { actions, reasons };
        }
        let q = |group: &'static str, resource: &'static str, subresource: &'static str| Question {
            cluster: cluster.to_owned(),
            verb: "patch",
            group,
            resource,
            subresource,
            namespace: namespace.to_owned(),
        };
        let spec_q = q("argoproj.io", "rollouts", "");
        let status_q = q("argoproj.io", "rollouts", "status");
        // The workload set-image and undo write to (a workloadRef Deployment, or the rollout).
        let workload_q = match workload {
            Some(("apps", "Deployment")) => Some(q("apps", "deployments", "")),
            Some(("apps", "ReplicaSet")) => Some(q("apps", "replicasets", "")),
            Some(("", "PodTemplate")) => Some(q("", "podtemplates", "")),
            _ => None,
        };
        let (spec, status, work) = futures::join!(
            self.review(identity, spec_q),
            self.review(identity, status_q),
            async {
                match workload_q {
                    Some(wq) => Some(self.review(identity, wq).await),
                    None => None,
                }
            }
        );
        let work = work.unwrap_or_else(|| spec.clone());
        for name in ACTION_NAMES.iter() {
            let needs: Vec<&Decision> = match *name {
                "promote" | "promote-full" | "resume" => vec![&spec, &status],
                "abort" | "retry" => vec![&status],
                "set-image" | "undo" => vec![&work],
                _ => vec![&spec],
            };
            let denied = needs.iter().find(|d| !d.allowed);
            actions.insert(*name, denied.is_none());
            if let Some(d) = denied {
                reasons.insert(*name, d.reason.clone());
            }
        }
        Permissions { actions, reasons }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restriction_never_widens() {
        let only = Visible::Only(vec!["a".into(), "b".into()]);
        assert_eq!(only.restrict(&[]), Some(vec!["a".into(), "b".into()]));
        assert_eq!(
            only.restrict(&["b".into(), "c".into()]),
            Some(vec!["b".into()])
        );
        assert_eq!(only.restrict(&["c".into()]), None);
        assert_eq!(Visible::Only(vec![]).restrict(&[]), None);
        assert_eq!(Visible::All.restrict(&[]), Some(vec![]));
    }
}
