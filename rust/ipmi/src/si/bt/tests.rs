// SPDX-License-Identifier: GPL-2.0

use super::super::testing::bt::{Behaviour, BtBmc};
use super::super::testing::{idle_poll, perform, transact, Access, Bmc, End, Pacing, WaitPolicy};
use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::cell::RefCell;

const GET_DEVICE_ID: [u8; 2] = [0x18, 0x01];
const CALL_CAP: u32 = 1 << 22;

fn exchange(bt: &mut Bt, bmc: &mut BtBmc, request: &[u8], resend: Resend) -> End {
    bt.start(request, resend).expect("start");
    transact(bt, bmc, Pacing::FAST, CALL_CAP)
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

/// Steps a machine that is resetting or long busy until it reports idle
/// (or attention); returns the report and the time it took.
fn settle(bt: &mut Bt, bmc: &mut BtBmc, time_cap_us: u64) -> (Action, u64) {
    let mut input = Input::Tick;
    let mut elapsed = 0;
    let mut time = 0u64;
    for _ in 0..CALL_CAP {
        let action = bt.step(input, elapsed);
        elapsed = 0;
        if let Some(next) = perform(bmc, action) {
            input = next;
            continue;
        }
        match action {
            Action::Wait { us } => {
                let us = us.max(1000);
                bmc.advance(us);
                elapsed = us;
                time += u64::from(us);
                input = Input::Tick;
                if time > time_cap_us {
                    return (action, time);
                }
            }
            other => return (other, time),
        }
    }
    panic!("does not settle");
}

#[test]
fn get_device_id_follows_the_spec() {
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour::default());
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    assert_eq!(
        attempts(&end),
        Attempts {
            retries: 0,
            deliveries: 1
        }
    );
    assert_eq!(bt.response(), &[0x1c, 0x01, 0x00]);
    assert_eq!(bmc.last_block, [3, 0x18, 0, 0x01]);
    use Access::{WriteCommand as C, WriteData as D};
    assert_eq!(
        writes(&bmc.accesses),
        [
            C(CLR_WR_PTR),
            D(3),
            D(0x18),
            D(0),
            D(0x01),
            C(H2B_ATN),
            C(H_BUSY),
            C(B2H_ATN),
            C(CLR_RD_PTR),
            C(H_BUSY)
        ]
    );
    // 3 status reads, 5 data reads, 10 writes.
    assert_eq!(end.accesses, 18);
    assert!(bt.is_idle());

    // The sequence number moves on with each request.
    exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    assert_eq!(bmc.last_block, [3, 0x18, 1, 0x01]);
}

#[test]
fn length_byte_never_wraps() {
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour::default());
    let request: Vec<u8> = (0..MAX_REQUEST_LEN).map(|i| i as u8).collect();
    let end = exchange(&mut bt, &mut bmc, &request, Resend::Always);
    attempts(&end);
    assert_eq!(bmc.last_block[0], 255);
    assert_eq!(bmc.last_block.len(), 256);
    assert_eq!(&bmc.last_block[3..], &request[1..]);
    // The echo is cut at 255 bytes after the length byte.
    assert_eq!(bt.response().len(), 254);
    for len in MAX_REQUEST_LEN + 1..=MAX_MSG_LENGTH + 1 {
        assert_eq!(
            bt.start(&vec![0x18; len], Resend::Always),
            Err(StartError::TooLong),
            "{len}"
        );
    }
    assert_eq!(bt.start(&[0x18], Resend::Always), Err(StartError::TooShort));
    assert!(bt.is_idle());
}

#[test]
fn response_of_someone_else_is_skipped() {
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour {
        wrong_seq: 1,
        ..Behaviour::default()
    });
    let end = exchange(&mut bt, &mut bmc, &[0x18, 0x01, 5], Resend::Always);
    assert_eq!(attempts(&end).retries, 0);
    assert_eq!(bt.response(), &[0x1c, 0x01, 0x00, 5]);
    assert_eq!(bt.stats().mismatched, 1);
}

