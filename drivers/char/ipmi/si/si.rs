// SPDX-License-Identifier: GPL-2.0

//! ipmi_si: the KCS and BT system interfaces, a drop-in for upstream's
//! module of the same name.
//!
//! It binds the platform devices that describe an interface by name
//! (`dmi-ipmi-si.N` from the SMBIOS type 38 record, `hardcode-ipmi-si.N`
//! and `hotmod-ipmi-si.N` from parameters), checks that a BMC answers Get
//! Device ID, and registers the interface with whichever message handler
//! is loaded, C or ours, through upstream's SMI API.
//!
//! - [`regs`]: the machines' registers over the mapped bank.
//! - [`engine`]: one interface at work (machine, policy, IRQ, timer).
//!
//! The protocols and the policy are in the shared core (`ipmi::si`),
//! host-tested there.

use core::pin::Pin;
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::time::delay::fsleep;
use kernel::time::{Delta, Instant, Monotonic};
use kernel::{c_str, str::CStr};

/// The parts of the shared core this module uses.
#[path = "../../../../rust/ipmi/src"]
pub mod ipmi {
    pub mod cc;
    pub mod msg;
    pub mod si;
}

/// The IPMI C-ABI glue this module uses.
#[path = "../../../../rust/glue"]
pub mod glue {
    pub mod bindings;
    pub mod smi;
    pub mod smi_msg;
}

/// The kernel abstractions this module uses that the kernel crate lacks.
#[path = "../../../../rust/kext"]
pub mod kext {
    pub mod ioregs;
    pub mod irq;
    pub mod platform;
}

mod engine;
mod regs;

use engine::{DevRef, Engine, Info, Machine};
use glue::smi::Registration;
use ipmi::si::{self as sm, Action, Resend};
use kext::ioregs::{IoRegs, Layout, Space};
use kext::platform::{self, PlatformDevice};
use regs::{Bank, SiType};

module! {
    type: IpmiSi,
    name: "ipmi_si",
    authors: ["The ipmi-rs developers"],
    description: "IPMI KCS and BT system interface driver (Rust)",
    license: "GPL",
    alias: [
        "platform:dmi-ipmi-si",
        "platform:hardcode-ipmi-si",
        "platform:hotmod-ipmi-si",
        "acpi*:IPI0001:*"
    ],
}

/// upstream's `enum si_type` values in the `ipmi-type` property.
const SI_KCS: u8 = 1;
const SI_SMIC: u8 = 2;
const SI_BT: u8 = 3;

/// Where the description came from (`enum ipmi_addr_src`).
const SI_SMBIOS: u32 = glue::bindings::ipmi_addr_src_SI_SMBIOS;
const SI_ACPI: u32 = glue::bindings::ipmi_addr_src_SI_ACPI;

/// The platform driver.
struct SiDriver;

/// A bound interface: dropping it unregisters the interface.
struct Bound {
    _registration: Registration<Engine>,
}

