// SPDX-License-Identifier: GPL-2.0

//! What the 7.3 kernel crate's workqueue lacks, for work items queued
//! through an `Arc`: cancelling one (`cancel_work_sync()`,
//! `cancel_delayed_work_sync()`), giving back the reference the queue
//! held, so that an owner can stop its own self-requeueing work before it
//! goes; and moving a pending delayed one to another time
//! (`mod_delayed_work()`).

use kernel::bindings;
use kernel::sync::Arc;
use kernel::time::Jiffies;
use kernel::workqueue::{HasDelayedWork, HasWork, Queue, Work, WorkItem};

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

/// Queues `this`'s delayed work on `queue` to run after `delay` jiffies,
/// or moves a pending one to that time (`mod_delayed_work()`): the earlier
/// of two wishes is not kept, the last one is. A pending item already
/// holds its `Arc` reference, so the one taken here is given back then.
pub fn mod_delayed<T, const ID: u64>(queue: &Queue, this: &Arc<T>, delay: Jiffies)
where
    T: HasDelayedWork<T, ID> + WorkItem<ID, Pointer = Arc<T>>,
{
    let ptr = Arc::into_raw(this.clone()).cast_mut();
    // SAFETY: as in `cancel_delayed_sync`: the delayed work of a live `T`.
    let dwork = unsafe {
        let work = Work::<T, ID>::raw_get(T::raw_get_work(ptr));
        kernel::container_of!(work, bindings::delayed_work, work)
    };
    let queue = core::ptr::from_ref(queue)
        .cast::<bindings::workqueue_struct>()
        .cast_mut();
    // SAFETY: `Queue` is a transparent wrapper of a live workqueue; the
    // work item was initialised with the run function that takes back the
    // `Arc` given with it (`ptr`).
    let was_pending = unsafe {
        bindings::mod_delayed_work_on(
            bindings::wq_misc_consts_WORK_CPU_UNBOUND as i32,
            queue,
            dwork,
            delay,
        )
    };
    if was_pending {
        // SAFETY: the queue kept the reference of the earlier enqueue; the
        // one from `into_raw` above was not taken.
        drop(unsafe { Arc::from_raw(ptr) });
    }
}

/// Cancels `this`'s work item (`cancel_work_sync()`): a queued one comes
/// off the queue, its `Arc` reference given back; a running one is waited
/// for. Sleeps.
pub fn cancel_sync<T, const ID: u64>(this: &Arc<T>) -> bool
where
    T: HasWork<T, ID> + WorkItem<ID, Pointer = Arc<T>>,
{
    let ptr = Arc::as_ptr(this).cast_mut();
    // SAFETY: `ptr` points to a live `T`; `HasWork` gives its work field.
    let work = unsafe { Work::<T, ID>::raw_get(T::raw_get_work(ptr)) };
    // SAFETY: an initialised work item of a live `T`.
    let was_pending = unsafe { bindings::cancel_work_sync(work) };
    if was_pending {
        // SAFETY: a queued item holds the reference its enqueue gave.
        drop(unsafe { Arc::from_raw(ptr) });
    }
    was_pending
}

/// The per-CPU system workqueue (`system_percpu_wq`), which 7.3 wants
/// instead of `system_wq` (the kernel crate's `system()`, which logs a
/// deprecation notice on first use).
pub fn system_percpu() -> &'static Queue {
    // SAFETY: set up at boot, before any module loads, and never freed.
    unsafe { Queue::from_raw(bindings::system_percpu_wq) }
}

/// The unbound system workqueue (`system_dfl_wq`), for work that need
/// not run on the CPU that queued it.
pub fn system_dfl() -> &'static Queue {
    // SAFETY: as above.
    unsafe { Queue::from_raw(bindings::system_dfl_wq) }
}
