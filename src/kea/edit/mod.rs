//! The edit pipeline every mutation goes through (`spec/design.md` › The edit pipeline):
//! validate locally, read the live configuration and check the change against it, apply
//! it with the narrowest command Kea has, persist it, and report what was done.

mod change;
mod fanout;
mod hooks;
pub mod journal;
mod lock;
mod outcome;
mod pipeline;
mod relationship;

pub use change::{Edit, EditTarget, PER_PEER};
pub use fanout::{ServerOutcome, commit_everywhere};
pub use hooks::HookCommand;
pub use lock::{ServerLock, state_dir};
pub use outcome::Resolution;
pub use pipeline::{CommitOptions, CommitReport, commit, commit_auto, read_config, settle_pending};
pub use relationship::{PeerTarget, RelationshipReport, commit_relationship, subnet_drift};
