//! The WebSocket protocol (version 5). Its TypeScript types are generated from these Rust
//! types (ts-rs, the `typescript` test module) into `web/src/api/generated/`, drift-checked by
//! tests/run-all.sh; the round-trip tests below pin the JSON shape of every message.
//!
//! A client opens `GET {base}/api/v1/stream`, receives `hello` and `status`, then sends one
//! subscription. A list subscription gets its snapshot as pages (version 4): `snapshotBegin`,
//! then `pages` binary messages, each a gzip-compressed `snapshotPage` (JSON), in the list's
//! default order (needs attention first), then `snapshotEnd`; no other list frame comes
//! between them. A detail subscription gets one `detail` (one rollout is small). Then only
//! changes: `upsert`/`patch`/`delete` for the list, `detail`/`detailPatch`/`delete` for one
//! rollout. Every change carries `seq`, which increases strictly across the whole server (so a
//! filtered client sees gaps); a client drops frames whose `seq` is not newer than its
//! snapshot's. Upserts and deletes are idempotent; a patch names the version it applies to
//! (version 2 added list patches, version 3 detail patches, version 4 paged snapshots,
//! version 5 clusters: every rollout is identified by cluster, namespace and name). A
//! client that falls behind receives a fresh (paged) snapshot or `detail`. The server
//! sends `heartbeat` every [`HEARTBEAT_SECONDS`], and nothing else while nothing changes.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::health::{ClusterStatus, Health};
use crate::view::{RolloutDetail, RolloutSummary};

/// Version of this protocol, sent in `hello`; bumped on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 5;

/// Seconds between heartbeats: well under the 60 s idle timeout of common load balancers.
pub const HEARTBEAT_SECONDS: u64 = 20;

/// Messages from the browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ClientMsg {
    /// Watch the list of rollouts, optionally only some namespaces and clusters (each empty:
    /// all). Replaces the current subscription.
    #[serde(rename_all = "camelCase")]
    SubscribeList {
        #[serde(default)]
        namespaces: Vec<String>,
        #[serde(default)]
        clusters: Vec<String>,
    },
    /// Watch one rollout's detail. Replaces the current subscription.
    #[serde(rename_all = "camelCase")]
    SubscribeRollout {
        cluster: String,
        namespace: String,
        name: String,
    },
    /// Stop receiving changes (for example while the tab is hidden); heartbeats continue.
    Unsubscribe,
}

