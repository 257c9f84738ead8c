// SPDX-License-Identifier: GPL-2.0

//! A handler user (`struct ipmi_user`): the in-kernel user API of
//! whichever ipmi_msghandler is loaded, C or ours, behind an owned handle
//! that destroys the user when dropped.

use super::bindings;
use crate::ipmi::addr::Address;
use core::ffi::c_void;
use core::ptr::{self, NonNull};
use kernel::error::to_result;
use kernel::ffi::{c_int, c_long, c_uint};
use kernel::prelude::*;

/// A user of one IPMI interface.
///
/// # Invariants
///
/// `ptr` is a user returned by a successful `ipmi_create_user` and not
/// destroyed yet; it is destroyed exactly once, when this is dropped, after
/// which the handler calls none of its callbacks any more.
pub struct User {
    ptr: NonNull<bindings::ipmi_user>,
}

// SAFETY: the handler locks its users internally; every user API call may
// come from any thread.
unsafe impl Send for User {}
// SAFETY: as above; `&User` only calls the handler's locked API.
unsafe impl Sync for User {}

/// The parameters of one request.
pub struct Request<'a> {
    /// Where the request goes.
    pub addr: &'a Address,
    /// Echoed in the answer (`recv_msg->msgid`).
    pub msgid: c_long,
    /// Network function.
    pub netfn: u8,
    /// Command.
    pub cmd: u8,
    /// Request body.
    pub data: &'a [u8],
    /// Retries of a bridged request; -1 for the handler's default.
    pub retries: c_int,
    /// Time between retries in ms; 0 for the handler's default.
    pub retry_time_ms: c_uint,
}

impl User {
    /// Creates a user of interface `if_num`.
    ///
    /// # Safety
    ///
    /// The callbacks in `handler` are called with `handler_data` until the
    /// user is dropped, so `handler_data` must stay valid for them that long.
    pub unsafe fn create(
        if_num: u32,
        handler: &'static bindings::ipmi_user_hndl,
        handler_data: *mut c_void,
    ) -> Result<User> {
        let mut user = ptr::null_mut();
        // SAFETY: `handler` is static; the caller vouches for `handler_data`.
        to_result(unsafe { bindings::ipmi_create_user(if_num, handler, handler_data, &mut user) })?;
        // INVARIANT: ipmi_create_user succeeded, so `user` is a live user.
        NonNull::new(user).map(|ptr| User { ptr }).ok_or(ENODEV)
    }

    /// The raw user, for the handler's functions not wrapped here.
    pub fn as_raw(&self) -> *mut bindings::ipmi_user {
        self.ptr.as_ptr()
    }

    /// Sends a request; the answer, or an error response, arrives at the
    /// receive callback with `user_msg_data`.
    ///
    /// # Safety
    ///
    /// The user's receive callback must accept `user_msg_data` as the
    /// per-request pointer of an answer (it gets it back untouched).
    pub unsafe fn request(&self, req: &Request<'_>, user_msg_data: *mut c_void) -> Result {
        let mut addr = super::abi::c_addr(req.addr);
        let data_len = u16::try_from(req.data.len()).map_err(|_| EMSGSIZE)?;
        let mut msg = bindings::kernel_ipmi_msg {
            netfn: req.netfn,
            cmd: req.cmd,
            data_len,
            // The handler copies the body and never writes through this.
            data: req.data.as_ptr().cast_mut(),
        };
        // SAFETY: `msg.data` holds `data_len` bytes; the caller vouches
        // for `user_msg_data`.
        unsafe {
            self.request_raw(
                &mut addr,
                req.msgid,
                &mut msg,
                user_msg_data,
                req.retries,
                req.retry_time_ms,
            )
        }
    }

    /// Whether this user gets asynchronous events.
    pub fn set_gets_events(&self, enable: bool) -> Result {
        // SAFETY: the user is live (type invariant).
        to_result(unsafe { bindings::ipmi_set_gets_events(self.as_raw(), enable) })
    }

