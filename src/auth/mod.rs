//! Who is asking, and what they may do: `--auth none|proxy|token`.
//!
//! * `none`: everyone is the local user and acts with the dashboard's own identity; the
//!   configuration only allows it on loopback or read-only ([`crate::config::Config`]).
//! * `proxy`: an authenticating proxy (oauth2-proxy, Pomerium, ...) sends the user and groups
//!   in headers. They are believed only from `--auth-proxy-trusted` peers or with the shared
//!   secret. Writes impersonate the user ([`KubeBackend::impersonating`]).
//! * `token`: people sign in with a Kubernetes bearer token, validated with a TokenReview and
//!   kept server-side in a session; writes use that token.
//!
//! In `proxy` and `token` modes, reads from the shared cache are filtered per namespace with
//! SubjectAccessReviews ([`review`]), so nobody sees what Kubernetes would not show them.
//! Client-sent `Impersonate-*` headers are removed from every request.

pub mod review;

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use serde_json::json;

use crate::actions::KubeBackend;
use crate::config::Config;
use crate::net::IpNet;

pub use crate::config::AuthMode;

/// The actor named in logs and Events in `--auth none`.
pub const LOCAL_USER: &str = "local user (--auth none)";

/// Name of the session cookie (token mode).
pub const SESSION_COOKIE: &str = "rd_session";

/// Longest user name or group accepted from a proxy header.
const MAX_NAME: usize = 256;
/// Most groups accepted from a proxy header.
const MAX_GROUPS: usize = 100;
/// Most concurrent sessions kept (token mode); the oldest are dropped beyond.
const MAX_SESSIONS: usize = 10_000;
/// How long a per-user impersonating client is kept.
const BACKEND_TTL: Duration = Duration::from_secs(600);

/// The person behind a request.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Kubernetes user name (or [`LOCAL_USER`]).
    pub user: String,
    /// Kubernetes groups.
    pub groups: Vec<String>,
    /// `--auth none`: reads are not filtered.
    pub unrestricted: bool,
    /// The session this request belongs to (token mode).
    pub session: Option<SessionRef>,
    /// `--auth token` with several clusters: those that accepted the token at sign-in (the
    /// others answer `notSignedIn`); unused otherwise ([`Auth::signed_in`]).
    pub clusters: Vec<String>,
}

impl Identity {
    /// The identity of `--auth none`.
    pub fn local() -> Identity {
        Identity {
            user: LOCAL_USER.to_owned(),
            groups: vec![],
            unrestricted: true,
            session: None,
            clusters: vec![],
        }
    }
}

/// A token-mode session as seen by a request.
#[derive(Debug, Clone)]
pub struct SessionRef {
    /// Session id (the cookie value).
    pub id: String,
    /// When it ends.
    pub expires: Instant,
}

/// Why a request has no identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unauthenticated {
    #[error(
        "identity headers are only accepted from a trusted proxy (--auth-proxy-trusted or the shared secret)"
    )]
    UntrustedProxy,
    #[error("the authenticating proxy sent no user ({0} header)")]
    NoUser(String),
    #[error("the {0} header is malformed")]
    BadHeader(String),
    #[error("not signed in, or the session expired: sign in again")]
    NoSession,
}

