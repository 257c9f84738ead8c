// SPDX-License-Identifier: GPL-2.0

//! An interface: upstream's opaque `struct ipmi_smi`, one BMC behind one
//! system interface driver.
//!
//! Messages go to the driver one at a time (its `sender` contract): the one
//! out is `curr`, the others wait in a high-priority and a normal queue.
//! What the driver hands back (`ipmi_smi_msg_received()`, any context) is
//! queued and handled by the interface's work item, which also starts the
//! next message and calls the users' receive callbacks, never with a lock
//! of ours held that a callback could need. A delayed work item runs the
//! timers: bridged requests' retries and timeouts (millisecond deadlines
//! from the sequence table), maintenance mode and the reset probe, and the
//! once-a-second event poll while a user wants events.

use crate::glue::bindings;
use crate::ipmi::addr::Address;
use crate::ipmi::bridge::{Bridged, LanGetMessage, Target};
use crate::ipmi::cmd_rcvr::CmdRcvrs;
use crate::ipmi::device_id::DeviceId;
use crate::ipmi::events::{EventRecord, Waiting, WaitingEvents};
use crate::ipmi::ipmb::GetMessage;
use crate::ipmi::maintenance::{Admit, Change, Maintenance, Mode, PROBE_INTERVAL_MS};
use crate::ipmi::msg::{Lun, NetFn, MAX_MSG_LENGTH};
use crate::ipmi::request::{check as check_request, RequestError};
use crate::ipmi::route::{self, Kind};
use crate::ipmi::seq::{Answer, Expired, MsgId, SeqTable, Timing};
use crate::kext::sysfs::{AttrGroup, Page, Show};
use crate::kext::work as kwork;
use crate::msgs::{self, Fifo};
use crate::params;
use crate::stats::Stats;
use crate::user::{Admitted, User};
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use kernel::ffi::c_long;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::{new_condvar, new_mutex, new_spinlock_irq, Arc, CondVar, Mutex, SpinLockIrq};
use kernel::time::msecs_to_jiffies;
use kernel::workqueue::{DelayedWork, Work, WorkItem};
use kernel::{impl_has_delayed_work, impl_has_work, new_delayed_work, new_work};

/// Channels an interface has (`IPMI_MAX_CHANNELS`).
pub(crate) const CHANNELS: usize = 16;
/// Command receivers an interface keeps.
const MAX_RCVRS: usize = 64;
/// How long registration waits for each answer of the BMC.
const QUERY_TIMEOUT_MS: u64 = 5000;
/// Event poll period while a user wants events (upstream's).
const EVENT_POLL_MS: u64 = 1000;

/// The msgid of a message the handler sends for itself: this tag in the
/// high bits, what it is for below ([`Purpose`]), a count in the low bits.
const OWN_TAG: i64 = 0x4950_4d49 << 32;
const OWN_TAG_MASK: i64 = !0xffff_ffff;

/// What a message the handler sent for itself is for.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
enum Purpose {
    /// A question registration waits for (Get Device ID, Channel Info).
    Query = 1,
    /// Get Device ID to a resetting BMC: is it back?
    Probe = 2,
    /// The "invalid command" answer to a command nobody took.
    Reply = 3,
}

fn own_msgid(purpose: Purpose, count: u32) -> c_long {
    (OWN_TAG | ((purpose as i64) << 24) | i64::from(count & 0xff_ffff)) as c_long
}

fn own_purpose(msgid: c_long) -> Option<Purpose> {
    let id = msgid as i64;
    if id & OWN_TAG_MASK != OWN_TAG {
        return None;
    }
    match (id >> 24) & 0xff {
        1 => Some(Purpose::Query),
        2 => Some(Purpose::Probe),
        3 => Some(Purpose::Reply),
        _ => None,
    }
}

/// The address answers to a request to `addr` come from: an IPMB
/// broadcast is answered by one controller (upstream does the same).
fn answer_source(addr: &Address) -> Address {
    match *addr {
        Address::Ipmb {
            channel,
            slave_addr,
            lun,
            ..
        } => Address::Ipmb {
            channel,
            slave_addr,
            lun,
            broadcast: false,
        },
        other => other,
    }
}

