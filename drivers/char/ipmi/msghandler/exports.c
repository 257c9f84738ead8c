// SPDX-License-Identifier: GPL-2.0
/*
 * Exports of ipmi_msghandler. Every function is written in Rust (beside
 * this file, each checked against its prototype in linux/ipmi.h or
 * linux/ipmi_smi.h); modpost only picks up exports made in C, so this file
 * holds nothing else. Upstream exports them without the GPL restriction,
 * and so do we.
 */
#include <linux/export.h>
#include <linux/ipmi.h>
#include <linux/ipmi_smi.h>

/* Pure helpers. */
EXPORT_SYMBOL(ipmb_checksum);
EXPORT_SYMBOL(ipmi_validate_addr);
EXPORT_SYMBOL(ipmi_addr_length);
EXPORT_SYMBOL(ipmi_addr_src_to_str);

/* The user API. */
EXPORT_SYMBOL(ipmi_smi_watcher_register);
EXPORT_SYMBOL(ipmi_smi_watcher_unregister);
EXPORT_SYMBOL(ipmi_create_user);
EXPORT_SYMBOL(ipmi_destroy_user);
EXPORT_SYMBOL(ipmi_get_smi_info);
EXPORT_SYMBOL(ipmi_get_version);
EXPORT_SYMBOL(ipmi_set_my_address);
EXPORT_SYMBOL(ipmi_get_my_address);
EXPORT_SYMBOL(ipmi_set_my_LUN);
EXPORT_SYMBOL(ipmi_get_my_LUN);
EXPORT_SYMBOL(ipmi_get_maintenance_mode);
EXPORT_SYMBOL(ipmi_set_maintenance_mode);
EXPORT_SYMBOL(ipmi_set_gets_events);
EXPORT_SYMBOL(ipmi_register_for_cmd);
EXPORT_SYMBOL(ipmi_unregister_for_cmd);
EXPORT_SYMBOL(ipmi_request_settime);
EXPORT_SYMBOL(ipmi_request_supply_msgs);
EXPORT_SYMBOL(ipmi_poll_interface);
EXPORT_SYMBOL(ipmi_free_recv_msg);
EXPORT_SYMBOL(ipmi_panic_request_and_wait);

/* The system interface API. */
EXPORT_SYMBOL(ipmi_add_smi);
EXPORT_SYMBOL(ipmi_unregister_smi);
EXPORT_SYMBOL(ipmi_smi_msg_received);
EXPORT_SYMBOL(ipmi_smi_watchdog_pretimeout);
EXPORT_SYMBOL(ipmi_alloc_smi_msg);
