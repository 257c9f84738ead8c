// SPDX-License-Identifier: GPL-2.0

//! The BMC device, as upstream makes it: a platform device `ipmi_bmc.N`
//! bound to the driver `ipmi`, with the BMC's identity in attributes
//! (`device_id`, `revision`, `firmware_revision`, `ipmi_version`, ...;
//! `aux_firmware_revision` and `guid` only when the BMC gave them), a
//! `bmc` link from each interface's device to it and an `ipmiN` link back.
//! Interfaces to the same BMC share one device, as upstream's do: the same
//! GUID, or, when an interface's BMC gives none, the same product and
//! device ID.
//!
//! The identity is read again from the BMC (Get Device ID and Get Device
//! GUID, through the BMC's first interface) when an attribute is read 10 s
//! or more after the last time, as upstream does, so that a firmware
//! update shows without reloading the driver. As upstream, a changed
//! identity has the interface's channels scanned again, and when the GUID
//! appeared or changed, or the manufacturer, product or device ID did,
//! the interface is another BMC's now: it moves to that BMC's device (a
//! new one, or one another interface already has) and its old device
//! goes if no interface is left on it. That is done by the interface's
//! identity work, not in the attribute read that found it, which could
//! be a read of the very device that goes. Unlike upstream, a read never
//! waits without bound (the questions are bounded as at registration) and
//! never fails because the BMC is resetting or does not answer (the last
//! identity is shown). The identity and the time it was read are kept
//! under the BMC list's lock; which attributes are visible is settled
//! when the device is made.

use crate::intf::{now_ms, Intf, NewIdentity};
use crate::ipmi::device_id::{DeviceId, IdentityChange};
use core::fmt::Write;
use core::ptr::null_mut;
use core::sync::atomic::Ordering;
use kernel::bindings;
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;
use kernel::str::{CStr, CString};
use kernel::sync::Arc;
use kernel::types::Opaque;

/// The attribute names, in upstream's order.
const NAMES: [&CStr; 10] = [
    c"device_id",
    c"provides_device_sdrs",
    c"revision",
    c"firmware_revision",
    c"ipmi_version",
    c"additional_device_support",
    c"manufacturer_id",
    c"product_id",
    c"aux_firmware_revision",
    c"guid",
];
const AUX: usize = 8;
const GUID: usize = 9;

/// The structures the driver core reads: the attributes, their group, the
/// device type that carries the group, the `ipmi` driver (a whole
/// `platform_driver`, not just its `device_driver`: the platform bus reads
/// the rest, its id table, when it matches devices against it).
#[repr(C)]
struct Statics {
    attrs: [bindings::device_attribute; NAMES.len()],
    ptrs: [*mut bindings::attribute; NAMES.len() + 1],
    group: bindings::attribute_group,
    groups: [*const bindings::attribute_group; 2],
    dtype: bindings::device_type,
    driver: bindings::platform_driver,
}

struct StaticsCell(Opaque<Statics>);
// SAFETY: written once by `init()` before anything reads it, then only
// read (by the driver core).
unsafe impl Sync for StaticsCell {}

static STATICS: StaticsCell = StaticsCell(Opaque::zeroed());

/// How long an identity read from the BMC is shown before it is read
/// again (upstream's `IPMI_DYN_DEV_ID_EXPIRY`).
const IDENTITY_MAX_AGE_MS: u64 = 10_000;

/// One BMC's device.
pub(crate) struct Bmc {
    pdev: *mut bindings::platform_device,
    id: DeviceId,
    guid: Option<[u8; 16]>,
    /// When `id` was last read (or last asked for), in `now_ms()` time.
    read_at_ms: u64,
    /// Whether `aux_firmware_revision` and `guid` are visible (settled at
    /// registration: sysfs asks while the device is added, under the
    /// list's lock).
    shows_aux: bool,
    shows_guid: bool,
    /// The interfaces on it: number and device.
    intfs: KVec<(i32, *mut bindings::device)>,
}

