// SPDX-License-Identifier: GPL-2.0

//! The per-file receive queue: a fixed-capacity FIFO of delivered messages.
//!
//! Upstream keeps an unbounded list; here the queue has room for `N`
//! messages and never allocates. Two kinds of message arrive:
//!
//! - replies to the file's own requests ([`Origin::Reply`], recv types 1
//!   and 4) are always accepted while there is room. Their number is
//!   bounded by the handler's limit on messages per user (100 by default),
//!   because a reply keeps its slot in that count until it is read;
//! - unsolicited messages ([`Origin::Unsolicited`]: events, received
//!   commands, OEM messages) are accepted only while the queue holds fewer
//!   than `unsolicited_limit` messages, so a reader that stopped reading
//!   cannot be flooded by them, and they can never take the room replies
//!   need.
//!
//! With `N >= unsolicited_limit + MAX_MSGS_PER_USER` (as
//! [`FileRecvQueue`] has), no reply is ever refused. If one still finds the
//! queue full, it is handed back in [`Refused`] and counted; the kernel
//! frees it and logs that (rate-limited). A refused unsolicited message is
//! handed back the same way.
//!
//! [`RecvQueue::push`] says when the queue went from empty to non-empty,
//! which is when the kernel wakes pollers and sends SIGIO.
//!
//! Reading is peek-then-pop: the kernel [peeks](RecvQueue::peek) at the
//! head, copies it out, and [pops](RecvQueue::pop) it only when the copy
//! succeeded (or the body was truncated on purpose). A failed copy thus
//! loses nothing. Between peek and pop the kernel must keep other readers
//! out (upstream's `recv_mutex`); writers only append, so the head stays
//! where it is.

use super::receive::RecvType;

/// Default room for replies: the handler's `max_msgs_per_user`.
pub const MAX_MSGS_PER_USER: usize = 100;

/// Default limit for unsolicited messages in one file's queue.
pub const DEFAULT_UNSOLICITED_LIMIT: usize = 100;

/// Capacity of a file's queue: unsolicited messages plus room for every
/// reply the handler lets a user have.
pub const FILE_QUEUE_CAPACITY: usize = DEFAULT_UNSOLICITED_LIMIT + MAX_MSGS_PER_USER;

/// The queue of one open /dev/ipmiN.
pub type FileRecvQueue<T> = RecvQueue<T, FILE_QUEUE_CAPACITY>;

/// Where a message comes from, which decides whether it may be refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A response to a request of this file, or the outcome of a response
    /// it sent (recv types 1 and 4).
    Reply,
    /// An event, a received command or an OEM message (recv types 2, 3, 5).
    Unsolicited,
}

impl Origin {
    /// The origin of a message with raw `recv_type`. Unknown types are
    /// treated as unsolicited, so they stay within the limit.
    pub const fn of_recv_type(raw: i32) -> Origin {
        match RecvType::from_raw(raw) {
            Some(t) if t.is_solicited() => Origin::Reply,
            _ => Origin::Unsolicited,
        }
    }
}

/// Why a message was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefuseReason {
    /// Unsolicited, and the queue already holds `unsolicited_limit`.
    UnsolicitedLimit,
    /// No room at all.
    Full,
}

/// A message the queue did not take, handed back to be freed.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused<T> {
    /// The message.
    pub msg: T,
    /// Why.
    pub reason: RefuseReason,
}

/// A message was queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pushed {
    /// The queue was empty before: wake pollers and send SIGIO.
    pub was_empty: bool,
}

/// Counters since the queue was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecvQueueStats {
    /// Messages accepted.
    pub queued: u64,
    /// Messages popped.
    pub delivered: u64,
    /// Unsolicited messages refused at the limit.
    pub dropped_unsolicited: u64,
    /// Messages refused because the queue was full.
    pub dropped_full: u64,
}

/// A FIFO of at most `N` messages of type `T` (the kernel's handle for a
/// received message).
#[derive(Debug)]
pub struct RecvQueue<T, const N: usize> {
    slots: [Option<T>; N],
    /// Index of the oldest message.
    head: usize,
    /// The oldest message is out with a reader ([`RecvQueue::lend_head`]):
    /// its slot is empty but still counted, so it can always come back.
    lent: bool,
    /// Number of messages held.
    len: usize,
    unsolicited_limit: usize,
    stats: RecvQueueStats,
}

impl<T, const N: usize> RecvQueue<T, N> {
    /// An empty queue that takes unsolicited messages while it holds fewer
    /// than `unsolicited_limit` (at most `N`).
    pub const fn new(unsolicited_limit: usize) -> Self {
        RecvQueue {
            slots: [const { None }; N],
            head: 0,
            lent: false,
            len: 0,
            unsolicited_limit: if unsolicited_limit < N {
                unsolicited_limit
            } else {
                N
            },
            stats: RecvQueueStats {
                queued: 0,
                delivered: 0,
                dropped_unsolicited: 0,
                dropped_full: 0,
            },
        }
    }