#[test]
fn damaged_response_is_handed_up_at_once() {
    // The request's seq (0, the first) on another netfn, then on another
    // cmd: each goes up as it came, with no timeout and no retry.
    for body in [
        vec![0x0c, 0x00, 0x01, 0x00, 5],
        vec![0x1c, 0x00, 0x03, 0x00, 5],
    ] {
        let mut bt = Bt::default();
        let mut bmc = BtBmc::new(Behaviour {
            response: Some(body.clone()),
            ..Behaviour::default()
        });
        let end = exchange(&mut bt, &mut bmc, &[0x18, 0x01, 5], Resend::Always);
        assert_eq!(attempts(&end).retries, 0);
        assert_eq!(bt.response(), &[body[0], body[2], 0x00, 5]);
        assert_eq!(bt.stats().damaged, 1);
        assert_eq!(bt.stats().timeouts, 0);
        assert_eq!(bmc.executed, 1);
    }
}

#[test]
fn stale_response_is_drained() {
    // In the idle poll.
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour {
        stale_at_start: true,
        ..Behaviour::default()
    });
    let (report, accesses) = idle_poll(&mut bt, &mut bmc);
    assert_eq!(report, Action::Idle);
    // Status, 5 control writes, a pause, the length and four bytes.
    assert_eq!(accesses, 12);
    assert_eq!(bt.stats().stale_drained, 1);
    assert_eq!(idle_poll(&mut bt, &mut bmc), (Action::Idle, 1));

    // Before a request.
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour {
        stale_at_start: true,
        ..Behaviour::default()
    });
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    attempts(&end);
    assert_eq!(bt.response(), &[0x1c, 0x01, 0x00]);
    assert_eq!(bt.stats().stale_drained, 1);
}

#[test]
fn stuck_b_busy_ends_in_node_busy_until_it_clears() {
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour {
        busy_until_us: u64::MAX,
        ..Behaviour::default()
    });
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::BeforeDelivery);
    let f = failure(&end);
    assert_eq!(f.cause, Cause::NodeBusy);
    assert_eq!(f.cc, CompletionCode::NODE_BUSY);
    // Never written, so resent even under BeforeDelivery.
    assert_eq!(
        f.attempts,
        Attempts {
            retries: 1,
            deliveries: 0
        }
    );
    assert_eq!(bt.response(), &[0x1c, 0x01, 0xc0]);
    assert!(bt.is_busy());
    assert_eq!(
        bt.start(&GET_DEVICE_ID, Resend::Always),
        Err(StartError::NodeBusy)
    );
    let (report, _) = settle(&mut bt, &mut bmc, 1_000_000);
    assert!(matches!(report, Action::Wait { .. }));
    assert!(bt.is_busy());

    bmc.behaviour.busy_until_us = 0;
    let (report, _) = settle(&mut bt, &mut bmc, 1_000_000);
    assert_eq!(report, Action::Idle);
    assert!(bt.is_idle());
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    attempts(&end);
}

