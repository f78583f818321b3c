"""Flashing over USB serial (flash layer): frame format, sender and receiver halves of the protocol,
and a simulated serial line for tests and benchmarks. Both halves live in device/ because the
protocol is the contract; `host_tools.flash` imports the sender from here."""
