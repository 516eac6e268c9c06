"""A stored message: its English text (the catalogue's msgid, marked where it is written
with `gettext_noop`) and the values of its `%(name)s` placeholders.

    Message(gettext_noop("%(path)s: the file is empty (0 bytes)"), path=path)

`str()` is the English text (logs, exception messages: an exception raised with a Message
keeps it, `message_of`); `translated()` is the text in the active language; `as_json()` / `message_text()` store it and show it again. A parameter may
itself be a message: it is translated with the text around it.
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable

from django.utils.translation import gettext, override


class Message:
    __slots__ = ("text", "params")

    def __init__(self, text: str, /, **params: Any):
        self.text = text
        self.params = params

    def __str__(self) -> str:
        return self._render(lambda text: text)

    def __repr__(self) -> str:
        return f"Message({self.text!r}, **{self.params!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Message) and (self.text, self.params) == (other.text, other.params)

    def translated(self) -> str:
        return self._render(gettext)

    def as_json(self) -> dict:
        return {
            "message": self.text,
            "params": {
                name: value.as_json() if isinstance(value, Message) else value for name, value in self.params.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        return cls(
            data["message"],
            **{name: cls.from_json(value) if is_stored_message(value) else value for name, value in data["params"].items()},
        )

    def _render(self, translate) -> str:
        values = {
            name: value._render(translate) if isinstance(value, Message) else value for name, value in self.params.items()
        }
        return translate(self.text) % values if values else translate(self.text)


@runtime_checkable
class TextWithParams(Protocol):
    """What a message of plain Python code is made of: the CommerceML reader's ReaderMessage
    (the reader cannot import Django, and apps.media may not depend on the reader, so this
    module names no class of it)."""

    text: str
    params: Mapping[str, Any]


def as_message(message: TextWithParams) -> Message:
    """A message of plain Python code as a Message: the same English source and parameters
    (messages among them converted too), to store and translate."""
    if isinstance(message, Message):
        return message
    return Message(
        message.text,
        **{name: as_message(value) if isinstance(value, TextWithParams) else value for name, value in message.params.items()},
    )


def label_message(label) -> Message:
    """A lazy label (a choice's, a spec's: `gettext_lazy("Pending")`) as a Message, to store
    inside another message and show in the language of the moment."""
    with override(None):  # no catalogue: the English source text
        return Message(str(label))


def message_of(exc: BaseException) -> Message | str:
    """What an exception says, as a Message when it was raised with one (`raise
    SomeError(Message(...))`: its str() is then the English text, and it survives pickling,
    e.g. in a Prefect run's result) or with a TextWithParams (the CommerceML reader's), else
    its text."""
    said = exc.args[0] if len(exc.args) == 1 else None
    return as_message(said) if isinstance(said, TextWithParams) else str(exc)


def error_message(exc: BaseException) -> Message | str:
    """What went wrong, for a person: the exception's message when it was raised with one
    (it says what to do), else its type and text."""
    said = message_of(exc)
    return said if isinstance(said, Message) else f"{type(exc).__name__}: {exc}"


def is_stored_message(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"message", "params"}


def message_text(value: Any) -> str:
    """A stored message in the active language; anything else (a text stored before messages
    were kept this way, a number) as it is."""
    if isinstance(value, Message):
        return value.translated()
    if is_stored_message(value):
        return Message.from_json(value).translated()
    return "" if value is None else str(value)
