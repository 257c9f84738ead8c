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
use crate::ipmi::direct;
use crate::ipmi::events::{EventRecord, Waiting, WaitingEvents};
use crate::ipmi::ipmb::{Frame, GetMessage};
use crate::ipmi::maintenance::{Admit, Change, Maintenance, Mode, PROBE_INTERVAL_MS};
use crate::ipmi::msg::{Lun, NetFn, MAX_MSG_LENGTH};
use crate::ipmi::request::{check as check_request, RequestError};
use crate::ipmi::route::{self, Kind};
use crate::ipmi::seq::{Answer, Expired, MsgId, SeqTable, Timing};
use crate::kext::inplace::write_with;
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

mod receive;
mod request;
mod timer;

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

/// The key of a bridged exchange with `addr` for `netfn` (request or
/// response: the low bit is ignored) and `cmd`: the same for a request
/// when it goes and for the answer that comes from there.
fn answer_key(addr: &Address, netfn: u8, cmd: u8) -> Key {
    match *addr {
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
            netfn & !1,
            cmd,
            session_handle,
        ],
        Address::Ipmb {
            channel,
            slave_addr,
            lun,
            ..
        } => [1, channel, slave_addr, lun, netfn & !1, cmd, 0],
        _ => [0; 7],
    }
}

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
        answer_key(&self.addr, m.netfn, m.cmd)
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
    /// A changed identity for the identity work to act on.
    new_identity: Option<NewIdentity>,
}

/// The BMC's identity read again and found changed (see
/// `bmc::follow_identity`).
#[derive(Clone, Copy)]
pub(crate) struct NewIdentity {
    pub(crate) id: DeviceId,
    pub(crate) guid: Option<[u8; 16]>,
    /// Another BMC: the interface moves to that BMC's device.
    pub(crate) moved: bool,
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
    /// Held by a query (registration, an identity read, a channel scan):
    /// one at a time, as there is one answer slot.
    #[pin]
    querying: Mutex<()>,
    /// Serialises `set_need_watch` calls in the order of their masks.
    #[pin]
    watch: SpinLockIrq<u32>,
    #[pin]
    work: Work<Intf, 0>,
    #[pin]
    timer: DelayedWork<Intf, 1>,
    /// Acts on a changed identity, away from the sysfs read that found it.
    #[pin]
    identity_work: Work<Intf, 2>,
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
impl_has_work! {
    impl HasWork<Self, 2> for Intf { self.identity_work }
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

impl WorkItem<2> for Intf {
    type Pointer = Arc<Intf>;
    fn run(this: Arc<Intf>) {
        crate::bmc::follow_identity(&this);
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
        // The tables are KiB and this runs deep in a driver's probe: they
        // are written in place (see kext::inplace).
        let inner = init!(Inner {
            curr: null_mut(),
            xmit_hp: Fifo::new(),
            xmit: Fifo::new(),
            received: Fifo::new(),
            deliver: Fifo::new(),
            // SAFETY: `write_empty` writes a whole empty table.
            seq <- unsafe { write_with(SeqTable::write_empty) },
            maint: Maintenance::new(),
            // SAFETY: as above.
            rcvrs <- unsafe { write_with(CmdRcvrs::write_empty) },
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
            new_identity: None,
        });
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
                querying <- new_mutex!((), "ipmi_intf_querying"),
                watch <- new_spinlock_irq!(0, "ipmi_intf_watch"),
                work <- new_work!("ipmi_intf_work"),
                timer <- new_delayed_work!("ipmi_intf_timer"),
                identity_work <- new_work!("ipmi_intf_identity"),
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

    /// Hands a changed identity to the identity work (queued unless the
    /// interface is going, which cancels it).
    pub(crate) fn identity_changed(&self, new: NewIdentity) {
        let mut g = self.inner.lock();
        if self.in_shutdown.load(Ordering::Acquire) {
            return;
        }
        g.new_identity = Some(new);
        let _ = kwork::system_dfl().enqueue::<Arc<Intf>, 2>(self.arc());
    }

    /// The changed identity the identity work is to act on.
    pub(crate) fn take_new_identity(&self) -> Option<NewIdentity> {
        self.inner.lock().new_identity.take()
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
        r.map_err(|e| Error::from_errno(-e.errno()))?;
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
        r.map_err(|e| Error::from_errno(-e.errno()))?;
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

    // ---- panic and polling ---------------------------------------------

    /// Whether the locks the panic path takes are free. The panic notifier
    /// runs after the other CPUs were stopped: a lock held now (by one of
    /// them, or by this CPU where the panic interrupted it) stays held for
    /// ever, and taking it would hang the panic instead of reporting it.
    /// Free now stays free, since nothing else runs.
    pub(crate) fn free_at_panic(&self) -> bool {
        self.inner.try_lock().is_some() && self.watch.try_lock().is_some()
    }

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
        {
            // Under the lock: `identity_changed` queues only before this,
            // and a query waiting for its answer wakes up to it.
            let _g = this.inner.lock();
            this.in_shutdown.store(true, Ordering::Release);
            this.answered.notify_all();
        }
        // SAFETY: added once at registration, removed once here.
        unsafe { this.sysfs.remove() };
        kwork::cancel_sync::<Intf, 0>(this);
        kwork::cancel_delayed_sync::<Intf, 1>(this);
        kwork::cancel_sync::<Intf, 2>(this);
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
