"""Each setting is declared once: validation, the CLI's flags and the dashboard's URL parameters agree.

For every setting of every technique, the range the widget allows, the range the CLI
accepts and the range the validation accepts are the same, because all three are made
from the declaration; and outside the settings' own modules no front-end file names a
setting (tests/app/test_declared_settings.py adds a field and finds it everywhere).
"""

from __future__ import annotations

import argparse
import math
import re

import pytest

from conftest import ROOT
from netviz_core.classvis import ClassVisSettings
from netviz_core.fooling import FoolingSettings
from netviz_core.impressions import ImpressionSettings
from netviz_core.layer_explorer import FeatureVisSettings
from netviz_core.settings import declarations

#: subcommand -> (its settings class, the arguments it requires besides the setting)
COMMANDS = {
    "classvis": (ClassVisSettings, ["--target", "1", "--out", "x.png"]),
    "fool": (FoolingSettings, ["x.png", "--target", "1", "--out", "y.png"]),
    "impressions": (ImpressionSettings, ["--target", "1", "--out", "x.png"]),
    "features": (FeatureVisSettings, []),
}
CASES = [(command, name) for command, (cls, _) in COMMANDS.items() for name, d in declarations(cls).items() if d.cli]


def subparser(command: str) -> argparse.ArgumentParser:
    from netviz_core.cli import build_parser

    parser = build_parser()
    return parser._subparsers._group_actions[0].choices[command]


def beyond(d, v, direction: int):
    """A value just outside bound ``v`` of declaration ``d``."""
    if d.kind == "int":
        return v + direction
    return v + direction * max(abs(v) * 0.5, 1e-3)


@pytest.mark.parametrize("command, name", CASES, ids=[f"{c}-{n}" for c, n in CASES])
def test_widget_cli_and_validation_accept_the_same_values(command, name):
    pytest.importorskip("streamlit")
    from netviz_app.settings_ui import param

    cls, required = COMMANDS[command]
    d = declarations(cls)[name]
    p = subparser(command)
    flag = f"--{name.replace('_', '-')}"
    assert flag in p.format_help(), f"{flag} is not in `netviz {command} --help`"
    action = next(a for a in p._actions if a.dest == name)
    widget = param(d) if d.url else None
    if d.kind == "bool":
        assert action.nargs == 0 or isinstance(action, argparse.BooleanOptionalAction)
        assert widget is None or widget.kind == "bool"
        return
    if d.kind == "choice":
        assert tuple(action.choices) == tuple(d.choices)
        assert widget is None or tuple(widget.choices) == tuple(d.choices)
        for c in d.choices:
            assert d.problem(c) is None
        assert d.problem("no-such-choice") and name in d.problem("no-such-choice")
        return
    lo, hi = d.bounds
    assert lo is not None and hi is not None, f"{name} is shown and taken as a flag: give it a closed range"
    assert d.range_text() in " ".join(p.format_help().split()), f"{flag}'s help does not give its range"
    if widget is not None:  # the widget's range: its slider's ends, or its grid's
        ends = (min(widget.choices), max(widget.choices)) if widget.kind == "logfloat" else (widget.lo, widget.hi)
        assert ends == (lo, hi), (name, ends, (lo, hi))
        assert widget.parse(str(hi * 10 + 1)) == hi and widget.parse(str(lo)) == lo  # the URL is clamped to it
    for edge in (lo, hi):  # the CLI reads the ends as they are, and the validation accepts them
        args = p.parse_args([*required, flag, str(edge)])
        assert getattr(args, name) == edge and d.problem(edge) is None
    for outside in (beyond(d, lo, -1), beyond(d, hi, +1)):  # ... and refuses beyond them, naming the setting
        args = p.parse_args([*required, flag, str(outside)])
        with pytest.raises(cls.error, match=re.escape(d.words) + ".*" + re.escape(d.range_text())):
            cls(**{name: getattr(args, name)})


def test_every_bad_value_names_the_setting_and_its_range():
    for cls in (ClassVisSettings, FoolingSettings, ImpressionSettings, FeatureVisSettings):
        for name, d in declarations(cls).items():
            for bad in (float("nan"), "x", True) if d.kind in ("int", "float") else ("x",) if d.kind == "bool" else ():
                message = d.problem(bad)
                assert message and message.startswith(name) and d.range_text() in message, (name, message)
            assert d.help.strip(), f"{cls.__name__}.{name} has no help"


BANNED = ("blur_every", "tv_weight", "l2_weight", "jitter")


def test_no_front_end_file_names_a_setting():
    """The widgets, flags and URL parameters are made from the declarations: no page, no dashboard module and
    no CLI module names these settings (with underscores or as flags)."""
    files = [*(ROOT / "netviz_app").rglob("*.py"), *(ROOT / "app_pages").rglob("*.py"),
             *(ROOT / "netviz_core" / "cli").rglob("*.py")]
    assert len(files) > 10
    for path in files:
        text = path.read_text()
        for name in BANNED:
            for spelling in (name, name.replace("_", "-")):
                assert spelling not in text, f"{path.relative_to(ROOT)} names {spelling}"


