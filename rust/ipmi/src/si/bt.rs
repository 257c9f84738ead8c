// SPDX-License-Identifier: GPL-2.0

//! The BT (Block Transfer) system interface, IPMI 2.0 section 11, as
//! upstream's ipmi_bt_sm.c runs it.
//!
//! Three registers: `BT_CTRL` (offset 0: status when read, control when
//! written), `HOST2BMC`/`BMC2HOST` (offset 1) and `BT_INTMASK` (offset 2,
//! the driver's, for interrupts). A request goes to the BMC as one block,
//! `length, netfn/LUN, seq, cmd, data`, where `length` counts the bytes
//! after it, so a request (netfn/LUN, cmd, data) is at most 254 bytes; the
//! response comes back the same way and is matched on seq.
//! `H_BUSY` toggles on each write of its bit; the other control bits act
//! when written with 1.
//!
//! ```text
//! Idle --start--> XactionStart   stale B2H_ATN: drain it, wait; B_BUSY or H2B_ATN: wait;
//!                                else clear H_BUSY, CLR_WR_PTR, write the block, H2B_ATN
//!   -> WriteConsume              wait until B_BUSY and H2B_ATN clear
//!   -> ReadWait                  wait for B2H_ATN; set H_BUSY, clear B2H_ATN
//!   -> ClearB2h                  B2H_ATN still set: clear it again, wait;
//!                                else CLR_RD_PTR, read the block, clear H_BUSY
//!   -> (another seq: back to ReadWait) -> Idle with the response
//! no response within the timeout (per try):
//!   tries left (and Resend allows) -> XactionStart again, same seq
//!   none left: error response; B_BUSY set -> LongBusy (requests get
//!   NODE_BUSY until it clears); a BMC alive early in its life -> Reset
//!   (flags, drain, BT soft reset, 6 s hold) -> Idle
//! ```
//!
//! What differs from upstream, on purpose:
//! - a request longer than 254 bytes is refused ([`StartError::TooLong`]):
//!   upstream wrote `size + 1` into the length byte, which wraps for 255 and
//!   more;
//! - the soft reset comes after the failed request has been answered, not
//!   before a silent third try of it, and only when `B_BUSY` is clear;
//!   "early in its life" counts requests since the machine was made, not
//!   the sequence number (which wraps every 256 requests and so made
//!   upstream reset the BMC again and again);
//! - a response with the request's seq but another netfn or cmd is handed
//!   up as it is (the handler refuses it, as a KCS one), where upstream
//!   waits for another answer that never comes, its 5 s timeout per try;
//! - a response too short to hold a completion code ends in
//!   [`Cause::ShortResponse`] with completion code 0xff (upstream: 0xc6);
//! - `BT_INTMASK` is left to the driver (upstream's flag reset wrote
//!   `BMC_HWRST`, the optional hard-reset bit, into it);
//! - every request ends within [`Limits::request_timeout_us`] and
//!   [`Limits::max_steps`] calls, whatever the BMC's capabilities say.

use super::super::cc::CompletionCode;
use super::{
    error_response, Action, Attempts, Cause, Failure, Input, Pace, Plan, Resend, StartError,
    StateMachine, MAX_MSG_LENGTH, RUN_LIMIT,
};

/// Offset of `BT_CTRL`.
pub const CTRL_REGISTER: usize = 0;
/// Offset of `HOST2BMC` (written) and `BMC2HOST` (read).
pub const DATA_REGISTER: usize = 1;
/// Offset of `BT_INTMASK`.
pub const INTMASK_REGISTER: usize = 2;

/// `BT_CTRL`: clear the write pointer of `HOST2BMC`.
pub const CLR_WR_PTR: u8 = 0x01;
/// `BT_CTRL`: clear the read pointer of `BMC2HOST`.
pub const CLR_RD_PTR: u8 = 0x02;
/// `BT_CTRL`: the host has written a request.
pub const H2B_ATN: u8 = 0x04;
/// `BT_CTRL`: the BMC has written a response.
pub const B2H_ATN: u8 = 0x08;
/// `BT_CTRL`: the BMC has a message or event for the host.
pub const SMS_ATN: u8 = 0x10;
/// `BT_CTRL`: OEM bit.
pub const OEM0: u8 = 0x20;
/// `BT_CTRL`: the host is reading `BMC2HOST` (toggles on write).
pub const H_BUSY: u8 = 0x40;
/// `BT_CTRL`: the BMC is busy with a request.
pub const B_BUSY: u8 = 0x80;

