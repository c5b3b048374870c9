//! The one thread the network's libtorch work runs on.
//!
//! libtorch's CPU ops run on OpenMP, whose thread team belongs to the thread that opens
//! a parallel region. A host calls a model from whichever of its threads computes a tile
//! (and loads it from another), so several teams stay alive, more threads than cores.
//! libgomp then parks its threads at every barrier instead of spinning, and a forward
//! ran 1.4–1.5× slower (docs/benchmarks.md#upscale). So every call into the model runs
//! here, one at a time, as the model's lock already orders them.

use std::sync::OnceLock;

/// Runs `work` on the network's thread and returns its result; a panic in `work` is
/// resumed in the caller. Without that thread (it could not be spawned), runs in place.
pub fn run<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    let pool = POOL.get_or_init(|| {
        // Before the thread exists, so that its allocations follow the settings too.
        crate::allocator::keep_freed_memory();
        rayon::ThreadPoolBuilder::new().num_threads(1).thread_name(|_| "infty-net".into()).build().ok()
    });
    match pool {
        Some(pool) => pool.install(work),
        None => work(),
    }
}
