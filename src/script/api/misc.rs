//! `args()`, `env(name)`, `sleep(duration)`, `error_kind(e)`.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult};

use crate::script::RunContext;
use crate::script::errors::{invalid, kind_of_value};

/// Reads `"500ms"`, `"2s"`, `"15m"`, `"1h"` (and combinations such as `"1m 30s"`).
pub fn parse_duration(s: &str) -> Result<Duration, Box<EvalAltResult>> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        invalid(format!(
            "duration \"{s}\" is not valid ({e}); write e.g. \"500ms\", \"2s\", \"15m\", \"1h\""
        ))
    })
}

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    let c = ctx.clone();
    engine.register_fn("args", move || -> Array {
        c.args.iter().cloned().map(Dynamic::from).collect()
    });
    engine.register_fn("env", |name: &str| -> Dynamic {
        std::env::var(name).map_or(Dynamic::UNIT, Dynamic::from)
    });
    let c = ctx.clone();
    engine.register_fn("sleep", move |d: &str| -> Result<(), Box<EvalAltResult>> {
        c.sleep(parse_duration(d)?)
    });
    // `exit(n)` ends the script with exit status n (Rhai's own `exit` drops the value).
    let c = ctx.clone();
    engine.register_fn(
        "exit",
        move |n: rhai::INT| -> Result<(), Box<EvalAltResult>> {
            if !(0..=255).contains(&n) {
                return Err(invalid(format!(
                    "exit({n}): an exit status is a number from 0 to 255"
                )));
            }
            c.set_exit_status(n as u8);
            Err(Box::new(EvalAltResult::Exit(
                Dynamic::from(n),
                rhai::Position::NONE,
            )))
        },
    );
    let c = ctx;
    engine.register_fn(
        "sleep",
        move |ms: rhai::INT| -> Result<(), Box<EvalAltResult>> {
            if ms < 0 {
                return Err(invalid(format!("sleep(): {ms} ms is negative")));
            }
            c.sleep(Duration::from_millis(ms as u64))
        },
    );
    engine.register_fn("error_kind", |e: Dynamic| -> String { kind_of_value(&e) });
}
