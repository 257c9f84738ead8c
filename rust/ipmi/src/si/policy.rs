// SPDX-License-Identifier: GPL-2.0

//! What a system interface does between the caller's requests: the
//! driver's own transactions, as upstream's ipmi_si_intf.c runs them.
//!
//! The KCS and BT machines move one request and its response. Above them
//! the driver fetches what the BMC holds for the host when it raises
//! `SMS_ATN` (Get Message Flags, then Get Message or Read Event Message
//! Buffer until the queue is empty, Clear Message Flags on a watchdog
//! pre-timeout) and, when the handler asks for events, checks the BMC
//! global enables (a BMC can be reset behind the host's back and lose
//! them) before it reads the event buffer.
//!
//! [`Policy`] decides which transaction comes next and what the end of
//! one of its own means; the driver keeps the machine, the caller's
//! messages and the buffers handed up:
//!
//! ```text
//! machine idle:      match policy.next(user_waiting) {
//!                        Next::User         => start the waiting request
//!                        Next::Internal(op) => start op.request()
//!                                              (a buffer first if op.delivers())
//!                        Next::Nothing      => stop polling unless watched
//!                    }
//! internal op ended: let done = policy.finished(response);
//!                    done.deliver:     hand the response up with op's request
//!                    done.pretimeout:  tell the handler
//! SMS_ATN seen:      policy.attention()
//! handler's request: policy.request_events()
//! ```
//!
//! What differs from upstream, on purpose: an `SMS_ATN` waits behind at
//! most one caller's request (upstream let a stream of requests starve
//! it); Clear Message Flags is followed by the other flags the BMC
//! reported rather than left for the next `SMS_ATN`; support for the
//! event message buffer is learnt from the first Set Global Enables
//! rather than a separate probe; an `SMS_ATN` that [`EMPTY_ATTENTIONS`]
//! flag fetches in a row found nothing behind is looked at after a
//! back-off growing to a second (upstream fetches the flags back to back
//! for as long as a BMC keeps the flag up).

use super::oem::Quirks;

/// NetFn App, request, LUN 0, as the first byte of a request.
const APP_REQUEST: u8 = 0x06 << 2;

/// Command: Clear Message Flags.
pub const CLEAR_MSG_FLAGS: u8 = 0x30;
/// Command: Get Message Flags.
pub const GET_MSG_FLAGS: u8 = 0x31;
/// Command: Get Message.
pub const GET_MSG: u8 = 0x33;
/// Command: Read Event Message Buffer.
pub const READ_EVENT_MSG_BUFFER: u8 = 0x35;
/// Command: Set BMC Global Enables.
pub const SET_BMC_GLOBAL_ENABLES: u8 = 0x2e;
/// Command: Get BMC Global Enables.
pub const GET_BMC_GLOBAL_ENABLES: u8 = 0x2f;

/// Message flag: the receive message queue holds a message.
pub const FLAG_RECEIVE_MSG_AVAIL: u8 = 0x01;
/// Message flag: the event message buffer is full.
pub const FLAG_EVENT_MSG_BUFFER_FULL: u8 = 0x02;
/// Message flag: the watchdog pre-timeout interrupt fired.
pub const FLAG_WDT_PRE_TIMEOUT: u8 = 0x08;

/// Global enable: receive message queue interrupt.
pub const ENABLE_RCV_MSG_INTR: u8 = 0x01;
/// Global enable: event message buffer full interrupt.
pub const ENABLE_EVT_MSG_INTR: u8 = 0x02;
/// Global enable: event message buffer.
pub const ENABLE_EVT_MSG_BUFF: u8 = 0x04;
/// The global enables this driver manages; it keeps the others as found.
pub const ENABLES_MASK: u8 = ENABLE_RCV_MSG_INTR | ENABLE_EVT_MSG_INTR | ENABLE_EVT_MSG_BUFF;

