//! The rustyline helper: completion, signature hints (else history hints), dimmed hints,
//! and multi-line input decided by Rhai's parser.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use rhai::Engine;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::{Hint, Hinter, HistoryHinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use super::catalog::Catalog;
use super::complete::{self, Sources, View};
use super::validate;

/// What the editor asks of the REPL while a line is typed.
pub struct ReplHelper {
    catalog: Catalog,
    view: Arc<Mutex<View>>,
    servers: Vec<String>,
    stdlib: Vec<&'static str>,
    parser: Engine,
    files: FilenameCompleter,
    history: HistoryHinter,
    color: bool,
}

impl ReplHelper {
    pub fn new(
        catalog: Catalog,
        view: Arc<Mutex<View>>,
        servers: Vec<String>,
        color: bool,
    ) -> Self {
        Self {
            catalog,
            view,
            servers,
            stdlib: crate::script::STDLIB.iter().map(|(p, _)| *p).collect(),
            parser: validate::parser(),
            files: FilenameCompleter::new(),
            history: HistoryHinter::new(),
            color,
        }
    }
}

impl Helper for ReplHelper {}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        if let Some(arg) = before.trim_start().strip_prefix(":load ") {
            let offset = before.len() - arg.len();
            let (start, list) = self.files.complete(arg, arg.len(), ctx)?;
            return Ok((offset + start, list));
        }
        let view = self.view.lock().expect("view lock").clone();
        let src = Sources {
            catalog: &self.catalog,
            view: &view,
            servers: &self.servers,
            stdlib: &self.stdlib,
        };
        let (start, list) = complete::complete(&src, before);
        Ok((
            start,
            list.into_iter()
                .map(|c| Pair {
                    display: c.display,
                    replacement: c.replacement,
                })
                .collect(),
        ))
    }
}

/// A hint: a signature (shown only) or the rest of an earlier line (Right arrow takes it).
pub struct ReplHint {
    display: String,
    completion: Option<String>,
}

impl Hint for ReplHint {
    fn display(&self) -> &str {
        &self.display
    }
    fn completion(&self) -> Option<&str> {
        self.completion.as_deref()
    }
}

impl Hinter for ReplHelper {
    type Hint = ReplHint;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<ReplHint> {
        if pos < line.len() {
            return None;
        }
        let view = self.view.lock().expect("view lock").clone();
        let src = Sources {
            catalog: &self.catalog,
            view: &view,
            servers: &self.servers,
            stdlib: &self.stdlib,
        };
        if let Some(sig) = complete::signature_hint(&src, line) {
            // What is left of the terminal's width after the prompt and the line.
            let used = PROMPT_WIDTH + line.rsplit('\n').next().unwrap_or(line).chars().count();
            let width = terminal_width().saturating_sub(used + 1);
            return sig.fit(width).map(|display| ReplHint {
                display,
                completion: None,
            });
        }
        self.history.hint(line, pos, ctx).map(|h| ReplHint {
            display: h.clone(),
            completion: Some(h),
        })
    }
}

/// The widest prompt (`kea[dry-run]> `).
const PROMPT_WIDTH: usize = 14;

/// The terminal's width in columns (80 when it cannot be told).
fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ fills a winsize struct.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0 {
            ws.ws_col as usize
        } else {
            80
        }
    }
}

impl Highlighter for ReplHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        if validate::is_incomplete(&self.parser, ctx.input()) {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}
