// SPDX-License-Identifier: GPL-2.0

//! Interfaces the firmware or a parameter describes as platform devices:
//! ACPI `IPI0001` (with `_IFT`), the built-in SMBIOS decoder's
//! `dmi-ipmi-si.N`, and `hardcode-ipmi-si.N` / `hotmod-ipmi-si.N`.

use crate::ipmi::si::params::AddrSpace;
use crate::kext::ioregs::{Layout, Space};
use crate::kext::platform::{self, PlatformDevice};
use crate::params;
use crate::regs::SiType;
use crate::{bring_up, si_type_of, Bound, Interrupt, SiConfig};
use core::pin::Pin;
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::{c_str, str::CStr};

/// Where the description came from (`enum ipmi_addr_src`).
const SI_SMBIOS: u32 = crate::glue::bindings::ipmi_addr_src_SI_SMBIOS;
const SI_ACPI: u32 = crate::glue::bindings::ipmi_addr_src_SI_ACPI;

/// The BMC's IPMB address when the description gives none.
const DEFAULT_SLAVE_ADDR: u8 = 0x20;

/// The platform driver.
pub(crate) struct SiPlatform;

impl platform::Driver for SiPlatform {
    type Data = Bound;
    const NAME: &'static CStr = c_str!("ipmi_si");
    const IDS: &'static [kernel::bindings::platform_device_id] = &[
        platform::device_id("dmi-ipmi-si", 0),
        platform::device_id("hardcode-ipmi-si", 0),
        platform::device_id("hotmod-ipmi-si", 0),
        platform::END,
    ];
    const ACPI_IDS: &'static [kernel::bindings::acpi_device_id] =
        &[platform::acpi_id("IPI0001", 0), platform::ACPI_END];

    fn probe(pdev: PlatformDevice<'_>) -> Result<Pin<KBox<Bound>>> {
        let dev = pdev.device();
        let acpi = pdev.is_acpi();
        let smbios = !acpi && pdev.property_u8(c_str!("addr-source")) == Some(SI_SMBIOS as u8);
        if (acpi && !params::tryacpi.value()) || (smbios && !params::trydmi.value()) {
            return Err(ENODEV);
        }
        if smbios && params::tryacpi.value() {
            // The SMBIOS record and ACPI describe the same interface on
            // every machine seen; upstream keeps the ACPI one.
            if platform::acpi_present(c_str!("IPI0001")) {
                dev_info!(dev, "leaving the interface to its ACPI description\n");
                return Err(ENODEV);
            }
        }
        let code = if acpi {
            // _IFT: 1 KCS, 2 SMIC, 3 BT, 4 SSIF (another driver's).
            match pdev.acpi_integer(c_str!("_IFT")) {
                Some(ift) => u8::try_from(ift).ok(),
                None => {
                    dev_info!(dev, "no _IFT: not an IPMI system interface\n");
                    return Err(ENODEV);
                }
            }
        } else {
            pdev.property_u8(c_str!("ipmi-type"))
        };
        let si_type = si_type_of(dev, code)?;
        let addr_src = if acpi {
            SI_ACPI
        } else {
            pdev.property_u8(c_str!("addr-source"))
                .map_or(SI_SMBIOS, u32::from)
        };
        let layout = layout(&pdev, si_type)?;
        let slave_addr = if acpi {
            // ACPI has no BMC address; the SMBIOS record of the same
            // interface may (upstream asks it too), else none.
            let space = match layout.space {
                Space::Port => AddrSpace::Io,
                Space::Memory => AddrSpace::Mem,
            };
            // SAFETY: plain values; the decoder is built in.
            let addr = unsafe {
                crate::glue::bindings::ipmi_dmi_get_slave_addr(
                    u32::from(si_type.kind().code()),
                    params::space_code(space),
                    layout.start as usize,
                )
            };
            u8::try_from(addr).unwrap_or(0)
        } else {
            pdev.property_u8(c_str!("slave-addr"))
                .unwrap_or(DEFAULT_SLAVE_ADDR)
        };
        let config = SiConfig {
            si_type,
            layout,
            interrupt: interrupt(&pdev, acpi),
            slave_addr,
            addr_src,
        };
        let raw = NonNull::new(pdev.as_raw_device()).ok_or(EINVAL)?;
        Ok(KBox::pin(bring_up(dev, raw, config)?, GFP_KERNEL)?)
    }
}

/// How the interface interrupts: an ACPI `_GPE` first (upstream's order:
/// firmware that wires the interface to a GPE may list an IRQ too), else
/// the device's IRQ, else none.
fn interrupt(pdev: &PlatformDevice<'_>, acpi: bool) -> Interrupt {
    if acpi {
        if let Some(gpe) = pdev.acpi_integer(c_str!("_GPE")) {
            match u32::try_from(gpe) {
                Ok(gpe) => return Interrupt::Gpe(gpe),
                Err(_) => dev_warn!(pdev.device(), "_GPE {gpe:#x} out of range: ignored\n"),
            }
        }
    }
    pdev.irq().map_or(Interrupt::None, Interrupt::Line)
}

/// The register layout the device's resources and properties describe.
fn layout(pdev: &PlatformDevice<'_>, si_type: SiType) -> Result<Layout> {
    let (space, kind) = if pdev.resource(platform::IORESOURCE_IO, 0).is_some() {
        (Space::Port, platform::IORESOURCE_IO)
    } else {
        (Space::Memory, platform::IORESOURCE_MEM)
    };
    let (start, _) = pdev.resource(kind, 0).ok_or(EINVAL)?;
    // One byte per register unless told otherwise (upstream's default);
    // a single resource spanning the registers says nothing of their size.
    let regsize = pdev.property_u8(c_str!("reg-size")).unwrap_or(1);
    let spacing = match pdev.resource(kind, 1) {
        Some((second, _)) => u32::try_from(second.wrapping_sub(start)).map_err(|_| EINVAL)?,
        None => u32::from(regsize),
    };
    Ok(Layout {
        space,
        start,
        count: si_type.register_count(),
        spacing,
        size: regsize,
        shift: pdev.property_u8(c_str!("reg-shift")).unwrap_or(0),
    })
}
