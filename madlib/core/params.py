"""Declarative parameter specs: each experiment parameter's type, range and when it applies.

An experiment declares one :class:`Param` per parameter (``@experiment(..., params={...})``)::

    params={"n_real": integer(2, 10**7), "spread": number(0, 360, open_minimum=True),
            "family": choice("gaussian", "mixture"),
            "components": integer(1, 50, applies_when={"family": ("mixture",)})}

:func:`check_config` then parses and checks every value of a configuration against them:

* **Types, exactly.** An integer is ASCII digits with an optional sign (``9007199254740993`` stays
  exact; ``1_000``, ``٣``, ``1e3``, ``2.0`` and ``true`` are refused); a number is an ASCII decimal
  (``nan`` refused; ``inf`` only where the spec says infinity means something); a flag is
  ``true``/``false``; a list is a JSON list whose items are checked one by one.
* **Ranges.** Every number has a minimum and a maximum (open or closed); a bound may be another
  parameter's value (:func:`ref`, e.g. ``blue`` at most ``n_real - 1``). Every size has a maximum,
  and ``python -m madlib list`` prints them.
* **When it applies.** ``applies_when={"family": ("mixture",)}`` (every condition must hold) makes
  a parameter part of the run only under those settings. Elsewhere a value given explicitly (other
  than the default) is refused, and the default stays in the configuration, so a parameter that
  does not apply never changes the cache key.

Every refusal is a ``ValueError`` that names the parameter and its valid range.
"""
from __future__ import annotations

import json
import math
from numbers import Integral, Real
import re
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["Param", "Ref", "ref", "integer", "number", "flag", "choice", "text", "subset", "integers", "numbers",
           "check_config", "parse_int", "parse_float", "SEED", "SAMPLING_BIAS", "KEPT_REAL_FRACTION", "KEEP_FRACTION"]

_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_INFINITY = re.compile(r"[+-]?(?:inf|infinity)", re.ASCII | re.IGNORECASE)
MAX_LIST = 64  # items in a list parameter
MAX_TEXT = 1024  # characters in a text parameter (a path longer than this is an error before the OS sees it)


@dataclass(frozen=True)
class Ref:
    """A bound that is another parameter's value plus ``offset`` (``ref("n_real", -1)``)."""

    name: str
    offset: float = 0

    def value(self, config: Mapping[str, Any]) -> float:
        return config[self.name] + self.offset

    def __str__(self) -> str:
        return self.name + (f" {'+' if self.offset > 0 else '-'} {abs(self.offset):g}" if self.offset else "")


def ref(name: str, offset: float = 0) -> Ref:
    return Ref(name, offset)


def _fmt(bound: Any) -> str:
    if isinstance(bound, Ref):
        return str(bound)
    if isinstance(bound, int) and abs(bound) >= 10_000:
        return f"{bound:,}"
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def parse_int(name: str, value: Any) -> int:
    """An integer, exactly: ASCII digits (CLI text), or an int (or an integer-valued float) from Python."""
    if isinstance(value, str):
        text = value.strip()
        if not _INT.fullmatch(text) or len(text) > 100:
            raise ValueError(f"{name} must be an integer (ASCII digits), got {_show(value)}")
        return int(text)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {_show(value)}")
    return int(value)


def parse_float(name: str, value: Any) -> float:
    """A number: ASCII decimal text (``inf``, ``nan`` spelled out), or an int or float from Python."""
    if isinstance(value, str):
        text = value.strip()
        if not (_FLOAT.fullmatch(text) or _INFINITY.fullmatch(text) or text.lower() == "nan") or len(text) > 100:
            raise ValueError(f"{name} must be a number (ASCII decimal), got {_show(value)}")
        return float(text)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, got {_show(value)}")
    return float(value)


