"""Checkers for the "implement it" exercises, one module per chapter key.

A learner writes a small function in the notebook; ``check_<task>(their_function)`` runs it
against the library's own implementation on seeded inputs and returns a :class:`CheckResult`
that says what is wrong in plain words (wrong shape, a biased estimate, off by a factor, ...).
In a notebook the result shows itself as a short message; ``result.passed`` is a bool for tests.

Every checker accepts the library's own implementation and rejects the plausible wrong ones;
the tests of each module show both.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class CheckResult:
    """The verdict of a checker: ``passed`` and the messages a learner reads."""

    exercise: str
    passed: bool
    messages: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = f"{'Correct' if self.passed else 'Not yet'}: {self.exercise}"
        return "\n".join([head] + [f"  - {m}" for m in self.messages])

    def _repr_markdown_(self) -> str:  # how a notebook shows it
        mark = "✅" if self.passed else "❌"
        body = "\n".join(f"- {m}" for m in self.messages)
        return f"{mark} **{'Correct' if self.passed else 'Not yet'}: {self.exercise}**\n\n{body}"

    __repr__ = __str__


def run_learner(exercise: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, CheckResult | None]:
    """Call the learner's ``fn``: ``(value, None)``, or ``(None, failure)`` where a crash became a failed
    :class:`CheckResult` naming the error, not a traceback. Test the failure with ``is not None``: a
    failed result is falsy."""
    if not callable(fn):
        return None, CheckResult(exercise, False, [f"expected a function, got {type(fn).__name__}"])
    try:
        return fn(*args, **kwargs), None
    except NotImplementedError:
        return None, CheckResult(exercise, False, ["the function still raises NotImplementedError: fill in the `...`"])
    except Exception as error:  # noqa: BLE001 - the learner's code may fail in any way; say how
        return None, CheckResult(exercise, False, [f"your function raised {type(error).__name__}: {error}"])
