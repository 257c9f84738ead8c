// SPDX-License-Identifier: GPL-2.0

use super::super::testing::kcs::{Behaviour, KcsBmc};
use super::super::testing::{echo, idle_poll, transact, Access, Bmc, End, Pacing, WaitPolicy};
use super::super::{run, Registers};
use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::cell::RefCell;

const GET_DEVICE_ID: [u8; 2] = [0x18, 0x01];
const CALL_CAP: u32 = 1 << 22;

fn exchange(kcs: &mut Kcs, bmc: &mut KcsBmc, request: &[u8], resend: Resend) -> End {
    kcs.start(request, resend).expect("start");
    transact(kcs, bmc, Pacing::FAST, CALL_CAP)
}

fn writes(trace: &[Access]) -> Vec<Access> {
    trace
        .iter()
        .copied()
        .filter(|a| matches!(a, Access::WriteCommand(_) | Access::WriteData(_)))
        .collect()
}

fn failure(end: &End) -> Failure {
    match end.action {
        Action::Failed(f) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn attempts(end: &End) -> Attempts {
    match end.action {
        Action::Response(a) => a,
        other => panic!("expected a response, got {other:?}"),
    }
}

#[test]
fn get_device_id_follows_the_spec() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour::default());
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    assert_eq!(
        attempts(&end),
        Attempts {
            retries: 0,
            deliveries: 1
        }
    );
    assert_eq!(kcs.response(), &[0x1c, 0x01, 0x00]);
    assert_eq!(bmc.executed, 1);
    assert_eq!(bmc.last_request, GET_DEVICE_ID);
    use Access::{WriteCommand as C, WriteData as D};
    assert_eq!(
        writes(&bmc.accesses),
        [
            C(WRITE_START),
            D(0x18),
            C(WRITE_END),
            D(0x01),
            D(READ_BYTE),
            D(READ_BYTE),
            D(READ_BYTE)
        ]
    );
    // One status read per step of the protocol, plus the reads.
    // 8 status reads, 5 data reads, 7 writes.
    assert_eq!(end.accesses, 20);
    assert_eq!(end.waits, 0);
    assert!(kcs.is_idle());
    assert_eq!(kcs.stats().responses, 1);
}

#[test]
fn largest_request_and_response_pass_whole() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour::default());
    let request: Vec<u8> = (0..MAX_MSG_LENGTH).map(|i| i as u8).collect();
    let end = exchange(&mut kcs, &mut bmc, &request, Resend::Always);
    attempts(&end);
    assert_eq!(bmc.last_request, request);
    // The echo of 272 bytes is 273 bytes: one too many.
    assert_eq!(kcs.response().len(), MAX_MSG_LENGTH);
    assert_eq!(kcs.response()[2], 0xc6);

    bmc.behaviour.response = Some((0..MAX_MSG_LENGTH).map(|i| i as u8).collect());
    let end = exchange(&mut kcs, &mut bmc, &request, Resend::Always);
    attempts(&end);
    let expected: Vec<u8> = (0..MAX_MSG_LENGTH).map(|i| i as u8).collect();
    assert_eq!(kcs.response(), expected.as_slice());
    // A 272-byte exchange is more than one burst: the machine waited.
    assert!(kcs.stats().yields >= 1);
    assert!(end.longest_burst <= Limits::DEFAULT.max_burst + 3);
}

#[test]
fn over_long_response_is_truncated_with_c6() {
    let mut kcs = Kcs::default();
    let long: Vec<u8> = (0..300).map(|i| (i % 251) as u8).collect();
    let mut bmc = KcsBmc::new(Behaviour {
        response: Some(long.clone()),
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    attempts(&end);
    let response = kcs.response();
    assert_eq!(response.len(), MAX_MSG_LENGTH);
    assert_eq!(&response[..2], &long[..2]);
    assert_eq!(response[2], 0xc6);
    assert_eq!(&response[3..], &long[3..MAX_MSG_LENGTH]);
    assert_eq!(kcs.stats().truncated, 1);
}

#[test]
fn short_responses_fail_with_ff() {
    for len in 0..3 {
        let mut kcs = Kcs::default();
        let mut bmc = KcsBmc::new(Behaviour {
            response: Some(vec![0x1c; len]),
            ..Behaviour::default()
        });
        let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
        let f = failure(&end);
        assert_eq!(f.cause, Cause::ShortResponse, "{len}");
        assert_eq!(f.cc, CompletionCode::UNSPECIFIED);
        assert_eq!(kcs.response(), &[0x1c, 0x01, 0xff]);
        assert!(kcs.is_idle());
    }
}

#[test]
fn missing_final_dummy_byte_is_tolerated() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        no_final_dummy: true,
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    attempts(&end);
    assert_eq!(kcs.response(), &[0x1c, 0x01, 0x00]);
}

#[test]
fn dummy_byte_after_write_start_is_drained() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        dummy_on_write_start: true,
        ..Behaviour::default()
    });
    let end = exchange(
        &mut kcs,
        &mut bmc,
        &[0x18, 0x01, 0xaa, 0xbb],
        Resend::Always,
    );
    attempts(&end);
    assert_eq!(kcs.response(), &[0x1c, 0x01, 0x00, 0xaa, 0xbb]);
}

