//! `keascript check`: what can be found wrong in a script without running it and without
//! contacting any server. Compiles the script (every function and every closure a trigger
//! will run is compiled with it), resolves its imports, then walks the syntax tree
//! (Rhai's `AST::walk`, function and closure bodies included) for calls to functions the
//! engine does not have (with "did you mean"), calls with an argument count no function of
//! that name takes, and `kea("NAME")` with a name the inventory does not have.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use rhai::{ASTNode, Expr, Scope, Stmt};

use super::errors::{did_you_mean, function_names, source_excerpt, suggestion_text};
use super::{Limits, RunContext, build_engine};
use crate::kea::Inventory;

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl Finding {
    /// `file:line:col: message`, then the source line with a caret.
    pub fn render(&self, name: &str, source: &str, colour: bool) -> String {
        let at = match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{name}:{l}:{c}"),
            (Some(l), None) => format!("{name}:{l}"),
            _ => name.to_string(),
        };
        let error = crate::term::paint("error", crate::term::Paint::Error, colour);
        let mut out = format!("{error}: {} at {at}", self.message);
        if let Some(l) = self.line {
            let excerpt = source_excerpt(source, l, self.column, colour);
            if !excerpt.is_empty() {
                out.push('\n');
                out.push_str(&excerpt);
            }
        }
        crate::kea::redact::text(&out).into_owned()
    }
}

/// Rhai's own keywords that look like calls.
pub(crate) const CALL_KEYWORDS: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "Fn",
    "call",
    "curry",
    "is_shared",
    "is_def_var",
    "is_def_fn",
    "eval",
];

