//! The WebSocket stream: one connection per browser tab, fed from the shared change feed.
//!
//! Per connection: subscribe to the feed first, then send the snapshot, then forward only
//! the changes newer than the snapshot that match the subscription. Frames are serialized
//! once by the store and shared by every connection. A list snapshot goes as compressed
//! pages ([`crate::pages`], protocol 4), shared by every connection with the same namespace
//! filter at the same version. A connection that falls behind gets a fresh snapshot instead of
//! slowing anyone else down.
//!
//! Memory per connection: tungstenite keeps its write buffer's capacity after sending a
//! message, so a connection holds about the largest message it ever sent. A list client's
//! largest is one compressed page (tens of KB, [`crate::pages::MAX_PAGE_JSON`] before
//! compression) whatever the number of rollouts; a detail client's is its rollout's detail.
//!
//! With `--auth proxy|token`, each connection only receives rollouts of namespaces its user
//! may list (SubjectAccessReview, cached), a detail subscription elsewhere gets an error
//! frame, and a token-mode socket is closed when its session expires or signs out. On
//! server shutdown every socket gets a Close frame with code 1001 (going away).
//!
//! Limits: a client frame or message larger than [`MAX_CLIENT_MESSAGE`] closes the socket
//! (1009) as soon as its header announces it, before any of it is buffered; one user of
//! `--auth proxy|token` may hold `--max-websockets-per-user` sockets, more get 429;
//! subscriptions name namespaces and rollouts by the Kubernetes rules
//! ([`crate::names`]), anything else gets an `error` frame.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::pages::SnapshotPages;
use crate::protocol::{ClientMsg, HEARTBEAT_SECONDS, PROTOCOL_VERSION, ServerMsg};
use crate::state::AppState;
use crate::store::{Change, ListFilter, RolloutKey, serialize};

/// Largest client message accepted; subscriptions are tiny.
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

/// Read buffer per socket (it grows for a larger message, up to [`MAX_CLIENT_MESSAGE`]).
const READ_BUFFER: usize = 4 * 1024;

/// Whose streams a socket counts against: the user in proxy and token modes. With
/// `--auth none` there is nobody to count against: every tab behind `kubectl port-forward`
/// or an Ingress comes from the same address, so a per-address cap would cap the whole team
/// at one person's tabs; `--max-connections` bounds those sockets instead.
fn stream_owner(identity: &Identity) -> Option<String> {
    (!identity.unrestricted).then(|| format!("user {}", identity.user))
}

/// `GET /api/v1/stream`: upgrades to a WebSocket.
pub async fn stream(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    headers: axum::http::HeaderMap,
) -> Response {
    // Browsers send Origin on every WebSocket handshake; refuse other sites' pages.
    if let Err(err) = crate::http::actions::check_same_origin(&headers) {
        return err.into_response();
    }
    let max = state.settings.limits.max_websockets_per_user;
    let slot = match stream_owner(&identity) {
        None => None,
        Some(owner) => match state.streams.try_take(&owner, max) {
            Some(slot) => Some(slot),
            None => {
                tracing::warn!(%owner, max, "WebSocket limit per user reached");
                return ApiError::TooManyStreams(format!(
                    "too many live connections: at most {max} per user \
                     (--max-websockets-per-user); close other dashboard tabs"
                ))
                .into_response();
            }
        },
    };
    // Small buffers: hundreds of sockets each held 128 KiB read + 128 KiB write buffers by
    // default (~0.4 MB RSS per client with 1,000 clients), for tiny client messages and
    // frames the store has already serialized. The frame limit matters most: tungstenite
    // reserves a frame's whole announced length when its header arrives, and its default
    // limit is 16 MiB, so 14-byte headers alone could make us reserve gigabytes.
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            connection(socket, state, identity).await;
        })
}

/// What this connection's user may read, asked per namespace and remembered until the next
/// heartbeat (the shared review cache keeps answers 30 s).
struct Access {
    identity: Identity,
    /// By (cluster, namespace): each cluster's RBAC answers for itself.
    known: HashMap<(String, String), bool>,
}

