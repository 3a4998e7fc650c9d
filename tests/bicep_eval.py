"""Run the few Bicep expressions whose logic a test must execute, not just read.

Some template logic is computation over the parameters: which subscriptions hold accounts, which
account ids are malformed, when the deployment fails. Reading its shape cannot show it works, so
this evaluates pycep-parser's tree of an expression for given parameter values. It knows the
functions and operators the templates use, and raises `UnsupportedExpressionError` on anything
else rather than guess.

Two limits of the trees it reads:
- Identifiers and string literals look alike (`id` and `'id'` both become "id"): a string that
  names a lambda variable, a given parameter or a template variable is read as that name.
- pycep-parser 0.7 nests binary operators right to left, without precedence (`a < 2 ? b : c`
  parses as `a < (2 ? b : c)`). The templates parenthesize every compound operand so that the
  tree means what the expression means to Bicep.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

_INTERPOLATION = re.compile(r"\$\{(\w+)\}")


class BicepFailureError(Exception):
    """The expression called fail(); the message is the template's own."""


class UnsupportedExpressionError(Exception):
    """The expression uses a function or operator this evaluator does not know."""


class Lambda:
    """A Bicep lambda `x => expr`, closed over the scope it was written in."""

    def __init__(self, evaluator: Evaluator, node: dict[str, Any], scope: Mapping[str, Any]):
        detail = node["detail"]
        self.names = [value for key, value in detail.items() if key.startswith("var_")]
        self.body = detail["expression"]
        self.evaluator = evaluator
        self.scope = scope

    def __call__(self, *args: Any) -> Any:
        bound = dict(zip(self.names, args, strict=True))
        return self.evaluator.evaluate(self.body, {**self.scope, **bound})


class Evaluator:
    """Evaluates one template's expressions for given parameter values and subscription."""

    def __init__(
        self,
        doc: dict[str, Any],
        params: Mapping[str, Any],
        subscription_id: str = "00000000-0000-0000-0000-000000000000",
        resource_group: str = "rg-vi-failover",
    ) -> None:
        self.doc = doc
        self.params = dict(params)
        self.subscription_id = subscription_id
        self.resource_group = resource_group

    def variable(self, name: str) -> Any:
        """The value of the template variable `name`."""
        return self.evaluate(self.doc["variables"][name]["value"], {})

    def evaluate(self, node: Any, scope: Mapping[str, Any]) -> Any:
        """The value of one expression tree; `scope` holds lambda variables."""
        if isinstance(node, str):
            return self._name_or_text(node, scope)
        if isinstance(node, list):
            return [self.evaluate(item, scope) for item in node]
        if not isinstance(node, dict):
            return node
        if "function" in node:
            return self._call(node["function"], scope)
        if "operator" in node:
            return self._operate(node["operator"], scope)
        if "lambda_expression" == node.get("type"):
            return Lambda(self, node, scope)
        return {key: self.evaluate(value, scope) for key, value in node.items()}

    def _name_or_text(self, text: str, scope: Mapping[str, Any]) -> Any:
        if text in scope:
            return scope[text]
        if text in self.params:
            return self.params[text]
        if text in self.doc.get("variables", {}):
            return self.variable(text)
        param = self.doc.get("parameters", {}).get(text)
        if param is not None:
            return self.evaluate(param["default"], {})
        value = _INTERPOLATION.sub(lambda m: str(self._name_or_text(m[1], scope)), text)
        if "${" in value:
            raise UnsupportedExpressionError(f"interpolation beyond ${{name}} in {text!r}")
        return value

    def _call(self, function: dict[str, Any], scope: Mapping[str, Any]) -> Any:
        name = function["type"]
        raw = list(function.get("parameters", {}).values())
        if "fail" == name:
            raise BicepFailureError(self.evaluate(raw[0], scope))
        if "subscription" == name:
            return {
                "subscriptionId": self.subscription_id,
                "id": f"/subscriptions/{self.subscription_id}",
            }
        if "resource_group" == name:
            if any(function["parameters"].values()):
                raise UnsupportedExpressionError("resourceGroup() of another group")
            return {
                "name": self.resource_group,
                "id": f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}",
            }
        if "resource_id" == name:
            # resourceId(type, name), in this deployment's resource group.
            args = function["parameters"]
            if args["subscription_id"] or args["resource_group_name"] or args["resource_name_2"]:
                raise UnsupportedExpressionError("resourceId beyond (type, name)")
            resource_name = self.evaluate(args["resource_name_1"], scope)
            return (
                f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/{args['resource_type']}/{resource_name}"
            )
        implementation = _FUNCTIONS.get(name)
        if implementation is None:
            raise UnsupportedExpressionError(f"function {name}")
        return implementation(*[self.evaluate(arg, scope) for arg in raw])

    def _operate(self, operator: dict[str, Any], scope: Mapping[str, Any]) -> Any:
        kind = operator["type"]
        operands = operator["operands"]
        if "conditional" == kind:
            chosen = "true_value" if self.evaluate(operands["condition"], scope) else "false_value"
            return self.evaluate(operands[chosen], scope)
        if "not" == kind:
            return not self.evaluate(operands["bool_value"], scope)
        if "property_accessor" == kind:
            return self.evaluate(operands["operand_1"], scope)[operands["operand_2"]]
        left = self.evaluate(operands["operand_1"], scope)
        if "and" == kind:
            return bool(left) and bool(self.evaluate(operands["operand_2"], scope))
        if "or" == kind:
            return bool(left) or bool(self.evaluate(operands["operand_2"], scope))
        right = self.evaluate(operands["operand_2"], scope)
        implementation = _OPERATORS.get(kind)
        if implementation is None:
            raise UnsupportedExpressionError(f"operator {kind}")
        return implementation(left, right)


def _filter(items: list[Any], keep: Lambda) -> list[Any]:
    return [item for item in items if keep(item)]


def _map(items: list[Any], transform: Lambda) -> list[Any]:
    return [transform(item) for item in items]


def _index_of(container: Any, item: Any) -> int:
    return container.index(item) if item in container else -1


def _union(*values: Any) -> Any:
    """Objects merged left to right (later keys win); arrays joined without duplicates."""
    if all(isinstance(value, dict) for value in values):
        merged: dict[str, Any] = {}
        for value in values:
            merged |= value
        return merged
    joined: list[Any] = []
    for value in values:
        joined += [item for item in value if item not in joined]
    return joined


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": lambda container, item: item in container,
    "empty": lambda value: not value,
    "filter": _filter,
    "flatten": lambda arrays: [item for array in arrays for item in array],
    "index_of": _index_of,
    "items": lambda obj: [{"key": key, "value": obj[key]} for key in sorted(obj)],
    "length": len,
    "map": _map,
    "range": lambda start, count: list(range(start, start + count)),
    "split": lambda text, delimiter: text.split(delimiter),
    "starts_with": lambda text, prefix: text.startswith(prefix),
    "string": lambda value: value if isinstance(value, str) else json.dumps(value),
    "to_lower": lambda text: text.lower(),
    "union": _union,
}
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "equals": lambda a, b: a == b,
    "not_equals": lambda a, b: a != b,
    "less_than": lambda a, b: a < b,
    "less_than_or_equals": lambda a, b: a <= b,
    "greater_than": lambda a, b: a > b,
    "greater_than_or_equals": lambda a, b: a >= b,
    "index_accessor": lambda a, b: a[b],
}