/// Checks `source` (imports resolve from `script_dir`).
/// `inventory`: the servers `kea("NAME")` may name (`None`: not checked).
pub fn check_source(
    source: &str,
    script_dir: Option<&Path>,
    inventory: Option<&Inventory>,
    handle: tokio::runtime::Handle,
) -> Vec<Finding> {
    let ctx = Arc::new(RunContext::new(
        handle,
        inventory.cloned().unwrap_or_else(Inventory::builtin),
        vec![],
    ));
    let engine = build_engine(ctx, &Limits::default(), script_dir);
    let mut scope = Scope::new();
    scope.push_constant("args", rhai::Array::new());
    let ast = match engine.compile_into_self_contained(&scope, source) {
        Ok(ast) => ast,
        Err(e) => {
            let pos = e.position();
            let message = match &*e {
                rhai::EvalAltResult::ErrorParsing(t, _) => format!("syntax error: {t}"),
                // An import that cannot be found or does not compile.
                other => {
                    let s = other.to_string();
                    match s.rfind(" (line ") {
                        Some(i) if s.ends_with(')') => s[..i].to_string(),
                        _ => s,
                    }
                }
            };
            return vec![Finding {
                line: pos.line(),
                column: pos.position(),
                message: super::errors::script_words(&message),
            }];
        }
    };

    // name → the argument counts it can be called with.
    let mut arities: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for sig in engine.gen_fn_signatures(true) {
        if let Some((n, count)) = name_and_arity(&sig) {
            arities.entry(n).or_default().insert(count);
        }
    }
    // Functions the script defines (closures included); a method-style script function
    // (`this`) is called with one argument fewer.
    let mut script_fns: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for f in ast.iter_functions() {
        script_fns
            .entry(f.name.to_string())
            .or_default()
            .insert(f.params.len());
    }
    let known: Vec<String> = function_names(&engine)
        .into_iter()
        .chain(
            script_fns
                .keys()
                .filter(|n| !n.starts_with("anon$"))
                .cloned(),
        )
        .collect();

    // Variables and map keys: a call through a variable holding a function pointer, or a
    // method that is a closure stored in a map, is not an unknown function.
    let mut variables: BTreeSet<String> = BTreeSet::new();
    let mut map_keys: BTreeSet<String> = BTreeSet::new();
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Stmt(Stmt::Var(x, ..))) => {
                variables.insert(x.0.name.to_string());
            }
            Some(ASTNode::Expr(Expr::Map(x, _))) => {
                for (ident, _) in &x.0 {
                    map_keys.insert(ident.name.to_string());
                }
            }
            // A map of constants is folded into one value.
            Some(ASTNode::Expr(Expr::DynamicConstant(v, _))) => {
                if let Some(m) = v.read_lock::<rhai::Map>() {
                    map_keys.extend(m.keys().map(|k| k.to_string()));
                }
            }
            _ => {}
        }
        true
    });
    for f in ast.iter_functions() {
        variables.extend(f.params.iter().map(|p| p.to_string()));
    }

    // Imported modules (resolved into the AST): alias → the functions it exports, by name
    // and argument count.
    let mut modules: BTreeMap<String, BTreeMap<String, BTreeSet<usize>>> = BTreeMap::new();
    if let Some(resolver) = ast.resolver() {
        let mut aliases: Vec<(String, String)> = Vec::new();
        ast.walk(&mut |path: &[ASTNode]| {
            if let Some(ASTNode::Stmt(Stmt::Import(x, _))) = path.last()
                && let Expr::StringConstant(p, _) = &x.0
            {
                aliases.push((x.1.name.to_string(), p.to_string()));
            }
            true
        });
        for (alias, path) in aliases {
            if let Some((_, module)) = resolver.iter().find(|(p, _)| *p == path) {
                let mut fns: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
                for sig in module.gen_fn_signatures_with_mapper(Into::into) {
                    if let Some((n, count)) = name_and_arity(&sig) {
                        fns.entry(n).or_default().insert(count);
                    }
                }
                modules.insert(alias, fns);
            }
        }
    }

    let mut findings = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        let (call, pos, method) = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(c, pos))) => (c, *pos, false),
            Some(ASTNode::Expr(Expr::MethodCall(c, pos))) => (c, *pos, true),
            // A call that is a whole statement (`cron(…);`, `m::f(…);`).
            Some(ASTNode::Stmt(Stmt::FnCall(c, pos))) => (c, *pos, false),
            _ => return true,
        };
        let fname = call.name.as_str();
        if call.is_qualified() && !method {
            // `alias::f(…)` on an imported module: the module must export `f`.
            if let [alias] = call.namespace.path.as_slice()
                && let Some(fns) = modules.get(alias.name.as_str())
            {
                let given = call.args.len();
                let at = |message: String| Finding {
                    line: pos.line(),
                    column: pos.position(),
                    message,
                };
                match fns.get(fname) {
                    None => {
                        let near = did_you_mean(fname, fns.keys().map(String::as_str));
                        findings.push(at(format!(
                            "module `{}` has no function `{fname}`{}",
                            alias.name,
                            suggestion_text(&near)
                        )));
                    }
                    Some(counts) if !counts.contains(&given) => {
                        let shown: Vec<String> = counts.iter().map(|n| n.to_string()).collect();
                        findings.push(at(format!(
                            "`{}::{fname}` takes {} argument{}, not {given}",
                            alias.name,
                            join_or(&shown),
                            if shown == ["1"] { "" } else { "s" }
                        )));
                    }
                    Some(_) => {}
                }
            }
            return true;
        }
        if call.is_operator_call()
            || call.is_qualified()
            || CALL_KEYWORDS.contains(&fname)
            || !fname.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || fname.starts_with("anon$")
        {
            return true;
        }
        let given = call.args.len();
        let finding = |message: String| Finding {
            line: pos.line(),
            column: pos.position(),
            message,
        };
        let native = arities.get(fname);
        let script = script_fns.get(fname);
        if native.is_none() && script.is_none() {
            if variables.contains(fname) || (method && map_keys.contains(fname)) {
                return true;
            }
            let near = did_you_mean(fname, known.iter().map(String::as_str));
            let what = if method { "method" } else { "function" };
            findings.push(finding(format!(
                "unknown {what} `{fname}`{}",
                suggestion_text(&near)
            )));
            return true;
        }
        // The receiver of a method call is its first argument; a script function with
        // `this` takes it apart.
        let counts: BTreeSet<usize> = native
            .into_iter()
            .flatten()
            .copied()
            .chain(script.into_iter().flatten().flat_map(|n| [*n, *n + 1]))
            .collect();
        let with_receiver = if method { given + 1 } else { given };
        let fits = counts.contains(&with_receiver)
            || (method && script.is_some_and(|s| s.contains(&given)));
        if !fits {
            let shown: Vec<String> = counts
                .iter()
                .map(|n| if method { n.saturating_sub(1) } else { *n })
                .map(|n| n.to_string())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            findings.push(finding(format!(
                "`{fname}` takes {} argument{}{}, not {given}",
                join_or(&shown),
                if shown.len() == 1 && shown[0] == "1" {
                    ""
                } else {
                    "s"
                },
                if method { " after the receiver" } else { "" },
            )));
            return true;
        }
        // kea("NAME") with a literal name: the inventory must have it.
        if fname == "kea"
            && !method
            && let (Some(inv), Some(Expr::StringConstant(server, spos))) =
                (inventory, call.args.first())
            && inv.get(server).is_err()
        {
            let names: Vec<&str> = inv.servers.keys().map(String::as_str).collect();
            let near = did_you_mean(server, names.iter().copied());
            findings.push(Finding {
                line: spos.line().or(pos.line()),
                column: spos.position().or(pos.position()),
                message: format!(
                    "kea(\"{server}\"): the inventory{} has no server \"{server}\"{} (it has: {})",
                    inv.path
                        .as_ref()
                        .map(|p| format!(" {}", p.display()))
                        .unwrap_or_default(),
                    suggestion_text(&near),
                    names.join(", ")
                ),
            });
        }
        true
    });
    findings.sort_by_key(|f| (f.line, f.column));
    findings.dedup();
    findings
}

