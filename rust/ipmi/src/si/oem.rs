// SPDX-License-Identifier: GPL-2.0

//! BMC firmware that needs the system interface driver to bend, known by
//! its Get Device ID answer at probe: the Dell PowerEdge quirks upstream's
//! ipmi_si carries.
//!
//! - Dell's PowerEdge 8G BMC (device 0x20, revision 0x80, IPMI 1.5) and
//!   any Dell BMC older than IPMI 1.5 raise the OEM data-available flags
//!   (bits 5-7 of Get Message Flags) for a message in the receive queue,
//!   and drop them on Get Message: they are read as "receive message
//!   available".
//! - Dell PowerEdge BMCs behind BT (x6xx, 1750) never answer a Get SDR
//!   that asks for exactly 0x3A bytes: the request is answered at once
//!   with 0xCA ("cannot return the requested length"), without going to
//!   the BMC, so that the caller asks again for another length instead of
//!   waiting out a timeout. (Upstream hooks this on a notifier chain
//!   shared by every interface once one Dell BT BMC is seen; here it
//!   belongs to the interface whose BMC it is.)

use super::super::device_id::DeviceId;

/// Dell's IANA enterprise number.
pub const DELL_IANA: u32 = 0x0002a2;
const POWEREDGE_8G_DEVICE_ID: u8 = 0x20;
const POWEREDGE_8G_DEVICE_REVISION: u8 = 0x80;
const POWEREDGE_8G_IPMI_VERSION: u8 = 0x51;

/// Get Message Flags: the three OEM data-available bits.
pub const FLAGS_OEM_DATA: u8 = 0xe0;
const FLAG_RECEIVE_MSG_AVAIL: u8 = 0x01;

const NETFN_STORAGE: u8 = 0x0a;
const CMD_GET_SDR: u8 = 0x23;
/// The Get SDR length Dell's BT firmware never answers.
const DELL_BT_STUCK_SDR_LENGTH: u8 = 0x3a;
/// Completion code: cannot return the number of bytes requested.
pub const CC_CANNOT_RETURN_LENGTH: u8 = 0xca;

/// The quirks of one interface's BMC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quirks {
    /// OEM data-available flags mean a message in the receive queue.
    pub oem_flags_mean_receive: bool,
    /// Get SDR for 0x3A bytes is answered 0xCA without asking the BMC.
    pub refuse_get_sdr_3a: bool,
}

impl Quirks {
    /// The quirks of the BMC that gave `id`, behind BT (`bt`) or KCS.
    pub fn for_bmc(id: &DeviceId, bt: bool) -> Self {
        if id.manufacturer_id != DELL_IANA {
            return Self::default();
        }
        let poweredge_8g = id.device_id == POWEREDGE_8G_DEVICE_ID
            && id.device_revision == POWEREDGE_8G_DEVICE_REVISION
            && id.ipmi_version == POWEREDGE_8G_IPMI_VERSION;
        // BCD: major version in the low nibble, minor in the high one.
        let (major, minor) = (id.ipmi_version & 0x0f, id.ipmi_version >> 4);
        let before_1_5 = major < 1 || (major == 1 && minor < 5);
        Quirks {
            oem_flags_mean_receive: poweredge_8g || before_1_5,
            refuse_get_sdr_3a: bt,
        }
    }

    /// Whether any quirk applies.
    pub fn any(&self) -> bool {
        *self != Self::default()
    }

    /// Get Message Flags as the driver should read them.
    pub fn message_flags(&self, flags: u8) -> u8 {
        if self.oem_flags_mean_receive && flags & FLAGS_OEM_DATA != 0 {
            (flags & !FLAGS_OEM_DATA) | FLAG_RECEIVE_MSG_AVAIL
        } else {
            flags
        }
    }

