// SPDX-License-Identifier: GPL-2.0

//! An interrupt handler on a raw IRQ number.
//!
//! The 7.3 kernel crate registers handlers only for IRQs a platform or PCI
//! device hands out (`IrqRequest`). Legacy interfaces get their IRQ from
//! ACPI, SMBIOS or a module parameter as a bare number; this registers a
//! handler for such a number with `request_threaded_irq()` (no thread) and
//! frees it on drop.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::to_result;
use kernel::irq::IrqReturn;
use kernel::prelude::*;
use kernel::str::CStr;

/// What runs in hard-interrupt context when the IRQ fires.
pub trait Handler: Sync {
    /// Handles the interrupt; `IrqReturn::None` when it was not ours.
    fn handle_irq(&self) -> IrqReturn;
}

/// A handler registered on an IRQ line; dropping it frees the line (after
/// any running handler has returned).
///
/// # Invariants
///
/// `request_threaded_irq(irq, trampoline::<T>, .., data)` succeeded and
/// `free_irq(irq, data)` has not been called yet.
pub struct RawIrq<T: Handler> {
    irq: u32,
    data: NonNull<T>,
    _handler: PhantomData<fn(&T)>,
}

// SAFETY: the registration may be dropped from any thread; `T` is `Sync`,
// the handler only gets shared references.
unsafe impl<T: Handler> Send for RawIrq<T> {}
// SAFETY: no method takes `&self` for anything but reading the number.
unsafe impl<T: Handler> Sync for RawIrq<T> {}

/// # Safety
///
/// Called by the IRQ core with the `dev_id` of a live [`RawIrq<T>`].
unsafe extern "C" fn trampoline<T: Handler>(_irq: i32, dev_id: *mut c_void) -> bindings::irqreturn {
    // SAFETY: `dev_id` is the `data` given to `RawIrq::request`, alive while
    // the handler is registered.
    let data = unsafe { &*dev_id.cast::<T>() };
    bindings::irqreturn(data.handle_irq() as u32)
}

impl<T: Handler> RawIrq<T> {
    /// Registers `data`'s handler on `irq`, shared with other devices when
    /// `shared`.
    ///
    /// # Safety
    ///
    /// `data` must stay valid (not moved, not freed) until the returned
    /// registration is dropped.
    pub unsafe fn request(irq: u32, shared: bool, name: &'static CStr, data: &T) -> Result<Self> {
        let data = NonNull::from(data);
        let flags = if shared { bindings::IRQF_SHARED } else { 0 };
        // SAFETY: the trampoline matches the handler type; `data` outlives
        // the registration (caller's promise); `name` is static.
        to_result(unsafe {
            bindings::request_threaded_irq(
                irq,
                Some(trampoline::<T>),
                None,
                flags as usize,
                name.as_char_ptr(),
                data.as_ptr().cast(),
            )
        })?;
        // INVARIANT: registered above.
        Ok(RawIrq {
            irq,
            data,
            _handler: PhantomData,
        })
    }

    /// The IRQ number.
    pub const fn irq(&self) -> u32 {
        self.irq
    }
}

impl<T: Handler> Drop for RawIrq<T> {
    fn drop(&mut self) {
        // SAFETY: registered with this `dev_id` (type invariant); free_irq
        // waits for a running handler.
        unsafe { bindings::free_irq(self.irq, self.data.as_ptr().cast()) };
    }
}
