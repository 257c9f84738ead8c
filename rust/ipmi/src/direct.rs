// SPDX-License-Identifier: GPL-2.0

//! IPMB-direct: messages between the handler and an interface that is
//! itself on an IPMB bus (upstream's ipmi_ipmb sets
//! `IPMI_SMI_CAN_HANDLE_IPMB_DIRECT`), with no BMC to bridge through.
//!
//! The message body carries an IPMB header without the addresses' checksums
//! and without our own address, which the interface driver adds:
//!
//! ```text
//! to the driver:  netfn/LUN, peer address, seq/LUN, cmd, data...
//! from it:        netfn/LUN, peer address, seq/LUN, cmd, data...
//! ```
//!
//! In a command we send, the netfn byte carries the responder's LUN and the
//! seq byte our own (`rq_lun`); in a response the other way round. The seq
//! is the low six bits of the user's msgid, as upstream puts it: the
//! driver matches answers to the one request it has out.
//!
//! What came back is classified by [`classify`], which also refuses what
//! upstream takes blindly: an answer shorter than its header (upstream
//! copies `rsp_size - 4` bytes, a negative length for a 3-byte answer), an
//! answer for another netfn or cmd, or a command in place of an answer
//! (upstream would treat the request's own receive message as never
//! answered).

use super::addr::Address;
use super::msg::MAX_MSG_LENGTH;
use super::route::{CC_INVALID_CMD, CC_UNSPECIFIED};

/// Bytes of the header before the data.
pub const HEADER_LEN: usize = 4;

/// Why a message cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// Not an IPMB-direct address.
    NotDirect,
    /// Header and data exceed [`MAX_MSG_LENGTH`] (or the buffer).
    TooLong,
}

/// Writes the message to the driver for `netfn`/`cmd` with `data` to
/// `addr`, `seq` the request's sequence (a command's own, or the one of the
/// command a response answers); the number of bytes written.
pub fn encode(
    addr: &Address,
    netfn: u8,
    cmd: u8,
    seq: u8,
    data: &[u8],
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let Address::IpmbDirect {
        slave_addr,
        rs_lun,
        rq_lun,
    } = *addr
    else {
        return Err(EncodeError::NotDirect);
    };
    let len = HEADER_LEN + data.len();
    if len > MAX_MSG_LENGTH {
        return Err(EncodeError::TooLong);
    }
    let Some([h0, h1, h2, h3, body @ ..]) = out.get_mut(..len) else {
        return Err(EncodeError::TooLong);
    };
    let (lun_in_netfn, lun_in_seq) = if netfn & 1 == 0 {
        (rs_lun, rq_lun)
    } else {
        (rq_lun, rs_lun)
    };
    *h0 = (netfn << 2) | (lun_in_netfn & 3);
    *h1 = slave_addr;
    *h2 = (seq << 2) | (lun_in_seq & 3);
    *h3 = cmd;
    for (o, d) in body.iter_mut().zip(data) {
        *o = *d;
    }
    Ok(len)
}

/// A command for us from a controller on the bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command<'a> {
    /// Where it came from, as a user replies to it.
    pub src: Address,
    /// Its sequence number: the msgid the user's response carries.
    pub seq: u8,
    /// Its netfn (even) and cmd.
    pub netfn: u8,
    /// Command.
    pub cmd: u8,
    /// Its data.
    pub body: &'a [u8],
}

/// The answer of a controller to one of our commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// Where it came from.
    pub src: Address,
    /// Its netfn (odd) and cmd.
    pub netfn: u8,
    /// Command.
    pub cmd: u8,
    /// Completion code first.
    pub body: &'a [u8],
}

