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
Task configuration: task YAML -> typed, validated parameters.

A task YAML is a nested mapping whose sections and keys must all be declared in
``parameters.py`` (their reference is the generated ``tasks/defaults.yaml``). The values are
exposed flat, ``section.key`` as ``params.section_key``, the names the seed learner uses
(``params.learner_trajectory_length``, ``params.action_range``, ...), as the attributes that
:class:`~ddpg_manipulation.parameters.Parameters` declares with their types.

Nothing in a configuration is ever executed: YAML is read with the safe loader (no tags), and
the only interpreted strings are the literal multiples of pi documented in ``defaults.yaml``.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import os
from pathlib import Path
import re
import typing
from typing import Any, Iterable, Mapping

import mujoco
import numpy as np
import yaml

from ddpg_manipulation.errors import PackageError
from ddpg_manipulation.parameters import DECLARATIONS, Key, Parameters
from ddpg_manipulation.sim.state_space import NORM_TOLERANCE, StateSpace

TASKS_DIR = Path(__file__).resolve().parent / 'tasks'

_PI_LITERAL = re.compile(
    r'^\s*(?P<sign>[-+]?)\s*(?:(?P<mul>\d+(?:\.\d*)?)\s*\*\s*)?pi'
    r'(?:\s*/\s*(?P<div>\d+(?:\.\d*)?))?\s*$'
)


class ConfigError(PackageError, ValueError):
    """A task configuration is malformed; the message names the file, key and expected form."""


def parse_number(text: str) -> float | None:
    """
    Parse the literal forms ``pi``, ``-pi/2``, ``2*pi``, ``3*pi/4`` without evaluating them.

    :param text: The string found in a number field.

    :returns: The value, or None if the text is not one of the literal forms.
    """
    match = _PI_LITERAL.match(text)
    if match is None:
        return None
    value = math.pi * float(match['mul'] or 1.0) / float(match['div'] or 1.0)
    return -value if match['sign'] == '-' else value


def _safe_load(path: Path) -> Any:
    try:
        text = path.read_text(encoding='utf-8')
    except FileNotFoundError as error:
        raise ConfigError(f'{path}: file not found') from error
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f'{path}: cannot read ({error})') from error
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        # Covers syntax errors and tags such as !!python/object, which the safe loader refuses.
        raise ConfigError(f'{path}: not valid YAML for a task file: {error}') from error


def load_defaults() -> dict[str, Any]:
    """
    Return the defaults of every parameter, as declared in ``parameters.py``.

    :returns: Flat mapping ``section.key`` -> default value, in declaration order.
    """
    return {dotted: copy.deepcopy(key.default) for dotted, key in DECLARATIONS.items()}


def resolve_task_file(task: str | os.PathLike) -> Path:
    """
    Find a task YAML: a bundled task name (``box_push``) or a path to a ``.yaml`` file.

    :param task: Task name or path.

    :returns: Absolute path of the YAML file.
    """
    text = str(task)
    if text.endswith(('.yaml', '.yml')) or os.sep in text:
        path = Path(text).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f'{path}: task file not found')
        return path
    path = TASKS_DIR / f'{text}.yaml'
    if text == 'defaults' or not path.is_file():
        raise ConfigError(
            f'unknown task {text!r}: expected one of {", ".join(bundled_tasks())} or a path '
            'to a task .yaml file'
        )
    return path


def bundled_tasks() -> list[str]:
    """
    List the names of the tasks shipped with the package.

    :returns: Sorted task names.
    """
    return sorted(p.stem for p in TASKS_DIR.glob('*.yaml') if p.stem != 'defaults')


def parse_set(assignment: str) -> tuple[str, Any]:
    """
    Parse a command-line override ``section.key=value``; the value is read as YAML data.

    :param assignment: Text such as ``learner.batches=20`` or ``action.range=[1, 2]``.

    :returns: The dotted key and the parsed value.
    """
    key, sep, text = assignment.partition('=')
    if not sep or not key.strip():
        raise ConfigError(f'--set {assignment!r}: expected the form section.key=value')
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(
            f'--set {assignment!r}: value is not valid YAML data ({error})') from error
    return key.strip(), value


