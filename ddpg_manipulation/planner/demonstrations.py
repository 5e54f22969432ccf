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
Demonstrations: paths of the planner's graph, sampled as the learner's transitions.

For a goal sampled in the task's goal bounds, a demonstration is the path from one of the
graph's roots to a node that meets the goal, by the learner's own measure of success (relative
distance below ``learner.final_success_distance`` where the episode ends). Nodes that come to
rest in the goal when the actuators then hold still are preferred, since a path that meets its
goal only in passing teaches an overshoot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tensordict import TensorDict
import torch

from ddpg_manipulation.sim.threads import single_threaded
from ddpg_manipulation.transitions import trajectory_transitions

if TYPE_CHECKING:
    from ddpg_manipulation.planner.graph import Graph

# Nodes settled for demonstrations: scaled distance to the goal bounds below this many success
# distances (relative to the nominal start); farther nodes cannot come to rest in a goal.
_SETTLE_NEAR = 3.0


class DemonstrationSampler:
    """
    Samples demonstrations from a graph: a goal, then the path to a node that reaches it.

    :param graph: The graph whose paths are the demonstrations.
    :param generator: Random generator of the goals and of the root each demonstration starts
        from.
    """

    def __init__(self, graph: Graph, generator: torch.Generator) -> None:
        self.graph = graph
        self.plant = graph.plant
        self.params = graph.params
        self.generator = generator
        self.success_distance = graph.params.learner_final_success_distance
        self.attempts = 16
        # Demonstrations given, and those that fell back to the node closest to their goal.
        self.given = 0
        self.missed = 0
        model = graph.plant.model
        self._velocities = torch.arange(model.nq, model.nq + model.nv)
        self._settled: torch.Tensor | None = None
        self._settled_ids = torch.zeros(0, dtype=torch.long)

    def reset_counts(self) -> None:
        """Count demonstrations given and missed from zero again."""
        self.given = 0
        self.missed = 0

    def forget_settled(self) -> None:
        """Drop the settled states: the graph's nodes were replaced, the next sample settles."""
        self._settled = None

    def sample(self) -> TensorDict | None:
        """
        Trace a path in the graph from a sampled start to a freshly sampled goal.

        A goal is sampled in the task's goal bounds. Preferred are nodes that, followed by
        ``planner.demonstration_hold`` steps of holding still (:meth:`hold_actions`), come to
        rest within ``learner.final_success_distance`` of it, relative to their own root as the
        learner measures it (see :meth:`settle`): a root is drawn at random among those with
        such a node, and its shortest one taken. The demonstration is the path from the root to
        the node plus the holding steps, labelled with the sampled goal: a success by the
        learner's own measure at its end, where the learner's episodes are judged. If no node
        settles in the goal, the stillest node that meets it in passing is used (no holding
        steps); if none meets it after a few fresh goals, the closest node to the last goal
        (counted in :attr:`missed`).

        :returns: The demonstration's transitions, or None if the graph has no edges.
        """
        if self.graph.num_nodes <= self.graph.searches:
            return None
        with single_threaded():
            return self._sample()

    def settle(self) -> int:
        """
        Find where the nodes near the goal region come to rest when the actuators hold still.

        A demonstration that meets its goal in passing teaches an overshoot: the learner is
        judged where its episode ends. So for every node near the goal region (scaled distance
        to the goal bounds below three times the success distance, relative to the nominal
        start), ``planner.demonstration_hold`` action steps of holding still are
        simulated, all nodes batched in one dynamics call per step, and the state they settle
        in is kept: :meth:`sample` prefers nodes that settle in the goal.

        :returns: Number of nodes settled.
        """
        graph = self.graph
        n, steps = graph.num_nodes, self.params.planner_demonstration_hold
        self._settled = torch.full((n, self.plant.state_dimension), torch.nan)
        self._settled_ids = torch.zeros(0, dtype=torch.long)
        if steps <= 0 or n <= graph.searches:
            return 0
        states = graph.states[:n]
        gap = self.plant.goal_region_distances(states)
        scale = self.plant.scaled_distances_to(self.plant.start_state, self.plant.goal_state)
        near = torch.nonzero(gap < _SETTLE_NEAR * self.success_distance * scale).flatten()
        near = near[near >= graph.searches]
        if len(near) == 0:
            return 0
        with single_threaded():
            current, previous_end = states[near], graph.end_actions[near]
            for _ in range(steps):
                hold = self.hold_actions(current, previous_end)
                current, previous_end = self.plant.step(current, hold, previous_end)
        self._settled[near] = current
        self._settled_ids = near
        return len(near)

    def hold_actions(self, states: torch.Tensor, previous_end: torch.Tensor) -> torch.Tensor:
        """
        Relative actions that hold still: zero, or (``planner.hold_targets``) keep the targets.

        With ``action.end_mode`` ``current`` a zero relative action sets each target to where its
        joint is, which lets go of an object that the fingers squeeze; keeping the targets
        holds it. The relative action that keeps them is the previous end action minus the
        position, limited to what one action step can command.

        :param states: States, shape (batch, nx).
        :param previous_end: End actions of the step before, shape (batch, nu).

        :returns: Relative actions, shape (batch, nu).
        """
        batch = states.shape[0]
        if not self.params.planner_hold_targets or self.params.action_end_mode == 'previous':
            return torch.zeros(batch, self.plant.action_dimension)
        actions = self.plant.actions
        positions = states[:, self.plant.actuated_pos]
        return actions.relative_actions(
            actions.normalized_actions(previous_end - positions).clamp(-1.0, 1.0))

    def _sample(self) -> TensorDict:
        graph = self.graph
        if self._settled is None or len(self._settled) != graph.num_nodes:
            self.settle()
        settled, near = self._settled, self._settled_ids
        assert settled is not None  # settle() fills it
        for _ in range(self.attempts if len(near) else 0):
            goal = self.plant.sample_goal_states(1, self.generator)[0]
            relative = self._relative(near, settled[near], goal)
            hits = relative < self.success_distance
            if hits.any():
                node = self._pick(near, hits, graph.depths[near].float() + relative)
                return self._demonstration(node, goal, self.params.planner_demonstration_hold)
        ids = torch.arange(graph.searches, graph.num_nodes)  # every node but the roots
        for _ in range(self.attempts):
            goal = self.plant.sample_goal_states(1, self.generator)[0]
            relative = self._relative(ids, graph.states[ids], goal)
            hits = relative < self.success_distance
            if hits.any():
                # No node settles in this goal: the stillest node that meets it in passing.
                speeds = torch.linalg.vector_norm(graph.states[ids][:, self._velocities], dim=-1)
                return self._demonstration(self._pick(ids, hits, speeds), goal, 0)
        # Missed every goal drawn: the node nearest to the last one.
        self.missed += 1
        relative = self._relative(ids, graph.states[ids], goal)
        return self._demonstration(int(ids[torch.argmin(relative)]), goal, 0)

    def _relative(self, ids: torch.Tensor, states: torch.Tensor, goal: torch.Tensor
                  ) -> torch.Tensor:
        # A graph has a handful of roots: their distances once each, not once per node.
        roots, which = torch.unique(self.graph.root_ids[ids], return_inverse=True)
        initial = self.plant.scaled_distances_to(self.graph.states[roots], goal)
        return self.plant.scaled_distances_to(states, goal) / initial.clamp_min(1e-6)[which]

    def _pick(self, ids: torch.Tensor, hits: torch.Tensor, scores: torch.Tensor) -> int:
        # A root at random among those with a hit (demonstrations cover every start the graph
        # has), then its hit with the lowest score.
        root_ids = self.graph.root_ids
        roots = torch.unique(root_ids[ids[hits]])
        root = roots[torch.randint(len(roots), (1,), generator=self.generator)]
        mine = hits & (root_ids[ids] == root)
        return int(ids[mine][torch.argmin(scores[mine])])

    def _demonstration(self, node: int, goal: torch.Tensor, hold: int) -> TensorDict:
        """Transitions of the path to a node, then ``hold`` steps of holding still."""
        graph = self.graph
        self.given += 1
        path = graph.shortest_path_to(node)
        states = graph.states[path]
        relative_actions = graph.relative_actions[path[1:]]
        if hold > 0:
            current, previous_end = states[-1:], graph.end_actions[node][None]
            held, actions = [], []
            for _ in range(hold):  # one environment: a few microseconds of physics per step
                action = self.hold_actions(current, previous_end)
                current, previous_end = self.plant.step(current, action, previous_end)
                held.append(current[0])
                actions.append(action[0])
            states = torch.cat([states, torch.stack(held)])
            relative_actions = torch.cat([relative_actions, torch.stack(actions)])
        return trajectory_transitions(states[None], relative_actions[None], goal[None])
