// SPDX-License-Identifier: GPL-2.0

//! An owned `struct ipmi_smi_msg`: a message between the message handler
//! and a system interface driver, released exactly once through its
//! `done` callback when dropped, or handed back to the handler.

use super::bindings;
use crate::ipmi::msg::MAX_MSG_LENGTH;
use core::ptr::NonNull;

/// A request to send, or a response being filled in.
///
/// # Invariants
///
/// `ptr` is a live message that nothing else owns: allocated by
/// `ipmi_alloc_smi_msg` or handed to a driver's `sender`. It is released
/// through its `done` callback when dropped, unless given away by
/// [`SmiMsg::into_raw`].
pub struct SmiMsg {
    ptr: NonNull<bindings::ipmi_smi_msg>,
}

// SAFETY: the message is plain data owned by us alone; `done` may run in
// any context (upstream frees these from interrupt handlers).
unsafe impl Send for SmiMsg {}

/// The message does not fit in the buffer (`IPMI_MAX_MSG_LENGTH`).
#[derive(Debug)]
pub struct TooLong;

impl SmiMsg {
    /// Allocates a message from the handler (`GFP_ATOMIC`, as upstream).
    pub fn alloc() -> Option<SmiMsg> {
        // SAFETY: no preconditions; a null return is handled below.
        let p = unsafe { bindings::ipmi_alloc_smi_msg() };
        // INVARIANT: a fresh message is ours alone.
        NonNull::new(p).map(|ptr| SmiMsg { ptr })
    }

    /// Takes ownership of a message the handler passed to `sender`.
    ///
    /// # Safety
    ///
    /// `ptr` must be such a message, owned by nothing else from now on.
    pub unsafe fn from_raw(ptr: *mut bindings::ipmi_smi_msg) -> Option<SmiMsg> {
        // INVARIANT: the caller hands over sole ownership.
        NonNull::new(ptr).map(|ptr| SmiMsg { ptr })
    }

    fn raw(&self) -> &bindings::ipmi_smi_msg {
        // SAFETY: by the type invariant the message is alive and ours.
        unsafe { self.ptr.as_ref() }
    }

    fn raw_mut(&mut self) -> &mut bindings::ipmi_smi_msg {
        // SAFETY: by the type invariant the message is alive and ours alone.
        unsafe { self.ptr.as_mut() }
    }

    /// The request bytes: netfn/LUN, cmd, body.
    pub fn data(&self) -> &[u8] {
        let m = self.raw();
        let len = usize::try_from(m.data_size)
            .unwrap_or(0)
            .min(MAX_MSG_LENGTH);
        m.data.get(..len).unwrap_or(&[])
    }

    /// Sets the request bytes.
    pub fn set_data(&mut self, bytes: &[u8]) -> Result<(), TooLong> {
        let m = self.raw_mut();
        let dst = m.data.get_mut(..bytes.len()).ok_or(TooLong)?;
        dst.copy_from_slice(bytes);
        m.data_size = i32::try_from(bytes.len()).map_err(|_| TooLong)?;
        Ok(())
    }

    /// The response bytes: netfn/LUN, cmd, completion code, body.
    pub fn rsp(&self) -> &[u8] {
        let m = self.raw();
        let len = usize::try_from(m.rsp_size).unwrap_or(0).min(MAX_MSG_LENGTH);
        m.rsp.get(..len).unwrap_or(&[])
    }

    /// Sets the response bytes.
    pub fn set_rsp(&mut self, bytes: &[u8]) -> Result<(), TooLong> {
        let m = self.raw_mut();
        let dst = m.rsp.get_mut(..bytes.len()).ok_or(TooLong)?;
        dst.copy_from_slice(bytes);
        m.rsp_size = i32::try_from(bytes.len()).map_err(|_| TooLong)?;
        Ok(())
    }

    /// Whether the message is an IPMB-direct one (upstream's
    /// `IPMI_SMI_MSG_TYPE_IPMB_DIRECT`): an IPMB header instead of a
    /// system-interface one, for interfaces that are on the bus themselves.
    pub fn is_ipmb_direct(&self) -> bool {
        self.raw().type_ == bindings::ipmi_smi_msg_type_IPMI_SMI_MSG_TYPE_IPMB_DIRECT
    }

    /// Marks the message IPMB-direct (a command from the bus, handed up).
    pub fn set_ipmb_direct(&mut self) {
        self.raw_mut().type_ = bindings::ipmi_smi_msg_type_IPMI_SMI_MSG_TYPE_IPMB_DIRECT;
    }

    /// Gives the message away (to `ipmi_smi_msg_received`).
    pub fn into_raw(self) -> *mut bindings::ipmi_smi_msg {
        let p = self.ptr.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl Drop for SmiMsg {
    fn drop(&mut self) {
        let p = self.ptr.as_ptr();
        // SAFETY: by the type invariant we own the message; `done` is what
        // the allocator of the message set to release it
        // (`ipmi_free_smi_msg()` is this call, inline in C).
        unsafe {
            if let Some(done) = (*p).done {
                done(p)
            }
        };
    }
}
