//! Errors at the Rhai boundary: Kea errors become catchable maps
//! `#{ kind, message, server, service, command, code }`; uncaught errors become a message
//! with file, line and column, and an exit status.

use rhai::{Dynamic, EvalAltResult, Map, Position};

use super::context::{STOP_CANCELLED, STOP_DEADLINE};
use crate::kea::{ErrorKind, KeaError};

/// A Kea error as a catchable Rhai error whose value is the error map.
pub fn kea_error(e: &KeaError) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        error_map(e).into(),
        Position::NONE,
    ))
}

/// An `invalid` error for bad script input.
pub fn invalid(message: impl Into<String>) -> Box<EvalAltResult> {
    kea_error(&KeaError::invalid(message))
}

/// The map a script sees in `catch (e)`.
pub fn error_map(e: &KeaError) -> Map {
    let opt = |v: &Option<String>| v.clone().map_or(Dynamic::UNIT, Dynamic::from);
    let mut m = Map::new();
    m.insert("kind".into(), e.kind.as_str().into());
    m.insert("message".into(), e.message.clone().into());
    m.insert("server".into(), opt(&e.server));
    m.insert("service".into(), opt(&e.service));
    m.insert("command".into(), opt(&e.command));
    m.insert("code".into(), e.code.map_or(Dynamic::UNIT, Dynamic::from));
    m
}

/// The kind of a caught value: the `kind` of an error map, `"script"` for anything else.
pub fn kind_of_value(v: &Dynamic) -> String {
    v.read_lock::<Map>()
        .and_then(|m| m.get("kind").and_then(|k| k.clone().into_string().ok()))
        .filter(|k| ErrorKind::parse(k).is_some())
        .unwrap_or_else(|| "script".to_string())
}

/// The kind of an error: a host function's (`transport`, `conflict`, …), else `script`.
pub fn kind_of_error(err: &EvalAltResult) -> String {
    match innermost(err) {
        EvalAltResult::ErrorRuntime(v, _) => kind_of_value(v),
        _ => "script".to_string(),
    }
}

/// The message of an error raised by a host function.
pub fn message_of_error(err: &EvalAltResult) -> String {
    match innermost(err) {
        EvalAltResult::ErrorRuntime(v, _) => v
            .read_lock::<Map>()
            .and_then(|m| m.get("message").and_then(|m| m.clone().into_string().ok()))
            .unwrap_or_else(|| v.to_string()),
        other => other.to_string(),
    }
}

/// The innermost error (inside function calls and modules).
fn innermost(err: &EvalAltResult) -> &EvalAltResult {
    let mut cur = err;
    loop {
        match cur {
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
            | EvalAltResult::ErrorInModule(_, inner, _) => cur = inner,
            _ => return cur,
        }
    }
}

fn at(src: &str, pos: Position) -> String {
    let src = if src.is_empty() { "<script>" } else { src };
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{src}:{l}:{c}"),
        (Some(l), None) => format!("{src}:{l}"),
        _ => src.to_string(),
    }
}

/// Where an error happened, found on the way in through function calls and imports.
struct Located {
    /// The file (as Rhai names it: the script's name, an import path, `stdlib:…`) and
    /// the position nearest to the error in it.
    file: String,
    pos: Position,
    /// `in `f` called at file:line:col`, outermost first, each in the file it is in.
    chain: Vec<String>,
    /// The script functions on the way (a REPL input quotes its line only when it defines
    /// them all).
    functions: Vec<String>,
}

/// Follows `err` in from `start` (the file its outermost position is in): a call's
/// position is in the caller's file, and what happens inside is in the file that defines
/// the function (Rhai's `source`) or the module imported.
fn locate(err: &EvalAltResult, start: &str, main: &str, dir: Option<&std::path::Path>) -> Located {
    let mut file = start.to_string();
    let mut near = (file.clone(), err.position());
    let mut chain = Vec::new();
    let mut functions = Vec::new();
    let mut cur = err;
    loop {
        match cur {
            EvalAltResult::ErrorInFunctionCall(name, src, inner, pos) => {
                chain.push(format!(
                    "in `{name}` called at {}",
                    at(&label_of(&file, main, dir), *pos)
                ));
                functions.push(name.clone());
                if !pos.is_none() {
                    near = (file.clone(), *pos);
                }
                if !src.is_empty() {
                    file = src.clone();
                }
                cur = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                chain.push(format!(
                    "in module \"{name}\" imported at {}",
                    at(&label_of(&file, main, dir), *pos)
                ));
                if !pos.is_none() {
                    near = (file.clone(), *pos);
                }
                file = if super::resolver::STDLIB.iter().any(|(p, _)| p == name) {
                    format!("stdlib:{name}")
                } else {
                    name.clone()
                };
                cur = inner;
            }
            other => {
                if !other.position().is_none() {
                    near = (file, other.position());
                }
                return Located {
                    file: near.0,
                    pos: near.1,
                    chain,
                    functions,
                };
            }
        }
    }
}

