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
The state ``[qpos, qvel(, act)]`` and its tangent space, free and ball joints included.

A hinge or slide joint has one position and one velocity. A free joint has seven positions (x,
y, z, then a unit quaternion w, x, y, z, MuJoCo's order) and six velocities (the linear velocity
in the world frame, the angular velocity in the body frame); a ball joint has the quaternion and
three angular velocities. So where a model has such joints the state has ``nq + nv + na`` values
but only ``2 nv + na`` degrees of freedom: the **tangent layout** ``[dq (nv), qvel (nv), act
(na)]``, the layout of ``mj_differentiatePos`` and ``mjd_transitionFD``.

What a task says per degree of freedom lives in the tangent layout: the distance scaling and the
start and goal sampling bounds. There, the three slots of an orientation hold:

* in a **difference** (:meth:`StateSpace.difference`): the rotation vector (axis times angle, in
  radians) of the rotation from the goal's orientation to the state's, the shorter way round, so
  that ``q`` and ``-q`` (the same orientation) are at distance 0 and the distance of two
  orientations is the angle between them, at most pi. That is ``mju_subQuat`` and the free
  joint's part of ``mj_differentiatePos``;
* in **bounds** (:meth:`StateSpace.sample`): roll, pitch and yaw in radians, ``q = Rz(yaw)
  Ry(pitch) Rx(roll)`` (rotations about the fixed x, y and z axes in that order, as ROS's RPY).
  Sampled orientations are unit quaternions with ``w >= 0``.

The networks see the state itself, quaternion components included, each normalized by its
running mean and deviation like any other state value (``learning/normalizer.py``); HER's goals
are reached states, so they are unit quaternions too. Nothing here flips a quaternion's sign
after a step: MuJoCo integrates orientations continuously, so along every trajectory the
inputs move continuously, also through a half turn, where a sign chosen by a rule (``w >= 0``)
would make them jump. Sampled starts and goals take ``w >= 0``; rewards and success use the
rotation distance, which does not depend on the sign.

Where a model has no free or ball joint both layouts are the state layout, and every function
here is the plain arithmetic the package used before (``states - goals``, uniform sampling), so
such tasks compute exactly what they did.

Every function takes numpy arrays or torch tensors and returns the same kind. Torch is imported
only for torch inputs: the ROS policy path and the renderer use numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Any, Sequence

import numpy as np

FREE, BALL = 0, 1  # mjtJoint.mjJNT_FREE and mjJNT_BALL: MuJoCo is not imported for two numbers
AXES = ('x', 'y', 'z')
ANGLES = ('roll', 'pitch', 'yaw')
# A task file's quaternions must be unit quaternions to this tolerance.
NORM_TOLERANCE = 1e-6
# Quaternions received at run time (perception, a goal typed as a parameter) are normalized; one
# whose norm is further than this from 1 is refused: most likely another layout (x, y, z, w is
# no different in norm, but angles or a zero vector are).
INPUT_NORM_TOLERANCE = 0.1


@dataclass(frozen=True)
class Quaternion:
    """
    Where one orientation (a free or ball joint's quaternion) sits in both layouts.

    :param joint: Name of the joint.
    :param qpos: Index of its w component in the state.
    :param dof: Index of its first rotational degree of freedom in the tangent layout.
    """

    joint: str
    qpos: int
    dof: int


@dataclass(frozen=True)
class StateSpace:
    """
    The state layout of a model and the arithmetic of its tangent space.

    :param nq: Positions.
    :param nv: Velocities (degrees of freedom).
    :param na: Activations.
    :param quaternions: The orientations of free and ball joints, in model order.
    :param names: A name per tangent slot (``box_x``, ``cube rx``, ``cube vel wz``, ...).
    """

    nq: int
    nv: int
    na: int
    quaternions: tuple[Quaternion, ...] = ()
    names: tuple[str, ...] = ()
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_model(cls, model: Any) -> StateSpace:
        """
        Read the layout of a MuJoCo model.

        :param model: A ``mujoco.MjModel``.

        :returns: The state space.
        """
        import mujoco

        quaternions = []
        positions: list[str] = [''] * int(model.nv)
        velocities: list[str] = [''] * int(model.nv)
        for joint in range(model.njnt):
            name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, joint) or f'joint_{joint}'
            kind, qpos, dof = (int(model.jnt_type[joint]), int(model.jnt_qposadr[joint]),
                               int(model.jnt_dofadr[joint]))
            if kind == FREE:
                quaternions.append(Quaternion(name, qpos + 3, dof + 3))
                labels = [f'{name} {a}' for a in AXES] + [f'{name} r{a}' for a in AXES]
                speeds = [f'{name} vel {a}' for a in AXES] + [f'{name} vel w{a}' for a in AXES]
            elif kind == BALL:
                quaternions.append(Quaternion(name, qpos, dof))
                labels = [f'{name} r{a}' for a in AXES]
                speeds = [f'{name} vel w{a}' for a in AXES]
            else:
                labels, speeds = [name], [f'{name} vel']
            positions[dof:dof + len(labels)] = labels
            velocities[dof:dof + len(speeds)] = speeds
        acts = [f'act {k}' for k in range(model.na)]
        return cls(int(model.nq), int(model.nv), int(model.na), tuple(quaternions),
                   tuple(positions + velocities + acts))

    # -- sizes and index maps --------------------------------------------------------------

    @property
    def state_dimension(self) -> int:
        """Values of a state: ``nq + nv + na``."""
        return self.nq + self.nv + self.na

    @property
    def tangent_dimension(self) -> int:
        """Degrees of freedom of a state: ``2 nv + na`` (the length of scalings and bounds)."""
        return 2 * self.nv + self.na

    @property
    def has_quaternions(self) -> bool:
        """Whether the model has free or ball joints (else both layouts are the same)."""
        return bool(self.quaternions)

    @property
    def scalar_slots(self) -> tuple[np.ndarray, np.ndarray]:
        """
        Every state value that is not part of a quaternion, and its tangent slot.

        :returns: State indices and tangent indices, each of equal length.
        """
        if 'scalar' not in self._cache:
            inside = {q.qpos + k for q in self.quaternions for k in range(4)}
            source = [i for i in range(self.state_dimension) if i not in inside]
            # Positions before a quaternion keep their index; after it, they move up by one
            # per quaternion passed (four values, three degrees of freedom).
            target = [i - sum(1 for q in self.quaternions if q.qpos < i) for i in source]
            self._cache['scalar'] = (np.asarray(source), np.asarray(target))
        return self._cache['scalar']

    @property
    def bound_names(self) -> tuple[str, ...]:
        """Name of each slot of the sampling bounds: an orientation as roll, pitch, yaw."""
        names = list(self.names)
        for q in self.quaternions:
            names[q.dof:q.dof + 3] = [f'{q.joint} {angle}' for angle in ANGLES]
        return tuple(names)

    def rotation_dofs(self) -> list[int]:
        """
        Tangent slots of every orientation (three per quaternion).

        :returns: Indices into the tangent layout.
        """
        return [q.dof + k for q in self.quaternions for k in range(3)]

    def _index(self, which: str, reference: Any) -> Any:
        source, target = self.scalar_slots
        values = source if which == 'source' else target
        if isinstance(reference, np.ndarray):
            return values
        key = (which, reference.device)
        if key not in self._cache:
            import torch

            self._cache[key] = torch.as_tensor(values, device=reference.device)
        return self._cache[key]

    # -- arithmetic ------------------------------------------------------------------------

    def difference(self, states: Any, goals: Any) -> Any:
        """
        Tangent vector from goals to states: what a state lacks to be the goal.

        :param states: States, shape (..., nq + nv + na).
        :param goals: Goals, broadcastable to ``states``.

        :returns: Differences in the tangent layout, shape (..., 2 nv + na): ``states - goals``
            where there are no quaternions; rotation vectors (goal to state, the shorter way,
            radians) in the slots of each orientation.
        """
        if not self.has_quaternions:
            return states - goals
        ops = _ops(states)
        states, goals = ops.broadcast(states, goals)
        out = ops.empty(states.shape[:-1] + (self.tangent_dimension,), states)
        source, target = self._index('source', states), self._index('target', states)
        out[..., target] = states[..., source] - goals[..., source]
        for q in self.quaternions:
            relative = quaternion_multiply(conjugate(goals[..., q.qpos:q.qpos + 4]),
                                           states[..., q.qpos:q.qpos + 4])
            out[..., q.dof:q.dof + 3] = rotation_vector(relative)
        return out

    def scaled_distances(self, states: Any, goals: Any, scaling: Any) -> Any:
        """
        Distance of states to goals under a diagonal scaling of the tangent layout.

        :param states: States, shape (..., nq + nv + na).
        :param goals: Goals, broadcastable to ``states``.
        :param scaling: Weights, shape (2 nv + na,).

        :returns: Euclidean norms of the scaled differences, shape (...).
        """
        if not self.has_quaternions:
            return _ops(states).norm(self.difference(states, goals) * scaling)
        # Only the weighted slots: a task weights a few (the object's), and the planner asks
        # for the distances of every node of its graph to a goal at a time.
        ops = _ops(states)
        source, target, quaternions = self._weighted(scaling)
        total = ops.norm((states[..., source] - goals[..., source]) * scaling[..., target]) ** 2
        for q in quaternions:
            relative = quaternion_multiply(conjugate(goals[..., q.qpos:q.qpos + 4]),
                                           states[..., q.qpos:q.qpos + 4])
            rotation = rotation_vector(relative) * scaling[..., q.dof:q.dof + 3]
            total = total + ops.norm(rotation) ** 2
        return total ** 0.5

    def _weighted(self, scaling: Any) -> tuple[Any, Any, list[Quaternion]]:
        """Scalar slots (state and tangent index) and quaternions that a scaling weights."""
        weights = np.asarray(scaling.tolist() if hasattr(scaling, 'tolist') else scaling,
                             dtype=np.float64)
        key = ('weighted', weights.tobytes(), getattr(scaling, 'device', None))
        if key not in self._cache:
            source, target = self.scalar_slots
            keep = weights[target] != 0
            quaternions = [q for q in self.quaternions if np.any(weights[q.dof:q.dof + 3] != 0)]
            chosen: tuple[Any, Any] = (source[keep], target[keep])
            if not isinstance(scaling, np.ndarray):
                import torch

                chosen = (torch.as_tensor(chosen[0], device=scaling.device),
                          torch.as_tensor(chosen[1], device=scaling.device))
            self._cache[key] = (*chosen, quaternions)
        return self._cache[key]

    def coordinates(self, states: Any) -> Any:
        """
        States as points of the tangent layout: each orientation as its rotation vector.

        Used where states are binned or plotted; equal to the states where there are no
        quaternions.

        :param states: States, shape (..., nq + nv + na).

        :returns: Coordinates, shape (..., 2 nv + na).
        """
        if not self.has_quaternions:
            return states
        return self.difference(states, self.identity_like(states))

    def identity_like(self, states: Any) -> Any:
        """
        Build a state of zeros with identity orientations, like ``states`` (kind, dtype, device).

        :param states: Any state array, shape (..., nq + nv + na).

        :returns: The state, shape (nq + nv + na,).
        """
        ops = _ops(states)
        out = ops.zeros((self.state_dimension,), states)
        for q in self.quaternions:
            out[q.qpos] = 1.0
        return out

    def angle_coordinates(self, states: Any, lower: Any = None, upper: Any = None) -> Any:
        """
        States in the layout of the sampling bounds: each orientation as roll, pitch, yaw.

        :param states: States, shape (..., nq + nv + na).
        :param lower: Lower bounds (tangent layout), or None.
        :param upper: Upper bounds, or None.

        :returns: Coordinates, shape (..., 2 nv + na). With bounds, each angle is taken modulo
            2 pi nearest to the middle of its bounds, so it compares with them directly.
        """
        if not self.has_quaternions:
            return states
        ops = _ops(states)
        out = ops.empty(states.shape[:-1] + (self.tangent_dimension,), states)
        source, target = self._index('source', states), self._index('target', states)
        out[..., target] = states[..., source]
        for q in self.quaternions:
            angles = quaternion_to_rpy(states[..., q.qpos:q.qpos + 4])
            if lower is not None and upper is not None:
                middle = (lower[..., q.dof:q.dof + 3] + upper[..., q.dof:q.dof + 3]) / 2
                angles = middle + _wrap(angles - middle)
            out[..., q.dof:q.dof + 3] = angles
        return out

    def from_angle_coordinates(self, coordinates: Any) -> Any:
        """
        Invert :meth:`angle_coordinates`: orientations from roll, pitch, yaw.

        :param coordinates: Shape (..., 2 nv + na).

        :returns: States, shape (..., nq + nv + na), unit quaternions with ``w >= 0``.
        """
        if not self.has_quaternions:
            return coordinates
        ops = _ops(coordinates)
        out = ops.empty(coordinates.shape[:-1] + (self.state_dimension,), coordinates)
        source = self._index('source', coordinates)
        target = self._index('target', coordinates)
        out[..., source] = coordinates[..., target]
        for q in self.quaternions:
            out[..., q.qpos:q.qpos + 4] = rpy_to_quaternion(coordinates[..., q.dof:q.dof + 3])
        return out

    def sample(self, lower: Any, upper: Any, count: int, generator: Any) -> Any:
        """
        Sample states uniformly within bounds of the tangent layout (torch).

        Every coordinate, roll, pitch and yaw included, is uniform between its bounds.

        :param lower: Lower bounds, shape (2 nv + na,).
        :param upper: Upper bounds, shape (2 nv + na,).
        :param count: Number of states.
        :param generator: A ``torch.Generator``.

        :returns: States, shape (count, nq + nv + na).
        """
        import torch

        noise = torch.rand((count, lower.shape[0]), generator=generator)
        return self.from_angle_coordinates(lower + (upper - lower) * noise)

    def clamp(self, states: Any, lower: Any, upper: Any) -> Any:
        """
        Bring states into bounds of the tangent layout, coordinate by coordinate.

        Orientations are clamped in roll, pitch and yaw: a cheap stand-in for the nearest
        orientation inside the bounds, exact where only one angle is bounded away from the
        state.

        :param states: States, shape (..., nq + nv + na).
        :param lower: Lower bounds, shape (2 nv + na,).
        :param upper: Upper bounds, shape (2 nv + na,).

        :returns: The clamped states.
        """
        if not self.has_quaternions:
            return states.clamp(lower, upper) if hasattr(states, 'clamp') else np.clip(
                states, lower, upper)
        ops = _ops(states)
        inside = ops.clip(self.angle_coordinates(states, lower, upper), lower, upper)
        return self.from_angle_coordinates(inside)

    def quaternion_norms(self, states: Any) -> Any:
        """
        Norm of every quaternion of states.

        :param states: States, shape (..., nq + nv + na).

        :returns: Norms, shape (..., number of quaternions).
        """
        ops = _ops(states)
        return ops.stack([ops.norm(states[..., q.qpos:q.qpos + 4]) for q in self.quaternions])

    def checked_orientations(self, state: np.ndarray, what: str,
                             tolerance: float = INPUT_NORM_TOLERANCE) -> np.ndarray:
        """
        Normalize the quaternions of a received state, refusing ones that are no orientation.

        :param state: One state, shape (nq + nv + na,).
        :param what: What it is, for the error message.
        :param tolerance: Largest accepted distance of a quaternion's norm from 1.

        :returns: The state with unit quaternions (a copy).

        :raises ValueError: A quaternion's norm is further than ``tolerance`` from 1.
        """
        return checked_quaternions(state, [q.qpos for q in self.quaternions], what,
                                   [q.joint for q in self.quaternions], tolerance)

    def normalized(self, states: Any) -> Any:
        """
        States with every quaternion scaled to unit length (a copy).

        :param states: States, shape (..., nq + nv + na); no quaternion may be zero.

        :returns: The normalized states.
        """
        ops = _ops(states)
        out = ops.copy(states)
        for q in self.quaternions:
            block = out[..., q.qpos:q.qpos + 4]
            out[..., q.qpos:q.qpos + 4] = block / ops.norm(block)[..., None]
        return out