/// `BT_INTMASK`: the BMC may interrupt the host.
pub const B2H_IRQ_EN: u8 = 0x01;
/// `BT_INTMASK`: the BMC has interrupted (write 1 to clear).
pub const B2H_IRQ: u8 = 0x02;

/// Longest request (netfn/LUN, cmd, data) the length byte can announce:
/// it counts seq too, and holds at most 255.
pub const MAX_REQUEST_LEN: usize = 254;

/// The Get BT Interface Capabilities request (App netfn, cmd 0x36).
pub const GET_BT_CAPABILITIES: [u8; 2] = [0x18, 0x36];

/// The soft reset upstream sends: App netfn, seq 42, Warm Reset.
const SOFT_RESET_BLOCK: [u8; 4] = [3, 0x18, 42, 0x03];

/// Longest time limit [`Limits::with_capabilities`] sets for one request.
pub const MAX_REQUEST_TIMEOUT_US: u32 = 60_000_000;

/// Whether the register values say no BT interface is there: an
/// unclaimed address reads all ones (`bt_detect()`).
pub const fn absent(ctrl: u8, intmask: u8) -> bool {
    ctrl == 0xff && intmask == 0xff
}

/// Timeouts and bounds of the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time one try may take, request to response (Get BT Capabilities
    /// "request to response time"; upstream's default 5 s).
    pub timeout_us: u32,
    /// Get BT Capabilities "retry limit" as upstream counts it, the first
    /// try included: a request is sent at most `max(tries, 1)` times
    /// (default 2).
    pub tries: u8,
    /// Time limit of one request, tries included.
    pub request_timeout_us: u32,
    /// Whether a request that timed out on every try, early in the
    /// machine's life, is followed by a BT soft reset.
    pub soft_reset: bool,
    /// How long the soft reset holds the interface (upstream: 6 s).
    pub reset_delay_us: u32,
    /// Limit on calls to `step` for one request (and for one reset).
    pub max_steps: u32,
    /// Register accesses after which the machine waits before the next
    /// status read, even if the BMC is ready.
    pub max_burst: u32,
    /// First wait suggested while the BMC is not ready.
    pub poll_min_us: u32,
    /// Longest wait suggested.
    pub poll_max_us: u32,
}

impl Limits {
    /// Upstream's defaults, with this crate's bounds: 11 s per request
    /// (two 5 s tries and a margin), 2^17 steps, 1024 accesses per burst.
    pub const DEFAULT: Limits = Limits {
        timeout_us: 5_000_000,
        tries: 2,
        request_timeout_us: 11_000_000,
        soft_reset: true,
        reset_delay_us: 6_000_000,
        max_steps: 1 << 17,
        max_burst: 1024,
        poll_min_us: 10,
        poll_max_us: 1_000,
    };