#[test]
fn mute_bmc_fails_after_two_tries_and_is_reset_early_in_life() {
    let mut bt = Bt::default();
    // The BMC takes requests slowly (H2B_ATN stays visible) and never answers.
    let mut bmc = BtBmc::new(Behaviour {
        consume_delay_us: 3_000_000,
        mute_from: Some(0),
        ..Behaviour::default()
    });
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    let f = failure(&end);
    assert_eq!(f.cause, Cause::Timeout);
    assert_eq!(f.cc, CompletionCode::TIMEOUT);
    assert_eq!(
        f.attempts,
        Attempts {
            retries: 1,
            deliveries: 2
        }
    );
    assert!(f.attempts.may_have_run_twice());
    assert_eq!(bmc.executed, 2);
    assert!(end.time_us > 10_000_000 && end.time_us < 10_100_000);

    // Then the soft reset, in the background.
    assert!(bt.is_busy());
    assert_eq!(
        bt.start(&GET_DEVICE_ID, Resend::Always),
        Err(StartError::NodeBusy)
    );
    let (report, time) = settle(&mut bt, &mut bmc, 20_000_000);
    assert_eq!(report, Action::Idle);
    assert!((6_000_000..7_000_000).contains(&time), "{time}");
    assert_eq!(bmc.soft_resets, 1);
    assert_eq!(bt.stats().resets, 1);
    let w = writes(&bmc.accesses);
    let block = [
        Access::WriteCommand(CLR_WR_PTR),
        Access::WriteData(3),
        Access::WriteData(0x18),
        Access::WriteData(42),
        Access::WriteData(3),
        Access::WriteCommand(H2B_ATN),
    ];
    assert!(w.windows(6).any(|x| x == block));
    assert!(bt.is_idle());

    // As upstream, the first `tries` requests count as early.
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    assert_eq!(failure(&end).cause, Cause::Timeout);
    assert_eq!(settle(&mut bt, &mut bmc, 20_000_000).0, Action::Idle);
    assert_eq!(bt.stats().resets, 2);

    // Later in life, a timeout is only a timeout.
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    assert_eq!(failure(&end).cause, Cause::Timeout);
    assert!(bt.is_idle());
    assert_eq!(bt.stats().resets, 2);
}

#[test]
fn dead_bmc_is_not_reset() {
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour {
        dead: true,
        ..Behaviour::default()
    });
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    assert_eq!(failure(&end).cause, Cause::Timeout);
    assert!(bt.is_idle());
    assert_eq!(bt.stats().resets, 0);
}

#[test]
fn before_delivery_means_one_run() {
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour {
        mute_from: Some(0),
        ..Behaviour::default()
    });
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::BeforeDelivery);
    let f = failure(&end);
    assert_eq!(f.cause, Cause::Timeout);
    assert_eq!(
        f.attempts,
        Attempts {
            retries: 0,
            deliveries: 1
        }
    );
    assert_eq!(bmc.executed, 1);
    assert!(end.time_us > 5_000_000 && end.time_us < 5_100_000);
}

#[test]
fn short_response_fails_with_ff() {
    for length in 0..4 {
        let mut bt = Bt::default();
        let mut bmc = BtBmc::new(Behaviour {
            response: Some(vec![0x1c, 0, 0x01]),
            length: Some(length),
            ..Behaviour::default()
        });
        let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
        let f = failure(&end);
        assert_eq!(f.cause, Cause::ShortResponse);
        assert_eq!(f.cc, CompletionCode::UNSPECIFIED);
        assert_eq!(bt.response(), &[0x1c, 0x01, 0xff]);
        assert!(bt.is_idle());
        // H_BUSY was cleared again.
        assert_eq!(bmc.read_status() & H_BUSY, 0);
    }
}

#[test]
fn sticky_b2h_atn_is_cleared_again() {
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour {
        sticky_b2h: 3,
        ..Behaviour::default()
    });
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    attempts(&end);
    let clears = writes(&bmc.accesses)
        .iter()
        .filter(|a| **a == Access::WriteCommand(B2H_ATN))
        .count();
    assert_eq!(clears, 4);
}

#[test]
fn idle_poll_reports_attention_and_clears_h_busy() {
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour {
        attention: true,
        ..Behaviour::default()
    });
    assert_eq!(idle_poll(&mut bt, &mut bmc), (Action::Attention, 2));
    assert_eq!(idle_poll(&mut bt, &mut bmc), (Action::Idle, 1));

    let mut bmc = BtBmc::new(Behaviour {
        attention_storm: true,
        ..Behaviour::default()
    });
    for _ in 0..3 {
        assert_eq!(idle_poll(&mut bt, &mut bmc), (Action::Attention, 2));
    }

    let mut bmc = BtBmc::new(Behaviour::default());
    bmc.write_command(H_BUSY);
    assert_eq!(idle_poll(&mut bt, &mut bmc), (Action::Idle, 2));
    assert_eq!(bmc.read_status() & H_BUSY, 0);
}

