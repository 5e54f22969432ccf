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

A task YAML is a nested mapping whose sections and keys must all exist in ``tasks/defaults.yaml``.
The values are exposed flat, ``section.key`` as ``params.section_key``, the names the seed
learner uses (``params.learner_trajectory_length``, ``params.action_range``, ...).

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
from typing import Any, Iterable, Mapping

import mujoco
import numpy as np
import yaml

from ddpg_manipulation.errors import PackageError

TASKS_DIR = Path(__file__).resolve().parent / 'tasks'
DEFAULTS_FILE = TASKS_DIR / 'defaults.yaml'

# String fields that take one of a fixed set of values.
CHOICES: dict[str, tuple[str, ...]] = {
    'action.start_mode': ('current', 'previous'),
    'action.end_mode': ('current', 'previous'),
    'learner.reward_type': ('sparse', 'dense'),
    'learner.injection_strategy': ('initial', 'fixed', 'decreasing'),
}

# Vector fields and the model size their length must match.
STATE_VECTORS = (
    'start.state', 'start.bound_lower', 'start.bound_upper',
    'goal.state', 'goal.bound_lower', 'goal.bound_upper',
    'reward.distance_scaling',
)
ACTION_VECTORS = ('action.bound_lower', 'action.bound_upper', 'action.range')
FIXED_LENGTH_VECTORS = {'planner.action_distribution': 4}

# Scalars that must be positive, or lie within [0, 1].
POSITIVE = (
    'action.time_step', 'learner.cycles', 'learner.rollouts', 'learner.batches',
    'learner.batch_size', 'learner.trajectory_length', 'learner.evals', 'learner.nlayers',
    'learner.layer_width', 'learner.actor_lr', 'learner.critic_lr', 'learner.replay_capacity',
    'learner.final_success_distance', 'learner.normalizer_clip', 'learner.checkpoint_every',
    'planner.max_main_nodes', 'planner.steps_per_goal', 'planner.extensions',
    'planner.action_steps_max', 'planner.termination_distance', 'planner.finite_diff_eps',
    'planner.demonstrations', 'planner.searches',
)
NON_NEGATIVE = (
    'learner.epochs', 'learner.initial_injections', 'learner.threads', 'model.nthread',
    'learner.noise_std', 'learner.action_l2', 'planner.num_sub_goals', 'planner.gradient_step',
    'reward.proximity_scaling', 'reward.reachability_scaling', 'planner.cell_size',
    'planner.demonstration_hold',
)
UNIT_INTERVAL = (
    'learner.tau', 'learner.discount', 'learner.random_eps', 'learner.her_probability',
    'learner.max_planner_experience_share', 'planner.pareto_bias',
)

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


def _flatten(tree: Mapping[str, Any]) -> dict[str, Any]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            for sub_key, sub_value in value.items():
                flat[f'{key}.{sub_key}'] = sub_value
        else:
            flat[key] = value
    return flat


def _safe_load(path: Path) -> Any:
    try:
        text = path.read_text(encoding='utf-8')
    except FileNotFoundError:
        raise ConfigError(f'{path}: file not found') from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f'{path}: cannot read ({error})') from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        # Covers syntax errors and tags such as !!python/object, which the safe loader refuses.
        raise ConfigError(f'{path}: not valid YAML for a task file: {error}') from None


def load_defaults() -> dict[str, Any]:
    """
    Read the defaults of every parameter.

    :returns: Flat mapping ``section.key`` -> default value.
    """
    return _flatten(_safe_load(DEFAULTS_FILE))


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
            f'--set {assignment!r}: value is not valid YAML data ({error})') from None
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


