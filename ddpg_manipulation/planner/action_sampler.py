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
How the planner proposes actions for the nodes it extends.

Four strategies, drawn per extension with the weights ``planner.action_distribution``:

* ranged: uniform in the whole normalized action range [-1, 1];
* proximity: along the negative gradient of the effector-to-object distance in the actuated
  joints (site Jacobians), so fingers close in on the object;
* continuation: the relative action that led to the node, repeated;
* gradient: a step that minimizes the linearized scaled distance to the sub-goal after one
  action step, from ``mujoco.mjd_transitionFD`` at the node.

Every strategy returns normalized actions in [-1, 1]; the relative action is
``ActionSpace.relative_actions`` of it, and the simulation clips the resulting actuator targets
to the action bounds, exactly as for the learner's actions. Where a strategy has nothing to say
(the root has no action to continue, a gradient vanishes because nothing touches the object) the
extension falls back to a ranged action rather than standing still.
"""

from __future__ import annotations

import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.planner.graph import Graph
from ddpg_manipulation.sim.plant import MujocoPlant

STRATEGIES = ('ranged', 'proximity', 'continuation', 'gradient')
RANGED, PROXIMITY, CONTINUATION, GRADIENT = range(4)

# Below this norm a proximity or gradient direction is treated as no direction at all.
_NEGLIGIBLE = 1e-6


class ActionSampler:
    """
    Propose normalized actions for nodes, each by a strategy drawn from the distribution.

    :param plant: The task's simulation.
    :param graph: The graph whose nodes are extended.
    :param params: Task parameters (``planner.action_distribution``, ``planner.finite_diff_eps``,
        ``planner.gradient_step``).
    :param generator: Random generator (seeded by the caller).
    """

    def __init__(self, plant: MujocoPlant, graph: Graph, params: ParameterContainer,
                 generator: torch.Generator) -> None:
        self.plant = plant
        self.graph = graph
        self.params = params
        self.generator = generator
        weights = torch.tensor(params.planner_action_distribution, dtype=torch.float64)
        self.distribution = weights / weights.sum()
        self.nu = plant.action_dimension

    def __call__(self, node_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Propose one action per node, each by a strategy drawn from the distribution.

        :param node_ids: Nodes to extend, shape (batch,).

        :returns: Normalized actions in [-1, 1], shape (batch, nu), and the strategy index used for
            each (after fallbacks), shape (batch,).
        """
        batch = node_ids.shape[0]
        strategies = torch.multinomial(self.distribution, batch, replacement=True,
                                       generator=self.generator)
        actions = torch.zeros(batch, self.nu)
        methods = (self.ranged, self.proximity, self.continuation, self.gradient)
        # Fixed order: the generator is consumed the same way on every run with the same seed.
        for index, method in enumerate(methods):
            picked = strategies == index
            if picked.any():
                actions[picked] = method(node_ids[picked])
        missing = torch.isnan(actions).any(-1)
        if missing.any():
            actions[missing] = self.ranged(node_ids[missing])
            strategies[missing] = RANGED
        return actions.clamp(-1.0, 1.0), strategies

    # -- strategies ------------------------------------------------------------------------

    def ranged(self, node_ids: torch.Tensor) -> torch.Tensor:
        """
        Sample actions uniformly in the normalized range.

        :param node_ids: Nodes, shape (batch,).

        :returns: Normalized actions, shape (batch, nu).
        """
        return torch.rand((node_ids.shape[0], self.nu), generator=self.generator) * 2.0 - 1.0

    def proximity(self, node_ids: torch.Tensor) -> torch.Tensor:
        """
        Move the actuated joints to bring the effector sites closer to the object.

        The direction is the negative gradient of the mean site distance, scaled so that its
        largest entry has a magnitude drawn uniformly in (0, 1]: the planner tries short and
        long approaches alike.

        :param node_ids: Nodes, shape (batch,).

        :returns: Normalized actions, shape (batch, nu); NaN rows where there is no direction.
        """
        gradients = self.graph.proximity.gradients(self.graph.states[node_ids])
        # A gradient in joint positions becomes an action direction through the action scale.
        directions = -self.plant.actions.normalized_actions(gradients)
        return self._scaled(directions, 1.0)

    def continuation(self, node_ids: torch.Tensor) -> torch.Tensor:
        """
        Repeat the relative action that led to each node.

        :param node_ids: Nodes, shape (batch,).

        :returns: Normalized actions, shape (batch, nu); NaN rows for roots (no action led there).
        """
        actions = self.plant.actions.normalized_actions(self.graph.relative_actions[node_ids])
        is_root = self.graph.depths[node_ids] == 0
        actions[is_root] = torch.nan
        return actions

    def gradient(self, node_ids: torch.Tensor) -> torch.Tensor:
        """
        Step along the linearized dynamics towards each node's sub-goal.

        G, the change of the state after one action step per unit of normalized action, comes
        from :class:`~ddpg_manipulation.sim.linearization.StepLinearization` at the node (computed
        here, for the nodes that use this strategy only, unless the reachability reward has
        already computed it for every node). The step minimizes
        ``|W (x + G u - g)|^2 + lambda |u|^2`` (W the distance scaling) over the normalized
        action u, limited to ``planner.gradient_step``.

        :param node_ids: Nodes, shape (batch,).

        :returns: Normalized actions, shape (batch, nu); NaN rows where the distance does not
            depend on the action (e.g. nothing touches the object yet).
        """
        graph = self.graph
        states = graph.states[node_ids]
        goals = graph.sub_goal_states[graph.search_indices[node_ids]]
        if graph.uses_reachability:  # linearized already, for the reachability reward
            jacobians = graph.step_jacobians[node_ids].double()
        else:
            jacobians = graph.linearization.jacobians(states, graph.next_start_targets(node_ids))
        weights = graph.distance_scaling.double()
        # Tangent layout, as the Jacobians' rows: orientations differ by a rotation vector.
        errors = self.plant.state_space.difference(states, goals).double() * weights
        scaled = jacobians * weights[None, :, None]
        # Regularized least squares, small enough to leave well-posed steps untouched.
        normal = scaled.transpose(1, 2) @ scaled
        regularization = 1e-6 * (1.0 + normal.diagonal(dim1=1, dim2=2).sum(-1))
        normal = normal + regularization[:, None, None] * torch.eye(self.nu, dtype=torch.float64)
        rhs = -(scaled.transpose(1, 2) @ errors[..., None])
        steps = torch.linalg.solve(normal, rhs)[..., 0]
        steps[rhs[..., 0].abs().amax(-1) < _NEGLIGIBLE] = torch.nan
        return self._limited(steps.float(), self.params.planner_gradient_step)

    # -- helpers ---------------------------------------------------------------------------

    def _scaled(self, directions: torch.Tensor, limit: float) -> torch.Tensor:
        size = directions.abs().amax(-1, keepdim=True)
        magnitude = torch.rand((directions.shape[0], 1), generator=self.generator)
        # 1 - U[0, 1) lies in (0, 1]: never a zero action from a real direction.
        out = directions / size.clamp_min(_NEGLIGIBLE) * (1.0 - magnitude) * limit
        out[size[:, 0] < _NEGLIGIBLE] = torch.nan
        return out

    @staticmethod
    def _limited(steps: torch.Tensor, limit: float) -> torch.Tensor:
        size = steps.abs().amax(-1, keepdim=True)
        factor = torch.where(size > limit, limit / size.clamp_min(_NEGLIGIBLE),
                             torch.ones_like(size))
        return steps * factor
