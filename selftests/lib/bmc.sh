# shellcheck shell=bash disable=SC2154 # $here comes from the caller
# SPDX-License-Identifier: GPL-2.0
# BMCs and interfaces for the VM harness (sourced by selftests/vm-run).

# QEMU options for the host side of interface $1 (the BMC is always bmc0);
# $2 is the boot's results directory.
intf_qemu_opts() {
	case "$1" in
	kcs) echo "-device isa-ipmi-kcs,bmc=bmc0" ;;
	kcs-noirq) echo "-device isa-ipmi-kcs,bmc=bmc0,irq=0" ;;
	# The KCS interface without an IRQ, described a second time by our
	# SSDT with a GPE for its interrupt (selftests/bmc/kcs-gpe.asl,
	# compiled into $2 by vm-run); GPE 2 is QEMU's CPU hotplug event,
	# which the host raises through QMP by plugging a vCPU into a free
	# slot (gpe-kicker.py; 10 slots).
	kcs-gpe) echo "-device isa-ipmi-kcs,bmc=bmc0,irq=0 -smp maxcpus=12" \
		"-acpitable file=$2/kcs-gpe.aml -qmp unix:$2/qmp.sock,server=on,wait=off" ;;
	bt) echo "-device isa-ipmi-bt,bmc=bmc0" ;;
	pci-kcs) echo "-device pci-ipmi-kcs,bmc=bmc0" ;;
	pci-bt) echo "-device pci-ipmi-bt,bmc=bmc0" ;;
	# address=0 (the default) reads as "no interface" in SMBIOS.
	ssif) echo "-device smbus-ipmi,bmc=bmc0,address=0x10" ;;
	# Two interfaces, each with its own BMC (QEMU's BMC serves one).
	# (-shared: the second BMC answers with the first one's identity.)
	kcs+ssif | kcs+ssif-shared) echo "-device isa-ipmi-kcs,bmc=bmc0 -device smbus-ipmi,bmc=bmc1,address=0x10" ;;
	*) return 1 ;;
	esac
}

