//! The one place that compiles and runs a script, for every host: `keascript run` (one
//! server or a fleet), the daemon (the script's start, then each trigger's callback) and
//! the REPL (one input at a time). Each names the script in the context, so every audit
//! entry says what made it, and turns the way a run ended into a message, an error kind
//! and an exit status.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhai::{AST, Array, Dynamic, Engine, EvalAltResult, FnPtr, Scope};

use super::errors::{
    Sources, describe_error_for_log, describe_error_in, kind_of_error, source_excerpt,
};
use super::{Limits, RunContext, build_engine, describe_error, exit_status_of};

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// The process exit status (`spec/script-api.md` › Exit status).
    pub status: u8,
    /// What went wrong, with file, line and column; `None` on success.
    pub error: Option<String>,
    /// The error's kind (`transport`, `conflict`, `script`, …; `exit` for `exit(n)` with
    /// n ≠ 0); `None` on success.
    pub kind: Option<String>,
}

impl RunOutcome {
    fn failed(status: u8, kind: &str, message: String) -> Self {
        Self {
            status,
            error: Some(message),
            kind: Some(kind.to_string()),
        }
    }
}

/// A script to run: its text, the name errors and the audit trail use, and the folder
/// its plain-file imports resolve from.
#[derive(Debug, Clone)]
pub struct Script {
    pub source: String,
    pub name: String,
    pub dir: Option<PathBuf>,
}

impl Script {
    /// Reads a script file; imports of plain files resolve next to it.
    pub fn from_file(path: &Path) -> Result<Self, RunOutcome> {
        let source = std::fs::read_to_string(path).map_err(|e| {
            RunOutcome::failed(
                1,
                "script",
                format!("error: cannot read script {}: {e}", path.display()),
            )
        })?;
        Ok(Self {
            source,
            name: path.display().to_string(),
            dir: path.parent().map(Path::to_path_buf),
        })
    }

    /// Script text; `name` is how errors refer to it.
    pub fn from_text(source: &str, name: &str, dir: Option<&Path>) -> Self {
        Self {
            source: source.to_string(),
            name: name.to_string(),
            dir: dir.map(Path::to_path_buf),
        }
    }

    /// An engine for this script, bound to `ctx`, whose changes are recorded under the
    /// script's name.
    pub fn engine(&self, ctx: &Arc<RunContext>, limits: &Limits) -> Engine {
        ctx.set_script_name(&self.name);
        build_engine(ctx.clone(), limits, self.dir.as_deref())
    }

    /// Compiles the script with `args` in scope.
    pub fn compile(&self, engine: &Engine, args: &[String]) -> Result<Compiled, RunOutcome> {
        let mut scope = Scope::new();
        let args: Array = args.iter().cloned().map(Dynamic::from).collect();
        scope.push_constant("args", args);
        let mut ast = engine
            .compile_with_scope(&scope, &self.source)
            .map_err(|e| {
                let pos = e.position();
                let name = &self.name;
                let loc = match (pos.line(), pos.position()) {
                    (Some(l), Some(c)) => format!("{name}:{l}:{c}"),
                    (Some(l), None) => format!("{name}:{l}"),
                    _ => name.to_string(),
                };
                let mut error = format!("error: syntax error: {} at {loc}", e.err_type());
                // The line, with a caret under the column (never a line holding a secret).
                if let Some(line) = pos.line() {
                    let excerpt = source_excerpt(
                        &self.source,
                        line,
                        pos.position(),
                        crate::term::colour_stderr(),
                    );
                    if !excerpt.is_empty() {
                        error.push('\n');
                        error.push_str(&crate::kea::redact::text(&excerpt));
                    }
                }
                RunOutcome::failed(1, "script", error)
            })?;
        ast.set_source(self.name.as_str());
        Ok(Compiled {
            ast,
            scope,
            source: self.source.clone(),
        })
    }
}

/// A compiled script and its top-level scope.
pub struct Compiled {
    pub ast: AST,
    pub scope: Scope<'static>,
    /// The script's text (an error quotes its line).
    pub source: String,
}

impl Compiled {
    /// Runs the script top to bottom (the clock starts now).
    pub fn run(
        &mut self,
        engine: &Engine,
        ctx: &RunContext,
        name: &str,
        limits: &Limits,
    ) -> RunOutcome {
        ctx.start_clock();
        let result = ctx.finish(engine.run_ast_with_scope(&mut self.scope, &self.ast));
        ended(result.map(|_| ()), ctx, name, Some(&self.source), limits)
    }
}

