// SPDX-License-Identifier: GPL-2.0

//! upstream's parameters: interfaces given by hand (`type`, `ports`,
//! `addrs` and the per-interface layout arrays, made into
//! `hardcode-ipmi-si.N` devices at load), added and removed at run time
//! (`hotmod`, made into `hotmod-ipmi-si.N` devices), the discovery
//! switches, and the ones kept for compatibility only.
//!
//! The devices this module makes are its own: it removes them at unload.
//! The text of `type` and `hotmod` is read by the shared core
//! (`ipmi::si::params`), host-tested there.

use crate::ipmi::si::params::{self as text, Action, AddrSpace, Hotmod, HotmodError, SiKind};
use crate::kext::modparam::{
    module_param_array, module_param_c, module_param_call, module_param_string,
};
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use kernel::bindings;
use kernel::prelude::*;

module_param_string!(si_type as ["type"], 30, "Interface types for ports/addrs, comma-separated: kcs (the default), bt; smic is refused");
module_param_array!(addrs: [usize; 4], "ulong", param_ops_ulong, "Memory address of each hand-given interface (0: none)");
module_param_array!(ports: [u32; 4], "uint", param_ops_uint, "I/O port of each hand-given interface (0: none)");
module_param_array!(irqs: [i32; 4], "int", param_ops_int, "Interrupt of each hand-given interface (0: poll)");
module_param_array!(regspacings: [i32; 4], "int", param_ops_int, "Bytes from one register to the next, per hand-given interface (default: the register size)");
module_param_array!(regsizes: [i32; 4], "int", param_ops_int, "Register width in bytes (1, 2 or 4), per hand-given interface (default 1)");
module_param_array!(regshifts: [i32; 4], "int", param_ops_int, "Bit position of the data within a register, per hand-given interface");
module_param_array!(slave_addrs: [i32; 4], "int", param_ops_int, "IPMB address of the BMC, per hand-given interface (default 0x20)");
module_param_call!(hotmod, hotmod_write, 0o200, "Add or remove interfaces: add|remove,kcs|bt,i/o|mem,<address>[,rsp=,rsi=,rsh=,irq=,ipmb=], several separated by ':'");
module_param_c!(tryacpi: bool = true, "bool", param_ops_bool, "Bind interfaces ACPI describes (IPI0001)");
module_param_c!(trydmi: bool = true, "bool", param_ops_bool, "Bind interfaces the SMBIOS type 38 record describes");
module_param_c!(trypci: bool = true, "bool", param_ops_bool, "Bind PCI devices of the IPMI KCS and BT classes");
module_param_c!(tryplatform: bool = true, "bool", param_ops_bool, "Bind other platform descriptions (none on x86; accepted)");
module_param_c!(unload_when_empty: bool = true, "bool", param_ops_bool, "Accepted for compatibility: the module stays loaded with no interface");
module_param_array!(force_kipmid: [i32; 4], "int", param_ops_int, "Accepted for compatibility: there is no polling thread");
module_param_array!(kipmid_max_busy_us: [u32; 4], "uint", param_ops_uint, accepted 0o644, "Accepted for compatibility: there is no polling thread");
module_param_c!(kcs_debug: i32 = 0, "int", param_ops_int, 0o644, "Accepted for compatibility: no debug output");
module_param_c!(smic_debug: i32 = 0, "int", param_ops_int, 0o644, "Accepted for compatibility: SMIC is not supported");
module_param_c!(bt_debug: i32 = 0, "int", param_ops_int, 0o644, "Accepted for compatibility: no debug output");

/// `enum ipmi_addr_src` for each way an interface was given.
const SI_HOTMOD: u32 = crate::glue::bindings::ipmi_addr_src_SI_HOTMOD;
const SI_HARDCODED: u32 = crate::glue::bindings::ipmi_addr_src_SI_HARDCODED;

/// The codes the C side uses, which the core's must equal.
const _: () = {
    assert!(SiKind::Kcs.code() as u32 == crate::glue::bindings::si_type_SI_KCS);
    assert!(SiKind::Smic.code() as u32 == crate::glue::bindings::si_type_SI_SMIC);
    assert!(SiKind::Bt.code() as u32 == crate::glue::bindings::si_type_SI_BT);
};

/// upstream's `enum ipmi_addr_space` value of `space`.
pub(crate) const fn space_code(space: AddrSpace) -> u32 {
    match space {
        AddrSpace::Io => crate::glue::bindings::ipmi_addr_space_IPMI_IO_ADDR_SPACE,
        AddrSpace::Mem => crate::glue::bindings::ipmi_addr_space_IPMI_MEM_ADDR_SPACE,
    }
}

/// Devices this module made, at most this many at once.
const MAX_DEVICES: usize = 16;

/// The devices made from `ports`/`addrs` and `hotmod add`, removed at
/// unload. Slots change only under the kernel's parameter lock (hotmod)
/// or in init and exit, which never overlap with it.
static DEVICES: [AtomicPtr<bindings::platform_device>; MAX_DEVICES] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_DEVICES];

/// Instance numbers of `hotmod-ipmi-si.N`.
static HOTMOD_NR: AtomicU32 = AtomicU32::new(0);

/// What one made device describes.
struct Description {
    name: &'static kernel::str::CStr,
    instance: u32,
    kind: SiKind,
    space: AddrSpace,
    addr: u64,
    regspacing: u32,
    regsize: u32,
    regshift: u32,
    irq: u32,
    slave_addr: u32,
    addr_src: u32,
}

