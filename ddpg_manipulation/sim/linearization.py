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
The dynamics of one action step, linearized at a state by finite differences.

The planner's reachability reward and gradient action strategy read it: how far the actuators
can move the object in one action step from a node, and in which direction to push for a goal.
It is a property of the model and the action definition, not of the search.
"""

from __future__ import annotations

import mujoco
import numpy as np
import torch

from ddpg_manipulation.sim.plant import MujocoPlant


class StepLinearization:
    """
    How one action step changes the state, linearized at given states.

    ``mujoco.mjd_transitionFD`` gives the one-physics-step derivatives A and B at a state with
    the actuator targets held where the next action starts. With a first-order hold the target
    moves by ``delta = u / N`` per physics step, so the augmented state ``[dx, c, delta]`` evolves
    by ``M = [[A, B, B], [0, I, I], [0, 0, I]]``; ``M^N`` maps ``delta`` to the state change after
    the N physics steps of an action step. ``matrix_power`` composes it in log N products,
    batched over the states. One finite difference per state is the only loop (no physics
    rollout: a handful of perturbed single steps).

    The rows are MuJoCo's tangent layout ``[dq (nv), qvel (nv), act (na)]``: ``mjd_transitionFD``
    perturbs and differences positions with ``mj_integratePos`` and ``mj_differentiatePos``, so
    a free or ball joint's orientation changes by a rotation vector, the layout of the plant's
    state differences (:class:`~ddpg_manipulation.sim.state_space.StateSpace`).

    :param plant: The task's simulation.
    :param eps: Finite-difference step.
    """

    def __init__(self, plant: MujocoPlant, eps: float) -> None:
        self.plant = plant
        self.model = plant.model
        self.data = mujoco.MjData(self.model)
        self.eps = eps
        # The derivatives are over [dq (nv), qvel (nv), act (na)]: the state layout itself
        # where nq == nv (hinge and slide joints), the tangent layout of the state's
        # differences where quaternions make nq > nv.
        self.size = 2 * self.model.nv + self.model.na
        scale = plant.actions.range * plant.actions.time_step
        self.action_scale = torch.from_numpy(np.asarray(scale, dtype=np.float64))

    def jacobians(self, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """
        State change after one action step per unit of normalized relative action.

        :param states: States, shape (batch, nx).
        :param targets: Actuator targets where the step starts, shape (batch, nu).

        :returns: Jacobians, shape (batch, 2 nv + na, nu), float64: rows in the tangent layout.
        """
        model, data = self.model, self.data
        nx, nu, batch = self.size, self.model.nu, states.shape[0]
        a = np.zeros((batch, nx, nx))
        b = np.zeros((batch, nx, nu))
        for i, (state, target) in enumerate(zip(states.double().numpy(),
                                                targets.double().numpy())):
            data.qpos[:] = state[:model.nq]
            data.qvel[:] = state[model.nq:model.nq + model.nv]
            data.act[:] = state[model.nq + model.nv:]
            data.ctrl[:] = target
            mujoco.mj_forward(model, data)
            mujoco.mjd_transitionFD(model, data, self.eps, False, a[i], b[i], None, None)
        size = nx + 2 * nu
        m = torch.zeros(batch, size, size, dtype=torch.float64)
        m[:, :nx, :nx] = torch.from_numpy(a)
        m[:, :nx, nx:nx + nu] = torch.from_numpy(b)
        m[:, :nx, nx + nu:] = torch.from_numpy(b)
        eye = torch.eye(nu, dtype=torch.float64)
        m[:, nx:nx + nu, nx:nx + nu] = eye
        m[:, nx:nx + nu, nx + nu:] = eye
        m[:, nx + nu:, nx + nu:] = eye
        substeps = self.plant.substeps
        composed = torch.linalg.matrix_power(m, substeps)
        per_relative = composed[:, :nx, nx + nu:] / substeps
        return per_relative * self.action_scale[None, None, :]
