// SPDX-License-Identifier: GPL-2.0

//! The ioctl argument structures of uapi/linux/ipmi.h, read from and written
//! to the raw bytes the kernel copies from and to user space.
//!
//! Two ABIs reach the device: the native one (LP64: 8-byte pointers and
//! `long`, each field aligned to its size) and, on a 64-bit kernel, the
//! 32-bit compat one (ILP32 i386: 4-byte pointers and `long`, nothing
//! aligned beyond 4). Only `ipmi_msg`, `ipmi_req`, `ipmi_req_settime` and
//! `ipmi_recv` differ; the other arguments have one layout.
//!
//! Fields are in the machine's byte order (little endian on x86-64), as the
//! process wrote them. User pointers come out as plain `u64` values for the
//! kernel to turn into its user-pointer type; they are never dereferenced
//! here. Encoding writes every byte of the structure, padding included, so
//! nothing uninitialised can reach user space.

use super::errno::Errno;

/// Which ABI the calling process uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Abi {
    /// The kernel's own (LP64 on x86-64).
    Native,
    /// A 32-bit process on a 64-bit kernel (`compat_ioctl`).
    Compat,
}

impl Abi {
    /// The ABI of a call that came through `compat_ioctl` (`true`) or
    /// `unlocked_ioctl` (`false`).
    pub const fn from_compat(compat: bool) -> Abi {
        if compat {
            Abi::Compat
        } else {
            Abi::Native
        }
    }
}

/// Size of an `int` or `unsigned int` argument, the same in both ABIs.
pub const INT_SIZE: usize = 4;

fn read<const W: usize>(bytes: &[u8], offset: usize) -> Result<[u8; W], Errno> {
    let end = offset.checked_add(W).ok_or(Errno::Fault)?;
    bytes
        .get(offset..end)
        .and_then(|b| <[u8; W]>::try_from(b).ok())
        .ok_or(Errno::Fault)
}

fn write(out: &mut [u8], offset: usize, value: &[u8]) -> Option<()> {
    let end = offset.checked_add(value.len())?;
    out.get_mut(offset..end)?.copy_from_slice(value);
    Some(())
}

/// Checks that `bytes` hold a whole structure of `size` bytes: a short
/// buffer means the copy from user space failed, hence `EFAULT`.
fn need(bytes: &[u8], size: usize) -> Result<(), Errno> {
    if bytes.len() < size {
        Err(Errno::Fault)
    } else {
        Ok(())
    }
}

/// Zeroes the first `size` bytes of `out` and gives them back, or `None` if
/// `out` is shorter.
fn blank(out: &mut [u8], size: usize) -> Option<&mut [u8]> {
    let out = out.get_mut(..size)?;
    out.fill(0);
    Some(out)
}

fn read_u16(bytes: &[u8], offset: usize) -> Result<u16, Errno> {
    read(bytes, offset).map(u16::from_ne_bytes)
}

fn read_u32(bytes: &[u8], offset: usize) -> Result<u32, Errno> {
    read(bytes, offset).map(u32::from_ne_bytes)
}

fn read_i32(bytes: &[u8], offset: usize) -> Result<i32, Errno> {
    read(bytes, offset).map(i32::from_ne_bytes)
}

fn read_u8(bytes: &[u8], offset: usize) -> Result<u8, Errno> {
    read::<1>(bytes, offset).map(|[b]| b)
}

/// A user pointer: 8 bytes natively; 4 in compat, zero-extended as
/// `compat_ptr()` does.
fn read_ptr(bytes: &[u8], offset: usize, abi: Abi) -> Result<u64, Errno> {
    match abi {
        Abi::Native => read(bytes, offset).map(u64::from_ne_bytes),
        Abi::Compat => read_u32(bytes, offset).map(u64::from),
    }
}

/// A `long`: 8 bytes natively; 4 in compat, sign-extended as the compat
/// path's `long = compat_long_t` assignment does.
fn read_long(bytes: &[u8], offset: usize, abi: Abi) -> Result<i64, Errno> {
    match abi {
        Abi::Native => read(bytes, offset).map(i64::from_ne_bytes),
        Abi::Compat => read_i32(bytes, offset).map(i64::from),
    }
}

fn write_ptr(out: &mut [u8], offset: usize, abi: Abi, ptr: u64) -> Option<()> {
    match abi {
        Abi::Native => write(out, offset, &ptr.to_ne_bytes()),
        // ptr_to_compat() keeps the low 32 bits; a pointer that came from a
        // compat structure always fits.
        Abi::Compat => write(out, offset, &(ptr as u32).to_ne_bytes()),
    }
}

fn write_long(out: &mut [u8], offset: usize, abi: Abi, value: i64) -> Option<()> {
    match abi {
        Abi::Native => write(out, offset, &value.to_ne_bytes()),
        // The compat copy-out assigns the long to a compat_long_t, keeping
        // the low 32 bits; a msgid that came in through compat round-trips.
        Abi::Compat => write(out, offset, &(value as i32).to_ne_bytes()),
    }
}