    /// The limits a Get BT Interface Capabilities response (netfn, cmd,
    /// cc, outstanding requests, input and output buffer sizes, seconds
    /// from request to response, retry limit) asks for, as `bt_detect()`
    /// takes them; `None` if the response failed or is short, when
    /// upstream keeps its defaults. A time of 0 s keeps the current
    /// timeout (upstream would time out every request at once). The
    /// request's time limit grows to cover every try, up to
    /// [`MAX_REQUEST_TIMEOUT_US`].
    pub fn with_capabilities(self, response: &[u8]) -> Option<Limits> {
        let [_, _, 0, _, _, _, seconds, tries, ..] = *response else {
            return None;
        };
        let timeout_us = if seconds == 0 {
            self.timeout_us
        } else {
            u32::from(seconds).saturating_mul(1_000_000)
        };
        let all_tries = timeout_us.saturating_mul(u32::from(tries.max(1)));
        let request_timeout_us = self
            .request_timeout_us
            .max(all_tries.saturating_add(1_000_000))
            .min(MAX_REQUEST_TIMEOUT_US);
        Some(Limits {
            timeout_us,
            tries,
            request_timeout_us,
            ..self
        })
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Counters of what the machine met.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Transactions started.
    pub transactions: u32,
    /// Transactions ended with a response from the BMC.
    pub responses: u32,
    /// Transactions ended with an error response.
    pub failures: u32,
    /// Tries that timed out.
    pub timeouts: u32,
    /// Requests sent again after a timeout.
    pub retries: u32,
    /// Stale responses drained (`B2H_ATN` while no response was awaited).
    pub stale_drained: u32,
    /// Responses with another request's seq (skipped).
    pub mismatched: u32,
    /// Responses with the request's seq but another netfn or cmd (handed
    /// up as they are).
    pub damaged: u32,
    /// Responses too short to hold a completion code.
    pub short_responses: u32,
    /// Times the machine entered the long-busy state.
    pub long_busy: u32,
    /// Soft resets begun.
    pub resets: u32,
    /// Requests ended by their time limit.
    pub deadlines: u32,
    /// Requests ended by their step limit.
    pub step_limits: u32,
    /// Waits forced by the burst limit.
    pub yields: u32,
    /// Idle polls that found `SMS_ATN`.
    pub attentions: u32,
}

/// Where the machine is in the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    XactionStart,
    WriteConsume,
    ReadWait,
    ClearB2h,
    Reading,
    LongBusy,
    Reset1,
    Reset2,
    Reset3,
}

impl Phase {
    const fn in_request(self) -> bool {
        matches!(
            self,
            Phase::XactionStart
                | Phase::WriteConsume
                | Phase::ReadWait
                | Phase::ClearB2h
                | Phase::Reading
        )
    }

    const fn resetting(self) -> bool {
        matches!(self, Phase::Reset1 | Phase::Reset2 | Phase::Reset3)
    }
}

/// One register operation planned after a status check; the last four and
/// `WriteBlock` repeat over a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// Write `BT_CTRL`.
    Command(u8),
    /// Write `HOST2BMC`.
    Data(u8),
    /// Read `BT_CTRL` and ignore it (upstream's pause while draining).
    Pause,
    /// Write the request block to `HOST2BMC`, byte after byte.
    WriteBlock,
    /// Set `H2B_ATN` after the request: the BMC has it all.
    Submit,
    /// Read the response's length byte.
    ReadLength,
    /// Read the response's bytes.
    ReadBody,
    /// Read a stale response's length byte.
    DrainLength,
    /// Read and drop a stale response's bytes.
    DrainBody,
}

/// Capacity of a plan: a flag reset (3) and a drain (8).
const PLAN_LEN: usize = 12;

/// What follows the planned operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Then {
    Status,
    Wait,
    Report(Action),
    /// Check the response just read against the request.
    Evaluate,
}

/// The input the last action asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Tick,
    Status,
    Data,
    Written,
}

/// A BT interface's state machine.
#[derive(Clone, Debug)]
pub struct Bt {
    limits: Limits,
    phase: Phase,
    expect: Expect,
    last: Action,
    plan: Plan<Op, PLAN_LEN>,
    then: Then,
    /// The request block: length, netfn/LUN, seq, cmd, data.
    block: [u8; MAX_MSG_LENGTH],
    block_len: usize,
    write_pos: usize,
    /// The response: netfn/LUN, cmd, cc, data.
    response: [u8; MAX_MSG_LENGTH],
    response_len: usize,
    body_len: u8,
    body_pos: usize,
    body_left: usize,
    response_seq: u8,
    drain_left: usize,
    seq: u8,
    started: u32,
    resend: Resend,
    error_retries: u8,
    attempts: Attempts,
    delivered: bool,
    nonzero_status: bool,
    attempt_start_us: u32,
    hold_start_us: u32,
    pace: Pace,
    stats: Stats,
}

impl Default for Bt {
    fn default() -> Self {
        Bt::new(Limits::DEFAULT)
    }
}

