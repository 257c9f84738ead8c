// SPDX-License-Identifier: GPL-2.0

//! IPMB framing: the two-checksum frames that carry requests and responses
//! between controllers on an IPMB (and inside App Send/Get Message).
//!
//! ```text
//! request:  rsSA  netFn/rsLUN  chk1 | rqSA  rqSeq/rqLUN  cmd  data...       chk2
//! response: rqSA  netFn/rqLUN  chk1 | rsSA  rqSeq/rsLUN  cmd  cc  data...   chk2
//! ```
//!
//! Both checksums are verified on receive (upstream's handler verifies
//! neither, and ipmb_dev_int only the first).
//!
//! A frame fetched from the BMC with Get Message comes without its first
//! byte: the destination address is the BMC's own address on the channel
//! it arrived on, which the BMC leaves out. [`Frame::parse_without_dest`]
//! puts it back to verify the header checksum; [`GetMessage::parse`]
//! verifies the trailing one only, as that header checksum is what the
//! BMC checked on receipt, and OpenIPMI's ipmi_sim hands on garbage there
//! (seen in the VM: a different wrong value on each answer).

use super::msg::{netfn_lun, Lun, NetFn};

/// Shortest valid frame: header (3), rqSA/rsSA, seq/LUN, cmd, checksum.
pub const MIN_FRAME_LEN: usize = 7;

/// Bytes a frame adds around the message body (netfn, cmd, data): the
/// destination address, the first checksum, the source address, seq/LUN
/// and the second checksum.
pub const FRAME_OVERHEAD: usize = 5;

/// The IPMB checksum: the two's complement of the byte sum, so that the
/// bytes plus their checksum add up to zero (`ipmb_checksum()`).
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |sum, b| sum.wrapping_add(*b))
        .wrapping_neg()
}

/// Whether `bytes`, ending with their checksum, add up to zero.
pub fn checksum_ok(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) == 0
}

/// Why a received frame is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Shorter than [`MIN_FRAME_LEN`].
    TooShort,
    /// The header checksum (byte 2) does not match bytes 0-1.
    HeaderChecksum,
    /// The trailing checksum does not match bytes 3 onwards.
    BodyChecksum,
    /// The output buffer is too small for the frame to build.
    NoSpace,
}

