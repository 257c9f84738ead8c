# SPDX-License-Identifier: GPL-2.0
# Upstream's ipmi_si at panic time (panic_op=string): the baseline for
# rust-si-panic. Ends the boot in a panic; see panic_event_test.
panic_event_test c
