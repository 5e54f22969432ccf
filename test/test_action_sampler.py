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

"""Action strategies: shapes, bounds, fallbacks and the directions they point in."""

import pytest
import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.planner.action_sampler import (
    ActionSampler,
    CONTINUATION,
    GRADIENT,
    PROXIMITY,
    RANGED,
)
from ddpg_manipulation.planner.graph import Graph
from ddpg_manipulation.sim.plant import MujocoPlant

TASKS = ('box_push', 'planar_hand')


def setup(task: str, **overrides) -> tuple[MujocoPlant, Graph, ActionSampler]:
    params = ParameterContainer(task, {'model.nthread': 1, **overrides})
    plant = MujocoPlant(params)
    graph = Graph(plant, params, searches=2, capacity=200)
    sampler = ActionSampler(plant, graph, params, torch.Generator().manual_seed(3))
    return plant, graph, sampler


def grow_randomly(plant: MujocoPlant, graph: Graph, steps: int = 3) -> torch.Tensor:
    """Add a few generations of random children; return every node id."""
    generator = torch.Generator().manual_seed(5)
    parents = torch.arange(graph.searches).repeat(8)
    for _ in range(steps):
        states = graph.states[parents]
        relative = plant.actions.relative_actions(
            torch.rand(len(parents), plant.action_dimension, generator=generator) * 2 - 1)
        start_end = plant.actions.start_end_actions(states[:, plant.actuated_pos], relative,
                                                    graph.end_actions[parents])
        reached, sensors = plant.dynamics(states, start_end, return_sensors=True)
        parents = graph.add_nodes(parents, reached, start_end[:, 0], start_end[:, 1], relative,
                                  sensors)
    return graph.node_ids()


@pytest.mark.parametrize('task', TASKS)
def test_every_strategy_has_the_right_shape_and_bounds(task):
    plant, graph, sampler = setup(task)
    ids = grow_randomly(plant, graph)
    nu = plant.action_dimension
    for method in (sampler.ranged, sampler.proximity, sampler.continuation, sampler.gradient):
        actions = method(ids)
        assert actions.shape == (len(ids), nu), method.__name__
        assert actions.dtype == torch.float32
        finite = torch.isfinite(actions).all(-1)
        # NaN marks "no direction here" (whole rows only); every real action is in range.
        assert (finite | torch.isnan(actions).all(-1)).all(), method.__name__
        assert (actions[finite].abs() <= 1.0 + 1e-6).all(), method.__name__
    assert torch.isfinite(sampler.ranged(ids)).all()
    # Roots have no action to continue; every other node continues its own.
    continued = sampler.continuation(ids)
    is_root = graph.depths[ids] == 0
    assert torch.isnan(continued[is_root]).all()
    torch.testing.assert_close(
        continued[~is_root],
        plant.actions.normalized_actions(graph.relative_actions[ids[~is_root]]))


@pytest.mark.parametrize('task', TASKS)
def test_sampled_actions_are_bounded_and_targets_clipped(task):
    plant, graph, sampler = setup(task)
    ids = grow_randomly(plant, graph)
    normalized, strategies = sampler(ids.repeat(4))
    assert normalized.shape == (4 * len(ids), plant.action_dimension)
    assert torch.isfinite(normalized).all() and (normalized.abs() <= 1.0).all()
    assert set(strategies.tolist()) <= {RANGED, PROXIMITY, CONTINUATION, GRADIENT}
    relative = plant.actions.relative_actions(normalized)
    limit = torch.tensor(plant.actions.range * plant.actions.time_step, dtype=torch.float32)
    assert (relative.abs() <= limit + 1e-6).all()
    states = graph.states[ids.repeat(4)]
    targets = plant.actions.start_end_actions(states[:, plant.actuated_pos], relative)
    lower = torch.tensor(plant.actions.lower, dtype=torch.float32)
    upper = torch.tensor(plant.actions.upper, dtype=torch.float32)
    assert ((targets >= lower) & (targets <= upper)).all()


def test_distribution_picks_strategies_and_falls_back_to_ranged():
    plant, graph, sampler = setup('box_push', **{
        'planner.action_distribution': [0.0, 0.0, 1.0, 0.0]})
    roots = torch.zeros(6, dtype=torch.long)
    _, strategies = sampler(roots)
    assert strategies.tolist() == [RANGED] * 6  # nothing to continue at a root
    ids = grow_randomly(plant, graph, steps=1)
    children = ids[graph.depths[ids] > 0]
    _, strategies = sampler(children)
    assert strategies.tolist() == [CONTINUATION] * len(children)
    _, graph, sampler = setup('box_push', **{'planner.action_distribution': [1.0, 1.0, 1.0, 1.0]})
    _, strategies = sampler(torch.zeros(4000, dtype=torch.long))
    counts = torch.bincount(strategies, minlength=4)
    # At the root only ranged and proximity can act (nothing to continue, no contact).
    assert counts[CONTINUATION] == 0 and counts[GRADIENT] == 0
    assert 0.7 < counts[PROXIMITY] / 1000 < 1.3


def test_proximity_moves_the_cart_towards_the_object():
    plant, graph, sampler = setup('box_push')
    actions = sampler.proximity(torch.zeros(50, dtype=torch.long))
    assert (actions > 0).all() and (actions <= 1).all()
    before = graph.proximities[0]
    state = graph.states[:1].expand(50, -1)
    reached, _ = plant.step(state, plant.actions.relative_actions(actions))
    assert (graph.proximity.distances(reached) < before).all()


def test_proximity_closes_the_fingers_on_the_box():
    plant, graph, sampler = setup('planar_hand')
    actions = sampler.proximity(torch.zeros(20, dtype=torch.long))
    assert torch.isfinite(actions).all()
    state = graph.states[:1].expand(20, -1)
    reached, _ = plant.step(state, plant.actions.relative_actions(actions))
    distances = graph.proximity.distances(reached)
    # Tiny steps barely move (and the fingers sag a little under gravity meanwhile).
    assert (distances < graph.proximities[0] + 1e-3).all()
    large = actions.abs().amax(-1) > 0.3
    assert large.sum() >= 5 and (distances[large] < graph.proximities[0] - 0.005).all()


def test_gradient_pushes_towards_the_goal_only_in_contact():
    plant, graph, sampler = setup('box_push')
    # Apart: moving the cart does not move the object within one step, so no gradient.
    assert torch.isnan(sampler.gradient(torch.tensor([0]))).all()
    touching = torch.tensor([[9.0, 8.5, 0.0, 0.0], [9.0, 8.5, 0.0, 0.0]])
    graph.set_start_states(touching)
    graph.change_sub_goal_states(torch.tensor([[11.0, 0.0, 0.0, 0.0], [8.0, 0.0, 0.0, 0.0]]))
    step = sampler.gradient(torch.tensor([0, 1]))
    assert step[0, 0] > 0.5  # goal ahead: push
    # Goal behind: the cart cannot pull, the best it can do is not to push.
    assert step[1, 0] <= 0.0
    assert (step.abs() <= sampler.params.planner_gradient_step + 1e-6).all()
