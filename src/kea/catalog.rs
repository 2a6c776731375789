//! Kea's built-in DHCP option definitions, for validating `option-data` and `option-def`.
//!
//! Where the data came from: the definition tables of ISC Kea's `libdhcp++`, read at
//! `isc-projects/kea` commit `d179a1e32a13` (2026-08-20, "Bump up lib versions for Kea 3.3.1"):
//!
//! * `src/lib/dhcp/std_option_defs.h`: the standard DHCPv4 table, the DHCPv4 relay agent
//!   (option 82) sub-options, the CableLabs client configuration (option 122) sub-options, the
//!   DHCPv4 "last resort" table (option 43 only), the standard DHCPv6 table, ISC's DHCPv4-over-DHCPv6
//!   inter-process options, the Softwire46 (S46) container/rule/bind sub-option tables and the
//!   NTP server (option 56) sub-options;
//! * `src/lib/dhcp/docsis3_option_defs.h`: the DOCSIS 3 (CableLabs, enterprise 4491) vendor tables
//!   for both families;
//! * `src/lib/dhcp/dhcp4.h`, `dhcp6.h`: the numeric codes behind the symbolic names used there;
//! * `src/lib/dhcp/option_data_types.cc`: the type names;
//! * `src/lib/dhcp/libdhcp++.cc`, `src/lib/dhcpsrv/parsers/dhcp_parsers.cc` and
//!   `src/lib/dhcpsrv/cfg_option_def.cc`: which spaces exist, how `vendor-<id>` spaces are
//!   resolved, the code limits and the "no override" rule.
//!
//! The tables below are written out by hand from those files (no Kea code is reused).
//!
//! Space names. Kea registers the vendor tables under internal names (`docsis3-v4`,
//! `docsis3-v6`, `4o6`) and maps a configured space `vendor-<enterprise-id>` onto them
//! (`LibDHCP::optionSpaceToVendorId`); configurations use the `vendor-…` form, so this catalog
//! stores DOCSIS under `vendor-4491` (both families) and ISC's 4o6 options under `vendor-2495`
//! (DHCPv6). Lookups by the internal names work too. Option 43 (`vendor-encapsulated-options`)
//! is stored in `dhcp4` although Kea keeps it in the separate `last-resort-v4` table; that is why
//! Kea lets a configuration redefine code 43 (see [`overrides_standard`]).
//!
//! Where this data differs from the Kea ARM tables, the source wins: v4 `domain-name` is
//! `string` (ARM: fqdn), v4 `v4-dnr` and v6 `v6-dnr` are `internal` (ARM: record), v6
//! `pd-exclude` is `ipv6-prefix` (ARM: binary), and the v6 client/server identifiers are named
//! `clientid`/`serverid` (ARM: client-id/server-id).

/// Address family of a DHCP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// One built-in option definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionDef {
    /// Kea's name, e.g. `routers`, `domain-name-servers`.
    pub name: &'static str,
    pub code: u16,
    /// `dhcp4`, `dhcp6` or another standard space (`vendor-4491`, `s46-cont-mape-options`, ...).
    pub space: &'static str,
    /// Kea's type name: `ipv4-address`, `string`, `record`, ... (`internal` for three built-ins).
    pub kind: &'static str,
    pub array: bool,
    /// Field types when `kind == "record"`, empty otherwise.
    pub record_types: &'static [&'static str],
    /// Space of the sub-options this option carries, `""` when none.
    pub encapsulate: &'static str,
}

/// Type names Kea accepts in an `option-def` `type` (and in `record-types`, except `record`
/// and `empty`). From `OptionDataTypeUtil` in `option_data_types.cc`; documented in the ARM
/// "List of standard DHCP option types".
pub const OPTION_TYPES: &[&str] = &[
    "binary",
    "boolean",
    "empty",
    "fqdn",
    "int8",
    "int16",
    "int32",
    "ipv4-address",
    "ipv6-address",
    "ipv6-prefix",
    "psid",
    "record",
    "string",
    "tuple",
    "uint8",
    "uint16",
    "uint32",
];

/// The Kea-internal type of `classless-static-route` (v4 121), `v4-dnr` (v4 162) and `v6-dnr`
/// (v6 144): their `option-data` takes a special text notation. Kea's type-name table also maps
/// this name, but the ARM does not offer it for custom definitions, so it is not in
/// [`OPTION_TYPES`].
pub const INTERNAL_TYPE: &str = "internal";

/// Whether `t` is a type name accepted in an `option-def` (one of [`OPTION_TYPES`]).
pub fn is_option_type(t: &str) -> bool {
    OPTION_TYPES.contains(&t)
}

/// The top-level space of a family: `dhcp4` / `dhcp6`.
pub fn default_space(family: Family) -> &'static str {
    match family {
        Family::V4 => DHCP4,
        Family::V6 => DHCP6,
    }
}

/// Every built-in definition of `family`, all spaces, in Kea's table order.
pub fn standard(family: Family) -> &'static [OptionDef] {
    match family {
        Family::V4 => V4_DEFS,
        Family::V6 => V6_DEFS,
    }
}

/// The built-in definition named `name` in `space`.
pub fn by_name(family: Family, space: &str, name: &str) -> Option<&'static OptionDef> {
    lookup(family, space, |d| d.name == name)
}

/// The built-in definition with `code` in `space`.
pub fn by_code(family: Family, space: &str, code: u16) -> Option<&'static OptionDef> {
    lookup(family, space, |d| d.code == code)
}

/// Codes a custom `option-def` may use in `space` (inclusive bounds).
///
/// Kea (`OptionDefParser::parse`) limits codes to 0..=255 for DHCPv4 and 0..=65535 for DHCPv6,
/// and forbids 0 (PAD) and 255 (END) only in `dhcp4` and 0 only in `dhcp6`. Other spaces,
/// vendor spaces included, may use 0 and 255 (the ARM notes that defining 0/255 in the option 43
/// space turns off PAD/END handling there). Codes already taken by a built-in definition are a
/// separate rule: see [`overrides_standard`].
pub fn code_range(family: Family, space: &str) -> (u16, u16) {
    match family {
        Family::V4 if space == DHCP4 => (1, 254),
        Family::V4 => (0, 255),
        Family::V6 if space == DHCP6 => (1, u16::MAX),
        Family::V6 => (0, u16::MAX),
    }
}