#[test]
fn slow_bmc_gets_growing_waits() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        ibf_delay_us: 300,
        obf_delay_us: 2_000,
        ..Behaviour::default()
    });
    kcs.start(&GET_DEVICE_ID, Resend::Always).unwrap();
    let mut asked = Vec::new();
    let mut input = Input::Tick;
    let mut elapsed = 0;
    let end = loop {
        let action = kcs.step(input, elapsed);
        elapsed = 0;
        if let Some(next) = super::super::testing::perform(&mut bmc, action) {
            input = next;
            continue;
        }
        match action {
            Action::Wait { us } => {
                asked.push(us);
                bmc.advance(us);
                elapsed = us;
                input = Input::Tick;
            }
            other => break other,
        }
    };
    assert!(matches!(end, Action::Response(_)));
    assert_eq!(kcs.response(), &[0x1c, 0x01, 0x00]);
    // Doubling from the minimum, capped, and short again after progress.
    assert_eq!(&asked[..5], &[10, 20, 40, 80, 160]);
    assert!(asked.iter().all(|&us| us <= Limits::DEFAULT.poll_max_us));
    assert!(asked.contains(&1000));
    assert!(asked.iter().filter(|&&us| us == 10).count() > 3);
}

#[test]
fn slowest_full_size_exchange_fits_the_bounds() {
    // 9 ms for every handshake of a 272-byte request and response, polled
    // as the machine suggests: well inside the time and step limits.
    let mut kcs = Kcs::default();
    let full: Vec<u8> = (0..MAX_MSG_LENGTH).map(|i| i as u8).collect();
    let mut bmc = KcsBmc::new(Behaviour {
        ibf_delay_us: 9_000,
        obf_delay_us: 9_000,
        response: Some(full.clone()),
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &full, Resend::Always);
    attempts(&end);
    assert_eq!(kcs.response(), full.as_slice());
    assert!(end.time_us < 9_000_000, "{}", end.time_us);
    assert!(end.calls < Limits::DEFAULT.max_steps / 2, "{}", end.calls);
}

#[test]
fn error_before_delivery_is_resent_safely() {
    // Host write 1 is the first byte of a two-byte request: the BMC breaks
    // before it has the whole request.
    for resend in [Resend::Always, Resend::BeforeDelivery] {
        let mut kcs = Kcs::default();
        let mut bmc = KcsBmc::new(Behaviour {
            error_at: vec![1],
            ..Behaviour::default()
        });
        let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, resend);
        assert_eq!(
            attempts(&end),
            Attempts {
                retries: 1,
                deliveries: 1
            }
        );
        assert_eq!(kcs.response(), &[0x1c, 0x01, 0x00]);
        assert_eq!(bmc.executed, 1);
        let w = writes(&bmc.accesses);
        // The recovery: GET_STATUS/ABORT, 0x00, READ, then WRITE_START.
        let abort = w
            .iter()
            .position(|a| *a == Access::WriteCommand(GET_STATUS_ABORT))
            .unwrap();
        assert_eq!(
            &w[abort..abort + 4],
            &[
                Access::WriteCommand(GET_STATUS_ABORT),
                Access::WriteData(0),
                Access::WriteData(READ_BYTE),
                Access::WriteCommand(WRITE_START)
            ]
        );
        assert_eq!(kcs.stats().error_recoveries, 1);
    }
}

#[test]
fn error_after_write_end_counts_as_a_delivery() {
    // Between WRITE_END and the last byte, recovery's 0x00 would complete
    // the request at a BMC that ignores GET_STATUS/ABORT: the machine
    // counts it, although this BMC honours the abort and never ran it.
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        error_at: vec![2],
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    assert_eq!(
        attempts(&end),
        Attempts {
            retries: 1,
            deliveries: 2
        }
    );
    assert_eq!(bmc.executed, 1);

    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        error_at: vec![2],
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::BeforeDelivery);
    assert_eq!(failure(&end).cause, Cause::NotResent);
    assert_eq!(bmc.executed, 0);

    // A BMC that ignores the abort does run the request then (with 0x00
    // as its last byte), once, as counted.
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        garbage: vec![(3, 0xc0)],
        ignore_abort: true,
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::BeforeDelivery);
    let f = failure(&end);
    assert_eq!(f.attempts.deliveries, 1);
    assert_eq!(bmc.executed, 1);
    assert_eq!(bmc.last_request, [0x18, 0x00]);
}

