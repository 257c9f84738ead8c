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
//! - [`firmware`]: ACPI, SMBIOS and parameter-made platform devices.
//! - [`pci`]: PCI devices of the IPMI KCS and BT classes.
//! - [`regs`]: the machines' registers over the mapped bank.
//! - [`bringup`]: an interface waiting for its BMC, retried in the
//!   background.
//! - [`engine`]: one interface at work (machine, policy, IRQ, timer).
//!
//! The protocols and the policy are in the shared core (`ipmi::si`),
//! host-tested there.

use core::pin::Pin;
use core::ptr::NonNull;
use kernel::c_str;
use kernel::prelude::*;
use kernel::time::delay::fsleep;
use kernel::time::{Delta, Instant, Monotonic};

/// The parts of the shared core this module uses.
#[path = "../../../../rust/ipmi/src"]
pub mod ipmi {
    pub mod cc;
    pub mod device_id;
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
    pub mod gpe;
    pub mod ioregs;
    pub mod irq;
    pub mod modparam;
    pub mod platform;
    pub mod sysfs;
    pub mod work;
}

mod bringup;
mod engine;
mod firmware;
mod params;
mod pci;
mod regs;

use bringup::Bound;
use engine::{micros_since, DevRef, Engine, Info, Machine};
use glue::smi::{Registration, Unregistered};
use ipmi::device_id::DeviceId;
use ipmi::msg::NetFn;
use ipmi::si::oem::Quirks;
use ipmi::si::{self as sm, Action, Resend};
use kext::ioregs::{IoRegs, Layout, Space};
use regs::{Bank, SiType};

/// Get Device ID: the probe that a BMC is there.
const GET_DEVICE_ID: [u8; 2] = [0x18, 0x01];

module! {
    type: IpmiSi,
    name: "ipmi_si",
    authors: ["The ipmi-rs developers"],
    description: "IPMI KCS and BT system interface driver (Rust)",
    license: "GPL",
    alias: ["platform:dmi-ipmi-si", "acpi*:IPI0001:*"],
}

/// upstream's `enum si_type` values (`ipmi-type` property, ACPI `_IFT`).
const SI_KCS: u8 = glue::bindings::si_type_SI_KCS as u8;
const SI_SMIC: u8 = glue::bindings::si_type_SI_SMIC as u8;
const SI_BT: u8 = glue::bindings::si_type_SI_BT as u8;

/// How an interface signals the host.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interrupt {
    /// It does not: polled.
    None,
    /// An IRQ line (shared, as upstream requests it).
    Line(u32),
    /// An ACPI general-purpose event (the device's `_GPE`).
    Gpe(u32),
}

impl Interrupt {
    /// The number upstream shows in `params` (`irq=`): the line or the
    /// GPE, 0 when polled.
    pub(crate) fn number(self) -> u32 {
        match self {
            Interrupt::None => 0,
            Interrupt::Line(n) | Interrupt::Gpe(n) => n,
        }
    }

    /// An IRQ line, from a number where 0 means none.
    pub(crate) fn line(irq: u32) -> Self {
        if irq == 0 {
            Interrupt::None
        } else {
            Interrupt::Line(irq)
        }
    }
}

impl kernel::fmt::Display for Interrupt {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        match self {
            Interrupt::None => f.write_str("no interrupt"),
            Interrupt::Line(n) => write!(f, "irq {n}"),
            Interrupt::Gpe(n) => write!(f, "ACPI GPE {n}"),
        }
    }
}

/// What discovery found: enough to bring the interface up.
#[derive(Clone, Copy)]
pub(crate) struct SiConfig {
    pub(crate) si_type: SiType,
    pub(crate) layout: Layout,
    pub(crate) interrupt: Interrupt,
    pub(crate) slave_addr: u8,
    pub(crate) addr_src: u32,
}

/// The interface type a firmware type code names; SMIC and unknown codes
/// are refused with a log line.
fn si_type_of(dev: &kernel::device::Device, code: Option<u8>) -> Result<SiType> {
    match code {
        Some(SI_KCS) => Ok(SiType::Kcs),
        Some(SI_BT) => Ok(SiType::Bt),
        Some(SI_SMIC) => {
            dev_err!(dev, "SMIC interfaces are not supported by this driver\n");
            Err(ENODEV)
        }
        other => {
            dev_info!(dev, "not a KCS or BT interface (type {:?})\n", other);
            Err(ENODEV)
        }
    }
}

/// Claims the registers, checks that an interface is there, and brings
/// it up: registered now if its BMC answers, else retried in the
/// background until it does ([`bringup`]).
fn bring_up(
    dev: &kernel::device::Device,
    raw_dev: NonNull<kernel::bindings::device>,
    config: SiConfig,
) -> Result<Bound> {
    let layout = config.layout;
    let regs = IoRegs::new(layout, c_str!("ipmi_si")).inspect_err(|e| {
        dev_err!(dev, "cannot claim the registers {:?}: {:?}\n", layout, e);
    })?;
    detect(&regs, config.si_type).inspect_err(|_| {
        dev_info!(
            dev,
            "no {} interface at {:#x}\n",
            config.si_type.name(),
            layout.start
        );
    })?;
    let space = match layout.space {
        Space::Port => "i/o",
        Space::Memory => "mem",
    };
    dev_info!(
        dev,
        "{} interface at {} {:#x}, spacing {}, {} (Rust ipmi_si)\n",
        config.si_type.name(),
        space,
        layout.start,
        layout.spacing,
        config.interrupt
    );
    Bound::new(dev, DevRef::new(raw_dev), regs, config)
}

