//! Limits Rhai does not keep by itself, held as errors that name the limit:
//!
//! - **Nesting.** Rhai prints, compares and serialises values recursively, so a value nested
//!   20,000 levels deep overflows the native stack when printed. Every way a script turns an
//!   array or map into text (`print`, `debug`, `to_string`, `to_debug`, `${…}`, `+` with a
//!   string, `to_json`) first measures the depth with a walk that never goes deeper than the
//!   limit, and refuses deeper values.
//! - **Memory** (see [`super::memory`]): the engine stops a run whose heap grew past the limit
//!   (checked between operations, in `on_progress`). The few functions that allocate in one go
//!   a size the script names (`pad`, `blob(n)`) check that size against what is left first, so
//!   a single call cannot exhaust the host's memory before the next check.
//!
//! The functions here replace Rhai's own ones of the same names and behave the same within
//! the limits.

use std::sync::Arc;

use rhai::{
    Array, Blob, Dynamic, Engine, EvalAltResult, FuncRegistration, INT, ImmutableString, Map,
    NativeCallContext,
};

use super::context::{RunContext, terminated};
use super::memory::human_bytes;

/// Names of Rhai's own functions that keascript replaces (with the same behaviour, within
/// the limits); they are not part of the script API (`:help`).
pub const OVERRIDES: &[&str] = &[
    "print",
    "debug",
    "to_string",
    "to_debug",
    "to_json",
    "pad",
    "blob",
];

/// Whether `v` holds arrays or maps nested more than `max` levels deep (`[]` is one level,
/// `[[]]` two). The walk itself never goes deeper than `max + 1`.
pub fn nested_deeper_than(v: &Dynamic, max: usize) -> bool {
    if let Some(a) = v.read_lock::<Array>() {
        return max == 0 || a.iter().any(|x| nested_deeper_than(x, max - 1));
    }
    if let Some(m) = v.read_lock::<Map>() {
        return max == 0 || m.values().any(|x| nested_deeper_than(x, max - 1));
    }
    false
}

/// The message of a refused value.
fn too_deep(what: &str, max: usize) -> String {
    format!(
        "cannot {what} a value nested more than {max} levels deep (the nesting limit); \
         work on a part of it"
    )
}

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>, max_depth: usize, max_memory: usize) {
    register_text(engine, &ctx, max_depth);
    register_allocations(engine, &ctx, max_memory);
}

/// `print`, `debug`, `to_string`, `to_debug` of arrays and maps, and `to_json` of maps.
fn register_text(engine: &mut Engine, ctx: &Arc<RunContext>, max: usize) {
    // `print` and `debug` are only ever called by the script: they refuse at once.
    for name in ["print", "debug"] {
        let verb = if name == "print" { "print" } else { "debug" };
        FuncRegistration::new(name)
            .with_purity(true)
            .register_into_engine(
                engine,
                move |nc: NativeCallContext, a: &mut Array| -> Result<String, Box<EvalAltResult>> {
                    if a.iter()
                        .any(|x| nested_deeper_than(x, max.saturating_sub(1)))
                    {
                        return Err(terminated(&too_deep(verb, max)));
                    }
                    let mut out = String::new();
                    array_text(&nc, a, &mut out)?;
                    Ok(out)
                },
            );
        FuncRegistration::new(name)
            .with_purity(true)
            .register_into_engine(
                engine,
                move |nc: NativeCallContext, m: &mut Map| -> Result<String, Box<EvalAltResult>> {
                    if m.values()
                        .any(|x| nested_deeper_than(x, max.saturating_sub(1)))
                    {
                        return Err(terminated(&too_deep(verb, max)));
                    }
                    let mut out = String::new();
                    map_text(&nc, m, &mut out)?;
                    Ok(out)
                },
            );
    }
    // Rhai also calls `to_string`/`to_debug` for `${…}` and `"text" + value`, and if they
    // fail it falls back to formatting the value recursively itself, which is the very
    // crash: so these return a stand-in and stop the run at its next operation.
    for name in ["to_string", "to_debug"] {
        let c = ctx.clone();
        FuncRegistration::new(name)
            .with_purity(true)
            .register_into_engine(
                engine,
                move |nc: NativeCallContext, a: &mut Array| -> Result<String, Box<EvalAltResult>> {
                    if a.iter()
                        .any(|x| nested_deeper_than(x, max.saturating_sub(1)))
                    {
                        c.stop_at_next_operation(too_deep("turn into text", max));
                        return Ok("[…]".into());
                    }
                    let mut out = String::new();
                    array_text(&nc, a, &mut out)?;
                    Ok(out)
                },
            );
        let c = ctx.clone();
        FuncRegistration::new(name)
            .with_purity(true)
            .register_into_engine(
                engine,
                move |nc: NativeCallContext, m: &mut Map| -> Result<String, Box<EvalAltResult>> {
                    if m.values()
                        .any(|x| nested_deeper_than(x, max.saturating_sub(1)))
                    {
                        c.stop_at_next_operation(too_deep("turn into text", max));
                        return Ok("#{…}".into());
                    }
                    let mut out = String::new();
                    map_text(&nc, m, &mut out)?;
                    Ok(out)
                },
            );
    }
    FuncRegistration::new("to_json")
        .with_purity(true)
        .register_into_engine(
            engine,
            move |m: &mut Map| -> Result<String, Box<EvalAltResult>> {
                if m.values()
                    .any(|x| nested_deeper_than(x, max.saturating_sub(1)))
                {
                    return Err(terminated(&too_deep("write as JSON", max)));
                }
                let sorted: std::collections::BTreeMap<&str, &Dynamic> =
                    m.iter().map(|(k, v)| (k.as_str(), v)).collect();
                Ok(serde_json::to_string(&sorted).unwrap_or_else(|_| "ERROR".into()))
            },
        );
}

