//! Token-mode sessions kept by the browser, so that any replica can serve any request.
//!
//! The `rd_session` cookie is `v1.` + base64url(nonce ‖ XChaCha20-Poly1305 ciphertext) of
//! the session: a random id, the user and groups of sign-in, the bearer token (writes use
//! it, re-checks review it) and the issue and expiry times. The key is derived with
//! HKDF-SHA256 from `--session-key-file` (a Secret shared by the replicas) or drawn at random
//! per process. A cookie that does not decrypt, was sealed with another key, has expired or
//! is malformed is simply "not signed in".
//!
//! Sign-out cannot take a cookie back, so it records the session id as revoked until the
//! cookie expires ([`Revocations`]): in memory, or in a ConfigMap that every replica watches
//! (`--session-revocations`), so that a sign-out on one replica is refused by all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// HKDF `info`: the derived key serves this cookie format and nothing else.
const HKDF_INFO: &[u8] = b"rollouts-dashboard session cookie v1";
/// Authenticated with every cookie, so that a ciphertext made for something else never opens.
const AAD: &[u8] = b"rollouts-dashboard/rd_session/v1";
const PREFIX: &str = "v1.";
const NONCE: usize = 24;
const TAG: usize = 16;
/// Longest cookie value sealed: with its name and attributes a `Set-Cookie` must stay within
/// the 4096 bytes that browsers keep per cookie.
pub const MAX_COOKIE_VALUE: usize = 3800;
/// Longest cookie value even tried (anything longer is refused before base64 decoding).
const MAX_OPEN: usize = 8 * 1024;
/// Most revocations kept in memory (without `--session-revocations`); beyond it sign-out
/// fails rather than forgetting an earlier one.
const MAX_REVOCATIONS: usize = 100_000;
/// How often expired revocations are pruned from the ConfigMap when nobody signs out.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What a session cookie carries.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// Random session id: what sign-out revokes and what the re-check cache is keyed by.
    #[serde(rename = "sid")]
    pub id: String,
    /// Kubernetes user name (from the TokenReview at sign-in).
    #[serde(rename = "usr")]
    pub user: String,
    /// Groups at sign-in (a re-check may replace them on a replica: [`super::Auth`]).
    #[serde(rename = "grp")]
    pub groups: Vec<String>,
    /// The bearer token; writes use it.
    #[serde(rename = "tok")]
    pub token: String,
    /// Sign-in time, ms since the epoch (when the token was last reviewed, for a replica
    /// that has not reviewed it itself).
    #[serde(rename = "iat")]
    pub issued_ms: u64,
    /// Expiry, ms since the epoch.
    #[serde(rename = "exp")]
    pub expires_ms: u64,
    /// With several clusters: those that accepted the token at sign-in as this user (empty
    /// with one cluster). Writes and reads elsewhere answer `notSignedIn`.
    #[serde(rename = "cls", default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
}

impl std::fmt::Debug for SessionClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("SessionClaims")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("groups", &self.groups)
            .field("issued_ms", &self.issued_ms)
            .field("expires_ms", &self.expires_ms)
            .field("clusters", &self.clusters)
            .finish_non_exhaustive()
    }
}

/// Why a cookie is not a session (for the debug log; to the user all are "not signed in").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("malformed session cookie")]
    Malformed,
    #[error("session cookie tampered with or sealed with another key")]
    Forged,
    #[error("session expired")]
    Expired,
}

/// Why a session cannot be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "this token is too large to keep in a session cookie ({0} bytes sealed, at most \
         {MAX_COOKIE_VALUE}): use a shorter token, or --auth proxy"
    )]
    TooLarge(usize),
}

/// The key that seals and opens session cookies.
#[derive(Clone)]
pub struct SessionKey {
    key: [u8; 32],
    /// Whether it came from `--session-key-file` (else random for this process).
    pub shared: bool,
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = if self.shared { "file" } else { "random" };
        write!(f, "SessionKey({origin})")
    }
}

