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
The graph search: grows the graph from its roots towards (sub-)goals.

One search step extends ``planner.extensions`` nodes of every unfinished search. Nodes are
chosen with a bias to the best: with probability ``planner.pareto_bias`` from the Pareto front
of the reward components (distance, proximity, reachability) of their search, otherwise from
all of its nodes. Each chosen node gets an action from the :class:`ActionSampler`, held for
1..``planner.action_steps_max`` action steps; every action step becomes a node.

All extensions of an action step are simulated in one batched ``plant.dynamics`` call. Where
the actuator targets of later steps are known in advance (``action.start_mode`` and
``action.end_mode`` both ``previous``) all steps of an extension go into one call of shape
(batch, steps, 2, nu). With ``current`` modes (the tasks' setting) the next step's targets start
from the actuated positions the previous step reaches, so each action step is one call: chaining
the targets instead would record transitions that the learner's action definition cannot
reproduce.

The search runs phases of ``planner.steps_per_goal`` steps: the main goal, then alternately a
sub-goal sampled in the goal bounds and the main goal again, ``planner.num_sub_goals`` times. It
ends when every search's best node is within ``planner.termination_distance`` (relative to its
root) of its main goal, when the budget is spent, or when the graph is full. Each search owns an
equal share of the graph (``planner.max_main_nodes`` nodes by default): a search that has used it
up stops with a warning that says so, and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import sys
import time
from typing import Any
import warnings

import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.planner.action_sampler import ActionSampler, STRATEGIES
from ddpg_manipulation.planner.graph import Graph
from ddpg_manipulation.sim.plant import MujocoPlant
from ddpg_manipulation.sim.threads import single_threaded


@dataclass
class SearchResult:
    """
    What a search reached, and at what cost.

    :param best_relative_distances: Per search, the smallest relative distance to its main goal.
    :param reached: Per search, whether that distance is below ``planner.termination_distance``.
    :param steps: Search steps run.
    :param nodes: Nodes in the graph.
    :param seconds: Wall time.
    :param full: Whether the search stopped because the graph was full.
    :param strategy_counts: Extensions per action strategy (after fallbacks).
    """

    best_relative_distances: list[float]
    reached: list[bool]
    steps: int
    nodes: int
    seconds: float
    full: bool
    strategy_counts: dict[str, int] = field(default_factory=dict)

    @property
    def best_relative_distance(self) -> float:
        """Smallest relative distance to the main goal over all searches."""
        return min(self.best_relative_distances)

    def as_dict(self) -> dict[str, Any]:
        """
        Return the result as plain values (for JSON).

        :returns: The fields, plus ``best_relative_distance`` and ``all_reached``.
        """
        return {
            'best_relative_distance': self.best_relative_distance,
            'all_reached': all(self.reached),
            'best_relative_distances': self.best_relative_distances,
            'reached': self.reached,
            'steps': self.steps,
            'nodes': self.nodes,
            'seconds': self.seconds,
            'full': self.full,
            'strategy_counts': self.strategy_counts,
        }


