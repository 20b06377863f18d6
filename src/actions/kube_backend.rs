//! [`ActionBackend`] on a real cluster, through kube-rs.
//!
//! Objects are read and patched as [`DynamicObject`]s, so fields this crate does not know
//! (newer CRD or pod fields) survive a round trip, as upstream's dynamic client does.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use serde_json::Value;

use super::exec::{ActionBackend, BackendError};
use super::plan::{PatchType, PlannedPatch, is_controlled_by, plural_of, split_api_version};

/// Name written as field manager on patches and as the Event source.
pub const COMPONENT: &str = crate::view::history::COMPONENT;

/// Page size when listing ReplicaSets.
const LIST_PAGE: u32 = 500;

/// Sends actions to a cluster with one [`kube::Client`].
#[derive(Clone)]
pub struct KubeBackend {
    client: kube::Client,
}

impl KubeBackend {
    /// A backend acting with the client's own credentials.
    pub fn new(client: kube::Client) -> KubeBackend {
        KubeBackend { client }
    }

    /// A backend that impersonates `user` (and `groups`) on top of `config`'s credentials,
    /// so that the cluster's RBAC decides what each person may do. The dashboard's own
    /// identity then needs the `impersonate` verb on users and groups.
    pub fn impersonating(
        mut config: kube::Config,
        user: &str,
        groups: &[String],
    ) -> Result<KubeBackend, kube::Error> {
        config.auth_info.impersonate = Some(user.to_string());
        config.auth_info.impersonate_groups = (!groups.is_empty()).then(|| groups.to_vec());
        Ok(KubeBackend {
            client: kube::Client::try_from(config)?,
        })
    }

    /// The underlying client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    fn api(
        &self,
        api_version: &str,
        kind: &str,
        plural: &str,
        namespace: &str,
    ) -> Api<DynamicObject> {
        let (group, version) = split_api_version(api_version);
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
        Api::namespaced_with(self.client.clone(), namespace, &resource)
    }
}

/// Classifies a kube error; `verb` and `resource` name the request for 403s.
pub fn backend_error(error: kube::Error, verb: &str, resource: &str) -> BackendError {
    match error {
        kube::Error::Api(status) => {
            let message = if status.message.is_empty() {
                status.reason.clone()
            } else {
                status.message.clone()
            };
            BackendError::from_status(status.code, message, verb, resource)
        }
        other => BackendError::Other {
            status: 0,
            message: other.to_string(),
        },
    }
}

fn to_value(object: impl serde::Serialize) -> Result<Value, BackendError> {
    serde_json::to_value(object).map_err(|e| BackendError::Other {
        status: 0,
        message: format!("cannot encode the object: {e}"),
    })
}

impl ActionBackend for KubeBackend {
    async fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, BackendError> {
        let plural = plural_of(kind);
        let object = self
            .api(api_version, kind, &plural, namespace)
            .get(name)
            .await
            .map_err(|e| backend_error(e, "get", &plural))?;
        to_value(object)
    }

    async fn list_replica_sets(
        &self,
        namespace: &str,
        rollout_uid: &str,
    ) -> Result<Vec<Value>, BackendError> {
        let api = self.api("apps/v1", "ReplicaSet", "replicasets", namespace);
        let mut owned = Vec::new();
        let mut params = ListParams::default().limit(LIST_PAGE);
        loop {
            let page = api
                .list(&params)
                .await
                .map_err(|e| backend_error(e, "list", "replicasets"))?;
            for rs in page.items {
                let rs = to_value(rs)?;
                if is_controlled_by(&rs, rollout_uid) {
                    owned.push(rs);
                }
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(owned),
            }
        }
    }

    async fn patch(&self, patch: &PlannedPatch) -> Result<Value, BackendError> {
        let target = &patch.target;
        let api = self.api(
            &target.api_version,
            &target.kind,
            &target.plural,
            &target.namespace,
        );
        let params = PatchParams {
            field_manager: Some(COMPONENT.to_string()),
            ..PatchParams::default()
        };
        let resource = match patch.subresource {
            Some(sub) => format!("{}/{}", target.plural, sub.as_str()),
            None => target.plural.clone(),
        };
        let body = match patch.patch_type {
            PatchType::Merge => Patch::Merge(patch.body.clone()),
            PatchType::Strategic => Patch::Strategic(patch.body.clone()),
            PatchType::Json => {
                Patch::Json(serde_json::from_value(patch.body.clone()).map_err(|e| {
                    BackendError::Other {
                        status: 0,
                        message: format!("the planned JSON patch is malformed: {e}"),
                    }
                })?)
            }
        };
        let result = match patch.subresource {
            Some(sub) => {
                api.patch_subresource(sub.as_str(), &target.name, &params, &body)
                    .await
            }
            None => api.patch(&target.name, &params, &body).await,
        };
        to_value(result.map_err(|e| backend_error(e, "patch", &resource))?)
    }

    async fn record_event(
        &self,
        rollout: &Value,
        reason: &str,
        message: &str,
    ) -> Result<(), BackendError> {
        let text = |pointer: &str| {
            rollout
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let namespace = text("/metadata/namespace").unwrap_or_default();
        let name = text("/metadata/name").unwrap_or_default();
        let now = Time(jiff::Timestamp::now());
        let event = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{name}-")),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: text("/apiVersion"),
                kind: text("/kind"),
                name: Some(name),
                namespace: Some(namespace.clone()),
                uid: text("/metadata/uid"),
                resource_version: text("/metadata/resourceVersion"),
                field_path: None,
            },
            reason: Some(reason.to_string()),
            message: Some(message.to_string()),
            type_: Some("Normal".to_string()),
            source: Some(EventSource {
                component: Some(COMPONENT.to_string()),
                host: None,
            }),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            count: Some(1),
            ..Event::default()
        };
        Api::<Event>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await
            .map_err(|e| backend_error(e, "create", "events"))?;
        Ok(())
    }
}