/// Copies `src` into the start of `dst` (as much as fits). Not
/// `copy_from_slice`, whose length-mismatch panic objtool does not know
/// as a dead end.
fn put(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

/// Milliseconds of the monotonic clock.
pub(crate) fn now_ms() -> u64 {
    // SAFETY: no preconditions.
    let ns = unsafe { kernel::bindings::ktime_get() };
    u64::try_from(ns / 1_000_000).unwrap_or(0)
}

/// What an answer to a bridged request must match besides its sequence
/// number: kind (1 IPMB, 2 LAN), channel, remote address or SWID, LUN,
/// request netfn, cmd, LAN session handle.
type Key = [u8; 7];

/// A bridged request waiting in the sequence table.
struct Pending {
    /// The user's receive message, with the request in it.
    recv: *mut bindings::ipmi_recv_msg,
    addr: Address,
    source_addr: u8,
    source_lun: u8,
}

impl Pending {
    fn key(&self) -> Key {
        // SAFETY: the pending request owns its live receive message.
        let m = unsafe { &(*self.recv).msg };
        match self.addr {
            Address::Lan {
                channel,
                session_handle,
                remote_swid,
                lun,
                ..
            } => [
                2,
                channel,
                remote_swid,
                lun,
                m.netfn & !1,
                m.cmd,
                session_handle,
            ],
            Address::Ipmb {
                channel,
                slave_addr,
                lun,
                ..
            } => [1, channel, slave_addr, lun, m.netfn & !1, m.cmd, 0],
            _ => [0; 7],
        }
    }

    /// Writes the Send Message carrying the request with sequence number
    /// `seq` into `out`.
    fn encode(&self, seq: u8, out: &mut [u8]) -> Result<usize> {
        // SAFETY: as in `key`.
        let m = unsafe { &(*self.recv).msg };
        // SAFETY: `data` points at `data_len` bytes of the message's own
        // `msg_data` (`Intf::request` copied them there).
        let data = unsafe { core::slice::from_raw_parts(m.data, usize::from(m.data_len)) };
        let target = match self.addr {
            Address::Ipmb {
                channel,
                slave_addr,
                lun,
                broadcast,
            } => Target::Ipmb {
                channel,
                broadcast,
                slave_addr,
                lun: Lun::from_low_bits(lun),
            },
            Address::Lan {
                channel,
                session_handle,
                remote_swid,
                local_swid,
                lun,
                ..
            } => Target::Lan {
                channel,
                session_handle,
                remote_swid,
                local_swid,
                lun: Lun::from_low_bits(lun),
            },
            _ => return Err(EINVAL),
        };
        Bridged {
            target,
            netfn: NetFn::from_netfn_lun(m.netfn << 2),
            cmd: m.cmd,
            data,
            seq,
            source_addr: self.source_addr,
            source_lun: Lun::from_low_bits(self.source_lun),
        }
        .encode(out)
        .map_err(|_| EMSGSIZE)
    }
}

/// An answer registration waits for.
struct QueryAnswer {
    msgid: c_long,
    len: usize,
    rsp: [u8; 64],
}

/// The interface state behind its spinlock.
struct Inner {
    /// The message the driver has, or null.
    curr: *mut bindings::ipmi_smi_msg,
    xmit_hp: Fifo<bindings::ipmi_smi_msg>,
    xmit: Fifo<bindings::ipmi_smi_msg>,
    /// What the driver handed back, not handled yet.
    received: Fifo<bindings::ipmi_smi_msg>,
    /// Receive messages for the users' callbacks, in order.
    deliver: Fifo<bindings::ipmi_recv_msg>,
    seq: SeqTable<Pending, Key>,
    maint: Maintenance,
    rcvrs: CmdRcvrs<usize, MAX_RCVRS>,
    events: WaitingEvents,
    /// Users with events on.
    event_waiters: u32,
    /// Users with a pretimeout callback.
    watchdog_users: u32,
    next_event_poll_ms: u64,
    /// Our address and LUN on each channel.
    addr: [u8; CHANNELS],
    lun: [u8; CHANNELS],
    /// Each channel's medium, from the channel scan.
    medium: [u8; CHANNELS],
    /// The BMC's IPMI version (major, minor).
    version: (u8, u8),
    /// Its Device ID answer and GUID, from registration.
    device_id: Option<DeviceId>,
    guid: Option<[u8; 16]>,
    answer: Option<QueryAnswer>,
    own_count: u32,
    /// The time the timer is set for.
    timer_at: Option<u64>,
}

// SAFETY: the raw pointers are messages the state owns alone.
unsafe impl Send for Inner {}

/// One interface.
#[pin_data]
pub(crate) struct Intf {
    /// Its number (`/dev/ipmiN`), -1 until registered and once gone.
    pub(crate) num: AtomicI32,
    handlers: *const bindings::ipmi_smi_handlers,
    send_info: *mut c_void,
    pub(crate) si_dev: *mut kernel::bindings::device,
    pub(crate) owner: *mut kernel::bindings::module,
    #[pin]
    inner: SpinLockIrq<Inner>,
    #[pin]
    answered: CondVar,
    /// The users; taken before `inner` when both are.
    #[pin]
    pub(crate) users: Mutex<KVec<Arc<User>>>,
    /// Held while users' callbacks run; destroy waits for it.
    #[pin]
    delivery: Mutex<()>,
    /// Serialises `set_need_watch` calls in the order of their masks.
    #[pin]
    watch: SpinLockIrq<u32>,
    #[pin]
    work: Work<Intf, 0>,
    #[pin]
    timer: DelayedWork<Intf, 1>,
    /// `nr_users`, `nr_msgs`, `maintenance_mode` on the driver's device.
    #[pin]
    sysfs: AttrGroup<Intf>,
    pub(crate) run_to_completion: AtomicBool,
    pub(crate) in_shutdown: AtomicBool,
    pretimeout_due: AtomicBool,
    pub(crate) nr_users: AtomicU32,
    /// The counters (debugfs).
    pub(crate) stats: Stats,
}

// SAFETY: the driver's table and context pointers are only passed back to
// the driver, which allows calls from any context; the rest is
// synchronised.
unsafe impl Send for Intf {}
// SAFETY: as above.
unsafe impl Sync for Intf {}

impl Show for Intf {
    const NAMES: &'static [&'static CStr] = &[c"nr_users", c"nr_msgs", c"maintenance_mode"];

    fn show(&self, index: usize, out: &mut Page<'_>) -> core::fmt::Result {
        use core::fmt::Write;
        match index {
            0 => writeln!(out, "{}", self.nr_users.load(Ordering::Relaxed)),
            1 => {
                let users = self.users.lock();
                let n: u32 = users.iter().map(|u| u.nr_msgs()).sum();
                writeln!(out, "{n}")
            }
            _ => {
                // upstream: the state, then the automatic mode's time left.
                let (state, left) = {
                    let g = self.inner.lock();
                    (g.maint.state().raw(), g.maint.auto_remaining_ms(now_ms()))
                };
                writeln!(out, "{state} {left}")
            }
        }
    }
}

