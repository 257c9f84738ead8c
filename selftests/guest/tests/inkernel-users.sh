# SPDX-License-Identifier: GPL-2.0
# Upstream's in-kernel users of the handler beyond ipmi_devintf, over each
# stack. acpi_ipmi (the ACPI IPMI operation region) asks the handler for
# each interface's smi info (ipmi_get_smi_info) and takes a user on the one
# whose ACPI handle matches its device: the interface's nr_users goes up by
# one while it is loaded. The BMC watchdog's pre-timeout interrupt reaches
# upstream's ipmi_watchdog (the path of ipmi_smi_watchdog_pretimeout): with timeout=12 pretimeout=9
# preaction=pre_int preop=preop_give_data, a read of /dev/watchdog after
# the first heartbeat returns one byte when the BMC's pre-timeout fires,
# about 3 s later. (ipmi_watchdog sets no pre-timeout with action=none,
# so the action is a reset: the read gives up after 7 s and the magic
# close stops the timer well before its 12 s run out.) QEMU's BMC raises ATN with the pre-timeout flag; the
# interface driver reads the flags and tells the handler, which calls the
# watchdog's pretimeout handler. Over the all-C stack, over our handler
# under upstream's leaves, and over the all-Rust stack (our handler,
# devintf and ipmi_si), each with upstream's ipmi_watchdog. The all-C
# stack is loaded again at the end.

# acpi_user: acpi_ipmi holds one user on interface 0 while loaded.
acpi_user() {
	local nr=/sys/class/ipmi/ipmi0/device/nr_users before during after
	before=$(cat "$nr") || return 1
	cmod acpi_ipmi || return 1
	during=$(cat "$nr")
	rmmod acpi_ipmi || return 1
	after=$(cat "$nr")
	echo "nr_users: $before before acpi_ipmi, $during with it, $after after"
	[ "$during" = $((before + 1)) ] && [ "$after" = "$before" ]
}

handler_ko=$MODS/drivers/char/ipmi/msghandler/ipmi_msghandler.ko
[ "$BMC" = sim ] && [ "$(si_driver)" = ipmi_si ] ||
	{ tap_fail "inkernel-users needs QEMU's BMC behind ipmi_si, not $BMC/$INTF"; return 0; }

# pretimeout_read: heartbeat once, then wait for the pre-timeout's byte.
pretimeout_read() {
	local w t0 t1 byte secs rc=0
	cmod ipmi_watchdog timeout=12 pretimeout=9 preaction=pre_int preop=preop_give_data \
		action=reset nowayout=0 || return 1
	exec {w}<>/dev/watchdog || { rmmod ipmi_watchdog; return 1; }
	printf x >&"$w" # the first heartbeat starts the BMC's timer
	t0=$(date +%s.%N)
	byte=$(timeout 7 dd bs=1 count=1 status=none <&"$w" | od -An -tx1 | tr -d ' \n')
	t1=$(date +%s.%N)
	# The magic close stops the BMC's timer before the file goes.
	printf V >&"$w"
	exec {w}>&-
	rmmod ipmi_watchdog || rc=1
	secs=$(echo "$t1 - $t0" | bc)
	echo "pre-timeout byte '${byte:-none}' after $secs s"
	[ $rc = 0 ] && [ "$byte" = 00 ] && awk -v s="$secs" 'BEGIN { exit !(s >= 2 && s <= 6) }'
}

load_handler_c_leaves() {
	insmod "$handler_ko" && insmod "$(cko ipmi_devintf)" && insmod "$(cko ipmi_si)" &&
		wait_for /dev/ipmi0 15 && grep -q O /sys/module/ipmi_msghandler/taint && ! si_is_ours
}

load_all_rust() {
	insmod "$handler_ko" && insmod "$(rust_devintf_ko)" && insmod "$(rust_si_ko)" &&
		wait_for /dev/ipmi0 15 && si_is_ours
}

to_handler_c_leaves() { unload_all && load_handler_c_leaves; }
to_all_rust() { unload_all && load_all_rust; }
to_all_c() { unload_all && load_c_stack; }

ensure_c_stack || return 0
tap_expect 9
tap_run "all-C: acpi_ipmi finds the interface by its ACPI handle and holds a user" acpi_user
tap_run "all-C: the pre-timeout reaches ipmi_watchdog" pretimeout_read
tap_run "all-C unloads; our handler, upstream's devintf and ipmi_si load" to_handler_c_leaves || return 0
tap_run "our handler under upstream's leaves: acpi_ipmi finds the interface and holds a user" acpi_user
tap_run "our handler under upstream's leaves: the pre-timeout reaches ipmi_watchdog" pretimeout_read
tap_run "the all-Rust stack loads" to_all_rust || return 0
tap_run "all-Rust: acpi_ipmi finds the interface by its ACPI handle and holds a user" acpi_user
tap_run "all-Rust: the pre-timeout reaches ipmi_watchdog" pretimeout_read
tap_run "the all-C stack loads again" to_all_c