/// A decoded IPMB frame, request or response alike.
///
/// `dest_*` is the first (header) half, `src_*` the second; for a response
/// the body starts with the completion code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Slave address the frame is sent to.
    pub dest_addr: u8,
    /// Network function.
    pub netfn: NetFn,
    /// LUN at the destination.
    pub dest_lun: Lun,
    /// Slave address of the sender.
    pub src_addr: u8,
    /// Sequence number (6 bits) that pairs a response with its request.
    pub seq: u8,
    /// LUN at the sender.
    pub src_lun: Lun,
    /// Command.
    pub cmd: u8,
    /// Body between the command and the trailing checksum.
    pub body: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Decodes a frame and checks both of its checksums.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FrameError> {
        Self::decode(bytes, true)
    }

    /// Decodes a frame without looking at its checksums (only its length
    /// can make it fail), for a caller that checked them and chose to
    /// take the frame anyway.
    pub fn parse_unchecked(bytes: &'a [u8]) -> Result<Self, FrameError> {
        Self::decode(bytes, false)
    }

    fn decode(bytes: &'a [u8], check: bool) -> Result<Self, FrameError> {
        if bytes.len() < MIN_FRAME_LEN {
            return Err(FrameError::TooShort);
        }
        let (header, rest) = bytes.split_at(3);
        if check && !checksum_ok(header) {
            return Err(FrameError::HeaderChecksum);
        }
        if check && !checksum_ok(rest) {
            return Err(FrameError::BodyChecksum);
        }
        let (&[dest_addr, nl, _], &[src_addr, seq_lun, cmd, ref body @ .., _]) = (header, rest)
        else {
            return Err(FrameError::TooShort);
        };
        Ok(Frame {
            dest_addr,
            netfn: NetFn::from_netfn_lun(nl),
            dest_lun: Lun::from_low_bits(nl),
            src_addr,
            seq: seq_lun >> 2,
            src_lun: Lun::from_low_bits(seq_lun),
            cmd,
            body,
        })
    }

    /// Decodes a frame whose destination address was left out (as in a
    /// Get Message response) and checks both checksums, the header one
    /// over `dest_addr`, the address the frame was sent to.
    pub fn parse_without_dest(dest_addr: u8, bytes: &'a [u8]) -> Result<Self, FrameError> {
        Self::decode_without_dest(dest_addr, bytes, Checks::Both)
    }

    /// As [`Frame::parse_without_dest`], but the header checksum is not
    /// checked: it covers the destination address, which the BMC checked
    /// when the frame arrived and does not hand on; some BMCs (OpenIPMI's
    /// ipmi_sim) fill it with garbage in Get Message answers.
    pub fn parse_relayed(dest_addr: u8, bytes: &'a [u8]) -> Result<Self, FrameError> {
        Self::decode_without_dest(dest_addr, bytes, Checks::Trailing)
    }

    /// As [`Frame::parse_relayed`] without the trailing checksum either.
    pub fn parse_relayed_unchecked(dest_addr: u8, bytes: &'a [u8]) -> Result<Self, FrameError> {
        Self::decode_without_dest(dest_addr, bytes, Checks::None)
    }

    fn decode_without_dest(
        dest_addr: u8,
        bytes: &'a [u8],
        checks: Checks,
    ) -> Result<Self, FrameError> {
        let [nl, chk1, rest @ ..] = bytes else {
            return Err(FrameError::TooShort);
        };
        if rest.len() < MIN_FRAME_LEN - 3 {
            return Err(FrameError::TooShort);
        }
        if checks == Checks::Both && !checksum_ok(&[dest_addr, *nl, *chk1]) {
            return Err(FrameError::HeaderChecksum);
        }
        if checks != Checks::None && !checksum_ok(rest) {
            return Err(FrameError::BodyChecksum);
        }
        let [src_addr, seq_lun, cmd, body @ .., _] = rest else {
            return Err(FrameError::TooShort);
        };
        Ok(Frame {
            dest_addr,
            netfn: NetFn::from_netfn_lun(*nl),
            dest_lun: Lun::from_low_bits(*nl),
            src_addr: *src_addr,
            seq: seq_lun >> 2,
            src_lun: Lun::from_low_bits(*seq_lun),
            cmd: *cmd,
            body,
        })
    }

    /// Length of the encoded frame.
    pub fn encoded_len(&self) -> usize {
        self.body.len() + FRAME_OVERHEAD + 2
    }

    /// Encodes the frame with both checksums into `out`; returns its length.
    /// The sequence number is taken modulo 64.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, FrameError> {
        let len = self.encoded_len();
        let out = out.get_mut(..len).ok_or(FrameError::NoSpace)?;
        let [dest, nl, chk1, src, seq_lun, cmd, tail @ ..] = out else {
            return Err(FrameError::NoSpace);
        };
        let (body, chk2) = tail.split_at_mut(self.body.len());
        let [chk2] = chk2 else {
            return Err(FrameError::NoSpace);
        };
        *dest = self.dest_addr;
        *nl = netfn_lun(self.netfn, self.dest_lun);
        *chk1 = checksum(&[*dest, *nl]);
        *src = self.src_addr;
        *seq_lun = ((self.seq & 0x3f) << 2) | self.src_lun.value();
        *cmd = self.cmd;
        body.copy_from_slice(self.body);
        // checksum(a ++ b) == checksum(a) + checksum(b), modulo 256.
        *chk2 = checksum(&[*src, *seq_lun, *cmd]).wrapping_add(checksum(body));
        Ok(len)
    }
}

/// Which checksums a decoder verifies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Checks {
    Both,
    Trailing,
    None,
}

