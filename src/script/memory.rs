//! How much heap memory the process holds, for the engine's memory limit.
//!
//! Rhai's own size limits (string length, array and map sizes) are not used: they are checked
//! by walking the whole value after every call that may change it (so `a.push(x)` in a loop
//! costs the square of the array's length), and a map that grows by `m[key] = value` is never
//! checked at all. Counting the bytes the allocator hands out costs one atomic addition per
//! allocation, holds on every path, and bounds what matters: the host's memory.
//!
//! The `keascript` binary installs [`CountingAllocator`] as its global allocator, around
//! mimalloc (so do the library's unit tests, around the system allocator); without it
//! [`heap_in_use`] is `None` and the limit is not enforced.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

static IN_USE: AtomicUsize = AtomicUsize::new(0);

/// An allocator (the system's by default), counting the bytes in use.
pub struct CountingAllocator<A = System>(pub A);

// SAFETY: every call goes to the inner allocator unchanged; only a counter is updated.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as it is.
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if !p.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (that is, from the inner one) with `layout`.
        unsafe { self.0.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` is checked by the caller.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                IN_USE.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// The bytes of heap the process holds now, or `None` when [`CountingAllocator`] is not the
/// global allocator.
pub fn heap_in_use() -> Option<usize> {
    match IN_USE.load(Ordering::Relaxed) {
        0 => None,
        n => Some(n),
    }
}

/// `1 GiB`, `64 MiB`, `1.5 GiB`, `100 B`: a byte count as an admin reads it.
pub fn human_bytes(n: usize) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    let n = n as u64;
    for (unit, size) in UNITS {
        if n.is_multiple_of(size) && n >= size {
            return format!("{} {unit}", n / size);
        }
        let v = n as f64 / size as f64;
        // 1023.96 MiB reads better as 1.0 GiB.
        if v >= 0.9995 {
            return format!("{v:.1} {unit}");
        }
    }
    format!("{n} B")
}

/// Reads a size such as `512M`, `1G`, `2GiB`, `64MiB`, `100k` or a plain byte count.
pub fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("\"{s}\" is not a size (write e.g. 512M, 2G or 0)"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "\"{s}\" has an unknown unit (write e.g. 512M, 2G or 0)"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("\"{s}\" is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_is_allocated_and_freed() {
        // Other tests allocate and free concurrently: a 64 MiB block stands out, and one
        // clean try out of ten is enough.
        let mut seen = Vec::new();
        for _ in 0..10 {
            let before = heap_in_use().expect("the unit tests install the counting allocator");
            let block = vec![1u8; 64 << 20];
            let during = heap_in_use().unwrap();
            drop(std::hint::black_box(block));
            let after = heap_in_use().unwrap();
            if during >= before + (60 << 20) && after + (60 << 20) <= during {
                return;
            }
            seen.push((before, during, after));
        }
        panic!("the counter did not follow a 64 MiB block: {seen:?}");
    }

    #[test]
    fn sizes_read_and_print_as_admins_write_them() {
        assert_eq!(parse_bytes("0"), Ok(0));
        assert_eq!(parse_bytes("512M"), Ok(512 << 20));
        assert_eq!(parse_bytes("2G"), Ok(2 << 30));
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("100k"), Ok(100 << 10));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("5X").is_err());
        assert!(parse_bytes("-1G").is_err());
        assert_eq!(human_bytes(1 << 30), "1 GiB");
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes(1536 << 20), "1.5 GiB");
        assert_eq!(human_bytes(100), "100 B");
        assert_eq!(human_bytes((1 << 30) - 5000), "1.0 GiB");
        assert_eq!(human_bytes(3 << 40), "3 TiB");
    }
}
