// SPDX-License-Identifier: GPL-2.0

use super::*;
use proptest::prelude::*;

const TIMEOUT: u32 = 30_000;

#[test]
fn reset_refuses_requests_until_the_bmc_answers_a_probe() {
    let mut m = Maintenance::new();
    assert_eq!(
        m.admit(0x06, 0x01, TIMEOUT, 0),
        (Admit::Yes, Change::default())
    );
    // The reset itself goes; everything after it is refused.
    assert_eq!(m.admit(0x06, 0x02, TIMEOUT, 100).0, Admit::Yes);
    assert_eq!(m.state(), State::Reset);
    assert_eq!(m.admit(0x06, 0x01, TIMEOUT, 101).0, Admit::Busy);
    assert_eq!(m.admit(0x06, 0x02, TIMEOUT, 101).0, Admit::Busy);
    // No probe while the reset command has not ended, however long.
    assert!(!m.probe_due(20_000));
    m.reset_ended(0x00, 500);
    assert!(!m.probe_due(500 + u64::from(PROBE_INTERVAL_MS) - 1));
    assert!(m.probe_due(500 + u64::from(PROBE_INTERVAL_MS)));
    m.probe_sent();
    assert!(!m.probe_due(10_000), "one probe at a time");
    // Not back yet: the next probe one interval later.
    assert_eq!(m.probe_answered(false, 800), Change::default());
    assert_eq!(m.next_deadline(), Some(800 + u64::from(PROBE_INTERVAL_MS)));
    assert!(m.probe_due(1050));
    m.probe_sent();
    let change = m.probe_answered(true, 1100);
    assert!(change.resumed);
    assert_eq!(m.state(), State::Off);
    assert_eq!(m.admit(0x06, 0x01, TIMEOUT, 1101).0, Admit::Yes);
    assert_eq!(m.next_deadline(), None);
}

#[test]
fn a_silent_bmc_ends_the_reset_state_at_the_timeout_as_upstream() {
    let mut m = Maintenance::new();
    m.admit(0x06, 0x03, TIMEOUT, 0);
    m.reset_ended(0xc3, 5000);
    let mut t = 5000;
    while m.state() == State::Reset {
        t += 50;
        if m.probe_due(t) {
            m.probe_sent();
            m.probe_answered(false, t);
        }
        let change = m.tick(t);
        if m.state() == State::Off {
            assert!(change.resumed);
        }
    }
    assert_eq!(t, u64::from(TIMEOUT));
}

#[test]
fn a_refused_reset_leaves_at_once() {
    let mut m = Maintenance::new();
    m.admit(0x06, 0x02, TIMEOUT, 0);
    let change = m.reset_ended(0xc1, 10);
    assert!(change.resumed);
    assert_eq!(m.state(), State::Off);
    assert_eq!(m.auto_remaining_ms(10), 0);
}

#[test]
fn firmware_commands_tell_the_lower_layer_and_time_out() {
    let mut m = Maintenance::new();
    let (admit, change) = m.admit(0x08, 0x10, TIMEOUT, 0);
    assert_eq!(admit, Admit::Yes);
    assert_eq!(change.firmware, Some(true));
    assert!(m.slow_retries());
    // Another one extends the time, without a second notice.
    assert_eq!(m.admit(0x08, 0x11, TIMEOUT, 1000).1, Change::default());
    assert_eq!(m.auto_remaining_ms(1000), u64::from(TIMEOUT));
    assert_eq!(m.tick(u64::from(TIMEOUT)), Change::default());
    assert_eq!(m.tick(1000 + u64::from(TIMEOUT)).firmware, Some(false));
    assert_eq!(m.state(), State::Off);
}

#[test]
fn modes_set_by_a_user() {
    let mut m = Maintenance::new();
    assert_eq!(Mode::from_raw(3), None);
    assert_eq!(m.set_mode(Mode::On).firmware, Some(true));
    assert_eq!(m.state(), State::Firmware);
    // Not automatic: a reset changes nothing, the timer none.
    assert_eq!(
        m.admit(0x06, 0x02, TIMEOUT, 0),
        (Admit::Yes, Change::default())
    );
    assert_eq!(m.tick(u64::from(TIMEOUT) * 2), Change::default());
    assert_eq!(m.set_mode(Mode::Off).firmware, Some(false));
    assert_eq!(
        m.admit(0x08, 0x01, TIMEOUT, 0),
        (Admit::Yes, Change::default())
    );
    assert_eq!(m.state(), State::Off);
    // Back to auto leaves the state as it is.
    assert_eq!(m.set_mode(Mode::Auto), Change::default());
    assert_eq!(m.mode().raw(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
    /// Against a BMC that is back at some time, whatever else happens: no
    /// probe goes out before the reset command ended, requests are refused
    /// exactly while in reset, and the reset state ends within one probe
    /// interval of the BMC being back (or at the timeout).
    #[test]
    fn reset_ends_within_an_interval_of_the_bmc_coming_back(
        reset_ends_after in 0..10_000u64,
        back_after in 0..40_000u64,
        cc in prop_oneof![Just(0u8), Just(0xc3u8), Just(0xffu8)],
        step in 1..100u64,
        noise in proptest::collection::vec((any::<u8>(), any::<u8>()), 0..50),
    ) {
        let mut m = Maintenance::new();
        m.admit(0x06, 0x02, TIMEOUT, 0);
        let back = reset_ends_after + back_after;
        let mut t = 0;
        let mut ended = false;
        let mut out: Option<u64> = None;
        let mut noise = noise.into_iter().cycle();
        while m.state() == State::Reset {
            t += step;
            prop_assert!(t < 100_000, "never left the reset state");
            if !ended && t >= reset_ends_after {
                m.reset_ended(cc, t);
                ended = true;
            }
            if m.probe_due(t) {
                prop_assert!(ended, "a probe before the reset command ended");
                m.probe_sent();
                out = Some(t);
            }
            // The probe's answer comes one step later.
            if let Some(sent) = out {
                if t > sent {
                    m.probe_answered(sent >= back, t);
                    out = None;
                }
            }
            m.tick(t);
            if let Some((netfn, cmd)) = noise.next() {
                let busy = m.state() == State::Reset;
                // A reset command let through once the state left Reset
                // starts a reset of its own, which this property does not
                // follow (proptest found one, a Cold Reset right at the
                // end, in about one run of ten).
                let resets = netfn == NETFN_APP && (cmd == CMD_COLD_RESET || cmd == CMD_WARM_RESET);
                if busy || !resets {
                    let (admit, _) = m.admit(netfn, cmd, TIMEOUT, t);
                    prop_assert_eq!(admit == Admit::Busy, busy);
                }
            }
        }
        // Worst case: a probe sent just before the BMC is back fails, the
        // next goes one interval after that answer, and each answer takes a
        // step.
        let bound = back + u64::from(PROBE_INTERVAL_MS) + 3 * step;
        prop_assert!(
            t <= bound.min(u64::from(TIMEOUT) + step),
            "left at {} ms, the BMC back at {}", t, back
        );
    }
}