impl_has_work! {
    impl HasWork<Self, 0> for Intf { self.work }
}
impl_has_delayed_work! {
    impl HasDelayedWork<Self, 1> for Intf { self.timer }
}

impl WorkItem<0> for Intf {
    type Pointer = Arc<Intf>;
    fn run(this: Arc<Intf>) {
        this.process();
    }
}

impl WorkItem<1> for Intf {
    type Pointer = Arc<Intf>;
    fn run(this: Arc<Intf>) {
        this.tick();
    }
}

/// Channel medium byte for a system-interface-only BMC (before IPMI 1.5):
/// channel 0 is taken as IPMB, as upstream does.
const fn default_media() -> [u8; CHANNELS] {
    let mut m = [0u8; CHANNELS];
    m[0] = route::MEDIUM_IPMB;
    m
}

impl Intf {
    /// A new interface for the driver's `handlers` and `send_info`.
    pub(crate) fn new(
        owner: *mut kernel::bindings::module,
        handlers: *const bindings::ipmi_smi_handlers,
        send_info: *mut c_void,
        si_dev: *mut kernel::bindings::device,
        slave_addr: u8,
    ) -> Result<Arc<Intf>> {
        let mut addr = [bindings::IPMI_BMC_SLAVE_ADDR as u8; CHANNELS];
        if slave_addr != 0 {
            addr[0] = slave_addr;
        }
        let inner = Inner {
            curr: null_mut(),
            xmit_hp: Fifo::new(),
            xmit: Fifo::new(),
            received: Fifo::new(),
            deliver: Fifo::new(),
            seq: SeqTable::new(),
            maint: Maintenance::new(),
            rcvrs: CmdRcvrs::new(),
            events: WaitingEvents::new(),
            event_waiters: 0,
            watchdog_users: 0,
            next_event_poll_ms: 0,
            addr,
            lun: [2; CHANNELS],
            medium: default_media(),
            version: (0, 0),
            device_id: None,
            guid: None,
            answer: None,
            own_count: 0,
            timer_at: None,
        };
        Arc::pin_init(
            pin_init!(Intf {
                num: AtomicI32::new(-1),
                handlers,
                send_info,
                si_dev,
                owner,
                inner <- new_spinlock_irq!(inner, "ipmi_intf"),
                answered <- new_condvar!("ipmi_intf_answered"),
                users <- new_mutex!(KVec::new(), "ipmi_intf_users"),
                delivery <- new_mutex!((), "ipmi_intf_delivery"),
                watch <- new_spinlock_irq!(0, "ipmi_intf_watch"),
                work <- new_work!("ipmi_intf_work"),
                timer <- new_delayed_work!("ipmi_intf_timer"),
                sysfs <- AttrGroup::new(),
                run_to_completion: AtomicBool::new(false),
                in_shutdown: AtomicBool::new(false),
                pretimeout_due: AtomicBool::new(false),
                nr_users: AtomicU32::new(0),
                stats: Stats::default(),
            }),
            GFP_KERNEL,
        )
    }

