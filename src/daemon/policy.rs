//! The run policy of one trigger: it never runs twice at once. What happens to a firing
//! that arrives during a run depends on the trigger, as watchexec's `--on-busy-update`
//! (`reference/rust-anchors.md` §2.1, §2.5): a timer **skips** it (and counts it), a file
//! change is **queued**, coalesced into exactly one more run after the current one, so the
//! last save is always handled. On shutdown no new run starts; a run in flight gets a grace
//! period, then is cancelled.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::executor::{Outcome, Report};

/// What to do with a firing that arrives while the trigger is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// Drop it and count it (timers).
    Skip,
    /// Remember it: one more run after the current one, however many arrived (files).
    Queue,
}

/// Why a trigger fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fire {
    /// A timer's time came.
    Tick,
    /// The watched file may have changed.
    Changed,
}

/// What one trigger has done so far.
#[derive(Debug, Default)]
pub struct Counters {
    pub runs: AtomicU64,
    pub failed: AtomicU64,
    pub cancelled: AtomicU64,
    pub skipped: AtomicU64,
}

impl Counters {
    pub fn get(&self) -> (u64, u64, u64, u64) {
        (
            self.runs.load(Ordering::SeqCst),
            self.failed.load(Ordering::SeqCst),
            self.cancelled.load(Ordering::SeqCst),
            self.skipped.load(Ordering::SeqCst),
        )
    }
}

/// Starts runs. `start` returns `None` when there turns out to be nothing to do (a file
/// whose content did not change); `cancel` stops the run in flight.
pub trait Runner: Send {
    fn start(&mut self, fire: Fire) -> BoxFuture<'static, Option<Report>>;
    fn cancel(&self);
}

/// How shutdown treats a run in flight.
#[derive(Debug, Clone)]
pub struct Shutdown {
    /// No new runs once this is cancelled.
    pub stop: CancellationToken,
    /// Cut the grace period short (a second SIGTERM).
    pub hurry: CancellationToken,
    /// How long a run in flight may go on after `stop`.
    pub grace: Duration,
    /// How long to wait for a cancelled run to give up.
    pub cancel_wait: Duration,
}

/// Drives one trigger until `shutdown.stop` or until its source closes.
pub async fn drive(
    label: String,
    overlap: Overlap,
    mut source: mpsc::UnboundedReceiver<Fire>,
    mut runner: impl Runner,
    shutdown: Shutdown,
    counters: Arc<Counters>,
) {
    let mut current: Option<BoxFuture<'static, Option<Report>>> = None;
    let mut pending = false;
    loop {
        tokio::select! {
            biased;
            _ = shutdown.stop.cancelled() => break,
            report = async { current.as_mut().expect("a run").await }, if current.is_some() => {
                current = None;
                record(&label, report, &counters);
                if pending {
                    pending = false;
                    current = Some(runner.start(Fire::Changed));
                }
            }
            fire = source.recv() => {
                let Some(fire) = fire else { break };
                if current.is_none() {
                    current = Some(runner.start(fire));
                } else {
                    match overlap {
                        Overlap::Skip => {
                            let n = counters.skipped.fetch_add(1, Ordering::SeqCst) + 1;
                            tracing::warn!(trigger = %label, skipped = n, "firing skipped: the previous run is still going ({n} skipped so far)");
                        }
                        Overlap::Queue => {
                            if !pending {
                                tracing::info!(trigger = %label, "change seen during a run: one more run follows it");
                            }
                            pending = true;
                        }
                    }
                }
            }
        }
    }
    if pending {
        tracing::info!(trigger = %label, "stopping: the queued run is dropped");
    }
    let Some(mut run) = current else { return };
    tracing::info!(
        trigger = %label,
        "waiting up to {} for the run in flight",
        humantime::format_duration(shutdown.grace)
    );
    let finished = tokio::select! {
        r = &mut run => Some(r),
        _ = tokio::time::sleep(shutdown.grace) => None,
        _ = shutdown.hurry.cancelled() => None,
    };
    if let Some(report) = finished {
        record(&label, report, &counters);
        return;
    }
    tracing::warn!(trigger = %label, "cancelling the run in flight");
    runner.cancel();
    match tokio::time::timeout(shutdown.cancel_wait, run).await {
        Ok(report) => record(&label, report, &counters),
        Err(_) => tracing::error!(
            trigger = %label,
            "the run in flight did not stop within {} of being cancelled; leaving it",
            humantime::format_duration(shutdown.cancel_wait)
        ),
    }
}

