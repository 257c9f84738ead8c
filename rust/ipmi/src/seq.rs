// SPDX-License-Identifier: GPL-2.0

//! The sequence table: requests sent over IPMB or LAN (inside Send
//! Message) waiting for their answer, as upstream's `seq_table`.
//!
//! 64 slots, one per IPMB sequence number (6 bits on the wire). A request
//! gets a slot and a message id, `seq << 26 | seqid`, where `seqid` is a
//! 26-bit count kept per slot, so that the handler can tell the answer to
//! *this* Send Message from one to an earlier use of the slot. Its timer
//! starts long ([`UNSENT_TIMEOUT_MS`]) and is set to the request's own
//! timeout once the BMC took the Send Message ([`SeqTable::sent`]); when
//! it runs out the request is sent again while retries are left, else it
//! ends in a timeout error. Every request leaves the table exactly once:
//! answered ([`SeqTable::take_response`]), refused by the BMC
//! ([`SeqTable::send_failed`]), timed out ([`SeqTable::expire`]) or
//! withdrawn ([`SeqTable::withdraw`]).
//!
//! Where ours differs from upstream's:
//!
//! - Time is in milliseconds from the caller's clock, and the table says
//!   when it next needs to run ([`SeqTable::next_deadline`]); upstream
//!   counts down once a second.
//! - A late answer cannot reach a newer request: a slot whose request
//!   ended after it was put on the wire stays *quarantined* for requests
//!   with the same key (channel, address, netfn, cmd) for
//!   [`QUARANTINE_MS`], and an answer that matches a quarantined slot is
//!   reported as late instead of matched. Upstream frees the slot at once,
//!   and a late answer to the same command at the same address goes to
//!   whichever request took the slot next. A request with another key may
//!   take the slot at once: the answer it waits for cannot be confused.
//! - The search for a free slot covers all 64 (upstream's loop skips the
//!   slot before the cursor).

use core::ptr;

/// Slots: IPMB's sequence numbers.
pub const SLOTS: usize = 64;
/// Bits of the per-slot count in a message id.
const SEQID_BITS: u32 = 26;
const SEQID_MASK: u32 = (1 << SEQID_BITS) - 1;
/// Timer of a request whose Send Message the BMC has not yet taken
/// (upstream's `MAX_MSG_TIMEOUT`).
pub const UNSENT_TIMEOUT_MS: u32 = 60_000;
/// How long a slot whose request went on the wire and ended stays closed
/// to requests with the same key.
pub const QUARANTINE_MS: u32 = 60_000;

/// A request's identity in the table and in the Send Message carrying it
/// (the handler's `msgid` of the SMI message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MsgId(u32);

impl MsgId {
    /// The message id for `seq` (below [`SLOTS`]) and a slot count.
    pub const fn new(seq: u8, seqid: u32) -> Self {
        MsgId(((seq as u32 & 0x3f) << SEQID_BITS) | (seqid & SEQID_MASK))
    }

    /// From the raw value an SMI message carries (upper bits ignored, as
    /// upstream's `GET_SEQ_FROM_MSGID`).
    pub const fn from_raw(raw: u64) -> Self {
        MsgId((raw & 0xffff_ffff) as u32)
    }

    /// The raw value.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// The IPMB sequence number (the slot).
    pub const fn seq(self) -> u8 {
        ((self.0 >> SEQID_BITS) & 0x3f) as u8
    }

    /// The slot's count when the id was given.
    pub const fn seqid(self) -> u32 {
        self.0 & SEQID_MASK
    }
}

/// A request's lifetime settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Time to wait for each answer once sent.
    pub timeout_ms: u32,
    /// Times to send again after a timeout.
    pub retries: u8,
}

/// Why no slot was given.
#[derive(Debug, PartialEq, Eq)]
pub struct Full<T>(pub T);

/// What an answer found.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer<T> {
    /// The request it answers, now out of the table.
    Matched(T),
    /// It matches a request that already ended (answered, timed out or
    /// withdrawn) within the quarantine: a late or repeated answer, to drop.
    Late,
    /// Nothing it could answer.
    Unknown,
}

/// What [`SeqTable::expire`] reports for each request whose timer ran out.
#[derive(Debug)]
pub enum Expired<'a, T> {
    /// Send it again with this id; its timer waits for [`SeqTable::sent`].
    Resend(MsgId, &'a mut T),
    /// No retries left: the request ends with a timeout error.
    TimedOut(T, Outcome),
}

/// How a request that ended in the table had been sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Sent as an IPMB broadcast.
    pub broadcast: bool,
    /// Times it was sent again.
    pub resent: u8,
}

