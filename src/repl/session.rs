//! One REPL session: the engine, the variables and functions defined so far, and how
//! results and errors are shown.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rhai::{AST, Array, Dynamic, Engine, EvalAltResult, Map, Position, Scope};

use super::complete::{Var, View};
use super::show::Show;
use crate::script::errors::describe_input_error;
use crate::script::{Limits, RunContext, build_engine, describe_error};

/// Arrays longer than this are shortened when shown.
const MAX_ITEMS: usize = 20;
/// Results wider than this are broken into lines.
const WIDTH: usize = 100;

/// The state that lives from one input to the next.
pub struct Session {
    pub engine: Engine,
    pub ctx: Arc<RunContext>,
    pub limits: Limits,
    scope: Scope<'static>,
    /// Functions defined so far (an AST without statements).
    fns: AST,
    /// `__v.to_string()`, to show values of the API's types.
    show_ast: Option<AST>,
    view: Arc<Mutex<View>>,
}

impl Session {
    pub fn new(ctx: Arc<RunContext>, limits: Limits) -> Self {
        let engine = build_engine(ctx.clone(), &limits, None);
        let mut scope = Scope::new();
        scope.push_constant("args", Array::new());
        let show_ast = {
            let mut s = Scope::new();
            s.push("__v", ());
            engine.compile_with_scope(&s, "__v.to_string()").ok()
        };
        let session = Self {
            engine,
            ctx,
            limits,
            scope,
            fns: AST::empty(),
            show_ast,
            view: Arc::new(Mutex::new(View::default())),
        };
        session.refresh_view();
        session
    }

    /// What completion sees of the session; kept up to date after every input.
    pub fn view(&self) -> Arc<Mutex<View>> {
        self.view.clone()
    }

    /// Compiles and runs one input against the session's variables and functions. The
    /// caller starts the clock (`RunContext::start_clock`) first.
    pub fn eval(&mut self, source: &str, name: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        // The one script runner; it keeps the functions and drops the statements.
        let result = crate::script::eval_input(
            &self.engine,
            &mut self.scope,
            &mut self.fns,
            source,
            name,
            &self.ctx,
        );
        if result.is_ok() {
            for (path, alias) in imports(source) {
                self.keep_import(&path, &alias);
            }
        }
        self.compact_scope();
        self.refresh_view();
        result
    }

    /// `import "…" as alias;` lasts only for its own input in Rhai; the REPL keeps the
    /// module for the inputs that follow.
    fn keep_import(&mut self, path: &str, alias: &str) {
        let resolved =
            self.engine
                .module_resolver()
                .resolve(&self.engine, None, path, Position::NONE);
        if let Ok(module) = resolved {
            let fns: Vec<String> = module
                .gen_fn_signatures_with_mapper(std::borrow::Cow::Borrowed)
                .filter_map(|s| s.split_once('(').map(|(n, _)| n.to_string()))
                .collect();
            self.engine.register_static_module(alias, module);
            let mut view = self.view.lock().expect("view lock");
            view.modules.retain(|(a, _)| a != alias);
            view.modules.push((alias.to_string(), fns));
        }
    }

    /// `let x` twice leaves two `x` in the scope: keep the newest only.
    fn compact_scope(&mut self) {
        let mut seen = HashSet::new();
        if self
            .scope
            .iter_raw()
            .all(|(n, _, _)| seen.insert(n.to_string()))
        {
            return;
        }
        // `iter_raw` goes from the newest entry to the oldest.
        let mut seen = HashSet::new();
        let mut keep: Vec<(String, bool, Dynamic)> = self
            .scope
            .iter_raw()
            .filter(|(n, _, _)| seen.insert(n.to_string()))
            .map(|(n, c, v)| (n.to_string(), c, v.clone()))
            .collect();
        keep.reverse();
        let mut scope = Scope::new();
        for (n, constant, v) in keep {
            if constant {
                scope.push_constant_dynamic(n, v);
            } else {
                scope.push_dynamic(n, v);
            }
        }
        self.scope = scope;
    }

    fn refresh_view(&self) {
        let mut vars: Vec<Var> = self
            .scope
            .iter_raw()
            .map(|(name, _, v)| Var {
                name: name.to_string(),
                ty: self.engine.map_type_name(v.type_name()).to_string(),
                keys: v
                    .read_lock::<Map>()
                    .map(|m| m.keys().take(500).map(|k| k.to_string()).collect())
                    .unwrap_or_default(),
            })
            .collect();
        vars.reverse();
        let fns = self
            .fns
            .iter_functions()
            .map(|f| f.name.to_string())
            .collect();
        let mut view = self.view.lock().expect("view lock");
        view.vars = vars;
        view.fns = fns;
    }

    /// A result as text, or why it cannot be shown (nested past the limit).
    pub fn show(&self, v: &Dynamic) -> Result<String, String> {
        let custom = |v: &Dynamic| self.custom_text(v);
        Show {
            custom: &custom,
            max_items: MAX_ITEMS,
            width: WIDTH,
            max_depth: self.limits.max_value_depth,
        }
        .show(v)
    }

    fn custom_text(&self, v: &Dynamic) -> Option<String> {
        let ast = self.show_ast.as_ref()?;
        let mut s = Scope::new();
        s.push_dynamic("__v", v.clone());
        self.engine.eval_ast_with_scope::<String>(&mut s, ast).ok()
    }

