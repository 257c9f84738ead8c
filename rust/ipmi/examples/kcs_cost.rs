// SPDX-License-Identifier: GPL-2.0

//! The KCS machine's own work per transaction, for instruction counting:
//! `valgrind --tool=callgrind target/release/examples/kcs_cost 10000`
//! then `callgrind_annotate`. A BMC with no latency (every write taken at
//! once, every byte ready at once) answers Get Device ID with 15 bytes, so
//! what is counted is the machine and `si::run`, not waiting. Under QEMU's
//! TCG the guest's cost follows the instructions and the calls executed.

use ipmi::si::kcs::{Kcs, READ_BYTE, STATUS_CD, STATUS_OBF, WRITE_END, WRITE_START};
use ipmi::si::{Action, Registers, Resend};

const IDLE: u8 = 0;
const READ: u8 = 1;
const WRITE: u8 = 2;

/// A KCS BMC that is never busy.
struct InstantBmc {
    state: u8,
    obf: bool,
    cd: bool,
    data_out: u8,
    write_end: bool,
    request_len: usize,
    response: [u8; 15],
    pos: usize,
    accesses: u64,
}

impl InstantBmc {
    fn new() -> Self {
        let mut response = [0u8; 15];
        response[0] = 0x1c;
        response[1] = 0x01;
        for (i, b) in response.iter_mut().enumerate().skip(3) {
            *b = i as u8;
        }
        InstantBmc {
            state: IDLE,
            obf: false,
            cd: false,
            data_out: 0,
            write_end: false,
            request_len: 0,
            response,
            pos: 0,
            accesses: 0,
        }
    }

    fn put(&mut self, byte: u8) {
        self.data_out = byte;
        self.obf = true;
    }
}

impl Registers for InstantBmc {
    fn read_status(&mut self) -> u8 {
        self.accesses += 1;
        let cd = if self.cd { STATUS_CD } else { 0 };
        let obf = if self.obf { STATUS_OBF } else { 0 };
        (self.state << 6) | cd | obf
    }

    fn read_data(&mut self) -> u8 {
        self.accesses += 1;
        self.obf = false;
        self.data_out
    }

    fn write_command(&mut self, value: u8) {
        self.accesses += 1;
        self.cd = true;
        match value {
            WRITE_START => {
                self.state = WRITE;
                self.write_end = false;
                self.request_len = 0;
            }
            WRITE_END => self.write_end = true,
            _ => {}
        }
    }

    fn write_data(&mut self, value: u8) {
        self.accesses += 1;
        self.cd = false;
        match self.state {
            WRITE => {
                self.request_len += 1;
                if self.write_end {
                    self.state = READ;
                    self.pos = 1;
                    let first = self.response[0];
                    self.put(first);
                }
            }
            READ if value == READ_BYTE => {
                if let Some(&b) = self.response.get(self.pos) {
                    self.pos += 1;
                    self.put(b);
                } else {
                    self.state = IDLE;
                    self.put(0);
                }
            }
            _ => {}
        }
    }
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let mut bmc = InstantBmc::new();
    let mut kcs = Kcs::default();
    let t0 = std::time::Instant::now();
    for _ in 0..n {
        kcs.start(&[0x18, 0x01], Resend::Always)
            .expect("idle machine");
        loop {
            match kcs.run_on(&mut bmc, 0) {
                Action::Response(_) => break,
                Action::Wait { .. } => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(kcs.response().len(), 15);
        // The idle poll after the transaction, as the driver makes it.
        assert_eq!(kcs.run_on(&mut bmc, 0), Action::Idle);
    }
    let n = u128::from(n.max(1));
    let ns = t0.elapsed().as_nanos() / n;
    let accesses_x10 = u128::from(bmc.accesses) * 10 / n;
    println!(
        "{n} transactions: {}.{} register accesses and {ns} ns each",
        accesses_x10 / 10,
        accesses_x10 % 10
    );
}
