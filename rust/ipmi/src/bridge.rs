// SPDX-License-Identifier: GPL-2.0

//! Requests bridged through the BMC: App Send Message (0x34) carrying an
//! IPMB frame to a controller on another bus, or a LAN frame to a remote
//! session, as upstream's `format_ipmb_msg` and `format_lan_msg` lay
//! them out; and the answers to LAN requests, as they come back in a Get
//! Message response (`handle_lan_get_msg_rsp`). The IPMB answers use
//! [`super::ipmb::GetMessage`].
//!
//! ```text
//! IPMB:      0x18 0x34 channel [0x00 if broadcast] | rsSA netFn/rsLUN chk1 rqSA seq/rqLUN cmd data chk2
//! LAN:       0x18 0x34 channel session             | remoteSWID netFn/LUN chk1 localSWID seq/LUN cmd data chk2
//! LAN answer (Get Message data after the cc):
//!            channel/privilege session | localSWID netFn/LUN chk1 remoteSWID seq/LUN cmd cc data chk2
//! ```
//!
//! Both checksums of an answer are verified ([`super::ipmb::Frame::parse`]);
//! upstream's handler verifies neither.

use super::ipmb::{Frame, FrameError};
use super::msg::{Lun, NetFn};

/// App netfn/LUN 0 and Send Message, the first two bytes of every bridged
/// request.
const SEND_MESSAGE: [u8; 2] = [0x06 << 2, 0x34];

/// Where a bridged request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A controller on an IPMB channel.
    Ipmb {
        /// The channel (low 4 bits sent).
        channel: u8,
        /// Sent as an IPMB broadcast (a 0x00 before the frame).
        broadcast: bool,
        /// The controller's slave address.
        slave_addr: u8,
        /// Its LUN.
        lun: Lun,
    },
    /// A remote session on a LAN channel.
    Lan {
        /// The channel.
        channel: u8,
        /// The BMC's handle of the session.
        session_handle: u8,
        /// The remote software ID (the frame's destination).
        remote_swid: u8,
        /// Our software ID (the frame's source).
        local_swid: u8,
        /// The remote LUN.
        lun: Lun,
    },
}

/// A request to bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bridged<'a> {
    /// Where it goes.
    pub target: Target,
    /// Its netfn.
    pub netfn: NetFn,
    /// Its command.
    pub cmd: u8,
    /// Its data.
    pub data: &'a [u8],
    /// The sequence number (a slot of the sequence table, 6 bits).
    pub seq: u8,
    /// Our address on the IPMB (ignored for LAN: the local SWID is ours).
    pub source_addr: u8,
    /// Our LUN.
    pub source_lun: Lun,
}

impl Bridged<'_> {
    /// What goes before the frame (its first `len` bytes: App Send
    /// Message, the channel, then the broadcast 0x00 or the LAN session
    /// handle), and the frame.
    fn parts(&self) -> ([u8; 4], usize, Frame<'_>) {
        let (head, len, dest_addr, dest_lun, src_addr) = match self.target {
            Target::Ipmb {
                channel,
                broadcast,
                slave_addr,
                lun,
            } => (
                [SEND_MESSAGE[0], SEND_MESSAGE[1], channel & 0x0f, 0],
                3 + usize::from(broadcast),
                slave_addr,
                lun,
                self.source_addr,
            ),
            Target::Lan {
                channel,
                session_handle,
                remote_swid,
                local_swid,
                lun,
            } => (
                [
                    SEND_MESSAGE[0],
                    SEND_MESSAGE[1],
                    channel & 0x0f,
                    session_handle,
                ],
                4,
                remote_swid,
                lun,
                local_swid,
            ),
        };
        let frame = Frame {
            dest_addr,
            netfn: self.netfn,
            dest_lun,
            src_addr,
            seq: self.seq,
            src_lun: self.source_lun,
            cmd: self.cmd,
            body: self.data,
        };
        (head, len, frame)
    }

    /// Bytes of the Send Message request.
    pub fn encoded_len(&self) -> usize {
        let (_, head_len, frame) = self.parts();
        head_len + frame.encoded_len()
    }

    /// Writes the Send Message request (netfn/LUN, cmd, data) into `out`;
    /// returns its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, FrameError> {
        let (head, head_len, frame) = self.parts();
        let len = head_len + frame.encoded_len();
        let out = out.get_mut(..len).ok_or(FrameError::NoSpace)?;
        let (out_head, out_frame) = out.split_at_mut(head_len);
        out_head.copy_from_slice(head.get(..head_len).ok_or(FrameError::NoSpace)?);
        frame.encode(out_frame)?;
        Ok(len)
    }
}

/// The answer from a LAN session, as Get Message returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LanGetMessage<'a> {
    /// The channel it came on.
    pub channel: u8,
    /// The session's privilege level.
    pub privilege: u8,
    /// The session's handle.
    pub session_handle: u8,
    /// The frame: destination our local SWID, source the remote SWID; its
    /// body starts with the completion code.
    pub frame: Frame<'a>,
}

impl<'a> LanGetMessage<'a> {
    /// Decodes Get Message's data (after its completion code), both
    /// checksums verified, the answer's completion code required (10 bytes
    /// at least; upstream takes 12 bytes of response, 9 of data, and then
    /// delivers an answer with no completion code).
    pub fn parse(data: &'a [u8]) -> Result<Self, FrameError> {
        Self::decode(data, true)
    }

    /// As [`LanGetMessage::parse`] without verifying the checksums.
    pub fn parse_unchecked(data: &'a [u8]) -> Result<Self, FrameError> {
        Self::decode(data, false)
    }

    fn decode(data: &'a [u8], check: bool) -> Result<Self, FrameError> {
        let [chan, session_handle, frame @ ..] = data else {
            return Err(FrameError::TooShort);
        };
        let frame = if check {
            Frame::parse(frame)?
        } else {
            Frame::parse_unchecked(frame)?
        };
        if frame.body.is_empty() {
            return Err(FrameError::TooShort);
        }
        Ok(LanGetMessage {
            channel: chan & 0x0f,
            privilege: chan >> 4,
            session_handle: *session_handle,
            frame,
        })
    }
}

#[cfg(test)]
mod tests;