impl Bt {
    /// An idle machine with `limits`.
    pub const fn new(limits: Limits) -> Bt {
        Bt {
            limits,
            phase: Phase::Idle,
            expect: Expect::Tick,
            last: Action::Idle,
            plan: Plan::new(),
            then: Then::Status,
            block: [0; MAX_MSG_LENGTH],
            block_len: 0,
            write_pos: 0,
            response: [0; MAX_MSG_LENGTH],
            response_len: 0,
            body_len: 0,
            body_pos: 0,
            body_left: 0,
            response_seq: 0,
            drain_left: 0,
            seq: 0,
            started: 0,
            resend: Resend::Always,
            error_retries: 0,
            attempts: Attempts {
                retries: 0,
                deliveries: 0,
            },
            delivered: false,
            nonzero_status: false,
            attempt_start_us: 0,
            hold_start_us: 0,
            pace: Pace::new(limits.poll_min_us),
            stats: Stats {
                transactions: 0,
                responses: 0,
                failures: 0,
                timeouts: 0,
                retries: 0,
                stale_drained: 0,
                mismatched: 0,
                damaged: 0,
                short_responses: 0,
                long_busy: 0,
                resets: 0,
                deadlines: 0,
                step_limits: 0,
                yields: 0,
                attentions: 0,
            },
        }
    }

    /// The machine's limits.
    pub const fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Takes the limits of a Get BT Interface Capabilities response
    /// ([`Limits::with_capabilities`]); returns whether it could.
    pub fn apply_capabilities(&mut self, response: &[u8]) -> bool {
        match self.limits.with_capabilities(response) {
            Some(limits) => {
                self.limits = limits;
                true
            }
            None => false,
        }
    }

    /// The counters.
    pub const fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Whether no transaction is in progress and the machine takes one.
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// Whether a transaction is in progress.
    pub fn in_transaction(&self) -> bool {
        self.phase.in_request()
    }

    /// Whether the BMC is busy for long or being reset; requests get
    /// [`StartError::NodeBusy`] until the machine is idle again.
    pub fn is_busy(&self) -> bool {
        matches!(self.phase, Phase::LongBusy) || self.phase.resetting()
    }

    /// Whether the machine is resetting the interface after repeated
    /// timeouts.
    pub fn is_resetting(&self) -> bool {
        self.phase.resetting()
    }

    /// Starts a transaction (`bt_start_transaction()`).
    pub fn start(&mut self, request: &[u8], resend: Resend) -> Result<(), StartError> {
        if request.len() < 2 {
            return Err(StartError::TooShort);
        }
        // The length byte counts netfn/LUN, seq, cmd and data: refuse what
        // it cannot hold rather than let it wrap.
        let Ok(length) = u8::try_from(request.len().saturating_add(1)) else {
            return Err(StartError::TooLong);
        };
        if self.is_busy() {
            return Err(StartError::NodeBusy);
        }
        if self.in_transaction() || self.end_pending() {
            return Err(StartError::Busy);
        }
        let [netfn_lun, rest @ ..] = request else {
            return Err(StartError::TooShort);
        };
        let block_len = request.len().saturating_add(2);
        let Some([len_byte, netfn_byte, seq_byte, tail @ ..]) = self.block.get_mut(..block_len)
        else {
            return Err(StartError::TooLong);
        };
        *len_byte = length;
        *netfn_byte = *netfn_lun;
        *seq_byte = self.seq;
        for (byte, value) in tail.iter_mut().zip(rest) {
            *byte = *value;
        }
        self.seq = self.seq.wrapping_add(1);
        self.started = self.started.saturating_add(1);
        self.block_len = block_len;
        self.resend = resend;
        self.error_retries = 0;
        self.attempts = Attempts::default();
        self.delivered = false;
        self.pace = Pace::new(self.limits.poll_min_us);
        self.new_try();
        self.stats.transactions = self.stats.transactions.saturating_add(1);
        Ok(())
    }

    /// Abandons the transaction in progress, if any; returns whether there
    /// was one. A long-busy or resetting machine goes on with that.
    pub fn cancel(&mut self) -> bool {
        let was = self.in_transaction();
        if was || self.end_pending() {
            self.phase = Phase::Idle;
            self.plan.clear();
            self.then = Then::Status;
            self.expect = Expect::Tick;
        }
        was
    }

