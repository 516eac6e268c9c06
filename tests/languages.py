"""Whether a text speaks the site's one language: a sentence here is three words of one
alphabet in a row, so the names of files, settings and commands (`import_1c`,
`ONEC_DATA_DIR`, `goods/import_files`), GUIDs and CommerceML tags (<Картинка>) are not
sentences."""
import re

SENTENCE = {
    "ru": re.compile(r"\b[A-Za-z]+(?:[ ,]+[A-Za-z]+){2,}\b"),  # English words, in a Russian text
    "en": re.compile(r"[А-Яа-яЁё]+(?:[ ,]+[А-Яа-яЁё]+){2,}"),  # Russian words, in an English text
}


def other_language_sentences(text: str, language: str) -> list[str]:
    return SENTENCE[language].findall(text)
