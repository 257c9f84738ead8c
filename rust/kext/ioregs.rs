// SPDX-License-Identifier: GPL-2.0

//! A small bank of byte registers in I/O port or memory space, as legacy
//! interfaces (IPMI KCS and BT, SMBus controllers, ...) lay them out:
//! register `i` at `start + i * spacing`, each `size` bytes wide, the
//! byte of interest `shift` bits up.
//!
//! The 7.3 kernel crate has MMIO (`Io`, `IoMem`) but no port I/O. Both
//! spaces go through `ioport_map()`/`ioremap()` and the `ioread*`/
//! `iowrite*` family, which take either cookie; each register's range is
//! claimed (`request_region()`/`request_mem_region()`) as upstream drivers
//! claim them, so that `/proc/ioports` and `/proc/iomem` show the owner.

use core::ffi::c_void;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;
use kernel::str::CStr;

/// Which address space the registers are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// I/O ports (`inb`/`outb` on x86).
    Port,
    /// Memory-mapped.
    Memory,
}

/// Most registers in one bank.
pub const MAX_REGISTERS: usize = 4;

/// Where the registers are and how they are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Address space.
    pub space: Space,
    /// Address of register 0.
    pub start: u64,
    /// Number of registers (at most [`MAX_REGISTERS`]).
    pub count: usize,
    /// Bytes from one register to the next (at least `size`).
    pub spacing: u32,
    /// Width of one register access: 1, 2 or 4 bytes.
    pub size: u8,
    /// Bits the byte of interest is shifted up within a register.
    pub shift: u8,
}

impl Layout {
    /// Checks that the layout can be mapped; `EINVAL` otherwise.
    fn check(&self) -> Result {
        let size_ok = matches!(self.size, 1 | 2 | 4);
        let shift_ok = u32::from(self.shift) + 8 <= u32::from(self.size) * 8;
        let span = u64::from(self.spacing)
            .checked_mul(self.count.saturating_sub(1) as u64)
            .and_then(|s| s.checked_add(u64::from(self.size)))
            .and_then(|s| s.checked_add(self.start));
        let port_ok = self.space == Space::Memory || span.is_some_and(|end| end <= 0x1_0000);
        if !size_ok
            || !shift_ok
            || self.count == 0
            || self.count > MAX_REGISTERS
            || self.spacing < u32::from(self.size)
            || span.is_none()
            || !port_ok
        {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Bytes from register 0 to the end of the last register.
    fn span(&self) -> u64 {
        u64::from(self.spacing) * (self.count as u64 - 1) + u64::from(self.size)
    }

    fn resource(&self) -> *mut bindings::resource {
        match self.space {
            // Only the address of the kernel's root resources is taken;
            // `__request_region` locks them itself.
            Space::Port => &raw mut bindings::ioport_resource,
            Space::Memory => &raw mut bindings::iomem_resource,
        }
    }
}

/// A mapped and claimed bank of registers.
///
/// # Invariants
///
/// `cookie` maps `layout.span()` bytes from `layout.start` (from
/// `ioport_map` or `ioremap` after `layout.check()` passed) and stays
/// mapped until drop; `claimed` registers of the layout are claimed.
pub struct IoRegs {
    layout: Layout,
    cookie: NonNull<c_void>,
    claimed: usize,
}

// SAFETY: the mapping is not tied to a thread; accesses are single
// `ioread`/`iowrite` calls, and callers serialise what must be serialised.
unsafe impl Send for IoRegs {}
// SAFETY: as above.
unsafe impl Sync for IoRegs {}

impl IoRegs {
    /// Claims every register of `layout` under `name` and maps them.
    /// `EBUSY` if another driver has one of them.
    pub fn new(layout: Layout, name: &'static CStr) -> Result<IoRegs> {
        layout.check()?;
        let mut regs = IoRegs {
            layout,
            cookie: NonNull::dangling(),
            claimed: 0,
        };
        for i in 0..layout.count {
            let start = layout.start + u64::from(layout.spacing) * i as u64;
            // SAFETY: the root resource is valid; `name` is static.
            let res = unsafe {
                bindings::__request_region(
                    layout.resource(),
                    start,
                    u64::from(layout.size),
                    name.as_char_ptr(),
                    0,
                )
            };
            if res.is_null() {
                // Drop releases the ones claimed so far; the cookie is not
                // mapped yet, which drop knows from `claimed` < count.
                return Err(EBUSY);
            }
            regs.claimed += 1;
        }
        let span = layout.span();
        let cookie = match layout.space {
            // SAFETY: the ports were claimed above; the span fits in the
            // port space (`check`).
            Space::Port => unsafe { bindings::ioport_map(layout.start as usize, span as u32) },
            // SAFETY: the memory was claimed above.
            Space::Memory => unsafe { bindings::ioremap(layout.start, span as usize) },
        };
        match NonNull::new(cookie) {
            Some(cookie) => {
                // INVARIANT: mapped and fully claimed.
                regs.cookie = cookie;
                Ok(regs)
            }
            None => Err(ENOMEM),
        }
    }

    /// The layout.
    pub const fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Whether every register is claimed and mapped.
    fn mapped(&self) -> bool {
        self.claimed == self.layout.count && self.cookie != NonNull::dangling()
    }

    /// The mapped address of register `index`, or `None` past the bank.
    fn address(&self, index: usize) -> Option<*mut c_void> {
        if index >= self.layout.count {
            return None;
        }
        let offset = self.layout.spacing as usize * index;
        // SAFETY: within the mapped span (type invariant; index checked).
        Some(unsafe { self.cookie.as_ptr().cast::<u8>().add(offset) }.cast())
    }

    /// Reads register `index`; all ones past the bank, as an absent device
    /// reads.
    pub fn read(&self, index: usize) -> u8 {
        let Some(addr) = self.address(index) else {
            return 0xff;
        };
        // SAFETY: `addr` is a mapped register (type invariant).
        let value = unsafe {
            match self.layout.size {
                1 => bindings::ioread8(addr),
                2 => bindings::ioread16(addr),
                _ => bindings::ioread32(addr),
            }
        };
        (value >> self.layout.shift) as u8
    }

    /// Writes register `index`; nothing past the bank.
    pub fn write(&self, index: usize, value: u8) {
        let Some(addr) = self.address(index) else {
            return;
        };
        let value = u32::from(value) << self.layout.shift;
        // SAFETY: `addr` is a mapped register (type invariant).
        unsafe {
            match self.layout.size {
                1 => bindings::iowrite8(value as u8, addr),
                2 => bindings::iowrite16(value as u16, addr),
                _ => bindings::iowrite32(value, addr),
            }
        }
    }
}

impl Drop for IoRegs {
    fn drop(&mut self) {
        if self.mapped() {
            match self.layout.space {
                // SAFETY: mapped by `ioport_map` (type invariant).
                Space::Port => unsafe { bindings::ioport_unmap(self.cookie.as_ptr()) },
                // SAFETY: mapped by `ioremap` (type invariant).
                Space::Memory => unsafe { bindings::iounmap(self.cookie.as_ptr()) },
            }
        }
        for i in 0..self.claimed {
            let start = self.layout.start + u64::from(self.layout.spacing) * i as u64;
            // SAFETY: this range was claimed by `new` (type invariant).
            unsafe {
                bindings::__release_region(
                    self.layout.resource(),
                    start,
                    u64::from(self.layout.size),
                )
            };
        }
    }
}