def actuated_qpos_indices(model: mujoco.MjModel, where: object = 'model') -> list[int]:
    """
    Positions of the actuated joints inside the state ``[qpos, qvel(, act)]``.

    :param model: The MuJoCo model.
    :param where: Name of the model file, for the error message.

    :returns: One qpos index per actuator, in actuator order.
    """
    indices = []
    for actuator in range(model.nu):
        if model.actuator_trntype[actuator] != mujoco.mjtTrn.mjTRN_JOINT:
            raise ValueError(
                f'{where}: actuator {actuator} does not act on a joint; only joint actuators '
                'are supported'
            )
        indices.append(int(model.jnt_qposadr[model.actuator_trnid[actuator, 0]]))
    return indices


class ParameterContainer(Parameters):
    """
    Typed, validated parameters of one task, exposed under the seed's flat names.

    The parameters themselves are the attributes declared in
    :class:`~ddpg_manipulation.parameters.Parameters`; the task and its model are added here.

    :param task: Bundled task name (``box_push``) or path to a task YAML.
    :param overrides: Extra values, as a nested mapping or flat ``{'learner.batches': 20}``; they
        are validated like the file's own values.
    """

    task_file: Path
    task_name: str
    model_path: Path
    model: mujoco.MjModel
    state_space: StateSpace
    actuated_qpos: list[int]

    def __init__(
        self, task: str | os.PathLike = 'box_push', overrides: Mapping[str, Any] | None = None
    ) -> None:
        self.task_file = resolve_task_file(task)
        self.task_name = self.task_file.stem
        tree = _safe_load(self.task_file)
        if tree is None:
            tree = {}
        if not isinstance(tree, Mapping):
            raise ConfigError(f'{self.task_file}: expected a mapping of sections at the top level')
        values = load_defaults()
        self._merge(values, tree, str(self.task_file))
        if overrides:
            self._merge(values, overrides, 'overrides')
        # The record of what was loaded: to_dict() and config_hash() read it, not the attributes.
        self._values = values
        self._load_model()
        self.state_space = StateSpace.from_model(self.model)
        self._check_model_sizes()
        self._check_bounds()
        self._check_constraints()
        try:
            self.actuated_qpos = actuated_qpos_indices(self.model, self.model_path)
        except ValueError as error:
            raise ConfigError(str(error)) from error
        for dotted, key in DECLARATIONS.items():
            setattr(self, key.name, values[dotted])

    # -- loading ---------------------------------------------------------------------------

    @staticmethod
    def _merge(values: dict[str, Any], tree: Mapping[str, Any], source: str) -> None:
        for dotted, raw in _nested_or_flat(tree, source):
            if dotted not in DECLARATIONS:
                hint = difflib.get_close_matches(dotted, DECLARATIONS, n=1)
                suggestion = f'; did you mean {hint[0]!r}?' if hint else ''
                raise ConfigError(f'{source}: unknown key {dotted!r}{suggestion}')
            values[dotted] = _coerce(raw, DECLARATIONS[dotted], source)

    def _load_model(self) -> None:
        filename = self._values['model.filename']
        if not filename:
            raise ConfigError(f"{self.task_file}: key 'model.filename' must name an MJCF file")
        self.model_path = (self.task_file.parent / filename).resolve()
        if not self.model_path.is_file():
            raise ConfigError(
                f"{self.task_file}: key 'model.filename': MJCF file {self.model_path} not found"
            )
        try:
            self.model = mujoco.MjModel.from_xml_path(str(self.model_path))
        except ValueError as error:
            raise ConfigError(
                f"{self.task_file}: key 'model.filename': MJCF file {self.model_path} does "
                f'not load: {error}'
            ) from error

    def _check_model_sizes(self) -> None:
        model_sizes = {
            'state': (self.state_dimension, 'state size nq+nv+na'),
            'tangent': (self.tangent_dimension, 'degrees of freedom 2nv+na'),
            'action': (self.action_dimension, 'actuator count nu'),
        }
        for dotted, key in DECLARATIONS.items():
            if key.size is None:
                continue
            size, what = (model_sizes[key.size] if isinstance(key.size, str)
                          else (key.size, 'fixed length'))
            length = len(self._values[dotted])
            if length != size:
                raise ConfigError(
                    f'{self.task_file}: key {dotted!r}: expected a list of {size} numbers '
                    f'({what} of {self.model_path.name}), got {length}'
                )

    def _check_bounds(self) -> None:
        v = {k: np.asarray(x) if isinstance(x, list) else x for k, x in self._values.items()}
        for prefix in ('start', 'goal', 'action'):
            lower, upper = v[f'{prefix}.bound_lower'], v[f'{prefix}.bound_upper']
            if np.any(lower > upper):
                i = int(np.argmax(lower > upper))
                raise ConfigError(
                    f"{self.task_file}: keys '{prefix}.bound_lower'/'{prefix}.bound_upper': "
                    f'lower bound {lower[i]} > upper bound {upper[i]} at index {i}'
                )
        for prefix in ('start', 'goal'):
            state = v[f'{prefix}.state']
            self._check_quaternions(state, f'{prefix}.state')
            lower, upper = v[f'{prefix}.bound_lower'], v[f'{prefix}.bound_upper']
            # Orientations compare as roll, pitch, yaw, each taken modulo 2 pi nearest its
            # bounds; elsewhere these are the state's own values.
            coordinates = self.state_space.angle_coordinates(state, lower, upper)
            slack = np.zeros_like(lower)
            slack[self.state_space.rotation_dofs()] = 1e-9  # angles read back from a quaternion
            outside = (coordinates < lower - slack) | (coordinates > upper + slack)
            if np.any(outside):
                i = int(np.argmax(outside))
                slot = self.state_space.bound_names[i] if self.state_space.has_quaternions else ''
                where = f'index {i} ({slot})' if slot else f'index {i}'
                raise ConfigError(
                    f"{self.task_file}: key '{prefix}.state': nominal value {coordinates[i]} at "
                    f'{where} lies outside its sampling bounds [{lower[i]}, {upper[i]}]'
                )

    def _check_quaternions(self, state: np.ndarray, dotted: str) -> None:
        for quaternion in self.state_space.quaternions:
            block = state[quaternion.qpos:quaternion.qpos + 4]
            norm = float(np.linalg.norm(block))
            if abs(norm - 1.0) > NORM_TOLERANCE:
                unit = ', '.join(f'{x:.16g}' for x in block / norm) if norm > 0 else '1, 0, 0, 0'
                raise ConfigError(
                    f'{self.task_file}: key {dotted!r}: the quaternion of joint '
                    f'{quaternion.joint!r} (indices {quaternion.qpos}-{quaternion.qpos + 3}, w x '
                    f'y z) has norm {norm:.9g}, expected 1 within {NORM_TOLERANCE:g} (e.g. '
                    f'[{unit}])'
                )

    def _check_constraints(self) -> None:
        for dotted, key in DECLARATIONS.items():
            value = self._values[dotted]
            for check in key.checks:
                if not check.ok(value):
                    message = check.message.format(value=value)
                    raise ConfigError(f'{self.task_file}: key {dotted!r}: {message}')

    # -- access ----------------------------------------------------------------------------

    @property
    def state_dimension(self) -> int:
        """Size of the state vector ``[qpos, qvel(, act)]`` of the task's model."""
        return self.model.nq + self.model.nv + self.model.na

    @property
    def tangent_dimension(self) -> int:
        """Degrees of freedom of the state ``2nv+na``: the length of scalings and bounds."""
        return 2 * self.model.nv + self.model.na

    @property
    def action_dimension(self) -> int:
        """Return the number of actuators of the task's model."""
        return self.model.nu

    def to_dict(self) -> dict[str, dict[str, Any] | Any]:
        """
        Return the parameters as the nested mapping a task YAML holds.

        :returns: Nested mapping of plain Python values.
        """
        tree: dict[str, Any] = {}
        for dotted, value in self._values.items():
            section, _, key = dotted.rpartition('.')
            if section:
                tree.setdefault(section, {})[key] = copy.deepcopy(value)
            else:
                tree[key] = copy.deepcopy(value)
        return tree

    def config_hash(self) -> str:
        """
        Hash what defines the task (model and task parameters), not the training schedule.

        Two runs with different epochs or seeds share a hash; a checkpoint is loadable where the
        hash of the task it was trained on equals the hash of the task it is used with.

        :returns: Hex sha256 over the model file and the task-defining parameters.
        """
        defining = {
            k: v for k, v in self._values.items()
            if k.split('.')[0] in ('start', 'goal', 'reward', 'action')
        }
        digest = hashlib.sha256(self.model_path.read_bytes())
        digest.update(json.dumps(defining, sort_keys=True).encode())
        return digest.hexdigest()

    def with_overrides(self, overrides: Mapping[str, Any]) -> ParameterContainer:
        """
        Return a new container with the same task file and further overrides applied.

        :param overrides: Values as for the constructor.

        :returns: The new container; this one is unchanged.
        """
        merged = dict(self._values)
        merged.update(_flatten_any(overrides))
        return ParameterContainer(self.task_file, merged)

    def __repr__(self) -> str:
        return f'ParameterContainer(task={self.task_name!r}, file={str(self.task_file)!r})'


