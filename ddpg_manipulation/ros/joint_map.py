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
Joint names <-> slots of the state ``[qpos, qvel(, act)]`` of a MuJoCo model (no rclpy).

``sensor_msgs/JointState`` carries joints by name, in any order, often a subset. The names are
the MuJoCo model's joint names (``mujoco.mj_id2name``); a hinge or slide joint has one position
slot (``jnt_qposadr``) and one velocity slot (``nq + jnt_dofadr``) in the state. Free and ball
joints have no single angle and are not exchanged as joint states (send them in the full state).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ddpg_manipulation.sim.joints import joint_layout


class JointStateError(ValueError):
    """A joint-state message does not fit the model (unknown names, lengths, NaN)."""


@dataclass(frozen=True)
class JointMap:
    """
    Names and state slots of a model's 1-DoF joints.

    :param names: Joint names, in model order.
    :param qpos_slots: Index of each joint's position in the state.
    :param qvel_slots: Index of each joint's velocity in the state.
    :param state_dimension: nq + nv + na.
    """

    names: tuple[str, ...]
    qpos_slots: np.ndarray
    qvel_slots: np.ndarray
    state_dimension: int

    @classmethod
    def from_model(cls, model: Any) -> JointMap:
        """
        Build the map of a model's hinge and slide joints.

        :param model: The MuJoCo model.

        :returns: The joint map.
        """
        return cls.from_layout(joint_layout(model), int(model.nq + model.nv + model.na))

    @classmethod
    def from_layout(cls, layout: dict[str, Any], state_dimension: int) -> JointMap:
        """
        Build the map from a joint layout (``sim.joints.joint_layout`` or exported metadata).

        :param layout: ``joint_names``, ``joint_qpos_index``, ``joint_qvel_index``.
        :param state_dimension: nq + nv + na.

        :returns: The joint map.
        """
        names = tuple(str(n) for n in layout['joint_names'])
        qpos = np.asarray(layout['joint_qpos_index'], dtype=np.int64)
        qvel = np.asarray(layout['joint_qvel_index'], dtype=np.int64)
        slots = np.concatenate([qpos, qvel])
        if len(names) != len(qpos) or len(qpos) != len(qvel) or (
                slots.size and (slots.min() < 0 or slots.max() >= state_dimension)):
            raise ValueError(f'joint layout {layout!r:.120} does not fit a state of '
                             f'{state_dimension} values')
        return cls(names, qpos, qvel, int(state_dimension))

    def index(self, names: Sequence[str]) -> np.ndarray:
        """
        Positions of the given names in this map.

        :param names: Joint names.

        :returns: Index of each name in :attr:`names`.
        """
        lookup = {name: i for i, name in enumerate(self.names)}
        unknown = [n for n in names if n not in lookup]
        if unknown:
            raise JointStateError(
                f'unknown joint name(s) {unknown}; the model has {list(self.names)}')
        if len(set(names)) != len(names):
            raise JointStateError(f'joint names repeated in {list(names)}')
        return np.asarray([lookup[n] for n in names], dtype=np.int64)

    def merge(self, base: np.ndarray, names: Sequence[str], positions: Sequence[float],
              velocities: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """
        Write the joints of a message over a full state.

        :param base: The last known full state (not modified).
        :param names: Joint names of the message.
        :param positions: Their positions, one per name, or empty (not sent).
        :param velocities: Their velocities, one per name, or empty (not sent).

        :returns: The new state and the state slots that were written.
        """
        names = [str(n) for n in names]
        positions = np.asarray(positions, dtype=np.float64).reshape(-1)
        velocities = np.asarray(velocities, dtype=np.float64).reshape(-1)
        if not names:
            raise JointStateError('joint state without joint names')
        for what, values in (('position', positions), ('velocity', velocities)):
            if values.shape[0] not in (0, len(names)):
                raise JointStateError(
                    f'{len(names)} names but {values.shape[0]} {what} values')
            if not np.all(np.isfinite(values)):
                raise JointStateError(f'{what} values hold NaN or inf')
        if positions.shape[0] == 0 and velocities.shape[0] == 0:
            raise JointStateError('joint state with neither positions nor velocities')
        index = self.index(names)
        state = np.array(base, dtype=np.float64, copy=True)
        written = []
        if positions.shape[0]:
            state[self.qpos_slots[index]] = positions
            written.append(self.qpos_slots[index])
        if velocities.shape[0]:
            state[self.qvel_slots[index]] = velocities
            written.append(self.qvel_slots[index])
        return state, np.concatenate(written)

    def read(self, state: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        """
        Joint names, positions and velocities of a full state (for publishing).

        :param state: Full state.

        :returns: Names, positions, velocities.
        """
        state = np.asarray(state, dtype=np.float64)
        return list(self.names), state[self.qpos_slots], state[self.qvel_slots]


def describe(joint_map: JointMap, actuated_joint_names: Sequence[str]) -> str:
    """
    One line naming the state layout, for logs.

    :param joint_map: The joint map.
    :param actuated_joint_names: The joint of each actuator, in command order.

    :returns: The description.
    """
    return (f'state of {joint_map.state_dimension} values; joints {list(joint_map.names)}; '
            f'command order {list(actuated_joint_names)}')
