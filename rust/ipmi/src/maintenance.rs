// SPDX-License-Identifier: GPL-2.0

//! Maintenance mode: what the handler does while the BMC is being reset
//! or its firmware updated.
//!
//! As upstream: a user sets the mode ([`Mode`], `IPMICTL_SET_MAINTENANCE_
//! MODE_CMD`); in [`Mode::Auto`], a Cold or Warm Reset (App 0x02, 0x03)
//! puts the interface in [`State::Reset`] and any Firmware-netfn (0x08)
//! request in [`State::Firmware`], for `maintenance_mode_timeout_ms` after
//! the last such request. The lower layer is told when the firmware state
//! begins and ends (`set_maintenance_mode`), and bridged requests retry
//! at `default_maintenance_retry_ms` meanwhile. In the reset state every
//! request but the reset itself is refused with `-EBUSY`.
//!
//! Where ours differs: upstream stays in the reset state for the whole
//! timeout (30 s by default; 23 s measured against ipmi_sim, which is back
//! at once), however soon the BMC answers again. Ours asks the BMC (Get
//! Device ID, [`Maintenance::probe_due`]) every [`PROBE_INTERVAL_MS`] once
//! the reset command itself has ended ([`Maintenance::reset_ended`]), and
//! leaves the reset state at the first good answer, so requests resume
//! within one interval of the BMC being back. No probe goes out before the
//! reset command has its answer (or its timeout): a BMC that sends that
//! answer late, after it rebooted, must not have it taken for the probe's.
//! A reset the BMC refused (a completion code other than 0, or one of the
//! driver's own errors that say it never got the command) leaves the reset
//! state at once: the BMC did not reset.

/// Time between two probes of a BMC in reset, and before the first.
pub const PROBE_INTERVAL_MS: u32 = 250;

/// App netfn and the two reset commands; the Firmware netfn.
const NETFN_APP: u8 = 0x06;
const CMD_COLD_RESET: u8 = 0x02;
const CMD_WARM_RESET: u8 = 0x03;
const NETFN_FIRMWARE: u8 = 0x08;

/// The mode a user sets (upstream's `IPMI_MAINTENANCE_MODE_*` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Entered and left by the commands sent (0).
    Auto,
    /// Never (1).
    Off,
    /// Always, as for a firmware update (2).
    On,
}

impl Mode {
    /// From the ioctl's value; `None` (upstream: `-EINVAL`) otherwise.
    pub const fn from_raw(raw: i32) -> Option<Mode> {
        match raw {
            0 => Some(Mode::Auto),
            1 => Some(Mode::Off),
            2 => Some(Mode::On),
            _ => None,
        }
    }

    /// The ioctl's value.
    pub const fn raw(self) -> i32 {
        match self {
            Mode::Auto => 0,
            Mode::Off => 1,
            Mode::On => 2,
        }
    }
}

/// Where the interface is (upstream's `IPMI_MAINTENANCE_MODE_STATE_*`,
/// ordered as there: a later state wins over an earlier one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Normal operation (0).
    Off,
    /// Firmware update: the lower layer is lenient (1).
    Firmware,
    /// The BMC is resetting: requests are refused (2).
    Reset,
}

impl State {
    /// The value upstream's sysfs `maintenance_mode` shows first.
    pub const fn raw(self) -> u8 {
        match self {
            State::Off => 0,
            State::Firmware => 1,
            State::Reset => 2,
        }
    }
}

/// Whether a request may go to the BMC now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Send it.
    Yes,
    /// Refuse it with `-EBUSY`: the BMC is resetting.
    Busy,
}

/// What changed, for the caller to act on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// The firmware state began (`Some(true)`) or ended (`Some(false)`):
    /// tell the lower layer (`set_maintenance_mode`).
    pub firmware: Option<bool>,
    /// The reset state ended: requests flow again.
    pub resumed: bool,
}

/// Where the probing of a resetting BMC is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Probe {
    /// No reset in progress.
    Idle,
    /// The reset command has not ended yet: no probe may go.
    AwaitingReset,
    /// Next probe at this time.
    DueAt(u64),
    /// A probe is out.
    Out,
}

/// The interface's maintenance state.
#[derive(Clone, Copy, Debug)]
pub struct Maintenance {
    mode: Mode,
    state: State,
    /// When the automatic state ends, if one is on.
    auto_until_ms: Option<u64>,
    probe: Probe,
}

impl Default for Maintenance {
    fn default() -> Self {
        Self::new()
    }
}

impl Maintenance {
    /// Mode [`Mode::Auto`], state [`State::Off`].
    pub const fn new() -> Self {
        Maintenance {
            mode: Mode::Auto,
            state: State::Off,
            auto_until_ms: None,
            probe: Probe::Idle,
        }
    }

    /// The mode set.
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// The state now.
    pub const fn state(&self) -> State {
        self.state
    }

    /// What upstream's sysfs shows second: milliseconds left of the
    /// automatic state (0 when none).
    pub fn auto_remaining_ms(&self, now_ms: u64) -> u64 {
        self.auto_until_ms.map_or(0, |t| t.saturating_sub(now_ms))
    }

