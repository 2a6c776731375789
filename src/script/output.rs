//! Where a script's output goes. `print`, `debug`, warnings and dry-run plans are handed
//! to the sink the host gives the run: stdout/stderr for `keascript run`, the daemon's
//! log, the REPL's screen, or a per-server buffer in a fleet run. Nothing in `script/`
//! writes to stdout or stderr itself.

use std::io::Write;
use std::sync::Mutex;

/// What a line of script output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// `print(…)`.
    Print,
    /// `debug(…)`, already prefixed with its source and line.
    Debug,
    /// A warning (`warning: …`).
    Warn,
    /// What a dry run would do: diffs, commands, Kea's verdict.
    Plan,
}

/// The host's receiver of script output.
pub trait Sink: Send + Sync {
    fn line(&self, kind: Line, text: &str);

    /// A live progress line saying `message` (a long lease walk, a slow answer), for a
    /// host that shows them; by default one that is never drawn (the daemon's log, a
    /// fleet run's per-server buffers, which have their own progress bar).
    fn progress(&self, message: &str) -> crate::term::Progress {
        let _ = message;
        crate::term::Progress::hidden()
    }
}

/// `keascript run`: `print` and plans to stdout, `debug` and warnings to stderr.
pub struct Console;

impl Sink for Console {
    fn line(&self, kind: Line, text: &str) {
        match kind {
            Line::Print | Line::Plan => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", text.trim_end_matches('\n'));
                let _ = out.flush();
            }
            Line::Debug | Line::Warn => eprintln!("{}", text.trim_end_matches('\n')),
        }
    }

    /// On stderr, on a terminal only, silenced by `-q` (`term::Progress`).
    fn progress(&self, message: &str) -> crate::term::Progress {
        crate::term::Progress::spinner(message)
    }
}

/// Keeps every line, in order (a fleet run writes them out when the run ends).
#[derive(Default)]
pub struct Buffer(Mutex<Vec<(Line, String)>>);

impl Buffer {
    /// The lines so far, emptied.
    pub fn take(&self) -> Vec<(Line, String)> {
        std::mem::take(&mut *self.0.lock().expect("buffer lock"))
    }
}

impl Sink for Buffer {
    fn line(&self, kind: Line, text: &str) {
        let mut lines = self.0.lock().expect("buffer lock");
        for l in text.trim_end_matches('\n').split('\n') {
            lines.push((kind, l.to_string()));
        }
    }
}

/// A sink made of a function (the daemon's log, the REPL's screen).
pub struct FnSink<F>(pub F);

impl<F: Fn(Line, &str) + Send + Sync> Sink for FnSink<F> {
    fn line(&self, kind: Line, text: &str) {
        (self.0)(kind, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_keeps_lines_in_order_one_per_text_line() {
        let b = Buffer::default();
        b.line(Line::Print, "one");
        b.line(Line::Plan, "--- a\n+++ b\n");
        b.line(Line::Warn, "warning: w");
        let lines = b.take();
        assert_eq!(
            lines,
            vec![
                (Line::Print, "one".to_string()),
                (Line::Plan, "--- a".to_string()),
                (Line::Plan, "+++ b".to_string()),
                (Line::Warn, "warning: w".to_string()),
            ]
        );
        assert!(b.take().is_empty());
    }
}
