// SPDX-License-Identifier: GPL-2.0

//! The Get Device ID response (App 0x01), which identifies a BMC: the
//! handler caches it, sysfs shows it, `ipmitool mc info` prints it.

use super::cc::CompletionCode;
use super::msg::{cmd, NetFn};

/// A decoded Get Device ID response (`struct ipmi_device_id`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceId {
    /// Device ID.
    pub device_id: u8,
    /// Device revision (bits 3:0) and "provides device SDRs" (bit 7).
    pub device_revision: u8,
    /// Major firmware revision (bits 6:0) and "update in progress" (bit 7).
    pub firmware_revision_1: u8,
    /// Minor firmware revision, BCD.
    pub firmware_revision_2: u8,
    /// IPMI version, BCD: 0x02 is IPMI 2.0, 0x51 is 1.5.
    pub ipmi_version: u8,
    /// Additional device support bits (sensor, SDR, SEL, FRU, ...).
    pub additional_device_support: u8,
    /// IANA manufacturer ID (20 bits), 0 when the response omits it.
    pub manufacturer_id: u32,
    /// Product ID, 0 when the response omits it.
    pub product_id: u16,
    /// Auxiliary firmware revision, when present.
    pub aux_firmware_revision: Option<[u8; 4]>,
}

/// Why a response is not a usable Get Device ID answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceIdError {
    /// The response is to another netfn/cmd.
    NotDeviceId,
    /// The BMC answered with an error completion code.
    Failed(CompletionCode),
    /// Fewer than the 6 mandatory data bytes after the completion code.
    TooShort,
}

impl DeviceId {
    /// Decodes a response body (completion code first), with the same rules
    /// as `ipmi_demangle_device_id()`: 6 mandatory bytes, manufacturer and
    /// product only if all 5 of their bytes are there, aux revision only if
    /// all 4 are.
    pub fn decode(netfn: NetFn, command: u8, body: &[u8]) -> Result<DeviceId, DeviceIdError> {
        if netfn != NetFn::APP.response() || command != cmd::GET_DEVICE_ID {
            return Err(DeviceIdError::NotDeviceId);
        }
        let Some((&cc, data)) = body.split_first() else {
            return Err(DeviceIdError::TooShort);
        };
        let cc = CompletionCode::from(cc);
        if !cc.is_success() {
            return Err(DeviceIdError::Failed(cc));
        }
        let [device_id, device_revision, fw1, fw2, ipmi_version, support, rest @ ..] = data else {
            return Err(DeviceIdError::TooShort);
        };
        let mut id = DeviceId {
            device_id: *device_id,
            device_revision: *device_revision,
            firmware_revision_1: *fw1,
            firmware_revision_2: *fw2,
            ipmi_version: *ipmi_version,
            additional_device_support: *support,
            ..DeviceId::default()
        };
        if let [m0, m1, m2, p0, p1, aux @ ..] = rest {
            id.manufacturer_id = u32::from_le_bytes([*m0, *m1, *m2, 0]);
            id.product_id = u16::from_le_bytes([*p0, *p1]);
            if let [a0, a1, a2, a3, ..] = aux {
                id.aux_firmware_revision = Some([*a0, *a1, *a2, *a3]);
            }
        }
        Ok(id)
    }

    /// IPMI version as (major, minor).
    pub const fn ipmi_version(&self) -> (u8, u8) {
        (self.ipmi_version & 0xf, self.ipmi_version >> 4)
    }

    /// Major firmware revision without the "update in progress" bit.
    pub const fn firmware_major(&self) -> u8 {
        self.firmware_revision_1 & 0x7f
    }

    /// Device revision without the SDR bit.
    pub const fn revision(&self) -> u8 {
        self.device_revision & 0xf
    }

    /// Whether the device provides device SDRs.
    pub const fn provides_device_sdrs(&self) -> bool {
        self.device_revision & 0x80 != 0
    }
}

/// How a BMC's identity read again compares with the one its device
/// shows (upstream's tests in `__bmc_get_device_id()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityChange {
    /// Nothing changed.
    Same,
    /// Revisions or capabilities changed (a firmware update): the same
    /// BMC, whose channels are scanned again.
    Revised,
    /// Another BMC: its GUID appeared or changed, or its device,
    /// manufacturer or product ID changed. The interface moves to the
    /// device of the BMC it now has (and its channels are scanned again).
    Moved,
}

