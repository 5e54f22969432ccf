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

"""SimController: the sim node's logic (real-time pacing, command hold, goal watch)."""

import numpy as np
import pytest
import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.ros.sim_logic import CommandError, relative_distance, SimController
from ddpg_manipulation.sim.plant import MujocoPlant


@pytest.fixture(scope='module')
def box_reach():
    return ParameterContainer('box_reach')


def test_starts_at_the_nominal_start_holding_the_start_pose(box_reach):
    sim = SimController(box_reach)
    np.testing.assert_array_equal(sim.state(), box_reach.start_state)
    assert sim.data.ctrl[0] == box_reach.start_state[1]  # the cart's position target
    names, positions, velocities = sim.joint_state()
    assert names == ['object_x', 'cart_x'] and positions.tolist() == [9.0, 0.0]


def test_steps_follow_the_wall_clock(box_reach):
    sim = SimController(box_reach)
    assert sim.advance(100.0) == 0  # anchors the clock
    assert sim.advance(100.25) == 25  # 0.25 s at the 0.01 s model timestep
    assert sim.sim_time == pytest.approx(0.25)
    assert sim.advance(100.25) == 0
    assert sim.advance(101.0) == 75


def test_real_time_factor_scales_simulated_time(box_reach):
    sim = SimController(box_reach, real_time_factor=4.0)
    sim.advance(0.0)
    assert sim.advance(0.5) == 200 and sim.sim_time == pytest.approx(2.0)


def test_falling_behind_slows_down_instead_of_bursting(box_reach):
    sim = SimController(box_reach, max_steps_per_tick=10)
    sim.advance(0.0)
    assert sim.advance(1.0) == 10 and sim.behind_ticks == 1
    assert sim.advance(1.05) == 5  # re-anchored: only the time since the last tick


def test_wait_for_command_holds_the_physics(box_reach):
    sim = SimController(box_reach, wait_for_command=True)
    assert sim.advance(0.0) == 0 and sim.advance(1.0) == 0
    sim.apply_command([0.5], 1.0)
    sim.advance(1.0)
    assert sim.advance(1.1) == 10


def test_commands_set_ctrl_and_are_held(box_reach):
    sim = SimController(box_reach)
    sim.apply_command([2.0], 0.0)
    sim.advance(0.0)
    sim.advance(20.0)
    assert sim.data.ctrl[0] == 2.0
    assert sim.state()[1] == pytest.approx(2.0, abs=0.05)  # the position servo got there


@pytest.mark.parametrize('bad, match', [
    ([1.0, 2.0], 'expected 1 actuator targets, got 2'),
    ([], 'expected 1 actuator targets, got 0'),
    ([np.nan], 'NaN or inf'),
    ([np.inf], 'NaN or inf'),
    (['x'], 'not a list of numbers'),
])
def test_bad_commands_are_rejected_and_the_last_one_held(box_reach, bad, match):
    sim = SimController(box_reach)
    sim.apply_command([1.0], 0.0)
    with pytest.raises(CommandError, match=match):
        sim.apply_command(bad, 0.1)
    assert sim.data.ctrl[0] == 1.0 and sim.rejected_commands == 1


def test_commands_are_clipped_to_the_control_range(box_reach):
    sim = SimController(box_reach)
    assert sim.apply_command([50.0], 0.0)[0] == 12.0
    assert sim.apply_command([-50.0], 0.0)[0] == -12.0
    assert sim.clipped_commands == 2


def test_commands_go_stale_after_the_timeout(box_reach):
    sim = SimController(box_reach, command_timeout=0.5)
    assert not sim.command_stale(10.0)  # none received yet: nothing to report
    sim.apply_command([1.0], 10.0)
    assert not sim.command_stale(10.4) and sim.command_stale(10.6)
    assert not SimController(box_reach, command_timeout=0.0).command_stale(1e9)


