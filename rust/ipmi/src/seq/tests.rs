// SPDX-License-Identifier: GPL-2.0

use super::*;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

const T: Timing = Timing {
    timeout_ms: 1000,
    retries: 2,
};

#[test]
fn msgid_packs_seq_and_seqid_as_upstream() {
    let id = MsgId::new(63, 0x3ff_ffff);
    assert_eq!(id.raw(), 0xffff_ffff);
    assert_eq!((id.seq(), id.seqid()), (63, 0x3ff_ffff));
    let id = MsgId::new(5, 7);
    assert_eq!(id.raw(), 5 << 26 | 7);
    assert_eq!(MsgId::from_raw(u64::from(id.raw()) | 1 << 40), id);
}

#[test]
fn answer_matches_by_seq_and_key_and_frees_the_slot() {
    let mut table = SeqTable::<&str, u8>::new();
    let id = table.insert(7, "a", T, false, 0).unwrap();
    assert_eq!(table.in_use(), 1);
    assert!(table.sent(id, 10));
    assert_eq!(table.take_response(id.seq(), &8, 20), Answer::Unknown);
    assert_eq!(table.take_response(id.seq() + 1, &7, 20), Answer::Unknown);
    assert_eq!(table.take_response(id.seq(), &7, 20), Answer::Matched("a"));
    assert_eq!(table.in_use(), 0);
    // The same answer again is late, not unknown and not matched.
    assert_eq!(table.take_response(id.seq(), &7, 30), Answer::Late);
}

#[test]
fn slots_are_given_round_robin_over_all_64() {
    let mut table = SeqTable::<usize, u8>::new();
    let ids: Vec<_> = (0..SLOTS)
        .map(|i| table.insert(0, i, T, false, 0).unwrap())
        .collect();
    let seqs: HashSet<_> = ids.iter().map(|id| id.seq()).collect();
    assert_eq!(seqs.len(), SLOTS);
    assert_eq!(table.insert(0, 99, T, false, 0), Err(Full(99)));
    // Not sent: refusing it frees the slot outright.
    assert_eq!(table.send_failed(ids[10], 0), Some(10));
    let again = table.insert(0, 100, T, false, 0).unwrap();
    assert_eq!(again.seq(), ids[10].seq());
    assert_ne!(again, ids[10], "a new seqid for the new use");
    // The old id no longer names anything.
    assert!(!table.sent(ids[10], 0));
    assert_eq!(table.send_failed(ids[10], 0), None);
}

#[test]
fn timer_waits_for_the_send_then_retries_then_times_out() {
    let mut table = SeqTable::<&str, u8>::new();
    let id = table.insert(1, "r", T, false, 0).unwrap();
    assert_eq!(table.next_deadline(), Some(u64::from(UNSENT_TIMEOUT_MS)));
    table.sent(id, 100);
    assert_eq!(table.next_deadline(), Some(1100));
    let mut seen = Vec::new();
    table.expire(1099, |e| seen.push(format!("{e:?}")));
    assert!(seen.is_empty());
    for (resend, at) in [(1, 1100u64), (2, 3000)] {
        let mut resends = 0;
        table.expire(at, |e| match e {
            Expired::Resend(again, _) => {
                assert_eq!(again, id, "resent under the same id");
                resends += 1;
            }
            Expired::TimedOut(..) => panic!("retry {resend} timed out"),
        });
        assert_eq!(resends, 1);
        // Waiting for the resend to be taken.
        assert_eq!(
            table.next_deadline(),
            Some(at + u64::from(UNSENT_TIMEOUT_MS))
        );
        table.sent(id, at + 900);
    }
    let mut ended = None;
    table.expire(3900 + 1000, |e| match e {
        Expired::TimedOut(request, outcome) => ended = Some((request, outcome)),
        Expired::Resend(..) => panic!("more retries than asked"),
    });
    assert_eq!(
        ended,
        Some((
            "r",
            Outcome {
                broadcast: false,
                resent: 2
            }
        ))
    );
    assert_eq!(table.in_use(), 0);
    assert_eq!(table.next_deadline(), None);
}

