"""The Atlas page opens a small atlas and a sweep made in tmp_path, and links an image to Class Visualization."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from netviz_app.atlas_view import classvis_query, read_job, transfer_table
from netviz_core.atlas import LocalExecutor, atlas_spec, run_job, sweep_spec
from netviz_core.atlas.sheet import write_sweep_outputs

from .conftest import assert_ok, open_app

PAGE = "app_pages/7_atlas.py"
BACKBONES = ["tf_efficientnet_lite0", "tf_efficientnet_lite1"]


@pytest.fixture(scope="module")
def small_atlas(tmp_path_factory):
    directory = tmp_path_factory.mktemp("atlas") / "a"
    spec = atlas_spec("1,76,130", BACKBONES, "lucid", iterations=1, gif=True)
    run_job(spec, directory, LocalExecutor(threads=1), batch_size=3)
    return directory


def test_the_page_shows_every_class_with_the_backbones_side_by_side(small_atlas):
    at = open_app(PAGE, {"atlas_dir": str(small_atlas)})
    assert_ok(at)
    captions = [c.value for c in at.caption]
    assert any("atlas" in c and "6 images" in c and "tf_efficientnet_lite1" in c for c in captions)
    markdown = " ".join(m.value for m in at.markdown)
    assert "**1** goldfish" in markdown and "**76** tarantula" in markdown and "**130** flamingo" in markdown
    assert len(at.main.image) == 6  # 3 classes x 2 backbones, read from disk


def test_search_and_large_view_with_its_link_to_class_visualization(small_atlas):
    at = open_app(PAGE, {"atlas_dir": str(small_atlas), "search": "taran", "view": "76"})
    assert_ok(at)
    assert "76 tarantula" in [h.value for h in at.subheader]
    markdown = " ".join(m.value for m in at.markdown)
    assert "**76** tarantula" in markdown and "goldfish" not in markdown
    links = [b for b in at.get("link_button")]
    assert len(links) == 2
    url = urlparse(links[0].proto.url)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "class_visualization"
    assert query["target"] == "76" and query["model"] == "tf_efficientnet_lite0" and query["iterations"] == "1"
    assert query["preset"] == "custom"  # 1 iteration is not the lucid preset's 256


def test_the_link_opens_class_visualization_with_the_same_settings(small_atlas):
    job = read_job(small_atlas)
    row = job.by_class[130]["tf_efficientnet_lite1"]
    at = open_app("app_pages/3_class_visualization.py", classvis_query(row))
    assert_ok(at)
    for name in ("iterations", "lr", "tv_weight", "parametrization", "optimizer", "seed"):
        assert at.session_state[f"cv.{name}"] == row["settings"][name], name
    assert at.session_state["cv.target"] == 130 and at.session_state["sidebar.model"] == "tf_efficientnet_lite1"


def test_transfer_table_reads_the_ranks_of_every_pair(small_atlas):
    table = transfer_table(read_job(small_atlas))
    assert {(t["made on"], t["ranked by"]) for t in table} == {(a, b) for a in BACKBONES for b in BACKBONES}
    assert all(t["images"] == 3 for t in table)


def test_a_sweep_directory_shows_its_contact_sheet_and_table(tmp_path):
    spec = sweep_spec("1", "tf_efficientnet_lite0", {"lr": [0.02, 0.1]}, iterations=1, held_out=())
    run_job(spec, tmp_path / "s", LocalExecutor(threads=1), batch_size=1)
    write_sweep_outputs(spec, tmp_path / "s")
    at = open_app(PAGE, {"atlas_dir": str(tmp_path / "s")})
    assert_ok(at)
    assert len(at.main.image) == 1 and len(at.dataframe) == 1
    assert len(at.dataframe[0].value) == 2


def test_an_empty_or_foreign_directory_is_a_message_not_a_crash(tmp_path):
    at = open_app(PAGE, {"atlas_dir": str(tmp_path / "nothing")})
    assert_ok(at)
    assert any("No atlas in" in i.value for i in at.info)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "manifest.json").write_text("[1, 2]")
    at = open_app(PAGE, {"atlas_dir": str(tmp_path / "x")})
    assert_ok(at)
    assert any("not the manifest of a NetViz atlas" in e.value for e in at.error)


def fake_atlas(directory, classes, backbones):
    """An atlas directory written through the store with small plain PNGs: the page only reads files."""
    from PIL import Image

    from netviz_core.atlas.render import Rendered, encode_png
    from netviz_core.atlas.spec import Item
    from netviz_core.atlas.store import JobDir, png_path
    from netviz_core.classes import short_name

    spec = atlas_spec(",".join(map(str, classes)), backbones, iterations=1)
    store = JobDir(directory)
    store.open_for(spec)
    for b in backbones:
        for c in classes:
            meta = {"kind": "atlas", "backbone": b, "variant": "", "variant_values": {}, "class": c,
                    "name": short_name(c), "png": png_path(Item(b, "", c)), "gif": None, "seed": 0,
                    "settings": dict(spec.settings.to_dict(), targets=[c], model=b), "probability": 0.5, "rank": 1,
                    "ranks": {m: 1 + (m != b) for m in backbones}, "torch_threads": 1}
            store.write(Rendered(c, encode_png(Image.new("RGB", (16, 16), (c, 0, 0)), meta), None, meta, {}), {})


def test_many_classes_are_paged_and_the_search_narrows_them(tmp_path):
    fake_atlas(tmp_path / "a", range(30), BACKBONES)
    at = open_app(PAGE, {"atlas_dir": str(tmp_path / "a"), "page": "2"})
    assert_ok(at)
    assert len(at.main.image) == 12  # 24 classes a page: page 2 holds classes 24-29, two backbones each
    markdown = " ".join(m.value for m in at.markdown)
    assert "**24** " in markdown and "**29** " in markdown and "**23** " not in markdown
    # page 3 of a search with one page of results shows that page
    at = open_app(PAGE, {"atlas_dir": str(tmp_path / "a"), "page": "3", "search": "shark"})
    assert_ok(at)
    markdown = " ".join(m.value for m in at.markdown)
    assert "**2** great white shark" in markdown and "**3** tiger shark" in markdown and "**1** " not in markdown
