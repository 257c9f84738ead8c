// SPDX-License-Identifier: GPL-2.0

//! An open /dev/ipmiN: one user of the message handler, and the messages
//! it got that the process has not read yet.

use crate::glue::bindings;
use crate::glue::recv_msg::RecvMsg;
use crate::glue::user::User;
use crate::ipmi::devintf::layout::TimingParms;
use crate::ipmi::devintf::recv_queue::{
    FileRecvQueue, Origin, RecvQueue, DEFAULT_UNSOLICITED_LIMIT,
};
use crate::kext::chrdev::{EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLRDNORM};
use crate::kext::fasync::FasyncQueue;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::fs::File;
use kernel::prelude::*;
use kernel::sync::poll::{PollCondVarBox, PollTable};
use kernel::sync::{new_mutex, new_spinlock_irq, Mutex, SpinLockIrq};

/// Where the handler delivers a file's messages.
///
/// The receive callback gets a pointer to this as its handler data; it
/// lives in a pinned box that outlives the file's handler user.
#[pin_data]
pub(crate) struct Inbox {
    /// The messages not read yet. Interrupt-safe: nothing in the handler's
    /// API promises process context for deliveries.
    #[pin]
    pub(crate) queue: SpinLockIrq<FileRecvQueue<RecvMsg>>,
    /// Woken when the queue goes from empty to non-empty; freed after an
    /// RCU grace period, so a poller still on it after close is safe.
    wait: PollCondVarBox,
    /// Processes that asked for SIGIO.
    #[pin]
    fasync: FasyncQueue,
    /// The interface went away (the handler destroyed the user): nothing
    /// more will arrive.
    gone: AtomicBool,
}

/// Logs a refused message now and then: the first, then at each power of
/// two, so a flood costs a few lines, not one per message.
fn log_refused(count: u64, recv_type: i32) {
    if count.is_power_of_two() {
        pr_warn!(
            "receive queue full: dropped a message of type {} ({} dropped so far)\n",
            recv_type,
            count
        );
    }
}

impl Inbox {
    fn deliver(&self, msg: RecvMsg) {
        let recv_type = msg.recv_type();
        let mut queue = self.queue.lock();
        match queue.push(msg, Origin::of_recv_type(recv_type)) {
            Ok(p) => {
                drop(queue);
                if p.was_empty {
                    self.wait.notify_all();
                    self.fasync.notify_readable();
                }
            }
            Err(refused) => {
                // The queue counts what it refuses.
                let stats = queue.stats();
                drop(queue);
                // Freed here, outside the lock.
                drop(refused.msg);
                log_refused(
                    stats.dropped_unsolicited.saturating_add(stats.dropped_full),
                    recv_type,
                );
            }
        }
    }
}

/// The receive callback of every /dev/ipmiN user.
///
/// # Safety
///
/// Called by the message handler with a message we now own and the
/// handler data given to `ipmi_create_user`: the file's `Inbox`, alive
/// until the user is destroyed (after which no callback runs).
unsafe extern "C" fn receive(msg: *mut bindings::ipmi_recv_msg, handler_data: *mut c_void) {
    // SAFETY: the handler gives us the message.
    let Some(msg) = (unsafe { RecvMsg::from_raw(msg) }) else {
        return;
    };
    // SAFETY: the handler data is the live `Inbox` of the user (above).
    let inbox = unsafe { &*handler_data.cast::<Inbox>() };
    inbox.deliver(msg);
}

/// The handler destroys the user: at close, or because the interface is
/// going away under an open file. Upstream's devintf ignores the second
/// case, so a process waiting in poll() for an answer that will never come
/// sleeps until its own timeout (15 s for ipmitool); here it is woken with
/// EPOLLHUP | EPOLLERR, and SIGIO, and its next ioctl fails.
///
/// # Safety
///
/// Called by the message handler with the handler data given to
/// `ipmi_create_user`: the file's live `Inbox`.
unsafe extern "C" fn shutdown(handler_data: *mut c_void) {
    // SAFETY: the handler data is the live `Inbox` of the user (above).
    let inbox = unsafe { &*handler_data.cast::<Inbox>() };
    inbox.gone.store(true, Ordering::Release);
    inbox.wait.notify_all();
    inbox.fasync.notify_hangup();
}

static HANDLER: bindings::ipmi_user_hndl = bindings::ipmi_user_hndl {
    ipmi_recv_hndl: Some(receive),
    ipmi_watchdog_pretimeout: None,
    ipmi_panic_handler: None,
    shutdown: Some(shutdown),
};

/// An open /dev/ipmiN.
#[pin_data]
pub(crate) struct DevFile {
    /// Declared first, so destroyed first: once it is gone no callback
    /// reaches `inbox`.
    pub(crate) user: User,
    pub(crate) inbox: Pin<KBox<Inbox>>,
    /// Receives run one at a time, so a message taken off the head and
    /// not delivered (a fault, a small buffer) is still the head.
    #[pin]
    pub(crate) recv_lock: Mutex<()>,
    /// Retries and retry time for SEND_COMMAND (SET_TIMING_PARMS).
    #[pin]
    pub(crate) timing: Mutex<TimingParms>,
}

impl DevFile {
    /// Opens interface `if_num` as a new user of the handler.
    pub(crate) fn open(if_num: u32) -> Result<Pin<KBox<DevFile>>> {
        let inbox = KBox::pin_init(
            try_pin_init!(Inbox {
                queue <- new_spinlock_irq!(RecvQueue::new(DEFAULT_UNSOLICITED_LIMIT)),
                wait: PollCondVarBox::new(c"ipmi_devintf::wait", kernel::static_lock_class!())?,
                fasync <- FasyncQueue::new(),
                gone: AtomicBool::new(false),
            }? Error),
            GFP_KERNEL,
        )?;
        let data = core::ptr::from_ref::<Inbox>(&inbox)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: the inbox is pinned and outlives the user (field order
        // in `DevFile`); the callback takes the handler data as it.
        let user = unsafe { User::create(if_num, &HANDLER, data)? };
        KBox::pin_init(
            try_pin_init!(DevFile {
                user,
                inbox,
                recv_lock <- new_mutex!(()),
                timing <- new_mutex!(TimingParms::FILE_DEFAULT),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// The last close: leave the SIGIO list; dropping the file then
    /// destroys the user and frees what it had not read.
    pub(crate) fn release(self: Pin<KBox<Self>>, file: &File) {
        self.inbox.fasync.remove(file);
    }

    pub(crate) fn poll(&self, file: &File, table: PollTable<'_>) -> u32 {
        table.register_wait(file, &self.inbox.wait);
        let mut mask = 0;
        if !self.inbox.queue.lock().is_empty() {
            mask |= EPOLLIN | EPOLLRDNORM;
        }
        if self.inbox.gone.load(Ordering::Acquire) {
            mask |= EPOLLERR | EPOLLHUP;
        }
        mask
    }

    pub(crate) fn fasync(&self, fd: i32, file: &File, on: bool) -> Result<i32> {
        self.inbox.fasync.helper(fd, file, on)
    }
}
