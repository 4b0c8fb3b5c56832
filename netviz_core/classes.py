"""ImageNet class names and look-up by index or by name fragment.

Names come from ``timm.data.ImageNetInfo`` which ships with timm, so they are
available offline.  A model with another number of classes (a user's fine-tuned
checkpoint) gets ``class 0`` ... ``class N-1``.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from .errors import ClassLookupError


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, index order (e.g. 76 -> 'tarantula')."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return tuple(info.index_to_description(i) for i in range(info.num_classes()))


def class_names_for(num_classes: int) -> tuple[str, ...]:
    """Readable names for a classifier with ``num_classes`` outputs."""
    if num_classes == 1000:
        return imagenet_class_names()
    return tuple(f"class {i}" for i in range(num_classes))


def _normalise(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def find_classes(query: str, class_names: tuple[str, ...] | None = None, limit: int = 20) -> list[int]:
    """All class indices whose name contains ``query`` (case- and separator-insensitive).

    Whole-word matches of one synonym (``"cup"`` matches ``cup`` before ``cupboard``)
    come first, then other substring matches, each group in index order.
    """
    names = class_names if class_names is not None else imagenet_class_names()
    q = _normalise(query)
    if not q:
        return []
    exact, word, substring = [], [], []
    for i, name in enumerate(names):
        synonyms = [_normalise(s) for s in name.split(",")]
        if q in synonyms:
            exact.append(i)
        elif any(re.search(rf"\b{re.escape(q)}\b", s) for s in synonyms):
            word.append(i)
        elif q in _normalise(name):
            substring.append(i)
    return (exact + word + substring)[:limit]


def resolve_class(query: int | str, class_names: tuple[str, ...] | None = None) -> int:
    """Class index from an index (int or digit string) or a name fragment.

    ``"tarantula"`` -> 76, ``"76"`` -> 76.  A fragment that matches several classes
    resolves to the best match when one synonym equals it exactly or it is unique;
    otherwise the error lists the candidates so the user can pick one.
    """
    names = class_names if class_names is not None else imagenet_class_names()
    n = len(names)
    if isinstance(query, bool):
        raise ClassLookupError(f"Class must be an index or a name, not {query!r}.")
    if isinstance(query, int) or (isinstance(query, str) and re.fullmatch(r"\s*-?\d+\s*", query)):
        index = int(query)
        if not 0 <= index < n:
            raise ClassLookupError(f"Class index {index} is out of range: this model has classes 0 to {n - 1}.")
        return index
    if not isinstance(query, str):
        raise ClassLookupError(f"Class must be an index or a name, not {type(query).__name__}.")
    matches = find_classes(query, names, limit=n)
    if not matches:
        close = difflib.get_close_matches(_normalise(query), [_normalise(s) for s in names], n=3, cutoff=0.6)
        hint = f" Did you mean: {'; '.join(close)}?" if close else ""
        raise ClassLookupError(f"No class name contains {query!r}.{hint}")
    q = _normalise(query)
    first = matches[0]
    first_is_exact = q in [_normalise(s) for s in names[first].split(",")]
    if len(matches) == 1 or first_is_exact:
        return first
    shown = ", ".join(f"{i} ({names[i].split(',')[0]})" for i in matches[:8])
    more = f" and {len(matches) - 8} more" if len(matches) > 8 else ""
    raise ClassLookupError(f"{query!r} matches {len(matches)} classes: {shown}{more}. Give the index or a longer name.")


def short_name(index: int, class_names: tuple[str, ...] | None = None) -> str:
    """First synonym of a class name: 'tabby, tabby cat' -> 'tabby'."""
    names = class_names if class_names is not None else imagenet_class_names()
    return names[index].split(",")[0].strip()