impl platform::Driver for SiDriver {
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
        if !acpi && pdev.property_u8(c_str!("addr-source")) == Some(SI_SMBIOS as u8) {
            // The SMBIOS record and ACPI describe the same interface on
            // every machine seen; upstream keeps the ACPI one.
            if platform::acpi_present(c_str!("IPI0001")) {
                dev_info!(dev, "leaving the interface to its ACPI description\n");
                return Err(ENODEV);
            }
        }
        let ift = if acpi {
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
        let si_type = match ift {
            Some(SI_KCS) => SiType::Kcs,
            Some(SI_BT) => SiType::Bt,
            Some(SI_SMIC) => {
                dev_err!(dev, "SMIC interfaces are not supported by this driver\n");
                return Err(ENODEV);
            }
            other => {
                dev_info!(dev, "not a KCS or BT interface (type {:?})\n", other);
                return Err(ENODEV);
            }
        };
        let layout = layout(&pdev, si_type)?;
        let regs = IoRegs::new(layout, c_str!("ipmi_si")).inspect_err(|_| {
            dev_err!(dev, "registers at {:#x} are in use\n", layout.start);
        })?;
        let mut machine = Machine::new(si_type);
        detect(&regs, si_type).inspect_err(|_| {
            dev_info!(
                dev,
                "no {} interface at {:#x}\n",
                si_type.name(),
                layout.start
            );
        })?;
        let mut id = [0u8; 32];
        let n =
            transact(&mut machine, &regs, si_type, &[0x18, 0x01], &mut id).inspect_err(|_| {
                dev_err!(dev, "no BMC answers Get Device ID at {:#x}\n", layout.start);
            })?;
        if n < 3 || id[2] != 0 {
            dev_err!(dev, "Get Device ID failed: {:x?}\n", id.get(..n.min(3)));
            return Err(ENODEV);
        }
        if let Machine::Bt(bt) = &mut machine {
            let mut caps = [0u8; 16];
            let request = sm::bt::GET_BT_CAPABILITIES;
            let machine_bt = &mut Machine::Bt(bt.clone());
            if let Ok(n) = transact(machine_bt, &regs, si_type, &request, &mut caps) {
                if !bt.apply_capabilities(caps.get(..n).unwrap_or(&[])) {
                    dev_info!(dev, "BT capabilities not usable, keeping defaults\n");
                }
            }
        }
        let irq = pdev.irq();
        let slave_addr = pdev.property_u8(c_str!("slave-addr")).unwrap_or(0);
        let addr_src = if acpi {
            SI_ACPI
        } else {
            pdev.property_u8(c_str!("addr-source"))
                .map_or(SI_SMBIOS, u32::from)
        };
        let info = Info {
            addr_src,
            dev: DevRef::new(NonNull::new(pdev.as_raw_device()).ok_or(EINVAL)?),
        };
        let space = match layout.space {
            Space::Port => "i/o",
            Space::Memory => "mem",
        };
        dev_info!(
            dev,
            "{} interface at {} {:#x}, spacing {}, irq {:?} (Rust ipmi_si)\n",
            si_type.name(),
            space,
            layout.start,
            layout.spacing,
            irq
        );
        // SAFETY: the platform device outlives its binding, which owns the
        // registration.
        let registration = unsafe {
            Registration::new(
                &<IpmiSi as kernel::ModuleMetadata>::THIS_MODULE,
                Engine::new(regs, si_type, machine, irq, info),
                pdev.as_raw_device(),
                slave_addr,
            )
        }?;
        Ok(KBox::pin(
            Bound {
                _registration: registration,
            },
            GFP_KERNEL,
        )?)
    }
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

/// Whether something answers at the registers: all ones is an empty bus.
fn detect(regs: &IoRegs, si_type: SiType) -> Result {
    let absent = match si_type {
        SiType::Kcs => sm::kcs::absent(regs.read(sm::kcs::STATUS_REGISTER)),
        SiType::Bt => sm::bt::absent(
            regs.read(sm::bt::CTRL_REGISTER),
            regs.read(sm::bt::INTMASK_REGISTER),
        ),
    };
    if absent {
        Err(ENODEV)
    } else {
        Ok(())
    }
}

/// One transaction at probe time, sleeping between polls; the machine's
/// own time limit bounds it. Returns the response length (copied into
/// `out`, truncated to it).
fn transact(
    machine: &mut Machine,
    regs: &IoRegs,
    si_type: SiType,
    request: &[u8],
    out: &mut [u8],
) -> Result<usize> {
    machine
        .sm()
        .start(request, Resend::Always)
        .map_err(|_| EIO)?;
    let mut bank = Bank::new(regs, si_type);
    let mut last = Instant::<Monotonic>::now();
    loop {
        let now = Instant::<Monotonic>::now();
        let elapsed = u32::try_from((now - last).as_micros_ceil().max(0)).unwrap_or(u32::MAX);
        last = now;
        match sm::run(machine.sm(), &mut bank, elapsed) {
            Action::Wait { us } => fsleep(Delta::from_micros(i64::from(us.max(10)))),
            Action::Response(_) => {
                let response = machine.sm().response();
                let n = response.len().min(out.len());
                out[..n].copy_from_slice(&response[..n]);
                return Ok(n);
            }
            Action::Failed(_) | Action::Hosed => return Err(EIO),
            // Not in a transaction any more: nothing came back.
            _ => return Err(EIO),
        }
    }
}

struct IpmiSi {
    _driver: Pin<KBox<platform::Registration<SiDriver>>>,
}

impl kernel::Module for IpmiSi {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(IpmiSi {
            _driver: KBox::pin_init(platform::Registration::new(module), GFP_KERNEL)?,
        })
    }
}
