// SPDX-License-Identifier: GPL-2.0

//! Must not compile: exports `ipmi_addr_length` returning `int` where
//! upstream's prototype returns `unsigned int`. scripts/check.sh builds it
//! and requires ipmi_export! to refuse it, so the check that guards every
//! real export is shown able to fail.

use kernel::ffi::c_int;
use kernel::prelude::*;

#[path = "../../rust/glue"]
pub mod glue {
    pub mod bindings;
    pub mod export;
}

use glue::export::ipmi_export;

module! {
    type: WrongExport,
    name: "wrong_export",
    authors: ["The ipmi-rs developers"],
    description: "Must not build: an export with the wrong prototype",
    license: "GPL",
}

struct WrongExport;

impl kernel::Module for WrongExport {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(WrongExport)
    }
}

ipmi_export! {
    /// The wrong return type on purpose.
    pub extern "C" fn ipmi_addr_length(_addr_type: c_int) -> c_int {
        0
    }
}