impl SessionKey {
    /// A random key for this process only: cookies work on this replica until it restarts.
    pub fn random() -> SessionKey {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the OS random generator works");
        SessionKey {
            key: derive(&secret),
            shared: false,
        }
    }

    /// The key derived from `secret` (`--session-key-file`, read and checked by
    /// [`crate::config::SessionSecret::read`]).
    pub fn from_secret(secret: &[u8]) -> SessionKey {
        SessionKey {
            key: derive(secret),
            shared: true,
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.key.into())
    }

    /// The cookie value for `claims`, with a fresh random nonce.
    pub fn seal(&self, claims: &SessionClaims) -> Result<String, SealError> {
        let plain = serde_json::to_vec(claims).expect("claims serialize");
        let mut nonce = [0u8; NONCE];
        getrandom::fill(&mut nonce).expect("the OS random generator works");
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: AAD,
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message of this size");
        let mut bytes = Vec::with_capacity(NONCE + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        let value = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        if value.len() > MAX_COOKIE_VALUE {
            return Err(SealError::TooLarge(value.len()));
        }
        Ok(value)
    }

    /// The session in a cookie value, if it was sealed with this key and has not expired at
    /// `now_ms`.
    pub fn open(&self, value: &str, now_ms: u64) -> Result<SessionClaims, Rejected> {
        let claims = self.open_any_time(value)?;
        if claims.expires_ms <= now_ms {
            return Err(Rejected::Expired);
        }
        Ok(claims)
    }

    /// [`SessionKey::open`] without the expiry check.
    fn open_any_time(&self, value: &str) -> Result<SessionClaims, Rejected> {
        if value.len() > MAX_OPEN {
            return Err(Rejected::Malformed);
        }
        let body = value.strip_prefix(PREFIX).ok_or(Rejected::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| Rejected::Malformed)?;
        if bytes.len() < NONCE + TAG {
            return Err(Rejected::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().map_err(|_| Rejected::Malformed)?;
        let plain = self
            .cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: AAD,
                },
            )
            .map_err(|_| Rejected::Forged)?;
        // Authentic, so written by a dashboard with this key: a parse error means another
        // format version, which is "not signed in" as well.
        serde_json::from_slice(&plain).map_err(|_| Rejected::Malformed)
    }
}

fn derive(secret: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, secret)
        .expand(HKDF_INFO, &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    key
}

/// Why a sign-out could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    #[error("cannot record the sign-out in ConfigMap {config_map}: {message}")]
    ConfigMap { config_map: String, message: String },
    #[error("too many signed-out sessions kept in memory ({MAX_REVOCATIONS}); try again later")]
    Full,
}

/// Where revocations are shared (`--session-revocations`).
struct Shared {
    api: Api<ConfigMap>,
    namespace: String,
    name: String,
}

/// Session ids signed out before their expiry (id → expiry, ms since the epoch).
pub struct Revocations {
    entries: Mutex<HashMap<String, u64>>,
    /// Keys of expired entries seen in the ConfigMap, removed with the next patch.
    stale: Mutex<HashSet<String>>,
    shared: Option<Shared>,
    /// The ConfigMap has been listed once: until then every session is refused, since a
    /// revoked one cannot be told apart.
    synced: AtomicBool,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations")
            .field("where", &self.describe())
            .field("synced", &self.synced())
            .finish_non_exhaustive()
    }
}

impl Default for Revocations {
    fn default() -> Self {
        Revocations::in_memory()
    }
}

impl Revocations {
    /// Revocations known to this process only (one replica).
    pub fn in_memory() -> Revocations {
        Revocations {
            entries: Mutex::default(),
            stale: Mutex::default(),
            shared: None,
            synced: AtomicBool::new(true),
        }
    }

