#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Idempotent set-up of everything the build and the tests need on a Debian 12
# machine: host packages, QEMU 10 from bookworm-backports, the 7.3 kernel
# source and the rust-src matching `rustc --version` from trixie-backports
# (through a private apt state, never touching the system's apt), virtiofsd
# and bindgen from crates.io, virtme-ng from PyPI, and the guest kernel.
#
# Everything lands in $IPMI_RS_CACHE (default /var/cache/ipmi-rs), keyed by
# what it depends on; a second run finds it there and rebuilds nothing.
# On success it writes $IPMI_RS_CACHE/env.mk, from which the top-level
# Makefile takes KDIR, RUST_LIB_SRC, LLVM and PATH; the harness scripts
# compute the same from scripts/lib.sh.
#
# Usage: scripts/setup.sh [--no-kernel]

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$here/scripts/lib.sh"

build_kernel=1
[ "${1:-}" = "--no-kernel" ] && build_kernel=0

mkdir -p "$CACHE"
exec 9>"$CACHE/.setup.lock"
flock 9

export DEBIAN_FRONTEND=noninteractive

# --- host packages (bookworm) -------------------------------------------------
# Kernel build (bc ... dwarves, clang/lld/llvm 19), virtiofsd's build
# (libseccomp, libcap-ng), the clients and ipmi_sim, gcc-multilib for the
# i386 ABI test, iproute2 (ss) for the harness, shellcheck for its scripts,
# acpica-tools (iasl) for the SSDT of the GPE boot.
host_pkgs=(bc bison flex libelf-dev libssl-dev cpio kmod make gcc
	libclang-19-dev clang-19 lld-19 llvm-19
	ipmitool freeipmi-tools openipmi rsync dwarves
	libseccomp-dev libcap-ng-dev busybox-static gcc-multilib iproute2 shellcheck
	acpica-tools)

missing=()
for p in "${host_pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	step "apt: installing ${missing[*]}"
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	done_step
fi

# --- QEMU 10 from bookworm-backports -------------------------------------------
qemu_ok() {
	command -v qemu-system-x86_64 >/dev/null &&
		qemu-system-x86_64 --version | awk 'NR==1 { split($4, v, "."); exit !(v[1] >= 10) }'
}
if ! qemu_ok; then
	step "apt: qemu-system-x86 from bookworm-backports"
	bp=/etc/apt/sources.list.d/ipmi-rs-bookworm-backports.sources
	if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
		cat >"$bp" <<-EOF
			Types: deb
			URIs: http://deb.debian.org/debian
			Suites: bookworm-backports
			Components: main
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
	fi
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends -t bookworm-backports \
		qemu-system-x86 qemu-system-data ipxe-qemu seabios >/dev/null
	qemu_ok || die "QEMU 10 not installed: $(qemu-system-x86_64 --version | head -1)"
	done_step
fi

# --- trixie-backports files through a private apt state --------------------------
trixie="$CACHE/apt-trixie"
trixie_opts() {
	printf '%s\n' -o Dir::Etc::SourceList="$trixie/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$trixie/lists" \
		-o Dir::Cache="$trixie/cache" \
		-o Dir::State::status=/dev/null \
		-o APT::Sandbox::User=root
}
apt_trixie() {
	local opts
	mapfile -t opts < <(trixie_opts)
	apt-get -q "${opts[@]}" "$@"
}
apt_cache_trixie() {
	local opts
	mapfile -t opts < <(trixie_opts)
	apt-cache "${opts[@]}" "$@"
}
need_trixie=0
[ -f "$KSRC/.unpacked" ] || need_trixie=1
[ -f "$RUST_SRC_DIR/.unpacked" ] || need_trixie=1
if [ $need_trixie = 1 ]; then
	step "apt (private state): trixie-backports index"
	mkdir -p "$trixie/lists/partial" "$trixie/cache/archives/partial" "$trixie/debs"
	cat >"$trixie/sources.list" <<-EOF
		deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
		deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-backports main
	EOF
	apt_trixie update -qq >/dev/null
	done_step
