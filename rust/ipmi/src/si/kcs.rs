// SPDX-License-Identifier: GPL-2.0

//! The KCS (Keyboard Controller Style) system interface, IPMI 2.0
//! section 9, as upstream's ipmi_kcs_sm.c runs it.
//!
//! Two registers: data (`Data_In` written, `Data_Out` read, offset 0) and
//! status/command (offset 1). Every step of the protocol waits for the BMC
//! to take the last byte (IBF clear) and then checks the interface state in
//! bits 7:6 of the status register.
//!
//! ```text
//! Idle --start--> StartOp           wait IBF=0, state IDLE; clear OBF; WRITE_START
//!   -> WaitWriteStart               state WRITE; read Data_Out; first byte (or WRITE_END)
//!   -> WaitWrite (per byte)         state WRITE; clear OBF; next byte, or WRITE_END
//!   -> WaitWriteEnd                 state WRITE; clear OBF; last byte: the BMC has the request
//!   -> WaitRead (per byte)          state READ: wait OBF, read a byte, write READ;
//!                                   state IDLE: clear OBF, the response is complete -> Idle
//! any state broken, or IBF/OBF not ready in 5 s:
//!   -> Error0                       clear OBF (up to 2 s while it keeps coming); GET_STATUS/ABORT
//!   -> Error1                       clear OBF; write 0x00
//!   -> Error2                       state READ; wait OBF; read the status byte; write READ
//!   -> Error3                       state IDLE; wait OBF; clear it; send the request again
//! more errors than the retry limit, or the request's time or step limit:
//!   -> Hosed                        requests fail at once until a probe succeeds
//! ```
//!
//! What differs from upstream, on purpose:
//! - a request is sent again after an error only as [`Resend`] allows, and
//!   the end reports how often it was sent and delivered ([`Attempts`]);
//! - every request ends within [`Limits::request_timeout_us`] and
//!   [`Limits::max_steps`] calls, and a response longer than
//!   [`Limits::max_read_bytes`] is a protocol error rather than an endless
//!   read (upstream read for as long as the BMC kept OBF set);
//! - after an OBF timeout the machine goes straight to error recovery
//!   (upstream reads one more data byte first);
//! - a request counts as delivered ([`Attempts::deliveries`]) from the
//!   moment a BMC could run it: its last byte written, or error recovery's
//!   0x00 written after `WRITE_END` (a BMC that ignores `GET_STATUS/ABORT`
//!   takes that byte as the last);
//! - a response shorter than three bytes gets the request's netfn and cmd
//!   in its first two bytes (upstream left them unset).

use super::super::cc::CompletionCode;
use super::{
    error_response, Action, Attempts, Cause, Failure, Input, Pace, Plan, Registers, Resend,
    StartError, StateMachine, MAX_MSG_LENGTH, RUN_LIMIT,
};

/// Offset of the data register (`Data_In` / `Data_Out`).
pub const DATA_REGISTER: usize = 0;
/// Offset of the status (read) and command (write) register.
pub const STATUS_REGISTER: usize = 1;

/// Status: output buffer full, the BMC wrote `Data_Out`.
pub const STATUS_OBF: u8 = 0x01;
/// Status: input buffer full, the BMC has not taken the last write yet.
pub const STATUS_IBF: u8 = 0x02;
/// Status: `SMS_ATN`, the BMC has a message or event for the host.
pub const STATUS_SMS_ATN: u8 = 0x04;
/// Status: the last write was to the command register.
pub const STATUS_CD: u8 = 0x08;

/// Control code: `GET_STATUS/ABORT`.
pub const GET_STATUS_ABORT: u8 = 0x60;
/// Control code: `WRITE_START`.
pub const WRITE_START: u8 = 0x61;
/// Control code: `WRITE_END`.
pub const WRITE_END: u8 = 0x62;
/// Control code: `READ`, written to the data register for each byte read.
pub const READ_BYTE: u8 = 0x68;

/// The interface state in bits 7:6 of the status register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KcsState {
    /// `IDLE_STATE`.
    Idle,
    /// `READ_STATE`: the BMC is sending a response.
    Read,
    /// `WRITE_STATE`: the BMC is taking a request.
    Write,
    /// `ERROR_STATE`.
    Error,
}

