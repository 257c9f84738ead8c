// SPDX-License-Identifier: GPL-2.0

use super::*;
use proptest::prelude::*;

fn event(n: u8) -> EventRecord {
    let mut e = [0u8; 16];
    e[0] = n;
    e[2] = 0x02;
    e
}

#[test]
fn waiting_events_keep_25_and_warn_once_per_overflow() {
    let mut w = WaitingEvents::<MAX_WAITING_EVENTS>::new();
    for n in 0..25u8 {
        assert_eq!(w.push(&event(n)), Waiting::Queued);
    }
    assert_eq!(w.push(&event(25)), Waiting::Dropped { warn: true });
    assert_eq!(w.push(&event(26)), Waiting::Dropped { warn: false });
    assert_eq!(w.dropped(), 2);
    let mut got = Vec::new();
    w.drain(|e| got.push(e[0]));
    assert_eq!(got, (0..25).collect::<Vec<u8>>());
    assert!(w.is_empty());
    // Room again: the next overflow warns again.
    for n in 0..25u8 {
        w.push(&event(n));
    }
    assert_eq!(w.push(&event(99)), Waiting::Dropped { warn: true });
}

#[test]
fn queued_events_never_make_a_request_busy() {
    let limits = Limits::DEFAULT;
    let mut q = Quota::default();
    for _ in 0..limits.max_unsolicited {
        assert!(q.offer_unsolicited(&limits));
    }
    // Upstream refuses the request here; ours does not.
    assert_eq!(q.start_request(&limits), Ok(()));
    // The event beyond the user's room is dropped for it alone.
    assert!(!q.offer_unsolicited(&limits));
    assert_eq!(q.dropped(), 1);
    q.consume_unsolicited();
    assert!(q.offer_unsolicited(&limits));
}

#[test]
fn requests_are_limited_by_themselves() {
    let limits = Limits {
        max_requests: 2,
        max_unsolicited: 1,
    };
    let mut q = Quota::default();
    assert_eq!(q.start_request(&limits), Ok(()));
    assert_eq!(q.start_request(&limits), Ok(()));
    assert_eq!(q.start_request(&limits), Err(Busy));
    q.end_request();
    assert_eq!(q.start_request(&limits), Ok(()));
    assert_eq!(q.requests(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
    /// Any interleaving: requests are refused exactly at their own limit,
    /// whatever number of unsolicited messages wait; the counts never
    /// exceed their limits; drops are counted.
    #[test]
    fn quota_counts_apart(ops in proptest::collection::vec(0..4u8, 0..400), max_r in 1..10u32, max_u in 1..10u32) {
        let limits = Limits { max_requests: max_r, max_unsolicited: max_u };
        let mut q = Quota::default();
        let (mut r, mut u, mut dropped) = (0u32, 0u32, 0u64);
        for op in ops {
            match op {
                0 => {
                    let got = q.start_request(&limits);
                    prop_assert_eq!(got.is_ok(), r < max_r);
                    if got.is_ok() { r += 1; }
                }
                1 => { q.end_request(); r = r.saturating_sub(1); }
                2 => {
                    let given = q.offer_unsolicited(&limits);
                    prop_assert_eq!(given, u < max_u);
                    if given { u += 1 } else { dropped += 1 }
                }
                _ => { q.consume_unsolicited(); u = u.saturating_sub(1); }
            }
            prop_assert_eq!((q.requests(), q.unsolicited(), q.dropped()), (r, u, dropped));
            prop_assert!(r <= max_r && u <= max_u);
        }
    }

    /// The waiting queue keeps the first N of a run, in order, and drops
    /// and counts the rest.
    #[test]
    fn waiting_events_keep_order(pushes in 0..60usize, drain_at in 0..60usize) {
        let mut w = WaitingEvents::<8>::new();
        let mut model: Vec<u8> = Vec::new();
        let mut drops = 0u64;
        for n in 0..pushes {
            if n == drain_at {
                let mut got = Vec::new();
                w.drain(|e| got.push(e[0]));
                prop_assert_eq!(&got, &model);
                model.clear();
            }
            match w.push(&event(n as u8)) {
                Waiting::Queued => model.push(n as u8),
                Waiting::Dropped { .. } => drops += 1,
            }
            prop_assert!(w.len() <= 8);
        }
        prop_assert_eq!(w.dropped(), drops);
        let mut got = Vec::new();
        w.drain(|e| got.push(e[0]));
        prop_assert_eq!(got, model);
    }
}
