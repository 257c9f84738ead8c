// SPDX-License-Identifier: GPL-2.0

use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

#[test]
fn one_receiver_per_command_and_channel() {
    let mut t = CmdRcvrs::<u8, 8>::new();
    assert_eq!(t.register(1, 0x30, 0x01, 0b0011), Ok(()));
    assert_eq!(t.register(2, 0x30, 0x01, 0b0110), Err(RcvrError::Busy));
    assert_eq!(t.register(2, 0x30, 0x01, 0b1100), Ok(()));
    assert_eq!(t.register(2, 0x30, 0x02, ALL_CHANNELS), Ok(()));
    assert_eq!(t.find(0x30, 0x01, 1), Some(1));
    assert_eq!(t.find(0x30, 0x01, 3), Some(2));
    assert_eq!(t.find(0x30, 0x01, 4), None);
    assert_eq!(t.find(0x30, 0x02, 15), Some(2));
    assert_eq!(t.find(0x30, 0x02, 16), None, "no channel 16");
    assert_eq!(t.len(), 3);
}

#[test]
fn unregister_takes_channels_away_and_only_the_users_own() {
    let mut t = CmdRcvrs::<u8, 8>::new();
    t.register(1, 0x30, 0x01, 0b0011).unwrap();
    // Another user's registration is not theirs to take.
    assert_eq!(
        t.unregister(2, 0x30, 0x01, 0b0001),
        Err(RcvrError::NotFound)
    );
    assert_eq!(t.unregister(1, 0x30, 0x01, 0b0001), Ok(0));
    assert_eq!(t.find(0x30, 0x01, 0), None);
    assert_eq!(t.find(0x30, 0x01, 1), Some(1));
    assert_eq!(
        t.unregister(1, 0x30, 0x01, 0b0001),
        Err(RcvrError::NotFound)
    );
    assert_eq!(t.unregister(1, 0x30, 0x01, ALL_CHANNELS), Ok(1));
    assert!(t.is_empty());
    assert_eq!(RcvrError::NotFound.errno(), 2);
}

#[test]
fn full_table_refuses_and_a_user_going_takes_its_own() {
    let mut t = CmdRcvrs::<u8, 2>::new();
    t.register(1, 0x30, 1, 1).unwrap();
    t.register(2, 0x30, 2, 1).unwrap();
    assert_eq!(t.register(1, 0x30, 3, 1), Err(RcvrError::Full));
    assert_eq!(t.remove_user(1), 1);
    assert_eq!(t.register(3, 0x30, 3, 1), Ok(()));
    assert_eq!(t.find(0x30, 2, 0), Some(2));
}

#[derive(Clone, Debug)]
enum Op {
    Register(u8, u8, u32),
    Unregister(u8, u8, u32),
    RemoveUser(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let chans = prop_oneof![1 => Just(ALL_CHANNELS), 4 => 0..16u32, 2 => any::<u32>()];
    prop_oneof![
        (0..3u8, 0..3u8, chans.clone()).prop_map(|(u, c, ch)| Op::Register(u, c, ch)),
        (0..3u8, 0..3u8, chans).prop_map(|(u, c, ch)| Op::Unregister(u, c, ch)),
        (0..3u8).prop_map(Op::RemoveUser),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
    /// Against a model keeping one owner per (cmd, channel bit): the same
    /// answers to every change, and to every lookup on every channel. All
    /// 32 bits of a channel mask take part in the overlap check, as
    /// upstream's; only the first 16 name channels.
    #[test]
    fn matches_a_per_channel_model(ops in proptest::collection::vec(op(), 1..100)) {
        let mut t = CmdRcvrs::<u8, 64>::new();
        let mut owner: HashMap<(u8, u8), u8> = HashMap::new();
        let chans_of = |mask: u32| (0..32u8).filter(move |c| mask & (1 << c) != 0);
        for op in ops {
            match op {
                Op::Register(u, cmd, chans) => {
                    let busy = chans_of(chans).any(|c| owner.contains_key(&(cmd, c)));
                    let got = t.register(u, 0x30, cmd, chans);
                    if busy {
                        prop_assert_eq!(got, Err(RcvrError::Busy));
                    } else {
                        prop_assert_eq!(got, Ok(()));
                        for c in chans_of(chans) {
                            owner.insert((cmd, c), u);
                        }
                    }
                }
                Op::Unregister(u, cmd, chans) => {
                    let held: Vec<u8> = chans_of(chans).filter(|c| owner.get(&(cmd, *c)) == Some(&u)).collect();
                    let got = t.unregister(u, 0x30, cmd, chans);
                    if held.is_empty() {
                        prop_assert_eq!(got, Err(RcvrError::NotFound));
                    } else {
                        prop_assert!(got.is_ok());
                    }
                    for c in held {
                        owner.remove(&(cmd, c));
                    }
                }
                Op::RemoveUser(u) => {
                    t.remove_user(u);
                    owner.retain(|_, o| *o != u);
                }
            }
            for cmd in 0..3u8 {
                for c in 0..=CHANNELS {
                    let want = if c < CHANNELS { owner.get(&(cmd, c)).copied() } else { None };
                    prop_assert_eq!(t.find(0x30, cmd, c), want);
                }
            }
        }
    }
}

#[test]
fn a_table_written_in_place_is_empty_and_holds_n() {
    let mut mem = core::mem::MaybeUninit::<CmdRcvrs<u8, 4>>::uninit();
    // SAFETY: `mem` is valid and aligned for one table, and the 0x5a bytes
    // are overwritten before any is read as a table.
    let rcvrs = unsafe {
        mem.as_mut_ptr()
            .cast::<u8>()
            .write_bytes(0x5a, core::mem::size_of::<CmdRcvrs<u8, 4>>());
        CmdRcvrs::write_empty(mem.as_mut_ptr());
        mem.assume_init_mut()
    };
    assert!(rcvrs.is_empty());
    assert_eq!(rcvrs.find(0x30, 0x01, 0), None);
    for cmd in 0..4 {
        rcvrs.register(cmd, 0x30, cmd, ALL_CHANNELS).unwrap();
    }
    assert_eq!(rcvrs.len(), 4);
    assert!(rcvrs.register(9, 0x30, 9, ALL_CHANNELS).is_err());
}
