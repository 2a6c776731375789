//! One script thread per trigger. Rhai is synchronous and Kea calls block on the runtime
//! (`RunContext::block` uses `Handle::block_on`), so each trigger owns a dedicated OS thread
//! with its own engine and [`RunContext`] (its own deadline and cancel switch); the async
//! side sends it run requests over a channel and awaits the reply
//! (`reference/rust-anchors.md` §1.8).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{AST, Dynamic, Engine, EvalAltResult, FnPtr};
use tokio::sync::{mpsc, oneshot};

use crate::kea::Inventory;
use crate::script::triggers::{Mode, Trigger};
use crate::script::{Limits, RunContext, SCRIPT_STACK_SIZE, build_engine, describe_error};

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

    /// An engine bound to `ctx`, with `print` and `debug` going to the log.
    pub fn engine(&self, ctx: Arc<RunContext>, label: &str) -> Engine {
        let mut engine = build_engine(ctx, &self.limits, self.script.parent());
        let l = label.to_string();
        engine.on_print(move |s| tracing::info!(target: "script", trigger = %l, "{s}"));
        let l = label.to_string();
        engine.on_debug(move |s, src, pos| {
            let src = src.unwrap_or("<script>");
            match pos.line() {
                Some(line) => {
                    tracing::debug!(target: "script", trigger = %l, "[{src}:{line}] {s}")
                }
                None => tracing::debug!(target: "script", trigger = %l, "[{src}] {s}"),
            }
        });
        engine
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
    pub fn spawn(trigger: &Trigger, ast: Arc<AST>, setup: &Setup) -> std::io::Result<Self> {
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
                let mut engine = setup.engine(thread_ctx.clone(), &label);
                for (alias, module) in imports {
                    engine.register_static_module(alias, module);
                }
                for module in namespaces {
                    engine.register_global_module(module);
                }
                while let Some(req) = rx.blocking_recv() {
                    thread_ctx.start_clock();
                    let started = Instant::now();
                    let result = call(&engine, &ast, &callback, req.arg, &thread_ctx);
                    let outcome = match result {
                        Ok(_) => Outcome::Done,
                        Err(CallError::Arity(msg)) => Outcome::Failed(msg),
                        Err(CallError::Script(e)) => {
                            // Not "in `anon$…` called at <script>": the log says which
                            // trigger; and one line per log event.
                            let e = match *e {
                                EvalAltResult::ErrorInFunctionCall(f, _, inner, _)
                                    if f == callback.fn_name() =>
                                {
                                    inner
                                }
                                other => Box::new(other),
                            };
                            let msg =
                                describe_error(&e, &name, &setup.limits).replace("\n  ", "; ");
                            // The context's own words for a cancelled run.
                            if thread_ctx.stop_reason() == Some("cancelled") {
                                Outcome::Cancelled(msg)
                            } else {
                                Outcome::Failed(msg)
                            }
                        }
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

enum CallError {
    Script(Box<EvalAltResult>),
    /// The callback does not take the arguments its trigger gives.
    Arity(String),
}

/// Calls the callback. `on_change` passes the event map; a callback that takes no
/// parameter is called without it.
fn call(
    engine: &Engine,
    ast: &AST,
    f: &FnPtr,
    arg: Option<Dynamic>,
    ctx: &RunContext,
) -> Result<Dynamic, CallError> {
    let not_found = |e: &EvalAltResult| matches!(e, EvalAltResult::ErrorFunctionNotFound(sig, _) if sig.starts_with(f.fn_name()));
    let result = match arg {
        Some(ev) => match f.call::<Dynamic>(engine, ast, (ev,)) {
            Err(e) if not_found(&e) => f.call::<Dynamic>(engine, ast, ()),
            r => r,
        },
        None => f.call::<Dynamic>(engine, ast, ()),
    };
    let result = ctx.finish(result);
    result.map_err(|e| {
        if not_found(&e) {
            let which = if f.is_anonymous() {
                "the function given to the trigger".to_string()
            } else {
                format!("function \"{}\"", f.fn_name())
            };
            CallError::Arity(format!(
                "error: {which} must take no parameter (timers) or one, the event (on_change)"
            ))
        } else {
            CallError::Script(e)
        }
    })
}