    /// The response of the last transaction (see [`StateMachine::response`]).
    pub fn response(&self) -> &[u8] {
        self.response.get(..self.response_len).unwrap_or(&[])
    }

    fn end_pending(&self) -> bool {
        matches!(self.then, Then::Report(action) if action.ends_transaction())
    }

    /// Sets up one try of the request.
    fn new_try(&mut self) {
        self.write_pos = 0;
        self.response_len = 0;
        self.nonzero_status = false;
        self.attempt_start_us = self.pace.elapsed_us;
        self.plan.clear();
        self.then = Then::Status;
        self.expect = Expect::Tick;
        self.phase = Phase::XactionStart;
    }

    /// Advances the machine; see [`StateMachine::step`].
    pub fn step(&mut self, input: Input, elapsed_us: u32) -> Action {
        if self.phase.in_request() {
            self.pace.charge(elapsed_us);
            if self.pace.steps >= self.limits.max_steps {
                self.stats.step_limits = self.stats.step_limits.saturating_add(1);
                return self.give_up(Cause::StepLimit);
            }
            if self.pace.elapsed_us > self.limits.request_timeout_us {
                self.stats.deadlines = self.stats.deadlines.saturating_add(1);
                return self.give_up(Cause::Deadline);
            }
        } else if self.phase.resetting() {
            self.pace.charge(elapsed_us);
            let bound = self
                .limits
                .reset_delay_us
                .saturating_add(self.limits.timeout_us);
            if self.pace.steps >= self.limits.max_steps || self.pace.elapsed_us > bound {
                // A reset that cannot finish is abandoned; the next
                // request finds out how the BMC is.
                self.phase = Phase::Idle;
                self.plan.clear();
                return self.report(Action::Idle);
            }
        } else {
            self.pace.charge(elapsed_us);
        }
        match (self.expect, input) {
            (Expect::Tick, _) => {}
            (Expect::Status, Input::Status(status)) => {
                if self.plan.current() == Some(Op::Pause) {
                    self.plan.advance();
                } else {
                    self.on_status(status);
                }
            }
            (Expect::Data, Input::Data(value)) => self.on_data(value),
            (Expect::Written, Input::Written) => self.on_written(),
            _ => return self.last,
        }
        self.next()
    }

    fn max_burst(&self) -> u32 {
        self.limits.max_burst.min(RUN_LIMIT / 2)
    }

    fn issue(&mut self, action: Action, expect: Expect) -> Action {
        self.expect = expect;
        self.last = action;
        action
    }

    fn report(&mut self, action: Action) -> Action {
        self.then = Then::Status;
        self.issue(action, Expect::Tick)
    }

    fn wait(&mut self) -> Action {
        self.then = Then::Status;
        let us = self.pace.wait(self.limits.poll_max_us);
        self.issue(Action::Wait { us }, Expect::Tick)
    }

    fn progress(&mut self) {
        self.pace.progress(self.limits.poll_min_us);
    }