impl KcsState {
    /// The state a status register value shows.
    pub const fn from_status(status: u8) -> KcsState {
        match status >> 6 {
            0 => KcsState::Idle,
            1 => KcsState::Read,
            2 => KcsState::Write,
            _ => KcsState::Error,
        }
    }
}

/// Whether a status register value says no KCS interface is there: a
/// read from an unclaimed port gives all ones, which no BMC shows
/// (`kcs_detect()`).
pub const fn absent(status: u8) -> bool {
    status == 0xff
}

/// How often the driver should probe a hosed interface (upstream's
/// `SI_TIMEOUT_HOSED`, one second).
pub const HOSED_PROBE_INTERVAL_US: u32 = 1_000_000;

/// Timeouts and bounds of the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest wait for IBF to clear (upstream: 5 s).
    pub ibf_timeout_us: u32,
    /// Longest wait for OBF to be set (upstream: 5 s).
    pub obf_timeout_us: u32,
    /// Longest time error recovery keeps reading a BMC that keeps OBF set
    /// before it writes `GET_STATUS/ABORT` anyway (upstream: 2 s).
    pub error_obf_timeout_us: u32,
    /// Errors recovered from in one request; one more and the machine is
    /// hosed (upstream: 2). A request is sent at most this many more times.
    pub max_retries: u8,
    /// Time limit of one request, retries included.
    pub request_timeout_us: u32,
    /// Limit on calls to `step` for one request.
    pub max_steps: u32,
    /// Register accesses after which the machine waits before the next
    /// status read, even if the BMC is ready (bounds one interrupt).
    pub max_burst: u32,
    /// Bytes read in one try before the response counts as endless.
    pub max_read_bytes: u32,
    /// First wait suggested while the BMC is not ready.
    pub poll_min_us: u32,
    /// Longest wait suggested (the suggestion doubles up to it).
    pub poll_max_us: u32,
}

impl Limits {
    /// Upstream's timeouts and retries, with this crate's bounds: 11 s per
    /// request (upstream's worst path ends the request by 15 s, and
    /// ipmitool gives up at 15 s), 2^17 steps (several times what a slow
    /// BMC polled as suggested takes in 11 s), 1024 accesses per burst
    /// (one 272-byte exchange takes about 1700).
    pub const DEFAULT: Limits = Limits {
        ibf_timeout_us: 5_000_000,
        obf_timeout_us: 5_000_000,
        error_obf_timeout_us: 2_000_000,
        max_retries: 2,
        request_timeout_us: 11_000_000,
        max_steps: 1 << 17,
        max_burst: 1024,
        max_read_bytes: 1024,
        poll_min_us: 10,
        poll_max_us: 1_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Counters of what the machine met, for statistics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Transactions started (probes included).
    pub transactions: u32,
    /// Transactions ended with a response from the BMC.
    pub responses: u32,
    /// Transactions ended with an error response.
    pub failures: u32,
    /// Error recoveries begun.
    pub error_recoveries: u32,
    /// Requests sent again after a recovery.
    pub retries: u32,
    /// Waits for IBF that timed out.
    pub ibf_timeouts: u32,
    /// Waits for OBF that timed out.
    pub obf_timeouts: u32,
    /// Responses longer than [`MAX_MSG_LENGTH`], truncated.
    pub truncated: u32,
    /// Responses shorter than three bytes.
    pub short_responses: u32,
    /// Responses longer than [`Limits::max_read_bytes`].
    pub endless_responses: u32,
    /// Requests failed rather than sent again ([`Resend::BeforeDelivery`]).
    pub not_resent: u32,
    /// Times the machine became hosed.
    pub hosed: u32,
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
    Hosed,
    StartOp,
    WaitWriteStart,
    WaitWrite,
    WaitWriteEnd,
    WaitRead,
    Error0,
    Error1,
    Error2,
    Error3,
}

/// One register operation planned after a status check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// Read `Data_Out` and drop the byte (clears OBF).
    Drain,
    /// Read `Data_Out` into the response.
    Store,
    /// Write the command register.
    Command(u8),
    /// Write `Data_In`.
    Data(u8),
    /// Write the request's last byte to `Data_In`: the BMC has it all.
    LastByte(u8),
    /// Write the 0x00 of error recovery to `Data_In`. After WRITE_END (of
    /// this transaction or of one abandoned before its last byte), a BMC
    /// that ignored GET_STATUS/ABORT takes it as a request's last byte and
    /// runs that request, so it counts as a delivery then.
    RecoveryByte,
}

