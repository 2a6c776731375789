//! The one source of the REPL's `:help` texts: every function, method and property of the
//! script API with its signatures and a one-line description. Tests keep it honest: every
//! entry is in `docs/script-api.md` and is registered on the engine, and every function
//! the engine registers for the script API has an entry.

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A global function: `kea()`.
    Function,
    /// A method of a type: `v4.subnets()`.
    Method,
    /// A property of a type: `srv.name`.
    Property,
    /// Part of the Rhai language or its standard library (`print`, `import`), listed for
    /// completeness; not registered by keascript.
    Language,
}

/// One name of the script API.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub name: &'static str,
    pub kind: Kind,
    /// The types it is called on (`Server`, `Service`, `Transaction`); empty for functions.
    pub on: &'static [&'static str],
    /// How it is called, one line per form.
    pub signatures: &'static [&'static str],
    /// One line: what it does.
    pub doc: &'static str,
    /// The section it belongs to (as in `docs/script-api.md`).
    pub area: &'static str,
}

const SERVER: &[&str] = &["Server"];
const SERVICE: &[&str] = &["Service"];
const TX: &[&str] = &["Transaction"];
/// Mutators: on a Service (committed at once) and on a Transaction (staged).
const MUT: &[&str] = &["Service", "Transaction"];
const NONE: &[&str] = &[];
const RESV_LIST: &[&str] = &["Reservations"];

const fn f(
    name: &'static str,
    signatures: &'static [&'static str],
    doc: &'static str,
    area: &'static str,
) -> Entry {
    Entry {
        name,
        kind: Kind::Function,
        on: NONE,
        signatures,
        doc,
        area,
    }
}

const fn m(
    on: &'static [&'static str],
    name: &'static str,
    signatures: &'static [&'static str],
    doc: &'static str,
    area: &'static str,
) -> Entry {
    Entry {
        name,
        kind: Kind::Method,
        on,
        signatures,
        doc,
        area,
    }
}

const fn p(
    on: &'static [&'static str],
    name: &'static str,
    signatures: &'static [&'static str],
    doc: &'static str,
    area: &'static str,
) -> Entry {
    Entry {
        name,
        kind: Kind::Property,
        on,
        signatures,
        doc,
        area,
    }
}

const fn lang(
    name: &'static str,
    signatures: &'static [&'static str],
    doc: &'static str,
    area: &'static str,
) -> Entry {
    Entry {
        name,
        kind: Kind::Language,
        on: NONE,
        signatures,
        doc,
        area,
    }
}

const CONNECTING: &str = "Connecting";
const SERVER_AREA: &str = "Server";
const RAW: &str = "Service: raw configuration";
const SCOPES: &str = "Scopes and pools";
const CLASSES: &str = "Client classes";
const HOSTS: &str = "Host reservations, shared networks and PD pools";
const OPTIONS: &str = "Options and option definitions";
const ENSURE: &str = "Idempotent changes";
const PROPS: &str = "Server properties";
const TXS: &str = "Transactions and dry runs";
const HA: &str = "High availability";
const LEASES: &str = "Leases and statistics";
const TRIGGERS: &str = "Triggers (keascript daemon)";
const FILES: &str = "Files, logs and configuration drift";
const ELSE: &str = "Everything else";

