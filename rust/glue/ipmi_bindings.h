/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C side of the IPMI stack that the Rust modules talk to: the in-kernel
 * user API (linux/ipmi.h, which pulls in uapi/linux/ipmi.h) and the
 * low-level interface API (linux/ipmi_smi.h). scripts/ipmi-bindgen.sh turns
 * the IPMI items of these headers into Rust; everything they reference
 * (struct device, list_head, ...) resolves to the kernel crate's bindings.
 */
#include <linux/ipmi.h>
#include <linux/ipmi_smi.h>
#include <uapi/linux/ipmi_msgdefs.h>
/*
 * Built into the kernel and exported, declared beside upstream's drivers:
 * ipmi_platform_add() and struct ipmi_plat_data, how ipmi_si makes the
 * platform devices of hand-given interfaces; ipmi_dmi_get_slave_addr(),
 * the SMBIOS record's BMC address for an ACPI-found interface; and the
 * interface types and address spaces they take (ipmi_si.h).
 */
#include <../drivers/char/ipmi/ipmi_plat_data.h>
#include <../drivers/char/ipmi/ipmi_dmi.h>
