// SPDX-License-Identifier: GPL-2.0

//! What the driver watches for, and the timer: retries and timeouts of
//! bridged requests, maintenance mode, the reset probe, the event poll.

use super::*;

impl Intf {
    /// Tells the driver what to watch for: messages while bridged requests
    /// wait, the watchdog while a user wants pretimeouts, commands while
    /// a receiver is registered.
    pub(super) fn update_watch(&self) {
        let mut last = self.watch.lock();
        let mask = {
            let g = self.inner.lock();
            let mut mask = 0;
            if g.seq.in_use() > 0 {
                mask |= bindings::IPMI_WATCH_MASK_CHECK_MESSAGES;
            }
            if g.watchdog_users > 0 {
                mask |= bindings::IPMI_WATCH_MASK_CHECK_WATCHDOG;
            }
            if !g.rcvrs.is_empty() {
                mask |= bindings::IPMI_WATCH_MASK_CHECK_COMMANDS;
            }
            mask
        };
        if mask == *last || self.in_shutdown.load(Ordering::Relaxed) {
            return;
        }
        *last = mask;
        if let Some(f) = self.handlers().set_need_watch {
            // SAFETY: the driver's callback with its context.
            unsafe { f(self.send_info, mask) };
        }
    }

    /// Sets the timer for the earliest thing due.
    pub(super) fn arm_timer(&self) {
        if self.in_shutdown.load(Ordering::Relaxed)
            || self.run_to_completion.load(Ordering::Relaxed)
        {
            return;
        }
        let now = now_ms();
        let due = {
            let mut g = self.inner.lock();
            let mut due = g.seq.next_deadline();
            let mut consider = |t: Option<u64>| {
                if let Some(t) = t {
                    due = Some(due.map_or(t, |d: u64| d.min(t)));
                }
            };
            consider(g.maint.next_deadline());
            if g.event_waiters > 0 {
                consider(Some(g.next_event_poll_ms.max(now)));
            }
            let due = due.map(|d| d.max(now));
            match (due, g.timer_at) {
                (None, _) => return,
                (Some(d), Some(t)) if t <= d && t >= now => return,
                (Some(d), _) => {
                    g.timer_at = Some(d);
                    d
                }
            }
        };
        let delay = (due - now).min(u64::from(u32::MAX)) as u32;
        kwork::mod_delayed::<Intf, 1>(kwork::system_dfl(), &self.arc(), msecs_to_jiffies(delay));
    }

    /// The timer: retries and timeouts, maintenance, the reset probe, the
    /// event poll.
    pub(super) fn tick(&self) {
        if self.in_shutdown.load(Ordering::Relaxed) {
            return;
        }
        let now = now_ms();
        let mut resend = Fifo::<bindings::ipmi_smi_msg>::new();
        let mut probe = false;
        let mut poll_events = false;
        let change;
        {
            let mut g = self.inner.lock();
            g.timer_at = None;
            let mut timed_out = KVec::<(*mut bindings::ipmi_recv_msg, u8)>::new();
            let _ = timed_out.reserve(crate::ipmi::seq::SLOTS, GFP_ATOMIC);
            g.seq.expire(now, |e| match e {
                Expired::Resend(id, p) => {
                    let smi = msgs::alloc_smi_msg();
                    if smi.is_null() {
                        return;
                    }
                    // SAFETY: a fresh message of ours.
                    let m = unsafe { &mut *smi };
                    match p.encode(id.seq(), &mut m.data) {
                        Ok(n) => {
                            self.stats
                                .retransmitted_bridged_commands
                                .fetch_add(1, Ordering::Relaxed);
                            m.data_size = n as i32;
                            m.msgid = id.raw() as c_long;
                            // SAFETY: ours, given to the local queue.
                            unsafe { resend.push(smi) };
                        }
                        // SAFETY: ours, unused.
                        Err(_) => unsafe { msgs::free_smi(smi) },
                    }
                }
                Expired::TimedOut(p, _) => {
                    self.stats
                        .timed_out_bridged_commands
                        .fetch_add(1, Ordering::Relaxed);
                    // SAFETY: the request's message.
                    let netfn = unsafe { (*p.recv).msg.netfn } | 1;
                    let _ = timed_out.push((p.recv, netfn), GFP_ATOMIC);
                }
            });
            for (recv, netfn) in timed_out.iter() {
                self.answer_user(
                    &mut g,
                    *recv,
                    bindings::IPMI_RESPONSE_RECV_TYPE,
                    *netfn,
                    &[route::CC_TIMEOUT],
                );
            }
            change = g.maint.tick(now);
            if g.maint.probe_due(now) {
                g.maint.probe_sent();
                probe = true;
            }
            if g.event_waiters > 0 && now >= g.next_event_poll_ms {
                g.next_event_poll_ms = now + EVENT_POLL_MS;
                poll_events = true;
            }
        }
        self.apply(change);
        while let Some(smi) = resend.pop() {
            // A refused resend is the table's timer's again.
            if self.send(smi, false).is_err() {
                // SAFETY: refused, ours again.
                unsafe { msgs::free_smi(smi) };
            }
        }
        if probe {
            self.stats.reset_probes.fetch_add(1, Ordering::Relaxed);
            let _ = self.send_own(Purpose::Probe, 0x06, route::GET_DEVICE_ID_CMD, &[]);
        }
        if poll_events {
            if let Some(f) = self.handlers().request_events {
                // SAFETY: the driver's callback with its context.
                unsafe { f(self.send_info) };
            }
        }
        self.process();
        let _ = PROBE_INTERVAL_MS;
    }
}
