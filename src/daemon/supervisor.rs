//! Loads the script, runs its triggers, and handles signals: SIGINT/SIGTERM stop the
//! daemon (no new runs, runs in flight finish or are cancelled after the grace period),
//! SIGHUP reloads the script (the new triggers replace the old ones only if the new script
//! compiles and runs; otherwise the old ones go on).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rhai::{AST, Dynamic, Map};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::instrument::WithSubscriber;

use super::executor::{Executor, Report, Setup};
use super::policy::{self, Counters, Fire, Overlap, Runner, Shutdown};
use super::schedule;
use super::watch::{self, FileState, Watch};
use crate::script::triggers::{Mode, Trigger, TriggerKind};
use crate::script::{RunOutcome, Script};

/// How the daemon behaves (the flags of `keascript daemon`).
#[derive(Clone)]
pub struct DaemonOptions {
    pub setup: Setup,
    /// Quiet time after the last event of a burst before a file trigger runs.
    pub debounce: Duration,
    /// How long runs in flight may go on at shutdown or reload before they are cancelled.
    pub grace: Duration,
}

/// A script, compiled and run once: its AST and the triggers it registered.
struct Loaded {
    ast: Arc<AST>,
    /// The script's text as compiled (a trigger's error quotes its line).
    source: Arc<str>,
    triggers: Vec<Trigger>,
}

/// Why a script could not be loaded, and the exit status that says so.
#[derive(Debug)]
struct LoadError {
    status: u8,
    message: String,
}

/// Reads, compiles and runs the script top to bottom (through the one script runner),
/// collecting its triggers. Runs on a thread outside the runtime (Kea calls block on it).
fn load(setup: &Setup) -> Result<Loaded, LoadError> {
    let failed = |o: RunOutcome| LoadError {
        status: o.status,
        message: o.error.unwrap_or_else(|| {
            format!(
                "error: the script ended with exit({}) while starting",
                o.status
            )
        }),
    };
    let script = Script::from_file(&setup.script).map_err(failed)?;
    let name = script.name.clone();
    let ctx = setup.context(Mode::Daemon);
    let short = setup
        .script
        .file_name()
        .map_or(name.clone(), |n| n.to_string_lossy().to_string());
    let engine = setup.engine(&script, ctx.clone(), &format!("{short} (start)"));
    let mut compiled = script.compile(&engine, &setup.args).map_err(failed)?;
    let outcome = compiled.run(&engine, &ctx, &name, &setup.limits);
    if outcome.status != 0 {
        return Err(failed(outcome));
    }
    let triggers = ctx.triggers.take();
    if triggers.is_empty() {
        return Err(LoadError {
            status: 1,
            message: format!(
                "error: {name}: registered no triggers: call on_change(path, |event| …), every(\"15m\", || …) or cron(\"*/15 * * * *\", || …)"
            ),
        });
    }
    Ok(Loaded {
        source: Arc::from(compiled.source.as_str()),
        ast: Arc::new(compiled.ast),
        triggers,
    })
}

/// [`load`] on a thread of its own, awaited.
async fn load_async(setup: Setup) -> Result<Loaded, LoadError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("script load".into())
        .stack_size(crate::script::SCRIPT_STACK_SIZE)
        .spawn(move || {
            let _log = tracing::dispatcher::set_default(&setup.dispatch);
            let _ = tx.send(load(&setup));
        });
    if let Err(e) = spawned {
        return Err(LoadError {
            status: 1,
            message: format!("error: cannot start a thread: {e}"),
        });
    }
    rx.await.unwrap_or_else(|_| {
        Err(LoadError {
            status: 1,
            message: "error: the script's start panicked".into(),
        })
    })
}

/// Runs a timer trigger's callback.
struct TimerRunner {
    exec: Executor,
}

