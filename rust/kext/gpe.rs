// SPDX-License-Identifier: GPL-2.0

//! A handler on an ACPI general-purpose event (GPE).
//!
//! Firmware may wire a device's interrupt to a GPE instead of an IRQ line
//! (ACPI `_GPE`). The 7.3 kernel crate has no GPE abstraction; this
//! installs a handler on a GPE of the FADT's blocks with
//! `acpi_install_gpe_handler()`, enables the GPE, and on drop disables it
//! and removes the handler, which gives the GPE back to its method (if it
//! had one) in the state it was found in.
//!
//! The handler runs in interrupt context (the SCI), with the ACPI core's
//! GPE lock held, and the GPE is re-enabled after each event: ACPICA
//! disables a GPE before it dispatches it and leaves it disabled unless
//! the handler asks otherwise (`ACPI_REENABLE_GPE`).

use crate::kext::irq::Handler;
use core::ffi::c_void;
use core::marker::PhantomData;
use kernel::bindings;
use kernel::prelude::*;

/// `ACPI_GPE_LEVEL_TRIGGERED` (a cast in C, which bindgen does not
/// export; edge is 0): the event stays asserted while the device wants
/// service, as upstream's ipmi_si installs it.
const LEVEL_TRIGGERED: u32 = 0x08;
/// `AE_OK`.
const AE_OK: bindings::acpi_status = 0;
/// `AE_ALREADY_EXISTS`: another handler owns the GPE.
const AE_ALREADY_EXISTS: bindings::acpi_status = 0x0007;

/// A handler installed on a GPE; dropping it disables the GPE and removes
/// the handler (after any running handler has returned).
///
/// # Invariants
///
/// `acpi_install_gpe_handler(NULL, gpe, .., trampoline::<T>, data)`
/// succeeded, with a `data` the creator keeps valid until the drop, and
/// `acpi_remove_gpe_handler` has not been called yet; `enabled` says
/// whether `acpi_enable_gpe` succeeded after it.
pub struct AcpiGpe<T: Handler> {
    gpe: u32,
    enabled: bool,
    _handler: PhantomData<fn(&T)>,
}

/// # Safety
///
/// Called by ACPICA with the `context` of a live [`AcpiGpe<T>`].
unsafe extern "C" fn trampoline<T: Handler>(
    _gpe_device: bindings::acpi_handle,
    _gpe_number: u32,
    context: *mut c_void,
) -> u32 {
    // SAFETY: `context` is the `data` given to `AcpiGpe::request`, alive
    // while the handler is installed.
    let data = unsafe { &*context.cast::<T>() };
    let _ = data.handle_irq();
    // Level-triggered: ACPICA clears the status and enables the GPE again;
    // a device still asking for service raises it again at once.
    bindings::ACPI_INTERRUPT_HANDLED | bindings::ACPI_REENABLE_GPE
}

impl<T: Handler> AcpiGpe<T> {
    /// Installs `data`'s handler on GPE `gpe` of the FADT's GPE blocks and
    /// enables the GPE. `EBUSY` when another handler owns it, `EINVAL`
    /// when there is no such GPE or it cannot be enabled.
    ///
    /// # Safety
    ///
    /// `data` must stay valid (not moved, not freed) until the returned
    /// registration is dropped.
    pub unsafe fn request(gpe: u32, data: &T) -> Result<Self> {
        // SAFETY: a null device means the FADT's blocks; the trampoline
        // matches ACPICA's handler type; `data` outlives the handler
        // (caller's promise).
        let status = unsafe {
            bindings::acpi_install_gpe_handler(
                core::ptr::null_mut(),
                gpe,
                LEVEL_TRIGGERED,
                Some(trampoline::<T>),
                core::ptr::from_ref(data).cast_mut().cast(),
            )
        };
        match status {
            AE_OK => {}
            AE_ALREADY_EXISTS => return Err(EBUSY),
            _ => return Err(EINVAL),
        }
        // INVARIANT: installed above; `enabled` set from the call below.
        let mut this = AcpiGpe {
            gpe,
            enabled: false,
            _handler: PhantomData,
        };
        // SAFETY: the GPE exists (the install found it).
        if unsafe { bindings::acpi_enable_gpe(core::ptr::null_mut(), gpe) } != AE_OK {
            // Dropping `this` removes the handler again.
            return Err(EINVAL);
        }
        this.enabled = true;
        Ok(this)
    }

    /// The GPE number.
    pub const fn gpe(&self) -> u32 {
        self.gpe
    }
}

impl<T: Handler> Drop for AcpiGpe<T> {
    fn drop(&mut self) {
        if self.enabled {
            // SAFETY: enabled by `request` (type invariant): this drops the
            // reference taken there.
            unsafe { bindings::acpi_disable_gpe(core::ptr::null_mut(), self.gpe) };
        }
        // SAFETY: installed with this handler (type invariant). Removal
        // takes the GPE lock the dispatch runs under, so no handler runs
        // once it returns.
        unsafe {
            bindings::acpi_remove_gpe_handler(
                core::ptr::null_mut(),
                self.gpe,
                Some(trampoline::<T>),
            )
        };
    }
}
