// SPDX-License-Identifier: GPL-2.0

//! The shared IPMI message-handling core.
//!
//! Pure logic with no kernel dependency and no allocation: message, address
//! and completion-code types, IPMB framing and checksums, and (as the drivers
//! land) the KCS, BT and SSIF state machines and the sequence table.
//!
//! On the host this is an ordinary `no_std` crate that `cargo test` builds.
//! In the kernel each module compiles the files of it that it uses into
//! itself, naming them under an inline module whose `#[path]` is this
//! directory (`pub mod ipmi { pub mod addr; pub mod msg; ... }`; the
//! `MODULE` cfg is set there, and the kernel build already makes the crate
//! `no_std`), because Rust crates cannot yet be shared between loadable
//! modules. Files refer to each other with `super::`, never `crate::`.

#![cfg_attr(not(any(test, MODULE)), no_std)]

pub mod addr;
pub mod bridge;
pub mod cc;
pub mod cmd_rcvr;
pub mod device_id;
pub mod devintf;
pub mod direct;
pub mod events;
pub mod ipmb;
pub mod maintenance;
pub mod msg;
pub mod request;
pub mod route;
pub mod seq;
pub mod si;
pub mod smi;
