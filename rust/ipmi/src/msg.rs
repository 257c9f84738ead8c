// SPDX-License-Identifier: GPL-2.0

//! Network functions, commands, LUNs and the message they make up.

use super::cc::CompletionCode;

/// Largest message body the stack carries, in bytes (`IPMI_MAX_MSG_LENGTH`).
///
/// The largest IPMB/BT payload is 256 bytes plus netfn/LUN, cmd, completion
/// code and some framing; upstream rounds it to a multiple of 16.
pub const MAX_MSG_LENGTH: usize = 272;

/// An IPMI network function (6 bits). Even values are requests, odd ones
/// the matching responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetFn(u8);

impl NetFn {
    /// Chassis device requests.
    pub const CHASSIS: NetFn = NetFn(0x00);
    /// Bridge requests (ICMB).
    pub const BRIDGE: NetFn = NetFn(0x02);
    /// Sensor and event requests.
    pub const SENSOR_EVENT: NetFn = NetFn(0x04);
    /// Application requests (Get Device ID, Send Message, ...).
    pub const APP: NetFn = NetFn(0x06);
    /// Firmware transfer requests: the BMC may be unusable while they run.
    pub const FIRMWARE: NetFn = NetFn(0x08);
    /// Non-volatile storage requests (SDR, SEL, FRU).
    pub const STORAGE: NetFn = NetFn(0x0a);
    /// Media-specific configuration and control (LAN, serial).
    pub const TRANSPORT: NetFn = NetFn(0x0c);
    /// Group extensions (first data byte names the defining body).
    pub const GROUP_EXTENSION: NetFn = NetFn(0x2c);

    /// A network function from its 6-bit value; `None` above 0x3f.
    pub const fn new(value: u8) -> Option<NetFn> {
        if value <= 0x3f {
            Some(NetFn(value))
        } else {
            None
        }
    }

    /// The network function held in the top 6 bits of a netfn/LUN byte.
    pub const fn from_netfn_lun(byte: u8) -> NetFn {
        NetFn(byte >> 2)
    }

    /// The 6-bit value.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// Whether this network function carries responses (odd values).
    pub const fn is_response(self) -> bool {
        self.0 & 1 == 1
    }

    /// The response network function matching this request one.
    pub const fn response(self) -> NetFn {
        NetFn(self.0 | 1)
    }

    /// The request network function matching this response one.
    pub const fn request(self) -> NetFn {
        NetFn(self.0 & !1)
    }

    /// Whether this is one of the OEM/group ranges (0x2c-0x3f), whose
    /// commands are defined outside the IPMI specification.
    pub const fn is_oem(self) -> bool {
        self.0 >= 0x2c
    }
}

/// A logical unit number (2 bits) inside a controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lun(u8);

impl Lun {
    /// LUN 0, where the BMC's own commands live.
    pub const BMC: Lun = Lun(0);

    /// A LUN from its value; `None` above 3.
    pub const fn new(value: u8) -> Option<Lun> {
        if value <= 3 {
            Some(Lun(value))
        } else {
            None
        }
    }

    /// The LUN held in the low 2 bits of a byte (netfn/LUN or seq/LUN).
    pub const fn from_low_bits(byte: u8) -> Lun {
        Lun(byte & 3)
    }

    /// The 2-bit value.
    pub const fn value(self) -> u8 {
        self.0
    }
}

/// Packs a network function and a LUN into the netfn/LUN byte of the wire.
pub const fn netfn_lun(netfn: NetFn, lun: Lun) -> u8 {
    (netfn.0 << 2) | lun.0
}

/// Well-known command numbers, by network function.
pub mod cmd {
    /// App: Get Device ID.
    pub const GET_DEVICE_ID: u8 = 0x01;
    /// App: Cold Reset (puts the handler in reset maintenance mode).
    pub const COLD_RESET: u8 = 0x02;
    /// App: Warm Reset (puts the handler in reset maintenance mode).
    pub const WARM_RESET: u8 = 0x03;
    /// App: Set BMC Global Enables (only the driver may send it).
    pub const SET_BMC_GLOBAL_ENABLES: u8 = 0x2e;
    /// App: Get BMC Global Enables.
    pub const GET_BMC_GLOBAL_ENABLES: u8 = 0x2f;
    /// App: Clear Message Flags (only the driver may send it).
    pub const CLEAR_MSG_FLAGS: u8 = 0x30;
    /// App: Get Message Flags.
    pub const GET_MSG_FLAGS: u8 = 0x31;
    /// App: Get Message (bridged responses and commands from the BMC queue).
    pub const GET_MSG: u8 = 0x33;
    /// App: Send Message (bridging onto another channel).
    pub const SEND_MSG: u8 = 0x34;
    /// App: Read Event Message Buffer.
    pub const READ_EVENT_MSG_BUFFER: u8 = 0x35;
    /// App: Get Device GUID.
    pub const GET_DEVICE_GUID: u8 = 0x08;
    /// App: Get Channel Info.
    pub const GET_CHANNEL_INFO: u8 = 0x42;
}