    pub(crate) fn handlers(&self) -> &bindings::ipmi_smi_handlers {
        // SAFETY: the driver's table lives until it unregisters, after
        // which nothing of ours calls it.
        unsafe { &*self.handlers }
    }

    pub(crate) fn send_info(&self) -> *mut c_void {
        self.send_info
    }

    /// The C handle given to the driver: one reference of its own.
    pub(crate) fn to_c(this: &Arc<Intf>) -> *mut bindings::ipmi_smi {
        Arc::into_raw(this.clone()).cast_mut().cast()
    }

    /// Borrows the interface behind the driver's handle.
    ///
    /// # Safety
    ///
    /// `p` must be a handle from [`Intf::to_c`] not yet given back.
    pub(crate) unsafe fn from_c<'a>(p: *mut bindings::ipmi_smi) -> &'a Intf {
        // SAFETY: the handle holds a reference until it is given back.
        unsafe { &*p.cast_const().cast::<Intf>() }
    }

    /// Takes back the driver's reference.
    ///
    /// # Safety
    ///
    /// As for [`Intf::from_c`]; the handle is not used again.
    pub(crate) unsafe fn take_c(p: *mut bindings::ipmi_smi) -> Arc<Intf> {
        // SAFETY: the caller gives up the reference `to_c` made.
        unsafe { Arc::from_raw(p.cast_const().cast()) }
    }

    fn arc(&self) -> Arc<Intf> {
        // SAFETY: every `Intf` lives in an `Arc` (`Intf::new`), and the
        // caller holds one of its references.
        unsafe { kernel::sync::ArcBorrow::from_raw(core::ptr::from_ref(self)) }.into()
    }

    /// Runs the work item now, or queues it.
    fn kick(&self) {
        // Going away: `stop()` cancelled the work, `finish()` frees what
        // is queued; nothing may queue it again.
        if self.in_shutdown.load(Ordering::Acquire) {
            return;
        }
        if self.run_to_completion.load(Ordering::Relaxed) {
            self.process();
        } else {
            let _ = kwork::system_percpu().enqueue::<Arc<Intf>, 0>(self.arc());
        }
    }

    // ---- sending ---------------------------------------------------------

    /// Queues `smi` for the driver (`high` first) and sends it at once if
    /// the driver is idle. Returns the driver's refusal, in which case the
    /// message is still the caller's.
    fn send(&self, smi: *mut bindings::ipmi_smi_msg, high: bool) -> core::result::Result<(), i32> {
        if self.in_shutdown.load(Ordering::Acquire) {
            return Err(ENODEV.to_errno());
        }
        {
            let mut g = self.inner.lock();
            if !g.curr.is_null() {
                // SAFETY: `smi` is the caller's, given to the queue.
                unsafe {
                    if high {
                        g.xmit_hp.push(smi)
                    } else {
                        g.xmit.push(smi)
                    }
                }
                return Ok(());
            }
            g.curr = smi;
        }
        self.hand_to_driver(smi)
    }

