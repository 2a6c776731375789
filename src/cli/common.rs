//! What `run`, `repl` and `daemon` share: reading durations, picking the inventory's
//! server, and the engine limits from the flags.

use std::time::Duration;

use crate::kea::Inventory;
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

/// The engine limits from `--timeout` (zero: none) and `--max-operations`.
pub fn limits(timeout: Duration, max_operations: Option<u64>) -> Limits {
    let mut limits = Limits {
        timeout: (!timeout.is_zero()).then_some(timeout),
        ..Limits::default()
    };
    if let Some(n) = max_operations {
        limits.max_operations = n;
    }
    limits
}
