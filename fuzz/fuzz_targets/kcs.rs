// SPDX-License-Identifier: GPL-2.0

//! Fuzzes the KCS machine with arbitrary register values, time steps and
//! requests, and checks that every transaction ends, once, within its time
//! and step bounds, with a well-formed response.

#![no_main]

#[path = "common.rs"]
mod common;

use common::{check_end, drive, Bounds, End, Script};
use ipmi::cc::CompletionCode;
use ipmi::si::kcs::{Kcs, Limits};
use ipmi::si::{Action, Cause, Input, Resend, StartError, MAX_MSG_LENGTH};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut script = Script::new(data);
    let config = script.byte().unwrap_or(0);
    let limits = if config & 1 == 0 {
        Limits::DEFAULT
    } else {
        Limits {
            max_steps: u32::from(script.u16().unwrap_or(100)),
            max_burst: u32::from(script.byte().unwrap_or(8)),
            max_retries: (config >> 1) & 3,
            max_read_bytes: u32::from(script.u16().unwrap_or(300)),
            request_timeout_us: u32::from(script.u16().unwrap_or(1000)) * 1000,
            ..Limits::DEFAULT
        }
    };
    let free_inputs = config & 0x10 != 0;
    let bounds = Bounds {
        max_steps: limits.max_steps.max(1),
        request_timeout_us: limits.request_timeout_us,
        // A status read plans at most three accesses.
        max_burst: limits.max_burst.max(1) + 3,
    };
    let mut kcs = Kcs::new(limits);
    let mut buf = [0u8; 280];
    for round in 0..4 {
        if round > 0 && script.is_empty() {
            break;
        }
        // An idle poll between transactions: two accesses at most.
        let mut input = Input::Tick;
        let mut accesses = 0;
        loop {
            let action = kcs.step(input, 0);
            input = match action {
                Action::ReadStatus => Input::Status(script.byte().unwrap_or(0)),
                Action::ReadData => Input::Data(0),
                Action::WriteCommand(_) | Action::WriteData(_) => Input::Written,
                Action::Idle | Action::Attention | Action::Hosed => break,
                other => panic!("{other:?} in an idle poll"),
            };
            accesses += 1;
            assert!(accesses <= 2);
        }

        let len = script.request(&mut buf);
        let request = &buf[..len];
        let resend = if script.byte().unwrap_or(0) & 1 == 0 {
            Resend::Always
        } else {
            Resend::BeforeDelivery
        };
        let hosed = kcs.is_hosed();
        let started = if hosed && config & 0x20 == 0 {
            kcs.start_probe(request, resend)
        } else {
            kcs.start(request, resend)
        };
        match started {
            Ok(()) => {}
            Err(StartError::TooShort) => {
                assert!(len < 2);
                continue;
            }
            Err(StartError::TooLong) => {
                assert!(len > MAX_MSG_LENGTH);
                continue;
            }
            Err(StartError::Hosed) => {
                assert!(hosed);
                assert_eq!(
                    StartError::Hosed.completion_code(),
                    CompletionCode::BUS_ERROR
                );
                continue;
            }
            Err(e) => panic!("{e:?}"),
        }
        let end = drive(&mut kcs, &mut script, &bounds, free_inputs);
        assert!(!kcs.in_transaction());
        check_end(&end, request, kcs.response(), MAX_MSG_LENGTH);
        match end {
            End::Response(a) => {
                assert!(a.retries <= limits.max_retries);
                assert!(resend == Resend::Always || a.deliveries == 1);
                assert!(kcs.is_idle());
            }
            End::Failed(f) => {
                assert!(f.attempts.retries <= limits.max_retries);
                assert!(resend == Resend::Always || f.attempts.deliveries <= 1);
                match f.cause {
                    Cause::RetriesExhausted | Cause::Deadline | Cause::StepLimit => {
                        assert!(kcs.is_hosed());
                        assert_eq!(f.cc, CompletionCode::BUS_ERROR);
                    }
                    Cause::ShortResponse => {
                        assert_eq!(f.cc, CompletionCode::UNSPECIFIED);
                        assert!(kcs.is_idle());
                    }
                    Cause::NotResent => {
                        assert_eq!(f.cc, CompletionCode::RESPONSE_UNAVAILABLE);
                        assert!(kcs.is_idle());
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
    }
});
