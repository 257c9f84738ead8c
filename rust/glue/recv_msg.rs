// SPDX-License-Identifier: GPL-2.0

//! An owned `struct ipmi_recv_msg`: what the message handler hands a
//! user's receive callback, freed exactly once, when dropped.

use super::bindings;
use crate::ipmi::addr::{addr_length, MAX_TYPED_ADDR_LEN};
use crate::ipmi::msg::MAX_MSG_LENGTH;
use core::ffi::c_void;
use core::ptr::NonNull;
use kernel::ffi::c_long;

/// A received message the handler gave us.
///
/// # Invariants
///
/// `ptr` is a message from the message handler that nothing else frees; it
/// is freed with `ipmi_free_recv_msg` when this is dropped.
pub struct RecvMsg {
    ptr: NonNull<bindings::ipmi_recv_msg>,
}

// SAFETY: the message is plain data owned by us alone; freeing it from any
// thread is allowed (ipmi_free_recv_msg takes no per-thread state).
unsafe impl Send for RecvMsg {}
// SAFETY: `&RecvMsg` only reads the message.
unsafe impl Sync for RecvMsg {}

impl RecvMsg {
    /// Takes ownership of a message given to a receive callback.
    ///
    /// # Safety
    ///
    /// `ptr` must be a message the handler passed to our callback and that
    /// is not freed or owned by anything else.
    pub unsafe fn from_raw(ptr: *mut bindings::ipmi_recv_msg) -> Option<RecvMsg> {
        // INVARIANT: the caller hands over sole ownership.
        NonNull::new(ptr).map(|ptr| RecvMsg { ptr })
    }

    fn raw(&self) -> &bindings::ipmi_recv_msg {
        // SAFETY: by the type invariant the message is alive and ours.
        unsafe { self.ptr.as_ref() }
    }

    /// `IPMI_RESPONSE_RECV_TYPE`, `IPMI_ASYNC_EVENT_RECV_TYPE`, ...
    pub fn recv_type(&self) -> i32 {
        self.raw().recv_type
    }

    /// The msgid of the request this answers, or the remote sequence
    /// number of an incoming command.
    pub fn msgid(&self) -> c_long {
        self.raw().msgid
    }

    /// The per-request pointer given with the request (null when the
    /// message answers no request).
    pub fn user_msg_data(&self) -> *mut c_void {
        self.raw().user_msg_data
    }

    /// Network function.
    pub fn netfn(&self) -> u8 {
        self.raw().msg.netfn
    }

    /// Command.
    pub fn cmd(&self) -> u8 {
        self.raw().msg.cmd
    }

    /// The source address as the bytes of its typed structure, and their
    /// number (`ipmi_addr_length()` of its type; 0 for an unknown type).
    /// Only what the handler wrote is read.
    pub fn typed_addr(&self) -> ([u8; MAX_TYPED_ADDR_LEN], usize) {
        let a = &self.raw().addr;
        // At most MAX_TYPED_ADDR_LEN (12), so it fits an i32.
        let len = addr_length(a.addr_type).min(MAX_TYPED_ADDR_LEN) as i32;
        // SAFETY: the handler wrote the whole typed structure for its type,
        // `len` bytes at the start of `addr`.
        unsafe { super::abi::read_addr(a, len) }
    }

    /// The message body (for a response, the completion code first).
    pub fn data(&self) -> &[u8] {
        let m = &self.raw().msg;
        let len = usize::from(m.data_len).min(MAX_MSG_LENGTH);
        if m.data.is_null() || len == 0 {
            return &[];
        }
        // SAFETY: the handler points `msg.data` at `data_len` bytes inside
        // the message (its `msg_data` array, never longer than
        // MAX_MSG_LENGTH), alive as long as we own the message.
        unsafe { core::slice::from_raw_parts(m.data, len) }
    }

    /// The raw pointer, for C APIs that take the message back.
    pub fn into_raw(self) -> *mut bindings::ipmi_recv_msg {
        let p = self.ptr.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl Drop for RecvMsg {
    fn drop(&mut self) {
        // SAFETY: by the type invariant we own the message and free it once.
        unsafe { bindings::ipmi_free_recv_msg(self.ptr.as_ptr()) };
    }
}
