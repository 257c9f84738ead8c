// SPDX-License-Identifier: GPL-2.0

//! ipmi_rs_core: the shared Rust core, compiled into a module, behind the
//! pure helper functions that upstream's ipmi_msghandler exports
//! (`ipmb_checksum`, `ipmi_validate_addr`, `ipmi_addr_length`,
//! `ipmi_addr_src_to_str`).
//!
//! The functions are `extern "C"` with upstream's signatures and are
//! exported by the C file beside this one, because modpost only sees
//! exports made in C. They will move into the Rust ipmi_msghandler when it
//! lands; until then this module stands in for those symbols, so it cannot
//! be loaded together with the C ipmi_msghandler (the symbols would clash).

use kernel::ffi::{c_char, c_int, c_uint};
use kernel::prelude::*;

#[path = "../../../rust/ipmi/src/lib.rs"]
pub mod ipmi;

#[path = "../../../rust/bindings/bindings.rs"]
pub mod bindings;

use core::mem::size_of;
use ipmi::addr::{addr_length, AddrType, Address, MAX_ADDR_LEN};
use ipmi::smi::AddrSource;

// The core reads addresses as raw bytes; these tie its layout to the
// kernel's headers, so a change there fails the build instead of
// misreading user memory.
const _: () = {
    assert!(size_of::<bindings::ipmi_addr>() == MAX_ADDR_LEN);
    assert!(
        size_of::<bindings::ipmi_system_interface_addr>() == AddrType::SystemInterface.addr_len()
    );
    assert!(size_of::<bindings::ipmi_ipmb_addr>() == AddrType::Ipmb.addr_len());
    assert!(size_of::<bindings::ipmi_ipmb_direct_addr>() == AddrType::IpmbDirect.addr_len());
    assert!(size_of::<bindings::ipmi_lan_addr>() == AddrType::Lan.addr_len());
    assert!(bindings::IPMI_MAX_ADDR_SIZE as usize + 8 == MAX_ADDR_LEN);
    assert!(bindings::IPMI_SYSTEM_INTERFACE_ADDR_TYPE as i32 == AddrType::SystemInterface as i32);
    assert!(bindings::IPMI_IPMB_ADDR_TYPE as i32 == AddrType::Ipmb as i32);
    assert!(bindings::IPMI_IPMB_BROADCAST_ADDR_TYPE as i32 == AddrType::IpmbBroadcast as i32);
    assert!(bindings::IPMI_IPMB_DIRECT_ADDR_TYPE as i32 == AddrType::IpmbDirect as i32);
    assert!(bindings::IPMI_LAN_ADDR_TYPE as i32 == AddrType::Lan as i32);
    assert!(bindings::IPMI_MAX_MSG_LENGTH as usize == ipmi::msg::MAX_MSG_LENGTH);
};

module! {
    type: IpmiRsCore,
    name: "ipmi_rs_core",
    authors: ["The ipmi-rs developers"],
    description: "IPMI core helpers (Rust): checksum and address validation",
    license: "GPL",
}

struct IpmiRsCore;

impl kernel::Module for IpmiRsCore {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("IPMI core helpers (Rust) loaded\n");
        Ok(IpmiRsCore)
    }
}

/// `ipmb_checksum()`: the IPMB checksum of `size` bytes at `data` (0 for a
/// size of 0 or less).
///
/// # Safety
///
/// When `size` is positive, `data` must be valid for reads of `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn ipmb_checksum(data: *mut u8, size: c_int) -> u8 {
    let Ok(len) = usize::try_from(size) else {
        return 0;
    };
    if len == 0 || data.is_null() {
        return 0;
    }
    // SAFETY: the caller guarantees `data` is readable for `size` bytes.
    let bytes = unsafe { core::slice::from_raw_parts(data, len) };
    ipmi::ipmb::checksum(bytes)
}

/// `ipmi_validate_addr()`: 0 if the first `len` bytes at `addr` are a valid
/// address, `-EINVAL` otherwise.
///
/// Unlike upstream, a negative `len` is refused instead of being compared
/// as a huge unsigned value.
///
/// # Safety
///
/// `addr` must point to a readable `struct ipmi_addr`.
#[no_mangle]
pub unsafe extern "C" fn ipmi_validate_addr(addr: *mut bindings::ipmi_addr, len: c_int) -> c_int {
    let Ok(len) = usize::try_from(len) else {
        return EINVAL.to_errno();
    };
    if addr.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: the caller guarantees `addr` points to a `struct ipmi_addr`,
    // which is `MAX_ADDR_LEN` bytes of plain data.
    let raw = unsafe { core::slice::from_raw_parts(addr.cast::<u8>(), MAX_ADDR_LEN) };
    match Address::parse(raw.get(..len).unwrap_or(raw)) {
        Ok(_) => 0,
        Err(_) => EINVAL.to_errno(),
    }
}

/// `ipmi_addr_length()`: the size of the address structure for
/// `addr_type`, 0 for an unknown type.
#[no_mangle]
pub extern "C" fn ipmi_addr_length(addr_type: c_int) -> c_uint {
    // The largest structure is 40 bytes, so the conversion cannot fail.
    c_uint::try_from(addr_length(addr_type)).unwrap_or(0)
}

/// `ipmi_addr_src_to_str()`: the name of a discovery source.
#[no_mangle]
pub extern "C" fn ipmi_addr_src_to_str(src: bindings::ipmi_addr_src) -> *const c_char {
    AddrSource::from_raw(src).name().as_char_ptr()
}
