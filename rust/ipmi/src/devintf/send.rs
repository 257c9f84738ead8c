// SPDX-License-Identifier: GPL-2.0

//! The checks `IPMICTL_SEND_COMMAND(_SETTIME)` makes before the message
//! handler sees the request, in upstream's order (`handle_send_req()`):
//!
//! 1. `addr_len` above `sizeof(struct ipmi_addr)` (40): `EINVAL`, before
//!    the address is read ([`addr_copy_len`]);
//! 2. the kernel copies `addr_len` bytes of address (`EFAULT`);
//! 3. the address is validated (`ipmi_validate_addr()`): `EINVAL`;
//! 4. a NULL data pointer sends an empty body whatever `data_len` says;
//!    otherwise `data_len` above `IPMI_MAX_MSG_LENGTH` (272): `EMSGSIZE`
//!    ([`check_send`] does 3 and 4);
//! 5. the kernel copies the body (`EFAULT`) and hands the request to the
//!    handler, with the file's timing for `SEND_COMMAND` and the request's
//!    own for `SEND_COMMAND_SETTIME`.

use super::super::addr::{Address, MAX_ADDR_LEN};
use super::super::msg::MAX_MSG_LENGTH;
use super::errno::Errno;
use super::layout::IpmiReq;

/// A request that passed the device's checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendPlan {
    /// The validated destination.
    pub dest: Address,
    /// The caller's msgid, passed to the handler unchanged.
    pub msgid: i64,
    /// Network function, as given (the handler checks it).
    pub netfn: u8,
    /// Command.
    pub cmd: u8,
    /// User pointer to the body; not to be read when `data_len` is 0.
    pub data: u64,
    /// Bytes of body to copy from `data`, at most [`MAX_MSG_LENGTH`].
    pub data_len: usize,
}

/// How many address bytes to copy from the request's `addr` pointer:
/// `addr_len`, or `EINVAL` when it exceeds `struct ipmi_addr`.
pub fn addr_copy_len(req: &IpmiReq) -> Result<usize, Errno> {
    match usize::try_from(req.addr_len) {
        Ok(len) if len <= MAX_ADDR_LEN => Ok(len),
        _ => Err(Errno::Inval),
    }
}

/// Validates the request once its address was copied into `addr` (the
/// first [`addr_copy_len`] bytes; the rest is ignored) and says how much
/// body to copy.
pub fn check_send(req: &IpmiReq, addr: &[u8; MAX_ADDR_LEN]) -> Result<SendPlan, Errno> {
    let addr_len = addr_copy_len(req)?;
    let dest = Address::parse(addr.get(..addr_len).ok_or(Errno::Inval)?)?;
    let data_len = if req.msg.data == 0 {
        0
    } else {
        let len = usize::from(req.msg.data_len);
        if len > MAX_MSG_LENGTH {
            return Err(Errno::MsgSize);
        }
        len
    };
    Ok(SendPlan {
        dest,
        msgid: req.msgid,
        netfn: req.msg.netfn,
        cmd: req.msg.cmd,
        data: req.msg.data,
        data_len,
    })
}

#[cfg(test)]
mod tests {
    use super::super::layout::IpmiMsg;
    use super::*;
    use core::cell::Cell;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    /// The system-interface address of the BMC, LUN 0.
    fn si_addr() -> [u8; MAX_ADDR_LEN] {
        let mut a = [0u8; MAX_ADDR_LEN];
        a[..4].copy_from_slice(&0x0ci32.to_ne_bytes());
        a[4..6].copy_from_slice(&15i16.to_ne_bytes());
        a
    }

    fn req(addr_len: u32, data: u64, data_len: u16) -> IpmiReq {
        IpmiReq {
            addr: 0x1000,
            addr_len,
            msgid: 42,
            msg: IpmiMsg {
                netfn: 6,
                cmd: 1,
                data_len,
                data,
            },
        }
    }

    #[test]
    fn a_good_request() {
        let plan = check_send(&req(8, 0x2000, 3), &si_addr()).unwrap();
        assert_eq!(
            plan,
            SendPlan {
                dest: Address::SystemInterface { lun: 0 },
                msgid: 42,
                netfn: 6,
                cmd: 1,
                data: 0x2000,
                data_len: 3,
            }
        );
    }

