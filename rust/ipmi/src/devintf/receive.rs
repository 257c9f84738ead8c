// SPDX-License-Identifier: GPL-2.0

//! What `IPMICTL_RECEIVE_MSG` and `IPMICTL_RECEIVE_MSG_TRUNC` do with the
//! message at the head of the queue, decided from lengths alone.
//!
//! The decision is taken before anything is copied and before the message
//! leaves the queue, so the kernel can copy out and only then
//! [pop](super::recv_queue::RecvQueue::pop) it: a failed copy (`EFAULT`)
//! leaves the message, untruncated, at the head for the next call.

use super::errno::Errno;
use super::ioctl::Ioctl;
use super::layout::{IpmiMsg, IpmiRecv};

/// `IPMI_*_RECV_TYPE`: what kind of message is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum RecvType {
    /// Response to one of the file's requests; body starts with the
    /// completion code, msgid is the request's.
    Response = 1,
    /// Asynchronous event from the event message buffer.
    AsyncEvent = 2,
    /// Command sent to a netfn/cmd the file registered for; msgid is the
    /// remote sequence number, to echo in the reply.
    Cmd = 3,
    /// Outcome of sending a response (one completion-code byte).
    ResponseResponse = 4,
    /// Message from an OEM channel.
    Oem = 5,
}

impl RecvType {
    /// The receive type for a raw `recv_type`.
    pub const fn from_raw(raw: i32) -> Option<RecvType> {
        Some(match raw {
            1 => RecvType::Response,
            2 => RecvType::AsyncEvent,
            3 => RecvType::Cmd,
            4 => RecvType::ResponseResponse,
            5 => RecvType::Oem,
            _ => return None,
        })
    }

    /// Whether the message answers something the file sent, and so is
    /// bounded by the handler's per-user limit on outstanding messages.
    pub const fn is_solicited(self) -> bool {
        matches!(self, RecvType::Response | RecvType::ResponseResponse)
    }
}

/// The two receive ioctls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvMode {
    /// `RECEIVE_MSG`: a body that does not fit stays queued.
    Whole,
    /// `RECEIVE_MSG_TRUNC`: a body that does not fit is cut to the
    /// caller's buffer and the message consumed.
    Truncate,
}

impl RecvMode {
    /// The mode of a receive ioctl; `None` for the others.
    pub const fn of(ioctl: Ioctl) -> Option<RecvMode> {
        match ioctl {
            Ioctl::ReceiveMsg => Some(RecvMode::Whole),
            Ioctl::ReceiveMsgTrunc => Some(RecvMode::Truncate),
            _ => None,
        }
    }
}

/// How to deliver the head message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Bytes of address to copy to the caller's address buffer (the
    /// message's whole address), and the `addr_len` to report.
    pub addr_len: u32,
    /// Bytes of body to copy to the caller's data buffer, and the
    /// `data_len` to report.
    pub data_len: u16,
    /// The body was cut to fit: after a successful copy-out the message is
    /// consumed and the ioctl returns `EMSGSIZE`.
    pub truncated: bool,
}

impl Delivery {
    /// What the ioctl returns once everything was copied out and the
    /// message popped.
    pub const fn result(&self) -> Result<(), Errno> {
        if self.truncated {
            Err(Errno::MsgSize)
        } else {
            Ok(())
        }
    }

    /// The structure to copy back: the caller's buffer pointers with the
    /// message's type, msgid, netfn, cmd and the delivered lengths.
    pub const fn reply(&self, caller: &IpmiRecv, head: &RecvHeader) -> IpmiRecv {
        IpmiRecv {
            recv_type: head.recv_type,
            addr: caller.addr,
            addr_len: self.addr_len,
            msgid: head.msgid,
            msg: IpmiMsg {
                netfn: head.netfn,
                cmd: head.cmd,
                data_len: self.data_len,
                data: caller.msg.data,
            },
        }
    }
}

/// The outcome of a receive ioctl for the head message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvOutcome {
    /// Return the errno; the message stays at the head and nothing is
    /// copied to user space.
    Keep(Errno),
    /// Copy out as described, then pop the message.
    Deliver(Delivery),
}

/// Decides a receive from the head message's address and body lengths and
/// the caller's buffer sizes (`ipmi_recv.addr_len`, `ipmi_recv.msg.data_len`).
///
/// - address buffer smaller than the message's address: `EINVAL`, kept;
/// - body larger than the data buffer: `RECEIVE_MSG` keeps the message and
///   returns `EMSGSIZE` without copying anything; `RECEIVE_MSG_TRUNC`
///   delivers the first `caller_data_len` bytes, consumes the message and
///   returns `EMSGSIZE`;
/// - otherwise the whole message is delivered.
pub fn receive_outcome(
    mode: RecvMode,
    msg_addr_len: usize,
    msg_data_len: usize,
    caller_addr_len: u32,
    caller_data_len: u16,
) -> RecvOutcome {
    // The address is checked first, as upstream does.
    let addr_len = match u32::try_from(msg_addr_len) {
        Ok(len) if len <= caller_addr_len => len,
        _ => return RecvOutcome::Keep(Errno::Inval),
    };
    let (data_len, truncated) = match u16::try_from(msg_data_len) {
        Ok(len) if len <= caller_data_len => (len, false),
        _ => match mode {
            RecvMode::Whole => return RecvOutcome::Keep(Errno::MsgSize),
            RecvMode::Truncate => (caller_data_len, true),
        },
    };
    RecvOutcome::Deliver(Delivery {
        addr_len,
        data_len,
        truncated,
    })
}

