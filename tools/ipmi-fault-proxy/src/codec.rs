// SPDX-License-Identifier: GPL-2.0

//! The wire format QEMU's `ipmi-bmc-extern` and OpenIPMI's "VM" serial codec
//! speak to each other over a byte stream.
//!
//! A frame is every byte since the previous terminator (or the start of the
//! stream), then one terminator: [`MSG_CHAR`] ends an IPMI message,
//! [`CMD_CHAR`] a control command. Inside a frame the three special bytes are
//! sent as [`ESCAPE_CHAR`] followed by the byte with bit 4 set; a receiver
//! clears bit 4 of the byte after an escape.
//!
//! A message frame is `seq, netfn << 2 | lun, cmd, data..., checksum`; in a
//! response the first data byte is the completion code. The checksum makes
//! the sum of every byte of the frame, itself included, zero modulo 256. A
//! control frame is an operation byte ([`ctl`]) and its arguments.
//!
//! Everything here is pure and total: no input makes it panic, and the
//! [`Decoder`] resynchronises on the next terminator after any garbage.

/// Ends an IPMI message frame.
pub const MSG_CHAR: u8 = 0xA0;
/// Ends a control command frame.
pub const CMD_CHAR: u8 = 0xA1;
/// Escapes the next byte: the receiver clears its bit 4.
pub const ESCAPE_CHAR: u8 = 0xAA;
/// The bit an escape clears.
pub const ESCAPE_BIT: u8 = 0x10;

/// The protocol version both ends announce with [`ctl::VERSION`].
pub const PROTOCOL_VERSION: u8 = 1;

/// The fewest bytes in a request frame OpenIPMI accepts (seq, netfn, cmd,
/// checksum).
pub const MIN_REQUEST_LEN: usize = 4;
/// The fewest bytes in a response frame QEMU accepts (seq, netfn, cmd,
/// completion code, checksum).
pub const MIN_RESPONSE_LEN: usize = 5;
/// QEMU's `MAX_IPMI_MSG_SIZE`: netfn, cmd and data of one message.
pub const QEMU_MAX_MSG: usize = 300;
/// The longest frame body the [`Decoder`] keeps by default; longer frames are
/// reported as [`FrameFault::Overflow`]. Far above what either peer accepts,
/// so that oversized frames can still be recognised and counted.
pub const DEFAULT_MAX_FRAME: usize = 4096;

/// Control operations (the first byte of a control frame).
pub mod ctl {
    /// Either direction: the protocol version follows.
    pub const VERSION: u8 = 0xff;
    /// BMC to VM: clear ATTN.
    pub const NOATTN: u8 = 0x00;
    /// BMC to VM: set ATTN, no interrupt.
    pub const ATTN: u8 = 0x01;
    /// BMC to VM: set ATTN and raise the interrupt.
    pub const ATTN_IRQ: u8 = 0x02;
    /// BMC to VM: power off.
    pub const POWEROFF: u8 = 0x03;
    /// BMC to VM: reset the target; VM to BMC: the target was reset.
    pub const RESET: u8 = 0x04;
    /// BMC to VM: enable the messaging interrupt.
    pub const ENABLE_IRQ: u8 = 0x05;
    /// BMC to VM: disable the messaging interrupt.
    pub const DISABLE_IRQ: u8 = 0x06;
    /// BMC to VM: send an NMI.
    pub const SEND_NMI: u8 = 0x07;
    /// VM to BMC: a capability bit mask follows (see [`super::caps`]).
    pub const CAPABILITIES: u8 = 0x08;
    /// BMC to VM: graceful (ACPI) shutdown.
    pub const GRACEFUL_SHUTDOWN: u8 = 0x09;
}

