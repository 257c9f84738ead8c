// SPDX-License-Identifier: GPL-2.0

//! A fault-injecting proxy for QEMU's external BMC.
//!
//! ```text
//! QEMU ipmi-bmc-extern --TCP--> ipmi-fault-proxy --TCP--> ipmi_sim (codec VM)
//!      (client, reconnect-ms)    (--listen)  (--bmc)      (listens)
//! ```
//!
//! ```text
//! ipmi-fault-proxy --listen 127.0.0.1:PORT --bmc 127.0.0.1:PORT2 \
//!     [--plan FILE] --log FILE [--control SOCKETPATH] [--seed N]
//! ```
//!
//! The proxy speaks the "VM" protocol of QEMU's `hw/ipmi/ipmi_bmc_extern.c`
//! and OpenIPMI's `lanserv/serial_ipmi.c` on both sides (see [`codec`]). It
//! forwards QEMU's requests and control commands to the BMC, and the BMC's
//! responses and control commands to QEMU, applying a fault plan to them.
//! Once bound it prints `listening ADDRESS` on standard output (so
//! `--listen 127.0.0.1:0` works), then runs until killed. Connection events
//! go to standard error.
//!
//! # Connections
//!
//! QEMU connects to the proxy. The proxy dials the BMC when a QEMU
//! connection arrives and there is no BMC connection yet; if it cannot, it
//! closes QEMU's connection (QEMU tries again after its `reconnect-ms`). The
//! BMC connection then outlives QEMU connections, so that a QEMU-side
//! `reconnect` looks to the BMC as if nothing happened (selftests/lib/bmc.sh
//! warns that ipmi_sim exits when its first connection closes). If the BMC
//! closes its end, the proxy closes QEMU's too. Bytes from the BMC while no
//! QEMU is connected are discarded.
//!
//! Requests are matched to responses by their sequence number (QEMU's
//! `msg_id`, which the BMC echoes). Frames that do not parse (bad checksum,
//! too short, ending in an escape) are forwarded unchanged and counted;
//! frames longer than 4096 bytes are dropped and counted.
//!
//! # Plan files
//!
//! One rule a line; `#` starts a comment; blank lines are ignored. Numbers
//! are decimal or `0x` hexadecimal. Words are `key=value`, in any order:
//!
//! ```text
//! rule     = "match" { selector } "action=" action [ "gap=" MS ]
//! selector = "netfn=" N      request netfn (6 bits, 0..=0x3f); any if absent
//!          | "cmd=" N        request cmd; any if absent
//!          | "after=" K      ignore the first K selected requests
//!          | "nth=" K        fire on the K-th selected request after those
//!          | "every=" K      fire on every K-th one after those (K, 2K, ...)
//!          | "count=" K      fire at most K times
//!          | "armed-by=" N "/" C  select nothing until a request with
//!                           netfn N and cmd C has passed (a test arms
//!                           the rule in-band by sending it)
//! action   = "drop" | "delay=" MS | "duplicate" | "corrupt-checksum"
//!          | "corrupt-seq" | "corrupt-netfn" | "corrupt-cmd"
//!          | "truncate=" N | "oversize=" N | "garbage=" N | "unsolicited"
//!          | "patch=" BYTE ":" VALUE
//!          | "busy" | "silent=" SECS | "silent=" MS "ms" | "slow=" MS
//!          | "reconnect" [ "=qemu" | "=bmc" | "=both" ]
//!          | "attn-storm=" N | "attn-irq-storm=" N | "events=" N | "commands=" N
//!          | "lan-commands=" N
//! ```
//!
//! Without `nth` or `every` a rule fires on every selected request (after
//! `after`, up to `count`); `nth` and `every` exclude each other. `gap=MS`
//! (attn storms only) spaces the storm's commands. `silent` also takes
//! `SECSs`. Limits: delays up to 600000 ms, `silent` up to 600 s, byte
//! counts up to 4096 (`truncate` from 0, the others from 1), storms up to
//! 100000 commands, `gap` up to 10000 ms. A bad plan is refused with its line
//! number (exit status 2). Example:
//!
//! ```text
//! # Every third Get Device ID loses its response, ten times.
//! match netfn=0x06 cmd=0x01 every=3 count=10 action=drop
//! # The first Get Message Flags after two is answered "busy".
//! match netfn=0x06 cmd=0x31 after=2 nth=1 action=busy
//! # Every response 20 ms late.
//! match action=slow=20
//! ```
//!
//! Every rule that selects a request (its netfn and cmd match) counts it.
//! Of the rules that then fire, each `slow` rule adds its delay and the first
//! other rule in file order applies its action; a later rule that would also
//! have fired does not, and does not use up its `count`. At most one action
//! (besides `slow`) applies to a request. While `silent` holds, requests
//! reach no rule.
//!
//! # What each action does on the wire
//!
//! Actions on the response (the request is forwarded; the response with the
//! request's seq is altered when it comes back):
//!
//! - `drop`: the response is not sent.
//! - `delay=MS`: the response is sent MS ms after it arrived.
//! - `duplicate`: the response is sent twice.
//! - `corrupt-checksum`: the checksum byte is XORed with 0x01.
//! - `corrupt-seq`, `corrupt-netfn`, `corrupt-cmd`: seq XOR 0x01, netfn XOR
//!   0x02 (a response netfn stays odd; the LUN is kept), cmd XOR 0x01; the
//!   checksum is recomputed, so the frame is valid.
//! - `patch=BYTE:VALUE`: byte BYTE of the response's data (0 is the
//!   completion code) is set to VALUE, with a fresh checksum: a BMC whose
//!   answer changed (a firmware revision after an update, say). A shorter
//!   response is sent as it is.
//! - `truncate=N`: only the first N bytes after seq are kept (netfn/LUN,
//!   cmd, completion code, data), with a fresh checksum. QEMU ignores a
//!   response with N < 3 as too short.
//! - `oversize=N`: the data is padded (0x00, 0x01, ... so escapes occur)
//!   until netfn/LUN, cmd, completion code and data are N bytes, with a
//!   fresh checksum. Up to 300 QEMU hands it to the interface as it is;
//!   above that QEMU replaces it with completion code 0xC6.
//! - `garbage=N`: N random bytes (none of 0xA0, 0xA1, 0xAA, their sum not
//!   zero) and a 0xA0 terminator go first: a frame any receiver discards,
//!   after which the real response follows intact. `--seed` fixes the bytes.
//! - `unsolicited`: after the response, a copy with seq XOR 0x80 (moved on
//!   past any seq in flight) is sent.
//! - `slow=MS`: the response is sent MS ms late; adds to the other actions
//!   (and to `busy`'s answer). With no selector it slows every response.
//!
//! Actions on the request:
//!
//! - `busy`: not forwarded; the proxy answers with the request's seq, LUN
//!   and cmd, netfn + 1 and completion code 0xC0. Use `count=N` for "N
//!   requests".
//! - `silent=SECS` (or `=MSms`): this request and everything in both
//!   directions for that long (requests, responses, control commands) is
//!   discarded; each discarded message gets a log line.
//! - `reconnect` / `reconnect=qemu`: the request is swallowed and QEMU's
//!   connection closed (QEMU completes the request with 0xD2 and reconnects
//!   after `reconnect-ms`; the BMC connection is kept). `reconnect=bmc`:
//!   the request is swallowed, the BMC connection closed and dialled again,
//!   and QEMU's last VERSION and CAPABILITIES commands are replayed on it
//!   (the BMC sees a new VM connect; the harness saw ipmi_sim exit after its
//!   first connection closed, so check that yours accepts again).
//!   `reconnect=both`: both are closed; the BMC is dialled again when QEMU
//!   reconnects.
//! - `attn-storm=N` / `attn-irq-storm=N`: the request is forwarded as usual
//!   and N ATTN (0x01) or ATTN_IRQ (0x02) control commands go to QEMU, all
//!   at once or `gap=MS` apart. There is no separate event-flood or
//!   command-flood action: for now a flood of events or of received
//!   commands is expressed as an ATTN storm. The guest driver answers ATTN
//!   by reading the message flags; whether there is then anything to fetch
//!   is up to the BMC, so this floods the driver's flag handling, not its
//!   event or command queues. A `gap` after the last one the storm is over
//!   and NOATTN (0x00) clears the flag, unless the BMC's own last word was
//!   ATTN or the proxy's events or commands still wait: QEMU clears SMS_ATN
//!   only on the BMC's command, so a storm that left it up would turn into
//!   a stuck flag that every driver answers with flag fetches for good.
//! - `events=N`: the request is forwarded as usual; then the proxy has N
//!   events in the BMC's event buffer: it sends ATTN_IRQ to QEMU, adds the
//!   "event message buffer full" flag (0x02) to every successful Get
//!   Message Flags answer while events wait, and answers each Read Event
//!   Message Buffer itself (not forwarded) with one event until the N are
//!   read, each answer followed by ATTN_IRQ again while more wait (a BMC
//!   holds SMS_ATN up while its buffer is full; QEMU's is set once per
//!   command); after the last, NOATTN as for a storm; after that the BMC
//!   answers them again. Each event is a system
//!   event record (type 0x02) from generator 0x20, temperature sensor
//!   [`proxy::EVENT_SENSOR`] (0x42), whose record id (bytes 0-1) and first
//!   event data byte count the events handed out since the proxy started.
//!   Each one handed out gets a log line with action `event`. Rules of
//!   several `events` add up.
//! - `commands=N`: the same for the BMC's receive message queue: ATTN_IRQ,
//!   the "receive message available" flag (0x01) added to Get Message
//!   Flags answers while commands wait, and each Get Message answered by
//!   the proxy (not forwarded) with one command for the host: an IPMB
//!   frame on channel 0 from [`proxy::COMMAND_SOURCE`] (0x81) to the SMS
//!   (0x20, LUN 2), App Get Device ID, sequence number counting the
//!   commands handed out, both checksums right. Each gets a log line with
//!   action `command`. The host's reply goes to the BMC as a Send Message
//!   (a `delay=1` rule on netfn 0x06 cmd 0x34 logs it).
//! - `lan-commands=N`: as `commands`, each command one from a LAN session
//!   on channel 1 (see [`lan`]: administrator, session handle 0x05, from
//!   software ID 0x81 to 0x20, OEM netfn 0x30 cmd 0x01, data 11 22, both
//!   checksums right); `commands` are handed out first when both wait.
//!   Once one has gone out, the proxy takes every Send Message to channel
//!   1 itself (the BMC would pass it on to the session): it checks it
//!   against what a reply must be, logs it with action `lan-reply ok seq=S
//!   lun=L cc=C data=D` or `lan-reply bad: WHY`, and answers it with
//!   completion code 0. The channel must be a LAN channel in the BMC's own
//!   Get Channel Info answers (ipmi_sim with `vm-run --lan`), or the host
//!   does not take the command for a LAN one.
//!
//! # What QEMU makes of it
//!
//! From QEMU 10's `ipmi_bmc_extern.c`, `ipmi_kcs.c` and `ipmi_bt.c`, to
//! know what the guest should see:
//!
//! - A frame QEMU discards (bad checksum, fewer than 5 bytes, ending in an
//!   escape) leaves its response timer running: 4 s of virtual time after
//!   the request was sent, the interface gets completion code 0xC3. So
//!   `drop`, `corrupt-checksum`, `truncate` below 3 and a `silent` request
//!   end in 0xC3 unless the guest driver gives up first.
//! - `ipmi-bmc-extern` takes any valid response frame as the answer (it
//!   stops the timer), but KCS and BT deliver it only if its seq is the
//!   `msg_id` they wait for, which they then advance. A `corrupt-seq`
//!   response therefore stops the timer and is then ignored: the guest gets
//!   nothing at all. The second copy of `duplicate` and the `unsolicited`
//!   copy are ignored the same way.
//! - `corrupt-netfn` and `corrupt-cmd` reach the guest as sent; so does
//!   `oversize` up to 300 bytes on KCS (BT answers 0xCA above 298). Above
//!   300, `ipmi-bmc-extern` replaces the response with completion code 0xC6
//!   without looking at the checksum.
//! - When the connection closes (`reconnect`), a request in flight is
//!   completed with 0xD2; on reconnecting QEMU sends VERSION and
//!   CAPABILITIES again.
//! - QEMU takes one byte per read from the socket (`can_receive` is 1), so
//!   every command of an ATTN storm is seen; each sets ATN again.
//!
//! # The log
//!
//! `--log` gets one line per fault applied, written just before the fault
//! reaches the wire:
//!
//! ```text
//! MS seq=0xSS netfn=0xNN cmd=0xCC action=ACTION [rule=R]
//! ```
//!
//! MS is milliseconds since the proxy started (a monotonic clock); seq,
//! netfn and cmd are the request's; ACTION is
//! printed as in the plan (`delay=300`, `silent=2000ms`, `reconnect=qemu`);
//! R is the rule's 1-based index in the plan in force. A response action is
//! logged when the response arrives from the BMC (so a response that never
//! comes is not logged), a request action when the request arrives. A
//! message discarded by `silent` is logged as `action=silenced` without a
//! rule. `slow` gets its own line.
//!
//! # The control socket
//!
//! `--control PATH` is a Unix stream socket taking one command a line and
//! answering each with one line starting with `ok` or `err`:
//!
//! - `plan RULE[; RULE...]`: replace the plan (fresh counters); `plan`
//!   alone empties it.
//! - `add RULE`: append a rule.
//! - `clear`: empty the plan and end any `silent`.
//! - `stats`: `ok key=value ...`: connections, requests, responses,
//!   unmatched responses, requests in flight, control commands each way,
//!   bad and overflowed frames, discarded and silenced messages, whether
//!   silent, faults logged, rules, and `fault.NAME=N` for every action.
//! - `show`: the rules with their selected and fired counts.

pub mod codec;
pub mod lan;
pub mod plan;
pub mod proxy;
