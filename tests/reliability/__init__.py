"""Reliability suite (issue 27): fuzzing, overload, injected faults, a busy machine, the
server's security promises. Fast tests run in `make test`; `python -m tests.reliability`
runs the benches that print figures."""
