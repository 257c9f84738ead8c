// SPDX-License-Identifier: GPL-2.0

use super::super::ipmb::{checksum, checksum_ok};
use super::*;
use proptest::prelude::*;

/// Upstream's format_ipmb_msg, written out byte by byte for the test.
fn upstream_ipmb(b: &Bridged<'_>) -> Vec<u8> {
    let Target::Ipmb {
        channel,
        broadcast,
        slave_addr,
        lun,
    } = b.target
    else {
        unreachable!()
    };
    let mut v = vec![0x18, 0x34, channel];
    if broadcast {
        v.push(0);
    }
    let start = v.len();
    v.push(slave_addr);
    v.push((b.netfn.value() << 2) | lun.value());
    v.push(checksum(&v[start..start + 2]));
    let second = v.len();
    v.push(b.source_addr);
    v.push((b.seq << 2) | b.source_lun.value());
    v.push(b.cmd);
    v.extend_from_slice(b.data);
    v.push(checksum(&v[second..]));
    v
}

/// Upstream's format_lan_msg, likewise.
fn upstream_lan(b: &Bridged<'_>) -> Vec<u8> {
    let Target::Lan {
        channel,
        session_handle,
        remote_swid,
        local_swid,
        lun,
    } = b.target
    else {
        unreachable!()
    };
    let mut v = vec![0x18, 0x34, channel, session_handle, remote_swid];
    v.push((b.netfn.value() << 2) | lun.value());
    v.push(checksum(&v[4..6]));
    v.push(local_swid);
    v.push((b.seq << 2) | b.source_lun.value());
    v.push(b.cmd);
    v.extend_from_slice(b.data);
    v.push(checksum(&v[7..]));
    v
}

fn encode(b: &Bridged<'_>) -> Vec<u8> {
    let mut out = [0u8; 300];
    let n = b.encode(&mut out).unwrap();
    assert_eq!(n, b.encoded_len());
    out[..n].to_vec()
}

#[test]
fn get_device_id_bridged_to_0x30() {
    let b = Bridged {
        target: Target::Ipmb {
            channel: 0,
            broadcast: false,
            slave_addr: 0x30,
            lun: Lun::BMC,
        },
        netfn: NetFn::APP,
        cmd: 0x01,
        data: &[],
        seq: 1,
        source_addr: 0x20,
        source_lun: Lun::from_low_bits(2),
    };
    assert_eq!(
        encode(&b),
        [0x18, 0x34, 0x00, 0x30, 0x18, 0xb8, 0x20, 0x06, 0x01, 0xd9]
    );
}

#[test]
fn broadcast_puts_a_zero_before_the_frame() {
    let b = Bridged {
        target: Target::Ipmb {
            channel: 1,
            broadcast: true,
            slave_addr: 0x40,
            lun: Lun::BMC,
        },
        netfn: NetFn::APP,
        cmd: 0x01,
        data: &[7],
        seq: 3,
        source_addr: 0x20,
        source_lun: Lun::BMC,
    };
    let v = encode(&b);
    assert_eq!(&v[..5], &[0x18, 0x34, 0x01, 0x00, 0x40]);
    assert_eq!(v, upstream_ipmb(&b));
}

#[test]
fn no_space_is_refused() {
    let b = Bridged {
        target: Target::Lan {
            channel: 2,
            session_handle: 9,
            remote_swid: 0x81,
            local_swid: 0x20,
            lun: Lun::BMC,
        },
        netfn: NetFn::APP,
        cmd: 0x01,
        data: &[1, 2, 3],
        seq: 0,
        source_addr: 0x20,
        source_lun: Lun::BMC,
    };
    let mut out = [0u8; 13];
    assert_eq!(b.encode(&mut out), Err(FrameError::NoSpace));
    let mut out = [0u8; 14];
    assert_eq!(b.encode(&mut out), Ok(14));
}

#[test]
fn lan_answer_is_decoded_with_both_checksums() {
    // channel 2, privilege 4 (admin); session 9; local SWID 0x20, netfn
    // App response, LUN 0; remote SWID 0x81, seq 5, LUN 0; Get Device ID,
    // cc 0, two bytes of data.
    let mut data = vec![0x42, 0x09, 0x20, 0x1c];
    data.push(checksum(&data[2..4]));
    data.extend_from_slice(&[0x81, 5 << 2, 0x01, 0x00, 0xaa, 0xbb]);
    data.push(checksum(&data[5..]));
    let m = LanGetMessage::parse(&data).unwrap();
    assert_eq!((m.channel, m.privilege, m.session_handle), (2, 4, 9));
    assert_eq!(
        (m.frame.dest_addr, m.frame.src_addr, m.frame.seq),
        (0x20, 0x81, 5)
    );
    assert_eq!(m.frame.netfn, NetFn::APP.response());
    assert_eq!(m.frame.body, &[0x00, 0xaa, 0xbb]);
    // Either checksum off: refused.
    let mut bad = data.clone();
    bad[4] ^= 1;
    assert_eq!(LanGetMessage::parse(&bad), Err(FrameError::HeaderChecksum));
    let mut bad = data.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(LanGetMessage::parse(&bad), Err(FrameError::BodyChecksum));
    // No completion code: refused (upstream delivers it with none).
    let mut short = vec![0x42, 0x09, 0x20, 0x1c];
    short.push(checksum(&short[2..4]));
    short.extend_from_slice(&[0x81, 5 << 2, 0x01]);
    short.push(checksum(&short[5..]));
    assert_eq!(LanGetMessage::parse(&short), Err(FrameError::TooShort));
    assert_eq!(LanGetMessage::parse(&[0x42]), Err(FrameError::TooShort));
}

fn lun() -> impl Strategy<Value = Lun> {
    (0..4u8).prop_map(Lun::from_low_bits)
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
    /// Every request is laid out byte for byte as upstream lays it out,
    /// and its frame reads back with both checksums good.
    #[test]
    fn ipmb_and_lan_match_upstreams_layout(
        lan in any::<bool>(),
        channel in 0..16u8,
        broadcast in any::<bool>(),
        addr in any::<u8>(),
        other in any::<u8>(),
        session in any::<u8>(),
        lun in lun(),
        source_lun in lun(),
        netfn in (0..32u8).prop_map(|n| NetFn::new(n * 2).unwrap()),
        cmd in any::<u8>(),
        seq in 0..64u8,
        data in proptest::collection::vec(any::<u8>(), 0..250),
    ) {
        let target = if lan {
            Target::Lan { channel, session_handle: session, remote_swid: addr, local_swid: other, lun }
        } else {
            Target::Ipmb { channel, broadcast, slave_addr: addr, lun }
        };
        let b = Bridged { target, netfn, cmd, data: &data, seq, source_addr: other, source_lun };
        let v = encode(&b);
        let want = if lan { upstream_lan(&b) } else { upstream_ipmb(&b) };
        prop_assert_eq!(&v, &want);
        let frame_at = if lan { 4 } else { 3 + usize::from(broadcast) };
        let f = Frame::parse(&v[frame_at..]).unwrap();
        prop_assert_eq!(f.body, &data[..]);
        prop_assert!(checksum_ok(&v[frame_at..frame_at + 3]));
    }

    /// Any bytes: the LAN answer decoder never panics, and what it accepts
    /// has both checksums good and a completion code.
    #[test]
    fn lan_answers_from_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(m) = LanGetMessage::parse(&data) {
            prop_assert!(checksum_ok(&data[2..5]));
            prop_assert!(checksum_ok(&data[5..]));
            prop_assert!(!m.frame.body.is_empty());
        }
    }
}
