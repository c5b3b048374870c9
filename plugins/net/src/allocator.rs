//! How freed tensor memory is kept. libtorch takes CPU tensors from glibc's malloc,
//! which maps blocks above a threshold (128 KiB at start) straight from the kernel and
//! unmaps them when freed, so each op of a forward faults its output's pages in afresh:
//! about a tenth of a forward's time in the kernel (docs/network.md#profile). Raising
//! the thresholds keeps freed blocks in the heap for the next op, as the allocators
//! PyTorch recommends for CPU inference (jemalloc, tcmalloc) do.

use std::sync::Once;

/// Blocks up to this size come from the heap (glibc's ceiling for the threshold).
const MMAP_THRESHOLD: i32 = 32 << 20;
/// Free memory at the top of the heap is returned to the kernel only above this.
const TRIM_THRESHOLD: i32 = 512 << 20;

/// Sets the thresholds once per process. They affect the whole process (the host
/// included), which only gains from them.
pub fn keep_freed_memory() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: mallopt only changes allocator parameters; it is called before the
        // network allocates and is safe to call from any thread.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
            // Threads created from now on share the main heap: a secondary arena is at
            // most 64 MiB and unmaps whatever it frees, whatever the thresholds say.
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    });
}
