//! Timers: `every(period)` fires one period after the start, then every period on that
//! grid; `cron(expr)` fires at each matching minute in local time. They only send
//! [`Fire::Tick`]: whether a tick runs or is skipped is the policy's business, so a slow
//! run never shifts the schedule.

use std::time::Duration;

use chrono::{DateTime, Local};
use croner::Cron;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::policy::Fire;

/// Sends a tick every `period`, the first one `period` after the call.
pub async fn every(period: Duration, tx: mpsc::UnboundedSender<Fire>, stop: CancellationToken) {
    let start = Instant::now();
    let mut next = start + period;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = sleep_until(next) => {}
        }
        if tx.send(Fire::Tick).is_err() {
            return;
        }
        next += period;
        // Slots already past (the machine was suspended, the runtime starved) are not
        // made up for.
        let now = Instant::now();
        while next <= now {
            next += period;
        }
    }
}

/// The first time after `after` that `cron` matches (local time).
pub fn next_cron(cron: &Cron, after: &DateTime<Local>) -> Option<DateTime<Local>> {
    cron.find_next_occurrence(after, false).ok()
}

/// Sends a tick at each time `cron` matches. The wall clock is read again at least every
/// minute, so a clock that jumps (NTP, DST) does not leave a long sleep aimed wrong.
pub async fn cron(cron: Cron, tx: mpsc::UnboundedSender<Fire>, stop: CancellationToken) {
    let mut last: Option<DateTime<Local>> = None;
    loop {
        let now = Local::now();
        let from = match last {
            Some(l) if l > now => l,
            _ => now,
        };
        let Some(next) = next_cron(&cron, &from) else {
            tracing::error!(pattern = %cron.pattern, "this cron line never matches again");
            return;
        };
        loop {
            let now = Local::now();
            if now >= next {
                break;
            }
            let wait = (next - now)
                .to_std()
                .unwrap_or_default()
                .min(Duration::from_secs(60));
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        last = Some(next);
        if tx.send(Fire::Tick).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::triggers::parse_cron;
    use chrono::TimeZone;

    #[tokio::test(start_paused = true)]
    async fn every_fires_one_period_after_start_then_on_the_grid() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let t0 = Instant::now();
        let task = tokio::spawn(every(Duration::from_secs(30), tx, stop.clone()));
        let mut at = Vec::new();
        for _ in 0..3 {
            rx.recv().await.unwrap();
            at.push(t0.elapsed().as_secs());
        }
        assert_eq!(at, vec![30, 60, 90]);
        stop.cancel();
        task.await.unwrap();
    }

    #[test]
    fn cron_slots_follow_the_crontab_line() {
        let c = parse_cron("*/15 * * * *").unwrap();
        let t = Local.with_ymd_and_hms(2026, 3, 4, 23, 50, 0).unwrap();
        let a = next_cron(&c, &t).unwrap();
        let b = next_cron(&c, &a).unwrap();
        assert_eq!(a, Local.with_ymd_and_hms(2026, 3, 5, 0, 0, 0).unwrap());
        assert_eq!(b, Local.with_ymd_and_hms(2026, 3, 5, 0, 15, 0).unwrap());
        // Day-of-month and day-of-week: either matches, as in crontab(5).
        let c = parse_cron("0 12 1 * fri").unwrap();
        let t = Local.with_ymd_and_hms(2026, 3, 4, 0, 0, 0).unwrap(); // a Wednesday
        assert_eq!(
            next_cron(&c, &t).unwrap(),
            Local.with_ymd_and_hms(2026, 3, 6, 12, 0, 0).unwrap()
        );
    }
}