/// `struct ipmi_msg` as user space passes it: the body lives behind `data`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpmiMsg {
    /// Network function.
    pub netfn: u8,
    /// Command.
    pub cmd: u8,
    /// Length of the body (or of the caller's buffer, on receive).
    pub data_len: u16,
    /// User pointer to the body.
    pub data: u64,
}

impl IpmiMsg {
    /// Size of the structure.
    pub const fn size(abi: Abi) -> usize {
        match abi {
            Abi::Native => 16,
            Abi::Compat => 8,
        }
    }

    const fn data_offset(abi: Abi) -> usize {
        match abi {
            Abi::Native => 8,
            Abi::Compat => 4,
        }
    }

    fn decode_at(bytes: &[u8], base: usize, abi: Abi) -> Result<IpmiMsg, Errno> {
        let at = |offset: usize| base.checked_add(offset).ok_or(Errno::Fault);
        Ok(IpmiMsg {
            netfn: read_u8(bytes, base)?,
            cmd: read_u8(bytes, at(1)?)?,
            data_len: read_u16(bytes, at(2)?)?,
            data: read_ptr(bytes, at(IpmiMsg::data_offset(abi))?, abi)?,
        })
    }

    fn encode_at(&self, out: &mut [u8], base: usize, abi: Abi) -> Option<()> {
        write(out, base, &[self.netfn, self.cmd])?;
        write(out, base.checked_add(2)?, &self.data_len.to_ne_bytes())?;
        write_ptr(
            out,
            base.checked_add(IpmiMsg::data_offset(abi))?,
            abi,
            self.data,
        )
    }
}

/// `struct ipmi_req`, the argument of `IPMICTL_SEND_COMMAND`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpmiReq {
    /// User pointer to the destination `struct ipmi_addr`.
    pub addr: u64,
    /// Length of the address.
    pub addr_len: u32,
    /// Caller's tag, echoed in the response (the sequence number when
    /// the message is a response to a received command).
    pub msgid: i64,
    /// The message.
    pub msg: IpmiMsg,
}

impl IpmiReq {
    /// Size of the structure.
    pub const fn size(abi: Abi) -> usize {
        match abi {
            Abi::Native => 40,
            Abi::Compat => 20,
        }
    }

    /// Offsets of `addr_len`, `msgid` and `msg`.
    const fn offsets(abi: Abi) -> (usize, usize, usize) {
        match abi {
            Abi::Native => (8, 16, 24),
            Abi::Compat => (4, 8, 12),
        }
    }

    /// Reads the structure; `EFAULT` if `bytes` is shorter than it.
    pub fn decode(bytes: &[u8], abi: Abi) -> Result<IpmiReq, Errno> {
        need(bytes, IpmiReq::size(abi))?;
        let (addr_len, msgid, msg) = IpmiReq::offsets(abi);
        Ok(IpmiReq {
            addr: read_ptr(bytes, 0, abi)?,
            addr_len: read_u32(bytes, addr_len)?,
            msgid: read_long(bytes, msgid, abi)?,
            msg: IpmiMsg::decode_at(bytes, msg, abi)?,
        })
    }

    /// Writes the structure, padding zeroed, and returns its size; `None`
    /// if `out` is too short.
    pub fn encode(&self, abi: Abi, out: &mut [u8]) -> Option<usize> {
        let size = IpmiReq::size(abi);
        let out = blank(out, size)?;
        let (addr_len, msgid, msg) = IpmiReq::offsets(abi);
        write_ptr(out, 0, abi, self.addr)?;
        write(out, addr_len, &self.addr_len.to_ne_bytes())?;
        write_long(out, msgid, abi, self.msgid)?;
        self.msg.encode_at(out, msg, abi)?;
        Some(size)
    }
}

/// `struct ipmi_timing_parms`: retries and retry time, per file
/// (`IPMICTL_SET/GET_TIMING_PARMS_CMD`) or per request (inside
/// `ipmi_req_settime`). One layout for both ABIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimingParms {
    /// Retries; negative means the handler's default.
    pub retries: i32,
    /// Time between retries in ms; 0 means the handler's default.
    pub retry_time_ms: u32,
}

impl TimingParms {
    /// What a newly opened file uses: the handler's defaults for both
    /// (`ipmi_open()` sets -1 and 0).
    pub const FILE_DEFAULT: TimingParms = TimingParms {
        retries: -1,
        retry_time_ms: 0,
    };

    /// Size of the structure.
    pub const SIZE: usize = 8;

    /// Reads the structure; `EFAULT` if `bytes` is shorter than it.
    ///
    /// Any values are accepted: upstream stores them unchecked and the
    /// handler reads a negative count or a zero time as "default".
    pub fn decode(bytes: &[u8]) -> Result<TimingParms, Errno> {
        TimingParms::decode_at(bytes, 0)
    }

