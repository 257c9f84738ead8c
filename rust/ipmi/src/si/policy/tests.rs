// SPDX-License-Identifier: GPL-2.0

use super::*;

/// A response to `op` with completion code `cc` and `data`.
fn response(op: Internal, cc: u8, data: &[u8]) -> std::vec::Vec<u8> {
    let req = op.request();
    let mut rsp = std::vec![req.as_bytes()[0] | 0x04, req.as_bytes()[1], cc];
    rsp.extend_from_slice(data);
    rsp
}

/// A policy past its first check of the global enables (with the event
/// buffer supported and already enabled as wanted).
fn settled(irq: bool) -> Policy {
    let mut p = Policy::new(irq);
    assert_eq!(p.next(false), Next::Internal(Internal::GetEnables));
    let wanted = if irq { 0x07 } else { 0x04 };
    let done = p.finished(&response(Internal::GetEnables, 0, &[wanted]));
    assert_eq!(done.irq_on, Some(irq));
    assert_eq!(p.next(false), Next::Internal(Internal::ReadEvent));
    p.finished(&response(Internal::ReadEvent, 0x80, &[]));
    assert_eq!(p.next(false), Next::Nothing);
    p
}

#[test]
fn requests_are_app_netfn_with_their_data() {
    assert_eq!(Internal::GetFlags.request().as_bytes(), &[0x18, 0x31]);
    assert_eq!(
        Internal::ClearFlags(8).request().as_bytes(),
        &[0x18, 0x30, 8]
    );
    assert_eq!(Internal::GetMessage.request().as_bytes(), &[0x18, 0x33]);
    assert_eq!(Internal::ReadEvent.request().as_bytes(), &[0x18, 0x35]);
    assert_eq!(Internal::GetEnables.request().as_bytes(), &[0x18, 0x2f]);
    assert_eq!(
        Internal::SetEnables(0x0d).request().as_bytes(),
        &[0x18, 0x2e, 0x0d]
    );
    assert!(Internal::GetMessage.delivers() && Internal::ReadEvent.delivers());
    assert!(!Internal::GetFlags.delivers());
}

#[test]
fn first_idle_sets_the_enables_keeping_the_others() {
    let mut p = Policy::new(true);
    assert_eq!(p.next(false), Next::Internal(Internal::GetEnables));
    let done = p.finished(&response(Internal::GetEnables, 0, &[0x80]));
    assert_eq!(done.irq_on, Some(true));
    assert_eq!(p.next(false), Next::Internal(Internal::SetEnables(0x87)));
    p.finished(&response(Internal::SetEnables(0x87), 0, &[]));
    assert_eq!(p.event_buffer(), EventBuffer::Supported);
    assert_eq!(p.next(false), Next::Internal(Internal::ReadEvent));
}

#[test]
fn a_refused_event_buffer_is_dropped_and_not_asked_again() {
    let mut p = Policy::new(false);
    assert_eq!(p.next(false), Next::Internal(Internal::GetEnables));
    p.finished(&response(Internal::GetEnables, 0, &[0]));
    assert_eq!(p.next(false), Next::Internal(Internal::SetEnables(0x04)));
    let done = p.finished(&response(Internal::SetEnables(0x04), 0xcc, &[]));
    assert_eq!(done.warning, None);
    assert_eq!(p.event_buffer(), EventBuffer::Unsupported);
    // Without an interrupt and without the buffer, event requests read the
    // buffer directly, and the enables are left alone.
    p.request_events();
    assert_eq!(p.next(false), Next::Internal(Internal::ReadEvent));
}

#[test]
fn failed_enables_are_reported() {
    let mut p = Policy::new(true);
    p.next(false);
    let done = p.finished(&response(Internal::GetEnables, 0xc1, &[]));
    assert_eq!(done.warning, Some(Warning::GetEnables(0xc1)));
    assert_eq!(p.next(false), Next::Nothing);
    p.request_events();
    p.next(false);
    // No data byte: a malformed answer, not a crash.
    let done = p.finished(&response(Internal::GetEnables, 0, &[]));
    assert_eq!(done.warning, Some(Warning::GetEnables(0xff)));
}