/// Messages or events fetched in a row before the driver stops to let
/// other work through (upstream: 10); the BMC's `SMS_ATN` brings it back.
pub const MAX_FETCHES_IN_A_ROW: u8 = 10;

/// Get Message Flags in a row that found nothing this driver fetches,
/// after which an `SMS_ATN` is taken for a stuck one: looked at only after
/// a back-off (upstream fetches the flags again at once, for as long as
/// the BMC keeps the flag up).
pub const EMPTY_ATTENTIONS: u8 = 8;
/// The first back-off before a suspect `SMS_ATN` is looked at; it doubles
/// with each further empty look, up to [`ATTENTION_BACKOFF_MAX_MS`].
pub const ATTENTION_BACKOFF_MIN_MS: u32 = 10;
/// The longest back-off.
pub const ATTENTION_BACKOFF_MAX_MS: u32 = 1_000;

/// The message flags this driver fetches for.
const FETCHED_FLAGS: u8 =
    FLAG_RECEIVE_MSG_AVAIL | FLAG_EVENT_MSG_BUFFER_FULL | FLAG_WDT_PRE_TIMEOUT;

/// A Read Event Message Buffer response that carries an event: netfn,
/// cmd, completion code and the 16-byte event.
pub const EVENT_RESPONSE_LEN: usize = 19;

/// One of the driver's own transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Internal {
    /// Get Message Flags: why the BMC raised `SMS_ATN`.
    GetFlags,
    /// Clear Message Flags with these flags.
    ClearFlags(u8),
    /// Get Message: one message from the receive queue, handed up.
    GetMessage,
    /// Read Event Message Buffer: one event, handed up.
    ReadEvent,
    /// Get BMC Global Enables.
    GetEnables,
    /// Set BMC Global Enables to this value.
    SetEnables(u8),
}

/// The bytes of an internal request: netfn/LUN, cmd and at most one data
/// byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    bytes: [u8; 3],
    len: usize,
}

impl Request {
    /// The request as the machine takes it.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }
}

impl Internal {
    /// The request to send.
    pub const fn request(self) -> Request {
        let (cmd, data) = match self {
            Internal::GetFlags => (GET_MSG_FLAGS, None),
            Internal::ClearFlags(flags) => (CLEAR_MSG_FLAGS, Some(flags)),
            Internal::GetMessage => (GET_MSG, None),
            Internal::ReadEvent => (READ_EVENT_MSG_BUFFER, None),
            Internal::GetEnables => (GET_BMC_GLOBAL_ENABLES, None),
            Internal::SetEnables(enables) => (SET_BMC_GLOBAL_ENABLES, Some(enables)),
        };
        match data {
            Some(byte) => Request {
                bytes: [APP_REQUEST, cmd, byte],
                len: 3,
            },
            None => Request {
                bytes: [APP_REQUEST, cmd, 0],
                len: 2,
            },
        }
    }

    /// Whether a successful response is handed up to the message handler
    /// (which then needs a buffer ready before the request starts).
    pub const fn delivers(self) -> bool {
        matches!(self, Internal::GetMessage | Internal::ReadEvent)
    }
}

/// What to start next on an idle machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The caller's waiting request.
    User,
    /// One of the driver's own transactions.
    Internal(Internal),
    /// Nothing: the interface may go quiet.
    Nothing,
}

/// Something the driver should log (rate-limited): the BMC refused a
/// transaction the driver relies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warning {
    /// Get BMC Global Enables failed with this completion code.
    GetEnables(u8),
    /// Set BMC Global Enables failed with this completion code.
    SetEnables(u8),
    /// Clear Message Flags failed with this completion code.
    ClearFlags(u8),
    /// The BMC kept `SMS_ATN` up through [`EMPTY_ATTENTIONS`] flag fetches
    /// that found nothing: from now on it is looked at after a back-off.
    StuckAttention,
}

