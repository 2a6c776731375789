//! `keascript daemon`: runs a script's triggers (file changes, timers) until stopped
//! (`spec/design.md` › Triggers and the daemon).
//!
//! The script runs once, top to bottom, and registers its triggers (`on_change`, `every`,
//! `cron`, see [`crate::script::triggers`]). Each trigger then gets:
//! - a script thread of its own with its own engine, limits and per-run deadline
//!   ([`executor`]): Rhai is synchronous and its Kea calls block;
//! - a driver on the tokio runtime ([`policy`]) that never lets it run twice at once:
//!   timer firings during a run are skipped and counted, file changes during a run are
//!   coalesced into one more run;
//! - a source: a timer ([`schedule`]) or the watch of its file's directory ([`watch`]).
//!
//! The [`supervisor`] handles signals (SIGINT/SIGTERM: stop, SIGHUP: reload the script);
//! [`logging`] formats the log for journald or as JSON; [`notify`] speaks systemd's
//! readiness and watchdog protocol.

pub mod executor;
pub mod logging;
pub mod notify;
pub mod policy;
pub mod schedule;
pub mod supervisor;
pub mod watch;

pub use executor::Setup;
pub use logging::{LogFormat, dispatch};
pub use supervisor::{DaemonOptions, run};
