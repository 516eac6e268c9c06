"""Whether a text speaks the site's one language: a sentence here is three words of one
alphabet in a row, so the names of files, settings and commands (`import_1c`,
`ONEC_DATA_DIR`, `goods/import_files`), GUIDs and CommerceML tags (<Картинка>) are not
sentences; names that are plain words (the import types `catalog`, `prices`) are passed as
`names`."""
from __future__ import annotations

import re
from collections.abc import Iterable

SENTENCE = {
    "ru": re.compile(r"\b[A-Za-z]+(?:[ ,]+[A-Za-z]+){2,}\b"),  # English words, in a Russian text
    "en": re.compile(r"[А-Яа-яЁё]+(?:[ ,]+[А-Яа-яЁё]+){2,}"),  # Russian words, in an English text
}


def other_language_sentences(text: str, language: str, *, names: Iterable[str] = ()) -> list[str]:
    if names := sorted(names, key=len, reverse=True):
        text = re.sub(r"\b(?:%s)\b" % "|".join(map(re.escape, names)), "·", text)
    return SENTENCE[language].findall(text)
