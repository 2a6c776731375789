//! What Kea is: result codes as error kinds, servers and their services, capabilities,
//! the inventory. Never imports Rhai, so everything here is testable without a script engine.

pub mod audit;
mod capabilities;
pub mod catalog;
pub mod config;
pub mod confirm;
pub mod doctor;
pub mod drift;
pub mod edit;
mod error;
pub mod ha;
pub mod hosts;
pub mod identity;
mod inventory;
pub mod leases;
pub mod redact;
mod server;
pub mod snapshots;
pub mod stats;
pub mod undo;
mod version;

pub use capabilities::Capabilities;
pub use error::{ErrorKind, KeaError};
pub use inventory::{Inventory, ServerEntry};
pub use server::{Server, Service};
pub use version::KeaVersion;

/// The DHCP services keascript manages.
pub const SERVICES: [&str; 2] = ["dhcp4", "dhcp6"];