/// The end of an internal transaction, as the driver acts on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Done {
    /// Hand the response up (a message or an event), with the request.
    pub deliver: bool,
    /// Report a watchdog pre-timeout to the handler.
    pub pretimeout: bool,
    /// BT: whether its own interrupt enable bit should be set, learnt
    /// with the global enables.
    pub irq_on: Option<bool>,
    /// What to log.
    pub warning: Option<Warning>,
}

/// Whether the BMC has an event message buffer the driver may enable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventBuffer {
    /// Not yet known: the first Set Global Enables tries it.
    Unknown,
    /// Enabled and working.
    Supported,
    /// The BMC refused to enable it.
    Unsupported,
}

/// Counters kept by the policy, under upstream's sysfs names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// `SMS_ATN` handled (Get Message Flags started for it).
    pub attentions: u32,
    /// Get Message Flags that ended.
    pub flag_fetches: u32,
    /// Events handed up.
    pub events: u32,
    /// Watchdog pre-timeouts reported.
    pub watchdog_pretimeouts: u32,
    /// Messages from the receive queue handed up.
    pub incoming_messages: u32,
}

/// The policy of one interface. See the module documentation.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    irq: bool,
    event_buffer: EventBuffer,
    in_flight: Option<Internal>,
    chain: Option<Internal>,
    msg_flags: u8,
    attention: bool,
    events_requested: bool,
    fetches_in_a_row: u8,
    /// Flag fetches in a row that found nothing to fetch.
    empty_attentions: u8,
    last_was_user: bool,
    stats: Stats,
    quirks: Quirks,
}

impl Policy {
    /// A policy for an interface with (`irq`) or without an interrupt.
    /// The first idle moment checks the global enables.
    pub const fn new(irq: bool) -> Self {
        Policy {
            irq,
            event_buffer: EventBuffer::Unknown,
            in_flight: None,
            chain: None,
            msg_flags: 0,
            attention: false,
            events_requested: true,
            fetches_in_a_row: 0,
            empty_attentions: 0,
            last_was_user: false,
            stats: Stats {
                attentions: 0,
                flag_fetches: 0,
                events: 0,
                watchdog_pretimeouts: 0,
                incoming_messages: 0,
            },
            quirks: Quirks {
                oem_flags_mean_receive: false,
                refuse_get_sdr_3a: false,
            },
        }
    }

    /// The BMC's firmware quirks, known from its Device ID at probe.
    pub fn set_quirks(&mut self, quirks: Quirks) {
        self.quirks = quirks;
    }

    /// See [`Policy::set_quirks`].
    pub const fn quirks(&self) -> Quirks {
        self.quirks
    }

    /// The counters.
    pub const fn stats(&self) -> Stats {
        self.stats
    }

    /// What is known of the event message buffer.
    pub const fn event_buffer(&self) -> EventBuffer {
        self.event_buffer
    }

    /// Whether the interrupt is in use.
    pub const fn irq(&self) -> bool {
        self.irq
    }

    /// The interrupt was found broken or was given up: from the next check
    /// of the global enables on, the BMC's interrupts are turned off.
    pub fn set_irq(&mut self, irq: bool) {
        if self.irq != irq {
            self.irq = irq;
            self.events_requested = true;
        }
    }

    /// The internal transaction in progress, if any.
    pub const fn in_flight(&self) -> Option<Internal> {
        self.in_flight
    }

    /// The BMC raised `SMS_ATN` (seen on the status register, or its
    /// interrupt came).
    pub fn attention(&mut self) {
        self.attention = true;
    }

    /// The machine is idle with `SMS_ATN` down: the BMC lowers the flag,
    /// so an earlier run of empty fetches says nothing about the next one.
    pub fn no_attention(&mut self) {
        self.empty_attentions = 0;
    }