    /// Issues the next planned operation, or what follows the plan.
    fn next(&mut self) -> Action {
        // Each turn issues an operation or drops one that is done; the plan
        // holds at most PLAN_LEN.
        for _ in 0..=PLAN_LEN {
            let Some(op) = self.plan.current() else {
                break;
            };
            let (action, expect) = match op {
                Op::Command(value) => (Action::WriteCommand(value), Expect::Written),
                Op::Data(value) => (Action::WriteData(value), Expect::Written),
                Op::Pause => (Action::ReadStatus, Expect::Status),
                Op::WriteBlock => match self.block.get(self.write_pos) {
                    Some(&byte) if self.write_pos < self.block_len => {
                        (Action::WriteData(byte), Expect::Written)
                    }
                    _ => {
                        self.plan.advance();
                        continue;
                    }
                },
                Op::Submit => {
                    self.delivered = true;
                    self.attempts.deliveries = self.attempts.deliveries.saturating_add(1);
                    (Action::WriteCommand(H2B_ATN), Expect::Written)
                }
                Op::ReadBody if self.body_left == 0 => {
                    self.plan.advance();
                    continue;
                }
                Op::DrainBody if self.drain_left == 0 => {
                    self.plan.advance();
                    continue;
                }
                Op::ReadLength | Op::ReadBody | Op::DrainLength | Op::DrainBody => {
                    (Action::ReadData, Expect::Data)
                }
            };
            if self.phase.in_request() {
                self.pace.access(self.max_burst());
            }
            return self.issue(action, expect);
        }
        match self.then {
            Then::Status => {
                if self.phase.in_request() {
                    if self.pace.burst >= self.max_burst() {
                        self.stats.yields = self.stats.yields.saturating_add(1);
                        return self.wait();
                    }
                    self.pace.access(self.max_burst());
                }
                self.issue(Action::ReadStatus, Expect::Status)
            }
            Then::Wait => self.wait(),
            Then::Report(action) => self.report(action),
            Then::Evaluate => {
                // Sets what follows: the report, or (when the response was
                // not ours) a status read; the plan stays empty.
                self.evaluate();
                if self.then == Then::Evaluate {
                    self.then = Then::Status;
                }
                self.next()
            }
        }
    }

    fn on_written(&mut self) {
        if self.plan.current() == Some(Op::WriteBlock) {
            self.write_pos = self.write_pos.saturating_add(1);
            if self.write_pos < self.block_len {
                return;
            }
        }
        self.plan.advance();
    }

    fn on_data(&mut self, value: u8) {
        match self.plan.current() {
            Some(Op::ReadLength) => {
                self.body_len = value;
                self.body_pos = 0;
                self.response_len = 0;
                // netfn, seq, cmd and cc at least; upstream stops reading
                // a shorter response too.
                self.body_left = if value < 4 { 0 } else { usize::from(value) };
                self.plan.advance();
            }
            Some(Op::ReadBody) => {
                // Body byte n: netfn (0), seq (1), cmd (2), cc and data
                // (3...); the response leaves seq out.
                let slot = match self.body_pos {
                    0 => Some(0),
                    1 => None,
                    n => Some(n.saturating_sub(1)),
                };
                if self.body_pos == 1 {
                    self.response_seq = value;
                }
                if let Some(byte) = slot.and_then(|i| self.response.get_mut(i)) {
                    *byte = value;
                }
                if let Some(i) = slot {
                    self.response_len = self.response_len.max(i.saturating_add(1));
                }
                self.body_pos = self.body_pos.saturating_add(1);
                self.body_left = self.body_left.saturating_sub(1);
                if self.body_left == 0 {
                    self.plan.advance();
                }
            }
            Some(Op::DrainLength) => {
                self.drain_left = usize::from(value);
                self.plan.advance();
            }
            Some(Op::DrainBody) => {
                self.drain_left = self.drain_left.saturating_sub(1);
                if self.drain_left == 0 {
                    self.plan.advance();
                }
            }
            _ => self.plan.advance(),
        }
    }

    fn on_status(&mut self, status: u8) {
        // Time is measured from the start of the try, not per wait.
        let _ = self.pace.take_pending();
        self.then = Then::Status;
        self.plan.clear();
        match self.phase {
            Phase::Idle => self.idle_status(status),
            Phase::LongBusy => {
                if status & B_BUSY != 0 {
                    self.then = Then::Wait;
                } else {
                    self.reset_flags(status);
                    self.phase = Phase::Idle;
                    self.then = Then::Report(Action::Idle);
                }
            }
            Phase::Reset1 => {
                self.reset_flags(status);
                self.drain_if_stale(status);
                self.phase = Phase::Reset2;
                self.then = Then::Wait;
            }
            Phase::Reset2 => {
                self.plan.push(Op::Command(CLR_WR_PTR));
                for byte in SOFT_RESET_BLOCK {
                    self.plan.push(Op::Data(byte));
                }
                self.plan.push(Op::Command(H2B_ATN));
                self.hold_start_us = self.pace.elapsed_us;
                self.phase = Phase::Reset3;
                self.then = Then::Wait;
            }
            Phase::Reset3 => {
                let held = self.pace.elapsed_us.saturating_sub(self.hold_start_us);
                if held < self.limits.reset_delay_us {
                    self.then = Then::Wait;
                } else {
                    self.drain_if_stale(status);
                    self.phase = Phase::Idle;
                    self.then = Then::Report(Action::Idle);
                }
            }
            _ => self.request_status(status),
        }
    }

