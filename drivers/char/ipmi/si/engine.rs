// SPDX-License-Identifier: GPL-2.0

//! One system interface at work: the machine (KCS or BT) and the policy
//! of the shared core, driven by the interrupt, a high-resolution timer
//! and the handler's calls, under one IRQ-safe lock.
//!
//! Every entry point runs [`State::pump`] under the lock: it moves the
//! machine until it has to wait, ends transactions and starts the next
//! one, and says when it wants to run again. The timer is armed or
//! stopped under the same lock, so that no path can leave a transaction
//! without a wake-up. Messages for the handler are handed up after the
//! lock is dropped, as upstream does, since the handler may call back.
//!
//! Timing: while a transaction runs, the machine's own suggestion (from
//! 10 us, doubling up to 1 ms while the BMC is slow), cut short by the
//! interrupt where there is one. Idle: no timer with an interrupt;
//! without one, upstream's 10 ms tick only while the handler watches
//! (responses, commands or the watchdog pending), none otherwise.

use crate::glue::bindings as ipmi_bindings;
use crate::glue::smi::{Intf, Refused, Smi};
use crate::glue::smi_msg::SmiMsg;
use crate::ipmi::si::bt::{self, Bt};
use crate::ipmi::si::kcs::{self, Kcs};
use crate::ipmi::si::oem::Quirks;
use crate::ipmi::si::policy::{Next, Policy, Warning};
use crate::ipmi::si::{self as sm, Action, Resend, StateMachine};
use crate::kext::gpe::AcpiGpe;
use crate::kext::ioregs::IoRegs;
use crate::kext::ioregs::Space;
use crate::kext::irq::{Handler, RawIrq};
use crate::kext::sysfs::{AttrGroup, Page, Show};
use crate::regs::{Bank, SiType};
use crate::{Interrupt, Probed};
use core::fmt::Write;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::irq::IrqReturn;
use kernel::prelude::*;
use kernel::sync::{Mutex, SpinLockIrq};
use kernel::time::delay::udelay;
use kernel::time::hrtimer::{
    HasHrTimer, HrTimer, HrTimerCallback, HrTimerCallbackContext, HrTimerRestart, RelativeMode,
};
use kernel::time::{Delta, Instant, Monotonic};
use kernel::{c_str, new_mutex, new_spinlock_irq};

/// Upstream's tick while idle and watched, and its backstop.
const IDLE_TICK_US: u32 = 10_000;
/// Messages handed up per lock hold; more wait for the next round.
const OUTBOX: usize = 4;
/// Least time between two warnings of one interface.
const WARN_INTERVAL_MS: i64 = 5_000;
/// Panic time: the longest busy-wait between two steps of the machine.
const POLL_DELAY_MAX_US: u32 = 1_000;
/// Panic time: the most `flush_messages` waits for one transaction; the
/// handler's poll loop carries on after it.
const FLUSH_BOUND_US: u32 = 10_000_000;
/// Get Device ID, the probe of a hosed interface.
const GET_DEVICE_ID: [u8; 2] = [0x18, 0x01];

/// The machine of the interface.
pub(crate) enum Machine {
    Kcs(Kcs),
    Bt(Bt),
}

impl Machine {
    pub(crate) fn new(si_type: SiType) -> Self {
        match si_type {
            SiType::Kcs => Machine::Kcs(Kcs::new(kcs::Limits::DEFAULT)),
            SiType::Bt => Machine::Bt(Bt::new(bt::Limits::DEFAULT)),
        }
    }

    pub(crate) fn sm(&mut self) -> &mut dyn StateMachine {
        match self {
            Machine::Kcs(m) => m,
            Machine::Bt(m) => m,
        }
    }

    /// Runs the machine against the registers until it waits or reports
    /// (`si::run`), statically dispatched: KCS through its read-phase
    /// shortcut.
    fn run(&mut self, bank: &mut Bank<'_>, elapsed_us: u32) -> Action {
        match self {
            Machine::Kcs(m) => m.run_on(bank, elapsed_us),
            Machine::Bt(m) => sm::run(m, bank, elapsed_us),
        }
    }

    /// Whether the machine refuses new requests while it waits (BT: the
    /// BMC busy for long, or a reset under way).
    fn refuses_requests(&self) -> bool {
        matches!(self, Machine::Bt(m) if m.is_busy())
    }

    /// Times the machine gave the interface up (KCS; BT recovers by
    /// itself and is never hosed).
    fn hosed_count(&self) -> u32 {
        match self {
            Machine::Kcs(m) => m.stats().hosed,
            Machine::Bt(_) => 0,
        }
    }

