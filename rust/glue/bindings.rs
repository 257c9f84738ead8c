// SPDX-License-Identifier: GPL-2.0

//! The C IPMI API (linux/ipmi.h, linux/ipmi_smi.h, uapi/linux/ipmi.h) as
//! Rust, generated at build time by scripts/ipmi-bindgen.sh into the
//! module's build directory, whose path Kbuild passes in
//! `IPMI_RS_BINDINGS`. Every module that talks to C includes this file with
//! `#[path = ".../rust/bindings/bindings.rs"] pub mod bindings;`.
//!
//! Types the IPMI items refer to (`device`, `list_head`, ...) come from
//! `kernel::bindings`, so they are the kernel crate's own.

#![allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::ptr_as_ptr,
    clippy::ptr_cast_constness,
    clippy::cast_lossless,
    clippy::ref_as_ptr,
    clippy::as_underscore,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    improper_ctypes,
    dead_code
)]

include!(env!("IPMI_RS_BINDINGS"));