/// What the probe learnt of a BMC: the machine, ready for the interface
/// (BT capabilities applied), and the BMC's firmware quirks. Boxed by
/// [`probe_bmc`]: the machine with its buffers is most of a KiB, and it
/// travels through frames that are live while registration runs deep.
pub(crate) struct Probed {
    pub(crate) machine: Machine,
    pub(crate) quirks: Quirks,
}

/// Asks the BMC behind `regs` who it is (and, on BT, its capabilities),
/// sleeping between polls: what it learnt, or `EIO` when the BMC does not
/// answer well.
fn probe_bmc(regs: &IoRegs, si_type: SiType) -> Result<KBox<Probed>> {
    let mut probed = KBox::new(
        Probed {
            machine: Machine::new(si_type),
            quirks: Quirks::default(),
        },
        GFP_KERNEL,
    )?;
    let machine = &mut probed.machine;
    let mut id = [0u8; 32];
    let n = transact(machine, regs, si_type, &GET_DEVICE_ID, &mut id)?;
    if n < 3 || id[2] != 0 {
        return Err(EIO);
    }
    if si_type == SiType::Bt {
        let mut caps = [0u8; 16];
        let n = transact(
            machine,
            regs,
            si_type,
            &sm::bt::GET_BT_CAPABILITIES,
            &mut caps,
        );
        if let (Machine::Bt(bt), Ok(n)) = (machine, n) {
            // Unusable capabilities leave the defaults, as upstream.
            let _ = bt.apply_capabilities(caps.get(..n).unwrap_or(&[]));
        }
    }
    // A Device ID too short to decode only means no firmware quirks.
    probed.quirks = DeviceId::decode(NetFn::from_netfn_lun(id[0]), id[1], &id[2..n])
        .map(|d| Quirks::for_bmc(&d, si_type == SiType::Bt))
        .unwrap_or_default();
    Ok(probed)
}

/// Registers the interface whose BMC answered.
fn register(
    regs: IoRegs,
    probed: KBox<Probed>,
    config: &SiConfig,
    dev: DevRef,
) -> Result<Registration<Engine>> {
    let quirks = probed.quirks;
    if quirks.any() {
        let oem = if quirks.oem_flags_mean_receive {
            "OEM data flags read as a received message"
        } else {
            ""
        };
        let sdr = if quirks.refuse_get_sdr_3a {
            "Get SDR for 0x3a bytes answered 0xca at once"
        } else {
            ""
        };
        let sep = if oem.is_empty() || sdr.is_empty() {
            ""
        } else {
            "; "
        };
        dev_info!(dev.device(), "Dell PowerEdge BMC: {oem}{sep}{sdr}\n");
    }
    let raw_dev = dev.as_ptr();
    let info = Info {
        addr_src: config.addr_src,
        dev,
        slave_addr: config.slave_addr,
    };
    let engine = Unregistered::new(Engine::new(
        regs,
        config.si_type,
        probed,
        config.interrupt,
        info,
    ))?;
    // SAFETY: the device outlives its binding, which owns the
    // registration.
    let registration = unsafe {
        engine.register(
            &<IpmiSi as kernel::ModuleMetadata>::THIS_MODULE,
            raw_dev,
            config.slave_addr,
        )
    }?;
    registration.smi().add_sysfs()?;
    Ok(registration)
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
        let elapsed = micros_since(&mut last);
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
    _platform: Pin<KBox<kext::platform::Registration<firmware::SiPlatform>>>,
    _pci: Option<Pin<KBox<kernel::driver::Registration<kernel::pci::Adapter<pci::SiPci>>>>>,
}

impl kernel::Module for IpmiSi {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // The hand-given interfaces first, so that the driver finds them
        // with the firmware's when it registers.
        params::add_hardcoded();
        let platform = KBox::pin_init(kext::platform::Registration::new(module), GFP_KERNEL)
            .inspect_err(|_| params::remove_all())?;
        let pci = if params::trypci.value() {
            let registration = KBox::pin_init(
                kernel::driver::Registration::new(<Self as kernel::ModuleMetadata>::NAME, module),
                GFP_KERNEL,
            );
            Some(registration.inspect_err(|_| params::remove_all())?)
        } else {
            None
        };
        Ok(IpmiSi {
            _platform: platform,
            _pci: pci,
        })
    }
}

impl Drop for IpmiSi {
    fn drop(&mut self) {
        // The drivers go after this (fields drop later); the devices this
        // module made go first, taking their interfaces with them.
        params::remove_all();
    }
}
