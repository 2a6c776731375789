//! What one script run shares with its host functions: the tokio runtime, the estate (the
//! inventory and the servers already connected), the arguments, the deadline and the cancel
//! switch, and a dry run's staged configurations (its plan).

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
use super::output::{Console, Line, Sink};
use crate::kea::audit::{AuditEntry, AuditLog};
use crate::kea::config::ConfigDoc;
use crate::kea::edit::journal::changes_in_flight;
use crate::kea::edit::{self, Auditor, Change, Edit, Options, Outcome, ServicePlan, Stage};
use crate::kea::estate::Estate;
use crate::kea::{Inventory, KeaError, Server, Service};

/// How long a stop (Ctrl-C, SIGTERM, the deadline) waits for a change in flight.
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(30);

/// Why a run was stopped from outside the script.
pub const STOP_DEADLINE: &str = "deadline";
pub const STOP_CANCELLED: &str = "cancelled";

/// Shared state of one run (or one REPL session).
pub struct RunContext {
    handle: Handle,
    /// The inventory and the servers connected so far (shared by every change: HA peers and
    /// `global` classes are found there).
    pub estate: Arc<Estate>,
    pub args: Vec<String>,
    /// The run's time budget, counted from [`RunContext::start_clock`].
    pub timeout: Option<Duration>,
    deadline: Mutex<Option<Instant>>,
    cancel: Mutex<CancellationToken>,
    dry_run: AtomicBool,
    /// A dry run's staged configurations and plan.
    stage: Stage,
    /// Changes made (not planned) since the run started.
    changes: AtomicUsize,
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
    pub recorded: Arc<Mutex<Vec<String>>>,
    /// The changes this run made that no revert can take back (leases, HA, `command()`),
    /// in order (for `run --confirm`).
    pub not_revertible: Mutex<Vec<crate::kea::confirm::NotRevertible>>,
    /// The process's heap when the clock started: a run's memory is what it grew by since.
    heap_at_start: AtomicUsize,
    /// A limit hit where Rhai cannot take an error (see [`RunContext::stop_at_next_operation`]).
    stop: Mutex<Option<String>>,
    stop_pending: AtomicBool,
    /// Where the script's output goes (see [`super::output`]).
    sink: Mutex<Arc<dyn Sink>>,
    /// A fleet run's selected servers (inventory names), for `selection()`.
    pub selection: Mutex<Vec<String>>,
}

impl RunContext {
    pub fn new(handle: Handle, inventory: Inventory, args: Vec<String>) -> Self {
        Self::with_estate(handle, Arc::new(Estate::new(inventory)), args)
    }

    /// A context on an estate another context shares (its connections are reused).
    pub fn with_estate(handle: Handle, estate: Arc<Estate>, args: Vec<String>) -> Self {
        Self {
            handle,
            estate,
            args,
            timeout: None,
            deadline: Mutex::new(None),
            cancel: Mutex::new(CancellationToken::new()),
            dry_run: AtomicBool::new(false),
            stage: Stage::new(),
            changes: AtomicUsize::new(0),
            single_peer: AtomicBool::new(false),
            stop_after_change: AtomicBool::new(false),
            exit_status: std::sync::atomic::AtomicU8::new(0),
            triggers: Default::default(),
            audit: AuditLog::default_log(),
            script_name: Mutex::new(None),
            trigger_name: Mutex::new(None),
            undoing: Mutex::new(None),
            recorded: Arc::new(Mutex::new(Vec::new())),
            not_revertible: Mutex::new(Vec::new()),
            heap_at_start: AtomicUsize::new(0),
            stop: Mutex::new(None),
            stop_pending: AtomicBool::new(false),
            sink: Mutex::new(Arc::new(Console)),
            selection: Mutex::new(Vec::new()),
        }
    }

    /// The servers keascript knows.
    pub fn inventory(&self) -> &Inventory {
        &self.estate.inventory
    }

    /// Sends the script's output to `sink` from now on.
    pub fn set_sink(&self, sink: Arc<dyn Sink>) {
        *self.sink.lock().expect("sink lock") = sink;
    }

