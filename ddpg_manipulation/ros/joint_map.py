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
joints have no single angle and are not exchanged as joint states: a free joint's pose (an
object's, from perception) comes as ``x y z qw qx qy qz`` (:class:`PoseMap`), or in the full
state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ddpg_manipulation.sim.joints import joint_layout
from ddpg_manipulation.sim.state_space import checked_quaternions


class JointStateError(ValueError):
    """A joint-state message does not fit the model (unknown names, lengths, NaN)."""


@dataclass(frozen=True)
class StateSlots:
    """
    Names of some of a model's joints and where their values lie in the state.

    :param names: Joint names, in model order.
    :param qpos_slots: Index of each joint's (first) position value in the state.
    :param qvel_slots: Index of each joint's (first) velocity value in the state.
    :param state_dimension: nq + nv + na.
    """

    names: tuple[str, ...]
    qpos_slots: np.ndarray
    qvel_slots: np.ndarray
    state_dimension: int


@dataclass(frozen=True)
class JointMap(StateSlots):
    """Names and state slots of a model's 1-DoF joints (one position, one velocity each)."""

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


@dataclass(frozen=True)
class PoseMap(StateSlots):
    """
    State slots of a model's free joints: the object poses that perception sends.

    A pose message holds, per free joint in model order, ``x y z qw qx qy qz`` (position in the
    world frame, orientation as a quaternion in MuJoCo's order, w first); optionally followed,
    per free joint again, by ``vx vy vz wx wy wz`` (linear velocity in the world frame, angular
    velocity in the body frame: MuJoCo's free-joint velocity). Without velocities the state's
    previous velocities of the object stay.

    Fields as :class:`StateSlots`, for the free joints (slots of their first values).
    """

    @classmethod
    def from_layout(cls, layout: dict[str, Any], state_dimension: int) -> PoseMap:
        """
        Build the map from a joint layout (``sim.joints.joint_layout`` or exported metadata).

        :param layout: ``free_joint_names``, ``free_joint_qpos_index``, ``free_joint_qvel_index``
            (absent in files exported before free joints were supported: then no free joints).
        :param state_dimension: nq + nv + na.

        :returns: The pose map.
        """
        names = tuple(str(n) for n in layout.get('free_joint_names', []))
        qpos = np.asarray(layout.get('free_joint_qpos_index', []), dtype=np.int64)
        qvel = np.asarray(layout.get('free_joint_qvel_index', []), dtype=np.int64)
        if len(names) != len(qpos) or len(qpos) != len(qvel) or (
                len(names) and (min(qpos.min(), qvel.min()) < 0
                                or max(qpos.max() + 7, qvel.max() + 6) > state_dimension)):
            raise ValueError(f'free joint layout {layout!r:.120} does not fit a state of '
                             f'{state_dimension} values')
        return cls(names, qpos, qvel, int(state_dimension))

    @property
    def pose_length(self) -> int:
        """Values of a pose message without velocities (0 where the model has no free joint)."""
        return 7 * len(self.names)

    @property
    def pose_velocity_length(self) -> int:
        """Values of a pose message with velocities."""
        return 13 * len(self.names)

    def merge(self, base: np.ndarray, values: Any) -> tuple[np.ndarray, np.ndarray]:
        """
        Write object poses (and velocities) over a full state.

        :param base: The last known full state (not modified).
        :param values: A pose message: :attr:`pose_length` or :attr:`pose_velocity_length`
            values, finite; each quaternion is normalized (one whose norm is off by more than
            10 % is refused).

        :returns: The new state and the state slots that were written.

        :raises JointStateError: The message does not fit.
        """
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        count = len(self.names)
        if count == 0 or values.shape[0] not in (self.pose_length, self.pose_velocity_length):
            raise JointStateError(
                f'object pose: expected {self.pose_length} values (x y z qw qx qy qz per free '
                f'joint {list(self.names)}) or {self.pose_velocity_length} (then vx vy vz wx wy '
                f'wz per joint), got {values.shape[0]}')
        if not np.all(np.isfinite(values)):
            raise JointStateError('object pose: holds NaN or inf')
        try:
            poses = checked_quaternions(values, [7 * k + 3 for k in range(count)],
                                        'object pose', self.names)
        except ValueError as error:
            raise JointStateError(str(error)) from error
        state = np.array(base, dtype=np.float64, copy=True)
        written = [self.qpos_slots[:, None] + np.arange(7)]
        state[written[0].reshape(-1)] = poses[:self.pose_length]
        if values.shape[0] == self.pose_velocity_length:
            written.append(self.qvel_slots[:, None] + np.arange(6))
            state[written[1].reshape(-1)] = poses[self.pose_length:]
        return state, np.concatenate([w.reshape(-1) for w in written])


def describe(joint_map: JointMap, actuated_joint_names: Sequence[str],
             pose_map: PoseMap | None = None) -> str:
    """
    One line naming the state layout, for logs.

    :param joint_map: The joint map.
    :param actuated_joint_names: The joint of each actuator, in command order.
    :param pose_map: The free joints (object poses), or None.

    :returns: The description.
    """
    poses = ''
    if pose_map is not None and pose_map.names:
        poses = (f'; object poses on ~/state (x y z qw qx qy qz[, velocities]) of '
                 f'{list(pose_map.names)}')
    return (f'state of {joint_map.state_dimension} values; joints {list(joint_map.names)}; '
            f'command order {list(actuated_joint_names)}{poses}')