#[test]
fn capabilities_set_the_limits() {
    let caps = [0x1c, 0x36, 0x00, 1, 64, 64, 10, 3];
    let limits = Limits::DEFAULT.with_capabilities(&caps).unwrap();
    assert_eq!(limits.timeout_us, 10_000_000);
    assert_eq!(limits.tries, 3);
    assert_eq!(limits.request_timeout_us, 31_000_000);
    let huge = Limits::DEFAULT
        .with_capabilities(&[0x1c, 0x36, 0, 1, 64, 64, 255, 255])
        .unwrap();
    assert_eq!(huge.request_timeout_us, MAX_REQUEST_TIMEOUT_US);
    let zero = Limits::DEFAULT
        .with_capabilities(&[0x1c, 0x36, 0, 1, 64, 64, 0, 0])
        .unwrap();
    assert_eq!(zero.timeout_us, Limits::DEFAULT.timeout_us);
    assert_eq!(zero.request_timeout_us, Limits::DEFAULT.request_timeout_us);
    assert_eq!(
        Limits::DEFAULT.with_capabilities(&[0x1c, 0x36, 0xc1, 1, 64, 64, 10, 3]),
        None
    );
    assert_eq!(Limits::DEFAULT.with_capabilities(&caps[..7]), None);

    let mut bt = Bt::default();
    assert!(bt.apply_capabilities(&caps));
    assert_eq!(bt.limits().tries, 3);
    assert!(!bt.apply_capabilities(&[]));

    // Get BT Capabilities through a model that answers it.
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour {
        response: Some(vec![0x1c, 0, 0x36, 0, 1, 64, 64, 2, 1]),
        ..Behaviour::default()
    });
    let end = exchange(&mut bt, &mut bmc, &GET_BT_CAPABILITIES, Resend::Always);
    attempts(&end);
    assert_eq!(bt.response(), &[0x1c, 0x36, 0, 1, 64, 64, 2, 1]);
    let response = bt.response().to_vec();
    assert!(bt.apply_capabilities(&response));
    assert_eq!(bt.limits().timeout_us, 2_000_000);
    assert_eq!(bt.limits().tries, 1);
}

#[test]
fn zero_tries_still_sends_once() {
    let mut bt = Bt::new(Limits {
        tries: 0,
        ..Limits::DEFAULT
    });
    let mut bmc = BtBmc::new(Behaviour {
        mute_from: Some(0),
        ..Behaviour::default()
    });
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    assert_eq!(failure(&end).attempts.deliveries, 1);
    assert_eq!(bmc.executed, 1);
}

#[test]
fn deadline_caps_long_tries() {
    let mut bt = Bt::new(Limits {
        timeout_us: 20_000_000,
        ..Limits::DEFAULT
    });
    let mut bmc = BtBmc::new(Behaviour {
        mute_from: Some(0),
        ..Behaviour::default()
    });
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    let f = failure(&end);
    assert_eq!(f.cause, Cause::Deadline);
    assert_eq!(f.cc, CompletionCode::TIMEOUT);
    assert!(end.time_before_last_us <= u64::from(Limits::DEFAULT.request_timeout_us));
    assert!(bt.is_idle());
}

#[test]
fn step_limit_ends_an_interrupt_storm() {
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour {
        mute_from: Some(0),
        ..Behaviour::default()
    });
    bt.start(&GET_DEVICE_ID, Resend::Always).unwrap();
    let pacing = Pacing {
        access_us: 0,
        wait: WaitPolicy::Zero,
    };
    let end = transact(&mut bt, &mut bmc, pacing, CALL_CAP);
    assert_eq!(failure(&end).cause, Cause::StepLimit);
    assert_eq!(end.calls, Limits::DEFAULT.max_steps);
}

#[test]
fn reset_mid_transaction_is_retried_and_reported() {
    let mut bt = Bt::default();
    let mut bmc = BtBmc::new(Behaviour {
        response_delay_us: 1_000,
        reset_at_us: Some(500),
        ..Behaviour::default()
    });
    let end = exchange(&mut bt, &mut bmc, &GET_DEVICE_ID, Resend::Always);
    let a = attempts(&end);
    assert_eq!(
        a,
        Attempts {
            retries: 1,
            deliveries: 2
        }
    );
    // The BMC did run it twice, and the caller is told it may have.
    assert_eq!(bmc.executed, 2);
    assert_eq!(bt.response(), &[0x1c, 0x01, 0x00]);
}

