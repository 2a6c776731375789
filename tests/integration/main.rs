//! One integration-test binary. Tests that need Kea start a real Kea 2.2 lab through the
//! project's own lab code; the Kea 3.2 test double (`support::kea3`) stands in only for
//! what Kea 2.2 cannot do (daemon HTTP sockets, subnet/class hooks, injected faults).

mod support;

mod auth_tls;
mod cli;
mod daemon;
mod doctor;
mod echoes;
mod editing;
mod editing_hooks;
mod faults;
mod fidelity;
mod ha;
mod hostile;
mod kea3_double;
mod lab;
mod leases;
mod limits;
mod non_ascii;
mod outside_writer;
mod packaged;
mod repl;
mod scripts;
mod secrets;
mod soak;
mod transport_live;
