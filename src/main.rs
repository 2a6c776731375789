//! The `keascript` command; everything lives in the library (`keascript::cli`).

fn main() -> std::process::ExitCode {
    keascript::cli::main()
}