/// Makes the platform device for `d` through the built-in
/// `ipmi_platform_add()` (the same devices upstream makes) and keeps it.
fn add_device(d: &Description) -> Result {
    let Some(slot) = DEVICES
        .iter()
        .find(|slot| slot.load(Ordering::Acquire).is_null())
    else {
        pr_warn!(
            "too many interfaces given by hand (at most {})\n",
            MAX_DEVICES
        );
        return Err(ENOSPC);
    };
    let mut data = crate::glue::bindings::ipmi_plat_data {
        iftype: crate::glue::bindings::ipmi_plat_interface_type_IPMI_PLAT_IF_SI,
        type_: u32::from(d.kind.code()),
        space: space_code(d.space),
        addr: d.addr as usize,
        regspacing: d.regspacing,
        regsize: d.regsize,
        regshift: d.regshift,
        irq: d.irq,
        slave_addr: d.slave_addr,
        addr_source: d.addr_src,
    };
    // SAFETY: the name is a valid string; `data` is a filled-in
    // description the call only reads (and completes).
    let pdev = unsafe {
        crate::glue::bindings::ipmi_platform_add(d.name.as_char_ptr(), d.instance, &mut data)
    };
    if pdev.is_null() {
        return Err(ENOMEM);
    }
    slot.store(pdev.cast(), Ordering::Release);
    Ok(())
}

/// Removes the device at `slot`, which unbinds its interface.
fn remove_slot(slot: &AtomicPtr<bindings::platform_device>) {
    let pdev = slot.swap(core::ptr::null_mut(), Ordering::AcqRel);
    if !pdev.is_null() {
        // SAFETY: made by `ipmi_platform_add` and not yet unregistered
        // (taken out of its slot once).
        unsafe { bindings::platform_device_unregister(pdev) };
    }
}

/// Whether the made device `pdev` describes an interface at `addr` in
/// `space`.
fn describes(pdev: *mut bindings::platform_device, space: AddrSpace, addr: u64) -> bool {
    let kind = match space {
        AddrSpace::Io => bindings::IORESOURCE_IO,
        AddrSpace::Mem => bindings::IORESOURCE_MEM,
    };
    // SAFETY: a live device of ours (in a slot).
    let res = unsafe { bindings::platform_get_resource(pdev, kind, 0) };
    // SAFETY: null or the device's resource.
    unsafe { res.as_ref() }.is_some_and(|r| r.start == addr)
}

/// Makes the devices `ports`, `addrs` and `type` describe (at init).
pub(crate) fn add_hardcoded() {
    let types = si_type.as_str();
    for i in 0..text::MAX_PARMS {
        let given = [
            (ports.values().get(i).map(|&p| u64::from(p)), AddrSpace::Io),
            (addrs.values().get(i).map(|&a| a as u64), AddrSpace::Mem),
        ];
        for (addr, space) in given {
            let Some(addr) = addr.filter(|&a| a != 0) else {
                continue;
            };
            let kind = match text::type_of(types, i) {
                Ok(kind) => kind,
                Err(name) => {
                    pr_warn!("interface {}: invalid type '{}'\n", i, name);
                    continue;
                }
            };
            let at = |values: &[i32]| values.get(i).map_or(0, |&v| v.max(0) as u32);
            let d = Description {
                name: c"hardcode-ipmi-si",
                instance: i as u32,
                kind,
                space,
                addr,
                regspacing: at(regspacings.values()),
                regsize: at(regsizes.values()),
                regshift: at(regshifts.values()),
                irq: at(irqs.values()),
                slave_addr: at(slave_addrs.values()),
                addr_src: SI_HARDCODED,
            };
            let _ = add_device(&d);
        }
    }
}

/// Removes every device this module made (at exit).
pub(crate) fn remove_all() {
    DEVICES.iter().for_each(remove_slot);
}

/// One `hotmod` operation.
fn hotmod_one(op: &Hotmod) -> Result {
    match op.action {
        Action::Add => add_device(&Description {
            name: c"hotmod-ipmi-si",
            instance: HOTMOD_NR.fetch_add(1, Ordering::Relaxed) + 1,
            kind: op.kind,
            space: op.space,
            addr: op.addr,
            regspacing: op.regspacing,
            regsize: op.regsize,
            regshift: op.regshift,
            irq: op.irq,
            slave_addr: op.slave_addr,
            addr_src: SI_HOTMOD,
        }),
        Action::Remove => {
            // Interfaces this module made (hand-given or hot-added) go with
            // their device; others are left alone (upstream would stop
            // them but keep the device bound to nothing).
            let found = DEVICES.iter().find(|slot| {
                let pdev = slot.load(Ordering::Acquire);
                !pdev.is_null() && describes(pdev, op.space, op.addr)
            });
            match found {
                Some(slot) => {
                    remove_slot(slot);
                    Ok(())
                }
                None => {
                    pr_warn!("hotmod: no interface made by hand at {:#x}\n", op.addr);
                    Ok(())
                }
            }
        }
    }
}

/// A write to `hotmod`: every operation in turn, stopping at the first
/// that is wrong.
fn hotmod_write(value: &str) -> Result {
    for op in text::parse_hotmod(value) {
        let op = op.map_err(|e| {
            match e {
                HotmodError::Missing(what) => pr_warn!("hotmod: no {} given\n", what),
                HotmodError::Invalid(what, word) => {
                    pr_warn!("hotmod: invalid {} '{}'\n", what, word)
                }
                HotmodError::BadNumber(n) => pr_warn!("hotmod: bad number '{}'\n", n),
                HotmodError::BadOption(o) => pr_warn!("hotmod: invalid option '{}'\n", o),
            }
            EINVAL
        })?;
        hotmod_one(&op)?;
    }
    Ok(())
}
