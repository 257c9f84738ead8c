// SPDX-License-Identifier: GPL-2.0

//! A user of an interface: upstream's opaque `struct ipmi_user`.
//!
//! The pointer callers hold is an `Arc<User>` given away with
//! `Arc::into_raw`; each receive message the handler gives out for the
//! user holds one more reference, so the user outlives its messages as
//! upstream's kref does. `ipmi_destroy_user()` takes the caller's
//! reference back.

use crate::glue::bindings;
use crate::intf::Intf;
use crate::ipmi::events::{Limits, Quota};
use crate::msgs::{self, Fifo};
use crate::params;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::prelude::*;
use kernel::sync::{new_spinlock_irq, Arc, ArcBorrow, SpinLockIrq};

/// Most events and commands waiting for a user beyond its unsolicited
/// limit; more are dropped and counted.
const MAX_BACKLOG: usize = 1000;

/// Where an unsolicited message for a user went.
pub(crate) enum Admitted {
    /// To the user now: attach it and deliver it.
    Now,
    /// Into the user's backlog, delivered when it frees earlier ones.
    Later,
    /// Dropped (freed): the backlog is full.
    Dropped,
}

/// Receive types that are not answers to the user's own requests: they
/// count against its unsolicited quota.
const fn is_unsolicited(recv_type: i32) -> bool {
    matches!(
        recv_type as u32,
        bindings::IPMI_ASYNC_EVENT_RECV_TYPE
            | bindings::IPMI_CMD_RECV_TYPE
            | bindings::IPMI_OEM_RECV_TYPE
    )
}

/// One user.
#[pin_data]
pub(crate) struct User {
    /// The interface; a user keeps it alive.
    pub(crate) intf: Arc<Intf>,
    handler: *const bindings::ipmi_user_hndl,
    handler_data: *mut c_void,
    #[pin]
    quota: SpinLockIrq<Quota>,
    /// Events and commands for the user beyond its unsolicited limit, in
    /// order, not yet attached to it; they go out as it frees earlier
    /// ones, so a slow reader loses nothing and holds up nobody else.
    #[pin]
    backlog: SpinLockIrq<Fifo<bindings::ipmi_recv_msg>>,
    /// Set once, by `ipmi_destroy_user()` or the interface going away;
    /// no callback runs after.
    pub(crate) destroyed: AtomicBool,
    /// `ipmi_set_gets_events()`.
    pub(crate) gets_events: AtomicBool,
}

// SAFETY: `handler` points to the caller's static table, `handler_data` is
// only handed back to it; the rest is synchronised.
unsafe impl Send for User {}
// SAFETY: as above.
unsafe impl Sync for User {}

fn limits() -> Limits {
    let max = params::max_msgs_per_user.value();
    Limits {
        max_requests: max,
        max_unsolicited: max,
    }
}

