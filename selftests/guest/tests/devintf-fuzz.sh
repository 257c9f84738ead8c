# SPDX-License-Identifier: GPL-2.0
# The ioctl fuzzer (selftests/tools/ipmi-fuzz.c) through upstream's
# ipmi_devintf and then ours, in the same boot, from the same seeds: 4
# processes x 25000 calls (5000 on the debug kernel, the one with
# /proc/lockdep, where KASAN makes each call about 5 times slower),
# x86-64 and i386 (the compat path). Every answer
# that does not depend on timing must be the same errno from both modules
# (each process's hash and errno counts), and neither may hang or oops
# (the boot's kernel-log and taint judges). Leaves upstream's devintf
# loaded and the interface's addresses and LUNs as they were at boot.

tools=$REPO/target/selftests
work=$(mktemp -d)
seed=${FUZZ_SEED:-20261124}
calls=25000
[ -e /proc/lockdep ] && calls=5000
# make soak (selftests/soak) asks for more through $OUT/params.
# shellcheck disable=SC1091 # written by selftests/soak
[ -f "$OUT/params" ] && . "$OUT/params"
ensure_c_stack || return 0
tap_expect 6

# fuzz NAME: both builds, 4 processes each; the hashes and the counts of
# errnos that do not depend on timing go to $work/NAME.
fuzz() {
	local build
	for build in ipmi-fuzz ipmi-fuzz32; do
		timeout $((calls / 50 + 120)) "$tools/$build" "$seed" "$calls" 4 >"$work/$1-$build.txt" || return 1
		sort "$work/$1-$build.txt" | sed 's/^/'"$build"': /'
	done >"$work/$1"
	cat "$work/$1"
	[ "$(grep -c " calls $calls " "$work/$1")" = 8 ]
}
tap_run "ipmi-fuzz through upstream's devintf: 2 x 4 x $calls calls" fuzz c

tap_run "our ipmi_devintf in its place" use_devintf rust
tap_run "ipmi-fuzz through ours: 2 x 4 x $calls calls" fuzz rust

# The hash covers every call whose errno does not depend on timing;
# receives and sends that reach the BMC are counted but not hashed, so
# only the hash is compared.
same_answers() {
	diff -u <(sed -E 's/ errnos:.*//' "$work/c") <(sed -E 's/ errnos:.*//' "$work/rust")
}
tap_run "the same answers from both modules, call by call" same_answers

tap_run "upstream's ipmi_devintf back in place" use_devintf c
# The fuzzer set the interface-wide addresses and LUNs at random; the
# tests after it expect the defaults.
tap_run "interface settings back to their defaults" "$tools/ipmi-stress" defaults
rm -rf "$work"
