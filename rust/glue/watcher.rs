// SPDX-License-Identifier: GPL-2.0

//! An SMI watcher (`struct ipmi_smi_watcher`): told by the message handler
//! of every interface that comes (at registration, also of those already
//! there) and goes.

use super::bindings;
use core::marker::PhantomData;
use kernel::error::to_result;
use kernel::module::{this_module, ModuleMetadata};
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a watcher is told. The callbacks carry no context (upstream's
/// watcher has none), so an implementation finds its state in a static.
pub trait SmiWatcher: 'static {
    /// The module the watcher belongs to.
    type OwnerModule: ModuleMetadata;

    /// Interface `if_num` is up; `dev` is its device (may be null).
    fn new_smi(if_num: u32, dev: *mut kernel::bindings::device);

    /// Interface `if_num` is gone.
    fn smi_gone(if_num: u32);
}

/// A registered watcher; dropping it unregisters it, after which neither
/// callback runs.
///
/// # Invariants
///
/// `raw` was registered with `ipmi_smi_watcher_register` and is
/// unregistered only in `drop`; it is pinned (the handler links it into
/// its list).
pub struct Watcher<T: SmiWatcher> {
    raw: Pin<KBox<Opaque<bindings::ipmi_smi_watcher>>>,
    _t: PhantomData<T>,
}

// SAFETY: the handler serialises its use of the watcher with its own
// mutex; the box is only touched at registration and drop.
unsafe impl<T: SmiWatcher> Send for Watcher<T> {}
// SAFETY: `&Watcher` gives no access to anything.
unsafe impl<T: SmiWatcher> Sync for Watcher<T> {}

/// # Safety
///
/// Called by the message handler with an interface number and its device.
unsafe extern "C" fn new_smi<T: SmiWatcher>(if_num: i32, dev: *mut kernel::bindings::device) {
    if let Ok(n) = u32::try_from(if_num) {
        T::new_smi(n, dev);
    }
}

/// # Safety
///
/// Called by the message handler with an interface number.
unsafe extern "C" fn smi_gone<T: SmiWatcher>(if_num: i32) {
    if let Ok(n) = u32::try_from(if_num) {
        T::smi_gone(n);
    }
}

impl<T: SmiWatcher> Watcher<T> {
    /// Registers the watcher; `new_smi` runs for every interface already
    /// there before this returns.
    pub fn register() -> Result<Self> {
        let raw = KBox::pin_init(
            Opaque::new(bindings::ipmi_smi_watcher {
                link: kernel::bindings::list_head::default(),
                owner: this_module::<T::OwnerModule>().as_ptr(),
                new_smi: Some(new_smi::<T>),
                smi_gone: Some(smi_gone::<T>),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: the watcher is pinned and lives until `drop`
        // unregisters it.
        to_result(unsafe { bindings::ipmi_smi_watcher_register(raw.get()) })?;
        // INVARIANT: registered above.
        Ok(Watcher {
            raw,
            _t: PhantomData,
        })
    }
}

impl<T: SmiWatcher> Drop for Watcher<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `register`, unregistered only here.
        unsafe { bindings::ipmi_smi_watcher_unregister(self.raw.get()) };
    }
}
