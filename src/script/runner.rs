//! Runs one script to the end and turns the way it ended into a message and an exit status.

use std::path::Path;
use std::sync::Arc;

use rhai::{Array, Dynamic, Scope};

use super::errors::{describe_error_in, source_excerpt};
use super::{Limits, RunContext, build_engine, exit_status_of};

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// The process exit status (`spec/script-api.md` › Exit status).
    pub status: u8,
    /// What went wrong, with file, line and column; `None` on success.
    pub error: Option<String>,
}

/// Reads and runs a script file; imports of plain files resolve next to it.
pub fn run_file(path: &Path, ctx: Arc<RunContext>, limits: &Limits) -> RunOutcome {
    let source = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            return RunOutcome {
                status: 1,
                error: Some(format!("error: cannot read script {}: {e}", path.display())),
            };
        }
    };
    run_source(
        &source,
        &path.display().to_string(),
        path.parent(),
        ctx,
        limits,
    )
}

/// Runs script text; `name` is how errors refer to it.
pub fn run_source(
    source: &str,
    name: &str,
    script_dir: Option<&Path>,
    ctx: Arc<RunContext>,
    limits: &Limits,
) -> RunOutcome {
    let engine = build_engine(ctx.clone(), limits, script_dir);
    let mut scope = Scope::new();
    let args: Array = ctx.args.iter().cloned().map(Dynamic::from).collect();
    scope.push_constant("args", args);
    let mut ast = match engine.compile_with_scope(&scope, source) {
        Ok(ast) => ast,
        Err(e) => {
            let pos = e.position();
            let loc = match (pos.line(), pos.position()) {
                (Some(l), Some(c)) => format!("{name}:{l}:{c}"),
                (Some(l), None) => format!("{name}:{l}"),
                _ => name.to_string(),
            };
            let mut error = format!("error: syntax error: {} at {loc}", e.err_type());
            if let Some(line) = pos.line() {
                let excerpt =
                    source_excerpt(source, line, pos.position(), crate::term::colour_stderr());
                if !excerpt.is_empty() {
                    error.push('\n');
                    error.push_str(&crate::kea::redact::text(&excerpt));
                }
            }
            return RunOutcome {
                status: 1,
                error: Some(error),
            };
        }
    };
    ast.set_source(name);
    ctx.set_script_name(name);
    ctx.start_clock();
    match ctx.finish(engine.run_ast_with_scope(&mut scope, &ast)) {
        Ok(()) => RunOutcome {
            // `exit(n)` ends the run as a success with its status.
            status: ctx.exit_status(),
            error: None,
        },
        Err(e) => RunOutcome {
            status: exit_status_of(&e),
            error: Some(describe_error_in(&e, name, source, limits)),
        },
    }
}
