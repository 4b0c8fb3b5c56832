"""netviz_core.settings.JsonSettings: the JSON round trip and overrides every technique's settings share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from netviz_core.errors import FoolingError, NetVizError
from netviz_core.settings import JsonSettings


class ToyError(NetVizError, ValueError):
    pass


@dataclass(frozen=True)
class Toy(JsonSettings):
    error: ClassVar[type[NetVizError]] = ToyError
    what: ClassVar[str] = "toy settings"

    steps: int = 3
    name: str = "a"

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ToyError(f"steps must be 0 or more, got {self.steps}.")


def test_round_trip_and_overrides_validate_again():
    t = Toy(steps=5)
    assert Toy.from_json(t.to_json()) == t and t.to_dict() == {"steps": 5, "name": "a"}
    assert t.with_overrides(name="b") == Toy(5, "b") and t.with_overrides() is t
    with pytest.raises(ToyError, match="steps must be 0 or more"):
        t.with_overrides(steps=-1)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: Toy.from_dict({"steps": 1, "stepz": 2}), r"Unknown toy settings: stepz \(known: name, steps\)"),
        (lambda: Toy.from_dict([1, 2]), "Toy settings must be a JSON object, got list"),
        (lambda: Toy.from_json("{steps"), "Toy settings are not valid JSON"),
        (lambda: Toy().with_overrides(max_iter=3), "Unknown toy settings: max_iter"),
    ],
)
def test_bad_json_and_unknown_names_raise_the_techniques_error(call, message):
    with pytest.raises(ToyError, match=message):
        call()


def test_fooling_settings_use_it():
    from netviz_core.fooling import FoolingSettings

    assert issubclass(FoolingSettings, JsonSettings) and FoolingSettings.error is FoolingError
    assert [f for f in FoolingSettings().to_dict()] == ["iterations", "lr", "linf", "step_size"]
