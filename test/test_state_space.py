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

"""StateSpace: free-joint states, rotation distances, angle bounds, against MuJoCo's own maths."""

import math

import mujoco
import numpy as np
import pytest
import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.sim.linearization import StepLinearization
from ddpg_manipulation.sim.plant import MujocoPlant
from ddpg_manipulation.sim.state_space import (
    checked_quaternions,
    quaternion_to_rpy,
    rotation_angle,
    rotation_vector,
    rpy_to_quaternion,
    StateSpace,
)

# A free body and a ball-jointed pendulum after a hinge: every kind of joint, nq != nv.
MIXED = """
<mujoco>
  <worldbody>
    <body name="cube"><freejoint name="cube"/><geom type="box" size="0.1 0.1 0.1"/></body>
    <body name="arm" pos="1 0 0">
      <joint name="hinge" type="hinge" axis="0 0 1"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.02"/>
      <body name="tip" pos="0.3 0 0">
        <joint name="ball" type="ball"/>
        <geom type="sphere" size="0.05" pos="0.1 0 0"/>
      </body>
    </body>
  </worldbody>
</mujoco>
"""


@pytest.fixture(scope='module')
def mixed():
    model = mujoco.MjModel.from_xml_string(MIXED)
    return model, StateSpace.from_model(model)


@pytest.fixture(scope='module')
def hand_cube():
    return MujocoPlant(ParameterContainer('hand_cube'))


