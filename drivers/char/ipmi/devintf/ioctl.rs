// SPDX-License-Identifier: GPL-2.0

//! The `IPMICTL_*` commands of /dev/ipmiN, native and 32-bit compat.
//!
//! Each argument is copied in as bytes through the kernel's user-slice API
//! and decoded by the shared core, which also makes every decision that
//! needs neither user memory nor the handler; this file does the copies
//! and the handler calls. Nothing is copied out that the kernel did not
//! write: replies are encoded into zeroed buffers.

use crate::file::DevFile;
use crate::glue::abi::c_addr_from_bytes;
use crate::glue::bindings;
use crate::glue::recv_msg::RecvMsg;
use crate::ipmi::addr::MAX_ADDR_LEN;
use crate::ipmi::devintf::control::{self, CmdRegistration, MaintenanceMode};
use crate::ipmi::devintf::errno::Errno;
use crate::ipmi::devintf::ioctl::Ioctl;
use crate::ipmi::devintf::layout::{
    self, Abi, ChannelLunAddressSet, CmdSpec, CmdSpecChans, IpmiRecv, IpmiReq, IpmiReqSettime,
    TimingParms,
};
use crate::ipmi::devintf::receive::{plan_receive, RecvHeader, RecvMode};
use crate::ipmi::devintf::send::{addr_copy_len, check_send};
use crate::ipmi::msg::MAX_MSG_LENGTH;
use core::mem::MaybeUninit;
use kernel::prelude::*;
use kernel::uaccess::{UserPtr, UserSlice};

/// The largest argument structure (`struct ipmi_req_settime`, native).
const MAX_ARG: usize = 48;

fn errno(e: Errno) -> Error {
    Error::from_errno(-e.number())
}

/// `len` bytes of user memory at `addr`, into the front of a buffer.
/// `len` bytes of user memory at `addr` (a pointer the core decoded).
fn user_slice(addr: u64, len: usize) -> Result<UserSlice> {
    let ptr = UserPtr::from_addr(usize::try_from(addr).map_err(|_| EFAULT)?);
    Ok(UserSlice::new(ptr, len))
}

fn copy_in(addr: u64, len: usize, buf: &mut [u8]) -> Result<()> {
    let dst = buf.get_mut(..len).ok_or(EINVAL)?;
    user_slice(addr, len)?.reader().read_slice(dst)
}

fn copy_out(addr: u64, bytes: &[u8]) -> Result<()> {
    user_slice(addr, bytes.len())?.writer().write_slice(bytes)
}

fn read_arg<const N: usize>(arg: usize) -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    copy_in(arg as u64, N, &mut buf)?;
    Ok(buf)
}

