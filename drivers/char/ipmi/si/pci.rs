// SPDX-License-Identifier: GPL-2.0

//! PCI devices of the IPMI classes (KCS 0x0c0701, BT 0x0c0702; SMIC
//! 0x0c0700 refused): the registers in BAR 0, the legacy interrupt line.

use crate::ipmi::si::kcs;
use crate::kext::ioregs::{IoRegs, Layout, Space};
use crate::regs::SiType;
use crate::{bring_up, si_type_of, Bound, Interrupt, SiConfig};
use core::ptr::NonNull;
use kernel::device::Core;
use kernel::pci;
use kernel::prelude::*;
use kernel::{bindings, c_str};

/// Where the description came from (`enum ipmi_addr_src`).
const SI_PCI: u32 = crate::glue::bindings::ipmi_addr_src_SI_PCI;

/// The firmware type code (as in `_IFT`) each class stands for.
const CLASS_SMIC: u32 = bindings::PCI_CLASS_SERIAL_IPMI_SMIC;
const CLASS_KCS: u32 = bindings::PCI_CLASS_SERIAL_IPMI_KCS;
const CLASS_BT: u32 = bindings::PCI_CLASS_SERIAL_IPMI_BT;

kernel::pci_device_table!(
    PCI_TABLE,
    <SiPci as pci::Driver>::IdInfo,
    [
        (pci::DeviceId::from_class(CLASS_SMIC, 0xffffff), 2),
        (pci::DeviceId::from_class(CLASS_KCS, 0xffffff), 1),
        (pci::DeviceId::from_class(CLASS_BT, 0xffffff), 3),
        // HP's management controller, a KCS without the class code.
        (pci::DeviceId::from_id(pci::Vendor::HP, 0x121a), 1),
    ]
);

/// The PCI driver.
pub(crate) struct SiPci;

/// A bound PCI interface: the interface, then the device disabled.
///
/// # Invariants
///
/// `pdev` was enabled with `pci_enable_device` by the probe that made
/// this, and is bound to this driver while it lives.
#[pin_data(PinnedDrop)]
pub(crate) struct PciBound {
    bound: Option<Bound>,
    pdev: NonNull<bindings::pci_dev>,
}

// SAFETY: the device pointer is only used to disable the device on drop,
// which may happen on any thread.
unsafe impl Send for PciBound {}

#[pinned_drop]
impl PinnedDrop for PciBound {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: not moved out of; the interface goes before the device
        // is disabled.
        let this = unsafe { self.get_unchecked_mut() };
        drop(this.bound.take());
        // SAFETY: enabled by the probe (type invariant).
        unsafe { bindings::pci_disable_device(this.pdev.as_ptr()) };
    }
}

impl pci::Driver for SiPci {
    type IdInfo = u8;
    type Data<'bound> = PciBound;
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        id_info: Option<&'bound u8>,
    ) -> impl PinInit<PciBound, Error> + 'bound {
        let dev: &kernel::device::Device = pdev.as_ref();
        let raw = raw_pci_dev(pdev);
        (|| -> Result<PciBound> {
            let si_type = si_type_of(dev, id_info.copied())?;
            // SAFETY: a device being probed.
            kernel::error::to_result(unsafe { bindings::pci_enable_device(raw.as_ptr()) })?;
            // INVARIANT: enabled above; disabled on drop, or below on
            // failure through the same drop.
            let mut bound = PciBound {
                bound: None,
                pdev: raw,
            };
            // SAFETY: live device; resource 0 is BAR 0.
            let flags = unsafe { (*raw.as_ptr()).resource[0].flags };
            let space = if flags & bindings::IORESOURCE_IO as usize != 0 {
                Space::Port
            } else {
                Space::Memory
            };
            let start = pdev.resource_start(0)?;
            let len = pdev.resource_len(0)?;
            // SAFETY: live device.
            let irq = unsafe { (*raw.as_ptr()).irq };
            let mut layout = Layout {
                space,
                start,
                count: si_type.register_count(),
                spacing: 1,
                size: 1,
                shift: 0,
            };
            if si_type == SiType::Kcs {
                layout.spacing = probe_kcs_spacing(layout, len);
            }
            let config = SiConfig {
                si_type,
                layout,
                interrupt: Interrupt::line(irq),
                slave_addr: 0,
                addr_src: SI_PCI,
            };
            // SAFETY: live device; only the address is taken.
            let raw_dev = unsafe { NonNull::new_unchecked(&raw mut (*raw.as_ptr()).dev) };
            bound.bound = Some(bring_up(dev, raw_dev, config)?);
            Ok(bound)
        })()
    }
}

/// The raw `struct pci_dev` of a device.
fn raw_pci_dev(pdev: &pci::Device<Core<'_>>) -> NonNull<bindings::pci_dev> {
    // `pci::Device` is a transparent wrapper of the C structure.
    NonNull::from(pdev).cast()
}

/// KCS registers of PCI devices come 1, 4 or 16 bytes apart: the first
/// spacing at which an invalid command puts something (the error state)
/// in the status register is theirs (upstream's probe). 1 if none does.
fn probe_kcs_spacing(layout: Layout, bar_len: u64) -> u32 {
    for spacing in [1u32, 4, 16] {
        if u64::from(spacing) + 1 > bar_len {
            break;
        }
        let candidate = Layout { spacing, ..layout };
        let Ok(regs) = IoRegs::new(candidate, c_str!("ipmi_si")) else {
            break;
        };
        regs.write(kcs::STATUS_REGISTER, 0x10);
        if regs.read(kcs::STATUS_REGISTER) != 0 {
            return spacing;
        }
    }
    1
}
