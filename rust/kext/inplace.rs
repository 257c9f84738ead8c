// SPDX-License-Identifier: GPL-2.0

//! Values written straight into their allocation.
//!
//! `pin_init!`/`init!` take a field's value by value: the compiler builds
//! it on the stack and copies it in. For a table of a few KiB (the
//! handler's sequence table) that costs those KiB of a 16 KiB kernel
//! stack, deep inside a driver's probe (a stack overflow seen in a VM
//! test). The core's tables have `write_empty` functions that write
//! through a pointer, element by element; [`write_with`] makes an
//! initializer of one. The frame check of `make check` holds the result.

use pin_init::Init;

/// An initializer that runs `write` on its destination.
///
/// # Safety
///
/// `write`, given a pointer valid for writes of one aligned `T`, must
/// leave a whole valid `T` there.
pub unsafe fn write_with<T>(write: unsafe fn(*mut T)) -> impl Init<T> {
    let init = move |slot: *mut T| {
        // SAFETY: `slot` is valid for writes of one `T` (the initializer's
        // contract), which is what `write` needs.
        unsafe { write(slot) };
        Ok(())
    };
    // SAFETY: by this function's contract `init` leaves a whole `T` in the
    // slot, and it never fails.
    unsafe { pin_init::init_from_closure(init) }
}
