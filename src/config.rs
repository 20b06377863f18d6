//! Command-line and environment configuration, validated once at start.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde::Serialize;

use crate::net::IpNet;

/// How users are identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No users: everyone acts with the dashboard's identity.
    #[default]
    None,
    /// Identity headers from a trusted authenticating proxy; writes impersonate the user.
    Proxy,
    /// Sign-in with a Kubernetes bearer token; writes use the token.
    Token,
}

impl AuthMode {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Proxy => "proxy",
            AuthMode::Token => "token",
        }
    }
}

/// Limits on connections (`--header-timeout-seconds`, `--idle-timeout-seconds`,
/// `--max-connections`, `--max-websockets-per-user`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time allowed for a request head to arrive.
    pub header_timeout: Duration,
    /// Time a kept-alive connection may sit without a request.
    pub idle_timeout: Duration,
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// WebSocket streams open at once per user of `--auth proxy|token`; more get 429.
    pub max_websockets_per_user: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            max_websockets_per_user: 32,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// rollouts-dashboard: a live, multi-namespace dashboard for Argo Rollouts.
///
/// Every flag can also be set with an environment variable ROLLOUTS_DASHBOARD_<FLAG>.
#[derive(Debug, Clone, Parser)]
#[command(version, about, long_about = None)]
pub struct Config {
    /// Path of the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the
    /// in-cluster service account).
    #[arg(long, env = "ROLLOUTS_DASHBOARD_KUBECONFIG", value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context to watch; repeat (or comma-separate) for several clusters in one
    /// dashboard. `NAME=CONTEXT` gives the cluster a short name (`--context
    /// prod-eu=arn:aws:eks:…`); else it is named after the context. Default: the current
    /// context.
    #[arg(
        long = "context",
        env = "ROLLOUTS_DASHBOARD_CONTEXT",
        value_delimiter = ',',
        value_name = "[NAME=]CONTEXT"
    )]
    pub contexts: Vec<String>,

    /// Watch every context of the kubeconfig (with KUBECONFIG naming several files, merged
    /// as kubectl merges them), each a cluster named after its context.
    #[arg(long, env = "ROLLOUTS_DASHBOARD_ALL_CONTEXTS")]
    pub all_contexts: bool,

    /// Also watch the cluster of every kubeconfig file in this directory (for example
    /// Secrets mounted into the dashboard's pod): each file's current context, the cluster
    /// named after that context (after the file when that name is taken, by another file
    /// or a `--context`). Running in a cluster, that cluster is watched too, as `in-cluster`.
    #[arg(long, env = "ROLLOUTS_DASHBOARD_KUBECONFIG_DIR", value_name = "DIR")]
    pub kubeconfig_dir: Option<PathBuf>,

    /// Namespace to watch; repeat for several (default: all namespaces). If the identity may
    /// not list cluster-wide, the dashboard falls back to the kubeconfig context's namespace.
    #[arg(
        short = 'n',
        long = "namespace",
        env = "ROLLOUTS_DASHBOARD_NAMESPACE",
        value_delimiter = ','
    )]
    pub namespaces: Vec<String>,

    /// Address to listen on. Keep the default loopback address unless something in front of
    /// the dashboard authenticates users.
    #[arg(long, env = "ROLLOUTS_DASHBOARD_ADDRESS", default_value = "127.0.0.1")]
    pub address: IpAddr,

    /// Port to listen on (0 picks a free port and prints it).
    #[arg(long, env = "ROLLOUTS_DASHBOARD_PORT", default_value_t = 3100)]
    pub port: u16,

    /// Serve everything under this path prefix, e.g. /rollouts behind an Ingress path.
    #[arg(long, env = "ROLLOUTS_DASHBOARD_BASE_PATH", default_value = "/")]
    pub base_path: String,

    /// Never change anything: action endpoints answer 403 and the UI hides its buttons.
    #[arg(long, env = "ROLLOUTS_DASHBOARD_READ_ONLY")]
    pub read_only: bool,

    /// Serve the objects in a YAML/JSON file or directory (recursive) instead of a cluster,
    /// read-only: for post-mortems and bug reports. Accepts multi-document files, `kind: List`
    /// (the output of `kubectl get rollouts,rs,pods,analysisruns,experiments -A -o yaml`) and
    /// single objects.
    #[arg(long, env = "ROLLOUTS_DASHBOARD_FROM_FILES", value_name = "PATH")]
    pub from_files: Option<PathBuf>,

    /// Run on a built-in simulated cluster whose rollouts move by themselves (no cluster
    /// needed). The simulation only ever runs with this flag.
    #[arg(long, env = "ROLLOUTS_DASHBOARD_DEMO")]
    pub demo: bool,

    /// Number of extra small rollouts the demo creates to fill the list.
    #[arg(long, env = "ROLLOUTS_DASHBOARD_DEMO_EXTRA", default_value_t = 12)]
    pub demo_extra: usize,

    /// Log format.
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// Who the users are: `none` (everyone acts with the dashboard's own identity; only on a
    /// loopback address, or with --read-only), `proxy` (an authenticating proxy in front
    /// sends the user and groups in headers; writes impersonate them) or `token` (users sign
    /// in with a Kubernetes bearer token; writes use it).
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_AUTH",
        value_enum,
        default_value = "none"
    )]
    pub auth: AuthMode,

    /// --auth proxy: header carrying the user name.
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_AUTH_PROXY_USER_HEADER",
        default_value = "X-Forwarded-User"
    )]
    pub auth_proxy_user_header: String,

    /// --auth proxy: header carrying the groups, comma-separated.
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_AUTH_PROXY_GROUPS_HEADER",
        default_value = "X-Forwarded-Groups"
    )]
    pub auth_proxy_groups_header: String,

    /// --auth proxy: addresses or CIDR networks of the proxy; identity headers from any other
    /// peer are ignored (unless the shared secret matches). Repeatable or comma-separated.
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_AUTH_PROXY_TRUSTED",
        value_delimiter = ',',
        default_values = ["127.0.0.1/32", "::1"]
    )]
    pub auth_proxy_trusted: Vec<String>,

    /// --auth proxy: allow --auth-proxy-trusted networks wider than an IPv4 /8 or an IPv6
    /// /32 (such as 0.0.0.0/0). Without it they stop the start: trusting "everyone" lets any
    /// client that reaches the dashboard claim any identity in a header.
    #[arg(long, env = "ROLLOUTS_DASHBOARD_AUTH_PROXY_TRUST_WIDE_NETWORKS")]
    pub auth_proxy_trust_wide_networks: bool,

    /// --auth proxy: header in which the proxy sends the shared secret.
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_AUTH_PROXY_SECRET_HEADER",
        default_value = "X-Rollouts-Dashboard-Proxy-Secret"
    )]
    pub auth_proxy_secret_header: String,

    /// --auth proxy: shared secret; a request carrying it is trusted from any address. Prefer
    /// the environment variable, which stays out of the process list.
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_AUTH_PROXY_SECRET",
        hide_env_values = true
    )]
    pub auth_proxy_secret: Option<String>,

    /// --auth token: how long a sign-in lasts, in minutes.
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_AUTH_SESSION_MINUTES",
        default_value_t = 480
    )]
    pub auth_session_minutes: u64,

    /// Host names (with or without port) the dashboard answers to; repeatable or
    /// comma-separated. Set it for any non-loopback deployment (DNS rebinding). On loopback,
    /// localhost names are always accepted.
    #[arg(
        long = "allowed-host",
        env = "ROLLOUTS_DASHBOARD_ALLOWED_HOST",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Writes (actions) one user may send per minute; more get 429 with Retry-After.
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_WRITES_PER_MINUTE",
        default_value_t = 30
    )]
    pub writes_per_minute: u32,

    /// Serve HTTPS with this PEM certificate chain (needs --tls-key). Without it, terminate
    /// TLS in front of the dashboard (Ingress, sidecar).
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_TLS_CERT",
        value_name = "PATH",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_TLS_KEY",
        value_name = "PATH",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// Seconds a client may take to send a request's headers (from connecting, or from the
    /// first byte of a later request on a kept-alive connection); slower ones are closed.
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_HEADER_TIMEOUT_SECONDS",
        default_value_t = 10
    )]
    pub header_timeout_seconds: u64,

    /// Seconds a kept-alive connection may sit idle between requests before it is closed
    /// (WebSocket streams are not idle: they have heartbeats).
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_IDLE_TIMEOUT_SECONDS",
        default_value_t = 60
    )]
    pub idle_timeout_seconds: u64,

    /// Connections (including WebSocket streams) open at once; beyond it new connections
    /// wait to be accepted until one closes.
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_MAX_CONNECTIONS",
        default_value_t = 1024
    )]
    pub max_connections: usize,

    /// Live WebSocket streams (browser tabs) one user of --auth proxy|token may hold at once;
    /// more get 429 (--auth none has no users to count: --max-connections bounds it).
    #[arg(
        long,
        env = "ROLLOUTS_DASHBOARD_MAX_WEBSOCKETS_PER_USER",
        default_value_t = 32
    )]
    pub max_websockets_per_user: usize,
}