    fn start_probe(&mut self) -> bool {
        match self {
            Machine::Kcs(m) => m.start_probe(&GET_DEVICE_ID, Resend::Always).is_ok(),
            Machine::Bt(m) => m.start(&GET_DEVICE_ID, Resend::Always).is_ok(),
        }
    }
}

/// What the transaction on the machine is for.
enum Current {
    None,
    /// A request from the handler.
    User(SmiMsg),
    /// The policy's own; the buffer to hand a message or event up in.
    Internal(Option<SmiMsg>),
    /// Get Device ID on a hosed interface.
    Probe,
}

/// upstream's sysfs counters, counted here.
#[derive(Clone, Copy, Default)]
pub(crate) struct Counters {
    pub(crate) short_timeouts: u32,
    pub(crate) long_timeouts: u32,
    pub(crate) idles: u32,
    pub(crate) interrupts: u32,
    pub(crate) complete_transactions: u32,
    /// Register accesses (for the benchmark's floor).
    pub(crate) register_accesses: u64,
    /// Timer expiries: what an idle interface must not have.
    pub(crate) timer_wakeups: u32,
}

/// When the pump wants to run again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// Right away: it stopped only to hand messages up.
    Now,
    /// After this many microseconds.
    After(u32),
    /// Only on an interrupt or a call from the handler.
    Never,
}

/// Who runs the pump.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kicker {
    /// The timer expired.
    Timer,
    /// The interface interrupted.
    Irq,
    /// The handler called (a request, a poll, a change of what it watches).
    Call,
}

/// What a pump leaves for after the lock.
#[derive(Default)]
struct Outbox {
    msgs: [Option<SmiMsg>; OUTBOX],
    pretimeout: bool,
    warning: Option<Warning>,
}

impl Outbox {
    fn push(&mut self, msg: SmiMsg) {
        if let Some(slot) = self.msgs.iter_mut().find(|m| m.is_none()) {
            *slot = Some(msg);
        }
        // Never full here: the pump stops before (`full`).
    }

    fn full(&self) -> bool {
        self.msgs.iter().all(Option::is_some)
    }
}

/// The state under the lock.
pub(crate) struct State {
    machine: Machine,
    policy: Policy,
    current: Current,
    waiting: Option<SmiMsg>,
    /// When the last pump ended in a wait: the machine is told the time
    /// since. `None` after any other end, when no transaction waits and
    /// the time does not matter, which spares a clock read per pump.
    last_wait: Option<Instant<Monotonic>>,
    watch_mask: u32,
    intf: Option<Intf>,
    stopped: bool,
    last_warning: Option<Instant<Monotonic>>,
    /// The timer was started and not cancelled or run since.
    timer_armed: bool,
    /// A suspect `SMS_ATN` (policy: too many empty looks) is held until
    /// this many milliseconds after this time.
    attention_hold: Option<(Instant<Monotonic>, u32)>,
    pub(crate) counters: Counters,
}

impl State {
    pub(crate) fn new(machine: Machine, quirks: Quirks, irq: bool) -> Self {
        let mut policy = Policy::new(irq);
        policy.set_quirks(quirks);
        State {
            machine,
            policy,
            current: Current::None,
            waiting: None,
            last_wait: None,
            watch_mask: 0,
            intf: None,
            stopped: true,
            last_warning: None,
            timer_armed: false,
            attention_hold: None,
            counters: Counters::default(),
        }
    }

    /// Whether an `SMS_ATN` seen now is looked at now: at once, unless
    /// the BMC kept raising it with nothing to fetch (the policy's
    /// back-off); then once the back-off since the first sight is over.
    fn take_attention(&mut self) -> bool {
        let Some(ms) = self.policy.attention_backoff_ms() else {
            self.attention_hold = None;
            return true;
        };
        match self.attention_hold {
            Some((since, hold)) => {
                if (Instant::<Monotonic>::now() - since).as_millis() >= i64::from(hold) {
                    self.attention_hold = None;
                    true
                } else {
                    false
                }
            }
            None => {
                self.attention_hold = Some((Instant::now(), ms));
                false
            }
        }
    }

    /// Takes `msg` as the request waiting for the machine; refused (0xC0,
    /// busy) when stopped or one waits already (the handler sends one at
    /// a time).
    fn park(&mut self, msg: SmiMsg) -> Result<(), Refused> {
        if self.stopped || self.waiting.is_some() {
            return Err(Refused { msg, cc: 0xc0 });
        }
        self.waiting = Some(msg);
        Ok(())
    }

    /// The error answer to a request the machine cannot take.
    fn refuse(msg: &mut SmiMsg, cc: u8) {
        let data = msg.data();
        let rsp = [
            data.first().copied().unwrap_or(0) | 0x04,
            data.get(1).copied().unwrap_or(0),
            cc,
        ];
        let _ = msg.set_rsp(&rsp);
    }