#[test]
fn a_late_answer_never_reaches_a_newer_request_with_the_same_key() {
    let mut table = SeqTable::<&str, u8>::new();
    // Fill every slot with key 1 and let them all time out on the wire.
    let ids: Vec<_> = (0..SLOTS)
        .map(|_| {
            let id = table
                .insert(
                    1,
                    "old",
                    Timing {
                        timeout_ms: 10,
                        retries: 0,
                    },
                    false,
                    0,
                )
                .unwrap();
            table.sent(id, 0);
            id
        })
        .collect();
    let mut timed_out = 0;
    table.expire(10, |e| {
        if let Expired::TimedOut(..) = e {
            timed_out += 1;
        }
    });
    assert_eq!(timed_out, SLOTS);
    // Same key: closed during the quarantine.
    assert_eq!(table.insert(1, "new", T, false, 20), Err(Full("new")));
    // Another key may take a slot; the late answer for key 1 does not match it.
    let other = table.insert(2, "other", T, false, 20).unwrap();
    assert_eq!(table.take_response(other.seq(), &1, 30), Answer::Unknown);
    for id in &ids {
        if id.seq() != other.seq() {
            assert_eq!(table.take_response(id.seq(), &1, 30), Answer::Late);
        }
    }
    // After the quarantine the key is served again.
    let later = 10 + u64::from(QUARANTINE_MS);
    assert!(table.insert(1, "new", T, false, later).is_ok());
}

#[test]
fn withdraw_takes_out_what_it_selects() {
    let mut table = SeqTable::<(u8, u32), u8>::new();
    for n in 0..10u8 {
        table.insert(0, (n % 2, u32::from(n)), T, false, 0).unwrap();
    }
    let mut out = Vec::new();
    table.withdraw(0, |r| r.0 == 1, |r| out.push(r.1));
    assert_eq!(out, [1, 3, 5, 7, 9]);
    assert_eq!(table.in_use(), 5);
}

