//! Commit-confirmed on the command line: `run --confirm` arms a pending revert and starts
//! the detached process that waits for the window to end (`keascript revert-timer ID`, in
//! its own session, so closing the terminal does not stop it); `keascript confirm [ID]`
//! keeps the changes; `keascript rollback [ID]` reverts them now. Every revert undoes the
//! run's changes newest first, each with undo's conflict check, through the pipeline and
//! the audit trail. The state is in the journal (see [`crate::kea::confirm`]). Lease, HA and
//! `command()` changes cannot be reverted: the run says so when it ends, the pending revert
//! lists them, and the revert names them as not reverted.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::undo::{context, fail};
use crate::kea::confirm::{Pending, PendingStore, now_ms, orphans, select, this_user};
use crate::kea::{ErrorKind, Inventory};
use crate::script::{Limits, RunContext, run_file};

#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// The pending confirmation's id (or one of its changes' ids); default: every change
    /// of this user that is pending confirmation
    pub id: Option<String>,
}

#[derive(Debug, Args)]
pub struct TimerArgs {
    pub id: String,
}

/// After `run --confirm`: records the run's changes as pending and starts the waiter.
#[allow(clippy::too_many_arguments)]
pub fn arm(
    ctx: &Arc<RunContext>,
    script: &str,
    window: Duration,
    health: Option<&Path>,
    health_interval: Duration,
) -> u8 {
    let changes = ctx.recorded.lock().expect("recorded lock").clone();
    let not_revertible = ctx
        .not_revertible
        .lock()
        .expect("not revertible lock")
        .clone();
    for n in &not_revertible {
        eprintln!(
            "warning: {} cannot be reverted: --confirm will not take it back",
            n.describe()
        );
    }
    if changes.is_empty() {
        eprintln!(
            "the script changed no configuration: nothing to confirm{}",
            if not_revertible.is_empty() {
                ""
            } else {
                " (and its other changes cannot be reverted)"
            }
        );
        return 0;
    }
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let deadline_ms = now_ms() + window.as_millis() as u64;
    let deadline = std::time::UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let p = Pending {
        id: crate::kea::edit::journal::new_id(),
        user: this_user(),
        script: script.to_string(),
        changes,
        deadline_ms,
        deadline: humantime::format_rfc3339_seconds(deadline).to_string(),
        pid: None,
        health: health.map(abs),
        health_interval_ms: health_interval.as_millis().max(100) as u64,
        inventory: ctx.inventory().path.as_deref().map(abs),
        not_revertible,
    };
    let store = PendingStore::default_store();
    if let Err(e) = store.save(&p) {
        eprintln!("error: {}; reverting now", e.message);
        return revert(&p, "the pending revert could not be recorded", "revert");
    }
    // The pending revert is what counts; the changes' records only say so.
    if let Err(e) = store.mark_waiting(&p) {
        eprintln!("warning: {}", e.message);
    }
    if let Err(e) = spawn_waiter(&store, &p.id) {
        eprintln!("error: cannot start the revert timer: {e}; reverting now");
        if let Some(p) = store.claim(&p.id, "reverting") {
            return revert(&p, "the revert timer could not start", "revert");
        }
        return 1;
    }
    eprintln!(
        "{} change{} pending confirmation (id {}): run `keascript confirm {}` before {} to keep {}, or {} reverted{}",
        p.changes.len(),
        if p.changes.len() == 1 { "" } else { "s" },
        p.id,
        p.id,
        p.deadline,
        if p.changes.len() == 1 { "it" } else { "them" },
        if p.changes.len() == 1 {
            "it is"
        } else {
            "they are"
        },
        p.health
            .as_ref()
            .map(|h| format!(" (at once if {} fails)", h.display()))
            .unwrap_or_default()
    );
    0
}

/// Starts `keascript revert-timer ID` in a new session (no controlling terminal, out of
/// the shell's process group), its output in the pending folder's log; waits until it
/// has recorded its pid.
fn spawn_waiter(store: &PendingStore, id: &str) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    let log = std::fs::File::create(store.log_path(id))?;
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("revert-timer")
        .arg(id)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: setsid is async-signal-safe and touches nothing of this process.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    let until = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < until {
        match store.load(id) {
            Some(p) if p.pid == Some(child.id()) => return Ok(()),
            None => return Ok(()),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    Err(std::io::Error::other("it did not start within 30 s"))
}

/// The detached waiter: checks health every interval, reverts when the window ends or a
/// check fails, and stops when the changes are confirmed (the pending file is gone).
pub fn revert_timer(runtime: &tokio::runtime::Runtime, args: TimerArgs) -> u8 {
    // The terminal closing must not stop it (setsid already detached it from one).
    // SAFETY: installing SIG_IGN has no handler to race with.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGHUP,
            nix::sys::signal::SigHandler::SigIgn,
        );
    }
    let store = PendingStore::default_store();
    let Some(mut p) = store.load(&args.id) else {
        return 0;
    };
    p.pid = Some(std::process::id());
    if let Err(e) = store.save(&p) {
        eprintln!("error: {}", e.message);
    }
    eprintln!(
        "waiting until {} for `keascript confirm {}`",
        p.deadline, p.id
    );
    let interval = Duration::from_millis(p.health_interval_ms);
    let mut next_check = std::time::Instant::now() + interval;
    loop {
        std::thread::sleep(Duration::from_millis(100).min(p.remaining()));
        if store.load(&p.id).is_none() {
            eprintln!("confirmed (or rolled back by hand): nothing to do");
            return 0;
        }
        if p.remaining().is_zero() {
            return claim_and_revert(&store, &p.id, "the confirmation window ended");
        }
        if let Some(h) = &p.health
            && std::time::Instant::now() >= next_check
        {
            if let Err(why) = health_check(runtime, &p, h) {
                return claim_and_revert(
                    &store,
                    &p.id,
                    &format!("the health check {} failed: {why}", h.display()),
                );
            }
            next_check = std::time::Instant::now() + interval;
        }
    }
}