    /// Ends the transaction the machine just ended.
    fn complete(&mut self, out: &mut Outbox) {
        self.counters.complete_transactions = self.counters.complete_transactions.wrapping_add(1);
        let response = self.machine.sm().response();
        match core::mem::replace(&mut self.current, Current::None) {
            Current::User(mut msg) => {
                if msg.set_rsp(response).is_err() {
                    Self::refuse(&mut msg, 0xff);
                }
                out.push(msg);
            }
            Current::Internal(buffer) => {
                let op = self.policy.in_flight();
                let done = self.policy.finished(response);
                if done.deliver {
                    if let (Some(mut msg), Some(op)) = (buffer, op) {
                        if msg.set_data(op.request().as_bytes()).is_ok()
                            && msg.set_rsp(response).is_ok()
                        {
                            out.push(msg);
                        }
                    }
                }
                out.pretimeout |= done.pretimeout;
                if done.warning.is_some() {
                    out.warning = done.warning;
                }
            }
            Current::Probe | Current::None => {}
        }
    }

    /// Starts what comes next on the idle machine; false when there is
    /// nothing.
    fn start_next(&mut self, out: &mut Outbox) -> bool {
        if self.stopped || self.intf.is_none() {
            return false;
        }
        match self.policy.next(self.waiting.is_some()) {
            Next::User => {
                let Some(mut msg) = self.waiting.take() else {
                    return false;
                };
                // A request the BMC is known never to answer.
                if let Some(rsp) = self.policy.quirks().answer_instead(msg.data()) {
                    if msg.set_rsp(&rsp).is_err() {
                        Self::refuse(&mut msg, 0xff);
                    }
                    out.push(msg);
                    return true;
                }
                match self.machine.sm().start(msg.data(), Resend::Always) {
                    Ok(()) => self.current = Current::User(msg),
                    Err(e) => {
                        Self::refuse(&mut msg, e.completion_code().value());
                        out.push(msg);
                    }
                }
                true
            }
            Next::Internal(op) => {
                let buffer = if op.delivers() {
                    match SmiMsg::alloc() {
                        Some(msg) => Some(msg),
                        None => {
                            self.policy.not_started();
                            return true;
                        }
                    }
                } else {
                    None
                };
                match self
                    .machine
                    .sm()
                    .start(op.request().as_bytes(), Resend::Always)
                {
                    Ok(()) => self.current = Current::Internal(buffer),
                    Err(e) => {
                        let req = op.request();
                        let bytes = req.as_bytes();
                        let rsp = [bytes[0] | 0x04, bytes[1], e.completion_code().value()];
                        self.policy.finished(&rsp);
                    }
                }
                true
            }
            Next::Nothing => false,
        }
    }

    /// Fails the waiting request (the interface is hosed).
    fn fail_waiting(&mut self, out: &mut Outbox) {
        if let Some(mut msg) = self.waiting.take() {
            Self::refuse(&mut msg, sm::StartError::Hosed.completion_code().value());
            out.push(msg);
        }
    }

    /// Runs the machine as far as it goes now.
    fn pump(&mut self, regs: &IoRegs, si_type: SiType, out: &mut Outbox) -> Wake {
        let mut elapsed_us = self
            .last_wait
            .take()
            .map_or(0, |mut since| micros_since(&mut since));
        let mut bank = Bank::new(regs, si_type);
        let wake = loop {
            if out.full() {
                break Wake::Now;
            }
            let action = self.machine.run(&mut bank, elapsed_us);
            elapsed_us = 0;
            match action {
                Action::Wait { us } => {
                    // A request that came while the machine holds new ones
                    // off gets its answer now (0xc0 for a long busy), not
                    // when the machine is idle again, which a BMC stuck
                    // busy may never let happen.
                    if self.machine.refuses_requests() {
                        if let Some(mut msg) = self.waiting.take() {
                            Self::refuse(
                                &mut msg,
                                sm::StartError::NodeBusy.completion_code().value(),
                            );
                            out.push(msg);
                        }
                    }
                    break Wake::After(us.max(1));
                }
                Action::Response(_) | Action::Failed(_) => self.complete(out),
                Action::Attention => {
                    if self.take_attention() {
                        self.policy.attention();
                    }
                    if !self.start_next(out) {
                        break self.idle_wake();
                    }
                }
                Action::Idle => {
                    self.counters.idles = self.counters.idles.wrapping_add(1);
                    self.policy.no_attention();
                    self.attention_hold = None;
                    if !self.start_next(out) {
                        break self.idle_wake();
                    }
                }
                Action::Hosed => {
                    if matches!(self.current, Current::Probe) {
                        self.current = Current::None;
                    }
                    self.fail_waiting(out);
                    break Wake::After(kcs::HOSED_PROBE_INTERVAL_US);
                }
                // `run` returns no register action.
                _ => break Wake::After(IDLE_TICK_US),
            }
        };
        self.counters.register_accesses = self
            .counters
            .register_accesses
            .wrapping_add(u64::from(bank.accesses));
        if let Wake::After(_) = wake {
            self.last_wait = Some(Instant::now());
        }
        wake
    }

