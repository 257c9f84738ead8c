// SPDX-License-Identifier: GPL-2.0

//! ipmi_smi_test: a loopback system interface written against the glue's
//! `Smi` trait. It registers one interface with whichever message handler
//! is loaded and answers the handler's requests itself, as a tiny BMC
//! with a fixed identity, from inside `sender`:
//!
//! - Get Device ID: device 0x52, revision 1, firmware 3.14, IPMI 2.0,
//!   manufacturer 0x123456, product 0xabcd;
//! - Get Device GUID: a fixed GUID;
//! - Get Message Flags: none set;
//! - anything else: completion code 0xc1 (invalid command).
//!
//! The VM suite puts upstream's ipmi_devintf over it and runs ipmitool, so
//! a response travels: ipmitool, C devintf, the handler, this module's
//! `Smi::sender`, back up through `Intf::msg_received`.
//!
//! It also says it is on an IPMB bus itself (`IPMI_SMI_CAN_HANDLE_IPMB_
//! DIRECT`, as upstream's ipmi_ipmb) and plays the bus for IPMB-direct
//! messages, handing back what ipmi_ipmb would:
//!
//! - a controller at 0x70 answers Get Device ID, and two OEM commands
//!   (netfn 0x30): 0x10 answers and then sends us a command (netfn 0x30
//!   cmd 0x11, seq 0x15, data aa bb), 0x12 answers with the last response
//!   it received from us (empty if none since the last 0x12), 0x13 as
//!   0x10 but the command's message keeps a stale first request byte
//!   (0x1c, a response's netfn) behind its zero length;
//! - 0x74 answers with a header and no completion code, 0x76 with a single
//!   byte (broken controllers);
//! - nobody else answers: completion code 0xc3 (ipmi_ipmb's timeout);
//! - a response we send is taken (recorded for 0x12) and reported sent.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::prelude::*;
use kernel::sync::{new_spinlock, SpinLock};

/// The parts of the shared core this module uses.
#[path = "../../rust/ipmi/src"]
pub mod ipmi {
    pub mod cc;
    pub mod msg;
}

/// The IPMI C-ABI glue this module uses.
#[path = "../../rust/glue"]
pub mod glue {
    pub mod bindings;
    pub mod smi;
    pub mod smi_msg;
}

use glue::smi::{Intf, Refused, Registration, Smi};
use glue::smi_msg::SmiMsg;
use ipmi::msg::{cmd, NetFn};

module! {
    type: IpmiSmiTest,
    name: "ipmi_smi_test",
    authors: ["The ipmi-rs developers"],
    description: "Loopback IPMI system interface in Rust (test only)",
    license: "GPL",
}

/// The device the interface hangs under (upstream's drivers use their
/// platform, PCI or I2C device).
///
/// # Invariants
///
/// `ptr` is a platform device added with `platform_device_add`, removed
/// only when this is dropped.
struct PlatformDevice {
    ptr: NonNull<kernel::bindings::platform_device>,
}

impl PlatformDevice {
    fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is a static NUL-terminated string.
        let p = unsafe { kernel::bindings::platform_device_alloc(name.as_char_ptr(), -1) };
        let ptr = NonNull::new(p).ok_or(ENOMEM)?;
        // SAFETY: `p` is a freshly allocated device.
        let rv = unsafe { kernel::bindings::platform_device_add(p) };
        if rv != 0 {
            // SAFETY: not added, so it is released with a put.
            unsafe { kernel::bindings::platform_device_put(p) };
            return Err(Error::from_errno(rv));
        }
        // INVARIANT: added above.
        Ok(PlatformDevice { ptr })
    }

    fn dev(&self) -> *mut kernel::bindings::device {
        // SAFETY: the device is alive (type invariant); only the address
        // of its embedded `struct device` is taken.
        unsafe { &raw mut (*self.ptr.as_ptr()).dev }
    }
}

impl Drop for PlatformDevice {
    fn drop(&mut self) {
        // SAFETY: added in `new`, removed only here.
        unsafe { kernel::bindings::platform_device_unregister(self.ptr.as_ptr()) };
    }
}

// SAFETY: the device is refcounted by the driver core; unregistering it
// from any thread is allowed.
unsafe impl Send for PlatformDevice {}
// SAFETY: `&PlatformDevice` only reads the pointer.
unsafe impl Sync for PlatformDevice {}

