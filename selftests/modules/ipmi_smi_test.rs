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
}

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

impl Smi for Loopback {
    fn start_processing(&self, intf: Intf) -> Result {
        *self.intf.lock() = Some(intf);
        Ok(())
    }

    fn sender(&self, mut msg: SmiMsg) -> Result<(), Refused> {
        let Some(intf) = *self.intf.lock() else {
            return Err(Refused { msg, cc: 0xd5 });
        };
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
