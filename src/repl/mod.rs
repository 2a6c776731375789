//! `keascript repl`: an interactive Rhai session with the whole script API.
//!
//! - rustyline, Emacs keys, Ctrl-R search, a history file in the state directory (lines
//!   that hold a password are not kept);
//! - an unfinished statement continues on the next line: Rhai's own parser decides
//!   ([`validate`]);
//! - Tab completes functions, methods of the receiver's type, inventory servers, stdlib
//!   modules and `:` commands; a hint shows the signature of the call being typed
//!   ([`complete`]);
//! - variables, functions and imports persist from one input to the next ([`session`]);
//!   results are shown readably ([`show`]), errors with their kind, and the session goes
//!   on;
//! - Ctrl-C cancels the running statement, Kea calls included ([`keys`]), Ctrl-D leaves;
//! - with standard input not a terminal, the lines run as a script, without prompts.

mod catalog;
mod commands;
mod complete;
mod helper;
mod history;
mod keys;
mod session;
mod show;
mod validate;

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustyline::config::{Builder, CompletionType, EditMode};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Cmd, Editor, KeyCode, KeyEvent, Modifiers};

use crate::script::{Limits, RunContext, exit_status_of};
use commands::Command;
use keys::{KeyWatch, TermState};
use session::Session;

/// Called when a signal ends the process (SIGTERM, SIGHUP; SIGINT when stdin is not a
/// terminal) before it exits: stops what the REPL started, such as a lab.
pub type Cleanup = Arc<dyn Fn() + Send + Sync>;

/// Runs the REPL until `:quit`, Ctrl-D or the end of standard input; returns the exit
/// status. With standard input a terminal it is interactive; otherwise the lines run as a
/// script and the first uncaught error ends it with that error's exit status.
pub fn run(
    runtime: &tokio::runtime::Handle,
    ctx: Arc<RunContext>,
    limits: Limits,
    cleanup: Cleanup,
) -> u8 {
    let interactive = std::io::stdin().is_terminal();
    let term = TermState::save();
    let mut repl = Repl {
        session: Session::new(ctx, limits),
        interactive,
        evaluating: Arc::new(AtomicBool::new(false)),
    };
    let signals = watch_signals(
        runtime,
        repl.session.ctx.clone(),
        repl.evaluating.clone(),
        interactive,
        term,
        cleanup,
    );
    let status = if interactive {
        if let Some(t) = term {
            t.signal_keys_off();
        }
        let status = repl.interactive();
        if let Some(t) = term {
            t.restore();
        }
        status
    } else {
        repl.piped()
    };
    if let Some(s) = signals {
        s.abort();
    }
    status
}

/// SIGINT cancels a running statement (at the prompt the terminal delivers Ctrl-C as a
/// key, and while a statement runs [`keys`] reads it; this is for `kill -INT` and for
/// piped input, where an idle SIGINT ends the REPL). SIGTERM and SIGHUP end it, after
/// `cleanup` and with the terminal put back as it was.
fn watch_signals(
    runtime: &tokio::runtime::Handle,
    ctx: Arc<RunContext>,
    evaluating: Arc<AtomicBool>,
    interactive: bool,
    term: Option<TermState>,
    cleanup: Cleanup,
) -> Option<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    // Installed here, before the line editor saves and restores the SIGINT handler.
    let _guard = runtime.enter();
    let (Ok(mut int), Ok(mut terminate), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return None;
    };
    Some(runtime.spawn(async move {
        loop {
            let code = tokio::select! {
                _ = int.recv() => {
                    if evaluating.load(Ordering::SeqCst) {
                        ctx.cancel();
                        continue;
                    }
                    if interactive {
                        continue;
                    }
                    130
                }
                _ = terminate.recv() => 143,
                _ = hup.recv() => 129,
            };
            ctx.cancel();
            if let Some(t) = term {
                t.restore();
            }
            let cleanup = cleanup.clone();
            let _ = tokio::task::spawn_blocking(move || cleanup()).await;
            std::process::exit(code);
        }
    }))
}

/// What to do after an input.
enum Next {
    Go,
    Quit,
    /// The input failed; the exit status its error calls for (piped input stops there).
    Failed(u8),
}

struct Repl {
    session: Session,
    interactive: bool,
    evaluating: Arc<AtomicBool>,
}

const PROMPT: &str = "kea> ";
const PROMPT_DRY: &str = "kea[dry-run]> ";

