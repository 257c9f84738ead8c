// SPDX-License-Identifier: GPL-2.0

//! Command receivers: which user gets a command that arrives for the host
//! (upstream's `cmd_rcvrs`, `ipmi_register_for_cmd`,
//! `ipmi_unregister_for_cmd`).
//!
//! A user registers (netfn, cmd) on a set of channels (a bit per channel,
//! [`CHANNELS`] of them). At most one user holds a (netfn, cmd, channel):
//! a registration that overlaps another on any channel is refused whole
//! (`-EBUSY`). Unregistering takes the named channels away from the
//! user's registrations of that (netfn, cmd), and fails with `-ENOENT` if
//! the user held none of them. A command that finds no receiver is
//! answered by the handler with completion code 0xC1 (invalid command).
//!
//! The table has a fixed capacity `N` (upstream allocates one entry per
//! registration without limit): a registration beyond it is refused as
//! upstream refuses one it cannot allocate (`-ENOMEM`).

use core::ptr;

/// Channels a registration can name (upstream's `IPMI_NUM_CHANNELS`).
pub const CHANNELS: u8 = 16;
/// Every channel (upstream's `IPMI_CHAN_ALL`, what the plain
/// `IPMICTL_REGISTER_FOR_CMD` registers on).
pub const ALL_CHANNELS: u32 = u32::MAX;

/// Why a registration change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RcvrError {
    /// Another registration holds (netfn, cmd) on one of the channels
    /// (`-EBUSY`).
    Busy,
    /// The table is full (`-ENOMEM`).
    Full,
    /// The user held (netfn, cmd) on none of the channels (`-ENOENT`).
    NotFound,
}

impl RcvrError {
    /// The errno upstream returns (positive: callers negate it).
    pub const fn errno(self) -> i32 {
        match self {
            RcvrError::Busy => 16,    // EBUSY
            RcvrError::Full => 12,    // ENOMEM
            RcvrError::NotFound => 2, // ENOENT
        }
    }
}

/// One registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receiver<U> {
    /// Network function (a request netfn).
    pub netfn: u8,
    /// Command.
    pub cmd: u8,
    /// Channels, a bit each.
    pub chans: u32,
    /// Who gets the commands.
    pub user: U,
}

/// The receivers of one interface.
#[derive(Debug)]
pub struct CmdRcvrs<U, const N: usize> {
    entries: [Option<Receiver<U>>; N],
    len: usize,
}

impl<U: Copy + PartialEq, const N: usize> Default for CmdRcvrs<U, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<U: Copy + PartialEq, const N: usize> CmdRcvrs<U, N> {
    /// An empty table.
    pub const fn new() -> Self {
        CmdRcvrs {
            entries: [None; N],
            len: 0,
        }
    }

    /// Writes an empty table at `this`, entry by entry (see
    /// `SeqTable::write_empty`: the table is KiB, not for the stack).
    ///
    /// # Safety
    ///
    /// `this` must be valid for writes of a `Self` and aligned. Whatever
    /// was there is overwritten without being dropped.
    pub unsafe fn write_empty(this: *mut Self) {
        // SAFETY: the caller makes `this` valid for writes; every field is
        // written through it exactly once.
        unsafe {
            let entries = ptr::addr_of_mut!((*this).entries).cast::<Option<Receiver<U>>>();
            for i in 0..N {
                entries.add(i).write(None);
            }
            ptr::addr_of_mut!((*this).len).write(0);
        }
    }

    /// Registrations held.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether none are held (the handler stops watching for commands).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn iter(&self) -> impl Iterator<Item = &Receiver<U>> {
        self.entries.iter().flatten()
    }

    /// Registers `user` for (`netfn`, `cmd`) on `chans`.
    pub fn register(&mut self, user: U, netfn: u8, cmd: u8, chans: u32) -> Result<(), RcvrError> {
        if self
            .iter()
            .any(|r| r.netfn == netfn && r.cmd == cmd && r.chans & chans != 0)
        {
            return Err(RcvrError::Busy);
        }
        let slot = self
            .entries
            .iter_mut()
            .find(|e| e.is_none())
            .ok_or(RcvrError::Full)?;
        *slot = Some(Receiver {
            netfn,
            cmd,
            chans,
            user,
        });
        self.len += 1;
        Ok(())
    }

    /// Takes `chans` away from `user`'s registrations of (`netfn`, `cmd`);
    /// a registration left with no channel goes. Returns how many went.
    pub fn unregister(
        &mut self,
        user: U,
        netfn: u8,
        cmd: u8,
        chans: u32,
    ) -> Result<usize, RcvrError> {
        let mut found = false;
        let mut removed = 0;
        for entry in self.entries.iter_mut() {
            let Some(r) = entry else { continue };
            if r.user != user || r.netfn != netfn || r.cmd != cmd || r.chans & chans == 0 {
                continue;
            }
            found = true;
            r.chans &= !chans;
            if r.chans == 0 {
                *entry = None;
                removed += 1;
            }
        }
        self.len -= removed;
        if found {
            Ok(removed)
        } else {
            Err(RcvrError::NotFound)
        }
    }

    /// Drops every registration of `user` (it is going away); returns how
    /// many.
    pub fn remove_user(&mut self, user: U) -> usize {
        let mut removed = 0;
        for entry in self.entries.iter_mut() {
            if entry.is_some_and(|r| r.user == user) {
                *entry = None;
                removed += 1;
            }
        }
        self.len -= removed;
        removed
    }

    /// Who receives (`netfn`, `cmd`) arriving on `channel`, if anyone.
    pub fn find(&self, netfn: u8, cmd: u8, channel: u8) -> Option<U> {
        if channel >= CHANNELS {
            return None;
        }
        let bit = 1u32 << channel;
        self.iter()
            .find(|r| r.netfn == netfn && r.cmd == cmd && r.chans & bit != 0)
            .map(|r| r.user)
    }
}

#[cfg(test)]
mod tests;