/// Where a script's text and its imported files are, to quote the line an error is on.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// How errors name the script (its path, `-`, `repl`).
    pub name: &'a str,
    /// The script's text.
    pub text: &'a str,
    /// The folder plain-file imports resolve from (`None`: the working directory).
    pub dir: Option<&'a std::path::Path>,
}

impl<'a> Sources<'a> {
    /// A script named `name` (imports resolve next to it when it is a file).
    pub fn of(name: &'a str, text: &'a str) -> Self {
        Self {
            name,
            text,
            dir: std::path::Path::new(name).parent(),
        }
    }

    /// The text of the file Rhai names `id`: the script, an embedded stdlib module, or
    /// an imported file (read now).
    fn text_of(&self, id: &str) -> Option<std::borrow::Cow<'a, str>> {
        if id.is_empty() || id == self.name {
            return Some(self.text.into());
        }
        if let Some(m) = id.strip_prefix("stdlib:") {
            return super::resolver::STDLIB
                .iter()
                .find(|(p, _)| *p == m)
                .map(|(_, t)| (*t).into());
        }
        std::fs::read_to_string(module_file(id, self.dir))
            .ok()
            .map(Into::into)
    }
}

/// The file an import path names, as the file resolver finds it (`.rhai` added, relative
/// to the script's folder).
fn module_file(id: &str, dir: Option<&std::path::Path>) -> std::path::PathBuf {
    let p = std::path::Path::new(id);
    let mut file = match dir {
        Some(d) if p.is_relative() => d.join(p),
        _ => p.to_path_buf(),
    };
    file.set_extension("rhai");
    file
}

/// How messages name the file Rhai calls `id`: the script's own name, `stdlib:kea/…`,
/// or an imported file's path.
fn label_of(id: &str, main: &str, dir: Option<&std::path::Path>) -> String {
    if id.is_empty() {
        return main.to_string();
    }
    if id == main || id.starts_with("stdlib:") {
        return id.to_string();
    }
    module_file(id, dir).display().to_string()
}

/// The exit status for an error that ended a script (`spec/script-api.md` › Exit status).
pub fn exit_status_of(err: &EvalAltResult) -> u8 {
    let inner = innermost(err);
    match inner {
        EvalAltResult::ErrorRuntime(v, _) => {
            ErrorKind::parse(&kind_of_value(v)).map_or(1, ErrorKind::exit_status)
        }
        _ => 1,
    }
}

/// Every function name the engine knows (API and Rhai's packages), for "did you mean";
/// set once by [`remember_function_names`] when the first engine is built.
static FUNCTION_NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Records the function names of `engine` (once per process: every engine has the same).
pub fn remember_function_names(engine: &rhai::Engine) {
    FUNCTION_NAMES.get_or_init(|| function_names(engine));
}