impl Access {
    async fn may_read(&mut self, state: &AppState, cluster: &str, namespace: &str) -> bool {
        if self.identity.unrestricted {
            return true;
        }
        let key = (cluster.to_owned(), namespace.to_owned());
        if let Some(ok) = self.known.get(&key) {
            return *ok;
        }
        let ok = state
            .auth
            .can_list(&self.identity, cluster, namespace)
            .await;
        self.known.insert(key, ok);
        ok
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// What a connection currently wants.
#[derive(Debug, Clone, PartialEq)]
enum Subscription {
    None,
    List(ListFilter),
    Rollout(RolloutKey),
}

fn text(msg: &ServerMsg) -> Message {
    Message::Text(serialize(msg).into())
}

async fn connection(socket: WebSocket, state: AppState, identity: Identity) {
    let (mut sink, mut incoming) = socket.split();
    let session = identity.session.clone();
    let mut access = Access {
        identity,
        known: HashMap::new(),
    };
    let shutdown = state.shutdown.clone();
    let shutting_down = shutdown.wait();
    tokio::pin!(shutting_down);
    let session_end = async {
        match &session {
            Some(s) => tokio::time::sleep_until(tokio::time::Instant::from_std(s.expires)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(session_end);
    // NB: subscribe before any snapshot, so no change can fall between the two.
    let mut changes = state.store.subscribe();
    let hello = ServerMsg::Hello {
        protocol: PROTOCOL_VERSION,
        version: state.settings.version.clone(),
        commit: crate::build_info::COMMIT.to_owned(),
        read_only: state.settings.read_only,
        demo: state.settings.source == crate::health::SourceKind::Demo,
        heartbeat_seconds: HEARTBEAT_SECONDS,
        clusters: state
            .store
            .cluster_names()
            .iter()
            .map(|c| c.to_string())
            .collect(),
    };
    let status = status_for(&state, &access.identity).await;
    if sink.send(text(&hello)).await.is_err() || sink.send(text(&status)).await.is_err() {
        return;
    }
    let metrics = state.metrics.clone();
    let _connected = metrics.client_connected();
    let mut subscription = Subscription::None;
    let mut last_seq = 0u64;
    let mut detail_sent = DetailSent::default();
    let mut heartbeat = tokio::time::interval(Duration::from_secs(HEARTBEAT_SECONDS));
    heartbeat.tick().await;
    loop {
        let outgoing: Vec<Message> = tokio::select! {
            incoming_msg = incoming.next() => match incoming_msg {
                Some(Ok(Message::Text(body))) => match serde_json::from_str::<ClientMsg>(&body) {
                    Ok(msg) => {
                        subscription = match msg {
                            ClientMsg::SubscribeList { namespaces, clusters } => {
                                // Each one checked (a joined list would let "a,b" pass as two).
                                let checked = namespaces
                                    .iter()
                                    .try_for_each(|ns| crate::names::check_namespace(ns));
                                let parsed = checked.map_err(ApiError::from).and_then(|()| {
                                    let namespaces = super::access::parse_namespaces(Some(&namespaces.join(",")))?;
                                    if clusters.iter().any(|c| c.contains(',')) {
                                        return Err(ApiError::BadRequest("a cluster name has no ','".into()));
                                    }
                                    let clusters = super::access::parse_clusters(clusters.iter().map(String::as_str))?;
                                    Ok(ListFilter { clusters, namespaces, readable: None })
                                });
                                match parsed {
                                    Ok(filter) => Subscription::List(filter),
                                    Err(err) => {
                                        let frame = text(&ServerMsg::Error {
                                            code: "badSubscription".into(),
                                            message: err.to_string(),
                                        });
                                        if sink.send(frame).await.is_err() { break; }
                                        continue;
                                    }
                                }
                            }
                            ClientMsg::SubscribeRollout { cluster, namespace, name } => {
                                let checked = crate::names::check_key(&namespace, &name)
                                    .map_err(ApiError::from)
                                    .and_then(|()| crate::config::check_cluster_name(&cluster).map_err(ApiError::BadRequest));
                                if let Err(err) = checked {
                                    let frame = text(&ServerMsg::Error {
                                        code: "badSubscription".into(),
                                        message: err.to_string(),
                                    });
                                    if sink.send(frame).await.is_err() { break; }
                                    continue;
                                }
                                if !state.auth.signed_in(&access.identity, &cluster) {
                                    let frame = text(&ServerMsg::Error {
                                        code: "notSignedIn".into(),
                                        message: format!("not signed in to cluster {cluster}"),
                                    });
                                    subscription = Subscription::None;
                                    if sink.send(frame).await.is_err() { break; }
                                    continue;
                                }
                                if !access.may_read(&state, &cluster, &namespace).await {
                                    let frame = text(&ServerMsg::Error {
                                        code: "forbidden".into(),
                                        message: format!(
                                            "{} may not list rollouts in namespace {namespace:?}",
                                            access.identity.user
                                        ),
                                    });
                                    subscription = Subscription::None;
                                    if sink.send(frame).await.is_err() { break; }
                                    continue;
                                }
                                Subscription::Rollout(RolloutKey::new(cluster, namespace, name))
                            }
                            ClientMsg::Unsubscribe => Subscription::None,
                        };
                        let (seq, frames) = snapshot(&state, &subscription, &access.identity).await;
                        last_seq = seq;
                        detail_sent.restart(frames)
                    }
                    Err(err) => vec![text(&ServerMsg::Error {
                        code: "badMessage".into(),
                        message: format!("cannot read message: {err}"),
                    })],
                },
                Some(Ok(Message::Binary(_))) => vec![text(&ServerMsg::Error {
                    code: "badMessage".into(),
                    message: "binary messages are not supported; send JSON text".into(),
                })],
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(err)) => {
                    // Mostly a frame or message over MAX_CLIENT_MESSAGE (refused from its
                    // header); axum's error wraps tungstenite's, which we only see as text.
                    let too_big = err.to_string().contains("too long");
                    tracing::debug!(%err, "stream client sent a bad frame; closing");
                    let (code, reason) = if too_big {
                        (close_code::SIZE, "message too big")
                    } else {
                        (close_code::PROTOCOL, "protocol error")
                    };
                    let _ = sink.send(close(code, reason)).await;
                    break;
                }
                // Pings are answered by the WebSocket layer itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => vec![],
            },
            change = changes.recv() => match change {
                Ok(change) => {
                    let readable = match &*change {
                        Change::Rollout { key, .. } => access.may_read(&state, &key.cluster, &key.namespace).await,
                        Change::Health { .. } => true,
                    };
                    if matches!(&*change, Change::Health { .. }) && !access.identity.unrestricted {
                        // The store's frame is cluster-wide: send this user's copy.
                        vec![text(&status_for(&state, &access.identity).await)]
                    } else if readable {
                        route(&change, &subscription, &mut last_seq)
                            .map(|f| detail_sent.track(f))
                            .into_iter()
                            .collect()
                    } else {
                        vec![]
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "stream client lagged; resending snapshot");
                    let (seq, frames) = snapshot(&state, &subscription, &access.identity).await;
                    last_seq = seq;
                    detail_sent.restart(frames)
                }
                Err(RecvError::Closed) => break,
            },
            _ = heartbeat.tick() => {
                // Revocations and sign-outs take effect within a heartbeat.
                access.known.clear();
                // A signed-out session, or a token Kubernetes no longer accepts (re-checked
                // every few minutes), ends the socket too.
                if let Some(s) = &session
                    && (!state.auth.session_alive(s)
                        || !state.auth.revalidate(s).await)
                {
                    let _ = sink.send(close(close_code::POLICY, "session ended; sign in again")).await;
                    break;
                }
                // The re-check may have brought other groups: read with those from now on.
                if let Some(fresh) = session
                    .as_ref()
                    .and_then(|s| state.auth.session_identity(s))
                {
                    access.identity = fresh;
                }
                vec![text(&ServerMsg::Heartbeat { seq: last_seq })]
            }
            () = &mut session_end => {
                let _ = sink.send(close(close_code::POLICY, "session expired; sign in again")).await;
                break;
            }
            () = &mut shutting_down => {
                let _ = sink.send(close(close_code::AWAY, "server shutting down")).await;
                break;
            }
        };
        for message in outgoing {
            match &message {
                Message::Text(text) => metrics.count_frame(text.len()),
                Message::Binary(bytes) => metrics.count_frame(bytes.len()),
                _ => {}
            }
            if sink.send(message).await.is_err() {
                return;
            }
        }
    }
}

/// The detail this connection last sent, so that the next one can go as a `detailPatch`.
///
/// Every `detail` frame passes through [`DetailSent::track`]: the first is sent whole and
/// remembered; a later one of the same rollout is replaced by the RFC 6902 patch from the
/// remembered detail when that is smaller (a step or a pod count changes a few fields of a
/// detail of 5–50 KB). Any other frame of a rollout (`delete`, `notFound`) forgets it. The
/// patch is computed per connection, against exactly what this connection sent, so a
/// client never depends on frames it did not get; it costs a parse and a diff per change
/// of the one rollout each detail page watches, and one detail held as a JSON value per
/// open detail page. Frames arrive already serialized by the store, and serde writes the
/// tag first, so a frame's type is its prefix.
#[derive(Default)]
struct DetailSent {
    last: Option<(u64, serde_json::Value)>,
}

impl DetailSent {
    /// The frames that (re)start a subscription: a detail is always sent whole, and is the
    /// new base (a client that asked again because its copy did not fit must get a copy, not
    /// another patch); a list snapshot forgets the detail.
    fn restart(&mut self, frames: Vec<Message>) -> Vec<Message> {
        self.last = None;
        frames.into_iter().map(|f| self.track(f)).collect()
    }

    /// A change's frame: a `detail` becomes a `detailPatch` when that is smaller.
    fn track(&mut self, message: Message) -> Message {
        let Message::Text(frame) = &message else {
            return message;
        };
        let frame_text = frame.as_str();
        if !frame_text.starts_with(r#"{"type":"detail","#) {
            if frame_text.starts_with(r#"{"type":"delete","#)
                || frame_text.starts_with(r#"{"type":"notFound","#)
                || frame_text.starts_with(r#"{"type":"snapshotBegin","#)
            {
                self.last = None;
            }
            return message;
        }
        let Ok(serde_json::Value::Object(mut parsed)) = serde_json::from_str(frame_text) else {
            self.last = None;
            return message;
        };
        let seq = parsed
            .get("seq")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        let detail = parsed.remove("rollout").unwrap_or_default();
        let previous = self.last.replace((seq, detail));
        let (Some((base, before)), Some((_, after))) = (previous, self.last.as_ref()) else {
            return message;
        };
        let same_rollout = before.pointer("/summary/cluster") == after.pointer("/summary/cluster")
            && before.pointer("/summary/namespace") == after.pointer("/summary/namespace")
            && before.pointer("/summary/name") == after.pointer("/summary/name");
        if !same_rollout || base >= seq {
            return message;
        }
        let text_of = |pointer: &str| {
            after
                .pointer(pointer)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let patch = serialize(&ServerMsg::DetailPatch {
            seq,
            base,
            namespace: text_of("/summary/namespace"),
            name: text_of("/summary/name"),
            patch: json_patch::diff(&before, after),
        });
        if patch.len() < frame_text.len() {
            Message::Text(patch.into())
        } else {
            message
        }
    }
}

/// The `status` frame `identity` may see.
async fn status_for(state: &AppState, identity: &Identity) -> ServerMsg {
    let (health, visible) = super::status::health_for(state, identity).await;
    ServerMsg::Status {
        health,
        clusters: super::status::clusters_for(state, identity, &visible).await,
    }
}

/// The frames that start (or restart) a subscription, and the seq they are current at.
async fn snapshot(
    state: &AppState,
    subscription: &Subscription,
    identity: &Identity,
) -> (u64, Vec<Message>) {
    match subscription {
        Subscription::None => (0, vec![]),
        Subscription::List(wanted) => {
            let filter = ListFilter {
                readable: super::access::readable(state, identity).await,
                ..wanted.clone()
            };
            match state.store.shared_list_pages(&filter).await {
                Ok(pages) => (pages.seq, paged_snapshot(&pages)),
                Err(err) => {
                    tracing::error!(%err, "list snapshot failed");
                    let frame = text(&ServerMsg::Error {
                        code: "internal".into(),
                        message: "the list could not be sent; reload the page".into(),
                    });
                    (0, vec![frame])
                }
            }
        }
        Subscription::Rollout(key) => {
            let (seq, detail) = state.store.detail(key);
            let msg = match detail {
                Some(rollout) => ServerMsg::Detail { seq, rollout },
                None => ServerMsg::NotFound {
                    seq,
                    namespace: key.namespace.clone(),
                    name: key.name.clone(),
                },
            };
            (seq, vec![text(&msg)])
        }
    }
}

/// `snapshotBegin`, the pages as binary messages (shared bytes: nothing is copied per
/// connection until tungstenite frames it), `snapshotEnd`.
fn paged_snapshot(pages: &SnapshotPages) -> Vec<Message> {
    let mut frames = Vec::with_capacity(pages.pages.len() + 2);
    frames.push(text(&ServerMsg::SnapshotBegin {
        seq: pages.seq,
        total: pages.total,
        pages: pages.pages.len(),
        encoding: crate::pages::ENCODING.to_owned(),
    }));
    frames.extend(pages.pages.iter().cloned().map(Message::Binary));
    frames.push(text(&ServerMsg::SnapshotEnd { seq: pages.seq }));
    frames
}

/// Picks the frame of a change that this subscription should see, if any.
fn route(change: &Change, subscription: &Subscription, last_seq: &mut u64) -> Option<Message> {
    match change {
        Change::Health { frame } => Some(Message::Text(frame.clone())),
        Change::Rollout {
            seq,
            key,
            list_frame,
            detail_frame,
        } => {
            if *seq <= *last_seq {
                return None;
            }
            let frame = match subscription {
                Subscription::List(filter) if filter.matches(key) => list_frame.as_ref(),
                Subscription::Rollout(wanted) if wanted == key => detail_frame.as_ref(),
                _ => None,
            }?;
            *last_seq = *seq;
            Some(Message::Text(frame.clone()))
        }
    }
}
