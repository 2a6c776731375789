//! `keascript check SCRIPT`: the script's problems found without running it and without
//! contacting any server (see [`crate::script::check`]). Exit 1 on a finding, 0 clean.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::kea::Inventory;
use crate::script::check::check_source;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The Rhai script to check (`-`: read it from standard input)
    pub script: PathBuf,
}

pub fn check(runtime: &tokio::runtime::Runtime, config: Option<&Path>, args: CheckArgs) -> u8 {
    let from_stdin = args.script.as_os_str() == "-";
    let (source, name, dir) = if from_stdin {
        let mut text = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
            eprintln!("error: cannot read the script from standard input: {e}");
            return 2;
        }
        (text, "stdin".to_string(), None)
    } else {
        if let Err(e) = super::common::check_script(&args.script) {
            eprintln!("error: {e}");
            return 2;
        }
        match std::fs::read_to_string(&args.script) {
            Ok(t) => (
                t,
                args.script.display().to_string(),
                args.script.parent().map(Path::to_path_buf),
            ),
            Err(e) => {
                eprintln!("error: cannot read script {}: {e}", args.script.display());
                return 2;
            }
        }
    };
    // Server names are checked against the inventory when there is one to read.
    let inventory = match Inventory::discover(config) {
        Ok(i) => Some(i),
        Err(e) => {
            eprintln!(
                "warning: server names in kea(\"…\") are not checked: {}",
                e.message
            );
            None
        }
    };
    let findings = check_source(
        &source,
        dir.as_deref().filter(|d| !d.as_os_str().is_empty()),
        inventory.as_ref(),
        runtime.handle().clone(),
    );
    let colour = crate::term::colour_stderr();
    for f in &findings {
        eprintln!("{}", f.render(&name, &source, colour));
    }
    if findings.is_empty() {
        crate::term::note(&format!("{name}: no problems found"));
        0
    } else {
        crate::term::note(&format!(
            "{name}: {} problem{} found",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" }
        ));
        1
    }
}