    /// Revocations kept in ConfigMap `namespace/name` with `client`; [`Revocations::watch`]
    /// must run for them to be seen (and for any session to be accepted).
    pub fn config_map(client: kube::Client, namespace: &str, name: &str) -> Revocations {
        Revocations {
            entries: Mutex::default(),
            stale: Mutex::default(),
            shared: Some(Shared {
                api: Api::namespaced(client, namespace),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            }),
            synced: AtomicBool::new(false),
        }
    }

    /// `NAMESPACE/NAME` of the ConfigMap, or "memory".
    pub fn describe(&self) -> String {
        match &self.shared {
            Some(s) => format!("{}/{}", s.namespace, s.name),
            None => "memory".to_owned(),
        }
    }

    /// Whether the revocations are known (always, in memory; after the first list of the
    /// ConfigMap otherwise).
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Whether session `id` may not be used: revoked, or revocations not known yet.
    pub fn is_revoked(&self, id: &str) -> bool {
        !self.synced() || self.entries.lock().contains_key(id)
    }

    /// Records `id` as signed out until `expires_ms`. With a ConfigMap, this replica refuses
    /// it as soon as the patch is accepted, the others when their watch sees it.
    pub async fn revoke(&self, id: &str, expires_ms: u64) -> Result<(), RevocationError> {
        let now = now_ms();
        let Some(shared) = &self.shared else {
            let mut entries = self.entries.lock();
            entries.retain(|_, exp| *exp > now);
            if entries.len() >= MAX_REVOCATIONS && !entries.contains_key(id) {
                return Err(RevocationError::Full);
            }
            entries.insert(id.to_owned(), expires_ms);
            return Ok(());
        };
        // A JSON merge patch adds (and, with null, removes) single keys of `data`, so
        // concurrent sign-outs on several replicas never overwrite each other.
        let stale: Vec<String> = self.stale.lock().iter().cloned().collect();
        let mut data = serde_json::Map::new();
        for key in &stale {
            data.insert(key.clone(), Value::Null);
        }
        data.insert(id.to_owned(), Value::String(expires_ms.to_string()));
        let answer = self.patch(shared, data).await?;
        self.entries.lock().insert(id.to_owned(), expires_ms);
        self.forget_stale(&stale);
        if let Some(data) = answer.data {
            self.merge(&data, now);
        }
        Ok(())
    }