#[derive(Clone, Copy, Debug)]
struct Entry<K> {
    key: K,
    timing: Timing,
    broadcast: bool,
    resent: u8,
    deadline_ms: u64,
    /// The BMC took a Send Message of it: an answer may come.
    on_wire: bool,
}

#[derive(Debug)]
enum Slot<T, K> {
    Free,
    InUse(Entry<K>, T),
    /// Ended after being on the wire: closed to `key` until `until_ms`.
    Quarantined {
        key: K,
        until_ms: u64,
    },
}

/// The table. `K` is what an answer must match besides the sequence
/// number (upstream compares channel, address, netfn and cmd); `T` the
/// request the caller keeps with it.
#[derive(Debug)]
pub struct SeqTable<T, K> {
    slots: [Slot<T, K>; SLOTS],
    seqids: [u32; SLOTS],
    cursor: usize,
    in_use: usize,
}

impl<T, K: Copy + PartialEq> Default for SeqTable<T, K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, K> SeqTable<T, K> {
    /// An empty table. A constant, so that the kernel can write it straight
    /// into the interface's allocation: the table is a few KiB, too much
    /// to build on a kernel stack and move.
    pub const fn new() -> Self {
        SeqTable {
            slots: [const { Slot::Free }; SLOTS],
            seqids: [0; SLOTS],
            cursor: 0,
            in_use: 0,
        }
    }

    /// Writes an empty table at `this`, one slot at a time: the table is a
    /// few KiB, and a value built by [`SeqTable::new`] and moved would take
    /// them from the stack first (a kernel stack is 16 KiB, and interfaces
    /// register deep inside a driver's probe).
    ///
    /// # Safety
    ///
    /// `this` must be valid for writes of a `Self` and aligned. Whatever
    /// was there is overwritten without being dropped.
    pub unsafe fn write_empty(this: *mut Self) {
        // SAFETY: the caller makes `this` valid for writes; every field is
        // written through it exactly once, the slots one by one.
        unsafe {
            let slots = ptr::addr_of_mut!((*this).slots).cast::<Slot<T, K>>();
            for i in 0..SLOTS {
                slots.add(i).write(Slot::Free);
            }
            ptr::addr_of_mut!((*this).seqids).write([0; SLOTS]);
            ptr::addr_of_mut!((*this).cursor).write(0);
            ptr::addr_of_mut!((*this).in_use).write(0);
        }
    }
}

impl<T, K: Copy + PartialEq> SeqTable<T, K> {
    /// Requests waiting (the handler watches for messages while any are).
    pub const fn in_use(&self) -> usize {
        self.in_use
    }

    fn takes(slot: &Slot<T, K>, key: &K, now_ms: u64) -> bool {
        match slot {
            Slot::Free => true,
            Slot::InUse(..) => false,
            Slot::Quarantined { key: old, until_ms } => old != key || now_ms >= *until_ms,
        }
    }

    /// Gives `request` a slot, round robin from after the last one given;
    /// its timer runs [`UNSENT_TIMEOUT_MS`] until [`SeqTable::sent`].
    /// `Full` (upstream: `-EAGAIN`) when every slot is in use or closed to
    /// `key`.
    pub fn insert(
        &mut self,
        key: K,
        request: T,
        timing: Timing,
        broadcast: bool,
        now_ms: u64,
    ) -> Result<MsgId, Full<T>> {
        let found = (0..SLOTS).map(|i| (self.cursor + i) % SLOTS).find(|&i| {
            self.slots
                .get(i)
                .is_some_and(|s| Self::takes(s, &key, now_ms))
        });
        let Some(i) = found else {
            return Err(Full(request));
        };
        let (Some(slot), Some(seqid)) = (self.slots.get_mut(i), self.seqids.get_mut(i)) else {
            return Err(Full(request));
        };
        *seqid = seqid.wrapping_add(1) & SEQID_MASK;
        *slot = Slot::InUse(
            Entry {
                key,
                timing,
                broadcast,
                resent: 0,
                deadline_ms: now_ms.saturating_add(u64::from(UNSENT_TIMEOUT_MS)),
                on_wire: false,
            },
            request,
        );
        self.in_use += 1;
        self.cursor = (i + 1) % SLOTS;
        Ok(MsgId::new(i as u8, *seqid))
    }

