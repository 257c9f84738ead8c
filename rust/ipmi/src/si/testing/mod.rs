// SPDX-License-Identifier: GPL-2.0

//! Register-level BMC models and a driver loop for the machines' tests.
//!
//! A model holds a BMC's registers and a clock; the harness performs the
//! machine's actions on it, moves its clock by the time each access and
//! wait takes, and passes that time to the machine, as a driver would.

pub(crate) mod bt;
pub(crate) mod kcs;

use super::{Action, Input, StateMachine};

/// One host access, as the models record them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    ReadStatus(u8),
    ReadData(u8),
    WriteCommand(u8),
    WriteData(u8),
}

/// A BMC behind registers.
pub(crate) trait Bmc {
    fn read_status(&mut self) -> u8;
    fn read_data(&mut self) -> u8;
    fn write_command(&mut self, value: u8);
    fn write_data(&mut self, value: u8);
    /// Moves the model's clock on.
    fn advance(&mut self, us: u32);
    /// Requests the BMC has run, in all.
    fn executed(&self) -> u32;
}

/// How the harness paces the machine.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pacing {
    /// Time one register access takes.
    pub(crate) access_us: u32,
    /// How long a wait lasts.
    pub(crate) wait: WaitPolicy,
}

/// How long the harness waits when the machine asks for `us`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum WaitPolicy {
    /// As asked.
    AsAsked,
    /// Always this long (a timer tick).
    Fixed(u32),
    /// Not at all, as an interrupt storm would call back with no time
    /// passed.
    Zero,
}

impl Pacing {
    pub(crate) const FAST: Pacing = Pacing {
        access_us: 1,
        wait: WaitPolicy::AsAsked,
    };

    fn wait_us(&self, asked: u32) -> u32 {
        match self.wait {
            WaitPolicy::AsAsked => asked,
            WaitPolicy::Fixed(us) => us,
            WaitPolicy::Zero => 0,
        }
    }
}

/// How a transaction ended, and what it took.
#[derive(Clone, Copy, Debug)]
pub(crate) struct End {
    /// The ending action.
    pub(crate) action: Action,
    /// Calls to `step`, the last one included.
    pub(crate) calls: u32,
    /// Time passed to the machine before its last call.
    pub(crate) time_before_last_us: u64,
    /// Time passed to the machine in all.
    pub(crate) time_us: u64,
    /// Register accesses.
    pub(crate) accesses: u32,
    /// Waits asked for.
    pub(crate) waits: u32,
    /// Most register accesses between two waits.
    pub(crate) longest_burst: u32,
}

/// Performs one register action on the model; `None` for other actions.
pub(crate) fn perform<B: Bmc + ?Sized>(bmc: &mut B, action: Action) -> Option<Input> {
    Some(match action {
        Action::ReadStatus => Input::Status(bmc.read_status()),
        Action::ReadData => Input::Data(bmc.read_data()),
        Action::WriteCommand(value) => {
            bmc.write_command(value);
            Input::Written
        }
        Action::WriteData(value) => {
            bmc.write_data(value);
            Input::Written
        }
        _ => return None,
    })
}

/// Runs a started transaction to its end; panics if the machine reports
/// idle, attention or hosed in the middle, or does not end in `call_cap`
/// calls.
pub(crate) fn transact<M, B>(machine: &mut M, bmc: &mut B, pacing: Pacing, call_cap: u32) -> End
where
    M: StateMachine + ?Sized,
    B: Bmc + ?Sized,
{
    let mut input = Input::Tick;
    let mut elapsed: u32 = 0;
    let mut end = End {
        action: Action::Idle,
        calls: 0,
        time_before_last_us: 0,
        time_us: 0,
        accesses: 0,
        waits: 0,
        longest_burst: 0,
    };
    let mut burst = 0;
    loop {
        assert!(end.calls < call_cap, "no end in {call_cap} calls");
        end.time_before_last_us = end.time_us;
        end.time_us += u64::from(elapsed);
        end.calls += 1;
        let action = machine.step(input, elapsed);
        if let Some(next) = perform(bmc, action) {
            input = next;
            end.accesses += 1;
            burst += 1;
            end.longest_burst = end.longest_burst.max(burst);
            bmc.advance(pacing.access_us);
            elapsed = pacing.access_us;
            continue;
        }
        match action {
            Action::Wait { us } => {
                end.waits += 1;
                burst = 0;
                let t = pacing.wait_us(us);
                bmc.advance(t);
                elapsed = t;
                input = Input::Tick;
            }
            Action::Response(_) | Action::Failed(_) => {
                end.action = action;
                return end;
            }
            other => panic!("{other:?} in the middle of a transaction"),
        }
    }
}

/// Runs an idle poll; returns its report and the accesses it made.
pub(crate) fn idle_poll<M, B>(machine: &mut M, bmc: &mut B) -> (Action, u32)
where
    M: StateMachine + ?Sized,
    B: Bmc + ?Sized,
{
    let mut input = Input::Tick;
    let mut accesses = 0;
    for _ in 0..1000 {
        let action = machine.step(input, 0);
        match perform(bmc, action) {
            Some(next) => {
                input = next;
                accesses += 1;
            }
            None => return (action, accesses),
        }
    }
    panic!("idle poll does not end");
}

/// The echo response the models give by default: netfn + 1, cmd, cc 0 and
/// the request's data.
pub(crate) fn echo(request: &[u8]) -> Vec<u8> {
    let mut response = vec![request[0] | 4, request[1], 0];
    response.extend_from_slice(&request[2..]);
    response
}
