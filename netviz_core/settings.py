"""What every technique's settings dataclass shares: JSON in and out, overrides, one error class each.

A technique's settings are a frozen dataclass that validates itself in
``__post_init__`` and mixes in ``JsonSettings`` with the technique's error class and
its name for messages::

    @dataclass(frozen=True)
    class FoolingSettings(JsonSettings):
        error: ClassVar[type[NetVizError]] = FoolingError
        what: ClassVar[str] = "fooling settings"
        iterations: int = 100
        ...

Then ``to_json``/``from_json`` reproduce a run, and ``with_overrides`` applies keyword
overrides with a clear message for a name that is not a setting.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, fields, replace
from typing import Any, ClassVar, TypeVar

from .errors import NetVizError

S = TypeVar("S", bound="JsonSettings")


class JsonSettings:
    """JSON round trip and keyword overrides for a frozen, self-validating settings dataclass."""

    error: ClassVar[type[NetVizError]] = NetVizError
    what: ClassVar[str] = "settings"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def check_names(cls, names) -> None:
        """Raise ``cls.error`` naming every one of ``names`` that is not a setting."""
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(names) - known)
        if unknown:
            raise cls.error(f"Unknown {cls.what}: {', '.join(unknown)} (known: {', '.join(sorted(known))}).")

    @classmethod
    def from_dict(cls: type[S], d: dict) -> S:
        if not isinstance(d, dict):
            raise cls.error(f"{cls.what.capitalize()} must be a JSON object, got {type(d).__name__}.")
        cls.check_names(d)
        return cls(**d)

    @classmethod
    def from_json(cls: type[S], text: str) -> S:
        try:
            d = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise cls.error(f"{cls.what.capitalize()} are not valid JSON: {exc}") from None
        return cls.from_dict(d)

    def with_overrides(self: S, **overrides: Any) -> S:
        """A copy with ``overrides`` applied (and validated again); an unknown name is an error."""
        if not overrides:
            return self
        self.check_names(overrides)
        return replace(self, **overrides)  # type: ignore[type-var]


def is_whole_number(v) -> bool:
    """An int that is not a bool (``True`` is an int to Python, never a count to a user)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_finite_number(v) -> bool:
    """An int or float (not a bool) that is neither infinite nor NaN."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