impl IntoResponse for Unauthenticated {
    fn into_response(self) -> Response {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": {"code": "unauthenticated", "message": self.to_string()}})),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// `--auth proxy` settings.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    user_header: HeaderName,
    groups_header: HeaderName,
    trusted: Vec<IpNet>,
    secret_header: HeaderName,
    secret: Option<String>,
}

/// The dashboard's own Kubernetes configuration and client (cluster sources only).
#[derive(Clone)]
pub struct KubeAccess {
    /// The configuration the client was built from (to derive per-user clients).
    pub config: kube::Config,
    /// The dashboard's own client (TokenReview, SubjectAccessReview).
    pub client: kube::Client,
}

/// A signed-in user (token mode). The token never leaves the server.
struct Session {
    user: String,
    groups: Vec<String>,
    expires: Instant,
    backend: Option<KubeBackend>,
    /// Kept to re-check it ([`TOKEN_RECHECK`]); never sent anywhere but the API server.
    token: String,
    reviewed: Instant,
    /// The clusters that accepted the token at sign-in (several clusters only).
    clusters: Vec<String>,
}

/// How often a session's token is checked again with a TokenReview (the default of
/// [`Auth::token_recheck`]), so that a revoked or expired token ends the session (and its
/// WebSockets), and a change of the user's groups reaches the read filter, within this time.
pub const TOKEN_RECHECK: Duration = Duration::from_secs(300);

/// The owner of a token, as a TokenReview tells it: user name and groups.
pub type TokenOwner = (String, Vec<String>);

/// Why a token could not be checked. The detail (API server address, TLS or network error)
/// is for the server log only: people who are not signed in see a generic message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenReviewError {
    #[error("no cluster to check the token with")]
    NoCluster,
    #[error("cannot check the token with Kubernetes: {0}")]
    Failed(String),
}

/// Who owns a bearer token: `Ok(None)` when Kubernetes does not accept it. The cluster's
/// answer comes from [`KubeTokenReviewer`]; tests put a fake in with
/// [`Auth::with_token_reviewer`].
pub trait TokenReviewer: Send + Sync {
    /// Reviews `token`.
    fn review<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<TokenOwner>, TokenReviewError>>;
}

/// TokenReviews (authentication.k8s.io/v1) sent with the dashboard's own client.
pub struct KubeTokenReviewer(pub kube::Client);

impl TokenReviewer for KubeTokenReviewer {
    fn review<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<TokenOwner>, TokenReviewError>> {
        Box::pin(async move {
            use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
            let review = TokenReview {
                spec: TokenReviewSpec {
                    token: Some(token.to_owned()),
                    audiences: None,
                },
                ..Default::default()
            };
            let api: kube::Api<TokenReview> = kube::Api::all(self.0.clone());
            let answer = api
                .create(&kube::api::PostParams::default(), &review)
                .await
                .map_err(|e| TokenReviewError::Failed(e.to_string()))?
                .status
                .unwrap_or_default();
            let user = answer.user.unwrap_or_default();
            let name = user.username.unwrap_or_default();
            if answer.authenticated != Some(true) || name.is_empty() {
                return Ok(None);
            }
            Ok(Some((name, user.groups.unwrap_or_default())))
        })
    }
}

/// A user and their groups.
type UserKey = (String, Vec<String>);

/// Writes per minute per key (user, or sign-in attempts per address): governor's GCRA
/// limiter, a token bucket refilled evenly over the minute.
type WriteLimiter = governor::DefaultKeyedRateLimiter<String>;

fn write_limiter(per_minute: u32) -> WriteLimiter {
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute))
}

