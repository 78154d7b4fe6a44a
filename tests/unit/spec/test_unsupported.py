"""The declared-unsupported members: refused by name wherever they sit, and every one of
them still a member of the installed model (a stale entry would hide nothing)."""

from __future__ import annotations

import pytest

from roleport.errors import ValidationError
from roleport.spec import unsupported
from roleport.spec.models import load_service
from roleport.spec.unsupported import UNSUPPORTED, refuse_unsupported


@pytest.mark.parametrize(("service", "operation", "path"), [
    (s, o, p) for s, ops in UNSUPPORTED.items() for o, paths in ops.items() for p in paths])
def test_every_declared_member_exists_in_the_installed_model(service, operation, path):
    shape = load_service(service).model.operation_model(operation).input_shape
    for name in path.split("."):
        while shape.type_name == "list":
            shape = shape.member
        assert name in shape.members, f"{service} {operation} has no member {path}"
        shape = shape.members[name]


def test_a_set_member_is_refused_by_name_and_an_absent_one_is_not(monkeypatch):
    monkeypatch.setitem(UNSUPPORTED, "demo", {"Op": {"Top": "no reason", "items.deep": "x"}})
    refuse_unsupported("demo", "Op", {"Other": 1, "Top": None, "items": [{"shallow": 1}]})
    refuse_unsupported("demo", "Other", {"Top": 1})
    with pytest.raises(ValidationError) as exc:
        refuse_unsupported("demo", "Op", {"Top": False})
    assert exc.value.message == ("The parameter Top of Op is not supported by Roleport: "
                                 "no reason.")
    with pytest.raises(ValidationError) as exc:
        refuse_unsupported("demo", "Op", {"items": [{"shallow": 1}, {"deep": "v"}]})
    assert "items.deep" in exc.value.message
    assert unsupported.__all__ == ["UNSUPPORTED", "refuse_unsupported"]