    fn decode_at(bytes: &[u8], base: usize) -> Result<TimingParms, Errno> {
        let end = base.checked_add(TimingParms::SIZE).ok_or(Errno::Fault)?;
        need(bytes, end)?;
        Ok(TimingParms {
            retries: read_i32(bytes, base)?,
            retry_time_ms: read_u32(bytes, base.checked_add(4).ok_or(Errno::Fault)?)?,
        })
    }

    /// Writes the structure and returns its size; `None` if `out` is short.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let out = blank(out, TimingParms::SIZE)?;
        self.encode_at(out, 0)?;
        Some(TimingParms::SIZE)
    }

    fn encode_at(&self, out: &mut [u8], base: usize) -> Option<()> {
        write(out, base, &self.retries.to_ne_bytes())?;
        write(out, base.checked_add(4)?, &self.retry_time_ms.to_ne_bytes())
    }
}

/// `struct ipmi_req_settime`, the argument of `IPMICTL_SEND_COMMAND_SETTIME`:
/// a request with its own timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpmiReqSettime {
    /// The request.
    pub req: IpmiReq,
    /// Retries and retry time for this request only.
    pub timing: TimingParms,
}

impl IpmiReqSettime {
    /// Size of the structure (the timing follows the request unpadded).
    pub const fn size(abi: Abi) -> usize {
        match abi {
            Abi::Native => 48,
            Abi::Compat => 28,
        }
    }

    /// Reads the structure; `EFAULT` if `bytes` is shorter than it.
    pub fn decode(bytes: &[u8], abi: Abi) -> Result<IpmiReqSettime, Errno> {
        need(bytes, IpmiReqSettime::size(abi))?;
        Ok(IpmiReqSettime {
            req: IpmiReq::decode(bytes, abi)?,
            timing: TimingParms::decode_at(bytes, IpmiReq::size(abi))?,
        })
    }

    /// Writes the structure, padding zeroed, and returns its size; `None`
    /// if `out` is too short.
    pub fn encode(&self, abi: Abi, out: &mut [u8]) -> Option<usize> {
        let size = IpmiReqSettime::size(abi);
        let out = blank(out, size)?;
        self.req.encode(abi, out)?;
        self.timing.encode_at(out, IpmiReq::size(abi))?;
        Some(size)
    }
}

/// `struct ipmi_recv`, the argument of `IPMICTL_RECEIVE_MSG(_TRUNC)`: the
/// caller's buffers on the way in, the delivered message on the way out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpmiRecv {
    /// Kind of message (`IPMI_*_RECV_TYPE`); output only.
    pub recv_type: i32,
    /// User pointer to the caller's address buffer.
    pub addr: u64,
    /// Size of that buffer in; length of the delivered address out.
    pub addr_len: u32,
    /// The request's msgid for a response; the remote sequence number for
    /// a received command. Output only.
    pub msgid: i64,
    /// The caller's data buffer (`data`, `data_len` = its size) in; the
    /// delivered netfn, cmd and body length out.
    pub msg: IpmiMsg,
}

impl IpmiRecv {
    /// Size of the structure.
    pub const fn size(abi: Abi) -> usize {
        match abi {
            Abi::Native => 48,
            Abi::Compat => 24,
        }
    }

    /// Offsets of `addr`, `addr_len`, `msgid` and `msg`.
    const fn offsets(abi: Abi) -> (usize, usize, usize, usize) {
        match abi {
            Abi::Native => (8, 16, 24, 32),
            Abi::Compat => (4, 8, 12, 16),
        }
    }

    /// Reads the structure; `EFAULT` if `bytes` is shorter than it.
    pub fn decode(bytes: &[u8], abi: Abi) -> Result<IpmiRecv, Errno> {
        need(bytes, IpmiRecv::size(abi))?;
        let (addr, addr_len, msgid, msg) = IpmiRecv::offsets(abi);
        Ok(IpmiRecv {
            recv_type: read_i32(bytes, 0)?,
            addr: read_ptr(bytes, addr, abi)?,
            addr_len: read_u32(bytes, addr_len)?,
            msgid: read_long(bytes, msgid, abi)?,
            msg: IpmiMsg::decode_at(bytes, msg, abi)?,
        })
    }

    /// Writes the structure for copy-out, every padding byte zero, and
    /// returns its size; `None` if `out` is too short.
    pub fn encode(&self, abi: Abi, out: &mut [u8]) -> Option<usize> {
        let size = IpmiRecv::size(abi);
        let out = blank(out, size)?;
        let (addr, addr_len, msgid, msg) = IpmiRecv::offsets(abi);
        write(out, 0, &self.recv_type.to_ne_bytes())?;
        write_ptr(out, addr, abi, self.addr)?;
        write(out, addr_len, &self.addr_len.to_ne_bytes())?;
        write_long(out, msgid, abi, self.msgid)?;
        self.msg.encode_at(out, msg, abi)?;
        Some(size)
    }
}

/// `struct ipmi_cmdspec`, for `IPMICTL_(UN)REGISTER_FOR_CMD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmdSpec {
    /// Network function of the command to receive.
    pub netfn: u8,
    /// Command to receive.
    pub cmd: u8,
}