    fn idle_wake(&self) -> Wake {
        let tick = if !self.policy.irq() && self.watch_mask != 0 {
            Some(IDLE_TICK_US)
        } else {
            None
        };
        // A held SMS_ATN is looked at when its back-off is over.
        let held = self.attention_hold.map(|(since, hold)| {
            let passed = (Instant::<Monotonic>::now() - since).as_millis();
            let left_ms = i64::from(hold).saturating_sub(passed).max(1);
            u32::try_from(left_ms.saturating_mul(1000)).unwrap_or(u32::MAX)
        });
        match (tick, held) {
            (Some(a), Some(b)) => Wake::After(a.min(b)),
            (Some(us), None) | (None, Some(us)) => Wake::After(us),
            (None, None) => Wake::Never,
        }
    }

    /// A hosed interface: try it again (from the timer).
    fn probe_if_hosed(&mut self) {
        if let Machine::Kcs(m) = &self.machine {
            if m.is_hosed() && matches!(self.current, Current::None) {
                if self.machine.start_probe() {
                    self.current = Current::Probe;
                }
            }
        }
    }
}

/// Microseconds from `*last` to now, for a machine's `elapsed_us`
/// (saturating); `*last` becomes now.
pub(crate) fn micros_since(last: &mut Instant<Monotonic>) -> u32 {
    let now = Instant::<Monotonic>::now();
    let elapsed = (now - *last).as_micros_ceil();
    *last = now;
    u32::try_from(elapsed.max(0)).unwrap_or(u32::MAX)
}

/// The interrupt the engine holds while it runs.
enum Claimed {
    Line(RawIrq<Engine>),
    Gpe(AcpiGpe<Engine>),
}

impl Claimed {
    /// What was claimed, as the kernel holds it.
    fn describe(&self) -> Interrupt {
        match self {
            Claimed::Line(line) => Interrupt::Line(line.irq()),
            Claimed::Gpe(gpe) => Interrupt::Gpe(gpe.gpe()),
        }
    }
}

/// One interface: what the handler registers as its `send_info`.
#[pin_data(PinnedDrop)]
pub(crate) struct Engine {
    // First, so that it goes (and sysfs stops calling in) before the rest.
    #[pin]
    sysfs: AttrGroup<Engine>,
    #[pin]
    state: SpinLockIrq<State>,
    #[pin]
    timer: HrTimer<Engine>,
    #[pin]
    irq: Mutex<Option<Claimed>>,
    regs: IoRegs,
    si_type: SiType,
    interrupt: Interrupt,
    info: Info,
    /// Set by the handler at panic time: everything runs in its calls, by
    /// polling, with interrupts off and the other CPUs stopped.
    run_to_completion: AtomicBool,
    /// Pumps that took the handler's interface under the lock and have not
    /// finished handing messages to it. `stop()` waits for them: a sender
    /// whose transaction ended at once (the BMC answered every access
    /// straight away) hands the answer up after the lock, and must not do
    /// so after the handler has freed what it holds.
    handing_up: AtomicU32,
}

/// What `get_smi_info` and sysfs report.
pub(crate) struct Info {
    pub(crate) addr_src: ipmi_bindings::ipmi_addr_src,
    pub(crate) dev: DevRef,
    pub(crate) slave_addr: u8,
}

/// A counted reference to the interface's `struct device`.
///
/// # Invariants
///
/// Holds one reference (`get_device`) to a live device.
pub(crate) struct DevRef(core::ptr::NonNull<kernel::bindings::device>);

// SAFETY: a device reference may be taken and put from any thread.
unsafe impl Send for DevRef {}
// SAFETY: only the pointer is read through `&self`.
unsafe impl Sync for DevRef {}

impl DevRef {
    /// Takes a reference to `dev`, which the caller's context keeps alive
    /// meanwhile (a device being probed).
    pub(crate) fn new(dev: core::ptr::NonNull<kernel::bindings::device>) -> Self {
        // SAFETY: live device (caller); the reference is put on drop.
        unsafe { kernel::bindings::get_device(dev.as_ptr()) };
        // INVARIANT: one reference taken.
        DevRef(dev)
    }

