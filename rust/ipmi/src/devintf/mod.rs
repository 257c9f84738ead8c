// SPDX-License-Identifier: GPL-2.0

//! The pure logic of /dev/ipmiN (upstream's ipmi_devintf): everything the
//! character device decides without touching user memory or the handler.
//!
//! The kernel module copies an ioctl's argument into a byte buffer, calls
//! in here, and does the copies and handler calls the answers ask for:
//!
//! - [`ioctl`]: `IPMICTL_*` numbers, native and 32-bit compat, and which
//!   argument each takes. An unknown number is `ENOTTY`.
//! - [`layout`]: the argument structures read from and written to bytes in
//!   both ABIs, with user pointers as `u64` and padding zeroed on the way
//!   out.
//! - [`send`]: the checks `SEND_COMMAND(_SETTIME)` makes before the handler.
//! - [`control`]: channel, LUN, address, event and maintenance-mode
//!   arguments.
//! - [`recv_queue`]: the per-file queue, bounded, with room kept for
//!   replies.
//! - [`receive`]: what a receive ioctl does with the head message.
//! - [`errno`]: the errors, by name, with their numbers.
//!
//! A receive, as the kernel module runs it:
//!
//! ```text
//! caller = IpmiRecv::decode(arg bytes, abi)?            // EFAULT if short
//! lock the file's receive mutex                         // one reader at a time
//! msg = queue.lend_head()                               // None: EAGAIN; place kept
//! plan = plan_receive(mode, header of msg, &caller)?    // EINVAL / EMSGSIZE: returned
//! copy plan.delivery.addr_len bytes of address, then
//!      plan.delivery.data_len bytes of body, then
//!      plan.reply encoded in abi                        // any failure: EFAULT, returned
//! queue.consume_head() or queue.return_head(msg)        // only now
//! return plan.delivery.result()                         // EMSGSIZE if truncated
//! ```

pub mod control;
pub mod errno;
pub mod ioctl;
pub mod layout;
pub mod receive;
pub mod recv_queue;
pub mod send;