#[test]
fn burst_limit_makes_the_machine_wait() {
    let mut bt = Bt::new(Limits {
        max_burst: 16,
        ..Limits::DEFAULT
    });
    let mut bmc = BtBmc::new(Behaviour::default());
    let request: Vec<u8> = vec![0x18; 100];
    let end = exchange(&mut bt, &mut bmc, &request, Resend::Always);
    attempts(&end);
    assert!(bt.stats().yields >= 1);
    // One burst holds at most the limit plus one plan (the whole block).
    assert!(end.longest_burst <= 16 + 110);
}

#[test]
fn cancel_and_busy_checks() {
    let mut bt = Bt::default();
    bt.start(&GET_DEVICE_ID, Resend::Always).unwrap();
    assert_eq!(
        bt.start(&GET_DEVICE_ID, Resend::Always),
        Err(StartError::Busy)
    );
    assert!(bt.in_transaction());
    assert!(bt.cancel());
    assert!(!bt.cancel());
    assert!(bt.is_idle());
    assert!(absent(0xff, 0xff));
    assert!(!absent(0xff, 0x00));
}

#[test]
fn wrong_input_is_asked_for_again() {
    let mut bt = Bt::default();
    bt.start(&GET_DEVICE_ID, Resend::Always).unwrap();
    assert_eq!(bt.step(Input::Tick, 0), Action::ReadStatus);
    assert_eq!(bt.step(Input::Written, 0), Action::ReadStatus);
    assert_eq!(
        bt.step(Input::Status(0), 0),
        Action::WriteCommand(CLR_WR_PTR)
    );
    assert_eq!(bt.step(Input::Data(0), 0), Action::WriteCommand(CLR_WR_PTR));
    assert_eq!(bt.step(Input::Written, 0), Action::WriteData(3));
}

// Property tests: a BMC that misbehaves at random.

fn behaviour() -> impl Strategy<Value = Behaviour> {
    let delay = || prop_oneof![3 => Just(0u32), 3 => 0..100u32, 1 => 0..6_000_000u32];
    let delays = (
        delay(),
        delay(),
        prop_oneof![4 => Just(0u64), 1 => 0..12_000_000u64, 1 => Just(u64::MAX)],
    );
    let response = prop_oneof![
        4 => Just((None, None)),
        1 => (proptest::collection::vec(any::<u8>(), 0..8), proptest::option::of(any::<u8>()))
            .prop_map(|(body, length)| (Some(body), length)),
        // The first request's seq (0) on a netfn and cmd of its own.
        1 => Just((Some(vec![0x0c, 0, 0x77, 0]), None)),
    ];
    let faults = (
        0..3u32,
        proptest::option::weighted(0.15, 0..3u32),
        prop_oneof![3 => Just(0u32), 1 => 0..4u32],
        proptest::bool::weighted(0.2),
        proptest::option::weighted(0.2, 0..15_000_000u64),
    );
    let quirks = (
        proptest::bool::weighted(0.2),
        proptest::bool::weighted(0.1),
        prop_oneof![
            Just(vec![]),
            proptest::collection::vec((0..100u32, any::<u8>()), 1..4)
        ],
        proptest::bool::weighted(0.05),
    );
    (delays, response, faults, quirks).prop_map(
        |(
            (consume_delay_us, response_delay_us, busy_until_us),
            (response, length),
            (wrong_seq, mute_from, sticky_b2h, stale_at_start, reset_at_us),
            (attention, attention_storm, garbage, dead),
        )| Behaviour {
            consume_delay_us,
            response_delay_us,
            response,
            length,
            wrong_seq,
            busy_until_us,
            mute_from,
            sticky_b2h,
            stale_at_start,
            reset_at_us,
            attention,
            attention_storm,
            garbage,
            dead,
        },
    )
}

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        3 => Just(Limits::DEFAULT),
        1 => (1..3000u32, 1..300u32, 0..4u8, 1..6_000_000u32).prop_map(
            |(steps, burst, tries, timeout)| Limits {
                max_steps: steps,
                max_burst: burst,
                tries,
                timeout_us: timeout,
                ..Limits::DEFAULT
            }
        ),
        1 => (0..4u8, 1..20_000_000u32, 1..12_000_000u32).prop_map(
            |(tries, timeout, request_timeout)| Limits {
                tries,
                timeout_us: timeout,
                request_timeout_us: request_timeout,
                ..Limits::DEFAULT
            }
        ),
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
        prop_oneof![
            4 => proptest::collection::vec(any::<u8>(), 2..20),
            1 => proptest::collection::vec(any::<u8>(), 0..=MAX_MSG_LENGTH + 1),
        ],
        prop_oneof![Just(Resend::Always), Just(Resend::BeforeDelivery)],
    )
}