    fn hand_to_driver(&self, smi: *mut bindings::ipmi_smi_msg) -> core::result::Result<(), i32> {
        let sender = self.handlers().sender;
        // SAFETY: the driver's sender with its context; it owns the
        // message until it hands it back, unless it refuses it.
        let rv = match sender {
            // SAFETY: as above.
            Some(f) => unsafe { f(self.send_info, smi) },
            None => ENODEV.to_errno(),
        };
        if rv == 0 {
            return Ok(());
        }
        let mut g = self.inner.lock();
        if g.curr == smi {
            g.curr = null_mut();
        }
        drop(g);
        self.kick();
        Err(rv)
    }

    /// Starts the next queued message if the driver is idle; a refused
    /// one ends with an error answer.
    fn start_next(&self) {
        loop {
            let smi = {
                let mut g = self.inner.lock();
                if !g.curr.is_null() || self.in_shutdown.load(Ordering::Relaxed) {
                    return;
                }
                let Some(smi) = g.xmit_hp.pop().or_else(|| g.xmit.pop()) else {
                    return;
                };
                g.curr = smi;
                smi
            };
            if self.hand_to_driver(smi).is_ok() {
                return;
            }
            // SAFETY: the driver refused `smi`, so it is ours again.
            unsafe { self.fail_smi(smi, route::CC_UNSPECIFIED) };
        }
    }

    /// Ends a message that never got an answer as if the BMC answered
    /// `cc`.
    ///
    /// # Safety
    ///
    /// `smi` must be a live message the caller owns, given up here.
    unsafe fn fail_smi(&self, smi: *mut bindings::ipmi_smi_msg, cc: u8) {
        // SAFETY: ours.
        let m = unsafe { &mut *smi };
        let answer = [m.data[0] | 0x04, m.data[1], cc];
        put(&mut m.rsp[..3], &answer);
        m.rsp_size = 3;
        let mut g = self.inner.lock();
        // SAFETY: ours, given to the queue.
        unsafe { g.received.push(smi) };
    }

