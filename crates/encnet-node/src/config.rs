//! Node configuration: defaults, then `encnet.toml`, then `ENCNET_*`
//! environment variables, then command-line flags (applied by the binary).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use encnet_core::column::LegacyPlaintext;
use serde::Deserialize;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8700";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./encnet-data";
/// File name of the embedded SQLite database in the data directory.
pub const SQLITE_FILE: &str = "encnet.db";

/// Everything `encnet serve` needs. `Debug` masks a database password.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory of `root.key` and `encnet.db`.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `<data_dir>/encnet.db`.
    pub database_url: Option<String>,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// At-rest encryption settings.
    pub at_rest: AtRest,
    /// Maximum invocation lifetime the node accepts, in seconds.
    pub max_ttl_secs: i64,
    /// Audit log settings.
    pub audit: AuditConfig,
}

/// `[audit]` section: how often the node signs a checkpoint of its audit
/// chain (DESIGN §4.10), besides one on every audit read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// A checkpoint once the chain has grown by this many entries (0 is
    /// taken as 1).
    pub checkpoint_every_entries: u64,
    /// A checkpoint this many seconds after the last one, if entries were
    /// added since (0 is taken as 1).
    pub checkpoint_every_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_every_entries: 1000,
            checkpoint_every_secs: 60,
        }
    }
}

/// `[at_rest]` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AtRest {
    /// Whether unsealed (pre-encryption) column values may be read.
    pub legacy_plaintext: LegacyPlaintext,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// A configuration source that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// An environment variable has an invalid value.
    #[error("invalid {name}: {message}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("log_format", &self.log_format)
            .field("at_rest", &self.at_rest)
            .field("max_ttl_secs", &self.max_ttl_secs)
            .field("audit", &self.audit)
            .finish()
    }
}

/// The URL without its passwords, for messages and `Debug`: the one in the
/// user info (`postgres://user:***@host/db`) and the values of `password=`
/// and `sslpassword=` query parameters (`?user=u&password=***`).
pub(crate) fn redact_url(url: &str) -> String {
    let url = match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    };
    redact_password_parameters(&url)
}

/// Masks the value of every `password=` or `sslpassword=` query parameter
/// (names compared case-insensitively) up to the next `&` or the end.
fn redact_password_parameters(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((name, _))
                if name.eq_ignore_ascii_case("password")
                    || name.eq_ignore_ascii_case("sslpassword") =>
            {
                format!("{name}=***")
            }
            _ => param.to_owned(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8700)),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            database_url: None,
            log_format: LogFormat::Text,
            at_rest: AtRest::default(),
            max_ttl_secs: 300,
            audit: AuditConfig::default(),
        }
    }
}

impl Config {
    /// Reads `path` over the defaults.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|err| ConfigError::Parse {
            path: path.to_owned(),
            message: err.message().to_owned(),
        })
    }

    /// Applies `ENCNET_*` variables read through `var`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = var("ENCNET_LISTEN") {
            self.listen = v.parse().map_err(|_| ConfigError::Env {
                name: "ENCNET_LISTEN",
                message: format!("{v:?} is not an address like 127.0.0.1:8700"),
            })?;
        }
        if let Some(v) = var("ENCNET_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = var("ENCNET_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = var("ENCNET_LOG_FORMAT") {
            self.log_format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::Env {
                        name: "ENCNET_LOG_FORMAT",
                        message: format!("{v:?} is neither text nor json"),
                    })
                }
            };
        }
        if let Some(v) = var("ENCNET_AUDIT_CHECKPOINT_ENTRIES") {
            self.audit.checkpoint_every_entries = positive("ENCNET_AUDIT_CHECKPOINT_ENTRIES", &v)?;
        }
        if let Some(v) = var("ENCNET_AUDIT_CHECKPOINT_SECS") {
            self.audit.checkpoint_every_secs = positive("ENCNET_AUDIT_CHECKPOINT_SECS", &v)?;
        }
        if let Some(v) = var("ENCNET_LEGACY_PLAINTEXT") {
            self.at_rest.legacy_plaintext = match v.as_str() {
                "allow" => LegacyPlaintext::Allow,
                "reject" => LegacyPlaintext::Reject,
                _ => {
                    return Err(ConfigError::Env {
                        name: "ENCNET_LEGACY_PLAINTEXT",
                        message: format!("{v:?} is neither allow nor reject"),
                    })
                }
            };
        }
        Ok(())
    }

    /// Path of the root key file.
    pub fn root_key_path(&self) -> PathBuf {
        self.data_dir.join("root.key")
    }

    /// Path of the embedded SQLite database.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join(SQLITE_FILE)
    }
}

