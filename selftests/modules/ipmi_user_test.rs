// SPDX-License-Identifier: GPL-2.0

//! ipmi_user_test: an in-kernel IPMI user written in Rust. At load it opens
//! interface `if_num` through the upstream user API (`ipmi_create_user`,
//! `ipmi_request_settime`, a receive callback, `ipmi_free_recv_msg`,
//! `ipmi_destroy_user`), asks the BMC, or with `ipmb_addr` a controller on
//! IPMB channel 0, for its Device ID, decodes the answer with the shared
//! core and logs it. The load fails if no valid answer comes.
//!
//! The VM suite compares what it logs with `ipmitool mc info` in the same
//! boot; it is the first Rust code that exchanges messages with a BMC.

use core::ffi::c_void;
use core::ptr;
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::sync::{new_condvar, new_spinlock_irq, CondVar, CondVarTimeoutResult, SpinLockIrq};
use kernel::time::msecs_to_jiffies;

/// The parts of the shared core this module uses.
#[path = "../../rust/ipmi/src"]
pub mod ipmi {
    pub mod addr;
    pub mod cc;
    pub mod device_id;
    pub mod msg;
}

/// The IPMI C-ABI glue this module uses.
#[path = "../../rust/glue"]
pub mod glue {
    pub mod abi;
    pub mod bindings;
    pub mod recv_msg;
    pub mod user;
}

use glue::bindings;
use glue::recv_msg::RecvMsg;
use glue::user::{Request, User};
use ipmi::addr::Address;
use ipmi::device_id::{DeviceId, DeviceIdError};
use ipmi::msg::{cmd, NetFn, MAX_MSG_LENGTH};

module! {
    type: IpmiUserTest,
    name: "ipmi_user_test",
    authors: ["The ipmi-rs developers"],
    description: "Get Device ID through the in-kernel IPMI user API (test only)",
    license: "GPL",
    params: {
        if_num: u32 {
            default: 0,
            description: "IPMI interface number to use",
        },
        ipmb_addr: u32 {
            default: 0,
            description: "0: ask the BMC; else the IPMB slave address to bridge to",
        },
    },
}

/// How long to wait for the handler's answer. The handler always answers
/// (a bridged request that gets no reply ends with completion code 0xc3
/// after its retries), so this only bounds a broken lower layer.
const ANSWER_TIMEOUT_MS: u32 = 30_000;

/// The answer as the receive callback copied it.
struct Answer {
    arrived: bool,
    recv_type: c_int,
    netfn: u8,
    cmd: u8,
    len: usize,
    data: [u8; MAX_MSG_LENGTH],
}

#[pin_data]
struct Pending {
    /// Interrupt-safe: 7.3's handler delivers from a workqueue, but nothing
    /// in its API promises process context (a handler may deliver from its
    /// interrupt path or in run-to-completion mode).
    #[pin]
    answer: SpinLockIrq<Answer>,
    #[pin]
    arrived: CondVar,
}

/// Receive callback, called by the handler for every message for our user.
/// Its second argument is the handler data given to `ipmi_create_user`
/// (none here); the request's own data, our `Pending`, travels in the
/// message (null for messages that answer no request of ours).
///
/// # Safety
///
/// Called by ipmi_msghandler with a valid message that we own, whose
/// `user_msg_data` is either null or the `Pending` of a request whose user
/// has not been destroyed yet (so the `Pending` is alive).
unsafe extern "C" fn receive(msg: *mut bindings::ipmi_recv_msg, _handler_data: *mut c_void) {
    // SAFETY: the handler gives us the message to own and free.
    let Some(msg) = (unsafe { RecvMsg::from_raw(msg) }) else {
        return;
    };
    let pending = msg.user_msg_data().cast::<Pending>().cast_const();
    if !pending.is_null() {
        // SAFETY: a non-null `user_msg_data` is the live `Pending` of our request.
        let pending = unsafe { &*pending };
        let body = msg.data();
        let len = body.len().min(MAX_MSG_LENGTH);
        let mut answer = pending.answer.lock();
        answer.data[..len].copy_from_slice(&body[..len]);
        answer.len = len;
        answer.recv_type = msg.recv_type();
        answer.netfn = msg.netfn();
        answer.cmd = msg.cmd();
        answer.arrived = true;
        drop(answer);
        pending.arrived.notify_all();
    }
    // Dropping `msg` frees it.
}

