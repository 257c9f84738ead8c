# SPDX-License-Identifier: GPL-2.0
# A Rust in-kernel IPMI user over the C stack: ipmi_user_test asks for the
# Device ID through ipmi_create_user/ipmi_request_settime and decodes it with
# the shared core; what it logs must agree with `ipmitool mc info` over the
# same interface in this boot, directly and bridged over IPMB.

ko=$MODS/selftests/modules/ipmi_user_test.ko
work=$(mktemp -d)

# ipmitool's mc info in the module's log format.
mc_info_line() {
	ipmitool -I open "$@" mc info | awk -F' *: *' '
		/^Device ID /            { id = $2 }
		/^Device Revision /      { rev = $2 }
		/^Firmware Revision /    { fw = $2 }
		/^IPMI Version /         { ipmi = $2 }
		/^Manufacturer ID /      { man = $2 }
		/^Product ID /           { split($2, p, " "); prod = p[1] }
		/^Provides Device SDRs / { sdrs = $2 }
		END { printf "device_id=%s revision=%s firmware=%s ipmi=%s manufacturer=%s product=%s sdrs=%s\n",
			id, rev, fw, ipmi, man, prod, sdrs }'
}

# module_agrees TARGET [ipmitool bridging args]: load the module for TARGET
# (0 for the BMC) and compare its line with ipmitool's.
module_agrees() {
	local target=$1 label
	shift
	label=$(printf '0x%02x' $((target == 0 ? 0x20 : target)))
	mc_info_line "$@" >"$work/want" || return 1
	load_and_log "$ko" ipmb_addr="$target" >"$work/log" || return 1
	sed -n "s/^ipmi0 $label: //p" "$work/log" >"$work/got"
	echo "ipmitool: $(cat "$work/want")"
	echo "module:   $(cat "$work/got")"
	[ -s "$work/want" ] && diff -u "$work/want" "$work/got"
}

# An absent IPMB controller: the handler answers with completion code
# 0xc3 (timeout) after its retries, and the module refuses to load.
absent_target_fails() {
	if load_and_log "$ko" ipmb_addr=0x40 >"$work/log"; then
		return 1
	fi
	grep 'ipmi0: Get Device ID failed: completion code 0xc3 (timeout)' "$work/log"
}

ensure_c_stack || return 0
case "$BMC/$INTF" in
ipmi_sim/kcs) tap_expect 3 ;;
ipmi_sim/*) tap_expect 2 ;;
*) tap_expect 1 ;;
esac
tap_run "Rust in-kernel user: Get Device ID agrees with ipmitool mc info" module_agrees 0
if [ "$BMC" = ipmi_sim ]; then
	tap_run "Rust in-kernel user: bridged Get Device ID to 0x30 agrees with ipmitool -t 0x30" \
		module_agrees 0x30 -t 0x30 -b 0
	if [ "$INTF" = kcs ]; then
		tap_run "Rust in-kernel user: absent IPMB target ends in completion code 0xc3" absent_target_fails
	fi
fi
rm -rf "$work"