/// Capability bits of [`ctl::CAPABILITIES`].
pub mod caps {
    /// The VM can power off.
    pub const POWER: u8 = 0x01;
    /// The VM can reset.
    pub const RESET: u8 = 0x02;
    /// The VM can enable and disable the interface interrupt.
    pub const IRQ: u8 = 0x04;
    /// The VM can take an NMI.
    pub const NMI: u8 = 0x08;
    /// The VM can set ATTN on the interface.
    pub const ATTN: u8 = 0x10;
    /// The VM can shut down gracefully.
    pub const GRACEFUL_SHUTDOWN: u8 = 0x20;
}

/// Whether `b` must be escaped inside a frame.
pub const fn is_special(b: u8) -> bool {
    matches!(b, MSG_CHAR | CMD_CHAR | ESCAPE_CHAR)
}

/// The two's complement of the byte sum: appended to `bytes` it makes the
/// sum zero.
pub fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(byte_sum(bytes))
}

/// The sum of `bytes` modulo 256; zero for a frame with a valid checksum.
pub fn byte_sum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b))
}

/// Appends `b` to `out`, escaped if it is special.
pub fn push_escaped(out: &mut Vec<u8>, b: u8) {
    if is_special(b) {
        out.push(ESCAPE_CHAR);
        out.push(b | ESCAPE_BIT);
    } else {
        out.push(b);
    }
}

/// The two kinds of frame, told apart by their terminator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// An IPMI message, ended by [`MSG_CHAR`].
    Message,
    /// A control command, ended by [`CMD_CHAR`].
    Control,
}

impl FrameKind {
    /// The byte that ends a frame of this kind.
    pub const fn terminator(self) -> u8 {
        match self {
            Self::Message => MSG_CHAR,
            Self::Control => CMD_CHAR,
        }
    }
}

/// Escapes `body` and appends the terminator of `kind`.
pub fn encode_frame(body: &[u8], kind: FrameKind) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() * 2 + 1);
    for &b in body {
        push_escaped(&mut out, b);
    }
    out.push(kind.terminator());
    out
}

/// What was wrong with a frame at the byte level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameFault {
    /// The terminator came straight after an escape. Both peers discard
    /// such a frame.
    DanglingEscape,
    /// The frame was longer than the decoder keeps; `body` holds its start.
    Overflow,
}

/// One frame as received: the unescaped bytes before its terminator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Which terminator ended it.
    pub kind: FrameKind,
    /// The unescaped bytes (for a message: seq .. checksum).
    pub body: Vec<u8>,
    /// A byte-level fault, if any.
    pub fault: Option<FrameFault>,
}

impl Frame {
    /// A well-formed frame of `kind` holding `body`.
    pub fn new(kind: FrameKind, body: Vec<u8>) -> Self {
        Self {
            kind,
            body,
            fault: None,
        }
    }

    /// The frame back in wire form. A dangling escape is reproduced, so that
    /// a frame that was malformed stays malformed; an overflowed frame comes
    /// out with only the bytes that were kept.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() * 2 + 2);
        for &b in &self.body {
            push_escaped(&mut out, b);
        }
        if self.fault == Some(FrameFault::DanglingEscape) {
            out.push(ESCAPE_CHAR);
        }
        out.push(self.kind.terminator());
        out
    }

    /// The IPMI message this frame carries.
    pub fn message(&self) -> Result<Message, MessageError> {
        if self.kind != FrameKind::Message {
            return Err(MessageError::NotAMessage);
        }
        if let Some(f) = self.fault {
            return Err(MessageError::Malformed(f));
        }
        Message::parse(&self.body)
    }

    /// The control command this frame carries.
    pub fn control(&self) -> Option<Control> {
        if self.kind != FrameKind::Control || self.fault.is_some() {
            return None;
        }
        Control::parse(&self.body)
    }
}

