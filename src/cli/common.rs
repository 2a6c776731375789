//! What `run`, `repl` and `daemon` share: reading durations, picking the inventory's
//! server, and the engine limits from the flags.

use std::path::Path;
use std::time::Duration;

use crate::kea::{Inventory, KeaError};
use crate::lab::{Lab, LabOptions};
use crate::script::Limits;

/// A `--timeout` value: a duration such as `30s` or `10m`, or `0` for none.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (write e.g. 30s, 10m, 1h)"))
}

/// Makes `--server NAME` the server `kea()` returns; an unknown name is an error message.
pub fn select_server(inventory: &mut Inventory, server: Option<&str>) -> Result<(), String> {
    if let Some(name) = server {
        inventory.get(name).map_err(|e| e.message)?;
        inventory.default = name.to_string();
    }
    Ok(())
}

/// A `--max-memory` value: `512M`, `2G`, a byte count, or `0` for none.
pub fn parse_memory(s: &str) -> Result<usize, String> {
    crate::script::memory::parse_bytes(s)
}

/// The engine limits from `--timeout`, `--max-operations` and `--max-memory` (each: zero
/// means none).
pub fn limits(timeout: Duration, max_operations: Option<u64>, max_memory: usize) -> Limits {
    let mut limits = Limits {
        timeout: (!timeout.is_zero()).then_some(timeout),
        max_memory,
        ..Limits::default()
    };
    if let Some(n) = max_operations {
        limits.max_operations = n;
    }
    limits
}

/// Says why `path` cannot be the script to run: missing, or a directory.
pub fn check_script(path: &Path) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(format!(
            "script {} is a directory; give the script file to run",
            path.display()
        )),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("script {} not found", path.display()))
        }
        Err(e) => Err(format!("cannot read script {}: {e}", path.display())),
    }
}

/// Starts a lab for `run --lab` / `repl --lab` and reads its inventory; `None` (after saying
/// why) when the lab cannot start.
pub fn start_lab(
    runtime: &tokio::runtime::Runtime,
    note: &str,
) -> Option<(Lab, Result<Inventory, KeaError>)> {
    let progress = crate::term::Progress::spinner("starting the Kea lab…");
    let started = runtime.block_on(Lab::start(LabOptions::default()));
    progress.finish();
    match started {
        Ok(l) => {
            crate::term::note(&format!(
                "lab: Kea {} up at {} ({}){note}",
                l.version,
                l.url(),
                l.dir().display()
            ));
            let inventory = Inventory::load(l.inventory());
            Some((l, inventory))
        }
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

/// Runs `fut` to its end; once it has taken more than a second, a progress line says
/// `message` (e.g. "waiting for edge1…") until it ends. Nothing is shown when stderr is
/// not a terminal or under `-q`.
pub fn block_with_progress<F: std::future::Future>(
    runtime: &tokio::runtime::Runtime,
    message: &str,
    fut: F,
) -> F::Output {
    runtime.block_on(async {
        let mut fut = std::pin::pin!(fut);
        tokio::select! {
            out = &mut fut => return out,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let progress = crate::term::Progress::spinner(message);
        let out = fut.await;
        progress.finish();
        out
    })
}

/// The inventory (`--config`, …) and its server `name` (default: the inventory's
/// default), ready to send commands; a message when either cannot be had.
pub fn inventory_server(
    runtime: &tokio::runtime::Runtime,
    config: Option<&Path>,
    name: Option<&str>,
) -> Result<std::sync::Arc<crate::kea::Server>, String> {
    let inventory = Inventory::discover(config).map_err(|e| e.message)?;
    let name = name.unwrap_or(&inventory.default).to_string();
    let entry = inventory.get(&name).map_err(|e| e.message)?.clone();
    let _guard = runtime.enter();
    crate::kea::Server::from_entry(&name, &entry)
        .map(std::sync::Arc::new)
        .map_err(|e| e.message)
}
