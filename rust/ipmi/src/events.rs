// SPDX-License-Identifier: GPL-2.0

//! Events from the BMC's event buffer, and what each user may have
//! outstanding.
//!
//! As upstream: an event goes to every user that enabled events
//! (`ipmi_set_gets_events`); while none has, up to [`MAX_WAITING_EVENTS`]
//! wait in the interface ([`WaitingEvents`]) for the first user that
//! enables them, and further ones are dropped with one warning until the
//! queue has room again.
//!
//! Where ours differs, per user ([`Quota`]): upstream counts every message
//! a user has not yet freed (answers to its requests, events, received
//! commands) against one limit, `max_msgs_per_user`, so that events the
//! user has not read yet make its own requests fail with `-EBUSY` (the
//! operators' report; reproduced by selftests/guest/tests/events.sh), and
//! when the limit is reached upstream puts the event back at the head of
//! the interface's receive queue, holding up every other message behind
//! it. Ours counts requests in flight and unsolicited messages (events,
//! commands) apart: requests are limited by `max_msgs_per_user` alone, and
//! an unsolicited message beyond its own limit is dropped for that user
//! (counted), never holding up the others.

/// Events kept while no user wants them (upstream's
/// `MAX_EVENTS_IN_QUEUE`).
pub const MAX_WAITING_EVENTS: usize = 25;

/// An event record as Read Event Message Buffer returns it (16 bytes,
/// SEL format).
pub type EventRecord = [u8; 16];

/// What happened to an event offered to [`WaitingEvents::push`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// Kept.
    Queued,
    /// Dropped: the queue is full. `warn` on the first drop since the
    /// queue last had room (upstream warns once per such run).
    Dropped {
        /// Log a warning now.
        warn: bool,
    },
}

/// Events waiting for a user.
#[derive(Clone, Debug)]
pub struct WaitingEvents<const N: usize = MAX_WAITING_EVENTS> {
    ring: [EventRecord; N],
    head: usize,
    len: usize,
    dropped: u64,
    dropping: bool,
}

impl<const N: usize> Default for WaitingEvents<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> WaitingEvents<N> {
    /// An empty queue.
    pub const fn new() -> Self {
        WaitingEvents {
            ring: [[0; 16]; N],
            head: 0,
            len: 0,
            dropped: 0,
            dropping: false,
        }
    }

    /// Events waiting.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether none wait.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Events dropped because the queue was full, in all.
    pub const fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Keeps `event` if there is room.
    pub fn push(&mut self, event: &EventRecord) -> Waiting {
        if self.len >= N {
            self.dropped = self.dropped.saturating_add(1);
            let warn = !self.dropping;
            self.dropping = true;
            return Waiting::Dropped { warn };
        }
        if let Some(slot) = self.ring.get_mut((self.head + self.len) % N) {
            *slot = *event;
        }
        self.len += 1;
        Waiting::Queued
    }

    /// Hands every waiting event, oldest first, to `deliver`, and empties
    /// the queue (a user enabled events).
    pub fn drain(&mut self, mut deliver: impl FnMut(&EventRecord)) {
        while self.len > 0 {
            if let Some(event) = self.ring.get(self.head) {
                deliver(event);
            }
            self.head = (self.head + 1) % N;
            self.len -= 1;
        }
        self.head = 0;
        self.dropping = false;
    }
}

/// A user's limits (the handler's parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Requests in flight (upstream's `max_msgs_per_user`, 100).
    pub max_requests: u32,
    /// Events and received commands not yet consumed.
    pub max_unsolicited: u32,
}

impl Limits {
    /// Upstream's default for requests, and as many unsolicited.
    pub const DEFAULT: Limits = Limits {
        max_requests: 100,
        max_unsolicited: 100,
    };
}

/// Why a request may not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

/// What one user has outstanding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    requests: u32,
    unsolicited: u32,
    dropped: u64,
}

impl Quota {
    /// Requests in flight.
    pub const fn requests(&self) -> u32 {
        self.requests
    }

    /// Unsolicited messages given and not yet consumed.
    pub const fn unsolicited(&self) -> u32 {
        self.unsolicited
    }

    /// Unsolicited messages dropped for this user, in all.
    pub const fn dropped(&self) -> u64 {
        self.dropped
    }

    /// A request starts: refused (`-EBUSY`) at the request limit only.
    pub fn start_request(&mut self, limits: &Limits) -> Result<(), Busy> {
        if self.requests >= limits.max_requests {
            return Err(Busy);
        }
        self.requests += 1;
        Ok(())
    }

    /// A request ended (its answer or error was consumed).
    pub fn end_request(&mut self) {
        self.requests = self.requests.saturating_sub(1);
    }

    /// An event or command is to be given to the user: true if it may,
    /// false if it is dropped for this user (counted).
    pub fn offer_unsolicited(&mut self, limits: &Limits) -> bool {
        if self.unsolicited >= limits.max_unsolicited {
            self.dropped = self.dropped.saturating_add(1);
            return false;
        }
        self.unsolicited += 1;
        true
    }

    /// The user consumed (or freed) an unsolicited message.
    pub fn consume_unsolicited(&mut self) {
        self.unsolicited = self.unsolicited.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests;