    pub(crate) fn as_ptr(&self) -> *mut kernel::bindings::device {
        self.0.as_ptr()
    }

    /// The device, for logging.
    pub(crate) fn device(&self) -> &kernel::device::Device {
        // SAFETY: live while referenced (type invariant).
        unsafe { kernel::device::Device::from_raw(self.0.as_ptr()) }
    }
}

impl Clone for DevRef {
    fn clone(&self) -> Self {
        DevRef::new(self.0)
    }
}

impl Drop for DevRef {
    fn drop(&mut self) {
        // SAFETY: the reference taken in `new` (type invariant).
        unsafe { kernel::bindings::put_device(self.0.as_ptr()) };
    }
}

kernel::impl_has_hr_timer! {
    impl HasHrTimer<Self> for Engine {
        mode: RelativeMode<Monotonic>, field: self.timer
    }
}

impl HrTimerCallback for Engine {
    type Pointer<'a> = Pin<&'a Engine>;

    fn run(this: Pin<&Engine>, _ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        this.get_ref().kick(true);
        // Re-armed under the lock when wanted (`arm`).
        HrTimerRestart::NoRestart
    }
}

impl Handler for Engine {
    fn handle_irq(&self) -> IrqReturn {
        if self.si_type == SiType::Bt {
            // Acknowledge the BT interrupt, keep it enabled.
            self.regs
                .write(bt::INTMASK_REGISTER, bt::B2H_IRQ | bt::B2H_IRQ_EN);
        }
        let _ = self.kick_by(Kicker::Irq, None);
        IrqReturn::Handled
    }
}

