//! The Rhai engine: explicit limits (the same in debug and release builds), `eval` off,
//! missing map properties are errors, `print` to stdout and `debug` to stderr, and the
//! run's deadline, cancel switch and memory checked between operations.

use std::sync::Arc;
use std::time::Duration;

use rhai::Engine;

use super::RunContext;
use super::api;
use super::bounds;
use super::memory::human_bytes;
use super::resolver;

/// The engine's limits. Rhai's own defaults differ between debug and release builds, so
/// every one is set explicitly.
///
/// Rhai's size limits for strings, arrays and maps are off: Rhai checks them by walking the
/// whole value after every call on it (`a.push(x)` in a loop took the square of the
/// array's length) and never for `m[key] = value`. The memory limit takes their place.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Sized for a loop over a million leases, yet a pure busy loop stops within about a
    /// minute. 0: none.
    pub max_operations: u64,
    pub max_call_levels: usize,
    pub max_expr_depth: usize,
    pub max_fn_expr_depth: usize,
    /// How much the heap may grow during a run (a REPL statement, a trigger's run), in
    /// bytes; 0: no limit. Checked between operations (see [`super::memory`]).
    pub max_memory: usize,

    pub max_modules: usize,
    /// The run's deadline, Kea calls included.
    pub timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 1_000_000_000,
            max_call_levels: 64,
            max_expr_depth: 64,
            max_fn_expr_depth: 32,
            max_memory: 1 << 30,

            max_modules: 256,
            timeout: Some(Duration::from_secs(600)),
        }
    }
}

/// An engine with the whole script API registered, bound to `ctx`.
pub fn build_engine(
    ctx: Arc<RunContext>,
    limits: &Limits,
    script_dir: Option<&std::path::Path>,
) -> Engine {
    let mut engine = Engine::new();
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_levels);
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_fn_expr_depth);
    // Off on purpose (see `Limits`): the memory limit holds on every path instead.
    engine.set_max_string_size(0);
    engine.set_max_array_size(0);
    engine.set_max_map_size(0);
    engine.set_max_modules(limits.max_modules);
    engine.disable_symbol("eval");
    engine.set_fail_on_invalid_map_property(true);
    engine.set_strict_variables(true);

    engine.on_print(|s| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{s}");
        let _ = out.flush();
    });
    engine.on_debug(|s, src, pos| {
        let src = src.unwrap_or("<script>");
        match pos.line() {
            Some(l) => eprintln!("[{src}:{l}] {s}"),
            None => eprintln!("[{src}] {s}"),
        }
    });
    let progress_ctx = ctx.clone();
    let max_memory = limits.max_memory;
    engine.on_progress(move |ops| {
        // Two atomic loads: cheap enough for every operation, and one operation can double
        // a string.
        if max_memory > 0
            && let Some(used) = progress_ctx.heap_growth()
            && used > max_memory
        {
            return Some(memory_exceeded(used, max_memory).into());
        }
        // Reading the clock on every operation costs; every 1024th is plenty.
        if ops % 1024 == 0 {
            progress_ctx.stop_reason().map(|r| r.to_string().into())
        } else {
            None
        }
    });
    engine.set_module_resolver(resolver::resolver(script_dir));
    bounds::register(&mut engine, ctx.clone(), limits.max_memory);
    api::register(&mut engine, ctx);
    engine
}

fn memory_exceeded(used: usize, max: usize) -> String {
    format!(
        "it used {} of memory, more than its limit of {} (raise it with --max-memory; 0 = no limit)",
        human_bytes(used),
        human_bytes(max)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::Inventory;

    #[test]
    fn every_limit_is_set_explicitly_whatever_the_build() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let ctx = Arc::new(RunContext::new(
            rt.handle().clone(),
            Inventory::builtin(),
            vec![],
        ));
        let limits = Limits::default();
        let e = build_engine(ctx, &limits, None);
        assert_eq!(e.max_operations(), 1_000_000_000);
        assert_eq!(e.max_call_levels(), 64);
        assert_eq!(e.max_expr_depth(), 64);
        assert_eq!(e.max_function_expr_depth(), 32);
        // Replaced by the memory limit (checked on every path, in constant time).
        assert_eq!(e.max_string_size(), 0);
        assert_eq!(e.max_array_size(), 0);
        assert_eq!(e.max_map_size(), 0);
        assert_eq!(limits.max_memory, 1 << 30);

        assert_eq!(e.max_modules(), 256);
        assert!(e.fail_on_invalid_map_property());
        assert!(e.strict_variables());
    }

    #[test]
    fn deep_recursion_is_stopped_by_the_call_depth_limit() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let ctx = Arc::new(RunContext::new(
            rt.handle().clone(),
            Inventory::builtin(),
            vec![],
        ));
        let e = build_engine(ctx, &Limits::default(), None);
        let err = e
            .run("fn f(n) { f(n + 1) } f(0);")
            .expect_err("endless recursion must fail");
        assert!(err.to_string().contains("Stack overflow"), "{err}");
    }

    /// Runs `source` as `keascript run` would (from `dir`), on a script-sized stack.
    fn run(
        source: &str,
        dir: Option<&std::path::Path>,
        limits: Limits,
    ) -> super::super::RunOutcome {
        let source = source.to_string();
        let dir = dir.map(|d| d.to_path_buf());
        std::thread::Builder::new()
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let ctx = Arc::new(RunContext::new(
                    rt.handle().clone(),
                    Inventory::builtin(),
                    vec![],
                ));
                let name = match &dir {
                    Some(d) => d.join("main.rhai").display().to_string(),
                    None => "test.rhai".to_string(),
                };
                super::super::run_source(&source, &name, dir.as_deref(), ctx, &limits)
            })
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn a_growing_map_is_stopped_by_the_memory_limit() {
        let limits = Limits {
            max_memory: 16 << 20,
            timeout: Some(Duration::from_secs(120)),
            ..Limits::default()
        };
        let out = run(
            "let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; }",
            None,
            limits,
        );
        assert_eq!(out.status, 1);
        let err = out.error.unwrap();
        assert!(
            err.contains("more than its limit of 16 MiB (raise it with --max-memory"),
            "{err}"
        );
    }
}
