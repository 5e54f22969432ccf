# Copyright 2026 The ddpg_manipulation Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Node parameters as plain data: name, default, description, type and check (no rclpy).

Every node lists its parameters as :class:`ParamSpec` entries. The rclpy shell declares each one
with a ``ParameterDescriptor`` built from the spec and passes the values it got to
:func:`validate`, which coerces them to the declared kind and rejects bad values with an error
that names the parameter. Keeping this here makes the checks testable without ROS.

Numbers are declared with dynamic typing in the shell and coerced here, because launch files
and YAML turn ``50`` into an integer where a float is meant (and ``[1, 2]`` into an integer
list); an integer is accepted where a float is expected, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any, Callable, Iterable, Mapping, Sequence

KINDS = ('bool', 'int', 'float', 'str', 'float_list', 'str_list')


class ParameterError(ValueError):
    """A node parameter has a bad value; the message names the parameter and what it expects."""


@dataclass(frozen=True)
class ParamSpec:
    """
    One node parameter.

    :param name: Parameter name.
    :param default: Default value (of ``kind``).
    :param description: What it does, shown by ``ros2 param describe``.
    :param kind: One of ``bool``, ``int``, ``float``, ``str``, ``float_list``, ``str_list``.
    :param read_only: Fixed after start (``ros2 param set`` is refused).
    :param check: Further check of the coerced value; returns an error text or None.
    :param choices: Allowed values of a ``str`` parameter.
    """

    name: str
    default: Any
    description: str
    kind: str
    read_only: bool = True
    check: Callable[[Any], str | None] | None = None
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f'parameter {self.name!r}: unknown kind {self.kind!r}')

    @property
    def full_description(self) -> str:
        """Return the description, with the allowed choices where there are some."""
        if self.choices:
            return f'{self.description} (one of: {", ".join(self.choices)})'
        return self.description


def coerce(spec: ParamSpec, value: Any) -> Any:
    """
    Convert a parameter value to the spec's kind.

    :param spec: The parameter.
    :param value: The value the node got (from YAML, the command line or a launch file).

    :returns: The value as ``bool``, ``int``, ``float``, ``str`` or a list of those.
    """
    name, kind = spec.name, spec.kind
    if kind == 'bool':
        if isinstance(value, bool):
            return value
        raise ParameterError(f"parameter '{name}': expected true or false, got {value!r}")
    if kind == 'int':
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ParameterError(f"parameter '{name}': expected an integer, got {value!r}")
    if kind == 'float':
        return _number(name, value)
    if kind == 'str':
        if isinstance(value, str):
            if spec.choices and value not in spec.choices:
                raise ParameterError(
                    f"parameter '{name}': expected one of {', '.join(spec.choices)}, "
                    f'got {value!r}')
            return value
        raise ParameterError(f"parameter '{name}': expected a string, got {value!r}")
    if kind == 'str_list':
        if _is_sequence(value) and all(isinstance(v, str) for v in value):
            return [str(v) for v in value]
        if _empty(value):
            return []
        raise ParameterError(f"parameter '{name}': expected a list of strings, got {value!r}")
    # float_list: an empty string or list stands for "not set" (the node's default).
    if _empty(value):
        return []
    if not _is_sequence(value):
        raise ParameterError(f"parameter '{name}': expected a list of numbers, got {value!r}")
    return [_number(f'{name}[{i}]', v) for i, v in enumerate(value)]


def _empty(value: Any) -> bool:
    return (isinstance(value, str) and not value.strip()) or (
        _is_sequence(value) and len(value) == 0)


def _is_sequence(value: Any) -> bool:
    # rclpy hands array parameters over as lists or array.array; numpy arrays come from tests.
    return (isinstance(value, Sequence) and not isinstance(value, (str, bytes))) or (
        type(value).__name__ == 'ndarray' and getattr(value, 'ndim', 0) == 1)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"parameter '{name}': expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ParameterError(f"parameter '{name}': expected a finite number, got {value!r}")
    return number


def validate(specs: Iterable[ParamSpec], values: Mapping[str, Any]) -> dict[str, Any]:
    """
    Coerce and check all parameters of a node.

    :param specs: The node's parameters.
    :param values: Name -> value as the node got it (missing names take the default).

    :returns: Name -> coerced value.
    """
    result = {}
    for spec in specs:
        value = coerce(spec, values.get(spec.name, spec.default))
        if spec.check is not None:
            problem = spec.check(value)
            if problem:
                raise ParameterError(f"parameter '{spec.name}': {problem}, got {value!r}")
        result[spec.name] = value
    return result


# -- reusable checks ---------------------------------------------------------------------------

def positive(value: float) -> str | None:
    """Check a number is > 0."""
    return None if value > 0 else 'expected a number > 0'


def non_negative(value: float) -> str | None:
    """Check a number is >= 0."""
    return None if value >= 0 else 'expected a number >= 0'


def at_least(bound: int) -> Callable[[Any], str | None]:
    """Build a check that a number is >= ``bound``."""
    def check(value: Any) -> str | None:
        return None if value >= bound else f'expected a number >= {bound}'
    return check


def not_empty(value: str) -> str | None:
    """Check a string is not empty."""
    return None if value.strip() else 'expected a non-empty string'


def device_form(value: str) -> str | None:
    """Check a string names a torch device as ``learner.device`` does (auto, cpu, cuda[:N])."""
    from ddpg_manipulation.parameters import DEVICE_FORMS, DEVICE_PATTERN

    return None if DEVICE_PATTERN.fullmatch(value.strip().lower()) else f'expected {DEVICE_FORMS}'


def task_spec(description: str = 'bundled task name (box_push, planar_hand, ...) or path to a '
                                 'task YAML', read_only: bool = True) -> ParamSpec:
    """
    Return the ``task`` parameter every node has.

    :param description: What the task is to this node.
    :param read_only: Fixed after start (the lifecycle policy node reads it at configure).

    :returns: The parameter.
    """
    return ParamSpec('task', 'box_push', description, 'str', read_only=read_only,
                     check=not_empty)


# -- tasks -------------------------------------------------------------------------------------

def parse_overrides(assignments: Iterable[str]) -> dict[str, Any]:
    """
    Parse the ``overrides`` parameter: ``section.key=value`` strings (the CLI's ``--set``).

    :param assignments: The strings.

    :returns: Flat ``section.key`` -> value (read as YAML data, never executed).
    """
    from ddpg_manipulation.config import ConfigError, parse_set

    overrides: dict[str, Any] = {}
    for assignment in assignments:
        try:
            key, value = parse_set(assignment)
        except ConfigError as error:
            raise ParameterError(f"parameter 'overrides': {error}") from error
        overrides[key] = value
    return overrides


def load_task(task: str, overrides: Mapping[str, Any] | None = None) -> Any:
    """
    Build a task's parameters; a bad task or override is a ParameterError naming it.

    :param task: The ``task`` parameter.
    :param overrides: Task parameter overrides (from ``overrides`` and other node parameters).

    :returns: The ``ParameterContainer``.
    """
    from ddpg_manipulation.config import ConfigError, ParameterContainer

    try:
        return ParameterContainer(task, overrides)
    except ConfigError as error:
        what = 'overrides' if str(error).startswith('overrides') else 'task'
        raise ParameterError(f"parameter '{what}': {error}") from error