/// The enterprise id of a vendor space name: `vendor-4491` gives `Some(4491)`.
///
/// Follows `LibDHCP::optionSpaceToVendorId`: the text after `vendor-` must be a number in
/// 1..=4294967295 (an optional sign and leading zeros are tolerated, as in Kea); id 0 means
/// "not a vendor space".
pub fn is_vendor_space(space: &str) -> Option<u32> {
    let id: i64 = space.strip_prefix("vendor-")?.parse().ok()?;
    u32::try_from(id).ok().filter(|&id| id != 0)
}

/// The built-in definition a custom `option-def` with this `space`, `code` and `name` would
/// collide with, which Kea rejects ("unable to override definition of option …").
///
/// Mirrors `CfgOptionDef::add`: Kea checks the code, then the name, against its built-in tables
/// by *internal* space name, whatever the server's family. Consequences:
/// * `dhcp4` code 43 / `vendor-encapsulated-options` is free (it lives in `last-resort-v4`);
/// * `vendor-4491` / `vendor-2495` are not checked (Kea's tables are `docsis3-v4`,
///   `docsis3-v6`, `4o6`), so a custom definition there shadows the built-in one, while the
///   internal names themselves are protected.
pub fn overrides_standard(space: &str, code: u16, name: &str) -> Option<&'static OptionDef> {
    let all = || {
        V4_DEFS
            .iter()
            .map(|d| (Family::V4, d))
            .chain(V6_DEFS.iter().map(|d| (Family::V6, d)))
            .filter(|(f, d)| kea_table_space(*f, d) == space)
            .map(|(_, d)| d)
    };
    all()
        .find(|d| d.code == code)
        .or_else(|| all().find(|d| d.name == name))
}

// ---------------------------------------------------------------------------------------------
// Lookup helpers

/// The name of the Kea table (`OPTION_DEF_PARAMS` in `libdhcp++.cc`) holding `def`.
fn kea_table_space(family: Family, def: &OptionDef) -> &'static str {
    match (family, def.space) {
        (Family::V4, DHCP4) if def.code == 43 => LAST_RESORT_V4,
        (Family::V4, VENDOR_DOCSIS) => "docsis3-v4",
        (Family::V6, VENDOR_DOCSIS) => "docsis3-v6",
        (Family::V6, VENDOR_ISC) => "4o6",
        (_, s) => s,
    }
}

fn lookup(
    family: Family,
    space: &str,
    pred: impl Fn(&OptionDef) -> bool,
) -> Option<&'static OptionDef> {
    // Kea resolves both a built-in table's own name and a `vendor-<id>` name.
    let (canonical, last_resort_only) = match (family, space) {
        (Family::V4, "docsis3-v4") | (Family::V6, "docsis3-v6") => (VENDOR_DOCSIS, false),
        (Family::V6, "4o6") => (VENDOR_ISC, false),
        (Family::V4, LAST_RESORT_V4) => (DHCP4, true),
        (_, s) => (s, false),
    };
    standard(family)
        .iter()
        .filter(|d| d.space == canonical && (!last_resort_only || d.code == 43))
        .find(|d| pred(d))
}

// ---------------------------------------------------------------------------------------------
// Names used in the tables

const DHCP4: &str = "dhcp4";
const DHCP6: &str = "dhcp6";
const LAST_RESORT_V4: &str = "last-resort-v4";
const AGENT: &str = "dhcp-agent-options-space";
const VENDOR_43: &str = "vendor-encapsulated-options-space";
const CABLELABS: &str = "cablelabs-client-conf";
/// CableLabs (DOCSIS 3), enterprise 4491; Kea's internal names `docsis3-v4` / `docsis3-v6`.
const VENDOR_DOCSIS: &str = "vendor-4491";
/// ISC, enterprise 2495; Kea's internal name `4o6`.
const VENDOR_ISC: &str = "vendor-2495";
const MAPE: &str = "s46-cont-mape-options";
const MAPT: &str = "s46-cont-mapt-options";
const LW: &str = "s46-cont-lw-options";
const S46_RULE: &str = "s46-rule-options";
const S46_BIND: &str = "s46-v4v6bind-options";
const NTP: &str = "v6-ntp-server-suboptions";
/// Encapsulated by v6 `rsoo`; Kea defines no options in it.
const RSOO: &str = "rsoo-opts";

const EMPTY: &str = "empty";
const BINARY: &str = "binary";
const BOOLEAN: &str = "boolean";
const INT32: &str = "int32";
const UINT8: &str = "uint8";
const UINT16: &str = "uint16";
const UINT32: &str = "uint32";
const IPV4: &str = "ipv4-address";
const IPV6: &str = "ipv6-address";
const PREFIX6: &str = "ipv6-prefix";
const PSID: &str = "psid";
const STRING: &str = "string";
const TUPLE: &str = "tuple";
const FQDN: &str = "fqdn";
const INTERNAL: &str = INTERNAL_TYPE;
const RECORD: &str = "record";

/// A plain, non-array definition.
const fn o(space: &'static str, code: u16, name: &'static str, kind: &'static str) -> OptionDef {
    OptionDef {
        name,
        code,
        space,
        kind,
        array: false,
        record_types: &[],
        encapsulate: "",
    }
}

/// A record definition.
const fn r(
    space: &'static str,
    code: u16,
    name: &'static str,
    fields: &'static [&'static str],
) -> OptionDef {
    OptionDef {
        record_types: fields,
        ..o(space, code, name, RECORD)
    }
}

impl OptionDef {
    /// Marks the definition as an array (for a record: its last field repeats).
    const fn arr(self) -> Self {
        Self {
            array: true,
            ..self
        }
    }

