//! The configuration model: a Kea configuration as `serde_json::Value`, with typed access
//! only where keascript has logic (subnets, pools, options, classes, settings), and the
//! edits of the script API applied to it locally, validated, before anything is sent.

pub mod class_keys;
pub mod classes;
mod diff;
mod doc;
pub mod ensure;
pub mod inherit;
mod keys;
mod keywords;
pub mod net;
pub mod networks;
pub mod options;
pub mod paths;
pub mod pd_pools;
mod protect;
pub mod reservations;
pub mod reservations_csv;
mod schema;
pub mod settings;
pub mod subnets;
mod validate;

pub use diff::unified_diff;
pub use doc::{ConfigDoc, SubnetKey, SubnetLoc, merge};
pub use inherit::{OWN_KEY, echo_inherited, normalize_inherited};
pub use keys::{to_kea_keys, to_script_keys};
pub use options::{NameOrCode, OptionScope};
pub use protect::{PROTECTED, protected_changes, restore_protected};
pub use validate::validate;

use std::net::IpAddr;

/// IPv4 (`dhcp4`) or IPv6 (`dhcp6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// The family of a service name.
    pub fn of_service(service: &str) -> Self {
        if service == "dhcp6" {
            Self::V6
        } else {
            Self::V4
        }
    }

    /// `Dhcp4` / `Dhcp6`: the top-level key of the configuration.
    pub fn root_key(self) -> &'static str {
        match self {
            Self::V4 => "Dhcp4",
            Self::V6 => "Dhcp6",
        }
    }

    /// `subnet4` / `subnet6`.
    pub fn subnet_key(self) -> &'static str {
        match self {
            Self::V4 => "subnet4",
            Self::V6 => "subnet6",
        }
    }

    /// `dhcp4` / `dhcp6`: the standard option space.
    pub fn option_space(self) -> &'static str {
        match self {
            Self::V4 => "dhcp4",
            Self::V6 => "dhcp6",
        }
    }

    pub fn matches(self, ip: &IpAddr) -> bool {
        matches!(
            (self, ip),
            (Self::V4, IpAddr::V4(_)) | (Self::V6, IpAddr::V6(_))
        )
    }

    pub fn ip_name(self) -> &'static str {
        match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        }
    }

    pub fn example_prefix(self) -> &'static str {
        match self {
            Self::V4 => "\"10.1.0.0/24\"",
            Self::V6 => "\"2001:db8:1::/64\"",
        }
    }

    pub fn example_pool(self) -> &'static str {
        match self {
            Self::V4 => "\"10.1.0.10-10.1.0.99\" or \"10.1.0.64/26\"",
            Self::V6 => "\"2001:db8:1::100-2001:db8:1::1ff\" or \"2001:db8:1::/120\"",
        }
    }

    /// The catalog family.
    pub fn catalog(self) -> super::catalog::Family {
        match self {
            Self::V4 => super::catalog::Family::V4,
            Self::V6 => super::catalog::Family::V6,
        }
    }
}
