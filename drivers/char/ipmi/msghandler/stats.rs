// SPDX-License-Identifier: GPL-2.0

//! The handler's counters, per interface. upstream counts 28 things in
//! `intf->stats` and shows none of them; these are named after upstream's
//! where they count the same thing, and shown in debugfs.

use core::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// One interface's counters.
        #[derive(Default)]
        pub(crate) struct Stats {
            $($(#[$doc])* pub(crate) $name: AtomicU64,)*
        }

        impl Stats {
            /// Each counter's name and value, in declaration order.
            pub(crate) fn each(&self, mut f: impl FnMut(&'static str, u64)) {
                $(f(stringify!($name), self.$name.load(Ordering::Relaxed));)*
            }
        }
    };
}

counters! {
    /// Requests for the BMC itself sent to the driver.
    sent_local_commands,
    /// Requests refused before sending (bad address, netfn, command).
    sent_invalid_commands,
    /// Answers of the BMC to those delivered.
    handled_local_responses,
    /// Bridged requests sent over IPMB.
    sent_ipmb_commands,
    /// Bridged requests sent to a LAN session.
    sent_lan_commands,
    /// Bridged requests the BMC refused to send (Send Message failed).
    sent_bridged_command_errs,
    /// Bridged requests sent again after a timeout.
    retransmitted_bridged_commands,
    /// Bridged requests that ended with a timeout (0xC3).
    timed_out_bridged_commands,
    /// Responses to received commands sent back.
    sent_responses,
    /// Answers to bridged requests delivered.
    handled_bridged_responses,
    /// Answers to bridged requests that matched nothing in flight.
    unhandled_bridged_responses,
    /// Answers to a request that already ended (matched a quarantined
    /// slot): never handed to a newer request.
    late_bridged_responses,
    /// Commands from a channel delivered to the user registered for them.
    handled_commands,
    /// Commands nobody registered for, answered "invalid command" (0xC1).
    unhandled_commands,
    /// Commands or events dropped: the user was at its unsolicited limit.
    dropped_unsolicited,
    /// Events delivered (per user) or queued for a user to come.
    events,
    /// Events dropped because the queue of waiting events was full.
    dropped_events,
    /// Get Message frames with a wrong checksum (taken unless
    /// `strict_checksums`).
    bad_checksums,
    /// Answers from the driver that were too short or for another request.
    malformed_responses,
    /// Get Device ID probes sent to a BMC in reset.
    reset_probes,
    /// Messages lost for want of memory.
    out_of_memory,
}