fn record(label: &str, report: Option<Report>, counters: &Counters) {
    let Some(report) = report else {
        tracing::debug!(trigger = %label, "the file's content did not change: nothing to run");
        return;
    };
    counters.runs.fetch_add(1, Ordering::SeqCst);
    let ms = report.elapsed.as_millis() as u64;
    match report.outcome {
        Outcome::Done => {
            tracing::info!(trigger = %label, elapsed_ms = ms, "run finished in {ms} ms")
        }
        Outcome::Failed(msg) => {
            counters.failed.fetch_add(1, Ordering::SeqCst);
            tracing::error!(trigger = %label, elapsed_ms = ms, "run failed after {ms} ms: {msg}");
        }
        Outcome::Cancelled(msg) => {
            counters.cancelled.fetch_add(1, Ordering::SeqCst);
            tracing::warn!(trigger = %label, elapsed_ms = ms, "run cancelled after {ms} ms: {msg}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::time::{Instant, sleep};

    /// A run that takes `took` of (paused) time and records when it started and ended.
    struct Fake {
        took: Duration,
        t0: Instant,
        log: Arc<Mutex<Vec<(u64, u64, Fire)>>>,
        cancel: CancellationToken,
    }

    impl Runner for Fake {
        fn start(&mut self, fire: Fire) -> BoxFuture<'static, Option<Report>> {
            let took = self.took;
            let t0 = self.t0;
            let log = self.log.clone();
            let cancel = self.cancel.clone();
            Box::pin(async move {
                let s = t0.elapsed().as_millis() as u64;
                let outcome = tokio::select! {
                    _ = sleep(took) => Outcome::Done,
                    _ = cancel.cancelled() => Outcome::Cancelled("cancelled".into()),
                };
                log.lock()
                    .unwrap()
                    .push((s, t0.elapsed().as_millis() as u64, fire));
                Some(Report {
                    outcome,
                    elapsed: took,
                })
            })
        }
        fn cancel(&self) {
            self.cancel.cancel();
        }
    }

    struct Harness {
        tx: mpsc::UnboundedSender<Fire>,
        log: Arc<Mutex<Vec<(u64, u64, Fire)>>>,
        counters: Arc<Counters>,
        shutdown: Shutdown,
        task: tokio::task::JoinHandle<()>,
    }

    fn harness(overlap: Overlap, took: Duration, grace: Duration) -> Harness {
        let (tx, rx) = mpsc::unbounded_channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let counters = Arc::new(Counters::default());
        let shutdown = Shutdown {
            stop: CancellationToken::new(),
            hurry: CancellationToken::new(),
            grace,
            cancel_wait: Duration::from_secs(1),
        };
        let fake = Fake {
            took,
            t0: Instant::now(),
            log: log.clone(),
            cancel: CancellationToken::new(),
        };
        let task = tokio::spawn(drive(
            "test".into(),
            overlap,
            rx,
            fake,
            shutdown.clone(),
            counters.clone(),
        ));
        Harness {
            tx,
            log,
            counters,
            shutdown,
            task,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_timer_never_overlaps_itself_and_counts_the_skipped_firings() {
        // Every 10 s; each run takes 25 s: runs start at 10, 40, 70; 20, 30, 50, 60, 80, 90
        // are skipped.
        let h = harness(
            Overlap::Skip,
            Duration::from_secs(25),
            Duration::from_secs(60),
        );
        let stop = h.shutdown.stop.clone();
        let ticker = tokio::spawn(super::super::schedule::every(
            Duration::from_secs(10),
            h.tx.clone(),
            stop.clone(),
        ));
        sleep(Duration::from_millis(95_500)).await;
        let log = h.log.lock().unwrap().clone();
        assert_eq!(
            log.iter().map(|(s, e, _)| (*s, *e)).collect::<Vec<_>>(),
            vec![(10_000, 35_000), (40_000, 65_000), (70_000, 95_000)]
        );
        assert_eq!(h.counters.get(), (3, 0, 0, 6));
        stop.cancel();
        ticker.await.unwrap();
        h.task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn changes_during_a_run_give_exactly_one_more_run() {
        let h = harness(
            Overlap::Queue,
            Duration::from_secs(5),
            Duration::from_secs(60),
        );
        h.tx.send(Fire::Changed).unwrap();
        sleep(Duration::from_secs(1)).await;
        for _ in 0..50 {
            h.tx.send(Fire::Changed).unwrap();
        }
        sleep(Duration::from_secs(30)).await;
        let log = h.log.lock().unwrap().clone();
        assert_eq!(
            log,
            vec![(0, 5_000, Fire::Changed), (5_000, 10_000, Fire::Changed)]
        );
        assert_eq!(h.counters.get(), (2, 0, 0, 0));
        // A change after the runs: one more.
        h.tx.send(Fire::Changed).unwrap();
        sleep(Duration::from_secs(6)).await;
        assert_eq!(h.log.lock().unwrap().len(), 3);
        h.shutdown.stop.cancel();
        h.task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_lets_the_run_in_flight_finish_within_the_grace_period() {
        let h = harness(
            Overlap::Queue,
            Duration::from_secs(3),
            Duration::from_secs(10),
        );
        h.tx.send(Fire::Changed).unwrap();
        sleep(Duration::from_secs(1)).await;
        h.tx.send(Fire::Changed).unwrap(); // queued, then dropped by the shutdown
        let t = Instant::now();
        h.shutdown.stop.cancel();
        h.task.await.unwrap();
        assert_eq!(t.elapsed(), Duration::from_secs(2));
        assert_eq!(h.log.lock().unwrap().len(), 1);
        assert_eq!(h.counters.get(), (1, 0, 0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_cancels_a_run_that_outlives_the_grace_period() {
        let h = harness(
            Overlap::Skip,
            Duration::from_secs(3600),
            Duration::from_secs(5),
        );
        h.tx.send(Fire::Tick).unwrap();
        sleep(Duration::from_secs(1)).await;
        let t = Instant::now();
        h.shutdown.stop.cancel();
        h.task.await.unwrap();
        assert_eq!(t.elapsed(), Duration::from_secs(5));
        assert_eq!(h.counters.get(), (1, 0, 1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_signal_cuts_the_grace_period_short() {
        let h = harness(
            Overlap::Skip,
            Duration::from_secs(3600),
            Duration::from_secs(60),
        );
        h.tx.send(Fire::Tick).unwrap();
        sleep(Duration::from_secs(1)).await;
        let t = Instant::now();
        h.shutdown.stop.cancel();
        sleep(Duration::from_secs(2)).await;
        h.shutdown.hurry.cancel();
        h.task.await.unwrap();
        assert_eq!(t.elapsed(), Duration::from_secs(2));
        assert_eq!(h.counters.get(), (1, 0, 1, 0));
    }
}