/// The outcome of a run that ended with `result`.
fn ended(
    result: Result<(), Box<EvalAltResult>>,
    ctx: &RunContext,
    name: &str,
    source: Option<&str>,
    limits: &Limits,
) -> RunOutcome {
    match result {
        // `exit(n)` ends the run with its status: n ≠ 0 is a failure of kind `exit`.
        Ok(()) => match ctx.exit_status() {
            0 => RunOutcome {
                status: 0,
                error: None,
                kind: None,
            },
            n => RunOutcome {
                status: n,
                error: None,
                kind: Some("exit".into()),
            },
        },
        Err(e) => RunOutcome::failed(
            exit_status_of(&e),
            &kind_of_error(&e),
            match source {
                Some(text) => describe_error_in(&e, name, text, limits),
                None => describe_error(&e, name, limits),
            },
        ),
    }
}

/// Compiles and runs a script to the end.
pub fn run_script(script: &Script, ctx: Arc<RunContext>, limits: &Limits) -> RunOutcome {
    let engine = script.engine(&ctx, limits);
    let mut compiled = match script.compile(&engine, &ctx.args) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    compiled.run(&engine, &ctx, &script.name, limits)
}

/// Reads and runs a script file; imports of plain files resolve next to it.
pub fn run_file(path: &Path, ctx: Arc<RunContext>, limits: &Limits) -> RunOutcome {
    match Script::from_file(path) {
        Ok(script) => run_script(&script, ctx, limits),
        Err(outcome) => outcome,
    }
}

/// Runs script text; `name` is how errors refer to it.
pub fn run_source(
    source: &str,
    name: &str,
    script_dir: Option<&Path>,
    ctx: Arc<RunContext>,
    limits: &Limits,
) -> RunOutcome {
    run_script(&Script::from_text(source, name, script_dir), ctx, limits)
}

/// Calls a trigger's callback once (the daemon): `on_change` passes the event map; a
/// callback that takes no parameter is called without it. The clock starts now. An error
/// is one line for the log: file:line:col and the source line (of `source`, the script's
/// text, or of the imported file the error is in), no colour.
#[allow(clippy::too_many_arguments)]
pub fn call_trigger(
    engine: &Engine,
    ast: &AST,
    f: &FnPtr,
    arg: Option<Dynamic>,
    ctx: &RunContext,
    name: &str,
    source: &str,
    limits: &Limits,
) -> RunOutcome {
    ctx.start_clock();
    let not_found = |e: &EvalAltResult| matches!(e, EvalAltResult::ErrorFunctionNotFound(sig, _) if sig.starts_with(f.fn_name()));
    let result = match arg {
        Some(ev) => match f.call::<Dynamic>(engine, ast, (ev,)) {
            Err(e) if not_found(&e) => f.call::<Dynamic>(engine, ast, ()),
            r => r,
        },
        None => f.call::<Dynamic>(engine, ast, ()),
    };
    match ctx.finish(result) {
        Err(e) if not_found(&e) => {
            let which = if f.is_anonymous() {
                "the function given to the trigger".to_string()
            } else {
                format!("function \"{}\"", f.fn_name())
            };
            RunOutcome::failed(
                1,
                "script",
                format!(
                    "error: {which} must take no parameter (timers) or one, the event (on_change)"
                ),
            )
        }
        Err(e) => {
            // Not "in `anon$…` called at <script>": the log says which trigger. What
            // happens inside is in the file that defines the callback.
            let (e, start) = match *e {
                EvalAltResult::ErrorInFunctionCall(g, src, inner, _) if g == f.fn_name() => (
                    inner,
                    if src.is_empty() {
                        name.to_string()
                    } else {
                        src
                    },
                ),
                other => (Box::new(other), name.to_string()),
            };
            // One line per log event, with the source line.
            let sources = Sources::of(name, source);
            let line = describe_error_for_log(&e, &sources, &start, limits);
            let mut outcome = ended(Err(e), ctx, name, None, limits);
            outcome.error = Some(line);
            outcome
        }
        Ok(_) => ended(Ok(()), ctx, name, None, limits),
    }
}

/// Compiles and runs one REPL input against the session's variables (`scope`) and the
/// functions defined so far (`fns`, which keeps the new ones and drops the statements).
/// The caller starts the clock.
pub fn eval_input(
    engine: &Engine,
    scope: &mut Scope<'static>,
    fns: &mut AST,
    source: &str,
    name: &str,
    ctx: &RunContext,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let mut ast = engine.compile_with_scope(scope, source)?;
    ast.set_source(name);
    *fns += ast;
    let result = ctx.finish(engine.eval_ast_with_scope::<Dynamic>(scope, fns));
    fns.clear_statements();
    result
}
