//! The `keascript` command; everything lives in the library (`keascript::cli`).

/// Counts the heap in use, for the scripts' memory limit (`keascript::script::memory`).
#[global_allocator]
static ALLOCATOR: keascript::script::memory::CountingAllocator =
    keascript::script::memory::CountingAllocator;

fn main() -> std::process::ExitCode {
    keascript::cli::main()
}