class ParameterContainer:
    """
    Typed, validated parameters of one task, exposed under the seed's flat names.

    :param task: Bundled task name (``box_push``) or path to a task YAML.
    :param overrides: Extra values, as a nested mapping or flat ``{'learner.batches': 20}``; they
        are validated like the file's own values.
    """

    def __init__(
        self, task: str | os.PathLike = 'box_push', overrides: Mapping[str, Any] | None = None
    ) -> None:
        self.task_file = resolve_task_file(task)
        self.task_name = self.task_file.stem
        defaults = load_defaults()
        tree = _safe_load(self.task_file)
        if tree is None:
            tree = {}
        if not isinstance(tree, Mapping):
            raise ConfigError(f'{self.task_file}: expected a mapping of sections at the top level')
        values = dict(defaults)
        self._merge(values, defaults, tree, str(self.task_file))
        if overrides:
            self._merge(values, defaults, overrides, 'overrides')
        self._values = values
        self._load_model()
        self._check_model_sizes()
        self._check_bounds()
        try:
            self.actuated_qpos = actuated_qpos_indices(self.model, self.model_path)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        for dotted, value in values.items():
            setattr(self, dotted.replace('.', '_'), value)

    # -- loading ---------------------------------------------------------------------------

    @staticmethod
    def _merge(
        values: dict[str, Any], defaults: dict[str, Any], tree: Mapping[str, Any], source: str
    ) -> None:
        for dotted, raw in _nested_or_flat(tree, source):
            if dotted not in defaults:
                hint = difflib.get_close_matches(dotted, defaults, n=1)
                suggestion = f'; did you mean {hint[0]!r}?' if hint else ''
                raise ConfigError(f'{source}: unknown key {dotted!r}{suggestion}')
            values[dotted] = _coerce(raw, defaults[dotted], dotted, source)

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
            ) from None

    def _check_model_sizes(self) -> None:
        state_size = self.model.nq + self.model.nv + self.model.na
        expected = dict.fromkeys(STATE_VECTORS, state_size)
        expected.update(dict.fromkeys(ACTION_VECTORS, self.model.nu))
        expected.update(FIXED_LENGTH_VECTORS)
        for key, size in expected.items():
            length = len(self._values[key])
            if length != size:
                what = 'state size nq+nv+na' if key in STATE_VECTORS else 'actuator count nu'
                if key in FIXED_LENGTH_VECTORS:
                    what = 'fixed length'
                raise ConfigError(
                    f'{self.task_file}: key {key!r}: expected a list of {size} numbers '
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
            lower, upper = v[f'{prefix}.bound_lower'], v[f'{prefix}.bound_upper']
            outside = (state < lower) | (state > upper)
            if np.any(outside):
                i = int(np.argmax(outside))
                raise ConfigError(
                    f"{self.task_file}: key '{prefix}.state': nominal value {state[i]} at "
                    f'index {i} lies outside its sampling bounds [{lower[i]}, {upper[i]}]'
                )
        checks = (
            (POSITIVE, lambda x: x > 0, 'a number > 0'),
            (NON_NEGATIVE, lambda x: x >= 0, 'a number >= 0'),
            (UNIT_INTERVAL, lambda x: 0 <= x <= 1, 'a number in [0, 1]'),
        )
        for keys, ok, form in checks:
            for key in keys:
                if not ok(v[key]):
                    raise ConfigError(f'{self.task_file}: key {key!r}: expected {form}, '
                                      f'got {v[key]}')
        for key in ('reward.distance_scaling', 'action.range', 'planner.action_distribution'):
            if np.any(v[key] < 0):
                raise ConfigError(f'{self.task_file}: key {key!r}: expected numbers >= 0')
        if not np.any(v['reward.distance_scaling'] > 0):
            raise ConfigError(f"{self.task_file}: key 'reward.distance_scaling': expected at "
                              'least one positive entry')
        if not np.sum(v['planner.action_distribution']) > 0:
            raise ConfigError(f"{self.task_file}: key 'planner.action_distribution': expected "
                              'at least one positive weight')

    # -- access ----------------------------------------------------------------------------

    @property
    def state_dimension(self) -> int:
        """Size of the state vector ``[qpos, qvel(, act)]`` of the task's model."""
        return self.model.nq + self.model.nv + self.model.na

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


def _coerce(raw: Any, default: Any, key: str, source: str) -> Any:
    where = f'{source}: key {key!r}'
    if isinstance(default, bool):
        if not isinstance(raw, bool):
            raise ConfigError(f'{where}: expected true or false, got {raw!r}')
        return raw
    if isinstance(default, int):
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ConfigError(f'{where}: expected an integer, got {raw!r}')
        return raw
    if isinstance(default, float):
        return _number(raw, where)
    if isinstance(default, str):
        if not isinstance(raw, str):
            raise ConfigError(f'{where}: expected a string, got {raw!r}')
        choices = CHOICES.get(key)
        if choices and raw not in choices:
            raise ConfigError(f'{where}: expected one of {", ".join(choices)}, got {raw!r}')
        return raw
    if isinstance(default, list):
        if not isinstance(raw, list):
            raise ConfigError(f'{where}: expected a list of numbers, got {raw!r}')
        return [_number(item, f'{where}[{i}]') for i, item in enumerate(raw)]
    raise ConfigError(f'{where}: unsupported default type {type(default).__name__}')


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