/// As Rhai writes an array: `[1, "a", #{"k": ()}]`. Leaves are written by their `to_debug`.
fn array_text(
    nc: &NativeCallContext,
    a: &mut Array,
    out: &mut String,
) -> Result<(), Box<EvalAltResult>> {
    out.push('[');
    for (i, x) in a.iter_mut().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        value_text(nc, x, out)?;
    }
    out.push(']');
    Ok(())
}

/// As Rhai writes a map: `#{"a": 1, "b": [2]}`.
fn map_text(
    nc: &NativeCallContext,
    m: &mut Map,
    out: &mut String,
) -> Result<(), Box<EvalAltResult>> {
    out.push_str("#{");
    for (i, (k, x)) in m.iter_mut().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!("{:?}: ", k.as_str()));
        value_text(nc, x, out)?;
    }
    out.push('}');
    Ok(())
}

/// Nested arrays and maps here (the depth was checked), anything else by its `to_debug`.
fn value_text(
    nc: &NativeCallContext,
    x: &mut Dynamic,
    out: &mut String,
) -> Result<(), Box<EvalAltResult>> {
    if let Some(mut a) = x.write_lock::<Array>() {
        return array_text(nc, &mut a, out);
    }
    if let Some(mut m) = x.write_lock::<Map>() {
        return map_text(nc, &mut m, out);
    }
    let text = nc.call_native_fn_raw("to_debug", true, &mut [x])?;
    match text.into_immutable_string() {
        Ok(s) => out.push_str(&s),
        Err(ty) => out.push_str(nc.engine().map_type_name(ty)),
    }
    Ok(())
}

/// About how many bytes a copy of `v` takes (for `pad`); parts nested deeper than a few
/// levels are not counted (the check between operations catches what this misses).
fn approx_bytes(v: &Dynamic, levels: usize) -> usize {
    const SLOT: usize = std::mem::size_of::<Dynamic>();
    if levels == 0 {
        return 0;
    }
    if let Some(a) = v.read_lock::<Array>() {
        return a.len() * SLOT + a.iter().map(|x| approx_bytes(x, levels - 1)).sum::<usize>();
    }
    if let Some(m) = v.read_lock::<Map>() {
        // A B-tree entry: the key, the value and about as much again for the node.
        return m.len() * 4 * SLOT
            + m.values()
                .map(|x| approx_bytes(x, levels - 1))
                .sum::<usize>();
    }
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return s.len();
    }
    if let Some(b) = v.read_lock::<Blob>() {
        return b.len();
    }
    0
}

/// Refuses an allocation of `need` bytes that would take the run past its memory limit.
fn check_room(
    ctx: &RunContext,
    max_memory: usize,
    need: usize,
    what: &str,
) -> Result<(), Box<EvalAltResult>> {
    if max_memory == 0 {
        return Ok(());
    }
    let used = ctx.heap_growth().unwrap_or(0);
    if used.saturating_add(need) > max_memory {
        return Err(terminated(&format!(
            "{what} needs about {}, more than the {} left of its memory limit of {} \
             (raise it with --max-memory)",
            human_bytes(need),
            human_bytes(max_memory.saturating_sub(used)),
            human_bytes(max_memory)
        )));
    }
    Ok(())
}

fn cannot_allocate(what: &str, need: usize) -> Box<EvalAltResult> {
    terminated(&format!(
        "{what} needs about {}, which the system cannot allocate",
        human_bytes(need)
    ))
}

