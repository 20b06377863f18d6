//! Command-line and environment configuration, validated once at start.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

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

    /// Kubeconfig context to use (default: the current context).
    #[arg(long, env = "ROLLOUTS_DASHBOARD_CONTEXT")]
    pub context: Option<String>,

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
                ("context", self.context.is_some()),
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
        self.base_path = normalize_base_path(&self.base_path)?;
        for ns in &self.namespaces {
            if !is_dns_label(ns) {
                return Err(ConfigError::BadNamespace(ns.clone()));
            }
        }
        self.namespaces.sort();
        self.namespaces.dedup();
        Ok(self)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["rollouts-dashboard"];
        argv.extend_from_slice(args);
        Config::try_parse_from(argv).unwrap().validate()
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
    fn files_are_read_only() {
        assert!(parse(&["--from-files", "."]).unwrap().effective_read_only());
    }
}