/// Splits a byte stream into frames.
///
/// Bytes accumulate until a terminator. An escape clears bit 4 of the next
/// byte; a second escape in a row only keeps the escape pending (as both
/// QEMU and OpenIPMI do). A terminator always ends the frame and clears all
/// state, so a receiver is back in step after any garbage once the next
/// terminator has passed. Empty frames (two terminators in a row) are not
/// reported: both peers ignore them.
#[derive(Clone, Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    in_escape: bool,
    overflow: bool,
    max: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder keeping frames of up to [`DEFAULT_MAX_FRAME`] bytes.
    pub fn new() -> Self {
        Self::with_max(DEFAULT_MAX_FRAME)
    }

    /// A decoder keeping frames of up to `max` bytes.
    pub fn with_max(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            in_escape: false,
            overflow: false,
            max,
        }
    }

    /// Bytes of the frame in progress.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Takes one byte; returns the frame it completes, if any.
    pub fn push(&mut self, b: u8) -> Option<Frame> {
        match b {
            MSG_CHAR | CMD_CHAR => {
                let kind = if b == MSG_CHAR {
                    FrameKind::Message
                } else {
                    FrameKind::Control
                };
                let fault = if self.overflow {
                    Some(FrameFault::Overflow)
                } else if self.in_escape {
                    Some(FrameFault::DanglingEscape)
                } else {
                    None
                };
                let body = std::mem::take(&mut self.buf);
                self.in_escape = false;
                self.overflow = false;
                if body.is_empty() && fault.is_none() {
                    None
                } else {
                    Some(Frame { kind, body, fault })
                }
            }
            ESCAPE_CHAR => {
                self.in_escape = true;
                None
            }
            _ => {
                let b = if self.in_escape { b & !ESCAPE_BIT } else { b };
                self.in_escape = false;
                if self.buf.len() >= self.max {
                    self.overflow = true;
                } else {
                    self.buf.push(b);
                }
                None
            }
        }
    }

    /// Takes `bytes`, appending every frame they complete to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        out.extend(bytes.iter().filter_map(|&b| self.push(b)));
    }

    /// Decodes `bytes` from a fresh decoder.
    pub fn decode_all(bytes: &[u8]) -> Vec<Frame> {
        let mut d = Self::new();
        let mut out = Vec::new();
        d.feed(bytes, &mut out);
        out
    }
}

/// Why a frame is not a usable IPMI message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageError {
    /// It is a control frame.
    NotAMessage,
    /// It had a byte-level fault.
    Malformed(FrameFault),
    /// Fewer than [`MIN_REQUEST_LEN`] bytes.
    TooShort(usize),
    /// The bytes do not sum to zero; the sum is given.
    BadChecksum(u8),
}

impl std::fmt::Display for MessageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAMessage => write!(f, "not a message frame"),
            Self::Malformed(FrameFault::DanglingEscape) => write!(f, "ends in an escape"),
            Self::Malformed(FrameFault::Overflow) => write!(f, "too long"),
            Self::TooShort(n) => write!(f, "too short ({n} bytes)"),
            Self::BadChecksum(s) => write!(f, "bad checksum (sum 0x{s:02x})"),
        }
    }
}

/// An IPMI message as the VM protocol carries it. For a response, `data`
/// starts with the completion code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The sequence number QEMU chose; the BMC returns it unchanged.
    pub seq: u8,
    /// Network function (6 bits; odd in a response).
    pub netfn: u8,
    /// LUN (2 bits).
    pub lun: u8,
    /// Command.
    pub cmd: u8,
    /// Data; a response's completion code first.
    pub data: Vec<u8>,
}

impl Message {
    /// Parses a frame body (seq .. checksum), checking length and checksum.
    pub fn parse(body: &[u8]) -> Result<Self, MessageError> {
        if body.len() < MIN_REQUEST_LEN {
            return Err(MessageError::TooShort(body.len()));
        }
        let sum = byte_sum(body);
        if sum != 0 {
            return Err(MessageError::BadChecksum(sum));
        }
        match body {
            [seq, nl, cmd, rest @ ..] => {
                let data = rest.split_last().map_or(&[][..], |(_, d)| d);
                Ok(Self {
                    seq: *seq,
                    netfn: nl >> 2,
                    lun: nl & 3,
                    cmd: *cmd,
                    data: data.to_vec(),
                })
            }
            _ => Err(MessageError::TooShort(body.len())),
        }
    }