impl CmdSpec {
    /// Size of the structure.
    pub const SIZE: usize = 2;

    /// Reads the structure; `EFAULT` if `bytes` is shorter than it.
    pub fn decode(bytes: &[u8]) -> Result<CmdSpec, Errno> {
        let [netfn, cmd] = read(bytes, 0)?;
        Ok(CmdSpec { netfn, cmd })
    }

    /// Writes the structure and returns its size; `None` if `out` is short.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        write(out, 0, &[self.netfn, self.cmd])?;
        Some(CmdSpec::SIZE)
    }
}

/// `struct ipmi_cmdspec_chans`, for `IPMICTL_(UN)REGISTER_FOR_CMD_CHANS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmdSpecChans {
    /// Network function, as the caller wrote it (an `unsigned int`).
    pub netfn: u32,
    /// Command, as the caller wrote it (an `unsigned int`).
    pub cmd: u32,
    /// Bit mask of channels; [`CHAN_ALL`] for every one.
    pub chans: u32,
}

/// `IPMI_CHAN_ALL`: every channel, in a channel mask.
pub const CHAN_ALL: u32 = !0;

impl CmdSpecChans {
    /// Size of the structure.
    pub const SIZE: usize = 12;

    /// Reads the structure; `EFAULT` if `bytes` is shorter than it.
    pub fn decode(bytes: &[u8]) -> Result<CmdSpecChans, Errno> {
        Ok(CmdSpecChans {
            netfn: read_u32(bytes, 0)?,
            cmd: read_u32(bytes, 4)?,
            chans: read_u32(bytes, 8)?,
        })
    }

    /// Writes the structure and returns its size; `None` if `out` is short.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let out = blank(out, CmdSpecChans::SIZE)?;
        write(out, 0, &self.netfn.to_ne_bytes())?;
        write(out, 4, &self.cmd.to_ne_bytes())?;
        write(out, 8, &self.chans.to_ne_bytes())?;
        Some(CmdSpecChans::SIZE)
    }
}

/// `struct ipmi_channel_lun_address_set`, for the per-channel address and
/// LUN ioctls (in for all four, out again for the two GETs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelLunAddressSet {
    /// Channel number, checked against the handler's 16 channels.
    pub channel: u16,
    /// Slave address or LUN.
    pub value: u8,
}

impl ChannelLunAddressSet {
    /// Size of the structure (one byte of tail padding).
    pub const SIZE: usize = 4;

    /// Reads the structure; `EFAULT` if `bytes` is shorter than it.
    pub fn decode(bytes: &[u8]) -> Result<ChannelLunAddressSet, Errno> {
        need(bytes, ChannelLunAddressSet::SIZE)?;
        Ok(ChannelLunAddressSet {
            channel: read_u16(bytes, 0)?,
            value: read_u8(bytes, 2)?,
        })
    }

    /// Writes the structure, padding zeroed, and returns its size; `None`
    /// if `out` is too short.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let out = blank(out, ChannelLunAddressSet::SIZE)?;
        write(out, 0, &self.channel.to_ne_bytes())?;
        write(out, 2, &[self.value])?;
        Some(ChannelLunAddressSet::SIZE)
    }
}

/// Reads an `int` argument; `EFAULT` if `bytes` is shorter than 4.
pub fn decode_int(bytes: &[u8]) -> Result<i32, Errno> {
    read_i32(bytes, 0)
}

/// Reads an `unsigned int` argument; `EFAULT` if `bytes` is shorter than 4.
pub fn decode_uint(bytes: &[u8]) -> Result<u32, Errno> {
    read_u32(bytes, 0)
}

/// Writes an `int` argument and returns its size; `None` if `out` is short.
pub fn encode_int(value: i32, out: &mut [u8]) -> Option<usize> {
    write(out, 0, &value.to_ne_bytes())?;
    Some(INT_SIZE)
}