impl Runner for TimerRunner {
    fn start(&mut self, _fire: Fire) -> BoxFuture<'static, Option<Report>> {
        let run = self.exec.run(None);
        Box::pin(async move { Some(run.await) })
    }
    fn cancel(&self) {
        self.exec.cancel();
    }
}

/// Runs an `on_change` callback with `#{ path, kind }`, if the file did change.
struct FileRunner {
    exec: Arc<Executor>,
    state: Arc<tokio::sync::Mutex<FileState>>,
    path: PathBuf,
}

impl Runner for FileRunner {
    fn start(&mut self, _fire: Fire) -> BoxFuture<'static, Option<Report>> {
        let exec = self.exec.clone();
        let state = self.state.clone();
        let path = self.path.display().to_string();
        Box::pin(async move {
            let kind = state.lock().await.observe().await?;
            let mut ev = Map::new();
            ev.insert("path".into(), path.into());
            ev.insert("kind".into(), kind.into());
            Some(exec.run(Some(Dynamic::from_map(ev))).await)
        })
    }
    fn cancel(&self) {
        self.exec.cancel();
    }
}

/// The running triggers of one load of the script.
struct Generation {
    stop: CancellationToken,
    hurry: CancellationToken,
    tracker: TaskTracker,
    counters: Vec<(String, Arc<Counters>)>,
    watch: Option<Watch>,
}

impl Generation {
    async fn start(loaded: &Loaded, opts: &DaemonOptions) -> Result<Self, String> {
        let setup = &opts.setup;
        let stop = CancellationToken::new();
        let hurry = CancellationToken::new();
        let tracker = TaskTracker::new();
        let shutdown = Shutdown {
            stop: stop.clone(),
            hurry: hurry.clone(),
            grace: opts.grace,
            cancel_wait: Duration::from_secs(5),
        };
        let mut counters = Vec::new();
        let mut files = Vec::new();
        let mut drivers: Vec<BoxFuture<'static, ()>> = Vec::new();
        let mut tickers: Vec<BoxFuture<'static, ()>> = Vec::new();
        for t in &loaded.triggers {
            let label = t.label();
            let exec = Executor::spawn(t, loaded.ast.clone(), loaded.source.clone(), setup)
                .map_err(|e| format!("cannot start a thread for {label}: {e}"))?;
            let (tx, rx) = mpsc::unbounded_channel();
            let c = Arc::new(Counters::default());
            counters.push((label.clone(), c.clone()));
            match &t.kind {
                TriggerKind::Change { path } => {
                    files.push((path.clone(), tx));
                    let runner = FileRunner {
                        exec: Arc::new(exec),
                        state: Arc::new(tokio::sync::Mutex::new(
                            FileState::new(path.clone()).await,
                        )),
                        path: path.clone(),
                    };
                    drivers.push(Box::pin(policy::drive(
                        label.clone(),
                        Overlap::Queue,
                        rx,
                        runner,
                        shutdown.clone(),
                        c,
                    )));
                }
                TriggerKind::Every { period, .. } => {
                    tickers.push(Box::pin(schedule::every(*period, tx, stop.clone())));
                    drivers.push(Box::pin(policy::drive(
                        label.clone(),
                        Overlap::Skip,
                        rx,
                        TimerRunner { exec },
                        shutdown.clone(),
                        c,
                    )));
                }
                TriggerKind::Cron { schedule: cron, .. } => {
                    if let Some(next) = schedule::next_cron(cron, &chrono::Local::now()) {
                        tracing::info!(trigger = %label, "next run at {}", next.format("%Y-%m-%d %H:%M %Z"));
                    }
                    tickers.push(Box::pin(schedule::cron((**cron).clone(), tx, stop.clone())));
                    drivers.push(Box::pin(policy::drive(
                        label.clone(),
                        Overlap::Skip,
                        rx,
                        TimerRunner { exec },
                        shutdown.clone(),
                        c,
                    )));
                }
            }
        }
        let watch = if files.is_empty() {
            None
        } else {
            Some(watch::start(files, opts.debounce, setup.dispatch.clone())?)
        };
        if let Some(w) = &watch {
            for d in w.dirs() {
                tracing::debug!(dir = %d.display(), "watching directory");
            }
        }
        for (label, _) in &counters {
            tracing::info!(trigger = %label, "trigger registered");
        }
        for d in drivers {
            tracker.spawn(d.with_subscriber(setup.dispatch.clone()));
        }
        for t in tickers {
            tracker.spawn(t.with_subscriber(setup.dispatch.clone()));
        }
        tracker.close();
        Ok(Self {
            stop,
            hurry,
            tracker,
            counters,
            watch,
        })
    }

