//! `kea()`, `kea(name)`, `connect(url[, opts])`, `servers()`.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use super::ServerHandle;
use crate::kea::{Server, ServerEntry};
use crate::script::RunContext;
use crate::script::errors::{invalid, kea_error};

/// The keys `connect(url, opts)` accepts.
const CONNECT_OPTS: &[&str] = &[
    "service",
    "user",
    "password_file",
    "password_env",
    "ca_file",
    "cert_file",
    "key_file",
    "timeout_ms",
    "connect_timeout_ms",
    "max_answer_bytes",
];

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    let c = ctx.clone();
    engine.register_fn(
        "kea",
        move || -> Result<ServerHandle, Box<EvalAltResult>> { Ok(ServerHandle(c.server(None)?)) },
    );
    let c = ctx.clone();
    engine.register_fn(
        "kea",
        move |name: &str| -> Result<ServerHandle, Box<EvalAltResult>> {
            Ok(ServerHandle(c.server(Some(name))?))
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "connect",
        move |url: &str| -> Result<ServerHandle, Box<EvalAltResult>> {
            connect(&c, url, &Map::new())
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "connect",
        move |url: &str, opts: Map| -> Result<ServerHandle, Box<EvalAltResult>> {
            connect(&c, url, &opts)
        },
    );
    let c = ctx;
    engine.register_fn("servers", move || -> Result<Array, Box<EvalAltResult>> {
        let names: Vec<String> = c.inventory().servers.keys().cloned().collect();
        names
            .iter()
            .map(|n| Ok(Dynamic::from(ServerHandle(c.server(Some(n))?))))
            .collect()
    });
}

fn connect(ctx: &RunContext, url: &str, opts: &Map) -> Result<ServerHandle, Box<EvalAltResult>> {
    for key in opts.keys() {
        if key.as_str() == "password" {
            return Err(invalid(
                "connect(): do not put a password in a script; use password_file or password_env",
            ));
        }
        if !CONNECT_OPTS.contains(&key.as_str()) {
            return Err(invalid(format!(
                "connect(): unknown option \"{key}\" (known: {})",
                CONNECT_OPTS.join(", ")
            )));
        }
    }
    let string =
        |k: &str| -> Result<Option<String>, Box<EvalAltResult>> {
            match opts.get(k) {
                None => Ok(None),
                Some(v) if v.is_unit() => Ok(None),
                Some(v) => v.clone().into_string().map(Some).map_err(|t| {
                    invalid(format!("connect(): option {k} must be a string, not {t}"))
                }),
            }
        };
    // Timeouts may be 0 (none, as in the inventory); a size must be positive.
    let int = |k: &str| -> Result<Option<u64>, Box<EvalAltResult>> {
        let least = if k.ends_with("timeout_ms") { 0 } else { 1 };
        match opts.get(k) {
            None => Ok(None),
            Some(v) if v.is_unit() => Ok(None),
            Some(v) => match v.as_int() {
                Ok(n) if n >= least => Ok(Some(n as u64)),
                _ if least == 0 => Err(invalid(format!(
                    "connect(): option {k} must be a number of milliseconds (0: none), not {v}"
                ))),
                _ => Err(invalid(format!(
                    "connect(): option {k} must be a positive integer, not {v}"
                ))),
            },
        }
    };
    let entry = ServerEntry {
        url: Some(url.to_string()),
        user: string("user")?,
        password_file: string("password_file")?.map(Into::into),
        password_env: string("password_env")?,
        ca_file: string("ca_file")?.map(Into::into),
        cert_file: string("cert_file")?.map(Into::into),
        key_file: string("key_file")?.map(Into::into),
        timeout_ms: int("timeout_ms")?,
        connect_timeout_ms: int("connect_timeout_ms")?,
        max_answer_bytes: int("max_answer_bytes")?.map(|n| n as usize),
        ..Default::default()
    };
    let options = entry.transport_options(url).map_err(|e| kea_error(&e))?;
    let service = string("service")?;
    let server = ctx
        .enter(|| Server::connect(url, service.as_deref(), options))
        .map_err(|e| kea_error(&e))?;
    Ok(ServerHandle(Arc::new(server)))
}
