# SPDX-License-Identifier: GPL-2.0
# Upstream's ipmi_poweroff over our handler under upstream's leaves, then
# over the all-C stack (ipmi_sim, where it finds a function to use: on
# QEMU's BMC it finds none, see rust-si-inkernel): it probes the BMC, logs
# the same lines over both handlers, installs its power-off function and
# unloads. Over our handler the stack then unloads; over upstream's,
# ipmi_si stays in use after ipmi_poweroff is gone (seen here), so the
# all-C run comes last and that is recorded, not judged. The power off
# itself is not run (it would end the boot).

handler_ko=$MODS/drivers/char/ipmi/msghandler/ipmi_msghandler.ko
work=$(mktemp -d)
[ "$BMC" = ipmi_sim ] || { tap_fail "poweroff needs ipmi_sim, not $BMC"; return 0; }

# poweroff_probe NAME: ipmi_poweroff loads and unloads; what it logged goes
# to $work/NAME.txt.
poweroff_probe() {
	local mark
	mark=$(kmsg_mark)
	cmod ipmi_poweroff || { kmsg_since "$mark"; return 1; }
	rmmod ipmi_poweroff || return 1
	kmsg_since "$mark" | grep 'IPMI poweroff' >"$work/$1.txt"
	cat "$work/$1.txt"
	grep -q 'IPMI poweroff: Found a .* style poweroff function' "$work/$1.txt"
}

to_handler_c_leaves() {
	{ unload_all || true; } && insmod "$handler_ko" && insmod "$(cko ipmi_devintf)" && insmod "$(cko "$(si_driver)")" &&
		wait_for /dev/ipmi0 20 && grep -q O /sys/module/ipmi_msghandler/taint
}
same_lines() { diff -u "$work/c.txt" "$work/rust.txt"; }

# What is left in use once ipmi_poweroff is gone: the stack must unload.
stack_unloads() {
	unload_all && [ ! -e /dev/ipmi0 ]
}

tap_expect 6
tap_run "our handler, upstream's devintf and $(si_driver) load" to_handler_c_leaves || return 0
tap_run "our handler: ipmi_poweroff finds a power-off function, and unloads" poweroff_probe rust
tap_run "our handler: the stack unloads after ipmi_poweroff" stack_unloads || return 0
tap_run "the all-C stack loads" load_c_stack || return 0
tap_run "all-C: ipmi_poweroff finds a power-off function, and unloads" poweroff_probe c
tap_run "ipmi_poweroff logged the same over both handlers" same_lines
if unload_all 2>"$work/c-unload.txt"; then
	echo "all-C: the stack unloaded after ipmi_poweroff" >"$OUT/poweroff-c-unload.txt"
else
	{ echo "all-C: the stack stays in use after ipmi_poweroff:"; cat "$work/c-unload.txt"; } >"$OUT/poweroff-c-unload.txt"
fi
cat "$OUT/poweroff-c-unload.txt"
