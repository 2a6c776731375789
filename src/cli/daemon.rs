//! `keascript daemon SCRIPT`. (Being written.)

use std::path::{Path, PathBuf};

use clap::Args;

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// The Rhai script that registers triggers
    pub script: PathBuf,
}

pub fn daemon(_runtime: &tokio::runtime::Runtime, _config: Option<&Path>, _args: DaemonArgs) -> u8 {
    eprintln!("error: keascript daemon is not available in this build yet");
    2
}
