# SPDX-License-Identifier: GPL-2.0
# Events reach the users who enabled them (a scenario of upstream's
# maintainer), with the boot's fault plan "events": each Get SEL Info
# makes the BMC's event buffer yield events (3, then floods of 150) that
# the interface driver fetches (Read Event Message Buffer) for the
# handler, which gives them to every user with events enabled and to no
# other. Over upstream's stack, then with our ipmi_si and with our
# ipmi_devintf in place of their twins. Then the flood, left unread for
# 3 s before the same user sends a request: what each stack does is
# recorded in $OUT/events.txt (upstream's handler counts queued events
# against the user's message limit). Last, our ipmi_msghandler under
# upstream's leaves: the same, and there the request must go (ours counts
# a user's unread events apart from its requests).

tools=$REPO/target/selftests
: >"$OUT/events.txt"
ensure_c_stack
tap_expect 11

events_reach() {
	local out
	out=$("$tools/ipmi-stress" events 3 2>&1)
	echo "$out"
	grep -qx 'events: 3 of 3 events reached the user that asked, in order' <<<"$out" &&
		grep -qx 'events: the other user got 0 message(s) besides its answer' <<<"$out"
}

# flood STACK: 150 events left queued; the lines go to events.txt. Passes
# when all 150 reach the user, in order, and the other user gets nothing;
# whether the user's request went meanwhile is the outcome recorded.
flood() {
	local out stack result=pass
	out=$("$tools/ipmi-stress" events 150 hold 2>&1)
	echo "$out"
	sed "s/^events:/$1:/" <<<"$out" >>"$OUT/events.txt"
	case "$1" in
	upstream) stack=c ;;
	"our ipmi_si") stack=si ;;
	"our ipmi_devintf") stack=devintf ;;
	*) stack=msghandler ;;
	esac
	grep -qx 'events: a request from the user with the events queued: sent' <<<"$out" || result=refused
	grep -qx 'events: 150 of 150 events reached the user that asked, in order' <<<"$out" || result=lost
	outcome "150 events queued, then a request" "$stack" "$result" \
		"$(sed -n 's/^events: a request from the user with the events queued: /request: /p' <<<"$out")"
	grep -qx 'events: the trigger was answered' <<<"$out" &&
		grep -qx 'events: 150 of 150 events reached the user that asked, in order' <<<"$out" &&
		grep -qx 'events: the other user got 0 message(s) besides its answer' <<<"$out"
}

tap_run "events reach the user that asked, upstream's stack" events_reach
tap_run "a flood of 150 queued events, upstream's stack (outcome in events.txt)" flood upstream
tap_run "our ipmi_si in place" use_si rust
tap_run "events reach the user that asked, our ipmi_si" events_reach
tap_run "a flood of 150 queued events, our ipmi_si (outcome in events.txt)" flood "our ipmi_si"
use_si c || tap_fail "upstream's ipmi_si back"
tap_run "our ipmi_devintf in place" use_devintf rust
tap_run "events reach the user that asked, our ipmi_devintf" events_reach
tap_run "a flood of 150 queued events, our ipmi_devintf (outcome in events.txt)" flood "our ipmi_devintf"
use_devintf c

# flood_request_goes: as flood, and the request sent with the events
# queued was accepted.
flood_request_goes() {
	flood "$1" && grep -qx "$1: a request from the user with the events queued: sent" "$OUT/events.txt"
}
tap_run "our ipmi_msghandler in place, under upstream's ipmi_devintf and $(si_driver)" load_stack msghandler
tap_run "events reach the user that asked, our handler" events_reach
tap_run "a flood of 150 queued events, our handler: the user's request still goes" \
	flood_request_goes "our handler"
# Last in its boot: the stack stays. Upstream's ipmi_si, unloaded after
# the floods, has taken 200-240 s to go (seen under either handler).