/// What the receive decision needs to know about the head message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvHeader {
    /// Raw `recv_type`.
    pub recv_type: i32,
    /// Length of its address (`ipmi_addr_length()` of its type).
    pub addr_len: usize,
    /// Its msgid.
    pub msgid: i64,
    /// Network function.
    pub netfn: u8,
    /// Command.
    pub cmd: u8,
    /// Length of its body.
    pub data_len: usize,
}

/// A receive to carry out: how much to copy, and the structure to copy
/// back afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvPlan {
    /// Lengths to copy and whether the body was cut.
    pub delivery: Delivery,
    /// The `ipmi_recv` to encode and copy back, last.
    pub reply: IpmiRecv,
}

/// The whole decision for a receive ioctl: `EAGAIN` on an empty queue
/// (`head` is `None`; the ioctls never block), the errno of
/// [`receive_outcome`] when the message stays, else the plan.
pub fn plan_receive(
    mode: RecvMode,
    head: Option<&RecvHeader>,
    caller: &IpmiRecv,
) -> Result<RecvPlan, Errno> {
    let head = head.ok_or(Errno::Again)?;
    match receive_outcome(
        mode,
        head.addr_len,
        head.data_len,
        caller.addr_len,
        caller.msg.data_len,
    ) {
        RecvOutcome::Keep(errno) => Err(errno),
        RecvOutcome::Deliver(delivery) => Ok(RecvPlan {
            delivery,
            reply: delivery.reply(caller, head),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    fn deliver(addr_len: u32, data_len: u16, truncated: bool) -> RecvOutcome {
        RecvOutcome::Deliver(Delivery {
            addr_len,
            data_len,
            truncated,
        })
    }

    #[test]
    fn recv_types() {
        for raw in 1..=5 {
            assert_eq!(RecvType::from_raw(raw).map(|t| t as i32), Some(raw));
        }
        assert_eq!(RecvType::from_raw(0), None);
        assert_eq!(RecvType::from_raw(6), None);
        assert!(RecvType::Response.is_solicited());
        assert!(RecvType::ResponseResponse.is_solicited());
        assert!(!RecvType::AsyncEvent.is_solicited());
        assert!(!RecvType::Cmd.is_solicited());
        assert!(!RecvType::Oem.is_solicited());
        assert_eq!(RecvMode::of(Ioctl::ReceiveMsg), Some(RecvMode::Whole));
        assert_eq!(
            RecvMode::of(Ioctl::ReceiveMsgTrunc),
            Some(RecvMode::Truncate)
        );
        assert_eq!(RecvMode::of(Ioctl::SendCommand), None);
    }

    #[test]
    fn address_buffer_too_small_is_einval_in_both_modes() {
        for mode in [RecvMode::Whole, RecvMode::Truncate] {
            assert_eq!(
                receive_outcome(mode, 12, 1, 8, 1024),
                RecvOutcome::Keep(Errno::Inval)
            );
            // Even when the body would not fit either: the address comes first.
            assert_eq!(
                receive_outcome(mode, 8, 100, 7, 10),
                RecvOutcome::Keep(Errno::Inval)
            );
        }
    }

    #[test]
    fn body_too_large() {
        assert_eq!(
            receive_outcome(RecvMode::Whole, 8, 20, 40, 19),
            RecvOutcome::Keep(Errno::MsgSize)
        );
        assert_eq!(
            receive_outcome(RecvMode::Truncate, 8, 20, 40, 19),
            deliver(8, 19, true)
        );
        assert_eq!(
            receive_outcome(RecvMode::Truncate, 8, 20, 40, 0),
            deliver(8, 0, true)
        );
        // Bodies beyond u16 (never produced) still truncate safely.
        assert_eq!(
            receive_outcome(RecvMode::Truncate, 8, 70_000, 40, u16::MAX),
            deliver(8, u16::MAX, true)
        );
        assert_eq!(
            receive_outcome(RecvMode::Whole, 8, 70_000, 40, u16::MAX),
            RecvOutcome::Keep(Errno::MsgSize)
        );
    }

    #[test]
    fn fits() {
        for mode in [RecvMode::Whole, RecvMode::Truncate] {
            assert_eq!(receive_outcome(mode, 8, 3, 8, 3), deliver(8, 3, false));
            assert_eq!(
                receive_outcome(mode, 12, 0, 40, 1024),
                deliver(12, 0, false)
            );
            // An empty body fits a zero-sized buffer.
            assert_eq!(receive_outcome(mode, 8, 0, 8, 0), deliver(8, 0, false));
            // An address of unknown type has length 0 and always fits.
            assert_eq!(receive_outcome(mode, 0, 1, 0, 1), deliver(0, 1, false));
        }
    }

    #[test]
    fn results() {
        assert_eq!(
            Delivery {
                addr_len: 8,
                data_len: 1,
                truncated: false
            }
            .result(),
            Ok(())
        );
        assert_eq!(
            Delivery {
                addr_len: 8,
                data_len: 1,
                truncated: true
            }
            .result(),
            Err(Errno::MsgSize)
        );
    }

    #[test]
    fn plans() {
        let caller = IpmiRecv {
            recv_type: 0x55,
            addr: 0x1000,
            addr_len: 40,
            msgid: 0x77,
            msg: IpmiMsg {
                netfn: 0x99,
                cmd: 0x99,
                data_len: 2,
                data: 0x2000,
            },
        };
        let head = RecvHeader {
            recv_type: RecvType::Response as i32,
            addr_len: 8,
            msgid: -9,
            netfn: 0x07,
            cmd: 0x01,
            data_len: 16,
        };
        assert_eq!(
            plan_receive(RecvMode::Whole, None, &caller),
            Err(Errno::Again)
        );
        assert_eq!(
            plan_receive(RecvMode::Truncate, None, &caller),
            Err(Errno::Again)
        );
        assert_eq!(
            plan_receive(RecvMode::Whole, Some(&head), &caller),
            Err(Errno::MsgSize)
        );
        let plan = plan_receive(RecvMode::Truncate, Some(&head), &caller).unwrap();
        assert_eq!(
            plan.delivery,
            Delivery {
                addr_len: 8,
                data_len: 2,
                truncated: true
            }
        );
        assert_eq!(
            plan.reply,
            IpmiRecv {
                recv_type: 1,
                addr: 0x1000,
                addr_len: 8,
                msgid: -9,
                msg: IpmiMsg {
                    netfn: 0x07,
                    cmd: 0x01,
                    data_len: 2,
                    data: 0x2000,
                },
            }
        );
        let small_addr = IpmiRecv {
            addr_len: 4,
            ..caller
        };
        assert_eq!(
            plan_receive(RecvMode::Truncate, Some(&head), &small_addr),
            Err(Errno::Inval)
        );
    }

    /// Every branch of the decision, counted so that the property cannot
    /// pass without exercising each.
    #[test]
    fn outcome_properties() {
        let strategy = (
            prop_oneof![Just(RecvMode::Whole), Just(RecvMode::Truncate)],
            prop_oneof![Just(0usize), Just(8), Just(12), 0usize..64],
            prop_oneof![0usize..=300, Just(0), Just(272), any::<usize>()],
            prop_oneof![Just(0u32), Just(8), Just(12), Just(40), any::<u32>()],
            prop_oneof![0u16..=300, Just(0), any::<u16>()],
        );
        let inval = Cell::new(0u32);
        let kept_too_big = Cell::new(0u32);
        let truncated = Cell::new(0u32);
        let whole = Cell::new(0u32);
        let mut runner = TestRunner::new(Config {
            cases: 4096,
            ..Config::default()
        });
        runner
            .run(&strategy, |(mode, m_addr, m_data, c_addr, c_data)| {
                let addr_fits = m_addr as u64 <= u64::from(c_addr);
                let data_fits = m_data <= usize::from(c_data);
                match receive_outcome(mode, m_addr, m_data, c_addr, c_data) {
                    RecvOutcome::Keep(Errno::Inval) => {
                        prop_assert!(!addr_fits);
                        inval.set(inval.get() + 1);
                    }
                    RecvOutcome::Keep(Errno::MsgSize) => {
                        prop_assert!(addr_fits && !data_fits);
                        prop_assert_eq!(mode, RecvMode::Whole);
                        kept_too_big.set(kept_too_big.get() + 1);
                    }
                    RecvOutcome::Keep(other) => prop_assert!(false, "{:?}", other),
                    RecvOutcome::Deliver(d) => {
                        prop_assert!(addr_fits);
                        // Never more than either side holds.
                        prop_assert!(u64::from(d.addr_len) == m_addr as u64);
                        prop_assert!(d.data_len <= c_data);
                        prop_assert!(usize::from(d.data_len) <= m_data);
                        // RECEIVE_MSG never consumes a message that does not fit.
                        prop_assert_eq!(d.truncated, !data_fits);
                        if d.truncated {
                            prop_assert_eq!(mode, RecvMode::Truncate);
                            prop_assert_eq!(d.data_len, c_data);
                            prop_assert_eq!(d.result(), Err(Errno::MsgSize));
                            truncated.set(truncated.get() + 1);
                        } else {
                            prop_assert_eq!(usize::from(d.data_len), m_data);
                            prop_assert_eq!(d.result(), Ok(()));
                            whole.set(whole.get() + 1);
                        }
                    }
                }
                Ok(())
            })
            .unwrap();
        for (name, n) in [
            ("einval", inval),
            ("emsgsize kept", kept_too_big),
            ("truncated", truncated),
            ("whole", whole),
        ] {
            assert!(n.get() > 0, "branch {name} never ran");
        }
    }
}
