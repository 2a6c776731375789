//! One integration-test binary. Tests that need Kea start a real Kea lab through the
//! project's own lab code: Debian's Kea 2.2, or with `KEASCRIPT_KEA_BIN_DIR` another Kea such
//! as the Kea 3.0 of `contrib/kea3/prepare.sh` (`.ci/run` runs the suite on both). Each test
//! expects what the lab's version does, and says so when a check only applies to one. The
//! Kea 3.2 test double (`support::kea3`) stands in for recorded Kea 3.2 answers and injected
//! faults.

mod support;

mod audit_names;
mod auth_tls;
mod cli;
mod confirm;
mod conventions;
mod conventions_carets;
mod conventions_progress;
mod daemon;
mod daemon_http;
mod doctor;
mod echoes;
mod editing;
mod ensure;
mod faults;
mod fidelity;
mod fleet;
mod ha;
mod hook_path;
mod hostile;
mod journal;
mod kea3_double;
mod lab;
mod leases;
mod limits;
mod non_ascii;
mod outside_writer;
mod packaged;
mod pd_pools;
mod pipeline;
mod repl;
mod reservations;
mod scripts;
mod secrets;
mod shared_networks;
mod snapshots;
mod soak;
mod transport_live;
mod undo;