/// What a message an IPMB-direct interface handed up is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A command from the bus (no request of ours behind it).
    Command(Command<'a>),
    /// From the bus, neither a command (too short for its header) nor
    /// an answer to a request of ours: dropped, counted.
    Stray,
    /// The answer to a command we sent.
    Response(Response<'a>),
    /// The answer to a command we sent was malformed (short, or for
    /// another netfn or cmd, or a command): the request ends with this
    /// error answer instead, "unspecified error".
    Broken([u8; HEADER_LEN + 1]),
    /// The driver sent a response of ours (a user's, or our 0xC1): with
    /// the completion code of the sending.
    ResponseSent(u8),
}

/// The peer's address from a header (`nl`, `peer`, `seq_lun`), whose
/// netfn byte carries the responder's LUN in a command and the
/// requester's in a response.
fn address(nl: u8, peer: u8, seq_lun: u8, lun_in_netfn_is_rs: bool) -> Address {
    let (a, b) = (nl & 3, seq_lun & 3);
    let (rs_lun, rq_lun) = if lun_in_netfn_is_rs { (a, b) } else { (b, a) };
    Address::IpmbDirect {
        slave_addr: peer,
        rs_lun,
        rq_lun,
    }
}

/// The error answer standing for a malformed answer to `data`: the
/// request's header turned into a response's (as upstream builds it).
pub fn broken_answer(data: &[u8]) -> [u8; HEADER_LEN + 1] {
    let b = |i: usize| data.get(i).copied().unwrap_or(0);
    [
        (b(0) & 0xfc) | 0x04 | (b(2) & 3),
        b(1),
        (b(2) & 0xfc) | (b(0) & 3),
        b(3),
        CC_UNSPECIFIED,
    ]
}

/// Classifies a message from an IPMB-direct interface: `data` the request
/// as sent (empty for a command from the bus), `rsp` what came back,
/// `has_request` whether it answers a request of ours.
pub fn classify<'a>(data: &[u8], rsp: &'a [u8], has_request: bool) -> Kind<'a> {
    let sent_netfn = data.first().map(|b| b >> 2);
    if has_request || !data.is_empty() {
        // An answer to something we sent.
        if sent_netfn.is_some_and(|n| n & 1 == 1) {
            // The driver reports the sending of a response as a Send
            // Message answer, completion code in the fifth byte.
            return Kind::ResponseSent(rsp.get(4).copied().unwrap_or(CC_UNSPECIFIED));
        }
        if let [nl, peer, seq_lun, cmd, body @ ..] = rsp {
            let fits = !body.is_empty()
                && sent_netfn.is_some_and(|n| nl >> 2 == n | 1)
                && data.get(3) == Some(cmd);
            if fits {
                return Kind::Response(Response {
                    src: address(*nl, *peer, *seq_lun, false),
                    netfn: nl >> 2,
                    cmd: *cmd,
                    body,
                });
            }
        }
        return Kind::Broken(broken_answer(data));
    }
    match rsp {
        // A command (even netfn); a response with no request of ours
        // behind it, or a short message, is dropped.
        [nl, peer, seq_lun, cmd, body @ ..] if (nl >> 2) & 1 == 0 => Kind::Command(Command {
            src: address(*nl, *peer, *seq_lun, true),
            seq: seq_lun >> 2,
            netfn: nl >> 2,
            cmd: *cmd,
            body,
        }),
        _ => Kind::Stray,
    }
}

