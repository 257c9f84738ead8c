// SPDX-License-Identifier: GPL-2.0

//! ipmi_leak_test: leaks one allocation on purpose, for the harness only.
//!
//! The debug boot's leak check must catch a leak from a module that is
//! already unloaded, when kmemleak can no longer name its frames. This
//! module allocates a buffer of an unusual size at load, writes a marker
//! into it and forgets it; the guest test then expects kmemleak to report
//! exactly that object.

use kernel::prelude::*;

module! {
    type: IpmiLeakTest,
    name: "ipmi_leak_test",
    authors: ["The ipmi-rs developers"],
    description: "Leaks one marked buffer at load (harness self-test only)",
    license: "GPL",
}

/// Above the largest kmalloc cache, so that kmemleak reports this exact
/// size rather than the size of a slab object.
const LEAK_SIZE: usize = 12345;
/// Leads the leaked bytes, so that kmemleak's hex dump shows it. It does
/// not say "ipmi": the report must be attributed by its unnamed frame.
const MARKER: &[u8] = b"deliberate leak";

struct IpmiLeakTest;

impl kernel::Module for IpmiLeakTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut buf = KVec::with_capacity(LEAK_SIZE, GFP_KERNEL)?;
        buf.extend_from_slice(MARKER, GFP_KERNEL)?;
        buf.resize(LEAK_SIZE, 0, GFP_KERNEL)?;
        pr_info!("leaking {} bytes at load\n", buf.len());
        // The point of this module: nothing refers to the buffer any more.
        core::mem::forget(buf);
        Ok(IpmiLeakTest)
    }
}
