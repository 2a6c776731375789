//! Tab completion and signature hints, as pure functions of the text before the cursor.
//!
//! - after `.`: the members of the receiver's type (Server, Service, Transaction from the
//!   engine's signatures; a map variable's keys; array, map and string methods);
//! - inside `kea("…`: the servers of the inventory; inside `import "…`: the stdlib modules;
//! - after `alias::`: the functions of an imported module;
//! - elsewhere: keywords, variables, functions;
//! - a line that starts with `:`: the REPL's commands and their arguments.

use std::collections::BTreeSet;

use super::catalog::{Catalog, KEYWORDS};
use crate::script::help;

/// A variable of the session, as completion sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Var {
    pub name: String,
    /// As scripts name it: `Server`, `Service`, `Transaction`, `map`, `array`, `string`, `i64`…
    pub ty: String,
    /// A map's keys.
    pub keys: Vec<String>,
}

/// What the session holds now: refreshed after every statement.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub vars: Vec<Var>,
    /// Functions defined at the REPL.
    pub fns: Vec<String>,
    /// Imported modules: alias and function names.
    pub modules: Vec<(String, Vec<String>)>,
}

/// The REPL's commands.
pub const COMMANDS: &[&str] = &[":help", ":servers", ":dry-run", ":load", ":quit"];

/// Everything completion reads.
pub struct Sources<'a> {
    pub catalog: &'a Catalog,
    pub view: &'a View,
    pub servers: &'a [String],
    pub stdlib: &'a [&'a str],
}

/// A completion: what is listed and what is inserted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    pub display: String,
    pub replacement: String,
}

fn cand(s: impl Into<String>) -> Candidate {
    let s = s.into();
    Candidate {
        display: s.clone(),
        replacement: s,
    }
}

/// Where the scan of the text before the cursor ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    /// Inside a `"…"` string that starts at this byte.
    Quoted(usize),
    /// Inside a `` `…` `` string that starts at this byte.
    Backtick(usize),
    Comment,
}

/// The text with string contents and comments blanked out (same byte length), so that
/// brackets and dots inside them do not count, and where the scan ended.
fn mask(text: &str) -> (String, State) {
    let mut out = String::with_capacity(text.len());
    // Open contexts: `Code` inside `${…}` of a backtick string sits above a `Backtick`.
    let mut stack: Vec<State> = vec![State::Code];
    let mut brace_depth: Vec<usize> = vec![0];
    let mut chars = text.char_indices().peekable();
    let blank = |out: &mut String, c: char| {
        for _ in 0..c.len_utf8() {
            out.push('x');
        }
    };
    let spaces = |out: &mut String, c: char| {
        for _ in 0..c.len_utf8() {
            out.push(' ');
        }
    };
    while let Some((i, c)) = chars.next() {
        let state = *stack.last().expect("state");
        match state {
            State::Code => match c {
                '"' => {
                    stack.push(State::Quoted(i));
                    out.push('"');
                }
                '`' => {
                    stack.push(State::Backtick(i));
                    out.push('`');
                }
                '/' if chars.peek().is_some_and(|(_, n)| *n == '/') => {
                    // A line comment: blank to the end of the line.
                    out.push(' ');
                    let mut ended = false;
                    while let Some((_, n)) = chars.peek().copied() {
                        if n == '\n' {
                            ended = true;
                            break;
                        }
                        chars.next();
                        spaces(&mut out, n);
                    }
                    if !ended {
                        return (out, State::Comment);
                    }
                }
                '/' if chars.peek().is_some_and(|(_, n)| *n == '*') => {
                    chars.next();
                    out.push_str("  ");
                    let mut prev = ' ';
                    let mut closed = false;
                    for (_, n) in chars.by_ref() {
                        spaces(&mut out, n);
                        if prev == '*' && n == '/' {
                            closed = true;
                            break;
                        }
                        prev = n;
                    }
                    if !closed {
                        return (out, State::Comment);
                    }
                }
                '{' => {
                    *brace_depth.last_mut().expect("depth") += 1;
                    out.push('{');
                }
                '}' => {
                    let d = brace_depth.last_mut().expect("depth");
                    if *d == 0 && stack.len() > 1 {
                        // The end of a `${…}` interpolation.
                        stack.pop();
                        brace_depth.pop();
                        out.push('x');
                    } else {
                        *d = d.saturating_sub(1);
                        out.push('}');
                    }
                }
                _ => out.push(c),
            },
            State::Quoted(_) => match c {
                '\\' => {
                    blank(&mut out, c);
                    if let Some((_, n)) = chars.next() {
                        blank(&mut out, n);
                    }
                }
                '"' => {
                    stack.pop();
                    out.push('"');
                }
                _ => blank(&mut out, c),
            },
            State::Backtick(_) => match c {
                '`' => {
                    stack.pop();
                    out.push('`');
                }
                '$' if chars.peek().is_some_and(|(_, n)| *n == '{') => {
                    chars.next();
                    out.push_str("xx");
                    stack.push(State::Code);
                    brace_depth.push(0);
                }
                _ => blank(&mut out, c),
            },
            State::Comment => unreachable!("comments are consumed whole"),
        }
    }
    (out, *stack.last().expect("state"))
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The start of the identifier that ends at `end`.
fn ident_start(text: &str, end: usize) -> usize {
    text[..end]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident(*c))
        .last()
        .map_or(end, |(i, _)| i)
}