    /// Sends a request whose address is still raw bytes, checked by the
    /// handler itself (`ipmi_validate_addr`): the path of /dev/ipmiN,
    /// where the address comes from user space as it is.
    ///
    /// # Safety
    ///
    /// As [`User::request`].
    pub unsafe fn request_raw(
        &self,
        addr: &mut bindings::ipmi_addr,
        msgid: c_long,
        msg: &mut bindings::kernel_ipmi_msg,
        user_msg_data: *mut c_void,
        retries: c_int,
        retry_time_ms: c_uint,
    ) -> Result {
        // SAFETY: the user is live (type invariant); `addr` and `msg` are
        // valid for the call (the handler copies them; `msg.data` is the
        // caller's and holds `data_len` bytes); the caller vouches for
        // `user_msg_data`.
        to_result(unsafe {
            bindings::ipmi_request_settime(
                self.as_raw(),
                addr,
                msgid,
                msg,
                user_msg_data,
                0,
                retries,
                retry_time_ms,
            )
        })
    }

    /// Receives commands `netfn`/`cmd` arriving on the channels in `chans`.
    pub fn register_for_cmd(&self, netfn: u8, cmd: u8, chans: u32) -> Result {
        // SAFETY: the user is live (type invariant).
        to_result(unsafe { bindings::ipmi_register_for_cmd(self.as_raw(), netfn, cmd, chans) })
    }

    /// Undoes [`User::register_for_cmd`].
    pub fn unregister_for_cmd(&self, netfn: u8, cmd: u8, chans: u32) -> Result {
        // SAFETY: the user is live (type invariant).
        to_result(unsafe { bindings::ipmi_unregister_for_cmd(self.as_raw(), netfn, cmd, chans) })
    }

    /// The interface's slave address on `channel`.
    pub fn set_my_address(&self, channel: u32, address: u8) -> Result {
        // SAFETY: the user is live (type invariant).
        to_result(unsafe { bindings::ipmi_set_my_address(self.as_raw(), channel, address) })
    }

    /// The interface's slave address on `channel`.
    pub fn my_address(&self, channel: u32) -> Result<u8> {
        let mut v = 0u8;
        // SAFETY: the user is live (type invariant); `v` is writable.
        to_result(unsafe { bindings::ipmi_get_my_address(self.as_raw(), channel, &mut v) })?;
        Ok(v)
    }

    /// The interface's LUN on `channel`.
    pub fn set_my_lun(&self, channel: u32, lun: u8) -> Result {
        // SAFETY: the user is live (type invariant).
        to_result(unsafe { bindings::ipmi_set_my_LUN(self.as_raw(), channel, lun) })
    }

    /// The interface's LUN on `channel`.
    pub fn my_lun(&self, channel: u32) -> Result<u8> {
        let mut v = 0u8;
        // SAFETY: the user is live (type invariant); `v` is writable.
        to_result(unsafe { bindings::ipmi_get_my_LUN(self.as_raw(), channel, &mut v) })?;
        Ok(v)
    }

    /// The maintenance mode (`IPMI_MAINTENANCE_MODE_*`).
    pub fn maintenance_mode(&self) -> c_int {
        // SAFETY: the user is live (type invariant).
        unsafe { bindings::ipmi_get_maintenance_mode(self.as_raw()) }
    }

    /// Sets the maintenance mode (`IPMI_MAINTENANCE_MODE_*`).
    pub fn set_maintenance_mode(&self, mode: c_int) -> Result {
        // SAFETY: the user is live (type invariant).
        to_result(unsafe { bindings::ipmi_set_maintenance_mode(self.as_raw(), mode) })
    }
}

impl Drop for User {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the user is live and destroyed only here.
        unsafe { bindings::ipmi_destroy_user(self.ptr.as_ptr()) };
    }
}