/// Runs ioctl `cmd` on `file`; `compat` when a 32-bit process called.
pub(crate) fn dispatch(file: &DevFile, cmd: u32, arg: usize, compat: bool) -> Result {
    let (ioctl, abi) = Ioctl::decode_with_abi(cmd, compat).ok_or(ENOTTY)?;
    match ioctl {
        Ioctl::SendCommand => {
            let mut buf = [0u8; MAX_ARG];
            copy_in(arg as u64, IpmiReq::size(abi), &mut buf)?;
            let req = IpmiReq::decode(&buf, abi).map_err(errno)?;
            let timing = *file.timing.lock();
            send(file, &req, timing)
        }
        Ioctl::SendCommandSettime => {
            let mut buf = [0u8; MAX_ARG];
            copy_in(arg as u64, IpmiReqSettime::size(abi), &mut buf)?;
            let st = IpmiReqSettime::decode(&buf, abi).map_err(errno)?;
            send(file, &st.req, st.timing)
        }
        Ioctl::ReceiveMsg | Ioctl::ReceiveMsgTrunc => {
            let mode = RecvMode::of(ioctl).ok_or(ENOTTY)?;
            receive(file, mode, arg as u64, abi)
        }
        Ioctl::RegisterForCmd | Ioctl::UnregisterForCmd => {
            let spec = CmdSpec::decode(&read_arg::<{ CmdSpec::SIZE }>(arg)?).map_err(errno)?;
            register(file, ioctl == Ioctl::RegisterForCmd, spec.into())
        }
        Ioctl::RegisterForCmdChans | Ioctl::UnregisterForCmdChans => {
            let spec =
                CmdSpecChans::decode(&read_arg::<{ CmdSpecChans::SIZE }>(arg)?).map_err(errno)?;
            register(file, ioctl == Ioctl::RegisterForCmdChans, spec.into())
        }
        Ioctl::SetGetsEvents => {
            let on = layout::decode_int(&read_arg::<{ layout::INT_SIZE }>(arg)?).map_err(errno)?;
            file.user.set_gets_events(control::gets_events(on))
        }
        Ioctl::SetMyAddress => {
            let v = layout::decode_uint(&read_arg::<{ layout::INT_SIZE }>(arg)?).map_err(errno)?;
            file.user.set_my_address(0, control::slave_address(v))
        }
        Ioctl::GetMyAddress => {
            let v = file.user.my_address(0)?;
            put_uint(arg, u32::from(v))
        }
        Ioctl::SetMyLun => {
            let v = layout::decode_uint(&read_arg::<{ layout::INT_SIZE }>(arg)?).map_err(errno)?;
            file.user.set_my_lun(0, control::lun(v))
        }
        Ioctl::GetMyLun => {
            let v = file.user.my_lun(0)?;
            put_uint(arg, u32::from(v))
        }
        Ioctl::SetMyChannelAddress | Ioctl::SetMyChannelLun => {
            let set =
                ChannelLunAddressSet::decode(&read_arg::<{ ChannelLunAddressSet::SIZE }>(arg)?)
                    .map_err(errno)?;
            // The handler checks the channel (>= 16: -EINVAL).
            let channel = u32::from(set.channel);
            if ioctl == Ioctl::SetMyChannelAddress {
                file.user.set_my_address(channel, set.value)
            } else {
                file.user.set_my_lun(channel, set.value)
            }
        }
        Ioctl::GetMyChannelAddress | Ioctl::GetMyChannelLun => {
            let mut set =
                ChannelLunAddressSet::decode(&read_arg::<{ ChannelLunAddressSet::SIZE }>(arg)?)
                    .map_err(errno)?;
            let channel = u32::from(set.channel);
            set.value = if ioctl == Ioctl::GetMyChannelAddress {
                file.user.my_address(channel)?
            } else {
                file.user.my_lun(channel)?
            };
            let mut out = [0u8; ChannelLunAddressSet::SIZE];
            set.encode(&mut out).ok_or(EINVAL)?;
            copy_out(arg as u64, &out)
        }
        Ioctl::SetTimingParms => {
            let t = TimingParms::decode(&read_arg::<{ TimingParms::SIZE }>(arg)?).map_err(errno)?;
            *file.timing.lock() = t;
            Ok(())
        }
        Ioctl::GetTimingParms => {
            let t = *file.timing.lock();
            let mut out = [0u8; TimingParms::SIZE];
            t.encode(&mut out).ok_or(EINVAL)?;
            copy_out(arg as u64, &out)
        }
        Ioctl::GetMaintenanceMode => {
            let mode = file.user.maintenance_mode();
            let mut out = [0u8; layout::INT_SIZE];
            layout::encode_int(mode, &mut out).ok_or(EINVAL)?;
            copy_out(arg as u64, &out)
        }
        Ioctl::SetMaintenanceMode => {
            let raw = layout::decode_int(&read_arg::<{ layout::INT_SIZE }>(arg)?).map_err(errno)?;
            // Checked here as upstream's handler checks it, so the answer
            // is the same whichever handler is loaded.
            let mode = MaintenanceMode::from_raw(raw).map_err(errno)?;
            file.user.set_maintenance_mode(mode.raw())
        }
    }
}

fn put_uint(arg: usize, v: u32) -> Result {
    let mut out = [0u8; layout::INT_SIZE];
    layout::encode_uint(v, &mut out).ok_or(EINVAL)?;
    copy_out(arg as u64, &out)
}

fn register(file: &DevFile, on: bool, r: CmdRegistration) -> Result {
    if on {
        file.user.register_for_cmd(r.netfn, r.cmd, r.chans)
    } else {
        file.user.unregister_for_cmd(r.netfn, r.cmd, r.chans)
    }
}

