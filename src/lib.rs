//! keascript: automate ISC Kea DHCP servers with Rhai scripts.
//!
//! Layers, bottom up (see `spec/design.md`): [`transport`] sends one command and reads one
//! answer; [`kea`] knows what Kea is (error kinds, servers, services, inventory); [`script`]
//! is the only place that knows Rhai; [`lab`] starts real Kea daemons on loopback; [`daemon`]
//! runs triggers, [`repl`] is the interactive session; [`cli`] is the command line.

pub mod cli;
pub mod daemon;
pub mod kea;
pub mod lab;
pub mod repl;
pub mod script;
pub mod term;
pub mod transport;

/// The unit tests count the heap as the `keascript` binary does (`script::memory`).
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: script::memory::CountingAllocator =
    script::memory::CountingAllocator(std::alloc::System);