    /// How long to wait before looking at an `SMS_ATN` seen now: `None`
    /// (at once) unless the last [`EMPTY_ATTENTIONS`] or more flag fetches
    /// found nothing; then 10 ms, doubling with each further empty one, up
    /// to a second. The driver keeps the time and calls
    /// [`Policy::attention`] when it is up.
    pub fn attention_backoff_ms(&self) -> Option<u32> {
        let over = self.empty_attentions.checked_sub(EMPTY_ATTENTIONS)?;
        Some(
            ATTENTION_BACKOFF_MIN_MS
                .saturating_mul(1 << over.min(7))
                .min(ATTENTION_BACKOFF_MAX_MS),
        )
    }

    /// The message handler asked for events.
    pub fn request_events(&mut self) {
        self.events_requested = true;
    }

    /// Whether work is pending that [`Policy::next`] would start.
    pub const fn has_work(&self) -> bool {
        self.chain.is_some() || self.attention || self.events_requested
    }

    /// The global enables this driver wants.
    const fn wanted_enables(&self) -> u8 {
        let buffer = !matches!(self.event_buffer, EventBuffer::Unsupported);
        let mut enables = 0;
        if buffer {
            enables |= ENABLE_EVT_MSG_BUFF;
        }
        if self.irq {
            enables |= ENABLE_RCV_MSG_INTR;
            if buffer {
                enables |= ENABLE_EVT_MSG_INTR;
            }
        }
        enables
    }

    /// What to start on the idle machine. `user_waiting`: a caller's
    /// request waits. An internal transaction returned here is in flight
    /// until [`Policy::finished`] or [`Policy::not_started`].
    pub fn next(&mut self, user_waiting: bool) -> Next {
        if self.in_flight.is_some() {
            // The driver must end the last one first; nothing new.
            return Next::Nothing;
        }
        let internal = if let Some(op) = self.chain.take() {
            Some(op)
        } else if self.attention && (!user_waiting || self.last_was_user) {
            self.attention = false;
            self.stats.attentions = self.stats.attentions.wrapping_add(1);
            Some(Internal::GetFlags)
        } else if user_waiting {
            None
        } else if self.events_requested {
            self.events_requested = false;
            if self.irq || self.event_buffer != EventBuffer::Unsupported {
                Some(Internal::GetEnables)
            } else {
                Some(Internal::ReadEvent)
            }
        } else {
            self.last_was_user = false;
            return Next::Nothing;
        };
        match internal {
            Some(op) => {
                self.last_was_user = false;
                self.in_flight = Some(op);
                Next::Internal(op)
            }
            None => {
                self.last_was_user = true;
                Next::User
            }
        }
    }

    /// The internal transaction returned by [`Policy::next`] could not
    /// start (no buffer to hand its response up in): forget it and the
    /// fetches that would have followed; the next `SMS_ATN` brings them
    /// back.
    pub fn not_started(&mut self) {
        self.in_flight = None;
        self.chain = None;
        self.msg_flags = 0;
    }

    /// Chooses the fetch the remaining message flags call for.
    fn handle_flags(&mut self, done: &mut Done) {
        self.chain = if self.msg_flags & FLAG_WDT_PRE_TIMEOUT != 0 {
            self.msg_flags &= !FLAG_WDT_PRE_TIMEOUT;
            self.stats.watchdog_pretimeouts = self.stats.watchdog_pretimeouts.wrapping_add(1);
            done.pretimeout = true;
            Some(Internal::ClearFlags(FLAG_WDT_PRE_TIMEOUT))
        } else if self.msg_flags & FLAG_RECEIVE_MSG_AVAIL != 0 {
            Some(Internal::GetMessage)
        } else if self.msg_flags & FLAG_EVENT_MSG_BUFFER_FULL != 0 {
            Some(Internal::ReadEvent)
        } else {
            None
        };
    }

    /// Counts one fetched message or event; past the limit in a row the
    /// flag is dropped so that other work gets through.
    fn fetched(&mut self, flag: u8) {
        self.fetches_in_a_row = self.fetches_in_a_row.saturating_add(1);
        if self.fetches_in_a_row > MAX_FETCHES_IN_A_ROW {
            self.msg_flags &= !flag;
        }
    }