#[test]
fn error_after_delivery_is_reported_or_refused() {
    // Host write 4 is the first READ: the BMC has run the request.
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        error_at: vec![4],
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    let a = attempts(&end);
    assert_eq!(
        a,
        Attempts {
            retries: 1,
            deliveries: 2
        }
    );
    assert!(a.may_have_run_twice());
    assert_eq!(bmc.executed, 2);

    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        error_at: vec![4],
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::BeforeDelivery);
    let f = failure(&end);
    assert_eq!(f.cause, Cause::NotResent);
    assert_eq!(f.cc, CompletionCode::RESPONSE_UNAVAILABLE);
    assert_eq!(
        f.attempts,
        Attempts {
            retries: 0,
            deliveries: 1
        }
    );
    assert_eq!(bmc.executed, 1);
    assert_eq!(kcs.response(), &[0x1c, 0x01, 0xce]);
    // The interface was recovered: the next request goes through.
    assert!(kcs.is_idle());
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::BeforeDelivery);
    attempts(&end);
}

#[test]
fn three_errors_hose_the_interface_until_a_probe() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        // WRITE_START of each try; each recovery takes three writes.
        error_at: vec![0, 4, 8],
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    let f = failure(&end);
    assert_eq!(f.cause, Cause::RetriesExhausted);
    assert_eq!(f.cc, CompletionCode::BUS_ERROR);
    assert_eq!(f.attempts.retries, 2);
    assert_eq!(kcs.response(), &[0x1c, 0x01, 0x82]);
    assert!(kcs.is_hosed());
    assert_eq!(kcs.stats().hosed, 1);

    // Hosed: requests fail at once, the machine touches no register.
    assert_eq!(
        kcs.start(&GET_DEVICE_ID, Resend::Always),
        Err(StartError::Hosed)
    );
    assert_eq!(
        StartError::Hosed.completion_code(),
        CompletionCode::BUS_ERROR
    );
    let before = bmc.accesses.len();
    assert_eq!(kcs.step(Input::Tick, 1_000_000), Action::Hosed);
    assert_eq!(bmc.accesses.len(), before);

    // A probe that gets an answer brings it back.
    bmc.behaviour.error_at.clear();
    kcs.start_probe(&[0x18, 0x31], Resend::Always).unwrap();
    let end = transact(&mut kcs, &mut bmc, Pacing::FAST, CALL_CAP);
    attempts(&end);
    assert!(kcs.is_idle());
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    attempts(&end);
}

#[test]
fn stuck_ibf_ends_by_the_deadline() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        stuck_ibf_from: Some(0),
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    let f = failure(&end);
    assert_eq!(f.cause, Cause::Deadline);
    assert_eq!(f.cc, CompletionCode::BUS_ERROR);
    assert!(end.time_before_last_us <= u64::from(Limits::DEFAULT.request_timeout_us));
    assert!(end.time_us > u64::from(Limits::DEFAULT.request_timeout_us));
    assert!(kcs.is_hosed());
    assert_eq!(kcs.stats().ibf_timeouts, 2);
    // As upstream, GET_STATUS/ABORT is written although IBF is stuck.
    assert!(writes(&bmc.accesses).contains(&Access::WriteCommand(GET_STATUS_ABORT)));
    assert_eq!(f.attempts.deliveries, 0);
}

#[test]
fn stuck_ibf_without_deadline_hoses_after_three_timeouts() {
    let limits = Limits {
        request_timeout_us: 60_000_000,
        ..Limits::DEFAULT
    };
    let mut kcs = Kcs::new(limits);
    let mut bmc = KcsBmc::new(Behaviour {
        stuck_ibf_from: Some(0),
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    assert_eq!(failure(&end).cause, Cause::RetriesExhausted);
    assert_eq!(kcs.stats().ibf_timeouts, 3);
    // Upstream's figure: three 5 s waits.
    assert!(end.time_us > 15_000_000 && end.time_us < 15_100_000);
}

#[test]
fn mute_bmc_is_retried_and_reported() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        mute_from: Some(0),
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    let f = failure(&end);
    assert_eq!(f.cause, Cause::Deadline);
    assert!(f.attempts.may_have_run_twice());
    assert!(u32::from(f.attempts.deliveries) >= bmc.executed);
    assert_eq!(bmc.executed, 3);
    assert_eq!(kcs.stats().obf_timeouts, 2);

    // Refusing to resend: one run, one OBF timeout, the response lost.
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        mute_from: Some(0),
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::BeforeDelivery);
    let f = failure(&end);
    assert_eq!(f.cause, Cause::NotResent);
    assert_eq!(bmc.executed, 1);
    assert!(end.time_us > 5_000_000 && end.time_us < 5_100_000);
}

