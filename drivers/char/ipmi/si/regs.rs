// SPDX-License-Identifier: GPL-2.0

//! The registers of a KCS or BT interface, as the shared core's machines
//! name them (status, data, command), over the mapped bank.

use crate::ipmi::si::params::SiKind;
use crate::ipmi::si::{bt, kcs, Registers};
use crate::kext::ioregs::IoRegs;

/// Which system interface is behind the registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SiType {
    /// Keyboard Controller Style: two registers.
    Kcs,
    /// Block Transfer: three registers.
    Bt,
}

impl SiType {
    /// Registers the interface has.
    pub(crate) const fn register_count(self) -> usize {
        match self {
            SiType::Kcs => 2,
            SiType::Bt => 3,
        }
    }

    /// The parameters' name for it.
    pub(crate) const fn kind(self) -> SiKind {
        match self {
            SiType::Kcs => SiKind::Kcs,
            SiType::Bt => SiKind::Bt,
        }
    }

    /// The name upstream shows in sysfs and logs.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            SiType::Kcs => "kcs",
            SiType::Bt => "bt",
        }
    }

    const fn status_register(self) -> usize {
        match self {
            SiType::Kcs => kcs::STATUS_REGISTER,
            SiType::Bt => bt::CTRL_REGISTER,
        }
    }

    const fn data_register(self) -> usize {
        match self {
            SiType::Kcs => kcs::DATA_REGISTER,
            SiType::Bt => bt::DATA_REGISTER,
        }
    }
}

/// The machines' view of the bank, counting accesses.
pub(crate) struct Bank<'a> {
    pub(crate) regs: &'a IoRegs,
    pub(crate) si_type: SiType,
    /// Register accesses made through this view.
    pub(crate) accesses: u32,
}

impl<'a> Bank<'a> {
    pub(crate) fn new(regs: &'a IoRegs, si_type: SiType) -> Self {
        Bank {
            regs,
            si_type,
            accesses: 0,
        }
    }
}

impl Registers for Bank<'_> {
    fn read_status(&mut self) -> u8 {
        self.accesses = self.accesses.wrapping_add(1);
        self.regs.read(self.si_type.status_register())
    }

    fn read_data(&mut self) -> u8 {
        self.accesses = self.accesses.wrapping_add(1);
        self.regs.read(self.si_type.data_register())
    }

    fn write_command(&mut self, value: u8) {
        self.accesses = self.accesses.wrapping_add(1);
        self.regs.write(self.si_type.status_register(), value);
    }

    fn write_data(&mut self, value: u8) {
        self.accesses = self.accesses.wrapping_add(1);
        self.regs.write(self.si_type.data_register(), value);
    }
}