def checked_quaternions(state: Any, slots: Sequence[int], what: str,
                        joints: Sequence[str] | None = None,
                        tolerance: float = INPUT_NORM_TOLERANCE) -> np.ndarray:
    """
    Normalize the quaternions of a received state vector (numpy), refusing any far from unit.

    :param state: One state (or any vector holding quaternions).
    :param slots: Index of the w value of each quaternion.
    :param what: What the vector is, for the error message.
    :param joints: The joint of each quaternion, for the error message.
    :param tolerance: Largest accepted distance of a quaternion's norm from 1.

    :returns: A float64 copy with unit quaternions.

    :raises ValueError: A quaternion's norm is further than ``tolerance`` from 1.
    """
    state = np.array(state, dtype=np.float64, copy=True).reshape(-1)
    for k, slot in enumerate(slots):
        norm = float(np.linalg.norm(state[slot:slot + 4]))
        if not abs(norm - 1.0) <= tolerance:
            joint = f'of joint {joints[k]!r} ' if joints else ''
            raise ValueError(
                f'{what}: the quaternion {joint}(values {slot}-{slot + 3}, w x y z) has norm '
                f'{norm:.4g}; expected a unit quaternion')
        state[slot:slot + 4] /= norm
    return state


# -- quaternion arithmetic (w, x, y, z), numpy or torch -----------------------------------


