# SPDX-License-Identifier: GPL-2.0
# Commands for the host from a remote console's LAN session (boot with
# vm-run --lan --fault-plan commands: ipmi_sim's channel 1 is LAN, and
# each Get SEL Time leaves one such command in the BMC's receive queue,
# made up by the fault proxy, which also checks the host's reply to it and
# logs it in $OUT/proxy.log). A user registered for the command gets it
# with a LAN address (channel 1, the session's privilege, handle and
# software IDs) and its answer, sent back to that address, leaves in a
# Send Message the proxy takes for a well-formed reply; a command nobody
# registered for gets the handler's 0xc1 the same way. For upstream's
# stack, our handler under upstream's leaves, and all ours, in the same
# boot: what the user saw and the user's reply must match. Upstream's
# 0xc1 reply sums the session handle into its first checksum (a BMC that
# checks drops it; ipmi_sim does not check): recorded, not judged; ours
# must be right.

tools=$REPO/target/selftests
work=$(mktemp -d)
stacks="c msghandler rust"
: >"$OUT/lan.txt"
tap_expect $((2 + 3 * $(wc -w <<<"$stacks")))

[ -r "$OUT/proxy.log" ] || { tap_fail "msghandler-lan needs the fault proxy (--fault-plan commands)"; return 0; }

# The BMC says channel 1 is a LAN channel (vm-run --lan).
lan_channel() {
	load_stack c || return 1
	ipmitool channel info 1 | tee "$work/channel" | head -3
	grep -q 'Channel Medium Type *: 802.3 LAN' "$work/channel"
}
tap_run "the BMC has a LAN channel, 1" lan_channel

# replies: how many replies the proxy has taken so far.
replies() {
	grep -c 'action=lan-reply' "$OUT/proxy.log"
}

# reply_after N: the first reply after the first N, within 5 s, without
# its seq (which counts the commands) and the log's own fields.
reply_after() {
	for _ in $(seq 50); do
		[ "$(replies)" -gt "$1" ] && break
		sleep 0.1
	done
	grep 'action=lan-reply' "$OUT/proxy.log" | sed -n "$(($1 + 1))p" |
		sed 's/.*action=//; s/ seq=[0-9]*//; s/ rule=[0-9]*//'
}

# to_user STACK: a registered user gets the command and answers it.
to_user() {
	local stack=$1 pid n seen reply rc=0
	n=$(replies)
	"$tools/ipmi-stress" lan-command 0x30 0x01 10 >"$work/user-$stack" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		grep -q '^lan-command: registered' "$work/user-$stack" && break
		sleep 0.1
	done
	ipmitool raw 0x0a 0x48 >/dev/null || rc=1
	wait "$pid" || rc=1
	cat "$work/user-$stack"
	seen=$(sed -n 's/^lan-command: command //p' "$work/user-$stack")
	reply=$(reply_after "$n")
	echo "the proxy took: $reply"
	{
		echo "$stack: user: $seen"
		echo "$stack: reply: $reply"
	} >>"$OUT/lan.txt"
	sed 's/session handle [0-9]*/session handle N/' <<<"$seen" >"$work/seen-$stack"
	echo "$reply" >"$work/reply-$stack"
	[ $rc = 0 ] &&
		[ "$seen" = "netfn 0x30 cmd 0x01 from address type 4 channel 1 privilege 4 session handle 5 remote SWID 0x81 local SWID 0x20 lun 0, data: 11 22" ] &&
		grep -qx 'lan-command: the reply went out, the BMC took it with completion code 0x00' "$work/user-$stack" &&
		[[ "$reply" =~ ^lan-reply\ ok\ lun=[0-3]\ cc=0x00\ data=ee,dd$ ]]
}

# to_nobody STACK: the same command with nobody registered: the handler
# answers 0xc1 in the user's stead.
to_nobody() {
	local n reply result=pass
	n=$(replies)
	ipmitool raw 0x0a 0x48 >/dev/null || return 1
	reply=$(reply_after "$n")
	echo "the proxy took: $reply"
	echo "$1: nobody: $reply" >>"$OUT/lan.txt"
	[[ "$reply" =~ ^lan-reply\ ok\ lun=[0-3]\ cc=0xc1\ data=-$ ]] || result=wrong
	outcome "LAN command nobody registered for: 0xc1 reply" "$1" $result "$reply"
	[ "$1" = c ] || [ $result = pass ]
}

for stack in $stacks; do
	tap_run "$stack stack loads" load_stack "$stack"
	tap_run "$stack: a command from a LAN session reaches the registered user, its answer reaches the BMC" \
		to_user "$stack"
	tap_run "$stack: a command from a LAN session nobody registered for is answered 0xc1 (upstream's recorded)" \
		to_nobody "$stack"
done
unload_all

# Our stacks did what upstream's did: the user's view of the command
# (the session handle aside) and the user's reply, LUN included.
same_as_upstream() {
	local s f
	for s in msghandler rust; do
		for f in seen reply; do
			diff -u "$work/$f-c" "$work/$f-$s" || return 1
		done
	done
}
tap_run "our stacks saw and answered the commands as upstream's did" same_as_upstream
rm -rf "$work"
