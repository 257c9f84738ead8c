// SPDX-License-Identifier: GPL-2.0

//! The errors /dev/ipmiN returns, by errno name.
//!
//! The core has no kernel `Error` type, so the device logic answers with this
//! small enum and the kernel module turns [`Errno::number`] into its own
//! error (negated) at the ioctl boundary.

use super::super::addr::AddrError;

/// An errno the device interface can return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Errno {
    /// `ENOENT`: unregistering a command nobody registered.
    NoEnt,
    /// `EIO`: the interface failed the request.
    Io,
    /// `EAGAIN`: the receive queue is empty, or the sequence table is full.
    Again,
    /// `ENOMEM`: no memory for the message.
    NoMem,
    /// `EFAULT`: a user pointer could not be read or written.
    Fault,
    /// `EBUSY`: command already registered, user at its message limit, or
    /// the interface in reset maintenance mode.
    Busy,
    /// `ENODEV`: the interface is going away.
    NoDev,
    /// `EINVAL`: a bad address, address length, channel or mode.
    Inval,
    /// `ENOTTY`: not an IPMI ioctl.
    NoTty,
    /// `EMSGSIZE`: a message body that does not fit.
    MsgSize,
    /// `EAFNOSUPPORT`: IPMB-direct address on an interface without it.
    AfNoSupport,
}

impl Errno {
    /// Every errno, for tables and tests.
    pub const ALL: [Errno; 11] = [
        Errno::NoEnt,
        Errno::Io,
        Errno::Again,
        Errno::NoMem,
        Errno::Fault,
        Errno::Busy,
        Errno::NoDev,
        Errno::Inval,
        Errno::NoTty,
        Errno::MsgSize,
        Errno::AfNoSupport,
    ];

    /// The positive errno number (asm-generic values, which x86 uses).
    pub const fn number(self) -> i32 {
        match self {
            Errno::NoEnt => 2,
            Errno::Io => 5,
            Errno::Again => 11,
            Errno::NoMem => 12,
            Errno::Fault => 14,
            Errno::Busy => 16,
            Errno::NoDev => 19,
            Errno::Inval => 22,
            Errno::NoTty => 25,
            Errno::MsgSize => 90,
            Errno::AfNoSupport => 97,
        }
    }

    /// The errno for a positive number, if it is one of ours. The kernel
    /// module uses it to carry a handler's error through the pure logic.
    pub fn from_number(number: i32) -> Option<Errno> {
        Errno::ALL.into_iter().find(|e| e.number() == number)
    }

    /// The C name, for logs.
    pub const fn name(self) -> &'static str {
        match self {
            Errno::NoEnt => "ENOENT",
            Errno::Io => "EIO",
            Errno::Again => "EAGAIN",
            Errno::NoMem => "ENOMEM",
            Errno::Fault => "EFAULT",
            Errno::Busy => "EBUSY",
            Errno::NoDev => "ENODEV",
            Errno::Inval => "EINVAL",
            Errno::NoTty => "ENOTTY",
            Errno::MsgSize => "EMSGSIZE",
            Errno::AfNoSupport => "EAFNOSUPPORT",
        }
    }
}

/// Every address error is `-EINVAL` (`ipmi_validate_addr()`).
impl From<AddrError> for Errno {
    fn from(_: AddrError) -> Errno {
        Errno::Inval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_the_x86_ones() {
        let table = [
            (Errno::NoEnt, 2, "ENOENT"),
            (Errno::Io, 5, "EIO"),
            (Errno::Again, 11, "EAGAIN"),
            (Errno::NoMem, 12, "ENOMEM"),
            (Errno::Fault, 14, "EFAULT"),
            (Errno::Busy, 16, "EBUSY"),
            (Errno::NoDev, 19, "ENODEV"),
            (Errno::Inval, 22, "EINVAL"),
            (Errno::NoTty, 25, "ENOTTY"),
            (Errno::MsgSize, 90, "EMSGSIZE"),
            (Errno::AfNoSupport, 97, "EAFNOSUPPORT"),
        ];
        assert_eq!(table.len(), Errno::ALL.len());
        for (e, n, name) in table {
            assert_eq!(e.number(), n);
            assert_eq!(e.name(), name);
            assert_eq!(Errno::from_number(n), Some(e));
        }
        assert_eq!(Errno::from_number(0), None);
        assert_eq!(Errno::from_number(-22), None);
    }

    #[test]
    fn address_errors_are_einval() {
        assert_eq!(Errno::from(AddrError::TooShort), Errno::Inval);
        assert_eq!(Errno::from(AddrError::UnknownType), Errno::Inval);
    }
}