    async fn patch(
        &self,
        shared: &Shared,
        data: serde_json::Map<String, Value>,
    ) -> Result<ConfigMap, RevocationError> {
        shared
            .api
            .patch(
                &shared.name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "data": data })),
            )
            .await
            .map_err(|err| RevocationError::ConfigMap {
                config_map: self.describe(),
                message: err.to_string(),
            })
    }

    fn forget_stale(&self, removed: &[String]) {
        let mut stale = self.stale.lock();
        for key in removed {
            stale.remove(key);
        }
    }

    /// Takes in the ConfigMap's `data`: unexpired ids are added (never removed: a
    /// revocation holds until its expiry, whatever order the events come in), expired ones
    /// are marked for pruning.
    fn merge(&self, data: &BTreeMap<String, String>, now: u64) {
        let mut fresh = Vec::new();
        let mut expired = Vec::new();
        for (id, exp) in data {
            match exp.parse::<u64>() {
                Ok(exp) if exp > now => fresh.push((id.clone(), exp)),
                // Expired, or not ours to read: pruned all the same.
                _ => expired.push(id.clone()),
            }
        }
        {
            let mut entries = self.entries.lock();
            entries.retain(|_, exp| *exp > now);
            entries.extend(fresh);
        }
        self.stale.lock().extend(expired);
    }

    /// Watches the ConfigMap (one watch, by name) for as long as the process lives, and
    /// prunes expired entries every [`PRUNE_EVERY`]. Returns at once without a ConfigMap.
    pub async fn watch(self: Arc<Self>) {
        let Some(shared) = &self.shared else {
            return;
        };
        let config = watcher::Config::default().fields(&format!("metadata.name={}", shared.name));
        let mut events = watcher::watcher(shared.api.clone(), config)
            .default_backoff()
            .boxed();
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(watcher::Event::Apply(cm) | watcher::Event::InitApply(cm))) => {
                        self.merge(&cm.data.unwrap_or_default(), now_ms());
                    }
                    Some(Ok(watcher::Event::InitDone)) => {
                        if !self.synced.swap(true, Ordering::AcqRel) {
                            tracing::info!(config_map = %self.describe(), "session revocations synced");
                        }
                    }
                    Some(Ok(watcher::Event::Delete(_))) => {
                        // What this replica knows stays revoked; sign-outs fail until it is back.
                        tracing::warn!(config_map = %self.describe(),
                            "the session revocations ConfigMap was deleted; sign-out fails until it is created again");
                    }
                    Some(Ok(watcher::Event::Init)) => {}
                    Some(Err(err)) => {
                        tracing::warn!(config_map = %self.describe(), %err,
                            "cannot watch the session revocations (RBAC: get, list, watch, patch on it); retrying");
                    }
                    None => {
                        tracing::error!(config_map = %self.describe(), "the revocations watch ended");
                        return;
                    }
                },
                _ = prune.tick() => self.prune(shared).await,
            }
        }
    }

    /// Removes expired entries from the ConfigMap (several replicas may do it at once: a
    /// key removed twice is still removed once).
    async fn prune(&self, shared: &Shared) {
        let stale: Vec<String> = self.stale.lock().iter().cloned().collect();
        if stale.is_empty() {
            return;
        }
        let data = stale.iter().map(|k| (k.clone(), Value::Null)).collect();
        match self.patch(shared, data).await {
            Ok(_) => {
                tracing::debug!(pruned = stale.len(), "expired session revocations pruned");
                self.forget_stale(&stale);
            }
            Err(err) => tracing::warn!(%err, "cannot prune expired session revocations"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(token: &str, groups: usize) -> SessionClaims {
        let now = now_ms();
        SessionClaims {
            id: "0123456789abcdef0123456789abcdef".into(),
            user: "system:serviceaccount:team-a:deployer".into(),
            groups: (0..groups).map(|i| format!("team-group-{i}")).collect(),
            token: token.into(),
            issued_ms: now,
            expires_ms: now + 8 * 3600 * 1000,
            clusters: vec![],
        }
    }

    #[test]
    fn a_cookie_opens_with_its_key_only() {
        let key = SessionKey::from_secret(&[7u8; 48]);
        let c = claims("the-token", 2);
        let sealed = key.seal(&c).unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("the-token") && !sealed.contains("serviceaccount"));
        assert_eq!(key.open(&sealed, now_ms()).unwrap(), c);
        // The same secret on another replica: the same key.
        let twin = SessionKey::from_secret(&[7u8; 48]);
        assert_eq!(twin.open(&sealed, now_ms()).unwrap(), c);
        // A fresh nonce every time.
        assert_ne!(key.seal(&c).unwrap(), sealed);
        // Another key, or a per-process random one: refused.
        for other in [SessionKey::from_secret(&[8u8; 48]), SessionKey::random()] {
            assert_eq!(other.open(&sealed, now_ms()), Err(Rejected::Forged));
        }
    }

    #[test]
    fn tampered_and_malformed_cookies_are_refused() {
        let key = SessionKey::random();
        let sealed = key.seal(&claims("t", 0)).unwrap();
        // Flip each byte of the payload in turn (nonce, ciphertext, tag).
        let bytes = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            let value = format!("v1.{}", URL_SAFE_NO_PAD.encode(&bad));
            assert_eq!(key.open(&value, 0), Err(Rejected::Forged), "byte {i}");
        }
        // Truncated, extended, re-prefixed, empty, not base64, huge.
        let truncated = format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 1]));
        let extended = format!("v1.{}", URL_SAFE_NO_PAD.encode([&bytes[..], &[0]].concat()));
        for value in [truncated.as_str(), extended.as_str()] {
            assert_eq!(key.open(value, 0), Err(Rejected::Forged), "{value}");
        }
        let long = "A".repeat(MAX_OPEN + 1);
        for value in [
            "",
            "v1.",
            "v1.AAAA",
            "v1.!!!!",
            &sealed[3..],
            &format!("v2.{}", &sealed[3..]),
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            &long,
        ] {
            assert_eq!(key.open(value, 0), Err(Rejected::Malformed), "{value:.40}");
        }
    }

    #[test]
    fn expired_cookies_are_refused() {
        let key = SessionKey::random();
        let c = claims("t", 0);
        let sealed = key.seal(&c).unwrap();
        assert!(key.open(&sealed, c.expires_ms - 1).is_ok());
        assert_eq!(key.open(&sealed, c.expires_ms), Err(Rejected::Expired));
        assert_eq!(key.open(&sealed, u64::MAX), Err(Rejected::Expired));
    }

    #[test]
    fn a_cookie_with_a_real_sized_token_fits_in_4_kib() {
        // A service-account JWT as the API server issues it (RS256, with the pod and node
        // claims): about 1.3 KB. OIDC ID tokens with a few groups are of the same size.
        let jwt = format!(
            "eyJhbGciOiJSUzI1NiIsImtpZCI6Im{}.{}.{}",
            "x".repeat(40),
            "y".repeat(900),
            "z".repeat(342)
        );
        assert!(jwt.len() > 1300, "{}", jwt.len());
        let sealed = SessionKey::random().seal(&claims(&jwt, 10)).unwrap();
        let set_cookie = format!(
            "rd_session={sealed}; HttpOnly; SameSite=Strict; Secure; Path=/rollouts/; Max-Age=28800"
        );
        assert!(set_cookie.len() < 4096, "{}", set_cookie.len());
        // A token that cannot fit is refused at sign-in, not sent to be dropped by the browser.
        assert_eq!(
            SessionKey::random()
                .seal(&claims(&"t".repeat(3000), 0))
                .map_err(|SealError::TooLarge(n)| n > MAX_COOKIE_VALUE),
            Err(true)
        );
    }

    #[tokio::test]
    async fn in_memory_revocations_hold_until_expiry() {
        let revocations = Revocations::in_memory();
        assert!(revocations.synced());
        assert!(!revocations.is_revoked("a"));
        revocations.revoke("a", now_ms() + 60_000).await.unwrap();
        revocations.revoke("old", now_ms() - 1).await.unwrap();
        assert!(revocations.is_revoked("a"));
        // The next sign-out prunes what expired.
        revocations.revoke("b", now_ms() + 60_000).await.unwrap();
        assert!(!revocations.is_revoked("old"));
        assert!(revocations.is_revoked("b"));
    }

    #[test]
    fn configmap_data_adds_and_marks_expired_entries() {
        let revocations = Revocations::in_memory();
        let now = now_ms();
        revocations.entries.lock().insert("mine".into(), now + 1000);
        let data: BTreeMap<String, String> = [
            ("theirs".to_owned(), (now + 1000).to_string()),
            ("gone".to_owned(), (now - 1).to_string()),
            ("junk".to_owned(), "soon".to_owned()),
        ]
        .into();
        revocations.merge(&data, now);
        // An older event without "mine" does not un-revoke it.
        assert!(revocations.is_revoked("mine") && revocations.is_revoked("theirs"));
        assert!(!revocations.is_revoked("gone") && !revocations.is_revoked("junk"));
        let mut stale: Vec<String> = revocations.stale.lock().iter().cloned().collect();
        stale.sort();
        assert_eq!(stale, ["gone", "junk"]);
    }
}
