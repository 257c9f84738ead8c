// SPDX-License-Identifier: GPL-2.0

//! ipmi_leak_test: leaks allocations on purpose, for the harness only.
//!
//! The debug boot's leak check must catch a leak from a module that is
//! already unloaded, when kmemleak can no longer name its frames. This
//! module allocates buffers of an unusual size at load, writes a marker
//! into each and forgets them; the guest test then expects kmemleak to
//! report them. Four, not one: kmemleak scans conservatively, and a stale
//! copy of an address (in memory it scans) hides that one buffer for as
//! long as it lasts; a lone buffer went unreported in about one debug
//! boot of three.

use kernel::prelude::*;

module! {
    type: IpmiLeakTest,
    name: "ipmi_leak_test",
    authors: ["The ipmi-rs developers"],
    description: "Leaks four marked buffers at load (harness self-test only)",
    license: "GPL",
}

/// Buffers leaked.
const LEAKS: usize = 4;
/// Above the largest kmalloc cache, so that kmemleak reports this exact
/// size rather than the size of a slab object.
const LEAK_SIZE: usize = 12345;
/// Leads the leaked bytes, so that kmemleak's hex dump shows it. It does
/// not say "ipmi": the report must be attributed by its unnamed frame.
const MARKER: &[u8] = b"deliberate leak";

struct IpmiLeakTest;

impl kernel::Module for IpmiLeakTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        for _ in 0..LEAKS {
            let mut buf = KVec::with_capacity(LEAK_SIZE, GFP_KERNEL)?;
            buf.extend_from_slice(MARKER, GFP_KERNEL)?;
            buf.resize(LEAK_SIZE, 0, GFP_KERNEL)?;
            // The point of this module: nothing refers to the buffer any
            // more.
            core::mem::forget(buf);
        }
        pr_info!("leaking {LEAKS} x {LEAK_SIZE} bytes at load\n");
        Ok(IpmiLeakTest)
    }
}
