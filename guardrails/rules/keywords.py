"""Keyword lists matched in one pass with an Aho-Corasick automaton (pyahocorasick).

Both the terms and the text are folded (:mod:`guardrails.rules.folding`), so ``h@te``,
``ＨＡＴＥ`` and ``ha\u200bte`` match ``hate``, and ``ignore__all previous`` matches
``ignore all previous``. In ``word`` mode a match must not be glued to a letter or digit on a
side where the term itself starts or ends with one, so ``Scunthorpe`` does not match a
four-letter term inside it. Cost is linear in the text, whatever the list size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import ClassVar

import ahocorasick

from guardrails.policy.schema import LocatedValueError
from guardrails.policy.steps import KeywordsStep
from guardrails.rules.base import CheckContext, Detection
from guardrails.rules.folding import fold, folded_to_original, map_span

__all__ = ["KeywordCheck", "read_terms"]


def _glued_before(text: str, folded_start: int, mapping: list[int] | None) -> bool:
    """Whether the character that folded to the one before ``folded_start`` is alphanumeric."""
    if folded_start == 0:
        return False
    index = folded_start - 1 if mapping is None else mapping[folded_start - 1]
    return text[index].isalnum()


def read_terms(path: Path) -> list[str]:
    """Terms from a file: one a line, blank lines and ``#`` comments skipped."""
    text = path.read_text(encoding="utf-8")
    return [t for line in text.splitlines() if (t := line.split("#", 1)[0].strip())]


class KeywordCheck:
    kind: ClassVar[str] = "keywords"

    def __init__(
        self, terms: Iterable[tuple[str, str]], match: str = "word", confusables: bool = True
    ) -> None:
        """``terms`` are ``(label, term)`` pairs."""
        self.word_mode = match == "word"
        self.confusables = confusables
        entries: dict[str, list[tuple[str, str]]] = {}
        for label, term in terms:
            key = fold(term.strip(), confusables).strip(" ")
            if key:
                entries.setdefault(key, []).append((label, term.strip()))
        if not entries:
            raise ValueError("the keyword list is empty after folding")
        self.size = len(entries)
        self._automaton = ahocorasick.Automaton()
        for key, owners in entries.items():
            edges = (key[0].isalnum(), key[-1].isalnum())
            self._automaton.add_word(key, (len(key), edges, tuple(dict.fromkeys(owners))))
        self._automaton.make_automaton()

    @classmethod
    def from_config(cls, config: KeywordsStep, base_dir: Path) -> KeywordCheck:
        terms: list[tuple[str, str]] = []
        if isinstance(config.words, dict):
            terms += [(label, w) for label, words in config.words.items() for w in words]
        else:
            terms += [(config.label, w) for w in config.words]
        if config.words_file:
            path = Path(config.words_file)
            path = path if path.is_absolute() else base_dir / path
            try:
                terms += [(config.label, w) for w in read_terms(path)]
            except (OSError, UnicodeDecodeError) as exc:
                raise LocatedValueError(
                    f"cannot read words_file {path}: {exc}", ("words_file",)
                ) from None
        try:
            return cls(terms, match=config.match, confusables=config.fold)
        except ValueError as exc:
            raise LocatedValueError(str(exc), ("words",)) from None

    def scan(self, text: str, context: CheckContext) -> Sequence[Detection]:
        folded = fold(text, self.confusables)
        found: list[Detection] = []
        mapping: list[int] | None = None
        mapped = False
        for end_index, (length, (left_edge, right_edge), owners) in self._automaton.iter(folded):
            if not mapped:
                mapping, mapped = folded_to_original(text, self.confusables, folded), True
            folded_start = end_index - length + 1
            start, end = map_span((folded_start, end_index + 1), mapping)
            # Word boundaries are judged on the text as written: "h@te!" is a word, "Scunthorpe"
            # does not contain one. The neighbour is the nearest character folding kept, so
            # "hate\u0301s" and "s\u200bhate" are glued like "hates" and "shate".
            if self.word_mode and (
                (left_edge and _glued_before(text, folded_start, mapping))
                or (right_edge and end < len(text) and text[end].isalnum())
            ):
                continue
            for label, term in owners:
                found.append(Detection._trusted(label, (start, end), f"matched {term!r}"))
        return found