/// Every name of the script API, in the order of `docs/script-api.md`.
pub const ENTRIES: &[Entry] = &[
    // Connecting
    f(
        "kea",
        &["kea()", "kea(name)"],
        "the inventory's default server, or the server of that name",
        CONNECTING,
    ),
    f(
        "connect",
        &["connect(url)", "connect(url, opts)"],
        "an ad hoc server: http(s)://host:port or unix:/path; opts: service, user, password_file, password_env, ca_file, cert_file, key_file, timeout_ms",
        CONNECTING,
    ),
    f(
        "servers",
        &["servers()"],
        "every server of the inventory, as an array of Server",
        CONNECTING,
    ),
    f(
        "selection",
        &["selection()"],
        "in a fleet run (run --all / --tag / --servers): the selected servers, as an array of Server; else [kea()]",
        CONNECTING,
    ),
    // Server
    p(
        SERVER,
        "name",
        &["srv.name"],
        "the server's name in the inventory (in a fleet run, kea().name is the server this run is on)",
        SERVER_AREA,
    ),
    p(SERVER, "url", &["srv.url"], "the server's URL", SERVER_AREA),
    p(
        SERVER,
        "dhcp4",
        &["srv.dhcp4"],
        "the server's DHCPv4 Service",
        SERVER_AREA,
    ),
    p(
        SERVER,
        "dhcp6",
        &["srv.dhcp6"],
        "the server's DHCPv6 Service",
        SERVER_AREA,
    ),
    m(
        SERVER,
        "version",
        &["srv.version()"],
        "Kea's version, e.g. \"2.2.0\"",
        SERVER_AREA,
    ),
    m(
        SERVER,
        "services",
        &["srv.services()"],
        "the DHCP services that answer behind this server, e.g. [\"dhcp4\", \"dhcp6\"]",
        SERVER_AREA,
    ),
    m(
        SERVER,
        "command",
        &[
            "srv.command(cmd)",
            "srv.command(cmd, service)",
            "srv.command(cmd, service, args)",
        ],
        "any Kea command; returns its arguments, throws on an error result",
        SERVER_AREA,
    ),
    m(
        SERVER,
        "reload",
        &["srv.reload()"],
        "config-reload on every service; returns #{ dhcp4: text, ... }",
        SERVER_AREA,
    ),
    // Service: raw configuration
    p(SERVICE, "name", &["v4.name"], "\"dhcp4\" or \"dhcp6\"", RAW),
    p(SERVICE, "server", &["v4.server"], "its Server", RAW),
    m(
        SERVICE,
        "capabilities",
        &["v4.capabilities()"],
        "#{ lease_cmds, subnet_cmds, class_cmds, ha, stat_cmds, config_hash } as booleans",
        RAW,
    ),
    m(
        SERVICE,
        "config",
        &["v4.config()"],
        "the running configuration, #{ Dhcp4: ... } as Kea speaks it",
        RAW,
    ),
    m(
        SERVICE,
        "test",
        &["v4.test(cfg)"],
        "config-test: Kea's verdict, or a kea error with Kea's own text",
        RAW,
    ),
    m(
        MUT,
        "apply",
        &["v4.apply(cfg)", "v4.apply(cfg, #{ allow_paths: true })"],
        "replace the whole configuration safely (checked, set, written); paths and hooks only with allow_paths",
        RAW,
    ),
    m(
        SERVICE,
        "write",
        &["v4.write()"],
        "config-write to the daemon's own configuration file",
        RAW,
    ),
    m(
        SERVICE,
        "reload",
        &["v4.reload()"],
        "config-reload: the daemon re-reads its startup file",
        RAW,
    ),
    m(SERVICE, "status", &["v4.status()"], "status-get", RAW),
    m(
        SERVICE,
        "command",
        &["v4.command(cmd)", "v4.command(cmd, args)"],
        "any command, sent to this service",
        RAW,
    ),
    // Scopes and pools
    m(
        SERVICE,
        "subnets",
        &["v4.subnets()"],
        "every subnet, as maps",
        SCOPES,
    ),
    m(
        SERVICE,
        "subnet",
        &["v4.subnet(key)"],
        "one subnet by prefix or id, or ()",
        SCOPES,
    ),
    m(
        MUT,
        "add_subnet",
        &["v4.add_subnet(map)"],
        "add a subnet (subnet required; id, pools, option_data, client_classes or client_class, lifetimes...)",
        SCOPES,
    ),
    m(
        MUT,
        "update_subnet",
        &["v4.update_subnet(key, map)"],
        "merge map into the subnet; keys not named keep their values",
        SCOPES,
    ),
    m(
        MUT,
        "delete_subnet",
        &["v4.delete_subnet(key)"],
        "remove a subnet",
        SCOPES,
    ),
    m(
        SERVICE,
        "pools",
        &["v4.pools(key)"],
        "the pools of a subnet",
        SCOPES,
    ),
    m(
        MUT,
        "add_pool",
        &["v4.add_pool(key, range)", "v4.add_pool(key, range, map)"],
        "add a pool inside the subnet, overlapping no other pool",
        SCOPES,
    ),
    m(
        MUT,
        "delete_pool",
        &["v4.delete_pool(key, range)"],
        "remove a pool",
        SCOPES,
    ),
    // Host reservations, shared networks, PD pools
    m(
        SERVICE,
        "reservations",
        &["v4.reservations()", "v4.reservations(scope)"],
        "host reservations: all, or of one subnet key or \"global\"; a lazy list (for r in …, paged from a hosts database): len(), is_empty(), to_array()",
        HOSTS,
    ),
    m(
        RESV_LIST,
        "len",
        &["v4.reservations().len()"],
        "how many reservations the lazy list has (a hosts database is counted page by page)",
        HOSTS,
    ),
    m(
        RESV_LIST,
        "is_empty",
        &["v4.reservations(scope).is_empty()"],
        "whether there is none (reads one page at most)",
        HOSTS,
    ),
    m(
        RESV_LIST,
        "to_array",
        &["v4.reservations().to_array()"],
        "every reservation in an array (for filter, map, sort, indexing)",
        HOSTS,
    ),
    m(
        SERVICE,
        "reservation",
        &["v4.reservation(key)", "v4.reservation(scope, key)"],
        "one reservation by address or #{ hw_address | client_id | duid | circuit_id | flex_id }, or ()",
        HOSTS,
    ),
    m(
        MUT,
        "add_reservation",
        &["v4.add_reservation(map)"],
        "reserve: subnet (absent = global), one identifier, ip_address (v6: ip_addresses, prefixes), hostname…",
        HOSTS,
    ),
    m(
        MUT,
        "update_reservation",
        &[
            "v4.update_reservation(key, map)",
            "v4.update_reservation(scope, key, map)",
        ],
        "merge into a reservation (in a hosts database: reservation-update, through the same loop: journal, plan, audit id, undo)",
        HOSTS,
    ),
    m(
        MUT,
        "delete_reservation",
        &[
            "v4.delete_reservation(key)",
            "v4.delete_reservation(scope, key)",
        ],
        "remove a reservation",
        HOSTS,
    ),
    m(
        MUT,
        "import_reservations",
        &[
            "v4.import_reservations(path)",
            "v4.import_reservations(path, #{ subnet, replace })",
        ],
        "a CSV file of reservations (columns hw_address…, ip_address, hostname, subnet…, option:NAME for an option's data), every row checked, applied as one change; #{ added, updated, unchanged, deleted }",
        HOSTS,
    ),
    m(
        SERVICE,
        "shared_networks",
        &["v4.shared_networks()"],
        "every shared network: its own keys plus subnets",
        HOSTS,
    ),
    m(
        SERVICE,
        "shared_network",
        &["v4.shared_network(name)"],
        "one shared network, or ()",
        HOSTS,
    ),
    m(
        MUT,
        "add_shared_network",
        &["v4.add_shared_network(map)"],
        "a new, empty shared network (unique name); its values are inherited by its subnets",
        HOSTS,
    ),
    m(
        MUT,
        "update_shared_network",
        &["v4.update_shared_network(name, map)"],
        "merge into a shared network",
        HOSTS,
    ),
    m(
        MUT,
        "delete_shared_network",
        &["v4.delete_shared_network(name)"],
        "remove an empty shared network (refused while subnets are inside, naming them)",
        HOSTS,
    ),
    m(
        MUT,
        "move_subnet",
        &["v4.move_subnet(key, name)", "v4.move_subnet(key, ())"],
        "move a subnet into a shared network, or out of it (network4-subnet-add/-del on Kea >= 2.7 where the network sets nothing of its own, else config-set)",
        HOSTS,
    ),
    m(
        SERVICE,
        "pd_pools",
        &["v6.pd_pools(key)"],
        "the prefix-delegation pools of a subnet",
        HOSTS,
    ),
    m(
        MUT,
        "add_pd_pool",
        &["v6.add_pd_pool(key, map)"],
        "prefix, prefix_len ≤ delegated_len ≤ 128, excluded_prefix(_len), client_class; overlapping no other",
        HOSTS,
    ),
    m(
        MUT,
        "delete_pd_pool",
        &["v6.delete_pd_pool(key, prefix)"],
        "remove a PD pool (\"2001:db8:8::/56\")",
        HOSTS,
    ),
    // Client classes
    m(
        SERVICE,
        "client_classes",
        &["v4.client_classes()"],
        "every client class, as maps",
        CLASSES,
    ),
    m(
        SERVICE,
        "client_class",
        &["v4.client_class(name)"],
        "one client class, or ()",
        CLASSES,
    ),
    m(
        MUT,
        "add_class",
        &["v4.add_class(map)"],
        "add a class: name, test, option_data, next_server, boot_file_name, description, global",
        CLASSES,
    ),
    m(
        MUT,
        "update_class",
        &["v4.update_class(name, map)"],
        "merge map into the class",
        CLASSES,
    ),
    m(
        MUT,
        "delete_class",
        &["v4.delete_class(name)"],
        "remove a class; refused while something uses it",
        CLASSES,
    ),
    m(
        MUT,
        "assign_class",
        &[
            "v4.assign_class(subnet, class)",
            "v4.assign_class(subnet, pool, class)",
        ],
        "limit a subnet or pool to a class (client-classes on Kea >= 2.7.4, client-class before)",
        CLASSES,
    ),
    m(
        MUT,
        "unassign_class",
        &[
            "v4.unassign_class(subnet)",
            "v4.unassign_class(subnet, pool)",
        ],
        "remove the class limit of a subnet or pool",
        CLASSES,
    ),
    m(
        SERVICE,
        "ranges_with_class",
        &["v4.ranges_with_class(class)"],
        "every subnet and pool limited to that class: [#{ subnet, pool }]",
        CLASSES,
    ),
    // Options and option definitions
    m(
        SERVICE,
        "options",
        &["v4.options()", "v4.options(scope)"],
        "option data, global or at a scope (subnet, #{ subnet, pool }, #{ class })",
        OPTIONS,
    ),
    m(
        MUT,
        "set_option",
        &[
            "v4.set_option(name_or_code, data)",
            "v4.set_option(scope, name_or_code, data)",
            "v4.set_option(scope, map)",
        ],
        "set an option, global or at a scope",
        OPTIONS,
    ),
    m(
        MUT,
        "delete_option",
        &[
            "v4.delete_option(name_or_code)",
            "v4.delete_option(scope, name_or_code)",
        ],
        "remove an option, global or at a scope",
        OPTIONS,
    ),
    m(
        SERVICE,
        "option_defs",
        &["v4.option_defs()"],
        "the custom option definitions",
        OPTIONS,
    ),
    m(
        MUT,
        "define_option",
        &["v4.define_option(map)"],
        "define a custom option: code, name, type, array, space, record_types, encapsulate",
        OPTIONS,
    ),
    m(
        MUT,
        "add_option_def",
        &["v4.add_option_def(map)"],
        "the same as define_option",
        OPTIONS,
    ),
    m(
        MUT,
        "update_option_def",
        &["v4.update_option_def(code, space, map)"],
        "change an option definition (the code too)",
        OPTIONS,
    ),
    m(
        MUT,
        "delete_option_def",
        &["v4.delete_option_def(code, space)"],
        "remove an option definition; refused while option data uses it",
        OPTIONS,
    ),
    // Idempotent changes
    m(
        SERVICE,
        "ensure_subnet",
        &["v4.ensure_subnet(map)"],
        "create the subnet (by prefix) when missing, update the keys named when different, send nothing when equal; returns #{ action, value }",
        ENSURE,
    ),
    m(
        SERVICE,
        "ensure_pool",
        &[
            "v4.ensure_pool(key, range)",
            "v4.ensure_pool(key, #{ pool, option_data, client_classes })",
        ],
        "add the pool to the subnet unless it is there (however the range is spelled); with a map, also update only the keys named when different; returns #{ action, value }",
        ENSURE,
    ),
    m(
        SERVICE,
        "ensure_class",
        &["v4.ensure_class(map)"],
        "create the class (by name) when missing, update the keys named when different; returns #{ action, value }",
        ENSURE,
    ),
    m(
        SERVICE,
        "ensure_option",
        &[
            "v4.ensure_option(name_or_code, data)",
            "v4.ensure_option(scope, name_or_code, data)",
            "v4.ensure_option(scope, map)",
        ],
        "set_option unless the option already has that value; returns #{ action, value }",
        ENSURE,
    ),
    m(
        SERVICE,
        "ensure_option_def",
        &["v4.ensure_option_def(map)"],
        "define the option (by code and space) when missing, update when different; returns #{ action, value }",
        ENSURE,
    ),
    m(
        SERVICE,
        "ensure_reservation",
        &["v4.ensure_reservation(map)", "v6.ensure_reservation(map)"],
        "create the reservation (by its one identifier, in subnet or global) when missing, update the keys named when different; returns #{ action, value }",
        ENSURE,
    ),
    // Server properties
    m(
        SERVICE,
        "settings",
        &["v4.settings()"],
        "the server's lifetimes, timers, next_server, server_tag, control_socket...",
        PROPS,
    ),
    m(
        MUT,
        "set",
        &["v4.set(map)"],
        "change server properties, validated (min <= default <= max, renew < rebind < valid)",
        PROPS,
    ),
    // Transactions and dry runs
    m(
        SERVICE,
        "begin",
        &["let tx = v4.begin();"],
        "a staged change set: tx has every mutator of a Service",
        TXS,
    ),
    m(
        TX,
        "diff",
        &["tx.diff()"],
        "the unified diff the staged changes would make",
        TXS,
    ),
    m(
        TX,
        "commit",
        &["tx.commit()"],
        "apply every staged change as one configuration change; true when something changed",
        TXS,
    ),
    m(
        TX,
        "discard",
        &["tx.discard()"],
        "drop the staged changes",
        TXS,
    ),
    p(TX, "len", &["tx.len"], "how many changes are staged", TXS),
    f(
        "dry_run",
        &["dry_run(bool)"],
        "dry-run mode on or off: mutations are staged (later reads see them) and change nothing; a plan is printed at the end",
        TXS,
    ),
    f(
        "is_dry_run",
        &["is_dry_run()"],
        "whether dry-run mode is on",
        TXS,
    ),
    // High availability
    m(
        SERVICE,
        "ha",
        &["v4.ha()"],
        "() without the HA hook, else #{ mode, this_server, peers: [#{ name, role, url, state }] }",
        HA,
    ),
    m(
        SERVICE,
        "ha_status",
        &["v4.ha_status()"],
        "the HA part of status-get plus ha-heartbeat of each peer",
        HA,
    ),
    m(
        SERVICE,
        "ha_maintenance_start",
        &["v4.ha_maintenance_start()"],
        "ha-maintenance-start: the partner takes over while this server is maintained",
        HA,
    ),
    m(
        SERVICE,
        "ha_maintenance_cancel",
        &["v4.ha_maintenance_cancel()"],
        "ha-maintenance-cancel",
        HA,
    ),
    m(
        SERVICE,
        "ha_continue",
        &["v4.ha_continue()"],
        "ha-continue: resume the HA state machine",
        HA,
    ),
    m(
        SERVICE,
        "ha_sync",
        &["v4.ha_sync()", "v4.ha_sync(peer)"],
        "ha-sync: fetch the leases from the partner (or the named peer)",
        HA,
    ),
    m(
        SERVICE,
        "ha_reset",
        &["v4.ha_reset()"],
        "ha-reset: back to the waiting state",
        HA,
    ),
    m(
        SERVICE,
        "ha_scopes",
        &["v4.ha_scopes(array)"],
        "ha-scopes: the scopes this server serves, e.g. [\"server1\"]",
        HA,
    ),
    f(
        "single_peer",
        &["single_peer(bool)"],
        "let changes go to the reachable peers only while a peer is down (off by default)",
        HA,
    ),
    // Leases and statistics
    m(
        SERVICE,
        "leases",
        &["v4.leases()", "v4.leases(subnet_key)"],
        "an iterator over every lease (or a subnet's), fetched page by page; a progress line on a terminal once a walk lasts a second",
        LEASES,
    ),
    m(
        SERVICE,
        "lease",
        &["v4.lease(ip)"],
        "one lease by address, or ()",
        LEASES,
    ),
    m(
        SERVICE,
        "leases_by_hw",
        &["v4.leases_by_hw(mac)"],
        "the leases of a hardware address",
        LEASES,
    ),
    m(
        SERVICE,
        "leases_by_client_id",
        &["v4.leases_by_client_id(id)"],
        "the leases of a client id",
        LEASES,
    ),
    m(
        SERVICE,
        "leases_by_hostname",
        &["v4.leases_by_hostname(name)"],
        "the leases of a hostname",
        LEASES,
    ),
    m(
        SERVICE,
        "leases_by_duid",
        &["v6.leases_by_duid(duid)"],
        "the leases of a DUID (dhcp6)",
        LEASES,
    ),
    m(
        SERVICE,
        "add_lease",
        &["v4.add_lease(map)"],
        "add a lease (ip_address, hw_address, subnet_id...)",
        LEASES,
    ),
    m(
        SERVICE,
        "update_lease",
        &["v4.update_lease(map)"],
        "merge map into the current lease of map.ip_address",
        LEASES,
    ),
    m(
        SERVICE,
        "delete_lease",
        &["v4.delete_lease(ip)"],
        "remove a lease",
        LEASES,
    ),
    m(
        SERVICE,
        "wipe_leases",
        &["v4.wipe_leases(subnet_key)"],
        "remove every lease of a subnet; returns how many (counted page by page first, with a progress line on a terminal once that lasts a second)",
        LEASES,
    ),
    m(
        SERVICE,
        "stats",
        &["v4.stats()"],
        "per subnet: #{ subnet, id, total, assigned, declined, utilization }",
        LEASES,
    ),
    f(
        "history",
        &["history()", "history(kind, key)"],
        "audit entries, newest first; kind: subnet, pool, class, option, option_def, settings, config, lease, ha, command",
        LEASES,
    ),
    f(
        "undo",
        &["undo(id)"],
        "revert the recorded change id (history()'s id) on every HA peer: a subnet, pool, class, options, settings, reservation, shared network, PD pool or apply; conflict when changed since (reservations in a hosts database are put back through host_cmds); unsupported for leases, HA and command()",
        LEASES,
    ),
    // Triggers
    f(
        "on_change",
        &["on_change(path, |event| { ... })"],
        "run when the file changes (keascript daemon); event is #{ path, kind }",
        TRIGGERS,
    ),
    f(
        "every",
        &["every(duration, || { ... })"],
        "run every \"30s\", \"15m\", \"1h\" (keascript daemon)",
        TRIGGERS,
    ),
    f(
        "cron",
        &["cron(expr, || { ... })"],
        "run on a five-field crontab line, local time (keascript daemon)",
        TRIGGERS,
    ),
    // Files, logs and configuration drift
    f(
        "read_file",
        &["read_file(path)"],
        "a file's text; not_found if it does not exist",
        FILES,
    ),
    f(
        "write_file",
        &["write_file(path, text)"],
        "replace a file's content",
        FILES,
    ),
    f(
        "append_file",
        &["append_file(path, text)"],
        "append to a file",
        FILES,
    ),
    f(
        "log",
        &["log(text)", "log(level, text)"],
        "a line in the log at \"error\", \"warn\", \"info\" (default) or \"debug\"",
        FILES,
    ),
    f(
        "parse_kea_json",
        &["parse_kea_json(text)"],
        "a Kea configuration text (JSON with Kea's comments) as a map",
        FILES,
    ),
    f(
        "read_kea_config",
        &["read_kea_config(path)"],
        "parse_kea_json(read_file(path)), errors naming path:line:column",
        FILES,
    ),
    f(
        "config_changes",
        &["config_changes(before, after)"],
        "what changed between two running configurations: [#{ kind, key, change, detail, line }]",
        FILES,
    ),
    f(
        "config_differences",
        &["config_differences(running, file)"],
        "how a file's subnets, pools, classes, options and definitions differ from the running ones",
        FILES,
    ),
    f(
        "load_snapshot",
        &["load_snapshot(name)"],
        "a configuration kept in the state directory, or ()",
        FILES,
    ),
    f(
        "save_snapshot",
        &["save_snapshot(name, cfg)"],
        "keep a configuration in the state directory; returns the file's path",
        FILES,
    ),
    // Everything else
    f(
        "args",
        &["args", "args()"],
        "the script's arguments, an array of strings",
        ELSE,
    ),
    f(
        "env",
        &["env(name)"],
        "an environment variable, or ()",
        ELSE,
    ),
    f(
        "sleep",
        &["sleep(duration)"],
        "pause: \"500ms\", \"2s\", \"1m\", or milliseconds as an integer",
        ELSE,
    ),
    f(
        "exit",
        &["exit(n)"],
        "end the script now with exit status n (0 to 255); the changes made so far stay",
        ELSE,
    ),
    f(
        "error_kind",
        &["error_kind(e)"],
        "the kind of a caught error; \"script\" for Rhai's own errors",
        ELSE,
    ),
    lang(
        "print",
        &["print(x)"],
        "print to stdout (values nested over 1,000 levels deep are refused)",
        ELSE,
    ),
    lang(
        "debug",
        &["debug(x)"],
        "print to stderr, with file and line",
        ELSE,
    ),
    lang(
        "import",
        &["import \"kea/<module>\" as m;"],
        "a shipped stdlib module; other paths are files next to the script (no cycles, 32 deep at most)",
        ELSE,
    ),
];