impl Engine {
    pub(crate) fn new(
        regs: IoRegs,
        si_type: SiType,
        probed: KBox<Probed>,
        interrupt: Interrupt,
        info: Info,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Engine {
            sysfs <- AttrGroup::new(),
            state <- new_spinlock_irq!(
                {
                    let Probed { machine, quirks } = KBox::into_inner(probed);
                    State::new(machine, quirks, interrupt != Interrupt::None)
                },
                "ipmi_si_state"
            ),
            timer <- HrTimer::new(),
            irq <- new_mutex!(None, "ipmi_si_irq"),
            regs,
            si_type,
            interrupt,
            info,
            run_to_completion: AtomicBool::new(false),
            handing_up: AtomicU32::new(0),
        }? Error)
    }

    /// Claims the interrupt discovery found: `None` when the interface
    /// is polled.
    fn claim_interrupt(&self) -> Option<Result<Claimed>> {
        match self.interrupt {
            Interrupt::None => None,
            Interrupt::Line(irq) => {
                // SAFETY: the engine is pinned in the registration and its
                // drop frees the IRQ (`stop`) before the memory goes.
                let line = unsafe { RawIrq::request(irq, true, c_str!("ipmi_si"), self) };
                Some(line.map(Claimed::Line))
            }
            Interrupt::Gpe(gpe) => {
                // SAFETY: as for the line: `stop` removes the handler
                // before the memory goes.
                let gpe = unsafe { AcpiGpe::request(gpe, self) };
                Some(gpe.map(Claimed::Gpe))
            }
        }
    }

    /// Arms the timer for `wake`, or stops it; called under the lock so
    /// that the decision and the timer agree.
    fn arm(&self, st: &mut State, wake: Wake, from_timer: bool) {
        let us = match wake {
            Wake::Now => 1,
            Wake::After(us) => us,
            Wake::Never => {
                // A running callback (`from_timer`) is not queued; an
                // unarmed timer needs no cancel (it costs the timer base's
                // lock, several times per request).
                let armed = core::mem::replace(&mut st.timer_armed, false);
                if armed && !from_timer {
                    // SAFETY: the timer is initialised; try_to_cancel does
                    // not wait, so it is safe under the lock and while the
                    // callback runs elsewhere (which then decides itself).
                    unsafe {
                        kernel::bindings::hrtimer_try_to_cancel(
                            <Self as HasHrTimer<Self>>::c_timer_ptr(self).cast_mut(),
                        )
                    };
                }
                return;
            }
        };
        // SAFETY: `self` is pinned inside the registration and outlives the
        // timer: the engine's drop cancels it (`PinnedDrop`) after
        // `shutdown` stopped re-arming.
        unsafe { <Self as HasHrTimer<Self>>::start(self, Delta::from_micros(i64::from(us))) };
        st.timer_armed = true;
    }

    /// Runs the pump and everything after it: timer, deliveries.
    fn kick(&self, from_timer: bool) {
        let kicker = if from_timer {
            Kicker::Timer
        } else {
            Kicker::Call
        };
        let _ = self.kick_by(kicker, None);
    }

    /// Runs the pump for `kicker`, first taking `msg` as the waiting
    /// request if there is one, all in the first lock hold (one lock round
    /// trip per request and per interrupt, not two). A message that cannot
    /// wait (stopped, or one waits already) comes back refused.
    fn kick_by(&self, kicker: Kicker, mut msg: Option<SmiMsg>) -> Result<(), Refused> {
        let from_timer = kicker == Kicker::Timer;
        // Counted once, on the first round.
        let mut to_count = Some(kicker);
        loop {
            let mut out = Outbox::default();
            let (intf, wake) = {
                let mut st = self.state.lock();
                match to_count.take() {
                    Some(Kicker::Timer) => {
                        st.counters.timer_wakeups = st.counters.timer_wakeups.wrapping_add(1)
                    }
                    Some(Kicker::Irq) => {
                        st.counters.interrupts = st.counters.interrupts.wrapping_add(1)
                    }
                    Some(Kicker::Call) | None => {}
                }
                if let Some(new) = msg.take() {
                    st.park(new)?;
                }
                if st.stopped {
                    return Ok(());
                }
                if from_timer {
                    st.probe_if_hosed();
                }
                let wake = st.pump(&self.regs, self.si_type, &mut out);
                match wake {
                    Wake::After(us) if us >= IDLE_TICK_US => {
                        st.counters.long_timeouts = st.counters.long_timeouts.wrapping_add(1)
                    }
                    Wake::After(_) => {
                        st.counters.short_timeouts = st.counters.short_timeouts.wrapping_add(1)
                    }
                    _ => {}
                }
                if wake != Wake::Now {
                    self.arm(&mut st, wake, from_timer);
                }
                if st.intf.is_some() {
                    // Under the lock, so that `stop()` sees it.
                    self.handing_up.fetch_add(1, Ordering::Relaxed);
                }
                (st.intf, wake)
            };
            let handing_up = intf.is_some();
            self.deliver(out, intf);
            if handing_up {
                self.handing_up.fetch_sub(1, Ordering::Release);
            }
            if wake != Wake::Now {
                return Ok(());
            }
        }
    }

    /// Hands up what a pump left, after the lock.
    fn deliver(&self, mut out: Outbox, intf: Option<Intf>) {
        if let Some(warning) = out.warning {
            if self.warn_allowed() {
                self.warn(warning);
            }
        }
        if let Some(intf) = intf {
            if out.pretimeout {
                intf.watchdog_pretimeout();
            }
            for msg in out.msgs.iter_mut().filter_map(Option::take) {
                intf.msg_received(msg);
            }
        }
    }

    fn run_to_completion(&self) -> bool {
        self.run_to_completion.load(Ordering::Acquire)
    }

    /// One pump at panic time: no timer (interrupts are off, nothing would
    /// run it), and no spinning on the lock, which a CPU stopped inside it
    /// would hold for ever. Returns when to run again and whether a
    /// transaction is still under way, or `None` if the lock is taken.
    fn step_polled(&self) -> Option<(Wake, bool)> {
        let mut out = Outbox::default();
        let (intf, wake, busy) = {
            let mut st = self.state.try_lock()?;
            if st.stopped {
                return Some((Wake::Never, false));
            }
            let wake = st.pump(&self.regs, self.si_type, &mut out);
            let busy = !matches!(st.current, Current::None) || st.waiting.is_some();
            (st.intf, wake, busy)
        };
        if let Some(warning) = out.warning.take() {
            // No rate limit state to take at panic time; the log is what
            // the operator will read.
            self.warn(warning);
        }
        self.deliver(out, intf);
        Some((wake, busy))
    }

    /// Panic time: runs the machine until nothing is under way, busy-waiting
    /// the machine's own delays; bounded, the handler polls on after it.
    fn flush_polled(&self) {
        let mut waited_us = 0u32;
        while let Some((wake, busy)) = self.step_polled() {
            if !busy && wake != Wake::Now {
                return;
            }
            if let Wake::After(us) = wake {
                if waited_us >= FLUSH_BOUND_US {
                    return;
                }
                let us = us.min(POLL_DELAY_MAX_US);
                udelay(Delta::from_micros(i64::from(us)));
                waited_us = waited_us.saturating_add(us);
            }
        }
    }

    /// At most one warning per [`WARN_INTERVAL_MS`] per interface: a BMC
    /// that refuses the driver's housekeeping would otherwise log on every
    /// request for events.
    fn warn_allowed(&self) -> bool {
        let mut st = self.state.lock();
        let now = Instant::<Monotonic>::now();
        let allowed = st
            .last_warning
            .is_none_or(|t| (now - t).as_millis() >= WARN_INTERVAL_MS);
        if allowed {
            st.last_warning = Some(now);
        }
        allowed
    }

    fn warn(&self, warning: Warning) {
        match warning {
            Warning::GetEnables(cc) => {
                pr_warn!("could not read the BMC global enables: {:#x}\n", cc)
            }
            Warning::SetEnables(cc) => {
                pr_warn!("could not set the BMC global enables: {:#x}\n", cc)
            }
            Warning::ClearFlags(cc) => {
                pr_warn!("could not clear the message flags: {:#x}\n", cc)
            }
            Warning::StuckAttention => {
                pr_warn!(
                    "the BMC keeps SMS_ATN up with no message flag set; looking at it less often, down to every {} ms\n",
                    sm::policy::ATTENTION_BACKOFF_MAX_MS
                )
            }
        }
    }

    /// Adds upstream's attributes (and ours) to the interface's device.
    pub(crate) fn add_sysfs(&self) -> Result {
        // SAFETY: the group is a field of `self`, which is pinned in its
        // registration; the device is held (`info.dev`) for as long.
        unsafe { self.sysfs.add(self, self.info.dev.as_ptr()) }
    }

    /// Stops everything: no more wake-ups, messages dropped (the handler
    /// answers their users). Sleeps.
    fn stop(&self) {
        let (intf, current, waiting) = {
            let mut st = self.state.lock();
            st.stopped = true;
            (
                st.intf.take(),
                core::mem::replace(&mut st.current, Current::None),
                st.waiting.take(),
            )
        };
        // The handler's requests end with an error answer, handed back, as
        // upstream's driver finishes its current message before it stops:
        // dropped, they would take the handler's receive message with them.
        let handlers = match current {
            Current::User(msg) => Some(msg),
            _ => None,
        };
        for mut msg in Iterator::chain(handlers.into_iter(), waiting) {
            if let Some(intf) = &intf {
                State::refuse(&mut msg, 0xff);
                intf.msg_received(msg);
            }
        }
        // A pump that took the interface before `stopped` was set may still
        // be handing an answer up (from a sender; the interrupt and the
        // timer are waited for below as well): the handler frees what it
        // holds once this returns.
        while self.handing_up.load(Ordering::Acquire) != 0 {
            kernel::time::delay::fsleep(Delta::from_micros(100));
        }
        {
            let mut slot = self.irq.lock();
            if slot.is_some() && self.si_type == SiType::Bt {
                // Interrupts off in the BT interface before the handler
                // goes, as upstream: that also drops a B2H_IRQ raised after
                // the last interrupt we took, which no one would clear.
                self.regs.write(bt::INTMASK_REGISTER, 0);
            }
            *slot = None;
        }
        // SAFETY: the timer is initialised; with `stopped` set nothing
        // re-arms it, and hrtimer_cancel waits for a running callback.
        unsafe {
            kernel::bindings::hrtimer_cancel(
                <Self as HasHrTimer<Self>>::c_timer_ptr(self).cast_mut(),
            )
        };
    }
}

