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

"""floating_hand and hand_cube: models, task validation, distances, sampling, search, learning."""

import math

import mujoco
import numpy as np
import pytest
import torch

from ddpg_manipulation.config import ConfigError, ParameterContainer
from ddpg_manipulation.learning.build import build_learner
from ddpg_manipulation.planner.action_sampler import ActionSampler, GRADIENT
from ddpg_manipulation.planner.graph import Graph
from ddpg_manipulation.planner.search import Planner
from ddpg_manipulation.sim.plant import MujocoPlant
from ddpg_manipulation.sim.state_space import rpy_to_quaternion

TINY = {'learner.cycles': 2, 'learner.batches': 2, 'learner.batch_size': 16,
        'learner.evals': 3, 'learner.validation_evals': 2, 'learner.trajectory_length': 4,
        'learner.nlayers': 1, 'learner.layer_width': 16, 'learner.rollouts': 2,
        'learner.her_probability': 0.5, 'learner.use_planner': False}


@pytest.fixture(scope='module')
def cube():
    return MujocoPlant(ParameterContainer('hand_cube'))


@pytest.fixture(scope='module')
def flip():
    return MujocoPlant(ParameterContainer('floating_hand'))


def test_floating_hand_is_the_specified_planar_task(flip):
    params, model = flip.params, flip.model
    assert (model.nq, model.nv, model.nu, params.state_dimension) == (9, 9, 6, 18)
    assert not flip.state_space.has_quaternions
    names = [model.joint(j).name for j in range(model.njnt)]
    assert names == ['box_x', 'box_z', 'box_theta', 'palm_x', 'palm_z', 'left_shoulder',
                     'left_elbow', 'right_shoulder', 'right_elbow']
    half = math.pi / 2
    assert params.action_bound_lower == pytest.approx([-2, 0.2, 0, 0, -half, -half])
    assert params.action_bound_upper == pytest.approx([2, 2, half, half, 0, 0])
    assert (params.action_time_step, params.learner_final_success_distance) == (0.4, 0.05)
    # Goal: the box turned over by pi, x in [-0.5, 0.5], height in [0.15, 0.5].
    goals = flip.sample_goal_states(200, torch.Generator().manual_seed(0))
    assert torch.all(goals[:, 2] == torch.tensor(math.pi, dtype=torch.float32))
    assert goals[:, 0].min() >= -0.5 and goals[:, 0].max() <= 0.5
    assert goals[:, 1].min() >= 0.15 and goals[:, 1].max() <= 0.5
    # Starts: the box upright on the ground (half-height 0.15), the palm and fingers above it.
    starts = flip.sample_start_states(200, torch.Generator().manual_seed(1))
    data = mujoco.MjData(model)
    for start in starts[:20].double().numpy():
        data.qpos[:] = start[:9]
        mujoco.mj_forward(model, data)
        assert start[1] == pytest.approx(model.geom('box').size[2])
        lowest_hand = min(data.geom(g).xpos[2] for g in ('palm', 'left_lower', 'right_lower'))
        assert lowest_hand > 0.3 + 0.045  # above the box top, capsule radius included
        touching = {frozenset((model.geom(c.geom1).name, model.geom(c.geom2).name))
                    for c in data.contact[:data.ncon]}
        assert touching <= {frozenset(('ground', 'box'))}  # resting, or just touching (dist 0)


def test_hand_cube_is_an_18_actuator_hand_with_a_free_cube(cube):
    params, model = cube.params, cube.model
    assert (model.nq, model.nv, model.nu) == (25, 24, 18)
    assert (params.state_dimension, params.tangent_dimension) == (49, 48)
    assert int(model.jnt_type[0]) == int(mujoco.mjtJoint.mjJNT_FREE)
    assert [q.qpos for q in cube.state_space.quaternions] == [3]
    assert params.actuated_qpos == list(range(7, 25))
    assert params.learner_trajectory_length == 50 and params.action_time_step == 0.4
    assert params.learner_final_success_distance == 0.2
    scaling = np.array(params.reward_distance_scaling)
    # Position strongly, orientation moderately, velocities little, the hand not at all.
    assert scaling[:3].min() > scaling[3:6].max() > scaling[24:30].max() > 0
    assert not scaling[6:24].any() and not scaling[30:].any()


def test_the_cube_rests_on_the_palm(cube):
    start = torch.tensor(cube.params.start_state)[None]
    states, _ = cube.rollout(lambda s, g: torch.zeros(1, 18), start, start, 10)
    final = states[0, -1]
    assert torch.allclose(final[:3], start[0, :3], atol=2e-3)
    norms = cube.state_space.quaternion_norms(states[0])
    torch.testing.assert_close(norms, torch.ones_like(norms))
    assert cube.scaled_distances_to(final, start[0]) < 0.2


def test_orientations_move_continuously_along_a_trajectory(cube):
    # The networks see quaternion components: no sign flip between two steps (a flip would be a
    # jump of the inputs with no change of the orientation).
    starts = cube.sample_start_states(4, torch.Generator().manual_seed(3))
    generator = torch.Generator().manual_seed(4)

    def act(states, goals):
        return torch.rand((states.shape[0], 18), generator=generator) * 2 - 1

    states, _ = cube.rollout(act, starts, starts, 15)
    q = states[..., 3:7]
    assert ((q[:, 1:] * q[:, :-1]).sum(-1) > 0.5).all()
    assert cube.state_space.difference(states[:, -1], starts)[:, 3:6].norm(dim=-1).max() > 0.05


