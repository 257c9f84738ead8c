// SPDX-License-Identifier: GPL-2.0

//! Panic time: every interface that can be polled switches to run to
//! completion, its users' panic callbacks run (ipmi_watchdog's), and with
//! `panic_op` set the panic goes to the BMC, as upstream sends it: a
//! Platform Event (OS Critical Stop, the first bytes of the message as
//! breadcrumbs), and for `string` the whole message in OEM SEL records of
//! 11 bytes each, to the event receiver or the BMC's own SEL.
//!
//! Requests at panic time are sent and polled for with bounded loops
//! (upstream's wait for ever); nothing here sleeps or waits for a lock
//! another CPU may hold.

use crate::glue::bindings;
use crate::intf::Intf;
use crate::ipmi::addr::Address;
use crate::kext::modparam::module_param_call;
use crate::kext::panic::{PanicFn, PanicNotifier};
use core::ffi::c_char;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use kernel::prelude::*;

/// What to send the BMC at panic time: 0 nothing, 1 the event, 2 the
/// event and the message.
static PANIC_OP: AtomicU8 = AtomicU8::new(0);
const OP_NAMES: [&str; 3] = ["none", "event", "string"];

fn panic_op_set(text: &str) -> Result {
    let text = text.trim_end_matches('\n');
    let op = OP_NAMES.iter().position(|n| *n == text).ok_or(EINVAL)?;
    PANIC_OP.store(op as u8, Ordering::Relaxed);
    Ok(())
}

fn panic_op_get() -> &'static str {
    OP_NAMES
        .get(usize::from(PANIC_OP.load(Ordering::Relaxed)))
        .copied()
        .unwrap_or("none")
}

module_param_call!(panic_op, panic_op_set, get panic_op_get, 0o600, "What to log to the BMC's event log at a panic: none, event (one Platform Event) or string (the event and the panic message in OEM records)");

/// Messages of a panic-time request not yet answered.
static PENDING: AtomicI32 = AtomicI32::new(0);

/// The `done` of a panic-time system interface message.
///
/// # Safety
///
/// None: the message lives on the stack of [`request`], which waits.
unsafe extern "C" fn smi_done(_msg: *mut bindings::ipmi_smi_msg) {
    PENDING.fetch_sub(1, Ordering::AcqRel);
}

/// The `done` of a panic-time receive message.
///
/// # Safety
///
/// As for [`smi_done`].
unsafe extern "C" fn recv_done(_msg: *mut bindings::ipmi_recv_msg) {
    PENDING.fetch_sub(1, Ordering::AcqRel);
}

/// Polls at most this many times for a panic-time answer (the driver's
/// poll waits at least 10 us each time).
const POLLS: u32 = 1_000_000;

/// An answer: netfn, cmd, then its bytes (completion code first).
pub(crate) struct PanicAnswer {
    pub(crate) netfn: u8,
    pub(crate) cmd: u8,
    pub(crate) len: usize,
    pub(crate) data: [u8; 32],
}

/// Sends a request on `intf` (already running to completion) and polls
/// until it is answered, or gives up; the answer if one came.
pub(crate) fn request(
    intf: &Intf,
    addr: &Address,
    netfn: u8,
    cmd: u8,
    data: &[u8],
) -> Option<PanicAnswer> {
    let mut bytes = [0u8; 32];
    let n = data.len().min(bytes.len());
    for (d, s) in bytes.iter_mut().zip(data) {
        *d = *s;
    }
    let msg = bindings::kernel_ipmi_msg {
        netfn,
        cmd,
        data_len: n as u16,
        data: bytes.as_mut_ptr(),
    };
    let mut smi: bindings::ipmi_smi_msg = pin_init::zeroed();
    let mut recv: bindings::ipmi_recv_msg = pin_init::zeroed();
    smi.done = Some(smi_done);
    recv.done = Some(recv_done);
    PENDING.store(2, Ordering::Release);
    // Both messages live on this stack until their `done` ran (the wait
    // below) or the request was refused.
    let sent = intf.request(
        None,
        addr,
        0,
        &msg,
        core::ptr::null_mut(),
        &mut smi,
        &mut recv,
        false,
        0,
        0,
    );
    if sent.is_err() {
        PENDING.store(0, Ordering::Release);
        return None;
    }
    if let Some(f) = intf.handlers().flush_messages {
        // SAFETY: the driver's callback with its context.
        unsafe { f(intf.send_info()) };
    }
    let mut polls = 0;
    while PENDING.load(Ordering::Acquire) > 0 && polls < POLLS {
        intf.poll();
        polls += 1;
    }
    if PENDING.load(Ordering::Acquire) > 0 {
        // The messages live on this stack: the interface must never touch
        // them again.
        intf.in_shutdown.store(true, Ordering::Release);
        PENDING.store(0, Ordering::Release);
        return None;
    }
    let len = usize::from(recv.msg.data_len).min(recv.msg_data.len());
    let mut answer = PanicAnswer {
        netfn: recv.msg.netfn,
        cmd: recv.msg.cmd,
        len: len.min(32),
        data: [0; 32],
    };
    for (d, s) in answer.data.iter_mut().zip(&recv.msg_data[..len]) {
        *d = *s;
    }
    Some(answer)
}