/// The answer to a command nobody registered for: "invalid command" back
/// to where `rsp` (a [`Kind::Command`]'s bytes) came from.
pub fn invalid_cmd_reply(rsp: &[u8]) -> Option<[u8; HEADER_LEN + 1]> {
    let [nl, peer, seq_lun, cmd, ..] = *rsp else {
        return None;
    };
    Some([
        (((nl >> 2) | 1) << 2) | (seq_lun & 3),
        peer,
        (seq_lun & 0xfc) | (nl & 3),
        cmd,
        CC_INVALID_CMD,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// App netfn (requests).
    const NETFN_APP: u8 = 0x06;
    /// App Send Message: how the driver reports a response it sent.
    const SEND_MSG_CMD: u8 = 0x34;

    /// What an IPMB-direct driver hands back for a response it sent (as
    /// upstream's ipmi_ipmb does): the request bytes become a Send Message
    /// answer's, `cc` the outcome.
    fn response_sent(data: &mut [u8], cc: u8) -> Option<[u8; HEADER_LEN + 1]> {
        let [d0, peer, seq_lun, d3, ..] = data else {
            return None;
        };
        *d0 = (NETFN_APP | 1) << 2;
        *d3 = SEND_MSG_CMD;
        Some([*d0, *peer, *seq_lun, *d3, cc])
    }

    const PEER: Address = Address::IpmbDirect {
        slave_addr: 0x70,
        rs_lun: 1,
        rq_lun: 2,
    };

    #[test]
    fn a_command_carries_the_responders_lun_in_the_netfn_byte() {
        let mut out = [0u8; 8];
        let n = encode(&PEER, 0x06, 0x01, 0x15, &[0xaa], &mut out).unwrap();
        assert_eq!(&out[..n], &[0x19, 0x70, 0x56, 0x01, 0xaa]);
    }

    #[test]
    fn a_response_carries_the_requesters_lun_in_the_netfn_byte() {
        let mut out = [0u8; 8];
        let n = encode(&PEER, 0x31, 0x11, 0x15, &[0x00], &mut out).unwrap();
        assert_eq!(&out[..n], &[0xc6, 0x70, 0x55, 0x11, 0x00]);
    }

    #[test]
    fn encoding_is_bounded() {
        let mut out = [0u8; MAX_MSG_LENGTH + 8];
        let data = [0u8; MAX_MSG_LENGTH];
        assert_eq!(
            encode(&PEER, 6, 1, 0, &data[..MAX_MSG_LENGTH - 4], &mut out),
            Ok(MAX_MSG_LENGTH)
        );
        assert_eq!(
            encode(&PEER, 6, 1, 0, &data[..MAX_MSG_LENGTH - 3], &mut out),
            Err(EncodeError::TooLong)
        );
        assert_eq!(
            encode(&PEER, 6, 1, 0, &[1, 2], &mut [0u8; 5]),
            Err(EncodeError::TooLong)
        );
        let si = Address::SystemInterface { lun: 0 };
        assert_eq!(
            encode(&si, 6, 1, 0, &[], &mut out),
            Err(EncodeError::NotDirect)
        );
    }

    #[test]
    fn an_answer_comes_back_with_its_source() {
        let sent = [0x19, 0x70, 0x56, 0x01];
        let rsp = [0x1e, 0x70, 0x55, 0x01, 0x00, 0x20];
        assert_eq!(
            classify(&sent, &rsp, true),
            Kind::Response(Response {
                src: PEER,
                netfn: 0x07,
                cmd: 0x01,
                body: &[0x00, 0x20],
            })
        );
    }

    #[test]
    fn malformed_answers_end_in_an_error() {
        let sent = [0x19, 0x70, 0x56, 0x01];
        let err = Kind::Broken([0x1e, 0x70, 0x55, 0x01, 0xff]);
        // Too short for a completion code (upstream: a negative copy).
        assert_eq!(classify(&sent, &[0x1e, 0x70, 0x55, 0x01], true), err);
        assert_eq!(classify(&sent, &[0x1e], true), err);
        assert_eq!(classify(&sent, &[], true), err);
        // Another cmd, another netfn, a command.
        assert_eq!(classify(&sent, &[0x1e, 0x70, 0x55, 0x02, 0], true), err);
        assert_eq!(classify(&sent, &[0x2e, 0x70, 0x55, 0x01, 0], true), err);
        assert_eq!(classify(&sent, &[0x18, 0x70, 0x55, 0x01, 0], true), err);
    }

    #[test]
    fn commands_from_the_bus() {
        let rsp = [0xc1, 0x70, 0x56, 0x11, 0xaa, 0xbb];
        assert_eq!(
            classify(&[], &rsp, false),
            Kind::Command(Command {
                src: PEER,
                seq: 0x15,
                netfn: 0x30,
                cmd: 0x11,
                body: &[0xaa, 0xbb],
            })
        );
        assert_eq!(classify(&[], &rsp[..3], false), Kind::Stray);
        // An answer nobody asked for.
        assert_eq!(
            classify(&[], &[0xc5, 0x70, 0x56, 0x11, 0], false),
            Kind::Stray
        );
    }

    #[test]
    fn the_invalid_command_reply_goes_back_to_the_sender() {
        let rsp = [0xc1, 0x70, 0x56, 0x11];
        let reply = invalid_cmd_reply(&rsp).unwrap();
        assert_eq!(reply, [0xc6, 0x70, 0x55, 0x11, 0xc1]);
        // It is what a user's response to the command would be.
        let Kind::Command(c) = classify(&[], &rsp, false) else {
            panic!()
        };
        let mut out = [0u8; 8];
        let n = encode(&c.src, c.netfn | 1, c.cmd, c.seq, &[0xc1], &mut out).unwrap();
        assert_eq!(&out[..n], &reply);
        assert_eq!(invalid_cmd_reply(&rsp[..3]), None);
    }

    #[test]
    fn a_sent_response_is_reported() {
        let mut data = [0xc6, 0x70, 0x55, 0x11, 0xc1];
        let rsp = response_sent(&mut data, 0x00).unwrap();
        assert_eq!(classify(&data, &rsp, true), Kind::ResponseSent(0));
        assert_eq!(classify(&data, &rsp, false), Kind::ResponseSent(0));
        assert_eq!(classify(&data, &rsp[..4], false), Kind::ResponseSent(0xff));
    }

    proptest! {
        #[test]
        fn any_bytes_classify_without_panic(
            data in proptest::collection::vec(any::<u8>(), 0..8),
            rsp in proptest::collection::vec(any::<u8>(), 0..300),
            has in any::<bool>(),
        ) {
            match classify(&data, &rsp, has) {
                Kind::Command(c) => {
                    prop_assert!(!has && data.is_empty());
                    prop_assert_eq!(c.body.len() + HEADER_LEN, rsp.len());
                }
                Kind::Response(r) => {
                    prop_assert!(!r.body.is_empty());
                    prop_assert_eq!(r.netfn & 1, 1);
                }
                _ => {}
            }
        }

        #[test]
        fn encoded_commands_decode_as_commands(
            sa in (0u8..128).prop_map(|a| a << 1),
            rs_lun in 0u8..4, rq_lun in 0u8..4, netfn in (0u8..32).prop_map(|n| n << 1),
            cmd in any::<u8>(), seq in 0u8..64,
            data in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            // A command we send, seen by the peer as a command for it: the
            // same header decodes to our address from its side.
            let to = Address::IpmbDirect { slave_addr: sa, rs_lun, rq_lun };
            let mut out = [0u8; 32];
            let n = encode(&to, netfn, cmd, seq, &data, &mut out).unwrap();
            let Kind::Command(c) = classify(&[], &out[..n], false) else {
                return Err(TestCaseError::fail("not a command"));
            };
            prop_assert_eq!(c.src, to);
            prop_assert_eq!((c.netfn, c.cmd, c.seq), (netfn, cmd, seq));
            prop_assert_eq!(c.body, &data[..]);
        }
    }
}