/// The loopback interface: counts what it answered.
#[pin_data]
struct Loopback {
    #[pin]
    intf: SpinLock<Option<Intf>>,
    answered: AtomicU32,
    /// The last response the bus controller got from us (length, bytes).
    #[pin]
    last_response: SpinLock<(usize, [u8; 16])>,
}

/// The one controller on the loopback's bus that answers as it should.
const PEER: u8 = 0x70;
/// A controller whose answers stop before the completion code.
const SHORT_PEER: u8 = 0x74;
/// A controller that answers one byte.
const TINY_PEER: u8 = 0x76;

/// The bus's answer to an IPMB-direct request `req` (netfn/LUN, address,
/// seq/LUN, cmd, data), as ipmi_ipmb hands it up; its length. `inject`
/// is set when the controller then sends a command of its own.
fn answer_direct(
    req: &[u8],
    last: &mut (usize, [u8; 16]),
    out: &mut [u8; 32],
    inject: &mut Option<u8>,
) -> usize {
    let [nl, sa, seq_lun, c, ..] = *req else {
        return 0;
    };
    if sa == SHORT_PEER {
        out[..4].copy_from_slice(&[(((nl >> 2) | 1) << 2) | (seq_lun & 3), sa, seq_lun, c]);
        return 4;
    }
    if sa == TINY_PEER {
        out[0] = ((nl >> 2) | 1) << 2;
        return 1;
    }
    if sa != PEER {
        // Nobody acknowledged the write: ipmi_ipmb's timeout answer.
        out[..5].copy_from_slice(&[nl | 0x04, sa, seq_lun, c, 0xc3]);
        return 5;
    }
    out[0] = (((nl >> 2) | 1) << 2) | (seq_lun & 3);
    out[1] = PEER;
    out[2] = (seq_lun & 0xfc) | (nl & 3);
    out[3] = c;
    let body: &[u8] = match (nl >> 2, c) {
        (0x06, 0x01) => &[
            0x00, 0x71, 0x02, 0x01, 0x05, 0x51, 0x57, 0x01, 0x00, 0x34, 0x12,
        ],
        (0x30, 0x10) => {
            *inject = Some(0x00);
            &[0x00]
        }
        (0x30, 0x13) => {
            *inject = Some(0x1c);
            &[0x00]
        }
        (0x30, 0x12) => {
            let (n, bytes) = core::mem::take(last);
            out[4] = 0;
            out[5..5 + n].copy_from_slice(&bytes[..n]);
            return 5 + n;
        }
        _ => &[0xc1],
    };
    out[4..4 + body.len()].copy_from_slice(body);
    4 + body.len()
}

/// The command the controller sends us after 0x30/0x10: netfn 0x30 (our
/// LUN 0), from 0x70, seq 0x15 with its LUN 2, cmd 0x11, data aa bb.
const INJECTED: [u8; 6] = [0x30 << 2, PEER, (0x15 << 2) | 2, 0x11, 0xaa, 0xbb];

const GUID: [u8; 16] = [
    0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
];

/// The response bytes (netfn/LUN, cmd, completion code, data) for a
/// request `[netfn/LUN, cmd, data...]`, written into `out`; its length.
fn answer(req: &[u8], out: &mut [u8; 32]) -> usize {
    let [nl, c, ..] = *req else {
        out[..3].copy_from_slice(&[0x07 << 2, 0, 0xc7]);
        return 3;
    };
    let netfn = NetFn::from_netfn_lun(nl);
    out[0] = (netfn.response().value() << 2) | (nl & 3);
    out[1] = c;
    let body: &[u8] = match (netfn, c) {
        (NetFn::APP, cmd::GET_DEVICE_ID) => &[
            0x00, 0x52, 0x01, 0x03, 0x14, 0x02, 0x01, 0x56, 0x34, 0x12, 0xcd, 0xab,
        ],
        (NetFn::APP, cmd::GET_DEVICE_GUID) => {
            out[2] = 0;
            out[3..19].copy_from_slice(&GUID);
            return 19;
        }
        (NetFn::APP, cmd::GET_MSG_FLAGS) => &[0x00, 0x00],
        _ => &[0xc1],
    };
    out[2..2 + body.len()].copy_from_slice(body);
    2 + body.len()
}

