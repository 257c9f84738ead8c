// SPDX-License-Identifier: GPL-2.0

//! A KCS BMC at register level (IPMI 2.0 section 9), well-behaved by
//! default, misbehaving as its [`Behaviour`] says.

use super::super::kcs::{
    GET_STATUS_ABORT, READ_BYTE, STATUS_CD, STATUS_IBF, STATUS_OBF, STATUS_SMS_ATN, WRITE_END,
    WRITE_START,
};
use super::{echo, Access, Bmc};

const IDLE: u8 = 0;
const READ: u8 = 1;
const WRITE: u8 = 2;
const ERROR: u8 = 3;

/// How the model misbehaves.
#[derive(Clone, Debug, Default)]
pub(crate) struct Behaviour {
    /// Time the BMC takes to take each write (IBF set that long).
    pub(crate) ibf_delay_us: u32,
    /// Time from the request (or a READ) to the next byte in `Data_Out`.
    pub(crate) obf_delay_us: u32,
    /// The response to give; `None`: the echo of the request.
    pub(crate) response: Option<Vec<u8>>,
    /// The response never ends: bytes keep coming after it.
    pub(crate) endless: bool,
    /// From this host write on (counted from 0 over the model's life), IBF
    /// stays set.
    pub(crate) stuck_ibf_from: Option<u32>,
    /// Requests get no response (OBF never set in the read phase) from
    /// this run on (counted from 0).
    pub(crate) mute_from: Option<u32>,
    /// OBF reads as set whatever the BMC did.
    pub(crate) obf_stuck: bool,
    /// Host writes (counted from 0) at which the BMC goes to ERROR_STATE.
    pub(crate) error_at: Vec<u32>,
    /// GET_STATUS/ABORT does nothing.
    pub(crate) ignore_abort: bool,
    /// The BMC resets (everything back to idle) at this time.
    pub(crate) reset_at_us: Option<u64>,
    /// A dummy byte in `Data_Out` after WRITE_START.
    pub(crate) dummy_on_write_start: bool,
    /// No dummy byte after the last response byte (broken hardware
    /// upstream copes with).
    pub(crate) no_final_dummy: bool,
    /// `SMS_ATN` set.
    pub(crate) attention: bool,
    /// Status reads (counted from 0) that return this value instead.
    pub(crate) garbage: Vec<(u32, u8)>,
}

/// The model.
#[derive(Clone, Debug, Default)]
pub(crate) struct KcsBmc {
    pub(crate) behaviour: Behaviour,
    now: u64,
    state: u8,
    ibf: bool,
    obf: bool,
    cd: bool,
    data_in: u8,
    in_is_command: bool,
    ibf_done_at: u64,
    write_index: u32,
    data_out: u8,
    obf_at: Option<(u64, u8)>,
    request: Vec<u8>,
    write_end: bool,
    aborting: bool,
    response: Vec<u8>,
    response_pos: usize,
    answering: bool,
    status_reads: u32,
    was_reset: bool,
    /// Requests run.
    pub(crate) executed: u32,
    /// The last request run.
    pub(crate) last_request: Vec<u8>,
    /// Accesses made.
    pub(crate) accesses: Vec<Access>,
}

impl KcsBmc {
    pub(crate) fn new(behaviour: Behaviour) -> Self {
        KcsBmc {
            behaviour,
            ..KcsBmc::default()
        }
    }

    /// Puts a byte in `Data_Out` (at once, or after the OBF delay).
    fn output(&mut self, byte: u8, delayed: bool) {
        let at = if delayed {
            self.now + u64::from(self.behaviour.obf_delay_us)
        } else {
            self.now
        };
        self.obf_at = Some((at, byte));
    }

    fn reset(&mut self) {
        self.state = IDLE;
        self.ibf = false;
        self.obf = false;
        self.obf_at = None;
        self.request.clear();
        self.write_end = false;
        self.aborting = false;
        self.response.clear();
        self.response_pos = 0;
        self.answering = false;
    }

