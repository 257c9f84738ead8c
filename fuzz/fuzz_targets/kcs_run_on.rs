// SPDX-License-Identifier: GPL-2.0

//! Differential: `Kcs::run_on` (the driver's path, with its read- and
//! write-phase shortcuts) against `si::run` over `step`, on arbitrary
//! register values, time steps, limits and requests. Both machines must
//! make the same accesses and return the same actions, responses and
//! counts.

#![no_main]

use ipmi::si::kcs::{Kcs, Limits};
use ipmi::si::{run, Action, Registers, Resend};
use libfuzzer_sys::fuzz_target;

/// Registers whose status reads come from the fuzz input (0xff once it
/// runs out: an absent interface) and whose data reads count up; every
/// access is logged.
struct Scripted<'a> {
    statuses: &'a [u8],
    next: usize,
    data: u8,
    log: Vec<(u8, u8)>,
}

impl<'a> Scripted<'a> {
    fn new(statuses: &'a [u8]) -> Self {
        Scripted {
            statuses,
            next: 0,
            data: 0,
            log: Vec::new(),
        }
    }
}

impl Registers for Scripted<'_> {
    fn read_status(&mut self) -> u8 {
        let status = self.statuses.get(self.next).copied().unwrap_or(0xff);
        self.next += 1;
        self.log.push((0, status));
        status
    }
    fn read_data(&mut self) -> u8 {
        self.data = self.data.wrapping_add(1);
        self.log.push((1, self.data));
        self.data
    }
    fn write_command(&mut self, value: u8) {
        self.log.push((2, value));
    }
    fn write_data(&mut self, value: u8) {
        self.log.push((3, value));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&config, rest)) = data.split_first() else {
        return;
    };
    let (head, statuses) = rest.split_at(rest.len().min(24));
    let byte = |i: usize| head.get(i).copied().unwrap_or(0);
    let limits = if config & 1 == 0 {
        Limits::DEFAULT
    } else {
        Limits {
            max_steps: u32::from(byte(0)) * 4 + 1,
            max_burst: u32::from(byte(1) % 64) + 1,
            max_retries: byte(2) & 3,
            max_read_bytes: u32::from(byte(3)) + 1,
            ..Limits::DEFAULT
        }
    };
    let len = usize::from(byte(4) % 12) + 2;
    let request: Vec<u8> = (0..len).map(|i| byte(5 + i % 16)).collect();
    let resend = if config & 2 == 0 {
        Resend::Always
    } else {
        Resend::BeforeDelivery
    };
    let step_us = u32::from(config >> 2) * 100;

    let mut by_step = (Kcs::new(limits), Scripted::new(statuses), Vec::new());
    let mut fused = (Kcs::new(limits), Scripted::new(statuses), Vec::new());
    for (kcs, regs, actions, use_run_on) in [
        (&mut by_step.0, &mut by_step.1, &mut by_step.2, false),
        (&mut fused.0, &mut fused.1, &mut fused.2, true),
    ] {
        for round in 0..3u8 {
            let started = if kcs.is_hosed() {
                kcs.start_probe(&request, resend)
            } else {
                kcs.start(&request, resend)
            };
            if started.is_err() {
                break;
            }
            let mut elapsed = u32::from(round);
            for _ in 0..2000 {
                let action = if use_run_on {
                    kcs.run_on(regs, elapsed)
                } else {
                    run(kcs, regs, elapsed)
                };
                actions.push(action);
                if action.ends_transaction() {
                    actions.push(Action::Idle);
                    break;
                }
                elapsed = step_us;
            }
        }
    }
    assert_eq!(by_step.2, fused.2);
    assert_eq!(by_step.1.log, fused.1.log);
    assert_eq!(by_step.0.response(), fused.0.response());
    assert_eq!(by_step.0.stats(), fused.0.stats());
});
