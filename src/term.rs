//! The terminal: how loud keascript is (`-q`, `-v`), whether it paints (colour on a terminal
//! only, `NO_COLOR` and `CLICOLOR_FORCE` honoured through `anstream`), and progress lines
//! (`indicatif`, on stderr, on a terminal only, silenced by `-q`).
//!
//! One module for every command: the fleet run's progress and table, the plan, diffs,
//! errors, the lab's start. Nothing here is written to stdout except by the caller.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicI8, AtomicUsize, Ordering};
use std::time::Duration;

use anstyle::{AnsiColor, Style};

/// -1 quiet, 0 normal, 1.. verbose (`-v`, `-vv`).
static VERBOSITY: AtomicI8 = AtomicI8::new(0);

/// Sets how loud keascript is: `quiet` wins over `verbose`.
pub fn set_verbosity(quiet: bool, verbose: u8) {
    let v = if quiet { -1 } else { verbose.min(5) as i8 };
    VERBOSITY.store(v, Ordering::Relaxed);
}

/// Whether `-q` was given: only errors and what the command exists to print.
pub fn quiet() -> bool {
    VERBOSITY.load(Ordering::Relaxed) < 0
}

/// How many `-v` were given (0 when quiet).
pub fn verbose() -> u8 {
    VERBOSITY.load(Ordering::Relaxed).max(0) as u8
}

/// Whether text written to stderr may carry colour: a terminal, `NO_COLOR` unset,
/// `TERM` not `dumb` (or `CLICOLOR_FORCE` set).
pub fn colour_stderr() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

/// Whether text written to stdout may carry colour (same rules as [`colour_stderr`]).
pub fn colour_stdout() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// What a piece of text means, which picks its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// An error, a failed server, a removed line.
    Error,
    /// A warning.
    Warning,
    /// Success, an added line.
    Good,
    /// A heading (a server's name, a table header).
    Heading,
    /// Less important text (a hunk header, a duration).
    Dim,
}

impl Paint {
    fn style(self) -> Style {
        match self {
            Paint::Error => AnsiColor::Red.on_default(),
            Paint::Warning => AnsiColor::Yellow.on_default(),
            Paint::Good => AnsiColor::Green.on_default(),
            Paint::Heading => Style::new().bold(),
            Paint::Dim => AnsiColor::Cyan.on_default(),
        }
    }
}

/// `text` painted when `on`, else as is.
pub fn paint(text: &str, what: Paint, on: bool) -> String {
    if !on || text.is_empty() {
        return text.to_string();
    }
    let style = what.style();
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// `text` painted for stderr (when [`colour_stderr`]).
pub fn paint_stderr(text: &str, what: Paint) -> String {
    paint(text, what, colour_stderr())
}

/// Colours a unified diff line by line: `+` green, `-` red, `@@` cyan; headers (`+++`,
/// `---`) bold.
pub fn paint_diff(diff: &str, on: bool) -> String {
    if !on {
        return diff.to_string();
    }
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let what = if body.starts_with("+++") || body.starts_with("---") {
            Some(Paint::Heading)
        } else if body.starts_with('+') {
            Some(Paint::Good)
        } else if body.starts_with('-') {
            Some(Paint::Error)
        } else if body.starts_with("@@") {
            Some(Paint::Dim)
        } else {
            None
        };
        match what {
            Some(w) => out.push_str(&paint(body, w, true)),
            None => out.push_str(body),
        }
        out.push_str(nl);
    }
    out
}

/// A line of news on stderr (one per change, "lab started", …); silent under `-q`.
pub fn note(line: &str) {
    if !quiet() {
        eprintln!("{line}");
    }
}

/// How many progress lines are drawn now: one at a time, or two would overwrite each other
/// on the same screen line (a lease walk's line and a slow page's "waiting for …").
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// A live progress line on stderr: a spinner with a message, or a bar with a count. Shown
/// only on a terminal and not under `-q`, and only when no other line is being drawn (the
/// one already there stays); otherwise every call does nothing.
pub struct Progress(Option<indicatif::ProgressBar>, AtomicBool);

impl Progress {
    fn shown() -> bool {
        !quiet() && std::io::stderr().is_terminal()
    }

    /// Takes the one live line, if it is free.
    fn claim() -> bool {
        Self::shown()
            && LIVE
                .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }

    fn drawn(bar: indicatif::ProgressBar) -> Self {
        Progress(Some(bar), AtomicBool::new(true))
    }

    /// A line that is never drawn (a host that shows no progress: the daemon, a fleet
    /// run's servers).
    pub fn hidden() -> Self {
        Progress(None, AtomicBool::new(false))
    }

    /// A spinner saying `message` (e.g. "starting the lab"), ticking by itself.
    pub fn spinner(message: &str) -> Self {
        if !Self::claim() {
            return Self::hidden();
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self::drawn(bar)
    }

    /// A bar of `len` steps (e.g. servers of a fleet run) with `message` beside it.
    pub fn bar(len: u64, message: &str) -> Self {
        if !Self::claim() {
            return Self::hidden();
        }
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg} {elapsed}")
        {
            bar.set_style(style);
        }
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self::drawn(bar)
    }

    /// Whether anything is drawn (a terminal, not `-q`).
    pub fn is_shown(&self) -> bool {
        self.0.is_some()
    }

    /// Changes the message.
    pub fn set_message(&self, message: &str) {
        if let Some(b) = &self.0 {
            b.set_message(message.to_string());
        }
    }

    /// One step done.
    pub fn inc(&self) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }

    /// Prints a line above the progress line without tearing it.
    pub fn println(&self, line: &str) {
        match &self.0 {
            Some(b) => b.println(line),
            None => note(line),
        }
    }

    /// Removes the line (and frees the screen line for another).
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
        if self.1.swap(false, Ordering::SeqCst) {
            LIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_off_leaves_text_alone_and_on_wraps_it() {
        assert_eq!(paint("x", Paint::Error, false), "x");
        let p = paint("x", Paint::Error, true);
        assert!(p.starts_with("\u{1b}[") && p.contains('x') && p.ends_with("\u{1b}[0m"));
    }

    #[test]
    fn diff_lines_are_painted_by_their_sign() {
        let d = "--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new\n same\n";
        assert_eq!(paint_diff(d, false), d);
        let p = paint_diff(d, true);
        assert!(p.contains("\u{1b}[32m+new"));
        assert!(p.contains("\u{1b}[31m-old"));
        assert!(p.contains("\n same\n"));
    }

    #[test]
    fn quiet_wins_over_verbose() {
        set_verbosity(true, 2);
        assert!(quiet());
        assert_eq!(verbose(), 0);
        set_verbosity(false, 2);
        assert_eq!(verbose(), 2);
        set_verbosity(false, 0);
    }
}
