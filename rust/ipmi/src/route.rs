// SPDX-License-Identifier: GPL-2.0

//! Where a message the system interface hands the message handler goes.
//!
//! The lower layer returns each request with its answer filled in, and
//! hands up messages of its own (Get Message answers, events). [`classify`]
//! says which kind a pair (request bytes, answer bytes) is, the way
//! upstream's handler decides it, and the helpers below build the answers
//! the handler sends by itself. All of it is pure, so the host tests it.

use super::ipmb::checksum;

/// App netfn (requests).
const NETFN_APP: u8 = 0x06;
/// App Send Message.
pub const SEND_MSG_CMD: u8 = 0x34;
/// App Get Message.
pub const GET_MSG_CMD: u8 = 0x33;
/// App Read Event Message Buffer.
pub const READ_EVENT_CMD: u8 = 0x35;
/// App Cold Reset and Warm Reset.
pub const COLD_RESET_CMD: u8 = 0x02;
/// App Warm Reset.
pub const WARM_RESET_CMD: u8 = 0x03;
/// App Get Device ID.
pub const GET_DEVICE_ID_CMD: u8 = 0x01;
/// App Get Device GUID.
pub const GET_DEVICE_GUID_CMD: u8 = 0x08;
/// App Get Channel Info.
pub const GET_CHANNEL_INFO_CMD: u8 = 0x42;
/// "Invalid command", the answer to a command nobody takes.
pub const CC_INVALID_CMD: u8 = 0xc1;
/// "Timeout", the answer of a bridged request that got none.
pub const CC_TIMEOUT: u8 = 0xc3;
/// "Unspecified error".
pub const CC_UNSPECIFIED: u8 = 0xff;

/// Channel media (Get Channel Info byte 2, low 7 bits).
pub const MEDIUM_IPMB: u8 = 1;
/// 802.3 LAN.
pub const MEDIUM_8023LAN: u8 = 4;
/// Asynchronous serial/modem (a LAN-like session channel).
pub const MEDIUM_ASYNC: u8 = 5;

/// Completion codes after which the BMC may take a Send Message again
/// later: the request stays in the sequence table and its timer runs.
pub const fn send_retryable(cc: u8) -> bool {
    matches!(cc, 0x00 | 0xc0 | 0x81 | 0x82 | 0x83)
}

/// What a message from the lower layer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The answer is malformed (shorter than netfn and cmd, or for another
    /// request): the request ends with "unspecified error".
    Broken,
    /// The BMC's answer to a Send Message carrying one of our bridged
    /// requests (no answer from the remote side yet): its completion code.
    SendAck(u8),
    /// The answer to a Send Message that carried a response of ours to a
    /// remote command: its completion code.
    ResponseSent(u8),
    /// A Get Message answer: a message from one of the BMC's channels.
    GetMessage,
    /// A Read Event Message Buffer answer: an event.
    Event,
    /// Any other answer of the BMC to one of our requests.
    Local,
}

/// Classifies a message: `data` the request as sent, `rsp` the answer,
/// `has_recv` whether the request carried a user's receive message.
pub fn classify(data: &[u8], rsp: &[u8], has_recv: bool) -> Kind {
    let [rsp_nl, rsp_cmd, ..] = *rsp else {
        return Kind::Broken;
    };
    let (req_nl, req_cmd) = (data.first().copied(), data.get(1).copied());
    let cc = rsp.get(2).copied().unwrap_or(CC_UNSPECIFIED);
    if req_nl == Some(NETFN_APP << 2) && req_cmd == Some(SEND_MSG_CMD) && !has_recv {
        return Kind::SendAck(cc);
    }
    if req_nl.map(|b| (b >> 2) | 1) != Some(rsp_nl >> 2) || req_cmd != Some(rsp_cmd) {
        return Kind::Broken;
    }
    if rsp_nl == (NETFN_APP | 1) << 2 {
        match rsp_cmd {
            SEND_MSG_CMD if has_recv => return Kind::ResponseSent(cc),
            GET_MSG_CMD => return Kind::GetMessage,
            READ_EVENT_CMD => return Kind::Event,
            _ => {}
        }
    }
    Kind::Local
}

