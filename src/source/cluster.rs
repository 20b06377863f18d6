//! The live source: one kube watcher per kind (per watched namespace), whatever the number of
//! browsers, feeding the shared store.
//!
//! Watchers relist at once on expired resource versions and retry with a short capped
//! backoff on errors, so the dashboard recovers within seconds of the API server, without a
//! restart; every error is reflected, typed, in the health that `/readyz`, the API and the
//! UI report (CRDs missing, forbidden, unreachable), while the last objects listed stay shown.
//!
//! Events are watched the same way (one watch per namespace scope, only those about a
//! Rollout, by field selector), but they are a garnish: an identity that may not list them
//! loses the history, not the dashboard, so their errors stay out of the health.

use std::path::PathBuf;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use tracing::Instrument;

use crate::health::{Problem, ProblemCode};
use crate::model::{Kind, Object, RolloutEvent};
use crate::store::ClusterStore;

/// Why the cluster could not be reached at start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot read kubeconfig {path}: {source}")]
    Kubeconfig {
        path: PathBuf,
        source: kube::config::KubeconfigError,
    },
    #[error("cannot load Kubernetes configuration: {0}")]
    Config(String),
    #[error("cannot create Kubernetes client: {0}")]
    Client(#[from] kube::Error),
    #[error("--context {context}: no such context in {origin}")]
    UnknownContext { context: String, origin: String },
    #[error("{0}: the kubeconfig has no contexts")]
    NoContexts(String),
    #[error(
        "{0}: the kubeconfig has no current-context (set one, or name the context with --context)"
    )]
    NoCurrentContext(String),
    #[error("--kubeconfig-dir {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cluster {cluster}: {source}")]
    Cluster {
        cluster: String,
        source: Box<ClusterError>,
    },
    #[error(
        "two clusters are named {0:?}: give each a distinct short name (--context NAME=CONTEXT)"
    )]
    DuplicateName(String),
    #[error("cluster name {0}")]
    BadName(String),
}

