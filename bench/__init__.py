"""`make bench`: the project's performance figures, measured on the local stack.

Each figure module measures one thing against a real Azurite, the local Functions host and
the ARM/VI stand-in, and returns `Figure`s; `bench.run` prints them beside their goals and
writes `bench/results.json`. Benchmarks report; they never gate (exit 0 when a goal is missed).
"""
