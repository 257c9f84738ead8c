// SPDX-License-Identifier: GPL-2.0

//! Read-only sysfs attributes of one device, owned by a driver object.
//!
//! The 7.3 kernel crate has no sysfs attributes. Drivers whose device
//! data belongs to a bus abstraction (the PCI adapter keeps `drvdata`)
//! cannot reach their object from `dev_get_drvdata()`, so the attributes
//! here live inside the owner ([`AttrGroup`], pinned) and each `show`
//! finds its group from the attribute pointer it is given, and the owner
//! from the group. Being allocated, not static, each attribute gets a
//! lockdep class key as `sysfs_attr_init()` would give it.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr;
use kernel::bindings;
use kernel::error::to_result;
use kernel::ffi::c_char;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::Opaque;

/// Most attributes in one group.
pub const MAX_ATTRS: usize = 16;

/// What a group's owner shows.
pub trait Show: Sync + Sized {
    /// The attribute names, at most [`MAX_ATTRS`]; each is mode 0444.
    const NAMES: &'static [&'static CStr];

    /// Writes the value of attribute `index` (a line, newline included).
    fn show(&self, index: usize, out: &mut Page<'_>) -> core::fmt::Result;
}

/// The page a `show` writes into.
pub struct Page<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for Page<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[repr(C)]
struct Raw {
    attrs: [bindings::device_attribute; MAX_ATTRS],
    ptrs: [*mut bindings::attribute; MAX_ATTRS + 1],
    group: bindings::attribute_group,
    groups: [*const bindings::attribute_group; 2],
    owner: *const c_void,
    dev: *mut bindings::device,
}

/// The attribute group of one device, inside its owner `T`.
///
/// # Invariants
///
/// While `raw.dev` is non-null the group is added to that device and
/// `raw.owner` points to the pinned `T` that holds this group.
#[pin_data(PinnedDrop)]
pub struct AttrGroup<T: Show> {
    #[pin]
    raw: Opaque<Raw>,
    _owner: PhantomData<T>,
}

// SAFETY: the raw structures are written before the group is added and
// only read by sysfs afterwards; removal is serialised by the driver core.
unsafe impl<T: Show> Send for AttrGroup<T> {}
// SAFETY: as above.
unsafe impl<T: Show> Sync for AttrGroup<T> {}

/// `show` for attribute `I` of a group owned by `T`.
///
/// # Safety
///
/// Called by sysfs with an attribute of an added [`AttrGroup<T>`] at
/// index `I`, and a page-sized buffer.
unsafe extern "C" fn show<T: Show, const I: usize>(
    _dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: `attr` is `attrs[I]` of a `Raw` (caller), so `attr - I` is
    // `attrs[0]`, the first field of the `#[repr(C)]` `Raw`.
    let raw = unsafe { attr.sub(I) }.cast::<Raw>();
    // SAFETY: while added, `owner` points to the pinned `T` (invariant).
    let owner = unsafe { &*(*raw).owner.cast::<T>() };
    // SAFETY: sysfs passes a buffer of PAGE_SIZE bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), bindings::PAGE_SIZE) };
    let mut page = Page { buf, len: 0 };
    match owner.show(I, &mut page) {
        Ok(()) => page.len as isize,
        Err(_) => EINVAL.to_errno() as isize,
    }
}

/// `show` functions by index (`show::<T, 0>` ... ).
struct Shows<T: Show>(PhantomData<T>);

type ShowFn = unsafe extern "C" fn(
    *mut bindings::device,
    *mut bindings::device_attribute,
    *mut c_char,
) -> isize;

impl<T: Show> Shows<T> {
    const ALL: [ShowFn; MAX_ATTRS] = [
        show::<T, 0>,
        show::<T, 1>,
        show::<T, 2>,
        show::<T, 3>,
        show::<T, 4>,
        show::<T, 5>,
        show::<T, 6>,
        show::<T, 7>,
        show::<T, 8>,
        show::<T, 9>,
        show::<T, 10>,
        show::<T, 11>,
        show::<T, 12>,
        show::<T, 13>,
        show::<T, 14>,
        show::<T, 15>,
    ];
}

impl<T: Show> AttrGroup<T> {
    /// A group not yet added to a device.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(AttrGroup {
            // SAFETY: all-zero is a valid `Raw`: null pointers, no
            // callbacks, not added (`dev` null).
            raw: Opaque::new(unsafe { core::mem::zeroed::<Raw>() }),
            _owner: PhantomData,
        })
    }

    /// Adds the attributes to `dev`, showing `owner`'s values.
    ///
    /// # Safety
    ///
    /// `owner` must hold this group (so that it outlives it) and stay
    /// pinned; `dev` must be live until the group's drop, which removes the
    /// attributes.
    pub unsafe fn add(&self, owner: &T, dev: *mut bindings::device) -> Result {
        let names = T::NAMES;
        if names.len() > MAX_ATTRS {
            return Err(EINVAL);
        }
        let raw = self.raw.get();
        // SAFETY: not added yet, so nothing else reads `raw`; every write
        // stays within it.
        unsafe {
            if !(*raw).dev.is_null() {
                return Err(EBUSY);
            }
            for (i, name) in names.iter().enumerate() {
                let attr = &raw mut (*raw).attrs[i];
                (*attr).attr.name = name.as_char_ptr();
                (*attr).attr.mode = 0o444;
                #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
                {
                    (*attr).attr.key = kernel::static_lock_class!().as_ptr();
                }
                (*attr).__bindgen_anon_1.show = Some(Shows::<T>::ALL[i]);
                (*raw).ptrs[i] = &raw mut (*attr).attr;
            }
            (*raw).ptrs[names.len()] = ptr::null_mut();
            (*raw).group.__bindgen_anon_2.attrs = (&raw mut (*raw).ptrs).cast();
            (*raw).groups = [&raw const (*raw).group, ptr::null()];
            (*raw).owner = ptr::from_ref(owner).cast();
            to_result(bindings::device_add_groups(
                dev,
                (&raw const (*raw).groups).cast(),
            ))?;
            // INVARIANT: added to `dev`, owner set.
            (*raw).dev = dev;
        }
        Ok(())
    }
}

impl<T: Show> AttrGroup<T> {
    /// Removes the attributes now, before the owner goes (for an owner
    /// that outlives its device's registration); the drop then does
    /// nothing. Waits for running `show` calls.
    ///
    /// # Safety
    ///
    /// Not concurrently with [`AttrGroup::add`] or another `remove`.
    pub unsafe fn remove(&self) {
        let raw = self.raw.get();
        // SAFETY: our own structure; the caller rules out concurrent
        // writers.
        let dev = unsafe { core::mem::replace(&mut (*raw).dev, ptr::null_mut()) };
        if !dev.is_null() {
            // SAFETY: added to the live `dev` (invariant).
            unsafe { bindings::device_remove_groups(dev, (&raw const (*raw).groups).cast()) };
        }
    }
}

#[pinned_drop]
impl<T: Show> PinnedDrop for AttrGroup<T> {
    fn drop(self: Pin<&mut Self>) {
        let raw = self.raw.get();
        // SAFETY: reading the device pointer of our own structure.
        let dev = unsafe { (*raw).dev };
        if !dev.is_null() {
            // SAFETY: added to the live `dev` (invariant); removal waits
            // for running `show` calls.
            unsafe { bindings::device_remove_groups(dev, (&raw const (*raw).groups).cast()) };
        }
    }
}