#[pinned_drop]
impl PinnedDrop for Engine {
    fn drop(self: Pin<&mut Self>) {
        self.stop();
    }
}

impl Show for Engine {
    const NAMES: &'static [&'static kernel::str::CStr] = &[
        c_str!("type"),
        c_str!("interrupts_enabled"),
        c_str!("short_timeouts"),
        c_str!("long_timeouts"),
        c_str!("idles"),
        c_str!("interrupts"),
        c_str!("attentions"),
        c_str!("flag_fetches"),
        c_str!("hosed_count"),
        c_str!("complete_transactions"),
        c_str!("events"),
        c_str!("watchdog_pretimeouts"),
        c_str!("incoming_messages"),
        c_str!("params"),
        c_str!("register_accesses"),
        c_str!("timer_wakeups"),
    ];

    fn show(&self, index: usize, out: &mut Page<'_>) -> core::fmt::Result {
        let (c, p, irq_on, hosed) = {
            let st = self.state.lock();
            (
                st.counters,
                st.policy.stats(),
                st.policy.irq(),
                st.machine.hosed_count(),
            )
        };
        let irq_on = irq_on && self.irq.lock().is_some();
        match index {
            0 => writeln!(out, "{}", self.si_type.name()),
            1 => writeln!(out, "{}", u8::from(irq_on)),
            2 => writeln!(out, "{}", c.short_timeouts),
            3 => writeln!(out, "{}", c.long_timeouts),
            4 => writeln!(out, "{}", c.idles),
            5 => writeln!(out, "{}", c.interrupts),
            6 => writeln!(out, "{}", p.attentions),
            7 => writeln!(out, "{}", p.flag_fetches),
            8 => writeln!(out, "{}", hosed),
            9 => writeln!(out, "{}", c.complete_transactions),
            10 => writeln!(out, "{}", p.events),
            11 => writeln!(out, "{}", p.watchdog_pretimeouts),
            12 => writeln!(out, "{}", p.incoming_messages),
            13 => {
                let layout = self.regs.layout();
                let space = match layout.space {
                    Space::Port => "i/o",
                    Space::Memory => "mem",
                };
                writeln!(
                    out,
                    "{},{},{:#x},rsp={},rsi={},rsh={},irq={},ipmb={}",
                    self.si_type.name(),
                    space,
                    layout.start,
                    layout.spacing,
                    layout.size,
                    layout.shift,
                    self.interrupt.number(),
                    self.info.slave_addr
                )
            }
            14 => writeln!(out, "{}", c.register_accesses),
            15 => writeln!(out, "{}", c.timer_wakeups),
            _ => Err(core::fmt::Error),
        }
    }
}

