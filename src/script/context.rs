//! What one script run shares with its host functions: the tokio runtime, the inventory,
//! the arguments, the deadline and the cancel switch, and the servers already connected.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhai::{Dynamic, EvalAltResult, Position};
use tokio::runtime::Handle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::errors::kea_error;
use super::memory::heap_in_use;
use crate::kea::audit::{AuditEntry, AuditLog};
use crate::kea::edit::journal::changes_in_flight;
use crate::kea::{Inventory, KeaError, Server};

/// How long a stop (Ctrl-C, SIGTERM, the deadline) waits for a change in flight.
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(30);

/// Why a run was stopped from outside the script.
pub const STOP_DEADLINE: &str = "deadline";
pub const STOP_CANCELLED: &str = "cancelled";

/// Shared state of one run (or one REPL session).
pub struct RunContext {
    handle: Handle,
    pub inventory: Inventory,
    pub args: Vec<String>,
    /// The run's time budget, counted from [`RunContext::start_clock`].
    pub timeout: Option<Duration>,
    deadline: Mutex<Option<Instant>>,
    cancel: Mutex<CancellationToken>,
    servers: Mutex<HashMap<String, Arc<Server>>>,
    dry_run: AtomicBool,
    single_peer: AtomicBool,
    /// A stop came while a change was in flight: it takes effect at the very next
    /// operation once the change is written or undone.
    stop_after_change: AtomicBool,
    /// The status `exit(n)` asked for (0 when it was not called).
    exit_status: std::sync::atomic::AtomicU8,
    /// Triggers registered by the script (`on_change`, `every`, `cron`), for the daemon.
    pub triggers: super::triggers::Registry,
    /// Where changes are recorded, and the name of the script that makes them.
    pub audit: AuditLog,
    pub script_name: Mutex<Option<String>>,
    trigger_name: Mutex<Option<String>>,
    /// While an undo runs: the change it undoes (its audit entries say so).
    pub undoing: Mutex<Option<String>>,
    /// The ids of the changes this run recorded, in order (for `run --confirm`).
    pub recorded: Mutex<Vec<String>>,
    /// The process's heap when the clock started: a run's memory is what it grew by since.
    heap_at_start: AtomicUsize,
    /// A limit hit where Rhai cannot take an error (see [`RunContext::stop_at_next_operation`]).
    stop: Mutex<Option<String>>,
    stop_pending: AtomicBool,
}

impl RunContext {
    pub fn new(handle: Handle, inventory: Inventory, args: Vec<String>) -> Self {
        Self {
            handle,
            inventory,
            args,
            timeout: None,
            deadline: Mutex::new(None),
            cancel: Mutex::new(CancellationToken::new()),
            servers: Mutex::new(HashMap::new()),
            dry_run: AtomicBool::new(false),
            single_peer: AtomicBool::new(false),
            stop_after_change: AtomicBool::new(false),
            exit_status: std::sync::atomic::AtomicU8::new(0),
            triggers: Default::default(),
            audit: AuditLog::default_log(),
            script_name: Mutex::new(None),
            trigger_name: Mutex::new(None),
            undoing: Mutex::new(None),
            recorded: Mutex::new(Vec::new()),
            heap_at_start: AtomicUsize::new(0),
            stop: Mutex::new(None),
            stop_pending: AtomicBool::new(false),
        }
    }

    /// Dry-run mode: mutations print their diff and commands and change nothing.
    pub fn set_dry_run(&self, on: bool) {
        self.dry_run.store(on, Ordering::SeqCst);
    }

    pub fn is_dry_run(&self) -> bool {
        self.dry_run.load(Ordering::SeqCst)
    }

    /// Records a change in the audit trail (never in a dry run). A failure to write it is
    /// reported on stderr: the change itself has been made.
    pub fn audit(&self, mut entry: AuditEntry) {
        if self.is_dry_run() {
            return;
        }
        entry.script = self.script_name.lock().expect("script lock").clone();
        entry.trigger = self.trigger_name.lock().expect("trigger lock").clone();
        if let Some(u) = self.undoing.lock().expect("undo lock").clone() {
            entry.undoes = Some(u);
        }
        // Every entry gets an id (`keascript undo ID` names entries by it; lease, HA and
        // command entries then answer `unsupported` instead of "not found").
        if entry.id.is_none() {
            entry.id = Some(crate::kea::edit::journal::new_id());
        }
        if let Some(id) = &entry.id
            && entry.outcome == "ok"
            && entry.resolves.is_none()
            && !crate::kea::undo::NOT_UNDOABLE.contains(&entry.kind.as_str())
        {
            let mut r = self.recorded.lock().expect("recorded lock");
            if !r.contains(id) {
                r.push(id.clone());
            }
        }
        if let Err(e) = self.audit.append(&entry) {
            eprintln!("warning: {}", e.message);
        }
    }