    /// How many messages the queue can hold.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The limit for unsolicited messages.
    pub const fn unsolicited_limit(&self) -> usize {
        self.unsolicited_limit
    }

    /// Messages held.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether no message is held (poll reports readable otherwise).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The counters.
    pub const fn stats(&self) -> RecvQueueStats {
        self.stats
    }

    /// Slot `offset` places after the head, wrapping around.
    fn slot_index(&self, offset: usize) -> Option<usize> {
        let i = self.head.checked_add(offset)?;
        if i >= N {
            i.checked_sub(N)
        } else {
            Some(i)
        }
    }

    /// Appends `msg`, or hands it back when the rules refuse it.
    pub fn push(&mut self, msg: T, origin: Origin) -> Result<Pushed, Refused<T>> {
        if origin == Origin::Unsolicited && self.len >= self.unsolicited_limit {
            self.stats.dropped_unsolicited = self.stats.dropped_unsolicited.saturating_add(1);
            return Err(Refused {
                msg,
                reason: RefuseReason::UnsolicitedLimit,
            });
        }
        let slot = if self.len < N {
            self.slot_index(self.len)
                .and_then(|i| self.slots.get_mut(i))
                .filter(|slot| slot.is_none())
        } else {
            None
        };
        let Some(slot) = slot else {
            self.stats.dropped_full = self.stats.dropped_full.saturating_add(1);
            return Err(Refused {
                msg,
                reason: RefuseReason::Full,
            });
        };
        *slot = Some(msg);
        let was_empty = self.len == 0;
        self.len = self.len.saturating_add(1);
        self.stats.queued = self.stats.queued.saturating_add(1);
        Ok(Pushed { was_empty })
    }