#[derive(Default)]
struct Seen {
    stats: Stats,
    ended: u32,
    refused_len: u32,
    refused_busy: u32,
}

fn add(total: &mut Stats, s: &Stats) {
    total.responses += s.responses;
    total.failures += s.failures;
    total.timeouts += s.timeouts;
    total.retries += s.retries;
    total.stale_drained += s.stale_drained;
    total.mismatched += s.mismatched;
    total.damaged += s.damaged;
    total.short_responses += s.short_responses;
    total.long_busy += s.long_busy;
    total.resets += s.resets;
    total.deadlines += s.deadlines;
    total.step_limits += s.step_limits;
    total.yields += s.yields;
    total.attentions += s.attentions;
}

fn exercise(
    limits: Limits,
    behaviour: Behaviour,
    pacing: Pacing,
    requests: &[(Vec<u8>, Resend)],
    seen: &mut Seen,
) -> Result<(), TestCaseError> {
    let mut bt = Bt::new(limits);
    let mut bmc = BtBmc::new(behaviour);
    let mut delivered = 0u32;
    for (request, resend) in requests {
        if bt.is_idle() {
            let (action, _) = idle_poll(&mut bt, &mut bmc);
            prop_assert!(matches!(action, Action::Idle | Action::Attention));
        } else {
            // Resetting ends by itself; long busy lasts while B_BUSY does.
            let resetting = bt.is_resetting();
            let (action, time) = settle(&mut bt, &mut bmc, 20_000_000);
            prop_assert!(bt.is_idle() || bt.is_busy());
            prop_assert!(bt.is_idle() || !resetting);
            if bt.is_idle() {
                prop_assert!(matches!(action, Action::Idle | Action::Attention));
            }
            if resetting {
                prop_assert!(
                    time <= u64::from(limits.reset_delay_us) + u64::from(limits.timeout_us) + 2000
                );
            }
        }
        let before = bt.stats().transactions;
        if let Err(e) = bt.start(request, *resend) {
            match e {
                StartError::TooShort | StartError::TooLong => {
                    seen.refused_len += 1;
                    prop_assert!(request.len() < 2 || request.len() > MAX_REQUEST_LEN);
                }
                StartError::NodeBusy => {
                    seen.refused_busy += 1;
                    prop_assert!(bt.is_busy());
                }
                other => prop_assert!(false, "{other:?}"),
            }
            prop_assert_eq!(bt.stats().transactions, before);
            continue;
        }
        let damaged_before = bt.stats().damaged;
        let end = transact(&mut bt, &mut bmc, pacing, limits.max_steps + 1);
        seen.ended += 1;
        prop_assert!(end.calls <= limits.max_steps);
        prop_assert!(end.time_before_last_us <= u64::from(limits.request_timeout_us));
        prop_assert!(end.longest_burst <= limits.max_burst.max(1) + 300);
        prop_assert!(!bt.in_transaction());
        // In all, the BMC never ran requests more often than the caller
        // was told (a request may run after its own end, when the BMC
        // takes it late).
        let runs = bmc.executed();
        let response = bt.response();
        prop_assert!(response.len() >= 3 && response.len() <= MAX_REQUEST_LEN);
        let tries = limits.tries.max(1);
        match end.action {
            Action::Response(a) => {
                prop_assert!(a.retries < tries);
                prop_assert!(a.deliveries >= 1 && a.deliveries <= a.retries + 1);
                delivered += u32::from(a.deliveries);
                prop_assert!(runs <= delivered);
                if *resend == Resend::BeforeDelivery {
                    prop_assert!(a.deliveries == 1);
                }
                // Matched on seq; on netfn and cmd too unless counted
                // as damaged.
                if bt.stats().damaged == damaged_before {
                    prop_assert_eq!(response[0] & 0xf8, request[0] & 0xf8);
                    prop_assert_eq!(response[1], request[1]);
                }
                prop_assert!(bt.is_idle());
            }
            Action::Failed(f) => {
                prop_assert!(f.attempts.retries < tries);
                delivered += u32::from(f.attempts.deliveries);
                prop_assert!(runs <= delivered);
                prop_assert_eq!(response, &[request[0] | 4, request[1], f.cc.value()][..]);
                if *resend == Resend::BeforeDelivery {
                    prop_assert!(f.attempts.deliveries <= 1);
                }
                let cc = match f.cause {
                    Cause::Timeout | Cause::Deadline | Cause::StepLimit => CompletionCode::TIMEOUT,
                    Cause::NodeBusy => CompletionCode::NODE_BUSY,
                    Cause::ShortResponse => CompletionCode::UNSPECIFIED,
                    other => {
                        prop_assert!(false, "{other:?} is not a BT cause");
                        CompletionCode::UNSPECIFIED
                    }
                };
                prop_assert_eq!(f.cc, cc);
                if f.cause == Cause::NodeBusy {
                    prop_assert!(bt.is_busy());
                }
            }
            other => prop_assert!(false, "ended with {other:?}"),
        }
    }
    add(&mut seen.stats, bt.stats());
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
    assert!(seen.ended > 400, "{}", seen.ended);
    assert!(seen.refused_len > 0 && seen.refused_busy > 0);
    for (name, count) in [
        ("responses", s.responses),
        ("failures", s.failures),
        ("timeouts", s.timeouts),
        ("retries", s.retries),
        ("stale drained", s.stale_drained),
        ("mismatched", s.mismatched),
        ("damaged", s.damaged),
        ("short", s.short_responses),
        ("long busy", s.long_busy),
        ("resets", s.resets),
        ("deadlines", s.deadlines),
        ("step limits", s.step_limits),
        ("yields", s.yields),
        ("attentions", s.attentions),
    ] {
        assert!(count > 0, "{name} never happened: {s:?}");
    }
}

proptest! {
    /// Any sequence of inputs and times never panics, and every
    /// transaction ends within its step bound.
    #[test]
    fn arbitrary_inputs_end_within_the_step_bound(
        request in proptest::collection::vec(any::<u8>(), 2..=MAX_REQUEST_LEN),
        script in proptest::collection::vec((0..4u8, any::<u8>(), any::<u32>()), 1..400),
        max_steps in 1..600u32,
    ) {
        let mut bt = Bt::new(Limits { max_steps, ..Limits::DEFAULT });
        bt.start(&request, Resend::Always).unwrap();
        let mut ends = 0;
        let mut calls = 0;
        for (kind, value, elapsed) in script.iter().copied().cycle().take(max_steps as usize + 1) {
            let input = match kind {
                0 => Input::Tick,
                1 => Input::Status(value),
                2 => Input::Data(value),
                _ => Input::Written,
            };
            calls += 1;
            if bt.step(input, elapsed).ends_transaction() {
                ends += 1;
                prop_assert!(bt.response().len() >= 3);
                break;
            }
        }
        prop_assert_eq!(ends, 1);
        prop_assert!(calls <= max_steps);
    }
}