    /// Whether bridged requests should retry at the maintenance interval.
    pub fn slow_retries(&self) -> bool {
        self.state != State::Off
    }

    fn enter(&mut self, state: State) -> Change {
        let was = self.state;
        self.state = state;
        let firmware = match (was == State::Firmware, state == State::Firmware) {
            (false, true) => Some(true),
            (true, false) => Some(false),
            _ => None,
        };
        if state != State::Reset {
            self.probe = Probe::Idle;
        }
        Change {
            firmware,
            resumed: was == State::Reset && state != State::Reset,
        }
    }

    /// A user sets the mode (`ipmi_set_maintenance_mode`).
    pub fn set_mode(&mut self, mode: Mode) -> Change {
        if mode == self.mode {
            return Change::default();
        }
        self.mode = mode;
        match mode {
            // Left alone, as upstream: the running state goes on.
            Mode::Auto => Change::default(),
            Mode::Off => {
                self.auto_until_ms = None;
                self.enter(State::Off)
            }
            Mode::On => {
                self.auto_until_ms = None;
                self.enter(State::Firmware)
            }
        }
    }

    /// A request for the system interface (`netfn`, `cmd`) is about to be
    /// sent at `now_ms`: whether it may go, and what it changed.
    /// `timeout_ms` is `maintenance_mode_timeout_ms`.
    pub fn admit(&mut self, netfn: u8, cmd: u8, timeout_ms: u32, now_ms: u64) -> (Admit, Change) {
        if self.state == State::Reset {
            return (Admit::Busy, Change::default());
        }
        let wanted = if netfn == NETFN_APP && (cmd == CMD_COLD_RESET || cmd == CMD_WARM_RESET) {
            State::Reset
        } else if netfn == NETFN_FIRMWARE {
            State::Firmware
        } else {
            return (Admit::Yes, Change::default());
        };
        if self.mode != Mode::Auto {
            return (Admit::Yes, Change::default());
        }
        self.auto_until_ms = Some(now_ms.saturating_add(u64::from(timeout_ms)));
        if wanted <= self.state {
            return (Admit::Yes, Change::default());
        }
        if wanted == State::Reset {
            self.probe = Probe::AwaitingReset;
        }
        (Admit::Yes, self.enter(wanted))
    }

    /// The reset command that put the interface in reset ended, with the
    /// completion code its answer carried (or the driver's error code).
    /// 0 or a sign the BMC may have got it (a timeout, 0xC3, or 0xFF of a
    /// lost answer): probe from one interval on. Anything else: the BMC
    /// refused it and did not reset; leave the state at once.
    pub fn reset_ended(&mut self, cc: u8, now_ms: u64) -> Change {
        if self.state != State::Reset || self.probe != Probe::AwaitingReset {
            return Change::default();
        }
        const TIMEOUT: u8 = 0xc3;
        const UNSPECIFIED: u8 = 0xff;
        if matches!(cc, 0 | TIMEOUT | UNSPECIFIED) {
            self.probe = Probe::DueAt(now_ms.saturating_add(u64::from(PROBE_INTERVAL_MS)));
            Change::default()
        } else {
            self.auto_until_ms = None;
            self.enter(State::Off)
        }
    }

    /// Whether a probe (Get Device ID) should go to the BMC now.
    pub fn probe_due(&self, now_ms: u64) -> bool {
        matches!(self.probe, Probe::DueAt(t) if now_ms >= t)
    }

    /// The probe went out.
    pub fn probe_sent(&mut self) {
        if matches!(self.probe, Probe::DueAt(_)) {
            self.probe = Probe::Out;
        }
    }

    /// The probe's answer: `ok` when the BMC answered Get Device ID with
    /// completion code 0. The BMC is back: leave the reset state.
    pub fn probe_answered(&mut self, ok: bool, now_ms: u64) -> Change {
        if self.probe != Probe::Out {
            return Change::default();
        }
        if ok && self.state == State::Reset {
            self.auto_until_ms = None;
            return self.enter(State::Off);
        }
        self.probe = Probe::DueAt(now_ms.saturating_add(u64::from(PROBE_INTERVAL_MS)));
        Change::default()
    }

    /// Runs the automatic state's timer: when it has run out, the state
    /// ends (upstream's only way out).
    pub fn tick(&mut self, now_ms: u64) -> Change {
        match self.auto_until_ms {
            Some(until) if now_ms >= until => {
                self.auto_until_ms = None;
                if self.mode == Mode::Auto {
                    self.enter(State::Off)
                } else {
                    Change::default()
                }
            }
            _ => Change::default(),
        }
    }

    /// When [`Maintenance::tick`] or a probe next needs to run.
    pub fn next_deadline(&self) -> Option<u64> {
        let probe = match self.probe {
            Probe::DueAt(t) => Some(t),
            _ => None,
        };
        match (self.auto_until_ms, probe) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests;