/// Whether the kernel panicked already (the notifier runs once).
static PANICKED: AtomicBool = AtomicBool::new(false);

struct OnPanic;

impl PanicFn for OnPanic {
    fn on_panic(message: *const c_char) {
        if PANICKED.swap(true, Ordering::AcqRel) {
            return;
        }
        crate::for_each_intf_at_panic(|intf| {
            if intf.handlers().poll.is_none() {
                return;
            }
            if !intf.free_at_panic() {
                pr_emerg!(
                    "ipmi{}: busy at panic time, no panic event sent\n",
                    intf.num.load(Ordering::Relaxed)
                );
                return;
            }
            intf.enter_panic();
            send_events(intf, message);
        });
    }
}

/// The notifier, registered while the module is loaded.
pub(crate) static NOTIFIER: PanicNotifier = PanicNotifier::new::<OnPanic>();

/// The panic message as bytes, at most `max` of them.
fn message_bytes<'a>(message: *const c_char, max: usize) -> &'a [u8] {
    if message.is_null() {
        return &[];
    }
    let mut n = 0;
    // SAFETY: the kernel passes a NUL-terminated string; we stop at the NUL.
    while n < max && unsafe { *message.add(n) } != 0 {
        n += 1;
    }
    // SAFETY: `n` bytes before the NUL, read above.
    unsafe { core::slice::from_raw_parts(message.cast::<u8>(), n) }
}

/// Sends what `panic_op` asks on `intf`.
fn send_events(intf: &Intf, message: *const c_char) {
    let op = PANIC_OP.load(Ordering::Relaxed);
    if op == 0 {
        return;
    }
    let si = Address::SystemInterface { lun: 0 };
    let text = message_bytes(message, 4096);
    // OS Critical Stop (sensor type 0x20), sensor-specific run-time stop,
    // the first three bytes of the message in the data bytes.
    let event = [
        0x41,
        0x03,
        0x20,
        text.first().copied().unwrap_or(0),
        0x6f,
        0xa1,
        text.get(1).copied().unwrap_or(0),
        text.get(2).copied().unwrap_or(0),
    ];
    let _ = request(intf, &si, 0x04, 0x02, &event);
    if op != 2 || text.is_empty() {
        return;
    }
    // Where the records go: the event receiver if it is someone else on
    // the IPMB, else the BMC's own SEL if it has one.
    let (mut sel_device, mut event_generator) = (false, false);
    if let Some(a) = request(intf, &si, 0x06, 0x01, &[]) {
        if a.netfn == 0x07 && a.cmd == 0x01 && a.len > 6 && a.data[0] == 0 {
            sel_device = a.data[6] & 0x04 != 0;
            event_generator = a.data[6] & 0x20 != 0;
        }
    }
    let (mut receiver, mut receiver_lun) = (0u8, 0u8);
    if event_generator {
        if let Some(a) = request(intf, &si, 0x04, 0x01, &[]) {
            if a.netfn == 0x05 && a.cmd == 0x01 && a.len > 2 && a.data[0] == 0 {
                receiver = a.data[1];
                receiver_lun = a.data[2] & 3;
            }
        }
    }
    let own = intf.my_address(0).unwrap_or(0x20);
    let target = if receiver & 1 == 0 && receiver != 0 && receiver != own {
        Address::Ipmb {
            channel: 0,
            slave_addr: receiver,
            lun: receiver_lun,
            broadcast: false,
        }
    } else if sel_device {
        si
    } else {
        return;
    };
    for (seq, chunk) in text.chunks(11).enumerate() {
        // An OEM record without time stamp: our address, a sequence
        // number, 11 bytes of the message (zero-padded).
        let mut record = [0u8; 16];
        record[2] = 0xf0;
        record[3] = own;
        record[4] = seq as u8;
        for (d, s) in record[5..].iter_mut().zip(chunk) {
            *d = *s;
        }
        let _ = request(intf, &target, 0x0a, 0x44, &record);
    }
}
