// SPDX-License-Identifier: GPL-2.0

//! An interface's requests: from users (formatted for the system interface
//! or bridged in Send Message), and the handler's own (registration's
//! questions).

use super::*;

impl Intf {
    /// A request from `user` (None: the handler's own, at panic time).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn request(
        &self,
        user: Option<&Arc<User>>,
        addr: &Address,
        msgid: c_long,
        msg: &bindings::kernel_ipmi_msg,
        user_msg_data: *mut c_void,
        supplied_smi: *mut bindings::ipmi_smi_msg,
        supplied_recv: *mut bindings::ipmi_recv_msg,
        high: bool,
        retries: i32,
        retry_ms: u32,
    ) -> Result {
        if self.in_shutdown.load(Ordering::Relaxed) {
            return Err(ENODEV);
        }
        let len = usize::from(msg.data_len);
        if len > MAX_MSG_LENGTH {
            return Err(EMSGSIZE);
        }
        let data: &[u8] = if len == 0 || msg.data.is_null() {
            &[]
        } else {
            // SAFETY: the caller's message points at `data_len` bytes.
            unsafe { core::slice::from_raw_parts(msg.data, len) }
        };
        // Upstream's order: an interface that cannot take IPMB-direct
        // says so before the request is looked at.
        if matches!(addr, Address::IpmbDirect { .. }) && !self.handles_ipmb_direct() {
            return Err(EAFNOSUPPORT);
        }
        check_request(addr, msg.netfn, len).map_err(|e| match e {
            RequestError::TooLong => EMSGSIZE,
            _ => EINVAL,
        })?;
        if let Some(u) = user {
            u.start_request()?;
        }
        let recv = if supplied_recv.is_null() {
            msgs::alloc_recv_msg()
        } else {
            supplied_recv
        };
        if recv.is_null() {
            if let Some(u) = user {
                u.abandon_request();
            }
            return Err(ENOMEM);
        }
        // SAFETY: `recv` is ours (fresh or supplied for this request).
        unsafe {
            let r = &mut *recv;
            r.user = null_mut();
            if let Some(u) = user {
                User::attach(u, recv, bindings::IPMI_RESPONSE_RECV_TYPE);
            } else {
                r.recv_type = bindings::IPMI_RESPONSE_RECV_TYPE as i32;
            }
            r.msgid = msgid;
            r.user_msg_data = user_msg_data;
            r.addr = crate::glue::abi::c_addr(&answer_source(addr));
            r.msg.netfn = msg.netfn;
            r.msg.cmd = msg.cmd;
            put(&mut r.msg_data[..len], data);
            r.msg.data = r.msg_data.as_mut_ptr();
            r.msg.data_len = len as u16;
        }
        let smi = if supplied_smi.is_null() {
            msgs::alloc_smi_msg()
        } else {
            supplied_smi
        };
        if !smi.is_null() {
            // SAFETY: `smi` is ours.
            unsafe {
                (*smi).recv_msg = null_mut();
                (*smi).type_ = bindings::ipmi_smi_msg_type_IPMI_SMI_MSG_TYPE_NORMAL;
            }
        }
        let fail = move |e: Error| {
            if !smi.is_null() {
                // SAFETY: ours, never handed out; the receive message is
                // dealt with below.
                unsafe { (*smi).recv_msg = null_mut() };
            }
            if supplied_smi.is_null() && !smi.is_null() {
                // SAFETY: ours, never handed out.
                unsafe { msgs::free_smi(smi) };
            }
            if supplied_recv.is_null() {
                // SAFETY: ours, never handed out.
                unsafe { msgs::free_recv(recv) };
            } else {
                // SAFETY: the caller keeps its message; only our claim on
                // the user ends.
                unsafe {
                    let u = core::mem::replace(&mut (*recv).user, null_mut());
                    if !u.is_null() {
                        User::detach(u, (*recv).recv_type);
                    }
                }
            }
            Err(e)
        };
        if smi.is_null() {
            return fail(ENOMEM);
        }
        let now = now_ms();
        let mut in_table = false;
        let mut change = Change::default();
        let formatted = {
            let mut g = self.inner.lock();
            // SAFETY: `smi` and `recv` are ours.
            unsafe {
                self.format(
                    &mut g,
                    addr,
                    msg.netfn,
                    msg.cmd,
                    data,
                    smi,
                    recv,
                    retries,
                    retry_ms,
                    now,
                    &mut in_table,
                    &mut change,
                )
            }
        };
        if let Err(e) = formatted {
            if e == EINVAL {
                self.stats
                    .sent_invalid_commands
                    .fetch_add(1, Ordering::Relaxed);
            }
            return fail(e);
        }
        self.apply(change);
        // `smi` goes to the queue or the driver.
        if self.send(smi, high).is_err() {
            if in_table {
                // The BMC never took it: the table's timer resends it.
                if supplied_smi.is_null() {
                    // SAFETY: the driver refused it; ours again.
                    unsafe { msgs::free_smi(smi) };
                }
            } else {
                // The driver refused it: ours again, with the request.
                return fail(EIO);
            }
        }
        if in_table {
            self.update_watch();
            self.arm_timer();
        }
        Ok(())
    }

    /// Builds the message for the driver (upstream's i_ipmi_req_*).
    ///
    /// # Safety
    ///
    /// `smi` and `recv` must be live messages the caller owns.
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn format(
        &self,
        g: &mut Inner,
        addr: &Address,
        netfn: u8,
        cmd: u8,
        data: &[u8],
        smi: *mut bindings::ipmi_smi_msg,
        recv: *mut bindings::ipmi_recv_msg,
        retries: i32,
        retry_ms: u32,
        now: u64,
        in_table: &mut bool,
        change: &mut Change,
    ) -> Result {
        // SAFETY: the caller's.
        let m = unsafe { &mut *smi };
        match *addr {
            Address::SystemInterface { lun } => {
                if netfn & 1 == 1 || lun > 3 {
                    return Err(EINVAL);
                }
                if netfn == 0x06
                    && matches!(
                        cmd,
                        route::SEND_MSG_CMD | route::GET_MSG_CMD | route::READ_EVENT_CMD
                    )
                {
                    return Err(EINVAL);
                }
                let timeout = params::maintenance_mode_timeout_ms.value();
                let timeout = u32::try_from(timeout).unwrap_or(u32::MAX);
                let (admit, c) = g.maint.admit(netfn, cmd, timeout, now);
                *change = c;
                if admit == Admit::Busy {
                    return Err(EBUSY);
                }
                if data.len() + 2 > MAX_MSG_LENGTH {
                    return Err(EMSGSIZE);
                }
                m.data[0] = (netfn << 2) | (lun & 3);
                m.data[1] = cmd;
                put(&mut m.data[2..2 + data.len()], data);
                m.data_size = (data.len() + 2) as i32;
                // SAFETY: the caller's.
                m.msgid = unsafe { (*recv).msgid };
                m.recv_msg = recv;
                self.stats
                    .sent_local_commands
                    .fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Address::Ipmb { channel, .. } | Address::Lan { channel, .. } => {
                if g.maint.state() == crate::ipmi::maintenance::State::Reset {
                    return Err(EBUSY);
                }
                let ch = usize::from(channel);
                let medium = *g.medium.get(ch).ok_or(EINVAL)?;
                let ok = match addr {
                    Address::Ipmb { .. } => medium == route::MEDIUM_IPMB,
                    _ => medium == route::MEDIUM_8023LAN || medium == route::MEDIUM_ASYNC,
                };
                if !ok {
                    return Err(EINVAL);
                }
                let pending = Pending {
                    recv,
                    addr: *addr,
                    source_addr: g.addr[ch],
                    source_lun: g.lun[ch],
                };
                if netfn & 1 == 1 {
                    // A response to a command we received: the user's
                    // msgid is the command's sequence number.
                    // SAFETY: the caller's.
                    let seq = unsafe { (*recv).msgid } as u8 & 0x3f;
                    let n = pending.encode(seq, &mut m.data)?;
                    m.data_size = n as i32;
                    // SAFETY: the caller's.
                    m.msgid = unsafe { (*recv).msgid };
                    m.recv_msg = recv;
                    self.stats.sent_responses.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                let broadcast = matches!(
                    addr,
                    Address::Ipmb {
                        broadcast: true,
                        ..
                    }
                );
                let slow = g.maint.slow_retries();
                let retries = if retries < 0 {
                    params::default_max_retries.value()
                } else {
                    retries as u32
                };
                let timeout_ms = if retry_ms != 0 {
                    retry_ms
                } else if slow {
                    params::default_maintenance_retry_ms.value() as u32
                } else {
                    params::default_retry_ms.value() as u32
                };
                let timing = Timing {
                    timeout_ms,
                    retries: u8::try_from(retries).unwrap_or(u8::MAX),
                };
                let key = pending.key();
                let id = g
                    .seq
                    .insert(key, pending, timing, broadcast, now)
                    .map_err(|_| EAGAIN)?;
                let encoded = {
                    let p = Pending {
                        recv,
                        addr: *addr,
                        source_addr: g.addr[ch],
                        source_lun: g.lun[ch],
                    };
                    p.encode(id.seq(), &mut m.data)
                };
                match encoded {
                    Ok(n) => {
                        m.data_size = n as i32;
                        m.msgid = id.raw() as c_long;
                        m.recv_msg = null_mut();
                        *in_table = true;
                        let sent = match addr {
                            Address::Lan { .. } => &self.stats.sent_lan_commands,
                            _ => &self.stats.sent_ipmb_commands,
                        };
                        sent.fetch_add(1, Ordering::Relaxed);
                        Ok(())
                    }
                    Err(e) => {
                        // Gives the request back to the caller, who frees it.
                        let _ = g.seq.send_failed(id, now);
                        Err(e)
                    }
                }
            }
            Address::IpmbDirect { .. } => {
                if !self.handles_ipmb_direct() {
                    return Err(EAFNOSUPPORT);
                }
                // SAFETY: the caller's.
                let msgid = unsafe { (*recv).msgid };
                // A command's seq, or for a response the seq of the command
                // it answers: the low bits of the user's msgid (upstream's).
                let n = direct::encode(addr, netfn, cmd, msgid as u8 & 0x3f, data, &mut m.data)
                    .map_err(|_| EMSGSIZE)?;
                m.data_size = n as i32;
                m.type_ = bindings::ipmi_smi_msg_type_IPMI_SMI_MSG_TYPE_IPMB_DIRECT;
                m.msgid = msgid;
                m.recv_msg = recv;
                Ok(())
            }
        }
    }

    /// Whether the driver takes IPMB-direct messages (it is on the bus
    /// itself, as upstream's ipmi_ipmb).
    pub(crate) fn handles_ipmb_direct(&self) -> bool {
        self.handlers().flags & bindings::IPMI_SMI_CAN_HANDLE_IPMB_DIRECT != 0
    }

    /// Tells the driver what a maintenance change means for it.
    pub(super) fn apply(&self, change: Change) {
        if let Some(on) = change.firmware {
            if let Some(f) = self.handlers().set_maintenance_mode {
                // SAFETY: the driver's callback with its context.
                unsafe { f(self.send_info, on) };
            }
        }
        if change.resumed {
            self.arm_timer();
        }
    }

    /// Sends a request of the handler's own (system interface, LUN 0).
    pub(super) fn send_own(
        &self,
        purpose: Purpose,
        netfn: u8,
        cmd: u8,
        data: &[u8],
    ) -> Result<c_long> {
        self.send_own_msg(purpose, |m| {
            m.data[0] = netfn << 2;
            m.data[1] = cmd;
            put(&mut m.data[2..2 + data.len()], data);
            m.data_size = (2 + data.len()) as i32;
        })
    }

    /// Sends `bytes` (an IPMB-direct header and data) for the handler
    /// itself: the answer to a command from the bus nobody took.
    pub(super) fn send_own_direct(&self, purpose: Purpose, bytes: &[u8]) -> Result {
        let n = bytes.len().min(MAX_MSG_LENGTH);
        self.send_own_msg(purpose, |m| {
            put(&mut m.data[..n], &bytes[..n]);
            m.data_size = n as i32;
            m.type_ = bindings::ipmi_smi_msg_type_IPMI_SMI_MSG_TYPE_IPMB_DIRECT;
        })
        .map(|_| ())
    }

    /// Sends a message of the handler's own, numbered for `purpose`, its
    /// bytes written by `fill`; its msgid.
    fn send_own_msg(
        &self,
        purpose: Purpose,
        fill: impl FnOnce(&mut bindings::ipmi_smi_msg),
    ) -> Result<c_long> {
        let smi = msgs::alloc_smi_msg();
        if smi.is_null() {
            return Err(ENOMEM);
        }
        let msgid = {
            let mut g = self.inner.lock();
            g.own_count = g.own_count.wrapping_add(1);
            own_msgid(purpose, g.own_count)
        };
        // SAFETY: a fresh message of ours, its header reset by the
        // allocation (no receive message, normal type).
        unsafe {
            let m = &mut *smi;
            fill(m);
            m.msgid = msgid;
        }
        if self.send(smi, true).is_err() {
            // SAFETY: refused, ours again.
            unsafe { msgs::free_smi(smi) };
            return Err(EIO);
        }
        Ok(msgid)
    }

    /// Asks the BMC and waits (bounded) for its answer; an interface that
    /// is going ends the wait at once.
    pub(super) fn query(&self, cmd: u8, data: &[u8]) -> Result<([u8; 64], usize)> {
        let _one = self.querying.lock();
        let msgid = self.send_own(Purpose::Query, 0x06, cmd, data)?;
        let deadline = now_ms() + QUERY_TIMEOUT_MS;
        let mut g = self.inner.lock();
        loop {
            if self.in_shutdown.load(Ordering::Acquire) {
                return Err(ENODEV);
            }
            if let Some(a) = g.answer.take() {
                if a.msgid == msgid {
                    return Ok((a.rsp, a.len));
                }
            }
            let now = now_ms();
            if now >= deadline {
                return Err(ETIMEDOUT);
            }
            let _ = self
                .answered
                .wait_interruptible_timeout(&mut g, msecs_to_jiffies((deadline - now) as u32));
        }
    }

    /// Registration's questions: Device ID (the IPMI version), then the
    /// channels' media. A BMC that does not answer fails registration
    /// after a bounded wait instead of hanging the driver's probe.
    pub(crate) fn discover(&self) -> Result {
        let mut id = None;
        for _ in 0..3 {
            match self.query(route::GET_DEVICE_ID_CMD, &[]) {
                Ok((rsp, n)) if n >= 3 => {
                    match DeviceId::decode(NetFn::from_netfn_lun(rsp[0]), rsp[1], &rsp[2..n]) {
                        Ok(d) => {
                            id = Some(d);
                            break;
                        }
                        Err(_) => continue,
                    }
                }
                Ok(_) => continue,
                Err(ETIMEDOUT) => return Err(ETIMEDOUT),
                Err(e) => return Err(e),
            }
        }
        let id = id.ok_or(EIO)?;
        let version = id.ipmi_version();
        // Get Device GUID: the BMC's identity for its device (optional).
        let guid = match self.query(route::GET_DEVICE_GUID_CMD, &[]) {
            Ok((rsp, n)) if n >= 19 && rsp[2] == 0 => {
                let mut g = [0u8; 16];
                put(&mut g, &rsp[3..19]);
                Some(g)
            }
            Ok(_) => None,
            Err(e) => return Err(e),
        };
        {
            let mut g = self.inner.lock();
            g.version = version;
            g.device_id = Some(id);
            g.guid = guid;
        }
        self.scan_channels()
    }

    /// Asks the BMC for each channel's medium (Get Channel Info, channel
    /// 0 up to the first it refuses): at registration, and again when the
    /// BMC's identity changed. Before IPMI 1.5, channel 0 is IPMB.
    pub(crate) fn scan_channels(&self) -> Result {
        {
            let mut g = self.inner.lock();
            if g.version < (1, 5) {
                g.medium = default_media();
                return Ok(());
            }
        }
        let mut media = [0u8; CHANNELS];
        for ch in 0..CHANNELS as u8 {
            let (rsp, n) = self.query(route::GET_CHANNEL_INFO_CMD, &[ch])?;
            let cc = if n >= 3 {
                rsp[2]
            } else {
                route::CC_UNSPECIFIED
            };
            if cc != 0 || n < 5 {
                if ch == 0 && cc == route::CC_INVALID_CMD {
                    // No Get Channel Info: channel 0 is IPMB.
                    media = default_media();
                }
                break;
            }
            media[usize::from(ch)] = rsp[4] & 0x7f;
        }
        self.inner.lock().medium = media;
        Ok(())
    }

    /// Shows `nr_users`, `nr_msgs` and `maintenance_mode` on the driver's
    /// device, as upstream does.
    pub(crate) fn add_sysfs(this: &Arc<Intf>) -> Result {
        // SAFETY: the group lives in the interface it shows, pinned in its
        // `Arc`; `stop()` removes it before the driver's device can go.
        unsafe { this.sysfs.add(this, this.si_dev) }
    }

    /// Asks the BMC for its Device ID and GUID again (the BMC device's
    /// attributes, read 10 s after the last time, as upstream does: a
    /// firmware update changes the revisions without re-registering the
    /// interface). `None` while the BMC is in maintenance (resetting or
    /// being updated) or when it does not answer: the caller keeps what
    /// it has. Bounded like registration's questions.
    pub(crate) fn refresh_identity(&self) -> Option<(DeviceId, Option<[u8; 16]>)> {
        if self.inner.lock().maint.state() != crate::ipmi::maintenance::State::Off {
            return None;
        }
        let (rsp, n) = self.query(route::GET_DEVICE_ID_CMD, &[]).ok()?;
        let id = DeviceId::decode(NetFn::from_netfn_lun(rsp[0]), rsp[1], &rsp[2..n.max(2)]).ok()?;
        let guid = match self.query(route::GET_DEVICE_GUID_CMD, &[]) {
            Ok((rsp, n)) if n >= 19 && rsp[2] == 0 => {
                let mut g = [0u8; 16];
                put(&mut g, &rsp[3..19]);
                Some(g)
            }
            _ => None,
        };
        let mut g = self.inner.lock();
        g.version = id.ipmi_version();
        g.device_id = Some(id);
        if guid.is_some() {
            g.guid = guid;
        }
        Some((id, g.guid))
    }

    /// The BMC's Device ID answer and GUID, from registration.
    pub(crate) fn identity(&self) -> (Option<DeviceId>, Option<[u8; 16]>) {
        let g = self.inner.lock();
        (g.device_id, g.guid)
    }

    /// The BMC's IPMI version.
    pub(crate) fn version(&self) -> (u8, u8) {
        self.inner.lock().version
    }
}
