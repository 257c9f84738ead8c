// SPDX-License-Identifier: GPL-2.0

//! The two message structures of upstream's API, as this handler makes,
//! queues and frees them.
//!
//! `struct ipmi_smi_msg` goes between the handler and a system interface
//! driver; `struct ipmi_recv_msg` is what a user's receive callback gets.
//! Both are C structures with a `done` callback that frees them, and both
//! may come from a caller (`ipmi_request_supply_msgs()` at panic time) with
//! a `done` of its own, so the handler always frees through `done`.
//! Their `link` field (first in both) chains them in [`Fifo`]s while the
//! handler holds them, as upstream's lists do.

use crate::glue::bindings;
use crate::user::User;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicI32, Ordering};
use kernel::prelude::*;
use kernel::sync::lock::{GlobalLock, GlobalLockBackend};

/// Messages of each kind allocated and not yet freed (upstream keeps the
/// same two counts; a leak shows here first).
pub(crate) static SMI_MSGS_IN_USE: AtomicI32 = AtomicI32::new(0);
/// See [`SMI_MSGS_IN_USE`].
pub(crate) static RECV_MSGS_IN_USE: AtomicI32 = AtomicI32::new(0);

/// Whether the kernel is printing an oops or panicking: memory is then
/// left alone (upstream does the same).
pub(crate) fn oops_in_progress() -> bool {
    // SAFETY: a plain integer the kernel writes; a racy read is harmless.
    unsafe { core::ptr::read_volatile(&raw const kernel::bindings::oops_in_progress) != 0 }
}

/// Freed messages of each kind kept for the next allocation, up to
/// [`SPARE_MAX`]. Every request takes one of each and gives them back when
/// answered: reused, they skip the slab and the zeroing of their ~900
/// bytes of buffers (under emulation, the zeroing alone costs more than
/// the handler's own work per request). A spare keeps the bytes of its
/// last use in `data`, `rsp` and `msg_data`, which nobody reads beyond the
/// lengths set with them.
const SPARE_MAX: usize = 32;

kernel::sync::global_lock! {
    // SAFETY: initialised first thing in the module's init.
    unsafe(uninit) static SPARE_SMI: SpinLockIrq<Fifo<bindings::ipmi_smi_msg>> = Fifo::new();
}

kernel::sync::global_lock! {
    // SAFETY: initialised first thing in the module's init.
    unsafe(uninit) static SPARE_RECV: SpinLockIrq<Fifo<bindings::ipmi_recv_msg>> = Fifo::new();
}

/// Initialises the spare lists.
///
/// # Safety
///
/// Once, in the module's init, before any message is allocated.
pub(crate) unsafe fn init() {
    // SAFETY: the caller's promise.
    unsafe {
        SPARE_SMI.init();
        SPARE_RECV.init();
    }
}

/// Frees the spares, at module exit (no message of ours is live then).
pub(crate) fn drain() {
    drain_list(&SPARE_SMI);
    drain_list(&SPARE_RECV);
}

fn drain_list<T: Linked, B: GlobalLockBackend<Item = Fifo<T>>>(list: &'static GlobalLock<B>) {
    while let Some(p) = list.lock().pop() {
        // SAFETY: spares are `KBox` allocations nobody else holds.
        drop(unsafe { KBox::from_raw(p) });
    }
}

/// A message off `list`, or a fresh zeroed one if none is there or the
/// list is busy (or a panic is in progress, whose CPUs may hold it), with
/// its `link` cleared, then `reset` (the rest of its header) and counted
/// in `in_use`; null when memory runs out.
fn obtain<T: Linked + pin_init::Zeroable, B: GlobalLockBackend<Item = Fifo<T>>>(
    list: &'static GlobalLock<B>,
    in_use: &AtomicI32,
    reset: impl FnOnce(&mut T),
) -> *mut T {
    let spare = if oops_in_progress() {
        None
    } else {
        list.try_lock().and_then(|mut g| g.pop())
    };
    let p = match spare {
        Some(p) => p,
        None => match KBox::<T>::new_uninit(GFP_ATOMIC) {
            Ok(msg) => KBox::into_raw(KBox::write(msg, pin_init::zeroed())),
            Err(_) => return null_mut(),
        },
    };
    // SAFETY: `p` is fresh or a spare: initialised, and ours; its first
    // field is a `struct list_head` (`Linked`).
    unsafe {
        p.cast::<kernel::bindings::list_head>()
            .write(kernel::bindings::list_head {
                next: null_mut(),
                prev: null_mut(),
            });
        reset(&mut *p);
    }
    in_use.fetch_add(1, Ordering::Relaxed);
    p
}