#[test]
fn ignored_abort_hoses() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        error_at: vec![1],
        ignore_abort: true,
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    assert_eq!(failure(&end).cause, Cause::RetriesExhausted);
    assert!(kcs.is_hosed());
    // No waiting involved: the BMC answers in ERROR_STATE at once.
    assert!(end.time_us < 1_000);
}

#[test]
fn reset_mid_transaction_recovers() {
    // Reset while the request is being written: the BMC is idle when the
    // machine expects WRITE_STATE, recovers, and sends the request again.
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        ibf_delay_us: 100,
        reset_at_us: Some(250),
        ..Behaviour::default()
    });
    let end = exchange(
        &mut kcs,
        &mut bmc,
        &[0x18, 0x01, 1, 2, 3],
        Resend::BeforeDelivery,
    );
    assert_eq!(
        attempts(&end),
        Attempts {
            retries: 1,
            deliveries: 1
        }
    );
    assert_eq!(bmc.executed, 1);
    assert_eq!(kcs.response(), &[0x1c, 0x01, 0x00, 1, 2, 3]);

    // Reset while the response is read: the BMC goes idle after one byte,
    // which ends the response, too short.
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        obf_delay_us: 100,
        reset_at_us: Some(150),
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &[0x18, 0x01, 1, 2, 3], Resend::Always);
    assert_eq!(failure(&end).cause, Cause::ShortResponse);
    assert!(kcs.is_idle());
}

#[test]
fn garbage_status_is_recovered_from() {
    let mut kcs = Kcs::default();
    // The third status read says ERROR_STATE with IBF clear.
    let mut bmc = KcsBmc::new(Behaviour {
        garbage: vec![(2, 0xc0)],
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    assert_eq!(attempts(&end).retries, 1);
    assert_eq!(kcs.response(), &[0x1c, 0x01, 0x00]);
}

#[test]
fn obf_storm_during_recovery_is_bounded_to_two_seconds() {
    let mut kcs = Kcs::default();
    kcs.start(&GET_DEVICE_ID, Resend::Always).unwrap();
    assert_eq!(kcs.step(Input::Tick, 0), Action::ReadStatus);
    // Not idle at the start: recovery.
    assert_eq!(kcs.step(Input::Status(0xc0), 0), Action::ReadStatus);
    // OBF keeps coming back: read it away, wait, again, for 2 s.
    let mut time = 0;
    let mut drains = 0;
    let mut action = kcs.step(Input::Status(STATUS_OBF), 0);
    loop {
        action = match action {
            Action::ReadData => {
                drains += 1;
                kcs.step(Input::Data(0xaa), 0)
            }
            Action::ReadStatus => kcs.step(Input::Status(STATUS_OBF), 0),
            Action::Wait { .. } => {
                time += 100_000;
                kcs.step(Input::Tick, 100_000)
            }
            Action::WriteCommand(GET_STATUS_ABORT) => break,
            other => panic!("{other:?}"),
        };
    }
    assert_eq!(time, 2_000_000);
    assert_eq!(drains, 21);
    assert_eq!(kcs.stats().error_recoveries, 1);
}

#[test]
fn endless_response_with_resend_hoses_after_three_tries() {
    // An endless response: after max_read_bytes it is an error, recovered
    // from, sent again, and so on until the retries are used up.
    let limits = Limits {
        max_read_bytes: 64,
        ..Limits::DEFAULT
    };
    let mut kcs = Kcs::new(limits);
    let mut bmc = KcsBmc::new(Behaviour {
        endless: true,
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    let f = failure(&end);
    assert_eq!(f.cause, Cause::RetriesExhausted);
    assert_eq!(kcs.stats().endless_responses, 3);
    assert!(end.accesses < 2_000);
}

#[test]
fn obf_stuck_set_still_ends() {
    // OBF always reads set: with a fast BMC nothing shows; with a slow one
    // the machine reads Data_Out before the byte is there and gets what
    // was there, but the exchange still ends, within its bounds.
    for obf_delay_us in [0, 100] {
        let mut kcs = Kcs::default();
        let mut bmc = KcsBmc::new(Behaviour {
            obf_stuck: true,
            obf_delay_us,
            ..Behaviour::default()
        });
        let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::Always);
        assert!(end.time_before_last_us <= u64::from(Limits::DEFAULT.request_timeout_us));
        assert!(end.longest_burst <= Limits::DEFAULT.max_burst + 3);
        assert!(!kcs.in_transaction());
        if obf_delay_us == 0 {
            attempts(&end);
            assert_eq!(kcs.response(), &[0x1c, 0x01, 0x00]);
        }
    }
}

#[test]
fn endless_response_is_cut_at_the_read_limit() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        endless: true,
        ..Behaviour::default()
    });
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::BeforeDelivery);
    let f = failure(&end);
    assert_eq!(f.cause, Cause::NotResent);
    assert_eq!(kcs.stats().endless_responses, 1);
    // The burst limit kept every stretch without a wait short.
    assert!(end.longest_burst <= Limits::DEFAULT.max_burst + 3);
    assert!(kcs.stats().yields >= 2);
}