    /// Stops taking new runs and waits for the runs in flight (bounded by the grace
    /// period, then cancelled). `hurry` cuts the wait short.
    async fn stop(self, hurry: impl Future<Output = ()>) {
        drop(self.watch);
        self.stop.cancel();
        tokio::select! {
            _ = self.tracker.wait() => {}
            _ = hurry => {
                tracing::warn!("stopping now: cancelling the runs in flight");
                self.hurry.cancel();
                self.tracker.wait().await;
            }
        }
        for (label, c) in &self.counters {
            let (runs, failed, cancelled, skipped) = c.get();
            tracing::info!(
                trigger = %label, runs, failed, cancelled, skipped,
                "{runs} runs, {failed} failed, {cancelled} cancelled, {skipped} skipped"
            );
        }
    }
}

/// Runs the daemon until SIGINT or SIGTERM; returns the exit status.
pub fn run(runtime: &tokio::runtime::Runtime, opts: DaemonOptions) -> u8 {
    let name = opts.setup.script_name();
    // The first load runs here, on the main thread, outside the runtime.
    let loaded = match load(&opts.setup) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("{}", e.message);
            return e.status;
        }
    };
    runtime.block_on(async move {
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        let mut hup = signal(SignalKind::hangup()).expect("SIGHUP handler");
        let mut current = match Generation::start(&loaded, &opts).await {
            Ok(g) => g,
            Err(e) => {
                tracing::error!("error: {e}");
                return 1;
            }
        };
        let mut loaded = loaded;
        tracing::info!(
            script = %name, pid = std::process::id(),
            "daemon started: {} triggers from {name}", loaded.triggers.len()
        );
        super::notify::ready(loaded.triggers.len());
        let watchdog = super::notify::spawn_watchdog();
        loop {
            tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
                _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
                _ = hup.recv() => {
                    tracing::info!(script = %name, "SIGHUP: reloading {name}");
                    super::notify::reloading();
                    match load_async(opts.setup.clone()).await {
                        Err(e) => {
                            tracing::error!(
                                "reload failed, the previous triggers go on: {}", e.message
                            );
                            super::notify::ready(loaded.triggers.len());
                        }
                        Ok(new) => {
                            current.stop(std::future::pending()).await;
                            match Generation::start(&new, &opts).await {
                                Ok(g) => {
                                    tracing::info!(
                                        script = %name,
                                        "script reloaded: {} triggers", new.triggers.len()
                                    );
                                    current = g;
                                    loaded = new;
                                    super::notify::ready(loaded.triggers.len());
                                }
                                Err(e) => {
                                    tracing::error!(
                                        "reload failed ({e}); restarting the previous triggers"
                                    );
                                    match Generation::start(&loaded, &opts).await {
                                        Ok(g) => {
                                            current = g;
                                            super::notify::ready(loaded.triggers.len());
                                        }
                                        Err(e) => {
                                            tracing::error!("error: {e}");
                                            return 1;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // A second SIGINT/SIGTERM cancels the runs in flight at once.
        let again = async {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        };
        super::notify::stopping();
        current.stop(again).await;
        if let Some(w) = watchdog {
            w.abort();
        }
        tracing::info!("daemon stopped");
        0
    })
}