    /// The answer to give `request` (netfn/LUN, cmd, data) at once instead
    /// of sending it, if the BMC is known not to answer it.
    pub fn answer_instead(&self, request: &[u8]) -> Option<[u8; 3]> {
        match *request {
            [nl, CMD_GET_SDR, _, _, _, _, _, DELL_BT_STUCK_SDR_LENGTH, ..]
                if self.refuse_get_sdr_3a && nl >> 2 == NETFN_STORAGE =>
            {
                Some([nl | 0x04, CMD_GET_SDR, CC_CANNOT_RETURN_LENGTH])
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(mfg: u32, device: u8, revision: u8, version: u8) -> DeviceId {
        DeviceId {
            device_id: device,
            device_revision: revision,
            firmware_revision_1: 0x01,
            firmware_revision_2: 0x40,
            ipmi_version: version,
            additional_device_support: 0,
            manufacturer_id: mfg,
            product_id: 0,
            aux_firmware_revision: None,
        }
    }

    #[test]
    fn which_bmcs_get_which_quirks() {
        let pe8g = id(DELL_IANA, 0x20, 0x80, 0x51);
        assert_eq!(
            Quirks::for_bmc(&pe8g, false),
            Quirks {
                oem_flags_mean_receive: true,
                refuse_get_sdr_3a: false
            }
        );
        assert!(Quirks::for_bmc(&pe8g, true).refuse_get_sdr_3a);
        // Another Dell BMC with IPMI 1.5 or later: only the BT one.
        let later = id(DELL_IANA, 0x20, 0x01, 0x02);
        assert!(!Quirks::for_bmc(&later, false).any());
        assert_eq!(
            Quirks::for_bmc(&later, true),
            Quirks {
                oem_flags_mean_receive: false,
                refuse_get_sdr_3a: true
            }
        );
        assert!(!Quirks::for_bmc(&id(DELL_IANA, 0x21, 0x80, 0x51), false).any());
        // Before IPMI 1.5 (1.0, BCD 0x01; 0.9, 0x90).
        assert!(Quirks::for_bmc(&id(DELL_IANA, 0x01, 0, 0x01), false).oem_flags_mean_receive);
        assert!(Quirks::for_bmc(&id(DELL_IANA, 0x01, 0, 0x90), false).oem_flags_mean_receive);
        // Nobody else.
        assert!(!Quirks::for_bmc(&id(0x0f0f0f, 0x20, 0x80, 0x51), true).any());
    }

    #[test]
    fn oem_flags_read_as_a_received_message() {
        let q = Quirks {
            oem_flags_mean_receive: true,
            refuse_get_sdr_3a: false,
        };
        assert_eq!(q.message_flags(0x20), 0x01);
        assert_eq!(q.message_flags(0xe2), 0x03);
        assert_eq!(q.message_flags(0x08), 0x08);
        assert_eq!(Quirks::default().message_flags(0xe0), 0xe0);
    }

    #[test]
    fn get_sdr_for_0x3a_bytes_is_answered_at_once() {
        let q = Quirks {
            oem_flags_mean_receive: false,
            refuse_get_sdr_3a: true,
        };
        let get_sdr = |len| [0x0a << 2, 0x23, 0x00, 0x00, 0x10, 0x00, 0x00, len];
        assert_eq!(
            q.answer_instead(&get_sdr(0x3a)),
            Some([0x2c, 0x23, CC_CANNOT_RETURN_LENGTH])
        );
        assert_eq!(q.answer_instead(&get_sdr(0x10)), None);
        assert_eq!(q.answer_instead(&get_sdr(0x3a)[..7]), None);
        // Another netfn or cmd, or an interface without the quirk.
        let mut other = get_sdr(0x3a);
        other[0] = 0x06 << 2;
        assert_eq!(q.answer_instead(&other), None);
        other = get_sdr(0x3a);
        other[1] = 0x24;
        assert_eq!(q.answer_instead(&other), None);
        assert_eq!(Quirks::default().answer_instead(&get_sdr(0x3a)), None);
    }
}
