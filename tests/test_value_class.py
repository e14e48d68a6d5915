"""value_class: what the core used of dataclasses, kept (construction, defaults, equality,
hash, frozen, repr, replace, asdict), and the import cost it exists for."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.core.value_class import FrozenError, asdict, field, replace, value_class


@value_class
class Point:
    x: int
    y: int = 0
    label: str = field(default="", compare=False)
    secret: bytes = field(default=b"", repr=False)
    kind: ClassVar[str] = "point"  # not a field


@value_class(frozen=False)
class Bag:
    name: str
    items: list[int] = field(default_factory=list)
    inner: dict[str, Point] = field(default_factory=dict)


@value_class
class Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")

    def __repr__(self) -> str:
        return "Checked(hidden)"


def test_construction_positional_keyword_and_defaults() -> None:
    assert Point(1) == Point(x=1, y=0)
    assert Point(1, 2).y == 2 and Point(1, y=3).y == 3
    assert Point.kind == "point" and Point.__match_args__ == ("x", "y", "label", "secret")
    for bad in (lambda: Point(), lambda: Point(1, 2, "a", b"", 5), lambda: Point(1, x=2),
                lambda: Point(1, z=2)):
        with pytest.raises(TypeError):
            bad()


def test_equality_hash_and_compare_false() -> None:
    assert Point(1, 2, "a") == Point(1, 2, "b")  # label is not compared
    assert hash(Point(1, 2, "a")) == hash(Point(1, 2, "b"))
    assert Point(1, 2) != Point(2, 1) and Point(1) != (1, 0)
    assert len({Point(1), Point(1), Point(2)}) == 2


def test_frozen_refuses_assignment_and_mutable_is_unhashable() -> None:
    point = Point(1)
    with pytest.raises(FrozenError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del point.y  # type: ignore[misc]
    bag = Bag("a")
    bag.name = "b"
    assert bag.name == "b"
    with pytest.raises(TypeError):
        hash(bag)


def test_a_default_factory_gives_each_instance_its_own() -> None:
    first, second = Bag("a"), Bag("b")
    first.items.append(1)
    assert second.items == []


def test_repr_hides_repr_false_and_a_class_keeps_its_own_methods() -> None:
    assert repr(Point(1, 2, "a", b"key")) == "Point(x=1, y=2, label='a')"
    assert repr(Checked(1)) == "Checked(hidden)"
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)


def test_replace_and_asdict() -> None:
    point = Point(1, 2, "a")
    assert replace(point, y=5) == Point(1, 5) and replace(point, y=5).label == "a"
    with pytest.raises(TypeError):
        replace(point, z=1)
    bag = Bag("n", [1, 2], {"p": Point(3)})
    assert asdict(bag) == {"name": "n", "items": [1, 2],
                           "inner": {"p": {"x": 3, "y": 0, "label": "", "secret": b""}}}


def test_a_value_class_cannot_extend_another() -> None:
    with pytest.raises(TypeError):
        @value_class
        class Point3(Point):
            z: int = 0


@given(st.integers(), st.integers(), st.text())
def test_replace_round_trips(x: int, y: int, label: str) -> None:
    point = Point(x, y, label)
    assert replace(point) == point and asdict(replace(point))["label"] == label
    assert json.loads(json.dumps({k: v for k, v in asdict(point).items() if k != "secret"}))


def test_the_core_does_not_import_dataclasses_or_inspect() -> None:
    """The reason for this module: importing the core (as every command does) costs no
    dataclasses, inspect, ast, dis or tokenize."""
    probe = ("import json, sys\nimport vault_app.core.vault, vault_app.cli.script_commands\n"
             "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    loaded: Any = set(json.loads(out))
    assert not {"dataclasses", "inspect", "ast", "dis", "tokenize"} & loaded