/// The entries named `query`: a name (`add_pool`), a method of a type (`Service.add_pool`,
/// `v4.add_pool`), or a type (`Service`: all of its entries).
pub fn lookup(query: &str) -> Vec<&'static Entry> {
    let q = query.trim().trim_end_matches("()").trim_end_matches('(');
    let (ty, name) = match q.rsplit_once('.') {
        Some((t, n)) => (Some(type_alias(t)), n),
        None => (None, q),
    };
    if ty.is_none()
        && let Some(t) = ["Server", "Service", "Transaction"]
            .into_iter()
            .find(|t| t.eq_ignore_ascii_case(name))
    {
        return ENTRIES.iter().filter(|e| e.on.contains(&t)).collect();
    }
    ENTRIES
        .iter()
        .filter(|e| e.name == name)
        .filter(|e| ty.is_none_or(|t| e.on.iter().any(|o| o.eq_ignore_ascii_case(t))))
        .collect()
}

/// `srv` → `Server`, `v4`/`v6`/`svc` → `Service`, `tx` → `Transaction`; else unchanged.
fn type_alias(t: &str) -> &str {
    match t {
        "srv" | "server" => "Server",
        "v4" | "v6" | "svc" | "service" => "Service",
        "tx" | "transaction" => "Transaction",
        other => other,
    }
}

