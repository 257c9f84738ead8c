// SPDX-License-Identifier: GPL-2.0

//! System-interface state machines: KCS ([`kcs`]) and BT ([`bt`]), the
//! byte-level protocols between the host and the BMC (IPMI 2.0 sections 9
//! and 11), as upstream's ipmi_kcs_sm.c and ipmi_bt_sm.c run them.
//!
//! Each machine is pure: it never touches a register itself. The driver
//! calls [`StateMachine::step`] with what the last [`Action`] produced (an
//! [`Input`]) and the microseconds that passed since the previous call, and
//! gets the next action: a register to read or write, a wait, or the end of
//! a transaction. A driver runs it from an interrupt handler or a timer:
//!
//! ```text
//! machine.start(request, Resend::Always)?          // StartError: answer at once
//! on an interrupt or timer, with the time since the last call:
//!     match si::run(&mut machine, &mut registers, elapsed_us) {
//!         Action::Wait { us }   => arm the timer for about `us`
//!         Action::Response(a)   => deliver machine.response(), note a.retries
//!         Action::Failed(f)     => deliver machine.response() (f.cc in byte 2)
//!         Action::Idle          => nothing to do
//!         Action::Attention     => ask the BMC why (Get Message Flags)
//!         Action::Hosed         => fail requests, probe again later
//!         register actions      => never returned by `run`
//!     }
//! ```
//!
//! Every transaction ends in exactly one [`Action::Response`] or
//! [`Action::Failed`], and within bounds a misbehaving BMC cannot stretch:
//! the request's time limit (the sum of the `elapsed_us` passed in), a
//! limit on calls to `step`, and a limit on register accesses between two
//! waits, so that neither an interrupt handler nor a timer can be held by a
//! BMC that flips its status bits fast (upstream's KCS machine read an
//! endless response in one call, CVE-2025-40192).
//!
//! The machines own fixed buffers of [`MAX_MSG_LENGTH`] bytes for the
//! request and the response, and allocate nothing.

pub mod bt;
pub mod kcs;
pub mod oem;
pub mod params;
pub mod policy;

#[cfg(test)]
mod testing;

use super::cc::CompletionCode;
pub use super::msg::MAX_MSG_LENGTH;

/// What the driver hands to [`StateMachine::step`]: the result of the
/// action the machine asked for last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// Nothing was read: the first call after [`Action::Wait`], an
    /// interrupt, a timer, or the first call of a transaction.
    Tick,
    /// The value of the status register, after [`Action::ReadStatus`].
    Status(u8),
    /// The value of the data register, after [`Action::ReadData`].
    Data(u8),
    /// The write asked for ([`Action::WriteCommand`], [`Action::WriteData`])
    /// was made.
    Written,
}

/// What a machine asks the driver to do next.
///
/// The four register actions name the registers as KCS does; on BT the
/// status and command registers are both `BT_CTRL`, and the data register
/// is `BMC2HOST` for reads and `HOST2BMC` for writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read the status register (KCS status, BT `BT_CTRL`) and pass the
    /// value back as [`Input::Status`].
    ReadStatus,
    /// Read the data register (KCS `Data_Out`, BT `BMC2HOST`) and pass the
    /// value back as [`Input::Data`].
    ReadData,
    /// Write the value to the command register (KCS command, BT
    /// `BT_CTRL`), then pass [`Input::Written`].
    WriteCommand(u8),
    /// Write the value to the data register (KCS `Data_In`, BT
    /// `HOST2BMC`), then pass [`Input::Written`].
    WriteData(u8),
    /// Call again with [`Input::Tick`] after about `us` microseconds, or
    /// earlier on an interrupt.
    Wait {
        /// Suggested delay, growing while the BMC keeps the machine waiting.
        us: u32,
    },
    /// The transaction is complete; the response (netfn/LUN, cmd,
    /// completion code, data) is in [`StateMachine::response`].
    Response(Attempts),
    /// The transaction failed; [`StateMachine::response`] holds the error
    /// response made for it (netfn/LUN, cmd, `Failure::cc`).
    Failed(Failure),
    /// No transaction and nothing pending at the BMC.
    Idle,
    /// No transaction, and the BMC has a message or event for the host
    /// (KCS `SMS_ATN`, BT `SMS_ATN`).
    Attention,
    /// The interface failed too often and takes no requests until a probe
    /// succeeds ([`kcs::Kcs::start_probe`]).
    Hosed,
}

impl Action {
    /// Whether the action ends a transaction.
    pub const fn ends_transaction(&self) -> bool {
        matches!(self, Action::Response(_) | Action::Failed(_))
    }

    /// Whether the action is a register access.
    pub const fn is_register_access(&self) -> bool {
        matches!(
            self,
            Action::ReadStatus | Action::ReadData | Action::WriteCommand(_) | Action::WriteData(_)
        )
    }
}