def test_distances_are_rotations_in_either_quaternion_sign(cube):
    start = torch.tensor(cube.params.start_state)
    goal = torch.tensor(cube.params.goal_state)
    # Only the 90-degree turn differs, weighted 10 per radian.
    assert cube.scaled_distances_to(start, goal).item() == pytest.approx(10 * math.pi / 2)
    flipped = goal.clone()
    flipped[3:7] = -flipped[3:7]
    assert cube.scaled_distances_to(flipped, goal).item() == pytest.approx(0.0, abs=1e-5)
    # Turned by 180 degrees the other way round is the same orientation as by 180 degrees.
    half = start.clone()
    half[3:7] = torch.from_numpy(rpy_to_quaternion(np.array([0.0, 0.0, -math.pi]))).float()
    other = start.clone()
    other[3:7] = torch.from_numpy(rpy_to_quaternion(np.array([0.0, 0.0, math.pi]))).float()
    assert cube.scaled_distances_to(half, other).item() == pytest.approx(0.0, abs=1e-4)


def test_goal_region_distance_is_zero_inside_and_positive_outside(cube):
    goals = cube.sample_goal_states(50, torch.Generator().manual_seed(2))
    assert cube.goal_region_distances(goals).max() < 1e-3
    start = torch.tensor(cube.params.start_state)[None]
    # 90 degrees short of the region's nearer end, weighted 10 per radian.
    assert cube.goal_region_distances(start).item() == pytest.approx(10 * math.pi / 2, rel=1e-4)


@pytest.mark.parametrize('key, value, message', [
    ('start.state', [0.01, 0.0, 0.04, 1.0, 0.1] + [0.0] * 44,
     r"key 'start.state': the quaternion of joint 'cube' \(indices 3-6, w x y z\) has norm "
     r'1.00498756, expected 1 within 1e-06'),
    ('goal.state', [0.01, 0.0, 0.04, 1.0, 0.0, 0.0, 0.0] + [0.0] * 42,
     r"key 'goal.state': nominal value 0.0 at index 5 \(cube yaw\) lies outside its sampling "
     r'bounds \[1.5707963267948966, 3.141592653589793\]'),
    ('reward.distance_scaling', [1.0] * 49,
     r"key 'reward.distance_scaling': expected a list of 48 numbers \(degrees of freedom "
     r'2nv\+na of hand_cube.xml\), got 49'),
])
def test_hand_cube_validation_names_the_problem(key, value, message):
    with pytest.raises(ConfigError, match=message):
        ParameterContainer('hand_cube', {key: value})


def test_a_nominal_yaw_of_minus_pi_lies_in_bounds_ending_at_pi():
    # Angles compare modulo 2 pi: -pi and pi are one orientation.
    goal = list(ParameterContainer('hand_cube').goal_state)
    goal[3:7] = [0.0, 0.0, 0.0, -1.0]
    assert ParameterContainer('hand_cube', {'goal.state': goal}).goal_state[6] == -1.0


def test_gradient_and_reachability_work_in_the_tangent_layout(cube):
    params = cube.params.with_overrides({'reward.reachability_scaling': 0.01,
                                         'planner.max_main_nodes': 200})
    plant = MujocoPlant(params)
    graph = Graph(plant, params)
    assert graph.object_dims.tolist() == [0, 1, 2, 3, 4, 5]  # the cube's six freedoms
    planner = Planner(plant, graph, params, torch.Generator().manual_seed(0))
    for _ in range(3):
        planner.extend(torch.ones(1, dtype=torch.bool))
    assert torch.isfinite(graph.reachability_rewards[:graph.num_nodes]).all()
    sampler = ActionSampler(plant, graph, params, torch.Generator().manual_seed(1))
    steps = sampler.gradient(torch.arange(1, graph.num_nodes))
    usable = ~torch.isnan(steps).any(-1)
    assert usable.any() and steps[usable].abs().max() <= params.planner_gradient_step + 1e-6
    norms = plant.state_space.quaternion_norms(graph.states[:graph.num_nodes])
    torch.testing.assert_close(norms, torch.ones_like(norms))
    _, strategies = sampler(torch.arange(graph.num_nodes))
    assert (strategies == GRADIENT).any()


def test_learning_with_her_on_free_joint_states(tmp_path):
    params = ParameterContainer('hand_cube', TINY)
    learner = build_learner(params, output_dir=tmp_path, save_local=False, verbose=False,
                            device='cpu')
    learner.train(1)
    assert learner.epoch == 1
    data = learner.replay_buffer.sample(64)
    # Relabelled goals are states the trajectory reached: unit quaternions, like the states.
    norms = learner.plant.state_space.quaternion_norms(data['goal_states'])
    torch.testing.assert_close(norms, torch.ones_like(norms), atol=1e-5, rtol=0)
    obs = learner.state_norm.normalize_obs(torch.cat([data['states'], data['goal_states']], -1))
    assert obs.shape == (64, 98) and torch.isfinite(obs).all()
    # A goal and its negated quaternion give the same reward: success, where it is reached.
    goal = data['next_states'][:1].clone()
    negated = goal.clone()
    negated[:, 3:7] = -negated[:, 3:7]
    rewards, done = learner.reward_function(data['start_states'][:1], data['next_states'][:1],
                                            negated)
    assert params.learner_reward_type == 'mixed'  # minus half the relative distance: about 0
    assert rewards.item() == pytest.approx(0.0, abs=1e-6) and done.item() == 1.0
