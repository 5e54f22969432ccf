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
How close a task's effectors are to its object, and how the actuators change that.

The planner's proximity reward and proximity action strategy read it: nodes whose effectors
(finger links, a cart) are near the object rank higher, and actions that bring them nearer are
proposed. It is a property of the model's sites, computed by MuJoCo kinematics, and knows
nothing of the search.
"""

from __future__ import annotations

import mujoco
import numpy as np
import torch

from ddpg_manipulation.config import ConfigError


class Proximity:
    """
    Distance of a task's effector sites to its object site, and how the actuators reduce it.

    The object site is the site named by ``planner.proximity_site``; the effector sites are all
    other sites that move and do not sit on the object's body (the finger links of planar_hand,
    the cart of box_push). Where the model carries a ``framepos`` sensor of every effector site
    relative to the object site (planar_hand), distances come from the sensor data the batched
    rollout returns anyway (MuJoCo evaluates them before the last physics sub-step, 0.01 s of
    motion earlier: irrelevant for a shaping reward); otherwise (box_push) they come from
    forward kinematics of each state (no physics, microseconds per state).
    A model without the object site has no proximity (all distances zero).

    :param model: The task's MuJoCo model.
    :param object_site: Name of the object site.
    :param where: Task file, for error messages.
    """

    def __init__(self, model: mujoco.MjModel, object_site: str, where: object = 'task') -> None:
        self.model = model
        self.data = mujoco.MjData(model)
        self.object_site = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, object_site)
        if object_site and self.object_site < 0:
            names = [model.site(i).name for i in range(model.nsite)]
            raise ConfigError(
                f"{where}: key 'planner.proximity_site': the model has no site {object_site!r} "
                f'(sites: {", ".join(names) or "none"})'
            )
        self.effector_sites: list[int] = []
        if self.object_site >= 0:
            object_body = model.site_bodyid[self.object_site]
            self.effector_sites = [
                s for s in range(model.nsite)
                if s != self.object_site and model.site_bodyid[s] not in (0, object_body)
            ]
        self.sensor_columns = self._sensor_columns()
        # Actuated dofs in actuator order: proximity gradients are taken along these.
        self.actuated_dofs = [
            int(model.jnt_dofadr[model.actuator_trnid[a, 0]]) for a in range(model.nu)
        ]

    @property
    def enabled(self) -> bool:
        """Whether the model has an object site and at least one effector site."""
        return bool(self.effector_sites)

    def _sensor_columns(self) -> torch.Tensor | None:
        columns = {}
        for sensor in range(self.model.nsensor):
            if (self.model.sensor_type[sensor] == mujoco.mjtSensor.mjSENS_FRAMEPOS
                    and self.model.sensor_objtype[sensor] == mujoco.mjtObj.mjOBJ_SITE
                    and self.model.sensor_reftype[sensor] == mujoco.mjtObj.mjOBJ_SITE
                    and self.model.sensor_refid[sensor] == self.object_site):
                address = int(self.model.sensor_adr[sensor])
                columns[int(self.model.sensor_objid[sensor])] = range(address, address + 3)
        if not self.effector_sites or any(s not in columns for s in self.effector_sites):
            return None
        return torch.tensor([c for s in self.effector_sites for c in columns[s]])

    def distances(self, states: torch.Tensor, sensors: torch.Tensor | None = None
                  ) -> torch.Tensor:
        """
        Mean distance of the effector sites to the object site.

        :param states: States, shape (batch, nx).
        :param sensors: Sensor data of those states, shape (batch, nsensordata), or None.

        :returns: Distances, shape (batch,); zeros where the model has no proximity sites.
        """
        batch = states.shape[0]
        if not self.enabled:
            return torch.zeros(batch)
        if self.sensor_columns is not None and sensors is not None and sensors.shape[-1] > 0:
            vectors = sensors[:, self.sensor_columns].reshape(batch, -1, 3)
            return torch.linalg.vector_norm(vectors, dim=-1).mean(-1)
        # No sensors to read: forward kinematics per state (microseconds each, no physics).
        out = np.empty(batch)
        for i, state in enumerate(states.double().numpy()):
            self._kinematics(state)
            out[i] = self._site_offsets()[1].mean()
        return torch.from_numpy(out).float()

    def gradients(self, states: torch.Tensor) -> torch.Tensor:
        """
        Gradient of the mean site distance with respect to the actuated joint positions.

        :param states: States, shape (batch, nx).

        :returns: Gradients, shape (batch, nu); zeros where the model has no proximity sites.
        """
        batch = states.shape[0]
        out = np.zeros((batch, self.model.nu))
        if not self.enabled:
            return torch.from_numpy(out).float()
        model, data = self.model, self.data
        jac_site = np.empty((3, model.nv))
        jac_object = np.empty((3, model.nv))
        for i, state in enumerate(states.double().numpy()):
            self._kinematics(state)
            mujoco.mj_comPos(model, data)
            offsets, lengths = self._site_offsets()
            mujoco.mj_jacSite(model, data, jac_object, None, self.object_site)
            gradient = np.zeros(model.nv)
            for site, offset, length in zip(self.effector_sites, offsets, lengths):
                mujoco.mj_jacSite(model, data, jac_site, None, site)
                gradient += (jac_site - jac_object).T @ (offset / max(length, 1e-9))
            out[i] = gradient[self.actuated_dofs] / len(self.effector_sites)
        return torch.from_numpy(out).float()

    def _kinematics(self, state: np.ndarray) -> None:
        model, data = self.model, self.data
        data.qpos[:] = state[:model.nq]
        mujoco.mj_kinematics(model, data)

    def _site_offsets(self) -> tuple[np.ndarray, np.ndarray]:
        positions = self.data.site_xpos
        offsets = positions[self.effector_sites] - positions[self.object_site]
        return offsets, np.linalg.norm(offsets, axis=-1)