/// How often a request was sent, reported with its end so that the caller
/// learns whether a command may have run more than once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Times the request was started again after an error (0: sent once).
    pub retries: u8,
    /// Times the whole request reached the BMC (KCS: its last byte was
    /// written, or error recovery wrote its 0x00 byte after `WRITE_END`,
    /// which a BMC that ignores `GET_STATUS/ABORT` takes as the last; BT:
    /// `H2B_ATN` was set after it). Above 1, the BMC may have run the
    /// command more than once.
    pub deliveries: u8,
}

impl Attempts {
    /// Whether the BMC may have run the command more than once.
    pub const fn may_have_run_twice(&self) -> bool {
        self.deliveries > 1
    }
}

/// Why a transaction failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// KCS: the BMC broke the protocol (or let IBF/OBF time out) more
    /// often than the retry limit allows; the machine is now hosed.
    RetriesExhausted,
    /// BT: no response within the per-try timeout on any try.
    Timeout,
    /// BT: the BMC kept `B_BUSY` set through every try; the machine waits
    /// for it to clear before it takes requests again.
    NodeBusy,
    /// The request's time limit passed.
    Deadline,
    /// The limit on calls to `step` for one request was reached.
    StepLimit,
    /// The response was shorter than netfn, cmd and completion code.
    ShortResponse,
    /// KCS: an error came after the request had reached the BMC, and
    /// [`Resend::BeforeDelivery`] forbade sending it again; the interface
    /// was recovered, the response is lost.
    NotResent,
}

/// The end of a failed transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Why it failed.
    pub cause: Cause,
    /// The completion code of the error response.
    pub cc: CompletionCode,
    /// How often the request was sent.
    pub attempts: Attempts,
}

/// Whether a request may be sent again after an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Resend {
    /// Send it again (at most the retry limit), even when the BMC may
    /// already have run it, as upstream does; [`Attempts`] tells the caller.
    #[default]
    Always,
    /// Send it again only when the BMC cannot have received all of it; an
    /// error after that fails the request instead (for commands that must
    /// not run twice).
    BeforeDelivery,
}

/// Why a transaction cannot start; the answer is immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartError {
    /// Fewer than two bytes (netfn/LUN and cmd).
    TooShort,
    /// More than the interface can carry ([`MAX_MSG_LENGTH`], or 254 bytes
    /// on BT, whose length byte counts at most 255).
    TooLong,
    /// A transaction is in progress.
    Busy,
    /// KCS: the interface is hosed; only a probe may run.
    Hosed,
    /// BT: the BMC is busy for long (`B_BUSY` stuck) or being reset.
    NodeBusy,
}

impl StartError {
    /// The completion code upstream answers with in each case.
    pub const fn completion_code(self) -> CompletionCode {
        match self {
            StartError::TooShort => CompletionCode::REQUEST_DATA_LENGTH_INVALID,
            StartError::TooLong => CompletionCode::REQUEST_DATA_LENGTH_EXCEEDED,
            StartError::Busy => CompletionCode::NOT_IN_STATE,
            StartError::Hosed => CompletionCode::BUS_ERROR,
            StartError::NodeBusy => CompletionCode::NODE_BUSY,
        }
    }
}

/// What the KCS and BT machines have in common, for a driver generic over
/// both.
pub trait StateMachine {
    /// Starts a transaction with `request` (netfn/LUN, cmd, data).
    fn start(&mut self, request: &[u8], resend: Resend) -> Result<(), StartError>;

    /// Advances the machine; see the module documentation.
    fn step(&mut self, input: Input, elapsed_us: u32) -> Action;

    /// The response of the last transaction, valid after
    /// [`Action::Response`] or [`Action::Failed`] until the next start.
    fn response(&self) -> &[u8];
}

/// Register access for [`run`]; a driver implements it over port I/O or
/// MMIO with the interface's spacing.
pub trait Registers {
    /// Reads the status register (KCS status, BT `BT_CTRL`).
    fn read_status(&mut self) -> u8;
    /// Reads the data register (KCS `Data_Out`, BT `BMC2HOST`).
    fn read_data(&mut self) -> u8;
    /// Writes the command register (KCS command, BT `BT_CTRL`).
    fn write_command(&mut self, value: u8);
    /// Writes the data register (KCS `Data_In`, BT `HOST2BMC`).
    fn write_data(&mut self, value: u8);
}

/// Most register accesses [`run`] makes in one call. The machines wait
/// long before that ([`kcs::Limits::max_burst`], [`bt::Limits::max_burst`]);
/// this bounds `run` even against a machine configured wrongly.
pub const RUN_LIMIT: u32 = 1 << 16;

