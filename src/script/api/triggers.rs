//! Triggers: `on_change(path, fn)`, `every(duration, fn)`, `cron(expr, fn)`; and the small
//! host functions trigger bodies need: files (`read_file`, `write_file`, `append_file`),
//! Kea configuration files (`parse_kea_json`, `read_kea_config`), configuration drift
//! (`config_changes`, `config_differences`, `load_snapshot`, `save_snapshot`) and
//! `log(level, message)`.

use std::path::Path;
use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext, Shared};

use crate::kea::KeaError;
use crate::kea::drift::{self, Change};
use crate::script::RunContext;
use crate::script::convert::{to_dynamic, to_json};
use crate::script::errors::{invalid, kea_error};
use crate::script::triggers::{self, Mode, Trigger, TriggerKind, parse_cron, parse_every};

type R<T> = Result<T, Box<EvalAltResult>>;

/// Records a trigger registered by the script, with the imports in force where it was
/// registered and the place it was registered at.
fn add(cx: &NativeCallContext, ctx: &RunContext, kind: TriggerKind, callback: FnPtr) -> R<()> {
    let what = kind.describe();
    match ctx.triggers.mode() {
        Mode::InTrigger => {
            return Err(invalid(format!(
                "{what}: triggers are registered when the script starts, not inside a trigger"
            )));
        }
        Mode::Run => tracing::warn!(
            "{what} registered, but triggers run only under `keascript daemon`; `keascript run` ignores them"
        ),
        Mode::Daemon => {}
    }
    let mut imports: Vec<(String, Shared<rhai::Module>)> = Vec::new();
    for (name, module) in cx.iter_imports() {
        if !imports.iter().any(|(n, _)| n == name) {
            imports.push((name.to_string(), Shared::new(module.clone())));
        }
    }
    // Registered from inside an imported module: keep its functions (the closure is one).
    let namespaces: Vec<Shared<rhai::Module>> = if cx.iter_namespaces().count() > 1 {
        cx.iter_namespaces()
            .map(|m| Shared::new(m.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let pos = cx.call_position();
    let src = cx.call_source().unwrap_or("<script>");
    let src = Path::new(src)
        .file_name()
        .map_or(src.to_string(), |n| n.to_string_lossy().to_string());
    let origin = match pos.line() {
        Some(l) => format!("{src}:{l}"),
        None => src.to_string(),
    };
    ctx.triggers.add(Trigger {
        kind,
        callback,
        imports,
        namespaces,
        origin,
    });
    Ok(())
}

fn changes_to_array(list: Vec<Change>, file: bool) -> Array {
    list.into_iter()
        .map(|c| {
            let mut m = Map::new();
            let line = if file { c.file_line() } else { c.line() };
            m.insert("line".into(), line.into());
            m.insert("kind".into(), c.kind.into());
            m.insert("key".into(), c.key.into());
            m.insert("change".into(), c.change.into());
            m.insert("detail".into(), c.detail.into());
            Dynamic::from_map(m)
        })
        .collect()
}

fn kea(e: KeaError) -> Box<EvalAltResult> {
    kea_error(&e)
}

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    let c = ctx.clone();
    engine.register_fn(
        "on_change",
        move |cx: NativeCallContext, path: &str, f: FnPtr| -> R<()> {
            let path = triggers::watch_path(path).map_err(invalid)?;
            add(&cx, &c, TriggerKind::Change { path }, f)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "every",
        move |cx: NativeCallContext, period: &str, f: FnPtr| -> R<()> {
            let d = parse_every(period).map_err(invalid)?;
            let kind = TriggerKind::Every {
                period: d,
                text: period.trim().to_string(),
            };
            add(&cx, &c, kind, f)
        },
    );
    let c = ctx;
    engine.register_fn(
        "cron",
        move |cx: NativeCallContext, expr: &str, f: FnPtr| -> R<()> {
            let schedule = parse_cron(expr).map_err(invalid)?;
            let kind = TriggerKind::Cron {
                schedule: Box::new(schedule),
                text: expr.trim().to_string(),
            };
            add(&cx, &c, kind, f)
        },
    );

    // Files.
    engine.register_fn("read_file", |path: &str| -> R<String> {
        drift::read_text(Path::new(path)).map_err(kea)
    });
    engine.register_fn("write_file", |path: &str, text: &str| -> R<()> {
        std::fs::write(path, text).map_err(|e| invalid(format!("cannot write {path}: {e}")))
    });
    engine.register_fn("append_file", |path: &str, text: &str| -> R<()> {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| invalid(format!("cannot append to {path}: {e}")))
    });

    // Kea configuration files.
    engine.register_fn("parse_kea_json", |text: &str| -> R<Dynamic> {
        to_dynamic(&drift::parse_config_text(text, "the text").map_err(kea)?)
    });
    engine.register_fn("read_kea_config", |path: &str| -> R<Dynamic> {
        to_dynamic(&drift::read_config_file(Path::new(path)).map_err(kea)?)
    });

    // Drift.
    engine.register_fn(
        "config_changes",
        |before: Dynamic, after: Dynamic| -> R<Array> {
            let a = to_json(&before, "the first configuration")?;
            let b = to_json(&after, "the second configuration")?;
            Ok(changes_to_array(drift::changes(&a, &b), false))
        },
    );
    engine.register_fn(
        "config_differences",
        |running: Dynamic, file: Dynamic| -> R<Array> {
            let a = to_json(&running, "the running configuration")?;
            let b = to_json(&file, "the file's configuration")?;
            Ok(changes_to_array(drift::differences(&a, &b), true))
        },
    );
    engine.register_fn("load_snapshot", |name: &str| -> R<Dynamic> {
        match drift::load_snapshot(name).map_err(kea)? {
            Some(v) => to_dynamic(&v),
            None => Ok(Dynamic::UNIT),
        }
    });
    engine.register_fn("save_snapshot", |name: &str, cfg: Dynamic| -> R<String> {
        let v = to_json(&cfg, "the snapshot")?;
        Ok(drift::save_snapshot(name, &v)
            .map_err(kea)?
            .display()
            .to_string())
    });

    // Logging (to the daemon's log; `keascript run` shows warnings and errors).
    engine.register_fn(
        "log",
        |cx: NativeCallContext, level: &str, msg: &str| -> R<()> { log(&cx, level, msg) },
    );
    engine.register_fn("log", |cx: NativeCallContext, msg: &str| -> R<()> {
        log(&cx, "info", msg)
    });
}

fn log(cx: &NativeCallContext, level: &str, msg: &str) -> R<()> {
    // Inside a trigger the daemon's own fields say which one; at the top level, the file.
    let src = cx.call_source().unwrap_or_default();
    macro_rules! emit {
        ($lvl:ident) => {
            if src.is_empty() {
                tracing::$lvl!(target: "script", "{msg}")
            } else {
                tracing::$lvl!(target: "script", source = src, "{msg}")
            }
        };
    }
    match level {
        "error" => emit!(error),
        "warn" | "warning" => emit!(warn),
        "info" => emit!(info),
        "debug" => emit!(debug),
        other => {
            return Err(invalid(format!(
                "log(): level \"{other}\" is not one of error, warn, info, debug"
            )));
        }
    }
    Ok(())
}
