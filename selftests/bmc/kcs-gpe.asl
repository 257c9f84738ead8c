/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A second ACPI description of QEMU's KCS interface (isa-ipmi-kcs at
 * 0xca2, described by QEMU with no interrupt), as firmware describes a
 * system interface whose interrupt is a general-purpose event: _GPE
 * names GPE 2, the event QEMU raises when a CPU is plugged in (the host
 * does that through QMP, selftests/bmc/gpe-kicker.py), so that a test
 * can fire the GPE at will. (The BMC itself never raises it.)
 */
DefinitionBlock ("", "SSDT", 2, "IPMIRS", "KCSGPE", 1)
{
	Scope (\_SB)
	{
		Device (IPMG)
		{
			Name (_HID, "IPI0001")
			Name (_UID, 0x47)
			Name (_STR, Unicode ("IPMI KCS interface on GPE 2"))
			/* KCS, IPMI 2.0 */
			Name (_IFT, One)
			Name (_SRV, 0x0200)
			Name (_GPE, 0x02)
			Name (_CRS, ResourceTemplate ()
			{
				IO (Decode16, 0x0CA2, 0x0CA2, 0x00, 0x02)
			})
		}
	}
}