def test_relative_distance_matches_the_plant(box_reach):
    plant = MujocoPlant(box_reach, nthread=1)
    rng = np.random.default_rng(1)
    start, goal, state = (rng.normal(size=4) for _ in range(3))
    scaling = np.asarray(box_reach.reward_distance_scaling)
    expected = (plant.scaled_distances_to(torch.tensor(state), torch.tensor(goal))
                / plant.scaled_distances_to(torch.tensor(start), torch.tensor(goal)))
    assert relative_distance(state, goal, start, scaling) == pytest.approx(float(expected))
    plant.close()


def test_goal_reached_is_a_success_with_exit_code_0(box_reach):
    goal = [9.0, 0.5, 0.0, 0.0]
    sim = SimController(box_reach, goal=goal, timeout=100.0)
    sim.apply_command([0.5], 0.0)
    sim.advance(0.0)
    for k in range(1, 300):  # the lightly damped servo settles within a few seconds
        sim.advance(k * 0.1)
        if sim.outcome is not None:
            break
    assert sim.outcome is not None and sim.outcome.kind == 'success'
    assert sim.outcome.exit_code == 0
    assert sim.outcome.relative_distance < box_reach.learner_final_success_distance


def test_timeout_without_success_exits_with_code_1(box_reach):
    sim = SimController(box_reach, timeout=1.0, wait_for_command=True)
    sim.advance(5.0)
    assert sim.outcome is None
    sim.advance(6.5)
    assert sim.outcome.kind == 'timeout' and sim.outcome.exit_code == 1
    assert sim.outcome.wall_time == pytest.approx(1.5)


def test_custom_start_goal_and_success_distance(box_reach):
    start = [9.0, 1.0, 0.0, 0.0]
    sim = SimController(box_reach, start_state=start, goal=start, success_distance=0.2)
    sim.advance(0.0)
    assert sim.outcome.kind == 'success' and sim.success_distance == 0.2
    with pytest.raises(ValueError, match='goal'):
        SimController(box_reach, goal=[1.0, 2.0])
    with pytest.raises(ValueError, match='start_state'):
        SimController(box_reach, start_state=[np.nan] * 4)


def test_planar_hand_state_has_fourteen_entries():
    sim = SimController(ParameterContainer('planar_hand'))
    assert sim.state().shape == (14,) and sim.action_dimension == 4
    sim.advance(0.0)
    sim.advance(0.1)
    assert np.all(np.isfinite(sim.state()))
    assert set(sim.status(0.1)) >= {'sim_time', 'relative_distance', 'command_stale'}


@pytest.mark.parametrize('task', ['box_reach', 'hand_cube'])
def test_the_launch_loop_moves_the_plant_as_eval_does(task, tmp_path):
    # sim_node and policy_node wired as sim_policy.launch.py wires them (the sim's full state as
    # the policy's ~/state, a command per tick, a policy query per action step) end an episode
    # where eval's batched rollout of the same policy, start and goal ends: hand_cube's cube
    # pose crosses the message as a free joint. Only float32 against float64 sets them apart.
    from bench.closed_loop import loop_episode
    from bench.learners import fresh_checkpoint
    from ddpg_manipulation.evaluation import evaluate, evaluation_episodes
    from ddpg_manipulation.ros.policy_logic import load_policy

    params = ParameterContainer(task)
    policy = load_policy(fresh_checkpoint(task, str(tmp_path)), 'runs', task)
    plant = MujocoPlant(params)
    starts, goals = (x.double().numpy() for x in evaluation_episodes(plant, params, 2))
    batched = evaluate(policy, params, 2, plant=plant).relative_distances.numpy()
    looped = [loop_episode(policy, params, start, goal, control_rate=100.0, timeout=1.0)
              for start, goal in zip(starts, goals)]
    np.testing.assert_allclose([r['final_distance'] for r in looped], batched, rtol=2e-4)
    assert all(not r['reached'] and r['held_ticks'] == r['rejected_commands'] == 0
               for r in looped)