/// A message as the handler carries it: network function, command and body.
///
/// For a response the body starts with the completion code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// Network function.
    pub netfn: NetFn,
    /// Command.
    pub cmd: u8,
    /// Body (request data, or completion code then response data).
    pub data: &'a [u8],
}

/// Why a response does not answer the request it is matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// The response has no completion code byte.
    Empty,
    /// The network function is not the response to the request's one.
    NetFnMismatch,
    /// The command differs from the request's.
    CmdMismatch,
}

impl<'a> Message<'a> {
    /// A message, refusing bodies longer than [`MAX_MSG_LENGTH`].
    pub fn new(netfn: NetFn, cmd: u8, data: &'a [u8]) -> Option<Self> {
        if data.len() > MAX_MSG_LENGTH {
            return None;
        }
        Some(Message { netfn, cmd, data })
    }

    /// The completion code of a response (its first byte).
    pub fn completion_code(&self) -> Option<CompletionCode> {
        self.data.first().copied().map(CompletionCode::from)
    }

    /// The response data after the completion code.
    pub fn response_data(&self) -> &'a [u8] {
        self.data.get(1..).unwrap_or(&[])
    }

    /// Checks that `self` is a response to `request` (netfn | 1, same cmd,
    /// a completion code present) and returns its completion code.
    pub fn check_response_to(
        &self,
        request: &Message<'_>,
    ) -> Result<CompletionCode, ResponseError> {
        if self.netfn != request.netfn.response() {
            return Err(ResponseError::NetFnMismatch);
        }
        if self.cmd != request.cmd {
            return Err(ResponseError::CmdMismatch);
        }
        self.completion_code().ok_or(ResponseError::Empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netfn_request_response_pairs() {
        assert!(!NetFn::APP.is_response());
        assert_eq!(NetFn::APP.response().value(), 0x07);
        assert_eq!(NetFn::APP.response().request(), NetFn::APP);
        assert!(NetFn::STORAGE.response().is_response());
        assert_eq!(NetFn::new(0x40), None);
        assert_eq!(NetFn::new(0x3f).map(NetFn::is_oem), Some(true));
        assert!(!NetFn::TRANSPORT.is_oem());
    }

    #[test]
    fn netfn_lun_byte_round_trips() {
        for byte in 0..=u8::MAX {
            let netfn = NetFn::from_netfn_lun(byte);
            let lun = Lun::from_low_bits(byte);
            assert_eq!(netfn_lun(netfn, lun), byte);
        }
        assert_eq!(netfn_lun(NetFn::APP, Lun::BMC), 0x18);
        assert_eq!(Lun::new(4), None);
    }

    #[test]
    fn response_matching() {
        let req = Message::new(NetFn::APP, cmd::GET_DEVICE_ID, &[]).unwrap();
        let ok = Message::new(NetFn::APP.response(), cmd::GET_DEVICE_ID, &[0, 0x20]).unwrap();
        assert_eq!(ok.check_response_to(&req), Ok(CompletionCode::SUCCESS));
        assert_eq!(ok.response_data(), &[0x20]);
        let wrong_cmd = Message::new(NetFn::APP.response(), 0x02, &[0]).unwrap();
        assert_eq!(
            wrong_cmd.check_response_to(&req),
            Err(ResponseError::CmdMismatch)
        );
        let wrong_netfn = Message::new(NetFn::STORAGE.response(), 0x01, &[0]).unwrap();
        assert_eq!(
            wrong_netfn.check_response_to(&req),
            Err(ResponseError::NetFnMismatch)
        );
        let empty = Message::new(NetFn::APP.response(), 0x01, &[]).unwrap();
        assert_eq!(empty.check_response_to(&req), Err(ResponseError::Empty));
        assert_eq!(empty.response_data(), &[] as &[u8]);
    }

    #[test]
    fn oversized_body_is_refused() {
        let big = [0u8; MAX_MSG_LENGTH + 1];
        assert!(Message::new(NetFn::APP, 1, &big).is_none());
        assert!(Message::new(NetFn::APP, 1, &big[..MAX_MSG_LENGTH]).is_some());
    }
}