#[test]
fn attention_fetches_messages_until_the_queue_is_empty() {
    let mut p = settled(true);
    p.attention();
    assert_eq!(p.next(false), Next::Internal(Internal::GetFlags));
    p.finished(&response(Internal::GetFlags, 0, &[FLAG_RECEIVE_MSG_AVAIL]));
    for _ in 0..3 {
        assert_eq!(p.next(false), Next::Internal(Internal::GetMessage));
        let done = p.finished(&response(Internal::GetMessage, 0, &[0x01, 0x02]));
        assert!(done.deliver);
    }
    assert_eq!(p.next(false), Next::Internal(Internal::GetMessage));
    let done = p.finished(&response(Internal::GetMessage, 0x80, &[]));
    assert!(!done.deliver);
    assert_eq!(p.next(false), Next::Nothing);
    assert_eq!(p.stats().incoming_messages, 3);
    assert_eq!(p.stats().attentions, 1);
    assert_eq!(p.stats().flag_fetches, 1);
}

#[test]
fn a_pretimeout_is_reported_and_cleared_before_the_other_flags() {
    let mut p = settled(false);
    p.attention();
    p.next(false);
    let flags = FLAG_WDT_PRE_TIMEOUT | FLAG_EVENT_MSG_BUFFER_FULL;
    let done = p.finished(&response(Internal::GetFlags, 0, &[flags]));
    assert!(done.pretimeout);
    assert_eq!(p.next(false), Next::Internal(Internal::ClearFlags(0x08)));
    let done = p.finished(&response(Internal::ClearFlags(0x08), 0xc0, &[]));
    assert_eq!(done.warning, Some(Warning::ClearFlags(0xc0)));
    assert!(!done.pretimeout);
    assert_eq!(p.next(false), Next::Internal(Internal::ReadEvent));
    let done = p.finished(&response(Internal::ReadEvent, 0, &[0; 16]));
    assert!(done.deliver);
    assert_eq!(p.stats().events, 1);
    assert_eq!(p.stats().watchdog_pretimeouts, 1);
}

#[test]
fn a_short_event_ends_the_event_loop() {
    let mut p = settled(false);
    p.attention();
    p.next(false);
    p.finished(&response(
        Internal::GetFlags,
        0,
        &[FLAG_EVENT_MSG_BUFFER_FULL],
    ));
    assert_eq!(p.next(false), Next::Internal(Internal::ReadEvent));
    let done = p.finished(&response(Internal::ReadEvent, 0, &[1, 2, 3]));
    assert!(!done.deliver);
    assert_eq!(p.next(false), Next::Nothing);
}

#[test]
fn a_bmc_that_never_empties_its_queue_is_cut_off() {
    let mut p = settled(true);
    p.attention();
    p.next(false);
    p.finished(&response(Internal::GetFlags, 0, &[FLAG_RECEIVE_MSG_AVAIL]));
    let mut fetched = 0;
    while p.next(false) == Next::Internal(Internal::GetMessage) {
        assert!(p.finished(&response(Internal::GetMessage, 0, &[])).deliver);
        fetched += 1;
        assert!(fetched <= 20);
    }
    assert_eq!(fetched, usize::from(MAX_FETCHES_IN_A_ROW) + 1);
}

#[test]
fn a_failed_flag_fetch_is_the_end_of_it() {
    let mut p = settled(true);
    p.attention();
    p.next(false);
    p.finished(&response(Internal::GetFlags, 0xff, &[]));
    assert_eq!(p.next(false), Next::Nothing);
    // And a response with no flags byte is no flags, not stale ones.
    p.attention();
    p.next(false);
    p.finished(&response(Internal::GetFlags, 0, &[]));
    assert_eq!(p.next(false), Next::Nothing);
}

#[test]
fn attention_waits_behind_at_most_one_user_request() {
    let mut p = settled(true);
    p.attention();
    assert_eq!(p.next(true), Next::User);
    assert_eq!(p.next(true), Next::Internal(Internal::GetFlags));
    p.finished(&response(Internal::GetFlags, 0, &[0]));
    assert_eq!(p.next(true), Next::User);
    assert_eq!(p.next(true), Next::User);
}

#[test]
fn a_fetch_not_started_forgets_the_chain() {
    let mut p = settled(true);
    p.attention();
    p.next(false);
    p.finished(&response(Internal::GetFlags, 0, &[FLAG_RECEIVE_MSG_AVAIL]));
    assert_eq!(p.next(false), Next::Internal(Internal::GetMessage));
    p.not_started();
    assert_eq!(p.in_flight(), None);
    assert_eq!(p.next(false), Next::Nothing);
}

#[test]
fn nothing_new_starts_while_one_is_in_flight() {
    let mut p = Policy::new(true);
    assert_eq!(p.next(false), Next::Internal(Internal::GetEnables));
    p.attention();
    assert_eq!(p.next(true), Next::Nothing);
    // A stray end with nothing in flight changes nothing.
    p.finished(&response(Internal::GetEnables, 0, &[0x07]));
    assert_eq!(p.finished(&[]), Done::default());
}

