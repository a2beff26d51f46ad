//! Merging the layers and turning every failure into one line naming the key.

use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::Path;

/// The environment prefix: `PORTCULLIS__DATABASE__URL` sets `database.url`.
pub(super) const ENV_PREFIX: &str = "PORTCULLIS__";

/// Why the configuration cannot be used. Each message is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{path}:{line}:{column}: invalid TOML: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A key is unknown or its value is malformed.
    #[error("invalid configuration: {key}: {message}{origin}")]
    Invalid {
        /// Dotted key path (empty for the top level).
        key: String,
        /// What is wrong.
        message: String,
        /// Where the value came from, when it came from the environment.
        origin: Origin,
    },
}

/// Where a bad value came from (printed after the message).
#[derive(Debug, Default)]
pub struct Origin(Option<String>);

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(var) => write!(f, " (from environment variable {var})"),
            None => Ok(()),
        }
    }
}

impl ConfigError {
    pub(super) fn invalid(key: &str, message: &str) -> Self {
        Self::Invalid { key: key.into(), message: message.into(), origin: Origin::default() }
    }
}

/// An environment value as typed as TOML would read it (`true`, `8`, `[..]`);
/// anything that is not a TOML value stays a string.
fn env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|_| !raw.contains('\n'))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn insert(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut at = table;
    for (i, key) in parents.iter().enumerate() {
        let entry = at.entry(key.clone()).or_insert_with(|| toml::Value::Table(Default::default()));
        at = entry.as_table_mut().ok_or_else(|| format!("{} is not a section", path[..=i].join(".")))?;
    }
    at.insert(last.clone(), value);
    Ok(())
}

fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
    parse(shown, &text)
}

/// Parses TOML text; `shown` names its source in a syntax error.
fn parse(shown: String, text: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError::Syntax { path: shown, line, column, message: e.message().trim().to_owned() }
    })
}

/// Reads the layers and deserialises them into `T`.
pub(super) fn layered<T: DeserializeOwned>(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let table = match file {
        Some(path) => read_file(path)?,
        None => toml::Table::new(),
    };
    merged(table, env)
}

/// [`layered`] over TOML text instead of a file (`shown` names it in errors).
pub(super) fn layered_str<T: DeserializeOwned>(
    shown: &str,
    text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    merged(parse(shown.to_owned(), text)?, env)
}

/// Puts the environment over `table` and deserialises the result into `T`.
fn merged<T: DeserializeOwned>(
    mut table: toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    // key path -> (variable name, raw text) for values that came from the environment
    let mut from_env: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else { continue };
        let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::Invalid {
                key: path.join("."),
                message: "malformed variable name".into(),
                origin: Origin(Some(var)),
            });
        }
        insert(&mut table, &path, env_value(&raw)).map_err(|message| ConfigError::Invalid {
            key: path.join("."),
            message,
            origin: Origin(Some(var.clone())),
        })?;
        from_env.insert(path.join("."), (var, raw));
    }

    // A value such as PORTCULLIS__SMTP__PASSWORD=12345678 reads as a number;
    // where the key wants a string, retry with the text as it was written.
    loop {
        match serde_path_to_error::deserialize::<_, T>(toml::Value::Table(table.clone())) {
            Ok(settings) => return Ok(settings),
            Err(err) => {
                let key = err.path().to_string();
                let key = if key == "." { String::new() } else { key };
                let message = err.inner().message().trim().to_owned();
                match from_env.get(&key) {
                    Some((var, raw)) if !matches!(env_value(raw), toml::Value::String(_)) => {
                        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
                        let _ = insert(&mut table, &path, toml::Value::String(raw.clone()));
                        // Retry once per key: a second failure there is reported.
                        let var = var.clone();
                        from_env.insert(key, (var, String::new()));
                        continue;
                    }
                    Some((var, _)) => {
                        return Err(ConfigError::Invalid { key, message, origin: Origin(Some(var.clone())) });
                    }
                    None => return Err(ConfigError::Invalid { key, message, origin: Origin::default() }),
                }
            }
        }
    }
}