/// The answer a malformed message stands for: the request's netfn as a
/// response, its cmd, "unspecified error".
pub fn broken_answer(data: &[u8]) -> [u8; 3] {
    [
        data.first().copied().unwrap_or(0) | 0x04,
        data.get(1).copied().unwrap_or(0),
        CC_UNSPECIFIED,
    ]
}

/// Whether a request (netfn/LUN, cmd, ...) puts the BMC in maintenance.
pub fn is_reset(data: &[u8]) -> bool {
    data.first().map(|b| b >> 2) == Some(NETFN_APP)
        && matches!(data.get(1), Some(&COLD_RESET_CMD) | Some(&WARM_RESET_CMD))
}

/// The Send Message that answers an IPMB command nobody registered for
/// with "invalid command": `chan_byte` is Get Message's channel byte,
/// `frame` the command's frame as Get Message gave it (netfn/LUN first),
/// `own_addr` our address on that channel.
pub fn ipmb_invalid_cmd_reply(chan_byte: u8, frame: &[u8], own_addr: u8) -> Option<[u8; 11]> {
    let [nl, _chk1, rq_addr, seq_lun, cmd, ..] = *frame else {
        return None;
    };
    let netfn = nl >> 2;
    let mut out = [0u8; 11];
    out[0] = NETFN_APP << 2;
    out[1] = SEND_MSG_CMD;
    out[2] = chan_byte;
    out[3] = rq_addr;
    out[4] = (netfn.wrapping_add(1) << 2) | (seq_lun & 0x03);
    out[5] = checksum(&out[3..5]);
    out[6] = own_addr;
    out[7] = (seq_lun & 0xfc) | (nl & 0x03);
    out[8] = cmd;
    out[9] = CC_INVALID_CMD;
    out[10] = checksum(&out[6..10]);
    Some(out)
}

