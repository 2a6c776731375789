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
    match runtime.block_on(Lab::start(LabOptions::default())) {
        Ok(l) => {
            eprintln!(
                "lab: Kea {} up at {} ({}){note}",
                l.version,
                l.url(),
                l.dir().display()
            );
            let inventory = Inventory::load(l.inventory());
            Some((l, inventory))
        }
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}