// SAFETY: the pointers are a registered platform device and interface
// devices, used under the BMC list's lock.
unsafe impl Send for Bmc {}

kernel::sync::global_lock! {
    // SAFETY: initialised by `init()` before use.
    unsafe(uninit) static BMCS: Mutex<KVec<KBox<Bmc>>> = KVec::new();
}

/// The UUID as `%pUl` prints it.
fn write_guid(out: &mut impl Write, g: &[u8; 16]) -> core::fmt::Result {
    let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    for (n, i) in order.iter().enumerate() {
        if matches!(n, 4 | 6 | 8 | 10) {
            out.write_char('-')?;
        }
        write!(out, "{:02x}", g[*i])?;
    }
    Ok(())
}

/// Writes attribute `index` of identity `id` and `guid` as upstream does.
fn show_value(
    id: &DeviceId,
    guid: Option<&[u8; 16]>,
    index: usize,
    out: &mut impl Write,
) -> core::fmt::Result {
    match index {
        0 => writeln!(out, "{}", id.device_id),
        1 => writeln!(out, "{}", (id.device_revision & 0x80) >> 7),
        2 => writeln!(out, "{}", id.device_revision & 0x0f),
        3 => writeln!(
            out,
            "{}.{:x}",
            id.firmware_revision_1, id.firmware_revision_2
        ),
        4 => {
            let (major, minor) = id.ipmi_version();
            writeln!(out, "{major}.{minor}")
        }
        5 => writeln!(out, "0x{:02x}", id.additional_device_support),
        6 => writeln!(out, "0x{:06x}", id.manufacturer_id),
        7 => writeln!(out, "0x{:04x}", id.product_id),
        AUX => {
            let a = id.aux_firmware_revision.unwrap_or([0; 4]);
            writeln!(
                out,
                "0x{:02x} 0x{:02x} 0x{:02x} 0x{:02x}",
                a[3], a[2], a[1], a[0]
            )
        }
        _ => match guid {
            Some(g) => {
                write_guid(out, g)?;
                out.write_char('\n')
            }
            None => Err(core::fmt::Error),
        },
    }
}

/// A page `show` writes into.
struct Page {
    buf: *mut u8,
    len: usize,
}

impl Write for Page {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        // A page of 4096 bytes; our lines are far shorter.
        if self.len + s.len() >= 4096 {
            return Err(core::fmt::Error);
        }
        // SAFETY: within the page sysfs gave (checked above).
        unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), self.buf.add(self.len), s.len()) };
        self.len += s.len();
        Ok(())
    }
}

/// `show` of every attribute: which one, from its place in the array.
///
/// # Safety
///
/// Called by sysfs for an attribute of a BMC device, with a page.
unsafe extern "C" fn show(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    let first = STATICS.0.get().cast::<bindings::device_attribute>();
    // SAFETY: `attr` is one of `STATICS.attrs`, which starts the structure.
    let index = unsafe { attr.offset_from(first) } as usize;
    // A BMC device's driver data is its `Bmc`, alive until the device is
    // unregistered, which waits for this call to end; its fields are read
    // and written under the list's lock only.
    // SAFETY: `dev` is the device sysfs calls for.
    let bmc = unsafe { bindings::dev_get_drvdata(dev) }.cast::<Bmc>();
    // SAFETY: inside an attribute call of a registered BMC device.
    unsafe { refresh(bmc) };
    let (id, guid) = {
        let _list = BMCS.lock();
        // SAFETY: as above, under the lock.
        unsafe { ((*bmc).id, (*bmc).guid) }
    };
    let mut page = Page {
        buf: buf.cast(),
        len: 0,
    };
    match show_value(&id, guid.as_ref(), index, &mut page) {
        Ok(()) => page.len as isize,
        Err(_) => ENOENT.to_errno() as isize,
    }
}