    /// Sets the encapsulated space.
    const fn enc(self, space: &'static str) -> Self {
        Self {
            encapsulate: space,
            ..self
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DHCPv4

/// All DHCPv4 definitions: `dhcp4` (standard table plus option 43 from the last-resort table),
/// `dhcp-agent-options-space`, `cablelabs-client-conf`, `vendor-4491`.
///
/// "Managed" below: the ARM lists the option as set by Kea itself / not directly configurable
/// by an administrator (it still has a definition, and `option-data` naming it is parsed).
static V4_DEFS: &[OptionDef] = &[
    // dhcp4 (STANDARD_V4_OPTION_DEFINITIONS; codes from dhcp4.h)
    o(DHCP4, 1, "subnet-mask", IPV4), // managed (from the subnet)
    o(DHCP4, 2, "time-offset", INT32),
    o(DHCP4, 3, "routers", IPV4).arr(),
    o(DHCP4, 4, "time-servers", IPV4).arr(),
    o(DHCP4, 5, "name-servers", IPV4).arr(),
    o(DHCP4, 6, "domain-name-servers", IPV4).arr(),
    o(DHCP4, 7, "log-servers", IPV4).arr(),
    o(DHCP4, 8, "cookie-servers", IPV4).arr(),
    o(DHCP4, 9, "lpr-servers", IPV4).arr(),
    o(DHCP4, 10, "impress-servers", IPV4).arr(),
    o(DHCP4, 11, "resource-location-servers", IPV4).arr(),
    o(DHCP4, 12, "host-name", STRING), // managed (client / DDNS)
    o(DHCP4, 13, "boot-size", UINT16),
    o(DHCP4, 14, "merit-dump", STRING),
    o(DHCP4, 15, "domain-name", STRING),
    o(DHCP4, 16, "swap-server", IPV4),
    o(DHCP4, 17, "root-path", STRING),
    o(DHCP4, 18, "extensions-path", STRING),
    o(DHCP4, 19, "ip-forwarding", BOOLEAN),
    o(DHCP4, 20, "non-local-source-routing", BOOLEAN),
    o(DHCP4, 21, "policy-filter", IPV4).arr(),
    o(DHCP4, 22, "max-dgram-reassembly", UINT16),
    o(DHCP4, 23, "default-ip-ttl", UINT8),
    o(DHCP4, 24, "path-mtu-aging-timeout", UINT32),
    o(DHCP4, 25, "path-mtu-plateau-table", UINT16).arr(),
    o(DHCP4, 26, "interface-mtu", UINT16),
    o(DHCP4, 27, "all-subnets-local", BOOLEAN),
    o(DHCP4, 28, "broadcast-address", IPV4),
    o(DHCP4, 29, "perform-mask-discovery", BOOLEAN),
    o(DHCP4, 30, "mask-supplier", BOOLEAN),
    o(DHCP4, 31, "router-discovery", BOOLEAN),
    o(DHCP4, 32, "router-solicitation-address", IPV4),
    o(DHCP4, 33, "static-routes", IPV4).arr(),
    o(DHCP4, 34, "trailer-encapsulation", BOOLEAN),
    o(DHCP4, 35, "arp-cache-timeout", UINT32),
    o(DHCP4, 36, "ieee802-3-encapsulation", BOOLEAN),
    o(DHCP4, 37, "default-tcp-ttl", UINT8),
    o(DHCP4, 38, "tcp-keepalive-interval", UINT32),
    o(DHCP4, 39, "tcp-keepalive-garbage", BOOLEAN),
    o(DHCP4, 40, "nis-domain", STRING),
    o(DHCP4, 41, "nis-servers", IPV4).arr(),
    o(DHCP4, 42, "ntp-servers", IPV4).arr(),
    // Not in the standard table: LAST_RESORT_V4_OPTION_DEFINITIONS (space "last-resort-v4"),
    // used only when no configured definition exists, so a configuration may redefine 43.
    o(DHCP4, 43, "vendor-encapsulated-options", EMPTY).enc(VENDOR_43),
    o(DHCP4, 44, "netbios-name-servers", IPV4).arr(),
    o(DHCP4, 45, "netbios-dd-server", IPV4).arr(),
    o(DHCP4, 46, "netbios-node-type", UINT8),
    o(DHCP4, 47, "netbios-scope", STRING),
    o(DHCP4, 48, "font-servers", IPV4).arr(),
    o(DHCP4, 49, "x-display-manager", IPV4).arr(),
    o(DHCP4, 50, "dhcp-requested-address", IPV4), // managed (client only)
    o(DHCP4, 51, "dhcp-lease-time", UINT32),      // managed (valid-lifetime)
    o(DHCP4, 52, "dhcp-option-overload", UINT8),
    o(DHCP4, 53, "dhcp-message-type", UINT8), // managed
    o(DHCP4, 54, "dhcp-server-identifier", IPV4),
    o(DHCP4, 55, "dhcp-parameter-request-list", UINT8).arr(), // managed (client only)
    o(DHCP4, 56, "dhcp-message", STRING),
    o(DHCP4, 57, "dhcp-max-message-size", UINT16),
    o(DHCP4, 58, "dhcp-renewal-time", UINT32), // managed (renew-timer)
    o(DHCP4, 59, "dhcp-rebinding-time", UINT32), // managed (rebind-timer)
    o(DHCP4, 60, "vendor-class-identifier", STRING),
    o(DHCP4, 61, "dhcp-client-identifier", BINARY), // managed (echoed)
    o(DHCP4, 62, "nwip-domain-name", STRING),
    o(DHCP4, 63, "nwip-suboptions", BINARY),
    o(DHCP4, 64, "nisplus-domain-name", STRING),
    o(DHCP4, 65, "nisplus-servers", IPV4).arr(),
    o(DHCP4, 66, "tftp-server-name", STRING),
    o(DHCP4, 67, "boot-file-name", STRING),
    o(DHCP4, 68, "mobile-ip-home-agent", IPV4).arr(),
    o(DHCP4, 69, "smtp-server", IPV4).arr(),
    o(DHCP4, 70, "pop-server", IPV4).arr(),
    o(DHCP4, 71, "nntp-server", IPV4).arr(),
    o(DHCP4, 72, "www-server", IPV4).arr(),
    o(DHCP4, 73, "finger-server", IPV4).arr(),
    o(DHCP4, 74, "irc-server", IPV4).arr(),
    o(DHCP4, 75, "streettalk-server", IPV4).arr(),
    o(DHCP4, 76, "streettalk-directory-assistance-server", IPV4).arr(),
    o(DHCP4, 77, "user-class", BINARY),
    r(DHCP4, 78, "slp-directory-agent", &[BOOLEAN, IPV4]).arr(),
    r(DHCP4, 79, "slp-service-scope", &[BOOLEAN, STRING]),
    r(DHCP4, 81, "fqdn", &[UINT8, UINT8, UINT8, FQDN]), // managed (DDNS)
    o(DHCP4, 82, "dhcp-agent-options", EMPTY).enc(AGENT), // managed (relay)
    o(DHCP4, 85, "nds-servers", IPV4).arr(),
    o(DHCP4, 86, "nds-tree-name", STRING),
    o(DHCP4, 87, "nds-context", STRING),
    o(DHCP4, 88, "bcms-controller-names", FQDN).arr(),
    o(DHCP4, 89, "bcms-controller-address", IPV4).arr(),
    // Binary because the 64-bit replay-detection field has no Kea type. Managed (client only).
    o(DHCP4, 90, "authenticate", BINARY),
    o(DHCP4, 91, "client-last-transaction-time", UINT32), // managed
    o(DHCP4, 92, "associated-ip", IPV4).arr(),            // managed
    o(DHCP4, 93, "client-system", UINT16).arr(),
    r(DHCP4, 94, "client-ndi", &[UINT8, UINT8, UINT8]),
    r(DHCP4, 97, "uuid-guid", &[UINT8, BINARY]),
    o(DHCP4, 98, "uap-servers", STRING),
    o(DHCP4, 99, "geoconf-civic", BINARY),
    o(DHCP4, 100, "pcode", STRING),
    o(DHCP4, 101, "tcode", STRING),
    o(DHCP4, 108, "v6-only-preferred", UINT32),
    o(DHCP4, 112, "netinfo-server-address", IPV4).arr(),
    o(DHCP4, 113, "netinfo-server-tag", STRING),
    // Replaced `default-url` (same code and format) in Kea 2.1.2; `default-url` is gone.
    o(DHCP4, 114, "v4-captive-portal", STRING),
    o(DHCP4, 116, "auto-config", UINT8),
    o(DHCP4, 117, "name-service-search", UINT16).arr(),
    o(DHCP4, 118, "subnet-selection", IPV4), // managed (subnet selection)
    o(DHCP4, 119, "domain-search", FQDN).arr(),
    // data: "10.229.0.128/25 - 10.229.0.1, ..."
    o(DHCP4, 121, "classless-static-route", INTERNAL),
    o(DHCP4, 122, "cablelabs-client-conf", EMPTY).enc(CABLELABS),
    r(DHCP4, 124, "vivco-suboptions", &[UINT32, BINARY]),
    // The enterprise id; the sub-options go in space "vendor-<id>".
    o(DHCP4, 125, "vivso-suboptions", UINT32),
    o(DHCP4, 136, "pana-agent", IPV4).arr(),
    o(DHCP4, 137, "v4-lost", FQDN),
    o(DHCP4, 138, "capwap-ac-v4", IPV4).arr(),
    o(DHCP4, 141, "sip-ua-cs-domains", FQDN).arr(),
    o(DHCP4, 143, "v4-sztp-redirect", TUPLE).arr(),
    r(DHCP4, 146, "rdnss-selection", &[UINT8, IPV4, IPV4, FQDN]).arr(),
    // 151-157: bulk leasequery (RFC 6926), all managed.
    r(DHCP4, 151, "status-code", &[UINT8, STRING]),
    o(DHCP4, 152, "base-time", UINT32),
    o(DHCP4, 153, "start-time-of-state", UINT32),
    o(DHCP4, 154, "query-start-time", UINT32),
    o(DHCP4, 155, "query-end-time", UINT32),
    o(DHCP4, 156, "dhcp-state", UINT8),
    o(DHCP4, 157, "data-source", UINT8),
    r(DHCP4, 159, "v4-portparams", &[UINT8, PSID]),
    // DNR (RFC 9463): special text notation, see the ARM.
    o(DHCP4, 162, "v4-dnr", INTERNAL),
    r(DHCP4, 212, "option-6rd", &[UINT8, UINT8, IPV6, IPV4]).arr(),
    o(DHCP4, 213, "v4-access-domain", FQDN),
    // dhcp-agent-options-space (DHCP_AGENT_OPTION_DEFINITIONS, option 82 sub-options; sent by
    // relays, matched in classification)
    o(AGENT, 1, "circuit-id", BINARY),
    o(AGENT, 2, "remote-id", BINARY),
    o(AGENT, 4, "docsis-device-class", UINT32),
    o(AGENT, 5, "link-selection", IPV4),
    o(AGENT, 6, "subscriber-id", STRING),
    o(AGENT, 7, "radius", BINARY),
    o(AGENT, 8, "auth", BINARY),
    o(AGENT, 9, "vendor-specific-info", BINARY),
    o(AGENT, 10, "relay-flags", UINT8),
    o(AGENT, 11, "server-id-override", IPV4),
    o(AGENT, 12, "relay-id", BINARY),
    o(AGENT, 13, "access-techno-type", UINT16),
    o(AGENT, 14, "access-network-name", STRING),
    o(AGENT, 15, "access-point-name", STRING),
    o(AGENT, 16, "access-point-bssid", BINARY),
    o(AGENT, 17, "operator-id", UINT32),
    o(AGENT, 18, "operator-realm", STRING),
    o(AGENT, 19, "relay-port", UINT16),
    o(AGENT, 151, "virtual-subnet-select", BINARY),
    o(AGENT, 152, "virtual-subnet-select-ctrl", EMPTY),
    // cablelabs-client-conf (CABLELABS_CLIENT_CONF_DEFINITIONS, option 122 sub-options).
    // Code 3 (tsp-provisioning-server) is deliberately undefined in Kea: variant record type.
    o(CABLELABS, 1, "tsp-primary-server", IPV4),
    o(CABLELABS, 2, "tsp-secondary-server", IPV4),
    r(CABLELABS, 4, "tsp-as-parameters", &[UINT32, UINT32, UINT32]),
    r(CABLELABS, 5, "tsp-ap-parameters", &[UINT32, UINT32, UINT32]),
    o(CABLELABS, 6, "tsp-realm", FQDN),
    o(CABLELABS, 7, "tsp-use-tgt", BOOLEAN),
    o(CABLELABS, 8, "tsp-provisioning-timer", UINT8),
    o(CABLELABS, 9, "tsp-sct", UINT16),
    o(CABLELABS, 10, "kdc-server", IPV4).arr(),
    // vendor-4491 (DOCSIS3_V4_OPTION_DEFINITIONS, Kea space "docsis3-v4")
    o(VENDOR_DOCSIS, 1, "oro", UINT8).arr(),
    o(VENDOR_DOCSIS, 2, "tftp-servers", IPV4).arr(),
];

// ---------------------------------------------------------------------------------------------
// DHCPv6

/// All DHCPv6 definitions: `dhcp6`, `vendor-2495` (ISC 4o6), the S46 spaces,
/// `v6-ntp-server-suboptions`, `vendor-4491`.
///
/// "Managed" below: the ARM lists the option as set by Kea itself / not directly configurable
/// by an administrator. "(1)": the ARM says Kea has the definition but not the logic.
static V6_DEFS: &[OptionDef] = &[
    // dhcp6 (STANDARD_V6_OPTION_DEFINITIONS; codes from dhcp6.h)
    o(DHCP6, 1, "clientid", BINARY),                 // managed
    o(DHCP6, 2, "serverid", BINARY),                 // managed (server-id config)
    r(DHCP6, 3, "ia-na", &[UINT32, UINT32, UINT32]), // managed
    // Managed; temporary addresses are deprecated by RFC 9915 and not supported by Kea.
    o(DHCP6, 4, "ia-ta", UINT32),
    r(DHCP6, 5, "iaaddr", &[IPV6, UINT32, UINT32]), // managed
    o(DHCP6, 6, "oro", UINT16).arr(),               // managed (client only)
    o(DHCP6, 7, "preference", UINT8),
    o(DHCP6, 8, "elapsed-time", UINT16), // managed
    o(DHCP6, 9, "relay-msg", BINARY),    // managed
    // Binary because the 64-bit replay-detection field has no Kea type. Managed.
    o(DHCP6, 11, "auth", BINARY),
    // Deprecated by RFC 9915 (Kea 3.1.9+): still accepted, sending it logs a warning and the
    // server no longer accepts unicast direct queries; to be removed in a later release.
    o(DHCP6, 12, "unicast", IPV6),
    r(DHCP6, 13, "status-code", &[UINT16, STRING]), // managed
    o(DHCP6, 14, "rapid-commit", EMPTY),            // managed (rapid-commit parameter)
    o(DHCP6, 15, "user-class", BINARY),             // managed (client only)
    r(DHCP6, 16, "vendor-class", &[UINT32, BINARY]), // managed (client only)
    // Listed as managed, yet it is how vendor sub-options ("vendor-<id>" spaces) are sent:
    // the data is the enterprise id.
    o(DHCP6, 17, "vendor-opts", UINT32),
    o(DHCP6, 18, "interface-id", BINARY), // managed (relay)
    o(DHCP6, 19, "reconf-msg", UINT8),
    o(DHCP6, 20, "reconf-accept", EMPTY),
    o(DHCP6, 21, "sip-server-dns", FQDN).arr(),
    o(DHCP6, 22, "sip-server-addr", IPV6).arr(),
    o(DHCP6, 23, "dns-servers", IPV6).arr(),
    o(DHCP6, 24, "domain-search", FQDN).arr(),
    r(DHCP6, 25, "ia-pd", &[UINT32, UINT32, UINT32]), // managed
    r(DHCP6, 26, "iaprefix", &[UINT32, UINT32, UINT8, IPV6]), // managed
    o(DHCP6, 27, "nis-servers", IPV6).arr(),
    o(DHCP6, 28, "nisp-servers", IPV6).arr(),
    o(DHCP6, 29, "nis-domain-name", FQDN).arr(),
    o(DHCP6, 30, "nisp-domain-name", FQDN).arr(),
    o(DHCP6, 31, "sntp-servers", IPV6).arr(),
    o(DHCP6, 32, "information-refresh-time", UINT32),
    o(DHCP6, 33, "bcmcs-server-dns", FQDN).arr(),
    o(DHCP6, 34, "bcmcs-server-addr", IPV6).arr(),
    r(DHCP6, 36, "geoconf-civic", &[UINT8, UINT16, BINARY]),
    r(DHCP6, 37, "remote-id", &[UINT32, BINARY]),
    o(DHCP6, 38, "subscriber-id", BINARY),
    r(DHCP6, 39, "client-fqdn", &[UINT8, FQDN]),
    o(DHCP6, 40, "pana-agent", IPV6).arr(),
    o(DHCP6, 41, "new-posix-timezone", STRING),
    o(DHCP6, 42, "new-tzdb-timezone", STRING),
    o(DHCP6, 43, "ero", UINT16).arr(),
    // 44-48: leasequery (RFC 5007), (1). 44 and 45 encapsulate their own space, which Kea
    // allows only in its built-in tables.
    r(DHCP6, 44, "lq-query", &[UINT8, IPV6]).enc(DHCP6),
    o(DHCP6, 45, "client-data", EMPTY).enc(DHCP6),
    o(DHCP6, 46, "clt-time", UINT32),
    r(DHCP6, 47, "lq-relay-data", &[IPV6, BINARY]),
    o(DHCP6, 48, "lq-client-link", IPV6).arr(),
    o(DHCP6, 51, "v6-lost", FQDN),
    o(DHCP6, 52, "capwap-ac-v6", IPV6).arr(),
    o(DHCP6, 53, "relay-id", BINARY),
    o(DHCP6, 56, "ntp-server", EMPTY).enc(NTP),
    o(DHCP6, 57, "v6-access-domain", FQDN),
    o(DHCP6, 58, "sip-ua-cs-list", FQDN).arr(),
    o(DHCP6, 59, "bootfile-url", STRING),
    o(DHCP6, 60, "bootfile-param", TUPLE).arr(),
    o(DHCP6, 61, "client-arch-type", UINT16).arr(),
    r(DHCP6, 62, "nii", &[UINT8, UINT8, UINT8]),
    o(DHCP6, 64, "aftr-name", FQDN),
    o(DHCP6, 65, "erp-local-domain-name", FQDN),
    o(DHCP6, 66, "rsoo", EMPTY).enc(RSOO),
    o(DHCP6, 67, "pd-exclude", PREFIX6),
    r(DHCP6, 74, "rdnss-selection", &[IPV6, UINT8, FQDN]).arr(),
    o(DHCP6, 79, "client-linklayer-addr", BINARY),
    o(DHCP6, 80, "link-address", IPV6),
    o(DHCP6, 82, "solmax-rt", UINT32),
    o(DHCP6, 83, "inf-max-rt", UINT32),
    o(DHCP6, 87, "dhcpv4-message", BINARY),
    o(DHCP6, 88, "dhcp4o6-server-addr", IPV6).arr(),
    o(DHCP6, 103, "v6-captive-portal", STRING),
    o(DHCP6, 135, "relay-source-port", UINT16),
    o(DHCP6, 136, "v6-sztp-redirect", TUPLE).arr(),
    o(DHCP6, 143, "ipv6-address-andsf", IPV6).arr(),
    // Softwire46 containers; their rules/BRs live in the encapsulated spaces, not in dhcp6.
    o(DHCP6, 94, "s46-cont-mape", EMPTY).enc(MAPE),
    o(DHCP6, 95, "s46-cont-mapt", EMPTY).enc(MAPT),
    o(DHCP6, 96, "s46-cont-lw", EMPTY).enc(LW),
    // DNR (RFC 9463): special text notation, see the ARM.
    o(DHCP6, 144, "v6-dnr", INTERNAL),
    o(DHCP6, 148, "addr-reg-enable", EMPTY),
    // vendor-2495 (ISC_V6_OPTION_DEFINITIONS, Kea space "4o6"): DHCPv4-over-DHCPv6
    // inter-process communication between kea-dhcp4 and kea-dhcp6, not for configuration.
    o(VENDOR_ISC, 60000, "4o6-interface", STRING),
    o(VENDOR_ISC, 60001, "4o6-source-address", IPV6),
    o(VENDOR_ISC, 60002, "4o6-source-port", UINT16),
    // s46-cont-mape-options (MAPE_V6_OPTION_DEFINITIONS)
    o(MAPE, 90, "s46-br", IPV6),
    r(MAPE, 89, "s46-rule", &[UINT8, UINT8, UINT8, IPV4, PREFIX6]).enc(S46_RULE),
    // s46-cont-mapt-options (MAPT_V6_OPTION_DEFINITIONS)
    r(MAPT, 89, "s46-rule", &[UINT8, UINT8, UINT8, IPV4, PREFIX6]).enc(S46_RULE),
    o(MAPT, 91, "s46-dmr", PREFIX6),
    // s46-cont-lw-options (LW_V6_OPTION_DEFINITIONS)
    o(LW, 90, "s46-br", IPV6),
    r(LW, 92, "s46-v4v6bind", &[IPV4, PREFIX6]).enc(S46_BIND),
    // s46-rule-options (V4V6_RULE_OPTION_DEFINITIONS)
    r(S46_RULE, 93, "s46-portparams", &[UINT8, PSID]),
    // s46-v4v6bind-options (V4V6_BIND_OPTION_DEFINITIONS)
    r(S46_BIND, 93, "s46-portparams", &[UINT8, PSID]),
    // v6-ntp-server-suboptions (V6_NTP_SERVER_DEFINITIONS, option 56 sub-options)
    o(NTP, 1, "ntp-server-address", IPV6),
    o(NTP, 2, "ntp-server-multicast", IPV6),
    o(NTP, 3, "ntp-server-fqdn", FQDN),
    // vendor-4491 (DOCSIS3_V6_OPTION_DEFINITIONS, Kea space "docsis3-v6")
    o(VENDOR_DOCSIS, 1, "oro", UINT16).arr(),
    o(VENDOR_DOCSIS, 2, "device-type", STRING),
    o(VENDOR_DOCSIS, 10, "vendor-type", STRING),
    o(VENDOR_DOCSIS, 32, "tftp-servers", IPV6).arr(),
    o(VENDOR_DOCSIS, 37, "time-servers", IPV6).arr(),
    o(VENDOR_DOCSIS, 33, "config-file", STRING),
    o(VENDOR_DOCSIS, 34, "syslog-servers", IPV6).arr(),
    o(VENDOR_DOCSIS, 36, "device-id", BINARY),
    o(VENDOR_DOCSIS, 38, "time-offset", INT32),
    // Inserted by the CMTS acting as relay.
    o(VENDOR_DOCSIS, 1026, "cmts-cm-mac", BINARY),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};

    fn v4(name: &str) -> &'static OptionDef {
        by_name(Family::V4, "dhcp4", name).unwrap_or_else(|| panic!("v4 {name}"))
    }

    fn v6(name: &str) -> &'static OptionDef {
        by_name(Family::V6, "dhcp6", name).unwrap_or_else(|| panic!("v6 {name}"))
    }