def conjugate(q: Any) -> Any:
    """
    Conjugate of quaternions (the inverse of unit quaternions).

    :param q: Quaternions, shape (..., 4).

    :returns: Conjugates, same shape.
    """
    sign = _ops(q).asarray([1.0, -1.0, -1.0, -1.0], q)
    return q * sign


def quaternion_multiply(a: Any, b: Any) -> Any:
    """
    Hamilton product ``a b`` (first rotate by ``b``, then by ``a``, in the fixed frame).

    :param a: Quaternions, shape (..., 4).
    :param b: Quaternions, broadcastable to ``a``.

    :returns: Products, shape (..., 4).
    """
    aw, ax, ay, az = (a[..., k] for k in range(4))
    bw, bx, by, bz = (b[..., k] for k in range(4))
    return _ops(a).stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ])


def rotation_vector(q: Any) -> Any:
    """
    Rotation vector (axis times angle) of quaternions, the shorter way round.

    ``q`` and ``-q`` give the same vector; its length is the rotation angle in [0, pi]. The
    quaternion need not be normalized.

    :param q: Quaternions, shape (..., 4).

    :returns: Rotation vectors, shape (..., 3).
    """
    ops = _ops(q)
    # The hemisphere w >= 0 holds the shorter of the two rotations a quaternion stands for.
    q = q * ops.where(q[..., :1] < 0, -1.0, 1.0)
    w, v = q[..., 0], q[..., 1:]
    sine = ops.norm(v)
    angle = 2.0 * ops.atan2(sine, w)
    # angle / sine tends to 2 / w as the rotation vanishes (w > 0 there): no division by 0.
    small = sine < 1e-12
    factor = ops.where(small, 2.0 / ops.where(small, w, 1.0),
                       angle / ops.where(small, 1.0, sine))
    return v * factor[..., None]


