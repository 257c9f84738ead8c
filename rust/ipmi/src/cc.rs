// SPDX-License-Identifier: GPL-2.0

//! Completion codes: the first byte of every IPMI response.

use core::fmt;

/// A completion code (IPMI 2.0, table 5-2), kept as the raw byte so that
/// OEM and command-specific values (0x01-0x7e) pass through untouched.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompletionCode(u8);

impl CompletionCode {
    /// Command completed normally.
    pub const SUCCESS: Self = Self(0x00);
    /// Lost arbitration on the IPMB while bridging (retry later).
    pub const LOST_ARBITRATION: Self = Self(0x81);
    /// Bus error on the IPMB while bridging (retry later).
    pub const BUS_ERROR: Self = Self(0x82);
    /// The bridged request was not acknowledged (retry later).
    pub const NAK_ON_WRITE: Self = Self(0x83);
    /// Node busy: the BMC cannot take the command now.
    pub const NODE_BUSY: Self = Self(0xc0);
    /// Invalid or unsupported command.
    pub const INVALID_COMMAND: Self = Self(0xc1);
    /// Command invalid for the given LUN.
    pub const INVALID_FOR_LUN: Self = Self(0xc2);
    /// Timeout while processing the command (the handler's answer when a
    /// bridged request runs out of retries).
    pub const TIMEOUT: Self = Self(0xc3);
    /// Out of space.
    pub const OUT_OF_SPACE: Self = Self(0xc4);
    /// Reservation cancelled or invalid reservation ID.
    pub const RESERVATION_CANCELLED: Self = Self(0xc5);
    /// Request data truncated (also the driver's answer to an oversized
    /// response).
    pub const REQUEST_DATA_TRUNCATED: Self = Self(0xc6);
    /// Request data length invalid.
    pub const REQUEST_DATA_LENGTH_INVALID: Self = Self(0xc7);
    /// Request data field length limit exceeded.
    pub const REQUEST_DATA_LENGTH_EXCEEDED: Self = Self(0xc8);
    /// Parameter out of range.
    pub const PARAMETER_OUT_OF_RANGE: Self = Self(0xc9);
    /// Cannot return the number of requested data bytes.
    pub const CANNOT_RETURN_BYTES: Self = Self(0xca);
    /// Requested sensor, data or record not present.
    pub const NOT_PRESENT: Self = Self(0xcb);
    /// Invalid data field in request.
    pub const INVALID_DATA_FIELD: Self = Self(0xcc);
    /// Command illegal for the specified sensor or record type.
    pub const ILLEGAL_FOR_SENSOR: Self = Self(0xcd);
    /// Command response could not be provided.
    pub const RESPONSE_UNAVAILABLE: Self = Self(0xce);
    /// Cannot execute a duplicated request.
    pub const DUPLICATED_REQUEST: Self = Self(0xcf);
    /// SDR repository in update mode.
    pub const SDR_IN_UPDATE: Self = Self(0xd0);
    /// Device in firmware update mode.
    pub const FIRMWARE_UPDATE: Self = Self(0xd1);
    /// BMC initialisation in progress.
    pub const INIT_IN_PROGRESS: Self = Self(0xd2);
    /// Destination unavailable.
    pub const DESTINATION_UNAVAILABLE: Self = Self(0xd3);
    /// Insufficient privilege level.
    pub const INSUFFICIENT_PRIVILEGE: Self = Self(0xd4);
    /// Command not supported in the present state.
    pub const NOT_IN_STATE: Self = Self(0xd5);
    /// Sub-function disabled or unavailable.
    pub const SUBFUNCTION_DISABLED: Self = Self(0xd6);
    /// Unspecified error (also the driver's answer to a response too short
    /// to hold a completion code).
    pub const UNSPECIFIED: Self = Self(0xff);

    /// The raw byte.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// Whether the command succeeded.
    pub const fn is_success(self) -> bool {
        self.0 == 0
    }

    /// Whether a bridged request answered with this code may be sent again
    /// later (the IPMB was busy or the target did not acknowledge).
    pub const fn is_retryable_bridge_error(self) -> bool {
        matches!(self.0, 0x81..=0x83 | 0xc0)
    }

    /// Whether the code is OEM-defined (0x01-0x7e) or command-specific
    /// (0x80-0xbe) rather than one of the generic codes.
    pub const fn is_specific(self) -> bool {
        matches!(self.0, 0x01..=0x7e | 0x80..=0xbe)
    }

    /// A short description of a generic code, `None` for specific codes.
    pub const fn description(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "success",
            0xc0 => "node busy",
            0xc1 => "invalid command",
            0xc2 => "invalid for LUN",
            0xc3 => "timeout",
            0xc4 => "out of space",
            0xc5 => "reservation cancelled",
            0xc6 => "request data truncated",
            0xc7 => "request data length invalid",
            0xc8 => "request data length exceeded",
            0xc9 => "parameter out of range",
            0xca => "cannot return requested bytes",
            0xcb => "not present",
            0xcc => "invalid data field",
            0xcd => "illegal for sensor or record type",
            0xce => "response unavailable",
            0xcf => "duplicated request",
            0xd0 => "SDR repository in update mode",
            0xd1 => "firmware update in progress",
            0xd2 => "initialisation in progress",
            0xd3 => "destination unavailable",
            0xd4 => "insufficient privilege",
            0xd5 => "not supported in present state",
            0xd6 => "sub-function disabled",
            0xff => "unspecified error",
            _ => return None,
        })
    }
}

impl From<u8> for CompletionCode {
    fn from(value: u8) -> Self {
        Self(value)
    }
}

impl From<CompletionCode> for u8 {
    fn from(cc: CompletionCode) -> u8 {
        cc.0
    }
}

impl fmt::Debug for CompletionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompletionCode({:#04x})", self.0)
    }
}

impl fmt::Display for CompletionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.description() {
            Some(text) => write!(f, "{:#04x} ({})", self.0, text),
            None => write!(f, "{:#04x}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_codes_are_described() {
        for byte in 0xc0..=0xd6u8 {
            assert!(
                CompletionCode::from(byte).description().is_some(),
                "{byte:#x}"
            );
        }
        assert_eq!(CompletionCode::TIMEOUT.to_string(), "0xc3 (timeout)");
        assert_eq!(CompletionCode::from(0x80).to_string(), "0x80");
    }

    #[test]
    fn classes_do_not_overlap() {
        for byte in 0..=u8::MAX {
            let cc = CompletionCode::from(byte);
            assert!(
                !(cc.is_specific() && cc.description().is_some()),
                "{byte:#x}"
            );
            assert_eq!(u8::from(cc), byte);
        }
        assert!(CompletionCode::SUCCESS.is_success());
        assert!(CompletionCode::NODE_BUSY.is_retryable_bridge_error());
        assert!(!CompletionCode::TIMEOUT.is_retryable_bridge_error());
    }
}
