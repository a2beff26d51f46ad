//! Log output: human lines by default, JSON for log shippers. Each line written
//! inside a request carries its `request_id` (the span set by `web::telemetry`).
//!
//! Lines are gathered in memory and written to stderr in batches, at most
//! [`FLUSH_EVERY`] after they were logged: one `write` per request (the
//! access log) was a measurable share of a token request. Warnings and errors
//! are written at once (with everything before them, in order), and so is
//! the buffer when it grows past [`FLUSH_AT`], when the process stops
//! ([`flush`]) and when a thread panics.

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::settings::LogFormat;

/// The longest a logged line waits in memory.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// A buffer this large is written at once.
const FLUSH_AT: usize = 64 * 1024;

/// Lines not yet written to stderr.
static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Writes every pending line to stderr.
pub fn flush() {
    // The stderr lock is taken first, so batches taken by two threads are
    // written in the order they were taken.
    let mut stderr = std::io::stderr().lock();
    let batch = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    if !batch.is_empty() {
        let _ = stderr.write_all(&batch);
        let _ = stderr.flush();
    }
}

/// The writer of one formatted event.
struct Line {
    /// Write through at once (warnings and errors).
    urgent: bool,
}

impl Write for Line {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut pending = PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            pending.extend_from_slice(data);
            pending.len() >= FLUSH_AT
        };
        if self.urgent || full {
            flush();
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Hands [`Line`]s to the formatter.
struct Buffered {
    /// No flushing thread: every line is written at once.
    through: bool,
}

impl<'a> MakeWriter<'a> for Buffered {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line { urgent: self.through }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line {
        Line { urgent: self.through || *meta.level() <= Level::WARN }
    }
}

/// Starts the thread that writes pending lines every [`FLUSH_EVERY`], and
/// makes a panic write them before its message; false if there is no such
/// thread (then nothing may wait in memory).
fn start_flushing() -> bool {
    static STARTED: OnceLock<bool> = OnceLock::new();
    *STARTED.get_or_init(|| {
        let spawned = std::thread::Builder::new().name("log-flush".into()).spawn(|| {
            loop {
                std::thread::sleep(FLUSH_EVERY);
                flush();
            }
        });
        if spawned.is_err() {
            return false;
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            flush();
            previous(info);
        }));
        true
    })
}

/// Installs the global subscriber, writing to stderr. Call once, before
/// anything logs; a second call is ignored.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let through = !start_flushing();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(Buffered { through });
    let _ = match format {
        LogFormat::Human => builder.with_target(false).with_ansi(std::io::stderr().is_terminal()).try_init(),
        // `span` is the innermost span (the request's, or the domain step's
        // inside it); `spans` the whole chain, so every line of a request
        // carries its request id and the steps it is in.
        LogFormat::Json => {
            builder.json().with_current_span(true).with_span_list(true).flatten_event(true).try_init()
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> Vec<u8> {
        PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    #[test]
    fn lines_wait_in_memory_until_flushed_and_urgent_ones_do_not() {
        let marker = b"telemetry-test: an info line\n";
        let _ = Line { urgent: false }.write(marker);
        let held = pending();
        assert!(held.windows(marker.len()).any(|w| w == marker), "held in memory");
        flush();
        assert!(!pending().windows(marker.len()).any(|w| w == marker), "written out");

        let _ = Line { urgent: false }.write(b"telemetry-test: before the warning\n");
        let _ = Line { urgent: true }.write(b"telemetry-test: a warning\n");
        assert!(!pending().windows(9).any(|w| w == b"telemetry"), "a warning writes everything before it");
        assert!(Buffered { through: false }.make_writer_for(&WARN_META).urgent);
        assert!(Buffered { through: true }.make_writer().urgent);
        assert!(!Buffered { through: false }.make_writer().urgent);
    }

    struct Cs;
    impl tracing::Callsite for Cs {
        fn set_interest(&self, _: tracing::subscriber::Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            &WARN_META
        }
    }
    static WARN_META: Metadata<'static> = tracing::metadata! {
        name: "warn",
        target: "telemetry-test",
        level: Level::WARN,
        fields: &[],
        callsite: &Cs,
        kind: tracing::metadata::Kind::EVENT,
    };
}
