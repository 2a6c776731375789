//! What Kea is: result codes as error kinds, servers and their services, capabilities,
//! the inventory. Never imports Rhai, so everything here is testable without a script engine.

mod capabilities;
pub mod catalog;
pub mod config;
pub mod drift;
pub mod audit;
pub mod edit;
pub mod ha;
pub mod leases;
pub mod stats;
mod error;
mod inventory;
mod server;

pub use capabilities::Capabilities;
pub use error::{ErrorKind, KeaError};
pub use inventory::{Inventory, ServerEntry};
pub use server::{Server, Service};

/// The DHCP services keascript manages.
pub const SERVICES: [&str; 2] = ["dhcp4", "dhcp6"];