def test_presets_are_data_the_readme_table_and_the_cli_read():
    from netviz_core.classvis import PRESETS

    readme = (ROOT / "README.md").read_text()
    assert PRESETS.markdown() in readme, "README's preset table differs from netviz_core/classvis/presets.py"
    p = subparser("classvis")
    action = next(a for a in p._actions if a.dest == "preset")
    assert tuple(action.choices) == tuple(PRESETS) and action.default == PRESETS.default
    for name in PRESETS:
        assert ClassVisSettings.from_preset(name).preset == name
        assert set(PRESETS.own[name]) <= set(PRESETS[name]) and all(
            PRESETS[name][k] == v for k, v in PRESETS.own[name].items())
    assert math.isclose(ClassVisSettings.from_preset("cs231n").lr, PRESETS["cs231n"]["lr"])


# --------------------------------------------------------------------------- docs/parameters.md

#: subcommand -> the docs/parameters.md section of its settings (the header names the class)
SECTIONS = {"classvis": "ClassVisSettings", "fool": "FoolingSettings", "impressions": "ImpressionSettings",
            "features": "FeatureVisSettings"}


def doc_section(cls_name: str) -> str:
    """The docs/parameters.md section whose header names ``cls_name``."""
    text = (ROOT / "docs" / "parameters.md").read_text()
    section = [s for s in re.split(r"^## ", text, flags=re.M) if f"`{cls_name}`" in s.splitlines()[0]]
    assert len(section) == 1, f"docs/parameters.md has no one section whose header names `{cls_name}`"
    return section[0]


def doc_rows(cls_name: str) -> list[dict[str, str]]:
    """The rows of the tables in the docs/parameters.md section whose header names ``cls_name``, by column."""
    rows, header = [], None
    for line in doc_section(cls_name).splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif not set(line) <= set("|-: "):
            assert len(cells) == len(header), f"docs/parameters.md, {cls_name}: a row of {len(cells)} cells: {line}"
            rows.append(dict(zip(header, cells)))
    return rows


def field_names(cell: str) -> set[str]:
    """The settings fields a row is about: its field cell's `code` before any remark in brackets."""
    return code_names(cell.split("(")[0])


def code_names(cell: str) -> set[str]:
    """The `code` spans of a table cell, split at commas and slashes (`--tv` / `--no-tv`, `--iterations`, `-n`)."""
    return {w.strip() for span in re.findall(r"`([^`]+)`", cell) for w in re.split(r"[,/]", span) if w.strip()}


@pytest.mark.parametrize("command", list(SECTIONS))
def test_parameters_doc_lists_every_setting_with_its_flag_and_url_name(command):
    """docs/parameters.md has a row per declared setting whose CLI flags are the parser's and whose URL name is
    the declaration's (with its old links); settings with neither are named in the section."""
    cls, _ = COMMANDS[command]
    rows = doc_rows(SECTIONS[command])
    shared = doc_rows("ClassVisSettings") if command == "features" else []  # "class visualization's, same names"
    section_text = doc_section(SECTIONS[command])
    p = subparser(command)
    for name, d in declarations(cls).items():
        mine = [r for r in rows if name in field_names(r.get("settings field", ""))]
        if not mine and shared and name in declarations(ClassVisSettings):
            mine = [r for r in shared if name in field_names(r.get("settings field", ""))]
        if not d.cli and not d.url:
            assert mine or f"`{name}`" in section_text, f"docs/parameters.md, {SECTIONS[command]}: no `{name}`"
            continue
        assert len(mine) == 1, f"docs/parameters.md, {SECTIONS[command]}: {len(mine)} rows for the field `{name}`"
        row = mine[0]
        flags = {s for a in p._actions if a.dest == name for s in a.option_strings}
        if d.cli:
            assert flags, f"`netviz {command}` has no flag for {name}"
            assert code_names(row["CLI flag"]) == flags, \
                f"docs/parameters.md, {SECTIONS[command]}, `{name}`: flags {row['CLI flag']}, the parser has {flags}"
        else:
            assert not flags and row["CLI flag"] == "-", f"docs/parameters.md: `{name}` has no CLI flag"
        if d.url:
            assert name in code_names(row["URL"]), f"docs/parameters.md, `{name}`: URL column {row['URL']}"
            for alias in d.aliases:
                assert f"`{alias}`" in row["notes"], f"docs/parameters.md, `{name}`: old link `{alias}` not listed"
        else:
            assert row["URL"] == "-", f"docs/parameters.md: `{name}` has no URL parameter, the row says {row['URL']}"


def test_parameters_doc_names_the_sweeps_axes_and_the_presets():
    from netviz_core.atlas.spec import SWEEP_AXES
    from netviz_core.classvis import PRESETS

    batch = (ROOT / "docs" / "parameters.md").read_text().split("## Batch jobs")[1].split("\n## ")[0]
    for name in SWEEP_AXES:
        assert f"`--{name.replace('_', '-')}`" in batch, f"docs/parameters.md, Batch jobs: the sweep axis {name}"
    preset_row = next(r for r in doc_rows("ClassVisSettings") if r["URL"] == "`preset`")
    assert code_names(preset_row["quantity"]) == set(PRESETS), f"docs/parameters.md: presets {preset_row['quantity']}"