/// Writes an `unsigned int` argument and returns its size; `None` if `out`
/// is short.
pub fn encode_uint(value: u32, out: &mut [u8]) -> Option<usize> {
    write(out, 0, &value.to_ne_bytes())?;
    Some(INT_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ABIS: [Abi; 2] = [Abi::Native, Abi::Compat];

    fn put(buf: &mut [u8], offset: usize, value: &[u8]) {
        buf[offset..offset + value.len()].copy_from_slice(value);
    }

    /// The C structures as this (LP64) host lays them out, to check the
    /// native offsets against the compiler rather than only against us.
    #[cfg(target_pointer_width = "64")]
    mod c {
        #![allow(dead_code)]
        #[repr(C)]
        pub(super) struct IpmiMsg {
            pub(super) netfn: u8,
            pub(super) cmd: u8,
            pub(super) data_len: u16,
            pub(super) data: *mut u8,
        }
        #[repr(C)]
        pub(super) struct IpmiReq {
            pub(super) addr: *mut u8,
            pub(super) addr_len: u32,
            pub(super) msgid: i64,
            pub(super) msg: IpmiMsg,
        }
        #[repr(C)]
        pub(super) struct IpmiReqSettime {
            pub(super) req: IpmiReq,
            pub(super) retries: i32,
            pub(super) retry_time_ms: u32,
        }
        #[repr(C)]
        pub(super) struct IpmiRecv {
            pub(super) recv_type: i32,
            pub(super) addr: *mut u8,
            pub(super) addr_len: u32,
            pub(super) msgid: i64,
            pub(super) msg: IpmiMsg,
        }
        #[repr(C)]
        pub(super) struct ChannelLunAddressSet {
            pub(super) channel: u16,
            pub(super) value: u8,
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn native_layout_matches_the_compiler() {
        use core::mem::{offset_of, size_of};
        assert_eq!(size_of::<c::IpmiMsg>(), IpmiMsg::size(Abi::Native));
        assert_eq!(offset_of!(c::IpmiMsg, data), 8);
        assert_eq!(size_of::<c::IpmiReq>(), IpmiReq::size(Abi::Native));
        assert_eq!(offset_of!(c::IpmiReq, addr_len), 8);
        assert_eq!(offset_of!(c::IpmiReq, msgid), 16);
        assert_eq!(offset_of!(c::IpmiReq, msg), 24);
        assert_eq!(
            size_of::<c::IpmiReqSettime>(),
            IpmiReqSettime::size(Abi::Native)
        );
        assert_eq!(offset_of!(c::IpmiReqSettime, retries), 40);
        assert_eq!(offset_of!(c::IpmiReqSettime, retry_time_ms), 44);
        assert_eq!(size_of::<c::IpmiRecv>(), IpmiRecv::size(Abi::Native));
        assert_eq!(offset_of!(c::IpmiRecv, addr), 8);
        assert_eq!(offset_of!(c::IpmiRecv, addr_len), 16);
        assert_eq!(offset_of!(c::IpmiRecv, msgid), 24);
        assert_eq!(offset_of!(c::IpmiRecv, msg), 32);
        assert_eq!(
            size_of::<c::ChannelLunAddressSet>(),
            ChannelLunAddressSet::SIZE
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(IpmiMsg::size(Abi::Native), 16);
        assert_eq!(IpmiMsg::size(Abi::Compat), 8);
        assert_eq!(IpmiReq::size(Abi::Native), 40);
        assert_eq!(IpmiReq::size(Abi::Compat), 20);
        assert_eq!(IpmiReqSettime::size(Abi::Native), 48);
        assert_eq!(IpmiReqSettime::size(Abi::Compat), 28);
        assert_eq!(IpmiRecv::size(Abi::Native), 48);
        assert_eq!(IpmiRecv::size(Abi::Compat), 24);
        assert_eq!(CmdSpec::SIZE, 2);
        assert_eq!(CmdSpecChans::SIZE, 12);
        assert_eq!(ChannelLunAddressSet::SIZE, 4);
        assert_eq!(TimingParms::SIZE, 8);
        assert_eq!(INT_SIZE, 4);
    }

    #[test]
    fn native_req_offsets() {
        let mut b = [0xeeu8; 40];
        put(&mut b, 0, &0x7fff_1234_5678_9abcu64.to_ne_bytes());
        put(&mut b, 8, &12u32.to_ne_bytes());
        put(&mut b, 16, &(-5i64).to_ne_bytes());
        put(&mut b, 24, &[0x06, 0x01]);
        put(&mut b, 26, &3u16.to_ne_bytes());
        put(&mut b, 32, &0x7fff_0000_1000u64.to_ne_bytes());
        let req = IpmiReq::decode(&b, Abi::Native).unwrap();
        assert_eq!(
            req,
            IpmiReq {
                addr: 0x7fff_1234_5678_9abc,
                addr_len: 12,
                msgid: -5,
                msg: IpmiMsg {
                    netfn: 6,
                    cmd: 1,
                    data_len: 3,
                    data: 0x7fff_0000_1000
                },
            }
        );
        // Re-encoding zeroes the padding at 12..16 and 28..32.
        let mut out = [0xaau8; 40];
        assert_eq!(req.encode(Abi::Native, &mut out), Some(40));
        let mut expect = b;
        expect[12..16].fill(0);
        expect[28..32].fill(0);
        assert_eq!(out, expect);
    }

    #[test]
    fn compat_req_offsets_and_sign_extension() {
        let mut b = [0u8; 20];
        put(&mut b, 0, &0xffff_f000u32.to_ne_bytes());
        put(&mut b, 4, &8u32.to_ne_bytes());
        put(&mut b, 8, &(-2i32).to_ne_bytes());
        put(&mut b, 12, &[0x0a, 0x43]);
        put(&mut b, 14, &272u16.to_ne_bytes());
        put(&mut b, 16, &0x8000_0000u32.to_ne_bytes());
        let req = IpmiReq::decode(&b, Abi::Compat).unwrap();
        // Pointers are zero-extended, the long msgid sign-extended.
        assert_eq!(req.addr, 0xffff_f000);
        assert_eq!(req.addr_len, 8);
        assert_eq!(req.msgid, -2);
        assert_eq!(req.msg.netfn, 0x0a);
        assert_eq!(req.msg.cmd, 0x43);
        assert_eq!(req.msg.data_len, 272);
        assert_eq!(req.msg.data, 0x8000_0000);
        let mut out = [0xaau8; 20];
        assert_eq!(req.encode(Abi::Compat, &mut out), Some(20));
        assert_eq!(out, b);
    }

    #[test]
    fn settime_offsets() {
        let mut n = [0u8; 48];
        put(&mut n, 8, &8u32.to_ne_bytes());
        put(&mut n, 40, &(-1i32).to_ne_bytes());
        put(&mut n, 44, &5000u32.to_ne_bytes());
        let s = IpmiReqSettime::decode(&n, Abi::Native).unwrap();
        assert_eq!(s.req.addr_len, 8);
        assert_eq!(
            s.timing,
            TimingParms {
                retries: -1,
                retry_time_ms: 5000
            }
        );
        let mut out = [0xaau8; 48];
        assert_eq!(s.encode(Abi::Native, &mut out), Some(48));
        assert_eq!(out, n);

        let mut c = [0u8; 28];
        put(&mut c, 4, &8u32.to_ne_bytes());
        put(&mut c, 20, &3i32.to_ne_bytes());
        put(&mut c, 24, &250u32.to_ne_bytes());
        let s = IpmiReqSettime::decode(&c, Abi::Compat).unwrap();
        assert_eq!(s.req.addr_len, 8);
        assert_eq!(
            s.timing,
            TimingParms {
                retries: 3,
                retry_time_ms: 250
            }
        );
        let mut out = [0xaau8; 28];
        assert_eq!(s.encode(Abi::Compat, &mut out), Some(28));
        assert_eq!(out, c);
    }

    #[test]
    fn native_recv_offsets_and_zeroed_padding() {
        let recv = IpmiRecv {
            recv_type: 1,
            addr: 0x1111_2222_3333_4444,
            addr_len: 8,
            msgid: i64::MIN + 7,
            msg: IpmiMsg {
                netfn: 7,
                cmd: 1,
                data_len: 16,
                data: 0x5555_6666_7777_8888,
            },
        };
        let mut out = [0xffu8; 48];
        assert_eq!(recv.encode(Abi::Native, &mut out), Some(48));
        let mut expect = [0u8; 48];
        put(&mut expect, 0, &1i32.to_ne_bytes());
        put(&mut expect, 8, &0x1111_2222_3333_4444u64.to_ne_bytes());
        put(&mut expect, 16, &8u32.to_ne_bytes());
        put(&mut expect, 24, &(i64::MIN + 7).to_ne_bytes());
        put(&mut expect, 32, &[7, 1]);
        put(&mut expect, 34, &16u16.to_ne_bytes());
        put(&mut expect, 40, &0x5555_6666_7777_8888u64.to_ne_bytes());
        assert_eq!(out, expect);
        for pad in [4..8, 20..24, 36..40] {
            assert!(out[pad].iter().all(|&b| b == 0));
        }
        assert_eq!(IpmiRecv::decode(&out, Abi::Native), Ok(recv));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn native_recv_bytes_on_x86_64() {
        let recv = IpmiRecv {
            recv_type: 2,
            addr: 0x0102_0304_0506_0708,
            addr_len: 12,
            msgid: -1,
            msg: IpmiMsg {
                netfn: 0x2c,
                cmd: 0x10,
                data_len: 0x0110,
                data: 0x1122_3344_5566_7788,
            },
        };
        let mut out = [0u8; 48];
        recv.encode(Abi::Native, &mut out).unwrap();
        #[rustfmt::skip]
        let expect: [u8; 48] = [
            2, 0, 0, 0, 0, 0, 0, 0,
            8, 7, 6, 5, 4, 3, 2, 1,
            12, 0, 0, 0, 0, 0, 0, 0,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0x2c, 0x10, 0x10, 0x01, 0, 0, 0, 0,
            0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
        ];
        assert_eq!(out, expect);
    }

    #[test]
    fn compat_recv_offsets_and_truncation() {
        let mut b = [0u8; 24];
        put(&mut b, 0, &3i32.to_ne_bytes());
        put(&mut b, 4, &0xdead_b000u32.to_ne_bytes());
        put(&mut b, 8, &40u32.to_ne_bytes());
        put(&mut b, 12, &(-100i32).to_ne_bytes());
        put(&mut b, 16, &[0x0c, 0x22]);
        put(&mut b, 18, &1024u16.to_ne_bytes());
        put(&mut b, 20, &0xc000_0000u32.to_ne_bytes());
        let recv = IpmiRecv::decode(&b, Abi::Compat).unwrap();
        assert_eq!(recv.recv_type, 3);
        assert_eq!(recv.addr, 0xdead_b000);
        assert_eq!(recv.addr_len, 40);
        assert_eq!(recv.msgid, -100);
        assert_eq!(recv.msg.data_len, 1024);
        assert_eq!(recv.msg.data, 0xc000_0000);
        let mut out = [0xaau8; 24];
        assert_eq!(recv.encode(Abi::Compat, &mut out), Some(24));
        assert_eq!(out, b);
        // A 64-bit msgid keeps its low 32 bits, as copyout_recv32() does.
        let wide = IpmiRecv {
            msgid: 0x1_0000_0005,
            ..recv
        };
        wide.encode(Abi::Compat, &mut out).unwrap();
        assert_eq!(&out[12..16], &5i32.to_ne_bytes());
    }

    #[test]
    fn small_structures() {
        assert_eq!(
            CmdSpec::decode(&[0x06, 0x34]),
            Ok(CmdSpec {
                netfn: 6,
                cmd: 0x34
            })
        );
        let mut out = [0u8; 2];
        assert_eq!(CmdSpec { netfn: 1, cmd: 2 }.encode(&mut out), Some(2));
        assert_eq!(out, [1, 2]);

        let mut b = [0u8; 12];
        put(&mut b, 0, &0x40u32.to_ne_bytes());
        put(&mut b, 4, &0x22u32.to_ne_bytes());
        put(&mut b, 8, &CHAN_ALL.to_ne_bytes());
        let chans = CmdSpecChans::decode(&b).unwrap();
        assert_eq!(
            chans,
            CmdSpecChans {
                netfn: 0x40,
                cmd: 0x22,
                chans: CHAN_ALL
            }
        );
        let mut out = [0xaau8; 12];
        assert_eq!(chans.encode(&mut out), Some(12));
        assert_eq!(out, b);

        let mut b = [0u8; 4];
        put(&mut b, 0, &7u16.to_ne_bytes());
        b[2] = 0x20;
        b[3] = 0x99; // the caller's padding byte
        let set = ChannelLunAddressSet::decode(&b).unwrap();
        assert_eq!(
            set,
            ChannelLunAddressSet {
                channel: 7,
                value: 0x20
            }
        );
        let mut out = [0xaau8; 4];
        assert_eq!(set.encode(&mut out), Some(4));
        b[3] = 0;
        assert_eq!(out, b);

        let mut out = [0xaau8; 8];
        assert_eq!(TimingParms::FILE_DEFAULT.encode(&mut out), Some(8));
        assert_eq!(&out[..4], &(-1i32).to_ne_bytes());
        assert_eq!(&out[4..], &0u32.to_ne_bytes());
        assert_eq!(TimingParms::decode(&out), Ok(TimingParms::FILE_DEFAULT));

        let mut out = [0u8; 4];
        assert_eq!(encode_int(-3, &mut out), Some(4));
        assert_eq!(decode_int(&out), Ok(-3));
        assert_eq!(encode_uint(0x20, &mut out), Some(4));
        assert_eq!(decode_uint(&out), Ok(0x20));
    }

    #[test]
    fn short_buffers_are_efault_and_short_outputs_none() {
        for abi in ABIS {
            let b = [0u8; 64];
            let n = IpmiReq::size(abi);
            assert_eq!(IpmiReq::decode(&b[..n - 1], abi), Err(Errno::Fault));
            let n = IpmiReqSettime::size(abi);
            assert_eq!(IpmiReqSettime::decode(&b[..n - 1], abi), Err(Errno::Fault));
            let n = IpmiRecv::size(abi);
            assert_eq!(IpmiRecv::decode(&b[..n - 1], abi), Err(Errno::Fault));
            let mut out = [0u8; 64];
            assert_eq!(IpmiRecv::default().encode(abi, &mut out[..n - 1]), None);
            assert_eq!(IpmiReq::default().encode(abi, &mut out[..3]), None);
        }
        assert_eq!(CmdSpec::decode(&[1]), Err(Errno::Fault));
        assert_eq!(CmdSpecChans::decode(&[0; 11]), Err(Errno::Fault));
        assert_eq!(ChannelLunAddressSet::decode(&[0; 3]), Err(Errno::Fault));
        assert_eq!(TimingParms::decode(&[0; 7]), Err(Errno::Fault));
        assert_eq!(decode_int(&[0; 3]), Err(Errno::Fault));
        assert_eq!(decode_uint(&[]), Err(Errno::Fault));
        assert_eq!(encode_int(0, &mut [0; 3]), None);
        assert_eq!(encode_uint(0, &mut [0; 3]), None);
        assert_eq!(TimingParms::FILE_DEFAULT.encode(&mut [0; 7]), None);
        assert_eq!(CmdSpec { netfn: 0, cmd: 0 }.encode(&mut [0; 1]), None);
    }

    fn abi() -> impl Strategy<Value = Abi> {
        prop_oneof![Just(Abi::Native), Just(Abi::Compat)]
    }

    fn ipmi_msg(abi: Abi) -> impl Strategy<Value = IpmiMsg> {
        let data = match abi {
            Abi::Native => any::<u64>().boxed(),
            Abi::Compat => any::<u32>().prop_map(u64::from).boxed(),
        };
        (any::<u8>(), any::<u8>(), any::<u16>(), data).prop_map(|(netfn, cmd, data_len, data)| {
            IpmiMsg {
                netfn,
                cmd,
                data_len,
                data,
            }
        })
    }

    /// Pointers and longs that the ABI can carry.
    fn ptr_long(abi: Abi) -> BoxedStrategy<(u64, i64)> {
        match abi {
            Abi::Native => (any::<u64>(), any::<i64>()).boxed(),
            Abi::Compat => (any::<u32>(), any::<i32>())
                .prop_map(|(p, l)| (u64::from(p), i64::from(l)))
                .boxed(),
        }
    }

    fn ipmi_recv() -> impl Strategy<Value = (Abi, IpmiRecv)> {
        abi().prop_flat_map(|abi| {
            (
                Just(abi),
                any::<i32>(),
                ptr_long(abi),
                any::<u32>(),
                ipmi_msg(abi),
            )
                .prop_map(|(abi, recv_type, (addr, msgid), addr_len, msg)| {
                    (
                        abi,
                        IpmiRecv {
                            recv_type,
                            addr,
                            addr_len,
                            msgid,
                            msg,
                        },
                    )
                })
        })
    }

    fn ipmi_req_settime() -> impl Strategy<Value = (Abi, IpmiReqSettime)> {
        abi().prop_flat_map(|abi| {
            (
                Just(abi),
                ptr_long(abi),
                any::<u32>(),
                ipmi_msg(abi),
                any::<i32>(),
                any::<u32>(),
            )
                .prop_map(
                    |(abi, (addr, msgid), addr_len, msg, retries, retry_time_ms)| {
                        (
                            abi,
                            IpmiReqSettime {
                                req: IpmiReq {
                                    addr,
                                    addr_len,
                                    msgid,
                                    msg,
                                },
                                timing: TimingParms {
                                    retries,
                                    retry_time_ms,
                                },
                            },
                        )
                    },
                )
        })
    }

    proptest! {
        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), abi in abi()) {
            let recv = IpmiRecv::decode(&bytes, abi);
            prop_assert_eq!(recv.is_ok(), bytes.len() >= IpmiRecv::size(abi));
            let req = IpmiReq::decode(&bytes, abi);
            prop_assert_eq!(req.is_ok(), bytes.len() >= IpmiReq::size(abi));
            let settime = IpmiReqSettime::decode(&bytes, abi);
            prop_assert_eq!(settime.is_ok(), bytes.len() >= IpmiReqSettime::size(abi));
            prop_assert_eq!(CmdSpec::decode(&bytes).is_ok(), bytes.len() >= CmdSpec::SIZE);
            prop_assert_eq!(CmdSpecChans::decode(&bytes).is_ok(), bytes.len() >= CmdSpecChans::SIZE);
            prop_assert_eq!(ChannelLunAddressSet::decode(&bytes).is_ok(), bytes.len() >= ChannelLunAddressSet::SIZE);
            prop_assert_eq!(TimingParms::decode(&bytes).is_ok(), bytes.len() >= TimingParms::SIZE);
            prop_assert_eq!(decode_int(&bytes).is_ok(), bytes.len() >= INT_SIZE);
            // Whatever was read encodes back to the same bytes, but for padding.
            if let Ok(recv) = recv {
                let mut out = [0u8; 48];
                let n = recv.encode(abi, &mut out).unwrap();
                prop_assert_eq!(IpmiRecv::decode(&out[..n], abi), Ok(recv));
            }
        }

        #[test]
        fn recv_round_trips_with_padding_zeroed((abi, recv) in ipmi_recv(), fill in any::<u8>()) {
            let mut out = [fill; 64];
            let n = recv.encode(abi, &mut out).unwrap();
            prop_assert_eq!(n, IpmiRecv::size(abi));
            prop_assert_eq!(IpmiRecv::decode(&out[..n], abi), Ok(recv));
            // The padding holds zeros, not what the buffer held before.
            let padding: &[core::ops::Range<usize>] = match abi {
                Abi::Native => &[4..8, 20..24, 36..40],
                Abi::Compat => &[],
            };
            for pad in padding {
                prop_assert!(out[pad.clone()].iter().all(|&b| b == 0));
            }
            // And nothing beyond it is touched.
            prop_assert!(out[n..].iter().all(|&b| b == fill));
        }

        #[test]
        fn settime_round_trips((abi, s) in ipmi_req_settime()) {
            let mut out = [0u8; 48];
            let n = s.encode(abi, &mut out).unwrap();
            prop_assert_eq!(n, IpmiReqSettime::size(abi));
            prop_assert_eq!(IpmiReqSettime::decode(&out[..n], abi), Ok(s));
            prop_assert_eq!(IpmiReq::decode(&out[..n], abi), Ok(s.req));
        }
    }
}
