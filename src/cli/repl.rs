//! `keascript repl`. (Being written.)

use std::path::Path;

use clap::Args;

#[derive(Debug, Args)]
pub struct ReplArgs {}

pub fn repl(_runtime: &tokio::runtime::Runtime, _config: Option<&Path>, _args: ReplArgs) -> u8 {
    eprintln!("error: keascript repl is not available in this build yet");
    2
}
