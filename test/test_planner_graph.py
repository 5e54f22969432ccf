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

"""Graph bookkeeping: parents, roots, shortest paths, capacity, Pareto front, files."""

from pathlib import Path
import pickle

import pytest
import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.planner.graph import Graph, GraphFullError
from ddpg_manipulation.planner.graph_file import GraphFileError, load_graph, save_graph
from ddpg_manipulation.sim.plant import MujocoPlant
from ddpg_manipulation.sim.proximity import Proximity

ONE_THREAD = {'model.nthread': 1}


@pytest.fixture(scope='module')
def box_push():
    params = ParameterContainer('box_push', ONE_THREAD)
    return MujocoPlant(params), params


@pytest.fixture(scope='module')
def hand():
    params = ParameterContainer('planar_hand', ONE_THREAD)
    return MujocoPlant(params), params


def grow(graph: Graph, parents: list[int], plant: MujocoPlant) -> torch.Tensor:
    """Add one child per parent by one simulated action step; return the new ids."""
    parent_ids = torch.tensor(parents)
    states = graph.states[parent_ids]
    relative = torch.full((len(parents), plant.action_dimension), 0.3)
    start_end = plant.actions.start_end_actions(states[:, plant.actuated_pos], relative)
    next_states, sensors = plant.dynamics(states, start_end, return_sensors=True)
    return graph.add_nodes(parent_ids, next_states, start_end[:, 0], start_end[:, 1], relative,
                           sensors)


def test_roots_parents_depths_and_paths(box_push):
    plant, params = box_push
    graph = Graph(plant, params, searches=2, capacity=20)
    assert graph.num_nodes == 2
    assert graph.parents[:2].tolist() == [0, 1]
    assert graph.root_ids[:2].tolist() == [0, 1]
    a = grow(graph, [0, 1], plant)          # 2 (from 0), 3 (from 1)
    b = grow(graph, [int(a[0]), 0], plant)  # 4 (from 2), 5 (from 0)
    c = grow(graph, [int(b[0])], plant)     # 6 (from 4)
    assert a.tolist() == [2, 3] and b.tolist() == [4, 5] and c.tolist() == [6]
    assert graph.parents[:7].tolist() == [0, 1, 0, 1, 2, 0, 4]
    assert graph.root_ids[:7].tolist() == [0, 1, 0, 1, 0, 0, 0]
    assert graph.search_indices[:7].tolist() == [0, 1, 0, 1, 0, 0, 0]
    assert graph.depths[:7].tolist() == [0, 0, 1, 1, 2, 1, 3]
    assert graph.shortest_path_to(6).tolist() == [0, 2, 4, 6]
    assert graph.shortest_path_to(6, start_id=2).tolist() == [2, 4, 6]
    assert graph.shortest_path_to(3).tolist() == [1, 3]
    assert graph.shortest_path_to(0).tolist() == [0]
    assert graph.node_ids(1).tolist() == [1, 3]
    with pytest.raises(ValueError, match='not an ancestor'):
        graph.shortest_path_to(6, start_id=5)
    with pytest.raises(IndexError):
        graph.shortest_path_to(7)


def test_capacity_is_never_exceeded(box_push):
    plant, params = box_push
    graph = Graph(plant, params, searches=1, capacity=4)
    grow(graph, [0, 0], plant)
    assert graph.free_nodes == 1
    with pytest.raises(GraphFullError, match='graph full'):
        grow(graph, [1, 2], plant)
    assert graph.num_nodes == 3  # nothing of the failed batch was added
    grow(graph, [1], plant)
    assert graph.free_nodes == 0
    # The default capacity is planner.max_main_nodes per search.
    assert Graph(plant, params, searches=3).capacity == 3 * params.planner_max_main_nodes


