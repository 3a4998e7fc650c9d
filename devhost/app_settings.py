"""App settings as the host reads them, and `%SETTING%` references in trigger metadata."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_SETTING = re.compile(r"%([^%]*)%")


class SettingError(ValueError):
    """A `%SETTING%` reference names an unset setting with no default, or is not closed."""


@dataclass(frozen=True)
class AppSettings:
    """The environment the functions run in, with local defaults standing in for blank settings."""

    environ: Mapping[str, str]
    defaults: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, text: str) -> str:
        """`text` with each `%NAME%` replaced; SettingError names an unset setting."""
        return resolve_settings(text, self.environ, self.defaults)

    def describe_sources(self, text: str) -> str:
        """Where `text`'s settings came from, e.g. " (from app setting S)"; "" for none."""
        names = _SETTING.findall(text)
        if not names:
            return ""
        sources = [
            f"app setting {name}"
            if self.environ.get(name, "").strip()
            else f"the default for {name}"
            for name in names
        ]
        return f" (from {', '.join(sources)})"


def resolve_settings(text: str, environ: Mapping[str, str], defaults: Mapping[str, str]) -> str:
    """Replace each `%NAME%` in `text` by that setting, or its default when it is blank."""

    def value_of(found: re.Match[str]) -> str:
        name = found.group(1)
        value = environ.get(name, "").strip() or defaults.get(name, "").strip()
        if not value:
            raise SettingError(f"app setting {name} is not set and has no default")
        return value

    if text.count("%") % 2:
        raise SettingError(f"{text!r} has a '%' without its closing '%'")
    return _SETTING.sub(value_of, text)