/// `pad` (arrays, strings, BLOBs) and `blob(n)`, `blob(n, value)`.
fn register_allocations(engine: &mut Engine, ctx: &Arc<RunContext>, max_memory: usize) {
    let c = ctx.clone();
    engine.register_fn(
        "pad",
        move |a: &mut Array, len: INT, item: Dynamic| -> Result<(), Box<EvalAltResult>> {
            let Ok(len) = usize::try_from(len) else {
                return Ok(());
            };
            if len <= a.len() {
                return Ok(());
            }
            let extra = len - a.len();
            let need =
                extra.saturating_mul(std::mem::size_of::<Dynamic>() + approx_bytes(&item, 8));
            let what = format!("padding an array to {len} items");
            check_room(&c, max_memory, need, &what)?;
            a.try_reserve(extra)
                .map_err(|_| cannot_allocate(&what, need))?;
            a.resize(len, item);
            Ok(())
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "pad",
        move |s: &mut ImmutableString, len: INT, ch: char| -> Result<(), Box<EvalAltResult>> {
            pad_string(&c, max_memory, s, len, &ch.to_string())
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "pad",
        move |s: &mut ImmutableString, len: INT, padding: &str| -> Result<(), Box<EvalAltResult>> {
            pad_string(&c, max_memory, s, len, padding)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "pad",
        move |b: &mut Blob, len: INT, value: INT| -> Result<(), Box<EvalAltResult>> {
            let Ok(len) = usize::try_from(len) else {
                return Ok(());
            };
            if len <= b.len() {
                return Ok(());
            }
            let what = format!("padding a BLOB to {len} bytes");
            check_room(&c, max_memory, len - b.len(), &what)?;
            b.try_reserve(len - b.len())
                .map_err(|_| cannot_allocate(&what, len))?;
            b.resize(len, (value & 0xff) as u8);
            Ok(())
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "blob",
        move |len: INT| -> Result<Blob, Box<EvalAltResult>> { new_blob(&c, max_memory, len, 0) },
    );
    let c = ctx.clone();
    engine.register_fn(
        "blob",
        move |len: INT, value: INT| -> Result<Blob, Box<EvalAltResult>> {
            new_blob(&c, max_memory, len, value)
        },
    );
}

fn new_blob(
    ctx: &RunContext,
    max_memory: usize,
    len: INT,
    value: INT,
) -> Result<Blob, Box<EvalAltResult>> {
    let Ok(len) = usize::try_from(len) else {
        return Ok(Blob::new());
    };
    let what = format!("a BLOB of {len} bytes");
    check_room(ctx, max_memory, len, &what)?;
    let mut b = Blob::new();
    b.try_reserve(len)
        .map_err(|_| cannot_allocate(&what, len))?;
    b.resize(len, (value & 0xff) as u8);
    Ok(b)
}

/// Pads `s` to `len` characters with copies of `padding` (the last one cut to fit).
fn pad_string(
    ctx: &RunContext,
    max_memory: usize,
    s: &mut ImmutableString,
    len: INT,
    padding: &str,
) -> Result<(), Box<EvalAltResult>> {
    let Ok(len) = usize::try_from(len) else {
        return Ok(());
    };
    let have = s.chars().count();
    // Rhai loops for ever on an empty padding; there is nothing to pad with.
    if len <= have || padding.is_empty() {
        return Ok(());
    }
    let missing = len - have;
    let widest = padding.chars().map(char::len_utf8).max().unwrap_or(1);
    let need = s.len().saturating_add(missing.saturating_mul(widest));
    let what = format!("padding a string to {len} characters");
    check_room(ctx, max_memory, need, &what)?;
    let mut out = String::new();
    out.try_reserve(need)
        .map_err(|_| cannot_allocate(&what, need))?;
    out.push_str(s);
    out.extend(padding.chars().cycle().take(missing));
    *s = out.into();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nest(levels: usize, map: bool) -> Dynamic {
        let mut v = Dynamic::from_int(1);
        for _ in 0..levels {
            v = if map {
                let mut m = Map::new();
                m.insert("a".into(), v);
                Dynamic::from_map(m)
            } else {
                Dynamic::from_array(vec![v])
            };
        }
        v
    }

    #[test]
    fn depth_is_measured_without_going_past_the_limit() {
        assert!(!nested_deeper_than(&Dynamic::from_int(1), 0));
        assert!(nested_deeper_than(&nest(1, false), 0));
        assert!(!nested_deeper_than(&nest(1, false), 1));
        for map in [false, true] {
            assert!(!nested_deeper_than(&nest(1000, map), 1000));
            assert!(nested_deeper_than(&nest(1001, map), 1000));
        }
        // Far deeper than a test thread's stack could walk: the walk stops at the limit.
        let deep = nest(200_000, false);
        assert!(nested_deeper_than(&deep, 1000));
        // Rhai drops nested values recursively; take it apart from the outside.
        let mut v = deep;
        while let Ok(mut a) = v.try_cast_result::<Array>() {
            v = a.pop().unwrap_or(Dynamic::UNIT);
        }
    }
}