    #[test]
    fn address_length() {
        assert_eq!(addr_copy_len(&req(40, 0, 0)), Ok(40));
        assert_eq!(addr_copy_len(&req(0, 0, 0)), Ok(0));
        assert_eq!(addr_copy_len(&req(41, 0, 0)), Err(Errno::Inval));
        // A "negative" length is a huge unsigned one.
        assert_eq!(addr_copy_len(&req(-1i32 as u32, 0, 0)), Err(Errno::Inval));
        assert_eq!(check_send(&req(41, 0, 0), &si_addr()), Err(Errno::Inval));
        // Too short for its type.
        assert_eq!(check_send(&req(7, 0, 0), &si_addr()), Err(Errno::Inval));
        // Longer than needed is fine.
        assert!(check_send(&req(40, 0, 0), &si_addr()).is_ok());
    }

    #[test]
    fn bad_address_is_einval() {
        let mut a = si_addr();
        a[4..6].copy_from_slice(&0i16.to_ne_bytes());
        assert_eq!(check_send(&req(8, 0, 0), &a), Err(Errno::Inval));
    }

    #[test]
    fn body_length() {
        let a = si_addr();
        assert_eq!(
            check_send(&req(8, 0x2000, 272), &a).map(|p| p.data_len),
            Ok(272)
        );
        assert_eq!(check_send(&req(8, 0x2000, 273), &a), Err(Errno::MsgSize));
        // NULL data: empty body, whatever the length says.
        assert_eq!(
            check_send(&req(8, 0, u16::MAX), &a).map(|p| p.data_len),
            Ok(0)
        );
        // The address is checked before the body.
        assert_eq!(check_send(&req(4, 0x2000, 273), &a), Err(Errno::Inval));
    }

    #[test]
    fn properties() {
        let inval = Cell::new(0u32);
        let msgsize = Cell::new(0u32);
        let null_data = Cell::new(0u32);
        let ok = Cell::new(0u32);
        let strategy = (
            prop_oneof![0u32..=48, any::<u32>()],
            prop_oneof![Just(0u64), any::<u64>()],
            prop_oneof![0u16..=300, any::<u16>()],
            prop_oneof![
                Just(si_addr().to_vec()),
                proptest::collection::vec(any::<u8>(), MAX_ADDR_LEN)
            ],
        );
        let mut runner = TestRunner::new(Config {
            cases: 4096,
            ..Config::default()
        });
        runner
            .run(&strategy, |(addr_len, data, data_len, addr)| {
                let addr: [u8; MAX_ADDR_LEN] = addr.try_into().unwrap();
                let r = req(addr_len, data, data_len);
                match check_send(&r, &addr) {
                    Ok(plan) => {
                        prop_assert!(addr_len as usize <= MAX_ADDR_LEN);
                        prop_assert!(plan.data_len <= MAX_MSG_LENGTH);
                        if data == 0 {
                            prop_assert_eq!(plan.data_len, 0);
                            null_data.set(null_data.get() + 1);
                        } else {
                            prop_assert_eq!(plan.data_len, usize::from(data_len));
                            ok.set(ok.get() + 1);
                        }
                    }
                    Err(Errno::Inval) => {
                        let len = addr_len as usize;
                        prop_assert!(len > MAX_ADDR_LEN || Address::parse(&addr[..len]).is_err());
                        inval.set(inval.get() + 1);
                    }
                    Err(Errno::MsgSize) => {
                        prop_assert!(data != 0 && usize::from(data_len) > MAX_MSG_LENGTH);
                        msgsize.set(msgsize.get() + 1);
                    }
                    Err(other) => prop_assert!(false, "{:?}", other),
                }
                Ok(())
            })
            .unwrap();
        for (name, n) in [
            ("einval", inval),
            ("emsgsize", msgsize),
            ("null data", null_data),
            ("ok", ok),
        ] {
            assert!(n.get() > 0, "branch {name} never ran");
        }
    }
}