def test_rewards_best_ids_and_sub_goals(box_push):
    plant, params = box_push
    graph = Graph(plant, params, searches=1, capacity=50)
    states = torch.tensor([[9.0, 8.0, 0.0, 0.0], [10.0, 9.0, 0.0, 0.0], [11.0, 10.4, 0.0, 0.0]])
    zeros = torch.zeros(3, 1)
    ids = graph.add_nodes(torch.zeros(3, dtype=torch.long), states, zeros, zeros, zeros)
    goal = plant.goal_state  # object at 11
    assert graph.get_best_id(reward_based=False) == int(ids[2])
    expected = plant.scaled_distances_to(states, goal)
    torch.testing.assert_close(graph.distances[ids], expected)
    torch.testing.assert_close(graph.distance_rewards[ids], -expected)
    torch.testing.assert_close(graph.proximity_rewards[ids],
                               -params.reward_proximity_scaling * (states[:, 0] - states[:, 1]))
    torch.testing.assert_close(graph.rewards[ids], graph.distance_rewards[ids]
                               + graph.proximity_rewards[ids] + graph.reachability_rewards[ids])
    # A new sub-goal re-ranks every node; the main goal (and its distances) stays.
    graph.change_sub_goal_states(torch.tensor([10.0, 0.0, 0.0, 0.0]))
    assert graph.get_best_id(reward_based=False) == int(ids[1])
    torch.testing.assert_close(graph.main_distances[ids], expected)
    assert graph.best_ids(reward_based=False).tolist() == [int(ids[1])]
    relative = graph.main_relative_distances()
    torch.testing.assert_close(relative[ids], expected / plant.scaled_distances_to(
        plant.start_state, goal))


def test_pareto_front_matches_brute_force(box_push):
    plant, params = box_push
    graph = Graph(plant, ParameterContainer('box_push', {
        **ONE_THREAD, 'reward.reachability_scaling': 0.1}), searches=3, capacity=700)
    generator = torch.Generator().manual_seed(0)
    parents = torch.randint(0, 3, (600,), generator=generator)
    states = torch.rand(600, 4, generator=generator)
    zeros = torch.zeros(600, 1)
    graph.add_nodes(parents, states, zeros, zeros, zeros)
    n = graph.num_nodes
    # Coarse random components so that ties and equal values occur.
    for name in ('distance_rewards', 'proximity_rewards', 'reachability_rewards'):
        getattr(graph, name)[:n] = torch.randint(0, 12, (n,), generator=generator).float()
    values = graph.reward_components(torch.arange(n))
    assert values.shape == (n, 3)
    search = graph.search_indices[:n]
    geq = (values[None] >= values[:, None]).all(-1)
    gt = (values[None] > values[:, None]).any(-1)
    dominated = (geq & gt & (search[None] == search[:, None])).any(1)
    expected = torch.arange(n)[~dominated]
    assert graph.pareto_front(block=64).tolist() == expected.tolist()
    # Incremental use: the front of (old front + new nodes) equals the front of everything.
    subset = graph.pareto_front(torch.arange(300), block=64)
    merged = graph.pareto_front(torch.cat([subset, torch.arange(300, n)]), block=50)
    assert merged.tolist() == expected.tolist()


def test_proximity_from_sensors_equals_kinematics(hand):
    plant, params = hand
    proximity = Proximity(plant.model, 'object')
    assert proximity.sensor_columns is not None  # planar_hand has framepos sensors
    assert len(proximity.effector_sites) == 4
    states = plant.sample_start_states(5, torch.Generator().manual_seed(1))
    relative = torch.rand(5, 4, generator=torch.Generator().manual_seed(2)) - 0.5
    start_end = plant.actions.start_end_actions(states[:, plant.actuated_pos], relative)
    reached, sensors = plant.dynamics(states, start_end, return_sensors=True)
    # MuJoCo evaluates sensors before the last physics sub-step's integration: they lag the
    # state by 0.01 s of motion, a few millimetres here.
    torch.testing.assert_close(proximity.distances(reached, sensors),
                               proximity.distances(reached), atol=0.01, rtol=0.0)


