// SPDX-License-Identifier: GPL-2.0

//! A BT BMC at register level (IPMI 2.0 section 11), well-behaved by
//! default, misbehaving as its [`Behaviour`] says.

use super::super::bt::{B2H_ATN, B_BUSY, CLR_RD_PTR, CLR_WR_PTR, H2B_ATN, H_BUSY, SMS_ATN};
use super::{Access, Bmc};
use std::collections::VecDeque;

/// How the model misbehaves.
#[derive(Clone, Debug, Default)]
pub(crate) struct Behaviour {
    /// Time from H2B_ATN to the BMC taking the request.
    pub(crate) consume_delay_us: u32,
    /// Time from taking the request to B2H_ATN.
    pub(crate) response_delay_us: u32,
    /// The response body after the length byte; `None`: netfn + 1, seq,
    /// cmd, cc 0 and the request's data.
    pub(crate) response: Option<Vec<u8>>,
    /// The length byte to send instead of the body's length.
    pub(crate) length: Option<u8>,
    /// The first this many requests get a response with a wrong seq before
    /// theirs.
    pub(crate) wrong_seq: u32,
    /// B_BUSY stays set until this time (`u64::MAX`: for ever).
    pub(crate) busy_until_us: u64,
    /// Requests from this run on (counted from 0) get no response.
    pub(crate) mute_from: Option<u32>,
    /// B2H_ATN needs this many more clears than one.
    pub(crate) sticky_b2h: u32,
    /// A stale response waits when the model starts.
    pub(crate) stale_at_start: bool,
    /// The BMC resets (flags and buffers cleared, request lost) at this time.
    pub(crate) reset_at_us: Option<u64>,
    /// `SMS_ATN` set at the start.
    pub(crate) attention: bool,
    /// `SMS_ATN` comes back as soon as it is cleared.
    pub(crate) attention_storm: bool,
    /// Status reads (counted from 0) that return this value instead.
    pub(crate) garbage: Vec<(u32, u8)>,
    /// Every status read returns 0 (a BMC that is not there but reads 0).
    pub(crate) dead: bool,
}

/// The model.
#[derive(Clone, Debug, Default)]
pub(crate) struct BtBmc {
    pub(crate) behaviour: Behaviour,
    now: u64,
    h_busy: bool,
    h2b: bool,
    b2h: bool,
    sms: bool,
    host2bmc: Vec<u8>,
    write_ptr: usize,
    bmc2host: Vec<u8>,
    read_ptr: usize,
    take_at: Option<u64>,
    /// Responses waiting to be put in BMC2HOST, with the time they are ready.
    outbox: VecDeque<(u64, Vec<u8>)>,
    b2h_clears_left: u32,
    status_reads: u32,
    responses: u32,
    was_reset: bool,
    /// Requests run.
    pub(crate) executed: u32,
    /// The last request block taken (length byte first).
    pub(crate) last_block: Vec<u8>,
    /// Soft resets received (App Warm Reset blocks).
    pub(crate) soft_resets: u32,
    /// Accesses made.
    pub(crate) accesses: Vec<Access>,
}

impl BtBmc {
    pub(crate) fn new(behaviour: Behaviour) -> Self {
        let mut bmc = BtBmc {
            host2bmc: vec![0; 256],
            ..BtBmc::default()
        };
        if behaviour.stale_at_start {
            bmc.bmc2host = vec![4, 0x1c, 0x77, 0x01, 0x00];
            bmc.b2h = true;
        }
        bmc.sms = behaviour.attention || behaviour.attention_storm;
        bmc.behaviour = behaviour;
        bmc
    }

    fn b_busy(&self) -> bool {
        self.now < self.behaviour.busy_until_us
    }

    fn update(&mut self) {
        if let Some(at) = self.behaviour.reset_at_us {
            if !self.was_reset && self.now >= at {
                self.was_reset = true;
                self.h_busy = false;
                self.h2b = false;
                self.b2h = false;
                self.take_at = None;
                self.outbox.clear();
                self.write_ptr = 0;
                self.read_ptr = 0;
            }
        }
        if let Some(at) = self.take_at {
            if self.now >= at && !self.b_busy() {
                self.take_at = None;
                self.h2b = false;
                self.take();
            }
        }
        // The next response goes out once the host is done with the last.
        if !self.b2h && !self.h_busy {
            if let Some((at, _)) = self.outbox.front() {
                if self.now >= *at {
                    if let Some((_, block)) = self.outbox.pop_front() {
                        self.bmc2host = block;
                        self.read_ptr = 0;
                        self.b2h = true;
                        self.b2h_clears_left = self.behaviour.sticky_b2h;
                    }
                }
            }
        }
    }

