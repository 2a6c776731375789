//! The REPL's own commands. They start with `:`, so they never shadow a Rhai name.

use std::path::PathBuf;

/// A command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `:help` or `:help NAME`.
    Help(Option<String>),
    /// `:servers`.
    Servers,
    /// `:dry-run on|off`; without an argument, shows the mode.
    DryRun(Option<bool>),
    /// `:load FILE`.
    Load(PathBuf),
    /// `:quit` (also `:q`, `:exit`).
    Quit,
    /// Something else that starts with `:`; the text says what is wrong.
    Wrong(String),
}

/// What `:help` says about the commands themselves.
pub const COMMANDS_HELP: &str = "\
REPL commands:
  :help [NAME]       this list, or the signatures and description of NAME
                     (a function, a method such as Service.add_pool, or a type)
  :servers           the servers of the inventory
  :dry-run on|off    dry-run mode: mutations are staged and change nothing; off prints the plan
  :load FILE         run a script file in this session (its variables and functions stay)
  :quit              leave (also Ctrl-D)
Keys: Tab completes, Ctrl-R searches the history, Ctrl-C cancels the running statement
(or clears the line), an unfinished statement continues on the next line (Enter on two
empty lines ends it).";

/// Reads a line that starts with `:`.
pub fn parse(line: &str) -> Command {
    let line = line.trim();
    let (cmd, arg) = match line.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (line, ""),
    };
    let arg = (!arg.is_empty()).then(|| arg.to_string());
    match cmd {
        ":help" | ":h" | ":?" => Command::Help(arg),
        ":servers" => Command::Servers,
        ":dry-run" | ":dry_run" => match arg.as_deref() {
            None => Command::DryRun(None),
            Some("on" | "true" | "1") => Command::DryRun(Some(true)),
            Some("off" | "false" | "0") => Command::DryRun(Some(false)),
            Some(other) => Command::Wrong(format!(":dry-run takes on or off, not {other:?}")),
        },
        ":load" => match arg {
            Some(f) => Command::Load(PathBuf::from(f)),
            None => Command::Wrong(":load needs a file: :load FILE".into()),
        },
        ":quit" | ":q" | ":exit" => Command::Quit,
        other => Command::Wrong(format!(
            "unknown command {other}; the commands are {}",
            super::complete::COMMANDS.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_commands() {
        assert_eq!(parse(":help"), Command::Help(None));
        assert_eq!(
            parse(":help  add_pool "),
            Command::Help(Some("add_pool".into()))
        );
        assert_eq!(parse(":servers"), Command::Servers);
        assert_eq!(parse(":dry-run on"), Command::DryRun(Some(true)));
        assert_eq!(parse(":dry-run off"), Command::DryRun(Some(false)));
        assert_eq!(parse(":dry-run"), Command::DryRun(None));
        assert!(matches!(parse(":dry-run maybe"), Command::Wrong(_)));
        assert_eq!(parse(":load a b.rhai"), Command::Load("a b.rhai".into()));
        assert!(matches!(parse(":load"), Command::Wrong(_)));
        assert_eq!(parse(":quit"), Command::Quit);
        assert_eq!(parse(":q"), Command::Quit);
        assert!(matches!(parse(":frob"), Command::Wrong(m) if m.contains(":servers")));
    }
}