/// Every distinct name (for completion of `:help NAME`).
pub fn names() -> Vec<&'static str> {
    let mut v: Vec<&str> = ENTRIES.iter().map(|e| e.name).collect();
    v.extend(["Server", "Service", "Transaction"]);
    v.sort_unstable();
    v.dedup();
    v
}

/// The text of `:help NAME` for the entries found.
pub fn render(entries: &[&Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        for s in e.signatures {
            out.push_str(s);
            out.push('\n');
        }
        out.push_str("    ");
        out.push_str(e.doc);
        if !e.on.is_empty() {
            out.push_str(&format!("  [{}]", e.on.join(", ")));
        }
        out.push('\n');
    }
    out
}

/// The text of `:help`: every name, by section.
pub fn render_index() -> String {
    let mut out = String::new();
    let mut areas: Vec<&str> = Vec::new();
    for e in ENTRIES {
        if !areas.contains(&e.area) {
            areas.push(e.area);
        }
    }
    for area in areas {
        let mut names: Vec<String> = Vec::new();
        for e in ENTRIES.iter().filter(|e| e.area == area) {
            let n = match e.kind {
                Kind::Property => e.name.to_string(),
                Kind::Language if e.name == "import" => "import".to_string(),
                _ => format!("{}()", e.name),
            };
            if !names.contains(&n) {
                names.push(n);
            }
        }
        out.push_str(&format!("{area}:\n"));
        out.push_str(&wrap(&names.join("  "), 76, "  "));
    }
    out
}

fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split("  ") {
        if !line.is_empty() && line.len() + 2 + word.len() > width {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push_str("  ");
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// One function as the engine registered it, read from `Engine::gen_fn_signatures`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub name: String,
    /// The type of the first parameter when it is passed by reference (`&mut Server`):
    /// the receiver of a method or property.
    pub receiver: Option<String>,
    /// A property getter (`get$name`) or setter (`set$name`).
    pub property: bool,
    /// The parameter types after the receiver.
    pub params: Vec<String>,
    /// The return type, unwrapped from `Result<…>` and named as scripts see it.
    pub returns: String,
}

/// Parses one line of `Engine::gen_fn_signatures(false)`; `None` for namespaced functions
/// (`module::f`), operators and index functions.
pub fn parse_signature(engine: &rhai::Engine, sig: &str) -> Option<Registered> {
    let open = sig.find('(')?;
    let raw_name = &sig[..open];
    if raw_name.contains("::") || raw_name.starts_with("index$") {
        return None;
    }
    if !raw_name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        return None;
    }
    let (property, name) = match raw_name.split_once('$') {
        Some(("get" | "set", n)) => (true, n),
        Some(_) => return None,
        None => (false, raw_name),
    };
    let close = matching_paren(sig, open)?;
    let params_text = &sig[open + 1..close];
    let mut params: Vec<String> = split_top_level(params_text)
        .into_iter()
        .map(|p| {
            let p = p.trim();
            p.split_once(": ").map_or(p, |(_, t)| t).to_string()
        })
        .filter(|p| !p.is_empty())
        .collect();
    let mut receiver = None;
    if let Some(first) = params.first()
        && let Some(t) = first.strip_prefix("&mut ")
    {
        receiver = Some(script_type(engine, t));
        params.remove(0);
    }
    let params = params.iter().map(|p| script_type(engine, p)).collect();
    let returns = sig[close + 1..]
        .trim()
        .strip_prefix("->")
        .map(|r| script_type(engine, unwrap_result(r.trim())))
        .unwrap_or_else(|| "()".to_string());
    Some(Registered {
        name: name.to_string(),
        receiver,
        property,
        params,
        returns,
    })
}