    /// The idle poll: drop a stale response, report `SMS_ATN`, clear a
    /// leftover `H_BUSY`.
    fn idle_status(&mut self, status: u8) {
        self.then = Then::Report(Action::Idle);
        if self.drain_if_stale(status) {
            return;
        }
        if status & SMS_ATN != 0 {
            self.plan.push(Op::Command(SMS_ATN));
            self.stats.attentions = self.stats.attentions.saturating_add(1);
            self.then = Then::Report(Action::Attention);
        } else if status & H_BUSY != 0 {
            self.plan.push(Op::Command(H_BUSY));
        }
    }

    /// `drain_BMC2HOST()`: reads and drops a response nobody waits for.
    fn drain_if_stale(&mut self, status: u8) -> bool {
        if status & B2H_ATN == 0 {
            return false;
        }
        self.stats.stale_drained = self.stats.stale_drained.saturating_add(1);
        for op in [
            Op::Command(H_BUSY),
            Op::Command(B2H_ATN),
            Op::Pause,
            Op::Command(B2H_ATN),
            Op::Command(CLR_RD_PTR),
            Op::DrainLength,
            Op::DrainBody,
            Op::Command(H_BUSY),
        ] {
            self.plan.push(op);
        }
        true
    }

    /// `reset_flags()`, without the write of `BMC_HWRST` to `BT_INTMASK`.
    fn reset_flags(&mut self, status: u8) {
        if status & H_BUSY != 0 {
            self.plan.push(Op::Command(H_BUSY));
        }
        self.plan.push(Op::Command(CLR_WR_PTR));
        self.plan.push(Op::Command(SMS_ATN));
    }

    fn request_status(&mut self, status: u8) {
        if status != 0 {
            self.nonzero_status = true;
        }
        if self.phase == Phase::XactionStart && self.drain_if_stale(status) {
            self.then = Then::Wait;
            return;
        }
        let this_try = self.pace.elapsed_us.saturating_sub(self.attempt_start_us);
        if this_try > self.limits.timeout_us {
            self.timed_out(status);
            return;
        }
        match self.phase {
            Phase::XactionStart => {
                if status & (B_BUSY | H2B_ATN) != 0 {
                    self.then = Then::Wait;
                    return;
                }
                if status & H_BUSY != 0 {
                    self.plan.push(Op::Command(H_BUSY));
                }
                self.write_pos = 0;
                self.plan.push(Op::Command(CLR_WR_PTR));
                self.plan.push(Op::WriteBlock);
                self.plan.push(Op::Submit);
                self.phase = Phase::WriteConsume;
                self.progress();
            }
            Phase::WriteConsume => {
                if status & (B_BUSY | H2B_ATN) != 0 {
                    self.then = Then::Wait;
                    return;
                }
                self.phase = Phase::ReadWait;
                self.read_wait(status);
            }
            Phase::ReadWait => self.read_wait(status),
            Phase::ClearB2h => {
                if status & B2H_ATN != 0 {
                    // Some BMCs need B2H_ATN cleared more than once.
                    self.plan.push(Op::Command(B2H_ATN));
                    self.then = Then::Wait;
                    return;
                }
                if status & H_BUSY == 0 {
                    self.plan.push(Op::Command(H_BUSY));
                }
                self.plan.push(Op::Command(CLR_RD_PTR));
                self.plan.push(Op::ReadLength);
                self.plan.push(Op::ReadBody);
                self.plan.push(Op::Command(H_BUSY));
                self.phase = Phase::Reading;
                self.then = Then::Evaluate;
                self.progress();
            }
            _ => {}
        }
    }

