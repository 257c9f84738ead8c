// SPDX-License-Identifier: GPL-2.0

//! Fuzzes the BT machine with arbitrary register values, time steps and
//! requests, and checks that every transaction ends, once, within its time
//! and step bounds, with a well-formed response; and that the soft reset
//! and the long-busy wait that may follow end or stay idle-time work.

#![no_main]

#[path = "common.rs"]
mod common;

use common::{check_end, drive, Bounds, End, Script};
use ipmi::cc::CompletionCode;
use ipmi::si::bt::{Bt, Limits, MAX_REQUEST_LEN};
use ipmi::si::{Action, Cause, Input, Resend, StartError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut script = Script::new(data);
    let config = script.byte().unwrap_or(0);
    let mut limits = if config & 1 == 0 {
        Limits::DEFAULT
    } else {
        Limits {
            max_steps: u32::from(script.u16().unwrap_or(100)),
            max_burst: u32::from(script.byte().unwrap_or(8)),
            tries: (config >> 1) & 3,
            timeout_us: u32::from(script.u16().unwrap_or(1000)) * 1000,
            request_timeout_us: u32::from(script.u16().unwrap_or(1000)) * 1000,
            reset_delay_us: u32::from(script.u16().unwrap_or(1000)) * 100,
            ..Limits::DEFAULT
        }
    };
    if config & 0x40 != 0 {
        // Capabilities from the fuzz input, as Get BT Capabilities gives them.
        let mut caps = [0u8; 8];
        for byte in &mut caps {
            *byte = script.byte().unwrap_or(0);
        }
        let len = usize::from(config >> 7) * 8;
        if let Some(new) = limits.with_capabilities(&caps[..len]) {
            assert!(new.request_timeout_us >= limits.request_timeout_us.min(60_000_000));
            assert!(
                new.request_timeout_us
                    <= ipmi::si::bt::MAX_REQUEST_TIMEOUT_US.max(limits.request_timeout_us)
            );
            limits = new;
        }
    }
    let free_inputs = config & 0x10 != 0;
    let bounds = Bounds {
        max_steps: limits.max_steps.max(1),
        request_timeout_us: limits.request_timeout_us,
        // A status read plans at most a whole block (256 writes and a few
        // commands).
        max_burst: limits.max_burst.max(1) + 270,
    };
    let mut bt = Bt::new(limits);
    let mut buf = [0u8; 280];
    for round in 0..4 {
        if round > 0 && script.is_empty() {
            break;
        }
        // Between transactions: an idle poll, or the end of a reset, or
        // the long-busy wait (which lasts while B_BUSY does, one status
        // read per wait).
        let mut input = Input::Tick;
        let mut accesses: u32 = 0;
        let mut calls: u32 = 0;
        let mut time: u64 = 0;
        let resetting = bt.is_resetting();
        loop {
            // Time passes while the reset holds the interface; once it is
            // over (a last drain may follow), the machine is idle.
            let still_resetting = bt.is_resetting();
            let elapsed = if still_resetting { script.elapsed() } else { 0 };
            let time_before = time;
            time += u64::from(elapsed);
            calls += 1;
            let action = bt.step(input, elapsed);
            input = match action {
                Action::ReadStatus => Input::Status(script.byte().unwrap_or(0)),
                Action::ReadData => Input::Data(script.byte().unwrap_or(0)),
                Action::WriteCommand(_) | Action::WriteData(_) => Input::Written,
                Action::Idle | Action::Attention => break,
                Action::Wait { .. } if !resetting => break,
                Action::Wait { .. } => Input::Tick,
                other => panic!("{other:?} between transactions"),
            };
            if action.is_register_access() {
                accesses += 1;
                // A drain reads at most 256 bytes; a reset writes 11 more.
                assert!(accesses <= 300 || resetting);
            }
            if still_resetting {
                // The reset ends within its own time and step bounds.
                assert!(calls <= limits.max_steps.max(1));
                let bound = u64::from(limits.reset_delay_us) + u64::from(limits.timeout_us);
                assert!(time_before <= bound, "reset for {time_before} us");
            }
        }

        let len = script.request(&mut buf);
        let request = &buf[..len];
        let resend = if script.byte().unwrap_or(0) & 1 == 0 {
            Resend::Always
        } else {
            Resend::BeforeDelivery
        };
        let busy = bt.is_busy();
        match bt.start(request, resend) {
            Ok(()) => {}
            Err(StartError::TooShort) => {
                assert!(len < 2);
                continue;
            }
            Err(StartError::TooLong) => {
                // The length byte must never wrap.
                assert!(len > MAX_REQUEST_LEN);
                continue;
            }
            Err(StartError::NodeBusy) => {
                assert!(busy && (2..=MAX_REQUEST_LEN).contains(&len));
                continue;
            }
            Err(e) => panic!("{e:?}"),
        }
        let damaged = bt.stats().damaged;
        let end = drive(&mut bt, &mut script, &bounds, free_inputs);
        assert!(!bt.in_transaction());
        check_end(&end, request, bt.response(), MAX_REQUEST_LEN);
        let tries = limits.tries.max(1);
        match end {
            End::Response(a) => {
                assert!(a.retries < tries);
                assert!(resend == Resend::Always || a.deliveries == 1);
                // Matched on seq; on netfn and cmd too unless counted as
                // damaged (the request's seq on another netfn or cmd).
                let response = bt.response();
                if bt.stats().damaged == damaged {
                    assert_eq!(response[0] & 0xf8, request[0] & 0xf8);
                    assert_eq!(response[1], request[1]);
                }
                assert!(bt.is_idle());
            }
            End::Failed(f) => {
                assert!(f.attempts.retries < tries);
                assert!(resend == Resend::Always || f.attempts.deliveries <= 1);
                let cc = match f.cause {
                    Cause::Timeout | Cause::Deadline | Cause::StepLimit => CompletionCode::TIMEOUT,
                    Cause::NodeBusy => {
                        assert!(bt.is_busy());
                        CompletionCode::NODE_BUSY
                    }
                    Cause::ShortResponse => CompletionCode::UNSPECIFIED,
                    other => panic!("{other:?}"),
                };
                assert_eq!(f.cc, cc);
            }
        }
    }
});
