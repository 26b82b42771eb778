"""iproute2's JSON output (lib/json_writer.c, lib/json_print.c), for ``ip -json [-pretty]``.

iproute2 streams its JSON with a small writer that puts a comma before every element but the
first of an object or array and, when pretty, a new line and four spaces a level before every
member's name, never before an array's values; an array opens as ``[ `` and closes as `` ]``
(``[ ]`` when empty).  ``json_dumps`` writes a value built of dicts, lists, strings, integers,
booleans and None (``print_null``: a member that is there without a value) the same way.
"""

from __future__ import annotations

from typing import Any

__all__ = ["JsonValue", "json_dumps"]

JsonValue = Any  # dict[str, JsonValue] | list[JsonValue] | str | int | bool | None

# jsonw_puts: the characters it escapes, as it escapes them
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f", "\b": "\\b", "\\": "\\\\", '"': '\\"'}


class _JsonWriter:
    """``struct json_writer``: the output so far, the depth, and the separator owed before the
    next element (a comma once an element was written at this depth, nothing at its start)."""

    def __init__(self, pretty: bool) -> None:
        self.out: list[str] = []
        self.depth = 0
        self.pretty = pretty
        self.sep = ""

    def eol(self) -> None:
        """``jsonw_eol``: a new line and the indentation, when pretty."""
        if self.pretty:
            self.out.append("\n" + "    " * self.depth)

    def eor(self) -> None:
        """``jsonw_eor``: the separator owed, then a comma owed for the next element."""
        self.out.append(self.sep)
        self.sep = ","

    def begin(self, c: str) -> None:
        """``jsonw_begin``: an object or array opens, one level deeper."""
        self.eor()
        self.out.append(c)
        self.depth += 1
        self.sep = ""

    def end(self, c: str) -> None:
        """``jsonw_end``: it closes, on a line of its own when it had elements (and was pretty)."""
        self.depth -= 1
        if self.sep:
            self.eol()
        self.out.append(c)
        self.sep = ","

    def name(self, name: str) -> None:
        """``jsonw_name``: a member's name, on a line of its own when pretty."""
        self.eor()
        self.eol()
        self.sep = ""
        self.out.append(_quote(name) + (": " if self.pretty else ":"))

    def value(self, value: JsonValue) -> None:
        if isinstance(value, dict):
            self.begin("{")
            for key, member in value.items():
                self.name(key)
                self.value(member)
            self.end("}")
        elif isinstance(value, list):
            self.begin("[")  # jsonw_start_array
            if self.pretty:
                self.out.append(" ")
            for element in value:
                self.value(element)
            if self.pretty and self.sep:  # jsonw_end_array
                self.out.append(" ")
            self.sep = ""
            self.end("]")
        else:
            self.eor()
            self.out.append(_scalar(value))


def _quote(text: str) -> str:
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


def _scalar(value: JsonValue) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _quote(str(value))


def json_dumps(value: JsonValue, pretty: bool = False) -> str:
    """``value`` as iproute2 prints it (``new_json_obj`` ... ``delete_json_obj``), the new line
    ``jsonw_destroy`` ends with included."""
    writer = _JsonWriter(pretty)
    writer.value(value)
    return "".join(writer.out) + "\n"
