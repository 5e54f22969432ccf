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

"""Demonstrations from the graph, and how the learner injects them."""

import json
from typing import Callable

import pytest
from tensordict import TensorDict
import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.learning.learner import Learner
from ddpg_manipulation.planner.graph import Graph
from ddpg_manipulation.planner.search import demonstration_graph
from ddpg_manipulation.transitions import check_transitions, trajectory_transitions

KEYS = ('states', 'relative_actions', 'start_states', 'goal_states', 'next_states')
SMALL = {'planner.searches': 2, 'planner.demonstrations': 6, 'planner.max_main_nodes': 3000}


@pytest.fixture(scope='module')
def box_push_graph() -> Graph:
    return demonstration_graph(ParameterContainer('box_push', {'seed': 0, **SMALL}))


def test_demonstrations_are_consistent_successful_paths(box_push_graph: Graph):
    graph = box_push_graph
    plant, params = graph.plant, graph.params
    roots = graph.states[:graph.searches]
    lower, upper = plant.goal_bounds
    for _ in range(20):
        demo = graph.sample_demonstration()
        length = demo.batch_size[0]
        assert length >= 1
        check_transitions(demo, plant.state_dimension, plant.action_dimension)
        for key in KEYS:
            assert demo[key].dtype == torch.float32, key
        assert torch.equal(demo['next_states'][:-1], demo['states'][1:])
        assert torch.equal(demo['steps_left'], torch.arange(length - 1, -1, -1))
        start = demo['states'][0]
        assert (demo['start_states'] == start).all()
        assert (roots == start).all(-1).any()  # it starts at one of the searches' roots
        goal = demo['goal_states'][0]
        assert (demo['goal_states'] == goal).all()
        assert ((goal >= lower) & (goal <= upper)).all()
        # A success by the learner's own measure, at its last transition.
        relative = (plant.scaled_distances_to(demo['next_states'][-1], goal)
                    / plant.scaled_distances_to(start, goal))
        assert relative < params.learner_final_success_distance
    assert graph.demonstrations.missed == 0


def test_demonstration_graph_reports_how_it_was_built(box_push_graph: Graph):
    planning = box_push_graph.planning
    assert planning['searches'] == 2 and planning['searches_reached'] == 2
    assert planning['best_relative_distance'] < box_push_graph.params.planner_termination_distance
    assert planning['nodes'] == box_push_graph.num_nodes
    assert 0 < planning['settled_nodes'] <= planning['nodes']
    assert min(planning['search_s'], planning['cover_s'], planning['settle_s']) >= 0.0
    json.dumps(planning)  # it goes into summary.json as it is


def test_demonstrations_end_at_rest_in_the_goal(box_push_graph: Graph):
    graph = box_push_graph
    plant, params = graph.plant, graph.params
    hold = params.planner_demonstration_hold
    assert graph.demonstrations.settle() > 0
    nq = plant.model.nq
    for _ in range(20):
        demo = graph.sample_demonstration()
        # The path, then holding still: zero relative actions for the last `hold` steps.
        assert (demo['relative_actions'][-hold:] == 0).all()
        assert not (demo['relative_actions'][:-hold] == 0).all(-1).all()
        # Settled: the object has (almost) stopped where the learner's episode is judged.
        assert demo['next_states'][-1, nq:nq + 1].abs().max() < 0.1
    graph.params.planner_demonstration_hold = 0
    try:
        graph.demonstrations.settle()
        demo = graph.sample_demonstration()
        assert not (demo['relative_actions'][-1] == 0).all()
    finally:
        graph.params.planner_demonstration_hold = hold
        graph.demonstrations.settle()


def test_demonstrations_replay_exactly_through_the_plant(box_push_graph: Graph):
    plant = box_push_graph.plant
    demo = box_push_graph.sample_demonstration()
    state, previous_end = demo['states'][:1], None
    for t in range(demo.batch_size[0]):
        state, previous_end = plant.step(state, demo['relative_actions'][t:t + 1], previous_end)
        torch.testing.assert_close(state[0], demo['next_states'][t], atol=1e-5, rtol=1e-5)


def test_demonstrations_cover_several_starts(box_push_graph: Graph):
    starts = {tuple(box_push_graph.sample_demonstration()['states'][0].tolist())
              for _ in range(30)}
    assert len(starts) == box_push_graph.searches


def test_an_empty_graph_has_no_demonstration():
    params = ParameterContainer('box_push')
    from ddpg_manipulation.sim.plant import MujocoPlant

    assert Graph(MujocoPlant(params), params).sample_demonstration() is None


