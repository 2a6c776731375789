//! The stdlib: Rhai modules from `stdlib/`, embedded in the binary and imported as
//! `import "kea/<module>" as m;`. Other import paths are files next to the script.

use rhai::module_resolvers::{FileModuleResolver, ModuleResolversCollection};
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Shared};

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

/// The stdlib first, then files relative to `script_dir` (or the working directory).
pub fn resolver(script_dir: Option<&std::path::Path>) -> ModuleResolversCollection {
    let mut c = ModuleResolversCollection::new();
    c.push(EmbeddedResolver);
    let mut files = match script_dir {
        Some(d) => FileModuleResolver::new_with_path(d),
        None => FileModuleResolver::new(),
    };
    files.enable_cache(false);
    c.push(files);
    c
}
