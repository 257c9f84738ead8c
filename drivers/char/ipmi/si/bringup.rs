// SPDX-License-Identifier: GPL-2.0

//! A bound interface, registered or still waiting for its BMC.
//!
//! Upstream gives an interface one chance at probe: a BMC that is still
//! starting (after a power cycle or a `mc reset`), busy, or briefly
//! unreachable leaves the machine without IPMI until the module is loaded
//! again. Here the probe's Get Device ID is tried once while binding; if
//! the BMC does not answer well, the device stays bound with its registers
//! claimed and a work item asks again, 1 s later, then doubling up to once
//! a minute, for as long as the device is bound (on the long-work queue: a
//! try sleeps up to the request time limit). The interface registers
//! with the message handler the first time the BMC answers.

use crate::engine::{DevRef, Engine};
use crate::glue::smi::Registration;
use crate::kext::ioregs::IoRegs;
use crate::kext::work::cancel_delayed_sync;
use crate::{probe_bmc, register, SiConfig};
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::time::{msecs_to_jiffies, Instant, Monotonic};
use kernel::workqueue::{self, DelayedWork, WorkItem};
use kernel::{impl_has_delayed_work, new_delayed_work, new_mutex};

/// First wait before asking a silent BMC again.
const FIRST_RETRY_MS: u32 = 1_000;
/// Longest wait between two tries.
const MAX_RETRY_MS: u32 = 60_000;

/// An interface whose BMC has not answered yet.
struct Waiting {
    regs: IoRegs,
    config: SiConfig,
    dev: DevRef,
    tries: u32,
    since: Instant<Monotonic>,
}

/// Where an interface stands.
enum Stage {
    /// Retried in the background.
    Waiting(Waiting),
    /// Registered with the message handler (until dropped).
    Up { _registration: Registration<Engine> },
    /// Unbound, or failed for good.
    Gone,
}

#[pin_data]
struct Slot {
    #[pin]
    retry: DelayedWork<Slot>,
    #[pin]
    stage: Mutex<Stage>,
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for Slot { self.retry }
}

impl WorkItem for Slot {
    type Pointer = Arc<Slot>;

    fn run(this: Arc<Slot>) {
        let next = this.try_again();
        if let Some(delay_ms) = next {
            // Fails only while the binding cancels it: then it is over.
            let _ = workqueue::system_long().enqueue_delayed(this, msecs_to_jiffies(delay_ms));
        }
    }
}

impl Slot {
    /// One more try of a waiting interface; the delay before the next, if
    /// one is needed.
    fn try_again(&self) -> Option<u32> {
        let mut stage = self.stage.lock();
        let Stage::Waiting(waiting) = &mut *stage else {
            return None;
        };
        waiting.tries = waiting.tries.saturating_add(1);
        let probed = match probe_bmc(&waiting.regs, waiting.config.si_type) {
            Ok(probed) => probed,
            Err(_) => return Some(retry_delay_ms(waiting.tries)),
        };
        let Stage::Waiting(waiting) = core::mem::replace(&mut *stage, Stage::Gone) else {
            return None;
        };
        let dev_ref = waiting.dev.clone();
        let dev = dev_ref.device();
        let secs = (Instant::<Monotonic>::now() - waiting.since).as_millis() / 1000;
        dev_info!(
            dev,
            "the BMC answered after {} tries ({} s); registering the interface\n",
            waiting.tries + 1,
            secs
        );
        match register(waiting.regs, probed, &waiting.config, waiting.dev) {
            Ok(registration) => {
                *stage = Stage::Up {
                    _registration: registration,
                }
            }
            Err(e) => dev_err!(dev, "registering the interface failed: {:?}\n", e),
        }
        None
    }
}

/// Wait after `tries` failed tries: 1 s, doubling, at most a minute.
fn retry_delay_ms(tries: u32) -> u32 {
    FIRST_RETRY_MS
        .saturating_mul(1u32 << tries.saturating_sub(1).min(6))
        .min(MAX_RETRY_MS)
}

/// A bound interface: dropping it stops any retry and unregisters the
/// interface.
pub(crate) struct Bound {
    slot: Arc<Slot>,
}

impl Bound {
    /// Brings up the interface at `regs`: registered now if its BMC
    /// answers, else waiting with a retry queued.
    pub(crate) fn new(
        dev: &kernel::device::Device,
        dev_ref: DevRef,
        regs: IoRegs,
        config: SiConfig,
    ) -> Result<Bound> {
        let stage = match probe_bmc(&regs, config.si_type) {
            Ok(probed) => Stage::Up {
                _registration: register(regs, probed, &config, dev_ref)?,
            },
            Err(_) => {
                dev_warn!(
                    dev,
                    "the BMC does not answer yet; asking again in the background\n"
                );
                Stage::Waiting(Waiting {
                    regs,
                    config,
                    dev: dev_ref,
                    tries: 1,
                    since: Instant::now(),
                })
            }
        };
        let waiting = matches!(stage, Stage::Waiting(_));
        let slot = Arc::pin_init(
            pin_init!(Slot {
                retry <- new_delayed_work!("ipmi_si_retry"),
                stage <- new_mutex!(stage, "ipmi_si_stage"),
            }),
            GFP_KERNEL,
        )?;
        if waiting {
            let _ = workqueue::system_long()
                .enqueue_delayed(slot.clone(), msecs_to_jiffies(retry_delay_ms(1)));
        }
        Ok(Bound { slot })
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        cancel_delayed_sync(&self.slot);
        let stage = core::mem::replace(&mut *self.slot.stage.lock(), Stage::Gone);
        // Unregistered (or the registers released) outside the lock.
        drop(stage);
    }
}
