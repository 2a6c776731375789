//! Allocations Rhai does not bound by itself once its size limits are off (see
//! [`super::memory`]): the engine stops a run whose heap grew past the limit (checked
//! between operations, in `on_progress`), and the few functions that allocate in one go a
//! size the script names (`pad`, `blob(n)`) check that size against what is left first, so
//! a single call cannot exhaust the host's memory before the next check.
//!
//! The functions here replace Rhai's own ones of the same names and behave the same within
//! the limits.

use std::sync::Arc;

use rhai::{Array, Blob, Dynamic, Engine, EvalAltResult, INT, ImmutableString, Map};

use super::context::{RunContext, terminated};
use super::memory::human_bytes;

/// Names of Rhai's own functions that keascript replaces (with the same behaviour, within
/// the limits); they are not part of the script API (`:help`).
pub const OVERRIDES: &[&str] = &["pad", "blob"];

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>, max_memory: usize) {
    register_allocations(engine, &ctx, max_memory);
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
