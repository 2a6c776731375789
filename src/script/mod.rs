//! The Rhai layer: the only place that knows Rhai. Engine construction and limits, the
//! bindings of `spec/script-api.md`, Kea errors as catchable maps, the embedded stdlib.

mod api;
mod bounds;
pub mod check;
mod context;
mod convert;
mod engine;
pub mod errors;
pub mod help;
pub mod memory;
pub mod output;
mod resolver;
mod runner;
pub mod triggers;

pub use api::undo::{restore_snapshot, undo_change};
pub use bounds::{OVERRIDES, nested_deeper_than};
pub use context::{RunContext, STOP_CANCELLED, STOP_DEADLINE, render_plan};
pub use engine::{Limits, SCRIPT_STACK_SIZE, build_engine};
pub use errors::{describe_error, exit_status_of};
pub use resolver::STDLIB;
pub use runner::{
    Compiled, RunOutcome, Script, call_trigger, eval_input, run_file, run_script, run_source,
};