/// The byte index of the `(` that matches the `)` at the end of `text`.
fn open_paren_of_last(text: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in text.char_indices().rev() {
        match c {
            ')' | ']' | '}' => depth += 1,
            '(' | '[' | '{' => {
                depth -= 1;
                if depth == 0 {
                    return (c == '(').then_some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The type of the expression that ends `masked` (a postfix chain such as
/// `kea("lab").dhcp4.begin()`), when it can be told without running it.
fn infer(src: &Sources, masked: &str) -> Option<String> {
    let s = masked.trim_end();
    if s.ends_with(')') {
        let open = open_paren_of_last(s)?;
        let head = s[..open].trim_end();
        let start = ident_start(head, head.len());
        let name = &head[start..];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let pre = &head[..start];
        if let Some(recv) = member_receiver(pre) {
            let ty = infer(src, recv)?;
            return src.catalog.member_returns(&ty, name, false);
        }
        return src.catalog.function_returns(name);
    }
    if s.ends_with('"') || s.ends_with('`') {
        return Some("string".into());
    }
    if s.ends_with(is_ident) {
        let start = ident_start(s, s.len());
        let name = &s[start..];
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let pre = &s[..start];
        if let Some(recv) = member_receiver(pre) {
            let ty = infer(src, recv)?;
            return src.catalog.member_returns(&ty, name, true);
        }
        if pre.ends_with("::") {
            return None;
        }
        return src
            .view
            .vars
            .iter()
            .rev()
            .find(|v| v.name == name)
            .map(|v| v.ty.clone());
    }
    None
}

/// `Some(receiver text)` when `pre` ends with a member access dot (not a `..` range).
fn member_receiver(pre: &str) -> Option<&str> {
    let t = pre.trim_end();
    let r = t.strip_suffix('.')?;
    if r.ends_with('.') || r.trim().is_empty() {
        return None;
    }
    Some(r)
}

/// Completions for the text before the cursor: the byte where the replaced text starts,
/// and the candidates.
pub fn complete(src: &Sources, before: &str) -> (usize, Vec<Candidate>) {
    let pos = before.len();
    if before.trim_start().starts_with(':') {
        return complete_command(before);
    }
    let (masked, state) = mask(before);
    match state {
        State::Quoted(q) | State::Backtick(q) => {
            let typed = &before[q + 1..];
            let code = masked[..q].trim_end();
            let mut out: Vec<Candidate> = Vec::new();
            if let Some(call) = code.strip_suffix('(') {
                let call = call.trim_end();
                let name = &call[ident_start(call, call.len())..];
                if name == "kea" {
                    out = src
                        .servers
                        .iter()
                        .filter(|s| s.starts_with(typed))
                        .map(|s| Candidate {
                            display: s.clone(),
                            replacement: format!("{s}\")"),
                        })
                        .collect();
                }
            } else if code.ends_with("import")
                && code[..code.len() - "import".len()]
                    .chars()
                    .last()
                    .is_none_or(|c| !is_ident(c))
            {
                out = src
                    .stdlib
                    .iter()
                    .filter(|p| p.starts_with(typed))
                    .map(|p| Candidate {
                        display: p.to_string(),
                        replacement: format!("{p}\""),
                    })
                    .collect();
            }
            return (q + 1, out);
        }
        State::Comment => return (pos, Vec::new()),
        State::Code => {}
    }
    let start = ident_start(before, pos);
    let word = &before[start..];
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        return (pos, Vec::new());
    }
    let pre = &masked[..start];
    let mut out: BTreeSet<Candidate> = BTreeSet::new();
    if let Some(alias) = pre.strip_suffix("::") {
        let alias = &alias[ident_start(alias, alias.len())..];
        if let Some((_, fns)) = src.view.modules.iter().find(|(a, _)| a == alias) {
            out.extend(fns.iter().map(|f| cand(format!("{f}("))));
        }
    } else if let Some(recv) = member_receiver(pre) {
        let ty = infer(src, recv);
        let recv_t = recv.trim_end();
        let var = (!recv_t.is_empty() && recv_t.ends_with(is_ident))
            .then(|| &recv_t[ident_start(recv_t, recv_t.len())..])
            .filter(|name| member_receiver(&recv_t[..recv_t.len() - name.len()]).is_none())
            .and_then(|name| src.view.vars.iter().rev().find(|v| v.name == name));
        if let Some(v) = var {
            out.extend(v.keys.iter().map(cand));
        }
        out.extend(
            src.catalog
                .members(ty.as_deref())
                .iter()
                .map(|m| cand(m.insert_text())),
        );
    } else {
        if word.is_empty() {
            return (pos, Vec::new());
        }
        out.extend(KEYWORDS.iter().map(|k| cand(*k)));
        out.extend(src.view.vars.iter().map(|v| cand(v.name.clone())));
        out.extend(src.catalog.globals().iter().map(|f| cand(format!("{f}("))));
        out.extend(src.view.fns.iter().map(|f| cand(format!("{f}("))));
        out.extend(src.view.modules.iter().map(|(a, _)| cand(format!("{a}::"))));
    }
    let list = out
        .into_iter()
        .filter(|c| c.replacement.starts_with(word))
        .collect();
    (start, list)
}

fn complete_command(before: &str) -> (usize, Vec<Candidate>) {
    let lead = before.len() - before.trim_start().len();
    let text = &before[lead..];
    let Some((cmd, arg)) = text.split_once(char::is_whitespace) else {
        let list = COMMANDS
            .iter()
            .filter(|c| c.starts_with(text))
            .map(|c| cand(*c))
            .collect();
        return (lead, list);
    };
    let arg = arg.trim_start();
    let start = before.len() - arg.len();
    let list: Vec<Candidate> = match cmd {
        ":help" | ":h" => help::names()
            .into_iter()
            .filter(|n| n.starts_with(arg))
            .map(cand)
            .collect(),
        ":dry-run" => ["on", "off"]
            .into_iter()
            .filter(|n| n.starts_with(arg))
            .map(cand)
            .collect(),
        _ => Vec::new(),
    };
    (start, list)
}

/// The signatures of the function whose argument list the cursor is in, when the line
/// ends there: `v4.add_pool(` → `v4.add_pool(key, range) | v4.add_pool(key, range, map)`.
pub fn signature_hint(src: &Sources, line: &str) -> Option<SignatureHint> {
    if line.trim_start().starts_with(':') {
        return None;
    }
    let (masked, state) = mask(line);
    if state != State::Code {
        return None;
    }
    // The innermost unclosed `(`.
    let mut depth = 0i32;
    let mut open = None;
    for (i, c) in masked.char_indices().rev() {
        match c {
            ')' | ']' => depth += 1,
            '(' | '[' => {
                if depth == 0 {
                    if c == '(' {
                        open = Some(i);
                    }
                    break;
                }
                depth -= 1;
            }
            '{' | '}' | ';' if depth == 0 => break,
            _ => {}
        }
    }
    let open = open?;
    let head = masked[..open].trim_end();
    let start = ident_start(head, head.len());
    let name = &head[start..];
    if name.is_empty() {
        return None;
    }
    let pre = &head[..start];
    let entries: Vec<&help::Entry> = match member_receiver(pre) {
        Some(recv) => {
            let ty = infer(src, recv);
            help::ENTRIES
                .iter()
                .filter(|e| e.name == name && e.kind == help::Kind::Method)
                .filter(|e| ty.as_deref().is_none_or(|t| e.on.contains(&t)))
                .collect()
        }
        None if pre.trim_end().ends_with("::") => return None,
        None => help::ENTRIES
            .iter()
            .filter(|e| {
                e.name == name && matches!(e.kind, help::Kind::Function | help::Kind::Language)
            })
            .collect(),
    };
    if entries.is_empty() {
        return None;
    }
    let mut sigs: Vec<&str> = Vec::new();
    for e in &entries {
        for s in e.signatures {
            if s.contains('(') && !sigs.contains(s) {
                sigs.push(s);
            }
        }
    }
    Some(SignatureHint {
        signatures: sigs.join(" | "),
        doc: entries
            .first()
            .filter(|_| entries.len() == 1)
            .map(|e| e.doc),
    })
}

/// What [`signature_hint`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHint {
    pub signatures: String,
    pub doc: Option<&'static str>,
}

impl SignatureHint {
    /// The hint in at most `width` columns: signatures and description, else the
    /// signatures, shortened if they must be.
    pub fn fit(&self, width: usize) -> Option<String> {
        let sigs = format!("   {}", self.signatures);
        if let Some(doc) = self.doc {
            let full = format!("{sigs} — {doc}");
            if full.chars().count() <= width {
                return Some(full);
            }
        }
        if sigs.chars().count() <= width {
            return Some(sigs);
        }
        (width >= 16).then(|| sigs.chars().take(width - 3).collect::<String>() + "...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repl::catalog::Catalog;

    fn catalog() -> Catalog {
        crate::repl::catalog::tests_support::catalog()
    }

    fn run(view: &View, before: &str) -> (usize, Vec<String>) {
        let c = catalog();
        let servers = vec!["lab".to_string(), "lab-unix".to_string()];
        let stdlib = ["kea/health"];
        let src = Sources {
            catalog: &c,
            view,
            servers: &servers,
            stdlib: &stdlib,
        };
        let (start, list) = complete(&src, before);
        (start, list.into_iter().map(|c| c.replacement).collect())
    }

    fn view() -> View {
        View {
            vars: vec![
                Var {
                    name: "srv".into(),
                    ty: "Server".into(),
                    keys: vec![],
                },
                Var {
                    name: "v4".into(),
                    ty: "Service".into(),
                    keys: vec![],
                },
                Var {
                    name: "tx".into(),
                    ty: "Transaction".into(),
                    keys: vec![],
                },
                Var {
                    name: "caps".into(),
                    ty: "map".into(),
                    keys: vec!["lease_cmds".into(), "ha".into()],
                },
            ],
            fns: vec!["my_report".into()],
            modules: vec![("h".into(), vec!["check".into(), "summary".into()])],
        }
    }

    #[test]
    fn methods_after_a_dot_follow_the_receiver_type() {
        let v = view();
        let line = "kea().dhcp4.capa";
        assert_eq!(run(&v, line), (12, vec!["capabilities(".to_string()]));
        assert_eq!(run(&v, "kea(\"lab\").dhcp4.capa").1, vec!["capabilities("]);
        assert_eq!(run(&v, "v4.add_po").1, vec!["add_pool("]);
        assert_eq!(run(&v, "srv.dh").1, vec!["dhcp4", "dhcp6"]);
        assert_eq!(run(&v, "srv.ver").1, vec!["version("]);
        // A Server has no `capabilities`; a Transaction has `commit` but not `subnets`.
        assert!(run(&v, "srv.capa").1.is_empty());
        assert_eq!(run(&v, "tx.comm").1, vec!["commit("]);
        assert!(run(&v, "tx.subnets").1.is_empty());
        assert_eq!(run(&v, "v4.begin().comm").1, vec!["commit("]);
        assert_eq!(run(&v, "srv.dhcp6.begin().dis").1, vec!["discard("]);
        // A map variable offers its keys and map methods.
        let caps = run(&v, "caps.").1;
        assert!(caps.contains(&"lease_cmds".to_string()), "{caps:?}");
        assert!(caps.contains(&"keys(".to_string()), "{caps:?}");
        // Unknown receiver: every API member.
        assert_eq!(run(&v, "servers()[0].dhcp4.capa").1, vec!["capabilities("]);
        assert!(run(&v, "foo.capa").1.contains(&"capabilities(".to_string()));
        // A range is not a member access.
        assert!(run(&v, "for i in 0..ca").1.contains(&"caps".to_string()));
    }

    #[test]
    fn globals_variables_and_keywords() {
        let v = view();
        assert_eq!(run(&v, "ke").1, vec!["kea("]);
        assert_eq!(run(&v, "let x = conn").1, vec!["connect("]);
        assert!(run(&v, "ca").1.contains(&"caps".to_string()));
        assert!(run(&v, "my_").1.contains(&"my_report(".to_string()));
        assert_eq!(run(&v, "whi").1, vec!["while"]);
        assert_eq!(run(&v, "h::su").1, vec!["summary("]);
        assert!(run(&v, "").1.is_empty());
        assert!(run(&v, "12").1.is_empty());
    }

    #[test]
    fn strings_servers_imports_and_comments() {
        let v = view();
        assert_eq!(
            run(&v, "kea(\"la"),
            (5, vec!["lab\")".into(), "lab-unix\")".into()])
        );
        assert_eq!(run(&v, "kea( \"lab-").1, vec!["lab-unix\")"]);
        assert_eq!(run(&v, "import \"kea/").1, vec!["kea/health\""]);
        assert!(run(&v, "print(\"kea().dhcp4.capa").1.is_empty());
        assert!(run(&v, "// kea().dhcp4.capa").1.is_empty());
        // A dot inside an earlier string does not confuse the receiver.
        assert_eq!(run(&v, "kea(\"a.b\").dhcp4.capa").1, vec!["capabilities("]);
        assert_eq!(run(&v, "`${kea().dhcp4.capa").1, vec!["capabilities("]);
    }

    #[test]
    fn commands_and_their_arguments() {
        let v = view();
        assert_eq!(run(&v, ":").1, COMMANDS.to_vec());
        assert_eq!(run(&v, ":he").1, vec![":help"]);
        assert_eq!(run(&v, ":dry-run o").1, vec!["on", "off"]);
        assert_eq!(run(&v, ":help add_po"), (6, vec!["add_pool".into()]));
    }

    #[test]
    fn hints_show_the_signatures_of_the_open_call() {
        let c = catalog();
        let v = view();
        let src = Sources {
            catalog: &c,
            view: &v,
            servers: &[],
            stdlib: &[],
        };
        let hint = |line: &str| signature_hint(&src, line).and_then(|h| h.fit(200));
        let h = hint("v4.add_pool(").unwrap();
        assert!(
            h.contains("v4.add_pool(key, range) | v4.add_pool(key, range, map)"),
            "{h}"
        );
        let h = hint("srv.command(\"x\", ").unwrap();
        assert!(h.contains("srv.command(cmd, service, args)"), "{h}");
        assert!(!h.contains("v4.command"), "{h}");
        let h = hint("let s = kea(").unwrap();
        assert!(h.contains("kea(name)"), "{h}");
        assert!(signature_hint(&src, "kea()").is_none());
        // The `(` inside the string does not count.
        let h = hint("print(\"(\"").unwrap();
        assert!(h.contains("print(x)"), "{h}");
        assert!(signature_hint(&src, "print(\"(").is_none());
        assert!(signature_hint(&src, "my_report(").is_none());
        // Narrow terminals get less.
        let h = signature_hint(&src, "v4.add_pool(").unwrap();
        assert!(h.fit(200).unwrap().contains(" — add a pool"));
        assert_eq!(
            h.fit(60).unwrap(),
            "   v4.add_pool(key, range) | v4.add_pool(key, range, map)"
        );
        assert_eq!(h.fit(20).unwrap(), "   v4.add_pool(ke...");
        assert!(h.fit(10).is_none());
    }
}