impl Repl {
    fn interactive(&mut self) -> u8 {
        let config = match editor_config() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: cannot set up the line editor: {e}");
                return 1;
            }
        };
        let mut rl: Editor<helper::ReplHelper, DefaultHistory> = match Editor::with_config(config) {
            Ok(rl) => rl,
            Err(e) => {
                eprintln!("error: cannot start the line editor: {e}");
                return 1;
            }
        };
        let servers: Vec<String> = self
            .session
            .ctx
            .inventory()
            .servers
            .keys()
            .cloned()
            .collect();
        // The one rule for colour (terminal, NO_COLOR, TERM=dumb, CLICOLOR_FORCE).
        let color = crate::term::colour_stdout();
        rl.set_helper(Some(helper::ReplHelper::new(
            catalog::Catalog::from_engine(&self.session.engine),
            self.session.view(),
            servers,
            color,
        )));
        // Alt-Enter inserts a line break without running the input.
        rl.bind_sequence(KeyEvent(KeyCode::Enter, Modifiers::ALT), Cmd::Newline);

        let hist = history::path();
        if let Some(dir) = hist.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if hist.exists()
            && let Err(e) = rl.load_history(&hist)
        {
            eprintln!("warning: cannot read the history {}: {e}", hist.display());
        }
        let mut hist_warned = false;

        self.banner();
        let mut initial = String::new();
        loop {
            let prompt = if self.session.ctx.is_dry_run() {
                PROMPT_DRY
            } else {
                PROMPT
            };
            let line = rl.readline_with_initial(prompt, (&initial, ""));
            initial.clear();
            match line {
                Ok(input) => {
                    if input.trim().is_empty() {
                        continue;
                    }
                    if !history::is_secret(&input) {
                        let _ = rl.add_history_entry(input.as_str());
                        if let Err(e) = rl.append_history(&hist)
                            && !hist_warned
                        {
                            eprintln!("warning: cannot write the history {}: {e}", hist.display());
                            hist_warned = true;
                        }
                    }
                    let (next, typed) = self.input(&input, "input", 1);
                    initial = typed;
                    if let Next::Quit = next {
                        break;
                    }
                }
                // Ctrl-C at the prompt drops the line being typed.
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(e) => {
                    eprintln!("error: {e}");
                    return 1;
                }
            }
        }
        0
    }

    fn banner(&self) {
        let inv = self.session.ctx.inventory();
        let at = inv
            .servers
            .get(&inv.default)
            .map(endpoints)
            .unwrap_or_default();
        println!(
            "keascript {} REPL. kea() is \"{}\" ({at}).",
            env!("CARGO_PKG_VERSION"),
            inv.default
        );
        println!(":help lists what you can call, Tab completes, Ctrl-D leaves.");
    }

    fn piped(&mut self) -> u8 {
        let parser = validate::parser();
        let stdin = std::io::stdin().lock();
        let mut buf = String::new();
        let mut first_line = 1;
        for (i, line) in stdin.lines().enumerate() {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: cannot read standard input: {e}");
                    return 1;
                }
            };
            if buf.is_empty() {
                first_line = i + 1;
            } else {
                buf.push('\n');
            }
            buf.push_str(&line);
            if buf.trim().is_empty() {
                buf.clear();
                continue;
            }
            if validate::is_incomplete_script(&parser, &buf) {
                continue;
            }
            let input = std::mem::take(&mut buf);
            match self.input(&input, "stdin", first_line).0 {
                Next::Go => {}
                Next::Quit => return 0,
                Next::Failed(status) => return status,
            }
        }
        if !buf.trim().is_empty() {
            match self.input(&buf, "stdin", first_line).0 {
                Next::Failed(status) => return status,
                Next::Go | Next::Quit => {}
            }
        }
        0
    }

    /// Runs one input (code or a command) and shows what came of it; returns what to do
    /// next and what was typed meanwhile.
    fn input(&mut self, input: &str, source: &str, first_line: usize) -> (Next, String) {
        if input.trim_start().starts_with(':') {
            return self.command(commands::parse(input));
        }
        self.code(input, source, first_line)
    }

    fn code(&mut self, text: &str, source: &str, first_line: usize) -> (Next, String) {
        // Line numbers in errors count from the start of the input (a file or stdin).
        let padded;
        let text = if first_line > 1 {
            padded = "\n".repeat(first_line - 1) + text;
            padded.as_str()
        } else {
            text
        };
        let ctx = self.session.ctx.clone();
        ctx.start_clock();
        self.evaluating.store(true, Ordering::SeqCst);
        let watch = if self.interactive {
            let c = ctx.clone();
            KeyWatch::start(move || c.cancel())
        } else {
            None
        };
        let result = self.session.eval(text, source);
        let typed = watch.map(KeyWatch::finish).unwrap_or_default();
        self.evaluating.store(false, Ordering::SeqCst);
        // Triggers registered here never run (the registration warns); do not keep them.
        let _ = ctx.triggers.take();
        let next = match result {
            Ok(v) if v.is_unit() => Next::Go,
            Ok(v) => match self.session.show(&v) {
                Ok(text) => {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{text}");
                    let _ = out.flush();
                    Next::Go
                }
                // A limit, as a script's: status 1, kind `script`.
                Err(why) => {
                    eprintln!("error: script error: {why}");
                    Next::Failed(1)
                }
            },
            Err(e) => {
                let _ = std::io::stdout().flush();
                eprintln!("{}", self.session.describe(&e, source, text));
                Next::Failed(exit_status_of(&e))
            }
        };
        (next, typed)
    }

    fn command(&mut self, cmd: Command) -> (Next, String) {
        let next = match cmd {
            Command::Quit => Next::Quit,
            Command::Help(None) => {
                println!("{}", commands::COMMANDS_HELP);
                println!();
                println!("The script API (docs/script-api.md):");
                print!("{}", crate::script::help::render_index());
                println!();
                println!(":help NAME shows one: :help add_pool, :help srv.command, :help Service");
                Next::Go
            }
            Command::Help(Some(name)) => {
                let found = crate::script::help::lookup(&name);
                if found.is_empty() {
                    eprintln!("no help for {name:?}; :help lists every name");
                    Next::Failed(1)
                } else {
                    print!("{}", crate::script::help::render(&found));
                    Next::Go
                }
            }
            Command::Servers => {
                let inv = self.session.ctx.inventory();
                let width = inv.servers.keys().map(|k| k.len()).max().unwrap_or(0);
                for (name, entry) in &inv.servers {
                    let mark = if *name == inv.default { "*" } else { " " };
                    println!("{mark} {name:<width$}  {}", endpoints(entry));
                }
                println!("(* is kea(); kea(\"NAME\") is another)");
                Next::Go
            }
            Command::DryRun(None) => {
                println!(
                    "dry-run is {}",
                    if self.session.ctx.is_dry_run() {
                        "on"
                    } else {
                        "off"
                    }
                );
                Next::Go
            }
            Command::DryRun(Some(on)) => {
                self.session.ctx.set_dry_run(on);
                // Off: the plan of what was staged since it went on, once.
                let plan = if on {
                    Vec::new()
                } else {
                    self.session.ctx.take_plan()
                };
                if !plan.is_empty() {
                    print!(
                        "{}",
                        crate::script::render_plan(&plan, crate::term::colour_stdout())
                    );
                }
                println!(
                    "dry-run {}",
                    if on {
                        "on: mutations are staged and change nothing; `:dry-run off` prints their plan"
                    } else {
                        "off: mutations change the servers"
                    }
                );
                Next::Go
            }
            Command::Load(path) => match std::fs::read_to_string(&path) {
                Ok(text) => return self.code(&text, &path.display().to_string(), 1),
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", path.display());
                    Next::Failed(1)
                }
            },
            Command::Wrong(msg) => {
                eprintln!("error: {msg}");
                Next::Failed(2)
            }
        };
        (next, String::new())
    }
}

/// Emacs keys, a list of candidates on Tab, history kept by the REPL itself (so lines with
/// secrets can be left out), no duplicates, lines starting with a space not kept.
fn editor_config() -> rustyline::Result<rustyline::Config> {
    Ok(Builder::new()
        .edit_mode(EditMode::Emacs)
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .history_ignore_space(true)
        .history_ignore_dups(true)?
        .max_history_size(10_000)?
        .bracketed_paste(true)
        .tab_stop(4)
        .build())
}

/// How a server of the inventory is reached, in one line.
fn endpoints(e: &crate::kea::ServerEntry) -> String {
    let mut parts = Vec::new();
    if let Some(u) = &e.url {
        parts.push(u.clone());
    }
    if let Some(u) = &e.dhcp4 {
        parts.push(format!("dhcp4 {u}"));
    }
    if let Some(u) = &e.dhcp6 {
        parts.push(format!("dhcp6 {u}"));
    }
    parts.join(", ")
}