/// The names of every function `engine` has (API and packages), sorted, without
/// operators, property accessors and namespaced functions.
pub fn function_names(engine: &rhai::Engine) -> Vec<String> {
    let mut names: Vec<String> = engine
        .gen_fn_signatures(true)
        .iter()
        .filter_map(|sig| {
            let name = &sig[..sig.find('(')?];
            (!name.contains("::")
                && !name.contains('$')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .then(|| name.to_string())
        })
        .chain(super::check::CALL_KEYWORDS.iter().map(|s| s.to_string()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A human message for an error that ended a script, with where it happened and, when
/// `text` is the script's source, the line with a caret under the column (painted on a
/// terminal); an error inside an imported file quotes that file's line.
pub fn describe_error_in(
    err: &EvalAltResult,
    name: &str,
    text: &str,
    limits: &super::Limits,
) -> String {
    describe_error_with(
        err,
        &Sources::of(name, text),
        limits,
        crate::term::colour_stderr(),
    )
}

/// [`describe_error_in`] with the script's sources given and colour chosen.
pub fn describe_error_with(
    err: &EvalAltResult,
    sources: &Sources,
    limits: &super::Limits,
    colour: bool,
) -> String {
    let name = sources.name;
    let text = sources.text;
    let mut out = describe_error_from(err, name, name, sources.dir, limits);
    // A function the script defines itself, called with other arguments, is not unknown.
    if let EvalAltResult::ErrorFunctionNotFound(sig, _) = innermost(err) {
        let bare = sig.split(" (").next().unwrap_or(sig);
        if text.contains(&format!("fn {bare}(")) {
            let call = explain_fn_not_found(sig, &[bare.to_string()]);
            if let Some(start) = out.find("unknown function ") {
                let end = out[start..].find(" at ").map_or(out.len(), |e| start + e);
                out.replace_range(start..end, &call);
            }
        }
    }
    if colour && let Some(rest) = out.strip_prefix("error:") {
        out = format!(
            "{}:{rest}",
            crate::term::paint("error", crate::term::Paint::Error, true)
        );
    }
    if let Some(excerpt) = excerpt_at(err, sources, name, colour) {
        // After the first line, before the call chain.
        let (first, rest) = out.split_once('\n').unwrap_or((&out, ""));
        out = if rest.is_empty() {
            format!("{first}\n{excerpt}")
        } else {
            format!("{first}\n{excerpt}\n{rest}")
        };
    }
    out
}

/// The line the error is on, with a caret under its column, from whichever file it is in
/// (redacted; `None` when that file's text cannot be had).
fn excerpt_at(err: &EvalAltResult, sources: &Sources, start: &str, colour: bool) -> Option<String> {
    let loc = locate(err, start, sources.name, sources.dir);
    let line = loc.pos.line()?;
    let text = sources.text_of(&loc.file)?;
    let excerpt = source_excerpt(&text, line, loc.pos.position(), colour);
    (!excerpt.is_empty()).then(|| crate::kea::redact::text(&excerpt).into_owned())
}

/// A REPL input's error with its line and a caret, when the error is in this input (its
/// top level, or functions it defines itself: a function from an earlier input has line
/// numbers of that input).
pub fn describe_input_error(
    err: &EvalAltResult,
    name: &str,
    input: &str,
    limits: &super::Limits,
) -> String {
    let loc = locate(err, name, name, None);
    let here = (loc.file == name || loc.file.is_empty())
        && loc
            .functions
            .iter()
            .all(|f| f.starts_with("anon$") || input.contains(&format!("fn {f}(")));
    if here {
        let sources = Sources {
            name,
            text: input,
            dir: None,
        };
        describe_error_with(err, &sources, limits, crate::term::colour_stderr())
    } else {
        describe_error(err, name, limits)
    }
}

/// An error as one line for a log (the daemon's): where it happened (file:line:col), the
/// source line quoted, then the calls it happened in; no colour and no terminal control.
/// `start` is the file the error's outermost position is in.
pub fn describe_error_for_log(
    err: &EvalAltResult,
    sources: &Sources,
    start: &str,
    limits: &super::Limits,
) -> String {
    let out = describe_error_from(err, start, sources.name, sources.dir, limits);
    let (first, rest) = out.split_once('\n').unwrap_or((&out, ""));
    let loc = locate(err, start, sources.name, sources.dir);
    let quoted = loc
        .pos
        .line()
        .and_then(|l| Some((l, sources.text_of(&loc.file)?)))
        .and_then(|(l, text)| {
            let line = text.lines().nth(l.checked_sub(1)?)?.trim().to_string();
            Some(if mentions_secret(&line) {
                " — (the line is not shown: it mentions a secret)".to_string()
            } else {
                format!(" — `{line}`")
            })
        })
        .unwrap_or_default();
    let mut one = format!("{first}{quoted}");
    for c in rest.lines() {
        one.push_str("; ");
        one.push_str(c.trim());
    }
    // No terminal control in a log.
    one.retain(|c| !c.is_control());
    crate::kea::redact::text(&one).into_owned()
}

/// A human message for an error that ended a script, with where it happened.
pub fn describe_error(err: &EvalAltResult, source: &str, limits: &super::Limits) -> String {
    describe_error_from(
        err,
        source,
        source,
        std::path::Path::new(source).parent(),
        limits,
    )
}

/// [`describe_error`] for an error whose outermost position is in `start` (a trigger's
/// callback may be a module's function), in a script named `main`.
fn describe_error_from(
    err: &EvalAltResult,
    start: &str,
    main: &str,
    dir: Option<&std::path::Path>,
    limits: &super::Limits,
) -> String {
    let inner = innermost(err);
    // Errors raised inside native calls may carry no position of their own: use the
    // nearest one on the way in, in the file it is in.
    let loc = locate(err, start, main, dir);
    let chain = loc.chain;
    let where_ = if loc.pos.is_none() {
        String::new()
    } else {
        format!(" at {}", at(&label_of(&loc.file, main, dir), loc.pos))
    };
    let what = match inner {
        EvalAltResult::ErrorRuntime(v, _) => match v.read_lock::<Map>() {
            Some(m) if m.contains_key("kind") && m.contains_key("message") => {
                let mut s = format!(
                    "{} error: {}",
                    kind_of_value(v),
                    m["message"].clone().into_string().unwrap_or_default()
                );
                let ctx: Vec<String> = ["server", "service", "command"]
                    .iter()
                    .filter_map(|k| {
                        m.get(*k)
                            .and_then(|v| v.clone().into_string().ok())
                            .map(|v| format!("{k} {v}"))
                    })
                    .collect();
                if !ctx.is_empty() {
                    s.push_str(&format!(" ({})", ctx.join(", ")));
                }
                s
            }
            _ => format!("uncaught throw: {v}"),
        },
        EvalAltResult::ErrorTooManyOperations(_) => format!(
            "the script was stopped after {} operations (an endless loop?); raise the limit with --max-operations",
            limits.max_operations
        ),
        EvalAltResult::ErrorTerminated(token, _) => {
            match token.clone().into_string().unwrap_or_default().as_str() {
                STOP_DEADLINE => format!(
                    "the script was stopped: it ran past its deadline of {} (set it with --timeout)",
                    limits
                        .timeout
                        .map(|t| humantime::format_duration(t).to_string())
                        .unwrap_or_else(|| "none".into())
                ),
                STOP_CANCELLED => "the script was cancelled".to_string(),
                other => format!("the script was stopped: {other}"),
            }
        }
        EvalAltResult::ErrorFunctionNotFound(sig, _) => {
            let known = FUNCTION_NAMES.get().map(Vec::as_slice).unwrap_or(&[]);
            explain_fn_not_found(sig, known)
        }
        other => {
            // Rhai's own message without its trailing "(line x, position y)", in the
            // script's words for types.
            let s = other.to_string();
            script_words(match s.rfind(" (line ") {
                Some(i) if s.ends_with(')') => &s[..i],
                _ => &s,
            })
        }
    };
    let mut out = format!("error: {what}{where_}");
    for c in chain.iter().rev() {
        out.push_str(&format!("\n  {c}"));
    }
    // An uncaught throw may carry anything the script built, a loaded secret too.
    crate::kea::redact::text(&out).into_owned()
}

/// The line `line` (1-based) of `source` with a caret under column `col` (1-based), as
/// rustc and just show it:
///
/// ```text
///    |
///  3 | v4.add_subnt(#{ subnet: "10.1.0.0/24" });
///    |    ^
/// ```
///
/// Empty when the line does not exist. The caret is painted when `colour`.
pub fn source_excerpt(source: &str, line: usize, col: Option<usize>, colour: bool) -> String {
    let Some(text) = source
        .lines()
        .nth(line.saturating_sub(1))
        .filter(|_| line > 0)
    else {
        return String::new();
    };
    let text = text.trim_end();
    let number = line.to_string();
    if mentions_secret(text) {
        let pad = " ".repeat(number.len());
        let bar = crate::term::paint("|", crate::term::Paint::Dim, colour);
        return format!(
            "{pad} {bar}\n{number} {bar} (the line is not shown: it mentions a secret)"
        );
    }
    let pad = " ".repeat(number.len());
    let bar = crate::term::paint("|", crate::term::Paint::Dim, colour);
    let mut out = format!("{pad} {bar}\n{number} {bar} {text}");
    if let Some(col) = col.filter(|c| *c > 0) {
        // Tabs keep their width so the caret lines up under the same character.
        let lead: String = text
            .chars()
            .take(col - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let caret = crate::term::paint("^", crate::term::Paint::Error, colour);
        out.push_str(&format!("\n{pad} {bar} {lead}{caret}"));
    }
    out
}

/// Whether a source line may hold a secret: a secret-like word or name (`password`,
/// `token`, `pw`, `api_key`…), a secret loaded by this process, or a URL with a password —
/// the REPL history's rule. Such a line is never quoted in an error.
fn mentions_secret(line: &str) -> bool {
    let lower = line.to_lowercase();
    ["password", "passwd", "secret", "token"]
        .iter()
        .any(|w| lower.contains(w))
        || line
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(crate::kea::redact::is_secret_name)
        || crate::kea::redact::contains_secret(line)
}

/// The names nearest to `wanted` among `known` (at most three, nearest first): a
/// misspelling (Damerau-Levenshtein distance up to a third of the name, at least 1) or the
/// same words in another order (`subnet_add` for `add_subnet`).
pub fn did_you_mean<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let max = (wanted.chars().count() / 3).max(1);
    let words = |s: &str| {
        let mut w: Vec<String> = s.split('_').map(str::to_string).collect();
        w.sort();
        w
    };
    let wanted_words = words(wanted);
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .filter(|k| *k != wanted)
        .filter_map(|k| {
            let d = strsim::damerau_levenshtein(wanted, k);
            if d <= max {
                Some((d, k))
            } else if k.contains('_') && words(k) == wanted_words {
                Some((max, k))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    // Only the nearest: `reverse` for `revers`, not also `every`.
    let best = scored.first().map(|(d, _)| *d);
    scored
        .into_iter()
        .filter(|(d, _)| Some(*d) == best)
        .take(3)
        .map(|(_, k)| k.to_string())
        .collect()
}

/// ` (did you mean `a` or `b`?)`, or nothing.
pub fn suggestion_text(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => format!(" (did you mean `{one}`?)"),
        [rest @ .., last] => format!(
            " (did you mean {} or `{last}`?)",
            rest.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A type as Rhai scripts name it (`string`, `map`, `array`, `int`, `Service`…) instead of
/// Rust's (`alloc::string::String`, `rhai::Map`, `keascript::script::api::ServiceHandle`).
pub fn script_type_name(rust: &str) -> String {
    let t = rust
        .trim()
        .trim_start_matches('&')
        .trim_start_matches("mut ")
        .trim();
    let last = t.rsplit("::").next().unwrap_or(t);
    match last {
        "ImmutableString" | "String" | "str" => "string",
        "Map" | "BTreeMap<SmartString, Dynamic>" => "map",
        "Array" | "Vec<Dynamic>" => "array",
        "Blob" | "Vec<u8>" => "blob",
        "i64" | "INT" | "i32" | "u64" | "u32" | "u16" | "u8" | "usize" => "int",
        "f64" | "f32" | "FLOAT" => "float",
        "bool" => "bool",
        "char" => "char",
        "()" => "()",
        "Dynamic" => "any",
        "FnPtr" => "Fn",
        "Instant" => "timestamp",
        "ServerHandle" => "Server",
        "ServiceHandle" => "Service",
        "TxHandle" => "Transaction",
        other => other,
    }
    .to_string()
}

/// Rhai's "Function not found: name (type, type)" message in script words: the argument
/// types as scripts name them, and the nearest registered names when the name itself is
/// unknown (`known`: every function name the engine has).
pub fn explain_fn_not_found(signature: &str, known: &[String]) -> String {
    let (name, args) = match signature.find(" (") {
        Some(i) => (&signature[..i], signature[i + 2..].trim_end_matches(')')),
        None => (signature, ""),
    };
    let types: Vec<String> = split_types(args)
        .iter()
        .map(|t| script_type_name(t))
        .collect();
    let call = format!("{name}({})", types.join(", "));
    let bare = name.rsplit('.').next().unwrap_or(name);
    if known.iter().any(|k| k == bare) {
        format!("no function {call}: `{bare}` exists but takes other arguments (see :help {bare})")
    } else {
        let near = did_you_mean(bare, known.iter().map(String::as_str));
        format!("unknown function {call}{}", suggestion_text(&near))
    }
}

/// Splits "a, b<c, d>, e" at top-level commas.
fn split_types(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out.into_iter().map(|t| t.trim().to_string()).collect()
}

/// Rust type names in a message replaced by the script's (`alloc::string::String` →
/// `string`).
pub fn script_words(message: &str) -> String {
    let mut out = message.to_string();
    for (rust, script) in [
        ("alloc::string::String", "string"),
        ("rhai::ImmutableString", "string"),
        ("ImmutableString", "string"),
        ("&str", "string"),
        ("rhai::Map", "map"),
        (
            "std::collections::BTreeMap<smartstring::SmartString<smartstring::config::LazyCompact>, rhai::Dynamic>",
            "map",
        ),
        ("alloc::vec::Vec<rhai::Dynamic>", "array"),
        ("rhai::Array", "array"),
        ("rhai::Dynamic", "any"),
        ("rhai::FnPtr", "Fn"),
        ("keascript::script::api::server::ServerHandle", "Server"),
        ("keascript::script::api::service::ServiceHandle", "Service"),
        ("keascript::script::api::editing::TxHandle", "Transaction"),
        ("i64", "int"),
        ("f64", "float"),
    ] {
        out = out.replace(rust, script);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_puts_the_caret_under_the_column() {
        let src = "let a = 1;\n  v4.add_subnt(x);\n";
        let e = source_excerpt(src, 2, Some(6), false);
        assert_eq!(e, "  |\n2 |   v4.add_subnt(x);\n  |      ^");
        assert_eq!(source_excerpt(src, 9, Some(1), false), "");
        let e = source_excerpt("let pw = \"hunter2\" + ;\n", 1, Some(20), false);
        assert!(!e.contains("hunter2") && e.contains("not shown"), "{e}");
    }

    #[test]
    fn near_names_are_suggested_nearest_first() {
        let known = [
            "add_subnet",
            "add_pool",
            "update_subnet",
            "subnets",
            "delete_subnet",
        ];
        assert_eq!(did_you_mean("add_subnt", known), vec!["add_subnet"]);
        assert_eq!(did_you_mean("subnet_add", known), vec!["add_subnet"]);
        assert!(did_you_mean("frobnicate", known).is_empty());
        assert_eq!(
            suggestion_text(&["a".into(), "b".into()]),
            " (did you mean `a` or `b`?)"
        );
    }

    #[test]
    fn a_script_function_called_with_other_arguments_is_not_unknown() {
        let engine = rhai::Engine::new();
        let text = "fn helper(x) { x }\nhelper(1, 2);\n";
        let err = engine.run(text).unwrap_err();
        let m = describe_error_in(&err, "t.rhai", text, &super::super::Limits::default());
        assert!(
            m.contains("no function helper(int, int): `helper` exists"),
            "{m}"
        );
        assert!(m.contains("2 | helper(1, 2);"), "{m}");
    }

    #[test]
    fn a_log_line_quotes_the_source_line_on_one_line_without_secrets() {
        let engine = rhai::Engine::new();
        let limits = super::super::Limits::default();
        let text = "let a = 1;\nlet b = a.nope();\n";
        let err = engine.run(text).unwrap_err();
        let line = describe_error_for_log(&err, &Sources::of("t.rhai", text), "t.rhai", &limits);
        assert_eq!(
            line,
            "error: unknown function nope(int) at t.rhai:2:11 — `let b = a.nope();`"
        );
        let text = "let password = 1;\npassword.nope();\n";
        let err = engine.run(text).unwrap_err();
        let line = describe_error_for_log(&err, &Sources::of("t.rhai", text), "t.rhai", &limits);
        assert!(line.contains("not shown") && !line.contains('\n'), "{line}");
    }

    #[test]
    fn rust_type_names_become_script_words() {
        assert_eq!(script_type_name("alloc::string::String"), "string");
        assert_eq!(script_type_name("rhai::Map"), "map");
        assert_eq!(
            script_type_name("&mut keascript::script::api::service::ServiceHandle"),
            "Service"
        );
        let known = vec!["add_subnet".to_string()];
        let m = explain_fn_not_found(
            "add_subnt (keascript::script::api::service::ServiceHandle, rhai::Map)",
            &known,
        );
        assert_eq!(
            m,
            "unknown function add_subnt(Service, map) (did you mean `add_subnet`?)"
        );
        let m = explain_fn_not_found(
            "add_subnet (keascript::script::api::service::ServiceHandle, i64)",
            &known,
        );
        assert!(
            m.starts_with("no function add_subnet(Service, int): `add_subnet` exists"),
            "{m}"
        );
    }
}