class Planner:
    """
    Sampling-based graph search over the task's batched MuJoCo dynamics.

    :param plant: The task's simulation.
    :param graph: The graph to grow (its roots and main goals set by the caller).
    :param params: Task parameters (``planner.*``).
    :param generator: Random generator; default seeded from ``params.seed``.
    :param show_progress: Show a tqdm progress bar on stderr.
    """

    def __init__(
        self, plant: MujocoPlant, graph: Graph, params: ParameterContainer,
        generator: torch.Generator | None = None, show_progress: bool = False,
    ) -> None:
        self.plant = plant
        self.graph = graph
        self.params = params
        self.generator = generator or torch.Generator().manual_seed(params.seed)
        self.sampler = ActionSampler(plant, graph, params, self.generator)
        self.show_progress = show_progress
        self.full = False
        self.exhausted = torch.zeros(graph.searches, dtype=torch.bool)
        self.steps = 0
        self.strategy_counts = dict.fromkeys(STRATEGIES, 0)
        self._front: torch.Tensor | None = None
        self._best: torch.Tensor | None = None
        self._best_upto = 0
        modes = (params.action_start_mode, params.action_end_mode)
        self._targets_known = modes == ('previous', 'previous')
        # Random odd multipliers fold a cell's integer coordinates into one int64 key for a
        # 1-D unique (a collision, vanishingly rare, only merges two cells' weights).
        self._hash = torch.randint(1, 2**62, (plant.state_dimension + 1,),
                                   generator=torch.Generator().manual_seed(7)) | 1

    # -- public ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the search's bookkeeping (not the graph)."""
        self.full = False
        self.exhausted = torch.zeros(self.graph.searches, dtype=torch.bool)
        self.steps = 0
        self.strategy_counts = dict.fromkeys(STRATEGIES, 0)
        self._front = None
        self._best = None

    def search(self) -> SearchResult:
        """
        Grow the graph until every search's best node is close enough to its main goal.

        :returns: What the search reached.
        """
        with single_threaded():
            return self._search()

    def cover(self, goals_per_search: int) -> SearchResult:
        """
        Grow the graph towards further goals sampled in the goal bounds, one at a time.

        Each search gets ``goals_per_search`` goals; each goal gets up to
        ``planner.steps_per_goal`` steps and is done once the search's closest node is within
        ``planner.termination_distance`` of it, relative to the root (often at once: the graph
        already passes close to most goals). This spreads the graph over the goal region, so
        that demonstrations exist for the goals the learner samples.

        :param goals_per_search: Goals per search.

        :returns: The state of the searches' main goals after covering.
        """
        with single_threaded():
            return self._cover(goals_per_search)

    def _search(self) -> SearchResult:
        p = self.params
        started = time.perf_counter()
        phases = 1 + 2 * p.planner_num_sub_goals
        bar = self._bar(phases * p.planner_steps_per_goal, f'plan {p.task_name}')
        reached = self._main_reached()
        for phase in range(phases):
            if reached.all() or self.full:
                break
            if phase % 2 == 0:
                self._set_sub_goals(self.graph.goal_states)
            else:
                self._set_sub_goals(self.plant.sample_goal_states(self.graph.searches,
                                                                  self.generator))
            for _ in range(p.planner_steps_per_goal):
                if not self.extend(~reached):
                    break
                reached = self._main_reached()
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(best=f'{self._best_main():.3f}', nodes=self.graph.num_nodes)
                if reached.all():
                    break
        if bar is not None:
            bar.close()
        return self._result(started)

    def _cover(self, goals_per_search: int) -> SearchResult:
        p = self.params
        started = time.perf_counter()
        bar = self._bar(goals_per_search, f'cover {p.task_name}', unit='goal')
        for _ in range(goals_per_search):
            # Not `self.full`: it says only that the last step's searches had no room, and a
            # search that never reached its main goal may have used its share while those that
            # did still have theirs to spread from.
            if not (self._main_reached() & ~self.exhausted).any():
                break
            goals = self.plant.sample_goal_states(self.graph.searches, self.generator)
            self._set_sub_goals(goals)
            for _ in range(p.planner_steps_per_goal):
                # A search that never reached its main goal has no path to spread from.
                pending = ~self._sub_goal_reached() & self._main_reached() & ~self.exhausted
                if not pending.any() or not self.extend(pending):
                    break
            if bar is not None:
                bar.update(1)
                bar.set_postfix(nodes=self.graph.num_nodes)
        if bar is not None:
            bar.close()
        self._set_sub_goals(self.graph.goal_states)
        return self._result(started)

    def extend(self, active: torch.Tensor) -> bool:
        """
        Run one search step: extend chosen nodes of the active searches.

        :param active: Which searches to extend, shape (searches,) bool.

        :returns: False if the graph had no room for the step (the search must stop), else True.
        """
        p, graph, actions = self.params, self.graph, self.plant.actions
        active = active & ~self._exhaust(active)
        if not active.any():
            self.full = True
            return False
        node_ids = self.select_nodes(active)
        batch = node_ids.shape[0]
        normalized, strategies = self.sampler(node_ids)
        relative = actions.relative_actions(normalized)
        lengths = torch.randint(1, p.planner_action_steps_max + 1, (batch,),
                                generator=self.generator)
        counts = torch.bincount(strategies, minlength=len(STRATEGIES))
        for name, count in zip(STRATEGIES, counts.tolist()):
            self.strategy_counts[name] += count
        new_ids = self._simulate(node_ids, relative, lengths)
        self.steps += 1
        if self._front is not None:
            self._front = graph.pareto_front(torch.cat([self._front, new_ids]))
        return True

    def _exhaust(self, active: torch.Tensor) -> torch.Tensor:
        """Mark searches without room for another step as exhausted, and say so once."""
        graph, p = self.graph, self.params
        # Each search owns an equal share of the graph: one that cannot find its way does not
        # eat the room of the others.
        quota = graph.capacity // graph.searches
        used = torch.bincount(graph.search_indices[:graph.num_nodes], minlength=graph.searches)
        step = p.planner_extensions * p.planner_action_steps_max
        newly = active & ~self.exhausted & (used + step > quota)
        for index in torch.nonzero(newly).flatten().tolist():
            warnings.warn(
                f'{p.task_name}: planner search {index} used its {quota} nodes of the graph '
                f'({graph.num_nodes} of {graph.capacity} in all); stopping that search (raise '
                'planner.max_main_nodes for a larger graph)', RuntimeWarning, stacklevel=3)
        self.exhausted |= newly
        return self.exhausted

    def select_nodes(self, active: torch.Tensor) -> torch.Tensor:
        """
        Choose the nodes to extend: ``planner.extensions`` per active search.

        Each draw takes, with probability ``planner.pareto_bias``, a node of the search's
        Pareto front (uniformly), else explores: a cell of the search's occupied cells uniformly,
        then a node in it uniformly (see ``planner.cell_size``).

        :param active: Which searches to extend, shape (searches,) bool.

        :returns: Node ids, grouped by search, shape (active searches * extensions,).
        """
        graph, p = self.graph, self.params
        searches = torch.nonzero(active).flatten()
        if searches.numel() == 0:
            return torch.zeros(0, dtype=torch.long)
        if self._front is None:
            self._front = graph.pareto_front()
        per_search = p.planner_extensions
        n = graph.num_nodes
        owner = graph.search_indices[:n]
        everything = (owner[None, :] == searches[:, None]).double()
        on_front = torch.zeros(n, dtype=torch.bool)
        on_front[self._front] = True
        front = everything * on_front[None, :].double()
        from_all = torch.multinomial(everything * self._cell_weights()[None, :], per_search,
                                     replacement=True, generator=self.generator)
        from_front = torch.multinomial(front, per_search, replacement=True,
                                       generator=self.generator)
        biased = torch.rand(from_all.shape, generator=self.generator) < p.planner_pareto_bias
        return torch.where(biased, from_front, from_all).flatten()

    # -- internals -------------------------------------------------------------------------

    def _cell_weights(self) -> torch.Tensor:
        """Weight each node by one over the number of nodes in its cell (of its search)."""
        graph = self.graph
        n = graph.num_nodes
        size = self.params.planner_cell_size
        if size <= 0:
            return torch.ones(n, dtype=torch.float64)
        scaling = graph.distance_scaling
        dims = scaling > 0
        # Per degree of freedom: an orientation is binned by its rotation vector.
        coordinates = self.plant.state_space.coordinates(graph.states[:n])
        cells = torch.floor(coordinates[:, dims] * scaling[dims] / size).long()
        cells = torch.cat([graph.search_indices[:n, None], cells], dim=1)
        keys = (cells * self._hash[:cells.shape[1]]).sum(1)
        _, inverse, counts = torch.unique(keys, return_inverse=True, return_counts=True)
        return 1.0 / counts[inverse].double()

    def _simulate(self, node_ids: torch.Tensor, relative: torch.Tensor,
                  lengths: torch.Tensor) -> torch.Tensor:
        graph, plant, actions = self.graph, self.plant, self.plant.actions
        actuated = plant.actuated_pos
        states = graph.states[node_ids]
        parents = node_ids.clone()
        previous_end = graph.end_actions[node_ids]
        steps = int(lengths.max())
        if self._targets_known:
            # Targets chain from end to end: all steps of all extensions in one call.
            chain = []
            start = actions.start_end_actions(states[:, actuated], relative, previous_end)
            for _ in range(steps):
                chain.append(start)
                start = actions.start_end_actions(states[:, actuated], relative, start[:, 1])
            start_end = torch.stack(chain, dim=1)
            reached, sensors = plant.dynamics(states, start_end, return_sensors=True)
        added = []
        for k in range(steps):
            going = lengths > k
            if self._targets_known:
                step_start_end = start_end[going, k]
                next_states, next_sensors = reached[going, k], sensors[going, k]
            else:
                step_start_end = actions.start_end_actions(
                    states[going][:, actuated], relative[going], previous_end[going])
                next_states, next_sensors = plant.dynamics(
                    states[going], step_start_end, return_sensors=True)
            ids = graph.add_nodes(parents[going], next_states, step_start_end[:, 0],
                                  step_start_end[:, 1], relative[going], next_sensors)
            states[going] = next_states
            parents[going] = ids
            previous_end[going] = step_start_end[:, 1]
            added.append(ids)
        return torch.cat(added)

    def _set_sub_goals(self, goals: torch.Tensor) -> None:
        self.graph.change_sub_goal_states(goals)
        self._front = None  # rewards changed: rebuild the front from scratch

    def _main_reached(self) -> torch.Tensor:
        graph = self.graph
        # The main goals never change during a search: fold in only the nodes added since.
        if self._best is None or self._best_upto > graph.num_nodes:
            self._best, self._best_upto = graph.best_main_relative_distances(), graph.num_nodes
        elif self._best_upto < graph.num_nodes:
            ids = torch.arange(self._best_upto, graph.num_nodes)
            relative = graph.relative_distances(
                ids, graph.goal_states[graph.search_indices[ids]])
            self._best = self._best.scatter_reduce(0, graph.search_indices[ids], relative,
                                                   'amin')
            self._best_upto = graph.num_nodes
        return self._best < self.params.planner_termination_distance

    def _sub_goal_reached(self) -> torch.Tensor:
        graph = self.graph
        ids = graph.node_ids()
        distances = graph.relative_distances(
            ids, graph.sub_goal_states[graph.search_indices[ids]])
        best = torch.full((graph.searches,), float('inf')).scatter_reduce(
            0, graph.search_indices[ids], distances, 'amin')
        return best < self.params.planner_termination_distance

    def _best_main(self) -> float:
        self._main_reached()
        return float(self._best.min())

    def _bar(self, total: int, desc: str, unit: str = 'step') -> Any:
        if not self.show_progress:
            return None
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)

    def _result(self, started: float) -> SearchResult:
        best = self.graph.best_main_relative_distances()
        return SearchResult(
            best_relative_distances=[float(x) for x in best],
            reached=[bool(x) for x in best < self.params.planner_termination_distance],
            steps=self.steps,
            nodes=self.graph.num_nodes,
            seconds=time.perf_counter() - started,
            full=self.full,
            strategy_counts=dict(self.strategy_counts),
        )


