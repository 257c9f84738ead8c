// SPDX-License-Identifier: GPL-2.0

//! Where the shared core meets the C structures: compile-time checks that
//! the core's idea of each layout is the kernel's, and the conversions
//! between `struct ipmi_addr` and the core's [`Address`].

use super::bindings;
use crate::ipmi::addr::{AddrType, Address, MAX_ADDR_LEN, MAX_TYPED_ADDR_LEN};
use core::mem::size_of;

// A change in the kernel's headers fails the build here instead of
// misreading user or caller memory.
const _: () = {
    assert!(size_of::<bindings::ipmi_addr>() == MAX_ADDR_LEN);
    assert!(
        size_of::<bindings::ipmi_system_interface_addr>() == AddrType::SystemInterface.addr_len()
    );
    assert!(size_of::<bindings::ipmi_ipmb_addr>() == AddrType::Ipmb.addr_len());
    assert!(size_of::<bindings::ipmi_ipmb_direct_addr>() == AddrType::IpmbDirect.addr_len());
    assert!(size_of::<bindings::ipmi_lan_addr>() == AddrType::Lan.addr_len());
    assert!(size_of::<bindings::ipmi_lan_addr>() == MAX_TYPED_ADDR_LEN);
    assert!(bindings::IPMI_MAX_ADDR_SIZE as usize + 8 == MAX_ADDR_LEN);
    assert!(bindings::IPMI_SYSTEM_INTERFACE_ADDR_TYPE as i32 == AddrType::SystemInterface as i32);
    assert!(bindings::IPMI_IPMB_ADDR_TYPE as i32 == AddrType::Ipmb as i32);
    assert!(bindings::IPMI_IPMB_BROADCAST_ADDR_TYPE as i32 == AddrType::IpmbBroadcast as i32);
    assert!(bindings::IPMI_IPMB_DIRECT_ADDR_TYPE as i32 == AddrType::IpmbDirect as i32);
    assert!(bindings::IPMI_LAN_ADDR_TYPE as i32 == AddrType::Lan as i32);
    assert!(bindings::IPMI_MAX_MSG_LENGTH as usize == crate::ipmi::msg::MAX_MSG_LENGTH);
};

/// Copies the bytes of a caller's address that its length covers, at most
/// [`MAX_TYPED_ADDR_LEN`]: no address type reads further, and the
/// structure's tail padding is never read. A negative length copies nothing.
///
/// # Safety
///
/// `addr` must be valid for reads of `len` bytes when `len` is positive
/// (a caller may pass a shorter structure cast to `struct ipmi_addr`).
pub unsafe fn read_addr(
    addr: *const bindings::ipmi_addr,
    len: i32,
) -> ([u8; MAX_TYPED_ADDR_LEN], usize) {
    let mut raw = [0u8; MAX_TYPED_ADDR_LEN];
    let n = usize::try_from(len).unwrap_or(0).min(MAX_TYPED_ADDR_LEN);
    if n > 0 && !addr.is_null() {
        // SAFETY: the caller guarantees `len` (>= n) readable bytes at `addr`;
        // `raw` holds MAX_TYPED_ADDR_LEN >= n bytes and does not overlap.
        unsafe { core::ptr::copy_nonoverlapping(addr.cast::<u8>(), raw.as_mut_ptr(), n) };
    }
    (raw, n)
}

/// The `struct ipmi_addr` for `addr`, zero-filled beyond its type's fields.
pub fn c_addr(addr: &Address) -> bindings::ipmi_addr {
    let mut raw = [0u8; MAX_ADDR_LEN];
    // Cannot fail: every encoding fits in MAX_ADDR_LEN bytes.
    let _ = addr.encode(&mut raw);
    c_addr_from_bytes(&raw)
}

/// The `struct ipmi_addr` whose bytes are `raw` (as a caller's address
/// arrives from user space).
pub fn c_addr_from_bytes(raw: &[u8; MAX_ADDR_LEN]) -> bindings::ipmi_addr {
    let mut c = bindings::ipmi_addr::default();
    // SAFETY: `struct ipmi_addr` is MAX_ADDR_LEN bytes of plain integers
    // (checked above), so any bytes are a valid value; the two do not overlap.
    unsafe {
        core::ptr::copy_nonoverlapping(raw.as_ptr(), (&raw mut c).cast::<u8>(), MAX_ADDR_LEN)
    };
    c
}