    /// A live progress line from the host (a terminal's spinner; never drawn in the
    /// daemon or a fleet run's servers).
    pub fn progress(&self, message: &str) -> crate::term::Progress {
        let sink = self.sink.lock().expect("sink lock").clone();
        sink.progress(message)
    }

    /// Hands one piece of script output to the host's sink.
    pub fn emit(&self, kind: Line, text: &str) {
        let sink = self.sink.lock().expect("sink lock").clone();
        sink.line(kind, text);
    }

    /// A warning for the host (`warning: ` is added).
    pub fn warn(&self, text: &str) {
        self.emit(Line::Warn, &format!("warning: {text}"));
    }

    /// A dry run's account of what it would do, counted as `planned` changes.
    pub fn plan(&self, text: &str, planned: usize) {
        self.changes.fetch_add(planned, Ordering::SeqCst);
        self.emit(Line::Plan, text);
    }

    /// Changes made so far: audit entries written (planned changes in a dry run).
    pub fn changes(&self) -> usize {
        self.changes.load(Ordering::SeqCst)
    }

    /// Dry-run mode: mutations are staged (later reads and mutations see them) and planned,
    /// and change nothing. Switched off, the staged configurations are dropped (the plan
    /// stays for [`RunContext::take_plan`]).
    pub fn set_dry_run(&self, on: bool) {
        if !self.dry_run.swap(on, Ordering::SeqCst) || on {
            return;
        }
        self.stage.close();
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
        if entry.outcome != "error" {
            self.changes.fetch_add(1, Ordering::SeqCst);
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
        {
            if crate::kea::undo::NOT_UNDOABLE.contains(&entry.kind.as_str()) {
                self.not_revertible
                    .lock()
                    .expect("not revertible lock")
                    .push(crate::kea::confirm::NotRevertible {
                        id: id.clone(),
                        kind: entry.kind.clone(),
                        action: entry.action.clone(),
                        key: entry.key.clone(),
                        target: match &entry.service {
                            Some(s) => format!("{}/{s}", entry.server),
                            None => entry.server.clone(),
                        },
                    });
            } else {
                let mut r = self.recorded.lock().expect("recorded lock");
                if !r.contains(id) {
                    r.push(id.clone());
                }
            }
        }
        if let Err(e) = self.audit.append(&entry) {
            self.warn(&e.message);
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
        self.estate.name_of(server)
    }

    /// Runs one change through the pipeline (`preview`: only its diff, for `tx.diff()`):
    /// audited under this run's script and trigger, staged in a dry run. Warnings go to
    /// stderr, and each change made to stderr as one line (`term::note`: `-q` silences it).
    pub fn execute(
        &self,
        svc: &Service,
        edits: &[Edit],
        preview: bool,
    ) -> Result<Outcome, Box<EvalAltResult>> {
        let dry_run = self.is_dry_run();
        let auditor = (!dry_run && !preview).then(|| self.auditor());
        let change = Change {
            origin: svc.clone(),
            edits,
            options: Options {
                dry_run,
                single_peer: self.is_single_peer(),
                preview,
            },
            stage: dry_run.then_some(&self.stage),
            auditor: auditor.as_ref(),
        };
        let out = self.block(edit::execute(&self.estate, change))?;
        for w in &out.warnings {
            self.warn(w);
        }
        if !crate::term::quiet() {
            for line in &out.lines {
                self.emit(Line::Debug, line);
            }
        }
        if out.changed && !out.dry_run {
            self.changes.fetch_add(1, Ordering::SeqCst);
        }
        Ok(out)
    }

    /// Where this run's changes are audited, and under which names.
    fn auditor(&self) -> Auditor {
        Auditor {
            log: self.audit.clone(),
            script: self.script_name.lock().expect("script lock").clone(),
            trigger: self.trigger_name.lock().expect("trigger lock").clone(),
            undoes: self.undoing.lock().expect("undo lock").clone(),
            recorded: Some(self.recorded.clone()),
        }
    }

    /// The configuration a script's readers see: in a dry run, the staged one when the
    /// service has one; else the running one.
    pub fn config_doc(&self, svc: &Service) -> Result<ConfigDoc, Box<EvalAltResult>> {
        let stage = self.is_dry_run().then_some(&self.stage);
        self.block(edit::read_staged(svc, stage))
    }

    /// The plan of the dry run so far (every server/service it staged a change on), taken:
    /// the staging starts again empty. Empty when nothing was planned.
    pub fn take_plan(&self) -> Vec<ServicePlan> {
        self.stage.take()
    }

    /// How many changes the run made (real ones, not planned).
    pub fn changes_made(&self) -> usize {
        self.changes.load(Ordering::SeqCst)
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
        let sink = self.sink.lock().expect("sink lock").clone();
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
                        progress = Some(sink.progress("waiting for Kea's answer…"));
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
                        sink.line(Line::Warn, &format!("warning: the change in flight did not finish within {}s; stopping anyway (the next change against that server settles it)", IN_FLIGHT_GRACE.as_secs()));
                        return Err(stop.unwrap_or(STOP_CANCELLED));
                    }
                };
                if changes_in_flight() == 0 {
                    return Err(why);
                }
                sink.line(
                    Line::Warn,
                    &format!(
                        "{why}: waiting up to {}s for the change in flight to be written or undone",
                        IN_FLIGHT_GRACE.as_secs()
                    ),
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

    /// The connected server of that inventory name, connecting on first use (a change left
    /// in flight on it is mentioned then: reads go on, the next change settles it).
    pub fn server(&self, name: Option<&str>) -> Result<Arc<Server>, Box<EvalAltResult>> {
        self.server_checked(name, true)
    }

    /// [`RunContext::server`] without the warning about changes left in flight: for a
    /// fleet run's `selection()`, whose other servers are being changed by their own runs
    /// at this very moment.
    pub fn server_unchecked(&self, name: &str) -> Result<Arc<Server>, Box<EvalAltResult>> {
        self.server_checked(Some(name), false)
    }

    fn server_checked(
        &self,
        name: Option<&str>,
        check: bool,
    ) -> Result<Arc<Server>, Box<EvalAltResult>> {
        let (server, new) = self
            .enter(|| self.estate.server_new(name))
            .map_err(|e| kea_error(&e))?;
        if new && check {
            // Reads go on; the next change against that daemon settles what was left. The
            // records are keyed by daemon: one made through another inventory name of the
            // same daemon (`lab` and `lab-unix`) is found too. The daemon is asked who it is
            // only when something is in flight at all.
            let in_flight = crate::kea::edit::journal::in_flight();
            let mut told: Vec<String> = Vec::new();
            for name in server.configured_services() {
                if in_flight.is_empty() {
                    break;
                }
                let url = server.service_url(&name);
                let Ok(svc) = crate::kea::Service::new(server.clone(), &name) else {
                    continue;
                };
                let id = self
                    .block_raw(async move {
                        Ok::<_, crate::kea::KeaError>(crate::kea::identity::daemon_id(&svc).await)
                    })?
                    .map_err(|e| kea_error(&e))?;
                for p in &in_flight {
                    if told.contains(&p.id)
                        || !(p.reaches(&id) || p.targets.iter().any(|t| t.url == url))
                    {
                        continue;
                    }
                    told.push(p.id.clone());
                    self.warn(&format!(
                        "a change to {} (id {}, {}) has an unknown outcome (its answer was lost); the next keascript change against it will finish or undo it",
                        p.names(),
                        p.id,
                        p.time
                    ));
                }
            }
        }
        Ok(server)
    }

    /// Makes `server` the connected server of inventory name `name` (a fleet run hands
    /// over the handle it resolved the selection with: its daemon's identity and HA
    /// topology are known already).
    pub fn adopt_server(&self, name: &str, server: Arc<Server>) {
        self.estate.adopt(name, server);
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

/// The plan as text: each server/service's steps, its diff and its summary; the diff
/// painted when `colour` (a terminal).
pub fn render_plan(plans: &[ServicePlan], colour: bool) -> String {
    crate::term::paint_diff(&edit::plan::render(plans), colour)
}
