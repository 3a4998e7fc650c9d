"""atheris (libFuzzer) harness for the alert parser: any input either parses or raises
InvalidAlertError. Run by tests/test_hostile_input.py with a bounded number of runs."""

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from shared.core.alerts import InvalidAlertError, parse_alert_body


def test_one_input(data: bytes) -> None:
    """One fuzz case: every outcome but InvalidAlertError is a finding."""
    with contextlib.suppress(InvalidAlertError):
        parse_alert_body(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
