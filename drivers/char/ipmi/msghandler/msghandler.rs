// SPDX-License-Identifier: GPL-2.0

//! ipmi_rs_core: the shared Rust core, compiled into a module, behind the
//! pure helper functions that upstream's ipmi_msghandler exports
//! (`ipmb_checksum`, `ipmi_validate_addr`, `ipmi_addr_length`,
//! `ipmi_addr_src_to_str`).
//!
//! Each is defined with `ipmi_export!`, which checks its type against the
//! C prototype, and exported by exports.c beside this file (modpost only
//! sees exports made in C). They move into the Rust ipmi_msghandler when it
//! lands; until then this module stands in for those symbols, so it cannot
//! be loaded together with the C ipmi_msghandler (the symbols would clash).

use kernel::ffi::{c_char, c_int, c_uint};
use kernel::prelude::*;

/// The parts of the shared core this module uses.
#[path = "../../../../rust/ipmi/src"]
pub mod ipmi {
    pub mod addr;
    pub mod cc;
    pub mod ipmb;
    pub mod msg;
    pub mod smi;
}

/// The IPMI C-ABI glue this module uses.
#[path = "../../../../rust/glue"]
pub mod glue {
    pub mod abi;
    pub mod bindings;
    pub mod export;
}

use glue::bindings;
use glue::export::ipmi_export;
use ipmi::addr::{addr_length, Address};
use ipmi::smi::AddrSource;

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

ipmi_export! {
    /// `ipmb_checksum()`: the IPMB checksum of `size` bytes at `data` (0 for
    /// a size of 0 or less).
    ///
    /// # Safety
    ///
    /// When `size` is positive, `data` must be valid for reads of `size` bytes.
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
}

ipmi_export! {
    /// `ipmi_validate_addr()`: 0 if the first `len` bytes at `addr` are a
    /// valid address, `-EINVAL` otherwise.
    ///
    /// Only the bytes `len` covers are read (a caller may pass a shorter
    /// structure cast to `struct ipmi_addr`), and no more than the largest
    /// typed address. Unlike upstream, a negative `len` is refused instead
    /// of being compared as a huge unsigned value.
    ///
    /// # Safety
    ///
    /// When `len` is positive, `addr` must be valid for reads of `len` bytes.
    pub unsafe extern "C" fn ipmi_validate_addr(addr: *mut bindings::ipmi_addr, len: c_int) -> c_int {
        if len < 0 || addr.is_null() {
            return EINVAL.to_errno();
        }
        // SAFETY: the caller guarantees `len` readable bytes at `addr`.
        let (raw, n) = unsafe { glue::abi::read_addr(addr, len) };
        match Address::parse(raw.get(..n).unwrap_or(&[])) {
            Ok(_) => 0,
            Err(_) => EINVAL.to_errno(),
        }
    }
}

ipmi_export! {
    /// `ipmi_addr_length()`: the size of the address structure for
    /// `addr_type`, 0 for an unknown type.
    pub extern "C" fn ipmi_addr_length(addr_type: c_int) -> c_uint {
        // The largest structure is 40 bytes, so the conversion cannot fail.
        c_uint::try_from(addr_length(addr_type)).unwrap_or(0)
    }
}

ipmi_export! {
    /// `ipmi_addr_src_to_str()`: the name of a discovery source.
    pub extern "C" fn ipmi_addr_src_to_str(src: bindings::ipmi_addr_src) -> *const c_char {
        AddrSource::from_raw(src).name().as_char_ptr()
    }
}
