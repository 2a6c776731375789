//! The examples and environment notes shown after each command's `--help` (clap's
//! `after_help`), kept in one place so the man page and the README can be checked against
//! them.

/// Every environment variable keascript reads, as `--help` shows it (a macro, so
/// `concat!` can put it after the examples).
macro_rules! environment {
    () => {
        "\
Environment:
  KEASCRIPT_CONFIG         inventory file (like --config)
  KEASCRIPT_LOG            log level or filter (like --log)
  KEASCRIPT_STATE_DIR      where locks and the change journal live
                           (default ~/.local/state/keascript, else /var/lib/keascript)
  KEASCRIPT_AUDIT_FILE     the audit trail file (default: audit.jsonl in the state directory)
  KEASCRIPT_KEA_BIN_DIR    directory of the Kea binaries the lab starts (default: PATH)
  KEASCRIPT_KEA_HOOKS_DIR  directory of the Kea hook libraries the lab loads
  NO_COLOR                 set (to anything): never use colour
  CLICOLOR_FORCE           set (not 0): colour even when not on a terminal
  TERM=dumb                no colour
  NOTIFY_SOCKET, WATCHDOG_USEC
                           set by systemd: the daemon reports readiness and pings the watchdog
  JOURNAL_STREAM           set by systemd: the daemon's log lines carry journald priorities
  USER                     the name recorded in the audit trail
  password_env names       the inventory's `password_env = \"VAR\"` reads a password from VAR"
    };
}

/// The environment section alone (for the man page).
pub const ENVIRONMENT: &str = environment!();

/// `keascript --help`.
pub const TOP: &str = concat!(
    "\
Examples:
  keascript lab                          start a local Kea lab (prints its inventory)
  keascript run scripts/tour.rhai        run a script against the default server
  keascript run --lab --dry-run x.rhai   try a script on a fresh lab, changing nothing
  keascript check x.rhai                 find typos without contacting any server
  keascript get subnets --server edge1   list the subnets of a server
  keascript call config-get              send one command, print Kea's answer

",
    environment!()
);

/// `keascript run --help`.
pub const RUN: &str = "\
Examples:
  keascript run add-subnet.rhai
  keascript run --server edge1 --dry-run add-subnet.rhai
  keascript run --lab scripts/tour.rhai
  keascript run report.rhai -- 10.1.0.0/24      (args[0] in the script)
  echo 'print(kea().v4.subnets().len())' | keascript run -

Exit status: 0 success (or exit(n)'s n), 1 script error (invalid, not_found), 2 usage
error, 3 transport or auth, 4 Kea refused (kea, unsupported), 5 conflict, 6 partial.
";

/// `keascript lab --help`.
pub const LAB: &str = "\
Examples:
  keascript lab
  keascript lab --ha hot-standby
  keascript lab --extra-subnets 10000
  KEASCRIPT_KEA_BIN_DIR=/opt/kea-3.0/sbin keascript lab

Environment: KEASCRIPT_KEA_BIN_DIR (Kea binaries), KEASCRIPT_KEA_HOOKS_DIR (hook libraries).";

/// `keascript daemon --help`.
pub const DAEMON: &str = "\
Examples:
  keascript daemon /etc/keascript/triggers.rhai
  keascript daemon --log-format json --dry-run triggers.rhai
  kill -HUP $(pidof keascript)              reload the script

Under systemd (contrib/keascript.service, Type=notify) the daemon says READY=1 once its
triggers are armed and pings the watchdog at half of WatchdogSec.";

/// `keascript repl --help`.
pub const REPL: &str = "\
Examples:
  keascript repl
  keascript repl --lab
  keascript repl --server edge1 --dry-run
  echo 'kea().v4.subnets()' | keascript repl

Inside: :help, :help NAME, :dry-run on|off, Tab completes.";

/// `keascript history --help`.
pub const HISTORY: &str = "\
Examples:
  keascript history
  keascript history --kind subnet --since 1d
  keascript history --output json -n 20";

/// `keascript doctor --help`.
pub const DOCTOR: &str = "\
Examples:
  keascript doctor
  keascript doctor --server edge1
  keascript doctor --all --output json";

/// `keascript check --help`.
pub const CHECK: &str = "\
Examples:
  keascript check add-subnet.rhai
  keascript check /etc/keascript/triggers.rhai && systemctl reload keascript

Exit status: 0 nothing found, 1 a finding (each printed with file:line:col), 2 usage error.";

/// `keascript call --help`.
pub const CALL: &str = "\
Examples:
  keascript call config-get
  keascript call --server edge1 --service dhcp6 statistic-get-all
  keascript call lease4-get '{\"ip-address\": \"10.1.0.5\"}'
  keascript call version-get --service ''        (the Control Agent itself)

Prints Kea's whole answer as JSON (passwords redacted). Exit status: 0 success
(result 0 or 3 \"empty\"), 4 Kea answered with an error, 3 transport or auth, 2 usage.";

/// `keascript get --help`.
pub const GET: &str = "\
Examples:
  keascript get subnets
  keascript get leases --server edge1 --service dhcp6
  keascript get stats --output json
  keascript get ha";

/// `keascript completions --help`.
pub const COMPLETIONS: &str = "\
Examples:
  source <(keascript completions bash)
  keascript completions bash > /etc/bash_completion.d/keascript
  keascript completions zsh > \"${fpath[1]}/_keascript\"
  keascript completions fish > ~/.config/fish/completions/keascript.fish";

/// `keascript man --help`.
pub const MAN: &str = "\
Examples:
  keascript man | man -l -
  keascript man > /usr/local/share/man/man1/keascript.1";

/// `keascript snapshots --help`.
pub const SNAPSHOTS: &str = "\
Examples:
  keascript snapshots
  keascript snapshots --server edge1 --output json";

/// `keascript restore --help`.
pub const RESTORE: &str = "\
Examples:
  keascript restore --server edge1 --dry-run 3f2a
  keascript restore --server edge1 --service dhcp4 3f2a9c";

/// `keascript undo --help`.
pub const UNDO: &str = "\
Examples:
  keascript history -n 5                   find the change's id
  keascript undo 1a234e0a05e-261bc9";

/// `keascript confirm --help`.
pub const CONFIRM: &str = "\
Examples:
  keascript run --confirm 5m change.rhai   then, once the network is fine:
  keascript confirm";

/// `keascript rollback --help`.
pub const ROLLBACK: &str = "\
Examples:
  keascript run --confirm 5m change.rhai   then, if something is wrong:
  keascript rollback";