def quaternion_to_rpy(q: Any) -> Any:
    """
    Roll, pitch and yaw of quaternions: ``q = Rz(yaw) Ry(pitch) Rx(roll)``.

    :param q: Quaternions, shape (..., 4), normalized or not.

    :returns: Angles in radians, shape (..., 3): roll and yaw in [-pi, pi], pitch in
        [-pi/2, pi/2].
    """
    ops = _ops(q)
    q = q / ops.norm(q)[..., None]
    w, x, y, z = (q[..., k] for k in range(4))
    roll = ops.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = ops.asin(ops.clip(2.0 * (w * y - z * x), -1.0, 1.0))
    yaw = ops.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return ops.stack([roll, pitch, yaw])


def rpy_to_quaternion(angles: Any) -> Any:
    """
    Quaternions of roll, pitch and yaw, ``q = Rz(yaw) Ry(pitch) Rx(roll)``, with ``w >= 0``.

    :param angles: Roll, pitch, yaw in radians, shape (..., 3).

    :returns: Unit quaternions, shape (..., 4).
    """
    ops = _ops(angles)
    half = angles / 2.0
    cr, cp, cy = (ops.cos(half[..., k]) for k in range(3))
    sr, sp, sy = (ops.sin(half[..., k]) for k in range(3))
    q = ops.stack([
        cr * cp * cy + sr * sp * sy,
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
    ])
    return q * ops.where(q[..., :1] < 0, -1.0, 1.0)