/// "1", "1 or 2", "1, 2 or 3".
fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The name and parameter count of one of `gen_fn_signatures`' lines; `None` for
/// operators, property accessors, indexers and namespaced functions.
fn name_and_arity(sig: &str) -> Option<(String, usize)> {
    let open = sig.find('(')?;
    let name = &sig[..open];
    if name.contains("::")
        || name.contains('$')
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    let mut depth = 0i32;
    let mut count = 0;
    let mut any = false;
    for c in sig[open + 1..].chars() {
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' | '>' | ']' if depth > 0 => depth -= 1,
            ')' if depth == 0 => break,
            ',' if depth == 0 => count += 1,
            c if !c.is_whitespace() => any = true,
            _ => {}
        }
    }
    Some((name.to_string(), if any { count + 1 } else { 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str, inventory: Option<&Inventory>) -> Vec<Finding> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let src = src.to_string();
        let inv = inventory.cloned();
        let h = rt.handle().clone();
        std::thread::Builder::new()
            .stack_size(super::super::SCRIPT_STACK_SIZE)
            .spawn(move || check_source(&src, None, inv.as_ref(), h))
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn signature_lines_give_name_and_count() {
        assert_eq!(
            name_and_arity("add_subnet(_: &mut Service, m: Map) -> Result<?, Box<EvalAltResult>>"),
            Some(("add_subnet".into(), 2))
        );
        assert_eq!(name_and_arity("kea() -> Server"), Some(("kea".into(), 0)));
        assert_eq!(name_and_arity("get$len(_: &mut Transaction) -> int"), None);
    }

    #[test]
    fn a_clean_script_has_no_finding() {
        let f = check(
            r#"
            fn helper(x) { x + 1 }
            let v4 = kea().dhcp4;
            let n = helper(2);
            let f = |a| a * n;
            print(f.call(3));
            let m = #{ run_it: || 1 };
            m.run_it();
            every("1h", || { v4.subnets().len(); });
            "#,
            None,
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn a_typo_inside_a_trigger_closure_is_found_with_a_suggestion() {
        let f = check(
            "let v4 = kea().dhcp4;\ncron(\"0 * * * *\", || {\n    v4.add_subnt(#{ subnet: \"10.9.0.0/24\" });\n});\n",
            None,
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].line, Some(3));
        assert!(f[0].message.contains("unknown method `add_subnt`"), "{f:?}");
        assert!(f[0].message.contains("did you mean `add_subnet`"), "{f:?}");
        let shown = f[0].render("t.rhai", "let v4 = kea().dhcp4;\ncron(\"0 * * * *\", || {\n    v4.add_subnt(#{ subnet: \"10.9.0.0/24\" });\n});\n", false);
        assert!(shown.contains("3 |     v4.add_subnt("), "{shown}");
    }

    #[test]
    fn wrong_argument_counts_and_unknown_servers_are_found() {
        let inv = Inventory::parse(
            "default = \"edge1\"\n[servers.edge1]\nurl = \"http://127.0.0.1:8000\"\n",
            None,
        )
        .unwrap();
        let f = check(
            "let s = kea(\"edge2\");\nkea().dhcp4.delete_subnet(1, 2, 3);\n",
            Some(&inv),
        );
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].message.contains("no server \"edge2\""), "{f:?}");
        assert!(f[0].message.contains("did you mean `edge1`"), "{f:?}");
        assert!(
            f[1].message.contains("`delete_subnet` takes 1 argument"),
            "{f:?}"
        );
    }

    #[test]
    fn a_call_that_is_a_whole_statement_is_checked_too() {
        let f = check("frobnicate(1);\nprnt(\"x\");\n", None);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[1].message.contains("did you mean `print`"), "{f:?}");
    }

    #[test]
    fn calls_into_imported_modules_are_checked() {
        let ok = check(
            "import \"kea/reload\" as reload;\nreload::watch(kea().dhcp4, \"/etc/kea/kea-dhcp4.conf\");\n",
            None,
        );
        assert!(ok.is_empty(), "{ok:?}");
        let f = check(
            "import \"kea/reload\" as reload;\nreload::wach(kea().dhcp4, \"/x\");\nreload::watch(1);\n",
            None,
        );
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(
            f[0].message
                .contains("module `reload` has no function `wach` (did you mean `watch`?)"),
            "{f:?}"
        );
        assert!(
            f[1].message
                .contains("`reload::watch` takes 2 arguments, not 1"),
            "{f:?}"
        );
    }

    #[test]
    fn a_syntax_error_is_one_finding() {
        let f = check("let x = ;\n", None);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.starts_with("syntax error"), "{f:?}");
    }
}
