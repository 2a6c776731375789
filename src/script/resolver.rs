//! The stdlib: Rhai modules from `stdlib/`, embedded in the binary and imported as
//! `import "kea/<module>" as m;`. Other import paths are files next to the script.
//!
//! Rhai evaluates an imported module inside the `import` statement, so a module that
//! imports itself (or two that import each other) recursed until the native stack
//! overflowed: Rhai's module count goes up only after a module is loaded. [`Guarded`]
//! keeps the chain of modules being loaded, refuses a module already on it, and bounds its
//! length.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rhai::module_resolvers::{FileModuleResolver, ModuleResolversCollection};
use rhai::{
    Engine, EvalAltResult, GlobalRuntimeState, Module, ModuleResolver, Position, Scope, Shared,
};

/// `(import path, source)` of every embedded stdlib module.
pub const STDLIB: &[(&str, &str)] = &[
    ("kea/health", include_str!("../../stdlib/kea/health.rhai")),
    ("kea/reload", include_str!("../../stdlib/kea/reload.rhai")),
    ("kea/drift", include_str!("../../stdlib/kea/drift.rhai")),
];

/// Resolves `kea/…` from the embedded stdlib, compiled with the importing engine.
struct EmbeddedResolver;

impl ModuleResolver for EmbeddedResolver {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let Some((_, src)) = STDLIB.iter().find(|(p, _)| *p == path) else {
            return Err(Box::new(EvalAltResult::ErrorModuleNotFound(
                path.into(),
                pos,
            )));
        };
        let mut ast = engine
            .compile(*src)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(path.into(), e.into(), pos)))?;
        ast.set_source(format!("stdlib:{path}"));
        let mut module = Module::eval_ast_as_new(rhai::Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(path.into(), e, pos)))?;
        module.build_index();
        Ok(module.into())
    }
}

/// The stdlib first, then files relative to `script_dir` (or the working directory);
/// imports nest at most `max_depth` deep and never in a cycle.
pub fn resolver(script_dir: Option<&Path>, max_depth: usize) -> Guarded {
    let mut c = ModuleResolversCollection::new();
    c.push(EmbeddedResolver);
    let files = || match script_dir {
        Some(d) => FileModuleResolver::new_with_path(d),
        None => FileModuleResolver::new(),
    };
    let mut loader = files();
    loader.enable_cache(false);
    c.push(loader);
    // Only to name files the way the collection's file resolver finds them.
    let naming = files();
    Guarded {
        inner: c,
        naming,
        max_depth,
        loading: Mutex::new(Vec::new()),
    }
}

/// The resolvers, with the chain of modules being loaded.
pub struct Guarded {
    inner: ModuleResolversCollection,
    naming: FileModuleResolver,
    max_depth: usize,
    /// The modules being loaded, outermost first.
    loading: Mutex<Vec<Link>>,
}

/// A module being loaded.
struct Link {
    /// How messages name it: `"path"` as the import said, or the importing script's file.
    label: String,
    /// The file's canonical path, or `stdlib:kea/…`.
    id: PathBuf,
    /// Whether it was imported (not the script that imports first).
    import: bool,
}

/// Pops the module (and the importing script, when it headed the chain) off the chain
/// however its loading ends.
struct Loading<'a>(&'a Mutex<Vec<Link>>, usize);

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        let mut loading = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let keep = loading.len().saturating_sub(self.1);
        loading.truncate(keep);
    }
}

impl Guarded {
    /// What identifies a module: the stdlib name, or the file's canonical path.
    fn identity(&self, path: &str, source: Option<&str>) -> PathBuf {
        if STDLIB.iter().any(|(p, _)| *p == path) {
            return PathBuf::from(format!("stdlib:{path}"));
        }
        let dir = source.and_then(|s| Path::new(s).parent());
        let file = self.naming.get_file_path(path, dir);
        std::fs::canonicalize(&file).unwrap_or(file)
    }

    /// Puts the module on the chain, or says why it cannot be loaded. The script that
    /// imports first (`source`, when it is a file) heads the chain.
    fn enter(
        &self,
        path: &str,
        source: Option<&str>,
        pos: Position,
    ) -> Result<Loading<'_>, Box<EvalAltResult>> {
        let id = self.identity(path, source);
        let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        let mut pushed = 0;
        if loading.is_empty()
            && let Some(s) = source
            && let Ok(file) = std::fs::canonicalize(s)
        {
            loading.push(Link {
                label: s.to_string(),
                id: file,
                import: false,
            });
            pushed += 1;
        }
        let refuse = |loading: &mut Vec<Link>, message: String| {
            loading.truncate(loading.len() - pushed);
            Box::new(EvalAltResult::ErrorInModule(
                path.to_string(),
                super::context::terminated(&message),
                pos,
            ))
        };
        let quoted = format!("\"{path}\"");
        if let Some(i) = loading.iter().position(|l| l.id == id) {
            let mut names: Vec<&str> = loading[i..].iter().map(|l| l.label.as_str()).collect();
            names.push(&quoted);
            let message = if names.len() == 2 {
                format!(
                    "import cycle: {} imports {}, which is itself",
                    names[0], names[1]
                )
            } else {
                format!(
                    "import cycle: {}, which is {} again",
                    names.join(" imports "),
                    names[0]
                )
            };
            return Err(refuse(&mut loading, message));
        }
        let depth = loading.iter().filter(|l| l.import).count();
        if depth >= self.max_depth {
            let message = format!(
                "imports nested more than {} deep (the import limit), at {quoted}",
                self.max_depth
            );
            return Err(refuse(&mut loading, message));
        }
        loading.push(Link {
            label: quoted,
            id,
            import: true,
        });
        Ok(Loading(&self.loading, pushed + 1))
    }
}

impl ModuleResolver for Guarded {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let _on_chain = self.enter(path, source, pos)?;
        self.inner.resolve(engine, source, path, pos)
    }

    fn resolve_raw(
        &self,
        engine: &Engine,
        global: &mut GlobalRuntimeState,
        scope: &mut Scope,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let source = global.source().map(str::to_string);
        let _on_chain = self.enter(path, source.as_deref(), pos)?;
        self.inner.resolve_raw(engine, global, scope, path, pos)
    }
}