/// Keeps `msg` as a spare if `list` has room and is free, frees it
/// otherwise; leaves it alone while the kernel oopses or panics.
///
/// # Safety
///
/// `msg` must be a live `KBox` allocation of ours, given up here.
unsafe fn release<T: Linked, B: GlobalLockBackend<Item = Fifo<T>>>(
    list: &'static GlobalLock<B>,
    msg: *mut T,
) {
    if oops_in_progress() {
        return;
    }
    // Under KASAN every message goes back to the slab, where a use after
    // free is caught; a spare would hide it.
    if !cfg!(CONFIG_KASAN) {
        if let Some(mut g) = list.try_lock() {
            if g.len() < SPARE_MAX {
                // SAFETY: the caller gives `msg` up.
                unsafe { g.push(msg) };
                return;
            }
        }
    }
    // SAFETY: the caller gives up `msg`, a `KBox` allocation.
    drop(unsafe { KBox::from_raw(msg) });
}

/// The `done` of the messages `alloc_smi_msg` makes.
///
/// # Safety
///
/// `msg` must be such a message, given up here.
unsafe extern "C" fn free_smi_msg(msg: *mut bindings::ipmi_smi_msg) {
    SMI_MSGS_IN_USE.fetch_sub(1, Ordering::Relaxed);
    // A driver that drops a request instead of handing it back would lose
    // the user's receive message with it: free that too (the handler
    // detaches it from every message it frees itself).
    // SAFETY: the caller gives up `msg`, a live message of ours.
    let recv = unsafe { core::mem::replace(&mut (*msg).recv_msg, null_mut()) };
    if !recv.is_null() {
        // SAFETY: a request's receive message, owned by its request.
        unsafe { free_recv(recv) };
    }
    // SAFETY: `done` of a message `alloc_smi_msg` made from a `KBox`; the
    // caller gives it up.
    unsafe { release(&SPARE_SMI, msg) };
}

/// `ipmi_alloc_smi_msg()`: a message with its header zeroed, freed by its
/// `done`, or null.
pub(crate) fn alloc_smi_msg() -> *mut bindings::ipmi_smi_msg {
    obtain(&SPARE_SMI, &SMI_MSGS_IN_USE, |m| {
        m.type_ = bindings::ipmi_smi_msg_type_IPMI_SMI_MSG_TYPE_NORMAL;
        m.msgid = 0;
        m.recv_msg = null_mut();
        m.data_size = 0;
        m.rsp_size = 0;
        m.done = Some(free_smi_msg);
    })
}

/// Frees a system interface message through its `done`.
///
/// # Safety
///
/// `msg` must be a live message owned by the caller, given up here.
pub(crate) unsafe fn free_smi(msg: *mut bindings::ipmi_smi_msg) {
    // SAFETY: the caller owns `msg`; `done` is how its maker frees it.
    unsafe {
        if let Some(done) = (*msg).done {
            done(msg)
        }
    }
}

/// The `done` of the messages `alloc_recv_msg` makes.
///
/// # Safety
///
/// `msg` must be such a message, given up here.
unsafe extern "C" fn free_recv_mem(msg: *mut bindings::ipmi_recv_msg) {
    RECV_MSGS_IN_USE.fetch_sub(1, Ordering::Relaxed);
    // SAFETY: `done` of a message `alloc_recv_msg` made from a `KBox`; the
    // caller gives it up.
    unsafe { release(&SPARE_RECV, msg) };
}

/// A receive message with its header zeroed, freed by its `done`, with no
/// user, or null.
pub(crate) fn alloc_recv_msg() -> *mut bindings::ipmi_recv_msg {
    obtain(&SPARE_RECV, &RECV_MSGS_IN_USE, |m| {
        m.recv_type = 0;
        m.user = null_mut();
        m.addr = bindings::ipmi_addr::default();
        m.msgid = 0;
        m.msg = bindings::kernel_ipmi_msg {
            netfn: 0,
            cmd: 0,
            data_len: 0,
            data: null_mut(),
        };
        m.user_msg_data = null_mut();
        m.done = Some(free_recv_mem);
    })
}