static USER_HANDLER: bindings::ipmi_user_hndl = bindings::ipmi_user_hndl {
    ipmi_recv_hndl: Some(receive),
    ipmi_watchdog_pretimeout: None,
    ipmi_panic_handler: None,
    shutdown: None,
};

/// The BMC, or a controller on IPMB channel 0.
fn target_addr(ipmb_addr: u8) -> Address {
    if ipmb_addr == 0 {
        Address::SystemInterface { lun: 0 }
    } else {
        Address::Ipmb {
            channel: 0,
            slave_addr: ipmb_addr,
            lun: 0,
            broadcast: false,
        }
    }
}

fn get_device_id(if_num: u32, ipmb_addr: u8) -> Result<DeviceId> {
    let pending = KBox::pin_init(
        pin_init!(Pending {
            answer <- new_spinlock_irq!(Answer {
                arrived: false,
                recv_type: 0,
                netfn: 0,
                cmd: 0,
                len: 0,
                data: [0; MAX_MSG_LENGTH],
            }),
            arrived <- new_condvar!(),
        }),
        GFP_KERNEL,
    )?;
    // Declared after `pending`, so dropped (destroyed) before it: no
    // callback can touch `pending` once it is freed.
    // SAFETY: no handler data; the receive callback uses none.
    let user = unsafe { User::create(if_num, &USER_HANDLER, ptr::null_mut())? };

    let addr = target_addr(ipmb_addr);
    let req = Request {
        addr: &addr,
        msgid: 1,
        netfn: NetFn::APP.value(),
        cmd: cmd::GET_DEVICE_ID,
        data: &[],
        retries: -1,
        retry_time_ms: 0,
    };
    let pending_ptr = ptr::from_ref::<Pending>(&pending)
        .cast_mut()
        .cast::<c_void>();
    // SAFETY: the receive callback takes a non-null `user_msg_data` as our
    // `Pending`, which outlives the user (declared before it).
    if let Err(e) = unsafe { user.request(&req, pending_ptr) } {
        pr_err!("ipmi{}: request refused: {}\n", if_num, e.to_errno());
        return Err(e);
    }

    let mut answer = pending.answer.lock();
    while !answer.arrived {
        match pending
            .arrived
            .wait_interruptible_timeout(&mut answer, msecs_to_jiffies(ANSWER_TIMEOUT_MS))
        {
            CondVarTimeoutResult::Woken { .. } => {}
            CondVarTimeoutResult::Timeout => {
                pr_err!("ipmi{}: no answer in {} ms\n", if_num, ANSWER_TIMEOUT_MS);
                return Err(ETIMEDOUT);
            }
            CondVarTimeoutResult::Signal { .. } => return Err(EINTR),
        }
    }
    let body = answer.data.get(..answer.len).unwrap_or(&[]);
    let netfn = NetFn::new(answer.netfn).ok_or(EIO)?;
    match DeviceId::decode(netfn, answer.cmd, body) {
        Ok(id) => Ok(id),
        Err(DeviceIdError::Failed(cc)) => {
            pr_info!(
                "ipmi{}: Get Device ID failed: completion code {:#04x} ({})\n",
                if_num,
                cc.value(),
                cc.description().unwrap_or("specific")
            );
            Err(EIO)
        }
        Err(e) => {
            pr_err!(
                "ipmi{}: unusable answer (recv_type {}, netfn {:#x}, cmd {:#x}, {} bytes): {:?}\n",
                if_num,
                answer.recv_type,
                answer.netfn,
                answer.cmd,
                answer.len,
                e
            );
            Err(EIO)
        }
    }
}

struct IpmiUserTest;

impl kernel::Module for IpmiUserTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let if_num = module_parameters::if_num.value();
        let ipmb_addr = u8::try_from(module_parameters::ipmb_addr.value()).map_err(|_| EINVAL)?;
        let id = get_device_id(if_num, ipmb_addr)?;
        let (major, minor) = id.ipmi_version();
        let target = if ipmb_addr == 0 { 0x20 } else { ipmb_addr };
        pr_info!(
            "ipmi{} {:#04x}: device_id={} revision={} firmware={}.{:02x} ipmi={}.{} manufacturer={} product={} sdrs={}\n",
            if_num,
            target,
            id.device_id,
            id.revision(),
            id.firmware_major(),
            id.firmware_revision_2,
            major,
            minor,
            id.manufacturer_id,
            id.product_id,
            if id.provides_device_sdrs() { "yes" } else { "no" },
        );
        Ok(IpmiUserTest)
    }
}