/// Messages to the browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ServerMsg {
    /// First frame of every connection.
    #[serde(rename_all = "camelCase")]
    Hello {
        protocol: u32,
        version: String,
        /// Git commit of the server's build (`unknown` outside a git checkout). Added within
        /// protocol 3: additive, so a frame without it still parses.
        #[serde(default)]
        commit: String,
        read_only: bool,
        demo: bool,
        heartbeat_seconds: u64,
        /// The clusters' names, in display order (version 5).
        #[serde(default)]
        clusters: Vec<String>,
    },
    /// Health of the sources; sent after `hello` and whenever it changes. `health` is all
    /// clusters together (its `problem` only when no cluster is current); `clusters` each
    /// one's state (version 5).
    #[serde(rename_all = "camelCase")]
    Status {
        health: Health,
        #[serde(default)]
        clusters: Vec<ClusterStatus>,
    },
    /// The whole (filtered) list, current as of `seq`: what the pages of a snapshot add up
    /// to. Since version 4 the server sends it as `snapshotBegin`, pages and `snapshotEnd`;
    /// clients assemble this from them (the web app's list reducer takes it, as it takes a
    /// list polled from the REST API).
    #[serde(rename_all = "camelCase")]
    Snapshot {
        seq: u64,
        rollouts: Vec<Arc<RolloutSummary>>,
    },
    /// A list snapshot current as of `seq` starts: `pages` binary messages follow, each a
    /// `snapshotPage` compressed as `encoding` says (`gzip`), then `snapshotEnd`. `total`
    /// rollouts in all. A new subscription or a resync starts a new one, which replaces the
    /// list held.
    #[serde(rename_all = "camelCase")]
    SnapshotBegin {
        seq: u64,
        total: usize,
        pages: usize,
        encoding: String,
    },
    /// Page `index` (from 0) of the snapshot at `seq`. Sent only as a compressed binary
    /// message; the pages run in the list's default order (needs attention first, then by
    /// status and name), so the first page holds what the browser should paint first.
    #[serde(rename_all = "camelCase")]
    SnapshotPage {
        seq: u64,
        index: usize,
        rollouts: Vec<Arc<RolloutSummary>>,
    },
    /// The snapshot at `seq` is complete; changes (`seq` newer than it) follow.
    #[serde(rename_all = "camelCase")]
    SnapshotEnd { seq: u64 },
    /// A rollout was added or changed (list subscription).
    #[serde(rename_all = "camelCase")]
    Upsert {
        seq: u64,
        rollout: Arc<RolloutSummary>,
    },
    /// A rollout of the list changed: `patch` (RFC 6902, only `add`, `remove`, `replace`)
    /// turns the summary the client got at `base` (the seq of that rollout's previous list
    /// frame) into the new one. Sent instead of `upsert` when it is smaller. A client whose
    /// copy is not the one at `base` (it is missing, or from another frame) re-subscribes
    /// for a fresh snapshot rather than guess.
    #[serde(rename_all = "camelCase")]
    Patch {
        seq: u64,
        base: u64,
        cluster: String,
        namespace: String,
        name: String,
        #[cfg_attr(test, ts(as = "Vec<typescript::JsonPatchOp>"))]
        patch: json_patch::Patch,
    },
    /// A rollout was deleted (list and detail subscriptions).
    #[serde(rename_all = "camelCase")]
    Delete {
        seq: u64,
        cluster: String,
        namespace: String,
        name: String,
    },
    /// The full detail of the subscribed rollout, on subscribe and on every change.
    #[serde(rename_all = "camelCase")]
    Detail {
        seq: u64,
        rollout: Arc<RolloutDetail>,
    },
    /// The subscribed rollout changed: `patch` (RFC 6902, as for the list) turns the detail
    /// this connection sent at `base` into the new one. Sent instead of `detail` when it is
    /// smaller; a client whose copy is not the one at `base` re-subscribes for a fresh detail.
    #[serde(rename_all = "camelCase")]
    DetailPatch {
        seq: u64,
        base: u64,
        namespace: String,
        name: String,
        #[cfg_attr(test, ts(as = "Vec<typescript::JsonPatchOp>"))]
        patch: json_patch::Patch,
    },
    /// The subscribed rollout does not exist (yet); a `detail` follows if it appears.
    #[serde(rename_all = "camelCase")]
    NotFound {
        seq: u64,
        namespace: String,
        name: String,
    },
    /// Sent every `heartbeatSeconds`; a client that misses two may reconnect.
    #[serde(rename_all = "camelCase")]
    Heartbeat { seq: u64 },
    /// A bad client message; the connection stays usable.
    #[serde(rename_all = "camelCase")]
    Error { code: String, message: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{ClusterState, Problem, ProblemCode};
    use serde_json::json;

    fn round_trip_client(msg: ClientMsg, expected: serde_json::Value) {
        assert_eq!(serde_json::to_value(&msg).unwrap(), expected);
        assert_eq!(serde_json::from_value::<ClientMsg>(expected).unwrap(), msg);
    }

    fn round_trip_server(msg: ServerMsg, expected: serde_json::Value) {
        assert_eq!(serde_json::to_value(&msg).unwrap(), expected);
        assert_eq!(serde_json::from_value::<ServerMsg>(expected).unwrap(), msg);
    }

    #[test]
    fn client_messages_round_trip() {
        round_trip_client(
            ClientMsg::SubscribeList {
                namespaces: vec!["shop".into()],
                clusters: vec!["prod-eu".into(), "staging".into()],
            },
            json!({"type": "subscribeList", "namespaces": ["shop"],
                   "clusters": ["prod-eu", "staging"]}),
        );
        round_trip_client(
            ClientMsg::SubscribeRollout {
                cluster: "prod-eu".into(),
                namespace: "shop".into(),
                name: "web".into(),
            },
            json!({"type": "subscribeRollout", "cluster": "prod-eu", "namespace": "shop",
                   "name": "web"}),
        );
        round_trip_client(ClientMsg::Unsubscribe, json!({"type": "unsubscribe"}));
        // Namespaces and clusters are optional.
        assert_eq!(
            serde_json::from_value::<ClientMsg>(json!({"type": "subscribeList"})).unwrap(),
            ClientMsg::SubscribeList {
                namespaces: vec![],
                clusters: vec![]
            }
        );
        // A rollout is named by its cluster too (version 5).
        assert!(
            serde_json::from_value::<ClientMsg>(
                json!({"type": "subscribeRollout", "namespace": "a", "name": "b"})
            )
            .is_err()
        );
    }

    #[test]
    fn unknown_client_messages_are_rejected() {
        assert!(serde_json::from_value::<ClientMsg>(json!({"type": "promote"})).is_err());
        assert!(
            serde_json::from_value::<ClientMsg>(
                json!({"type": "subscribeRollout", "cluster": "c", "namespace": "a", "name": "b",
                       "x": 1})
            )
            .is_err()
        );
    }

    #[test]
    fn history_step_times_and_waiting_round_trip_and_are_optional() {
        use crate::view::{EventView, StepView, WaitingKind, WaitingView};
        let mut detail = RolloutDetail::default();
        detail.summary.waiting = Some(WaitingView {
            kind: WaitingKind::Promotion,
            since: "2026-11-30T10:00:00Z".into(),
        });
        detail.steps.push(StepView {
            began_at: Some("2026-11-30T09:59:00Z".into()),
            ended_at: Some("2026-11-30T10:00:00Z".into()),
            ..StepView::default()
        });
        detail.history.unavailable = Some("forbidden".into());
        detail.history.events.push(EventView {
            type_: "Normal".into(),
            reason: "PromotedFromDashboard".into(),
            message: "alice via rollouts-dashboard: promoted".into(),
            time: Some("2026-11-30T10:00:00Z".into()),
            first_time: None,
            count: 1,
            source: "rollouts-dashboard".into(),
            by: Some("alice".into()),
            action: Some("promoted".into()),
        });
        let msg = ServerMsg::Detail {
            seq: 4,
            rollout: Arc::new(detail),
        };
        let value = serde_json::to_value(&msg).unwrap();
        let r = &value["rollout"];
        assert_eq!(
            r["summary"]["waiting"],
            json!({"kind": "promotion", "since": "2026-11-30T10:00:00Z"})
        );
        assert_eq!(r["steps"][0]["beganAt"], "2026-11-30T09:59:00Z");
        assert_eq!(r["steps"][0]["endedAt"], "2026-11-30T10:00:00Z");
        assert_eq!(
            r["history"],
            json!({"unavailable": "forbidden", "events": [{"type": "Normal",
                "reason": "PromotedFromDashboard", "message": "alice via rollouts-dashboard: promoted",
                "time": "2026-11-30T10:00:00Z", "firstTime": null, "count": 1,
                "source": "rollouts-dashboard", "by": "alice", "action": "promoted"}]})
        );
        round_trip_server(msg, value.clone());
        // Additive within protocol 3: a frame from a server without them still parses.
        let mut older = value;
        let rollout = older["rollout"].as_object_mut().unwrap();
        rollout.remove("history");
        rollout["summary"]
            .as_object_mut()
            .unwrap()
            .remove("waiting");
        let step = rollout["steps"][0].as_object_mut().unwrap();
        step.remove("beganAt");
        step.remove("endedAt");
        let Ok(ServerMsg::Detail { rollout, .. }) = serde_json::from_value::<ServerMsg>(older)
        else {
            panic!("an older detail frame parses")
        };
        assert_eq!(rollout.summary.waiting, None);
        assert!(rollout.history.events.is_empty());
        assert_eq!(rollout.steps[0].began_at, None);
    }

    #[test]
    fn server_messages_round_trip() {
        round_trip_server(
            ServerMsg::Hello {
                protocol: 2,
                version: "0.1.0".into(),
                commit: "1a2b3c4".into(),
                read_only: true,
                demo: false,
                heartbeat_seconds: 20,
                clusters: vec!["prod-eu".into(), "staging".into()],
            },
            json!({"type": "hello", "protocol": 2, "version": "0.1.0", "commit": "1a2b3c4",
                   "readOnly": true, "demo": false, "heartbeatSeconds": 20,
                   "clusters": ["prod-eu", "staging"]}),
        );
        // `clusters` is additive: a hello without it parses.
        let Ok(ServerMsg::Hello { clusters, .. }) = serde_json::from_value::<ServerMsg>(json!({
            "type": "hello", "protocol": 4, "version": "0.1.0", "readOnly": true, "demo": false,
            "heartbeatSeconds": 20}))
        else {
            panic!("an older hello parses")
        };
        assert!(clusters.is_empty());
        round_trip_server(
            ServerMsg::Delete {
                seq: 3,
                cluster: "staging".into(),
                namespace: "a".into(),
                name: "b".into(),
            },
            json!({"type": "delete", "seq": 3, "cluster": "staging", "namespace": "a",
                   "name": "b"}),
        );
        round_trip_server(
            ServerMsg::NotFound {
                seq: 3,
                namespace: "a".into(),
                name: "b".into(),
            },
            json!({"type": "notFound", "seq": 3, "namespace": "a", "name": "b"}),
        );
        round_trip_server(
            ServerMsg::Heartbeat { seq: 9 },
            json!({"type": "heartbeat", "seq": 9}),
        );
        round_trip_server(
            ServerMsg::Error {
                code: "badRequest".into(),
                message: "m".into(),
            },
            json!({"type": "error", "code": "badRequest", "message": "m"}),
        );
        round_trip_server(
            ServerMsg::Patch {
                seq: 7,
                base: 4,
                cluster: "prod-eu".into(),
                namespace: "a".into(),
                name: "b".into(),
                patch: serde_json::from_value(json!([
                    {"op": "replace", "path": "/labels/app~1tier", "value": "web"},
                    {"op": "remove", "path": "/images/1"},
                    {"op": "add", "path": "/stepIndex", "value": null},
                ]))
                .unwrap(),
            },
            json!({"type": "patch", "seq": 7, "base": 4, "cluster": "prod-eu", "namespace": "a",
            "name": "b",
            "patch": [
                {"op": "replace", "path": "/labels/app~1tier", "value": "web"},
                {"op": "remove", "path": "/images/1"},
                {"op": "add", "path": "/stepIndex", "value": null},
            ]}),
        );
        round_trip_server(
            ServerMsg::DetailPatch {
                seq: 9,
                base: 7,
                namespace: "a".into(),
                name: "b".into(),
                patch: serde_json::from_value(json!([
                    {"op": "replace", "path": "/summary/stepIndex", "value": 2},
                ]))
                .unwrap(),
            },
            json!({"type": "detailPatch", "seq": 9, "base": 7, "namespace": "a", "name": "b",
            "patch": [{"op": "replace", "path": "/summary/stepIndex", "value": 2}]}),
        );
        round_trip_server(
            ServerMsg::Snapshot {
                seq: 0,
                rollouts: vec![],
            },
            json!({"type": "snapshot", "seq": 0, "rollouts": []}),
        );
        round_trip_server(
            ServerMsg::SnapshotBegin {
                seq: 12,
                total: 1200,
                pages: 3,
                encoding: "gzip".into(),
            },
            json!({"type": "snapshotBegin", "seq": 12, "total": 1200, "pages": 3,
                   "encoding": "gzip"}),
        );
        round_trip_server(
            ServerMsg::SnapshotPage {
                seq: 12,
                index: 2,
                rollouts: vec![],
            },
            json!({"type": "snapshotPage", "seq": 12, "index": 2, "rollouts": []}),
        );
        round_trip_server(
            ServerMsg::SnapshotEnd { seq: 12 },
            json!({"type": "snapshotEnd", "seq": 12}),
        );
        let health = Health::loaded(crate::health::SourceKind::Files);
        let clusters = vec![
            ClusterStatus {
                name: "prod-eu".into(),
                state: ClusterState::Synced,
                problem: None,
                since: Some("2026-11-30T10:00:00Z".into()),
                last_synced_at: Some("2026-11-30T10:00:00Z".into()),
                rollouts: 12,
            },
            ClusterStatus {
                name: "staging".into(),
                state: ClusterState::Unreachable,
                problem: Some(Problem::new(ProblemCode::Unreachable, "connection refused")),
                since: Some("2026-11-30T10:05:00Z".into()),
                last_synced_at: Some("2026-11-30T10:05:00Z".into()),
                rollouts: 3,
            },
        ];
        let value = serde_json::to_value(ServerMsg::Status {
            health: health.clone(),
            clusters: clusters.clone(),
        })
        .unwrap();
        assert_eq!(value["type"], "status");
        assert_eq!(value["health"]["source"], "files");
        assert_eq!(value["health"]["kinds"]["Rollout"]["synced"], true);
        assert_eq!(
            value["clusters"][1],
            json!({"name": "staging", "state": "unreachable",
                   "problem": {"code": "unreachable", "message": "connection refused"},
                   "since": "2026-11-30T10:05:00Z", "lastSyncedAt": "2026-11-30T10:05:00Z",
                   "rollouts": 3})
        );
        assert_eq!(value["clusters"][0]["state"], "synced");
        assert_eq!(
            serde_json::from_value::<ServerMsg>(value.clone()).unwrap(),
            ServerMsg::Status {
                health: health.clone(),
                clusters
            }
        );
        // Every state's wire name.
        for (state, name) in [
            (ClusterState::Syncing, "syncing"),
            (ClusterState::Forbidden, "forbidden"),
            (ClusterState::CrdMissing, "crdMissing"),
            (ClusterState::WatchFailing, "watchFailing"),
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), name);
            assert_eq!(state.as_str(), name);
        }
        // `clusters` is additive: a status without it parses.
        let mut older = value;
        older.as_object_mut().unwrap().remove("clusters");
        assert_eq!(
            serde_json::from_value::<ServerMsg>(older).unwrap(),
            ServerMsg::Status {
                health,
                clusters: vec![]
            }
        );
    }
}

