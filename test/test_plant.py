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

"""MujocoPlant and the action definition: batched dynamics, FOH, distances, sampling."""

import mujoco
import numpy as np
import pytest
import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.sim.actions import ActionSpace, first_order_hold
from ddpg_manipulation.sim.plant import MujocoPlant


@pytest.fixture(scope='module')
def box_push():
    return MujocoPlant(ParameterContainer('box_push'))


@pytest.fixture(scope='module')
def hand():
    return MujocoPlant(ParameterContainer('planar_hand'))


def test_layout(box_push, hand):
    assert (box_push.state_dimension, box_push.action_dimension) == (4, 1)
    assert box_push.actuated_pos.tolist() == [1]
    assert box_push.substeps == 40
    assert (hand.state_dimension, hand.action_dimension) == (14, 4)
    assert hand.actuated_pos.tolist() == [3, 4, 5, 6]
    assert hand.sensor_dimension == 12


def test_first_order_hold_values():
    start_end = np.array([[[[0.0, 1.0], [4.0, -3.0]]]])  # batch 1, 1 step, (start, end), nu 2
    controls = first_order_hold(start_end, 4)
    assert controls.shape == (1, 4, 2)
    np.testing.assert_allclose(controls[0, :, 0], [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(controls[0, :, 1], [0.0, -1.0, -2.0, -3.0])


def test_foh_matches_a_plain_mujoco_loop(box_push):
    # The batched rollout must equal stepping MuJoCo by hand with the same interpolated targets.
    state = torch.tensor([[9.0, 0.3, 0.0, 0.1]])
    start_end = torch.tensor([[[0.3], [0.7]]])
    batched = box_push.dynamics(state, start_end)
    model = box_push.model
    data = mujoco.MjData(model)
    data.qpos[:] = [9.0, 0.3]
    data.qvel[:] = [0.0, 0.1]
    for k in range(box_push.substeps):
        data.ctrl[:] = 0.3 + 0.4 * (k + 1) / box_push.substeps
        mujoco.mj_step(model, data)
    expected = np.concatenate([data.qpos, data.qvel])
    np.testing.assert_allclose(batched[0].numpy(), expected, rtol=1e-5, atol=1e-5)


def test_multi_step_call_equals_sequential_calls(hand):
    gen = torch.Generator().manual_seed(0)
    states = hand.sample_start_states(5, gen)
    targets = torch.rand((5, 3, 2, 4), generator=gen) * 0.5
    targets = hand.actions.clip(targets)
    together = hand.dynamics(states, targets)
    current = states
    for k in range(3):
        current = hand.dynamics(current, targets[:, k])
        torch.testing.assert_close(together[:, k], current, rtol=1e-4, atol=1e-4)


def test_batch_rows_are_independent_and_thread_count_invariant():
    params = ParameterContainer('planar_hand')
    one, two = MujocoPlant(params, nthread=1), MujocoPlant(params, nthread=2)
    gen = torch.Generator().manual_seed(1)
    states = one.sample_start_states(16, gen)
    targets = one.actions.clip(torch.rand((16, 2, 4), generator=gen))
    a, b = one.dynamics(states, targets), two.dynamics(states, targets)
    assert torch.equal(a, b)
    alone = one.dynamics(states[3:4], targets[3:4])
    assert torch.equal(alone[0], a[3])


def test_sensors_returned(hand):
    states = hand.start_state[None].repeat(2, 1)
    targets = hand.actions.start_end_actions(states[:, hand.actuated_pos], torch.zeros(2, 4))
    next_states, sensors = hand.dynamics(states, targets, return_sensors=True)
    assert next_states.shape == (2, 14) and sensors.shape == (2, 12)
    assert torch.isfinite(sensors).all()


def test_step_pushes_the_box(box_push):
    states = box_push.start_state[None].clone()
    previous = None
    for _ in range(40):
        states, previous = box_push.step(states, torch.tensor([[0.4]]), previous)
    assert states[0, 0] > 10.5  # the cart reached the box and pushed it towards the goal
    assert previous[0, 0] <= 12.0


def test_rollout_shapes(box_push):
    gen = torch.Generator().manual_seed(0)
    starts = box_push.sample_start_states(3, gen)
    goals = box_push.sample_goal_states(3, gen)
    states, relative = box_push.rollout(lambda s, g: torch.ones(s.shape[0], 1), starts, goals, 7)
    assert states.shape == (3, 8, 4) and relative.shape == (3, 7, 1)
    assert torch.equal(states[:, 0], starts)
    assert torch.allclose(relative, torch.full_like(relative, 0.4))


def test_rollout_steps_run_on_one_torch_thread_and_restore_the_count(box_push):
    # The actor call of a step is too small for two threads (docs/performance.md); on one its
    # actions do not depend on the count the updates run with.
    seen = []

    def act(states: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        seen.append(torch.get_num_threads())
        return torch.zeros(states.shape[0], 1)

    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        gen = torch.Generator().manual_seed(0)
        box_push.rollout(act, box_push.sample_start_states(2, gen),
                         box_push.sample_goal_states(2, gen), 3)
        assert seen == [1, 1, 1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_scaled_distance(box_push):
    states = torch.tensor([[9.0, 5.0, 1.0, 7.0]])
    goals = torch.tensor([[11.0, 0.0, 0.0, 0.0]])
    # scaling [1, 0, 0.1, 0]: only object position and velocity count
    expected = (2.0 ** 2 + 0.1 ** 2) ** 0.5
    assert box_push.scaled_distances_to(states, goals).item() == pytest.approx(expected)


def test_sampling_is_seeded_and_within_bounds(box_push):
    a = box_push.sample_goal_states(500, torch.Generator().manual_seed(4))
    b = box_push.sample_goal_states(500, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    lower, upper = box_push.goal_bounds
    assert ((a >= lower) & (a <= upper)).all()
    assert a[:, 0].min() < 10.6 and a[:, 0].max() > 11.4  # covers the region


def test_action_space_modes_and_kinds():
    params = ParameterContainer('planar_hand')
    space = ActionSpace.from_params(params)
    normalized = np.array([[1.0, -1.0, 0.5, 0.0]])
    relative = space.relative_actions(normalized)
    np.testing.assert_allclose(relative, [[0.8, -1.6, 0.4, 0.0]])
    np.testing.assert_allclose(space.normalized_actions(relative), normalized)
    positions = np.array([[-1.5, -0.1, 1.5, 2.3]])
    start_end = space.start_end_actions(positions, relative)
    assert start_end.shape == (1, 2, 4)
    np.testing.assert_allclose(start_end[0, 0], positions[0])
    # end = position + relative, clipped to the bounds
    np.testing.assert_allclose(start_end[0, 1], [-0.7, -1.7, np.pi / 2, 2.3])
    torch_result = space.start_end_actions(torch.tensor(positions), torch.tensor(relative))
    np.testing.assert_allclose(torch_result.numpy(), start_end)
    previous = ActionSpace(space.lower, space.upper, space.range, space.time_step,
                           start_mode='previous', end_mode='previous')
    prev_end = np.array([[-1.0, -1.0, 1.0, 1.0]])
    se = previous.start_end_actions(positions, relative, prev_end)
    np.testing.assert_allclose(se[0, 0], prev_end[0])
    np.testing.assert_allclose(se[0, 1], [-0.2, -2.4, 1.4, 1.0])


def test_time_step_must_be_a_multiple_of_the_model_timestep():
    params = ParameterContainer('box_push', {'action.time_step': 0.405})
    with pytest.raises(ValueError, match='action.time_step'):
        MujocoPlant(params)