impl Smi for Engine {
    fn start_processing(&self, intf: Intf) -> Result {
        match self.claim_interrupt() {
            None => {}
            Some(Ok(claimed)) => {
                dev_info!(self.info.dev.device(), "using {}\n", claimed.describe());
                let mut slot = self.irq.lock();
                *slot = Some(claimed);
                if self.si_type == SiType::Bt {
                    // Enable, and clear a B2H_IRQ an earlier driver left
                    // set: held up, it would keep the line asserted and no
                    // new interrupt would be seen.
                    self.regs
                        .write(bt::INTMASK_REGISTER, bt::B2H_IRQ | bt::B2H_IRQ_EN);
                }
            }
            Some(Err(e)) => {
                pr_warn!("could not claim {}: {:?}; polling\n", self.interrupt, e);
                self.state.lock().policy.set_irq(false);
            }
        }
        {
            let mut st = self.state.lock();
            st.intf = Some(intf);
            st.stopped = false;
        }
        self.kick(false);
        Ok(())
    }

    fn sender(&self, msg: SmiMsg) -> Result<(), Refused> {
        if self.run_to_completion() {
            // The handler flushes or polls next. A lock left taken by a
            // stopped CPU refuses the message: the handler answers it and
            // goes on instead of waiting for ever.
            let Some(mut st) = self.state.try_lock() else {
                return Err(Refused { msg, cc: 0xc0 });
            };
            return st.park(msg);
        }
        self.kick_by(Kicker::Call, Some(msg))
    }

    fn get_smi_info(&self, info: &mut ipmi_bindings::ipmi_smi_info) -> Result {
        info.addr_src = self.info.addr_src;
        let dev = self.info.dev.as_ptr();
        // Upstream's acpi_ipmi finds the interface of its ACPI device by
        // this handle (to serve the ACPI IPMI operation region).
        if info.addr_src == ipmi_bindings::ipmi_addr_src_SI_ACPI {
            // SAFETY: the device is live (we hold a reference).
            if let Some(handle) = unsafe { crate::kext::platform::acpi_handle(dev) } {
                // SAFETY: writing the union's only member.
                unsafe { info.addr_info.acpi_info.as_mut().acpi_handle = handle.as_ptr().cast() };
            }
        }
        // SAFETY: the device is live (we hold a reference); the handler
        // puts the reference it gets here.
        unsafe { kernel::bindings::get_device(dev) };
        info.dev = dev.cast();
        Ok(())
    }

    fn shutdown(&self) {
        self.stop();
    }

    fn request_events(&self) {
        self.state.lock().policy.request_events();
        self.kick(false);
    }

    fn set_need_watch(&self, watch_mask: u32) {
        let (was, irq) = {
            let mut st = self.state.lock();
            (
                core::mem::replace(&mut st.watch_mask, watch_mask),
                st.policy.irq(),
            )
        };
        // Only a polled interface starts its tick here; with an interrupt
        // the handler's watching changes nothing (and it toggles with every
        // request).
        if was == 0 && watch_mask != 0 && !irq {
            self.kick(false);
        }
    }

    fn flush_messages(&self) {
        if self.run_to_completion() {
            self.flush_polled();
        } else {
            self.kick(false);
        }
    }

    fn set_run_to_completion(&self, enable: bool) {
        self.run_to_completion.store(enable, Ordering::Release);
    }

    fn poll(&self) {
        if self.run_to_completion() {
            // The handler's panic loop calls this back to back: let time
            // pass so that the machine's waits and timeouts advance.
            udelay(Delta::from_micros(10));
            let _ = self.step_polled();
        } else {
            self.kick(false);
        }
    }
}
