//! The daemon's log: `tracing` events on stderr, one line each.
//!
//! - `plain` (default): `TIME LEVEL message key=value…`. Under systemd (`$JOURNAL_STREAM`
//!   set) the time is left to journald and each line starts with its syslog priority
//!   (`<3>` error, `<4>` warn, `<6>` info, `<7>` debug), which journald turns into the
//!   entry's priority (`sd-daemon(3)`), so `journalctl -p warning` works.
//! - `json`: one JSON object per line (`timestamp`, `level`, `fields.message`,
//!   `fields.trigger`, …) for log shippers.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Plain,
    Json,
}

/// The plain, journald-friendly line format.
struct Plain {
    journald: bool,
}

fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = event.metadata().level();
        if self.journald {
            write!(writer, "<{}>", priority(level))?;
        } else {
            SystemTime.format_time(&mut writer)?;
            writer.write_char(' ')?;
        }
        write!(writer, "{level:>5} ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Standard error for log lines, scrubbed of every secret this process loaded and of URL
/// passwords (`transport::scrub`): whatever a message or a field holds, a log line never
/// shows a secret. tracing writes each event with one `write_all`, so a secret is never
/// split between two writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScrubbedStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ScrubbedStderr {
    type Writer = ScrubbedStderr;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbedStderr
    }
}

impl std::io::Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let clean = crate::transport::scrub(&text);
        if matches!(text, std::borrow::Cow::Borrowed(_))
            && matches!(clean, std::borrow::Cow::Borrowed(_))
        {
            std::io::stderr().write_all(buf)?;
        } else {
            std::io::stderr().write_all(clean.as_bytes())?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// A subscriber for the daemon: `filter` as in `--log` (`info`, `keascript=debug`…).
pub fn dispatch(filter: &str, format: LogFormat) -> tracing::Dispatch {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(ScrubbedStderr)
        .with_ansi(false);
    match format {
        LogFormat::Json => tracing::Dispatch::new(
            builder
                .json()
                .with_current_span(false)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Plain => tracing::Dispatch::new(
            builder
                .event_format(Plain {
                    journald: std::env::var_os("JOURNAL_STREAM").is_some(),
                })
                .finish(),
        ),
    }
}
