//! Work split over libtorch's own OpenMP team, for the fused CPU kernels (`fused.rs`).
//!
//! A second thread pool (rayon's) would fight libtorch's: after each parallel region
//! libgomp's threads spin for a while before they sleep, so on two cores a rayon worker
//! would share its core with a spinning OpenMP thread (docs/benchmarks.md#upscale, "one
//! OpenMP team"). Instead the work runs as one more parallel region of the same team,
//! through libgomp's entry point for `#pragma omp parallel`, found in the libgomp that
//! libtorch has already loaded. Without it the work runs on the calling thread.

use std::ffi::{c_uint, c_void};
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// libgomp's `GOMP_parallel(fn, data, num_threads, flags)`: runs `fn(data)` on every
/// thread of a team and returns when all are done.
type GompParallel = unsafe extern "C" fn(extern "C" fn(*mut c_void), *mut c_void, c_uint, c_uint);
type ThreadQuery = unsafe extern "C" fn() -> i32;

struct Gomp {
    parallel: GompParallel,
    thread_num: ThreadQuery,
    num_threads: ThreadQuery,
    _library: libloading::os::unix::Library,
}

/// The libgomp already in the process (libtorch's), if any; never loads one.
fn gomp() -> Option<&'static Gomp> {
    static GOMP: OnceLock<Option<Gomp>> = OnceLock::new();
    GOMP.get_or_init(|| {
        use libloading::os::unix::{Library, RTLD_NOW};
        // SAFETY: RTLD_NOLOAD only returns a library that is already loaded, and the
        // symbols are libgomp's documented ABI with the signatures above.
        unsafe {
            let library = Library::open(Some("libgomp.so.1"), RTLD_NOW | libc::RTLD_NOLOAD).ok()?;
            Some(Gomp {
                parallel: *library.get::<GompParallel>(b"GOMP_parallel\0").ok()?,
                thread_num: *library.get::<ThreadQuery>(b"omp_get_thread_num\0").ok()?,
                num_threads: *library.get::<ThreadQuery>(b"omp_get_num_threads\0").ok()?,
                _library: library,
            })
        }
    })
    .as_ref()
}

struct Job<'a, F> {
    work: &'a F,
    len: usize,
    chunk: usize,
    gomp: &'a Gomp,
    panicked: AtomicBool,
}

extern "C" fn run_share<F: Fn(Range<usize>) + Sync>(data: *mut c_void) {
    // SAFETY: `data` is the `Job` that `parallel_for` keeps alive until every thread of
    // the team has returned.
    let job = unsafe { &*(data as *const Job<F>) };
    // SAFETY: called inside the parallel region, as OpenMP requires.
    let (t, n) = unsafe { ((job.gomp.thread_num)() as usize, (job.gomp.num_threads)() as usize) };
    let chunks = job.len.div_ceil(job.chunk);
    let range = |i: usize| (i * chunks / n * job.chunk).min(job.len);
    let share = range(t)..range(t + 1);
    // A panic must not unwind into C.
    if catch_unwind(AssertUnwindSafe(|| (job.work)(share))).is_err() {
        job.panicked.store(true, Ordering::Relaxed);
    }
}

/// Calls `work` on disjoint ranges covering `0..len`, each starting at a multiple of
/// `chunk`, one per thread of libtorch's team (`tch::get_num_threads()`).
pub fn parallel_for<F: Fn(Range<usize>) + Sync>(len: usize, chunk: usize, work: F) {
    let threads = tch::get_num_threads().max(1) as c_uint;
    let Some(gomp) = gomp().filter(|_| threads > 1 && len > chunk) else {
        return work(0..len);
    };
    let job = Job { work: &work, len, chunk: chunk.max(1), gomp, panicked: AtomicBool::new(false) };
    // SAFETY: `run_share::<F>` reads `job` as a `Job<F>`; GOMP_parallel returns only
    // after every thread has finished with it.
    unsafe { (gomp.parallel)(run_share::<F>, &job as *const Job<F> as *mut c_void, threads, 0) };
    assert!(!job.panicked.load(Ordering::Relaxed), "a parallel share panicked");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn the_shares_cover_the_range_once_on_chunk_boundaries() {
        tch::set_num_threads(2);
        for (len, chunk) in [(0, 4), (3, 4), (100, 16), (1000, 7)] {
            let seen = Mutex::new(Vec::new());
            parallel_for(len, chunk, |range| seen.lock().unwrap().push(range));
            let mut seen = seen.into_inner().unwrap();
            seen.sort_by_key(|r| r.start);
            let mut next = 0;
            for r in seen.iter().filter(|r| !r.is_empty()) {
                assert_eq!(r.start, next, "len {len} chunk {chunk}: {seen:?}");
                assert!(r.start.is_multiple_of(chunk));
                next = r.end;
            }
            assert_eq!(next, len);
        }
    }
}
