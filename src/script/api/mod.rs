//! The bindings of `spec/script-api.md`, one file per area.

mod args;
mod connect;
mod editing;
mod ensure;
mod ha;
mod leases;
mod misc;
mod reading;
mod reservation_list;
mod reservations;
mod server;
mod service;
mod triggers;
pub mod undo;
mod views;

use std::sync::Arc;

use rhai::Engine;

use super::RunContext;

pub use server::ServerHandle;
pub use service::ServiceHandle;

/// Registers every function and type of the script API on `engine`.
pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    connect::register(engine, ctx.clone());
    server::register(engine, ctx.clone());
    service::register(engine, ctx.clone());
    reading::register(engine, ctx.clone());
    editing::register(engine, ctx.clone());
    ensure::register(engine, ctx.clone());
    reservations::register(engine, ctx.clone());
    ha::register(engine, ctx.clone());
    leases::register(engine, ctx.clone());
    triggers::register(engine, ctx.clone());
    undo::register(engine, ctx.clone());
    misc::register(engine, ctx);
}
