"""Reading a config file as TOML, with messages that name where a mistake is and how to fix it.

Analysts edit configs in text editors, word processors and web pages. So the messages name
the usual causes: a missing quote or bracket, a key set twice, curly quotes, a Windows path
in double quotes, and a file saved in another encoding.
"""

from __future__ import annotations

import ast
import difflib
import re
import tomllib
from pathlib import Path
from typing import Any

from leadq.errors import ConfigError

# tomllib of Python 3.11 ends each message with the position of the mistake. A message in
# another form is shown as it is.
_POSITION = re.compile(
    r"^(?P<reason>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$",
    re.DOTALL,
)

_QUOTE_FIX = "type it again as a straight quote (\" or ')"
# Characters that word processors and web pages put in place of plain quotes and spaces,
# with a description and the fix.
_LOOKALIKES: dict[str, tuple[str | None, str]] = {
    "\u201c": (None, _QUOTE_FIX),
    "\u201d": (None, _QUOTE_FIX),
    "\u201e": (None, _QUOTE_FIX),
    "\u2018": (None, _QUOTE_FIX),
    "\u2019": (None, _QUOTE_FIX),
    "\u00ab": (None, _QUOTE_FIX),
    "\u00bb": (None, _QUOTE_FIX),
    "\u00a0": ("a non-breaking space", "type it again as a plain space"),
    "\u202f": ("a narrow non-breaking space", "type it again as a plain space"),
    "\u200b": ("an invisible zero-width space", "delete it"),
    "\ufeff": ("an invisible byte order mark", "delete it"),
    "\u2013": ("an en dash", "type it again as a plain minus sign (-)"),
    "\u2212": ("a minus sign from a word processor", "type it again as a plain minus sign (-)"),
}

_CLOSING_QUOTE = "A closing quote is missing: text in quotes must end on the same line."
_BACKSLASH = (
    "In double quotes a backslash starts an escape such as \\n. Write a Windows path in "
    "single quotes ('C:\\exports\\leads.csv') or with forward slashes "
    "(\"C:/exports/leads.csv\"), and a regular expression in single quotes ('\\d+') or with "
    'doubled backslashes ("\\\\d+").'
)
_KEY_VALUE = 'Write each setting as key = value, such as id = "Record ID".'
# Hints for tomllib's messages, found by how the message starts.
_HINTS = (
    ("Illegal character '\\n'", _CLOSING_QUOTE),
    ("Expected '\"'", _CLOSING_QUOTE),
    ('Expected "\'"', _CLOSING_QUOTE),
    ("Unterminated string", _CLOSING_QUOTE),
    ("Invalid hex value", _BACKSLASH),
    ("Unescaped '\\'", _BACKSLASH),
    ("Cannot overwrite a value", "This key is set twice; keep one of the two lines."),
    ("Expected ']", "A closing square bracket is missing."),
    ("Unclosed array", "A list is missing its closing square bracket ]."),
    ("Expected '=' after a key", _KEY_VALUE),
    ("Invalid statement", _KEY_VALUE),
    (
        "Invalid value",
        'Put text in double quotes, such as "Software", and write true and false in lower case.',
    ),
    (
        "Expected newline or end of document",
        "Each line holds one setting. Write numbers without thousands separators, such as "
        "1200, with a decimal point, such as 1.5, and put dates and other text in double quotes.",
    ),
)


def read_config_file(path: Path) -> tuple[bytes, dict[str, Any]]:
    """Return the bytes of the config file at `path` and its TOML content.

    Raises ConfigError with one problem and its fix: a missing file or folder, a folder
    given for a file, an encoding other than UTF-8, or a TOML syntax error.
    """
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), [_not_found_problem(path)]) from None
    except IsADirectoryError:
        raise ConfigError(str(path), [_folder_problem(path)]) from None
    except OSError as error:
        problem = f"the config file cannot be read: {error.strerror or error}"
        raise ConfigError(str(path), [problem]) from None

    if raw_bytes.startswith((b"\xff\xfe", b"\xfe\xff")):
        problem = "the config file is UTF-16 text; save the file with the encoding UTF-8"
        raise ConfigError(str(path), [problem])
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw_bytes[: error.start].count(b"\n") + 1
        problem = (
            f"the config file is not UTF-8 text: line {line} has the byte "
            f"0x{raw_bytes[error.start]:02x}; save the file with the encoding UTF-8"
        )
        raise ConfigError(str(path), [problem]) from None
    try:
        return raw_bytes, tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), [describe_toml_error(str(error), text)]) from None


def describe_toml_error(message: str, text: str) -> str:
    """Turn tomllib's `message` about `text` into its position, a hint and the line itself."""
    found = _POSITION.match(message)
    if found is None:
        return f"invalid TOML: {message}"
    reason = found["reason"]
    if found["line"] is None:
        hint = _hint(reason, "")
        return f"invalid TOML at the end of the file: {reason}." + (f" {hint}" if hint else "")

    number = int(found["line"])
    lines = text.splitlines()
    line = lines[number - 1] if number <= len(lines) else ""
    hint = _lookalike_hint(line) or _hint(reason, line)
    where = f"line {number}, column {found['column']}"
    described = f"invalid TOML at {where}: {reason}." + (f" {hint}" if hint else "")
    return f"{described}\n{number:>5} | {line}"


def _lookalike_hint(line: str) -> str | None:
    """Name the first quote or space on `line` that a word processor put in, if any."""
    for column, char in enumerate(line, start=1):
        if char not in _LOOKALIKES:
            continue
        description, fix = _LOOKALIKES[char]
        named = f"the character {char!r}" if description is None else description
        return (
            f"The line has {named} (U+{ord(char):04X}) at column {column}, which word "
            f"processors put in; {fix}."
        )
    return None


def _hint(reason: str, line: str) -> str | None:
    declared_twice = re.match(r"Cannot declare (\(.*\)) twice", reason)
    if declared_twice:
        section = ".".join(ast.literal_eval(declared_twice[1]))
        return (
            f"The section [{section}] appears twice; merge the two. A list of items, such as "
            "rules, takes double brackets on every item: [[engagement.rules]]."
        )
    for start, hint in _HINTS:
        if reason.startswith(start):
            return hint
    return None


def _not_found_problem(path: Path) -> str:
    folder = path.parent
    if not folder.is_dir():
        return f"the config file was not found, because the folder {str(folder)!r} does not exist"
    names = [entry.name for entry in folder.iterdir() if entry.is_file()]
    close = difflib.get_close_matches(path.name, names, n=1)
    if close:
        return f"the config file was not found; did you mean {str(folder / close[0])!r}?"
    return "the config file was not found"


def _folder_problem(path: Path) -> str:
    toml_files = sorted(entry.name for entry in path.glob("*.toml") if entry.is_file())
    if not toml_files:
        return "this is a folder, and it holds no .toml file; give the config file itself"
    listed = ", ".join(toml_files[:5]) + (" ..." if len(toml_files) > 5 else "")
    return (
        f"this is a folder; give the config file in it, such as {str(path / toml_files[0])!r} "
        f"(TOML files there: {listed})"
    )