#[test]
fn step_limit_ends_a_request_polled_too_fast() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        mute_from: Some(0),
        ..Behaviour::default()
    });
    kcs.start(&GET_DEVICE_ID, Resend::Always).unwrap();
    // An interrupt storm: called back with no time passing.
    let pacing = Pacing {
        access_us: 0,
        wait: WaitPolicy::Zero,
    };
    let end = transact(&mut kcs, &mut bmc, pacing, CALL_CAP);
    assert_eq!(failure(&end).cause, Cause::StepLimit);
    assert_eq!(end.calls, Limits::DEFAULT.max_steps);
    assert!(kcs.is_hosed());
}

#[test]
fn idle_poll_clears_obf_and_reports_attention() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour::default());
    assert_eq!(idle_poll(&mut kcs, &mut bmc), (Action::Idle, 1));

    let mut bmc = KcsBmc::new(Behaviour {
        attention: true,
        no_final_dummy: false,
        ..Behaviour::default()
    });
    assert_eq!(idle_poll(&mut kcs, &mut bmc), (Action::Attention, 1));
    assert_eq!(kcs.stats().attentions, 1);

    // A byte left in Data_Out is read away.
    let mut bmc = KcsBmc::new(Behaviour {
        dummy_on_write_start: true,
        ..Behaviour::default()
    });
    bmc.write_command(WRITE_START);
    assert_eq!(idle_poll(&mut kcs, &mut bmc), (Action::Idle, 2));
    assert_eq!(bmc.read_status() & STATUS_OBF, 0);
}

#[test]
fn start_is_checked() {
    let mut kcs = Kcs::default();
    assert_eq!(
        kcs.start(&[0x18], Resend::Always),
        Err(StartError::TooShort)
    );
    assert_eq!(
        kcs.start(&[0; MAX_MSG_LENGTH + 1], Resend::Always),
        Err(StartError::TooLong)
    );
    kcs.start(&GET_DEVICE_ID, Resend::Always).unwrap();
    assert_eq!(
        kcs.start(&GET_DEVICE_ID, Resend::Always),
        Err(StartError::Busy)
    );
    assert!(kcs.in_transaction());
    assert!(kcs.cancel());
    assert!(!kcs.cancel());
    assert!(kcs.is_idle());
    assert_eq!(StartError::TooShort.completion_code().value(), 0xc7);
    assert_eq!(StartError::TooLong.completion_code().value(), 0xc8);
    assert_eq!(StartError::Busy.completion_code().value(), 0xd5);
}

#[test]
fn cancelled_transaction_is_recovered_by_the_next() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour::default());
    kcs.start(&GET_DEVICE_ID, Resend::Always).unwrap();
    // Run until the BMC is in the read phase, then give up.
    let mut input = Input::Tick;
    while bmc.executed == 0 {
        let action = kcs.step(input, 0);
        input = super::super::testing::perform(&mut bmc, action).unwrap();
    }
    assert!(kcs.cancel());
    let end = exchange(&mut kcs, &mut bmc, &GET_DEVICE_ID, Resend::BeforeDelivery);
    // The BMC was not idle: one recovery, before the new request left.
    assert_eq!(
        attempts(&end),
        Attempts {
            retries: 1,
            deliveries: 1
        }
    );
    assert_eq!(bmc.executed, 2);
}

#[test]
fn wrong_input_is_asked_for_again() {
    let mut kcs = Kcs::default();
    kcs.start(&GET_DEVICE_ID, Resend::Always).unwrap();
    assert_eq!(kcs.step(Input::Tick, 0), Action::ReadStatus);
    assert_eq!(kcs.step(Input::Data(0), 0), Action::ReadStatus);
    assert_eq!(kcs.step(Input::Written, 0), Action::ReadStatus);
    assert_eq!(
        kcs.step(Input::Status(0), 0),
        Action::WriteCommand(WRITE_START)
    );
    assert_eq!(
        kcs.step(Input::Status(0), 0),
        Action::WriteCommand(WRITE_START)
    );
    assert_eq!(kcs.step(Input::Written, 0), Action::ReadStatus);
}

/// The model behind the `Registers` trait, for `run`.
struct Wired<'a>(&'a mut KcsBmc);

impl Registers for Wired<'_> {
    fn read_status(&mut self) -> u8 {
        self.0.read_status()
    }
    fn read_data(&mut self) -> u8 {
        self.0.read_data()
    }
    fn write_command(&mut self, value: u8) {
        self.0.write_command(value)
    }
    fn write_data(&mut self, value: u8) {
        self.0.write_data(value)
    }
}