    /// The oldest message, left in place (`None` while it is lent).
    pub fn peek(&self) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        self.slots.get(self.head)?.as_ref()
    }

    /// Takes the oldest message out to deliver it, keeping its place: the
    /// caller copies it to the reader without holding the queue's lock,
    /// then either [`RecvQueue::consume_head`] (delivered) or
    /// [`RecvQueue::return_head`] (a copy failed: it goes back first in
    /// line, untouched). Its slot stays counted meanwhile, so messages
    /// arriving during the copy can never take the room it needs to come
    /// back. One lend at a time (the kernel serialises readers); `None`
    /// when empty or already lent.
    pub fn lend_head(&mut self) -> Option<T> {
        if self.len == 0 || self.lent {
            return None;
        }
        let msg = self.slots.get_mut(self.head)?.take()?;
        self.lent = true;
        Some(msg)
    }

    /// Puts a lent message back at the head. Refused (handed back) only if
    /// nothing was lent.
    pub fn return_head(&mut self, msg: T) -> Result<(), T> {
        if !self.lent {
            return Err(msg);
        }
        match self.slots.get_mut(self.head) {
            Some(slot @ None) => {
                *slot = Some(msg);
                self.lent = false;
                Ok(())
            }
            _ => Err(msg),
        }
    }

    /// The lent message was delivered: its slot is freed.
    pub fn consume_head(&mut self) {
        if !self.lent {
            return;
        }
        self.lent = false;
        self.head = self.slot_index(1).unwrap_or(0);
        self.len = self.len.saturating_sub(1);
        if self.len == 0 {
            self.head = 0;
        }
        self.stats.delivered = self.stats.delivered.saturating_add(1);
    }

    /// Removes and returns the oldest message (`None` while it is lent).
    pub fn pop(&mut self) -> Option<T> {
        if self.len == 0 || self.lent {
            return None;
        }
        let msg = self.slots.get_mut(self.head)?.take()?;
        self.head = self.slot_index(1).unwrap_or(0);
        self.len = self.len.saturating_sub(1);
        if self.len == 0 {
            // Start over at slot 0; not needed, but keeps states comparable.
            self.head = 0;
        }
        self.stats.delivered = self.stats.delivered.saturating_add(1);
        Some(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use std::collections::VecDeque;

    #[test]
    fn origins() {
        assert_eq!(Origin::of_recv_type(1), Origin::Reply);
        assert_eq!(Origin::of_recv_type(4), Origin::Reply);
        for raw in [2, 3, 5, 0, 6, -1] {
            assert_eq!(Origin::of_recv_type(raw), Origin::Unsolicited, "{raw}");
        }
    }

    #[test]
    fn file_queue_has_room_for_every_reply() {
        let q: FileRecvQueue<u32> = RecvQueue::new(DEFAULT_UNSOLICITED_LIMIT);
        assert_eq!(q.capacity(), 200);
        assert_eq!(q.capacity() - q.unsolicited_limit(), MAX_MSGS_PER_USER);
    }

    #[test]
    fn fifo_and_wake_ups() {
        let mut q: RecvQueue<u32, 4> = RecvQueue::new(4);
        assert!(q.is_empty());
        assert_eq!(q.peek(), None);
        assert_eq!(q.pop(), None);
        assert_eq!(q.push(1, Origin::Reply), Ok(Pushed { was_empty: true }));
        assert_eq!(
            q.push(2, Origin::Unsolicited),
            Ok(Pushed { was_empty: false })
        );
        assert_eq!(q.peek(), Some(&1));
        // Peeking does not consume.
        assert_eq!(q.peek(), Some(&1));
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), Some(2));
        assert_eq!(q.pop(), None);
        // Empty again: the next push wakes again.
        assert_eq!(q.push(3, Origin::Reply), Ok(Pushed { was_empty: true }));
        assert_eq!(q.pop(), Some(3));
    }

    #[test]
    fn a_lent_head_keeps_its_place() {
        let mut q: RecvQueue<u32, 2> = RecvQueue::new(2);
        q.push(1, Origin::Reply).unwrap();
        let m = q.lend_head().unwrap();
        assert_eq!(m, 1);
        // Still counted: readable, and its room is kept.
        assert!(!q.is_empty());
        assert_eq!(q.lend_head(), None);
        assert_eq!(q.pop(), None);
        q.push(2, Origin::Reply).unwrap();
        assert!(q.push(3, Origin::Reply).is_err());
        // A failed copy: back first in line.
        assert_eq!(q.return_head(m), Ok(()));
        assert_eq!(q.return_head(9), Err(9));
        assert_eq!(q.lend_head(), Some(1));
        q.consume_head();
        assert_eq!(q.pop(), Some(2));
        assert!(q.is_empty());
        // Nothing lent: consume does nothing.
        q.consume_head();
        assert!(q.is_empty());
        assert_eq!(q.stats().delivered, 2);
    }

    #[test]
    fn wraps_around() {
        let mut q: RecvQueue<u32, 3> = RecvQueue::new(3);
        for round in 0..10 {
            q.push(round, Origin::Reply).unwrap();
            q.push(round + 100, Origin::Reply).unwrap();
            assert_eq!(q.pop(), Some(round));
            q.push(round + 200, Origin::Reply).unwrap();
            assert_eq!(q.pop(), Some(round + 100));
            assert_eq!(q.pop(), Some(round + 200));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn unsolicited_limit_leaves_room_for_replies() {
        let mut q: RecvQueue<u32, 4> = RecvQueue::new(2);
        q.push(1, Origin::Unsolicited).unwrap();
        q.push(2, Origin::Unsolicited).unwrap();
        assert_eq!(
            q.push(3, Origin::Unsolicited),
            Err(Refused {
                msg: 3,
                reason: RefuseReason::UnsolicitedLimit
            })
        );
        q.push(4, Origin::Reply).unwrap();
        q.push(5, Origin::Reply).unwrap();
        assert_eq!(
            q.push(6, Origin::Reply),
            Err(Refused {
                msg: 6,
                reason: RefuseReason::Full
            })
        );
        // Full beats the unsolicited limit only in its count: the limit is
        // checked first.
        assert_eq!(
            q.push(7, Origin::Unsolicited).unwrap_err().reason,
            RefuseReason::UnsolicitedLimit
        );
        assert_eq!(
            q.stats(),
            RecvQueueStats {
                queued: 4,
                delivered: 0,
                dropped_unsolicited: 2,
                dropped_full: 1,
            }
        );
        let order: Vec<_> = core::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [1, 2, 4, 5]);
        assert_eq!(q.stats().delivered, 4);
    }

    #[test]
    fn limit_is_clamped_and_zero_capacity_is_harmless() {
        let q: RecvQueue<u32, 4> = RecvQueue::new(usize::MAX);
        assert_eq!(q.unsolicited_limit(), 4);
        let mut z: RecvQueue<u32, 0> = RecvQueue::new(0);
        assert_eq!(
            z.push(1, Origin::Reply).unwrap_err().reason,
            RefuseReason::Full
        );
        assert_eq!(
            z.push(1, Origin::Unsolicited).unwrap_err().reason,
            RefuseReason::UnsolicitedLimit
        );
        assert_eq!(z.peek(), None);
        assert_eq!(z.pop(), None);
    }

    #[derive(Clone, Copy, Debug)]
    enum Op {
        Push(Origin),
        Pop,
        Lend,
        Return,
        Consume,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Push(Origin::Reply)),
            3 => Just(Op::Push(Origin::Unsolicited)),
            3 => Just(Op::Pop),
            1 => Just(Op::Lend),
            1 => Just(Op::Return),
            1 => Just(Op::Consume),
        ]
    }

    /// The queue against a model, with every branch counted.
    #[test]
    fn queue_properties() {
        const N: usize = 8;
        let strategy = (0usize..=N + 2, proptest::collection::vec(op(), 0..200));
        let accepted_reply = Cell::new(0u32);
        let accepted_unsolicited = Cell::new(0u32);
        let refused_limit = Cell::new(0u32);
        let refused_full = Cell::new(0u32);
        let popped = Cell::new(0u32);
        let popped_empty = Cell::new(0u32);
        let woke = Cell::new(0u32);
        let returned = Cell::new(0u32);
        let consumed = Cell::new(0u32);
        let mut runner = TestRunner::new(Config {
            cases: 1024,
            ..Config::default()
        });
        runner
            .run(&strategy, |(limit, ops)| {
                let mut q: RecvQueue<u64, N> = RecvQueue::new(limit);
                let mut model = VecDeque::new();
                let mut pushed = 0u64;
                let mut next = 0u64;
                // The message out with the reader, still first in the model.
                let mut lent: Option<u64> = None;
                for op in ops {
                    match op {
                        Op::Push(origin) => {
                            next += 1;
                            pushed += 1;
                            let before = q.len();
                            match q.push(next, origin) {
                                Ok(p) => {
                                    prop_assert_eq!(p.was_empty, before == 0);
                                    if p.was_empty {
                                        woke.set(woke.get() + 1);
                                    }
                                    model.push_back(next);
                                    let counter = match origin {
                                        Origin::Reply => &accepted_reply,
                                        Origin::Unsolicited => {
                                            prop_assert!(before < q.unsolicited_limit());
                                            &accepted_unsolicited
                                        }
                                    };
                                    counter.set(counter.get() + 1);
                                }
                                Err(Refused { msg, reason }) => {
                                    prop_assert_eq!(msg, next);
                                    match reason {
                                        RefuseReason::Full => {
                                            // Never refuses while below capacity.
                                            prop_assert_eq!(before, N);
                                            refused_full.set(refused_full.get() + 1);
                                        }
                                        RefuseReason::UnsolicitedLimit => {
                                            prop_assert_eq!(origin, Origin::Unsolicited);
                                            prop_assert!(before >= q.unsolicited_limit());
                                            refused_limit.set(refused_limit.get() + 1);
                                        }
                                    }
                                }
                            }
                        }
                        Op::Lend => {
                            let got = q.lend_head();
                            if lent.is_some() {
                                prop_assert_eq!(got, None);
                            } else {
                                prop_assert_eq!(got, model.front().copied());
                                lent = got;
                            }
                        }
                        Op::Return => match lent.take() {
                            Some(m) => {
                                prop_assert_eq!(q.return_head(m), Ok(()));
                                prop_assert_eq!(q.peek().copied(), Some(m));
                                returned.set(returned.get() + 1);
                            }
                            None => prop_assert_eq!(q.return_head(u64::MAX), Err(u64::MAX)),
                        },
                        Op::Consume => {
                            if lent.take().is_some() {
                                model.pop_front();
                                consumed.set(consumed.get() + 1);
                            }
                            q.consume_head();
                        }
                        Op::Pop if lent.is_some() => {
                            prop_assert_eq!(q.peek(), None);
                            prop_assert_eq!(q.pop(), None);
                        }
                        Op::Pop => {
                            prop_assert_eq!(q.peek().copied(), model.front().copied());
                            let got = q.pop();
                            prop_assert_eq!(got, model.pop_front());
                            if got.is_some() {
                                popped.set(popped.get() + 1);
                            } else {
                                popped_empty.set(popped_empty.get() + 1);
                            }
                        }
                    }
                    prop_assert!(q.len() <= N);
                    prop_assert_eq!(q.len(), model.len());
                    prop_assert_eq!(q.is_empty(), model.is_empty());
                    let s = q.stats();
                    prop_assert_eq!(
                        pushed,
                        s.delivered + q.len() as u64 + s.dropped_unsolicited + s.dropped_full
                    );
                    prop_assert_eq!(s.queued, s.delivered + q.len() as u64);
                }
                Ok(())
            })
            .unwrap();
        for (name, n) in [
            ("reply accepted", accepted_reply),
            ("unsolicited accepted", accepted_unsolicited),
            ("refused at the limit", refused_limit),
            ("refused full", refused_full),
            ("popped", popped),
            ("popped empty", popped_empty),
            ("woke", woke),
            ("returned after a lend", returned),
            ("consumed after a lend", consumed),
        ] {
            assert!(n.get() > 0, "branch {name} never ran");
        }
    }
}