    /// The netfn/LUN byte.
    pub fn netfn_lun(&self) -> u8 {
        (self.netfn << 2) | (self.lun & 3)
    }

    /// seq, netfn/LUN, cmd and data: the frame body without its checksum.
    pub fn header_and_data(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.data.len() + 4);
        v.push(self.seq);
        v.push(self.netfn_lun());
        v.push(self.cmd);
        v.extend_from_slice(&self.data);
        v
    }

    /// The frame body: seq .. data and a correct checksum.
    pub fn body(&self) -> Vec<u8> {
        let mut v = self.header_and_data();
        v.push(checksum(&v));
        v
    }

    /// The message in wire form, with a correct checksum.
    pub fn encode(&self) -> Vec<u8> {
        encode_frame(&self.body(), FrameKind::Message)
    }

    /// The message in wire form with `csum` as its checksum byte.
    pub fn encode_with_checksum(&self, csum: u8) -> Vec<u8> {
        let mut v = self.header_and_data();
        v.push(csum);
        encode_frame(&v, FrameKind::Message)
    }

    /// The correct checksum byte of this message.
    pub fn checksum(&self) -> u8 {
        checksum(&self.header_and_data())
    }

    /// A response to this request: same seq, LUN and cmd, netfn + 1, the
    /// completion code `cc` and then `data`.
    pub fn response(&self, cc: u8, data: &[u8]) -> Self {
        let mut d = Vec::with_capacity(data.len() + 1);
        d.push(cc);
        d.extend_from_slice(data);
        Self {
            seq: self.seq,
            netfn: (self.netfn | 1) & 0x3f,
            lun: self.lun,
            cmd: self.cmd,
            data: d,
        }
    }

    /// The completion code, if this is a response with one.
    pub fn completion_code(&self) -> Option<u8> {
        self.data.first().copied()
    }
}

/// A control command: an operation and its argument bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Control {
    /// One of [`ctl`] (unknown values are kept as they are).
    pub op: u8,
    /// Argument bytes (the version, the capability mask).
    pub args: Vec<u8>,
}

impl Control {
    /// A command without arguments.
    pub fn new(op: u8) -> Self {
        Self {
            op,
            args: Vec::new(),
        }
    }