#[test]
fn run_drives_the_registers() {
    let mut kcs = Kcs::default();
    let mut bmc = KcsBmc::new(Behaviour {
        obf_delay_us: 50,
        ..Behaviour::default()
    });
    assert_eq!(run(&mut kcs, &mut Wired(&mut bmc), 0), Action::Idle);
    kcs.start(&[0x18, 0x01, 7], Resend::Always).unwrap();
    let mut elapsed = 0;
    let end = loop {
        match run(&mut kcs, &mut Wired(&mut bmc), elapsed) {
            Action::Wait { us } => {
                bmc.advance(us);
                elapsed = us;
            }
            other => break other,
        }
    };
    assert!(matches!(end, Action::Response(_)));
    assert_eq!(kcs.response(), &[0x1c, 0x01, 0x00, 7]);
    assert!(kcs.is_idle());
}

#[test]
fn status_decoding() {
    assert_eq!(KcsState::from_status(0x00), KcsState::Idle);
    assert_eq!(KcsState::from_status(0x41), KcsState::Read);
    assert_eq!(KcsState::from_status(0x8a), KcsState::Write);
    assert_eq!(KcsState::from_status(0xff), KcsState::Error);
    assert!(absent(0xff));
    assert!(!absent(0x00));
}

// Property tests: a BMC that misbehaves at random.

fn behaviour() -> impl Strategy<Value = Behaviour> {
    let delay = || prop_oneof![3 => Just(0u32), 3 => 0..50u32, 1 => 0..6_000_000u32];
    let delays = (delay(), delay());
    let response = prop_oneof![
        3 => Just(None),
        1 => proptest::collection::vec(any::<u8>(), 0..3).prop_map(Some),
        1 => proptest::collection::vec(any::<u8>(), 270..300).prop_map(Some),
    ];
    let faults = (
        proptest::option::weighted(0.1, 0..40u32),
        proptest::option::weighted(0.1, 0..3u32),
        prop_oneof![Just(vec![]), proptest::collection::vec(0..60u32, 1..4)],
        any::<bool>(),
        proptest::option::weighted(0.2, 0..20_000_000u64),
    );
    let quirks = (
        proptest::bool::weighted(0.1),
        proptest::bool::weighted(0.1),
        any::<bool>(),
        proptest::bool::weighted(0.1),
        prop_oneof![
            Just(vec![]),
            proptest::collection::vec((0..200u32, any::<u8>()), 1..6)
        ],
        proptest::bool::weighted(0.05),
    );
    (delays, response, faults, quirks).prop_map(
        |(
            (ibf_delay_us, obf_delay_us),
            response,
            (stuck_ibf_from, mute_from, error_at, ignore_abort, reset_at_us),
            (endless, no_final_dummy, dummy_on_write_start, attention, garbage, obf_stuck),
        )| Behaviour {
            ibf_delay_us,
            obf_delay_us,
            response,
            endless,
            stuck_ibf_from,
            mute_from,
            obf_stuck,
            error_at,
            ignore_abort: ignore_abort && reset_at_us.is_none(),
            reset_at_us,
            dummy_on_write_start,
            no_final_dummy,
            attention,
            garbage,
        },
    )
}

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        3 => Just(Limits::DEFAULT),
        1 => (1..4000u32, 1..200u32, 0..4u8, 1..2000u32).prop_map(|(steps, burst, retries, reads)| {
            Limits {
                max_steps: steps,
                max_burst: burst,
                max_retries: retries,
                max_read_bytes: reads,
                ..Limits::DEFAULT
            }
        }),
    ]
}

fn pacing() -> impl Strategy<Value = Pacing> {
    (
        0..20u32,
        prop_oneof![
            Just(WaitPolicy::AsAsked),
            (1..4_000u32).prop_map(WaitPolicy::Fixed),
            Just(WaitPolicy::Zero),
        ],
    )
        .prop_map(|(access_us, wait)| Pacing { access_us, wait })
}

fn request() -> impl Strategy<Value = (Vec<u8>, Resend)> {
    (
        proptest::collection::vec(any::<u8>(), 0..=MAX_MSG_LENGTH + 2),
        prop_oneof![Just(Resend::Always), Just(Resend::BeforeDelivery)],
    )
}

#[derive(Default)]
struct Seen {
    stats: Stats,
    ended: u32,
    refused: u32,
    probes: u32,
}

fn add(total: &mut Stats, s: &Stats) {
    total.responses += s.responses;
    total.failures += s.failures;
    total.error_recoveries += s.error_recoveries;
    total.retries += s.retries;
    total.ibf_timeouts += s.ibf_timeouts;
    total.obf_timeouts += s.obf_timeouts;
    total.truncated += s.truncated;
    total.short_responses += s.short_responses;
    total.endless_responses += s.endless_responses;
    total.not_resent += s.not_resent;
    total.hosed += s.hosed;
    total.deadlines += s.deadlines;
    total.step_limits += s.step_limits;
    total.yields += s.yields;
    total.attentions += s.attentions;
}

