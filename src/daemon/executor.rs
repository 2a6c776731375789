//! One script thread per trigger. Rhai is synchronous and Kea calls block on the runtime
//! (`RunContext::block` uses `Handle::block_on`), so each trigger owns a dedicated OS thread
//! with its own engine and [`RunContext`] (its own deadline and cancel switch); the async
//! side sends it run requests over a channel and awaits the reply
//! (`reference/rust-anchors.md` §1.8).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{AST, Dynamic, Engine};
use tokio::sync::{mpsc, oneshot};

use crate::kea::Inventory;
use crate::script::output::{FnSink, Line};
use crate::script::triggers::{Mode, Trigger};
use crate::script::{Limits, RunContext, SCRIPT_STACK_SIZE, Script, call_trigger};

/// What every run of one script generation shares.
#[derive(Clone)]
pub struct Setup {
    pub handle: tokio::runtime::Handle,
    pub inventory: Inventory,
    pub args: Vec<String>,
    pub limits: Limits,
    pub dry_run: bool,
    /// The script file (errors and imports refer to it).
    pub script: PathBuf,
    pub dispatch: tracing::Dispatch,
}

impl Setup {
    pub fn script_name(&self) -> String {
        self.script.display().to_string()
    }

    /// A fresh context for one trigger (or the registration run).
    pub fn context(&self, mode: Mode) -> Arc<RunContext> {
        let ctx = RunContext::new(
            self.handle.clone(),
            self.inventory.clone(),
            self.args.clone(),
        )
        .with_timeout(self.limits.timeout);
        ctx.set_dry_run(self.dry_run);
        ctx.triggers.set_mode(mode);
        // Every change a trigger makes is audited with the script's name (and the trigger).
        ctx.set_script_name(&self.script_name());
        Arc::new(ctx)
    }

    /// An engine for `script` bound to `ctx`, its output (`print`, `debug`, warnings,
    /// dry-run plans) going to the log under `label`.
    pub fn engine(&self, script: &Script, ctx: Arc<RunContext>, label: &str) -> Engine {
        let l = label.to_string();
        ctx.set_sink(Arc::new(FnSink(move |kind: Line, text: &str| match kind {
            Line::Print | Line::Plan => tracing::info!(target: "script", trigger = %l, "{text}"),
            Line::Warn => tracing::warn!(target: "script", trigger = %l, "{text}"),
            Line::Debug => tracing::debug!(target: "script", trigger = %l, "{text}"),
        })));
        script.engine(&ctx, &self.limits)
    }
}

/// How one run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    /// Failed with this message (file:line:col included).
    Failed(String),
    /// Stopped from outside (shutdown, reload) with this message.
    Cancelled(String),
}

/// A finished run: how it ended and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub outcome: Outcome,
    pub elapsed: Duration,
}

struct Request {
    arg: Option<Dynamic>,
    reply: oneshot::Sender<Report>,
}

/// The script thread of one trigger.
pub struct Executor {
    tx: mpsc::UnboundedSender<Request>,
    ctx: Arc<RunContext>,
}

impl Executor {
    /// Starts the thread for `trigger` of the script compiled into `ast`.
    /// `source` is the script's text (an error's log line quotes its line).
    pub fn spawn(
        trigger: &Trigger,
        ast: Arc<AST>,
        source: Arc<str>,
        setup: &Setup,
    ) -> std::io::Result<Self> {
        let ctx = setup.context(Mode::InTrigger);
        let label = trigger.label();
        ctx.set_trigger_name(&label);
        let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
        let thread_ctx = ctx.clone();
        let setup = setup.clone();
        let callback = trigger.callback.clone();
        let imports = trigger.imports.clone();
        let namespaces = trigger.namespaces.clone();
        let name = setup.script_name();
        std::thread::Builder::new()
            .name(format!("trigger {}", trigger.kind.describe()))
            .stack_size(SCRIPT_STACK_SIZE)
            .spawn(move || {
                let _log = tracing::dispatcher::set_default(&setup.dispatch);
                let script = Script::from_text(&source, &name, setup.script.parent());
                let mut engine = setup.engine(&script, thread_ctx.clone(), &label);
                for (alias, module) in imports {
                    engine.register_static_module(alias, module);
                }
                for module in namespaces {
                    engine.register_global_module(module);
                }
                while let Some(req) = rx.blocking_recv() {
                    let started = Instant::now();
                    let run = call_trigger(
                        &engine,
                        &ast,
                        &callback,
                        req.arg,
                        &thread_ctx,
                        &name,
                        &script.source,
                        &setup.limits,
                    );
                    let outcome = match run.error {
                        None if run.status == 0 => Outcome::Done,
                        None => Outcome::Failed(format!("the run ended with exit({})", run.status)),
                        // The context's own words for a cancelled run.
                        Some(msg) if thread_ctx.stop_reason() == Some("cancelled") => {
                            Outcome::Cancelled(msg)
                        }
                        Some(msg) => Outcome::Failed(msg),
                    };
                    // A dry run's plan goes to the log, once per run.
                    let plan = thread_ctx.take_plan();
                    if !plan.is_empty() {
                        for line in crate::script::render_plan(&plan, false).lines() {
                            tracing::info!(target: "script", trigger = %label, "{line}");
                        }
                    }
                    let _ = req.reply.send(Report {
                        outcome,
                        elapsed: started.elapsed(),
                    });
                }
            })?;
        Ok(Self { tx, ctx })
    }

    /// Runs the callback once (with `arg` as its argument, if any) and reports how it went.
    pub fn run(&self, arg: Option<Dynamic>) -> impl Future<Output = Report> + Send + 'static {
        let (reply, rx) = oneshot::channel();
        let sent = self.tx.send(Request { arg, reply }).is_ok();
        async move {
            let gone = Report {
                outcome: Outcome::Failed("the trigger's script thread has stopped".into()),
                elapsed: Duration::ZERO,
            };
            if !sent {
                return gone;
            }
            rx.await.unwrap_or(gone)
        }
    }

    /// Stops the run in flight: script code at its next operation, a Kea call at once.
    pub fn cancel(&self) {
        self.ctx.cancel();
    }
}