def _flatten_any(tree: Mapping[str, Any]) -> dict[str, Any]:
    return dict(_nested_or_flat(tree, 'overrides'))


def _nested_or_flat(tree: Mapping[str, Any], source: str) -> Iterable[tuple[str, Any]]:
    for key, value in tree.items():
        if not isinstance(key, str):
            raise ConfigError(f'{source}: key {key!r}: expected a string key')
        if isinstance(value, Mapping) and '.' not in key:
            for sub_key, sub_value in value.items():
                if not isinstance(sub_key, str):
                    raise ConfigError(f'{source}: key {key}.{sub_key!r}: expected a string key')
                yield f'{key}.{sub_key}', sub_value
        else:
            yield key, value


def _coerce(raw: Any, key: Key, source: str) -> Any:
    where = f'{source}: key {key.dotted!r}'
    if key.annotation is bool:
        if not isinstance(raw, bool):
            raise ConfigError(f'{where}: expected true or false, got {raw!r}')
        return raw
    if key.annotation is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ConfigError(f'{where}: expected an integer, got {raw!r}')
        return raw
    if key.annotation is float:
        return _number(raw, where)
    if key.annotation is str or key.choices:
        if not isinstance(raw, str):
            raise ConfigError(f'{where}: expected a string, got {raw!r}')
        if key.choices and raw not in key.choices:
            raise ConfigError(f'{where}: expected one of {", ".join(key.choices)}, got {raw!r}')
        return raw
    if typing.get_origin(key.annotation) is list:
        if not isinstance(raw, list):
            raise ConfigError(f'{where}: expected a list of numbers, got {raw!r}')
        return [_number(item, f'{where}[{i}]') for i, item in enumerate(raw)]
    raise ConfigError(f'{where}: unsupported declared type {key.annotation}')


def _number(raw: Any, where: str) -> float:
    if isinstance(raw, bool):
        raise ConfigError(f'{where}: expected a number, got {raw!r}')
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str):
        parsed = parse_number(raw)
        if parsed is None:
            raise ConfigError(
                f'{where}: expected a number (or a literal such as pi/2), got {raw!r}; '
                'expressions are never evaluated'
            )
        value = parsed
    else:
        raise ConfigError(f'{where}: expected a number, got {raw!r}')
    if not math.isfinite(value):
        raise ConfigError(f'{where}: expected a finite number, got {raw!r}')
    return value
