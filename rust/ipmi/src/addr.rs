// SPDX-License-Identifier: GPL-2.0

//! IPMI addresses as user space and in-kernel users pass them
//! (`struct ipmi_addr` and its typed variants in uapi/linux/ipmi.h).
//!
//! The core reads them from raw bytes so that the same code validates an
//! address copied from an ioctl and one handed over by an in-kernel user.
//! Every variant starts with `int addr_type; short channel;` in the
//! machine's byte order, followed by type-specific bytes.

/// Size of `struct ipmi_addr`, the largest address (`IPMI_MAX_ADDR_SIZE` + 8).
pub const MAX_ADDR_LEN: usize = 40;

/// Size of the largest typed address (`struct ipmi_lan_addr`): no address
/// type reads further, so a caller's address is only ever read this far.
pub const MAX_TYPED_ADDR_LEN: usize = 12;

/// Number of channels an IPMI controller can have (`IPMI_MAX_CHANNELS`).
pub const MAX_CHANNELS: u8 = 16;

/// The channel number that means "the BMC itself" (`IPMI_BMC_CHANNEL`).
pub const BMC_CHANNEL: u8 = 0xf;

/// The kinds of address (`IPMI_*_ADDR_TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum AddrType {
    /// The BMC through the local system interface (KCS, BT, SSIF).
    SystemInterface = 0x0c,
    /// A controller on an IPMB channel, reached by bridging.
    Ipmb = 0x01,
    /// Every controller on an IPMB channel (broadcast Get Device ID).
    IpmbBroadcast = 0x41,
    /// A controller on an interface that speaks IPMB itself.
    IpmbDirect = 0x81,
    /// A LAN session bridged through the BMC.
    Lan = 0x04,
}

impl AddrType {
    /// The address type for a raw `addr_type` value.
    pub const fn from_raw(raw: i32) -> Option<AddrType> {
        Some(match raw {
            0x0c => AddrType::SystemInterface,
            0x01 => AddrType::Ipmb,
            0x41 => AddrType::IpmbBroadcast,
            0x81 => AddrType::IpmbDirect,
            0x04 => AddrType::Lan,
            _ => return None,
        })
    }

    /// The size of the C structure for this type, which is also the
    /// `addr_len` a message of this type is delivered with.
    pub const fn addr_len(self) -> usize {
        match self {
            AddrType::SystemInterface | AddrType::Ipmb | AddrType::IpmbBroadcast => 8,
            AddrType::IpmbDirect | AddrType::Lan => 12,
        }
    }
}

/// `ipmi_addr_length()`: the structure size for a raw address type, 0 for
/// an unknown one.
pub const fn addr_length(raw_type: i32) -> usize {
    match AddrType::from_raw(raw_type) {
        Some(t) => t.addr_len(),
        None => 0,
    }
}

/// A validated address.
///
/// LUNs of system-interface, IPMB and LAN addresses are kept as given:
/// upstream does not reject large values there but masks them to two bits
/// when it builds the message, and so does [`Address::lun`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Address {
    /// The BMC over the system interface (channel 0xf).
    SystemInterface {
        /// Target LUN in the BMC.
        lun: u8,
    },
    /// A controller on IPMB `channel` (0-14), or all of them.
    Ipmb {
        /// IPMB channel.
        channel: u8,
        /// 8-bit slave address of the responder.
        slave_addr: u8,
        /// Responder LUN.
        lun: u8,
        /// Broadcast on the bus rather than addressed.
        broadcast: bool,
    },
    /// A controller on a direct IPMB interface (channel 0).
    IpmbDirect {
        /// 8-bit slave address of the responder (even).
        slave_addr: u8,
        /// Responder LUN (0-3).
        rs_lun: u8,
        /// Requester LUN (0-3).
        rq_lun: u8,
    },
    /// A remote session on LAN channel `channel`.
    Lan {
        /// LAN channel.
        channel: u8,
        /// Privilege level of the session.
        privilege: u8,
        /// Session handle.
        session_handle: u8,
        /// Remote software ID.
        remote_swid: u8,
        /// Local software ID.
        local_swid: u8,
        /// LUN.
        lun: u8,
    },
}

