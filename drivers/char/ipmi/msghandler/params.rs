// SPDX-License-Identifier: GPL-2.0

//! upstream's parameters, same names, types, defaults and sysfs
//! permissions (0644: root may change them at run time; each use reads
//! the current value). `panic_op`, a callback parameter, is in panic.rs.

use crate::kext::modparam::module_param_c;

module_param_c!(maintenance_mode_timeout_ms: u64 = 30000, "ulong", param_ops_ulong, 0o644, "The time (milliseconds) after the last maintenance message that the connection stays in maintenance mode");
module_param_c!(default_retry_ms: u64 = 2000, "ulong", param_ops_ulong, 0o644, "The time (milliseconds) between retry sends");
module_param_c!(default_maintenance_retry_ms: u64 = 3000, "ulong", param_ops_ulong, 0o644, "The time (milliseconds) between retry sends in maintenance mode");
module_param_c!(default_max_retries: u32 = 4, "uint", param_ops_uint, 0o644, "The number of times a bridged message is sent again before it times out");
module_param_c!(max_users: u32 = 30, "uint", param_ops_uint, 0o644, "The most users an interface takes");
module_param_c!(max_msgs_per_user: u32 = 100, "uint", param_ops_uint, 0o644, "The most requests a user may have in flight, and the most events and commands waiting for it");
module_param_c!(strict_checksums: bool = false, "bool", param_ops_bool, 0o644, "Drop messages relayed by the BMC (Get Message) whose IPMB or LAN checksums are wrong; by default they are taken, counted and logged");
