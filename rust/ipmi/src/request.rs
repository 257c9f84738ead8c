// SPDX-License-Identifier: GPL-2.0

//! Checks on a request before it is framed for its path, as upstream's
//! message handler makes them (`i_ipmi_req_sysintf`, `i_ipmi_req_ipmb`,
//! `i_ipmi_req_ipmb_direct`, `i_ipmi_req_lan`).
//!
//! Each path wraps the body in its own framing, and the framed message
//! must fit in [`MAX_MSG_LENGTH`] bytes, so the largest body differs by
//! path:
//!
//! | path | framing added to the body | largest body |
//! |---|---|---|
//! | system interface | netfn/LUN, cmd | 270 |
//! | IPMB, in Send Message | 9 bytes of header and 1 checksum | 262 |
//! | IPMB broadcast | the same and the leading 0x00 | 261 |
//! | IPMB-direct | netfn/LUN, slave address, seq/LUN, cmd | 268 |
//! | LAN, in Send Message | 11 bytes of header and 1 checksum | 260 |

use super::addr::Address;
use super::msg::MAX_MSG_LENGTH;

/// Why a request is refused before it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The framed message would exceed [`MAX_MSG_LENGTH`] (`-EMSGSIZE`).
    TooLong,
    /// A LUN above 3 on an IPMB or LAN address (`-EINVAL`).
    BadLun,
    /// A response over IPMB-direct without its completion code (`-EINVAL`).
    NoCompletionCode,
}

/// Bytes the path of `addr` adds around a body.
pub const fn framing_overhead(addr: &Address) -> usize {
    match addr {
        Address::SystemInterface { .. } => 2,
        Address::Ipmb {
            broadcast: false, ..
        } => 10,
        Address::Ipmb {
            broadcast: true, ..
        } => 11,
        Address::IpmbDirect { .. } => 4,
        Address::Lan { .. } => 12,
    }
}

/// The largest body a request to `addr` may carry.
pub const fn max_body_len(addr: &Address) -> usize {
    MAX_MSG_LENGTH - framing_overhead(addr)
}

/// Checks a request of `body_len` bytes with network function `netfn` to
/// `addr`, in upstream's order for each path.
pub fn check(addr: &Address, netfn: u8, body_len: usize) -> Result<(), RequestError> {
    let is_response = netfn & 1 == 1;
    if let Address::IpmbDirect { .. } = addr {
        if is_response && body_len < 1 {
            return Err(RequestError::NoCompletionCode);
        }
    }
    if body_len > max_body_len(addr) {
        return Err(RequestError::TooLong);
    }
    // System-interface LUNs are masked to two bits, not refused; the
    // IPMB-direct ones were refused when the address was parsed.
    match *addr {
        Address::Ipmb { lun, .. } | Address::Lan { lun, .. } if lun > 3 => {
            Err(RequestError::BadLun)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SI: Address = Address::SystemInterface { lun: 0 };
    const IPMB: Address = Address::Ipmb {
        channel: 0,
        slave_addr: 0x30,
        lun: 0,
        broadcast: false,
    };
    const BCAST: Address = Address::Ipmb {
        channel: 0,
        slave_addr: 0x30,
        lun: 0,
        broadcast: true,
    };
    const DIRECT: Address = Address::IpmbDirect {
        slave_addr: 0x30,
        rs_lun: 0,
        rq_lun: 0,
    };
    const LAN: Address = Address::Lan {
        channel: 1,
        privilege: 4,
        session_handle: 1,
        remote_swid: 0x81,
        local_swid: 0x20,
        lun: 0,
    };

    /// The boundary of each path: the largest body passes, one more fails.
    fn boundary(addr: &Address, largest: usize) {
        assert_eq!(check(addr, 0x06, largest), Ok(()), "{addr:?}");
        assert_eq!(
            check(addr, 0x06, largest + 1),
            Err(RequestError::TooLong),
            "{addr:?}"
        );
    }

    #[test]
    fn system_interface_limit() {
        boundary(&SI, 270);
    }

    #[test]
    fn ipmb_limit() {
        boundary(&IPMB, 262);
    }

    #[test]
    fn ipmb_broadcast_limit() {
        boundary(&BCAST, 261);
    }

    #[test]
    fn ipmb_direct_limit() {
        boundary(&DIRECT, 268);
    }

    #[test]
    fn lan_limit() {
        boundary(&LAN, 260);
    }

    #[test]
    fn lun_rules() {
        let ipmb = Address::Ipmb {
            channel: 0,
            slave_addr: 0x30,
            lun: 4,
            broadcast: false,
        };
        assert_eq!(check(&ipmb, 0x06, 0), Err(RequestError::BadLun));
        // Upstream checks the length first.
        assert_eq!(check(&ipmb, 0x06, 300), Err(RequestError::TooLong));
        assert_eq!(check(&Address::SystemInterface { lun: 7 }, 0x06, 0), Ok(()));
    }

    #[test]
    fn direct_responses_need_a_completion_code() {
        assert_eq!(check(&DIRECT, 0x07, 0), Err(RequestError::NoCompletionCode));
        assert_eq!(check(&DIRECT, 0x07, 1), Ok(()));
        assert_eq!(check(&DIRECT, 0x06, 0), Ok(()));
    }
}
