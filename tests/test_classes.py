"""netviz_core.classes: names, look-up by index and by fragment."""

import pytest

from netviz_core.classes import find_classes, imagenet_class_names, resolve_class, short_name
from netviz_core.errors import ClassLookupError


def test_imagenet_names_are_available_offline():
    names = imagenet_class_names()
    assert len(names) == 1000 and names[76] == "tarantula" and names[967] == "espresso"


@pytest.mark.parametrize("query, index", [("tarantula", 76), ("76", 76), (76, 76), ("Espresso", 967),
                                          ("tabby", 281), ("golden_retriever", 207), ("cup", 968)])
def test_resolve_class(query, index):
    assert resolve_class(query) == index


def test_ambiguous_fragment_lists_candidates():
    with pytest.raises(ClassLookupError, match=r"matches \d+ classes: .*terrier"):
        resolve_class("terrier")


@pytest.mark.parametrize("query, message", [(1000, "out of range"), (-1, "out of range"), ("zzqx", "No class name"),
                                            ("tarantla", "Did you mean: tarantula")])
def test_bad_class_queries(query, message):
    with pytest.raises(ClassLookupError, match=message):
        resolve_class(query)


def test_find_classes_puts_whole_words_first():
    assert find_classes("cup")[0] == 968
    assert short_name(281) == "tabby"
