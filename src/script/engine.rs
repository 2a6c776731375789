//! The Rhai engine: explicit limits (the same in debug and release builds), `eval` off,
//! missing map properties are errors, `print` to stdout and `debug` to stderr, and the
//! run's deadline and cancel switch checked between operations.

use std::sync::Arc;
use std::time::Duration;

use rhai::Engine;

use super::RunContext;
use super::api;
use super::resolver;

/// The engine's limits. Rhai's own defaults differ between debug and release builds, so
/// every one is set explicitly.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Sized for a loop over a million leases, yet a pure busy loop stops within about a
    /// minute.
    pub max_operations: u64,
    pub max_call_levels: usize,
    pub max_expr_depth: usize,
    pub max_fn_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
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
            max_string_size: 64 * 1024 * 1024,
            max_array_size: 4_000_000,
            max_map_size: 1_000_000,
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
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
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
    engine.on_progress(move |ops| {
        // Reading the clock on every operation costs; every 1024th is plenty. A stop that
        // waited for a change in flight is due at once.
        if ops % 1024 == 0 || progress_ctx.stop_due() {
            progress_ctx.stop_reason().map(|r| r.to_string().into())
        } else {
            None
        }
    });
    engine.set_module_resolver(resolver::resolver(script_dir));
    api::register(&mut engine, ctx);
    engine
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
        assert_eq!(e.max_string_size(), 64 * 1024 * 1024);
        assert_eq!(e.max_array_size(), 4_000_000);
        assert_eq!(e.max_map_size(), 1_000_000);
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
}
