// SPDX-License-Identifier: GPL-2.0

//! ipmi_export_test: calls the pure helpers exported by whichever module
//! provides them (upstream's C ipmi_msghandler or ours) over a
//! fixed table of inputs, and logs every answer. The VM suite loads it over
//! each provider in the same boot and requires identical logs: a
//! differential test of the C-ABI boundary the Rust modules share with C.

use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;

/// The IPMI C-ABI glue this module uses.
#[path = "../../rust/glue"]
pub mod glue {
    pub mod bindings;
}
use glue::bindings;

module! {
    type: IpmiExportTest,
    name: "ipmi_export_test",
    authors: ["The ipmi-rs developers"],
    description: "Logs the answers of the exported IPMI helpers (test only)",
    license: "GPL",
    params: {
        negative_len: bool {
            default: false,
            description: "Only log ipmi_validate_addr with a negative length (where we differ)",
        },
    },
}

/// Address types probed: every known one, 0 and an unknown one.
const ADDR_TYPES: [c_int; 7] = [0x0c, 0x01, 0x41, 0x81, 0x04, 0x00, 0x77];
/// Channels probed: below, inside and above the valid ranges.
const CHANNELS: [i16; 6] = [-1, 0, 1, 14, 15, 16];
/// Lengths probed: around every structure size (negative lengths are left
/// out on purpose: upstream compares them as huge unsigned values and
/// accepts them, we refuse them).
const LENGTHS: [c_int; 6] = [0, 7, 8, 11, 12, 40];
/// Type-specific bytes after the channel: slave address and LUNs.
const BODIES: [[u8; 3]; 4] = [[0x20, 0, 0], [0x31, 0, 0], [0x30, 4, 0], [0x30, 0, 4]];

struct IpmiExportTest;

/// One character per answer, so that a whole grid fits on one log line.
fn verdict(rv: c_int) -> u8 {
    match rv {
        0 => b'0',
        rv if rv == EINVAL.to_errno() => b'E',
        _ => b'?',
    }
}

fn log_validate_grid() {
    for addr_type in ADDR_TYPES {
        for (b, body) in BODIES.iter().enumerate() {
            let mut line = [b'.'; CHANNELS.len() * (LENGTHS.len() + 1)];
            for (row, channel) in line.chunks_mut(LENGTHS.len() + 1).zip(CHANNELS) {
                for (cell, len) in row.iter_mut().zip(LENGTHS) {
                    let mut addr = bindings::ipmi_addr {
                        addr_type,
                        channel,
                        ..Default::default()
                    };
                    for (d, v) in addr.data.iter_mut().zip(body) {
                        *d = *v as c_char;
                    }
                    // SAFETY: `addr` is a complete, initialised `struct ipmi_addr`.
                    *cell = verdict(unsafe { bindings::ipmi_validate_addr(&mut addr, len) });
                }
                if let Some(sep) = row.last_mut() {
                    *sep = b' ';
                }
            }
            let line = core::str::from_utf8(&line).unwrap_or("?");
            pr_info!("validate type={:#04x} body={}: {}\n", addr_type, b, line);
        }
    }
}

fn log_addr_lengths() {
    for addr_type in [-1, 0, 0x01, 0x04, 0x0c, 0x41, 0x81, 0x82, 0x100] {
        // SAFETY: a pure function of its integer argument.
        let len = unsafe { bindings::ipmi_addr_length(addr_type) };
        pr_info!("addr_length({:#x}) = {}\n", addr_type, len);
    }
}

fn log_checksums() {
    let mut counting = [0u8; 256];
    for (i, b) in counting.iter_mut().enumerate() {
        *b = i as u8;
    }
    let mut get_device_id = [0x30u8, 0x18];
    let mut cases: [(&str, &mut [u8], c_int); 4] = [
        ("get-device-id header", &mut get_device_id, 2),
        ("0..=255", &mut counting, 256),
        ("size 0", &mut [], 0),
        ("size -1", &mut [], -1),
    ];
    for (name, data, size) in cases.iter_mut() {
        // SAFETY: `data` holds at least `size` bytes whenever `size` is positive.
        let sum = unsafe { bindings::ipmb_checksum(data.as_mut_ptr(), *size) };
        pr_info!("ipmb_checksum({}) = {:#04x}\n", *name, sum);
    }
}

fn log_addr_sources() {
    for src in 0..11 {
        // SAFETY: any value is accepted; out-of-range ones name "invalid".
        let name = unsafe { bindings::ipmi_addr_src_to_str(src) };
        // SAFETY: the function returns a static NUL-terminated string.
        let name = unsafe { CStr::from_char_ptr(name) };
        pr_info!(
            "addr_src_to_str({}) = {}\n",
            src,
            name.to_str().unwrap_or("?")
        );
    }
}

/// A valid system-interface address with a length of -1: upstream compares
/// the length as unsigned, finds it large enough and accepts the address;
/// ours refuses it. Logged alone, so that the grid stays comparable.
fn log_negative_length() {
    let mut addr = bindings::ipmi_addr {
        addr_type: bindings::IPMI_SYSTEM_INTERFACE_ADDR_TYPE as c_int,
        channel: bindings::IPMI_BMC_CHANNEL as i16,
        ..Default::default()
    };
    // SAFETY: `addr` is a complete, initialised `struct ipmi_addr`.
    let rv = unsafe { bindings::ipmi_validate_addr(&mut addr, -1) };
    pr_info!(
        "validate system interface, len -1: {}\n",
        verdict(rv) as char
    );
}

impl kernel::Module for IpmiExportTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        if module_parameters::negative_len.value() {
            log_negative_length();
            return Ok(IpmiExportTest);
        }
        pr_info!("begin\n");
        log_validate_grid();
        log_addr_lengths();
        log_checksums();
        log_addr_sources();
        pr_info!("end\n");
        Ok(IpmiExportTest)
    }
}