    fn read_wait(&mut self, status: u8) {
        if status & B2H_ATN == 0 {
            self.then = Then::Wait;
            return;
        }
        self.plan.push(Op::Command(H_BUSY));
        self.plan.push(Op::Command(B2H_ATN));
        self.phase = Phase::ClearB2h;
        self.progress();
    }

    /// The response has been read: ours, too short, or someone else's.
    fn evaluate(&mut self) {
        if self.body_len < 4 {
            self.stats.short_responses = self.stats.short_responses.saturating_add(1);
            self.phase = Phase::Idle;
            self.fail(Cause::ShortResponse, CompletionCode::UNSPECIFIED);
            return;
        }
        let netfn = self.response.first().copied().unwrap_or(0);
        let cmd = self.response.get(1).copied().unwrap_or(0);
        let [_, want_netfn, want_seq, want_cmd, ..] = self.block;
        if self.response_seq == want_seq {
            if netfn & 0xf8 != want_netfn & 0xf8 || cmd != want_cmd {
                // Our sequence number on another netfn or cmd: this
                // request's answer, damaged (no other will come for this
                // seq). Upstream waits for another until its timeout, 5 s
                // each time; it goes up as it is, and the message handler
                // refuses it as it refuses a KCS one.
                self.stats.damaged = self.stats.damaged.saturating_add(1);
            }
            self.phase = Phase::Idle;
            self.stats.responses = self.stats.responses.saturating_add(1);
            self.then = Then::Report(Action::Response(self.attempts));
        } else {
            // Not the answer to this request: wait for the next one.
            self.stats.mismatched = self.stats.mismatched.saturating_add(1);
            self.response_len = 0;
            self.phase = Phase::ReadWait;
            self.then = Then::Status;
        }
    }

    /// `error_recovery()` for a timeout: another try, or the end.
    fn timed_out(&mut self, status: u8) {
        self.stats.timeouts = self.stats.timeouts.saturating_add(1);
        self.error_retries = self.error_retries.saturating_add(1);
        let may_resend = self.resend == Resend::Always || !self.delivered;
        if self.error_retries < self.limits.tries && may_resend {
            self.attempts.retries = self.attempts.retries.saturating_add(1);
            self.stats.retries = self.stats.retries.saturating_add(1);
            self.new_try();
            self.then = Then::Wait;
            return;
        }
        if status & B_BUSY != 0 {
            self.fail(Cause::NodeBusy, CompletionCode::NODE_BUSY);
            self.stats.long_busy = self.stats.long_busy.saturating_add(1);
            self.phase = Phase::LongBusy;
            return;
        }
        self.fail(Cause::Timeout, CompletionCode::TIMEOUT);
        let early = self.started <= u32::from(self.limits.tries);
        if self.limits.soft_reset && self.nonzero_status && early {
            self.stats.resets = self.stats.resets.saturating_add(1);
            self.phase = Phase::Reset1;
            // The reset has its own time and step account.
            self.pace = Pace::new(self.limits.poll_min_us);
        } else {
            self.phase = Phase::Idle;
        }
    }

    /// Ends the transaction with an error response (`force_result()`),
    /// reported after the planned operations.
    fn fail(&mut self, cause: Cause, cc: CompletionCode) {
        self.stats.failures = self.stats.failures.saturating_add(1);
        let [_, netfn_lun, _, cmd, ..] = self.block;
        self.response_len = error_response(&[netfn_lun, cmd], cc, &mut self.response);
        self.then = Then::Report(Action::Failed(Failure {
            cause,
            cc,
            attempts: self.attempts,
        }));
    }

    /// Ends the transaction now (time or step limit).
    fn give_up(&mut self, cause: Cause) -> Action {
        self.plan.clear();
        self.fail(cause, CompletionCode::TIMEOUT);
        self.phase = Phase::Idle;
        self.next()
    }
}

impl StateMachine for Bt {
    fn start(&mut self, request: &[u8], resend: Resend) -> Result<(), StartError> {
        Bt::start(self, request, resend)
    }

    fn step(&mut self, input: Input, elapsed_us: u32) -> Action {
        Bt::step(self, input, elapsed_us)
    }

    fn response(&self) -> &[u8] {
        Bt::response(self)
    }
}

#[cfg(test)]
mod tests;