    // ---- requests --------------------------------------------------------

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
    unsafe fn format(
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
            Address::IpmbDirect { .. } => Err(EAFNOSUPPORT),
        }
    }

    /// Tells the driver what a maintenance change means for it.
    fn apply(&self, change: Change) {
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
    fn send_own(&self, purpose: Purpose, netfn: u8, cmd: u8, data: &[u8]) -> Result<c_long> {
        let smi = msgs::alloc_smi_msg();
        if smi.is_null() {
            return Err(ENOMEM);
        }
        let msgid = {
            let mut g = self.inner.lock();
            g.own_count = g.own_count.wrapping_add(1);
            own_msgid(purpose, g.own_count)
        };
        // SAFETY: a fresh message of ours.
        unsafe {
            let m = &mut *smi;
            m.data[0] = netfn << 2;
            m.data[1] = cmd;
            put(&mut m.data[2..2 + data.len()], data);
            m.data_size = (2 + data.len()) as i32;
            m.msgid = msgid;
        }
        if self.send(smi, true).is_err() {
            // SAFETY: refused, ours again.
            unsafe { msgs::free_smi(smi) };
            return Err(EIO);
        }
        Ok(msgid)
    }

    /// Asks the BMC and waits (bounded) for its answer: registration only.
    fn query(&self, cmd: u8, data: &[u8]) -> Result<([u8; 64], usize)> {
        let msgid = self.send_own(Purpose::Query, 0x06, cmd, data)?;
        let deadline = now_ms() + QUERY_TIMEOUT_MS;
        let mut g = self.inner.lock();
        loop {
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
        if version < (1, 5) {
            return Ok(());
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

    /// The BMC's Device ID answer and GUID, from registration.
    pub(crate) fn identity(&self) -> (Option<DeviceId>, Option<[u8; 16]>) {
        let g = self.inner.lock();
        (g.device_id, g.guid)
    }

    /// The BMC's IPMI version.
    pub(crate) fn version(&self) -> (u8, u8) {
        self.inner.lock().version
    }

    // ---- what the driver hands back -----------------------------------

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
            let smi = self.inner.lock().received.pop();
            let Some(smi) = smi else { break };
            // SAFETY: off our queue, ours.
            unsafe { self.handle(smi, rtc) };
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

    fn deliver_all(&self) {
        let _d = self.delivery.lock();
        loop {
            let msg = self.inner.lock().deliver.pop();
            let Some(msg) = msg else { break };
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
    }

    /// Queues `recv` for its user's callback.
    fn deliver(&self, g: &mut Inner, recv: *mut bindings::ipmi_recv_msg) {
        // SAFETY: the caller gives its message to the queue.
        unsafe { g.deliver.push(recv) };
    }

    /// Fills `recv` as the answer `netfn`/`cmd`/`body` and queues it.
    fn answer_user(
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
    unsafe fn handle(&self, smi: *mut bindings::ipmi_smi_msg, rtc: bool) {
        // SAFETY: ours.
        let m = unsafe { &mut *smi };
        let data_len = usize::try_from(m.data_size)
            .unwrap_or(0)
            .min(MAX_MSG_LENGTH);
        let mut rsp_len = usize::try_from(m.rsp_size).unwrap_or(0).min(MAX_MSG_LENGTH);
        let recv = m.recv_msg;
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

    fn own_answer(&self, g: &mut Inner, msgid: c_long, rsp: &[u8], now: u64, change: &mut Change) {
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
    fn send_acked(&self, msgid: c_long, cc: u8, now: u64) {
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
    fn get_message(&self, rsp: &[u8], now: u64) {
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
                let key = [
                    1,
                    gm.channel,
                    f.src_addr,
                    f.src_lun.value(),
                    f.netfn.value() & !1,
                    f.cmd,
                    0,
                ];
                if f.netfn.is_response() {
                    self.bridged_answer(f.seq, &key, f.netfn.value(), f.body, now);
                } else {
                    let reply = route::ipmb_invalid_cmd_reply(chan_byte, &rsp[4..], own[ch]);
                    self.command(
                        &src,
                        f.netfn.value(),
                        f.cmd,
                        f.seq,
                        f.body,
                        reply.as_ref().map(|r| &r[..]),
                    );
                }
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
                let key = [
                    2,
                    lm.channel,
                    f.src_addr,
                    f.src_lun.value(),
                    f.netfn.value() & !1,
                    f.cmd,
                    lm.session_handle,
                ];
                if f.netfn.is_response() {
                    self.bridged_answer(f.seq, &key, f.netfn.value(), f.body, now);
                } else {
                    let reply = route::lan_invalid_cmd_reply(lm.channel, &rsp[4..]);
                    self.command(
                        &src,
                        f.netfn.value(),
                        f.cmd,
                        f.seq,
                        f.body,
                        reply.as_ref().map(|r| &r[..]),
                    );
                }
            }
            _ => {}
        }
    }

    /// A Get Message answer whose frame did not decode (`e`): dropped if
    /// too short, or if its checksums are wrong and `strict_checksums` is
    /// set; otherwise taken as upstream takes it (`loose`), counted and
    /// logged. The BMC checked the frame when it came in; some BMCs
    /// (OpenIPMI's ipmi_sim) hand on wrong checksums.
    fn bad_checksum<T>(
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

    fn bridged_answer(&self, seq: u8, key: &Key, netfn: u8, body: &[u8], now: u64) {
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
    fn command(
        &self,
        src: &Address,
        netfn: u8,
        cmd: u8,
        seq: u8,
        body: &[u8],
        reply: Option<&[u8]>,
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
        let Some(reply) = reply else { return };
        let _ = self.send_own_raw(Purpose::Reply, reply);
    }

    fn send_own_raw(&self, purpose: Purpose, bytes: &[u8]) -> Result {
        let (netfn, cmd, data) = match bytes {
            [nl, cmd, data @ ..] => (nl >> 2, *cmd, data),
            _ => return Err(EINVAL),
        };
        self.send_own(purpose, netfn, cmd, data).map(|_| ())
    }

    /// An event from the BMC: to every user that wants events, or kept
    /// for the first one that will.
    fn event(&self, rsp: &[u8]) {
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

    fn give_event(&self, u: &Arc<User>, record: &EventRecord) {
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
    fn give_unsolicited(
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

    // ---- users ---------------------------------------------------------

    /// Adds `u` to the users (`max_users` at most).
    pub(crate) fn add_user(&self, u: &Arc<User>) -> Result {
        let mut users = self.users.lock();
        if self.in_shutdown.load(Ordering::Relaxed) {
            return Err(ENODEV);
        }
        if users.len() >= params::max_users.value() as usize {
            return Err(EBUSY);
        }
        users.push(u.clone(), GFP_KERNEL)?;
        self.nr_users.store(users.len() as u32, Ordering::Relaxed);
        if u.wants_pretimeouts() {
            self.inner.lock().watchdog_users += 1;
        }
        drop(users);
        self.update_watch();
        Ok(())
    }

    /// Takes a destroyed user off the interface: its requests, receivers,
    /// undelivered messages; returns once no callback of it runs.
    pub(crate) fn forget_user(&self, u: &Arc<User>) {
        let mut gone = Fifo::new();
        {
            let mut users = self.users.lock();
            if let Some(i) = users.iter().position(|x| Arc::ptr_eq(x, u)) {
                users.remove(i).ok();
            }
            self.nr_users.store(users.len() as u32, Ordering::Relaxed);
            let mut g = self.inner.lock();
            if u.gets_events.load(Ordering::Relaxed) {
                g.event_waiters = g.event_waiters.saturating_sub(1);
            }
            if u.wants_pretimeouts() {
                g.watchdog_users = g.watchdog_users.saturating_sub(1);
            }
            let now = now_ms();
            let mut withdrawn = KVec::<*mut bindings::ipmi_recv_msg>::new();
            let _ = withdrawn.reserve(crate::ipmi::seq::SLOTS, GFP_ATOMIC);
            g.seq.withdraw(
                now,
                |p| u.owns(p.recv),
                |p| {
                    let _ = withdrawn.push(p.recv, GFP_ATOMIC);
                },
            );
            for r in withdrawn.iter() {
                // SAFETY: withdrawn from the table, ours.
                unsafe { gone.push(*r) };
            }
            g.rcvrs.remove_user(u.id());
            g.deliver.take_if(|m| u.owns(m), &mut gone);
        }
        while let Some(m) = gone.pop() {
            // SAFETY: taken off our queues, ours.
            unsafe { msgs::free_recv(m) };
        }
        // A callback of this user may be running: wait for it.
        drop(self.delivery.lock());
        self.update_watch();
    }

    /// `ipmi_register_for_cmd()`.
    pub(crate) fn register_for_cmd(&self, u: &User, netfn: u8, cmd: u8, chans: u32) -> Result {
        let r = self.inner.lock().rcvrs.register(u.id(), netfn, cmd, chans);
        r.map_err(|e| Error::from_errno(e.errno()))?;
        self.update_watch();
        Ok(())
    }

    /// `ipmi_unregister_for_cmd()`.
    pub(crate) fn unregister_for_cmd(&self, u: &User, netfn: u8, cmd: u8, chans: u32) -> Result {
        let r = self
            .inner
            .lock()
            .rcvrs
            .unregister(u.id(), netfn, cmd, chans);
        r.map_err(|e| Error::from_errno(e.errno()))?;
        self.update_watch();
        Ok(())
    }

    /// Our address on `channel`.
    pub(crate) fn my_address(&self, channel: u32) -> Result<u8> {
        let g = self.inner.lock();
        g.addr.get(channel as usize).copied().ok_or(EINVAL)
    }

    /// Sets our address on `channel`.
    pub(crate) fn set_my_address(&self, channel: u32, addr: u8) -> Result {
        let mut g = self.inner.lock();
        *g.addr.get_mut(channel as usize).ok_or(EINVAL)? = addr;
        Ok(())
    }

    /// Our LUN on `channel`.
    pub(crate) fn my_lun(&self, channel: u32) -> Result<u8> {
        let g = self.inner.lock();
        g.lun.get(channel as usize).copied().ok_or(EINVAL)
    }

    /// Sets our LUN on `channel`.
    pub(crate) fn set_my_lun(&self, channel: u32, lun: u8) -> Result {
        let mut g = self.inner.lock();
        *g.lun.get_mut(channel as usize).ok_or(EINVAL)? = lun & 3;
        Ok(())
    }

    /// The maintenance mode.
    pub(crate) fn maintenance_mode(&self) -> i32 {
        self.inner.lock().maint.mode().raw()
    }

    /// What debugfs shows: the state, then the counters.
    pub(crate) fn show(&self, mut f: impl FnMut(&'static str, u64)) {
        let (users, in_table, waiting_events, mode, state) = {
            let g = self.inner.lock();
            (
                self.nr_users.load(Ordering::Relaxed),
                g.seq.in_use(),
                g.events.len(),
                g.maint.mode().raw(),
                g.maint.state().raw(),
            )
        };
        f("users", u64::from(users));
        f("bridged_in_flight", in_table as u64);
        f("waiting_events", waiting_events as u64);
        f("maintenance_mode", mode as u64);
        f("maintenance_state", u64::from(state));
        self.stats.each(f);
    }

    /// Sets the maintenance mode.
    pub(crate) fn set_maintenance_mode(&self, mode: i32) -> Result {
        let mode = Mode::from_raw(mode).ok_or(EINVAL)?;
        let change = self.inner.lock().maint.set_mode(mode);
        self.apply(change);
        self.arm_timer();
        Ok(())
    }

    // ---- watching and timers -----------------------------------------

    /// Tells the driver what to watch for: messages while bridged requests
    /// wait, the watchdog while a user wants pretimeouts, commands while
    /// a receiver is registered.
    fn update_watch(&self) {
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
    fn arm_timer(&self) {
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
    fn tick(&self) {
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

    // ---- panic and polling ---------------------------------------------

    /// The kernel panics: run to completion from now on, and tell the
    /// users (without waiting for their lock, which a stopped CPU may hold).
    pub(crate) fn enter_panic(&self) {
        self.run_to_completion.store(true, Ordering::Release);
        if let Some(f) = self.handlers().set_run_to_completion {
            // SAFETY: the driver's callback with its context.
            unsafe { f(self.send_info, true) };
        }
        if let Some(users) = self.users.try_lock() {
            for u in users.iter() {
                u.panic();
            }
        }
    }

    /// Polls the driver (`ipmi_poll_interface()`, panic time).
    pub(crate) fn poll(&self) {
        if let Some(f) = self.handlers().poll {
            // SAFETY: the driver's callback with its context.
            unsafe { f(self.send_info) };
        }
        if self.run_to_completion.load(Ordering::Relaxed) {
            self.process();
        }
    }

    // ---- going away ---------------------------------------------------

    /// First half of going away (`ipmi_unregister_smi()` after the
    /// interface left the list, or a failed registration): stops the work
    /// and the timer, tells the driver to stop.
    pub(crate) fn stop(this: &Arc<Intf>) {
        this.in_shutdown.store(true, Ordering::Release);
        // SAFETY: added once at registration, removed once here.
        unsafe { this.sysfs.remove() };
        kwork::cancel_sync::<Intf, 0>(this);
        kwork::cancel_delayed_sync::<Intf, 1>(this);
        if let Some(f) = this.handlers().shutdown {
            // SAFETY: the driver's callback with its context.
            unsafe { f(this.send_info) };
        }
    }

    /// Second half: destroys the users, frees what waited.
    pub(crate) fn finish(this: &Arc<Intf>) {
        loop {
            let u = this.users.lock().first().cloned();
            let Some(u) = u else { break };
            User::destroy(&u, true);
        }
        let mut gone_recv = Fifo::new();
        let mut gone_smi = Fifo::new();
        {
            let mut g = this.inner.lock();
            let now = now_ms();
            let mut withdrawn = KVec::<*mut bindings::ipmi_recv_msg>::new();
            let _ = withdrawn.reserve(crate::ipmi::seq::SLOTS, GFP_ATOMIC);
            g.seq.withdraw(
                now,
                |_| true,
                |p| {
                    let _ = withdrawn.push(p.recv, GFP_ATOMIC);
                },
            );
            for r in withdrawn.iter() {
                // SAFETY: ours.
                unsafe { gone_recv.push(*r) };
            }
            g.deliver.take_if(|_| true, &mut gone_recv);
            while let Some(s) = g
                .xmit_hp
                .pop()
                .or_else(|| g.xmit.pop())
                .or_else(|| g.received.pop())
            {
                // SAFETY: ours.
                unsafe { gone_smi.push(s) };
            }
            g.curr = null_mut();
        }
        while let Some(s) = gone_smi.pop() {
            // SAFETY: ours; a user message it carries goes too.
            unsafe {
                let r = core::mem::replace(&mut (*s).recv_msg, null_mut());
                if !r.is_null() {
                    msgs::free_recv(r);
                }
                msgs::free_smi(s);
            }
        }
        while let Some(m) = gone_recv.pop() {
            // SAFETY: ours.
            unsafe { msgs::free_recv(m) };
        }
    }
}
