//! What a service can do, read from `list-commands`.

use std::collections::BTreeSet;

/// The hooks and features a service offers, as booleans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub lease_cmds: bool,
    pub subnet_cmds: bool,
    pub class_cmds: bool,
    pub ha: bool,
    pub stat_cmds: bool,
    pub config_hash: bool,
    /// `reservation-add`/`-get`… (`host_cmds`): reservations in a hosts database.
    pub host_cmds: bool,
}

impl Capabilities {
    /// Reads the command list of `service` (`dhcp4` or `dhcp6`).
    pub fn from_commands<'a>(service: &str, commands: impl IntoIterator<Item = &'a str>) -> Self {
        let set: BTreeSet<&str> = commands.into_iter().collect();
        let v = if service == "dhcp6" { "6" } else { "4" };
        let has = |c: &str| set.contains(c);
        Self {
            lease_cmds: has(&format!("lease{v}-get-page")),
            subnet_cmds: has(&format!("subnet{v}-list")),
            class_cmds: has("class-list"),
            ha: has("ha-heartbeat"),
            stat_cmds: has(&format!("stat-lease{v}-get")),
            config_hash: has("config-hash-get"),
            host_cmds: has("reservation-add"),
        }
    }

    /// `(name, value)` pairs in the documented order.
    pub fn entries(&self) -> [(&'static str, bool); 7] {
        [
            ("lease_cmds", self.lease_cmds),
            ("subnet_cmds", self.subnet_cmds),
            ("class_cmds", self.class_cmds),
            ("ha", self.ha),
            ("stat_cmds", self.stat_cmds),
            ("config_hash", self.config_hash),
            ("host_cmds", self.host_cmds),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kea_2_2_with_lease_and_stat_hooks() {
        let cmds = [
            "config-get",
            "lease4-get-page",
            "lease6-get-page",
            "stat-lease4-get",
        ];
        let c = Capabilities::from_commands("dhcp4", cmds);
        assert!(c.lease_cmds && c.stat_cmds);
        assert!(!c.subnet_cmds && !c.class_cmds && !c.ha && !c.config_hash);
        let c6 = Capabilities::from_commands("dhcp6", cmds);
        assert!(c6.lease_cmds && !c6.stat_cmds);
    }

    #[test]
    fn kea_3_hooks() {
        let c = Capabilities::from_commands(
            "dhcp4",
            [
                "subnet4-list",
                "class-list",
                "ha-heartbeat",
                "config-hash-get",
                "reservation-add",
            ],
        );
        assert!(c.subnet_cmds && c.class_cmds && c.ha && c.config_hash && c.host_cmds);
    }
}
