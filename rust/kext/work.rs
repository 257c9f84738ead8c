// SPDX-License-Identifier: GPL-2.0

//! What the 7.3 kernel crate's workqueue lacks: cancelling a delayed work
//! item queued through an `Arc` (`cancel_delayed_work_sync()`), giving
//! back the reference the queue held, so that an owner can stop its own
//! self-requeueing work before it goes.

use kernel::bindings;
use kernel::sync::Arc;
use kernel::workqueue::{HasDelayedWork, Work, WorkItem};

/// Cancels `this`'s delayed work: a pending one is taken off the queue
/// and the `Arc` reference the queue held comes back (dropped here); a
/// running one is waited for, and any requeue it attempts meanwhile fails.
/// Returns whether a pending item was cancelled. Sleeps.
pub fn cancel_delayed_sync<T, const ID: u64>(this: &Arc<T>) -> bool
where
    T: HasDelayedWork<T, ID> + WorkItem<ID, Pointer = Arc<T>>,
{
    let ptr = Arc::as_ptr(this).cast_mut();
    // SAFETY: `ptr` points to a live `T` (we hold `this`); `HasDelayedWork`
    // promises that its work is the `work` field of a `struct
    // delayed_work`.
    let dwork = unsafe {
        let work = Work::<T, ID>::raw_get(T::raw_get_work(ptr));
        kernel::container_of!(work, bindings::delayed_work, work)
    };
    // SAFETY: an initialised delayed work of a live `T`.
    let was_pending = unsafe { bindings::cancel_delayed_work_sync(dwork) };
    if was_pending {
        // SAFETY: a pending item holds the reference `Arc::into_raw` gave
        // the queue when it was enqueued; cancelling hands it back.
        drop(unsafe { Arc::from_raw(ptr) });
    }
    was_pending
}