def rotation_angle(a: Any, b: Any) -> Any:
    """
    Angle between two orientations, in [0, pi]; ``q`` and ``-q`` are the same orientation.

    :param a: Quaternions, shape (..., 4).
    :param b: Quaternions, broadcastable to ``a``.

    :returns: Angles in radians, shape (...).
    """
    return _ops(a).norm(rotation_vector(quaternion_multiply(conjugate(b), a)))


def _wrap(angles: Any) -> Any:
    # Into [-pi, pi): the representative of an angle nearest to zero.
    return (angles + math.pi) % (2.0 * math.pi) - math.pi


# -- numpy / torch dispatch -----------------------------------------------------------------


class _Numpy:
    """The few array operations of this module, on numpy arrays."""

    atan2 = staticmethod(np.arctan2)
    asin = staticmethod(np.arcsin)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    clip = staticmethod(np.clip)

    @staticmethod
    def where(condition: Any, a: Any, b: Any) -> Any:
        return np.where(condition, a, b)

    @staticmethod
    def norm(x: Any) -> Any:
        return np.sqrt((x * x).sum(-1))

    @staticmethod
    def stack(items: Sequence[Any]) -> Any:
        return np.stack(items, axis=-1)

    @staticmethod
    def broadcast(a: Any, b: Any) -> tuple[Any, Any]:
        first, second = np.broadcast_arrays(a, b)
        return first, second

    @staticmethod
    def empty(shape: tuple[int, ...], like: Any) -> Any:
        return np.empty(shape, dtype=np.result_type(like, np.float32))

    @staticmethod
    def zeros(shape: tuple[int, ...], like: Any) -> Any:
        return np.zeros(shape, dtype=np.result_type(like, np.float32))

    @staticmethod
    def asarray(values: Any, like: Any) -> Any:
        return np.asarray(values, dtype=np.result_type(like, np.float32))

    @staticmethod
    def copy(x: Any) -> Any:
        return np.array(x, dtype=np.result_type(x, np.float32), copy=True)


