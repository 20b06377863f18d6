//! rollouts-dashboard: a live, multi-namespace dashboard for Argo Rollouts.
//!
//! The library holds everything; `main.rs` only parses the configuration and calls [`run`].
//! Sources (cluster watchers, files, the demo) feed one [`store::Store`]; the pure
//! [`view`] model turns objects into what the API, the WebSocket stream and the UI show.

pub mod actions;
pub mod auth;
pub mod build_info;
pub mod config;
pub mod error;
pub mod health;
pub mod http;
pub mod metrics;
pub mod model;
pub mod names;
pub mod net;
pub mod pages;
pub mod protocol;
pub mod source;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod view;

use std::net::SocketAddr;

use crate::config::Config;
use crate::health::{Health, SourceKind};
pub use crate::http::app;
use crate::state::{ActionBackends, AppState, Settings};
use crate::store::Store;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot load --from-files: {0}")]
    Files(#[from] source::files::FilesError),
    #[error(transparent)]
    Cluster(#[from] source::cluster::ClusterError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error(transparent)]
    Tls(#[from] http::tls::TlsError),
}

/// How long the start waits for a cluster to say whether the identity may list rollouts in
/// every namespace; an unreachable cluster is then watched in every namespace (or those of
/// `--namespace`), and shows unreachable until it answers.
const RESOLVE_NAMESPACES_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Builds the store and state for a configuration, starting the source's background tasks.
pub async fn start(config: &Config) -> Result<AppState, RunError> {
    let mut kube_access = None;
    let mut cluster_access = vec![];
    let (source, store, actions) = if config.demo {
        let store = Store::new(Health::loaded(SourceKind::Demo));
        // Two simulated clusters, so the fleet view shows: `prod-eu` (every scenario, and the
        // --demo-extra rollouts) and a smaller `staging`.
        let prod =
            source::demo_cluster::DemoCluster::new(store.cluster("prod-eu"), config.demo_extra);
        let staging = source::demo_cluster::DemoCluster::staging(store.cluster("staging"));
        tracing::warn!(
            "DEMO MODE: serving two simulated clusters (prod-eu, staging); nothing here is real"
        );
        let mut backends = vec![];
        for demo in [prod, staging] {
            tokio::spawn(demo.clone().run());
            backends.push((demo.name().clone(), demo));
        }
        (
            SourceKind::Demo,
            store,
            Some(ActionBackends::Demo(backends)),
        )
    } else if let Some(path) = &config.from_files {
        let store = Store::new(Health::loaded(SourceKind::Files));
        let counts = source::files::load_into(
            path,
            &source::files::Limits::default(),
            &store.cluster(source::files::CLUSTER),
        )?;
        tracing::info!(path = %path.display(), objects = counts.objects,
            events = counts.events, "loaded objects from files");
        store.flush();
        (SourceKind::Files, store, None)
    } else {
        use source::cluster::{ClusterError, ClusterFlags, Environment};
        let plans = source::cluster::plan(&ClusterFlags::of(config), &Environment::current())?;
        let mut clusters = vec![];
        for plan in &plans {
            let kube_config = source::cluster::plan_config(plan).await?;
            let client =
                kube::Client::try_from(kube_config.clone()).map_err(|e| ClusterError::Cluster {
                    cluster: plan.name.clone(),
                    source: Box::new(ClusterError::Client(e)),
                })?;
            clusters.push((plan.name.clone(), kube_config, client));
        }
        // Every cluster's namespaces at once: an unreachable one must not hold up the others.
        let resolved = futures::future::join_all(clusters.iter().map(|(_, _, client)| {
            source::cluster::resolve_namespaces_within(
                client,
                &config.namespaces,
                RESOLVE_NAMESPACES_TIMEOUT,
            )
        }))
        .await;
        let store = Store::new(Health::starting(SourceKind::Cluster, vec![]));
        let mut backends = vec![];
        for ((name, kube_config, client), (namespaces, note)) in clusters.into_iter().zip(resolved)
        {
            if let Some(note) = &note {
                tracing::warn!(cluster = %name, "{note}");
            }
            tracing::info!(cluster = %name, cluster_url = %kube_config.cluster_url, "watching cluster");
            let mut health = Health::starting(SourceKind::Cluster, namespaces.clone());
            health.notes.extend(note);
            let cluster = store.cluster_with_health(name, health);
            source::cluster::spawn_watchers(client.clone(), &namespaces, &cluster);
            backends.push((
                cluster.name().clone(),
                actions::KubeBackend::new(client.clone()),
            ));
            let access = auth::KubeAccess {
                config: kube_config,
                client,
            };
            kube_access.get_or_insert(access.clone());
            cluster_access.push((cluster.name().to_string(), access));
        }
        let actions = ActionBackends::Kube(backends);
        (SourceKind::Cluster, store, Some(actions))
    };
    tokio::spawn(store.clone().run_recompute());
    let read_only = config.effective_read_only();
    let mut settings = Settings::new(source, read_only, &config.base_path);
    settings.loopback_only = config.address.is_loopback();
    settings.allowed_hosts = config.allowed_hosts.clone();
    settings.tls = config.tls_cert.is_some();
    settings.limits = config.limits();
    if !settings.loopback_only && settings.allowed_hosts.is_empty() {
        tracing::warn!(
            "listening on {} without --allowed-host: any Host name is accepted (set it to the \
             dashboard's public name to defeat DNS rebinding)",
            config.address
        );
    }
    if config.auth == auth::AuthMode::None && !config.address.is_loopback() {
        tracing::warn!(
            "--auth none on a non-loopback address: read-only, but anyone who can reach it sees \
             every rollout the dashboard's identity can list"
        );
    }
    let auth = auth::Auth::from_config(config, kube_access).with_clusters(cluster_access);
    let state = AppState::new(store, settings).with_auth(auth);
    Ok(match actions {
        Some(actions) => state.with_actions(actions),
        None => state,
    })
}

/// Runs the server until Ctrl-C or SIGTERM, then shuts down gracefully.
pub async fn run(config: Config) -> Result<(), RunError> {
    let config = config.validate()?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(http::tls::acceptor(cert, key)?),
        _ => None,
    };
    let state = start(&config).await?;
    let addr = SocketAddr::new(config.address, config.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(RunError::Serve)?;
    let host = match local.ip() {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    tracing::info!(
        "rollouts-dashboard is serving {}://{host}:{}{}/ (source: {:?}, --auth {}{})",
        if tls.is_some() { "https" } else { "http" },
        local.port(),
        state.settings.base_path,
        state.settings.source,
        state.auth.mode.as_str(),
        if state.settings.read_only {
            ", read-only"
        } else {
            ""
        }
    );
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        // WebSocket tasks close with 1001 so the server can finish.
        shutdown.trigger();
    });
    serve(listener, state, tls).await
}

/// How long shutdown waits for WebSocket tasks to send their 1001 close.
const WEBSOCKET_DRAIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves `state` on `listener` (over TLS with `tls`) with the connection limits of its
/// settings, until its shutdown signal fires; then waits (briefly) for WebSocket streams to
/// close with 1001. Plain HTTP and TLS go through the same accept loop
/// ([`http::serve::serve`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Result<(), RunError> {
    let (limits, shutdown, metrics) = (
        state.settings.limits,
        state.shutdown.clone(),
        state.metrics.clone(),
    );
    http::serve::serve(listener, app(state), tls, limits, shutdown)
        .await
        .map_err(RunError::Serve)?;
    // Upgraded sockets live outside the accept loop's connections.
    let closed = tokio::time::timeout(WEBSOCKET_DRAIN, async {
        while metrics.clients() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    if closed.is_err() {
        tracing::warn!(
            open = metrics.clients(),
            "WebSocket streams still open after {WEBSOCKET_DRAIN:?}"
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