/// `ipmi_free_recv_msg()`: ends the message's claim on its user (its
/// quota and reference), then frees it through `done`.
///
/// # Safety
///
/// `msg` must be a live receive message owned by the caller, given up here.
pub(crate) unsafe fn free_recv(msg: *mut bindings::ipmi_recv_msg) {
    // SAFETY: the caller owns `msg`.
    let user = unsafe { core::mem::replace(&mut (*msg).user, null_mut()) };
    if !user.is_null() && !oops_in_progress() {
        // SAFETY: a non-null `user` of a message is a reference that
        // `User::attach` took; `recv_type` was set with it.
        unsafe { User::detach(user, (*msg).recv_type) };
    }
    // SAFETY: as above; `done` is how its maker frees it.
    unsafe {
        if let Some(done) = (*msg).done {
            done(msg)
        }
    }
}

/// A message structure that a [`Fifo`] can chain: `link` comes first.
///
/// # Safety
///
/// Implementors must have a `struct list_head` as their first field.
pub(crate) unsafe trait Linked {}
// SAFETY: `link` is the first field of both.
unsafe impl Linked for bindings::ipmi_smi_msg {}
// SAFETY: as above.
unsafe impl Linked for bindings::ipmi_recv_msg {}

/// A first-in first-out chain of messages through their `link.next`.
///
/// # Invariants
///
/// Every message on the chain is live and owned by the chain; `tail` is
/// the last one (null when `head` is).
pub(crate) struct Fifo<T: Linked> {
    head: *mut T,
    tail: *mut T,
    len: usize,
}

impl<T: Linked> Fifo<T> {
    /// An empty chain.
    pub(crate) const fn new() -> Self {
        Fifo {
            head: null_mut(),
            tail: null_mut(),
            len: 0,
        }
    }

    /// Messages on the chain.
    pub(crate) const fn len(&self) -> usize {
        self.len
    }

    /// Takes the whole chain, leaving this one empty: one lock hold for
    /// a batch instead of one per message.
    pub(crate) fn take_all(&mut self) -> Fifo<T> {
        core::mem::replace(self, Fifo::new())
    }

    fn next_of(msg: *mut T) -> *mut *mut T {
        // `link` is the first field (`Linked`), `next` the first of `link`.
        msg.cast::<*mut T>()
    }

    /// Puts `msg` at the end.
    ///
    /// # Safety
    ///
    /// `msg` must be live and owned by the caller, given to the chain.
    pub(crate) unsafe fn push(&mut self, msg: *mut T) {
        // SAFETY: `msg` is live and now ours (`next_of` points in it).
        unsafe { *Self::next_of(msg) = null_mut() };
        if self.tail.is_null() {
            self.head = msg;
        } else {
            // SAFETY: by the invariant `tail` is live and ours.
            unsafe { *Self::next_of(self.tail) = msg };
        }
        self.tail = msg;
        self.len += 1;
    }

    /// Takes the first message; the caller owns it.
    pub(crate) fn pop(&mut self) -> Option<*mut T> {
        if self.head.is_null() {
            return None;
        }
        let msg = self.head;
        // SAFETY: by the invariant `head` is live and ours.
        self.head = unsafe { *Self::next_of(msg) };
        if self.head.is_null() {
            self.tail = null_mut();
        }
        self.len -= 1;
        Some(msg)
    }

    /// Takes out every message `which` selects, in order, into `out`.
    pub(crate) fn take_if(&mut self, mut which: impl FnMut(*mut T) -> bool, out: &mut Fifo<T>) {
        let mut kept = Fifo::new();
        while let Some(msg) = self.pop() {
            // SAFETY: `msg` came off a chain that owned it; it goes on one.
            unsafe {
                if which(msg) {
                    out.push(msg)
                } else {
                    kept.push(msg)
                }
            }
        }
        *self = kept;
    }
}

// SAFETY: the chain owns plain C messages, usable from any thread.
unsafe impl<T: Linked> Send for Fifo<T> {}
