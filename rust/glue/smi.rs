// SPDX-License-Identifier: GPL-2.0

//! A system interface as the message handler sees it: upstream's
//! `struct ipmi_smi_handlers` as the [`Smi`] trait, and the registration
//! of an interface (`ipmi_add_smi` / `ipmi_unregister_smi`) as an owned
//! [`Registration`].
//!
//! The handler table is built once per implementing type, at compile time,
//! with trampolines that turn the `send_info` pointer back into the
//! driver's `T`. Whichever message handler is loaded, C or ours, calls it.

use super::bindings;
use super::smi_msg::SmiMsg;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::to_result;
use kernel::ffi::{c_int, c_uint};
use kernel::prelude::*;
use kernel::sync::Arc;

/// The handler's side of a registered interface: what a driver calls to
/// hand up responses and events.
///
/// # Invariants
///
/// `ptr` is the `struct ipmi_smi` the handler passed to `start_processing`;
/// it stays valid until `ipmi_unregister_smi` returns, and a [`Smi`]
/// implementation only gets it while registered.
#[derive(Clone, Copy)]
pub struct Intf {
    ptr: NonNull<bindings::ipmi_smi>,
}

// SAFETY: the handler's receive entry points lock internally and may be
// called from any context, interrupts included.
unsafe impl Send for Intf {}
// SAFETY: as above.
unsafe impl Sync for Intf {}

impl Intf {
    /// Hands a message (a response, or an asynchronous one from Get Message
    /// or Read Event Message Buffer) to the handler.
    pub fn msg_received(&self, msg: SmiMsg) {
        // SAFETY: the interface is registered (type invariant); the handler
        // takes ownership of the message.
        unsafe { bindings::ipmi_smi_msg_received(self.ptr.as_ptr(), msg.into_raw()) };
    }

    /// Reports a watchdog pre-timeout.
    pub fn watchdog_pretimeout(&self) {
        // SAFETY: the interface is registered (type invariant).
        unsafe { bindings::ipmi_smi_watchdog_pretimeout(self.ptr.as_ptr()) };
    }
}

/// A request the interface cannot take now: the message goes back to the
/// handler, which answers its user with `cc`.
pub struct Refused {
    /// The message, returned untouched.
    pub msg: SmiMsg,
    /// The completion code for the user (e.g. 0xc0, node busy).
    pub cc: u8,
}

/// A low-level interface driver (KCS, BT, SSIF, ...).
///
/// Every method but [`Smi::start_processing`] and [`Smi::sender`] has the
/// default upstream gives a missing callback.
pub trait Smi: Send + Sync + Sized + 'static {
    /// `IPMI_SMI_CAN_HANDLE_IPMB_DIRECT` and friends.
    const FLAGS: u32 = 0;

    /// The handler is ready: from now on the driver may hand messages up
    /// through `intf`, until it is unregistered.
    fn start_processing(&self, intf: Intf) -> Result;

    /// Sends one message; its response goes back through
    /// [`Intf::msg_received`] (from here, or later). The handler sends
    /// the next one only after that.
    fn sender(&self, msg: SmiMsg) -> Result<(), Refused>;

    /// Fills in where the interface came from and its device.
    fn get_smi_info(&self, _info: &mut bindings::ipmi_smi_info) -> Result {
        Err(ENOSYS)
    }

    /// The handler is going away: stop handing messages up.
    fn shutdown(&self) {}

    /// Check for events (Read Event Message Buffer) soon.
    fn request_events(&self) {}

    /// What the handler waits for (`IPMI_WATCH_MASK_*`): poll for it when
    /// there is no interrupt.
    fn set_need_watch(&self, _watch_mask: u32) {}

    /// Finish what is queued (at panic time).
    fn flush_messages(&self) {}

    /// Run without interrupts or sleeping (panic time).
    fn set_run_to_completion(&self, _enable: bool) {}

    /// Make progress now (panic time, or a polling user).
    fn poll(&self) {}

    /// The BMC is being reset or updated: expect it to be slow.
    fn set_maintenance_mode(&self, _enable: bool) {}
}

/// What `send_info` points to: the driver's data and the interface the
/// handler gave it.
#[pin_data]
struct Inner<T> {
    intf: AtomicPtr<bindings::ipmi_smi>,
    #[pin]
    smi: T,
}

/// The handler table for `T`, built at compile time.
struct Table<T>(PhantomData<T>);

