"""Classifiers registered by id, and the modality check that guards them.

A :class:`ClassifierRegistry` is an ordinary object the caller creates (there is no module-level
registry to leak between tests). Ids map to saved classifier directories, loaded on first use
(once, thread-safely), or to classifier objects registered in code::

    registry = ClassifierRegistry({"toxicity": "models/toxicity"})
    registry.register("nsfw", "models/nsfw")
    registry.predict("toxicity", ["you are awful"], top_k=2)

    registry = registry_from_env()   # GUARDRAILS_CLASSIFIERS="toxicity=models/toxicity,nsfw=..."

What counts as an image (:func:`input_modality`): ``bytes`` / ``bytearray`` / ``memoryview``,
a :class:`pathlib.Path`, a PIL image, or a ``str`` that names an existing file with an image
extension (``.jpg .jpeg .png .gif .bmp .webp .tif .tiff``). Any other ``str`` is text. Giving an
image to a text classifier, or text to an image classifier, raises :class:`InputError`.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrails.embedders.base import Modality
from guardrails.errors import InputError, ModelLoadError

if TYPE_CHECKING:
    from guardrails.classifiers.base import Classifier, Prediction

__all__ = [
    "ENV_VAR",
    "IMAGE_SUFFIXES",
    "ClassifierRegistry",
    "check_modality",
    "input_modality",
    "parse_classifier_spec",
    "registry_from_env",
]

ENV_VAR = "GUARDRAILS_CLASSIFIERS"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
AUDIO_SUFFIXES = frozenset({".wav", ".mp3", ".flac", ".ogg", ".m4a"})


def parse_classifier_spec(spec: str) -> dict[str, str]:
    """``"toxicity=models/toxicity, nsfw=models/nsfw"`` -> ``{id: path}``; ModelLoadError for a
    malformed entry or a repeated id."""
    entries: dict[str, str] = {}
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, path = (part.strip() for part in entry.partition("="))
        if not sep or not name or not path:
            raise ModelLoadError(f"{ENV_VAR}: expected id=path, got {entry!r}")
        if name in entries:
            raise ModelLoadError(f"{ENV_VAR}: id {name!r} is given twice")
        entries[name] = path
    return entries


def input_modality(item: Any) -> Modality:
    """The modality of one input, as defined in the module docstring."""
    if isinstance(item, bytes | bytearray | memoryview):
        return Modality.IMAGE
    if isinstance(item, Path):
        return Modality.AUDIO if item.suffix.lower() in AUDIO_SUFFIXES else Modality.IMAGE
    if isinstance(item, str):
        suffix = os.path.splitext(item)[1].lower() if len(item) < 4096 else ""
        if suffix in IMAGE_SUFFIXES and "\n" not in item and os.path.isfile(item):
            return Modality.IMAGE
        return Modality.TEXT
    pil = sys.modules.get("PIL.Image")  # a PIL image exists only if PIL was imported
    if pil is not None and isinstance(item, pil.Image):
        return Modality.IMAGE
    raise InputError(f"cannot moderate a {type(item).__name__}: give text (str) or an image")


def check_modality(classifier: Classifier, inputs: Sequence[Any], name: str = "") -> None:
    """Raise InputError if any input is not of the classifier's modality."""
    expected = classifier.modality
    for position, item in enumerate(inputs):
        found = input_modality(item)
        if found is not expected:
            what = f"classifier '{name}'" if name else "this classifier"
            raise InputError(
                f"input {position} is {found.value} but {what} classifies {expected.value} "
                f"(trained with {classifier.embedder_config.to_dict()})"
            )


class ClassifierRegistry:
    """Classifiers by id: directories loaded lazily, or objects registered in code."""

    def __init__(self, entries: Mapping[str, str | Path | Classifier] | None = None) -> None:
        self._entries: dict[str, Path | Classifier] = {}
        self._loaded: dict[str, Classifier] = {}
        self._lock = threading.Lock()
        for name, target in (entries or {}).items():
            self.register(name, target)

    def __repr__(self) -> str:
        return f"ClassifierRegistry({sorted(self._entries)})"

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def ids(self) -> list[str]:
        return sorted(self._entries)

    def register(
        self, name: str, target: str | Path | Classifier, *, replace: bool = False
    ) -> None:
        """Add ``name`` for a saved directory (loaded on first :meth:`get`) or a classifier."""
        if not name or "=" in name or "," in name:
            raise ValueError(f"invalid classifier id {name!r}")
        with self._lock:
            if name in self._entries and not replace:
                raise ValueError(f"classifier id {name!r} is already registered")
            self._entries[name] = Path(target) if isinstance(target, str | Path) else target
            self._loaded.pop(name, None)

    def get(self, name: str) -> Classifier:
        """The classifier registered as ``name`` (ModelLoadError if unknown or unloadable)."""
        loaded = self._loaded.get(name)
        if loaded is not None:
            return loaded
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            if name not in self._entries:
                known = ", ".join(sorted(self._entries)) or "none"
                raise ModelLoadError(f"no classifier registered as {name!r} (registered: {known})")
            target = self._entries[name]
            if isinstance(target, Path):
                from guardrails.classifiers import load_classifier

                target = load_classifier(target)
            self._loaded[name] = target
            return target

    def predict(self, name: str, inputs: Iterable[Any], top_k: int = 1) -> list[Prediction]:
        """Top-``k`` predictions of classifier ``name``, after checking the inputs' modality."""
        items = list(inputs)
        classifier = self.get(name)
        check_modality(classifier, items, name)
        return classifier.predict(items, top_k=top_k)


def registry_from_env(environ: Mapping[str, str] | None = None) -> ClassifierRegistry:
    """A new registry holding the ids of ``GUARDRAILS_CLASSIFIERS`` (nothing is loaded yet)."""
    env = os.environ if environ is None else environ
    return ClassifierRegistry(parse_classifier_spec(env.get(ENV_VAR, "")))