# boot_name BMC INTF KERNEL: how the suite names a boot (sim/kcs, sim/kcs@debug).
boot_name() {
	if [ "$3" = guest ]; then echo "$1/$2"; else echo "$1/$2@$3"; fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# proxy_start DIR BMCPORT: the fault proxy in front of the BMC listening on
# BMCPORT, with $fault_plan; sets proxy_port, appends to pids.
proxy_start() {
	local dir=$1 bmc_port=$2 bin=$here/target/release/ipmi-fault-proxy _
	[ -x "$bin" ] || { echo "$bin missing: cargo build --release -p ipmi-fault-proxy" >&2; return 1; }
	proxy_port=$(free_port)
	setsid "$bin" --listen "127.0.0.1:$proxy_port" --bmc "127.0.0.1:$bmc_port" \
		--plan "$fault_plan" --log "$dir/proxy.log" --seed 1 \
		</dev/null >"$dir/proxy.out" 2>"$dir/proxy.err" &
	pids+=("$!")
	for _ in $(seq 50); do
		grep -q '^listening' "$dir/proxy.out" 2>/dev/null && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || { cat "$dir/proxy.err" >&2; return 1; }
		sleep 0.1
	done
	echo "the fault proxy did not start" >&2
	return 1
}

# ipmi_sim_start DIR KIND N [SED]: OpenIPMI's ipmi_sim with our
# configuration (its VM codec speaking KIND, kcs or bt; SED edits its
# emulation file), behind the fault proxy when $fault_plan is set; adds
# QEMU's ipmi-bmc-extern bmcN for it to qemu_bmc.
ipmi_sim_start() {
	local dir=$1 si=$2 n=$3 edit=${4:-} port _
	port=$(free_port)
	mkdir -p "$dir/ipmi_sim-state"
	sed -e "s|@KIND@|$si|" -e "s|@PORT@|$port|" "$here/selftests/bmc/ipmi_sim.conf" >"$dir/ipmi_sim.conf"
	# With $lan_port set (vm-run --lan): a LAN channel as well, on that
	# UDP port of the host's loopback.
	[ -z "${lan_port:-}" ] ||
		sed -e "s|@LANPORT@|$lan_port|" "$here/selftests/bmc/ipmi_sim-lan.conf" >>"$dir/ipmi_sim.conf"
	sed -e "s|@FRU@|$dir/fru.bin|" ${edit:+-e "$edit"} "$here/selftests/bmc/ipmi_sim.emu" >"$dir/ipmi_sim.emu"
	setsid ipmi_sim -c "$dir/ipmi_sim.conf" -f "$dir/ipmi_sim.emu" -n -p \
		-s "$dir/ipmi_sim-state" </dev/null >"$dir/ipmi_sim.log" 2>&1 &
	pids+=("$!")
	# Wait until it listens, so QEMU's first connection succeeds. Only
	# look: ipmi_sim exits when its first connection closes.
	for _ in $(seq 50); do
		[ -n "$(ss -Hltn "sport = :$port")" ] && break
		kill -0 "${pids[-1]}" 2>/dev/null || { cat "$dir/ipmi_sim.log" >&2; return 1; }
		sleep 0.1
	done
	if [ -n "${fault_plan:-}" ]; then
		proxy_start "$dir" "$port" || return 1
		port=$proxy_port
	fi
	# reconnect-ms is needed: QEMU 10.0 crashes when ipmi-bmc-extern's
	# chardev is connected synchronously at start-up.
	qemu_bmc+="${qemu_bmc:+ }-chardev socket,id=ipmi$n,host=127.0.0.1,port=$port,reconnect-ms=1000"
	qemu_bmc+=" -device ipmi-bmc-extern,id=bmc$n,chardev=ipmi$n"
}

# bmc_start KIND DIR INTF: start BMC KIND for interface INTF with its state
# in DIR; sets qemu_bmc and appends any process it starts to the caller's
# pids array (a kcs+ssif boot has two BMCs). $here is the checkout. With $fault_plan set (a plan file),
# ipmi_sim sits behind tools/ipmi-fault-proxy, which applies it (its log
# goes to DIR/proxy.log).
bmc_start() {
	local kind=$1 dir=$2 intf=$3 si=kcs
	python3 "$here/selftests/bmc/make-fru.py" "$dir/fru.bin"
	qemu_bmc=
	case "$kind" in
	dell)
		# QEMU's BMC as a Dell PowerEdge 8G's (device 0x20, revision 0x80,
		# firmware 1.40, IPMI 1.5, Dell's IANA number), whose firmware
		# quirks ipmi_si works around.
		qemu_bmc="-device ipmi-bmc-sim,id=bmc0,device_id=0x20,device_rev=0x80,fwrev1=0x01,fwrev2=0x40"
		qemu_bmc+=",ipmi_version=0x51,mfg_id=0x0002a2,product_id=0x0100,guid=2bd6a2f0-3e4d-4c5b-8a6f-0000000000de"
		;;
	sim)
		# Fixed identity so that clients' answers can be asserted.
		qemu_bmc="-device ipmi-bmc-sim,id=bmc0,device_id=0x20,device_rev=0x01,fwrev1=0x02,fwrev2=0x11"
		qemu_bmc+=",mfg_id=0x0f0f0f,product_id=0x1234,guid=2bd6a2f0-3e4d-4c5b-8a6f-000000000001"
		qemu_bmc+=",frudatafile=$dir/fru.bin"
		if [[ "$intf" == *+* ]]; then
			# A second interface needs a second BMC, and QEMU takes one
			# ipmi-bmc-sim per machine: ipmi_sim, with a device id
			# (0x21), product id and GUID of its own, or (-shared) with
			# the same device and product ids as QEMU's BMC, so that the
			# handler takes both interfaces for one BMC.
			local own='s/^mc_add 0x20 0x20 \(.*\) 0x1234 dynsens$/mc_add 0x20 0x21 \1 0x1235 dynsens/; s/000000000020"/000000000021"/'
			[[ "$intf" != *-shared ]] || own=
			ipmi_sim_start "$dir" kcs 1 "$own" || return 1
		fi
		;;
	ipmi_sim)
		[[ "$intf" != *+* ]] || { echo "ipmi_sim: one interface per boot" >&2; return 1; }
		[ "$intf" = bt ] || [ "$intf" = pci-bt ] && si=bt
		ipmi_sim_start "$dir" "$si" 0
		;;
	*) return 1 ;;
	esac
}
