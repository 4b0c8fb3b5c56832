"""``netviz features``: the layer list, the PNG's rows, the JSON, and one-line errors (run in-process)."""

from __future__ import annotations

import json

from PIL import Image

from netviz_core.cli import main


def test_list_layers_prints_readable_names_with_shapes(capsys):
    assert main(["features", "--list-layers"]) == 0
    out = capsys.readouterr().out
    assert "  blocks.3 · 80 ch · 14×14" in out and "  logits · 1000 classes" in out
    assert main(["features", "--list-layers", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["model"] == "tf_efficientnet_lite0"
    assert {"name": "blocks.5", "channels": 192, "height": 7, "width": 7, "feature_map": True}.items() <= \
        next(i for i in d["layers"] if i["name"] == "blocks.5").items()


def test_every_view_is_one_row_of_the_png(tmp_path, capsys, assets):
    out = tmp_path / "sheet.png"
    rc = main(["features", "--layer", "blocks.3", "--channel", "34", "--diversity", "2", "--neuron",
               "--accentuate", str(assets / "chelsea.png"), "--examples", str(assets), "--top", "2",
               "--iterations", "2", "--size", "64", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    d = json.loads(captured.out)
    assert d["layer_label"] == "blocks.3 · 80 ch · 14×14"
    assert d["visualization"]["settings"]["diversity"] == 2 and d["visualization"]["settings"]["iterations"] == 2
    assert len(d["visualization"]["images"]) == 2 and d["neuron"]["settings"]["objective"] == "neuron"
    assert "photo_activation" in d["accentuation"][0]["images"][0]
    assert [e["name"] for e in d["examples"]["34"]] and len(d["examples"]["34"]) == 2
    # rows: facets, neuron, photo + accentuation, examples; the widest has 2 pictures of 64 px
    assert Image.open(out).size == (2 * 64 + 4, 4 * 64 + 3 * 4)


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    out = str(tmp_path / "x.png")
    assert main(["features", "--layer", "block.3", "--channel", "1", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Unknown layer 'block.3'. Closest: blocks.3" in err
    assert main(["features", "--layer", "blocks.3", "--channel", "80", "--out", out]) == 2
    assert "out of range for layer 'blocks.3' (80 channels × 14×14 positions)" in capsys.readouterr().err
    assert main(["features", "--layer", "global_pool", "--channel", "0", "--out", out]) == 2
    assert "not a feature map" in capsys.readouterr().err
    assert main(["features", "--layer", "blocks.3", "--out", out]) == 2
    assert "--channel" in capsys.readouterr().err
