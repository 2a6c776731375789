//! systemd's notification protocol (`Type=notify` in `contrib/keascript.service`):
//! `READY=1` once the script's triggers are armed, `RELOADING=1` during a SIGHUP reload,
//! `STOPPING=1` at shutdown, and `WATCHDOG=1` at half of `WatchdogSec` from the daemon's
//! event loop (a hung loop stops the pings and systemd restarts the service). Without
//! `$NOTIFY_SOCKET` every call does nothing.

use sd_notify::NotifyState;

/// The triggers are armed: the service is up.
pub fn ready(triggers: usize) {
    let status = format!("{triggers} triggers armed");
    send(&[NotifyState::Ready, NotifyState::Status(&status)]);
}

/// A reload (SIGHUP) has begun; [`ready`] ends it.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// The daemon is stopping.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// When systemd asked for a watchdog (`$WATCHDOG_USEC`), a task on the current runtime that
/// pings it at half the period, for as long as the runtime runs.
pub fn spawn_watchdog() -> Option<tokio::task::JoinHandle<()>> {
    let period = sd_notify::watchdog_enabled()?;
    let half = (period / 2).max(std::time::Duration::from_millis(1));
    tracing::debug!(
        "systemd watchdog: a ping every {}",
        humantime::format_duration(half)
    );
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(half);
        loop {
            tick.tick().await;
            send(&[NotifyState::Watchdog]);
        }
    }))
}

fn send(state: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!("cannot notify systemd: {e}");
    }
}