/// Every script-API function the engine registers (Rhai's own packages left out, and
/// the functions of theirs that keascript replaces to keep its limits).
pub fn registered(engine: &rhai::Engine) -> Vec<Registered> {
    engine
        .gen_fn_signatures(false)
        .iter()
        .filter_map(|s| parse_signature(engine, s))
        .filter(|r| !super::OVERRIDES.contains(&r.name.as_str()))
        .collect()
}

fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '(' | '<' => depth += 1,
            ')' | '>' if depth > 0 => {
                depth -= 1;
                if depth == 0 && c == ')' {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_top_level(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// `core::result::Result<T, E>` → `T`.
fn unwrap_result(t: &str) -> &str {
    let Some(inner) = t
        .strip_prefix("core::result::Result<")
        .or_else(|| t.strip_prefix("Result<"))
        .and_then(|r| r.strip_suffix('>'))
    else {
        return t;
    };
    split_top_level(inner)
        .first()
        .copied()
        .unwrap_or(inner)
        .trim()
}

/// A Rust type as a script sees it: `Server`, `Service`, `array`, `map`, `string`, `?`
/// (any value).
fn script_type(engine: &rhai::Engine, t: &str) -> String {
    let t = t.trim();
    let mapped = engine.map_type_name(t);
    if mapped != t {
        return mapped.to_string();
    }
    let last = t.rsplit("::").next().unwrap_or(t);
    if t.contains("Dynamic") && !t.contains('<') {
        "?".to_string()
    } else if t.starts_with("alloc::vec::Vec<") || t == "array" {
        "array".to_string()
    } else if t.contains("BTreeMap<") || t == "map" {
        "map".to_string()
    } else if last == "String" || t == "string" || t == "ImmutableString" {
        "string".to_string()
    } else if t == "()" {
        "()".to_string()
    } else {
        last.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::kea::Inventory;
    use crate::script::{Limits, RunContext, build_engine};

    const DOCS: &str = include_str!("../../docs/script-api.md");

    fn engine() -> (tokio::runtime::Runtime, rhai::Engine) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let ctx = Arc::new(RunContext::new(
            rt.handle().clone(),
            Inventory::builtin(),
            vec![],
        ));
        let e = build_engine(ctx, &Limits::default(), None);
        (rt, e)
    }

    /// Conventions every Rhai type has, not names of the API.
    const CONVENTIONS: &[&str] = &["to_string", "to_debug"];

    #[test]
    fn every_entry_is_in_the_script_api_docs() {
        let mut missing = Vec::new();
        for e in ENTRIES {
            let found = match e.kind {
                Kind::Property => DOCS.contains(&format!(".{}`", e.name)),
                Kind::Language if e.name == "import" => DOCS.contains("`import \""),
                _ => {
                    DOCS.contains(&format!("{}(", e.name))
                        || DOCS.contains(&format!("`{}`", e.name))
                }
            };
            if !found {
                missing.push(e.name);
            }
        }
        assert!(
            missing.is_empty(),
            "help entries not in docs/script-api.md: {missing:?}"
        );
    }

    #[test]
    fn every_registered_api_function_has_an_entry() {
        let (_rt, engine) = engine();
        let regs = registered(&engine);
        assert!(regs.len() > 50, "too few functions parsed: {}", regs.len());
        let mut missing = Vec::new();
        for r in &regs {
            if CONVENTIONS.contains(&r.name.as_str()) {
                continue;
            }
            let ok = ENTRIES.iter().any(|e| {
                e.name == r.name
                    && match &r.receiver {
                        Some(t) => {
                            e.on.contains(&t.as_str()) && (e.kind == Kind::Property) == r.property
                        }
                        None => e.kind == Kind::Function,
                    }
            });
            if !ok {
                let on = r
                    .receiver
                    .as_deref()
                    .map(|t| format!("{t}."))
                    .unwrap_or_default();
                missing.push(format!("{on}{}", r.name));
            }
        }
        missing.sort();
        missing.dedup();
        assert!(
            missing.is_empty(),
            "registered but without a help entry in src/script/help.rs: {missing:?}"
        );
    }

    #[test]
    fn every_entry_is_registered_on_the_engine() {
        let (_rt, engine) = engine();
        let regs = registered(&engine);
        let mut stale = Vec::new();
        for e in ENTRIES.iter().filter(|e| e.kind != Kind::Language) {
            let targets: Vec<Option<&str>> = if e.on.is_empty() {
                vec![None]
            } else {
                e.on.iter().map(|t| Some(*t)).collect()
            };
            for t in targets {
                let found = regs.iter().any(|r| {
                    r.name == e.name
                        && r.receiver.as_deref() == t
                        && r.property == (e.kind == Kind::Property)
                });
                if !found {
                    stale.push(format!(
                        "{}{}",
                        t.map(|t| format!("{t}.")).unwrap_or_default(),
                        e.name
                    ));
                }
            }
        }
        assert!(
            stale.is_empty(),
            "help entries the engine does not register: {stale:?}"
        );
    }

    #[test]
    fn signatures_are_read_with_script_type_names() {
        let (_rt, engine) = engine();
        let regs = registered(&engine);
        let kea = regs
            .iter()
            .find(|r| r.name == "kea" && r.params.is_empty())
            .unwrap();
        assert_eq!(kea.returns, "Server");
        assert_eq!(kea.receiver, None);
        let dhcp4 = regs
            .iter()
            .find(|r| r.name == "dhcp4" && r.property)
            .unwrap();
        assert_eq!(dhcp4.receiver.as_deref(), Some("Server"));
        assert_eq!(dhcp4.returns, "Service");
        let begin = regs.iter().find(|r| r.name == "begin").unwrap();
        assert_eq!(begin.returns, "Transaction");
        let subnets = regs.iter().find(|r| r.name == "subnets").unwrap();
        assert_eq!(subnets.returns, "array");
        let caps = regs.iter().find(|r| r.name == "capabilities").unwrap();
        assert_eq!(caps.returns, "map");
        let add_pool = regs
            .iter()
            .find(|r| r.name == "add_pool" && r.receiver.as_deref() == Some("Transaction"))
            .unwrap();
        assert!(add_pool.params.len() >= 2);
    }

    #[test]
    fn lookup_finds_names_methods_and_types() {
        assert_eq!(lookup("add_pool").len(), 1);
        assert_eq!(lookup("command").len(), 2, "on Server and on Service");
        assert_eq!(lookup("srv.command").len(), 1);
        assert_eq!(lookup("Service.command")[0].on, SERVICE);
        assert_eq!(lookup("kea()").len(), 1);
        assert!(lookup("Transaction").len() > 10);
        assert!(lookup("no_such_thing").is_empty());
        let text = render(&lookup("add_pool"));
        assert!(text.contains("v4.add_pool(key, range, map)"), "{text}");
        assert!(text.contains("[Service, Transaction]"), "{text}");
        let index = render_index();
        for e in ENTRIES {
            assert!(index.contains(e.name), "{} missing from the index", e.name);
        }
    }
}