    /// The internal transaction in flight ended with `response` (netfn,
    /// cmd, completion code, data; an error response when it failed).
    pub fn finished(&mut self, response: &[u8]) -> Done {
        let mut done = Done::default();
        let Some(op) = self.in_flight.take() else {
            return done;
        };
        let cc = response.get(2).copied().unwrap_or(0xff);
        let data = response.get(3).copied();
        match op {
            Internal::GetFlags => {
                self.stats.flag_fetches = self.stats.flag_fetches.wrapping_add(1);
                if let (0, Some(flags)) = (cc, data) {
                    let flags = self.quirks.message_flags(flags);
                    self.msg_flags = flags;
                    self.fetches_in_a_row = 0;
                    if flags & FETCHED_FLAGS == 0 {
                        self.empty_attentions = self.empty_attentions.saturating_add(1);
                        if self.empty_attentions == EMPTY_ATTENTIONS {
                            done.warning = Some(Warning::StuckAttention);
                        }
                    } else {
                        self.empty_attentions = 0;
                    }
                    self.handle_flags(&mut done);
                }
            }
            Internal::ClearFlags(_) => {
                if cc != 0 {
                    done.warning = Some(Warning::ClearFlags(cc));
                }
                self.handle_flags(&mut done);
            }
            Internal::GetMessage => {
                if cc == 0 && response.len() >= 3 {
                    self.stats.incoming_messages = self.stats.incoming_messages.wrapping_add(1);
                    self.fetched(FLAG_RECEIVE_MSG_AVAIL);
                    done.deliver = true;
                } else {
                    self.msg_flags &= !FLAG_RECEIVE_MSG_AVAIL;
                }
                self.handle_flags(&mut done);
            }
            Internal::ReadEvent => {
                // Some BMCs answer an empty buffer with no data rather
                // than 0x80: only a whole event counts.
                if cc == 0 && response.len() == EVENT_RESPONSE_LEN {
                    self.stats.events = self.stats.events.wrapping_add(1);
                    self.fetched(FLAG_EVENT_MSG_BUFFER_FULL);
                    done.deliver = true;
                } else {
                    self.msg_flags &= !FLAG_EVENT_MSG_BUFFER_FULL;
                }
                self.handle_flags(&mut done);
            }
            Internal::GetEnables => match (cc, data) {
                (0, Some(current)) => {
                    if self.event_buffer == EventBuffer::Unknown
                        && current & ENABLE_EVT_MSG_BUFF != 0
                    {
                        self.event_buffer = EventBuffer::Supported;
                    }
                    let wanted = self.wanted_enables();
                    done.irq_on = Some(wanted & (ENABLE_RCV_MSG_INTR | ENABLE_EVT_MSG_INTR) != 0);
                    if current & ENABLES_MASK != wanted {
                        self.chain = Some(Internal::SetEnables(wanted | (current & !ENABLES_MASK)));
                    } else if self.event_buffer == EventBuffer::Supported {
                        self.chain = Some(Internal::ReadEvent);
                    }
                }
                (0, None) => done.warning = Some(Warning::GetEnables(0xff)),
                _ => done.warning = Some(Warning::GetEnables(cc)),
            },
            Internal::SetEnables(enables) => {
                if cc == 0 {
                    if enables & ENABLE_EVT_MSG_BUFF != 0 {
                        self.event_buffer = EventBuffer::Supported;
                    }
                } else if enables & ENABLE_EVT_MSG_BUFF != 0
                    && self.event_buffer == EventBuffer::Unknown
                {
                    // Refused with the buffer asked for: take it as
                    // unsupported and try again without it.
                    self.event_buffer = EventBuffer::Unsupported;
                    self.events_requested = true;
                } else {
                    done.warning = Some(Warning::SetEnables(cc));
                }
                if self.event_buffer == EventBuffer::Supported {
                    self.chain = Some(Internal::ReadEvent);
                }
            }
        }
        done
    }
}

#[cfg(test)]
mod tests;