/// Runs `machine` against `registers` until it waits or reports: a
/// transaction's end, idle, attention or hosed. Never returns a register
/// action.
pub fn run<M, R>(machine: &mut M, registers: &mut R, elapsed_us: u32) -> Action
where
    M: StateMachine + ?Sized,
    R: Registers + ?Sized,
{
    let mut input = Input::Tick;
    let mut elapsed = elapsed_us;
    for _ in 0..RUN_LIMIT {
        let action = machine.step(input, elapsed);
        elapsed = 0;
        input = match perform(registers, action) {
            Some(input) => input,
            None => return action,
        };
    }
    // Unreachable with the machines' own burst limits; a read made here is
    // asked for again on the next call.
    Action::Wait { us: 0 }
}

/// Makes the register access `action` asks for and returns its input for
/// the machine; `None` when `action` is not a register access.
#[inline(always)]
fn perform<R: Registers + ?Sized>(registers: &mut R, action: Action) -> Option<Input> {
    Some(match action {
        Action::ReadStatus => Input::Status(registers.read_status()),
        Action::ReadData => Input::Data(registers.read_data()),
        Action::WriteCommand(value) => {
            registers.write_command(value);
            Input::Written
        }
        Action::WriteData(value) => {
            registers.write_data(value);
            Input::Written
        }
        _ => return None,
    })
}

/// The error response to `request`: its netfn turned into the response
/// netfn (bit 2 of the netfn/LUN byte), its command, and `cc`, as
/// upstream's `return_hosed_msg()` makes it. Returns the length (3).
fn error_response(request: &[u8], cc: CompletionCode, out: &mut [u8]) -> usize {
    let netfn_lun = request.first().copied().unwrap_or(0) | 0x04;
    let cmd = request.get(1).copied().unwrap_or(0);
    if let Some([a, b, c]) = out.get_mut(..3) {
        *a = netfn_lun;
        *b = cmd;
        *c = cc.value();
        3
    } else {
        0
    }
}

/// Time and work accounting for one transaction, shared by the machines.
#[derive(Clone, Copy, Debug, Default)]
struct Pace {
    /// Microseconds since the transaction started (saturating).
    elapsed_us: u32,
    /// Microseconds not yet charged to a status check.
    pending_us: u32,
    /// Calls to `step` in this transaction.
    steps: u32,
    /// Register accesses since the last wait.
    burst: u32,
    /// The next wait to suggest.
    poll_us: u32,
}

impl Pace {
    /// A fresh account for a new transaction.
    const fn new(poll_min_us: u32) -> Self {
        Pace {
            elapsed_us: 0,
            pending_us: 0,
            steps: 0,
            burst: 0,
            poll_us: poll_min_us,
        }
    }

    /// Charges one call to `step` that brought `elapsed_us`.
    fn charge(&mut self, elapsed_us: u32) {
        self.elapsed_us = self.elapsed_us.saturating_add(elapsed_us);
        self.pending_us = self.pending_us.saturating_add(elapsed_us);
        self.steps = self.steps.saturating_add(1);
    }

    /// The time since the last status check, which a wait is charged with.
    fn take_pending(&mut self) -> u32 {
        core::mem::take(&mut self.pending_us)
    }

    /// Counts a register access; true when the burst limit is reached and
    /// the machine should wait before the next status read.
    fn access(&mut self, max_burst: u32) -> bool {
        self.burst = self.burst.saturating_add(1);
        self.burst >= max_burst
    }

    /// The wait to suggest now: doubling from the last one up to `max_us`.
    fn wait(&mut self, max_us: u32) -> u32 {
        let us = self.poll_us.min(max_us);
        self.poll_us = us.saturating_mul(2).min(max_us).max(1);
        self.burst = 0;
        us
    }

    /// The BMC moved on: the next wait starts short again.
    fn progress(&mut self, min_us: u32) {
        self.poll_us = min_us;
    }
}

/// A short list of register operations a machine makes after a status
/// check, before it reads the status again.
#[derive(Clone, Copy, Debug)]
struct Plan<Op: Copy, const N: usize> {
    ops: [Option<Op>; N],
    next: usize,
}

impl<Op: Copy, const N: usize> Plan<Op, N> {
    /// An empty plan.
    const fn new() -> Self {
        Plan {
            ops: [None; N],
            next: 0,
        }
    }

    /// Forgets every operation.
    fn clear(&mut self) {
        *self = Self::new();
    }

    /// Adds an operation at the end; the plans are sized so that this never
    /// fails, and an operation beyond the capacity would be dropped.
    fn push(&mut self, op: Op) {
        if let Some(slot) = self.ops.iter_mut().find(|slot| slot.is_none()) {
            *slot = Some(op);
        }
    }

    /// The operation to make now, if any.
    fn current(&self) -> Option<Op> {
        self.ops.get(self.next).copied().flatten()
    }

    /// Moves past the current operation.
    fn advance(&mut self) {
        self.next = self.next.saturating_add(1);
        if self.current().is_none() {
            self.clear();
        }
    }
}