    /// An error as text: its kind and message, and where it happened; the input's line
    /// with a caret under the column when the error is in `input` itself.
    pub fn describe(&self, err: &EvalAltResult, source: &str, input: &str) -> String {
        let mut inner = err;
        while let EvalAltResult::ErrorInFunctionCall(_, _, e, _)
        | EvalAltResult::ErrorInModule(_, e, _) = inner
        {
            inner = e;
        }
        match inner {
            EvalAltResult::ErrorTerminated(token, _)
                // `RunContext::cancel` stops a run with this token.
                if token.clone().into_string().unwrap_or_default() == crate::script::STOP_CANCELLED =>
            {
                "cancelled: the statement was stopped; variables and functions are kept"
                    .to_string()
            }
            EvalAltResult::ErrorTerminated(..) | EvalAltResult::ErrorTooManyOperations(_) => {
                describe_error(err, source, &self.limits)
                    .replacen("the script was stopped", "the statement was stopped", 1)
            }
            EvalAltResult::ErrorRuntime(v, _) if v.is_map() => {
                describe_input_error(err, source, input, &self.limits)
            }
            _ => {
                let text = describe_input_error(err, source, input, &self.limits);
                // "error" may be painted: the kind goes after its colon.
                match text.split_once(": ") {
                    Some((head, rest)) => format!("{head}: script error: {rest}"),
                    None => text,
                }
            }
        }
    }
}

/// The `import "path" as alias` statements of an input.
fn imports(source: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(i) = rest.find("import") {
        let before_ok = rest[..i]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        rest = &rest[i + "import".len()..];
        if !before_ok {
            continue;
        }
        let Some(r) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let Some((path, after)) = r.split_once('"') else {
            continue;
        };
        let Some(after) = after.trim_start().strip_prefix("as") else {
            continue;
        };
        if !after.starts_with(char::is_whitespace) {
            continue;
        }
        let alias: String = after
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !alias.is_empty() {
            out.push((path.to_string(), alias));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::Inventory;

    fn session() -> (tokio::runtime::Runtime, Session) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let ctx = Arc::new(RunContext::new(
            rt.handle().clone(),
            Inventory::builtin(),
            vec![],
        ));
        let s = Session::new(ctx, Limits::default());
        (rt, s)
    }

    fn eval(s: &mut Session, src: &str) -> Result<String, String> {
        s.ctx.start_clock();
        s.eval(src, "input")
            .map_err(|e| s.describe(&e, "input", src))
            .and_then(|v| s.show(&v))
    }

    #[test]
    fn variables_functions_and_imports_persist() {
        let (_rt, mut s) = session();
        assert_eq!(eval(&mut s, "let x = 40;").unwrap(), "()");
        assert_eq!(eval(&mut s, "fn twice(n) { n * 2 }").unwrap(), "()");
        assert_eq!(eval(&mut s, "x + 2").unwrap(), "42");
        assert_eq!(eval(&mut s, "twice(x)").unwrap(), "80");
        assert_eq!(eval(&mut s, "let x = 1; x").unwrap(), "1");
        assert_eq!(eval(&mut s, "x").unwrap(), "1");
        assert!(eval(&mut s, "import \"kea/health\" as h;").is_ok());
        // The module is still there on the next input.
        let e = eval(&mut s, "h::all_up([])").unwrap();
        assert!(e == "true" || e == "false", "{e}");
        let view = s.view();
        let view = view.lock().unwrap();
        assert!(
            view.modules
                .iter()
                .any(|(a, f)| a == "h" && f.contains(&"check".to_string()))
        );
        assert_eq!(view.vars.iter().filter(|v| v.name == "x").count(), 1);
        assert!(view.fns.contains(&"twice".to_string()));
    }

    #[test]
    fn errors_name_their_kind_and_the_session_goes_on() {
        let (_rt, mut s) = session();
        eval(&mut s, "let keep = 7;").unwrap();
        let e = eval(&mut s, "kea(\"nope\")").unwrap_err();
        assert!(e.contains("not_found"), "{e}");
        let e = eval(&mut s, "nope + 1").unwrap_err();
        assert!(e.contains("nope"), "{e}");
        let e = eval(&mut s, "throw \"boom\"").unwrap_err();
        assert!(e.contains("boom"), "{e}");
        let e = eval(&mut s, "let m = #{}; m.missing").unwrap_err();
        assert!(e.contains("script error"), "{e}");
        assert_eq!(eval(&mut s, "keep").unwrap(), "7");
        // A value of an API type is shown by its to_string.
        assert!(
            eval(&mut s, "kea()")
                .unwrap()
                .starts_with("Server(default at")
        );
    }

    #[test]
    fn a_cancelled_statement_keeps_the_variables() {
        let (_rt, mut s) = session();
        eval(&mut s, "let keep = 7;").unwrap();
        let ctx = s.ctx.clone();
        s.ctx.start_clock();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            ctx.cancel();
        });
        let e = s.eval("let x = 0; loop { x += 1; }", "input").unwrap_err();
        t.join().unwrap();
        assert!(s.describe(&e, "input", "").starts_with("cancelled"));
        assert_eq!(eval(&mut s, "keep").unwrap(), "7");
    }

    #[test]
    fn finds_imports() {
        assert_eq!(
            imports(
                "import \"kea/health\" as h; reimport \"x\" as y; import \"a\" ask; import \"a\"as b"
            ),
            vec![
                ("kea/health".to_string(), "h".to_string()),
                ("a".to_string(), "b".to_string())
            ]
        );
    }
}