/// Why an address is refused. Every reason is `-EINVAL` at the C boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrError {
    /// Fewer bytes than the address type's structure (or a negative length).
    TooShort,
    /// Channel out of range for the type.
    BadChannel,
    /// Odd slave address on an IPMB-direct address.
    BadSlaveAddr,
    /// LUN above 3 on an IPMB-direct address.
    BadLun,
    /// Unknown address type.
    UnknownType,
}

fn byte(raw: &[u8], offset: usize) -> u8 {
    raw.get(offset).copied().unwrap_or(0)
}

/// The raw `addr_type` of an address (0 when shorter than 4 bytes).
pub fn raw_type(raw: &[u8]) -> i32 {
    match raw.get(0..4) {
        Some(&[a, b, c, d]) => i32::from_ne_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// The raw `channel` of an address (0 when shorter than 6 bytes).
pub fn raw_channel(raw: &[u8]) -> i16 {
    match raw.get(4..6) {
        Some(&[a, b]) => i16::from_ne_bytes([a, b]),
        _ => 0,
    }
}

/// Every address but a system-interface one names a real channel (0-14),
/// never the BMC's own.
fn real_channel(channel: i16) -> Result<u8, AddrError> {
    match u8::try_from(channel) {
        Ok(c) if c < MAX_CHANNELS && c != BMC_CHANNEL => Ok(c),
        _ => Err(AddrError::BadChannel),
    }
}

impl Address {
    /// `ipmi_validate_addr()`: checks the first `raw.len()` bytes of a
    /// `struct ipmi_addr` exactly as upstream does, and decodes them.
    pub fn parse(raw: &[u8]) -> Result<Address, AddrError> {
        if raw.len() < AddrType::SystemInterface.addr_len() {
            return Err(AddrError::TooShort);
        }
        let channel = raw_channel(raw);
        let Some(addr_type) = AddrType::from_raw(raw_type(raw)) else {
            // Upstream checks the channel first; both are -EINVAL anyway.
            real_channel(channel)?;
            return Err(AddrError::UnknownType);
        };
        if addr_type == AddrType::SystemInterface {
            if channel != i16::from(BMC_CHANNEL) {
                return Err(AddrError::BadChannel);
            }
            return Ok(Address::SystemInterface { lun: byte(raw, 6) });
        }
        let channel = real_channel(channel)?;
        if raw.len() < addr_type.addr_len() {
            return Err(AddrError::TooShort);
        }
        Ok(match addr_type {
            // SystemInterface returned above; it has the same layout as IPMB.
            AddrType::SystemInterface | AddrType::Ipmb | AddrType::IpmbBroadcast => Address::Ipmb {
                channel,
                slave_addr: byte(raw, 6),
                lun: byte(raw, 7),
                broadcast: addr_type == AddrType::IpmbBroadcast,
            },
            AddrType::IpmbDirect => {
                let (slave_addr, rs_lun, rq_lun) = (byte(raw, 6), byte(raw, 7), byte(raw, 8));
                if channel != 0 {
                    return Err(AddrError::BadChannel);
                }
                if slave_addr & 1 != 0 {
                    return Err(AddrError::BadSlaveAddr);
                }
                if rs_lun > 3 || rq_lun > 3 {
                    return Err(AddrError::BadLun);
                }
                Address::IpmbDirect {
                    slave_addr,
                    rs_lun,
                    rq_lun,
                }
            }
            AddrType::Lan => Address::Lan {
                channel,
                privilege: byte(raw, 6),
                session_handle: byte(raw, 7),
                remote_swid: byte(raw, 8),
                local_swid: byte(raw, 9),
                lun: byte(raw, 10),
            },
        })
    }

    /// The address type.
    pub const fn addr_type(&self) -> AddrType {
        match self {
            Address::SystemInterface { .. } => AddrType::SystemInterface,
            Address::Ipmb {
                broadcast: false, ..
            } => AddrType::Ipmb,
            Address::Ipmb {
                broadcast: true, ..
            } => AddrType::IpmbBroadcast,
            Address::IpmbDirect { .. } => AddrType::IpmbDirect,
            Address::Lan { .. } => AddrType::Lan,
        }
    }

    /// The channel the address lives on.
    pub const fn channel(&self) -> u8 {
        match *self {
            Address::SystemInterface { .. } => BMC_CHANNEL,
            Address::Ipmb { channel, .. } | Address::Lan { channel, .. } => channel,
            Address::IpmbDirect { .. } => 0,
        }
    }

    /// The responder LUN, masked to two bits as it goes on the wire.
    pub const fn lun(&self) -> u8 {
        match *self {
            Address::SystemInterface { lun }
            | Address::Ipmb { lun, .. }
            | Address::Lan { lun, .. }
            | Address::IpmbDirect { rs_lun: lun, .. } => lun & 3,
        }
    }

    /// Writes the C structure for this address into `out` and returns its
    /// length, the `addr_len` to report with it; `None` if `out` is short.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let len = self.addr_type().addr_len();
        let out = out.get_mut(..len)?;
        out.fill(0);
        let (head, tail) = out.split_at_mut(6);
        let mut header = [0u8; 6];
        header[..4].copy_from_slice(&(self.addr_type() as i32).to_ne_bytes());
        header[4..].copy_from_slice(&i16::from(self.channel()).to_ne_bytes());
        head.copy_from_slice(&header);
        let body: &[u8] = match *self {
            Address::SystemInterface { lun } => &[lun],
            Address::Ipmb {
                slave_addr, lun, ..
            } => &[slave_addr, lun],
            Address::IpmbDirect {
                slave_addr,
                rs_lun,
                rq_lun,
            } => &[slave_addr, rs_lun, rq_lun],
            Address::Lan {
                privilege,
                session_handle,
                remote_swid,
                local_swid,
                lun,
                ..
            } => &[privilege, session_handle, remote_swid, local_swid, lun],
        };
        tail.get_mut(..body.len())?.copy_from_slice(body);
        Some(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(addr_type: i32, channel: i16, body: &[u8]) -> [u8; MAX_ADDR_LEN] {
        let mut out = [0u8; MAX_ADDR_LEN];
        out[..4].copy_from_slice(&addr_type.to_ne_bytes());
        out[4..6].copy_from_slice(&channel.to_ne_bytes());
        out[6..6 + body.len()].copy_from_slice(body);
        out
    }

    #[test]
    fn lengths_match_the_c_structures() {
        assert_eq!(addr_length(0x0c), 8);
        assert_eq!(addr_length(0x01), 8);
        assert_eq!(addr_length(0x41), 8);
        assert_eq!(addr_length(0x81), 12);
        assert_eq!(addr_length(0x04), 12);
        assert_eq!(addr_length(0), 0);
        assert_eq!(addr_length(-1), 0);
    }

    #[test]
    fn system_interface_needs_the_bmc_channel() {
        let a = raw(0x0c, 0xf, &[2]);
        assert_eq!(
            Address::parse(&a[..8]),
            Ok(Address::SystemInterface { lun: 2 })
        );
        assert_eq!(Address::parse(&a[..7]), Err(AddrError::TooShort));
        let b = raw(0x0c, 0, &[0]);
        assert_eq!(Address::parse(&b), Err(AddrError::BadChannel));
    }

    #[test]
    fn ipmb_channels() {
        for ch in [-1i16, 15, 16, 0x100] {
            assert_eq!(
                Address::parse(&raw(0x01, ch, &[0x30, 0])),
                Err(AddrError::BadChannel),
                "{ch}"
            );
        }
        let ok = Address::parse(&raw(0x41, 14, &[0x30, 5])).unwrap();
        assert_eq!(ok.addr_type(), AddrType::IpmbBroadcast);
        assert_eq!(ok.channel(), 14);
        assert_eq!(ok.lun(), 1);
    }

    #[test]
    fn ipmb_direct_rules() {
        assert!(Address::parse(&raw(0x81, 0, &[0x30, 0, 3])).is_ok());
        assert_eq!(
            Address::parse(&raw(0x81, 1, &[0x30, 0, 0])),
            Err(AddrError::BadChannel)
        );
        assert_eq!(
            Address::parse(&raw(0x81, 0, &[0x31, 0, 0])),
            Err(AddrError::BadSlaveAddr)
        );
        assert_eq!(
            Address::parse(&raw(0x81, 0, &[0x30, 4, 0])),
            Err(AddrError::BadLun)
        );
        assert_eq!(
            Address::parse(&raw(0x81, 0, &[0x30, 0, 4])),
            Err(AddrError::BadLun)
        );
        assert_eq!(
            Address::parse(&raw(0x81, 0, &[0x30, 0, 0])[..11]),
            Err(AddrError::TooShort)
        );
    }

    #[test]
    fn unknown_type_is_refused_after_the_channel_check() {
        // Upstream checks the channel before the type, so an unknown type on
        // the BMC channel is a channel error; both are -EINVAL anyway.
        assert_eq!(
            Address::parse(&raw(0x77, 0, &[])),
            Err(AddrError::UnknownType)
        );
        assert_eq!(
            Address::parse(&raw(0x77, 15, &[])),
            Err(AddrError::BadChannel)
        );
    }

    /// Valid addresses of every type, built field by field.
    fn valid_address() -> impl Strategy<Value = Address> {
        prop_oneof![
            (0u8..4).prop_map(|lun| Address::SystemInterface { lun }),
            (0u8..15, any::<u8>(), 0u8..4, any::<bool>()).prop_map(
                |(channel, slave_addr, lun, broadcast)| Address::Ipmb {
                    channel,
                    slave_addr,
                    lun,
                    broadcast,
                }
            ),
            (0u8..128, 0u8..4, 0u8..4).prop_map(|(sa, rs_lun, rq_lun)| Address::IpmbDirect {
                slave_addr: sa << 1,
                rs_lun,
                rq_lun,
            }),
            (0u8..15, any::<[u8; 5]>()).prop_map(|(channel, b)| Address::Lan {
                channel,
                privilege: b[0],
                session_handle: b[1],
                remote_swid: b[2],
                local_swid: b[3],
                lun: b[4] & 3,
            }),
        ]
    }

    #[test]
    fn valid_addresses_round_trip_and_the_branch_runs() {
        use proptest::test_runner::{Config, TestRunner};
        use std::cell::Cell;
        let parsed = Cell::new(0u32);
        let mut runner = TestRunner::new(Config::with_cases(512));
        runner
            .run(
                &(
                    valid_address(),
                    proptest::collection::vec(any::<u8>(), 0..28),
                ),
                |(addr, tail)| {
                    let mut raw = [0u8; MAX_ADDR_LEN];
                    let len = addr.encode(&mut raw).unwrap();
                    prop_assert_eq!(len, addr.addr_type().addr_len());
                    // Bytes past the structure, up to the caller's length,
                    // must not change the answer.
                    let mut long = raw;
                    long[len..len + tail.len().min(MAX_ADDR_LEN - len)]
                        .copy_from_slice(&tail[..tail.len().min(MAX_ADDR_LEN - len)]);
                    let total = (len + tail.len()).min(MAX_ADDR_LEN);
                    prop_assert_eq!(Address::parse(&raw[..len]), Ok(addr));
                    prop_assert_eq!(Address::parse(&long[..total]), Ok(addr));
                    prop_assert_eq!(
                        Address::parse(&long[..total.min(MAX_TYPED_ADDR_LEN)]),
                        Ok(addr)
                    );
                    parsed.set(parsed.get() + 1);
                    Ok(())
                },
            )
            .unwrap();
        assert_eq!(parsed.get(), 512, "every valid address must parse");
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_what_parses_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            if let Ok(addr) = Address::parse(&bytes) {
                let mut out = [0u8; MAX_ADDR_LEN];
                let len = addr.encode(&mut out).unwrap();
                prop_assert_eq!(len, addr.addr_type().addr_len());
                prop_assert_eq!(Address::parse(&out[..len]), Ok(addr));
            }
        }

        #[test]
        fn reading_past_the_typed_length_changes_nothing(bytes in proptest::collection::vec(any::<u8>(), 0..=MAX_ADDR_LEN)) {
            // The kernel reads at most MAX_TYPED_ADDR_LEN bytes of a caller's
            // address: that must give the answer the whole length gives.
            let short = &bytes[..bytes.len().min(MAX_TYPED_ADDR_LEN)];
            prop_assert_eq!(Address::parse(short), Address::parse(&bytes));
        }

        #[test]
        fn valid_lengths_are_exactly_the_structure_size(t in prop_oneof![Just(0x0ci32), Just(1), Just(0x41), Just(0x81), Just(4)], len in 0usize..=MAX_ADDR_LEN) {
            let channel = if t == 0x0c { 15 } else { 0 };
            let a = raw(t, channel, &[0x20, 0, 0, 0, 0]);
            prop_assert_eq!(Address::parse(&a[..len]).is_ok(), len >= addr_length(t));
        }
    }
}
