// SPDX-License-Identifier: GPL-2.0

//! A platform driver that binds by device name (`struct platform_device_id`
//! table), which the 7.3 kernel crate's `platform::Driver` lacks: it takes
//! OF and ACPI tables only. Firmware decoders and module parameters make
//! platform devices with fixed names (`dmi-ipmi-si.0`,
//! `hardcode-ipmi-si.0`, ...) for the driver to find by name.
//!
//! The device is seen through [`PlatformDevice`], a borrowed view with the
//! few accessors such drivers need: resources, the optional IRQ, `u8`
//! firmware properties.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::pin::Pin;
use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::Opaque;

/// An entry of a by-name table; `name` must be shorter than 24 bytes (a
/// longer one fails the build where the table is a constant).
pub const fn device_id(name: &str, data: usize) -> bindings::platform_device_id {
    let bytes = name.as_bytes();
    let mut id = bindings::platform_device_id {
        name: [0; 24],
        driver_data: data,
    };
    assert!(bytes.len() < 24, "platform device name too long");
    let mut i = 0;
    while i < bytes.len() {
        id.name[i] = bytes[i];
        i += 1;
    }
    id
}

/// The all-zero entry that ends a table.
pub const END: bindings::platform_device_id = bindings::platform_device_id {
    name: [0; 24],
    driver_data: 0,
};

/// An entry of an ACPI table (a `_HID`); `hid` shorter than 16 bytes.
pub const fn acpi_id(hid: &str, data: usize) -> bindings::acpi_device_id {
    let bytes = hid.as_bytes();
    let mut id = bindings::acpi_device_id {
        id: [0; 16],
        driver_data: data,
        cls: 0,
        cls_msk: 0,
    };
    assert!(bytes.len() < 16, "ACPI id too long");
    let mut i = 0;
    while i < bytes.len() {
        id.id[i] = bytes[i];
        i += 1;
    }
    id
}

/// The all-zero entry that ends an ACPI table.
pub const ACPI_END: bindings::acpi_device_id = bindings::acpi_device_id {
    id: [0; 16],
    driver_data: 0,
    cls: 0,
    cls_msk: 0,
};

/// Whether the ACPI namespace has a present device with this `_HID`.
pub fn acpi_present(hid: &CStr) -> bool {
    // SAFETY: `hid` is a valid string; no uid, any revision.
    unsafe { bindings::acpi_dev_present(hid.as_char_ptr(), core::ptr::null(), -1) }
}

/// Resource type: I/O ports.
pub const IORESOURCE_IO: u32 = bindings::IORESOURCE_IO;
/// Resource type: memory.
pub const IORESOURCE_MEM: u32 = bindings::IORESOURCE_MEM;

/// The ACPI handle of `dev`'s firmware node (C's `ACPI_HANDLE(dev)`),
/// if that node is an ACPI device.
///
/// # Safety
///
/// `dev` must point to a live device.
pub unsafe fn acpi_handle(dev: *const bindings::device) -> Option<core::ptr::NonNull<c_void>> {
    // SAFETY: live device (the caller's promise); its fwnode is null or
    // valid.
    let fwnode = unsafe { (*dev).fwnode };
    // SAFETY: as above.
    if !unsafe { bindings::is_acpi_device_node(fwnode) } {
        return None;
    }
    // SAFETY: an ACPI device node is the `fwnode` of a `struct
    // acpi_device` (checked above), live while the device is.
    let handle = unsafe { (*kernel::container_of!(fwnode, bindings::acpi_device, fwnode)).handle };
    core::ptr::NonNull::new(handle)
}

/// A platform device during probe or while bound.
///
/// # Invariants
///
/// `ptr` is a live `struct platform_device`, bound to (or being probed
/// by) this driver for the lifetime `'a`.
#[derive(Clone, Copy)]
pub struct PlatformDevice<'a> {
    ptr: *mut bindings::platform_device,
    _life: PhantomData<&'a ()>,
}

