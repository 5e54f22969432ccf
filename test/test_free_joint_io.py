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

"""Free-joint states at the edges: ROS messages, the policy node's inputs, sim, render, plots."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ddpg_manipulation import render
from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.ros.demo_queue import DemonstrationQueue
from ddpg_manipulation.ros.joint_map import describe, JointMap, PoseMap
from ddpg_manipulation.ros.messages import (
    demonstration_to_flat,
    flat_to_demonstration,
    LayoutError,
)
from ddpg_manipulation.ros.policy_logic import InputError, PolicyController, TaskContext
from ddpg_manipulation.ros.sim_logic import SimController
from ddpg_manipulation.sim.actions import ActionSpace
from ddpg_manipulation.sim.joints import joint_layout
from ddpg_manipulation.sim.plant import MujocoPlant
from ddpg_manipulation.sim.state_space import rpy_to_quaternion

NX, NU = 49, 18


@pytest.fixture(scope='module')
def params() -> ParameterContainer:
    return ParameterContainer('hand_cube')


class HoldPolicy:
    """A hand_cube policy that holds every joint where it is, recording the states it saw."""

    def __init__(self, params: ParameterContainer) -> None:
        self.actions = ActionSpace.from_params(params)
        self.state_dimension, self.action_dimension = NX, NU
        self.params = params
        self.metadata = {'task': 'hand_cube', 'path': 'hold'}
        self.states: list[np.ndarray] = []

    def start_end_actions(self, state, goal, previous_end=None):
        self.states.append(np.array(state))
        positions = np.asarray(state)[self.params.actuated_qpos]
        return self.actions.start_end_actions(positions, np.zeros(NU), previous_end)


def test_joint_layout_names_the_free_joint_and_its_quaternion(params) -> None:
    layout = joint_layout(params.model)
    assert layout['free_joint_names'] == ['cube']
    assert (layout['free_joint_qpos_index'], layout['free_joint_qvel_index']) == ([0], [25])
    assert layout['quaternion_qpos_index'] == [3]
    assert len(layout['joint_names']) == len(layout['actuated_joint_names']) == 18
    assert layout['joint_names'] == layout['actuated_joint_names']  # command order = model order
    assert layout['joint_qpos_index'] == list(range(7, 25))
    assert layout['joint_qvel_index'] == list(range(31, 49))


def test_policy_node_takes_the_object_pose_on_state_and_joints_by_name(params) -> None:
    policy = HoldPolicy(params)
    context = TaskContext.of(policy)
    assert context.quaternion_slots == (3,) and context.pose_map.names == ('cube',)
    ctrl = PolicyController(policy, 10.0, 0.5, goal=np.array(params.goal_state),
                            joint_map=context.joint_map, base_state=context.start_state,
                            pose_map=context.pose_map,
                            quaternion_slots=context.quaternion_slots)
    names = list(context.joint_map.names)
    ctrl.set_joint_state(names[::-1], np.linspace(0.1, 0.5, 18), [], 0.0)
    assert len(ctrl.unobserved_slots()) == NX - 18
    # Perception: x y z and a slightly unnormalized quaternion (w x y z), no velocities.
    yaw = rpy_to_quaternion(np.array([0.0, 0.0, 0.3]))
    ctrl.set_full_state([0.02, 0.01, 0.045, *(yaw * 1.01)], 0.05)
    assert len(ctrl.unobserved_slots()) == NX - 18 - 7
    ctrl.set_full_state([0.02, 0.01, 0.045, *yaw, 0.1, 0.0, 0.0, 0.0, 0.0, 0.5], 0.06)
    assert len(ctrl.unobserved_slots()) == 18  # the finger velocities only
    ctrl.step(0.1)
    seen = policy.states[-1]
    np.testing.assert_allclose(seen[:7], [0.02, 0.01, 0.045, *yaw])
    np.testing.assert_allclose(seen[25:31], [0.1, 0.0, 0.0, 0.0, 0.0, 0.5])
    np.testing.assert_allclose(seen[7:25], np.linspace(0.1, 0.5, 18)[::-1])


@pytest.mark.parametrize('values, match', [
    ([0.0, 0.0, 0.04, 0.0, 0.0, 0.0, 0.0], r'norm 0; expected a unit quaternion'),
    ([0.0, 0.0, 0.04, 0.3, 0.1, 0.2, 0.1], r"object pose: the quaternion of joint 'cube'"),
    ([0.0] * 8, r'state: expected 49 values \[qpos, qvel\(, act\)\], got 8, or an object pose '
                r'of 7 or 13 values'),
    ([0.0, 0.0, 0.04, 1.0, 0.0, 0.0, float('nan')], 'NaN'),
])
def test_bad_poses_are_rejected_and_the_state_kept(params, values, match) -> None:
    policy = HoldPolicy(params)
    context = TaskContext.of(policy)
    ctrl = PolicyController(policy, 10.0, 0.5, goal=np.array(params.goal_state),
                            base_state=context.start_state, pose_map=context.pose_map,
                            quaternion_slots=context.quaternion_slots)
    with pytest.raises(InputError, match=match):
        ctrl.set_full_state(values, 0.0)
    assert ctrl.rejected_inputs == 1 and ctrl.state_age(0.0) is None


def test_full_states_and_goals_get_unit_quaternions(params) -> None:
    policy = HoldPolicy(params)
    ctrl = PolicyController(policy, 10.0, 0.5, goal=np.array(params.goal_state),
                            quaternion_slots=(3,))
    state = np.array(params.start_state)
    state[3:7] = [0.98, 0.0, 0.0, 0.05]
    ctrl.set_full_state(state, 0.0)
    ctrl.step(0.0)
    assert np.linalg.norm(policy.states[-1][3:7]) == pytest.approx(1.0)
    goal = np.array(params.goal_state)
    goal[3:7] = 0.0
    with pytest.raises(InputError, match='goal: the quaternion'):
        ctrl.set_goal(goal)


def test_pose_map_from_an_old_export_has_no_free_joints() -> None:
    old = {'joint_names': ['a'], 'joint_qpos_index': [0], 'joint_qvel_index': [1]}
    poses = PoseMap.from_layout(old, 2)
    assert poses.pose_length == 0
    assert 'object poses' not in describe(JointMap.from_layout(old, 2), ['a'], poses)
    with pytest.raises(ValueError, match='does not fit a state of 10 values'):
        PoseMap.from_layout({'free_joint_names': ['cube'], 'free_joint_qpos_index': [5],
                             'free_joint_qvel_index': [4]}, 10)


def test_demonstrations_of_a_free_joint_task_cross_the_message_layout(params) -> None:
    plant = MujocoPlant(params)
    start = torch.tensor(params.start_state)[None]
    states, actions = plant.rollout(lambda s, g: torch.rand(1, NU) * 2 - 1, start, start, 5)
    from ddpg_manipulation.transitions import trajectory_transitions

    demonstration = trajectory_transitions(states, actions, start)
    flat = demonstration_to_flat(demonstration)
    assert [d.size for d in flat.dims[2:]] == [NX, NU, NX, NX, NX]
    back = flat_to_demonstration(flat, NX, NU, quaternion_slots=[3])
    np.testing.assert_array_equal(back['next_states'], demonstration['next_states'].numpy())
    queue = DemonstrationQueue(NX, NU, quaternion_slots=[3])
    queue.put_flat(flat)
    bad = flat.data.reshape(5, -1).copy()
    bad[2, NX + NU + 3] = 2.0  # next_states of transition 2: w = 2
    flat.data = bad.reshape(-1)
    with pytest.raises(LayoutError, match=r"block 'next_states', transition 2: the quaternion "
                                          r'at state values 3-6 has norm'):
        queue.put_flat(flat)
    assert (queue.received, queue.rejected) == (1, 1)


def test_sim_node_watches_a_rotation_goal_in_either_quaternion_sign(params) -> None:
    goal = np.array(params.goal_state)
    goal[3:7] = -goal[3:7]  # the same 90-degree turn
    sim = SimController(params, goal=goal)
    assert sim.relative_distance() == pytest.approx(1.0)
    at_goal = np.array(params.goal_state)
    sim._set_state(at_goal)
    assert sim.relative_distance() == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="goal: the quaternion of joint 'cube'"):
        SimController(params, goal=np.zeros(NX))


def test_render_distances_ghost_and_camera_of_a_free_joint_task(params) -> None:
    model = params.model
    names = {model.body(b).name for b in render.goal_bodies(model,
                                                            params.reward_distance_scaling)}
    assert names == {'cube'}
    plant = MujocoPlant(params)
    states = plant.sample_goal_states(6, torch.Generator().manual_seed(0)).reshape(2, 3, NX)
    goals = plant.sample_goal_states(2, torch.Generator().manual_seed(1))
    relative = render.relative_distances(params, states.double().numpy(),
                                         goals.double().numpy())
    expected = (plant.scaled_distances_to(states, goals[:, None])
                / plant.scaled_distances_to(states[:, :1], goals[:, None]))
    np.testing.assert_allclose(relative, expected.numpy(), rtol=1e-5)
    assert render.task_camera(params) == 'above'
    assert render.task_camera(params, 'other') == 'other'
    assert render.task_camera(ParameterContainer('box_push')) is None
    ghost = render._ghost_model(model, params.reward_distance_scaling)
    assert (ghost.site_group == render.HIDDEN_GROUP).all()
    markers = [g for g in range(model.ngeom) if model.geom_group[g] == render.MARKER_GROUP]
    assert len(markers) == 3
    assert all(tuple(ghost.geom_rgba[g]) == pytest.approx(render.GHOST_MARKER_RGBA)
               for g in markers)


@pytest.mark.parametrize('task', ['hand_cube', 'floating_hand'])
def test_task_camera_frames_hand_and_object(task: str) -> None:
    try:
        render.gl_backend()
    except render.RenderError as error:
        pytest.skip(f'no headless OpenGL backend here: {error}')
    params = ParameterContainer(task)
    start = np.asarray(params.start_state, dtype=np.float64)
    goal = np.asarray(params.goal_state, dtype=np.float64)
    with render.SceneRenderer(params, 160, 120) as renderer:
        with_goal = renderer.render(start, goal).astype(np.int16)
        alone = renderer.render(start).astype(np.int16)
    # Hand and object are in the picture (dark links on a light scene), and so is the ghost.
    assert (alone.max(axis=-1) < 70).sum() > 100
    assert (np.abs(with_goal - alone).max(axis=-1) > 20).sum() > 50
    assert math.isfinite(float(with_goal.mean()))


def test_an_exported_hand_cube_policy_carries_the_free_joint_layout(tmp_path) -> None:
    pytest.importorskip('onnx')
    pytest.importorskip('onnxruntime')
    from ddpg_manipulation import export
    from ddpg_manipulation.learning.build import build_learner
    from ddpg_manipulation.policy import Policy

    params = ParameterContainer('hand_cube', {
        'learner.cycles': 1, 'learner.batches': 1, 'learner.batch_size': 8,
        'learner.evals': 2, 'learner.validation_evals': 1, 'learner.trajectory_length': 3,
        'learner.nlayers': 1, 'learner.layer_width': 16, 'learner.use_planner': False})
    learner = build_learner(params, None, output_dir=tmp_path, verbose=False, device='cpu')
    learner.train(1)
    checkpoint = Policy.load(learner.last_checkpoint, task=params.task_file)
    exported = Policy.load(export.export_onnx(checkpoint, tmp_path / 'hand_cube.onnx'))
    context = TaskContext.of(exported)
    assert context.pose_map.names == ('cube',) and context.quaternion_slots == (3,)
    assert context.actuated_joint_names[:3] == ['wrist_roll', 'wrist_pitch', 'index_j0']
    state = np.array(params.start_state, dtype=np.float32)
    goal = np.array(params.goal_state, dtype=np.float32)
    np.testing.assert_allclose(exported.act(state, goal), checkpoint.act(state, goal), atol=1e-5)