impl Loopback {
    /// An IPMB-direct message: to the bus and back.
    fn send_direct(&self, intf: Intf, mut msg: SmiMsg) -> Result<(), Refused> {
        let req = msg.data();
        let mut out = [0u8; 32];
        let mut inject = None;
        let len = if req.first().is_some_and(|nl| (nl >> 2) & 1 == 1) {
            // A response of ours: the controller takes it, and ipmi_ipmb
            // reports it sent as a Send Message answer.
            {
                let mut last = self.last_response.lock();
                let n = req.len().min(16);
                last.0 = n;
                last.1[..n].copy_from_slice(&req[..n]);
            }
            let mut data = [0u8; 5];
            let n = req.len().min(4);
            data[..n].copy_from_slice(&req[..n]);
            data[0] = 0x07 << 2;
            data[3] = 0x34;
            if msg.set_data(&data).is_err() {
                return Err(Refused { msg, cc: 0xff });
            }
            out[..5].copy_from_slice(&[data[0], data[1], data[2], data[3], 0x00]);
            5
        } else {
            let mut last = self.last_response.lock();
            answer_direct(req, &mut last, &mut out, &mut inject)
        };
        if msg.set_rsp(&out[..len]).is_err() {
            return Err(Refused { msg, cc: 0xff });
        }
        self.answered.fetch_add(1, Ordering::Relaxed);
        intf.msg_received(msg);
        if let Some(first) = inject {
            if let Some(mut cmd) = SmiMsg::alloc() {
                cmd.set_ipmb_direct();
                // No request behind a command: zero length, as ipmi_ipmb
                // hands them up. What the first request byte holds is
                // what kmalloc left there for ipmi_ipmb; here it is set,
                // so that a handler reading it (upstream's does) reads
                // the same in every run.
                if cmd.set_data(&[first]).is_ok()
                    && cmd.set_data(&[]).is_ok()
                    && cmd.set_rsp(&INJECTED).is_ok()
                {
                    intf.msg_received(cmd);
                }
            }
        }
        Ok(())
    }
}

impl Smi for Loopback {
    const FLAGS: u32 = glue::bindings::IPMI_SMI_CAN_HANDLE_IPMB_DIRECT;

    fn start_processing(&self, intf: Intf) -> Result {
        *self.intf.lock() = Some(intf);
        Ok(())
    }

    fn sender(&self, mut msg: SmiMsg) -> Result<(), Refused> {
        let Some(intf) = *self.intf.lock() else {
            return Err(Refused { msg, cc: 0xd5 });
        };
        if msg.is_ipmb_direct() {
            return self.send_direct(intf, msg);
        }
        let mut out = [0u8; 32];
        let len = answer(msg.data(), &mut out);
        if msg.set_rsp(&out[..len]).is_err() {
            return Err(Refused { msg, cc: 0xff });
        }
        self.answered.fetch_add(1, Ordering::Relaxed);
        // Allowed from inside sender: the handler holds no lock here.
        intf.msg_received(msg);
        Ok(())
    }

    fn shutdown(&self) {
        *self.intf.lock() = None;
    }
}

struct IpmiSmiTest {
    // Dropped first: unregistered before its device goes.
    smi: Registration<Loopback>,
    _pdev: PlatformDevice,
}

impl kernel::Module for IpmiSmiTest {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let pdev = PlatformDevice::new(c"ipmi_smi_test")?;
        let lo = try_pin_init!(Loopback {
            intf <- new_spinlock!(None),
            answered: AtomicU32::new(0),
            last_response <- new_spinlock!((0, [0; 16])),
        }? Error);
        // SAFETY: the device outlives the registration (field order).
        let smi = unsafe { Registration::new(module, lo, pdev.dev(), 0)? };
        pr_info!("loopback interface registered\n");
        Ok(IpmiSmiTest { smi, _pdev: pdev })
    }
}

impl Drop for IpmiSmiTest {
    fn drop(&mut self) {
        pr_info!(
            "loopback interface answered {} requests\n",
            self.smi.smi().answered.load(Ordering::Relaxed)
        );
    }
}