/// The same for a command from a LAN session: `frame` starts at the
/// session handle (Get Message's data after the channel byte). The first
/// checksum covers the message's responder SWID and netfn/LUN only, as
/// the LAN message layout has it; upstream's covers the session handle
/// too, so that a BMC that checks it drops upstream's answer and the
/// remote console waits out its timeout instead of getting 0xc1.
pub fn lan_invalid_cmd_reply(channel: u8, frame: &[u8]) -> Option<[u8; 12]> {
    let [handle, rs_swid, nl, _chk1, rq_swid, seq_lun, cmd, ..] = *frame else {
        return None;
    };
    let netfn = nl >> 2;
    let mut out = [0u8; 12];
    out[0] = NETFN_APP << 2;
    out[1] = SEND_MSG_CMD;
    out[2] = channel & 0x0f;
    out[3] = handle;
    out[4] = rq_swid;
    out[5] = (netfn.wrapping_add(1) << 2) | (seq_lun & 0x03);
    out[6] = checksum(&out[4..6]);
    out[7] = rs_swid;
    out[8] = (seq_lun & 0xfc) | (nl & 0x03);
    out[9] = cmd;
    out[10] = CC_INVALID_CMD;
    out[11] = checksum(&out[7..11]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let get_id = [0x18, 0x01];
        assert_eq!(
            classify(&get_id, &[0x1c, 0x01, 0x00, 0x20], true),
            Kind::Local
        );
        assert_eq!(classify(&get_id, &[0x1c], true), Kind::Broken);
        assert_eq!(classify(&get_id, &[0x1c, 0x02, 0x00], true), Kind::Broken);
        assert_eq!(classify(&get_id, &[0x2c, 0x01, 0x00], true), Kind::Broken);
        let send = [0x18, SEND_MSG_CMD, 0x00];
        assert_eq!(
            classify(&send, &[0x1c, SEND_MSG_CMD, 0x83], false),
            Kind::SendAck(0x83)
        );
        // A short ack still acknowledges, as an unspecified error.
        assert_eq!(
            classify(&send, &[0x1c, SEND_MSG_CMD], false),
            Kind::SendAck(0xff)
        );
        assert_eq!(
            classify(&send, &[0x1c, SEND_MSG_CMD, 0x00], true),
            Kind::ResponseSent(0)
        );
        let get_msg = [0x18, GET_MSG_CMD];
        assert_eq!(
            classify(&get_msg, &[0x1c, GET_MSG_CMD, 0], false),
            Kind::GetMessage
        );
        let ev = [0x18, READ_EVENT_CMD];
        assert_eq!(
            classify(&ev, &[0x1c, READ_EVENT_CMD, 0], false),
            Kind::Event
        );
        assert_eq!(broken_answer(&get_id), [0x1c, 0x01, 0xff]);
    }

    #[test]
    fn resets() {
        assert!(is_reset(&[0x18, 0x02]));
        assert!(is_reset(&[0x1b, 0x03]));
        assert!(!is_reset(&[0x18, 0x01]));
        assert!(!is_reset(&[0x18]));
    }

    #[test]
    fn invalid_cmd_replies_are_well_formed() {
        // A Get Device ID from 0x81 (seq 5, LUN 2) to us, LUN 0, channel 0.
        let nl = 0x06 << 2;
        let frame = [nl, checksum(&[0x20, nl]), 0x81, (5 << 2) | 2, 0x01, 0];
        let out = ipmb_invalid_cmd_reply(0x00, &frame, 0x20).unwrap();
        assert_eq!(out[..3], [0x18, SEND_MSG_CMD, 0x00]);
        assert_eq!(out[3], 0x81);
        assert_eq!(out[4], (0x07 << 2) | 2);
        assert!(crate_ok(&out[3..6]));
        assert_eq!(out[7], (5 << 2));
        assert_eq!(out[9], CC_INVALID_CMD);
        assert!(crate_ok(&out[6..11]));
        assert!(ipmb_invalid_cmd_reply(0, &frame[..4], 0x20).is_none());

        let lan = [0x07, 0x81, nl | 1, 0, 0x41, (9 << 2) | 1, 0x22, 0];
        let out = lan_invalid_cmd_reply(0x12, &lan).unwrap();
        assert_eq!(out[2], 0x02);
        assert_eq!(out[3], 0x07);
        assert_eq!(out[4], 0x41);
        assert_eq!(out[5], (0x07 << 2) | 1);
        assert!(crate_ok(&out[4..7]), "the session handle is not summed");
        assert_eq!(out[7], 0x81);
        assert_eq!(out[8], (9 << 2) | 1);
        assert_eq!(out[9], 0x22);
        assert!(crate_ok(&out[7..12]));
    }

    fn crate_ok(bytes: &[u8]) -> bool {
        super::super::ipmb::checksum_ok(bytes)
    }

    proptest::proptest! {
        /// No request/answer pair, however short or wrong, panics, and
        /// only a well-formed pair is anything but Broken or an ack.
        #[test]
        fn classify_takes_anything(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
            rsp in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
            has_recv in proptest::prelude::any::<bool>(),
        ) {
            let kind = classify(&data, &rsp, has_recv);
            if rsp.len() < 2 {
                proptest::prop_assert_eq!(kind, Kind::Broken);
            }
            if let Kind::GetMessage | Kind::Event | Kind::Local | Kind::ResponseSent(_) = kind {
                proptest::prop_assert_eq!(rsp[1], data[1]);
                proptest::prop_assert_eq!(rsp[0] >> 2, (data[0] >> 2) | 1);
            }
            let _ = ipmb_invalid_cmd_reply(data.first().copied().unwrap_or(0), &rsp, 0x20);
            let _ = lan_invalid_cmd_reply(0, &rsp);
        }
    }

    #[test]
    fn retryable_codes() {
        for cc in [0x00, 0xc0, 0x81, 0x82, 0x83] {
            assert!(send_retryable(cc));
        }
        assert!(!send_retryable(0xc1));
        assert!(!send_retryable(0x80));
    }
}
