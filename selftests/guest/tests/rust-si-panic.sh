# SPDX-License-Identifier: GPL-2.0
# Our ipmi_si at panic time (panic_op=string): the handler switches it to
# run-to-completion and polls it, interrupts off, for the Platform Event
# and the SEL records holding the panic string. Ends the boot in a panic;
# see panic_event_test.
panic_event_test rust
