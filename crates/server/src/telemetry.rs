//! Log output: human lines by default, JSON for log shippers. Each line written
//! inside a request carries its `request_id` (the span set by `web::telemetry`).

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

/// Installs the global subscriber, writing to stderr. Call once, before
/// anything logs; a second call is ignored.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.with_target(false).with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => {
            builder.json().with_current_span(true).with_span_list(false).flatten_event(true).try_init()
        }
    };
}