def _show(value: Any) -> str:
    """A value for an error message: a long one cut short (a 5,000-character path is one line, not a page)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"


@dataclass(frozen=True)
class Param:
    """One parameter's spec. ``kind``: int, float, bool, choice, text, subset (comma-separated names),
    ints or floats (a list). Build one with :func:`integer`, :func:`number`, ... rather than by hand."""

    kind: str
    minimum: Any = None
    maximum: Any = None
    open_minimum: bool = False
    open_maximum: bool = False
    infinite: bool = False  # +inf is allowed (it means something: say what in doc)
    choices: tuple = ()
    max_length: int | None = None  # characters of a text, items of a list
    applies_when: tuple = ()  # ((parameter, allowed values), ...): every condition must hold
    doc: str = ""

    # ------------------------------------------------------------------ description
    def _range(self, low: Any = None, high: Any = None) -> str:
        """``integer in [2, 10,000,000]``, ``number in (0, 1]`` (bounds: the spec's, or resolved refs)."""
        low = self.minimum if low is None else low
        high = self.maximum if high is None else high
        word = "an integer" if self.kind in ("int", "ints") else "a number"
        text = (f"{word} in {'(' if self.open_minimum else '['}{_fmt(low)}, "
                f"{_fmt(high)}{')' if self.open_maximum else ']'}")
        return text + (" or inf" if self.infinite else "")

    def describe(self) -> str:
        """The valid values in words (``python -m madlib list`` prints it), and when the parameter applies."""
        if self.kind in ("int", "float"):
            text = self._range()
        elif self.kind in ("ints", "floats"):
            text = f"a list of at most {self.max_length} items, each {self._range()}"
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = "one of " + "|".join(map(str, self.choices))
        elif self.kind == "subset":
            text = "a comma-separated subset of " + ",".join(self.choices)
        else:
            text = f"text of at most {self.max_length} characters"
        if self.applies_when:
            text += " (only when " + " and ".join(f"{k} is {'|'.join(map(str, v))}" for k, v in self.applies_when) + ")"
        return text

    def applies(self, config: Mapping[str, Any]) -> bool:
        return all(config.get(key) in allowed for key, allowed in self.applies_when)

    # ------------------------------------------------------------------ parsing and checking
    def parse(self, name: str, value: Any) -> Any:
        """The typed value of ``value`` (CLI text or a Python value), before range checks."""
        if self.kind == "int":
            return parse_int(name, value)
        if self.kind == "float":
            return parse_float(name, value)
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise ValueError(f"{name} must be true or false, got {_show(value)}")
        if self.kind in ("ints", "floats"):
            items = value
            if isinstance(value, str):
                try:
                    items = json.loads(value)
                except json.JSONDecodeError:
                    raise ValueError(f"{name} must be a JSON list: {self.describe()}, got {_show(value)}") from None
            if not isinstance(items, (list, tuple)):
                raise ValueError(f"{name} must be {self.describe()}, got {_show(value)}")
            parse = parse_int if self.kind == "ints" else parse_float
            if self.kind == "ints" and isinstance(value, str):  # JSON text: 1e3 and 2.0 are not integers
                items = [item if isinstance(item, int) else str(item) for item in items]
            parsed = [parse(f"{name}[{i}]", item) for i, item in enumerate(items)]
            return type(items)(parsed) if isinstance(items, tuple) else parsed
        if self.kind == "choice":
            for allowed in self.choices:  # CLI text of a non-text choice (ddof=1); True is not the choice 1
                if isinstance(value, bool) != isinstance(allowed, bool):
                    continue
                if value == allowed or (isinstance(value, str) and not isinstance(allowed, str)
                                        and value.strip() == str(allowed)):
                    return allowed
            raise ValueError(f"{name} must be {self.describe()}, got {_show(value)}")
        if not isinstance(value, str):
            raise ValueError(f"{name} must be {self.describe()}, got {_show(value)}")
        return value

    def check(self, name: str, value: Any, config: Mapping[str, Any]) -> Any:
        """Refuse ``value`` (already parsed) outside the range; bounds that are refs read ``config``."""
        if self.kind in ("int", "float"):
            self._check_number(name, value, config)
        elif self.kind in ("ints", "floats"):
            if len(value) > self.max_length:
                raise ValueError(f"{name} must be {self.describe()}, got {len(value)} items")
            for i, item in enumerate(value):
                self._check_number(f"{name}[{i}]", item, config)
        elif self.kind == "text" and len(value) > self.max_length:
            raise ValueError(f"{name} must be {self.describe()}, got {len(value)} characters")
        elif self.kind == "subset":
            items = [item.strip() for item in value.split(",") if item.strip()]
            bad = [item for item in items if item not in self.choices]
            if bad or not items or len(set(items)) != len(items):
                raise ValueError(f"{name} must be {self.describe()} (each at most once), got {_show(value)}")
        return value

    def _check_number(self, name: str, value: float, config: Mapping[str, Any]) -> None:
        low = self.minimum.value(config) if isinstance(self.minimum, Ref) else self.minimum
        high = self.maximum.value(config) if isinstance(self.maximum, Ref) else self.maximum
        ok = (self.infinite and value == math.inf) or (
            math.isfinite(value)
            and (value > low if self.open_minimum else value >= low)
            and (value < high if self.open_maximum else value <= high))
        if not ok:
            where = f" (here [{_fmt(low)}, {_fmt(high)}])" if isinstance(self.minimum, Ref) or isinstance(self.maximum, Ref) \
                else ""
            shown = f"{value:g}" if isinstance(value, float) else _show(value)
            raise ValueError(f"{name} must be {self._range()}{where}, got {shown}")


def _when(applies_when: Mapping[str, tuple] | None) -> tuple:
    return tuple((key, tuple(values)) for key, values in (applies_when or {}).items())


def integer(minimum: int | Ref, maximum: int | Ref, *, applies_when: Mapping[str, tuple] | None = None,
            doc: str = "") -> Param:
    """An integer in [minimum, maximum]."""
    return Param("int", minimum, maximum, applies_when=_when(applies_when), doc=doc)


def number(minimum: float | Ref, maximum: float | Ref, *, open_minimum: bool = False, open_maximum: bool = False,
           infinite: bool = False, applies_when: Mapping[str, tuple] | None = None, doc: str = "") -> Param:
    """A finite number in [minimum, maximum] (``open_*``: the bound excluded; ``infinite``: +inf allowed too)."""
    return Param("float", minimum, maximum, open_minimum, open_maximum, infinite, applies_when=_when(applies_when),
                 doc=doc)


def flag(*, applies_when: Mapping[str, tuple] | None = None, doc: str = "") -> Param:
    return Param("bool", applies_when=_when(applies_when), doc=doc)


def choice(*values: Any, applies_when: Mapping[str, tuple] | None = None, doc: str = "") -> Param:
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        values = tuple(values[0])
    return Param("choice", choices=tuple(values), applies_when=_when(applies_when), doc=doc)


def text(max_length: int = MAX_TEXT, *, applies_when: Mapping[str, tuple] | None = None, doc: str = "") -> Param:
    return Param("text", max_length=max_length, applies_when=_when(applies_when), doc=doc)


def subset(*values: str, applies_when: Mapping[str, tuple] | None = None, doc: str = "") -> Param:
    """Comma-separated names, each one of ``values`` and at most once (``families=gaussian,cats``)."""
    return Param("subset", choices=tuple(values), applies_when=_when(applies_when), doc=doc)


def integers(minimum: int | Ref, maximum: int | Ref, *, max_length: int = MAX_LIST,
             applies_when: Mapping[str, tuple] | None = None, doc: str = "") -> Param:
    """A list (JSON on the command line: ``n_real=[20,100]``) of integers in [minimum, maximum]."""
    return Param("ints", minimum, maximum, max_length=max_length, applies_when=_when(applies_when), doc=doc)


def numbers(minimum: float | Ref, maximum: float | Ref, *, open_minimum: bool = False, open_maximum: bool = False,
            max_length: int = MAX_LIST, applies_when: Mapping[str, tuple] | None = None, doc: str = "") -> Param:
    """A list of finite numbers in [minimum, maximum]."""
    return Param("floats", minimum, maximum, open_minimum, open_maximum, max_length=max_length,
                 applies_when=_when(applies_when), doc=doc)


def check_config(experiment: str, params: Mapping[str, Param], defaults: Mapping[str, Any],
                 given: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``given`` (CLI text or Python values), every value parsed and checked.

    A parameter without a spec keeps its value as given. Refused (``ValueError`` naming the
    parameter and its range): a value of the wrong type, out of range or non-finite, and a value
    given explicitly (different from the default) for a parameter that does not apply under the
    other settings. A parameter that does not apply keeps its default, so it never changes a key.
    """
    config = dict(defaults)
    for key, value in given.items():
        config[key] = params[key].parse(key, value) if key in params else value
    for key, spec in params.items():
        if key not in given:
            config[key] = spec.parse(key, config[key])
    for key, spec in params.items():
        if spec.applies(config):
            continue
        default = spec.parse(key, defaults[key])
        if key in given and config[key] != default:
            when = " and ".join(f"{k} is {'|'.join(map(str, v))}" for k, v in spec.applies_when)
            now = ", ".join(f"{k}={config.get(k)!r}" for k, _ in spec.applies_when)
            raise ValueError(f"{key} applies only when {when} (here {now}) for experiment {experiment!r}: "
                             f"leave it out")
        config[key] = default
    for key, spec in params.items():
        if spec.applies(config):
            spec.check(key, config[key], config)
    return config


# The specs of the names every chapter shares (ARCHITECTURE.md, "Names").
SEED = integer(0, 2**63 - 1, doc="the run's seed; every random stream derives from it")
SAMPLING_BIAS = number(0, 1, open_minimum=True, doc="lambda: each generation samples its fit with the spread "
                                                    "scaled by lambda (1: unbiased)")
KEPT_REAL_FRACTION = number(0, 1, applies_when={"workflow": ("replace",)},
                            doc="share of each training set that is original real data (replace only)")
KEEP_FRACTION = number(0, 1, open_minimum=True, doc="share of candidates kept (1: all)")
