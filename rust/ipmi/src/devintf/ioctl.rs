// SPDX-License-Identifier: GPL-2.0

//! The `IPMICTL_*` ioctl numbers, native and compat.
//!
//! Numbers are built as `_IOC(dir, 'i', nr, size)` with the generic
//! encoding (x86 and most architectures): nr in bits 0-7, type in 8-15,
//! argument size in 16-29, direction in 30-31. The direction bits are
//! historic and often wrong (most SET commands are `_IOR`, and
//! `GET_MAINTENANCE_MODE` is `_IOR` while `SET` is `_IOW`); they are part of
//! the number, so they are kept exactly, but what the device really copies
//! is given by [`Ioctl::reads_arg`] and [`Ioctl::writes_arg`].

use super::layout::{
    Abi, ChannelLunAddressSet, CmdSpec, CmdSpecChans, IpmiRecv, IpmiReq, IpmiReqSettime,
    TimingParms, INT_SIZE,
};

/// `IPMI_IOC_MAGIC`, the ioctl type byte.
pub const IOC_MAGIC: u8 = b'i';

/// `_IOC_WRITE`: user space writes the argument (the kernel reads it).
pub const IOC_WRITE: u32 = 1;
/// `_IOC_READ`: user space reads the argument (the kernel writes it).
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)`. The size must fit in 14 bits, which every
/// IPMI argument does.
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    (dir << 30) | (((size as u32) & 0x3fff) << 16) | ((ty as u32) << 8) | nr as u32
}

/// `_IOR('i', nr, size)`.
pub const fn ior(nr: u8, size: usize) -> u32 {
    ioc(IOC_READ, IOC_MAGIC, nr, size)
}

/// `_IOW('i', nr, size)`.
pub const fn iow(nr: u8, size: usize) -> u32 {
    ioc(IOC_WRITE, IOC_MAGIC, nr, size)
}

/// `_IOWR('i', nr, size)`.
pub const fn iowr(nr: u8, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, IOC_MAGIC, nr, size)
}

/// The argument an ioctl takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// `struct ipmi_recv`.
    Recv,
    /// `struct ipmi_req`.
    Req,
    /// `struct ipmi_req_settime`.
    ReqSettime,
    /// `struct ipmi_cmdspec`.
    CmdSpec,
    /// `struct ipmi_cmdspec_chans`.
    CmdSpecChans,
    /// `struct ipmi_channel_lun_address_set`.
    ChannelLunAddressSet,
    /// `struct ipmi_timing_parms`.
    TimingParms,
    /// `int`.
    Int,
    /// `unsigned int`.
    UInt,
}

impl Arg {
    /// Size of the argument in `abi`.
    pub const fn size(self, abi: Abi) -> usize {
        match self {
            Arg::Recv => IpmiRecv::size(abi),
            Arg::Req => IpmiReq::size(abi),
            Arg::ReqSettime => IpmiReqSettime::size(abi),
            Arg::CmdSpec => CmdSpec::SIZE,
            Arg::CmdSpecChans => CmdSpecChans::SIZE,
            Arg::ChannelLunAddressSet => ChannelLunAddressSet::SIZE,
            Arg::TimingParms => TimingParms::SIZE,
            Arg::Int | Arg::UInt => INT_SIZE,
        }
    }

    /// Whether the layout differs between the native and compat ABIs.
    pub const fn has_compat_layout(self) -> bool {
        matches!(self, Arg::Recv | Arg::Req | Arg::ReqSettime)
    }
}

/// The direction bits as the header declares them (not what is copied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    R,
    W,
    Rw,
}

/// Every ioctl of /dev/ipmiN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ioctl {
    /// `IPMICTL_RECEIVE_MSG_TRUNC`: dequeue, truncating the body.
    ReceiveMsgTrunc,
    /// `IPMICTL_RECEIVE_MSG`: dequeue, or refuse if the body does not fit.
    ReceiveMsg,
    /// `IPMICTL_SEND_COMMAND`: send with the file's timing.
    SendCommand,
    /// `IPMICTL_REGISTER_FOR_CMD`: receive a command on every channel.
    RegisterForCmd,
    /// `IPMICTL_UNREGISTER_FOR_CMD`.
    UnregisterForCmd,
    /// `IPMICTL_SET_GETS_EVENTS_CMD`: events on or off.
    SetGetsEvents,
    /// `IPMICTL_SET_MY_ADDRESS_CMD`: channel 0 slave address.
    SetMyAddress,
    /// `IPMICTL_GET_MY_ADDRESS_CMD`.
    GetMyAddress,
    /// `IPMICTL_SET_MY_LUN_CMD`: channel 0 LUN.
    SetMyLun,
    /// `IPMICTL_GET_MY_LUN_CMD`.
    GetMyLun,
    /// `IPMICTL_SEND_COMMAND_SETTIME`: send with explicit timing.
    SendCommandSettime,
    /// `IPMICTL_SET_TIMING_PARMS_CMD`: the file's default timing.
    SetTimingParms,
    /// `IPMICTL_GET_TIMING_PARMS_CMD`.
    GetTimingParms,
    /// `IPMICTL_SET_MY_CHANNEL_ADDRESS_CMD`.
    SetMyChannelAddress,
    /// `IPMICTL_GET_MY_CHANNEL_ADDRESS_CMD`.
    GetMyChannelAddress,
    /// `IPMICTL_SET_MY_CHANNEL_LUN_CMD`.
    SetMyChannelLun,
    /// `IPMICTL_GET_MY_CHANNEL_LUN_CMD`.
    GetMyChannelLun,
    /// `IPMICTL_REGISTER_FOR_CMD_CHANS`: receive a command on some channels.
    RegisterForCmdChans,
    /// `IPMICTL_UNREGISTER_FOR_CMD_CHANS`.
    UnregisterForCmdChans,
    /// `IPMICTL_GET_MAINTENANCE_MODE_CMD`.
    GetMaintenanceMode,
    /// `IPMICTL_SET_MAINTENANCE_MODE_CMD`.
    SetMaintenanceMode,
}

impl Ioctl {
    /// Every ioctl, in number order.
    pub const ALL: [Ioctl; 21] = [
        Ioctl::ReceiveMsgTrunc,
        Ioctl::ReceiveMsg,
        Ioctl::SendCommand,
        Ioctl::RegisterForCmd,
        Ioctl::UnregisterForCmd,
        Ioctl::SetGetsEvents,
        Ioctl::SetMyAddress,
        Ioctl::GetMyAddress,
        Ioctl::SetMyLun,
        Ioctl::GetMyLun,
        Ioctl::SendCommandSettime,
        Ioctl::SetTimingParms,
        Ioctl::GetTimingParms,
        Ioctl::SetMyChannelAddress,
        Ioctl::GetMyChannelAddress,
        Ioctl::SetMyChannelLun,
        Ioctl::GetMyChannelLun,
        Ioctl::RegisterForCmdChans,
        Ioctl::UnregisterForCmdChans,
        Ioctl::GetMaintenanceMode,
        Ioctl::SetMaintenanceMode,
    ];

    /// The ioctl's nr, its declared direction and its argument.
    const fn spec(self) -> (u8, Dir, Arg) {
        match self {
            Ioctl::ReceiveMsgTrunc => (11, Dir::Rw, Arg::Recv),
            Ioctl::ReceiveMsg => (12, Dir::Rw, Arg::Recv),
            Ioctl::SendCommand => (13, Dir::R, Arg::Req),
            Ioctl::RegisterForCmd => (14, Dir::R, Arg::CmdSpec),
            Ioctl::UnregisterForCmd => (15, Dir::R, Arg::CmdSpec),
            Ioctl::SetGetsEvents => (16, Dir::R, Arg::Int),
            Ioctl::SetMyAddress => (17, Dir::R, Arg::UInt),
            Ioctl::GetMyAddress => (18, Dir::R, Arg::UInt),
            Ioctl::SetMyLun => (19, Dir::R, Arg::UInt),
            Ioctl::GetMyLun => (20, Dir::R, Arg::UInt),
            Ioctl::SendCommandSettime => (21, Dir::R, Arg::ReqSettime),
            Ioctl::SetTimingParms => (22, Dir::R, Arg::TimingParms),
            Ioctl::GetTimingParms => (23, Dir::R, Arg::TimingParms),
            Ioctl::SetMyChannelAddress => (24, Dir::R, Arg::ChannelLunAddressSet),
            Ioctl::GetMyChannelAddress => (25, Dir::R, Arg::ChannelLunAddressSet),
            Ioctl::SetMyChannelLun => (26, Dir::R, Arg::ChannelLunAddressSet),
            Ioctl::GetMyChannelLun => (27, Dir::R, Arg::ChannelLunAddressSet),
            Ioctl::RegisterForCmdChans => (28, Dir::R, Arg::CmdSpecChans),
            Ioctl::UnregisterForCmdChans => (29, Dir::R, Arg::CmdSpecChans),
            Ioctl::GetMaintenanceMode => (30, Dir::R, Arg::Int),
            Ioctl::SetMaintenanceMode => (31, Dir::W, Arg::Int),
        }
    }

    /// The ioctl's nr (the low byte of its number).
    pub const fn nr(self) -> u8 {
        self.spec().0
    }

    /// The argument the ioctl takes.
    pub const fn arg(self) -> Arg {
        self.spec().2
    }

    /// The ioctl's number in `abi`.
    pub const fn number(self, abi: Abi) -> u32 {
        let (nr, dir, arg) = self.spec();
        let size = arg.size(abi);
        match dir {
            Dir::R => ior(nr, size),
            Dir::W => iow(nr, size),
            Dir::Rw => iowr(nr, size),
        }
    }

    /// The ioctl for `cmd`, or `None` (the caller answers `-ENOTTY`).
    ///
    /// `compat` is true for calls through `compat_ioctl`; see
    /// [`Ioctl::decode_with_abi`] for the layout the argument then has.
    pub fn decode(cmd: u32, compat: bool) -> Option<Ioctl> {
        Ioctl::decode_with_abi(cmd, compat).map(|(ioctl, _)| ioctl)
    }

    /// The ioctl for `cmd` and the layout its argument has.
    ///
    /// Through `compat_ioctl`, upstream answers the four compat numbers and
    /// hands every other number to the native handler, so a 32-bit process
    /// that uses a native number gets the native layout (so do the ioctls
    /// whose layout both ABIs share). A native caller using a compat number
    /// gets `None`.
    pub fn decode_with_abi(cmd: u32, compat: bool) -> Option<(Ioctl, Abi)> {
        if compat {
            let found = Ioctl::ALL
                .into_iter()
                .find(|i| i.arg().has_compat_layout() && i.number(Abi::Compat) == cmd);
            if let Some(ioctl) = found {
                return Some((ioctl, Abi::Compat));
            }
        }
        Ioctl::ALL
            .into_iter()
            .find(|i| i.number(Abi::Native) == cmd)
            .map(|ioctl| (ioctl, Abi::Native))
    }

    /// Whether the device reads the argument from user space.
    pub const fn reads_arg(self) -> bool {
        !matches!(
            self,
            Ioctl::GetMyAddress
                | Ioctl::GetMyLun
                | Ioctl::GetTimingParms
                | Ioctl::GetMaintenanceMode
        )
    }

    /// Whether the device writes the argument back to user space (on
    /// success; `RECEIVE_MSG_TRUNC` also when it truncated).
    pub const fn writes_arg(self) -> bool {
        matches!(
            self,
            Ioctl::ReceiveMsgTrunc
                | Ioctl::ReceiveMsg
                | Ioctl::GetMyAddress
                | Ioctl::GetMyLun
                | Ioctl::GetTimingParms
                | Ioctl::GetMyChannelAddress
                | Ioctl::GetMyChannelLun
                | Ioctl::GetMaintenanceMode
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every number, written out: (ioctl, native, compat).
    const NUMBERS: [(Ioctl, u32, u32); 21] = [
        (Ioctl::ReceiveMsgTrunc, 0xc030_690b, 0xc018_690b),
        (Ioctl::ReceiveMsg, 0xc030_690c, 0xc018_690c),
        (Ioctl::SendCommand, 0x8028_690d, 0x8014_690d),
        (Ioctl::RegisterForCmd, 0x8002_690e, 0x8002_690e),
        (Ioctl::UnregisterForCmd, 0x8002_690f, 0x8002_690f),
        (Ioctl::SetGetsEvents, 0x8004_6910, 0x8004_6910),
        (Ioctl::SetMyAddress, 0x8004_6911, 0x8004_6911),
        (Ioctl::GetMyAddress, 0x8004_6912, 0x8004_6912),
        (Ioctl::SetMyLun, 0x8004_6913, 0x8004_6913),
        (Ioctl::GetMyLun, 0x8004_6914, 0x8004_6914),
        (Ioctl::SendCommandSettime, 0x8030_6915, 0x801c_6915),
        (Ioctl::SetTimingParms, 0x8008_6916, 0x8008_6916),
        (Ioctl::GetTimingParms, 0x8008_6917, 0x8008_6917),
        (Ioctl::SetMyChannelAddress, 0x8004_6918, 0x8004_6918),
        (Ioctl::GetMyChannelAddress, 0x8004_6919, 0x8004_6919),
        (Ioctl::SetMyChannelLun, 0x8004_691a, 0x8004_691a),
        (Ioctl::GetMyChannelLun, 0x8004_691b, 0x8004_691b),
        (Ioctl::RegisterForCmdChans, 0x800c_691c, 0x800c_691c),
        (Ioctl::UnregisterForCmdChans, 0x800c_691d, 0x800c_691d),
        (Ioctl::GetMaintenanceMode, 0x8004_691e, 0x8004_691e),
        (Ioctl::SetMaintenanceMode, 0x4004_691f, 0x4004_691f),
    ];

    #[test]
    fn every_number_native_and_compat() {
        for (i, (ioctl, native, compat)) in NUMBERS.into_iter().enumerate() {
            assert_eq!(Ioctl::ALL[i], ioctl, "table order");
            assert_eq!(ioctl.number(Abi::Native), native, "{ioctl:?}");
            assert_eq!(ioctl.number(Abi::Compat), compat, "{ioctl:?}");
            assert_eq!(ioctl.nr(), (native & 0xff) as u8);
            assert_eq!(Ioctl::decode(native, false), Some(ioctl));
            assert_eq!(Ioctl::decode(compat, true), Some(ioctl));
            let abi = if native == compat {
                Abi::Native
            } else {
                Abi::Compat
            };
            assert_eq!(Ioctl::decode_with_abi(compat, true), Some((ioctl, abi)));
        }
    }

    #[test]
    fn macros() {
        assert_eq!(ior(13, 40), 0x8028_690d);
        assert_eq!(iow(31, 4), 0x4004_691f);
        assert_eq!(iowr(12, 48), 0xc030_690c);
        assert_eq!(ioc(0, b'T', 1, 0), 0x5401);
    }

    #[test]
    fn compat_numbers_are_unknown_natively() {
        for ioctl in [
            Ioctl::ReceiveMsgTrunc,
            Ioctl::ReceiveMsg,
            Ioctl::SendCommand,
            Ioctl::SendCommandSettime,
        ] {
            assert_eq!(Ioctl::decode(ioctl.number(Abi::Compat), false), None);
        }
    }

    #[test]
    fn native_numbers_through_compat_use_the_native_layout() {
        // compat_ipmi_ioctl() passes numbers it does not know to ipmi_ioctl().
        assert_eq!(
            Ioctl::decode_with_abi(0x8028_690d, true),
            Some((Ioctl::SendCommand, Abi::Native))
        );
        assert_eq!(
            Ioctl::decode_with_abi(0xc030_690b, true),
            Some((Ioctl::ReceiveMsgTrunc, Abi::Native))
        );
    }

    #[test]
    fn unknown_numbers() {
        for cmd in [
            0,
            0x8004_6900,
            0x8004_6920,
            0x4004_691e, // GET_MAINTENANCE_MODE with the "right" direction
            0x8004_691f, // SET_MAINTENANCE_MODE as _IOR
            0xc004_6910, // right nr, wrong direction
            0x8008_6910, // right nr, wrong size
            0x8004_6a10, // wrong magic
            u32::MAX,
        ] {
            assert_eq!(Ioctl::decode(cmd, false), None, "{cmd:#x}");
            assert_eq!(Ioctl::decode(cmd, true), None, "{cmd:#x}");
        }
    }

    #[test]
    fn what_is_really_copied() {
        let reads: Vec<_> = Ioctl::ALL.into_iter().filter(|i| !i.reads_arg()).collect();
        assert_eq!(
            reads,
            [
                Ioctl::GetMyAddress,
                Ioctl::GetMyLun,
                Ioctl::GetTimingParms,
                Ioctl::GetMaintenanceMode
            ]
        );
        // The channel GETs read the channel, then write the value back.
        assert!(Ioctl::GetMyChannelLun.reads_arg() && Ioctl::GetMyChannelLun.writes_arg());
        assert!(!Ioctl::SendCommand.writes_arg());
        assert!(!Ioctl::SetMaintenanceMode.writes_arg());
        assert_eq!(Ioctl::ALL.into_iter().filter(|i| i.writes_arg()).count(), 8);
    }

    proptest! {
        #[test]
        fn decode_agrees_with_number(cmd in any::<u32>(), compat in any::<bool>()) {
            if let Some((ioctl, abi)) = Ioctl::decode_with_abi(cmd, compat) {
                prop_assert_eq!(ioctl.number(abi), cmd);
                prop_assert!(compat || abi == Abi::Native);
            }
        }
    }
}