/// A message the BMC received on one of its channels, as the data of a
/// successful Get Message response (after the completion code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetMessage<'a> {
    /// Channel the message arrived on (low 4 bits of the first byte).
    pub channel: u8,
    /// Privilege level of the channel's session (high 4 bits; 0 if none).
    pub privilege: u8,
    /// The IPMB frame, its trailing checksum verified (see
    /// [`Frame::parse_relayed`]).
    pub frame: Frame<'a>,
}

impl<'a> GetMessage<'a> {
    /// Decodes Get Message response data `[channel, frame without its
    /// destination address...]`; `own_addr` gives our slave address on a
    /// channel, the address the frame was sent to.
    pub fn parse(data: &'a [u8], own_addr: impl Fn(u8) -> u8) -> Result<Self, FrameError> {
        Self::decode(data, own_addr, true)
    }

    /// As [`GetMessage::parse`] without verifying any checksum.
    pub fn parse_unchecked(
        data: &'a [u8],
        own_addr: impl Fn(u8) -> u8,
    ) -> Result<Self, FrameError> {
        Self::decode(data, own_addr, false)
    }

    fn decode(
        data: &'a [u8],
        own_addr: impl Fn(u8) -> u8,
        check: bool,
    ) -> Result<Self, FrameError> {
        let [chan, frame @ ..] = data else {
            return Err(FrameError::TooShort);
        };
        let channel = chan & 0x0f;
        let dest = own_addr(channel);
        let frame = if check {
            Frame::parse_relayed(dest, frame)?
        } else {
            Frame::parse_relayed_unchecked(dest, frame)?
        };
        Ok(GetMessage {
            channel,
            privilege: chan >> 4,
            frame,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn checksum_matches_the_spec_example() {
        // Get Device ID from BMC (0x20) to a satellite at 0x30.
        assert_eq!(checksum(&[0x30, 0x18]), 0xb8);
        assert_eq!(checksum(&[]), 0);
        assert!(checksum_ok(&[0x30, 0x18, 0xb8]));
        assert!(!checksum_ok(&[0x30, 0x18, 0xb9]));
    }

    #[test]
    fn decode_a_get_device_id_request() {
        let frame = [0x30, 0x18, 0xb8, 0x20, 0x04, 0x01, 0xdb];
        let f = Frame::parse(&frame).unwrap();
        assert_eq!(f.dest_addr, 0x30);
        assert_eq!(f.netfn, NetFn::APP);
        assert_eq!(f.src_addr, 0x20);
        assert_eq!(f.seq, 1);
        assert_eq!(f.cmd, 0x01);
        assert!(f.body.is_empty());
        let mut out = [0u8; 16];
        assert_eq!(f.encode(&mut out), Ok(7));
        assert_eq!(out[..7], frame);
    }

    #[test]
    fn corrupt_frames_are_refused() {
        assert_eq!(
            Frame::parse(&[0x30, 0x18, 0xb8, 0x20, 0x04, 0x01]),
            Err(FrameError::TooShort)
        );
        assert_eq!(
            Frame::parse(&[0x30, 0x18, 0xb7, 0x20, 0x04, 0x01, 0xdb]),
            Err(FrameError::HeaderChecksum)
        );
        assert_eq!(
            Frame::parse(&[0x30, 0x18, 0xb8, 0x20, 0x04, 0x01, 0xdc]),
            Err(FrameError::BodyChecksum)
        );
        let f = Frame::parse(&[0x30, 0x18, 0xb8, 0x20, 0x04, 0x01, 0xdb]).unwrap();
        assert_eq!(f.encode(&mut [0u8; 6]), Err(FrameError::NoSpace));
    }

    #[test]
    fn get_message_response_from_a_satellite() {
        // Get Device ID response from 0x30 to the BMC (0x20), seq 1, on
        // channel 0, as Get Message returns it: rqSA (0x20) left out.
        let full = [0x20, 0x1c, 0xc4, 0x30, 0x04, 0x01, 0x00, 0x51, 0x7a];
        let chk2 = checksum(&full[3..8]);
        let mut data = [0u8; 9];
        data[0] = 0x00; // channel 0, no session
        data[1..8].copy_from_slice(&full[1..8]);
        data[8] = chk2;
        let m = GetMessage::parse(&data, |_| 0x20).unwrap();
        assert_eq!(m.channel, 0);
        assert_eq!(m.frame.dest_addr, 0x20);
        assert_eq!(m.frame.netfn, NetFn::APP.response());
        assert_eq!(m.frame.src_addr, 0x30);
        assert_eq!(m.frame.seq, 1);
        assert_eq!(m.frame.cmd, 0x01);
        assert_eq!(m.frame.body, &[0x00, 0x51]);
        // The header checksum is the BMC's business (see the module
        // comment): a wrong one passes, and the full check still sees it.
        let mut garbage = data;
        garbage[2] ^= 0x5a;
        assert!(GetMessage::parse(&garbage, |_| 0x20).is_ok());
        assert_eq!(
            Frame::parse_without_dest(0x20, &garbage[1..]),
            Err(FrameError::HeaderChecksum)
        );
        let mut bad = data;
        bad[8] ^= 1;
        assert_eq!(
            GetMessage::parse(&bad, |_| 0x20),
            Err(FrameError::BodyChecksum)
        );
        assert_eq!(
            GetMessage::parse(&data[..6], |_| 0x20),
            Err(FrameError::TooShort)
        );
        assert_eq!(GetMessage::parse(&[], |_| 0x20), Err(FrameError::TooShort));
        // Unchecked, a bad trailing checksum decodes to the same frame.
        let loose = GetMessage::parse_unchecked(&bad, |_| 0x20).unwrap();
        assert_eq!(loose.frame.body, m.frame.body);
        assert_eq!(
            GetMessage::parse_unchecked(&data[..6], |_| 0x20),
            Err(FrameError::TooShort)
        );
    }

    proptest! {
        #[test]
        fn without_dest_agrees_with_the_full_frame(dest in any::<u8>(), nl in any::<u8>(), src in any::<u8>(), seq in 0u8..64, cmd in any::<u8>(), body in proptest::collection::vec(any::<u8>(), 0..40)) {
            let f = Frame { dest_addr: dest, netfn: NetFn::from_netfn_lun(nl), dest_lun: Lun::from_low_bits(nl), src_addr: src, seq, src_lun: Lun::BMC, cmd, body: &body };
            let mut out = [0u8; 64];
            let len = f.encode(&mut out).unwrap();
            prop_assert_eq!(Frame::parse_without_dest(dest, &out[1..len]), Ok(f));
            prop_assert!(Frame::parse_without_dest(dest.wrapping_add(1), &out[1..len]).is_err());
        }

        #[test]
        fn get_message_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), own in any::<u8>()) {
            let _ = GetMessage::parse(&bytes, |_| own);
        }

        #[test]
        fn encode_then_parse_round_trips(dest in any::<u8>(), nl in any::<u8>(), src in any::<u8>(), seq in 0u8..64, lun in 0u8..4, cmd in any::<u8>(), body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let f = Frame { dest_addr: dest, netfn: NetFn::from_netfn_lun(nl), dest_lun: Lun::from_low_bits(nl), src_addr: src, seq, src_lun: Lun::new(lun).unwrap(), cmd, body: &body };
            let mut out = [0u8; 80];
            let len = f.encode(&mut out).unwrap();
            prop_assert_eq!(Frame::parse(&out[..len]), Ok(f));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Frame::parse(&bytes);
        }

        #[test]
        fn any_single_byte_flip_is_caught(body in proptest::collection::vec(any::<u8>(), 0..32), pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let f = Frame { dest_addr: 0x30, netfn: NetFn::APP, dest_lun: Lun::BMC, src_addr: 0x20, seq: 5, src_lun: Lun::BMC, cmd: 1, body: &body };
            let mut out = [0u8; 48];
            let len = f.encode(&mut out).unwrap();
            let i = pos.index(len);
            out[i] ^= flip;
            prop_assert!(Frame::parse(&out[..len]).is_err());
        }
    }
}