/// Hides `aux_firmware_revision` and `guid` when the BMC gave none.
///
/// # Safety
///
/// Called by sysfs for a BMC device's kobject.
unsafe extern "C" fn is_visible(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::attribute,
    index: c_int,
) -> u16 {
    // SAFETY: the kobject is the one of a BMC device.
    let dev = unsafe { kernel::container_of!(kobj, bindings::device, kobj) };
    // SAFETY: as in `show`; `shows_aux` and `shows_guid` are set before
    // the device is added and never change.
    let bmc = unsafe { &*bindings::dev_get_drvdata(dev).cast::<Bmc>() };
    let shown = match index as usize {
        AUX => bmc.shows_aux,
        GUID => bmc.shows_guid,
        _ => true,
    };
    if shown {
        // SAFETY: the attribute sysfs asks about.
        unsafe { (*attr).mode }
    } else {
        0
    }
}

/// Reads the identity of `bmc` again if it is older than
/// [`IDENTITY_MAX_AGE_MS`]; one reader asks, the others meanwhile show
/// what there is.
///
/// # Safety
///
/// `bmc` is the driver data of a registered BMC device, inside one of its
/// attribute calls.
unsafe fn refresh(bmc: *mut Bmc) {
    let now = now_ms();
    let num = {
        let _list = BMCS.lock();
        // SAFETY: alive (caller), under the lock.
        let b = unsafe { &mut *bmc };
        if now.saturating_sub(b.read_at_ms) < IDENTITY_MAX_AGE_MS {
            return;
        }
        b.read_at_ms = now;
        match b.intfs.first() {
            Some((num, _)) => *num,
            None => return,
        }
    };
    let Some(intf) = crate::find_intf(num) else {
        return;
    };
    let Some((id, guid)) = intf.refresh_identity() else {
        return;
    };
    let change = {
        let _list = BMCS.lock();
        // SAFETY: as above.
        let b = unsafe { &mut *bmc };
        let change = IdentityChange::of(&b.id, b.guid.as_ref(), &id, guid.as_ref());
        // Another BMC's identity goes to that BMC's device, not this one.
        if change != IdentityChange::Moved {
            b.id = id;
            if b.shows_guid && guid.is_some() {
                b.guid = guid;
            }
        }
        change
    };
    if change != IdentityChange::Same {
        intf.identity_changed(NewIdentity {
            id,
            guid,
            moved: change == IdentityChange::Moved,
        });
    }
}

/// The identity work of `intf` (see the module's text): moves the
/// interface to its new BMC's device if it has another BMC now, then
/// scans its channels again.
pub(crate) fn follow_identity(intf: &Arc<Intf>) {
    let Some(new) = intf.take_new_identity() else {
        return;
    };
    // Unregistering the interface sets -1 before it cancels this work
    // (waiting for it if it runs): anything done here for a number read
    // before that is undone by its own `unregister()` after.
    let num = intf.num.load(Ordering::Acquire);
    if num < 0 {
        return;
    }
    if new.moved {
        pr_warn!(
            "interface {num}: its BMC is another now (man_id: 0x{:06x}, prod_id: 0x{:04x}, dev_id: 0x{:02x}); moving it to that BMC's device\n",
            new.id.manufacturer_id,
            new.id.product_id,
            new.id.device_id
        );
        unregister(num);
        if let Err(e) = register(num, intf.si_dev, &new.id, new.guid) {
            pr_err!(
                "interface {num}: not put on its new BMC's device ({:?})\n",
                e
            );
        }
    }
    if let Err(e) = intf.scan_channels() {
        pr_warn!(
            "interface {num}: its channels could not be scanned again ({:?})\n",
            e
        );
    }
}

