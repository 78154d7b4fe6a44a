"""No server-side error message is built from a caught exception's own text.

A library's words (``error parsing asn1 value: ParseError { kind: UnexpectedTag ... }``,
``Expecting value: line 1 column 1 (char 0)``) must not reach a caller. The rule the code
follows: catch, then raise an error whose message is in our words and pass the library's
text as ``detail=`` (logged, never sent). This test reads the source of every server-side
package and fails on any ``raise`` inside an ``except ... as exc`` whose message uses
``exc`` itself (``str(exc)``, ``f"{exc}"``, ``exc.args``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import roleport

SRC = Path(roleport.__file__).parent
SERVER_SIDE = ("spec", "auth", "domain", "iam", "sts", "server", "storage", "crypto",
               "errors.py", "arns.py")
#: modules whose errors are read only by the owner of a local file, never by a remote caller
LOCAL_ONLY = {"crypto/keys.py", "crypto/devpki.py"}
#: caught types whose text is a fixed message of ours (sts.credentials.INVALID_MESSAGE...)
OWN_FIXED_MESSAGES = {"ExpiredSessionToken", "InvalidSessionToken"}
#: errors that never reach a caller: the pipeline logs a StorageError and answers 503 in
#: fixed words; a CrlFetchError becomes an audit reason (CreateSession says only that the
#: revocation status could not be checked)
# SystemExit, click's ClickException: start-up failures, printed to the operator who
# started the server (e.g. the metrics port cannot be bound)
NEVER_SENT = {"StorageError", "CrlFetchError", "FetchError", "SystemExit", "ClickException"}


def _server_modules():
    for entry in SERVER_SIDE:
        path = SRC / entry
        for file in ([path] if path.is_file() else sorted(path.rglob("*.py"))):
            relative = file.relative_to(SRC).as_posix()
            if relative not in LOCAL_ONLY and "/migrations/" not in relative:
                yield relative, ast.parse(file.read_text(), filename=relative)


def _uses_text_of(node: ast.AST, name: str) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.FormattedValue) and _is(sub.value, name):
            return True
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)
                and sub.func.id in ("str", "repr", "format") and sub.args
                and _is(sub.args[0], name)):
            return True
        if isinstance(sub, ast.Attribute) and sub.attr == "args" and _is(sub.value, name):
            return True
    return False


def _is(node: ast.AST, name: str) -> bool:
    # exc itself, or a library attribute of it that is not our own wording (exc.orig...)
    if isinstance(node, ast.Name):
        return node.id == name
    return (isinstance(node, ast.Attribute) and node.attr in ("orig", "reason", "strerror")
            and isinstance(node.value, ast.Name) and node.value.id == name)


def _raised_type(node: ast.Raise) -> str:
    call = node.exc
    if isinstance(call, ast.Call):
        func = call.func
        return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "?")
    return "?"


def _caught_types(handler: ast.ExceptHandler) -> set[str]:
    if handler.type is None:
        return set()
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {n.id if isinstance(n, ast.Name) else getattr(n, "attr", "?") for n in nodes}


def _offences():
    for relative, tree in _server_modules():
        for handler in ast.walk(tree):
            if not isinstance(handler, ast.ExceptHandler) or not handler.name:
                continue
            if _caught_types(handler) & OWN_FIXED_MESSAGES:
                continue
            for node in ast.walk(handler):
                if not isinstance(node, ast.Raise) or not isinstance(node.exc, ast.Call):
                    continue
                if _raised_type(node) in NEVER_SENT:
                    continue
                message_parts = [*node.exc.args,
                                 *(k.value for k in node.exc.keywords if k.arg != "detail")]
                if any(_uses_text_of(part, handler.name) for part in message_parts):
                    yield f"{relative}:{node.lineno}"


def test_no_error_message_carries_a_caught_exceptions_text() -> None:
    assert list(_offences()) == []


def test_the_check_finds_what_it_is_meant_to_find() -> None:
    """The rule, applied to a sample of each spelling it refuses and of what it allows."""
    sample = ast.parse('''
try:
    pass
except ValueError as exc:
    raise ValidationError(f"bad: {exc}")
except KeyError as exc:
    raise ValidationError("bad: " + str(exc))
except OSError as exc:
    raise ValidationError(f"bad: {exc.strerror}")
except TypeError as exc:
    raise ValidationError("bad", detail=str(exc))
except ImportError as exc:
    raise ValidationError(f"bad: {exc.message}")
''')
    flagged = []
    for handler in ast.walk(sample):
        if isinstance(handler, ast.ExceptHandler):
            raise_node = next(n for n in ast.walk(handler) if isinstance(n, ast.Raise))
            parts = [*raise_node.exc.args,
                     *(k.value for k in raise_node.exc.keywords if k.arg != "detail")]
            flagged.append(any(_uses_text_of(p, handler.name) for p in parts))
    assert flagged == [True, True, True, False, False]