impl<T: Smi> Table<T> {
    const HANDLERS: bindings::ipmi_smi_handlers = bindings::ipmi_smi_handlers {
        // The owner is passed to ipmi_add_smi, which is what upstream uses.
        owner: ptr::null_mut(),
        flags: T::FLAGS,
        start_processing: Some(Self::start_processing),
        shutdown: Some(Self::shutdown),
        get_smi_info: Some(Self::get_smi_info),
        sender: Some(Self::sender),
        request_events: Some(Self::request_events),
        set_need_watch: Some(Self::set_need_watch),
        flush_messages: Some(Self::flush_messages),
        set_run_to_completion: Some(Self::set_run_to_completion),
        poll: Some(Self::poll),
        set_maintenance_mode: Some(Self::set_maintenance_mode),
    };

    /// # Safety
    ///
    /// `send_info` must be the `Inner<T>` given to `ipmi_add_smi` by a
    /// [`Registration`], which keeps it alive while registered.
    unsafe fn inner<'a>(send_info: *mut c_void) -> &'a Inner<T> {
        // SAFETY: guaranteed by the caller.
        unsafe { &*send_info.cast::<Inner<T>>() }
    }

    /// # Safety
    ///
    /// Called by the message handler with the `send_info` of a
    /// [`Registration`] and valid arguments.
    unsafe extern "C" fn start_processing(
        send_info: *mut c_void,
        new_intf: *mut bindings::ipmi_smi,
    ) -> c_int {
        // SAFETY: the handler passes back our `send_info`.
        let inner = unsafe { Self::inner(send_info) };
        let Some(ptr) = NonNull::new(new_intf) else {
            return EINVAL.to_errno();
        };
        inner.intf.store(new_intf, Ordering::Release);
        // INVARIANT: the handler gave us this interface to use until it is
        // unregistered.
        match inner.smi.start_processing(Intf { ptr }) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the message handler with the `send_info` of a
    /// [`Registration`] and valid arguments.
    unsafe extern "C" fn sender(send_info: *mut c_void, msg: *mut bindings::ipmi_smi_msg) -> c_int {
        // SAFETY: the handler passes back our `send_info`.
        let inner = unsafe { Self::inner(send_info) };
        // SAFETY: the handler hands the message over to us.
        let Some(msg) = (unsafe { SmiMsg::from_raw(msg) }) else {
            return c_int::from(0xffu8);
        };
        match inner.smi.sender(msg) {
            Ok(()) => 0,
            Err(Refused { msg, cc }) => {
                // On a non-zero return the handler keeps the message.
                let _ = msg.into_raw();
                c_int::from(cc)
            }
        }
    }

    /// # Safety
    ///
    /// Called by the message handler with the `send_info` of a
    /// [`Registration`] and valid arguments.
    unsafe extern "C" fn get_smi_info(
        send_info: *mut c_void,
        data: *mut bindings::ipmi_smi_info,
    ) -> c_int {
        // SAFETY: the handler passes back our `send_info`.
        let inner = unsafe { Self::inner(send_info) };
        // SAFETY: the handler passes a writable `struct ipmi_smi_info`.
        let Some(info) = (unsafe { data.as_mut() }) else {
            return EINVAL.to_errno();
        };
        match inner.smi.get_smi_info(info) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the message handler with the `send_info` of a
    /// [`Registration`] and valid arguments.
    unsafe extern "C" fn shutdown(send_info: *mut c_void) {
        // SAFETY: the handler passes back our `send_info`.
        unsafe { Self::inner(send_info) }.smi.shutdown();
    }

    /// # Safety
    ///
    /// Called by the message handler with the `send_info` of a
    /// [`Registration`] and valid arguments.
    unsafe extern "C" fn request_events(send_info: *mut c_void) {
        // SAFETY: the handler passes back our `send_info`.
        unsafe { Self::inner(send_info) }.smi.request_events();
    }

    /// # Safety
    ///
    /// Called by the message handler with the `send_info` of a
    /// [`Registration`] and valid arguments.
    unsafe extern "C" fn set_need_watch(send_info: *mut c_void, watch_mask: c_uint) {
        // SAFETY: the handler passes back our `send_info`.
        unsafe { Self::inner(send_info) }
            .smi
            .set_need_watch(watch_mask);
    }

    /// # Safety
    ///
    /// Called by the message handler with the `send_info` of a
    /// [`Registration`] and valid arguments.
    unsafe extern "C" fn flush_messages(send_info: *mut c_void) {
        // SAFETY: the handler passes back our `send_info`.
        unsafe { Self::inner(send_info) }.smi.flush_messages();
    }

    /// # Safety
    ///
    /// Called by the message handler with the `send_info` of a
    /// [`Registration`] and valid arguments.
    unsafe extern "C" fn set_run_to_completion(send_info: *mut c_void, enable: bool) {
        // SAFETY: the handler passes back our `send_info`.
        unsafe { Self::inner(send_info) }
            .smi
            .set_run_to_completion(enable);
    }

    /// # Safety
    ///
    /// Called by the message handler with the `send_info` of a
    /// [`Registration`] and valid arguments.
    unsafe extern "C" fn poll(send_info: *mut c_void) {
        // SAFETY: the handler passes back our `send_info`.
        unsafe { Self::inner(send_info) }.smi.poll();
    }

    /// # Safety
    ///
    /// Called by the message handler with the `send_info` of a
    /// [`Registration`] and valid arguments.
    unsafe extern "C" fn set_maintenance_mode(send_info: *mut c_void, enable: bool) {
        // SAFETY: the handler passes back our `send_info`.
        unsafe { Self::inner(send_info) }
            .smi
            .set_maintenance_mode(enable);
    }
}

/// A registered interface; dropping it unregisters the interface (after
/// which the handler calls none of `T`'s methods) and then frees `T`.
///
/// # Invariants
///
/// `inner` was passed as `send_info` to a successful `ipmi_add_smi`, and
/// stays alive (this holds a reference) until `ipmi_unregister_smi`.
pub struct Registration<T: Smi> {
    inner: Arc<Inner<T>>,
}

/// The driver's data for an interface, allocated and not registered yet.
///
/// Apart from [`Registration`] so that a driver builds its state (a state
/// machine with its buffers is most of a KiB) in a frame that is gone
/// before registration's deep call chain (Device ID, channel scan, the BMC
/// device and its driver-core probe) runs on the same stack.
pub struct Unregistered<T: Smi> {
    inner: Arc<Inner<T>>,
}

impl<T: Smi> Unregistered<T> {
    /// Initialises the driver's data with `smi`.
    #[inline(never)]
    pub fn new(smi: impl PinInit<T, Error>) -> Result<Self> {
        let inner = Arc::pin_init(
            try_pin_init!(Inner {
                intf: AtomicPtr::new(ptr::null_mut()),
                smi <- smi,
            }? Error),
            GFP_KERNEL,
        )?;
        Ok(Unregistered { inner })
    }

    /// Registers the interface for the device `dev` at IPMB slave address
    /// `slave_addr` (0 for the default, 0x20).
    ///
    /// # Safety
    ///
    /// `dev` must be a live device that outlives the registration.
    pub unsafe fn register(
        self,
        owner: &'static kernel::ThisModule,
        dev: *mut kernel::bindings::device,
        slave_addr: u8,
    ) -> Result<Registration<T>> {
        let inner = self.inner;
        let send_info = ptr::from_ref::<Inner<T>>(&inner)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: the table is a promoted constant ('static); `send_info`
        // stays alive while registered (kept by `inner`); the caller
        // vouches for `dev`.
        to_result(unsafe {
            bindings::ipmi_add_smi(
                owner.as_ptr(),
                &Table::<T>::HANDLERS,
                send_info,
                dev,
                slave_addr,
            )
        })?;
        // INVARIANT: ipmi_add_smi succeeded with `inner` as `send_info`.
        Ok(Registration { inner })
    }
}

impl<T: Smi> Registration<T> {
    /// Initialises the driver's data with `smi` and registers it for the
    /// device `dev` at IPMB slave address `slave_addr` (0 for the default,
    /// 0x20).
    ///
    /// # Safety
    ///
    /// `dev` must be a live device that outlives the registration.
    pub unsafe fn new(
        owner: &'static kernel::ThisModule,
        smi: impl PinInit<T, Error>,
        dev: *mut kernel::bindings::device,
        slave_addr: u8,
    ) -> Result<Self> {
        // SAFETY: the caller's promise about `dev`.
        unsafe { Unregistered::new(smi)?.register(owner, dev, slave_addr) }
    }

    /// The driver's data.
    pub fn smi(&self) -> &T {
        &self.inner.smi
    }
}

impl<T: Smi> Drop for Registration<T> {
    fn drop(&mut self) {
        let intf = self.inner.intf.load(Ordering::Acquire);
        if !intf.is_null() {
            // SAFETY: the handler gave us `intf` in start_processing and it
            // stays valid until this call returns; afterwards no callback
            // runs, so `inner` may go.
            unsafe { bindings::ipmi_unregister_smi(intf) };
        }
    }
}