/// Sets up the attributes and registers the `ipmi` driver (module init).
pub(crate) fn init() -> Result {
    // SAFETY: once, before any reader (module init), on our own statics.
    unsafe {
        BMCS.init();
        let s = STATICS.0.get();
        for (i, name) in NAMES.iter().enumerate() {
            let a = &raw mut (*s).attrs[i];
            (*a).attr.name = name.as_char_ptr();
            (*a).attr.mode = 0o444;
            (*a).__bindgen_anon_1.show = Some(show);
            (*s).ptrs[i] = &raw mut (*a).attr;
        }
        (*s).ptrs[NAMES.len()] = null_mut();
        (*s).group.__bindgen_anon_1.is_visible = Some(is_visible);
        (*s).group.__bindgen_anon_2.attrs = (&raw mut (*s).ptrs).cast();
        (*s).groups = [&raw const (*s).group, core::ptr::null()];
        (*s).dtype.groups = (&raw mut (*s).groups).cast();
        (*s).driver.driver.name = c"ipmi".as_char_ptr();
        (*s).driver.driver.bus = &raw const bindings::platform_bus_type;
        kernel::error::to_result(bindings::driver_register(&raw mut (*s).driver.driver))
    }
}

/// Unregisters the `ipmi` driver (module exit; no BMC device is left).
pub(crate) fn exit() {
    // The list's memory (empty now; statics are never dropped).
    drop(core::mem::take(&mut *BMCS.lock()));
    // SAFETY: registered by `init()`.
    unsafe { bindings::driver_unregister(&raw mut (*STATICS.0.get()).driver.driver) };
}

fn name_of(dev: *mut bindings::device) -> &'static CStr {
    // SAFETY: a registered device's kobject name is a C string that lives
    // as long as the device; only used while it does.
    unsafe {
        let name = (*dev).kobj.name;
        if name.is_null() {
            c"?"
        } else {
            CStr::from_char_ptr(name)
        }
    }
}

/// Puts interface `num` (device `si_dev`) on its BMC's device, making the
/// device for a BMC not seen yet.
pub(crate) fn register(
    num: i32,
    si_dev: *mut bindings::device,
    id: &DeviceId,
    guid: Option<[u8; 16]>,
) -> Result {
    let mut bmcs = BMCS.lock();
    // As upstream: by GUID when this interface's BMC gave one, else by
    // product and device id (whatever GUID the known BMC has).
    let same = |b: &KBox<Bmc>| match &guid {
        Some(g) => b.guid.as_ref() == Some(g),
        None => b.id.product_id == id.product_id && b.id.device_id == id.device_id,
    };
    let index = match bmcs.iter().position(same) {
        Some(i) => {
            let b = &bmcs[i];
            pr_info!(
                "{}: interfacing existing BMC (man_id: 0x{:06x}, prod_id: 0x{:04x}, dev_id: 0x{:02x})\n",
                name_of(si_dev).to_str().unwrap_or("?"),
                b.id.manufacturer_id,
                b.id.product_id,
                b.id.device_id
            );
            i
        }
        None => {
            // Room for it first: once its device is added, sysfs may call
            // in, and it must not go again for want of memory.
            bmcs.reserve(1, GFP_KERNEL)?;
            // The lowest number no BMC device has.
            let mut n = 0;
            // SAFETY: registered devices of ours.
            while bmcs.iter().any(|b| unsafe { (*b.pdev).id } == n) {
                n += 1;
            }
            let mut bmc = KBox::new(
                Bmc {
                    pdev: null_mut(),
                    id: *id,
                    guid,
                    read_at_ms: now_ms(),
                    shows_aux: id.aux_firmware_revision.is_some(),
                    shows_guid: guid.is_some(),
                    intfs: KVec::new(),
                },
                GFP_KERNEL,
            )?;
            // SAFETY: allocating a platform device by name.
            let pdev = unsafe { bindings::platform_device_alloc(c"ipmi_bmc".as_char_ptr(), n) };
            if pdev.is_null() {
                return Err(ENOMEM);
            }
            let s = STATICS.0.get();
            // SAFETY: a fresh device of ours, not added yet; the type and
            // the driver are our statics, alive while the module is.
            let rv = unsafe {
                (*pdev).dev.type_ = &raw const (*s).dtype;
                (*pdev).dev.driver = &raw mut (*s).driver.driver;
                bindings::dev_set_drvdata(&raw mut (*pdev).dev, (&raw mut *bmc).cast());
                bindings::platform_device_add(pdev)
            };
            if rv != 0 {
                // SAFETY: never added; drops the allocation.
                unsafe { bindings::platform_device_put(pdev) };
                return Err(Error::from_errno(rv));
            }
            bmc.pdev = pdev;
            pr_info!(
                "{}: Found new BMC (man_id: 0x{:06x}, prod_id: 0x{:04x}, dev_id: 0x{:02x})\n",
                name_of(si_dev).to_str().unwrap_or("?"),
                id.manufacturer_id,
                id.product_id,
                id.device_id
            );
            // Within the room reserved above: cannot fail.
            bmcs.push_within_capacity(bmc).map_err(|_| ENOMEM)?;
            bmcs.len() - 1
        }
    };
    let bmc = &mut bmcs[index];
    // SAFETY: two live devices; the links go in `unregister()`.
    let linked = unsafe {
        let bmc_kobj = &raw mut (*bmc.pdev).dev.kobj;
        let rv =
            bindings::sysfs_create_link(&raw mut (*si_dev).kobj, bmc_kobj, c"bmc".as_char_ptr());
        if rv == 0 {
            let back = CString::try_from_fmt(fmt!("ipmi{num}"))?;
            let rv2 =
                bindings::sysfs_create_link(bmc_kobj, &raw mut (*si_dev).kobj, back.as_char_ptr());
            if rv2 != 0 {
                bindings::sysfs_remove_link(&raw mut (*si_dev).kobj, c"bmc".as_char_ptr());
            }
            rv2
        } else {
            rv
        }
    };
    if linked == 0 {
        bmc.intfs.push((num, si_dev), GFP_KERNEL)?;
        return Ok(());
    }
    let unused = take_if_unused(&mut bmcs, index);
    drop(bmcs);
    unregister_device(unused);
    Err(Error::from_errno(linked))
}