    fn counts(family: Family) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for d in standard(family) {
            *m.entry(d.space).or_default() += 1;
        }
        m
    }

    #[test]
    fn v4_spot_checks() {
        let d = v4("routers");
        assert_eq!((d.code, d.kind, d.array), (3, "ipv4-address", true));
        assert_eq!(v4("domain-name-servers").code, 6);
        assert!(v4("domain-name-servers").array);
        assert_eq!(
            (v4("domain-name").code, v4("domain-name").kind),
            (15, "string")
        );
        let d = v4("vendor-encapsulated-options");
        assert_eq!((d.code, d.kind, d.array), (43, "empty", false));
        assert_eq!(d.encapsulate, "vendor-encapsulated-options-space");
        assert_eq!(
            (v4("dhcp-lease-time").code, v4("dhcp-lease-time").kind),
            (51, "uint32")
        );
        assert_eq!(v4("classless-static-route").code, 121);
        assert_eq!(v4("classless-static-route").kind, "internal");
        assert_eq!(v4("subnet-mask").code, 1);
        let d = v4("dhcp-agent-options");
        assert_eq!((d.code, d.encapsulate), (82, "dhcp-agent-options-space"));
        let d = v4("slp-directory-agent");
        assert_eq!((d.code, d.kind, d.array), (78, "record", true));
        assert_eq!(d.record_types, ["boolean", "ipv4-address"]);
        assert_eq!(v4("v4-portparams").record_types, ["uint8", "psid"]);
        assert_eq!(v4("option-6rd").code, 212);
        assert_eq!(v4("vivso-suboptions").kind, "uint32");
        assert_eq!(v4("v4-captive-portal").code, 114);
        assert!(by_name(Family::V4, "dhcp4", "default-url").is_none());
        assert_eq!(v4("v4-sztp-redirect").kind, "tuple");
        assert_eq!(v4("v4-dnr").kind, "internal");
        assert_eq!(
            by_code(Family::V4, "dhcp4", 119).unwrap().name,
            "domain-search"
        );
        assert_eq!(
            by_code(Family::V4, "dhcp4", 213).unwrap().name,
            "v4-access-domain"
        );
        for free in [
            0, 80, 83, 84, 95, 96, 120, 150, 160, 208, 223, 224, 254, 255,
        ] {
            assert!(by_code(Family::V4, "dhcp4", free).is_none(), "code {free}");
        }
        let d = by_name(Family::V4, "dhcp-agent-options-space", "link-selection").unwrap();
        assert_eq!((d.code, d.kind), (5, "ipv4-address"));
        let d = by_code(Family::V4, "cablelabs-client-conf", 10).unwrap();
        assert_eq!((d.name, d.array), ("kdc-server", true));
        assert!(by_code(Family::V4, "cablelabs-client-conf", 3).is_none());
        // v4 names don't leak into v6 and vice versa.
        assert!(by_name(Family::V6, "dhcp4", "routers").is_none());
        assert!(by_name(Family::V4, "dhcp6", "dns-servers").is_none());
    }

    #[test]
    fn v6_spot_checks() {
        let d = v6("dns-servers");
        assert_eq!((d.code, d.kind, d.array), (23, "ipv6-address", true));
        let d = v6("domain-search");
        assert_eq!((d.code, d.kind, d.array), (24, "fqdn", true));
        assert_eq!(v6("clientid").code, 1);
        assert_eq!(v6("serverid").code, 2);
        assert_eq!(v6("ia-na").record_types, ["uint32", "uint32", "uint32"]);
        assert_eq!(
            v6("iaprefix").record_types,
            ["uint32", "uint32", "uint8", "ipv6-address"]
        );
        assert_eq!(v6("status-code").record_types, ["uint16", "string"]);
        assert_eq!(
            (v6("vendor-opts").code, v6("vendor-opts").kind),
            (17, "uint32")
        );
        assert_eq!(
            (v6("unicast").code, v6("unicast").kind),
            (12, "ipv6-address")
        );
        assert_eq!(v6("bootfile-param").kind, "tuple");
        assert!(v6("bootfile-param").array);
        assert_eq!(v6("pd-exclude").kind, "ipv6-prefix");
        assert_eq!(v6("ntp-server").encapsulate, "v6-ntp-server-suboptions");
        assert_eq!(v6("s46-cont-mape").encapsulate, "s46-cont-mape-options");
        assert_eq!(v6("v6-dnr").code, 144);
        assert_eq!(v6("addr-reg-enable").code, 148);
        assert!(by_name(Family::V6, "dhcp6", "s46-rule").is_none());
        let d = by_name(Family::V6, "s46-cont-mapt-options", "s46-rule").unwrap();
        assert_eq!(d.code, 89);
        assert_eq!(d.encapsulate, "s46-rule-options");
        assert_eq!(d.record_types[4], "ipv6-prefix");
        let d = by_code(Family::V6, "s46-v4v6bind-options", 93).unwrap();
        assert_eq!(d.record_types, ["uint8", "psid"]);
        let d = by_code(Family::V6, "v6-ntp-server-suboptions", 3).unwrap();
        assert_eq!((d.name, d.kind), ("ntp-server-fqdn", "fqdn"));
    }

    #[test]
    fn vendor_spaces_and_aliases() {
        let d = by_code(Family::V4, "vendor-4491", 2).unwrap();
        assert_eq!(
            (d.name, d.kind, d.array),
            ("tftp-servers", "ipv4-address", true)
        );
        let d = by_code(Family::V6, "vendor-4491", 32).unwrap();
        assert_eq!((d.name, d.kind), ("tftp-servers", "ipv6-address"));
        assert_eq!(
            by_code(Family::V6, "vendor-4491", 1026).unwrap().name,
            "cmts-cm-mac"
        );
        assert_eq!(
            by_name(Family::V4, "docsis3-v4", "oro").unwrap().kind,
            "uint8"
        );
        assert_eq!(
            by_name(Family::V6, "docsis3-v6", "oro").unwrap().kind,
            "uint16"
        );
        assert!(by_name(Family::V4, "docsis3-v6", "oro").is_none());
        let d = by_code(Family::V6, "vendor-2495", 60001).unwrap();
        assert_eq!(d.name, "4o6-source-address");
        assert_eq!(
            by_code(Family::V6, "4o6", 60002).unwrap().name,
            "4o6-source-port"
        );
        assert!(by_code(Family::V4, "vendor-2495", 60000).is_none());
        let d = by_code(Family::V4, "last-resort-v4", 43).unwrap();
        assert_eq!(d.name, "vendor-encapsulated-options");
        assert!(by_code(Family::V4, "last-resort-v4", 3).is_none());
    }

    #[test]
    fn counts_per_space() {
        let v4 = counts(Family::V4);
        assert_eq!(v4["dhcp4"], 125);
        assert_eq!(v4["dhcp-agent-options-space"], 20);
        assert_eq!(v4["cablelabs-client-conf"], 9);
        assert_eq!(v4["vendor-4491"], 2);
        assert_eq!(v4.len(), 4);
        assert_eq!(standard(Family::V4).len(), 156);
        let v6 = counts(Family::V6);
        assert_eq!(v6["dhcp6"], 76);
        assert_eq!(v6["vendor-2495"], 3);
        assert_eq!(v6["vendor-4491"], 10);
        assert_eq!(v6["s46-cont-mape-options"], 2);
        assert_eq!(v6["s46-cont-mapt-options"], 2);
        assert_eq!(v6["s46-cont-lw-options"], 2);
        assert_eq!(v6["s46-rule-options"], 1);
        assert_eq!(v6["s46-v4v6bind-options"], 1);
        assert_eq!(v6["v6-ntp-server-suboptions"], 3);
        assert_eq!(v6.len(), 9);
        assert_eq!(standard(Family::V6).len(), 100);
    }

    #[test]
    fn names_and_codes_unique_per_space() {
        for family in [Family::V4, Family::V6] {
            let mut names = HashSet::new();
            let mut codes = HashSet::new();
            for d in standard(family) {
                assert!(
                    names.insert((d.space, d.name)),
                    "{family:?} {}.{}",
                    d.space,
                    d.name
                );
                assert!(
                    codes.insert((d.space, d.code)),
                    "{family:?} {}.{}",
                    d.space,
                    d.code
                );
                assert_eq!(by_name(family, d.space, d.name), Some(d));
                assert_eq!(by_code(family, d.space, d.code), Some(d));
            }
        }
    }

    #[test]
    fn definitions_are_well_formed() {
        for family in [Family::V4, Family::V6] {
            for d in standard(family) {
                let what = format!("{family:?} {}.{}", d.space, d.name);
                // Only the three DNR/route built-ins use Kea's internal type.
                if d.kind == INTERNAL_TYPE {
                    assert!(
                        ["classless-static-route", "v4-dnr", "v6-dnr"].contains(&d.name),
                        "{what}"
                    );
                } else {
                    assert!(is_option_type(d.kind), "{what}: {}", d.kind);
                }
                let (lo, hi) = code_range(family, d.space);
                assert!(d.code >= lo && d.code <= hi, "{what}");
                if d.kind == "record" {
                    assert!(d.record_types.len() >= 2, "{what}");
                    let (last, init) = d.record_types.split_last().unwrap();
                    for f in d.record_types {
                        assert!(
                            is_option_type(f) && !["record", "empty"].contains(f),
                            "{what}"
                        );
                    }
                    for f in init {
                        assert!(!["string", "binary"].contains(f), "{what}: {f} not last");
                    }
                    assert!(!(d.array && ["string", "binary"].contains(last)), "{what}");
                } else {
                    assert!(d.record_types.is_empty(), "{what}");
                }
                if d.array {
                    assert!(!["string", "binary", "empty", "internal"].contains(&d.kind));
                }
                if !d.encapsulate.is_empty() {
                    assert!(!d.array, "{what}");
                    // Every encapsulated space is a catalog space, or one Kea leaves empty.
                    let known = standard(family).iter().any(|x| x.space == d.encapsulate)
                        || [VENDOR_43, RSOO].contains(&d.encapsulate);
                    assert!(known, "{what} -> {}", d.encapsulate);
                }
                let s = d.space;
                assert!(s == default_space(family) || s.contains('-'), "{what}");
            }
        }
    }

    #[test]
    fn option_types() {
        assert_eq!(OPTION_TYPES.len(), 17);
        for t in [
            "binary",
            "record",
            "psid",
            "ipv6-prefix",
            "tuple",
            "int8",
            "empty",
        ] {
            assert!(is_option_type(t), "{t}");
        }
        for t in ["internal", "unknown", "any-address", "ipv4", "String", ""] {
            assert!(!is_option_type(t), "{t}");
        }
    }

    #[test]
    fn code_ranges() {
        assert_eq!(code_range(Family::V4, "dhcp4"), (1, 254));
        assert_eq!(code_range(Family::V6, "dhcp6"), (1, 65535));
        assert_eq!(
            code_range(Family::V4, "vendor-encapsulated-options-space"),
            (0, 255)
        );
        assert_eq!(code_range(Family::V4, "vendor-25167"), (0, 255));
        assert_eq!(code_range(Family::V6, "vendor-4491"), (0, 65535));
        assert_eq!(default_space(Family::V4), "dhcp4");
        assert_eq!(default_space(Family::V6), "dhcp6");
    }

    #[test]
    fn vendor_space_ids() {
        assert_eq!(is_vendor_space("vendor-4491"), Some(4491));
        assert_eq!(is_vendor_space("vendor-2495"), Some(2495));
        assert_eq!(is_vendor_space("vendor-4294967295"), Some(u32::MAX));
        assert_eq!(is_vendor_space("vendor-04491"), Some(4491));
        for s in [
            "vendor-",
            "vendor-0",
            "vendor-4294967296",
            "vendor--1",
            "vendor-x1",
            "vendor-1 ",
            "vendor-encapsulated-options-space",
            "dhcp4",
            "Vendor-1",
        ] {
            assert_eq!(is_vendor_space(s), None, "{s}");
        }
    }

    #[test]
    fn override_rule() {
        assert_eq!(
            overrides_standard("dhcp4", 3, "my-routers").unwrap().name,
            "routers"
        );
        assert_eq!(overrides_standard("dhcp4", 224, "routers").unwrap().code, 3);
        assert!(overrides_standard("dhcp4", 224, "my-opt").is_none());
        // Option 43 comes from the last-resort table, so dhcp4 may redefine it.
        assert!(overrides_standard("dhcp4", 43, "vendor-encapsulated-options").is_none());
        assert!(overrides_standard("last-resort-v4", 43, "x").is_some());
        // Kea checks by internal table name, family-blind.
        assert_eq!(
            overrides_standard("dhcp6", 23, "x").unwrap().name,
            "dns-servers"
        );
        assert!(overrides_standard("vendor-4491", 2, "tftp-servers").is_none());
        assert!(overrides_standard("docsis3-v4", 2, "x").is_some());
        assert_eq!(
            overrides_standard("docsis3-v6", 2, "x").unwrap().kind,
            "string"
        );
        assert!(overrides_standard("4o6", 60000, "x").is_some());
        assert!(overrides_standard("s46-rule-options", 93, "x").is_some());
        assert!(overrides_standard("my-space", 1, "routers").is_none());
    }
}
