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
    match innermost(err).0 {
        EvalAltResult::ErrorRuntime(v, _) => kind_of_value(v),
        _ => "script".to_string(),
    }
}

/// The message of an error raised by a host function.
pub fn message_of_error(err: &EvalAltResult) -> String {
    match innermost(err).0 {
        EvalAltResult::ErrorRuntime(v, _) => v
            .read_lock::<Map>()
            .and_then(|m| m.get("message").and_then(|m| m.clone().into_string().ok()))
            .unwrap_or_else(|| v.to_string()),
        other => other.to_string(),
    }
}

/// The innermost error (inside function calls and modules) and the call chain to it.
fn innermost(err: &EvalAltResult) -> (&EvalAltResult, Vec<String>) {
    let mut chain = Vec::new();
    let mut cur = err;
    loop {
        match cur {
            EvalAltResult::ErrorInFunctionCall(name, src, inner, pos) => {
                chain.push(format!("in `{name}` called at {}", at(src, *pos)));
                cur = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                chain.push(format!("in module \"{name}\" imported at {}", at("", *pos)));
                cur = inner;
            }
            _ => return (cur, chain),
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

/// The exit status for an error that ended a script (`spec/script-api.md` › Exit status).
pub fn exit_status_of(err: &EvalAltResult) -> u8 {
    let (inner, _) = innermost(err);
    match inner {
        EvalAltResult::ErrorRuntime(v, _) => {
            ErrorKind::parse(&kind_of_value(v)).map_or(1, ErrorKind::exit_status)
        }
        _ => 1,
    }
}

/// A human message for an error that ended a script, with where it happened.
pub fn describe_error(err: &EvalAltResult, source: &str, limits: &super::Limits) -> String {
    let (inner, chain) = innermost(err);
    // Errors raised inside native calls may carry no position of their own: use the
    // nearest one on the way in.
    let mut pos = err.position();
    let mut cur = err;
    loop {
        if !cur.position().is_none() {
            pos = cur.position();
        }
        match cur {
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
            | EvalAltResult::ErrorInModule(_, inner, _) => cur = inner,
            _ => break,
        }
    }
    let where_ = if pos.is_none() {
        String::new()
    } else {
        // Positions inside a function body refer to the file that defines it.
        format!(" at {}", at(source, pos))
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
        other => {
            // Rhai's own message without its trailing "(line x, position y)".
            let s = other.to_string();
            match s.rfind(" (line ") {
                Some(i) if s.ends_with(')') => s[..i].to_string(),
                _ => s,
            }
        }
    };
    let mut out = format!("error: {what}{where_}");
    for c in chain.iter().rev() {
        out.push_str(&format!("\n  {c}"));
    }
    // An uncaught throw may carry anything the script built, a loaded secret too.
    crate::kea::redact::text(&out).into_owned()
}
