# SPDX-License-Identifier: GPL-2.0
# Our ipmi_msghandler at panic time, with panic_op=string and four clients
# running into the panic: the Platform Event and the panic string's SEL
# records must reach the BMC (the host counts them in the fault proxy's
# log, as for c-si-panic), and the VM must then end. Upstream's
# ipmi_watchdog, armed, gets our handler's panic callback and sets the
# BMC's watchdog to its panic timeout through ipmi_panic_request_and_wait()
# (the host counts two Set Watchdog Timer commands: the arming and that
# one). Over KCS it runs
# under upstream's ipmi_devintf and ipmi_si; over BT with our ipmi_devintf
# and ipmi_si: the all-Rust stack.

ko=$MODS/drivers/char/ipmi/msghandler/ipmi_msghandler.ko
ensure_c_stack
tap_expect 4

load_ours() {
	unload_all && insmod "$ko" || return 1
	if [ "$INTF" = bt ]; then
		insmod "$(rust_devintf_ko)" && insmod "$(rust_si_ko)"
	else
		insmod "$(cko ipmi_devintf)" && insmod "$(cko ipmi_si)"
	fi && wait_for /dev/ipmi0 20 && grep -q O /sys/module/ipmi_msghandler/taint
}
if [ "$INTF" = bt ]; then
	tap_run "the all-Rust stack in place (our ipmi_msghandler, ipmi_devintf, ipmi_si)" load_ours
else
	tap_run "our ipmi_msghandler in place, under upstream's ipmi_devintf and ipmi_si" load_ours
fi
tap_run "panic_op=string set on our handler" sh -c \
	'echo string >/sys/module/ipmi_msghandler/parameters/panic_op &&
	 grep -qx string /sys/module/ipmi_msghandler/parameters/panic_op'
tap_run "panic_op refuses an unknown value" sh -c \
	'! echo sometimes >/sys/module/ipmi_msghandler/parameters/panic_op &&
	 grep -qx string /sys/module/ipmi_msghandler/parameters/panic_op'
# Armed for 120 s (no heartbeat follows; the panic comes well before).
tap_run "upstream's ipmi_watchdog armed on our handler" \
	cmod ipmi_watchdog timeout=120 action=reset start_now=1 nowayout=0
proxy_checks "netfn=0x06 cmd=0x24 2 2"
for n in 1 2 3 4; do
	(while :; do ipmitool -I open mc info; done) >/dev/null 2>&1 &
	echo "panic-time client $n: pid $!"
done
panic_after_tests "netfn=0x04 cmd=0x02 1" "netfn=0x0a cmd=0x44 2"
