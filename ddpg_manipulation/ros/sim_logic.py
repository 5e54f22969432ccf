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
What the sim node does, without ROS: a task's MuJoCo model stepped against the wall clock.

One :class:`SimController` owns an ``MjData``. The node's timer calls :meth:`SimController.
advance` with the wall-clock time; it runs as many physics steps (``mj_step`` with ``nstep``,
at the model timestep) as bring the simulated time to ``real_time_factor`` x the elapsed wall
time, at most ``max_steps_per_tick`` per call (if the machine cannot keep up, the simulation
slows down instead of trying to catch up in bursts).

Commands are actuator targets (``ctrl``, one per actuator, the ros2_control forward command
format). A command with the wrong length or NaN/inf is rejected; targets are clipped to the
actuators' control range and the task's action bounds; between commands, and when commands stop
(stale), the last one is held.

The goal check uses the task's relative distance (DESIGN.md, "Rewards and success"): scaled
distance (state, goal) / scaled distance (start, goal), with the diagonal
``reward.distance_scaling``; the goal is reached when it falls below ``success_distance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, TYPE_CHECKING

import mujoco
import numpy as np

from ddpg_manipulation.ros.joint_map import JointMap
from ddpg_manipulation.ros.params import (
    at_least,
    non_negative,
    ParamSpec,
    positive,
    task_spec,
)
from ddpg_manipulation.sim.state_space import StateSpace

if TYPE_CHECKING:
    from ddpg_manipulation.config import ParameterContainer

# A vector as it arrives: a message's array, a parameter's list, or numpy.
Vector = Sequence[float] | np.ndarray

SIM_PARAMS = (
    task_spec(),
    ParamSpec('real_time_factor', 1.0, 'simulated seconds per wall-clock second', 'float',
              check=positive),
    ParamSpec('publish_rate', 100.0, 'Hz of the stepping timer and of ~/state and joint_states',
              'float', check=positive),
    ParamSpec('command_timeout', 0.5,
              'seconds without a command after which the (held) command is reported stale; '
              '0 = never', 'float', check=non_negative),
    ParamSpec('start_state', [], "initial state [qpos, qvel(, act)]; empty = the task's "
              'nominal start', 'float_list'),
    ParamSpec('goal', [], "goal watched for success; empty = the task's nominal goal",
              'float_list'),
    ParamSpec('success_distance', 0.0,
              "relative distance below which the goal counts as reached; 0 = the task's "
              'learner.final_success_distance', 'float', check=non_negative),
    ParamSpec('exit_on_success', False,
              'exit with code 0 once the goal is reached (sim_policy.launch.py sets it)', 'bool'),
    ParamSpec('timeout', 0.0,
              'wall-clock seconds after start: exit with code 1 if the goal has not been reached '
              'by then; 0 = no timeout', 'float', check=non_negative),
    ParamSpec('wait_for_command', False,
              'hold the simulation (still publishing the state) until the first command arrives',
              'bool'),
    ParamSpec('max_steps_per_tick', 1000,
              'most physics steps per timer tick; beyond it the simulation falls behind real '
              'time instead of bursting', 'int', check=at_least(1)),
    ParamSpec('warn_period', 2.0, 'seconds between two repeats of the same warning', 'float',
              check=non_negative),
)


class CommandError(ValueError):
    """A command message was rejected (wrong length, NaN/inf)."""


@dataclass
class Outcome:
    """How a run ended: ``success`` (exit 0) or ``timeout`` (exit 1), with the distance."""

    kind: str
    relative_distance: float
    sim_time: float
    wall_time: float

    @property
    def exit_code(self) -> int:
        """Process exit code of the outcome."""
        return 0 if self.kind == 'success' else 1


def relative_distance(state: np.ndarray, goal: np.ndarray, start: np.ndarray,
                      scaling: np.ndarray, space: StateSpace | None = None) -> float:
    """
    Relative distance of a state to a goal (1 = no progress from the start, 0 = at it).

    :param state: Current state.
    :param goal: Goal state.
    :param start: Start state.
    :param scaling: Diagonal distance scaling of the task (per degree of freedom).
    :param space: The model's state space, where it has free or ball joints (orientations then
        differ by a rotation); None: plain differences.

    :returns: The relative distance.
    """
    if space is not None and space.has_quaternions:
        current = space.scaled_distances(state, goal, scaling)
        initial = space.scaled_distances(start, goal, scaling)
    else:
        current = np.linalg.norm((state - goal) * scaling)
        initial = np.linalg.norm((start - goal) * scaling)
    return float(current / max(initial, 1e-6))


class SimController:
    """
    A task's MuJoCo plant stepped in real time, with command hold and a goal watch.

    :param params: The task's ``ParameterContainer``.
    :param start_state: Initial state (default the task's nominal start).
    :param goal: Goal state (default the task's nominal goal).
    :param success_distance: Relative distance counted as success (default the task's).
    :param command_timeout: Seconds after which commands count as stale (0 = never).
    :param real_time_factor: Simulated seconds per wall second.
    :param max_steps_per_tick: Most physics steps per :meth:`advance`.
    :param timeout: Wall seconds until the run ends as a timeout (0 = never).
    :param wait_for_command: Do not step before the first command.
    """

    def __init__(self, params: ParameterContainer, start_state: Vector | None = None,
                 goal: Vector | None = None,
                 success_distance: float | None = None, command_timeout: float = 0.5,
                 real_time_factor: float = 1.0, max_steps_per_tick: int = 1000,
                 timeout: float = 0.0, wait_for_command: bool = False) -> None:
        self.params = params
        self.model = mujoco.MjModel.from_xml_path(str(params.model_path))
        self.data = mujoco.MjData(self.model)
        self.nq, self.nv, self.na = self.model.nq, self.model.nv, self.model.na
        self.state_dimension = self.nq + self.nv + self.na
        self.action_dimension = self.model.nu
        self.joint_map = JointMap.from_model(self.model)
        self.state_space = StateSpace.from_model(self.model)
        self.actuated_pos = np.asarray(params.actuated_qpos, dtype=np.int64)
        self.scaling = np.asarray(params.reward_distance_scaling, dtype=np.float64)
        self.start = self._vector(params.start_state if start_state is None or len(start_state)
                                  == 0 else start_state, 'start_state')
        self.goal = self._vector(params.goal_state if goal is None or len(goal) == 0 else goal,
                                 'goal')
        self.success_distance = float(success_distance or params.learner_final_success_distance)
        self.command_timeout = float(command_timeout)
        self.real_time_factor = float(real_time_factor)
        self.max_steps_per_tick = int(max_steps_per_tick)
        self.timeout = float(timeout)
        self.wait_for_command = wait_for_command
        lower = np.asarray(params.action_bound_lower, dtype=np.float64)
        upper = np.asarray(params.action_bound_upper, dtype=np.float64)
        limited = self.model.actuator_ctrllimited.astype(bool)
        ctrl_range = self.model.actuator_ctrlrange
        self.ctrl_lower = np.where(limited, np.maximum(lower, ctrl_range[:, 0]), lower)
        self.ctrl_upper = np.where(limited, np.minimum(upper, ctrl_range[:, 1]), upper)
        self._set_state(self.start)
        # Position actuators hold the start pose until the first command.
        self.data.ctrl[:] = np.clip(self.start[self.actuated_pos], self.ctrl_lower,
                                    self.ctrl_upper)
        mujoco.mj_forward(self.model, self.data)
        self._wall_anchor: float | None = None
        self._sim_anchor = 0.0
        self._wall_start: float | None = None
        self._command_time: float | None = None
        self.commands = 0
        self.rejected_commands = 0
        self.clipped_commands = 0
        self.behind_ticks = 0
        self.steps = 0
        self.goal_reached_at: float | None = None
        self.outcome: Outcome | None = None

    def _vector(self, values: Vector, what: str) -> np.ndarray:
        vector = np.asarray(values, dtype=np.float64).reshape(-1)
        if vector.shape[0] != self.state_dimension or not np.all(np.isfinite(vector)):
            raise ValueError(f'{what}: expected {self.state_dimension} finite values '
                             f'[qpos, qvel(, act)], got {vector.tolist()}')
        return self.state_space.checked_orientations(vector, what)

    def _set_state(self, state: np.ndarray) -> None:
        self.data.qpos[:] = state[:self.nq]
        self.data.qvel[:] = state[self.nq:self.nq + self.nv]
        if self.na:
            self.data.act[:] = state[self.nq + self.nv:]

    # -- state -----------------------------------------------------------------------------

    @property
    def sim_time(self) -> float:
        """Return the simulated seconds since the start."""
        return float(self.data.time)

    def state(self) -> np.ndarray:
        """Return the current state ``[qpos, qvel(, act)]``."""
        parts = [self.data.qpos, self.data.qvel] + ([self.data.act] if self.na else [])
        return np.concatenate(parts).astype(np.float64)

    def joint_state(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Names, positions and velocities of the model's hinge and slide joints."""
        return self.joint_map.read(self.state())

    def relative_distance(self) -> float:
        """Relative distance of the current state to the goal."""
        return relative_distance(self.state(), self.goal, self.start, self.scaling,
                                 self.state_space)

    # -- commands --------------------------------------------------------------------------

    def apply_command(self, values: Vector, now: float) -> np.ndarray:
        """
        Take actuator targets (one per actuator); they are held until the next command.

        :param values: Targets.
        :param now: Receipt time (wall seconds).

        :returns: The targets applied (clipped).
        """
        try:
            command = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as error:
            self.rejected_commands += 1
            raise CommandError('command: not a list of numbers') from error
        if command.shape[0] != self.action_dimension:
            self.rejected_commands += 1
            raise CommandError(f'command: expected {self.action_dimension} actuator targets, '
                               f'got {command.shape[0]}')
        if not np.all(np.isfinite(command)):
            self.rejected_commands += 1
            raise CommandError('command: holds NaN or inf')
        clipped = np.clip(command, self.ctrl_lower, self.ctrl_upper)
        if not np.array_equal(clipped, command):
            self.clipped_commands += 1
        self.data.ctrl[:] = clipped
        self._command_time = now
        self.commands += 1
        return clipped

    def command_stale(self, now: float) -> bool:
        """
        Whether commands have stopped (the last one is being held).

        :param now: Wall seconds.

        :returns: True if a command arrived once and none for longer than ``command_timeout``.
        """
        return (self.command_timeout > 0 and self._command_time is not None
                and now - self._command_time > self.command_timeout)

    # -- stepping --------------------------------------------------------------------------

    def advance(self, now: float) -> int:
        """
        Step the physics up to real time (x ``real_time_factor``), then check the goal.

        :param now: Wall seconds (monotonic).

        :returns: Physics steps run.
        """
        if self._wall_start is None:
            self._wall_start = now
        if self.wait_for_command and self._command_time is None:
            self._check(now)
            return 0
        if self._wall_anchor is None:
            self._wall_anchor, self._sim_anchor = now, self.sim_time
        target = self._sim_anchor + (now - self._wall_anchor) * self.real_time_factor
        timestep = self.model.opt.timestep
        steps = int(np.floor((target - self.sim_time) / timestep + 1e-9))
        capped = steps > self.max_steps_per_tick
        if capped:
            steps = self.max_steps_per_tick
            self.behind_ticks += 1
        if steps > 0:
            mujoco.mj_step(self.model, self.data, nstep=steps)
            self.steps += steps
        if capped:
            # Fell behind: re-anchor so the simulation slows down instead of bursting later.
            self._wall_anchor, self._sim_anchor = now, self.sim_time
        self._check(now)
        return max(steps, 0)

    def _check(self, now: float) -> None:
        if self.outcome is not None and self.outcome.kind == 'timeout':
            return
        distance = self.relative_distance()
        wall = now - (self._wall_start if self._wall_start is not None else now)
        if self.goal_reached_at is None and distance < self.success_distance:
            self.goal_reached_at = self.sim_time
            self.outcome = Outcome('success', distance, self.sim_time, wall)
        elif self.goal_reached_at is None and self.timeout > 0 and wall >= self.timeout:
            self.outcome = Outcome('timeout', distance, self.sim_time, wall)

    def status(self, now: float) -> dict[str, Any]:
        """
        Figures for diagnostics.

        :param now: Wall seconds.

        :returns: Name -> value.
        """
        return {
            'sim_time': f'{self.sim_time:.3f}',
            'relative_distance': f'{self.relative_distance():.4f}',
            'success_distance': self.success_distance,
            'goal_reached': self.goal_reached_at is not None,
            'commands': self.commands,
            'rejected_commands': self.rejected_commands,
            'clipped_commands': self.clipped_commands,
            'command_stale': self.command_stale(now),
            'behind_ticks': self.behind_ticks,
        }