def test_proximity_of_box_push_is_the_cart_gap(box_push):
    plant, params = box_push
    proximity = Proximity(plant.model, 'object')
    assert proximity.sensor_columns is None  # no sensors: forward kinematics
    states = torch.tensor([[9.0, 0.0, 0.0, 0.0], [9.0, 8.5, 0.0, 0.0]])
    torch.testing.assert_close(proximity.distances(states), torch.tensor([9.0, 0.5]))
    # Moving the cart (the actuated joint) forward brings it closer: negative gradient.
    assert (proximity.gradients(states) < 0).all()


def test_unknown_proximity_site_is_a_clear_error(box_push):
    plant, _ = box_push
    with pytest.raises(ValueError, match="planner.proximity_site.*'nope'"):
        Proximity(plant.model, 'nope')


def test_save_load_round_trip(box_push, tmp_path: Path):
    plant, params = box_push
    graph = Graph(plant, params, searches=2, capacity=30)
    grow(graph, [0, 1, 0], plant)
    grow(graph, [2, 3], plant)
    path = save_graph(graph, tmp_path / 'sub' / 'graph.pt')
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ['graph.pt']  # no temporary left over
    loaded = Graph(plant, params, searches=1, capacity=5)
    load_graph(loaded, path)
    assert loaded.num_nodes == graph.num_nodes and loaded.searches == 2
    n = graph.num_nodes
    for name in ('states', 'start_actions', 'end_actions', 'relative_actions', 'parents',
                 'root_ids', 'search_indices', 'depths', 'proximities', 'rewards'):
        assert torch.equal(getattr(loaded, name)[:n], getattr(graph, name)[:n]), name
    for name in ('start_states', 'goal_states', 'sub_goal_states'):
        assert torch.equal(getattr(loaded, name), getattr(graph, name)), name
    assert loaded.shortest_path_to(n - 1).tolist() == graph.shortest_path_to(n - 1).tolist()
    # Saving again over the same file replaces it atomically.
    save_graph(graph, path)
    load_graph(loaded, path)


def test_bad_graph_files_are_clear_errors(box_push, hand, tmp_path: Path):
    plant, params = box_push
    graph = Graph(plant, params, searches=1, capacity=10)
    grow(graph, [0, 0], plant)
    good = save_graph(graph, tmp_path / 'good.pt')
    target = Graph(plant, params, searches=1, capacity=10)

    def fails(path: Path, pattern: str) -> None:
        with pytest.raises(GraphFileError, match=pattern) as caught:
            load_graph(target, path)
        assert str(path) in str(caught.value)
        assert isinstance(caught.value, ValueError)

    fails(tmp_path / 'missing.pt', 'not found')
    truncated = tmp_path / 'truncated.pt'
    truncated.write_bytes(good.read_bytes()[:200])
    fails(truncated, 'not a readable graph file')
    garbage = tmp_path / 'garbage.pt'
    garbage.write_bytes(b'\x00definitely not a graph' * 10)
    fails(garbage, 'not a readable graph file')
    code = tmp_path / 'code.pt'
    code.write_bytes(pickle.dumps(print, protocol=2))  # a pickle that would load a callable
    fails(code, 'not a readable graph file')
    foreign = tmp_path / 'foreign.pt'
    torch.save({'weights': torch.zeros(3)}, foreign)
    fails(foreign, 'not a ddpg_manipulation graph file')
    hand_plant, hand_params = hand
    other = save_graph(Graph(hand_plant, hand_params, searches=1, capacity=5),
                       tmp_path / 'hand.pt')
    fails(other, "task is 'planar_hand', expected 'box_push'")
    data = torch.load(good, weights_only=True)
    data['nodes']['parents'][2] = 5  # a parent added after its child
    broken = tmp_path / 'broken.pt'
    torch.save(data, broken)
    fails(broken, 'invalid parent')
    data = torch.load(good, weights_only=True)
    data['nodes']['states'] = data['nodes']['states'][:, :3]
    torch.save(data, broken)
    fails(broken, "tensor 'nodes.states'")
    # The failed loads left the target graph usable and unchanged.
    assert target.num_nodes == 1
