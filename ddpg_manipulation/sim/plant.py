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

"""MuJoCo plant: state layout, batched dynamics, distances, start/goal sampling."""

from __future__ import annotations

import os
from typing import Callable

import mujoco
from mujoco import rollout
import numpy as np
import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.sim.actions import ActionSpace, first_order_hold
from ddpg_manipulation.sim.state_space import StateSpace
from ddpg_manipulation.sim.threads import single_threaded


def usable_cores() -> int:
    """
    Count the cores this process may run on (its CPU affinity, not the machine's size).

    :returns: Number of usable cores, at least 1.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return max(1, os.cpu_count() or 1)


class MujocoPlant:
    """
    A task's MuJoCo model, simulated for many environments at once.

    The state is ``[qpos, qvel(, act)]`` in the model's order. All environments and all physics
    sub-steps of a call run in one call into MuJoCo's multi-threaded ``rollout``. Distances,
    sampling bounds and the distance scaling are per degree of freedom (:attr:`state_space`):
    free and ball joints' orientations are unit quaternions in the state and rotations there.

    :param params: Parameters of the task.
    :param nthread: Rollout threads; default ``params.model_nthread`` (0 = usable cores).
    """

    def __init__(self, params: ParameterContainer, nthread: int | None = None) -> None:
        self.params = params
        self.model = mujoco.MjModel.from_xml_path(str(params.model_path))
        self.state_dimension = self.model.nq + self.model.nv + self.model.na
        self.state_space = StateSpace.from_model(self.model)
        self.action_dimension = self.model.nu
        self.sensor_dimension = self.model.nsensordata
        self.actions = ActionSpace.from_params(params)
        self.substeps = int(round(params.action_time_step / self.model.opt.timestep))
        if self.substeps < 1 or abs(self.substeps * self.model.opt.timestep
                                    - params.action_time_step) > 1e-9:
            raise ValueError(
                f"{params.task_file}: key 'action.time_step': {params.action_time_step} s is "
                f'not a whole multiple of the model timestep {self.model.opt.timestep} s'
            )
        self.actuated_pos = torch.as_tensor(params.actuated_qpos, dtype=torch.long)
        self.distance_scaling = torch.tensor(params.reward_distance_scaling, dtype=torch.float32)
        self._scaling_on: dict[torch.device, torch.Tensor] = {}  # copies on other devices
        self.start_bounds = self._bounds(params.start_bound_lower, params.start_bound_upper)
        self.goal_bounds = self._bounds(params.goal_bound_lower, params.goal_bound_upper)
        self.start_state = torch.tensor(params.start_state, dtype=torch.float32)
        self.goal_state = torch.tensor(params.goal_state, dtype=torch.float32)

        threads = params.model_nthread if nthread is None else nthread
        self.nthread = 0
        self._rollout: rollout.Rollout | None = None
        self._datas: list[mujoco.MjData] = []
        self.set_threads(usable_cores() if threads == 0 else threads)
        self._state_spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
        self._full_state = self._template_full_state()

    def set_threads(self, nthread: int) -> None:
        """
        Set the number of threads that simulate a batch (1 = the calling thread).

        :param nthread: Threads, >= 1. Results do not depend on it.
        """
        if nthread < 1:
            raise ValueError(f'nthread {nthread}: expected >= 1')
        if nthread == self.nthread:
            return
        if self._rollout is not None:
            self._rollout.close()
        # A pool of one thread only adds hand-over latency: run on the calling thread instead.
        self._rollout = rollout.Rollout(nthread=nthread if nthread > 1 else 0)
        self._datas += [mujoco.MjData(self.model) for _ in range(nthread - len(self._datas))]
        self.nthread = nthread

    @staticmethod
    def _bounds(lower: list[float], upper: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.tensor(lower, dtype=torch.float32), torch.tensor(upper, dtype=torch.float32))

    def _template_full_state(self) -> np.ndarray:
        data = mujoco.MjData(self.model)
        mujoco.mj_forward(self.model, data)
        size = mujoco.mj_stateSize(self.model, self._state_spec)
        full = np.empty(size)
        mujoco.mj_getState(self.model, data, full, self._state_spec)
        # Layout of mjSTATE_FULLPHYSICS: time, qpos, qvel, act, then the rest (mocap, ...).
        self._state_slice = slice(1, 1 + self.state_dimension)
        return full

    # -- dynamics --------------------------------------------------------------------------

    def dynamics(
        self, states: torch.Tensor, start_end_sub_actions: torch.Tensor,
        return_sensors: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """
        Simulate one or several action steps for a batch of environments.

        :param states: States, shape (batch, nx).
        :param start_end_sub_actions: Start and end actuator targets of each action step, shape
            (batch, 2, nu) for one step or (batch, steps, 2, nu) for several.
        :param return_sensors: Also return the sensor data at the end of each action step.

        :returns: States at the end of each action step, shape (batch, nx) for one step or (batch,
            steps, nx); with ``return_sensors`` also the sensor data, shape (batch, [steps,]
            nsensordata).
        """
        single = start_end_sub_actions.dim() == 3
        actions = start_end_sub_actions[:, None] if single else start_end_sub_actions
        batch, steps = actions.shape[:2]
        nstep = steps * self.substeps
        initial = np.repeat(self._full_state[None], batch, axis=0)
        initial[:, self._state_slice] = states.detach().cpu().numpy()
        controls = np.ascontiguousarray(first_order_hold(
            actions.detach().cpu().numpy().astype(np.float64), self.substeps))
        # Shapes are ours by construction, so skip the wrapper's checks and hand it the model
        # list and output buffers it would otherwise build.
        trajectory = np.empty((batch, nstep, self._full_state.shape[0]))
        sensors = np.empty((batch, nstep, self.sensor_dimension))
        self._rollout.rollout(
            [self.model] * batch, self._datas[:self.nthread], initial, controls, nstep=nstep,
            skip_checks=True, state=trajectory, sensordata=sensors,
        )
        ends = np.arange(1, steps + 1) * self.substeps - 1
        next_states = torch.from_numpy(
            trajectory[:, ends, self._state_slice].astype(np.float32)
        )
        next_sensors = torch.from_numpy(sensors[:, ends].astype(np.float32))
        if single:
            next_states, next_sensors = next_states[:, 0], next_sensors[:, 0]
        return (next_states, next_sensors) if return_sensors else next_states

    def step(
        self, states: torch.Tensor, relative_actions: torch.Tensor,
        previous_end_actions: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Apply relative actions for one action step, per the package's action definition.

        :param states: States, shape (batch, nx).
        :param relative_actions: Relative actions, shape (batch, nu).
        :param previous_end_actions: End actions of the previous step, or None at the first step.

        :returns: Next states (batch, nx) and the end actions applied (batch, nu).
        """
        start_end = self.actions.start_end_actions(
            states[:, self.actuated_pos], relative_actions, previous_end_actions
        )
        return self.dynamics(states, start_end), start_end[:, 1]

    def rollout(
        self, act: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        start_states: torch.Tensor, goal_states: torch.Tensor, length: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Roll out a policy: one batched policy call and one MuJoCo call per action step.

        :param act: Maps (states, goals) to normalized actions in [-1, 1], batched.
        :param start_states: Start states, shape (batch, nx).
        :param goal_states: Goals, shape (batch, nx).
        :param length: Action steps.

        :returns: Visited states (batch, length + 1, nx), index 0 the start, and the relative
            actions applied (batch, length, nu).
        """
        batch = start_states.shape[0]
        states = torch.empty(batch, length + 1, self.state_dimension)
        relative = torch.empty(batch, length, self.action_dimension)
        states[:, 0] = start_states
        previous_end = None
        # The torch work between MuJoCo calls is small, and on one thread its result does not
        # depend on the thread count the updates run with (docs/performance.md).
        with single_threaded():
            for t in range(length):
                relative[:, t] = self.actions.relative_actions(act(states[:, t], goal_states))
                states[:, t + 1], previous_end = self.step(
                    states[:, t], relative[:, t], previous_end)
        return states, relative

    # -- distances and sampling ------------------------------------------------------------

    def scaled_distances_to(self, states: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        """
        Distance between states and goals under the task's diagonal distance scaling.

        The scaling weights the tangent difference (:meth:`StateSpace.difference
        <ddpg_manipulation.sim.state_space.StateSpace.difference>`): ``states - goals`` where the
        model has no free or ball joint, and the rotation from goal to state (an angle, the
        shorter way round, whichever sign the quaternions have) for an orientation.

        :param states: States, shape (..., nx).
        :param goals: Goal states, broadcastable to ``states``.

        :returns: Scaled Euclidean distances, shape (...).
        """
        scaling = self.distance_scaling
        if scaling.device != states.device:  # the learner's batches live on its device
            if states.device not in self._scaling_on:
                self._scaling_on[states.device] = scaling.to(states.device)
            scaling = self._scaling_on[states.device]
        if self.state_space.has_quaternions:
            return self.state_space.scaled_distances(states, goals, scaling)
        return torch.linalg.vector_norm((states - goals) * scaling, dim=-1)

    def relative_distances_to(
        self, start_states: torch.Tensor, current_states: torch.Tensor, goal_states: torch.Tensor
    ) -> torch.Tensor:
        """
        Scaled distance of states to their goals, relative to that of their starts.

        1 means "no progress", 0 "at the goal"; rewards and success are judged on it.

        :param start_states: Start states, shape (batch, nx).
        :param current_states: States, shape (batch, nx).
        :param goal_states: Goals, shape (batch, nx).

        :returns: Relative distances, shape (batch,).
        """
        initial = self.scaled_distances_to(start_states, goal_states)
        current = self.scaled_distances_to(current_states, goal_states)
        return current / initial.clamp_min(1e-6)

    def sample_start_states(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """
        Sample start states uniformly within the task's start bounds.

        :param count: Number of states.
        :param generator: Random generator (seeded by the caller).

        :returns: States, shape (count, nx); orientations uniform in roll, pitch and yaw
            between their bounds, as unit quaternions.
        """
        return self.state_space.sample(*self.start_bounds, count, generator)

    def sample_goal_states(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """
        Sample goal states uniformly within the task's goal bounds.

        :param count: Number of states.
        :param generator: Random generator (seeded by the caller).

        :returns: States, shape (count, nx), as :meth:`sample_start_states`.
        """
        return self.state_space.sample(*self.goal_bounds, count, generator)

    def goal_region_distances(self, states: torch.Tensor) -> torch.Tensor:
        """
        Scaled distance of states to the goal bounds (zero inside them).

        :param states: States, shape (batch, nx).

        :returns: Distances, shape (batch,): to the state clamped into the bounds, coordinate
            by coordinate (orientations in roll, pitch, yaw).
        """
        return self.scaled_distances_to(states, self.state_space.clamp(states, *self.goal_bounds))

    def close(self) -> None:
        """Stop the rollout thread pool."""
        if self._rollout is not None:
            self._rollout.close()
            self._rollout = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown may have torn mujoco down
            pass
