"""A setting is one field: added to a settings class in this test, it is a CLI flag, a URL parameter and a
widget on the page, with its declared range, label and help, and it reaches the run's settings, without an
edit anywhere else."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import netviz_core.classvis as classvis
from netviz_core.classvis import ClassVisSettings
from netviz_core.settings import setting

from .conftest import TIMEOUT, assert_ok, open_app

PAGE = "app_pages/3_class_visualization.py"


@dataclass(frozen=True)
class WithWarmth(ClassVisSettings):
    warmth: float = setting(0.25, label="Warmth", symbol="ω", unit="°", lo=0.0, hi=1.0, step=0.05, aliases=("heat",),
                            help="A setting a test added.")


@pytest.fixture
def warmth(monkeypatch):
    monkeypatch.setattr(classvis, "ClassVisSettings", WithWarmth)


def test_a_new_field_is_a_flag_with_its_range_and_help(warmth):
    from netviz_core.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices["classvis"]
    text = " ".join(sub.format_help().split())
    assert "--warmth" in text and "A setting a test added. [a finite number from 0 to 1 (°)]" in text
    args = sub.parse_args(["-t", "1", "-o", "x.png", "--warmth", "0.5"])
    assert args.warmth == 0.5


def test_a_new_field_is_a_url_parameter_and_a_widget_that_reaches_the_settings(warmth):
    at = open_app(PAGE, {"heat": "0.5", "iterations": "1"})  # under its older name too
    assert_ok(at)
    slider = at.slider(key="cv.warmth")
    assert (slider.value, slider.label, slider.help) == (0.5, "ω (Warmth) [°]", "A setting a test added.")
    assert (slider.min, slider.max) == (0.0, 1.0)
    assert at.query_params["warmth"] in ("0.5", ["0.5"])
    slider.set_value(0.75).run(timeout=TIMEOUT)
    assert_ok(at)
    at.button(key="cv.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    run = at.session_state["cv.live.run"]  # the run on screen (netviz_app.live)
    assert type(run.job.settings) is WithWarmth and run.job.settings.warmth == 0.75
