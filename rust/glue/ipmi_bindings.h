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