/// Authentication and authorization state, shared by every request.
pub struct Auth {
    /// The mode.
    pub mode: AuthMode,
    proxy: Option<ProxySettings>,
    kube: Option<KubeAccess>,
    /// Every cluster's access, by name, in display order ([`Auth::with_clusters`]); empty
    /// for a single cluster known only as `kube`.
    clusters: Vec<(String, KubeAccess)>,
    /// Each cluster's TokenReviews, as `clusters` (token mode signs in to each).
    cluster_reviewers: Vec<(String, Arc<dyn TokenReviewer>)>,
    sessions: Mutex<HashMap<String, Session>>,
    backends: Mutex<HashMap<(String, UserKey), (KubeBackend, Instant)>>,
    writes: WriteLimiter,
    reviews: review::ReviewCache,
    token_reviewer: Option<Arc<dyn TokenReviewer>>,
    /// How often a token-mode session's token is reviewed again ([`TOKEN_RECHECK`]).
    pub token_recheck: Duration,
    /// Writes per minute per user ([`Auth::with_writes_per_minute`]).
    writes_per_minute: u32,
    /// How long a token-mode session lasts.
    pub session_ttl: Duration,
    /// Cookies carry `Secure` (everywhere except plain http on loopback).
    pub secure_cookies: bool,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("mode", &self.mode)
            .field("proxy", &self.proxy.as_ref().map(|p| &p.trusted))
            .field("cluster", &self.kube.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Auth {
    fn default() -> Self {
        Auth::none()
    }
}

impl Auth {
    /// `--auth none`.
    pub fn none() -> Auth {
        Auth {
            mode: AuthMode::None,
            proxy: None,
            kube: None,
            clusters: vec![],
            cluster_reviewers: vec![],
            sessions: Mutex::default(),
            backends: Mutex::default(),
            writes: write_limiter(30),
            reviews: review::ReviewCache::default(),
            token_reviewer: None,
            token_recheck: TOKEN_RECHECK,
            writes_per_minute: 30,
            session_ttl: Duration::from_secs(8 * 3600),
            secure_cookies: false,
        }
    }

    /// From a validated configuration; `kube` is the dashboard's cluster access, if any.
    pub fn from_config(config: &Config, kube: Option<KubeAccess>) -> Auth {
        let header = |name: &str| {
            HeaderName::from_bytes(name.as_bytes()).unwrap_or(HeaderName::from_static("x-invalid"))
        };
        let proxy = (config.auth == AuthMode::Proxy).then(|| ProxySettings {
            user_header: header(&config.auth_proxy_user_header),
            groups_header: header(&config.auth_proxy_groups_header),
            trusted: config.proxy_trusted_nets().unwrap_or_default(),
            secret_header: header(&config.auth_proxy_secret_header),
            secret: config.auth_proxy_secret.clone(),
        });
        let token_reviewer = kube
            .as_ref()
            .map(|k| Arc::new(KubeTokenReviewer(k.client.clone())) as Arc<dyn TokenReviewer>);
        Auth {
            mode: config.auth,
            proxy,
            kube,
            token_reviewer,
            session_ttl: Duration::from_secs(config.auth_session_minutes.saturating_mul(60)),
            secure_cookies: !config.address.is_loopback() || config.tls_cert.is_some(),
            ..Auth::none()
        }
        .with_writes_per_minute(config.writes_per_minute)
    }

    /// Sets the per-user write rate (`--writes-per-minute`).
    pub fn with_writes_per_minute(mut self, per_minute: u32) -> Auth {
        self.writes_per_minute = per_minute;
        self.writes = write_limiter(per_minute);
        self
    }

    /// Writes per minute per user.
    pub fn writes_per_minute(&self) -> u32 {
        self.writes_per_minute
    }

    /// Replaces who answers TokenReviews (tests; the cluster otherwise).
    pub fn with_token_reviewer(mut self, reviewer: Arc<dyn TokenReviewer>) -> Auth {
        self.token_reviewer = Some(reviewer);
        self
    }

    /// Adds every cluster's access (several clusters): reviews, impersonation and token
    /// sign-in then go to the cluster each request is about. The first is also the default.
    pub fn with_clusters(mut self, clusters: Vec<(String, KubeAccess)>) -> Auth {
        if self.kube.is_none() {
            self.kube = clusters.first().map(|(_, access)| access.clone());
        }
        self.cluster_reviewers = clusters
            .iter()
            .map(|(name, access)| {
                let reviewer = Arc::new(KubeTokenReviewer(access.client.clone()));
                (name.clone(), reviewer as Arc<dyn TokenReviewer>)
            })
            .collect();
        self.clusters = clusters;
        self
    }

    /// Replaces each cluster's TokenReviews (tests).
    pub fn with_cluster_reviewers(
        mut self,
        reviewers: Vec<(String, Arc<dyn TokenReviewer>)>,
    ) -> Auth {
        self.cluster_reviewers = reviewers;
        self
    }

    /// Whether access reviews reach a cluster (else every read is allowed: demo, files).
    pub fn has_cluster(&self) -> bool {
        self.kube.is_some() || !self.clusters.is_empty()
    }

    /// The access to `cluster` (with one cluster known only as `kube`: that one).
    pub fn kube_for(&self, cluster: &str) -> Option<&KubeAccess> {
        if self.clusters.is_empty() {
            return self.kube.as_ref();
        }
        self.clusters
            .iter()
            .find(|(name, _)| name == cluster)
            .map(|(_, access)| access)
    }

    /// Whether `identity` is signed in to `cluster`: always, but with `--auth token` and
    /// several clusters, where a token signs in to the clusters that accept it.
    pub fn signed_in(&self, identity: &Identity, cluster: &str) -> bool {
        self.mode != AuthMode::Token
            || self.cluster_reviewers.is_empty()
            || identity.unrestricted
            || identity.clusters.iter().any(|c| c == cluster)
    }

    /// Identifies a request from its headers and its peer address.
    pub fn identify(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<Identity, Unauthenticated> {
        match self.mode {
            AuthMode::None => Ok(Identity::local()),
            AuthMode::Proxy => {
                let Some(proxy) = &self.proxy else {
                    return Err(Unauthenticated::UntrustedProxy);
                };
                self.identify_proxy(proxy, headers, peer)
            }
            AuthMode::Token => {
                let id = cookie(headers, SESSION_COOKIE).ok_or(Unauthenticated::NoSession)?;
                self.session(&id).ok_or(Unauthenticated::NoSession)
            }
        }
    }

    fn identify_proxy(
        &self,
        proxy: &ProxySettings,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<Identity, Unauthenticated> {
        let from_trusted = peer.is_some_and(|ip| proxy.trusted.iter().any(|n| n.contains(ip)));
        let secret_ok = proxy.secret.as_ref().is_some_and(|secret| {
            headers
                .get(&proxy.secret_header)
                .is_some_and(|v| constant_time_eq(v.as_bytes(), secret.as_bytes()))
        });
        if !from_trusted && !secret_ok {
            return Err(Unauthenticated::UntrustedProxy);
        }
        let text = |name: &HeaderName| -> Result<Option<String>, Unauthenticated> {
            let mut values = headers.get_all(name).iter();
            let Some(value) = values.next() else {
                return Ok(None);
            };
            if values.next().is_some() {
                // Two values: someone appended to what the proxy set.
                return Err(Unauthenticated::BadHeader(name.to_string()));
            }
            value
                .to_str()
                .map(|s| Some(s.trim().to_owned()))
                .map_err(|_| Unauthenticated::BadHeader(name.to_string()))
        };
        let user = text(&proxy.user_header)?
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Unauthenticated::NoUser(proxy.user_header.to_string()))?;
        // `system:` names belong to Kubernetes components, never to people signing in at a
        // proxy: refusing them keeps a misconfigured proxy from impersonating system:masters.
        if user.len() > MAX_NAME
            || user.chars().any(char::is_control)
            || user.starts_with("system:")
        {
            return Err(Unauthenticated::BadHeader(proxy.user_header.to_string()));
        }
        let groups: Vec<String> = text(&proxy.groups_header)?
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty() && !g.starts_with("system:"))
            .map(str::to_owned)
            .collect();
        if groups.len() > MAX_GROUPS
            || groups
                .iter()
                .any(|g| g.len() > MAX_NAME || g.chars().any(char::is_control))
        {
            return Err(Unauthenticated::BadHeader(proxy.groups_header.to_string()));
        }
        Ok(Identity {
            user,
            groups,
            unrestricted: false,
            session: None,
            clusters: vec![],
        })
    }

    /// The live session with this id, if any (expired ones are removed).
    fn session(&self, id: &str) -> Option<Identity> {
        let mut sessions = self.sessions.lock();
        let session = sessions.get(id)?;
        if session.expires <= Instant::now() {
            sessions.remove(id);
            return None;
        }
        Some(Identity {
            user: session.user.clone(),
            groups: session.groups.clone(),
            unrestricted: false,
            session: Some(SessionRef {
                id: id.to_owned(),
                expires: session.expires,
            }),
            clusters: session.clusters.clone(),
        })
    }

    /// Whether the session is still signed in (WebSockets poll this).
    pub fn session_alive(&self, session: &SessionRef) -> bool {
        session.expires > Instant::now() && self.sessions.lock().contains_key(&session.id)
    }

    /// Starts a session for a token already validated with a TokenReview; returns its id.
    pub fn create_session(&self, user: String, groups: Vec<String>, token: String) -> String {
        self.create_session_in(user, groups, token, vec![])
    }

    /// [`Auth::create_session`] signed in to `clusters` (those that accepted the token).
    pub fn create_session_in(
        &self,
        user: String,
        groups: Vec<String>,
        token: String,
        clusters: Vec<String>,
    ) -> String {
        let backend = self
            .kube
            .as_ref()
            .and_then(|kube| token_backend(kube, token.clone()));
        let id = random_hex(32);
        let now = Instant::now();
        let mut sessions = self.sessions.lock();
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            id.clone(),
            Session {
                user,
                groups,
                expires: now + self.session_ttl,
                backend,
                token,
                reviewed: now,
                clusters,
            },
        );
        id
    }

    /// Reviews `token` on every cluster at once (several clusters): its owner as the first
    /// cluster (in display order) that accepts it names them, and every cluster that accepts
    /// it as that same user, where the session will be signed in. `Ok(None)` when no
    /// cluster accepts it; an error when none accepts it and one could not be asked. With
    /// one cluster: [`Auth::token_review`], signed in to it.
    pub async fn token_review_clusters(
        &self,
        token: &str,
    ) -> Result<Option<(TokenOwner, Vec<String>)>, TokenReviewError> {
        if self.cluster_reviewers.is_empty() {
            return Ok(self.token_review(token).await?.map(|owner| (owner, vec![])));
        }
        let answers = futures::future::join_all(
            self.cluster_reviewers
                .iter()
                .map(|(name, reviewer)| async move { (name, reviewer.review(token).await) }),
        )
        .await;
        let owner = answers
            .iter()
            .find_map(|(_, answer)| answer.as_ref().ok().and_then(Clone::clone));
        let Some(owner) = owner else {
            return match answers.into_iter().find_map(|(_, a)| a.err()) {
                Some(err) => Err(err),
                None => Ok(None),
            };
        };
        let mut clusters = vec![];
        for (name, answer) in &answers {
            match answer {
                Ok(Some((user, _))) if *user == owner.0 => clusters.push((*name).clone()),
                Ok(Some((user, _))) => {
                    tracing::warn!(cluster = %name, user, owner = %owner.0,
                        "the token names another user on this cluster: not signed in there");
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(cluster = %name, %err, "sign-in: TokenReview failed on this cluster");
                }
            }
        }
        Ok(Some((owner, clusters)))
    }

    /// Asks Kubernetes who owns `token` (TokenReview with the dashboard's client):
    /// `Ok(None)` when it is not accepted.
    pub async fn token_review(&self, token: &str) -> Result<Option<TokenOwner>, TokenReviewError> {
        let reviewer = self
            .token_reviewer
            .as_ref()
            .ok_or(TokenReviewError::NoCluster)?;
        reviewer.review(token).await
    }

    /// Re-checks a session's token every [`Auth::token_recheck`]: the session takes the
    /// groups of the answer (so reads are filtered with the groups Kubernetes gives the
    /// token now, not those of sign-in); false (and the session ended) when Kubernetes no
    /// longer accepts the token, or gives it to another user. A failing API server keeps
    /// the session as it is and is retried on the next request.
    pub async fn revalidate(&self, session: &SessionRef) -> bool {
        let (token, user, home) = {
            let sessions = self.sessions.lock();
            match sessions.get(&session.id) {
                None => return false,
                Some(s) if s.reviewed.elapsed() < self.token_recheck => return true,
                Some(s) => (s.token.clone(), s.user.clone(), s.clusters.first().cloned()),
            }
        };
        // Re-checked where the session got its identity: the first cluster it signed in to.
        let reviewer = home.and_then(|home| {
            self.cluster_reviewers
                .iter()
                .find(|(name, _)| *name == home)
                .map(|(_, r)| r.clone())
        });
        let answer = match reviewer {
            Some(reviewer) => reviewer.review(&token).await,
            None => self.token_review(&token).await,
        };
        match answer {
            Ok(Some((name, groups))) if name == user => {
                let mut sessions = self.sessions.lock();
                let Some(s) = sessions.get_mut(&session.id) else {
                    // Signed out while the review was under way.
                    return false;
                };
                if s.groups != groups {
                    tracing::info!(%user, before = ?s.groups, now = ?groups, "session groups changed");
                    s.groups = groups;
                }
                s.reviewed = Instant::now();
                true
            }
            Ok(_) => {
                tracing::info!(%user, "token no longer accepted by Kubernetes; session ended");
                self.end_session(&session.id);
                false
            }
            Err(err) => {
                tracing::warn!(%user, %err, "cannot re-check a session's token; keeping it for now");
                true
            }
        }
    }

    /// The current identity of a live session (its groups as of the last re-check), for
    /// long-lived requests such as WebSockets to follow [`Auth::revalidate`].
    pub fn session_identity(&self, session: &SessionRef) -> Option<Identity> {
        self.session(&session.id)
    }

    /// Ends a session.
    pub fn end_session(&self, id: &str) -> bool {
        self.sessions.lock().remove(id).is_some()
    }

    /// The backend that writes to `cluster` as this person: `None` means the dashboard's
    /// own backend (`--auth none`, or no cluster). An error means the user cannot write there
    /// (callers check [`Auth::signed_in`] first, to answer `notSignedIn`).
    pub fn backend_for(
        &self,
        identity: &Identity,
        cluster: &str,
    ) -> Result<Option<KubeBackend>, String> {
        if !self.has_cluster() {
            return Ok(None);
        }
        let Some(kube) = self.kube_for(cluster) else {
            return Err(format!("no cluster {cluster:?} is configured"));
        };
        match self.mode {
            AuthMode::None => Ok(None),
            AuthMode::Token => {
                let session = identity
                    .session
                    .as_ref()
                    .ok_or("no session for this request")?;
                if !self.signed_in(identity, cluster) {
                    return Err(format!("not signed in to cluster {cluster}"));
                }
                let token = {
                    let sessions = self.sessions.lock();
                    let s = sessions
                        .get(&session.id)
                        .ok_or_else(|| "the session ended; sign in again".to_owned())?;
                    if self.clusters.is_empty() {
                        // One cluster: the client made at sign-in.
                        return s
                            .backend
                            .clone()
                            .map(Some)
                            .ok_or_else(|| "the session ended; sign in again".to_owned());
                    }
                    s.token.clone()
                };
                token_backend(kube, token)
                    .map(Some)
                    .ok_or_else(|| "cannot build a client with your token".to_owned())
            }
            AuthMode::Proxy => {
                let key = (
                    cluster.to_owned(),
                    (identity.user.clone(), identity.groups.clone()),
                );
                let now = Instant::now();
                let mut backends = self.backends.lock();
                if let Some((backend, at)) = backends.get(&key)
                    && now.duration_since(*at) < BACKEND_TTL
                {
                    return Ok(Some(backend.clone()));
                }
                backends.retain(|_, (_, at)| now.duration_since(*at) < BACKEND_TTL);
                let backend = KubeBackend::impersonating(
                    kube.config.clone(),
                    &identity.user,
                    &identity.groups,
                )
                .map_err(|e| format!("cannot build an impersonating client: {e}"))?;
                backends.insert(key, (backend.clone(), now));
                Ok(Some(backend))
            }
        }
    }

    /// Takes one write from `key`'s bucket; `Err(wait)` when it is empty.
    pub fn take_write(&self, key: &str) -> Result<(), Duration> {
        // Forget keys whose bucket is full again, so one-off keys cannot grow the map.
        if self.writes.len() > 50_000 {
            self.writes.retain_recent();
        }
        self.writes.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            // Whole seconds, rounded up: what a Retry-After header can say.
            Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        })
    }
}