def plan(params: ParameterContainer, plant: MujocoPlant | None = None,
         show_progress: bool = False) -> tuple[Graph, SearchResult]:
    """
    Run one search from the nominal start to the nominal goal.

    :param params: Task parameters.
    :param plant: The task's simulation (built if None).
    :param show_progress: Show a progress bar.

    :returns: The graph and the search result.
    """
    plant = plant or MujocoPlant(params)
    graph = Graph(plant, params, searches=1)
    planner = Planner(plant, graph, params, show_progress=show_progress)
    return graph, planner.search()


def demonstration_graph(params: ParameterContainer, show_progress: bool = False) -> Graph:
    """
    Search a graph that provides demonstrations over the learner's start and goal regions.

    ``planner.searches`` searches run side by side in one graph: the first from the nominal
    start, the others from starts sampled in the start bounds, all towards the nominal goal.
    Then every search is driven to ``planner.demonstrations`` further goals sampled in the goal
    bounds (:meth:`Planner.cover`), so that the graph passes close to any goal the learner may
    sample, and the nodes near the goal region are settled (:meth:`DemonstrationSampler.settle
    <ddpg_manipulation.planner.demonstrations.DemonstrationSampler.settle>`).
    :meth:`Graph.sample_demonstration` then traces, for a freshly sampled goal, the path from
    one of the roots to a node that comes to rest in it.

    :param params: Task parameters.
    :param show_progress: Show progress bars and a summary line on stderr.

    :returns: The graph (a ``DemonstrationSource`` for the learner).
    """
    plant = MujocoPlant(params)
    generator = torch.Generator().manual_seed(params.seed)
    searches = params.planner_searches
    graph = Graph(plant, params, searches=searches)
    starts = plant.start_state.expand(searches, -1).clone()
    if searches > 1:
        starts[1:] = plant.sample_start_states(searches - 1, generator)
    graph.set_start_states(starts)
    planner = Planner(plant, graph, params, generator, show_progress=show_progress)
    main = planner.search()
    covered = planner.cover(params.planner_demonstrations)
    started = time.perf_counter()
    settled = graph.demonstrations.settle()
    graph.planning = {
        'searches': searches,
        'searches_reached': sum(main.reached),
        'best_relative_distance': main.best_relative_distance,
        'search_s': round(main.seconds, 3),
        'cover_s': round(covered.seconds, 3),
        'settle_s': round(time.perf_counter() - started, 3),
        'nodes': graph.num_nodes,
        'settled_nodes': settled,
    }
    if show_progress:
        print(f'planner: {sum(main.reached)}/{searches} searches reached the goal '
              f'(best relative distance {main.best_relative_distance:.3f}) in '
              f'{main.seconds:.1f} s; covering the goal region took {covered.seconds:.1f} s; '
              f'{graph.num_nodes} nodes, {settled} near the goal settled in '
              f'{graph.planning["settle_s"]:.1f} s', file=sys.stderr, flush=True)
    return graph
