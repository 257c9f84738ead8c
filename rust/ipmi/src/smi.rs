// SPDX-License-Identifier: GPL-2.0

//! What a low-level interface (KCS, BT, SSIF) tells the handler about itself.

use core::ffi::CStr;

/// How an interface was discovered (`enum ipmi_addr_src`), in upstream's
/// numbering, which in-kernel users such as acpi_ipmi compare against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum AddrSource {
    /// Unknown or not set.
    Invalid = 0,
    /// Added at run time through the `hotmod` parameter.
    Hotmod = 1,
    /// Given as module parameters.
    Hardcoded = 2,
    /// The ACPI SPMI table.
    Spmi = 3,
    /// An ACPI IPI0001 device.
    Acpi = 4,
    /// An SMBIOS type 38 record.
    Smbios = 5,
    /// A PCI device of the IPMI class.
    Pci = 6,
    /// A device-tree node.
    DeviceTree = 7,
    /// A platform device registered by other code.
    Platform = 8,
}

impl AddrSource {
    /// The source for a raw value; anything out of range is `Invalid`, as
    /// `ipmi_addr_src_to_str()` treats it.
    pub const fn from_raw(raw: u32) -> AddrSource {
        match raw {
            1 => AddrSource::Hotmod,
            2 => AddrSource::Hardcoded,
            3 => AddrSource::Spmi,
            4 => AddrSource::Acpi,
            5 => AddrSource::Smbios,
            6 => AddrSource::Pci,
            7 => AddrSource::DeviceTree,
            8 => AddrSource::Platform,
            _ => AddrSource::Invalid,
        }
    }

    /// The name the kernel log and sysfs use for it.
    pub const fn name(self) -> &'static CStr {
        match self {
            AddrSource::Invalid => c"invalid",
            AddrSource::Hotmod => c"hotmod",
            AddrSource::Hardcoded => c"hardcoded",
            AddrSource::Spmi => c"SPMI",
            AddrSource::Acpi => c"ACPI",
            AddrSource::Smbios => c"SMBIOS",
            AddrSource::Pci => c"PCI",
            AddrSource::DeviceTree => c"device-tree",
            AddrSource::Platform => c"platform",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_raw_numbering() {
        assert_eq!(AddrSource::from_raw(4).name(), c"ACPI");
        assert_eq!(AddrSource::from_raw(8).name(), c"platform");
        for raw in [0, 9, 100, u32::MAX] {
            assert_eq!(AddrSource::from_raw(raw), AddrSource::Invalid);
        }
        for raw in 0..9 {
            assert_eq!(AddrSource::from_raw(raw) as u32, raw);
        }
    }
}