/// What follows the planned operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Then {
    /// Read the status again.
    Status,
    /// Wait, then read the status.
    Wait,
    /// Report the action (an end, or the result of an idle poll).
    Report(Action),
}

/// The input the last action asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Tick,
    Status,
    Data,
    Written,
}

/// A KCS interface's state machine.
#[derive(Clone, Debug)]
pub struct Kcs {
    limits: Limits,
    phase: Phase,
    expect: Expect,
    last: Action,
    plan: Plan<Op, 3>,
    then: Then,
    request: [u8; MAX_MSG_LENGTH],
    request_len: usize,
    write_pos: usize,
    response: [u8; MAX_MSG_LENGTH],
    response_len: usize,
    read_count: u32,
    resend: Resend,
    error_retries: u8,
    attempts: Attempts,
    delivered: bool,
    write_end_sent: bool,
    ibf_wait_us: u32,
    obf_wait_us: u32,
    error0_us: u32,
    drained: bool,
    pace: Pace,
    stats: Stats,
}

impl Default for Kcs {
    fn default() -> Self {
        Kcs::new(Limits::DEFAULT)
    }
}

impl Kcs {
    /// An idle machine with `limits`.
    pub const fn new(limits: Limits) -> Kcs {
        Kcs {
            limits,
            phase: Phase::Idle,
            expect: Expect::Tick,
            last: Action::Idle,
            plan: Plan::new(),
            then: Then::Status,
            request: [0; MAX_MSG_LENGTH],
            request_len: 0,
            write_pos: 0,
            response: [0; MAX_MSG_LENGTH],
            response_len: 0,
            read_count: 0,
            resend: Resend::Always,
            error_retries: 0,
            attempts: Attempts {
                retries: 0,
                deliveries: 0,
            },
            delivered: false,
            write_end_sent: false,
            ibf_wait_us: 0,
            obf_wait_us: 0,
            error0_us: 0,
            drained: false,
            pace: Pace::new(limits.poll_min_us),
            stats: Stats {
                transactions: 0,
                responses: 0,
                failures: 0,
                error_recoveries: 0,
                retries: 0,
                ibf_timeouts: 0,
                obf_timeouts: 0,
                truncated: 0,
                short_responses: 0,
                endless_responses: 0,
                not_resent: 0,
                hosed: 0,
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

    /// The counters.
    pub const fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Whether no transaction is in progress and the interface is not hosed.
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// Whether the interface is hosed: requests fail until a probe succeeds.
    pub fn is_hosed(&self) -> bool {
        self.phase == Phase::Hosed
    }

    /// Whether a transaction is in progress.
    pub fn in_transaction(&self) -> bool {
        !matches!(self.phase, Phase::Idle | Phase::Hosed)
    }

    /// Starts a transaction (`start_kcs_transaction()`); refused while
    /// hosed.
    pub fn start(&mut self, request: &[u8], resend: Resend) -> Result<(), StartError> {
        if self.phase == Phase::Hosed {
            Self::check_len(request)?;
            return Err(StartError::Hosed);
        }
        self.begin(request, resend)
    }

    /// Starts a transaction even when hosed, to find out whether the BMC
    /// answers again (upstream sends Get Message Flags every second). A
    /// probe that ends in a response (or a short one) leaves the machine
    /// idle; one that fails leaves it hosed.
    pub fn start_probe(&mut self, request: &[u8], resend: Resend) -> Result<(), StartError> {
        self.begin(request, resend)
    }

    /// Abandons the transaction in progress, if any (the driver answers it
    /// itself, e.g. at unload); returns whether there was one. A hosed
    /// machine stays hosed. The next start finds the interface in whatever
    /// state the BMC is in, and recovers it first if it is not idle.
    pub fn cancel(&mut self) -> bool {
        let was = self.in_transaction();
        if was {
            self.phase = Phase::Idle;
        }
        // An end not yet reported is dropped too: the driver answers it.
        self.plan.clear();
        self.then = Then::Status;
        self.expect = Expect::Tick;
        was
    }

    /// The response of the last transaction (see [`StateMachine::response`]).
    pub fn response(&self) -> &[u8] {
        self.response.get(..self.response_len).unwrap_or(&[])
    }

    fn check_len(request: &[u8]) -> Result<(), StartError> {
        if request.len() < 2 {
            Err(StartError::TooShort)
        } else if request.len() > MAX_MSG_LENGTH {
            Err(StartError::TooLong)
        } else {
            Ok(())
        }
    }

    fn end_pending(&self) -> bool {
        matches!(self.then, Then::Report(action) if action.ends_transaction())
    }

    fn begin(&mut self, request: &[u8], resend: Resend) -> Result<(), StartError> {
        Self::check_len(request)?;
        if self.in_transaction() || self.end_pending() {
            return Err(StartError::Busy);
        }
        let Some(dest) = self.request.get_mut(..request.len()) else {
            return Err(StartError::TooLong);
        };
        for (byte, value) in dest.iter_mut().zip(request) {
            *byte = *value;
        }
        self.request_len = request.len();
        self.resend = resend;
        self.error_retries = 0;
        self.attempts = Attempts::default();
        self.delivered = false;
        self.restart_counters();
        self.pace = Pace::new(self.limits.poll_min_us);
        self.plan.clear();
        self.then = Then::Status;
        self.expect = Expect::Tick;
        self.phase = Phase::StartOp;
        self.stats.transactions = self.stats.transactions.saturating_add(1);
        Ok(())
    }

    fn restart_counters(&mut self) {
        self.write_pos = 0;
        self.response_len = 0;
        self.read_count = 0;
        self.ibf_wait_us = 0;
        self.obf_wait_us = 0;
    }

    /// Advances the machine; see [`StateMachine::step`].
    pub fn step(&mut self, input: Input, elapsed_us: u32) -> Action {
        if self.phase == Phase::Hosed {
            self.expect = Expect::Tick;
            return Action::Hosed;
        }
        if self.in_transaction() || self.end_pending() {
            self.pace.charge(elapsed_us);
            let steps_out = self.pace.steps >= self.limits.max_steps;
            let time_out = self.pace.elapsed_us > self.limits.request_timeout_us;
            if steps_out || time_out {
                if self.end_pending() {
                    // Only the reads after the end are left: report it now.
                    self.plan.clear();
                    return self.next();
                }
                if steps_out {
                    self.stats.step_limits = self.stats.step_limits.saturating_add(1);
                    return self.give_up(Cause::StepLimit);
                }
                self.stats.deadlines = self.stats.deadlines.saturating_add(1);
                return self.give_up(Cause::Deadline);
            }
        }
        match (self.expect, input) {
            (Expect::Tick, _) => {}
            (Expect::Status, Input::Status(status)) => self.on_status(status),
            (Expect::Data, Input::Data(value)) => self.on_data(value),
            (Expect::Written, Input::Written) => self.plan.advance(),
            // Not what was asked for: ask again.
            _ => return self.last,
        }
        self.next()
    }

    /// Runs the machine against `regs` until it waits or reports, as
    /// [`run`](super::run) does, with the same accesses, accounting and
    /// results; the common cases of the read phase (status READ, OBF set;
    /// read the byte, write READ) and of the write phase (status WRITE;
    /// write the next byte) go without a round trip through [`Action`] and
    /// [`Input`] for each access, which was most of the machine's own cost
    /// (51 of Get Device ID's 57 accesses are theirs).
    pub fn run_on<R: Registers + ?Sized>(&mut self, regs: &mut R, elapsed_us: u32) -> Action {
        if self.expect != Expect::Tick {
            // Left between an action and its input by `step`: finish there.
            return super::run(self, regs, elapsed_us);
        }
        let mut input = Input::Tick;
        let mut elapsed = elapsed_us;
        for _ in 0..RUN_LIMIT {
            if let Input::Status(status) = input {
                if elapsed == 0 && self.shortcut_on(status) {
                    let next = if self.phase == Phase::WaitRead {
                        self.read_byte(regs)
                    } else {
                        self.write_byte(regs)
                    };
                    match next {
                        Some(next) => {
                            input = next;
                            continue;
                        }
                        None => return self.wait(),
                    }
                }
            }
            let action = self.step(input, elapsed);
            elapsed = 0;
            input = match super::perform(regs, action) {
                Some(input) => input,
                None => return action,
            };
        }
        Action::Wait { us: 0 }
    }

    /// Whether `status`, just read, is a common case the shortcut takes,
    /// with no limit reached in the steps it stands for: in the read phase
    /// READ with OBF set ([`Kcs::read_byte`]), in the write phase WRITE
    /// with OBF clear ([`Kcs::write_byte`]); IBF clear in both.
    #[inline]
    fn shortcut_on(&self, status: u8) -> bool {
        if self.expect != Expect::Status
            || self.plan.current().is_some()
            || status & STATUS_IBF != 0
            || self.pace.steps.saturating_add(3) >= self.limits.max_steps
        {
            return false;
        }
        match self.phase {
            Phase::WaitRead => {
                status & STATUS_OBF != 0
                    && KcsState::from_status(status) == KcsState::Read
                    && self.read_count < self.limits.max_read_bytes
            }
            Phase::WaitWrite | Phase::WaitWriteEnd => {
                status & STATUS_OBF == 0 && KcsState::from_status(status) == KcsState::Write
            }
            _ => false,
        }
    }

    /// The two steps after a write-phase status [`Kcs::shortcut_on`] took:
    /// write the next byte (or `WRITE_END` before the last, or the last),
    /// read the status again; `None` when the burst limit wants a wait
    /// first. Keeps every count as `step` would.
    #[inline]
    fn write_byte<R: Registers + ?Sized>(&mut self, regs: &mut R) -> Option<Input> {
        let max_burst = self.begin_shortcut(2);
        self.pace.access(max_burst);
        if self.phase == Phase::WaitWriteEnd {
            let last = self.next_request_byte();
            self.phase = Phase::WaitRead;
            self.count_delivery();
            regs.write_data(last);
        } else if self.request_len.saturating_sub(self.write_pos) <= 1 {
            self.phase = Phase::WaitWriteEnd;
            self.write_end_sent = true;
            regs.write_command(WRITE_END);
        } else {
            let byte = self.next_request_byte();
            self.phase = Phase::WaitWrite;
            regs.write_data(byte);
        }
        self.progress();
        self.status_after_shortcut(regs, max_burst)
    }

    /// What `step` does with the status a shortcut took, for its `steps`
    /// calls: counts them, charges the pending time, clears the IBF wait
    /// (IBF was clear). Returns the burst limit.
    #[inline]
    fn begin_shortcut(&mut self, steps: u32) -> u32 {
        self.pace.steps = self.pace.steps.saturating_add(steps);
        self.pace.take_pending();
        self.then = Then::Status;
        self.ibf_wait_us = 0;
        self.max_burst()
    }

    /// The status read that ends a shortcut, unless the burst limit wants
    /// a wait first (`None`).
    #[inline]
    fn status_after_shortcut<R: Registers + ?Sized>(
        &mut self,
        regs: &mut R,
        max_burst: u32,
    ) -> Option<Input> {
        if self.pace.burst >= max_burst {
            self.stats.yields = self.stats.yields.saturating_add(1);
            return None;
        }
        self.pace.access(max_burst);
        self.last = Action::ReadStatus;
        Some(Input::Status(regs.read_status()))
    }

    /// The three steps after a read-phase status [`Kcs::shortcut_on`] took:
    /// read the byte, write READ, read the status again. Returns that
    /// status as the next input, or `None` when the burst limit wants a
    /// wait first. Keeps every count as `step` would.
    #[inline]
    fn read_byte<R: Registers + ?Sized>(&mut self, regs: &mut R) -> Option<Input> {
        let max_burst = self.begin_shortcut(3);
        self.obf_wait_us = 0;
        self.pace.access(max_burst);
        let value = regs.read_data();
        if let Some(slot) = self.response.get_mut(self.response_len) {
            *slot = value;
            self.response_len = self.response_len.saturating_add(1);
        }
        self.read_count = self.read_count.saturating_add(1);
        self.pace.access(max_burst);
        regs.write_data(READ_BYTE);
        self.progress();
        self.status_after_shortcut(regs, max_burst)
    }

    /// Issues the next planned operation, or what follows the plan.
    fn next(&mut self) -> Action {
        if let Some(op) = self.plan.current() {
            let (action, expect) = match op {
                Op::Drain | Op::Store => (Action::ReadData, Expect::Data),
                Op::Command(value) => {
                    // The BMC's write buffer: WRITE_START empties it,
                    // WRITE_END makes the next data byte its last. Kept
                    // across transactions, as the BMC keeps it.
                    match value {
                        WRITE_START => self.write_end_sent = false,
                        WRITE_END => self.write_end_sent = true,
                        _ => {}
                    }
                    (Action::WriteCommand(value), Expect::Written)
                }
                Op::Data(value) => (Action::WriteData(value), Expect::Written),
                Op::LastByte(value) => {
                    self.count_delivery();
                    (Action::WriteData(value), Expect::Written)
                }
                Op::RecoveryByte => {
                    if self.write_end_sent {
                        self.count_delivery();
                    }
                    (Action::WriteData(0), Expect::Written)
                }
            };
            if self.in_transaction() {
                self.pace.access(self.max_burst());
            }
            return self.issue(action, expect);
        }
        match self.then {
            Then::Status => {
                if self.in_transaction() && self.pace.burst >= self.max_burst() {
                    self.stats.yields = self.stats.yields.saturating_add(1);
                    return self.wait();
                }
                if self.in_transaction() {
                    self.pace.access(self.max_burst());
                }
                self.issue(Action::ReadStatus, Expect::Status)
            }
            Then::Wait => self.wait(),
            Then::Report(action) => {
                self.then = Then::Status;
                self.expect = Expect::Tick;
                self.last = action;
                action
            }
        }
    }

    fn max_burst(&self) -> u32 {
        self.limits.max_burst.min(RUN_LIMIT / 2)
    }

    /// The BMC has (or may have) the whole request: it may run it.
    fn count_delivery(&mut self) {
        self.write_end_sent = false;
        self.delivered = true;
        self.attempts.deliveries = self.attempts.deliveries.saturating_add(1);
    }

    fn issue(&mut self, action: Action, expect: Expect) -> Action {
        self.expect = expect;
        self.last = action;
        action
    }

    fn wait(&mut self) -> Action {
        self.then = Then::Status;
        let us = self.pace.wait(self.limits.poll_max_us);
        self.issue(Action::Wait { us }, Expect::Tick)
    }

    fn on_data(&mut self, value: u8) {
        if self.plan.current() == Some(Op::Store) {
            if let Some(slot) = self.response.get_mut(self.response_len) {
                *slot = value;
                self.response_len = self.response_len.saturating_add(1);
            }
            self.read_count = self.read_count.saturating_add(1);
        }
        self.plan.advance();
    }

    fn on_status(&mut self, status: u8) {
        let waited = self.pace.take_pending();
        self.then = Then::Status;
        self.plan.clear();
        if self.phase == Phase::Idle {
            self.idle_status(status);
            return;
        }
        // Every state first waits for the BMC to take the last write.
        if status & STATUS_IBF != 0 {
            self.ibf_wait_us = self.ibf_wait_us.saturating_add(waited);
            if self.ibf_wait_us <= self.limits.ibf_timeout_us {
                self.then = Then::Wait;
                return;
            }
            self.stats.ibf_timeouts = self.stats.ibf_timeouts.saturating_add(1);
            if !self.error() {
                return;
            }
            // As upstream: recovery goes on with this status, so that
            // GET_STATUS/ABORT is written even though IBF is stuck.
        } else {
            self.ibf_wait_us = 0;
        }
        self.phase_status(status, waited);
    }

    /// The idle poll: clear OBF, report `SMS_ATN`.
    fn idle_status(&mut self, status: u8) {
        if status & STATUS_OBF != 0 {
            self.plan.push(Op::Drain);
        }
        self.then = if status & STATUS_SMS_ATN != 0 {
            self.stats.attentions = self.stats.attentions.saturating_add(1);
            Then::Report(Action::Attention)
        } else {
            Then::Report(Action::Idle)
        };
    }

    fn phase_status(&mut self, status: u8, waited: u32) {
        let state = KcsState::from_status(status);
        let obf = status & STATUS_OBF != 0;
        match self.phase {
            Phase::Idle | Phase::Hosed => {}
            Phase::StartOp => {
                if state != KcsState::Idle {
                    self.error();
                    return;
                }
                if obf {
                    self.plan.push(Op::Drain);
                }
                self.plan.push(Op::Command(WRITE_START));
                self.phase = Phase::WaitWriteStart;
                self.progress();
            }
            Phase::WaitWriteStart => {
                if state != KcsState::Write {
                    self.error();
                    return;
                }
                // The spec clears OBF here unconditionally, as upstream does.
                self.plan.push(Op::Drain);
                self.plan_next_write();
            }
            Phase::WaitWrite => {
                if state != KcsState::Write {
                    self.error();
                    return;
                }
                if obf {
                    self.plan.push(Op::Drain);
                }
                self.plan_next_write();
            }
            Phase::WaitWriteEnd => {
                if state != KcsState::Write {
                    self.error();
                    return;
                }
                if obf {
                    self.plan.push(Op::Drain);
                }
                let last = self.next_request_byte();
                self.plan.push(Op::LastByte(last));
                self.phase = Phase::WaitRead;
                self.progress();
            }
            Phase::WaitRead => match state {
                KcsState::Read => {
                    if !obf {
                        self.wait_obf(waited);
                        return;
                    }
                    self.obf_wait_us = 0;
                    if self.read_count >= self.limits.max_read_bytes {
                        self.stats.endless_responses =
                            self.stats.endless_responses.saturating_add(1);
                        self.error();
                        return;
                    }
                    self.plan.push(Op::Store);
                    self.plan.push(Op::Data(READ_BYTE));
                    self.progress();
                }
                KcsState::Idle => {
                    // Some BMCs never write the final dummy byte: go idle
                    // now and clear OBF if it came (upstream's deviation
                    // from the spec's flow, kept).
                    if obf {
                        self.plan.push(Op::Drain);
                    }
                    self.complete();
                }
                _ => {
                    self.error();
                }
            },
            Phase::Error0 => {
                self.error0_us = self.error0_us.saturating_add(waited);
                if obf {
                    if !self.drained {
                        self.drained = true;
                        self.plan.push(Op::Drain);
                        return;
                    }
                    if self.error0_us < self.limits.error_obf_timeout_us {
                        self.drained = false;
                        self.then = Then::Wait;
                        return;
                    }
                }
                self.plan.push(Op::Command(GET_STATUS_ABORT));
                self.phase = Phase::Error1;
                self.progress();
            }
            Phase::Error1 => {
                if obf {
                    self.plan.push(Op::Drain);
                }
                self.plan.push(Op::RecoveryByte);
                self.phase = Phase::Error2;
                self.progress();
            }
            Phase::Error2 => {
                if state != KcsState::Read {
                    self.error();
                    return;
                }
                if !obf {
                    self.wait_obf(waited);
                    return;
                }
                self.obf_wait_us = 0;
                self.plan.push(Op::Drain);
                self.plan.push(Op::Data(READ_BYTE));
                self.phase = Phase::Error3;
                self.progress();
            }
            Phase::Error3 => {
                if state != KcsState::Idle {
                    self.error();
                    return;
                }
                if !obf {
                    self.wait_obf(waited);
                    return;
                }
                self.obf_wait_us = 0;
                self.plan.push(Op::Drain);
                self.recovered();
            }
        }
    }

    fn progress(&mut self) {
        self.pace.progress(self.limits.poll_min_us);
    }

    /// The request's byte at the write position, which moves past it.
    #[inline]
    fn next_request_byte(&mut self) -> u8 {
        let byte = self.request.get(self.write_pos).copied().unwrap_or(0);
        self.write_pos = self.write_pos.saturating_add(1);
        byte
    }

    /// Plans the next byte of the request, or `WRITE_END` before the last.
    fn plan_next_write(&mut self) {
        if self.request_len.saturating_sub(self.write_pos) <= 1 {
            self.plan.push(Op::Command(WRITE_END));
            self.phase = Phase::WaitWriteEnd;
        } else {
            let byte = self.next_request_byte();
            self.plan.push(Op::Data(byte));
            self.phase = Phase::WaitWrite;
        }
        self.progress();
    }

    fn wait_obf(&mut self, waited: u32) {
        self.obf_wait_us = self.obf_wait_us.saturating_add(waited);
        if self.obf_wait_us <= self.limits.obf_timeout_us {
            self.then = Then::Wait;
        } else {
            self.obf_wait_us = 0;
            self.stats.obf_timeouts = self.stats.obf_timeouts.saturating_add(1);
            self.error();
        }
    }

    /// Begins error recovery (`start_error_recovery()`); false when the
    /// retries are used up and the machine is now hosed.
    fn error(&mut self) -> bool {
        self.error_retries = self.error_retries.saturating_add(1);
        self.plan.clear();
        self.then = Then::Status;
        if self.error_retries > self.limits.max_retries {
            self.fail(Cause::RetriesExhausted, CompletionCode::BUS_ERROR);
            self.become_hosed();
            return false;
        }
        self.stats.error_recoveries = self.stats.error_recoveries.saturating_add(1);
        self.phase = Phase::Error0;
        self.error0_us = 0;
        self.drained = false;
        self.ibf_wait_us = 0;
        self.obf_wait_us = 0;
        true
    }

    fn become_hosed(&mut self) {
        self.phase = Phase::Hosed;
        self.stats.hosed = self.stats.hosed.saturating_add(1);
    }

    /// Recovery worked: send the request again, or fail it if it may have
    /// run and must not run twice.
    fn recovered(&mut self) {
        if self.resend == Resend::BeforeDelivery && self.delivered {
            self.stats.not_resent = self.stats.not_resent.saturating_add(1);
            self.fail(Cause::NotResent, CompletionCode::RESPONSE_UNAVAILABLE);
            self.phase = Phase::Idle;
            return;
        }
        self.attempts.retries = self.attempts.retries.saturating_add(1);
        self.stats.retries = self.stats.retries.saturating_add(1);
        self.restart_counters();
        self.plan.push(Op::Command(WRITE_START));
        self.phase = Phase::WaitWriteStart;
        self.progress();
    }

    /// The BMC went idle after the response (`get_kcs_result()`).
    fn complete(&mut self) {
        self.phase = Phase::Idle;
        if self.read_count < 3 {
            self.stats.short_responses = self.stats.short_responses.saturating_add(1);
            self.fail(Cause::ShortResponse, CompletionCode::UNSPECIFIED);
            return;
        }
        if self.read_count > MAX_MSG_LENGTH as u32 {
            // Upstream keeps the first 272 bytes and reports the
            // truncation in the completion code.
            self.stats.truncated = self.stats.truncated.saturating_add(1);
            if let Some(cc) = self.response.get_mut(2) {
                *cc = CompletionCode::REQUEST_DATA_TRUNCATED.value();
            }
        }
        self.stats.responses = self.stats.responses.saturating_add(1);
        self.then = Then::Report(Action::Response(self.attempts));
    }

    /// Ends the transaction with an error response, reported after the
    /// planned operations.
    fn fail(&mut self, cause: Cause, cc: CompletionCode) {
        self.stats.failures = self.stats.failures.saturating_add(1);
        let request = self.request.get(..self.request_len).unwrap_or(&[]);
        self.response_len = error_response(request, cc, &mut self.response);
        self.then = Then::Report(Action::Failed(Failure {
            cause,
            cc,
            attempts: self.attempts,
        }));
    }

    /// Ends the transaction now, leaving the machine hosed.
    fn give_up(&mut self, cause: Cause) -> Action {
        self.plan.clear();
        self.fail(cause, CompletionCode::BUS_ERROR);
        self.become_hosed();
        self.next()
    }
}

impl StateMachine for Kcs {
    fn start(&mut self, request: &[u8], resend: Resend) -> Result<(), StartError> {
        Kcs::start(self, request, resend)
    }

    fn step(&mut self, input: Input, elapsed_us: u32) -> Action {
        Kcs::step(self, input, elapsed_us)
    }

    fn response(&self) -> &[u8] {
        Kcs::response(self)
    }
}

#[cfg(test)]
mod tests;