/// Runs the requests against the model and checks every end.
fn exercise(
    limits: Limits,
    behaviour: Behaviour,
    pacing: Pacing,
    requests: &[(Vec<u8>, Resend)],
    seen: &mut Seen,
) -> Result<(), TestCaseError> {
    let mut kcs = Kcs::new(limits);
    let mut bmc = KcsBmc::new(behaviour);
    let mut delivered = 0u32;
    for (request, resend) in requests {
        let (action, _) = idle_poll(&mut kcs, &mut bmc);
        prop_assert!(matches!(
            action,
            Action::Idle | Action::Attention | Action::Hosed
        ));
        let started = if kcs.is_hosed() {
            seen.probes += 1;
            kcs.start_probe(request, *resend)
        } else {
            kcs.start(request, *resend)
        };
        if let Err(e) = started {
            seen.refused += 1;
            prop_assert!(request.len() < 2 || request.len() > MAX_MSG_LENGTH);
            prop_assert!(matches!(e, StartError::TooShort | StartError::TooLong));
            continue;
        }
        let end = transact(&mut kcs, &mut bmc, pacing, limits.max_steps + 1);
        seen.ended += 1;
        // Within its bounds.
        prop_assert!(end.calls <= limits.max_steps);
        prop_assert!(end.time_before_last_us <= u64::from(limits.request_timeout_us));
        prop_assert!(end.longest_burst <= limits.max_burst.max(1) + 3);
        // Exactly one end: the machine is no longer in a transaction.
        prop_assert!(!kcs.in_transaction());
        // In all, the BMC never ran requests more often than the caller
        // was told (a request may run after its own end, when the BMC
        // takes it late).
        let runs = bmc.executed();
        let response = kcs.response();
        prop_assert!(response.len() >= 3 && response.len() <= MAX_MSG_LENGTH);
        match end.action {
            Action::Response(a) => {
                prop_assert!(a.retries <= limits.max_retries);
                prop_assert!(a.deliveries >= 1 && a.deliveries <= a.retries + 1);
                // Never ran more often than the caller is told.
                delivered += u32::from(a.deliveries);
                prop_assert!(runs <= delivered);
                if *resend == Resend::BeforeDelivery {
                    prop_assert!(a.deliveries == 1);
                }
                prop_assert!(kcs.is_idle());
            }
            Action::Failed(f) => {
                prop_assert!(f.attempts.retries <= limits.max_retries);
                delivered += u32::from(f.attempts.deliveries);
                prop_assert!(runs <= delivered);
                prop_assert_eq!(response, &[request[0] | 4, request[1], f.cc.value()][..]);
                if *resend == Resend::BeforeDelivery {
                    prop_assert!(f.attempts.deliveries <= 1);
                }
                match f.cause {
                    Cause::RetriesExhausted | Cause::Deadline | Cause::StepLimit => {
                        prop_assert!(kcs.is_hosed());
                        prop_assert_eq!(f.cc, CompletionCode::BUS_ERROR);
                    }
                    Cause::ShortResponse | Cause::NotResent => prop_assert!(kcs.is_idle()),
                    other => prop_assert!(false, "{other:?} is not a KCS cause"),
                }
            }
            other => prop_assert!(false, "ended with {other:?}"),
        }
    }
    add(&mut seen.stats, kcs.stats());
    Ok(())
}

#[test]
fn random_bmcs_always_end_within_bounds() {
    let seen = RefCell::new(Seen::default());
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        limits(),
        behaviour(),
        pacing(),
        proptest::collection::vec(request(), 1..5),
    );
    runner
        .run(&strategy, |(limits, behaviour, pacing, requests)| {
            exercise(limits, behaviour, pacing, &requests, &mut seen.borrow_mut())
        })
        .unwrap();
    let seen = seen.into_inner();
    let s = seen.stats;
    // The branches that matter ran, so the property did not pass by luck.
    assert!(seen.ended > 400, "{}", seen.ended);
    assert!(seen.refused > 0 && seen.probes > 0);
    for (name, count) in [
        ("responses", s.responses),
        ("failures", s.failures),
        ("error recoveries", s.error_recoveries),
        ("retries", s.retries),
        ("IBF timeouts", s.ibf_timeouts),
        ("OBF timeouts", s.obf_timeouts),
        ("truncated", s.truncated),
        ("short", s.short_responses),
        ("endless", s.endless_responses),
        ("not resent", s.not_resent),
        ("hosed", s.hosed),
        ("deadlines", s.deadlines),
        ("step limits", s.step_limits),
        ("yields", s.yields),
        ("attentions", s.attentions),
    ] {
        assert!(count > 0, "{name} never happened: {s:?}");
    }
}