    /// The BMC takes the request block from HOST2BMC.
    fn take(&mut self) {
        let len = usize::from(self.host2bmc[0]);
        let block: Vec<u8> = self.host2bmc[..=len.min(255)].to_vec();
        if block == [3, 0x18, 42, 0x03] {
            self.soft_resets += 1;
            return;
        }
        if len < 3 {
            return;
        }
        self.executed += 1;
        self.last_block = block.clone();
        if matches!(self.behaviour.mute_from, Some(from) if self.executed > from) {
            return;
        }
        let (netfn, seq, cmd) = (block[1], block[2], block[3]);
        let at = self.now + u64::from(self.behaviour.response_delay_us);
        self.responses += 1;
        if self.responses <= self.behaviour.wrong_seq {
            // An earlier request's response first (its seq, the same
            // netfn and cmd).
            let out = vec![4, netfn | 4, seq.wrapping_sub(1), cmd, 0];
            self.outbox.push_back((at, out));
        }
        let body = match &self.behaviour.response {
            Some(body) => body.clone(),
            None => {
                let mut body = vec![netfn | 4, seq, cmd, 0];
                body.extend_from_slice(&block[4..]);
                body.truncate(255);
                body
            }
        };
        let length = self.behaviour.length.unwrap_or(body.len() as u8);
        let mut out = vec![length];
        out.extend_from_slice(&body);
        self.outbox.push_back((at, out));
    }
}

impl Bmc for BtBmc {
    fn read_status(&mut self) -> u8 {
        self.update();
        let index = self.status_reads;
        self.status_reads += 1;
        let garbage = self
            .behaviour
            .garbage
            .iter()
            .find(|(at, _)| *at == index)
            .map(|(_, value)| *value);
        let status = if self.behaviour.dead {
            0
        } else {
            garbage.unwrap_or(
                if self.b_busy() { B_BUSY } else { 0 }
                    | if self.h_busy { H_BUSY } else { 0 }
                    | if self.sms { SMS_ATN } else { 0 }
                    | if self.b2h { B2H_ATN } else { 0 }
                    | if self.h2b { H2B_ATN } else { 0 },
            )
        };
        self.accesses.push(Access::ReadStatus(status));
        status
    }

    fn read_data(&mut self) -> u8 {
        self.update();
        let value = self.bmc2host.get(self.read_ptr).copied().unwrap_or(0);
        self.read_ptr += 1;
        self.accesses.push(Access::ReadData(value));
        value
    }

    fn write_command(&mut self, value: u8) {
        self.update();
        self.accesses.push(Access::WriteCommand(value));
        if value & CLR_WR_PTR != 0 {
            self.write_ptr = 0;
        }
        if value & CLR_RD_PTR != 0 {
            self.read_ptr = 0;
        }
        if value & H2B_ATN != 0 {
            self.h2b = true;
            self.take_at = Some(self.now + u64::from(self.behaviour.consume_delay_us));
        }
        if value & B2H_ATN != 0 {
            if self.b2h_clears_left > 0 {
                self.b2h_clears_left -= 1;
            } else {
                self.b2h = false;
            }
        }
        if value & SMS_ATN != 0 && !self.behaviour.attention_storm {
            self.sms = false;
        }
        if value & H_BUSY != 0 {
            self.h_busy = !self.h_busy;
        }
        self.update();
    }

    fn write_data(&mut self, value: u8) {
        self.update();
        self.accesses.push(Access::WriteData(value));
        if let Some(slot) = self.host2bmc.get_mut(self.write_ptr) {
            *slot = value;
        }
        self.write_ptr += 1;
    }

    fn advance(&mut self, us: u32) {
        self.now += u64::from(us);
    }

    fn executed(&self) -> u32 {
        self.executed
    }
}
