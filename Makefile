# SPDX-License-Identifier: GPL-2.0
#
# Entry points. `make` builds the modules against $(KDIR): the project's
# cached guest kernel once scripts/setup.sh has run, else the running
# kernel's build tree. Kbuild itself reads ./Kbuild, not this file.
#
#   make              build the modules (CLIPPY=1, warnings are errors)
#   make tools        build the C test programs (64-bit and i386)
#   make check        set up what is missing, then every test (README)
#   make demo         boot a VM with a simulated BMC, ipmitool through our stack
#   make bench        C-against-ours benchmarks: devintf, si, msghandler, all-Rust (not a test)
#   make faults       the fault scenarios, every plan x interface, C and ours side by side
#   make soak         the long fuzz campaigns (10^6 ioctls per devintf, 10 min per machine)
#   make setup        only the set-up (packages, sources, tools, kernel)
#   make fmt          rustfmt the tree; make fmt-check to only check

IPMI_RS_CACHE ?= /var/cache/ipmi-rs
-include $(IPMI_RS_CACHE)/env.mk
KDIR ?= /lib/modules/$(shell uname -r)/build
LLVM ?= 1
CLIPPY ?= 1

# MO=DIR puts the objects in DIR instead of the checkout (one per kernel).
KBUILD_ARGS = -C $(KDIR) M=$(CURDIR) $(if $(MO),MO=$(MO)) LLVM=$(LLVM) CLIPPY=$(CLIPPY)

RUST_SOURCES = $(shell git ls-files --cached --others --exclude-standard '*.rs')

.PHONY: all modules clean check demo bench faults soak setup fmt fmt-check tools

all: modules

modules:
	$(MAKE) $(KBUILD_ARGS) modules

# User-space test programs run inside the VM. ipmi-abi is built twice: the
# i386 build goes through the driver's 32-bit compat ioctl path.
TOOLS_OUT = target/selftests
TOOL_CFLAGS = -O2 -Wall -Wextra -Werror

tools: $(TOOLS_OUT)/ipmi-abi $(TOOLS_OUT)/ipmi-abi32 $(TOOLS_OUT)/ipmi-stress \
	$(TOOLS_OUT)/ipmi-fuzz $(TOOLS_OUT)/ipmi-fuzz32 $(TOOLS_OUT)/ipmi-faults \
	$(TOOLS_OUT)/ipmi-direct

$(TOOLS_OUT)/ipmi-abi: selftests/tools/ipmi-abi.c
	@mkdir -p $(TOOLS_OUT)
	$(CC) $(TOOL_CFLAGS) -o $@ $<

$(TOOLS_OUT)/ipmi-abi32: selftests/tools/ipmi-abi.c
	@mkdir -p $(TOOLS_OUT)
	$(CC) -m32 $(TOOL_CFLAGS) -o $@ $<

$(TOOLS_OUT)/ipmi-stress: selftests/tools/ipmi-stress.c
	@mkdir -p $(TOOLS_OUT)
	$(CC) $(TOOL_CFLAGS) -o $@ $<

$(TOOLS_OUT)/ipmi-direct: selftests/tools/ipmi-direct.c
	@mkdir -p $(TOOLS_OUT)
	$(CC) $(TOOL_CFLAGS) -o $@ $<

$(TOOLS_OUT)/ipmi-faults: selftests/tools/ipmi-faults.c
	@mkdir -p $(TOOLS_OUT)
	$(CC) $(TOOL_CFLAGS) -o $@ $<

$(TOOLS_OUT)/ipmi-fuzz: selftests/tools/ipmi-fuzz.c
	@mkdir -p $(TOOLS_OUT)
	$(CC) $(TOOL_CFLAGS) -o $@ $<

$(TOOLS_OUT)/ipmi-fuzz32: selftests/tools/ipmi-fuzz.c
	@mkdir -p $(TOOLS_OUT)
	$(CC) -m32 $(TOOL_CFLAGS) -o $@ $<

clean:
	$(MAKE) $(KBUILD_ARGS) clean
	rm -f drivers/char/ipmi/*/ipmi_bindings_generated.rs selftests/modules/ipmi_bindings_generated.rs

setup:
	scripts/setup.sh

check:
	scripts/check.sh

demo:
	scripts/demo.sh

soak:
	selftests/soak/run

bench:
	selftests/bench/run --cpus 1
	selftests/bench/run --cpus 2
	selftests/bench/run --cpus 1 --compare si
	selftests/bench/run --cpus 2 --compare si
	selftests/bench/run --cpus 2 --compare msghandler --profile 10000
	selftests/bench/run --cpus 2 --compare rust

faults:
	selftests/faults/run

fmt:
	rustfmt --edition 2021 --config-path .rustfmt.toml $(RUST_SOURCES)

fmt-check:
	rustfmt --edition 2021 --config-path .rustfmt.toml --check $(RUST_SOURCES)