class _Torch:
    """The same operations on torch tensors (torch imported on first use)."""

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self.atan2 = torch.atan2
        self.asin = torch.asin
        self.sin = torch.sin
        self.cos = torch.cos

    def clip(self, x: Any, low: Any, high: Any) -> Any:
        return self.torch.clamp(x, low, high)

    def where(self, condition: Any, a: Any, b: Any) -> Any:
        return self.torch.where(condition, a, b)

    def norm(self, x: Any) -> Any:
        return self.torch.linalg.vector_norm(x, dim=-1)

    def stack(self, items: Sequence[Any]) -> Any:
        return self.torch.stack(list(items), dim=-1)

    def broadcast(self, a: Any, b: Any) -> tuple[Any, Any]:
        return self.torch.broadcast_tensors(a, b)

    def empty(self, shape: tuple[int, ...], like: Any) -> Any:
        return self.torch.empty(shape, dtype=like.dtype, device=like.device)

    def zeros(self, shape: tuple[int, ...], like: Any) -> Any:
        return self.torch.zeros(shape, dtype=like.dtype, device=like.device)

    def asarray(self, values: Any, like: Any) -> Any:
        return self.torch.as_tensor(values, dtype=like.dtype, device=like.device)

    def copy(self, x: Any) -> Any:
        return x.clone()


_NUMPY = _Numpy()
_TORCH: list[_Torch] = []


def _ops(x: Any) -> Any:
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return _NUMPY
    if not _TORCH:
        _TORCH.append(_Torch())
    return _TORCH[0]