/// The TypeScript mirror of this protocol: `web/src/api/generated/`, written from the Rust
/// types by ts-rs whenever the unit tests run, so the web app can never drift from the server
/// (`tests/run-all.sh` fails when the written files differ from the committed ones).
#[cfg(test)]
mod typescript {
    use std::path::Path;

    use ts_rs::{Config, TS};

    use super::{ClientMsg, ServerMsg};

    /// The RFC 6902 operations our `patch` and `detailPatch` frames carry (json-patch's diff
    /// writes only these three), for the TypeScript side.
    #[derive(serde::Serialize, TS)]
    #[serde(tag = "op", rename_all = "lowercase")]
    #[allow(dead_code)]
    pub enum JsonPatchOp {
        Add {
            path: String,
            value: serde_json::Value,
        },
        Replace {
            path: String,
            value: serde_json::Value,
        },
        Remove {
            path: String,
        },
    }

    /// Where the bindings live, relative to the crate.
    const OUT: &str = "web/src/api/generated";

    #[test]
    fn typescript_bindings_are_written() {
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join(OUT);
        // Numbers travel as JSON numbers (seq, revisions and counts stay far below 2^53).
        let cfg = Config::new().with_large_int("number").with_out_dir(&out);
        ServerMsg::export_all(&cfg).expect("ServerMsg and what it names export");
        ClientMsg::export_all(&cfg).expect("ClientMsg exports");
        for name in [
            "ServerMsg.ts",
            "ClientMsg.ts",
            "RolloutSummary.ts",
            "RolloutDetail.ts",
        ] {
            let text = std::fs::read_to_string(out.join(name)).expect(name);
            assert!(text.contains("export type"), "{name}: {text}");
        }
    }
}