#[test]
fn losing_the_interrupt_turns_the_bmc_interrupts_off() {
    let mut p = settled(true);
    p.set_irq(false);
    assert!(p.has_work());
    assert_eq!(p.next(false), Next::Internal(Internal::GetEnables));
    let done = p.finished(&response(Internal::GetEnables, 0, &[0x07]));
    assert_eq!(done.irq_on, Some(false));
    assert_eq!(p.next(false), Next::Internal(Internal::SetEnables(0x04)));
}

proptest::proptest! {
    /// Whatever the BMC answers, the policy never panics, never starts
    /// two at once, and goes quiet once the BMC stops raising work.
    #[test]
    fn random_answers_end_quietly(
        answers in proptest::collection::vec(
            (proptest::prelude::any::<u8>(), proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20)),
            0..64),
        irq in proptest::prelude::any::<bool>(),
    ) {
        let mut p = Policy::new(irq);
        for (i, (cc, data)) in answers.iter().enumerate() {
            if i % 5 == 0 { p.attention(); }
            if i % 7 == 0 { p.request_events(); }
            match p.next(i % 3 == 0) {
                Next::Internal(op) => {
                    proptest::prop_assert_eq!(p.next(false), Next::Nothing);
                    p.finished(&response(op, *cc, data));
                }
                Next::User | Next::Nothing => {}
            }
        }
        // With every answer an error, the policy settles within a few
        // transactions.
        let mut steps = 0;
        while let Next::Internal(op) = p.next(false) {
            p.finished(&response(op, 0xff, &[]));
            steps += 1;
            proptest::prop_assert!(steps < 8);
        }
    }
}

/// One `SMS_ATN` looked at: Get Message Flags answered with `flags`.
fn look(p: &mut Policy, flags: u8) -> Done {
    p.attention();
    assert_eq!(p.next(false), Next::Internal(Internal::GetFlags));
    p.finished(&response(Internal::GetFlags, 0, &[flags]))
}

#[test]
fn a_stuck_attention_is_looked_at_after_a_growing_back_off() {
    let mut p = settled(true);
    for n in 1..EMPTY_ATTENTIONS {
        assert_eq!(look(&mut p, 0).warning, None, "{n}");
        assert_eq!(p.attention_backoff_ms(), None, "{n}");
    }
    // The eighth empty look: warned once, and from then on a back-off.
    assert_eq!(look(&mut p, 0).warning, Some(Warning::StuckAttention));
    let mut waits = std::vec::Vec::new();
    for _ in 0..10 {
        waits.push(p.attention_backoff_ms().unwrap());
        assert_eq!(look(&mut p, 0).warning, None);
    }
    assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    // OEM flags alone are nothing this driver fetches.
    look(&mut p, 0x20);
    assert_eq!(p.attention_backoff_ms(), Some(1000));
    // Something to fetch: at once again.
    look(&mut p, FLAG_EVENT_MSG_BUFFER_FULL);
    assert_eq!(p.attention_backoff_ms(), None);
}

#[test]
fn the_flag_going_down_forgets_empty_looks() {
    let mut p = settled(false);
    for _ in 0..EMPTY_ATTENTIONS {
        look(&mut p, 0);
    }
    assert!(p.attention_backoff_ms().is_some());
    p.no_attention();
    assert_eq!(p.attention_backoff_ms(), None);
    // A failed fetch neither counts nor clears.
    for _ in 0..EMPTY_ATTENTIONS - 1 {
        look(&mut p, 0);
    }
    p.attention();
    assert_eq!(p.next(false), Next::Internal(Internal::GetFlags));
    p.finished(&response(Internal::GetFlags, 0xc0, &[]));
    assert_eq!(p.attention_backoff_ms(), None);
    look(&mut p, 0);
    assert_eq!(p.attention_backoff_ms(), Some(10));
}

#[test]
fn dell_oem_flags_fetch_the_received_message() {
    let mut p = settled(true);
    p.set_quirks(Quirks {
        oem_flags_mean_receive: true,
        refuse_get_sdr_3a: false,
    });
    // OEM0 only: read as a message in the receive queue.
    let done = look(&mut p, 0x20);
    assert!(!done.deliver);
    assert_eq!(p.next(false), Next::Internal(Internal::GetMessage));
    let done = p.finished(&response(Internal::GetMessage, 0, &[0x01, 0x02]));
    assert!(done.deliver);
}

#[test]
fn oem_flags_alone_fetch_nothing_without_the_quirk() {
    let mut p = settled(true);
    look(&mut p, 0x20);
    assert_eq!(p.next(false), Next::Nothing);
}