/// Takes the BMC at `index` off the list if no interface is left on it.
fn take_if_unused(bmcs: &mut KVec<KBox<Bmc>>, index: usize) -> Option<KBox<Bmc>> {
    if bmcs.get(index).is_some_and(|b| b.intfs.is_empty()) {
        bmcs.remove(index).ok()
    } else {
        None
    }
}

/// Unregisters a BMC's device taken off the list, outside the list's lock:
/// unregistering waits for its attribute readers, which take that lock.
fn unregister_device(bmc: Option<KBox<Bmc>>) {
    if let Some(b) = bmc {
        // SAFETY: our registered device; once unregistered no attribute
        // call is left, after which `b` may go.
        unsafe { bindings::platform_device_unregister(b.pdev) };
        drop(b);
    }
}

/// Takes interface `num` off its BMC's device; the device goes with the
/// last interface.
pub(crate) fn unregister(num: i32) {
    let mut bmcs = BMCS.lock();
    let Some(index) = bmcs
        .iter()
        .position(|b| b.intfs.iter().any(|(n, _)| *n == num))
    else {
        return;
    };
    let bmc = &mut bmcs[index];
    if let Some(i) = bmc.intfs.iter().position(|(n, _)| *n == num) {
        if let Ok((_, si_dev)) = bmc.intfs.remove(i) {
            // SAFETY: the links `register()` made, on live devices.
            unsafe {
                bindings::sysfs_remove_link(&raw mut (*si_dev).kobj, c"bmc".as_char_ptr());
                if let Ok(back) = CString::try_from_fmt(fmt!("ipmi{num}")) {
                    bindings::sysfs_remove_link(&raw mut (*bmc.pdev).dev.kobj, back.as_char_ptr());
                }
            }
        }
    }
    let unused = take_if_unused(&mut bmcs, index);
    drop(bmcs);
    unregister_device(unused);
}