proptest! {
    /// Any sequence of inputs and times, well-formed or not, never panics
    /// and every transaction ends within its step bound.
    #[test]
    fn arbitrary_inputs_end_within_the_step_bound(
        request in proptest::collection::vec(any::<u8>(), 2..=MAX_MSG_LENGTH),
        script in proptest::collection::vec((0..4u8, any::<u8>(), any::<u32>()), 1..400),
        max_steps in 1..600u32,
    ) {
        let limits = Limits { max_steps, ..Limits::DEFAULT };
        let mut kcs = Kcs::new(limits);
        let mut ends = 0;
        kcs.start(&request, Resend::Always).unwrap();
        let mut calls = 0;
        for (kind, value, elapsed) in script.iter().copied().cycle().take(max_steps as usize + 1) {
            let input = match kind {
                0 => Input::Tick,
                1 => Input::Status(value),
                2 => Input::Data(value),
                _ => Input::Written,
            };
            calls += 1;
            let action = kcs.step(input, elapsed);
            if action.ends_transaction() {
                ends += 1;
                prop_assert!(kcs.response().len() >= 3);
                break;
            }
        }
        prop_assert_eq!(ends, 1);
        prop_assert!(calls <= max_steps);
    }
}

#[test]
fn echo_helper_matches_the_model() {
    assert_eq!(echo(&[0x18, 0x01, 9]), [0x1c, 0x01, 0, 9]);
}

/// Drives `kcs` through `requests` against `bmc` as the driver does (an
/// idle poll, then the transaction; time passes at waits only), with
/// [`run`] or with [`Kcs::run_on`]; returns every action either returned.
fn drive(
    kcs: &mut Kcs,
    bmc: &mut KcsBmc,
    requests: &[(Vec<u8>, Resend)],
    fused: bool,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut go = |kcs: &mut Kcs, bmc: &mut KcsBmc, elapsed: u32| {
        let action = if fused {
            kcs.run_on(&mut Wired(bmc), elapsed)
        } else {
            run(kcs, &mut Wired(bmc), elapsed)
        };
        actions.push(action);
        action
    };
    for (request, resend) in requests {
        go(kcs, bmc, 0);
        let started = if kcs.is_hosed() {
            kcs.start_probe(request, *resend)
        } else {
            kcs.start(request, *resend)
        };
        if started.is_err() {
            continue;
        }
        let mut elapsed = 0;
        for _ in 0..100_000 {
            match go(kcs, bmc, elapsed) {
                Action::Wait { us } => {
                    let us = us.max(1);
                    bmc.advance(us);
                    elapsed = us;
                }
                _ => break,
            }
        }
    }
    actions
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]
    /// `run_on`'s read-phase shortcut changes nothing a caller can see:
    /// the same actions, responses, register accesses and counts as `run`
    /// over `step`, whatever the BMC does.
    #[test]
    fn run_on_is_run(
        limits in limits(),
        behaviour in behaviour(),
        requests in proptest::collection::vec(request(), 1..5),
    ) {
        let mut by_step = (Kcs::new(limits), KcsBmc::new(behaviour));
        let mut fused = by_step.clone();
        let a = drive(&mut by_step.0, &mut by_step.1, &requests, false);
        let b = drive(&mut fused.0, &mut fused.1, &requests, true);
        prop_assert_eq!(a, b);
        prop_assert_eq!(by_step.0.response(), fused.0.response());
        prop_assert_eq!(by_step.0.stats(), fused.0.stats());
        prop_assert_eq!(&by_step.1.accesses, &fused.1.accesses);
    }
}

#[test]
fn run_on_takes_the_read_phase_shortcut() {
    // A 15-byte response: each byte is a status, a data read and a READ,
    // as through `step`, and the transaction ends as there.
    let response: Vec<u8> = [0x1c, 0x01, 0x00].into_iter().chain(1..=12).collect();
    let behaviour = Behaviour {
        response: Some(response.clone()),
        ..Behaviour::default()
    };
    let mut by_step = (Kcs::default(), KcsBmc::new(behaviour));
    let mut fused = by_step.clone();
    let requests = [(GET_DEVICE_ID.to_vec(), Resend::Always)];
    let a = drive(&mut by_step.0, &mut by_step.1, &requests, false);
    let b = drive(&mut fused.0, &mut fused.1, &requests, true);
    assert_eq!(a, b);
    assert!(matches!(b.last(), Some(Action::Response(_))));
    assert_eq!(fused.0.response(), &response[..]);
    assert_eq!(by_step.1.accesses, fused.1.accesses);
    assert!(fused.1.accesses.len() >= 3 * response.len());
}
