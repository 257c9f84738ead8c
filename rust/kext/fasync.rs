// SPDX-License-Identifier: GPL-2.0

//! Asynchronous notification (`O_ASYNC`, `F_SETOWN`): the processes that
//! asked for a signal when a file becomes readable.
//!
//! A safe wrapper over `fasync_helper()` and `kill_fasync()`, for a driver's
//! `fasync` file operation and its wake-up path.

use kernel::bindings;
use kernel::error::to_result;
use kernel::fs::File;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The list of files that asked for SIGIO (a `struct fasync_struct *`).
///
/// # Invariants
///
/// The pointer inside is only changed by `fasync_helper()` (under the
/// kernel's `fasync_lock`) and read by `kill_fasync()` (under RCU); it is
/// null or a list of entries the kernel allocated for it.
#[pin_data(PinnedDrop)]
pub struct FasyncQueue {
    #[pin]
    head: Opaque<*mut bindings::fasync_struct>,
}

// SAFETY: the kernel serialises every change to the list and lets readers
// run concurrently (fasync_lock and RCU, see the type invariant).
unsafe impl Send for FasyncQueue {}
// SAFETY: as above.
unsafe impl Sync for FasyncQueue {}

impl FasyncQueue {
    /// An empty queue.
    pub fn new() -> impl PinInit<Self> {
        // INVARIANT: starts null.
        pin_init!(FasyncQueue {
            head: Opaque::new(core::ptr::null_mut()),
        })
    }

    /// The `fasync` file operation: adds (`on`) or removes the file.
    /// Returns what the operation returns (positive when the list changed).
    pub fn helper(&self, fd: i32, file: &File, on: bool) -> Result<i32> {
        // SAFETY: `head` is a valid list head (type invariant); `file` is a
        // live file.
        let rv =
            unsafe { bindings::fasync_helper(fd, file.as_ptr(), i32::from(on), self.head.get()) };
        to_result(rv).map(|()| rv)
    }

    /// Takes `file` off the list; for the release path, where the `fasync`
    /// operation is not called for the last close.
    pub fn remove(&self, file: &File) {
        let _ = self.helper(-1, file, false);
    }

    /// Sends SIGIO with `POLL_IN` to every file on the list.
    pub fn notify_readable(&self) {
        self.kill(bindings::POLL_IN);
    }

    /// Sends SIGIO with `POLL_HUP` to every file on the list.
    pub fn notify_hangup(&self) {
        self.kill(bindings::POLL_HUP);
    }

    fn kill(&self, band: u32) {
        // SAFETY: `head` is a valid list head (type invariant); SIGIO and
        // the band are small constants.
        unsafe { bindings::kill_fasync(self.head.get(), bindings::SIGIO as i32, band as i32) };
    }
}

#[pinned_drop]
impl PinnedDrop for FasyncQueue {
    fn drop(self: Pin<&mut Self>) {
        // Every file removes itself on release, so nothing may be left; a
        // leftover entry would signal a dead file.
        // SAFETY: only the pointer value is read; nobody changes it any
        // more (we are being dropped).
        let head = unsafe { *self.head.get() };
        if !head.is_null() {
            pr_warn!("fasync queue dropped with files still on it\n");
        }
    }
}
