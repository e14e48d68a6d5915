"""Value classes (frozen by default) with what the core uses of ``dataclasses``, at a
fraction of its start-up cost.

Why not ``dataclasses``: every ``vault`` command imports the core, and on the 2-core
machine the benchmarks run on, importing ``dataclasses`` (which imports ``inspect``, and
with it ``ast``, ``dis`` and ``tokenize``) and building the core's two dozen classes with
it (each method is generated as source text and compiled) cost 35-45 ms of a 200 ms
command. Here the methods are shared functions that read the class's field list, so a
class costs a few microseconds to build; an instance costs about as much to make.

What is kept of ``dataclasses``: fields from the class's annotations in order (a
``ClassVar`` is not a field), defaults and ``field(default_factory=..., repr=...,
compare=...)``, keyword or positional construction with the same errors,
``__post_init__``, ``__repr__``/``__eq__`` (same class only) and, for a frozen class,
``__hash__`` and assignment refused; a method the class defines itself is never
replaced; ``replace`` and ``asdict``. Type checkers see the classes as dataclasses
(``dataclass_transform``). Inheritance between value classes is not supported (none is
needed): a subclass of one is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

_T = TypeVar("_T")
_FIELDS = "__value_fields__"
_MISSING: Any = object()


class FrozenError(AttributeError):
    """Assignment to a field of a frozen value."""


class Field:
    """A field's options (what ``field()`` returns, and each class keeps per field)."""

    __slots__ = ("compare", "default", "factory", "name", "repr")

    def __init__(self, default: Any = _MISSING, factory: Callable[[], Any] | None = None,
                 repr: bool = True, compare: bool = True) -> None:
        self.name = ""
        self.default, self.factory, self.repr, self.compare = default, factory, repr, compare


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None,
          repr: bool = True, compare: bool = True) -> Any:
    """A field's default or default factory, and whether it shows in the repr and
    takes part in ``==`` and the hash."""
    if default is not _MISSING and default_factory is not None:
        raise ValueError("a field has a default or a default factory, not both")
    return Field(default, default_factory, repr, compare)


def _fields_of(cls: type) -> tuple[Field, ...]:
    found = []
    # (not inspect.get_annotations: importing inspect is the cost this module avoids)
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        text = annotation if isinstance(annotation, str) else repr(annotation)
        if text.startswith(("ClassVar", "typing.ClassVar")):
            continue
        spec = cls.__dict__.get(name, _MISSING)
        if isinstance(spec, Field):
            if spec.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
        else:
            spec = Field(spec)
        spec.name = name
        found.append(spec)
    seen_default = False
    for spec in found:
        has_default = spec.default is not _MISSING or spec.factory is not None
        if seen_default and not has_default:
            raise TypeError(f"{cls.__name__}: field {spec.name!r} without a default "
                            "follows one with a default")
        seen_default = seen_default or has_default
    return tuple(found)


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    fields: tuple[Field, ...] = getattr(type(self), _FIELDS)
    name = type(self).__name__
    if len(args) > len(fields):
        raise TypeError(f"{name}() takes {len(fields)} arguments, {len(args)} given")
    values = {spec.name: value for spec, value in zip(fields, args, strict=False)}
    for key, value in kwargs.items():
        if key in values:
            raise TypeError(f"{name}() got multiple values for argument {key!r}")
        values[key] = value
    if kwargs:
        unknown = sorted(set(kwargs) - {spec.name for spec in fields})
        if unknown:
            raise TypeError(f"{name}() got an unexpected keyword argument {unknown[0]!r}")
    setter = object.__setattr__
    for spec in fields:
        value = values.get(spec.name, _MISSING)
        if value is _MISSING:
            if spec.factory is not None:
                value = spec.factory()
            elif spec.default is not _MISSING:
                value = spec.default
            else:
                raise TypeError(f"{name}() missing required argument: {spec.name!r}")
        setter(self, spec.name, value)
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        post_init()


def _compared(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, spec.name) for spec in getattr(type(self), _FIELDS)
                 if spec.compare)


def _eq(self: Any, other: object) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _compared(self) == _compared(other)


def _hash(self: Any) -> int:
    return hash(_compared(self))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{spec.name}={getattr(self, spec.name)!r}"
                      for spec in getattr(type(self), _FIELDS) if spec.repr)
    return f"{type(self).__qualname__}({shown})"


def _refuse_set(self: Any, name: str, value: Any) -> None:
    raise FrozenError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")


def _refuse_delete(self: Any, name: str) -> None:
    raise FrozenError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")


def _make(cls: type[_T], frozen: bool) -> type[_T]:
    if any(hasattr(base, _FIELDS) for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__name__}: a value class cannot extend another")
    setattr(cls, _FIELDS, _fields_of(cls))
    methods: dict[str, Any] = {
        "__init__": _init, "__repr__": _repr, "__eq__": _eq,
        "__match_args__": tuple(spec.name for spec in getattr(cls, _FIELDS))}
    if frozen:
        methods.update(__hash__=_hash, __setattr__=_refuse_set, __delattr__=_refuse_delete)
    else:
        methods["__hash__"] = None  # mutable and compared by value: unhashable
    for name, method in methods.items():
        if name not in cls.__dict__ or (name == "__hash__" and cls.__dict__[name] is None):
            setattr(cls, name, method)
    return cls


@overload
def value_class(cls: type[_T], /) -> type[_T]: ...
@overload
def value_class(*, frozen: bool = True) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def value_class(cls: type[_T] | None = None, /, *, frozen: bool = True
                ) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """Make ``cls`` a value class: ``@value_class`` (frozen) or
    ``@value_class(frozen=False)``."""
    if cls is None:
        return lambda inner: _make(inner, frozen)
    return _make(cls, frozen)


def replace(value: _T, /, **changes: Any) -> _T:
    """A copy of ``value`` with ``changes`` (``dataclasses.replace``)."""
    fields: tuple[Field, ...] = getattr(type(value), _FIELDS)
    current = {spec.name: getattr(value, spec.name) for spec in fields}
    unknown = set(changes) - set(current)
    if unknown:
        raise TypeError(f"{type(value).__name__} has no field {sorted(unknown)[0]!r}")
    return type(value)(**{**current, **changes})


def asdict(value: Any) -> dict[str, Any]:
    """The fields of ``value`` as a dict, value classes, lists, tuples and dicts inside
    it converted too (``dataclasses.asdict``)."""
    return {spec.name: _plain(getattr(value, spec.name)) for spec in getattr(type(value), _FIELDS)}


def _plain(value: Any) -> Any:
    if hasattr(type(value), _FIELDS):
        return asdict(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    return value
