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
The planner's graph: node tensors, rewards, Pareto front, shortest paths.

Every node is the state reached by one action step from its parent, so the path from a root to
any node is a trajectory the learner's own action definition reproduces exactly, transition by
transition. Several searches share one graph; each has its own root (a start state), main goal
and current sub-goal, and ``search_indices`` tells which search a node belongs to. Paths become
the learner's demonstrations in :mod:`~ddpg_manipulation.planner.demonstrations`; graph files
are :mod:`~ddpg_manipulation.planner.graph_file`'s.

Node rewards have three components, each a reward (higher is better):

* distance: minus the scaled distance (``reward.distance_scaling``) to the search's sub-goal;
* proximity: minus ``reward.proximity_scaling`` times the mean distance of the effector sites to
  the object site (see :class:`~ddpg_manipulation.sim.proximity.Proximity`);
* reachability: minus ``reward.reachability_scaling`` times the log of the control effort that
  the dynamics, linearized at the node over one action step, need to move the object's scaled
  positions to the sub-goal (see :class:`~ddpg_manipulation.sim.linearization.StepLinearization`):
  nodes from which the actuators can move the object where it must go rank higher. Computed
  only when the weight is positive.
"""

from __future__ import annotations

import math
from typing import Any

from tensordict import TensorDict
import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.errors import PackageError
from ddpg_manipulation.planner.demonstrations import DemonstrationSampler
from ddpg_manipulation.sim.linearization import StepLinearization
from ddpg_manipulation.sim.plant import MujocoPlant
from ddpg_manipulation.sim.proximity import Proximity

# Per-node tensors, saved and loaded with the graph: name -> (dtype, trailing shape key).
NODE_TENSORS: dict[str, tuple[torch.dtype, str]] = {
    'states': (torch.float32, 'nx'),
    'start_actions': (torch.float32, 'nu'),
    'end_actions': (torch.float32, 'nu'),
    'relative_actions': (torch.float32, 'nu'),
    'parents': (torch.long, ''),
    'root_ids': (torch.long, ''),
    'search_indices': (torch.long, ''),
    'depths': (torch.long, ''),
    'proximities': (torch.float32, ''),
}
# Per-node tensors of the reachability reward (empty where it is off).
REACHABILITY_TENSORS = ('reachability_matrices', 'step_jacobians')
# Per-search tensors, shape (searches, nx).
SEARCH_TENSORS = ('start_states', 'goal_states', 'sub_goal_states')
# Reachability: Tikhonov term of the control-authority matrix, and the effort below which a
# node counts as able to reach the sub-goal outright (the log cost is zero there).
_REACHABILITY_REGULARIZATION = 1e-3
_REACHABILITY_FLOOR = 1e-3


class GraphFullError(PackageError, RuntimeError):
    """Nodes were added to a graph that has no room left for them."""


class Graph:
    """
    Preallocated node tensors of one or several searches, with rewards and shortest paths.

    Capacity is ``planner.max_main_nodes`` nodes per search. :meth:`add_nodes` never drops
    nodes silently: a batch that does not fit raises :class:`GraphFullError`. The planner never
    gets there: it stops each search, with a warning, before it outgrows its share.

    :param plant: The task's simulation (sizes, action space, distance scaling, samplers).
    :param params: Task parameters.
    :param searches: Number of searches (roots) the graph holds.
    :param capacity: Node capacity; default ``planner.max_main_nodes * searches``.
    :param generator: Random generator of the demonstrations; default seeded from
        ``params.seed``.
    """

    # Per-node tensors of ``capacity`` rows, allocated by :meth:`reset_empty` (by name, from
    # NODE_TENSORS); declared here for type checkers.
    states: torch.Tensor
    start_actions: torch.Tensor
    end_actions: torch.Tensor
    relative_actions: torch.Tensor
    parents: torch.Tensor
    root_ids: torch.Tensor
    search_indices: torch.Tensor
    depths: torch.Tensor
    proximities: torch.Tensor
    distances: torch.Tensor
    main_distances: torch.Tensor
    distance_rewards: torch.Tensor
    proximity_rewards: torch.Tensor
    reachability_rewards: torch.Tensor
    rewards: torch.Tensor

    def __init__(
        self, plant: MujocoPlant, params: ParameterContainer, searches: int = 1,
        capacity: int | None = None, generator: torch.Generator | None = None,
    ) -> None:
        if searches < 1:
            raise ValueError(f'searches: expected an integer >= 1, got {searches}')
        self.plant = plant
        self.params = params
        self.searches = int(searches)
        self.capacity = int(capacity if capacity is not None
                            else params.planner_max_main_nodes * self.searches)
        if self.capacity < self.searches:
            raise ValueError(f'capacity {self.capacity} cannot hold {self.searches} roots')
        self.proximity = Proximity(plant.model, params.planner_proximity_site, params.task_file)
        self.distance_scaling = plant.distance_scaling
        self.linearization = StepLinearization(plant, params.planner_finite_diff_eps)
        # Reachability looks at the object: unactuated degrees of freedom (tangent layout, where
        # an orientation is three rotation slots) that enter the goal distance.
        model = plant.model
        actuated = {int(model.jnt_dofadr[model.actuator_trnid[a, 0]]) for a in range(model.nu)}
        self.object_dims = torch.tensor(
            [i for i in range(model.nv) if i not in actuated and self.distance_scaling[i] > 0],
            dtype=torch.long)
        self.uses_reachability = (params.reward_reachability_scaling > 0
                                  and len(self.object_dims) > 0)
        self.demonstrations = DemonstrationSampler(
            self, generator or torch.Generator().manual_seed(params.seed + 20_000))
        # How the graph was built (set by ``planner.search.demonstration_graph``), for reports.
        self.planning: dict[str, Any] = {}
        self.reset()

    # -- set-up ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Empty the graph and set every search's root to the nominal start state."""
        self.reset_empty()
        self.demonstrations.reset_counts()
        nx = self.plant.state_dimension
        nominal_goal = self.plant.goal_state.expand(self.searches, nx).clone()
        self.goal_states = nominal_goal
        self.sub_goal_states = nominal_goal.clone()
        self.set_start_states(self.plant.start_state.expand(self.searches, nx).clone())

    def set_start_states(self, start_states: torch.Tensor) -> None:
        """
        Empty the graph and make the given states the roots of the searches.

        :param start_states: One start state per search, shape (searches, nx) or (nx,).
        """
        start_states = self._per_search(start_states, 'start_states')
        self.num_nodes = 0
        self.start_states = start_states.clone()
        actuated = start_states[:, self.plant.actuated_pos]
        targets = self.plant.actions.clip(actuated)
        roots = torch.arange(self.searches)
        self.add_nodes(roots, start_states, targets, targets,
                       torch.zeros(self.searches, self.plant.action_dimension), roots=True)

    def set_goal_states(self, goal_states: torch.Tensor) -> None:
        """
        Set the searches' main goals (and make them the current sub-goals too).

        :param goal_states: One goal per search, shape (searches, nx) or (nx,).
        """
        self.goal_states = self._per_search(goal_states, 'goal_states').clone()
        ids = torch.arange(self.num_nodes)
        self.main_distances[ids] = self._scaled_distances(ids, self.goal_states)
        self.change_sub_goal_states(self.goal_states)

    def change_sub_goal_states(self, goal_states: torch.Tensor) -> None:
        """
        Set the searches' current sub-goals and recompute every node's rewards.

        :param goal_states: One sub-goal per search, shape (searches, nx) or (nx,).
        """
        self.sub_goal_states = self._per_search(goal_states, 'sub_goal_states').clone()
        self._update_rewards(torch.arange(self.num_nodes))

    def _per_search(self, states: torch.Tensor, name: str) -> torch.Tensor:
        states = torch.as_tensor(states, dtype=torch.float32)
        if states.dim() == 1:
            states = states.expand(self.searches, -1)
        if states.shape != (self.searches, self.plant.state_dimension):
            raise ValueError(f'{name}: expected shape ({self.searches}, '
                             f'{self.plant.state_dimension}), got {tuple(states.shape)}')
        return states

    # -- nodes -----------------------------------------------------------------------------

    @property
    def free_nodes(self) -> int:
        """Return how many nodes can still be added."""
        return self.capacity - self.num_nodes

    def add_nodes(
        self, parent_ids: torch.Tensor, states: torch.Tensor, start_actions: torch.Tensor,
        end_actions: torch.Tensor, relative_actions: torch.Tensor,
        sensors: torch.Tensor | None = None, roots: bool = False,
    ) -> torch.Tensor:
        """
        Add the states reached by one action step from the parent nodes.

        :param parent_ids: Parent of each new node, shape (batch,) (with ``roots``: the search
            index of each root).
        :param states: States reached, shape (batch, nx).
        :param start_actions: Start actuator targets of the step, shape (batch, nu).
        :param end_actions: End actuator targets of the step, shape (batch, nu).
        :param relative_actions: Relative actions of the step, shape (batch, nu).
        :param sensors: Sensor data of the reached states, shape (batch, nsensordata), or None.
        :param roots: Add roots (own parent, depth 0) instead of children.

        :returns: Ids of the new nodes, shape (batch,).
        """
        batch = states.shape[0]
        if batch > self.free_nodes:
            raise GraphFullError(
                f'graph full: {batch} new nodes do not fit ({self.num_nodes} of '
                f'{self.capacity} used; raise planner.max_main_nodes)'
            )
        ids = torch.arange(self.num_nodes, self.num_nodes + batch)
        parent_ids = parent_ids.long()
        if roots:
            self.parents[ids] = ids
            self.root_ids[ids] = ids
            self.search_indices[ids] = parent_ids
            self.depths[ids] = 0
        else:
            self.parents[ids] = parent_ids
            self.root_ids[ids] = self.root_ids[parent_ids]
            self.search_indices[ids] = self.search_indices[parent_ids]
            self.depths[ids] = self.depths[parent_ids] + 1
        self.states[ids] = states
        self.start_actions[ids] = start_actions
        self.end_actions[ids] = end_actions
        self.relative_actions[ids] = relative_actions
        self.proximities[ids] = self.proximity.distances(states, sensors)
        if self.uses_reachability:
            self.reachability_matrices[ids] = self._reachability_matrices(ids)
        self.num_nodes += batch
        self.main_distances[ids] = self._scaled_distances(ids, self.goal_states)
        self._update_rewards(ids)
        return ids

    def _scaled_distances(self, ids: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        return self.plant.scaled_distances_to(self.states[ids], goals[self.search_indices[ids]])

    def _update_rewards(self, ids: torch.Tensor) -> None:
        p = self.params
        self.distances[ids] = self._scaled_distances(ids, self.sub_goal_states)
        self.distance_rewards[ids] = -self.distances[ids]
        self.proximity_rewards[ids] = -p.reward_proximity_scaling * self.proximities[ids]
        if self.uses_reachability:
            self.reachability_rewards[ids] = (-p.reward_reachability_scaling
                                              * self._reachability_costs(ids))
        self.rewards[ids] = (self.distance_rewards[ids] + self.proximity_rewards[ids]
                             + self.reachability_rewards[ids])

    def next_start_targets(self, ids: torch.Tensor) -> torch.Tensor:
        """
        Actuator targets at which the next action step from each node starts.

        :param ids: Node ids, shape (batch,).

        :returns: Targets, shape (batch, nu).
        """
        states = self.states[ids]
        zero = torch.zeros(len(ids), self.plant.action_dimension)
        return self.plant.actions.start_end_actions(
            states[:, self.plant.actuated_pos], zero, self.end_actions[ids])[:, 0]

    def _reachability_matrices(self, ids: torch.Tensor) -> torch.Tensor:
        # R = (G G^T + reg I)^-1 over the object's scaled positions: delta^T R delta is the
        # (regularized) squared normalized action that moves the object by delta in one step.
        jacobians = self.linearization.jacobians(self.states[ids], self.next_start_targets(ids))
        # A finite difference across a contact event can blow up: such a node gets no authority.
        finite = torch.isfinite(jacobians).all(-1).all(-1) & (jacobians.abs().amax((1, 2)) < 1e6)
        jacobians[~finite] = 0.0
        self.step_jacobians[ids] = jacobians.float()  # the gradient strategy reuses them
        scaling = self.distance_scaling[self.object_dims].double()
        g = jacobians[:, self.object_dims] * scaling[None, :, None]
        eye = torch.eye(len(self.object_dims), dtype=torch.float64)
        inverse, info = torch.linalg.inv_ex(g @ g.transpose(1, 2)
                                            + _REACHABILITY_REGULARIZATION * eye)
        inverse[info != 0] = eye / _REACHABILITY_REGULARIZATION
        return inverse.float()

    def _reachability_costs(self, ids: torch.Tensor) -> torch.Tensor:
        goals = self.sub_goal_states[self.search_indices[ids]]
        scaling = self.distance_scaling[self.object_dims]
        step = self.plant.state_space.difference(goals, self.states[ids])
        delta = step[:, self.object_dims] * scaling
        effort = torch.einsum('bi,bij,bj->b', delta, self.reachability_matrices[ids], delta)
        floor = _REACHABILITY_FLOOR
        return torch.log(effort.clamp_min(floor) / floor)

    # -- queries ---------------------------------------------------------------------------

    def node_ids(self, search_index: int | None = None) -> torch.Tensor:
        """
        Ids of the nodes, all or of one search.

        :param search_index: Search whose nodes to return, or None for all.

        :returns: Node ids, ascending.
        """
        ids = torch.arange(self.num_nodes)
        if search_index is None:
            return ids
        return ids[self.search_indices[:self.num_nodes] == search_index]

    def get_best_id(self, reward_based: bool = True, search_index: int | None = None) -> int:
        """
        Best node: highest total reward, or smallest scaled distance to the sub-goal.

        :param reward_based: Rank by total reward (else by distance to the sub-goal).
        :param search_index: Restrict to one search (None: all nodes).

        :returns: The node id.
        """
        ids = self.node_ids(search_index)
        scores = self.rewards[ids] if reward_based else -self.distances[ids]
        return int(ids[torch.argmax(scores)])

    def best_ids(self, reward_based: bool = True) -> torch.Tensor:
        """
        Best node of every search (see :meth:`get_best_id`).

        :param reward_based: Rank by total reward (else by distance to the sub-goal).

        :returns: One node id per search, shape (searches,).
        """
        n = self.num_nodes
        scores = self.rewards[:n] if reward_based else -self.distances[:n]
        table = torch.full((self.searches, n), -math.inf)
        table[self.search_indices[:n], torch.arange(n)] = scores
        return table.argmax(dim=1)

    def relative_distances(self, ids: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        """
        Scaled distance of nodes to goals, relative to their root's distance to the goal.

        The learner's measure: 1 = no progress from the start, 0 = at the goal.

        :param ids: Node ids, shape (batch,).
        :param goals: Goal per node, shape (batch, nx).

        :returns: Relative distances, shape (batch,).
        """
        current = self.plant.scaled_distances_to(self.states[ids], goals)
        initial = self.plant.scaled_distances_to(self.states[self.root_ids[ids]], goals)
        return current / initial.clamp_min(1e-6)

    def main_relative_distances(self) -> torch.Tensor:
        """
        Relative distance of every node to its search's main goal.

        :returns: Relative distances, shape (num_nodes,).
        """
        ids = self.node_ids()
        return self.relative_distances(ids, self.goal_states[self.search_indices[ids]])

    def best_main_relative_distances(self) -> torch.Tensor:
        """
        Smallest relative distance to the main goal reached by each search.

        :returns: One relative distance per search, shape (searches,).
        """
        distances = self.main_relative_distances()
        out = torch.full((self.searches,), math.inf)
        return out.scatter_reduce(0, self.search_indices[:self.num_nodes], distances, 'amin')

    def reward_components(self, ids: torch.Tensor) -> torch.Tensor:
        """
        Reward components the Pareto front compares (those with a non-zero weight).

        :param ids: Node ids, shape (batch,).

        :returns: Components, shape (batch, components); higher is better in each.
        """
        columns = [self.distance_rewards[ids]]
        if self.params.reward_proximity_scaling > 0 and self.proximity.enabled:
            columns.append(self.proximity_rewards[ids])
        if self.params.reward_reachability_scaling > 0:
            columns.append(self.reachability_rewards[ids])
        return torch.stack(columns, dim=-1)

    def pareto_front(self, ids: torch.Tensor | None = None, block: int = 256) -> torch.Tensor:
        """
        Nodes that no other node of the same search dominates in every reward component.

        A node dominates another if it is at least as good in every component and better in
        one. Domination is transitive, so the front can be built block by block, comparing each
        block only with the front so far (which stays small): the cost grows about linearly
        with the number of nodes. The same property lets a caller keep a front up to date by
        passing the old front together with new nodes, as long as rewards did not change.

        :param ids: Node ids to consider (default: all nodes).
        :param block: Nodes compared per block.

        :returns: Ids of the non-dominated nodes among ``ids``, ascending.
        """
        ids = torch.arange(self.num_nodes) if ids is None else ids.long()
        values = self.reward_components(ids)
        search = self.search_indices[ids]
        fronts = []
        # Search by search: nodes of different searches never compare, so the comparison
        # matrices stay (front + block)^2 per search instead of across all searches.
        for index in torch.unique(search).tolist():
            mine = torch.nonzero(search == index).flatten()
            v = values[mine]
            front = torch.zeros(0, dtype=torch.long)  # positions into mine
            for begin in range(0, len(mine), block):
                end = min(begin + block, len(mine))
                candidates = torch.cat([front, torch.arange(begin, end)])
                c = v[candidates]
                # dominated[i, j]: candidate j dominates candidate i.
                geq = (c[None, :, :] >= c[:, None, :]).all(-1)
                gt = (c[None, :, :] > c[:, None, :]).any(-1)
                front = candidates[~(geq & gt).any(1)]
            fronts.append(ids[mine[front]])
        if not fronts:
            return torch.zeros(0, dtype=torch.long)
        return torch.cat(fronts).sort().values

    def shortest_path_to(self, idx: int, start_id: int | None = None) -> torch.Tensor:
        """
        Node ids on the path from a root (or ``start_id``) to a node.

        The graph is a tree, so the path through the parents is the only and shortest one.

        :param idx: The last node of the path.
        :param start_id: The first node (an ancestor of ``idx``); default the root of ``idx``.

        :returns: Node ids from the start to ``idx``, shape (length,).
        """
        idx = int(idx)
        if not 0 <= idx < self.num_nodes:
            raise IndexError(f'node {idx} does not exist (the graph has {self.num_nodes})')
        start = int(self.root_ids[idx]) if start_id is None else int(start_id)
        depth = int(self.depths[idx])
        path = torch.empty(depth + 1, dtype=torch.long)
        node = idx
        for position in range(depth, -1, -1):
            path[position] = node
            if node == start:
                return path[position:]
            node = int(self.parents[node])
        raise ValueError(f'node {start} is not an ancestor of node {idx}')

    def sample_demonstration(self) -> TensorDict | None:
        """
        Sample a demonstration, which makes the graph the learner's ``DemonstrationSource``.

        See :meth:`DemonstrationSampler.sample
        <ddpg_manipulation.planner.demonstrations.DemonstrationSampler.sample>`.

        :returns: The demonstration's transitions, or None if the graph has no edges.
        """
        return self.demonstrations.sample()

    # -- contents --------------------------------------------------------------------------

    def restore(self, nodes: dict[str, torch.Tensor], search: dict[str, torch.Tensor],
                num_nodes: int, searches: int) -> None:
        """
        Replace the graph's contents by node and search tensors (a checked graph file's).

        The capacity becomes the larger of the graph's and ``num_nodes``.

        :param nodes: Node tensor name -> tensor of ``num_nodes`` rows (:data:`NODE_TENSORS`
            and :data:`REACHABILITY_TENSORS`).
        :param search: Search tensor name -> tensor of ``searches`` rows (:data:`SEARCH_TENSORS`).
        :param num_nodes: Number of nodes.
        :param searches: Number of searches (the first ``searches`` nodes are their roots).
        """
        self.searches = searches
        self.capacity = max(self.capacity, num_nodes)
        self.reset_empty()
        # Only the names this class defines: a file's other keys are never turned into state.
        for name in (*NODE_TENSORS, *REACHABILITY_TENSORS):
            getattr(self, name)[:num_nodes] = nodes[name]
        for name in SEARCH_TENSORS:
            setattr(self, name, search[name].clone())
        self.num_nodes = num_nodes
        ids = torch.arange(num_nodes)
        self.main_distances[ids] = self._scaled_distances(ids, self.goal_states)
        self._update_rewards(ids)

    def reset_empty(self) -> None:
        """Reallocate empty node tensors at the current capacity (no roots)."""
        nx, nu, n = self.plant.state_dimension, self.plant.action_dimension, self.capacity
        sizes: dict[str, tuple[int, ...]] = {'nx': (nx,), 'nu': (nu,), '': ()}
        for name, (dtype, size) in NODE_TENSORS.items():
            setattr(self, name, torch.zeros((n, *sizes[size]), dtype=dtype))
        for name in ('distances', 'main_distances', 'distance_rewards', 'proximity_rewards',
                     'reachability_rewards', 'rewards'):
            setattr(self, name, torch.zeros(n))
        self.demonstrations.forget_settled()
        k = len(self.object_dims) if self.uses_reachability else 0
        self.reachability_matrices = torch.zeros(n, k, k)
        rows = self.linearization.size if self.uses_reachability else 0
        self.step_jacobians = torch.zeros(n, rows, nu if rows else 0)
        self.num_nodes = 0
