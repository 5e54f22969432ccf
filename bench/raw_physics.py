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
The physics floor: MuJoCo's multi-threaded rollout called directly, on a policy's controls.

Rollout and planner benchmarks compare the package's batched dynamics with the same physics
run by ``mujoco.rollout`` alone, from the same states with the same physics-step controls.
"""

from __future__ import annotations

import mujoco
from mujoco import rollout as mj_rollout
import numpy as np
from tensordict import TensorDict
import torch

from ddpg_manipulation.sim.actions import first_order_hold
from ddpg_manipulation.sim.plant import MujocoPlant


def full_physics_states(model: mujoco.MjModel, states: np.ndarray) -> np.ndarray:
    """
    Expand ``[qpos, qvel(, act)]`` states to MuJoCo's full physics state.

    :param model: The model.
    :param states: States, shape (batch, nq + nv + na).

    :returns: Full physics states (time, qpos, qvel, act, rest), shape (batch, nstate), float64.
    """
    spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    template = np.empty(mujoco.mj_stateSize(model, spec))
    mujoco.mj_getState(model, data, template, spec)
    full = np.repeat(template[None], states.shape[0], axis=0)
    full[:, 1:1 + states.shape[1]] = states
    return full


def trajectory_controls(plant: MujocoPlant, states: torch.Tensor,
                        relative: torch.Tensor) -> np.ndarray:
    """
    Rebuild the physics-step controls a policy rollout applied.

    :param plant: The plant that ran the rollout.
    :param states: Visited states, shape (batch, steps + 1, nx).
    :param relative: Relative actions, shape (batch, steps, nu).

    :returns: Controls of every physics sub-step, shape (batch, steps * substeps, nu), float64.
    """
    previous = None
    steps = []
    for t in range(relative.shape[1]):
        start_end = plant.actions.start_end_actions(
            states[:, t, plant.actuated_pos], relative[:, t], previous)
        steps.append(start_end)
        previous = start_end[:, 1]
    start_end = torch.stack(steps, dim=1).double().numpy()
    return np.ascontiguousarray(first_order_hold(start_end, plant.substeps))


def transitions_trajectory(data: TensorDict, envs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Lay the transitions of a batched policy rollout out as trajectories again.

    :param data: Transitions as ``Learner.policy_rollout`` returns them (trajectory by trajectory).
    :param envs: Environments of the rollout.

    :returns: States (envs, steps + 1, nx) and relative actions (envs, steps, nu).
    """
    nx = data['states'].shape[-1]
    states = data['states'].reshape(envs, -1, nx)
    last = data['next_states'].reshape(envs, -1, nx)[:, -1:]
    relative = data['relative_actions'].reshape(envs, states.shape[1], -1)
    return torch.cat([states, last], dim=1), relative


class RawRollout:
    """
    MuJoCo's multi-threaded rollout, called directly: the physics floor.

    Threading mirrors ``MujocoPlant``: a pool of ``nthread`` threads, or the calling thread
    when ``nthread`` is 1.

    :param model: The model.
    :param nthread: Rollout threads.
    """

    def __init__(self, model: mujoco.MjModel, nthread: int) -> None:
        self.model = model
        self.nthread = nthread
        self.pool = mj_rollout.Rollout(nthread=nthread if nthread > 1 else 0)
        self.datas = [mujoco.MjData(model) for _ in range(max(1, nthread))]

    def __call__(self, initial: np.ndarray, controls: np.ndarray) -> None:
        """
        Roll out all environments for all steps of ``controls`` in one call.

        :param initial: Full physics states, shape (batch, nstate).
        :param controls: Controls, shape (batch, nstep, nu).
        """
        self.pool.rollout([self.model] * initial.shape[0], self.datas, initial, controls)

    def close(self) -> None:
        """Stop the thread pool."""
        self.pool.close()


def raw_replay(plant: MujocoPlant, states: torch.Tensor, relative: torch.Tensor
               ) -> tuple[RawRollout, np.ndarray, np.ndarray]:
    """
    Prepare a raw rollout that repeats a policy rollout's physics in one MuJoCo call.

    :param plant: The plant that ran the policy rollout.
    :param states: Its states, shape (batch, steps + 1, nx).
    :param relative: Its relative actions, shape (batch, steps, nu).

    :returns: The raw rollout, its initial full states and its controls.
    """
    raw = RawRollout(plant.model, plant.nthread)
    initial = full_physics_states(plant.model, states[:, 0].double().numpy())
    return raw, initial, trajectory_controls(plant, states, relative)