    /// The entry `id` names, if it is still the one in its slot.
    fn entry_mut(&mut self, id: MsgId) -> Option<(&mut Entry<K>, &mut T)> {
        let seq = usize::from(id.seq());
        if self.seqids.get(seq).copied() != Some(id.seqid()) {
            return None;
        }
        match self.slots.get_mut(seq) {
            Some(Slot::InUse(entry, request)) => Some((entry, request)),
            _ => None,
        }
    }

    /// The BMC took the Send Message carrying `id`: its own timeout starts
    /// now. False if `id` is no longer in the table (withdrawn meanwhile).
    pub fn sent(&mut self, id: MsgId, now_ms: u64) -> bool {
        match self.entry_mut(id) {
            Some((entry, _)) => {
                entry.on_wire = true;
                entry.deadline_ms = now_ms.saturating_add(u64::from(entry.timing.timeout_ms));
                true
            }
            None => false,
        }
    }

    /// Ends the slot of an entry: free if its request never reached the
    /// wire, else quarantined for its key.
    fn release(&mut self, seq: usize, now_ms: u64) -> Option<(Entry<K>, T)> {
        let slot = self.slots.get_mut(seq)?;
        let Slot::InUse(entry, _) = slot else {
            return None;
        };
        let next = if entry.on_wire {
            Slot::Quarantined {
                key: entry.key,
                until_ms: now_ms.saturating_add(u64::from(QUARANTINE_MS)),
            }
        } else {
            Slot::Free
        };
        match core::mem::replace(slot, next) {
            Slot::InUse(entry, request) => {
                self.in_use -= 1;
                Some((entry, request))
            }
            _ => None,
        }
    }

    /// The BMC refused the Send Message carrying `id` (a completion code
    /// other than success): the request ends here, and the caller answers
    /// it with that error. `None` if `id` is no longer in the table.
    pub fn send_failed(&mut self, id: MsgId, now_ms: u64) -> Option<T> {
        self.entry_mut(id)?;
        // A refusal of a resend leaves the earlier send's answer possible.
        self.release(usize::from(id.seq()), now_ms)
            .map(|(_, request)| request)
    }

    /// An answer arrived for sequence number `seq` from `key`.
    pub fn take_response(&mut self, seq: u8, key: &K, now_ms: u64) -> Answer<T> {
        let i = usize::from(seq);
        match self.slots.get(i) {
            Some(Slot::InUse(entry, _)) if entry.key == *key => match self.release(i, now_ms) {
                Some((_, request)) => Answer::Matched(request),
                None => Answer::Unknown,
            },
            Some(Slot::Quarantined { key: old, until_ms }) if old == key && now_ms < *until_ms => {
                Answer::Late
            }
            _ => Answer::Unknown,
        }
    }

    /// Runs the timers: each request whose time is up is reported, to send
    /// again or to end with a timeout error.
    pub fn expire(&mut self, now_ms: u64, mut report: impl FnMut(Expired<'_, T>)) {
        for i in 0..SLOTS {
            let resend = match self.slots.get_mut(i) {
                Some(Slot::InUse(entry, _)) if entry.deadline_ms <= now_ms => {
                    if entry.resent < entry.timing.retries {
                        entry.resent += 1;
                        entry.deadline_ms = now_ms.saturating_add(u64::from(UNSENT_TIMEOUT_MS));
                        true
                    } else {
                        false
                    }
                }
                _ => continue,
            };
            let seqid = self.seqids.get(i).copied().unwrap_or(0);
            if resend {
                if let Some(Slot::InUse(_, request)) = self.slots.get_mut(i) {
                    report(Expired::Resend(MsgId::new(i as u8, seqid), request));
                }
            } else if let Some((entry, request)) = self.release(i, now_ms) {
                report(Expired::TimedOut(
                    request,
                    Outcome {
                        broadcast: entry.broadcast,
                        resent: entry.resent,
                    },
                ));
            }
        }
    }

    /// The earliest time a timer runs out, if any request waits.
    pub fn next_deadline(&self) -> Option<u64> {
        self.slots
            .iter()
            .filter_map(|slot| match slot {
                Slot::InUse(entry, _) => Some(entry.deadline_ms),
                _ => None,
            })
            .min()
    }

    /// Takes out every request `which` selects (its user is going away),
    /// handing each to `out`.
    pub fn withdraw(
        &mut self,
        now_ms: u64,
        mut which: impl FnMut(&T) -> bool,
        mut out: impl FnMut(T),
    ) {
        for i in 0..SLOTS {
            let selected =
                matches!(self.slots.get(i), Some(Slot::InUse(_, request)) if which(request));
            if selected {
                if let Some((_, request)) = self.release(i, now_ms) {
                    out(request);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