fn claim_and_revert(store: &PendingStore, id: &str, why: &str) -> u8 {
    match store.claim(id, "reverting") {
        Some(p) => revert(&p, why, "revert"),
        None => 0,
    }
}

/// Runs the health check once; `Err` says why it failed.
fn health_check(
    runtime: &tokio::runtime::Runtime,
    p: &Pending,
    check: &Path,
) -> Result<(), String> {
    let inventory = Inventory::discover(p.inventory.as_deref()).map_err(|e| e.message)?;
    let ctx = Arc::new(RunContext::new(
        runtime.handle().clone(),
        inventory,
        Vec::new(),
    ));
    ctx.set_script_name(&check.display().to_string());
    let limits = Limits {
        timeout: Some(Duration::from_millis(p.health_interval_ms).max(Duration::from_secs(30))),
        ..Limits::default()
    };
    let outcome = run_file(check, ctx, &limits);
    match (outcome.status, outcome.error) {
        (0, _) => Ok(()),
        (s, Some(e)) => Err(format!("{e} (status {s})")),
        (s, None) => Err(format!("it ended with status {s}")),
    }
}

/// Undoes the pending changes newest first; returns the worst status.
fn revert(p: &Pending, why: &str, who: &str) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    eprintln!(
        "{why}: reverting {} change{} of {} (id {})",
        p.changes.len(),
        if p.changes.len() == 1 { "" } else { "s" },
        p.script,
        p.id
    );
    let store = PendingStore::default_store();
    let mut worst = 0;
    for change in p.changes.iter().rev() {
        let ctx = match context(
            &runtime,
            p.inventory.as_deref(),
            &format!("{who} of {}", p.id),
        ) {
            Ok(c) => c,
            Err(s) => return s,
        };
        match crate::script::undo_change(&ctx, change) {
            Ok(v) => {
                eprintln!(
                    "change {change} reverted on {}/{}",
                    v["server"].as_str().unwrap_or("?"),
                    v["service"].as_str().unwrap_or("?")
                );
                let by = v["id"].as_str().unwrap_or("(nothing to send)");
                if let Err(e) = store.mark_reverted(change, by) {
                    eprintln!("warning: {}", e.message);
                }
            }
            Err(e) => {
                eprint!("change {change} NOT reverted: ");
                worst = worst.max(fail(&e, who));
                let why = crate::script::describe_error(&e, who, &crate::script::Limits::default());
                if let Err(e) = store.mark_not_reverted(change, &why) {
                    eprintln!("warning: {}", e.message);
                }
            }
        }
    }
    for n in &p.not_revertible {
        eprintln!(
            "{} NOT reverted: a {} change cannot be reverted",
            n.describe(),
            n.kind
        );
    }
    worst
}

/// The pending reverts `ID` names (none: every one of this user), or the exit status of why
/// there are none.
fn pick(store: &PendingStore, id: Option<&str>) -> Result<Vec<Pending>, u8> {
    select(store, id).map_err(|e| {
        eprintln!("error: {}", e.message);
        ErrorKind::NotFound.exit_status()
    })
}

pub fn confirm(args: ConfirmArgs) -> u8 {
    let store = PendingStore::default_store();
    let picked = match pick(&store, args.id.as_deref()) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let mut status = 0;
    for p in picked {
        match store.claim(&p.id, "confirmed") {
            Some(p) => {
                if let Err(e) = store.mark_confirmed(&p) {
                    eprintln!("warning: {}", e.message);
                }
                if let Some(pid) = p.pid
                    && crate::kea::confirm::waiter_alive(pid)
                {
                    // It would notice within 100 ms; there is nothing left for it to do.
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid as i32),
                        nix::sys::signal::Signal::SIGTERM,
                    );
                }
                eprintln!(
                    "confirmed {}: {} change{} of {} stay",
                    p.id,
                    p.changes.len(),
                    if p.changes.len() == 1 { "" } else { "s" },
                    p.script
                );
            }
            None => {
                eprintln!("error: {} is being reverted already", p.id);
                status = ErrorKind::Conflict.exit_status();
            }
        }
    }
    status
}

pub fn rollback(args: ConfirmArgs) -> u8 {
    let store = PendingStore::default_store();
    let picked = match pick(&store, args.id.as_deref()) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let mut worst = 0;
    for p in picked {
        match store.claim(&p.id, "rollback") {
            Some(p) => worst = worst.max(revert(&p, "rollback", "rollback")),
            None => eprintln!("{} is being reverted already", p.id),
        }
    }
    worst
}

/// Says, on stderr, which changes wait for a confirmation that nothing will time out.
pub fn warn_orphans() {
    for p in orphans(&PendingStore::default_store()) {
        eprintln!(
            "warning: {} change{} made by {} with {} {} pending confirmation (id {}) and no revert timer is running: `keascript confirm {}` keeps {}, `keascript rollback {}` reverts {}",
            p.changes.len(),
            if p.changes.len() == 1 { "" } else { "s" },
            p.user,
            p.script,
            if p.changes.len() == 1 { "is" } else { "are" },
            p.id,
            p.id,
            if p.changes.len() == 1 { "it" } else { "them" },
            p.id,
            if p.changes.len() == 1 { "it" } else { "them" },
        );
    }
}
