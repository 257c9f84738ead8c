// SPDX-License-Identifier: GPL-2.0

//! What both targets share: the fuzz input read as a script of register
//! values and time steps, and the driver loop that checks the invariants
//! every transaction must keep.

use ipmi::si::{Action, Attempts, Failure, Input, StateMachine};

/// The fuzz input, read a byte at a time; once it runs out, every read is
/// `0xff` and every step a tenth of a second, so that time limits end the
/// transaction in progress.
pub struct Script<'a> {
    bytes: &'a [u8],
}

impl<'a> Script<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Script { bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(first)
    }

    pub fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    /// A time step: small ones often, large ones sometimes.
    pub fn elapsed(&mut self) -> u32 {
        match self.byte() {
            None => 100_000,
            Some(b) if b < 0x80 => u32::from(b),
            Some(b) if b < 0xf0 => u32::from(b - 0x80) * 50_000,
            Some(_) => self.u16().map_or(0, |v| u32::from(v) * 1_000),
        }
    }

    /// A request of a fuzzed length (0 to 279 bytes).
    pub fn request(&mut self, buf: &mut [u8; 280]) -> usize {
        let len = usize::from(self.u16().unwrap_or(2)) % buf.len();
        for (i, byte) in buf.iter_mut().enumerate().take(len) {
            *byte = self.byte().unwrap_or(i as u8);
        }
        len
    }
}

/// The bounds one transaction must end within.
pub struct Bounds {
    pub max_steps: u32,
    pub request_timeout_us: u32,
    /// Most register accesses between two waits.
    pub max_burst: u32,
}

/// How one transaction ended.
pub enum End {
    Response(Attempts),
    Failed(Failure),
}

/// Drives a started transaction with values from the script until it
/// ends, and checks the bounds. With `free_inputs`, the kind of each input
/// comes from the script too, so that it need not match what was asked.
pub fn drive<M: StateMachine>(
    machine: &mut M,
    script: &mut Script<'_>,
    bounds: &Bounds,
    free_inputs: bool,
) -> End {
    let mut input = Input::Tick;
    let mut calls: u32 = 0;
    let mut time: u64 = 0;
    let mut burst: u32 = 0;
    let mut elapsed = 0;
    loop {
        let time_before = time;
        time += u64::from(elapsed);
        calls += 1;
        assert!(
            calls <= bounds.max_steps,
            "more than {} calls",
            bounds.max_steps
        );
        let action = machine.step(input, elapsed);
        if action.ends_transaction() {
            assert!(
                time_before <= u64::from(bounds.request_timeout_us),
                "ran {time_before} us, limit {}",
                bounds.request_timeout_us
            );
            return match action {
                Action::Response(a) => End::Response(a),
                Action::Failed(f) => End::Failed(f),
                _ => unreachable!(),
            };
        }
        if action.is_register_access() {
            burst += 1;
            // Given the inputs it asks for, the machine waits in time; given
            // others it asks again, which only the step bound limits.
            assert!(
                free_inputs || burst <= bounds.max_burst,
                "{burst} accesses without a wait"
            );
        } else {
            assert!(
                matches!(action, Action::Wait { .. }),
                "{action:?} in a transaction"
            );
            burst = 0;
        }
        let value = script.byte().unwrap_or(0xff);
        input = if free_inputs {
            match value & 3 {
                0 => Input::Tick,
                1 => Input::Status(script.byte().unwrap_or(0xff)),
                2 => Input::Data(script.byte().unwrap_or(0xff)),
                _ => Input::Written,
            }
        } else {
            match action {
                Action::ReadStatus => Input::Status(value),
                Action::ReadData => Input::Data(value),
                Action::WriteCommand(_) | Action::WriteData(_) => Input::Written,
                _ => Input::Tick,
            }
        };
        elapsed = if action.is_register_access() && value & 0x80 == 0 {
            0
        } else {
            script.elapsed()
        };
    }
}

/// Checks what every end has in common: the response holds netfn, cmd and
/// a completion code at least, and a failure's response is made of the
/// request and the failure's code.
pub fn check_end(end: &End, request: &[u8], response: &[u8], max_len: usize) {
    assert!(response.len() >= 3 && response.len() <= max_len);
    match end {
        End::Response(a) => {
            assert!(a.deliveries >= 1 && a.deliveries <= a.retries + 1, "{a:?}");
        }
        End::Failed(f) => {
            assert!(f.attempts.deliveries <= f.attempts.retries + 1, "{f:?}");
            assert_eq!(response, [request[0] | 4, request[1], f.cc.value()]);
        }
    }
}