impl<'a> PlatformDevice<'a> {
    /// The generic device.
    pub fn device(&self) -> &'a kernel::device::Device {
        // SAFETY: the embedded device is live for `'a` (type invariant).
        unsafe { kernel::device::Device::from_raw(&raw mut (*self.ptr).dev) }
    }

    /// The raw `struct device`, for C APIs that take the parent device.
    pub fn as_raw_device(&self) -> *mut bindings::device {
        // SAFETY: live (type invariant); only the address is taken.
        unsafe { &raw mut (*self.ptr).dev }
    }

    /// The `driver_data` of the table entry that matched, if one did.
    pub fn id_data(&self) -> Option<usize> {
        // SAFETY: live (type invariant); `id_entry` is null or points into
        // the driver's static table.
        let entry = unsafe { (*self.ptr).id_entry };
        // SAFETY: as above.
        unsafe { entry.as_ref() }.map(|e| e.driver_data)
    }

    /// Start and size of resource `index` of type `kind`.
    pub fn resource(&self, kind: u32, index: u32) -> Option<(u64, u64)> {
        // SAFETY: live device (type invariant).
        let res = unsafe { bindings::platform_get_resource(self.ptr, kind, index) };
        // SAFETY: null or one of the device's resources, live as it is.
        let res = unsafe { res.as_ref() }?;
        Some((res.start, res.end.wrapping_sub(res.start).wrapping_add(1)))
    }

    /// The device's first IRQ, if it has one.
    pub fn irq(&self) -> Option<u32> {
        // SAFETY: live device (type invariant).
        let irq = unsafe { bindings::platform_get_irq_optional(self.ptr, 0) };
        u32::try_from(irq).ok().filter(|&irq| irq > 0)
    }

    /// Whether the device was made from an ACPI namespace node.
    pub fn is_acpi(&self) -> bool {
        // SAFETY: live device (type invariant); the fwnode is null or valid.
        unsafe { bindings::is_acpi_device_node((*self.ptr).dev.fwnode) }
    }

    /// Evaluates the ACPI method `name` (`_IFT`, ...) of the device's
    /// node to an integer; `None` without ACPI or when it fails.
    pub fn acpi_integer(&self, name: &CStr) -> Option<u64> {
        // SAFETY: live device (type invariant).
        let handle = unsafe { acpi_handle(&raw const (*self.ptr).dev) }?;
        let mut value: u64 = 0;
        // SAFETY: valid handle; the method name is only read; `value` is
        // writable.
        let status = unsafe {
            bindings::acpi_evaluate_integer(
                handle.as_ptr(),
                name.as_char_ptr().cast_mut(),
                core::ptr::null_mut(),
                &mut value,
            )
        };
        (status == 0).then_some(value)
    }

    /// A `u8` firmware property (software node, ACPI `_DSD` or OF).
    pub fn property_u8(&self, name: &CStr) -> Option<u8> {
        let mut value = 0u8;
        // SAFETY: live device; `value` is a writable byte.
        let rc = unsafe {
            bindings::device_property_read_u8_array(
                self.as_raw_device(),
                name.as_char_ptr(),
                &mut value,
                1,
            )
        };
        (rc == 0).then_some(value)
    }
}

/// A driver that binds platform devices by name.
pub trait Driver: 'static {
    /// What the driver keeps per bound device; dropped on unbind.
    type Data: Send + Sync;
    /// The driver's name (`/sys/bus/platform/drivers/<NAME>`).
    const NAME: &'static CStr;
    /// The names it binds, ending with [`END`].
    const IDS: &'static [bindings::platform_device_id];
    /// The ACPI `_HID`s it binds, ending with [`ACPI_END`]; none when
    /// empty.
    const ACPI_IDS: &'static [bindings::acpi_device_id] = &[];

    /// Binds `pdev`.
    fn probe(pdev: PlatformDevice<'_>) -> Result<Pin<KBox<Self::Data>>>;
}

/// A registered driver; dropping it unbinds every device and unregisters.
#[pin_data(PinnedDrop)]
pub struct Registration<T: Driver> {
    #[pin]
    drv: Opaque<bindings::platform_driver>,
    _driver: PhantomData<T>,
}

// SAFETY: the driver core serialises use of the registered structure.
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: as above; `&self` gives no access to it.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers the driver for `module`.
    pub fn new(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            drv <- Opaque::try_ffi_init(move |drv: *mut bindings::platform_driver| {
                // SAFETY: `drv` is valid, pinned memory for the structure;
                // it is zeroed first, then filled in; the tables and name
                // are static.
                unsafe {
                    drv.write(bindings::platform_driver::default());
                    (*drv).probe = Some(Self::probe_callback);
                    (*drv).remove = Some(Self::remove_callback);
                    (*drv).driver.name = T::NAME.as_char_ptr();
                    (*drv).id_table = T::IDS.as_ptr();
                    if !T::ACPI_IDS.is_empty() {
                        (*drv).driver.acpi_match_table = T::ACPI_IDS.as_ptr();
                    }
                    to_result(bindings::__platform_driver_register(
                        drv,
                        module.as_ptr(),
                        T::NAME.as_char_ptr(),
                    ))
                }
            }),
            _driver: PhantomData,
        })
    }

    /// # Safety
    ///
    /// Called by the driver core with a device being probed.
    unsafe extern "C" fn probe_callback(pdev: *mut bindings::platform_device) -> i32 {
        // INVARIANT: the driver core passes a live device being probed.
        let dev = PlatformDevice {
            ptr: pdev,
            _life: PhantomData,
        };
        match T::probe(dev) {
            Ok(data) => {
                // SAFETY: `Pin<KBox>` is turned into a raw pointer and
                // restored only in `remove_callback`, never moved.
                let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) });
                // SAFETY: live device; the driver owns `driver_data` while
                // bound.
                unsafe { (*pdev).dev.driver_data = raw.cast::<c_void>() };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the driver core with a device this driver bound.
    unsafe extern "C" fn remove_callback(pdev: *mut bindings::platform_device) {
        // SAFETY: live device, bound by `probe_callback`.
        let raw = unsafe { (*pdev).dev.driver_data }.cast::<T::Data>();
        if !raw.is_null() {
            // SAFETY: made by `KBox::into_raw` in `probe_callback`; taken
            // back once.
            drop(unsafe { KBox::from_raw(raw) });
            // SAFETY: live device.
            unsafe { (*pdev).dev.driver_data = core::ptr::null_mut() };
        }
    }
}

#[pinned_drop]
impl<T: Driver> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered by `new` (initialisation succeeded).
        unsafe { bindings::platform_driver_unregister(self.drv.get()) };
    }
}