/// Which clusters the flags ask for ([`plan`]).
#[derive(Debug, Clone, Default)]
pub struct ClusterFlags {
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`, each `[NAME=]CONTEXT`.
    pub contexts: Vec<String>,
    /// `--all-contexts`.
    pub all_contexts: bool,
    /// `--kubeconfig-dir`.
    pub kubeconfig_dir: Option<PathBuf>,
}

impl ClusterFlags {
    /// The cluster flags of a configuration.
    pub fn of(config: &crate::config::Config) -> Self {
        Self {
            kubeconfig: config.kubeconfig.clone(),
            contexts: config.contexts.clone(),
            all_contexts: config.all_contexts,
            kubeconfig_dir: config.kubeconfig_dir.clone(),
        }
    }
}

/// Where the flags were read: the `KUBECONFIG` variable and whether the process runs in a
/// pod (passed in, so that tests need not change the process's environment).
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `KUBECONFIG`: one or several paths (as `PATH` separates them), merged as kubectl does.
    pub kubeconfig: Option<std::ffi::OsString>,
    /// `KUBERNETES_SERVICE_HOST` is set: the service account can reach this cluster.
    pub in_cluster: bool,
}

impl Environment {
    /// This process's.
    pub fn current() -> Self {
        Self {
            kubeconfig: std::env::var_os("KUBECONFIG"),
            in_cluster: std::env::var_os("KUBERNETES_SERVICE_HOST").is_some(),
        }
    }
}

/// One cluster to watch, resolved from the flags before anything connects.
#[derive(Debug, Clone)]
pub struct ClusterPlan {
    /// Its short name (unique).
    pub name: String,
    pub target: Target,
}

/// How to reach a planned cluster.
#[derive(Debug, Clone)]
pub enum Target {
    /// A context of a kubeconfig; `origin` says which file(s), for errors.
    Context {
        kubeconfig: Box<Kubeconfig>,
        context: String,
        origin: String,
    },
    /// The service account of the pod the dashboard runs in.
    InCluster,
}

/// The main kubeconfig: `--kubeconfig`, else `KUBECONFIG` (several files merged, the first
/// one's entries winning, as kubectl), else `~/.kube/config` when it exists; with where it
/// was read from.
pub fn main_kubeconfig(
    explicit: Option<&PathBuf>,
    env: &Environment,
) -> Result<Option<(Kubeconfig, String)>, ClusterError> {
    let read = |path: &PathBuf| {
        Kubeconfig::read_from(path).map_err(|source| ClusterError::Kubeconfig {
            path: path.clone(),
            source,
        })
    };
    if let Some(path) = explicit {
        return Ok(Some((read(path)?, path.display().to_string())));
    }
    if let Some(value) = &env.kubeconfig {
        let paths: Vec<PathBuf> = std::env::split_paths(value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            let mut merged = Kubeconfig::default();
            for path in &paths {
                merged = merged
                    .merge(read(path)?)
                    .map_err(|source| ClusterError::Kubeconfig {
                        path: path.clone(),
                        source,
                    })?;
            }
            let origin = format!("KUBECONFIG={}", value.to_string_lossy());
            return Ok(Some((merged, origin)));
        }
    }
    match home_kubeconfig() {
        Some(path) if path.is_file() => Ok(Some((read(&path)?, path.display().to_string()))),
        _ => Ok(None),
    }
}

fn home_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".kube").join("config"))
}

/// The clusters the flags ask for, named, in display order; nothing is contacted. A bad
/// kubeconfig or context is an error here (at start); an unreachable cluster is not.
///
/// - `--context [NAME=]CONTEXT…`: those contexts of the main kubeconfig.
/// - `--all-contexts`: every context of it.
/// - `--kubeconfig-dir DIR`: plus each file's current context (named after the context, or
///   after the file when several files use the same context name); with neither flag above
///   and running in a pod, plus that cluster as `in-cluster`.
/// - none of them: the current context (named after it), else `in-cluster` in a pod.
pub fn plan(flags: &ClusterFlags, env: &Environment) -> Result<Vec<ClusterPlan>, ClusterError> {
    let main = main_kubeconfig(flags.kubeconfig.as_ref(), env)?;
    let context_of = |name: &str, context: &str| -> Result<ClusterPlan, ClusterError> {
        let Some((kubeconfig, origin)) = &main else {
            return Err(ClusterError::UnknownContext {
                context: context.to_owned(),
                origin: "(no kubeconfig found)".to_owned(),
            });
        };
        if !kubeconfig.contexts.iter().any(|c| c.name == context) {
            return Err(ClusterError::UnknownContext {
                context: context.to_owned(),
                origin: origin.clone(),
            });
        }
        Ok(ClusterPlan {
            name: name.to_owned(),
            target: Target::Context {
                kubeconfig: Box::new(kubeconfig.clone()),
                context: context.to_owned(),
                origin: origin.clone(),
            },
        })
    };
    let mut plans = vec![];
    if !flags.contexts.is_empty() {
        for value in &flags.contexts {
            let (name, context) = crate::config::split_context(value);
            plans.push(context_of(name, context)?);
        }
    } else if flags.all_contexts {
        let Some((kubeconfig, origin)) = &main else {
            return Err(ClusterError::NoContexts("(no kubeconfig found)".to_owned()));
        };
        if kubeconfig.contexts.is_empty() {
            return Err(ClusterError::NoContexts(origin.clone()));
        }
        for context in &kubeconfig.contexts {
            plans.push(context_of(&context.name, &context.name)?);
        }
    } else if flags.kubeconfig_dir.is_some() {
        if env.in_cluster {
            plans.push(ClusterPlan {
                name: IN_CLUSTER.to_owned(),
                target: Target::InCluster,
            });
        }
    } else {
        match &main {
            Some((kubeconfig, origin)) => match &kubeconfig.current_context {
                Some(current) => plans.push(context_of(current, current)?),
                None if flags.kubeconfig.is_none() && env.in_cluster => plans.push(ClusterPlan {
                    name: IN_CLUSTER.to_owned(),
                    target: Target::InCluster,
                }),
                None => return Err(ClusterError::NoCurrentContext(origin.clone())),
            },
            None if env.in_cluster => plans.push(ClusterPlan {
                name: IN_CLUSTER.to_owned(),
                target: Target::InCluster,
            }),
            None => {
                return Err(ClusterError::Config(
                    "no kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config) and not running \
                     in a cluster"
                        .to_owned(),
                ));
            }
        }
    }
    if let Some(dir) = &flags.kubeconfig_dir {
        let taken: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
        plans.extend(plan_dir(dir, &taken)?);
    }
    let mut seen = std::collections::BTreeSet::new();
    for plan in &plans {
        crate::config::check_cluster_name(&plan.name).map_err(ClusterError::BadName)?;
        if !seen.insert(plan.name.as_str()) {
            return Err(ClusterError::DuplicateName(plan.name.clone()));
        }
    }
    Ok(plans)
}

/// A cluster per kubeconfig file of `dir` (by file name; hidden entries such as a mounted
/// Secret's `..data` are skipped, symbolic links followed), named after its current context,
/// or after the file when that name is ambiguous: used by another file, or `taken` by a
/// cluster of the other flags.
fn plan_dir(dir: &std::path::Path, taken: &[String]) -> Result<Vec<ClusterPlan>, ClusterError> {
    let io = |source| ClusterError::Dir {
        dir: dir.to_owned(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    let mut found = vec![];
    for path in files {
        let kubeconfig =
            Kubeconfig::read_from(&path).map_err(|source| ClusterError::Kubeconfig {
                path: path.clone(),
                source,
            })?;
        let origin = path.display().to_string();
        let Some(current) = kubeconfig.current_context.clone() else {
            return Err(ClusterError::NoCurrentContext(origin));
        };
        if !kubeconfig.contexts.iter().any(|c| c.name == current) {
            return Err(ClusterError::UnknownContext {
                context: current,
                origin,
            });
        }
        found.push((path, kubeconfig, current, origin));
    }
    let count = |name: &str| found.iter().filter(|(_, _, c, _)| c == name).count();
    let plans = found
        .iter()
        .map(|(path, kubeconfig, context, origin)| {
            let name = if count(context) > 1 || taken.contains(context) {
                file_cluster_name(path)
            } else {
                context.clone()
            };
            ClusterPlan {
                name,
                target: Target::Context {
                    kubeconfig: Box::new(kubeconfig.clone()),
                    context: context.clone(),
                    origin: origin.clone(),
                },
            }
        })
        .collect();
    Ok(plans)
}

/// A kubeconfig file's name as a cluster name: without a `.yaml`, `.yml`, `.kubeconfig` or
/// `.conf` ending.
fn file_cluster_name(path: &std::path::Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for ending in [".yaml", ".yml", ".kubeconfig", ".conf"] {
        if let Some(stem) = name.strip_suffix(ending)
            && !stem.is_empty()
        {
            return stem.to_owned();
        }
    }
    name
}

/// The client configuration of a planned cluster (a bad entry fails here, at start; nothing
/// is contacted).
pub async fn plan_config(plan: &ClusterPlan) -> Result<kube::Config, ClusterError> {
    let result = match &plan.target {
        Target::Context {
            kubeconfig,
            context,
            origin,
        } => {
            let options = KubeConfigOptions {
                context: Some(context.clone()),
                ..Default::default()
            };
            kube::Config::from_custom_kubeconfig((**kubeconfig).clone(), &options)
                .await
                .map_err(|e| ClusterError::Config(format!("{origin}, context {context}: {e}")))
        }
        Target::InCluster => {
            kube::Config::incluster().map_err(|e| ClusterError::Config(e.to_string()))
        }
    };
    result.map_err(|source| ClusterError::Cluster {
        cluster: plan.name.clone(),
        source: Box::new(source),
    })
}

/// Loads the Kubernetes configuration from `--kubeconfig`/`--context`, else the usual
/// inference (KUBECONFIG, ~/.kube/config, in-cluster service account).
pub async fn kube_config(
    kubeconfig: Option<&PathBuf>,
    context: Option<&str>,
) -> Result<kube::Config, ClusterError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path).map_err(|source| ClusterError::Kubeconfig {
                path: path.clone(),
                source,
            })?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|source| ClusterError::Kubeconfig {
                    path: path.clone(),
                    source,
                })
        }
        None if context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| ClusterError::Config(e.to_string())),
        None => kube::Config::infer()
            .await
            .map_err(|e| ClusterError::Config(e.to_string())),
    }
}

/// The name of the cluster the dashboard runs in, when it uses its service account.
pub const IN_CLUSTER: &str = "in-cluster";

/// Builds a client from [`kube_config`].
pub async fn client(
    kubeconfig: Option<&PathBuf>,
    context: Option<&str>,
) -> Result<Client, ClusterError> {
    Ok(Client::try_from(kube_config(kubeconfig, context).await?)?)
}

/// The API resource of a watched kind.
pub fn api_resource(kind: Kind) -> ApiResource {
    let (group, version) = match kind.api_version().split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", kind.api_version()),
    };
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, version, kind.as_str()),
        kind.plural(),
    )
}

/// Decides which namespaces to watch. With none requested, tries cluster-wide; if the
/// identity may not list rollouts cluster-wide, falls back to the context's namespace and
/// says so in the returned note.
pub async fn resolve_namespaces(
    client: &Client,
    requested: &[String],
) -> (Vec<String>, Option<String>) {
    if !requested.is_empty() {
        return (requested.to_vec(), None);
    }
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &api_resource(Kind::Rollout));
    match api.list_metadata(&ListParams::default().limit(1)).await {
        Err(kube::Error::Api(status)) if status.is_forbidden() => {
            let ns = client.default_namespace().to_owned();
            let note = format!(
                "This identity may not list rollouts in all namespaces ({}); watching only \
                 namespace {ns:?} from the kubeconfig context. Pass -n/--namespace to choose.",
                status.message
            );
            (vec![ns], Some(note))
        }
        _ => (vec![], None),
    }
}

/// [`resolve_namespaces`], waiting at most `within` for the cluster: one that does not
/// answer is watched as requested (all namespaces when none are), and its watches report it.
pub async fn resolve_namespaces_within(
    client: &Client,
    requested: &[String],
    within: Duration,
) -> (Vec<String>, Option<String>) {
    match tokio::time::timeout(within, resolve_namespaces(client, requested)).await {
        Ok(resolved) => resolved,
        Err(_) => (requested.to_vec(), None),
    }
}

/// The API resource of core/v1 Events.
pub fn events_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Event"), "events")
}

/// The field selector of the Events watch: only Events about a Rollout reach the dashboard
/// (the API server supports `involvedObject.kind` for Events; one value, so AnalysisRun and
/// Experiment Events would need watches of their own).
pub const EVENTS_FIELD_SELECTOR: &str = "involvedObject.kind=Rollout";

/// Starts one watcher per kind and namespace, and one of Events per namespace; returns their
/// tasks.
pub fn spawn_watchers(
    client: Client,
    namespaces: &[String],
    store: &ClusterStore,
) -> Vec<tokio::task::JoinHandle<()>> {
    let scopes: Vec<Option<String>> = if namespaces.is_empty() {
        vec![None]
    } else {
        namespaces.iter().cloned().map(Some).collect()
    };
    let mut tasks = vec![];
    // Every log line of these watches names their cluster.
    let span = tracing::info_span!("watch", cluster = %store.name());
    for kind in Kind::ALL {
        for scope in &scopes {
            let resource = api_resource(kind);
            let api: Api<DynamicObject> = match scope {
                Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
                None => Api::all_with(client.clone(), &resource),
            };
            let multi_scope = scopes.len() > 1;
            let sink = KindSink {
                kind,
                scope: scope.clone(),
                multi_scope,
                store: store.clone(),
                initial: vec![],
            };
            tasks.push(tokio::spawn(
                watch(api, list_config(), sink).instrument(span.clone()),
            ));
        }
    }
    for scope in &scopes {
        let resource = events_resource();
        let api: Api<DynamicObject> = match scope {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        let sink = EventSink {
            scope: scope.clone(),
            store: store.clone(),
            initial: vec![],
        };
        let config = list_config().fields(EVENTS_FIELD_SELECTOR);
        tasks.push(tokio::spawn(
            watch(api, config, sink).instrument(span.clone()),
        ));
    }
    tasks
}

/// How every watch lists: in pages, so a large namespace is not one huge response.
fn list_config() -> watcher::Config {
    watcher::Config::default().page_size(500)
}

/// Where a watch's objects and errors go: the store's objects of one kind and the health, or
/// the store's Events.
trait Sink: Send + 'static {
    /// For logs.
    fn name(&self) -> &'static str;
    /// A (re)list starts.
    fn init(&mut self);
    /// One object of the (re)list.
    fn init_apply(&mut self, obj: DynamicObject);
    /// The (re)list is complete: the cache matches the cluster again.
    fn init_done(&mut self);
    fn apply(&mut self, obj: DynamicObject);
    fn delete(&mut self, obj: DynamicObject);
    /// The watch failed; it restarts after a pause.
    fn failed(&mut self, err: &watcher::Error);
}

/// Feeds the store's objects of one kind and that kind's health.
struct KindSink {
    kind: Kind,
    scope: Option<String>,
    multi_scope: bool,
    store: ClusterStore,
    /// The objects of the current (re)list.
    initial: Vec<Object>,
}

impl Sink for KindSink {
    fn name(&self) -> &'static str {
        self.kind.as_str()
    }

    fn init(&mut self) {
        self.initial.clear();
    }

    fn init_apply(&mut self, obj: DynamicObject) {
        self.initial.extend(decode(self.kind, obj));
    }

    fn init_done(&mut self) {
        let kind = self.kind;
        let objects = std::mem::take(&mut self.initial);
        tracing::info!(
            kind = kind.as_str(),
            namespace = self.scope.as_deref().unwrap_or("*"),
            count = objects.len(),
            "watch synced"
        );
        if self.multi_scope {
            // Several namespaces share one kind: replace only this namespace's objects.
            self.store.replace_in_namespace(
                kind,
                self.scope.as_deref().unwrap_or_default(),
                objects,
            );
        } else {
            self.store.replace_kind(kind, objects);
        }
        self.store.update_health(|h| {
            h.kinds.entry(kind).or_default().recover();
            h.refresh_problem();
        });
    }

    fn apply(&mut self, obj: DynamicObject) {
        if let Some(object) = decode(self.kind, obj) {
            self.store.apply(object);
        }
    }

    fn delete(&mut self, obj: DynamicObject) {
        let ns = obj.metadata.namespace.clone().unwrap_or_default();
        let name = obj.metadata.name.clone().unwrap_or_default();
        self.store.delete(self.kind, &ns, &name);
    }

    fn failed(&mut self, err: &watcher::Error) {
        let problem = classify(self.kind, err);
        tracing::warn!(kind = self.kind.as_str(), %err, code = %problem.code, "watch error");
        record_error(&self.store, self.kind, problem);
    }
}

/// Feeds the store's Events about rollouts. Its errors never reach the health: without
/// Events the rollouts still show, and their history says why it is missing.
struct EventSink {
    /// The namespace of this watch (`None`: all): what a relist replaces, and whose history
    /// an error makes unavailable.
    scope: Option<String>,
    store: ClusterStore,
    initial: Vec<RolloutEvent>,
}

impl Sink for EventSink {
    fn name(&self) -> &'static str {
        "Event"
    }

    fn init(&mut self) {
        self.initial.clear();
    }

    fn init_apply(&mut self, obj: DynamicObject) {
        self.initial.extend(decode_event(obj));
    }

    fn init_done(&mut self) {
        let events = std::mem::take(&mut self.initial);
        tracing::info!(
            namespace = self.scope.as_deref().unwrap_or("*"),
            count = events.len(),
            "events watch synced"
        );
        self.store.replace_events(self.scope.as_deref(), events);
        self.store
            .set_events_unavailable(self.scope.as_deref(), None);
    }

    fn apply(&mut self, obj: DynamicObject) {
        if let Some(event) = decode_event(obj) {
            self.store.apply_event(event);
        }
    }

    fn delete(&mut self, obj: DynamicObject) {
        if let Some(event) = decode_event(obj) {
            self.store.delete_event(&event);
        }
    }

    fn failed(&mut self, err: &watcher::Error) {
        tracing::warn!(%err, "events watch error");
        if let Some(why) = events_unavailable(err) {
            self.store
                .set_events_unavailable(self.scope.as_deref(), Some(why));
        }
    }
}

/// What the history says when the Events watch fails for good reason (403); `None` for
/// errors a retry may cure (the rollouts' own health reports an unreachable API server).
fn events_unavailable(err: &watcher::Error) -> Option<String> {
    let status = status_of(err).filter(|s| s.code == 403)?;
    Some(format!(
        "this identity may not list/watch events: {}",
        status.message
    ))
}

fn decode_event(obj: DynamicObject) -> Option<RolloutEvent> {
    let value = serde_json::to_value(obj).ok()?;
    match RolloutEvent::decode(value) {
        Ok(event) => event,
        Err(err) => {
            tracing::warn!(%err, "skipping an Event that does not match its schema");
            None
        }
    }
}

/// Shortest pause after a watch error.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
/// Longest pause after a watch error, before jitter (at most a quarter more): an API server
/// back from an outage is listed again within about five seconds, however long it was gone.
const BACKOFF_MAX: Duration = Duration::from_secs(4);

/// Capped exponential backoff with jitter, reset by every event the watch delivers.
///
/// kube's `default_backoff` grows to 30 s and is reset only by an `Ok` item; after an outage
/// of 40 s, its 30 s pauses (and a second one for the "too old resource version" that
/// follows an API server restart) kept the dashboard unready for 82 s.
#[derive(Debug)]
struct Backoff {
    next: Duration,
    /// Per-watch randomness, so that the watches of all kinds do not retry in lockstep.
    jitter: std::collections::hash_map::RandomState,
    attempts: u64,
}

impl Backoff {
    fn new() -> Self {
        Self {
            next: BACKOFF_MIN,
            jitter: Default::default(),
            attempts: 0,
        }
    }

    /// The pause before the next attempt: BACKOFF_MIN, doubling up to BACKOFF_MAX, each
    /// with up to a quarter more at random.
    fn next_delay(&mut self) -> Duration {
        use std::hash::BuildHasher;
        let base = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        self.attempts += 1;
        let spread = self.jitter.hash_one(self.attempts) % 1000;
        base + base / 4 * u32::try_from(spread).unwrap_or(0) / 1000
    }

    fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }
}

/// Runs one watch for as long as the process lives, handing its events to `sink`.
///
/// After an error the watch pauses ([`Backoff`]) and starts over with a fresh list, whose
/// end (`InitDone`) is the proof that the cache matches the cluster again and clears the
/// error. An expired resource version (410 Gone, as after an API server restart) relists at
/// once, without a pause. Meanwhile the store keeps the last objects listed: the dashboard
/// shows them, and the health says why they may be out of date.
async fn watch<S: Sink>(api: Api<DynamicObject>, config: watcher::Config, mut sink: S) {
    let mut backoff = Backoff::new();
    loop {
        let mut stream = watcher(api.clone(), config.clone()).boxed();
        let end = loop {
            match stream.try_next().await {
                Ok(Some(event)) => {
                    // `Init` comes before the list request: only what the server sent proves
                    // it answers again.
                    if !matches!(event, watcher::Event::Init) {
                        backoff.reset();
                    }
                    match event {
                        watcher::Event::Init => sink.init(),
                        watcher::Event::InitApply(obj) => sink.init_apply(obj),
                        watcher::Event::InitDone => sink.init_done(),
                        watcher::Event::Apply(obj) => sink.apply(obj),
                        watcher::Event::Delete(obj) => sink.delete(obj),
                    }
                }
                Ok(None) => break WatchEnd::Ended,
                Err(err) => {
                    sink.failed(&err);
                    if is_expired(&err) {
                        // The watcher relists on its next poll; the error clears when it is done.
                        sink.init();
                        continue;
                    }
                    break WatchEnd::Failed;
                }
            }
        };
        if end == WatchEnd::Ended {
            // kube's watcher never ends by design; should it, a new one lists afresh.
            tracing::warn!(kind = sink.name(), "watch stream ended; starting a new one");
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Why a watcher stream was given up.
#[derive(Debug, PartialEq, Eq)]
enum WatchEnd {
    /// It returned an error that a fresh list recovers from.
    Failed,
    /// It ended (it should not).
    Ended,
}

fn decode(kind: Kind, obj: DynamicObject) -> Option<Object> {
    let value = match serde_json::to_value(obj) {
        Ok(v) => v,
        Err(err) => {
            tracing::warn!(kind = kind.as_str(), %err, "cannot re-encode object");
            return None;
        }
    };
    match Object::decode(kind, value) {
        Ok(object) => Some(object),
        Err(err) => {
            // One malformed object must not hide the others.
            tracing::warn!(%err, "skipping object that does not match its schema");
            None
        }
    }
}

fn record_error(store: &ClusterStore, kind: Kind, problem: Problem) {
    store.update_health(|h| {
        h.kinds.entry(kind).or_default().fail(problem);
        h.refresh_problem();
    });
}

fn status_of(err: &watcher::Error) -> Option<&kube::core::Status> {
    match err {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s),
        watcher::Error::WatchError(s) => Some(s),
        _ => None,
    }
}

/// The resource version the watch resumed from is gone (410, "too old resource version"):
/// only a new list can continue, and it can be made at once.
fn is_expired(err: &watcher::Error) -> bool {
    status_of(err).is_some_and(|s| s.code == 410)
}

/// Classifies a watch error and puts it in words.
fn classify(kind: Kind, err: &watcher::Error) -> Problem {
    let resource = format!("{}.{}", kind.plural(), kind.api_version());
    match status_of(err) {
        Some(s) if s.code == 404 && kind.api_version().starts_with("argoproj.io") => Problem::new(
            ProblemCode::CrdMissing,
            format!(
                "the Argo Rollouts CRD for {resource} is not installed in this cluster; \
                 install the Argo Rollouts CRDs (argoproj.io/v1alpha1)"
            ),
        ),
        Some(s) if s.code == 403 => Problem::new(
            ProblemCode::Forbidden,
            format!("this identity may not list/watch {resource}: {}", s.message),
        ),
        Some(s) => Problem::new(
            ProblemCode::WatchFailing,
            format!("{resource}: {} ({})", s.message, s.code),
        ),
        None => Problem::new(ProblemCode::Unreachable, format!("{resource}: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh temporary directory for one test.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rd-plan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A kubeconfig with `contexts` (each on its own cluster and user) and `current`.
    fn kubeconfig(contexts: &[&str], current: Option<&str>) -> String {
        let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
        for c in contexts {
            text +=
                &format!("- name: {c}-cluster\n  cluster: {{server: https://{c}.example:6443}}\n");
        }
        text += "users:\n";
        for c in contexts {
            text += &format!("- name: {c}-user\n  user: {{token: t-{c}}}\n");
        }
        text += "contexts:\n";
        for c in contexts {
            text += &format!("- name: {c}\n  context: {{cluster: {c}-cluster, user: {c}-user}}\n");
        }
        if let Some(current) = current {
            text += &format!("current-context: {current}\n");
        }
        text
    }

    fn write(dir: &std::path::Path, file: &str, text: &str) -> PathBuf {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn names(plans: &[ClusterPlan]) -> Vec<&str> {
        plans.iter().map(|p| p.name.as_str()).collect()
    }

    fn contexts(plans: &[ClusterPlan]) -> Vec<&str> {
        plans
            .iter()
            .map(|p| match &p.target {
                Target::Context { context, .. } => context.as_str(),
                Target::InCluster => "(in-cluster)",
            })
            .collect()
    }

    fn flags(kubeconfig: &std::path::Path) -> ClusterFlags {
        ClusterFlags {
            kubeconfig: Some(kubeconfig.to_owned()),
            ..ClusterFlags::default()
        }
    }

    #[test]
    fn contexts_repeat_rename_and_default_to_the_current_one() {
        let dir = temp_dir("contexts");
        let file = write(
            &dir,
            "config",
            &kubeconfig(
                &["kind-a", "arn:aws:eks:eu-west-1:1:cluster/b"],
                Some("kind-a"),
            ),
        );
        let env = Environment::default();
        // No flag: today's behaviour, the current context named after itself.
        let plans = plan(&flags(&file), &env).unwrap();
        assert_eq!(names(&plans), ["kind-a"]);
        let mut f = flags(&file);
        f.contexts = vec![
            "kind-a".into(),
            "prod-eu=arn:aws:eks:eu-west-1:1:cluster/b".into(),
        ];
        let plans = plan(&f, &env).unwrap();
        assert_eq!(names(&plans), ["kind-a", "prod-eu"]);
        assert_eq!(
            contexts(&plans),
            ["kind-a", "arn:aws:eks:eu-west-1:1:cluster/b"]
        );
        // Duplicates, by name.
        f.contexts = vec![
            "kind-a".into(),
            "kind-a=arn:aws:eks:eu-west-1:1:cluster/b".into(),
        ];
        assert!(matches!(plan(&f, &env), Err(ClusterError::DuplicateName(n)) if n == "kind-a"));
        // An unknown context stops the start, naming the file.
        f.contexts = vec!["nope".into()];
        let err = plan(&f, &env).unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("config"), "{err}");
        // --all-contexts: every one, named after itself.
        let mut f = flags(&file);
        f.all_contexts = true;
        assert_eq!(
            names(&plan(&f, &env).unwrap()),
            ["kind-a", "arn:aws:eks:eu-west-1:1:cluster/b"]
        );
        // No current context and no --context: a clear error.
        let bare = write(&dir, "bare", &kubeconfig(&["x"], None));
        assert!(matches!(
            plan(&flags(&bare), &env),
            Err(ClusterError::NoCurrentContext(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn several_kubeconfig_files_merge_as_kubectl_does() {
        let dir = temp_dir("merge");
        let one = write(&dir, "one", &kubeconfig(&["a", "shared"], Some("a")));
        let two = write(&dir, "two", &kubeconfig(&["b", "shared"], Some("b")));
        let env = Environment {
            kubeconfig: Some(std::env::join_paths([&one, &two]).unwrap()),
            in_cluster: false,
        };
        let all = ClusterFlags {
            all_contexts: true,
            ..ClusterFlags::default()
        };
        let plans = plan(&all, &env).unwrap();
        // Every context once, the first file's first; its current context wins.
        assert_eq!(names(&plans), ["a", "shared", "b"]);
        assert_eq!(names(&plan(&ClusterFlags::default(), &env).unwrap()), ["a"]);
        let Target::Context {
            kubeconfig, origin, ..
        } = &plans[2].target
        else {
            panic!("a context")
        };
        assert!(origin.starts_with("KUBECONFIG="), "{origin}");
        assert!(kubeconfig.clusters.iter().any(|c| c.name == "b-cluster"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_kubeconfig_dir_adds_a_cluster_per_file() {
        let dir = temp_dir("dir");
        write(
            &dir,
            "prod-eu.yaml",
            &kubeconfig(&["prod-eu"], Some("prod-eu")),
        );
        // Two files with the same context name (as generated kubeconfigs often are): named
        // after their files.
        write(
            &dir,
            "staging.kubeconfig",
            &kubeconfig(&["default"], Some("default")),
        );
        write(&dir, "dev", &kubeconfig(&["default"], Some("default")));
        // A mounted Secret's bookkeeping entries are not kubeconfigs.
        std::fs::create_dir_all(dir.join("..2026_11_30")).unwrap();
        write(&dir, "..data", "not yaml: [");
        let f = ClusterFlags {
            kubeconfig_dir: Some(dir.clone()),
            ..ClusterFlags::default()
        };
        let outside = Environment::default();
        let plans = plan(&f, &outside).unwrap();
        assert_eq!(names(&plans), ["dev", "prod-eu", "staging"]);
        assert_eq!(contexts(&plans), ["default", "prod-eu", "default"]);
        // In a pod: the local cluster too, first.
        let inside = Environment {
            kubeconfig: None,
            in_cluster: true,
        };
        assert_eq!(
            names(&plan(&f, &inside).unwrap()),
            ["in-cluster", "dev", "prod-eu", "staging"]
        );
        // Beside --context: those and the files; a clash of names is an error.
        let main = temp_dir("dir-main");
        let file = write(
            &main,
            "config",
            &kubeconfig(&["prod-eu", "local"], Some("local")),
        );
        let mut with_context = f.clone();
        with_context.kubeconfig = Some(file);
        with_context.contexts = vec!["local".into()];
        assert_eq!(
            names(&plan(&with_context, &outside).unwrap()),
            ["local", "dev", "prod-eu", "staging"]
        );
        // A context name another flag took: the file's name instead.
        write(
            &dir,
            "local-copy.yaml",
            &kubeconfig(&["local"], Some("local")),
        );
        assert_eq!(
            names(&plan(&with_context, &outside).unwrap()),
            ["local", "dev", "local-copy", "prod-eu", "staging"]
        );
        std::fs::remove_file(dir.join("local-copy.yaml")).unwrap();
        // Still the same name after that: an error.
        with_context.contexts = vec!["prod-eu".into()];
        assert!(matches!(
            plan(&with_context, &outside),
            Err(ClusterError::DuplicateName(n)) if n == "prod-eu"
        ));
        // A file that is not a kubeconfig (a bad entry) stops the start.
        write(&dir, "broken", "clusters: {not: a list}");
        let err = plan(&f, &outside).unwrap_err().to_string();
        assert!(err.contains("broken"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&main);
    }

    #[tokio::test]
    async fn a_bad_context_fails_at_start_and_an_unreachable_one_does_not() {
        let dir = temp_dir("config");
        let text = kubeconfig(&["up"], Some("up"))
            + "- name: bad\n  context: {cluster: missing-cluster, user: up-user}\n";
        // The appended context goes under `contexts:`, which is last but for current-context.
        let text = text.replace("current-context: up\n", "") + "current-context: up\n";
        let file = write(&dir, "config", &text);
        let mut f = flags(&file);
        f.contexts = vec!["up".into(), "bad".into()];
        let plans = plan(&f, &Environment::default()).unwrap();
        // `up` points at a server nobody answers on: configured all the same.
        let config = plan_config(&plans[0]).await.unwrap();
        assert_eq!(config.cluster_url.host(), Some("up.example"));
        let err = plan_config(&plans[1]).await.unwrap_err().to_string();
        assert!(err.starts_with("cluster bad:"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn api_resources_match_the_kinds() {
        let ar = api_resource(Kind::Rollout);
        assert_eq!(
            (ar.group.as_str(), ar.version.as_str(), ar.plural.as_str()),
            ("argoproj.io", "v1alpha1", "rollouts")
        );
        let ar = api_resource(Kind::Pod);
        assert_eq!((ar.group.as_str(), ar.api_version.as_str()), ("", "v1"));
    }

    fn api_error(code: u16, message: &str) -> watcher::Error {
        watcher::Error::InitialListFailed(kube::Error::Api(
            kube::core::Status::failure(message, "")
                .with_code(code)
                .boxed(),
        ))
    }

    #[test]
    fn errors_are_classified_by_kind() {
        let crd = classify(Kind::Rollout, &api_error(404, "not found"));
        assert_eq!(crd.code, ProblemCode::CrdMissing);
        assert!(
            crd.message.contains("rollouts.argoproj.io/v1alpha1"),
            "{crd}"
        );
        // A missing core kind is not a missing CRD.
        let pods = classify(Kind::Pod, &api_error(404, "not found"));
        assert_eq!(pods.code, ProblemCode::WatchFailing);
        let forbidden = classify(Kind::Pod, &api_error(403, "no"));
        assert_eq!(forbidden.code, ProblemCode::Forbidden);
        assert_eq!(
            forbidden.to_string(),
            "forbidden: this identity may not list/watch pods.v1: no"
        );
        let gone = watcher::Error::WatchError(
            kube::core::Status::failure("too old resource version: 1 (2)", "Expired")
                .with_code(410)
                .boxed(),
        );
        assert!(is_expired(&gone));
        assert_eq!(classify(Kind::Pod, &gone).code, ProblemCode::WatchFailing);
        assert!(!is_expired(&api_error(500, "boom")));
        let unreachable = classify(Kind::Pod, &watcher::Error::NoResourceVersion);
        assert_eq!(unreachable.code, ProblemCode::Unreachable);
    }

    #[test]
    fn backoff_is_capped_and_resets() {
        let mut backoff = Backoff::new();
        let delays: Vec<Duration> = (0..20).map(|_| backoff.next_delay()).collect();
        assert!(
            delays[0] >= BACKOFF_MIN && delays[0] <= BACKOFF_MIN * 5 / 4,
            "{delays:?}"
        );
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(5)),
            "{delays:?}"
        );
        assert!(delays[19] >= BACKOFF_MAX, "{delays:?}");
        backoff.reset();
        assert!(backoff.next_delay() <= BACKOFF_MIN * 5 / 4);
    }

    #[test]
    fn only_a_forbidden_events_watch_makes_the_history_unavailable() {
        let why = events_unavailable(&api_error(403, "events is forbidden")).unwrap();
        assert_eq!(
            why,
            "this identity may not list/watch events: events is forbidden"
        );
        assert_eq!(events_unavailable(&api_error(500, "boom")), None);
        assert_eq!(events_unavailable(&watcher::Error::NoResourceVersion), None);
        let ar = events_resource();
        assert_eq!(
            (ar.api_version.as_str(), ar.plural.as_str()),
            ("v1", "events")
        );
    }
}
