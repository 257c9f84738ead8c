# SPDX-License-Identifier: GPL-2.0
# Our ipmi_msghandler's parameters against upstream's: the same names and
# types in modinfo (ours adds strict_checksums), the same files under
# /sys/module/ipmi_msghandler/parameters/ with the same modes, and a
# change at run time takes effect as upstream's does: max_users lowered
# to 1 refuses a second open of /dev/ipmi0 (EBUSY, under upstream's
# ipmi_devintf and ipmi_si), raised again lets it in. Ends with upstream's
# stack loaded.

ko=$MODS/drivers/char/ipmi/msghandler/ipmi_msghandler.ko
params=/sys/module/ipmi_msghandler/parameters
work=$(mktemp -d)
ensure_c_stack
tap_expect 6

# Our own parameters, beyond upstream's (Documentation/msghandler.md).
ours_only='^strict_checksums '

# parm_face KO: each parameter's name, and its C type where it has one
# (a callback parameter has none), as modinfo shows them.
parm_face() {
	modinfo -F parm "$1" | sed 's/:.*//' | while read -r p; do
		echo "$p $(modinfo -F parmtype "$1" | sed -n "s/^$p://p")"
	done | sort
}

same_modinfo() {
	parm_face "$(cko ipmi_msghandler)" >"$work/c-parm"
	parm_face "$ko" | grep -v "$ours_only" >"$work/rust-parm"
	cat "$work/rust-parm"
	[ -s "$work/c-parm" ] && diff -u "$work/c-parm" "$work/rust-parm"
}
tap_run "modinfo: parameter names and types as upstream's" same_modinfo

param_files ipmi_msghandler >"$work/c-files"
tap_run "our handler in place, under upstream's ipmi_devintf and ipmi_si" load_stack msghandler

same_files() {
	param_files ipmi_msghandler | grep -v "$ours_only" >"$work/rust-files"
	cat "$work/rust-files"
	[ -s "$work/c-files" ] && diff -u "$work/c-files" "$work/rust-files"
}
tap_run "the files under $params and their modes as upstream's" same_files

# max_users at run time: 1 lets one user in and refuses the next; 30
# again lets it in.
max_users_live() {
	local a b rc=0 err
	[ "$(cat "$params/max_users")" = 30 ] || { echo "max_users reads $(cat "$params/max_users")"; return 1; }
	echo 1 >"$params/max_users" && [ "$(cat "$params/max_users")" = 1 ] || return 1
	exec {a}<>/dev/ipmi0 || { echo 30 >"$params/max_users"; return 1; }
	if err=$( (exec 9<>/dev/ipmi0) 2>&1); then
		echo "a second open went through with max_users=1"
		rc=1
	else
		echo "second open refused: $err"
		[[ "$err" == *busy* ]] || rc=1
	fi
	echo 30 >"$params/max_users"
	exec {b}<>/dev/ipmi0 || rc=1
	[ -n "${b:-}" ] && exec {b}>&-
	exec {a}>&-
	return $rc
}
tap_run "max_users lowered to 1 at run time refuses a second open (EBUSY); 30 again lets it in" max_users_live

retry_readback() {
	echo 500 >"$params/default_retry_ms" && [ "$(cat "$params/default_retry_ms")" = 500 ] &&
		echo 2000 >"$params/default_retry_ms" && [ "$(cat "$params/default_retry_ms")" = 2000 ]
}
tap_run "default_retry_ms takes what root writes" retry_readback

back_to_c() {
	unload_all && load_c_stack
}
tap_run "upstream's stack back" back_to_c
rm -rf "$work"