    /// In the daemon: the trigger whose runs this context serves (for the audit trail).
    pub fn set_trigger_name(&self, name: &str) {
        *self.trigger_name.lock().expect("trigger lock") = Some(name.to_string());
    }

    /// The script whose changes are recorded (a path, or `repl`).
    pub fn set_script_name(&self, name: &str) {
        *self.script_name.lock().expect("script lock") = Some(name.to_string());
    }

    /// While an HA peer is down, let changes go to the reachable peers only.
    pub fn set_single_peer(&self, on: bool) {
        self.single_peer.store(on, Ordering::SeqCst);
    }

    pub fn is_single_peer(&self) -> bool {
        self.single_peer.load(Ordering::SeqCst)
    }

    /// The inventory name of a connected server (by identity), if it came from there.
    pub fn inventory_name_of(&self, server: &Arc<Server>) -> Option<String> {
        self.servers
            .lock()
            .expect("servers lock")
            .iter()
            .find(|(_, s)| Arc::ptr_eq(s, server))
            .map(|(n, _)| n.clone())
    }

    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Starts the deadline clock (at the start of a run, or of each REPL statement), arms a
    /// fresh cancel switch and starts counting the run's memory from here.
    pub fn start_clock(&self) {
        *self.deadline.lock().expect("deadline lock") = self.timeout.map(|t| Instant::now() + t);
        *self.cancel.lock().expect("cancel lock") = CancellationToken::new();
        self.stop_after_change.store(false, Ordering::SeqCst);
        self.heap_at_start
            .store(heap_in_use().unwrap_or(0), Ordering::Relaxed);
        self.take_stop();
    }

    /// How much the process's heap grew since [`RunContext::start_clock`] (`None` when
    /// the counting allocator is not installed).
    pub fn heap_growth(&self) -> Option<usize> {
        heap_in_use().map(|n| n.saturating_sub(self.heap_at_start.load(Ordering::Relaxed)))
    }

    /// Ends the run at its next operation with `message`: for limits hit inside functions
    /// whose errors Rhai does not pass on (it calls `to_string` for `${…}` and, when that
    /// fails, formats the value itself).
    pub fn stop_at_next_operation(&self, message: String) {
        *self.stop.lock().expect("stop lock") = Some(message);
        self.stop_pending.store(true, Ordering::SeqCst);
    }

    /// The message of [`RunContext::stop_at_next_operation`], once.
    pub fn take_stop(&self) -> Option<String> {
        // Checked between all operations: a plain load first.
        if !self.stop_pending.load(Ordering::Relaxed)
            || !self.stop_pending.swap(false, Ordering::SeqCst)
        {
            return None;
        }
        self.stop.lock().expect("stop lock").take()
    }

    /// The result of a run, or statement, that ended before its next operation: a stop
    /// still pending turns it into that error.
    pub fn finish<T>(
        &self,
        result: Result<T, Box<EvalAltResult>>,
    ) -> Result<T, Box<EvalAltResult>> {
        match (result, self.take_stop()) {
            (Ok(_), Some(message)) => Err(terminated(&message)),
            (result, _) => result,
        }
    }

    /// Records the status `exit(n)` asked for.
    pub fn set_exit_status(&self, n: u8) {
        self.exit_status.store(n, Ordering::SeqCst);
    }

    /// The status `exit(n)` asked for, 0 when the script did not call it.
    pub fn exit_status(&self) -> u8 {
        self.exit_status.load(Ordering::SeqCst)
    }

    /// A stop that waited for a change in flight, due now (checked on every operation).
    pub fn stop_due(&self) -> bool {
        self.stop_after_change.load(Ordering::SeqCst)
    }

    /// Stops the running statement: script code at its next operation, a Kea call at once.
    pub fn cancel(&self) {
        self.cancel.lock().expect("cancel lock").cancel();
    }

    fn token(&self) -> CancellationToken {
        self.cancel.lock().expect("cancel lock").clone()
    }

    fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock().expect("deadline lock")
    }

    /// Why the run must stop now, if it must (checked between Rhai operations).
    pub fn stop_reason(&self) -> Option<&'static str> {
        if self.token().is_cancelled() {
            return Some(STOP_CANCELLED);
        }
        if self.deadline().is_some_and(|d| Instant::now() >= d) {
            return Some(STOP_DEADLINE);
        }
        None
    }

    /// Runs a Kea call to completion, bounded by the deadline and the cancel switch.
    pub fn block<T>(
        &self,
        fut: impl Future<Output = Result<T, KeaError>>,
    ) -> Result<T, Box<EvalAltResult>> {
        self.block_raw(fut)?.map_err(|e| kea_error(&e))
    }

    /// Like [`RunContext::block`], but hands back Kea's error as it is (for callers that
    /// record it); only a stop from outside (deadline, cancel) is a script error.
    pub fn block_raw<T>(
        &self,
        fut: impl Future<Output = Result<T, KeaError>>,
    ) -> Result<Result<T, KeaError>, Box<EvalAltResult>> {
        let token = self.token();
        let deadline = self.deadline();
        let stop_after = &self.stop_after_change;
        let outcome = self.handle.block_on(async move {
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(fut);
            tokio::pin!(sleep);
            // A change whose first mutating command is on its way is not abandoned: the
            // stop waits (bounded) until it is written or undone, then takes effect at
            // the script's next operation.
            let mut stop: Option<&'static str> = None;
            let grace = tokio::time::sleep(IN_FLIGHT_GRACE);
            tokio::pin!(grace);
            // A slow or hung server: after a second, a progress line on a terminal.
            let slow = tokio::time::sleep(std::time::Duration::from_secs(1));
            tokio::pin!(slow);
            let mut progress: Option<crate::term::Progress> = None;
            loop {
                let why = tokio::select! {
                    _ = &mut slow, if progress.is_none() => {
                        progress = Some(crate::term::Progress::spinner("waiting for Kea's answer…"));
                        continue;
                    }
                    r = &mut fut => {
                        if stop.is_some() {
                            stop_after.store(true, Ordering::SeqCst);
                        }
                        return Ok(r);
                    }
                    _ = token.cancelled(), if stop.is_none() => STOP_CANCELLED,
                    _ = &mut sleep, if stop.is_none() => STOP_DEADLINE,
                    _ = &mut grace, if stop.is_some() => {
                        eprintln!("warning: the change in flight did not finish within {}s; stopping anyway (the next change against that server settles it)", IN_FLIGHT_GRACE.as_secs());
                        return Err(stop.unwrap_or(STOP_CANCELLED));
                    }
                };
                if changes_in_flight() == 0 {
                    return Err(why);
                }
                eprintln!(
                    "{why}: waiting up to {}s for the change in flight to be written or undone",
                    IN_FLIGHT_GRACE.as_secs()
                );
                grace
                    .as_mut()
                    .reset(tokio::time::Instant::now() + IN_FLIGHT_GRACE);
                stop = Some(why);
            }
        });
        outcome.map_err(terminated)
    }

    /// Pauses the script, bounded like a Kea call.
    pub fn sleep(&self, d: Duration) -> Result<(), Box<EvalAltResult>> {
        self.block(async move {
            tokio::time::sleep(d).await;
            Ok(())
        })
    }

    /// The connected server of that inventory name, connecting on first use.
    pub fn server(&self, name: Option<&str>) -> Result<Arc<Server>, Box<EvalAltResult>> {
        let name = name.unwrap_or(&self.inventory.default).to_string();
        let mut servers = self.servers.lock().expect("servers lock");
        if let Some(s) = servers.get(&name) {
            return Ok(s.clone());
        }
        let entry = self.inventory.get(&name).map_err(|e| kea_error(&e))?;
        let server = self.enter(|| Server::from_entry(&name, entry));
        let server = Arc::new(server.map_err(|e| kea_error(&e))?);
        // Reads go on; the next change against that daemon settles what was left.
        for p in crate::kea::edit::journal::pending_for(&server) {
            eprintln!(
                "warning: a change to {name}/{} (id {}, {}) has an unknown outcome (its answer was lost); the next keascript change against it will finish or undo it",
                p.service, p.id, p.time
            );
        }
        servers.insert(name, server.clone());
        Ok(server)
    }

    /// Runs `f` inside the runtime context (reqwest clients must be built inside it).
    pub fn enter<T>(&self, f: impl FnOnce() -> T) -> T {
        let _guard = self.handle.enter();
        f()
    }
}

/// The non-catchable error that ends a run stopped from outside.
pub fn terminated(reason: &str) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorTerminated(
        Dynamic::from(reason.to_string()),
        Position::NONE,
    ))
}
