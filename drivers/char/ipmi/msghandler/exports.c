// SPDX-License-Identifier: GPL-2.0
/*
 * Exports of ipmi_rs_core. The functions are written in Rust
 * (msghandler.rs, each checked against its prototype in linux/ipmi.h);
 * modpost only picks up exports made in C, so this file holds nothing else.
 * Upstream exports them without the GPL restriction, and so do we.
 */
#include <linux/export.h>
#include <linux/ipmi.h>

EXPORT_SYMBOL(ipmb_checksum);
EXPORT_SYMBOL(ipmi_validate_addr);
EXPORT_SYMBOL(ipmi_addr_length);
EXPORT_SYMBOL(ipmi_addr_src_to_str);