def test_learner_adds_graph_demonstrations(box_push_graph: Graph,
                                           make_learner: Callable[..., Learner]):
    learner = make_learner('box_push', graph=box_push_graph)
    data = learner.graph_rollout()
    assert data.batch_size[0] > 0
    assert len(learner.replay_buffer) == data.batch_size[0]
    assert learner.demo_transitions == data.batch_size[0]


class FakeSource:
    """A demonstration source that counts how often it is asked."""

    def __init__(self, learner_params: ParameterContainer) -> None:
        self.calls = 0
        self.length = learner_params.learner_trajectory_length
        self.nx = 4

    def sample_demonstration(self) -> TensorDict:
        self.calls += 1
        states = torch.rand(1, self.length + 1, self.nx)
        return trajectory_transitions(states, torch.zeros(1, self.length, 1), states[:, -1])


# Many draws (cycles x rollouts), few updates: the shares are measured, not the learning.
FAST = {'learner.cycles': 50, 'learner.rollouts': 8, 'learner.batches': 1,
        'learner.batch_size': 8, 'learner.trajectory_length': 2, 'learner.evals': 2,
        'learner.checkpoint_every': 100, 'learner.use_planner': True}


def test_fixed_injection_share(make_learner: Callable[..., Learner]):
    learner = make_learner('box_push', **FAST, **{
        'learner.injection_strategy': 'fixed', 'learner.max_planner_experience_share': 0.25})
    source = FakeSource(learner.params)
    learner.graph = source
    learner.train(2)
    draws = 2 * 50 * 8
    share = source.calls / draws
    assert abs(share - 0.25) < 0.05  # binomial: 800 draws, standard deviation 0.015
    for epoch in learner.history:  # equal lengths: the transition share is the rollout share
        assert abs(epoch['demo_share'] - 0.25) < 0.07


def test_decreasing_injection_share_follows_the_success_rate(
        make_learner: Callable[..., Learner], monkeypatch: pytest.MonkeyPatch):
    learner = make_learner('box_push', **FAST, **{
        'learner.injection_strategy': 'decreasing', 'learner.max_planner_experience_share': 0.5})
    source = FakeSource(learner.params)
    learner.graph = source
    monkeypatch.setattr(learner, 'eval_agent', lambda: (0.6, 0.1))
    learner.train(1)
    first = source.calls
    learner.train(1)
    second = source.calls - first
    assert abs(first / 400 - 0.5) < 0.08  # no success yet: the full share
    assert abs(second / 400 - 0.5 * (1 - 0.6)) < 0.07


def test_initial_injections_happen_once(make_learner: Callable[..., Learner]):
    learner = make_learner('box_push', **{**FAST, 'learner.cycles': 5}, **{
        'learner.injection_strategy': 'initial', 'learner.initial_injections': 7})
    source = FakeSource(learner.params)
    learner.graph = source
    learner.train(2)
    assert source.calls == 7


def test_holding_targets_keeps_a_squeeze_that_a_zero_action_lets_go():
    # Fingers pressed on a box: the last action's targets lie inside it, the joints stop at its
    # faces. A zero relative action (targets to the joints) lets go; planner.hold_targets keeps
    # the targets, so the hold steps of a demonstration keep a grasp closed.
    from ddpg_manipulation.sim.plant import MujocoPlant

    results = {}
    for keep in (False, True):
        params = ParameterContainer('floating_hand', {'planner.hold_targets': keep,
                                                      'planner.max_main_nodes': 10})
        plant = MujocoPlant(params)
        sampler = Graph(plant, params).demonstrations
        state = torch.tensor(params.start_state)[None]
        state[0, 3:9] = torch.tensor([0.0, 0.25, 1.2, 1.4, -1.2, -1.4])
        squeeze = torch.tensor([[0.0, 0.25, 1.5708, 1.5708, -1.5708, -1.5708]])
        hold = sampler.hold_actions(state, squeeze)
        _, end = plant.step(state, hold, squeeze)
        results[keep] = end[0]
    torch.testing.assert_close(results[True], torch.tensor(
        [0.0, 0.25, 1.5708, 1.5708, -1.5708, -1.5708]))
    torch.testing.assert_close(results[False], torch.tensor([0.0, 0.25, 1.2, 1.4, -1.2, -1.4]))
    assert ParameterContainer('floating_hand').planner_hold_targets
    assert not ParameterContainer('planar_hand').planner_hold_targets
