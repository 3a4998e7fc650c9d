"""A `func.FunctionApp`'s functions and their triggers, read from the app's own metadata."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import azure.functions as func
from azure.functions.decorators.core import Trigger
from azure.functions.decorators.function_app import Function

T = TypeVar("T", bound=Trigger)

_INDEXED: weakref.WeakKeyDictionary[func.FunctionApp, list[Function]] = weakref.WeakKeyDictionary()
_INDEX_LOCK = threading.Lock()


def functions_of(app: func.FunctionApp) -> list[Function]:
    """The app's functions with their triggers, indexed once per app."""
    # get_functions() indexes the app once, as the worker does: a second call fails its
    # duplicate-name check. Index each app once so several hosts (tests) can serve it.
    with _INDEX_LOCK:
        if app not in _INDEXED:
            _INDEXED[app] = app.get_functions()
        return _INDEXED[app]


@dataclass(frozen=True)
class Binding:
    """A function as the worker calls it: its name, its code, and its trigger parameter's name."""

    name: str
    handler: Callable[..., Any] = field(repr=False)
    arg_name: str = field(repr=False)  # the worker passes the trigger's value by this name


def triggered_by(functions: Iterable[Function], kind: type[T]) -> list[tuple[Binding, T]]:
    """The functions whose trigger is a `kind`, in registration order, each with that trigger."""
    found = []
    for function in functions:
        trigger = function.get_trigger()
        if isinstance(trigger, kind):
            handler = function.get_user_function()
            name = function.get_function_name() or handler.__name__
            found.append((Binding(name=name, handler=handler, arg_name=trigger.name), trigger))
    return found
