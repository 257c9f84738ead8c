# SPDX-License-Identifier: GPL-2.0
# Commands for the host (fault plan commands: each Get SEL Info leaves an
# IPMB Get Device ID from 0x81 in the BMC's receive queue): one goes to
# the user registered for it, whose reply goes back to the BMC in a Send
# Message that the BMC takes; with nobody registered, the handler answers
# 0xc1 itself, also in a Send Message. Over upstream's stack and over our
# handler (under upstream's leaves) in the same boot. The host counts the
# Send Messages in the proxy's log: 2 per stack.

tools=$REPO/target/selftests
ko=$MODS/drivers/char/ipmi/msghandler/ipmi_msghandler.ko
ensure_c_stack
tap_expect 6

command_to_user() {
	local out
	out=$("$tools/ipmi-stress" command-user 2>&1)
	echo "$out"
	grep -qx 'command-user: command netfn 0x06 cmd 0x01 from address type 1 channel 0 slave 0x81, 0 data bytes' <<<"$out" &&
		grep -q '^command-user: the reply went out, the BMC took it with completion code 0x' <<<"$out"
}

# A command nobody registered for: the trigger is answered, and the
# handler's 0xc1 reply leaves (counted by the host); over our handler its
# debugfs counts it.
command_to_nobody() {
	ipmitool -I open raw 0x0a 0x40 >/dev/null || return 1
	sleep 2
	[ "$1" = ours ] || return 0
	local f=/sys/kernel/debug/ipmi_msghandler/intf0
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	grep -E '^(handled|unhandled)_commands' "$f"
	[ "$(sed -n 's/^unhandled_commands: //p' "$f")" = 1 ] &&
		[ "$(sed -n 's/^handled_commands: //p' "$f")" = 1 ]
}

core_under_c() {
	unload_all && insmod "$ko" && insmod "$(cko ipmi_devintf)" && insmod "$(cko ipmi_si)" &&
		wait_for /dev/ipmi0 20
}
back_to_c() {
	unload_all && load_c_stack
}

tap_run "upstream's stack: a command reaches the registered user, its reply reaches the BMC" command_to_user
tap_run "upstream's stack: a command nobody registered for is answered by the handler" command_to_nobody c
tap_run "our ipmi_msghandler in place, under upstream's ipmi_devintf and ipmi_si" core_under_c
tap_run "our handler: a command reaches the registered user, its reply reaches the BMC" command_to_user
tap_run "our handler: a command nobody registered for is answered 0xc1 (debugfs counts it)" command_to_nobody ours
tap_run "upstream's stack back" back_to_c
# Four commands fetched, four Send Messages back (two replies, two 0xc1).
proxy_checks "action=command rule 4 4" "netfn=0x06 cmd=0x34 action=delay=1 4 4"
