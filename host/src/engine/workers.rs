//! Items handed to worker threads in order: each worker takes the next item, so the
//! workers move through the items side by side (one band of an image, one stretch of a
//! file) rather than each through a half of them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Calls `each` with every item of `items`, on `workers` threads of rayon's pool, the
/// next item to the first free worker. The first error stops every worker and is returned.
pub fn in_order<T: Sync>(items: &[T], workers: usize, each: impl Fn(&T) -> Result<()> + Sync) -> Result<()> {
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let work = || {
        while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
            if let Err(error) = each(item) {
                failure.lock().expect("failure lock").get_or_insert(error);
                next.store(items.len(), Ordering::Relaxed);
            }
        }
    };
    rayon::scope(|scope| (0..workers.max(1)).for_each(|_| scope.spawn(|_| work())));
    failure.into_inner().expect("failure lock").map_or(Ok(()), Err)
}
