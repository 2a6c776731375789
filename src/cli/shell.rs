//! `keascript completions SHELL` (clap_complete) and `keascript man` (clap_mangen): both
//! generated from the command-line definition, so they never drift from it.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completion script of `args.shell` on stdout.
pub fn completions(args: CompletionsArgs) -> u8 {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "keascript", &mut std::io::stdout());
    0
}

/// Prints the man page (section 1, with every subcommand and the environment) on stdout.
pub fn man() -> u8 {
    match man_page() {
        Ok(page) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            if out.write_all(&page).and_then(|_| out.flush()).is_err() {
                return 1;
            }
            0
        }
        Err(e) => {
            eprintln!("error: cannot render the man page: {e}");
            1
        }
    }
}

/// The man page as roff.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let cmd = super::Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_subcommands_section(&mut out)?;
    // Each subcommand's own options and examples.
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = sub.get_name();
        out.extend_from_slice(format!(".SH \"KEASCRIPT {}\"\n", name.to_uppercase()).as_bytes());
        if let Some(about) = sub.get_about() {
            out.extend_from_slice(format!("{}\n", escape(&about.to_string())).as_bytes());
        }
        for arg in sub.get_arguments().filter(|a| !a.is_global_set()) {
            let flag = match (arg.get_short(), arg.get_long()) {
                (Some(s), Some(l)) => format!("\\-{s}, \\-\\-{l}"),
                (None, Some(l)) => format!("\\-\\-{l}"),
                (Some(s), None) => format!("\\-{s}"),
                (None, None) => arg.get_id().to_string().to_uppercase(),
            };
            out.extend_from_slice(format!(".TP\n\\fB{flag}\\fR\n").as_bytes());
            if let Some(h) = arg.get_help() {
                out.extend_from_slice(format!("{}\n", escape(&h.to_string())).as_bytes());
            }
        }
        if let Some(after) = sub.get_after_help() {
            out.extend_from_slice(b".PP\n.nf\n");
            out.extend_from_slice(escape(&after.to_string()).as_bytes());
            out.extend_from_slice(b"\n.fi\n");
        }
    }
    out.extend_from_slice(b".SH ENVIRONMENT\n.nf\n");
    let env = super::examples::ENVIRONMENT;
    out.extend_from_slice(escape(env.strip_prefix("Environment:\n").unwrap_or(env)).as_bytes());
    out.extend_from_slice(b"\n.fi\n");
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// Text made safe for roff: backslashes and hyphens escaped, no line starting with a dot.
fn escape(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l.replace('\\', "\\e").replace('-', "\\-");
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