def random_quaternions(count, seed=0):
    q = np.random.default_rng(seed).normal(size=(count, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def random_state(model, rng):
    qpos = np.zeros(model.nq)
    mujoco.mj_integratePos(model, qpos, rng.normal(size=model.nv), 1.0)
    qpos[:3] = rng.normal(size=3)  # the free joint's position
    return np.concatenate([qpos, rng.normal(size=model.nv)])


def test_layout_of_every_joint_kind(mixed):
    model, space = mixed
    assert (space.nq, space.nv, space.state_dimension, space.tangent_dimension) == (
        12, 10, 22, 20)
    assert [(q.joint, q.qpos, q.dof) for q in space.quaternions] == [
        ('cube', 3, 3), ('ball', 8, 7)]
    assert space.rotation_dofs() == [3, 4, 5, 7, 8, 9]
    assert space.names[:7] == ('cube x', 'cube y', 'cube z', 'cube rx', 'cube ry', 'cube rz',
                               'hinge')
    assert space.bound_names[3:6] == ('cube roll', 'cube pitch', 'cube yaw')
    assert space.names[10:17] == ('cube vel x', 'cube vel y', 'cube vel z', 'cube vel wx',
                                  'cube vel wy', 'cube vel wz', 'hinge vel')


def test_difference_is_mujocos_differentiate_pos(mixed):
    # The tangent layout of MuJoCo's finite differences: positions by mj_differentiatePos, the
    # velocities subtracted.
    model, space = mixed
    rng = np.random.default_rng(1)
    for _ in range(5):
        state, goal = random_state(model, rng), random_state(model, rng)
        expected = np.zeros(model.nv)
        mujoco.mj_differentiatePos(model, expected, 1.0, goal[:model.nq], state[:model.nq])
        difference = space.difference(state, goal)
        np.testing.assert_allclose(difference[:model.nv], expected, atol=1e-12)
        np.testing.assert_allclose(difference[model.nv:], state[model.nq:] - goal[model.nq:])


def test_rotation_vector_matches_mju_subquat_and_ignores_the_sign():
    a, b = random_quaternions(20, 2), random_quaternions(20, 3)
    for qa, qb in zip(a, b):
        expected = np.zeros(3)
        mujoco.mju_subQuat(expected, qa, qb)  # qb * quat(expected) = qa
        relative = np.array([qb[0], -qb[1], -qb[2], -qb[3]])
        product = np.zeros(4)
        mujoco.mju_mulQuat(product, relative, qa)
        np.testing.assert_allclose(rotation_vector(product), expected, atol=1e-12)
        np.testing.assert_allclose(rotation_vector(-product), expected, atol=1e-12)
        assert np.linalg.norm(expected) <= math.pi + 1e-12


def test_rotation_distance_is_the_angle_not_a_component_difference():
    yaw = np.array([0.0, 0.0, math.pi / 2])
    q = rpy_to_quaternion(yaw)
    identity = np.array([1.0, 0.0, 0.0, 0.0])
    assert rotation_angle(q, identity) == pytest.approx(math.pi / 2)
    # -q is the same orientation: at angle 0, though all four components differ.
    assert rotation_angle(-q, q) == pytest.approx(0.0, abs=1e-7)
    # Turning by 350 degrees is 10 degrees away, the shorter way round.
    q350 = rpy_to_quaternion(np.array([0.0, 0.0, math.radians(350)]))
    assert rotation_angle(q350, identity) == pytest.approx(math.radians(10))


def test_rpy_convention_is_mujocos_extrinsic_xyz():
    rng = np.random.default_rng(4)
    for angles in rng.uniform([-3, -1.5, -3], [3, 1.5, 3], size=(10, 3)):
        expected = np.zeros(4)
        mujoco.mju_euler2Quat(expected, angles, 'XYZ')
        expected *= np.sign(expected[0])
        np.testing.assert_allclose(rpy_to_quaternion(angles), expected, atol=1e-12)
        np.testing.assert_allclose(quaternion_to_rpy(expected), angles, atol=1e-9)


def test_numpy_and_torch_agree(mixed):
    model, space = mixed
    rng = np.random.default_rng(5)
    states = np.stack([random_state(model, rng) for _ in range(4)])
    goals = np.stack([random_state(model, rng) for _ in range(4)])
    scaling = rng.uniform(0.1, 2.0, size=space.tangent_dimension)
    for name in ('difference', 'coordinates', 'angle_coordinates'):
        args = (states, goals) if name == 'difference' else (states,)
        expected = getattr(space, name)(*args)
        got = getattr(space, name)(*(torch.from_numpy(a) for a in args))
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
    distances = space.scaled_distances(torch.from_numpy(states), torch.from_numpy(goals),
                                       torch.from_numpy(scaling))
    np.testing.assert_allclose(distances.numpy(),
                               space.scaled_distances(states, goals, scaling), atol=1e-12)


def test_without_quaternions_the_arithmetic_is_the_plain_one():
    space = StateSpace.from_model(ParameterContainer('planar_hand').model)
    assert not space.has_quaternions and space.tangent_dimension == space.state_dimension == 14
    states, goals = torch.randn(6, 14), torch.randn(6, 14)
    assert torch.equal(space.difference(states, goals), states - goals)
    assert space.coordinates(states) is states
    lower, upper = -torch.ones(14) * 0.5, torch.ones(14) * 0.5
    assert torch.equal(space.clamp(states, lower, upper), states.clamp(lower, upper))
    # Sampling draws exactly what the package drew before: one uniform per slot.
    sampled = space.sample(lower, upper, 5, torch.Generator().manual_seed(3))
    noise = torch.rand((5, 14), generator=torch.Generator().manual_seed(3))
    assert torch.equal(sampled, lower + (upper - lower) * noise)


def test_sampled_orientations_are_unit_and_within_their_angle_bounds(hand_cube):
    goals = hand_cube.sample_goal_states(500, torch.Generator().manual_seed(0))
    space = hand_cube.state_space
    norms = space.quaternion_norms(goals)
    torch.testing.assert_close(norms, torch.ones_like(norms))
    assert (goals[:, 3] >= 0).all()  # the w >= 0 hemisphere
    lower, upper = hand_cube.goal_bounds
    angles = space.angle_coordinates(goals, lower, upper)
    assert ((angles >= lower - 1e-5) & (angles <= upper + 1e-5)).all()
    yaw = angles[:, 5]
    assert yaw.min() < math.pi / 2 + 0.1 and yaw.max() > math.pi - 0.1  # the whole range
    assert angles[:, 3:5].abs().max() < 1e-5  # upright: no roll or pitch


def test_clamp_takes_angles_the_short_way_into_the_bounds():
    space = StateSpace.from_model(mujoco.MjModel.from_xml_string(MIXED))
    lower = np.full(space.tangent_dimension, -10.0)
    upper = np.full(space.tangent_dimension, 10.0)
    lower[3:6], upper[3:6] = [0, 0, math.pi / 2], [0, 0, math.pi]
    state = np.zeros(space.state_dimension)
    state[8] = 1.0  # the ball joint's identity
    # Yaw -170 degrees is 190 degrees, nearest to the bounds' upper end pi, not to pi/2.
    state[3:7] = rpy_to_quaternion(np.array([0.0, 0.0, math.radians(-170)]))
    clamped = space.clamp(state, lower, upper)
    assert rotation_angle(clamped[3:7], rpy_to_quaternion(np.array([0, 0, math.pi]))) == (
        pytest.approx(0.0, abs=1e-7))
    inside = state.copy()
    inside[3:7] = rpy_to_quaternion(np.array([0.0, 0.0, 2.0]))
    assert rotation_angle(space.clamp(inside, lower, upper)[3:7], inside[3:7]) == (
        pytest.approx(0.0, abs=1e-7))


def test_checked_quaternions_normalize_or_refuse():
    state = np.array([0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"pose: the quaternion of joint 'cube' \(values 3-6, "
                                         r'w x y z\) has norm 2; expected a unit quaternion'):
        checked_quaternions(state, [3], 'pose', ['cube'])
    state[3:] = [0.7, 0.0, 0.0, 0.72]
    np.testing.assert_allclose(np.linalg.norm(checked_quaternions(state, [3], 'pose')[3:]), 1.0)


def test_linearization_predicts_a_free_cube_in_the_tangent_layout(hand_cube):
    # mjd_transitionFD works in the tangent layout; a small action's predicted change of the
    # state must match the simulated one, difference taken by the state space.
    linearization = StepLinearization(hand_cube, 1e-6)
    start = torch.tensor(hand_cube.params.start_state)[None]
    # Settled first: a finite difference across the contact coming on is no derivative.
    state, _ = hand_cube.step(start, torch.zeros(1, 18))
    targets = hand_cube.actions.clip(state[:, hand_cube.actuated_pos])
    jacobians = linearization.jacobians(state, targets)
    assert jacobians.shape == (1, 48, 18)
    assert torch.isfinite(jacobians).all()
    normalized = torch.zeros(1, 18, dtype=torch.float64)
    normalized[0, 3] = 0.02  # index proximal joint, a little
    predicted = (jacobians @ normalized[..., None])[0, :, 0]
    relative = hand_cube.actions.relative_actions(normalized.float())
    after, _ = hand_cube.step(state, relative)
    before, _ = hand_cube.step(state, torch.zeros_like(relative))
    simulated = hand_cube.state_space.difference(after.double(), before.double())[0]
    # The moved joint itself: the prediction is of the right size and sign.
    assert simulated[9].item() == pytest.approx(predicted[9].item(), rel=0.2)