    fn update(&mut self) {
        if let Some(at) = self.behaviour.reset_at_us {
            if !self.was_reset && self.now >= at {
                self.was_reset = true;
                self.reset();
            }
        }
        for _ in 0..2 {
            if self.ibf && self.now >= self.ibf_done_at {
                let index = self.write_index - 1;
                let stuck = matches!(self.behaviour.stuck_ibf_from, Some(from) if index >= from);
                if !stuck {
                    self.ibf = false;
                    self.process(index, self.in_is_command, self.data_in);
                }
            }
            if let Some((at, byte)) = self.obf_at {
                if self.now >= at {
                    self.data_out = byte;
                    self.obf = true;
                    self.obf_at = None;
                }
            }
        }
    }

    fn muted(&self) -> bool {
        matches!(self.behaviour.mute_from, Some(from) if self.executed > from)
    }

    fn process(&mut self, index: u32, command: bool, value: u8) {
        if self.behaviour.error_at.contains(&index) {
            self.state = ERROR;
            return;
        }
        if command {
            match value {
                WRITE_START => {
                    self.state = WRITE;
                    self.answering = false;
                    self.request.clear();
                    self.write_end = false;
                    self.aborting = false;
                    if self.behaviour.dummy_on_write_start {
                        self.output(0, false);
                    }
                }
                WRITE_END if self.state == WRITE => self.write_end = true,
                GET_STATUS_ABORT if !self.behaviour.ignore_abort => {
                    self.aborting = true;
                    self.write_end = false;
                    self.state = WRITE;
                }
                GET_STATUS_ABORT => {}
                _ => self.state = ERROR,
            }
            return;
        }
        if self.aborting {
            // The byte after GET_STATUS/ABORT: report a status code.
            self.aborting = false;
            self.answering = false;
            self.response.clear();
            self.response_pos = 0;
            self.state = READ;
            self.output(0x01, true);
            return;
        }
        match self.state {
            WRITE => {
                self.request.push(value);
                if self.write_end {
                    self.write_end = false;
                    self.executed += 1;
                    self.last_request = self.request.clone();
                    self.response = match &self.behaviour.response {
                        Some(response) => response.clone(),
                        None => echo(&self.request),
                    };
                    self.response_pos = 0;
                    self.answering = true;
                    self.state = READ;
                    self.next_byte();
                }
            }
            READ if value == READ_BYTE => self.next_byte(),
            READ => self.state = ERROR,
            _ => {}
        }
    }

    /// The next response byte, or the end of the response.
    fn next_byte(&mut self) {
        if self.answering && self.muted() {
            return;
        }
        if let Some(&byte) = self.response.get(self.response_pos) {
            self.response_pos += 1;
            self.output(byte, true);
        } else if self.answering && self.behaviour.endless {
            self.response_pos += 1;
            self.output(0xaa, true);
        } else {
            let answered = self.answering;
            self.state = IDLE;
            self.answering = false;
            if !(answered && self.behaviour.no_final_dummy) {
                self.output(0, true);
            }
        }
    }

    fn write(&mut self, command: bool, value: u8) {
        self.update();
        self.data_in = value;
        self.in_is_command = command;
        self.cd = command;
        self.ibf = true;
        self.ibf_done_at = self.now + u64::from(self.behaviour.ibf_delay_us);
        self.write_index += 1;
        self.update();
    }
}

impl Bmc for KcsBmc {
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
        let status = garbage.unwrap_or(
            (self.state << 6)
                | if self.behaviour.attention {
                    STATUS_SMS_ATN
                } else {
                    0
                }
                | if self.cd { STATUS_CD } else { 0 }
                | if self.ibf { STATUS_IBF } else { 0 }
                | if self.obf || self.behaviour.obf_stuck {
                    STATUS_OBF
                } else {
                    0
                },
        );
        self.accesses.push(Access::ReadStatus(status));
        status
    }

    fn read_data(&mut self) -> u8 {
        self.update();
        self.obf = false;
        self.accesses.push(Access::ReadData(self.data_out));
        self.data_out
    }

    fn write_command(&mut self, value: u8) {
        self.accesses.push(Access::WriteCommand(value));
        self.write(true, value);
    }

    fn write_data(&mut self, value: u8) {
        self.accesses.push(Access::WriteData(value));
        self.write(false, value);
    }

    fn advance(&mut self, us: u32) {
        self.now += u64::from(us);
    }

    fn executed(&self) -> u32 {
        self.executed
    }
}
