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
Launch argument strings -> typed node parameters, for the launch files (no ROS imports).

Launch arguments are strings. Handing a string such as ``100`` to a node lets launch_ros guess
its type (an integer where a float is declared, ``''`` where a list is meant); the launch files
convert every argument here instead, with an error that names the argument, and mark the values
that are text as text (:func:`text_parameters`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import yaml

TRUE_WORDS = ('true', '1', 'yes', 'on')
FALSE_WORDS = ('false', '0', 'no', 'off')

#: How ``sim_node`` exits, and what ``sim_policy.launch.py`` makes of it.
EXIT_MEANINGS = {0: 'goal reached (or stopped)', 1: 'timeout: goal not reached',
                 2: 'bad parameter'}


class LaunchArgumentError(ValueError):
    """A launch argument has a value of the wrong form; the message names the argument."""


def as_bool(name: str, text: str) -> bool:
    """Parse ``true``/``false`` (also 1/0, yes/no, on/off)."""
    word = str(text).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise LaunchArgumentError(f"launch argument '{name}': expected true or false, got {text!r}")


def as_int(name: str, text: str, minimum: int | None = None) -> int:
    """Parse an integer, optionally >= ``minimum``."""
    try:
        value = int(str(text).strip())
    except ValueError as error:
        raise LaunchArgumentError(
            f"launch argument '{name}': expected an integer, got {text!r}") from error
    if minimum is not None and value < minimum:
        raise LaunchArgumentError(
            f"launch argument '{name}': expected an integer >= {minimum}, got {value}")
    return value


def as_float(name: str, text: str, minimum: float | None = None,
             exclusive: bool = False) -> float:
    """Parse a finite number, optionally >= (or > with ``exclusive``) ``minimum``."""
    try:
        value = float(str(text).strip())
    except ValueError as error:
        raise LaunchArgumentError(
            f"launch argument '{name}': expected a number, got {text!r}") from error
    if not math.isfinite(value):
        raise LaunchArgumentError(f"launch argument '{name}': expected a finite number, "
                                  f'got {text!r}')
    if minimum is not None and (value <= minimum if exclusive else value < minimum):
        relation = '>' if exclusive else '>='
        raise LaunchArgumentError(
            f"launch argument '{name}': expected a number {relation} {minimum}, got {value}")
    return value


def as_float_list(name: str, text: str) -> list[float] | None:
    """Parse ``[1.0, 2, 3]`` (YAML flow list of numbers); empty text means "not given"."""
    if not str(text).strip():
        return None
    try:
        value = yaml.safe_load(str(text))
    except yaml.YAMLError:
        value = None
    if not isinstance(value, list) or not value or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise LaunchArgumentError(
            f"launch argument '{name}': expected a list of numbers such as [9.0, 2.0, 0.0, 0.0]"
            f', got {text!r}')
    return [float(v) for v in value]


def bridge_names(count: int) -> list[str]:
    """Node names of ``count`` planner bridges: the first keeps the executable's name."""
    return ['planner_bridge_node' if i == 0 else f'planner_bridge_node_{i}'
            for i in range(count)]


def bridge_seed(seed: int, index: int) -> int:
    """Seed of bridge ``index`` when the trainer has ``seed``: all different from each other."""
    return seed + 1 + index


def node_parameters(path: str | Path, node_name: str) -> dict[str, Any]:
    """
    Read the ``<node_name>: ros__parameters:`` block of a ROS parameter file.

    :param path: The YAML file.
    :param node_name: Top-level key.

    :returns: The parameters (empty if the file has no block for the node).
    """
    try:
        tree = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
    except (OSError, yaml.YAMLError) as error:
        raise LaunchArgumentError(f'parameter file {path}: cannot read ({error})') from error
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        raise LaunchArgumentError(f'parameter file {path}: expected a mapping of node names')
    block = tree.get(node_name) or tree.get(f'/{node_name}') or {}
    parameters = block.get('ros__parameters', {}) if isinstance(block, dict) else None
    if not isinstance(parameters, dict):
        raise LaunchArgumentError(
            f"parameter file {path}: '{node_name}: ros__parameters:' must be a mapping")
    return dict(parameters)


def text_parameters(parameters: dict[str, Any],
                    as_text: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """
    Mark the string values of a node's parameters as strings for launch_ros.

    launch_ros releases of Humble and Jazzy read a plain string in a parameter dictionary as YAML
    (ros2/launch_ros#410, #384): a run directory named ``2026_01_02_03_04_05`` would reach the
    node as an integer, ``on`` as a boolean. ``ParameterValue(value, value_type=str)`` keeps it
    text on every release.

    :param parameters: Name -> value, as the launch file built them.
    :param as_text: Wraps one string (default: launch_ros's typed ``ParameterValue``).

    :returns: The parameters, every ``str`` value wrapped.
    """
    if as_text is None:
        # Imported here: the rest of this module is used (and tested) without ROS.
        from launch_ros.parameter_descriptions import ParameterValue

        def as_text(value: str) -> Any:
            return ParameterValue(value, value_type=str)

    return {name: as_text(value) if isinstance(value, str) else value
            for name, value in parameters.items()}


def exit_message(node: str, returncode: int | None) -> str:
    """Explain a node's exit code in a launch log line."""
    meaning = EXIT_MEANINGS.get(returncode, 'failure')
    return f'{node} exited with code {returncode} ({meaning})'