fi

if [ ! -f "$KSRC/.unpacked" ]; then
	step "kernel source linux-source-$KVER_MAJOR (download + unpack)"
	(cd "$trixie/debs" && apt_trixie download "linux-source-$KVER_MAJOR" >/dev/null)
	deb=$(ls -t "$trixie/debs/linux-source-${KVER_MAJOR}"_*.deb | head -1)
	rm -rf "$trixie/x" && mkdir -p "$trixie/x"
	dpkg -x "$deb" "$trixie/x"
	rm -rf "$KSRC" && mkdir -p "$KSRC"
	tar -xf "$trixie/x/usr/src/linux-source-$KVER_MAJOR.tar.xz" -C "$KSRC" --strip-components=1
	rm -rf "$trixie/x"
	dpkg-deb -f "$deb" Version >"$KSRC/.debian-version"
	touch "$KSRC/.unpacked"
	done_step
fi

if [ ! -f "$RUST_SRC_DIR/.unpacked" ]; then
	step "rust-src $RUSTC_VERSION (download + unpack)"
	want=$(apt_cache_trixie madison rust-src 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' |
		grep -E "^${RUSTC_VERSION//./\\.}\+" | head -1 || true)
	if [ -z "$want" ]; then
		found=$(apt_cache_trixie madison rust-src 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | tr '\n' ' ')
		die "no rust-src for rustc $RUSTC_VERSION in trixie/trixie-backports (found: ${found:-none})"
	fi
	(cd "$trixie/debs" && apt_trixie download "rust-src=$want" >/dev/null)
	deb=$(ls -t "$trixie/debs"/rust-src_*.deb | head -1)
	rm -rf "$RUST_SRC_DIR" && mkdir -p "$RUST_SRC_DIR"
	dpkg -x "$deb" "$RUST_SRC_DIR"
	[ -d "$RUST_SRC_DIR/usr/src/rustc-$RUSTC_VERSION/library" ] ||
		die "rust-src $want does not hold usr/src/rustc-$RUSTC_VERSION/library"
	touch "$RUST_SRC_DIR/.unpacked"
	done_step
fi

# --- crates.io tools --------------------------------------------------------------
mkdir -p "$TOOLS/bin"
if [ ! -x "$TOOLS/bin/bindgen" ]; then
	step "cargo install bindgen-cli 0.73.0"
	LIBCLANG_PATH=/usr/lib/llvm-19/lib cargo install -q --locked --root "$TOOLS" bindgen-cli --version 0.73.0
	done_step
fi
if [ ! -x "$TOOLS/bin/virtiofsd" ]; then
	step "cargo install virtiofsd"
	cargo install -q --locked --root "$TOOLS" virtiofsd
	done_step
fi
# The fuzz targets (fuzz/) are built by cargo-fuzz on the nightly toolchain
# installed beside stable.
if [ ! -x "$TOOLS/bin/cargo-fuzz" ]; then
	step "cargo install cargo-fuzz"
	cargo install -q --locked --root "$TOOLS" cargo-fuzz
	done_step
fi
rustup toolchain list | grep -q '^nightly' ||
	die "the nightly toolchain (for cargo-fuzz) is missing: rustup toolchain install nightly"
# virtme-ng looks for virtiofsd on PATH and in /usr/libexec.
[ -e /usr/libexec/virtiofsd ] || ln -sf "$TOOLS/bin/virtiofsd" /usr/libexec/virtiofsd

# --- virtme-ng (PyPI) in a private venv ---------------------------------------------
if [ ! -x "$TOOLS/venv/bin/vng" ]; then
	step "pip install virtme-ng"
	python3 -m venv "$TOOLS/venv"
	"$TOOLS/venv/bin/pip" install -q virtme-ng==1.42 || "$TOOLS/venv/bin/pip" install -q virtme-ng
	done_step
fi

write_env

# --- the guest kernel ---------------------------------------------------------------
if [ $build_kernel = 1 ]; then
	"$here/scripts/build-kernel.sh"
fi