/// A whole number of at least 1, from variable `name`.
fn positive(name: &'static str, value: &str) -> Result<u64, ConfigError> {
    match value.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::Env {
            name,
            message: format!("{value:?} is not a whole number of at least 1"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_design() {
        let config = Config::default();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(config.database_url, None);
        assert_eq!(config.at_rest.legacy_plaintext, LegacyPlaintext::Reject);
        assert_eq!(config.max_ttl_secs, 300);
    }

    #[test]
    fn audit_checkpoint_intervals_come_from_the_file_and_the_environment(
    ) -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(Config::default().audit.checkpoint_every_entries, 1000);
        assert_eq!(Config::default().audit.checkpoint_every_secs, 60);
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("encnet.toml");
        std::fs::write(&path, "[audit]\ncheckpoint_every_entries = 10\n")?;
        let mut config = Config::from_file(&path)?;
        assert_eq!(config.audit.checkpoint_every_entries, 10);
        assert_eq!(config.audit.checkpoint_every_secs, 60);
        config
            .apply_env(|name| (name == "ENCNET_AUDIT_CHECKPOINT_SECS").then(|| "5".to_owned()))?;
        assert_eq!(config.audit.checkpoint_every_secs, 5);
        let zero = config
            .apply_env(|name| (name == "ENCNET_AUDIT_CHECKPOINT_ENTRIES").then(|| "0".to_owned()));
        assert!(matches!(zero, Err(ConfigError::Env { .. })));
        Ok(())
    }

    #[test]
    fn environment_overrides_the_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("encnet.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/encnet\"\n\
             [at_rest]\nlegacy_plaintext = \"allow\"\n",
        )?;
        let mut config = Config::from_file(&path)?;
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.at_rest.legacy_plaintext, LegacyPlaintext::Allow);
        config.apply_env(|name| match name {
            "ENCNET_LISTEN" => Some("127.0.0.1:9100".to_owned()),
            "ENCNET_LOG_FORMAT" => Some("json".to_owned()),
            _ => None,
        })?;
        assert_eq!(config.listen.port(), 9100);
        assert_eq!(config.data_dir, PathBuf::from("/srv/encnet"));
        assert_eq!(config.log_format, LogFormat::Json);
        Ok(())
    }

    #[test]
    fn debug_output_masks_the_database_password() {
        let config = Config {
            database_url: Some("postgres://encnet:s3cret@db.internal:5432/encnet".to_owned()),
            ..Config::default()
        };
        let text = format!("{config:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(
            text.contains("postgres://encnet:***@db.internal:5432/encnet"),
            "{text}"
        );
    }

    #[test]
    fn bad_sources_are_errors_not_panics() {
        let mut config = Config::default();
        let err = config.apply_env(|name| (name == "ENCNET_LISTEN").then(|| "nowhere".to_owned()));
        assert!(matches!(
            err,
            Err(ConfigError::Env {
                name: "ENCNET_LISTEN",
                ..
            })
        ));
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "listen = 5\nunknown = true\n").expect("write");
        assert!(matches!(
            Config::from_file(&path),
            Err(ConfigError::Parse { .. })
        ));
        assert!(matches!(
            Config::from_file(&dir.path().join("missing.toml")),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn password_query_parameters_are_masked() {
        for (url, redacted) in [
            (
                "postgres://h/db?user=u&password=secret",
                "postgres://h/db?user=u&password=***",
            ),
            (
                "postgres://h/db?PASSWORD=secret&sslmode=require",
                "postgres://h/db?PASSWORD=***&sslmode=require",
            ),
            (
                "postgres://u:one@h/db?sslpassword=two&password=th?ree",
                "postgres://u:***@h/db?sslpassword=***&password=***",
            ),
            ("postgres://h/db?password=", "postgres://h/db?password=***"),
            (
                "postgres://h/db?passwords=kept",
                "postgres://h/db?passwords=kept",
            ),
            ("postgres://h/db", "postgres://h/db"),
            ("sqlite:///data/encnet.db", "sqlite:///data/encnet.db"),
        ] {
            assert_eq!(redact_url(url), redacted, "{url}");
        }
    }
}