/// A configuration that cannot work, found before anything starts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("--from-files and --demo cannot be combined: choose one source")]
    FilesAndDemo,
    #[error("--{flag} only applies to a cluster; it cannot be combined with {source_flag}")]
    ClusterFlagWithoutCluster {
        flag: &'static str,
        source_flag: &'static str,
    },
    #[error("--base-path must start with '/' and contain only URL path characters, got {0:?}")]
    BadBasePath(String),
    #[error("invalid namespace {0:?}: namespaces are DNS labels (lower-case letters, digits, '-')")]
    BadNamespace(String),
    #[error("--from-files {0}: no such file or directory")]
    MissingFiles(PathBuf),
    #[error(
        "--all-contexts and --context cannot be combined: --all-contexts already watches every context"
    )]
    ContextsAndAllContexts,
    #[error("--kubeconfig-dir {0}: no such directory")]
    MissingKubeconfigDir(PathBuf),
    #[error("--context: {0}")]
    BadClusterName(String),
    #[error(
        "two clusters are named {0:?}: give each a distinct short name (--context NAME=CONTEXT)"
    )]
    DuplicateCluster(String),
    #[error(
        "refusing to listen on {0} with --auth none: anyone who can reach it could change rollouts \
         with the dashboard's own Kubernetes identity. Listen on 127.0.0.1 (reach it with kubectl \
         port-forward), add --read-only, or authenticate users with --auth proxy or --auth token"
    )]
    OpenWithoutAuth(IpAddr),
    #[error("--auth token validates tokens with the Kubernetes API: it needs a cluster, not {0}")]
    TokenNeedsCluster(&'static str),
    #[error("--auth-proxy-trusted: {0}")]
    BadTrusted(String),
    #[error(
        "--auth-proxy-trusted {0}: a network this wide (IPv4 shorter than /8, IPv6 shorter \
         than /32) lets almost anyone send identity headers; name the proxies' addresses, or \
         add --auth-proxy-trust-wide-networks if this really is meant"
    )]
    WideTrusted(String),
    #[error("--{flag}: {value:?} is not a valid HTTP header name")]
    BadHeaderName { flag: &'static str, value: String },
    #[error(
        "--auth proxy needs a way to trust the proxy: --auth-proxy-trusted addresses or \
         --auth-proxy-secret (ROLLOUTS_DASHBOARD_AUTH_PROXY_SECRET)"
    )]
    ProxyWithoutTrust,
    #[error("--auth-proxy-secret must be at least 16 characters")]
    WeakProxySecret,
    #[error("--allowed-host {0:?} is not a host name")]
    BadAllowedHost(String),
    #[error("--{0} must be greater than 0")]
    Zero(&'static str),
    #[error("--{flag} {path}: no such file")]
    MissingTlsFile { flag: &'static str, path: PathBuf },
}

impl Config {
    /// Checks combinations and normalizes the base path to `/prefix` (no trailing slash) or
    /// the empty string for the root.
    pub fn validate(mut self) -> Result<Self, ConfigError> {
        if self.from_files.is_some() && self.demo {
            return Err(ConfigError::FilesAndDemo);
        }
        let source_flag = if self.demo {
            Some("--demo")
        } else if self.from_files.is_some() {
            Some("--from-files")
        } else {
            None
        };
        if let Some(source_flag) = source_flag {
            let cluster_flags = [
                ("kubeconfig", self.kubeconfig.is_some()),
                ("context", !self.contexts.is_empty()),
                ("all-contexts", self.all_contexts),
                ("kubeconfig-dir", self.kubeconfig_dir.is_some()),
            ];
            if let Some((flag, _)) = cluster_flags.iter().find(|(_, set)| *set) {
                return Err(ConfigError::ClusterFlagWithoutCluster { flag, source_flag });
            }
        }
        if let Some(path) = &self.from_files
            && !path.exists()
        {
            return Err(ConfigError::MissingFiles(path.clone()));
        }
        if self.all_contexts && !self.contexts.is_empty() {
            return Err(ConfigError::ContextsAndAllContexts);
        }
        if let Some(dir) = &self.kubeconfig_dir
            && !dir.is_dir()
        {
            return Err(ConfigError::MissingKubeconfigDir(dir.clone()));
        }
        let mut names = std::collections::BTreeSet::new();
        for context in &self.contexts {
            let (name, _) = split_context(context);
            check_cluster_name(name).map_err(ConfigError::BadClusterName)?;
            if !names.insert(name) {
                return Err(ConfigError::DuplicateCluster(name.to_owned()));
            }
        }
        self.base_path = normalize_base_path(&self.base_path)?;
        for ns in &self.namespaces {
            if !is_dns_label(ns) {
                return Err(ConfigError::BadNamespace(ns.clone()));
            }
        }
        self.namespaces.sort();
        self.namespaces.dedup();
        self.validate_auth()?;
        Ok(self)
    }

    fn validate_auth(&mut self) -> Result<(), ConfigError> {
        if self.auth == AuthMode::None && !self.address.is_loopback() && !self.effective_read_only()
        {
            return Err(ConfigError::OpenWithoutAuth(self.address));
        }
        if self.auth == AuthMode::Token {
            if self.demo {
                return Err(ConfigError::TokenNeedsCluster("--demo"));
            }
            if self.from_files.is_some() {
                return Err(ConfigError::TokenNeedsCluster("--from-files"));
            }
        }
        for (flag, value) in [
            ("auth-proxy-user-header", &self.auth_proxy_user_header),
            ("auth-proxy-groups-header", &self.auth_proxy_groups_header),
            ("auth-proxy-secret-header", &self.auth_proxy_secret_header),
        ] {
            if axum::http::HeaderName::from_bytes(value.as_bytes()).is_err() {
                return Err(ConfigError::BadHeaderName {
                    flag,
                    value: value.clone(),
                });
            }
        }
        if !self.auth_proxy_trust_wide_networks
            && let Some(wide) = self.proxy_trusted_nets()?.iter().find(|n| n.is_wide())
        {
            return Err(ConfigError::WideTrusted(wide.to_string()));
        }
        if self.auth_proxy_secret.as_deref() == Some("") {
            self.auth_proxy_secret = None;
        }
        if self.auth == AuthMode::Proxy {
            if self.proxy_trusted_nets()?.is_empty() && self.auth_proxy_secret.is_none() {
                return Err(ConfigError::ProxyWithoutTrust);
            }
            if self
                .auth_proxy_secret
                .as_ref()
                .is_some_and(|s| s.chars().count() < 16)
            {
                return Err(ConfigError::WeakProxySecret);
            }
        }
        for host in &mut self.allowed_hosts {
            let trimmed = host.trim().to_ascii_lowercase();
            let ok = !trimmed.is_empty()
                && trimmed
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
            if !ok {
                return Err(ConfigError::BadAllowedHost(host.clone()));
            }
            *host = trimmed;
        }
        if self.auth_session_minutes == 0 {
            return Err(ConfigError::Zero("auth-session-minutes"));
        }
        if self.writes_per_minute == 0 {
            return Err(ConfigError::Zero("writes-per-minute"));
        }
        for (flag, value) in [
            ("header-timeout-seconds", self.header_timeout_seconds),
            ("idle-timeout-seconds", self.idle_timeout_seconds),
            ("max-connections", self.max_connections as u64),
            (
                "max-websockets-per-user",
                self.max_websockets_per_user as u64,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(flag));
            }
        }
        for (flag, path) in [("tls-cert", &self.tls_cert), ("tls-key", &self.tls_key)] {
            if let Some(path) = path
                && !path.is_file()
            {
                return Err(ConfigError::MissingTlsFile {
                    flag,
                    path: path.clone(),
                });
            }
        }
        Ok(())
    }

    /// The parsed `--auth-proxy-trusted` networks.
    pub fn proxy_trusted_nets(&self) -> Result<Vec<IpNet>, ConfigError> {
        self.auth_proxy_trusted
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.parse::<IpNet>().map_err(ConfigError::BadTrusted))
            .collect()
    }

    /// The connection limits of the server.
    pub fn limits(&self) -> Limits {
        Limits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout_seconds),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_seconds),
            max_connections: self.max_connections,
            max_websockets_per_user: self.max_websockets_per_user,
        }
    }

    /// Whether actions are refused: explicitly, or because the source cannot be changed.
    pub fn effective_read_only(&self) -> bool {
        self.read_only || self.from_files.is_some()
    }
}