/// SEND_COMMAND(_SETTIME): upstream's checks in upstream's order, then the
/// handler's own.
fn send(file: &DevFile, req: &IpmiReq, timing: TimingParms) -> Result {
    let addr_len = addr_copy_len(req).map_err(errno)?;
    let mut addr = [0u8; MAX_ADDR_LEN];
    copy_in(req.addr, addr_len, &mut addr)?;
    let plan = check_send(req, &addr).map_err(errno)?;
    // Not zeroed first: only the `data_len` bytes copied in are ever read
    // (by the handler, which copies them), and zeroing 272 bytes per
    // request showed in the benchmark.
    let mut body = [MaybeUninit::<u8>::uninit(); MAX_MSG_LENGTH];
    if plan.data_len > 0 {
        let dst = body.get_mut(..plan.data_len).ok_or(EMSGSIZE)?;
        user_slice(plan.data, plan.data_len)?
            .reader()
            .read_raw(dst)?;
    }
    let mut c_addr = c_addr_from_bytes(&addr);
    let mut msg = bindings::kernel_ipmi_msg {
        netfn: plan.netfn,
        cmd: plan.cmd,
        data_len: u16::try_from(plan.data_len).map_err(|_| EMSGSIZE)?,
        // The handler reads `data_len` bytes, all written by `read_raw`.
        data: body.as_mut_ptr().cast::<u8>(),
    };
    // SAFETY: no per-request data: every answer is queued for the file
    // whatever request it answers.
    unsafe {
        file.user.request_raw(
            &mut c_addr,
            plan.msgid as isize,
            &mut msg,
            core::ptr::null_mut(),
            timing.retries,
            timing.retry_time_ms,
        )
    }
}

/// RECEIVE_MSG(_TRUNC): the head message is lent out of the queue (its
/// place kept), copied to the caller without the queue's lock, and only
/// then consumed; a failed copy puts it back first in line, untouched, so
/// a bad user pointer loses nothing (upstream puts back a message it
/// already truncated).
fn receive(file: &DevFile, mode: RecvMode, arg: u64, abi: Abi) -> Result {
    let mut buf = [0u8; MAX_ARG];
    copy_in(arg, IpmiRecv::size(abi), &mut buf)?;
    let caller = IpmiRecv::decode(&buf, abi).map_err(errno)?;

    // One reader at a time: the lent message stays the head until it is
    // returned or consumed.
    let _one_reader = file.recv_lock.lock();
    let Some(msg) = file.inbox.queue.lock().lend_head() else {
        return Err(EAGAIN);
    };
    let result = deliver(&msg, mode, arg, abi, &caller);
    let mut queue = file.inbox.queue.lock();
    match result {
        Ok(delivered) => {
            queue.consume_head();
            drop(queue);
            // Freed outside the lock.
            drop(msg);
            delivered
        }
        Err(e) => {
            if let Err(msg) = queue.return_head(msg) {
                // Cannot happen (the head's place was kept); never lose
                // silently if it did.
                drop(queue);
                pr_err!("receive: lent message could not go back\n");
                drop(msg);
            }
            Err(e)
        }
    }
}

/// Copies `msg` to the caller. `Err` leaves the message where it was;
/// `Ok(result)` consumes it, with the ioctl's result (`-EMSGSIZE` after a
/// truncating receive).
fn deliver(msg: &RecvMsg, mode: RecvMode, arg: u64, abi: Abi, caller: &IpmiRecv) -> Result<Result> {
    let (addr, addr_len) = msg.typed_addr();
    let data = msg.data();
    let head = RecvHeader {
        recv_type: msg.recv_type(),
        addr_len,
        msgid: msg.msgid() as i64,
        netfn: msg.netfn(),
        cmd: msg.cmd(),
        data_len: data.len(),
    };
    let plan = plan_receive(mode, Some(&head), caller).map_err(errno)?;
    let d = plan.delivery;
    copy_out(caller.addr, addr.get(..d.addr_len as usize).ok_or(EINVAL)?)?;
    let data_len = usize::from(d.data_len).min(data.len());
    if data_len > 0 {
        copy_out(caller.msg.data, data.get(..data_len).ok_or(EINVAL)?)?;
    }
    let mut out = [0u8; MAX_ARG];
    let n = plan.reply.encode(abi, &mut out).ok_or(EINVAL)?;
    copy_out(arg, out.get(..n).ok_or(EINVAL)?)?;
    Ok(d.result().map_err(errno))
}
