// SPDX-License-Identifier: GPL-2.0

//! A panic notifier: a function the kernel calls when it panics, with the
//! panic message (`atomic_notifier_chain_register(&panic_notifier_list)`).
//! The 7.3 kernel crate has none, and its bindings lack the list itself.
//!
//! The notifier is a `static`: register it at module init, unregister it
//! at exit. The callback runs with interrupts off and the other CPUs
//! stopped: it must not sleep and must not wait for a lock another CPU
//! may hold.

use core::ffi::{c_char, c_void};
use kernel::bindings;
use kernel::ffi::{c_int, c_ulong};
use kernel::types::Opaque;

extern "C" {
    /// The kernel's list of panic notifiers (linux/panic_notifier.h).
    static mut panic_notifier_list: bindings::atomic_notifier_head;
}

/// A notifier for `on_panic(message)`; `message` may be null.
pub struct PanicNotifier {
    nb: Opaque<bindings::notifier_block>,
}

// SAFETY: the block is written once before registration and then only by
// the notifier chain, under its own lock.
unsafe impl Sync for PanicNotifier {}

/// The C callback for a notifier whose function is `F`.
///
/// # Safety
///
/// Called by the notifier chain with the panic message or null.
unsafe extern "C" fn call<F: PanicFn>(
    _nb: *mut bindings::notifier_block,
    _event: c_ulong,
    data: *mut c_void,
) -> c_int {
    F::on_panic(data.cast_const().cast::<c_char>());
    bindings::NOTIFY_DONE as c_int
}

/// What runs at panic time.
pub trait PanicFn {
    /// Called once per panic with the message (a C string) or null.
    fn on_panic(message: *const c_char);
}

impl PanicNotifier {
    /// A notifier calling `F::on_panic`, not registered.
    pub const fn new<F: PanicFn>() -> Self {
        PanicNotifier {
            nb: Opaque::new(bindings::notifier_block {
                notifier_call: Some(call::<F>),
                next: core::ptr::null_mut(),
                priority: 0,
            }),
        }
    }

    /// Puts the notifier on the panic chain.
    pub fn register(&'static self) {
        // SAFETY: the kernel's list; a `'static` block registered once.
        unsafe {
            bindings::atomic_notifier_chain_register(&raw mut panic_notifier_list, self.nb.get());
        }
    }

    /// Takes it off again (before the module goes).
    pub fn unregister(&'static self) {
        // SAFETY: as above; unregistering waits for a running callback.
        unsafe {
            bindings::atomic_notifier_chain_unregister(&raw mut panic_notifier_list, self.nb.get());
        }
    }
}
