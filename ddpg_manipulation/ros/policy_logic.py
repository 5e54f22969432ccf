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
What the policy node does, without ROS: state in, bounded actuator targets out.

:class:`PolicyController` is called by the node's control timer at ``control_rate`` Hz. Every
``action_time_step`` it queries the policy for the start and end actions of the next step (with
the previous end action, per the task's action modes) and turns them into the actuator targets
of each control tick by first-order hold: ``sim.actions.first_order_hold``, the same definition
the simulation and the learner use, sub-stepped at the control rate instead of the physics rate.

Safety rules, all here so they are tested without ROS:

* stale input (no state for longer than ``state_timeout``) -> the last command is held (sent
  again) and nothing new is computed; when input is fresh again the next step is planned from
  the new state, starting from the held target;
* a state or goal of the wrong length, with NaN or inf, or joint states with unknown names are
  rejected (:class:`InputError`), the previous input stays in use; quaternions (free and ball
  joints) are normalized, and one whose norm is off by more than 10 % is rejected;
* ``~/state`` takes the full state, or only the object poses of a model with free joints
  (:class:`~ddpg_manipulation.ros.joint_map.PoseMap`: perception), merged over the last known
  state like joint states;
* every command is clipped to the action bounds; a non-finite command is never returned (the
  last command is held instead);
* :meth:`PolicyController.reload` loads a new policy while the loop keeps running and swaps it in
  atomically; if loading or the compatibility check fails, the old policy stays.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import threading
from typing import Any, Callable, Sequence, TYPE_CHECKING

import numpy as np

from ddpg_manipulation.ros.interfaces import ControlPolicy
from ddpg_manipulation.ros.joint_map import JointMap, JointStateError, PoseMap
from ddpg_manipulation.ros.params import (
    at_least,
    device_form,
    non_negative,
    not_empty,
    ParameterError,
    ParamSpec,
    positive,
    task_spec,
)
from ddpg_manipulation.sim.actions import first_order_hold
from ddpg_manipulation.sim.joints import joint_layout
from ddpg_manipulation.sim.state_space import checked_quaternions

if TYPE_CHECKING:
    from ddpg_manipulation.policy import Policy

STATE_INPUTS = ('both', 'state', 'joint_states')
CHECKPOINT_CHOICES = ('best', 'newest')

# What configure reads: a failed configure is fixed with `ros2 param set` and configured again.
_AT_CONFIGURE = '; read at configure'

POLICY_PARAMS = (
    task_spec('task the checkpoint must belong to: bundled task name or task YAML path'
              + _AT_CONFIGURE, read_only=False),
    ParamSpec('checkpoint', 'latest',
              "checkpoint, run or output directory, exported .onnx file, or 'latest' for the "
              'newest run of the task under output_dir; read again by ~/reload', 'str',
              read_only=False, check=not_empty),
    ParamSpec('checkpoint_choice', 'best',
              "which checkpoint of a run: 'best' (the run's result, chosen by validation during "
              "training) or 'newest'", 'str', read_only=False, choices=CHECKPOINT_CHOICES),
    ParamSpec('output_dir', 'runs', "output root searched when checkpoint is 'latest'", 'str',
              read_only=False, check=not_empty),
    ParamSpec('device', 'cpu',
              'torch device of the policy network: cpu, cuda, cuda:N or auto. The CPU answers '
              'one state per action faster than a round trip to a GPU; an .onnx policy always '
              'runs on the CPU' + _AT_CONFIGURE, 'str', read_only=False, check=device_form),
    ParamSpec('control_rate', 100.0,
              'Hz of the command output; control_rate * action_time_step must be a whole number '
              '(the first-order-hold sub-steps per action)' + _AT_CONFIGURE, 'float',
              read_only=False, check=positive),
    ParamSpec('state_timeout', 0.5,
              'seconds without a state message after which the last command is held and a '
              'warning is reported' + _AT_CONFIGURE, 'float', read_only=False, check=positive),
    ParamSpec('goal', [], "goal state [qpos, qvel(, act)]; empty = the task's nominal goal; "
              'replaced by messages on ~/goal' + _AT_CONFIGURE, 'float_list', read_only=False),
    ParamSpec('state_input', 'both',
              'which inputs to subscribe: ~/state (full state), joint_states (by joint name) or '
              'both' + _AT_CONFIGURE, 'str', read_only=False, choices=STATE_INPUTS),
    ParamSpec('ignored_joints', [],
              'joint names to drop from joint_states before mapping (robot joints the model '
              'does not have); any other unknown name rejects the message' + _AT_CONFIGURE,
              'str_list', read_only=False),
    ParamSpec('diagnostics_period', 1.0, 'seconds between two /diagnostics reports', 'float',
              check=positive),
    ParamSpec('auto_reload', False,
              'load every checkpoint announced on ~/checkpoint_updates at once (else only '
              'remember it for the next ~/reload)', 'bool'),
    ParamSpec('threads', 1, 'torch threads for inference (1 gives the steadiest latency)'
              + _AT_CONFIGURE, 'int', read_only=False, check=at_least(1)),
    ParamSpec('warn_period', 2.0, 'seconds between two repeats of the same warning', 'float',
              check=non_negative),
)


class InputError(ValueError):
    """A state, joint-state or goal message was rejected (wrong length, NaN/inf, names)."""


@dataclass
class StepResult:
    """
    What one control tick produced.

    :param command: Actuator targets to publish, or None (nothing to publish yet).
    :param status: ``ok``, ``waiting`` (no state yet), ``stale`` (holding, input too old) or
        ``held`` (holding, the policy gave no usable action).
    :param queried: Whether the policy was queried this tick.
    :param detail: Why a command is held.
    """

    command: np.ndarray | None
    status: str
    queried: bool = False
    detail: str = ''


def substeps_per_action(action_time_step: float, control_rate: float) -> int:
    """
    Control ticks per action step (the first-order-hold sub-steps at the control rate).

    :param action_time_step: Seconds per action.
    :param control_rate: Hz.

    :returns: The whole number of ticks.
    """
    if not (control_rate > 0 and math.isfinite(control_rate)):
        raise ValueError(f'control_rate must be a finite number > 0, got {control_rate}')
    ticks = action_time_step * control_rate
    substeps = int(round(ticks))
    if substeps < 1 or abs(ticks - substeps) > 1e-6 * max(1.0, ticks):
        raise ValueError(
            f'control_rate {control_rate} Hz x action_time_step {action_time_step} s = {ticks:g} '
            'ticks per action; it must be a whole number >= 1 (e.g. control_rate '
            f'{max(1, round(ticks)) / action_time_step:g} Hz)')
    return substeps


class PolicyController:
    """
    Turns states into actuator targets with a policy, at a fixed control rate.

    :param policy: The policy (a ``Policy``, or anything else that is a
        :class:`~ddpg_manipulation.ros.interfaces.ControlPolicy`).
    :param control_rate: Control ticks per second.
    :param state_timeout: Seconds after which the input counts as stale.
    :param goal: Goal state; default None (set it with :meth:`set_goal` before the first tick).
    :param joint_map: Joint names of the model, for :meth:`set_joint_state`.
    :param base_state: State that joint-state messages are merged over until a full state arrives
        (e.g. the task's nominal start); default zeros.
    :param ignored_joints: Joint names dropped from joint-state messages before mapping.
    :param pose_map: The model's free joints, for object poses on :meth:`set_full_state`.
    :param quaternion_slots: The w slot of every quaternion of the state (free and ball joints):
        states and goals have them normalized.
    """

    def __init__(self, policy: ControlPolicy, control_rate: float, state_timeout: float,
                 goal: np.ndarray | None = None, joint_map: JointMap | None = None,
                 base_state: np.ndarray | None = None,
                 ignored_joints: Sequence[str] = (), pose_map: PoseMap | None = None,
                 quaternion_slots: Sequence[int] = ()) -> None:
        if not (state_timeout > 0):
            raise ValueError(f'state_timeout must be > 0, got {state_timeout}')
        self._policy = policy
        self.actions = policy.actions
        self.state_dimension = int(policy.state_dimension)
        self.action_dimension = int(policy.action_dimension)
        self.control_rate = float(control_rate)
        self.substeps = substeps_per_action(self.actions.time_step, self.control_rate)
        self.state_timeout = float(state_timeout)
        self.joint_map = joint_map
        self.pose_map = pose_map
        self.quaternion_slots = [int(i) for i in quaternion_slots]
        self.ignored_joints = frozenset(ignored_joints)
        self._lock = threading.Lock()
        self._state = (np.zeros(self.state_dimension) if base_state is None
                       else self._check_vector(base_state, 'base state'))
        self._observed = np.zeros(self.state_dimension, dtype=bool)
        self._state_time: float | None = None
        self._goal = None if goal is None else self._check_vector(goal, 'goal')
        self._targets: np.ndarray | None = None
        self._index = 0
        self._previous_end: np.ndarray | None = None
        self._last_command: np.ndarray | None = None
        self.queries = 0
        self.rejected_inputs = 0
        self.stale_ticks = 0
        self.held_ticks = 0
        self.reloads = 0

    # -- inputs (any thread) ---------------------------------------------------------------

    def _check_vector(self, values: Any, what: str) -> np.ndarray:
        try:
            vector = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as error:
            raise InputError(f'{what}: not a list of numbers') from error
        if vector.shape[0] != self.state_dimension:
            raise InputError(f'{what}: expected {self.state_dimension} values '
                             f'[qpos, qvel(, act)], got {vector.shape[0]}')
        if not np.all(np.isfinite(vector)):
            raise InputError(f'{what}: holds NaN or inf')
        try:
            return checked_quaternions(vector, self.quaternion_slots, what)
        except ValueError as error:
            raise InputError(str(error)) from error

    def set_full_state(self, values: Any, now: float) -> None:
        """
        Take a full state ``[qpos, qvel(, act)]``, or the object poses alone (``~/state``).

        A vector of the state's length is the full state. Where the model has free joints, a
        vector of 7 values per free joint (``x y z qw qx qy qz``), or 13 (then the velocities),
        is the objects' pose from perception: it is merged over the last known state, as joint
        states are (see :class:`~ddpg_manipulation.ros.joint_map.PoseMap`).

        :param values: The state or the poses.
        :param now: Receipt time in seconds.
        """
        try:
            length = np.asarray(values, dtype=np.float64).reshape(-1).shape[0]
        except (TypeError, ValueError) as error:
            self.rejected_inputs += 1
            raise InputError('state: not a list of numbers') from error
        poses = self.pose_map
        if (poses is not None and length != self.state_dimension
                and length in (poses.pose_length, poses.pose_velocity_length)):
            self._set_pose(values, now)
            return
        try:
            state = self._check_vector(values, 'state')
        except InputError as error:
            self.rejected_inputs += 1
            if poses is not None and poses.pose_length:
                raise InputError(f'{error}, or an object pose of {poses.pose_length} or '
                                 f'{poses.pose_velocity_length} values') from error
            raise
        with self._lock:
            self._state = state
            self._observed[:] = True
            self._state_time = now

    def _set_pose(self, values: Any, now: float) -> None:
        assert self.pose_map is not None  # the caller checked
        with self._lock:
            base = self._state
        try:
            state, written = self.pose_map.merge(base, values)
        except JointStateError as error:
            self.rejected_inputs += 1
            raise InputError(str(error)) from error
        with self._lock:
            self._state[written] = state[written]
            self._observed[written] = True
            self._state_time = now

    def set_joint_state(self, names: Any, positions: Any, velocities: Any, now: float) -> None:
        """
        Merge a joint-state message (by MuJoCo joint name) over the last known state.

        :param names: Joint names, any order, any subset of the model's 1-DoF joints.
        :param positions: One per name, or empty.
        :param velocities: One per name, or empty.
        :param now: Receipt time in seconds.
        """
        if self.joint_map is None:
            self.rejected_inputs += 1
            raise InputError('joint states: this controller has no joint map')
        names = [str(n) for n in names]
        if self.ignored_joints:
            keep = [i for i, n in enumerate(names) if n not in self.ignored_joints]
            positions = _pick(positions, keep, len(names))
            velocities = _pick(velocities, keep, len(names))
            names = [names[i] for i in keep]
        with self._lock:
            base = self._state
        try:
            state, written = self.joint_map.merge(base, names, positions, velocities)
        except JointStateError as error:
            self.rejected_inputs += 1
            raise InputError(f'joint states: {error}') from error
        with self._lock:
            # Only the slots of this message: a full state received meanwhile is kept.
            self._state[written] = state[written]
            self._observed[written] = True
            self._state_time = now

    def set_goal(self, values: Any) -> None:
        """
        Take a goal state (``~/goal``).

        :param values: The goal, same layout as the state.
        """
        try:
            goal = self._check_vector(values, 'goal')
        except InputError:
            self.rejected_inputs += 1
            raise
        with self._lock:
            self._goal = goal

    def unobserved_slots(self) -> list[int]:
        """
        State slots no message has set yet (they hold the base state's values).

        :returns: Slot indices.
        """
        with self._lock:
            return [int(i) for i in np.flatnonzero(~self._observed)]

    def state_age(self, now: float) -> float | None:
        """
        Seconds since the last state input, or None if none arrived.

        :param now: Current time in seconds.

        :returns: Age, or None.
        """
        with self._lock:
            return None if self._state_time is None else now - self._state_time

    # -- control loop (timer thread) -------------------------------------------------------

    def step(self, now: float) -> StepResult:
        """
        Compute the command of one control tick.

        :param now: Current time in seconds (same clock as the input times).

        :returns: The command to publish (or None) and the status.
        """
        with self._lock:
            policy, goal = self._policy, self._goal
            state = self._state.copy()
            stamp = self._state_time
        if stamp is None or goal is None:
            return StepResult(None, 'waiting', detail='no state received yet' if stamp is None
                              else 'no goal set')
        if now - stamp > self.state_timeout:
            self.stale_ticks += 1
            self._abandon_plan()
            return StepResult(self._held(), 'stale',
                              detail=f'last state {now - stamp:.3f} s ago '
                                     f'(state_timeout {self.state_timeout} s)')
        queried = False
        if self.will_query:
            try:
                start_end = np.asarray(
                    policy.start_end_actions(state, goal, self._previous_end), dtype=np.float64)
            except Exception as error:  # noqa: BLE001 - e.g. a refused state: hold, keep running
                self.held_ticks += 1
                self._abandon_plan()
                return StepResult(self._held(), 'held', detail='policy query failed: '
                                  f'{type(error).__name__}: {error}')
            if start_end.shape != (2, self.action_dimension) or not np.all(
                    np.isfinite(start_end)):
                self.held_ticks += 1
                self._abandon_plan()
                return StepResult(self._held(), 'held',
                                  detail='policy returned a non-finite or misshapen action')
            self._targets = first_order_hold(start_end[None, None], self.substeps)[0]
            self._previous_end = start_end[1].copy()
            self._index = 0
            self.queries += 1
            queried = True
        command = self.safe_command(self._targets[self._index])
        self._index += 1
        if command is None:
            self.held_ticks += 1
            self._abandon_plan()
            return StepResult(self._held(), 'held', queried, 'non-finite target')
        self._last_command = command
        return StepResult(command.copy(), 'ok', queried)

    @property
    def will_query(self) -> bool:
        """Whether the next fresh tick queries the policy (else it interpolates)."""
        return self._targets is None or self._index >= self._targets.shape[0]

    def safe_command(self, command: np.ndarray) -> np.ndarray | None:
        """
        Clip a command to the action bounds; None if it is not finite.

        :param command: Actuator targets.

        :returns: Clipped targets, or None.
        """
        command = np.asarray(command, dtype=np.float64).reshape(-1)
        if command.shape[0] != self.action_dimension or not np.all(np.isfinite(command)):
            return None
        return np.clip(command, self.actions.lower, self.actions.upper)

    def _held(self) -> np.ndarray | None:
        return None if self._last_command is None else self._last_command.copy()

    def _abandon_plan(self) -> None:
        # Re-plan from the next fresh state, starting from the target actually held.
        self._targets = None
        self._index = 0
        if self._last_command is not None:
            self._previous_end = self._last_command.copy()

    def reset(self) -> None:
        """Forget the current plan and the last command (e.g. on deactivation)."""
        self._targets = None
        self._index = 0
        self._previous_end = None
        self._last_command = None

    # -- reload (service thread) -----------------------------------------------------------

    @property
    def policy(self) -> ControlPolicy:
        """Return the policy in use."""
        with self._lock:
            return self._policy

    def check_compatible(self, policy: ControlPolicy) -> None:
        """
        Raise ValueError unless a policy can replace the current one.

        :param policy: The candidate.
        """
        current = self.policy
        for name in ('state_dimension', 'action_dimension'):
            if int(getattr(policy, name)) != int(getattr(current, name)):
                raise ValueError(f'{name} {getattr(policy, name)} differs from the running '
                                 f'policy ({getattr(current, name)})')
        old, new = current.actions, policy.actions
        same = (np.allclose(old.lower, new.lower) and np.allclose(old.upper, new.upper)
                and abs(old.time_step - new.time_step) < 1e-12)
        if not same:
            raise ValueError('action bounds or action time step differ from the running policy')
        old_task = (current.metadata or {}).get('task')
        new_task = (policy.metadata or {}).get('task')
        if old_task and new_task and old_task != new_task:
            raise ValueError(f'task {new_task!r} differs from the running task {old_task!r}')

    def swap_policy(self, policy: ControlPolicy) -> None:
        """
        Replace the policy atomically; the control loop continues with the next query.

        :param policy: The new policy (checked with :meth:`check_compatible`).
        """
        self.check_compatible(policy)
        with self._lock:
            self._policy = policy
        self.reloads += 1

    def reload(self, load: Callable[[], ControlPolicy]) -> tuple[bool, str]:
        """
        Load a policy and swap it in; on any failure keep the old one.

        :param load: Returns the new policy (may raise).

        :returns: Success and a message for the caller (the service response).
        """
        try:
            policy = load()
            self.swap_policy(policy)
        except Exception as error:  # noqa: BLE001 - any load failure keeps the old policy
            return False, (f'reload failed, keeping {describe_policy(self.policy)}: '
                           f'{type(error).__name__}: {error}')
        return True, f'loaded {describe_policy(policy)}'

    # -- reporting -------------------------------------------------------------------------

    def status(self, now: float) -> dict[str, Any]:
        """
        Figures for diagnostics.

        :param now: Current time in seconds.

        :returns: Name -> value.
        """
        age = self.state_age(now)
        return {
            'checkpoint': describe_policy(self.policy),
            'state_age': 'none' if age is None else f'{age:.3f}',
            'queries': self.queries,
            'rejected_inputs': self.rejected_inputs,
            'stale_ticks': self.stale_ticks,
            'held_ticks': self.held_ticks,
            'reloads': self.reloads,
            'unobserved_state_slots': len(self.unobserved_slots()),
        }


def _pick(values: Any, keep: list[int], count: int) -> Any:
    # Only a list with one value per name is filtered; others go on to fail the length check.
    values = list(values)
    return [values[i] for i in keep] if len(values) == count else values


def describe_policy(policy: ControlPolicy) -> str:
    """
    Name a policy by its checkpoint path and epoch.

    :param policy: The policy.

    :returns: A short description.
    """
    metadata = getattr(policy, 'metadata', None) or {}
    path = metadata.get('path', '<in memory>')
    epoch = metadata.get('epoch')
    return f'{path} (epoch {epoch})' if epoch is not None else str(path)


def resolve_checkpoint(checkpoint: str, output_dir: str, task_name: str,
                       newest: bool = False) -> str:
    """
    Turn the ``checkpoint`` parameter into a checkpoint location.

    :param checkpoint: A checkpoint, run or output directory, an fsspec URL, or ``latest``.
    :param output_dir: Searched when ``checkpoint`` is ``latest``.
    :param task_name: Only checkpoints of this task count for ``latest``.
    :param newest: Take a run's newest checkpoint rather than its best.

    :returns: The location to load.
    """
    from ddpg_manipulation.learning import checkpoint as ckpt

    if checkpoint.strip() == 'latest':
        return str(ckpt.resolve(output_dir, task_name, newest))
    return checkpoint


def load_policy(checkpoint: str, output_dir: str, task: str, threads: int = 1,
                device: str = 'cpu', choice: str = 'best') -> Policy:
    """
    Resolve and load a checkpoint or an exported ``.onnx`` policy for a task.

    A checkpoint's manifest is checked against the task (and needs torch and MuJoCo); an
    ``.onnx`` file is checked by its metadata and runs with onnxruntime and numpy only.

    :param checkpoint: ``checkpoint`` parameter.
    :param output_dir: ``output_dir`` parameter.
    :param task: Task name or YAML path.
    :param threads: Inference threads (torch intra-op threads, or onnxruntime's).
    :param device: ``device`` parameter (torch checkpoints only).
    :param choice: ``checkpoint_choice`` parameter: ``best`` or ``newest`` of a run.

    :returns: The ``Policy`` (a checkpoint's has ``params``, the task's ParameterContainer).
    """
    from ddpg_manipulation.policy import Policy

    if checkpoint.strip().lower().endswith('.onnx'):
        if device != 'cpu':
            raise ParameterError(f"parameter 'device' {device!r}: an exported .onnx policy runs "
                                 'with onnxruntime on the CPU')
        return Policy.load_onnx(checkpoint.strip(), task=task, threads=threads)
    import torch

    from ddpg_manipulation.config import ParameterContainer

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    params = ParameterContainer(task)
    newest = choice == 'newest'
    location = resolve_checkpoint(checkpoint, output_dir, params.task_name, newest)
    return Policy.load(location, task, device=device, newest=newest)


@dataclass
class TaskContext:
    """
    What the policy node takes from the task besides the policy itself.

    :param goal: The nominal goal (used until a goal message arrives).
    :param start_state: The nominal start (the base that joint states are merged into).
    :param joint_map: Joint names -> state slots.
    :param actuated_joint_names: The joint of each actuator, in command order.
    :param pose_map: Free joints (object poses) -> state slots.
    :param quaternion_slots: The w slot of each quaternion of the state.
    """

    goal: list[float]
    start_state: list[float]
    joint_map: JointMap
    actuated_joint_names: list[str]
    pose_map: PoseMap | None = None
    quaternion_slots: tuple[int, ...] = ()

    @classmethod
    def of(cls, policy: ControlPolicy) -> TaskContext:
        """
        Read the context from a policy: its task parameters, or an exported file's metadata.

        :param policy: A loaded policy: a checkpoint's has ``params``, an exported file's
            ``metadata`` holds the rest.

        :returns: The context.
        """
        params = getattr(policy, 'params', None)
        layout: dict[str, Any]
        if params is not None:
            layout = joint_layout(params.model)
            goal, start = list(params.goal_state), list(params.start_state)
            size = int(params.state_dimension)
        else:
            layout = dict(policy.metadata)  # exported: everything is in the file
            goal, start = list(layout['goal_state']), list(layout['start_state'])
            size = int(layout['state_dimension'])
        return cls(goal, start, JointMap.from_layout(layout, size),
                   list(layout['actuated_joint_names']), PoseMap.from_layout(layout, size),
                   tuple(int(i) for i in layout.get('quaternion_qpos_index', [])))