impl User {
    /// A user of `intf` whose callbacks are `handler` with `handler_data`.
    pub(crate) fn new(
        intf: Arc<Intf>,
        handler: *const bindings::ipmi_user_hndl,
        handler_data: *mut c_void,
    ) -> Result<Arc<User>> {
        Arc::pin_init(
            pin_init!(User {
                intf,
                handler,
                handler_data,
                quota <- new_spinlock_irq!(Quota::default(), "ipmi_user_quota"),
                backlog <- new_spinlock_irq!(Fifo::new(), "ipmi_user_backlog"),
                destroyed: AtomicBool::new(false),
                gets_events: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        )
    }

    /// The C handle.
    pub(crate) fn to_c(this: Arc<User>) -> *mut bindings::ipmi_user {
        Arc::into_raw(this).cast_mut().cast()
    }

    /// Borrows the user behind a C handle.
    ///
    /// # Safety
    ///
    /// `user` must be a handle from [`User::to_c`] whose reference is
    /// still held (not yet given to `ipmi_destroy_user()`).
    pub(crate) unsafe fn from_c<'a>(user: *mut bindings::ipmi_user) -> Option<ArcBorrow<'a, User>> {
        if user.is_null() {
            return None;
        }
        // SAFETY: the caller guarantees a live reference from `into_raw`.
        Some(unsafe { ArcBorrow::from_raw(user.cast_const().cast()) })
    }

    /// Takes back the reference of a C handle.
    ///
    /// # Safety
    ///
    /// As for [`User::from_c`], and the handle is not used again.
    pub(crate) unsafe fn take_c(user: *mut bindings::ipmi_user) -> Arc<User> {
        // SAFETY: the caller gives up the reference `into_raw` made.
        unsafe { Arc::from_raw(user.cast_const().cast()) }
    }

    /// A request starts: `EBUSY` at `max_msgs_per_user` requests in flight.
    pub(crate) fn start_request(&self) -> Result {
        self.quota
            .lock()
            .start_request(&limits())
            .map_err(|_| EBUSY)
    }

    /// A request that never got a message ends.
    pub(crate) fn abandon_request(&self) {
        self.quota.lock().end_request();
    }

    /// Whether an event or command may be given to this user now (its
    /// unsolicited quota; a refused one is counted as dropped).
    pub(crate) fn offer_unsolicited(&self) -> bool {
        self.quota.lock().offer_unsolicited(&limits())
    }

    /// Takes an unsolicited message for this user (with no user set):
    /// now if the user is under its limit and nothing waits before it, in
    /// its backlog otherwise, dropped if that is full.
    ///
    /// # Safety
    ///
    /// `msg` must be a live receive message owned by the caller, given up
    /// unless [`Admitted::Now`] is returned.
    pub(crate) unsafe fn admit_unsolicited(&self, msg: *mut bindings::ipmi_recv_msg) -> Admitted {
        let mut backlog = self.backlog.lock();
        if backlog.len() == 0 && self.offer_unsolicited() {
            return Admitted::Now;
        }
        if backlog.len() < MAX_BACKLOG {
            // SAFETY: the caller gives it up.
            unsafe { backlog.push(msg) };
            return Admitted::Later;
        }
        drop(backlog);
        // SAFETY: the caller gives it up; it has no user.
        unsafe { msgs::free_recv(msg) };
        Admitted::Dropped
    }

    /// The user freed an unsolicited message: the oldest in its backlog
    /// takes the free place, delivered through its interface.
    fn refill(this: &Arc<User>) {
        if this.destroyed.load(Ordering::Acquire) {
            return;
        }
        let msg = {
            let mut backlog = this.backlog.lock();
            if backlog.len() == 0 || !this.offer_unsolicited() {
                return;
            }
            backlog.pop()
        };
        if let Some(msg) = msg {
            // SAFETY: off the backlog, ours; its type was set when made.
            unsafe {
                let recv_type = (*msg).recv_type as u32;
                User::attach(this, msg, recv_type);
            }
            this.intf.deliver_later(msg);
        }
    }

    /// Frees the backlog (the user is going away).
    pub(crate) fn drop_backlog(&self) {
        let mut gone = Fifo::new();
        {
            let mut backlog = self.backlog.lock();
            backlog.take_if(|_| true, &mut gone);
        }
        while let Some(m) = gone.pop() {
            // SAFETY: ours, with no user.
            unsafe { msgs::free_recv(m) };
        }
    }

    /// Requests in flight and unsolicited messages not yet consumed
    /// (upstream's per-user `nr_msgs`).
    pub(crate) fn nr_msgs(&self) -> u32 {
        let q = self.quota.lock();
        q.requests() + q.unsolicited()
    }

    /// Makes `msg` the user's, as `recv_type`: it holds a reference, and
    /// its quota slot ends when the message is freed. The quota slot was
    /// taken by [`User::start_request`] or [`User::offer_unsolicited`].
    ///
    /// # Safety
    ///
    /// `msg` must be a live receive message owned by the caller, with no
    /// user.
    pub(crate) unsafe fn attach(
        this: &Arc<User>,
        msg: *mut bindings::ipmi_recv_msg,
        recv_type: u32,
    ) {
        // SAFETY: the caller owns `msg`.
        unsafe {
            (*msg).user = Arc::into_raw(this.clone()).cast_mut().cast();
            (*msg).recv_type = recv_type as i32;
        }
    }

    /// Ends a message's claim on its user: its quota slot and reference.
    ///
    /// # Safety
    ///
    /// `user` must be the reference [`User::attach`] gave a message of
    /// type `recv_type`, given up here.
    pub(crate) unsafe fn detach(user: *mut bindings::ipmi_user, recv_type: i32) {
        // SAFETY: the caller gives up the message's reference.
        let user = unsafe { User::take_c(user) };
        let unsolicited = is_unsolicited(recv_type);
        {
            let mut q = user.quota.lock();
            if unsolicited {
                q.consume_unsolicited();
            } else {
                q.end_request();
            }
        }
        if unsolicited {
            User::refill(&user);
        }
    }

    fn hndl(&self) -> &bindings::ipmi_user_hndl {
        // SAFETY: the creator's table outlives the user (upstream's rule).
        unsafe { &*self.handler }
    }

    /// Whether the user wants watchdog pretimeouts.
    pub(crate) fn wants_pretimeouts(&self) -> bool {
        self.hndl().ipmi_watchdog_pretimeout.is_some()
    }

    /// Gives `msg` to the user's receive callback.
    ///
    /// # Safety
    ///
    /// `msg` must be a message of this user owned by the caller; the user
    /// must not be destroyed (the caller holds the interface's delivery
    /// lock, which `ipmi_destroy_user()` waits for).
    pub(crate) unsafe fn receive(&self, msg: *mut bindings::ipmi_recv_msg) {
        match self.hndl().ipmi_recv_hndl {
            // SAFETY: the user's own callback with its own data; it owns
            // the message from now on.
            Some(f) => unsafe { f(msg, self.handler_data) },
            // SAFETY: we own the message.
            None => unsafe { crate::msgs::free_recv(msg) },
        }
    }

    /// Tells the user of a watchdog pretimeout.
    pub(crate) fn pretimeout(&self) {
        if let Some(f) = self.hndl().ipmi_watchdog_pretimeout {
            // SAFETY: the user's callback with its data.
            unsafe { f(self.handler_data) };
        }
    }

    /// Tells the user the kernel panics (its interface runs to completion).
    pub(crate) fn panic(&self) {
        if let Some(f) = self.hndl().ipmi_panic_handler {
            // SAFETY: the user's callback with its data.
            unsafe { f(self.handler_data) };
        }
    }

    /// Tells the user it is going away.
    pub(crate) fn shutdown(&self) {
        if let Some(f) = self.hndl().shutdown {
            // SAFETY: the user's callback with its data.
            unsafe { f(self.handler_data) };
        }
    }

    /// Whether `msg` is this user's.
    pub(crate) fn owns(&self, msg: *mut bindings::ipmi_recv_msg) -> bool {
        // SAFETY: the caller passes a live message.
        let user = unsafe { (*msg).user };
        core::ptr::eq(user.cast_const().cast::<User>(), self)
    }

    /// A stable identity for the command receiver table.
    pub(crate) fn id(&self) -> usize {
        core::ptr::from_ref(self) as usize
    }

    /// The caller's destroy: marks the user gone so no callback runs any
    /// more, and takes it off its interface.
    pub(crate) fn destroy(this: &Arc<User>, call_shutdown: bool) {
        if this.destroyed.swap(true, Ordering::AcqRel) {
            return;
        }
        if call_shutdown {
            this.shutdown();
        }
        this.intf.forget_user(this);
        this.drop_backlog();
        // SAFETY: the reference `ipmi_create_user()` took on the driver's
        // module, given back once (the `destroyed` flag).
        unsafe { kernel::bindings::module_put(this.intf.owner) };
    }
}