#[derive(Clone, Debug)]
enum Op {
    Insert {
        key: u8,
        timeout_ms: u32,
        retries: u8,
    },
    Sent(usize),
    Failed(usize),
    Answer {
        pick: usize,
        key: u8,
        any_seq: Option<u8>,
    },
    Advance(u32),
    Withdraw(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3u8, 1..5000u32, 0..4u8).prop_map(|(key, timeout_ms, retries)| Op::Insert { key, timeout_ms, retries }),
        4 => any::<usize>().prop_map(Op::Sent),
        1 => any::<usize>().prop_map(Op::Failed),
        3 => (any::<usize>(), 0..3u8, proptest::option::weighted(0.3, 0..64u8))
            .prop_map(|(pick, key, any_seq)| Op::Answer { pick, key, any_seq }),
        3 => prop_oneof![8 => 0..2_000u32, 1 => 0..70_000u32].prop_map(Op::Advance),
        1 => (0..3u8).prop_map(Op::Withdraw),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
    /// Every request leaves the table exactly once, an answer only ever
    /// reaches the request it was sent for (same key, and the request the
    /// slot held when the answer came), retries stay within what was
    /// asked, and once time has run far enough every request has ended.
    #[test]
    fn every_request_ends_exactly_once(ops in proptest::collection::vec(op(), 1..1200)) {
        let mut table = SeqTable::<u32, u8>::new();
        let mut now = 0u64;
        let mut next = 0u32;
        // request -> (id, key, retries asked, resends seen)
        let mut live: HashMap<u32, (MsgId, u8, u8, u8)> = HashMap::new();
        let mut ended: HashSet<u32> = HashSet::new();
        // Requests the BMC took, and per slot how its last one ended.
        let mut on_wire: HashSet<u32> = HashSet::new();
        let mut last_end: HashMap<u8, (u8, u64, bool)> = HashMap::new();
        let end = |n: u32,
                   now: u64,
                   live: &mut HashMap<u32, (MsgId, u8, u8, u8)>,
                   ended: &mut HashSet<u32>,
                   on_wire: &HashSet<u32>,
                   last_end: &mut HashMap<u8, (u8, u64, bool)>| {
            let gone = live.remove(&n);
            prop_assert!(gone.is_some(), "request {} ended but was not live", n);
            prop_assert!(ended.insert(n), "request {} ended twice", n);
            if let Some((id, key, _, _)) = gone {
                last_end.insert(id.seq(), (key, now, on_wire.contains(&n)));
            }
            Ok(())
        };
        for op in ops {
            match op {
                Op::Insert { key, timeout_ms, retries } => {
                    let timing = Timing { timeout_ms, retries };
                    match table.insert(key, next, timing, false, now) {
                        Ok(id) => {
                            prop_assert!(live.values().all(|l| l.0.seq() != id.seq()));
                            // What keeps a late answer from this request: the
                            // slot's last request on the wire with the same key
                            // ended at least the quarantine ago.
                            if let Some(&(old_key, at, wired)) = last_end.get(&id.seq()) {
                                prop_assert!(
                                    !wired || old_key != key || now >= at + u64::from(QUARANTINE_MS),
                                    "slot {} given to key {} {} ms after a request on the wire ended",
                                    id.seq(), key, now - at
                                );
                            }
                            live.insert(next, (id, key, retries, 0));
                        }
                        Err(Full(n)) => prop_assert_eq!(n, next),
                    }
                    next += 1;
                }
                Op::Sent(pick) => {
                    if let Some((&n, _)) = live.iter().nth(pick % live.len().max(1)) {
                        prop_assert!(table.sent(live[&n].0, now));
                        on_wire.insert(n);
                    }
                }
                Op::Failed(pick) => {
                    if let Some((&n, _)) = live.iter().nth(pick % live.len().max(1)) {
                        prop_assert_eq!(table.send_failed(live[&n].0, now), Some(n));
                        end(n, now, &mut live, &mut ended, &on_wire, &mut last_end)?;
                    }
                }
                Op::Answer { pick, key, any_seq } => {
                    let seq = match any_seq {
                        Some(seq) => seq,
                        None => match live.values().nth(pick % live.len().max(1)) {
                            Some(l) => l.0.seq(),
                            None => 0,
                        },
                    };
                    let holder = live.iter().find(|(_, l)| l.0.seq() == seq).map(|(&n, l)| (n, l.1));
                    match table.take_response(seq, &key, now) {
                        Answer::Matched(n) => {
                            prop_assert_eq!(holder, Some((n, key)), "matched the wrong request");
                            end(n, now, &mut live, &mut ended, &on_wire, &mut last_end)?;
                        }
                        Answer::Late | Answer::Unknown => {
                            prop_assert!(holder.is_none_or(|(_, k)| k != key), "the waiting request was not matched");
                        }
                    }
                }
                Op::Advance(ms) => {
                    now += u64::from(ms);
                    let mut done = Vec::new();
                    let mut resent = Vec::new();
                    table.expire(now, |e| match e {
                        Expired::Resend(id, n) => resent.push((id, *n)),
                        Expired::TimedOut(n, outcome) => done.push((n, outcome)),
                    });
                    for (id, n) in resent {
                        let l = live.get_mut(&n).expect("resend of a live request");
                        prop_assert_eq!(l.0, id);
                        l.3 += 1;
                        prop_assert!(l.3 <= l.2, "more resends than retries");
                    }
                    for (n, outcome) in done {
                        prop_assert_eq!(outcome.resent, live[&n].2);
                        end(n, now, &mut live, &mut ended, &on_wire, &mut last_end)?;
                    }
                }
                Op::Withdraw(key) => {
                    let mut out = Vec::new();
                    let selected: HashSet<u32> = live.iter().filter(|(_, l)| l.1 == key).map(|(&n, _)| n).collect();
                    table.withdraw(now, |n| selected.contains(n), |n| out.push(n));
                    prop_assert_eq!(out.len(), selected.len());
                    for n in out {
                        end(n, now, &mut live, &mut ended, &on_wire, &mut last_end)?;
                    }
                }
            }
            prop_assert_eq!(table.in_use(), live.len());
        }
        // Time runs on (nothing is ever sent again): everything ends, within
        // its unsent timer per retry.
        for _ in 0..8 {
            now += u64::from(UNSENT_TIMEOUT_MS);
            let mut done = Vec::new();
            table.expire(now, |e| if let Expired::TimedOut(n, _) = e { done.push(n) });
            for n in done {
                end(n, now, &mut live, &mut ended, &on_wire, &mut last_end)?;
            }
        }
        prop_assert!(live.is_empty(), "{} requests never ended", live.len());
        prop_assert_eq!(table.in_use(), 0);
        prop_assert_eq!(table.next_deadline(), None);
    }
}

#[test]
fn a_table_written_in_place_is_empty_and_fills_all_slots() {
    // Over garbage, as a fresh allocation would be.
    let mut mem = core::mem::MaybeUninit::<SeqTable<u32, u8>>::uninit();
    // SAFETY: `mem` is valid and aligned for one table, and 0xa5 bytes
    // are overwritten before any is read as a table.
    let table = unsafe {
        mem.as_mut_ptr()
            .cast::<u8>()
            .write_bytes(0xa5, core::mem::size_of::<SeqTable<u32, u8>>());
        SeqTable::write_empty(mem.as_mut_ptr());
        mem.assume_init_mut()
    };
    assert_eq!(table.in_use(), 0);
    assert_eq!(table.next_deadline(), None);
    let ids: HashSet<u8> = (0..SLOTS as u32)
        .map(|i| table.insert(1, i, T, false, 0).unwrap().seq())
        .collect();
    assert_eq!(ids.len(), SLOTS);
    assert!(table.insert(1, 99, T, false, 0).is_err());
}
