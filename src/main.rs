//! The `keascript` command; everything lives in the library (`keascript::cli`).

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, Ordering};

/// Counts the heap in use, for the scripts' memory limit (`keascript::script::memory`).
/// mimalloc underneath: a 10,000-subnet edit spent ~17 % of its CPU in glibc's malloc/free
/// (benches/RESULTS.md, "Issue 13's speed targets").
#[global_allocator]
static ALLOCATOR: keascript::script::memory::CountingAllocator<Mimalloc> =
    keascript::script::memory::CountingAllocator(Mimalloc);

/// mimalloc, told before its first allocation not to commit its arenas eagerly: with eager
/// commit a 10,000-subnet edit peaked at 110–116 MiB resident (over the 100 MiB limit),
/// without it at 86–89 MiB (glibc: 91 MiB), for the same CPU.
struct Mimalloc;

static CONFIGURED: AtomicBool = AtomicBool::new(false);

/// `mi_option_arena_eager_commit` in mimalloc.h's `mi_option_e` (v2 and v3 alike; the Rust
/// binding names no constant for it).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

fn configure() {
    if !CONFIGURED.load(Ordering::Relaxed) {
        CONFIGURED.store(true, Ordering::Relaxed);
        // SAFETY: sets one option's value; allocates nothing.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
    }
}

// SAFETY: every call goes to mimalloc unchanged, after an option is set.
unsafe impl GlobalAlloc for Mimalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        configure();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        configure();
        // SAFETY: as for `alloc`.
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from mimalloc with `layout`.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` is checked by the caller.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

fn main() -> std::process::ExitCode {
    keascript::cli::main()
}