/// A backend that acts with `token` on the cluster of `kube`.
fn token_backend(kube: &KubeAccess, token: String) -> Option<KubeBackend> {
    let mut config = kube.config.clone();
    config.auth_info = kube::config::AuthInfo {
        token: Some(token.into()),
        ..Default::default()
    };
    match kube::Client::try_from(config) {
        Ok(client) => Some(KubeBackend::new(client)),
        Err(err) => {
            tracing::error!(%err, "cannot build a client with the user's token");
            None
        }
    }
}

/// Compares secrets in constant time (the `subtle` crate), so timing says nothing of how
/// much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// `n` random bytes from the OS, hex-encoded. Panics if the OS has no randomness: a
/// predictable session id is worse than no server.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the OS random generator works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of cookie `name`, if sent (parsed by axum-extra's cookie jar).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    axum_extra::extract::cookie::CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_owned())
}

/// Removes every client-sent `Impersonate-*` header: they are never honoured nor forwarded.
pub fn strip_impersonation(headers: &mut HeaderMap) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("impersonate-"))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_refills() {
        let auth = Auth::none().with_writes_per_minute(2);
        assert!(auth.take_write("a").is_ok());
        assert!(auth.take_write("a").is_ok());
        let wait = auth.take_write("a").unwrap_err();
        assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(30));
        assert!(auth.take_write("b").is_ok());
    }

    #[test]
    fn cookies_and_secrets() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; rd_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert_eq!(random_hex(32).len(), 64);
    }

    /// Answers TokenReviews with whatever the test last set, counting the questions.
    struct FakeReviewer {
        answer: Mutex<Result<Option<TokenOwner>, TokenReviewError>>,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl FakeReviewer {
        fn new(user: &str, groups: &[&str]) -> Arc<FakeReviewer> {
            let reviewer = Arc::new(FakeReviewer {
                answer: Mutex::new(Ok(None)),
                calls: Default::default(),
            });
            reviewer.set_owner(user, groups);
            reviewer
        }
        fn set_owner(&self, user: &str, groups: &[&str]) {
            self.set(Ok(Some((
                user.to_owned(),
                groups.iter().map(|g| (*g).to_owned()).collect(),
            ))));
        }
        fn set(&self, answer: Result<Option<TokenOwner>, TokenReviewError>) {
            *self.answer.lock() = answer;
        }
        fn calls(&self) -> usize {
            self.calls.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    impl TokenReviewer for FakeReviewer {
        fn review<'a>(
            &'a self,
            token: &'a str,
        ) -> BoxFuture<'a, Result<Option<TokenOwner>, TokenReviewError>> {
            assert_eq!(token, "the-token");
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = self.answer.lock().clone();
            Box::pin(async move { answer })
        }
    }

    #[tokio::test]
    async fn a_token_signs_in_to_the_clusters_that_give_it_the_same_user() {
        let failing = || {
            Arc::new(FakeReviewer {
                answer: Mutex::new(Err(TokenReviewError::Failed("down".into()))),
                calls: Default::default(),
            })
        };
        let refusing = || {
            let r = FakeReviewer::new("x", &[]);
            r.set(Ok(None));
            r
        };
        let auth = |reviewers: Vec<(&str, Arc<FakeReviewer>)>| {
            Auth {
                mode: AuthMode::Token,
                ..Auth::none()
            }
            .with_cluster_reviewers(
                reviewers
                    .into_iter()
                    .map(|(n, r)| (n.to_owned(), r as Arc<dyn TokenReviewer>))
                    .collect(),
            )
        };
        let fleet = auth(vec![
            ("a", refusing()),
            ("b", FakeReviewer::new("carol", &["devs"])),
            ("c", FakeReviewer::new("mallory", &[])),
            ("d", FakeReviewer::new("carol", &["ops"])),
            ("e", failing()),
        ]);
        let ((user, groups), clusters) = fleet
            .token_review_clusters("the-token")
            .await
            .unwrap()
            .unwrap();
        // The owner as the first accepting cluster names them; only clusters that agree.
        assert_eq!((user.as_str(), groups), ("carol", vec!["devs".to_owned()]));
        assert_eq!(clusters, ["b", "d"]);
        let id = fleet.create_session_in(user, vec![], "the-token".into(), clusters);
        let identity = fleet.session(&id).unwrap();
        assert!(fleet.signed_in(&identity, "b") && fleet.signed_in(&identity, "d"));
        assert!(!fleet.signed_in(&identity, "a") && !fleet.signed_in(&identity, "c"));
        // Nobody accepts: refused; nobody accepts and one could not be asked: the failure.
        let none = auth(vec![("a", refusing()), ("b", refusing())]);
        assert_eq!(none.token_review_clusters("the-token").await, Ok(None));
        let down = auth(vec![("a", refusing()), ("b", failing())]);
        assert!(down.token_review_clusters("the-token").await.is_err());
        // Other modes are signed in everywhere.
        assert!(Auth::none().signed_in(&Identity::local(), "any"));
    }

    fn token_auth(recheck: Duration, reviewer: Arc<FakeReviewer>) -> (Auth, HeaderMap) {
        let auth = Auth {
            mode: AuthMode::Token,
            token_recheck: recheck,
            ..Auth::none()
        }
        .with_token_reviewer(reviewer);
        let id = auth.create_session("carol".into(), vec!["devs".into()], "the-token".into());
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            format!("{SESSION_COOKIE}={id}").parse().unwrap(),
        );
        (auth, headers)
    }

    async fn recheck(auth: &Auth, headers: &HeaderMap) -> Result<Identity, Unauthenticated> {
        let identity = auth.identify(headers, None)?;
        let session = identity.session.expect("a token session");
        if !auth.revalidate(&session).await {
            return Err(Unauthenticated::NoSession);
        }
        auth.session_identity(&session)
            .ok_or(Unauthenticated::NoSession)
    }

    #[tokio::test]
    async fn rechecks_refresh_the_session_groups() {
        let reviewer = FakeReviewer::new("carol", &["devs"]);
        let (auth, headers) = token_auth(Duration::ZERO, reviewer.clone());
        assert_eq!(auth.identify(&headers, None).unwrap().groups, ["devs"]);

        // Kubernetes now puts the token in other groups: the next re-check takes them.
        reviewer.set_owner("carol", &["admins", "devs-readonly"]);
        let identity = recheck(&auth, &headers).await.unwrap();
        assert_eq!(identity.groups, ["admins", "devs-readonly"]);
        assert_eq!(
            auth.identify(&headers, None).unwrap().groups,
            ["admins", "devs-readonly"]
        );
        assert_eq!(reviewer.calls(), 1);

        // An API server that cannot answer keeps the session as it was.
        reviewer.set(Err(TokenReviewError::Failed("connection refused".into())));
        let identity = recheck(&auth, &headers).await.unwrap();
        assert_eq!(identity.groups, ["admins", "devs-readonly"]);

        // The token now belongs to someone else, or to nobody: the session ends.
        reviewer.set_owner("mallory", &["admins"]);
        assert_eq!(
            recheck(&auth, &headers).await.unwrap_err(),
            Unauthenticated::NoSession
        );
        let (auth, headers) = token_auth(Duration::ZERO, reviewer.clone());
        reviewer.set(Ok(None));
        assert_eq!(
            recheck(&auth, &headers).await.unwrap_err(),
            Unauthenticated::NoSession
        );
        assert_eq!(
            auth.identify(&headers, None).unwrap_err(),
            Unauthenticated::NoSession
        );
    }

    #[tokio::test]
    async fn sessions_are_rechecked_only_after_the_interval() {
        let reviewer = FakeReviewer::new("carol", &["devs"]);
        let (auth, headers) = token_auth(Duration::from_secs(3600), reviewer.clone());
        reviewer.set_owner("carol", &["admins"]);
        for _ in 0..3 {
            assert_eq!(recheck(&auth, &headers).await.unwrap().groups, ["devs"]);
        }
        assert_eq!(reviewer.calls(), 0);
        assert_eq!(Auth::none().token_recheck, TOKEN_RECHECK);
    }

    #[test]
    fn impersonation_headers_are_stripped() {
        let mut h = HeaderMap::new();
        h.insert("impersonate-user", "admin".parse().unwrap());
        h.insert("impersonate-group", "system:masters".parse().unwrap());
        h.insert("impersonate-extra-scopes", "x".parse().unwrap());
        h.insert("x-other", "y".parse().unwrap());
        strip_impersonation(&mut h);
        assert_eq!(h.len(), 1);
    }
}
