// SPDX-License-Identifier: GPL-2.0

//! The arguments of the small control ioctls, turned into what the message
//! handler is called with, by upstream's rules.
//!
//! Several checks upstream makes inside the handler (`ipmi_set_my_address()`
//! and friends, `ipmi_set_maintenance_mode()`); they are pure, so they live
//! here too and the device answers the same whichever handler is below.

use super::super::addr::MAX_CHANNELS;
use super::errno::Errno;
use super::layout::{CmdSpec, CmdSpecChans, CHAN_ALL};

/// The channel of a per-channel address/LUN ioctl: `EINVAL` at or above
/// `IPMI_MAX_CHANNELS` (16).
pub fn check_channel(channel: u32) -> Result<u8, Errno> {
    match u8::try_from(channel) {
        Ok(c) if c < MAX_CHANNELS => Ok(c),
        _ => Err(Errno::Inval),
    }
}

/// The slave address a SET address ioctl stores: the low byte of the
/// argument (upstream passes the `unsigned int` to an `unsigned char`).
pub const fn slave_address(value: u32) -> u8 {
    value as u8
}

/// The LUN a SET LUN ioctl stores: the low two bits of the argument's low
/// byte (`ipmi_set_my_LUN()` masks with 3).
pub const fn lun(value: u32) -> u8 {
    (value as u8) & 3
}

/// `IPMICTL_SET_GETS_EVENTS_CMD`: any non-zero value turns events on.
pub const fn gets_events(value: i32) -> bool {
    value != 0
}

/// `IPMI_MAINTENANCE_MODE_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum MaintenanceMode {
    /// Let the handler decide (and, upstream, leave the current state).
    Auto = 0,
    /// Force maintenance mode off.
    Off = 1,
    /// Force maintenance mode on.
    On = 2,
}

impl MaintenanceMode {
    /// The mode for `IPMICTL_SET_MAINTENANCE_MODE_CMD`'s argument; `EINVAL`
    /// for anything but 0, 1 and 2.
    pub const fn from_raw(raw: i32) -> Result<MaintenanceMode, Errno> {
        match raw {
            0 => Ok(MaintenanceMode::Auto),
            1 => Ok(MaintenanceMode::Off),
            2 => Ok(MaintenanceMode::On),
            _ => Err(Errno::Inval),
        }
    }

    /// The value `IPMICTL_GET_MAINTENANCE_MODE_CMD` returns.
    pub const fn raw(self) -> i32 {
        self as i32
    }
}

/// A command registration as the handler takes it: netfn, cmd and the
/// channel mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmdRegistration {
    /// Network function.
    pub netfn: u8,
    /// Command.
    pub cmd: u8,
    /// Channels, one bit each.
    pub chans: u32,
}

impl From<CmdSpec> for CmdRegistration {
    /// `IPMICTL_(UN)REGISTER_FOR_CMD`: every channel.
    fn from(spec: CmdSpec) -> CmdRegistration {
        CmdRegistration {
            netfn: spec.netfn,
            cmd: spec.cmd,
            chans: CHAN_ALL,
        }
    }
}

impl From<CmdSpecChans> for CmdRegistration {
    /// `IPMICTL_(UN)REGISTER_FOR_CMD_CHANS`: netfn and cmd are `unsigned
    /// int` in the structure and keep their low byte, as upstream's call
    /// with `unsigned char` parameters does. A netfn above 0x3f is passed
    /// on as upstream passes it.
    fn from(spec: CmdSpecChans) -> CmdRegistration {
        CmdRegistration {
            netfn: spec.netfn as u8,
            cmd: spec.cmd as u8,
            chans: spec.chans,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn channels() {
        for c in 0..16 {
            assert_eq!(check_channel(c), Ok(c as u8));
        }
        for c in [16, 255, 256, 0xffff, u32::MAX] {
            assert_eq!(check_channel(c), Err(Errno::Inval), "{c}");
        }
    }

    #[test]
    fn addresses_and_luns() {
        assert_eq!(slave_address(0x20), 0x20);
        assert_eq!(slave_address(0x120), 0x20);
        assert_eq!(lun(2), 2);
        assert_eq!(lun(7), 3);
        assert_eq!(lun(0x104), 0);
        assert!(gets_events(1));
        assert!(gets_events(-1));
        assert!(!gets_events(0));
    }

    #[test]
    fn maintenance_modes() {
        assert_eq!(MaintenanceMode::from_raw(0), Ok(MaintenanceMode::Auto));
        assert_eq!(MaintenanceMode::from_raw(1), Ok(MaintenanceMode::Off));
        assert_eq!(MaintenanceMode::from_raw(2), Ok(MaintenanceMode::On));
        for raw in [-1, 3, i32::MIN, i32::MAX] {
            assert_eq!(MaintenanceMode::from_raw(raw), Err(Errno::Inval));
        }
        for m in [
            MaintenanceMode::Auto,
            MaintenanceMode::Off,
            MaintenanceMode::On,
        ] {
            assert_eq!(MaintenanceMode::from_raw(m.raw()), Ok(m));
        }
    }

    #[test]
    fn registrations() {
        assert_eq!(
            CmdRegistration::from(CmdSpec {
                netfn: 6,
                cmd: 0x34
            }),
            CmdRegistration {
                netfn: 6,
                cmd: 0x34,
                chans: CHAN_ALL
            }
        );
        assert_eq!(
            CmdRegistration::from(CmdSpecChans {
                netfn: 0x140,
                cmd: 0x1ff,
                chans: 0b101
            }),
            CmdRegistration {
                netfn: 0x40,
                cmd: 0xff,
                chans: 0b101
            }
        );
    }

    proptest! {
        #[test]
        fn channel_check_matches_the_rule(c in any::<u32>()) {
            prop_assert_eq!(check_channel(c).is_ok(), c < 16);
        }

        #[test]
        fn only_three_modes(raw in any::<i32>()) {
            prop_assert_eq!(MaintenanceMode::from_raw(raw).is_ok(), (0..=2).contains(&raw));
        }
    }
}
