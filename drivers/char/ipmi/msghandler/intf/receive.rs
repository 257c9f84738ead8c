// SPDX-License-Identifier: GPL-2.0

//! What the driver hands back: answers to users' and the handler's own
//! requests, bridged answers and commands (Get Message), events; and the
//! users' callbacks, in order.

use super::*;

/// The "invalid command" answer to a command nobody takes, as it goes
/// to the driver.
#[derive(Clone, Copy)]
pub(super) enum Reply<'a> {
    /// A Send Message request for the BMC (a command from a channel).
    Si(&'a [u8]),
    /// An IPMB-direct response (a command from the bus).
    Direct(&'a [u8]),
}

impl Intf {
    /// `ipmi_smi_msg_received()`.
    ///
    /// # Safety
    ///
    /// `smi` must be a live message the driver gives up.
    pub(crate) unsafe fn received(&self, smi: *mut bindings::ipmi_smi_msg) {
        {
            let mut g = self.inner.lock();
            // SAFETY: the driver gives it to us.
            unsafe { g.received.push(smi) };
            if g.curr == smi {
                g.curr = null_mut();
            }
        }
        self.kick();
    }

    /// `ipmi_smi_watchdog_pretimeout()`.
    pub(crate) fn watchdog_pretimeout(&self) {
        if self.in_shutdown.load(Ordering::Relaxed) {
            return;
        }
        self.pretimeout_due.store(true, Ordering::Release);
        self.kick();
    }

    /// The work item: start the next message, handle what came back,
    /// tell the users.
    pub(crate) fn process(&self) {
        let rtc = self.run_to_completion.load(Ordering::Relaxed);
        loop {
            self.start_next();
            let mut batch = self.inner.lock().received.take_all();
            if batch.len() == 0 {
                break;
            }
            while let Some(smi) = batch.pop() {
                // SAFETY: off our queue, ours.
                unsafe { self.handle(smi, rtc) };
            }
        }
        if rtc {
            // At panic time nobody's callback runs (as upstream); messages
            // without a user (the handler's own) are freed, which is how a
            // panic-time sender learns it was answered.
            loop {
                let msg = self.inner.lock().deliver.pop();
                let Some(msg) = msg else { break };
                // SAFETY: off our queue, ours.
                unsafe { msgs::free_recv(msg) };
            }
            return;
        }
        if self.pretimeout_due.swap(false, Ordering::AcqRel) {
            let users = self.users.lock();
            for u in users.iter() {
                u.pretimeout();
            }
        }
        self.deliver_all();
        self.update_watch();
        self.arm_timer();
    }

    pub(super) fn deliver_all(&self) {
        let _d = self.delivery.lock();
        loop {
            let mut batch = self.inner.lock().deliver.take_all();
            if batch.len() == 0 {
                break;
            }
            while let Some(msg) = batch.pop() {
                self.deliver_one(msg);
            }
        }
    }

    /// Hands `msg` to its user's callback, or frees it if the user is
    /// gone. The caller holds the delivery lock.
    fn deliver_one(&self, msg: *mut bindings::ipmi_recv_msg) {
        // SAFETY: off our queue, ours.
        let user = unsafe { (*msg).user };
        // SAFETY: a message's user is a reference it holds.
        match unsafe { User::from_c(user) } {
            Some(u) if !u.destroyed.load(Ordering::Acquire) => {
                // SAFETY: the user's message; delivery lock held.
                unsafe { u.receive(msg) }
            }
            // SAFETY: ours; no user or a destroyed one.
            _ => unsafe { msgs::free_recv(msg) },
        }
    }

    /// Queues `recv` for its user's callback.
    pub(super) fn deliver(&self, g: &mut Inner, recv: *mut bindings::ipmi_recv_msg) {
        // SAFETY: the caller gives its message to the queue.
        unsafe { g.deliver.push(recv) };
    }

    /// Fills `recv` as the answer `netfn`/`cmd`/`body` and queues it.
    pub(super) fn answer_user(
        &self,
        g: &mut Inner,
        recv: *mut bindings::ipmi_recv_msg,
        recv_type: u32,
        netfn: u8,
        body: &[u8],
    ) {
        let n = body.len().min(MAX_MSG_LENGTH);
        // SAFETY: ours.
        unsafe {
            let r = &mut *recv;
            r.recv_type = recv_type as i32;
            r.msg.netfn = netfn;
            put(&mut r.msg_data[..n], &body[..n]);
            r.msg.data = r.msg_data.as_mut_ptr();
            r.msg.data_len = n as u16;
        }
        self.deliver(g, recv);
    }

    /// Handles one message the driver handed back.
    ///
    /// # Safety
    ///
    /// `smi` must be a live message the caller owns, given up here.
    pub(super) unsafe fn handle(&self, smi: *mut bindings::ipmi_smi_msg, rtc: bool) {
        // SAFETY: ours.
        let m = unsafe { &mut *smi };
        let data_len = usize::try_from(m.data_size)
            .unwrap_or(0)
            .min(MAX_MSG_LENGTH);
        let mut rsp_len = usize::try_from(m.rsp_size).unwrap_or(0).min(MAX_MSG_LENGTH);
        let recv = m.recv_msg;
        if m.type_ == bindings::ipmi_smi_msg_type_IPMI_SMI_MSG_TYPE_IPMB_DIRECT {
            self.handle_direct(m, data_len, rsp_len, rtc);
            // SAFETY: ours, done with.
            unsafe { msgs::free_smi(smi) };
            return;
        }
        let mut kind = route::classify(&m.data[..data_len], &m.rsp[..rsp_len], !recv.is_null());
        if kind == Kind::Broken {
            self.stats
                .malformed_responses
                .fetch_add(1, Ordering::Relaxed);
            crate::warn_limited!(
                "BMC returned a malformed answer for netfn {:#x} cmd {:#x} ({} bytes)\n",
                (m.data[0] >> 2) | 1,
                m.data[1],
                rsp_len
            );
            let a = route::broken_answer(&m.data[..data_len]);
            put(&mut m.rsp[..3], &a);
            rsp_len = 3;
            kind = Kind::Local;
        }
        let rsp = &m.rsp[..rsp_len];
        let now = now_ms();
        match kind {
            Kind::SendAck(cc) => {
                if own_purpose(m.msgid).is_none() && !rtc {
                    self.send_acked(m.msgid, cc, now);
                }
            }
            Kind::ResponseSent(cc) => {
                if !rtc {
                    m.recv_msg = null_mut();
                    let mut g = self.inner.lock();
                    self.answer_user(
                        &mut g,
                        recv,
                        bindings::IPMI_RESPONSE_RESPONSE_TYPE,
                        0,
                        &[cc],
                    );
                    // The netfn of the response the user sent stays.
                    // SAFETY: just queued, still live until delivered.
                    unsafe { (*recv).msg.netfn = m.data.get(4).map_or(0, |b| b >> 2) };
                }
            }
            Kind::GetMessage => {
                if !rtc {
                    self.get_message(rsp, now);
                }
            }
            Kind::Event => {
                if !rtc {
                    self.event(rsp);
                }
            }
            Kind::Broken | Kind::Local => {
                let cc = rsp.get(2).copied().unwrap_or(route::CC_UNSPECIFIED);
                let mut change = Change::default();
                {
                    let mut g = self.inner.lock();
                    if route::is_reset(&m.data[..data_len]) {
                        change = g.maint.reset_ended(cc, now);
                    }
                    if recv.is_null() {
                        self.own_answer(&mut g, m.msgid, rsp, now, &mut change);
                    } else {
                        m.recv_msg = null_mut();
                        self.stats
                            .handled_local_responses
                            .fetch_add(1, Ordering::Relaxed);
                        self.answer_user(
                            &mut g,
                            recv,
                            bindings::IPMI_RESPONSE_RECV_TYPE,
                            rsp[0] >> 2,
                            &rsp[2..],
                        );
                    }
                }
                self.apply(change);
            }
        }
        // SAFETY: ours, done with.
        unsafe { msgs::free_smi(smi) };
    }

    /// Handles a message of an IPMB-direct interface: a command from the
    /// bus, the answer to a user's command, or the report of a response
    /// sent.
    fn handle_direct(
        &self,
        m: &mut bindings::ipmi_smi_msg,
        data_len: usize,
        rsp_len: usize,
        rtc: bool,
    ) {
        let recv = core::mem::replace(&mut m.recv_msg, null_mut());
        let rsp = &m.rsp[..rsp_len];
        let kind = direct::classify(&m.data[..data_len], rsp, !recv.is_null());
        if recv.is_null() {
            match kind {
                direct::Kind::Command(c) if !rtc => {
                    let reply = direct::invalid_cmd_reply(rsp);
                    let reply = reply.as_ref().map(|r| Reply::Direct(&r[..]));
                    self.command(&c.src, c.netfn, c.cmd, c.seq, c.body, reply);
                }
                direct::Kind::Stray => {
                    self.stats
                        .malformed_responses
                        .fetch_add(1, Ordering::Relaxed);
                    crate::warn_limited!(
                        "dropped a malformed message from the bus ({:02x?})\n",
                        &rsp[..rsp.len().min(8)]
                    );
                }
                // Our own "invalid command" answers, sent; or something
                // for a request that had no owner.
                _ => {}
            }
            return;
        }
        let mut g = self.inner.lock();
        match kind {
            direct::Kind::Response(r) => {
                self.stats
                    .handled_local_responses
                    .fetch_add(1, Ordering::Relaxed);
                // SAFETY: the request's message, ours again.
                unsafe {
                    (*recv).addr = crate::glue::abi::c_addr(&r.src);
                    (*recv).msg.cmd = r.cmd;
                }
                self.answer_user(
                    &mut g,
                    recv,
                    bindings::IPMI_RESPONSE_RECV_TYPE,
                    r.netfn,
                    r.body,
                );
            }
            direct::Kind::ResponseSent(cc) => {
                // SAFETY: the request's message, ours again.
                let netfn = unsafe { (*recv).msg.netfn };
                self.answer_user(
                    &mut g,
                    recv,
                    bindings::IPMI_RESPONSE_RESPONSE_TYPE,
                    netfn,
                    &[cc],
                );
            }
            // `classify` gives a command only without a request.
            direct::Kind::Broken(_) | direct::Kind::Command(_) | direct::Kind::Stray => {
                let a = direct::broken_answer(&m.data[..data_len]);
                self.stats
                    .malformed_responses
                    .fetch_add(1, Ordering::Relaxed);
                crate::warn_limited!(
                    "a bus controller returned a malformed answer for netfn {:#x} cmd {:#x} ({} bytes)\n",
                    a[0] >> 2,
                    a[3],
                    rsp.len()
                );
                self.answer_user(
                    &mut g,
                    recv,
                    bindings::IPMI_RESPONSE_RECV_TYPE,
                    a[0] >> 2,
                    &a[direct::HEADER_LEN..],
                );
            }
        }
    }

    pub(super) fn own_answer(
        &self,
        g: &mut Inner,
        msgid: c_long,
        rsp: &[u8],
        now: u64,
        change: &mut Change,
    ) {
        match own_purpose(msgid) {
            Some(Purpose::Query) => {
                let mut a = QueryAnswer {
                    msgid,
                    len: rsp.len().min(64),
                    rsp: [0; 64],
                };
                put(&mut a.rsp[..a.len], &rsp[..a.len]);
                g.answer = Some(a);
                self.answered.notify_all();
            }
            Some(Purpose::Probe) => {
                let ok = rsp.get(2) == Some(&0) && rsp.get(1) == Some(&route::GET_DEVICE_ID_CMD);
                *change = g.maint.probe_answered(ok, now);
                if change.resumed {
                    pr_info!(
                        "interface {}: the BMC answers again after its reset\n",
                        self.num.load(Ordering::Relaxed)
                    );
                }
            }
            _ => {}
        }
    }

    /// The BMC took (cc 0) or refused a Send Message of a bridged request.
    pub(super) fn send_acked(&self, msgid: c_long, cc: u8, now: u64) {
        let id = MsgId::from_raw(msgid as u64);
        let mut g = self.inner.lock();
        if route::send_retryable(cc) {
            g.seq.sent(id, now);
        } else if let Some(p) = g.seq.send_failed(id, now) {
            self.stats
                .sent_bridged_command_errs
                .fetch_add(1, Ordering::Relaxed);
            // SAFETY: the pending request's message, ours now.
            let netfn = unsafe { (*p.recv).msg.netfn } | 1;
            self.answer_user(
                &mut g,
                p.recv,
                bindings::IPMI_RESPONSE_RECV_TYPE,
                netfn,
                &[cc],
            );
        }
    }

    /// A Get Message answer: a response to a bridged request, or a command
    /// for us.
    pub(super) fn get_message(&self, rsp: &[u8], now: u64) {
        if rsp.get(2) != Some(&0) || rsp.len() < 4 {
            return;
        }
        let chan_byte = rsp[3];
        let ch = usize::from(chan_byte & 0x0f);
        let (medium, own) = {
            let g = self.inner.lock();
            (g.medium[ch], g.addr)
        };
        match medium {
            route::MEDIUM_IPMB => {
                let own_addr = |c: u8| own[usize::from(c & 0x0f)];
                let gm = match GetMessage::parse(&rsp[3..], own_addr) {
                    Ok(gm) => gm,
                    Err(e) => {
                        let Some(gm) = self.bad_checksum(e, ch, rsp, || {
                            GetMessage::parse_unchecked(&rsp[3..], own_addr).ok()
                        }) else {
                            return;
                        };
                        gm
                    }
                };
                let f = gm.frame;
                let src = Address::Ipmb {
                    channel: gm.channel,
                    slave_addr: f.src_addr,
                    lun: f.src_lun.value(),
                    broadcast: false,
                };
                let reply = route::ipmb_invalid_cmd_reply(chan_byte, &rsp[4..], own[ch]);
                self.channel_frame(&src, &f, reply.as_ref().map(|r| Reply::Si(&r[..])), now);
            }
            route::MEDIUM_8023LAN | route::MEDIUM_ASYNC => {
                let lm = match LanGetMessage::parse(&rsp[3..]) {
                    Ok(lm) => lm,
                    Err(e) => {
                        let Some(lm) = self.bad_checksum(e, ch, rsp, || {
                            LanGetMessage::parse_unchecked(&rsp[3..]).ok()
                        }) else {
                            return;
                        };
                        lm
                    }
                };
                let f = lm.frame;
                let src = Address::Lan {
                    channel: lm.channel,
                    privilege: lm.privilege,
                    session_handle: lm.session_handle,
                    remote_swid: f.src_addr,
                    local_swid: f.dest_addr,
                    lun: f.src_lun.value(),
                };
                let reply = route::lan_invalid_cmd_reply(lm.channel, &rsp[4..]);
                self.channel_frame(&src, &f, reply.as_ref().map(|r| Reply::Si(&r[..])), now);
            }
            _ => {}
        }
    }

    /// A frame from `src` on one of the BMC's channels: an answer to a
    /// bridged request, or a command for us (`reply` answers it 0xC1 when
    /// nobody registered for it).
    fn channel_frame(&self, src: &Address, f: &Frame<'_>, reply: Option<Reply<'_>>, now: u64) {
        let netfn = f.netfn.value();
        if f.netfn.is_response() {
            let key = answer_key(src, netfn, f.cmd);
            self.bridged_answer(f.seq, &key, netfn, f.body, now);
        } else {
            self.command(src, netfn, f.cmd, f.seq, f.body, reply);
        }
    }

    /// A Get Message answer whose frame did not decode (`e`): dropped if
    /// too short, or if its checksums are wrong and `strict_checksums` is
    /// set; otherwise taken as upstream takes it (`loose`), counted and
    /// logged. The BMC checked the frame when it came in; some BMCs
    /// (OpenIPMI's ipmi_sim) hand on wrong checksums.
    pub(super) fn bad_checksum<T>(
        &self,
        e: crate::ipmi::ipmb::FrameError,
        ch: usize,
        rsp: &[u8],
        loose: impl FnOnce() -> Option<T>,
    ) -> Option<T> {
        use crate::ipmi::ipmb::FrameError;
        let strict = params::strict_checksums.value();
        let taken = match e {
            FrameError::HeaderChecksum | FrameError::BodyChecksum if !strict => loose(),
            _ => None,
        };
        self.stats.bad_checksums.fetch_add(1, Ordering::Relaxed);
        crate::warn_limited!(
            "{} a message from channel {ch}: {e:?} ({:02x?})\n",
            if taken.is_some() { "took" } else { "dropped" },
            &rsp[..rsp.len().min(40)]
        );
        taken
    }

    pub(super) fn bridged_answer(&self, seq: u8, key: &Key, netfn: u8, body: &[u8], now: u64) {
        let mut g = self.inner.lock();
        match g.seq.take_response(seq, key, now) {
            Answer::Matched(p) => {
                self.stats
                    .handled_bridged_responses
                    .fetch_add(1, Ordering::Relaxed);
                self.answer_user(
                    &mut g,
                    p.recv,
                    bindings::IPMI_RESPONSE_RECV_TYPE,
                    netfn,
                    body,
                )
            }
            Answer::Late => {
                self.stats
                    .late_bridged_responses
                    .fetch_add(1, Ordering::Relaxed);
            }
            Answer::Unknown => {
                self.stats
                    .unhandled_bridged_responses
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A command for us from a channel: to the user registered for it, or
    /// answered "invalid command" with `reply`.
    pub(super) fn command(
        &self,
        src: &Address,
        netfn: u8,
        cmd: u8,
        seq: u8,
        body: &[u8],
        reply: Option<Reply<'_>>,
    ) {
        let user = {
            let g = self.inner.lock();
            g.rcvrs.find(netfn, cmd, src.channel())
        };
        let user = user.and_then(|id| {
            let users = self.users.lock();
            users.iter().find(|u| u.id() == id).cloned()
        });
        if let Some(u) = user {
            if self.give_unsolicited(
                &u,
                bindings::IPMI_CMD_RECV_TYPE,
                src,
                c_long::from(seq),
                netfn,
                cmd,
                body,
            ) {
                self.stats.handled_commands.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        self.stats
            .unhandled_commands
            .fetch_add(1, Ordering::Relaxed);
        let _ = match reply {
            Some(Reply::Si(bytes)) => self.send_own_raw(Purpose::Reply, bytes),
            Some(Reply::Direct(bytes)) => self.send_own_direct(Purpose::Reply, bytes),
            None => Ok(()),
        };
    }

    pub(super) fn send_own_raw(&self, purpose: Purpose, bytes: &[u8]) -> Result {
        let (netfn, cmd, data) = match bytes {
            [nl, cmd, data @ ..] => (nl >> 2, *cmd, data),
            _ => return Err(EINVAL),
        };
        self.send_own(purpose, netfn, cmd, data).map(|_| ())
    }

    /// An event from the BMC: to every user that wants events, or kept
    /// for the first one that will.
    pub(super) fn event(&self, rsp: &[u8]) {
        if rsp.len() < 19 || rsp[2] != 0 {
            return;
        }
        let mut record: EventRecord = [0; 16];
        put(&mut record, &rsp[3..19]);
        let users = self.users.lock();
        let mut given = false;
        for u in users
            .iter()
            .filter(|u| u.gets_events.load(Ordering::Acquire))
        {
            given = true;
            self.give_event(u, &record);
        }
        drop(users);
        if !given {
            let mut g = self.inner.lock();
            match g.events.push(&record) {
                Waiting::Queued => self.stats.events.fetch_add(1, Ordering::Relaxed),
                Waiting::Dropped { warn } => {
                    if warn {
                        pr_warn!("event queue full, discarding incoming events\n");
                    }
                    self.stats.dropped_events.fetch_add(1, Ordering::Relaxed)
                }
            };
        }
    }

    pub(super) fn give_event(&self, u: &Arc<User>, record: &EventRecord) {
        let si = Address::SystemInterface { lun: 0 };
        if self.give_unsolicited(
            u,
            bindings::IPMI_ASYNC_EVENT_RECV_TYPE,
            &si,
            0,
            0x07,
            route::READ_EVENT_CMD,
            record,
        ) {
            self.stats.events.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Makes an event or command for `u` and gives it (now, or from its
    /// backlog later); false if it was dropped.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn give_unsolicited(
        &self,
        u: &Arc<User>,
        recv_type: u32,
        src: &Address,
        msgid: c_long,
        netfn: u8,
        cmd: u8,
        body: &[u8],
    ) -> bool {
        let recv = msgs::alloc_recv_msg();
        if recv.is_null() {
            self.stats.out_of_memory.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let n = body.len().min(MAX_MSG_LENGTH);
        // SAFETY: a fresh message of ours.
        unsafe {
            let r = &mut *recv;
            r.recv_type = recv_type as i32;
            r.addr = crate::glue::abi::c_addr(src);
            r.msgid = msgid;
            r.user_msg_data = null_mut();
            r.msg.netfn = netfn;
            r.msg.cmd = cmd;
            put(&mut r.msg_data[..n], &body[..n]);
            r.msg.data = r.msg_data.as_mut_ptr();
            r.msg.data_len = n as u16;
        }
        // SAFETY: ours, given up unless it goes now.
        match unsafe { u.admit_unsolicited(recv) } {
            Admitted::Now => {
                // SAFETY: ours, with no user yet.
                unsafe { User::attach(u, recv, recv_type) };
                let mut g = self.inner.lock();
                self.deliver(&mut g, recv);
                true
            }
            Admitted::Later => true,
            Admitted::Dropped => {
                self.stats
                    .dropped_unsolicited
                    .fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Delivers a user's message from outside the work item (its backlog).
    pub(crate) fn deliver_later(&self, msg: *mut bindings::ipmi_recv_msg) {
        {
            let mut g = self.inner.lock();
            self.deliver(&mut g, msg);
        }
        self.kick();
    }

    /// `ipmi_set_gets_events()`.
    pub(crate) fn set_gets_events(&self, u: &Arc<User>, on: bool) {
        let users = self.users.lock();
        if u.gets_events.swap(on, Ordering::AcqRel) == on {
            return;
        }
        let mut waiting = KVec::<EventRecord>::new();
        {
            let mut g = self.inner.lock();
            if on {
                g.event_waiters += 1;
                g.next_event_poll_ms = 0;
                let mut list = [[0u8; 16]; crate::ipmi::events::MAX_WAITING_EVENTS];
                let mut n = 0;
                g.events.drain(|e| {
                    if let Some(slot) = list.get_mut(n) {
                        *slot = *e;
                        n += 1;
                    }
                });
                for e in &list[..n] {
                    let _ = waiting.push(*e, GFP_ATOMIC);
                }
            } else {
                g.event_waiters = g.event_waiters.saturating_sub(1);
            }
        }
        for e in waiting.iter() {
            self.give_event(u, e);
        }
        drop(users);
        if on {
            self.kick();
            self.arm_timer();
        }
    }
}