    /// Parses a control frame body; `None` if it is empty.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let (&op, args) = body.split_first()?;
        Some(Self {
            op,
            args: args.to_vec(),
        })
    }

    /// The command in wire form.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.args.len() + 1);
        body.push(self.op);
        body.extend_from_slice(&self.args);
        encode_frame(&body, FrameKind::Control)
    }

    /// The name of the operation, for logs.
    pub fn name(&self) -> &'static str {
        match self.op {
            ctl::VERSION => "version",
            ctl::NOATTN => "noattn",
            ctl::ATTN => "attn",
            ctl::ATTN_IRQ => "attn-irq",
            ctl::POWEROFF => "poweroff",
            ctl::RESET => "reset",
            ctl::ENABLE_IRQ => "enable-irq",
            ctl::DISABLE_IRQ => "disable-irq",
            ctl::SEND_NMI => "send-nmi",
            ctl::CAPABILITIES => "capabilities",
            ctl::GRACEFUL_SHUTDOWN => "graceful-shutdown",
            _ => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn msg(seq: u8, netfn: u8, cmd: u8, data: &[u8]) -> Message {
        Message {
            seq,
            netfn,
            lun: 0,
            cmd,
            data: data.to_vec(),
        }
    }

    #[test]
    fn get_device_id_request_bytes() {
        // seq 5, App (0x06) LUN 0, Get Device ID (0x01): checksum makes the
        // sum zero: 0x05 + 0x18 + 0x01 = 0x1e, so 0xe2.
        let m = msg(5, 0x06, 0x01, &[]);
        assert_eq!(m.encode(), vec![0x05, 0x18, 0x01, 0xe2, MSG_CHAR]);
    }

    #[test]
    fn special_bytes_are_escaped() {
        let m = msg(0xA0, 0x06, 0xAA, &[0xA1]);
        let wire = m.encode();
        let body = m.body();
        let csum = *body.last().unwrap();
        let mut expect = vec![
            ESCAPE_CHAR,
            0xB0,
            0x18,
            ESCAPE_CHAR,
            0xBA,
            ESCAPE_CHAR,
            0xB1,
        ];
        push_escaped(&mut expect, csum);
        expect.push(MSG_CHAR);
        assert_eq!(wire, expect);
        let frames = Decoder::decode_all(&wire);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].message().unwrap(), m);
    }

    #[test]
    fn control_frames() {
        let v = Control {
            op: ctl::VERSION,
            args: vec![PROTOCOL_VERSION],
        };
        assert_eq!(v.encode(), vec![0xff, 0x01, CMD_CHAR]);
        let frames = Decoder::decode_all(&[0x01, CMD_CHAR, 0x08, 0x14, CMD_CHAR]);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].control().unwrap(), Control::new(ctl::ATTN));
        assert_eq!(frames[0].control().unwrap().name(), "attn");
        let c = frames[1].control().unwrap();
        assert_eq!(c.op, ctl::CAPABILITIES);
        assert_eq!(c.args, vec![caps::IRQ | caps::ATTN]);
        assert_eq!(frames[0].message(), Err(MessageError::NotAMessage));
        assert!(Control::parse(&[]).is_none());
    }

    #[test]
    fn bad_frames() {
        // Too short, bad checksum, dangling escape, empty frames skipped.
        let f = Decoder::decode_all(&[0x01, 0x18, MSG_CHAR]);
        assert_eq!(f[0].message(), Err(MessageError::TooShort(2)));
        let f = Decoder::decode_all(&[0x05, 0x18, 0x01, 0xe3, MSG_CHAR]);
        assert_eq!(f[0].message(), Err(MessageError::BadChecksum(1)));
        let f = Decoder::decode_all(&[0x05, ESCAPE_CHAR, MSG_CHAR, MSG_CHAR, CMD_CHAR]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].fault, Some(FrameFault::DanglingEscape));
        assert_eq!(
            f[0].message(),
            Err(MessageError::Malformed(FrameFault::DanglingEscape))
        );
        assert_eq!(f[0].to_wire(), vec![0x05, ESCAPE_CHAR, MSG_CHAR]);
        assert!(f[0].control().is_none());
    }

    #[test]
    fn double_escape_is_one_escape() {
        let f = Decoder::decode_all(&[ESCAPE_CHAR, ESCAPE_CHAR, 0xB0, CMD_CHAR]);
        assert_eq!(f[0].body, vec![MSG_CHAR]);
    }

    #[test]
    fn overflow_is_reported_and_resynchronised() {
        let mut d = Decoder::with_max(8);
        let mut out = Vec::new();
        d.feed(&[0x11; 20], &mut out);
        assert!(out.is_empty());
        assert_eq!(d.pending(), 8);
        d.feed(&[MSG_CHAR], &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].fault, Some(FrameFault::Overflow));
        assert_eq!(out[0].body.len(), 8);
        let m = msg(1, 6, 1, &[]);
        d.feed(&m.encode(), &mut out);
        assert_eq!(out[1].message().unwrap(), m);
    }

    #[test]
    fn response_helper() {
        let req = Message {
            seq: 9,
            netfn: 0x0a,
            lun: 2,
            cmd: 0x10,
            data: vec![1, 2],
        };
        let rsp = req.response(0xc0, &[]);
        assert_eq!(rsp.seq, 9);
        assert_eq!(rsp.netfn, 0x0b);
        assert_eq!(rsp.lun, 2);
        assert_eq!(rsp.cmd, 0x10);
        assert_eq!(rsp.completion_code(), Some(0xc0));
        let wrong = rsp.encode_with_checksum(rsp.checksum() ^ 1);
        let f = Decoder::decode_all(&wrong);
        assert!(matches!(f[0].message(), Err(MessageError::BadChecksum(_))));
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        (
            any::<u8>(),
            0u8..64,
            0u8..4,
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(seq, netfn, lun, cmd, data)| Message {
                seq,
                netfn,
                lun,
                cmd,
                data,
            })
    }

    proptest! {
        #[test]
        fn roundtrip(m in arb_message()) {
            let wire = m.encode();
            // Only the last byte is a terminator; no bare special inside.
            let (last, inner) = wire.split_last().unwrap();
            prop_assert_eq!(*last, MSG_CHAR);
            let mut esc = false;
            for &b in inner {
                if esc {
                    prop_assert!(matches!(b, 0xB0 | 0xB1 | 0xBA));
                    esc = false;
                } else if b == ESCAPE_CHAR {
                    esc = true;
                } else {
                    prop_assert!(!is_special(b));
                }
            }
            prop_assert!(!esc);
            let frames = Decoder::decode_all(&wire);
            prop_assert_eq!(frames.len(), 1);
            prop_assert_eq!(frames[0].message().unwrap(), m);
            prop_assert_eq!(frames[0].to_wire(), wire);
        }

        #[test]
        fn control_roundtrip(op in any::<u8>(), args in proptest::collection::vec(any::<u8>(), 0..8)) {
            let c = Control { op, args };
            let frames = Decoder::decode_all(&c.encode());
            prop_assert_eq!(frames.len(), 1);
            prop_assert_eq!(frames[0].control().unwrap(), c);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut d = Decoder::with_max(64);
            let mut out = Vec::new();
            d.feed(&bytes, &mut out);
            let terminators = bytes.iter().filter(|&&b| b == MSG_CHAR || b == CMD_CHAR).count();
            prop_assert!(out.len() <= terminators);
            for f in &out {
                prop_assert!(f.body.len() <= 64);
                let _ = f.message();
                let _ = f.control();
                let _ = f.to_wire();
            }
        }

        #[test]
        fn resynchronises_after_garbage(
            garbage in proptest::collection::vec(any::<u8>(), 0..600),
            term in prop_oneof![Just(MSG_CHAR), Just(CMD_CHAR)],
            m in arb_message(),
        ) {
            let mut d = Decoder::with_max(512);
            let mut out = Vec::new();
            d.feed(&garbage, &mut out);
            d.feed(&[term], &mut out);
            out.clear();
            d.feed(&m.encode(), &mut out);
            prop_assert_eq!(out.len(), 1);
            prop_assert_eq!(out[0].message().unwrap(), m);
        }

        #[test]
        fn chunking_does_not_matter(
            bytes in proptest::collection::vec(any::<u8>(), 0..800),
            cuts in proptest::collection::vec(any::<usize>(), 0..10),
        ) {
            let whole = Decoder::decode_all(&bytes);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut d = Decoder::new();
            let mut out = Vec::new();
            let mut at = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                d.feed(&bytes[at..c], &mut out);
                at = c;
            }
            prop_assert_eq!(out, whole);
        }

        #[test]
        fn any_single_byte_change_breaks_the_checksum(
            m in arb_message(), pos in any::<usize>(), delta in 1u8..=255,
        ) {
            let mut body = m.body();
            let i = pos % body.len();
            body[i] = body[i].wrapping_add(delta);
            prop_assert!(matches!(Message::parse(&body), Err(MessageError::BadChecksum(_))));
        }

        #[test]
        fn reencoding_decoded_frames_is_stable(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            // Whatever came in, forwarding frame.to_wire() makes a receiver
            // see the same frames.
            for f in Decoder::decode_all(&bytes) {
                if f.fault == Some(FrameFault::Overflow) {
                    continue;
                }
                let again = Decoder::decode_all(&f.to_wire());
                prop_assert_eq!(again, vec![f]);
            }
        }
    }
}
