//! The configuration: TOML text, then environment pairs, through
//! `Settings::from_toml_str` (`Settings::load` without the file system);
//! then what `portcullis config check` prints.
//!
//! Input: the TOML text, optionally followed by a NUL byte and
//! `NAME=value` lines standing for the environment (only `PORTCULLIS__…`
//! names count, as in the server).

use portcullis_server::Settings;

use crate::Outcome;

/// Loads one configuration.
pub fn config_toml(data: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(data) else { return Outcome::Rejected };
    let (toml, env) = text.split_once('\0').unwrap_or((text, ""));
    let env = env.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned()));
    match Settings::from_toml_str("fuzz.toml", toml, env) {
        Ok(settings) => {
            let _ = settings.database_url();
            let shown = settings.to_redacted_toml();
            assert!(shown.parse::<toml::Table>().is_ok(), "`config check` printed invalid TOML:\n{shown}");
            Outcome::Accepted
        }
        Err(e) => {
            // The server prints it as one `error: …` line.
            let line = e.to_string();
            assert!(!line.contains('\n'), "a configuration error spans lines: {line:?}");
            Outcome::Rejected
        }
    }
}
