//! The Rhai engine: explicit limits (the same in debug and release builds), `eval` off,
//! missing map properties are errors, `print` and `debug` to the host's sink, and the
//! run's deadline, cancel switch and memory checked between operations.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use rhai::Engine;

use super::RunContext;
use super::api;
use super::bounds;
use super::memory::human_bytes;
use super::output::Line;
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
    /// How deeply arrays and maps may nest in a value that is printed or turned into text.
    pub max_value_depth: usize,
    /// How deeply `import`s may nest (a module importing a module…); a cycle is refused
    /// at once.
    pub max_import_depth: usize,
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
            max_value_depth: 1000,
            max_import_depth: 32,
            max_modules: 256,
            timeout: Some(Duration::from_secs(600)),
        }
    }
}

/// The stack of every thread that runs scripts. Rhai evaluates, copies, compares and drops
/// values recursively; the limits above keep what keascript controls far below this, and
/// the rest (a value built 50,000 levels deep copies itself once per level, so building it
/// takes minutes) has room to spare. Only the pages used are ever touched.
pub const SCRIPT_STACK_SIZE: usize = 256 << 20;

/// Rhai's standard package, built once per process and shared by every engine.
static STANDARD: LazyLock<rhai::Shared<rhai::Module>> = LazyLock::new(|| {
    use rhai::packages::Package;
    rhai::packages::StandardPackage::new().as_shared_module()
});

/// How many strings an engine interns: what `Engine::new()` sets.
const STRINGS_INTERNED: usize = 256;

/// An engine with the whole script API registered, bound to `ctx`.
pub fn build_engine(
    ctx: Arc<RunContext>,
    limits: &Limits,
    script_dir: Option<&std::path::Path>,
) -> Engine {
    // `Engine::new()` without building Rhai's standard package again for every engine: a
    // fleet run builds one engine per server, and that package was ~20 % of its CPU. The
    // rest of what `Engine::new()` sets (module resolver, print, debug) is set below.
    let mut engine = Engine::new_raw();
    engine.set_max_strings_interned(STRINGS_INTERNED);
    engine.register_global_module(STANDARD.clone());
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

    let c = ctx.clone();
    engine.on_print(move |s| c.emit(Line::Print, s));
    let c = ctx.clone();
    engine.on_debug(move |s, src, pos| {
        let src = src.unwrap_or("<script>");
        match pos.line() {
            Some(l) => c.emit(Line::Debug, &format!("[{src}:{l}] {s}")),
            None => c.emit(Line::Debug, &format!("[{src}] {s}")),
        }
    });
    let progress_ctx = ctx.clone();
    let max_memory = limits.max_memory;
    engine.on_progress(move |ops| {
        if let Some(message) = progress_ctx.take_stop() {
            return Some(message.into());
        }
        // Two atomic loads: cheap enough for every operation, and one operation can double
        // a string.
        if max_memory > 0
            && let Some(used) = progress_ctx.heap_growth()
            && used > max_memory
        {
            return Some(memory_exceeded(used, max_memory).into());
        }
        // Reading the clock on every operation costs; every 1024th is plenty. A stop that
        // waited for a change in flight is due at once.
        if ops % 1024 == 0 || progress_ctx.stop_due() {
            progress_ctx.stop_reason().map(|r| r.to_string().into())
        } else {
            None
        }
    });
    engine.set_module_resolver(resolver::resolver(script_dir, limits.max_import_depth));
    bounds::register(
        &mut engine,
        ctx.clone(),
        limits.max_value_depth,
        limits.max_memory,
    );
    api::register(&mut engine, ctx);
    super::errors::remember_function_names(&engine);
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
        assert_eq!(limits.max_value_depth, 1000);
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
            .stack_size(SCRIPT_STACK_SIZE)
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

    #[test]
    fn printing_past_the_nesting_limit_is_an_error_even_in_text_conversions() {
        let limits = Limits {
            max_value_depth: 50,
            ..Limits::default()
        };
        let build = "let v = 1; for i in 0..60 { v = #{ a: [v.take()] }; }";
        for (tail, what) in [
            ("print(v);", "cannot print"),
            ("let s = `${v}`; let t = 1;", "cannot turn into text"),
            ("let s = `${v}`;", "cannot turn into text"),
            ("let s = v.to_json();", "cannot write as JSON"),
        ] {
            let out = run(&format!("{build} {tail}"), None, limits.clone());
            assert_eq!(out.status, 1, "{tail}");
            let err = out.error.unwrap();
            assert!(err.contains(what), "{tail}: {err}");
            assert!(
                err.contains("nested more than 50 levels deep (the nesting limit)"),
                "{err}"
            );
        }
        // Within the limit: no error, and the same text as Rhai's.
        let out = run(
            "let v = 1; for i in 0..24 { v = #{ a: [v.take()] }; } let s = `${v}`; if s.len() != 24 * 10 + 1 { throw s; }",
            None,
            limits,
        );
        assert_eq!((out.status, out.error), (0, None));
    }

    #[test]
    fn imports_in_a_cycle_or_too_deep_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.rhai"), "import \"b\" as b;").unwrap();
        std::fs::write(d.join("b.rhai"), "import \"c\" as c;").unwrap();
        std::fs::write(d.join("c.rhai"), "import \"a\" as a;").unwrap();
        std::fs::write(d.join("main.rhai"), "import \"main\" as m;").unwrap();
        let out = run("import \"a\" as a;", Some(d), Limits::default());
        let err = out.error.unwrap();
        assert_eq!(out.status, 1);
        assert!(
            err.contains(
                r#"import cycle: "a" imports "b" imports "c" imports "a", which is "a" again"#
            ),
            "{err}"
        );
        let out = run("import \"main\" as m;", Some(d), Limits::default());
        let err = out.error.unwrap();
        assert!(
            err.contains(r#"main.rhai imports "main", which is itself"#),
            "{err}"
        );
        // The same module twice, not nested, is no cycle; the stdlib is found as before.
        std::fs::write(d.join("leaf.rhai"), "fn f() { 1 }").unwrap();
        let out = run(
            "import \"leaf\" as x; import \"leaf\" as y; import \"kea/health\" as h; if x::f() + y::f() != 2 { throw 1; }",
            Some(d),
            Limits::default(),
        );
        assert_eq!(out.error, None);
        // a imports b imports c: three deep.
        std::fs::write(d.join("c.rhai"), "fn f() { 1 }").unwrap();
        let depth = |n| Limits {
            max_import_depth: n,
            ..Limits::default()
        };
        let out = run("import \"a\" as a;", Some(d), depth(3));
        assert_eq!(out.error, None);
        let out = run("import \"a\" as a;", Some(d), depth(2));
        assert!(
            out.error
                .unwrap()
                .contains(r#"imports nested more than 2 deep (the import limit), at "c""#)
        );
        let out = run("import \"x\" as x;", Some(d), depth(2));
        assert!(out.error.unwrap().contains("not found"));
    }
}