impl IdentityChange {
    /// Compares `new` (and `new_guid`, `None` when the BMC gave none) with
    /// what was shown before.
    pub fn of(
        old: &DeviceId,
        old_guid: Option<&[u8; 16]>,
        new: &DeviceId,
        new_guid: Option<&[u8; 16]>,
    ) -> Self {
        let guid_moved = match (old_guid, new_guid) {
            (None, Some(_)) => true,
            (Some(a), Some(b)) => a != b,
            // A GUID that could not be read this time is not a change.
            (_, None) => false,
        };
        if guid_moved
            || old.device_id != new.device_id
            || old.manufacturer_id != new.manufacturer_id
            || old.product_id != new.product_id
        {
            IdentityChange::Moved
        } else if old != new {
            IdentityChange::Revised
        } else {
            IdentityChange::Same
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_change_as_upstream_judges_it() {
        let old = DeviceId {
            device_id: 0x20,
            firmware_revision_1: 2,
            firmware_revision_2: 0x11,
            ipmi_version: 0x02,
            manufacturer_id: 0x0f0f0f,
            product_id: 0x1234,
            ..DeviceId::default()
        };
        let g1 = [1u8; 16];
        let g2 = [2u8; 16];
        let same = IdentityChange::of;
        assert_eq!(same(&old, Some(&g1), &old, Some(&g1)), IdentityChange::Same);
        assert_eq!(same(&old, None, &old, None), IdentityChange::Same);
        // A GUID not read this time changes nothing; a new or other one moves.
        assert_eq!(same(&old, Some(&g1), &old, None), IdentityChange::Same);
        assert_eq!(same(&old, None, &old, Some(&g1)), IdentityChange::Moved);
        assert_eq!(
            same(&old, Some(&g1), &old, Some(&g2)),
            IdentityChange::Moved
        );
        let firmware = DeviceId {
            firmware_revision_2: 0x12,
            ..old
        };
        assert_eq!(
            same(&old, Some(&g1), &firmware, Some(&g1)),
            IdentityChange::Revised
        );
        let aux = DeviceId {
            aux_firmware_revision: Some([1, 2, 3, 4]),
            ..old
        };
        assert_eq!(same(&old, None, &aux, None), IdentityChange::Revised);
        for other in [
            DeviceId {
                device_id: 0x21,
                ..old
            },
            DeviceId {
                manufacturer_id: 0x0002a2,
                ..old
            },
            DeviceId {
                product_id: 0x1299,
                ..old
            },
        ] {
            assert_eq!(
                same(&old, Some(&g1), &other, Some(&g1)),
                IdentityChange::Moved
            );
        }
    }

    const APP_RSP: NetFn = NetFn::APP.response();

    #[test]
    fn full_response() {
        let body = [
            0x00, 0x20, 0x81, 0x02, 0x11, 0x02, 0xbf, 0x57, 0x01, 0x00, 0x34, 0x12, 1, 2, 3, 4,
        ];
        let id = DeviceId::decode(APP_RSP, 0x01, &body).unwrap();
        assert_eq!(id.device_id, 0x20);
        assert_eq!(id.revision(), 1);
        assert!(id.provides_device_sdrs());
        assert_eq!(id.firmware_major(), 2);
        assert_eq!(id.firmware_revision_2, 0x11);
        assert_eq!(id.ipmi_version(), (2, 0));
        assert_eq!(id.manufacturer_id, 0x157);
        assert_eq!(id.product_id, 0x1234);
        assert_eq!(id.aux_firmware_revision, Some([1, 2, 3, 4]));
    }

    #[test]
    fn optional_fields_need_all_their_bytes() {
        let body = [
            0x00, 0x20, 0x01, 0x02, 0x11, 0x51, 0xbf, 0x57, 0x01, 0x00, 0x34,
        ];
        let id = DeviceId::decode(APP_RSP, 0x01, &body).unwrap();
        assert_eq!((id.manufacturer_id, id.product_id), (0, 0));
        assert_eq!(id.ipmi_version(), (1, 5));
        let body = [
            0x00, 0x20, 0x01, 0x02, 0x11, 0x51, 0xbf, 0x57, 0x01, 0x00, 0x34, 0x12, 1, 2, 3,
        ];
        let id = DeviceId::decode(APP_RSP, 0x01, &body).unwrap();
        assert_eq!(id.product_id, 0x1234);
        assert_eq!(id.aux_firmware_revision, None);
    }

    #[test]
    fn refusals() {
        assert_eq!(
            DeviceId::decode(APP_RSP, 0x01, &[]),
            Err(DeviceIdError::TooShort)
        );
        assert_eq!(
            DeviceId::decode(APP_RSP, 0x01, &[0, 1, 2, 3, 4, 5]),
            Err(DeviceIdError::TooShort)
        );
        assert_eq!(
            DeviceId::decode(APP_RSP, 0x01, &[0xc1]),
            Err(DeviceIdError::Failed(CompletionCode::INVALID_COMMAND))
        );
        assert_eq!(
            DeviceId::decode(NetFn::APP, 0x01, &[0; 7]),
            Err(DeviceIdError::NotDeviceId)
        );
        assert_eq!(
            DeviceId::decode(APP_RSP, 0x02, &[0; 7]),
            Err(DeviceIdError::NotDeviceId)
        );
    }
}
