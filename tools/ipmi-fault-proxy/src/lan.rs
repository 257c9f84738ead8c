// SPDX-License-Identifier: GPL-2.0

//! Commands for the host from a LAN session, as a BMC hands them out in a
//! Get Message answer, and the host's reply to one, as it comes back in a
//! Send Message (IPMI 2.0, 22.8 and 22.7). The `lan-commands` action makes
//! the former up; the proxy checks the latter and answers it itself, as
//! the BMC would after passing the reply on to the session.

/// The LAN channel the commands come in on (ipmi_sim's, with `vm-run
/// --lan`, so that the host's channel scan finds an 802.3 LAN there).
pub const CHANNEL: u8 = 1;
/// The session's privilege level (administrator) in the channel byte.
pub const PRIVILEGE: u8 = 4;
/// The session handle the commands carry.
pub const SESSION_HANDLE: u8 = 0x05;
/// The remote console's software ID (the requester).
pub const REMOTE_SWID: u8 = 0x81;
/// The BMC's software ID for the host (the responder).
pub const LOCAL_SWID: u8 = 0x20;
/// The command: OEM netfn 0x30, cmd 0x01, with two data bytes.
pub const NETFN: u8 = 0x30;
/// See [`NETFN`].
pub const CMD: u8 = 0x01;
/// See [`NETFN`].
pub const DATA: [u8; 2] = [0x11, 0x22];
/// The requester's LUN; the command goes to the host's LUN 2 (SMS).
pub const REMOTE_LUN: u8 = 0;

/// The IPMB checksum: what makes the bytes sum to zero.
fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |s, b| s.wrapping_add(*b))
        .wrapping_neg()
}

/// The Get Message answer's data after its completion code: channel and
/// privilege, session handle, then the LAN message (responder SWID,
/// netfn/LUN, checksum, requester SWID, seq/LUN, cmd, data, checksum).
pub fn command(seq: u8) -> Vec<u8> {
    let netfn_lun = (NETFN << 2) | 2;
    let seq_lun = ((seq & 0x3f) << 2) | REMOTE_LUN;
    let mut v = vec![
        (PRIVILEGE << 4) | CHANNEL,
        SESSION_HANDLE,
        LOCAL_SWID,
        netfn_lun,
        checksum(&[LOCAL_SWID, netfn_lun]),
        REMOTE_SWID,
        seq_lun,
        CMD,
    ];
    v.extend_from_slice(&DATA);
    v.push(checksum(&v[5..]));
    v
}

/// A well-formed reply: its seq, the LUN it came from, completion code
/// and data.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    /// The command's sequence number, echoed.
    pub seq: u8,
    /// The host's LUN (upstream's handler sends from LUN 2).
    pub host_lun: u8,
    /// The reply's completion code.
    pub cc: u8,
    /// The rest of its data.
    pub data: Vec<u8>,
}

/// Whether `d`, a Send Message request's data, is a reply to one of the
/// commands: what is wrong with it, or the reply.
pub fn check_reply(d: &[u8]) -> Result<Reply, String> {
    if d.len() < 10 {
        return Err(format!("{} bytes, fewer than 10", d.len()));
    }
    let expect = |what: &str, got: u8, want: u8| {
        if got == want {
            Ok(())
        } else {
            Err(format!("{what} 0x{got:02x}, not 0x{want:02x}"))
        }
    };
    expect("channel", d[0], CHANNEL)?;
    expect("session handle", d[1], SESSION_HANDLE)?;
    expect("requester SWID", d[2], REMOTE_SWID)?;
    expect("netfn", d[3] >> 2, NETFN | 1)?;
    expect("requester LUN", d[3] & 3, REMOTE_LUN)?;
    expect("first checksum", checksum(&d[2..4]), d[4])?;
    expect("responder SWID", d[5], LOCAL_SWID)?;
    expect("cmd", d[7], CMD)?;
    let last = d.len() - 1;
    expect("second checksum", checksum(&d[5..last]), d[last])?;
    Ok(Reply {
        seq: d[6] >> 2,
        host_lun: d[6] & 3,
        cc: d[8],
        data: d[9..last].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reply a host would send to `command(seq)`.
    fn reply(seq: u8, cc: u8, data: &[u8]) -> Vec<u8> {
        let netfn_lun = ((NETFN | 1) << 2) | REMOTE_LUN;
        let mut v = vec![
            CHANNEL,
            SESSION_HANDLE,
            REMOTE_SWID,
            netfn_lun,
            checksum(&[REMOTE_SWID, netfn_lun]),
            LOCAL_SWID,
            (seq << 2) | 2,
            CMD,
            cc,
        ];
        v.extend_from_slice(data);
        v.push(checksum(&v[5..]));
        v
    }

    #[test]
    fn command_layout_and_checksums() {
        let c = command(0x41);
        assert_eq!(c[0], 0x41, "channel 1, administrator");
        assert_eq!(&c[1..4], &[SESSION_HANDLE, LOCAL_SWID, 0xc2]);
        assert_eq!(c[2].wrapping_add(c[3]).wrapping_add(c[4]), 0);
        assert_eq!(c[6], 0x01 << 2, "seq 0x41 wraps to 1");
        assert_eq!(&c[7..10], &[CMD, 0x11, 0x22]);
        assert_eq!(c[5..].iter().fold(0u8, |s, b| s.wrapping_add(*b)), 0);
    }

    #[test]
    fn a_good_reply_is_taken_apart() {
        let r = check_reply(&reply(7, 0, &[0xee, 0xdd])).unwrap();
        assert_eq!(
            r,
            Reply {
                seq: 7,
                host_lun: 2,
                cc: 0,
                data: vec![0xee, 0xdd]
            }
        );
        assert_eq!(check_reply(&reply(9, 0xc1, &[])).unwrap().cc, 0xc1);
    }

    #[test]
    fn every_wrong_byte_is_named() {
        let good = reply(3, 0, &[1]);
        for (i, what) in [
            (0, "channel"),
            (1, "session handle"),
            (2, "requester SWID"),
            (4, "first checksum"),
            (5, "responder SWID"),
            (7, "cmd"),
            (10, "second checksum"),
        ] {
            let mut bad = good.clone();
            bad[i] ^= 0x08;
            let e = check_reply(&bad).unwrap_err();
            assert!(e.starts_with(what), "byte {i}: {e}");
        }
        assert!(check_reply(&good[..9]).is_err());
    }
}