fn normalize_base_path(raw: &str) -> Result<String, ConfigError> {
    let trimmed = raw.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let valid = trimmed.starts_with('/')
        && !trimmed.contains("//")
        && !trimmed.split('/').any(|seg| seg == ".." || seg == ".")
        && trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.~".contains(c));
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(ConfigError::BadBasePath(raw.to_owned()))
    }
}

/// RFC 1123 label, as Kubernetes requires of namespace names.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A `--context` value's cluster name and context: `NAME=CONTEXT`, or the context alone
/// (named after itself).
pub fn split_context(value: &str) -> (&str, &str) {
    match value.split_once('=') {
        Some((name, context)) if !name.is_empty() && !context.is_empty() => (name, context),
        _ => (value, value),
    }
}

/// Checks a cluster's short name: 1–253 characters, no control characters or `,` (filters
/// are comma-separated). Context names such as EKS ARNs (`arn:aws:eks:…:cluster/x`) pass;
/// in URLs they are one percent-encoded path segment.
pub fn check_cluster_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err(format!(
            "cluster name {name:?}: must be 1 to 253 characters"
        ));
    }
    if name.chars().any(|c| c.is_control() || c == ',') {
        return Err(format!(
            "cluster name {name:?}: no control characters or ',' (give it a short name: \
             --context NAME=CONTEXT)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["rollouts-dashboard"];
        argv.extend_from_slice(args);
        Config::try_parse_from(argv).unwrap().validate()
    }

    #[test]
    fn cluster_flags_repeat_rename_and_refuse_duplicates() {
        let config = parse(&[
            "--context",
            "a",
            "--context",
            "prod-eu=arn:aws:eks:x:1:cluster/p",
        ])
        .unwrap();
        assert_eq!(config.contexts, ["a", "prod-eu=arn:aws:eks:x:1:cluster/p"]);
        assert_eq!(split_context(&config.contexts[0]), ("a", "a"));
        assert_eq!(
            split_context(&config.contexts[1]),
            ("prod-eu", "arn:aws:eks:x:1:cluster/p")
        );
        assert_eq!(parse(&["--context", "a,b"]).unwrap().contexts, ["a", "b"]);
        assert_eq!(
            parse(&["--context", "a", "--context", "a"]).unwrap_err(),
            ConfigError::DuplicateCluster("a".into())
        );
        assert_eq!(
            parse(&["--context", "x=a", "--context", "x=b"]).unwrap_err(),
            ConfigError::DuplicateCluster("x".into())
        );
        assert_eq!(
            parse(&["--all-contexts", "--context", "a"]).unwrap_err(),
            ConfigError::ContextsAndAllContexts
        );
        assert!(parse(&["--all-contexts"]).unwrap().all_contexts);
        assert!(matches!(
            parse(&["--kubeconfig-dir", "/nonexistent/rd"]).unwrap_err(),
            ConfigError::MissingKubeconfigDir(_)
        ));
        for flag in [&["--all-contexts"][..], &["--kubeconfig-dir", "/tmp"]] {
            let mut args = vec!["--demo"];
            args.extend_from_slice(flag);
            assert!(matches!(
                parse(&args).unwrap_err(),
                ConfigError::ClusterFlagWithoutCluster { .. }
            ));
        }
        assert!(check_cluster_name("arn:aws:eks:eu-west-1:1:cluster/b").is_ok());
        assert!(check_cluster_name("a,b").is_err());
        assert!(check_cluster_name("").is_err());
    }

    #[test]
    fn defaults_are_safe() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.address.to_string(), "127.0.0.1");
        assert_eq!(c.port, 3100);
        assert_eq!(c.base_path, "");
        assert!(c.namespaces.is_empty());
        assert!(!c.effective_read_only());
    }

    #[test]
    fn base_path_is_normalized_and_checked() {
        assert_eq!(
            parse(&["--base-path", "/rollouts/"]).unwrap().base_path,
            "/rollouts"
        );
        assert_eq!(parse(&["--base-path", "/"]).unwrap().base_path, "");
        assert!(matches!(
            parse(&["--base-path", "rollouts"]),
            Err(ConfigError::BadBasePath(_))
        ));
        assert!(matches!(
            parse(&["--base-path", "/a/../b"]),
            Err(ConfigError::BadBasePath(_))
        ));
        assert!(matches!(
            parse(&["--base-path", "/a\"><script>"]),
            Err(ConfigError::BadBasePath(_))
        ));
    }

    #[test]
    fn invalid_combinations_fail() {
        assert_eq!(
            parse(&["--demo", "--from-files", "."]).unwrap_err(),
            ConfigError::FilesAndDemo
        );
        assert!(matches!(
            parse(&["--demo", "--context", "x"]),
            Err(ConfigError::ClusterFlagWithoutCluster {
                flag: "context",
                ..
            })
        ));
        assert!(matches!(
            parse(&["--from-files", "/no/such/dir"]),
            Err(ConfigError::MissingFiles(_))
        ));
        assert!(matches!(
            parse(&["-n", "Bad_NS"]),
            Err(ConfigError::BadNamespace(_))
        ));
    }

    #[test]
    fn namespaces_repeat_and_split() {
        let c = parse(&["-n", "b", "--namespace", "a,b"]).unwrap();
        assert_eq!(c.namespaces, vec!["a", "b"]);
    }

    #[test]
    fn open_address_needs_auth_or_read_only() {
        assert_eq!(
            parse(&["--address", "0.0.0.0"]).unwrap_err(),
            ConfigError::OpenWithoutAuth("0.0.0.0".parse().unwrap())
        );
        assert!(parse(&["--address", "0.0.0.0", "--read-only"]).is_ok());
        assert!(parse(&["--address", "::", "--auth", "proxy"]).is_ok());
        assert!(parse(&["--address", "::1"]).is_ok());
        assert_eq!(
            parse(&["--demo", "--auth", "token"]).unwrap_err(),
            ConfigError::TokenNeedsCluster("--demo")
        );
        assert!(matches!(
            parse(&["--auth", "proxy", "--auth-proxy-trusted", "10.0.0.0/99"]),
            Err(ConfigError::BadTrusted(_))
        ));
        assert_eq!(
            parse(&["--auth", "proxy", "--auth-proxy-trusted", ""]).unwrap_err(),
            ConfigError::ProxyWithoutTrust
        );
        assert_eq!(
            parse(&["--auth", "proxy", "--auth-proxy-secret", "short"]).unwrap_err(),
            ConfigError::WeakProxySecret
        );
        assert!(matches!(
            parse(&["--auth-proxy-user-header", "bad header"]),
            Err(ConfigError::BadHeaderName { .. })
        ));
        assert_eq!(
            parse(&["--allowed-host", "Dash.Example:443"])
                .unwrap()
                .allowed_hosts,
            vec!["dash.example:443"]
        );
    }

    #[test]
    fn files_are_read_only() {
        assert!(parse(&["--from-files", "."]).unwrap().effective_read_only());
    }

    #[test]
    fn wide_trusted_networks_need_the_opt_in() {
        for wide in [
            "0.0.0.0/0",
            "10.0.0.0/7",
            "::/0",
            "2001:db8::/31",
            "::ffff:0.0.0.0/96",
        ] {
            let trusted = format!("127.0.0.1,{wide}");
            let err = parse(&["--auth", "proxy", "--auth-proxy-trusted", &trusted]).unwrap_err();
            assert!(matches!(err, ConfigError::WideTrusted(_)), "{wide}: {err}");
            assert!(
                err.to_string().contains("--auth-proxy-trust-wide-networks"),
                "{err}"
            );
            assert!(
                parse(&[
                    "--auth",
                    "proxy",
                    "--auth-proxy-trusted",
                    &trusted,
                    "--auth-proxy-trust-wide-networks",
                ])
                .is_ok(),
                "{wide}"
            );
        }
        for narrow in ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32", "fd00::1"] {
            assert!(
                parse(&["--auth", "proxy", "--auth-proxy-trusted", narrow]).is_ok(),
                "{narrow}"
            );
        }
        assert_eq!(
            parse(&["--auth", "proxy", "--auth-proxy-trusted", "0.0.0.0/0"])
                .unwrap_err()
                .to_string(),
            "--auth-proxy-trusted 0.0.0.0/0: a network this wide (IPv4 shorter than /8, IPv6 \
             shorter than /32) lets almost anyone send identity headers; name the proxies' \
             addresses, or add --auth-proxy-trust-wide-networks if this really is meant"
        );
    }
}
