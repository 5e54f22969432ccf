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
The planner's graph: node tensors, rewards, Pareto front, shortest paths, demonstrations.

Every node is the state reached by one action step from its parent, so the path from a root to
any node is a trajectory the learner's own action definition reproduces exactly, transition by
transition. Several searches share one graph; each has its own root (a start state), main goal
and current sub-goal, and ``search_indices`` tells which search a node belongs to.

Node rewards have three components, each a reward (higher is better):

* distance: minus the scaled distance (``reward.distance_scaling``) to the search's sub-goal;
* proximity: minus ``reward.proximity_scaling`` times the mean distance of the effector sites to
  the object site (see :class:`Proximity`);
* reachability: minus ``reward.reachability_scaling`` times the log of the control effort that
  the dynamics, linearized at the node over one action step, need to move the object's scaled
  positions to the sub-goal (see :class:`StepLinearization`): nodes from which the actuators
  can move the object where it must go rank higher. Computed only when the weight is positive.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Any, Iterator

import mujoco
import numpy as np
from tensordict import TensorDict
import torch

from ddpg_manipulation.atomic import atomic_path
from ddpg_manipulation.config import ConfigError, ParameterContainer
from ddpg_manipulation.errors import PackageError
from ddpg_manipulation.sim.plant import MujocoPlant
from ddpg_manipulation.transitions import trajectory_transitions

GRAPH_FORMAT = 'ddpg_manipulation.graph'
GRAPH_VERSION = 1

# Per-node tensors, saved and loaded with the graph: name -> (dtype, trailing shape key).
_NODE_TENSORS: dict[str, tuple[torch.dtype, str]] = {
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
# Reachability: Tikhonov term of the control-authority matrix, and the effort below which a
# node counts as able to reach the sub-goal outright (the log cost is zero there).
_REACHABILITY_REGULARIZATION = 1e-3
_REACHABILITY_FLOOR = 1e-3
# Nodes settled for demonstrations: scaled distance to the goal bounds below this many success
# distances (relative to the nominal start); farther nodes cannot come to rest in a goal.
_SETTLE_NEAR = 3.0
# Per-node tensors of the reachability reward (empty where it is off).
_REACHABILITY_TENSORS = ('reachability_matrices', 'step_jacobians')
# Per-search tensors: name -> trailing shape key.
_SEARCH_TENSORS = ('start_states', 'goal_states', 'sub_goal_states')


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """
    Run torch on one intra-op thread inside the block, then restore the previous count.

    The planner's tensors are small (thousands of rows, a few columns): a second thread cannot
    speed them up, and on a loaded machine the hand-over between threads made single operations
    a thousand times slower than on one thread (measured: 50 ms instead of 50 us).
    """
    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if previous != 1:
            torch.set_num_threads(previous)


class GraphFullError(PackageError, RuntimeError):
    """Nodes were added to a graph that has no room left for them."""


class GraphFileError(PackageError, ValueError):
    """A graph file is missing, truncated, foreign or inconsistent; the message names it."""


class Proximity:
    """
    Distance of a task's effector sites to its object site, and how the actuators reduce it.

    The object site is the site named by ``planner.proximity_site``; the effector sites are all
    other sites that move and do not sit on the object's body (the finger links of planar_hand,
    the cart of box_push). Where the model carries a ``framepos`` sensor of every effector site
    relative to the object site (planar_hand), distances come from the sensor data the batched
    rollout returns anyway (MuJoCo evaluates them before the last physics sub-step, 0.01 s of
    motion earlier: irrelevant for a shaping reward); otherwise (box_push) they come from
    forward kinematics of each state (no physics, microseconds per state).
    A model without the object site has no proximity (all distances zero).

    :param model: The task's MuJoCo model.
    :param object_site: Name of the object site.
    :param where: Task file, for error messages.
    """

    def __init__(self, model: mujoco.MjModel, object_site: str, where: object = 'task') -> None:
        self.model = model
        self.data = mujoco.MjData(model)
        self.object_site = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, object_site)
        if object_site and self.object_site < 0:
            names = [model.site(i).name for i in range(model.nsite)]
            raise ConfigError(
                f"{where}: key 'planner.proximity_site': the model has no site {object_site!r} "
                f'(sites: {", ".join(names) or "none"})'
            )
        self.effector_sites: list[int] = []
        if self.object_site >= 0:
            object_body = model.site_bodyid[self.object_site]
            self.effector_sites = [
                s for s in range(model.nsite)
                if s != self.object_site and model.site_bodyid[s] not in (0, object_body)
            ]
        self.sensor_columns = self._sensor_columns()
        # Actuated dofs in actuator order: proximity gradients are taken along these.
        self.actuated_dofs = [
            int(model.jnt_dofadr[model.actuator_trnid[a, 0]]) for a in range(model.nu)
        ]

    @property
    def enabled(self) -> bool:
        """Whether the model has an object site and at least one effector site."""
        return bool(self.effector_sites)

    def _sensor_columns(self) -> torch.Tensor | None:
        columns = {}
        for sensor in range(self.model.nsensor):
            if (self.model.sensor_type[sensor] == mujoco.mjtSensor.mjSENS_FRAMEPOS
                    and self.model.sensor_objtype[sensor] == mujoco.mjtObj.mjOBJ_SITE
                    and self.model.sensor_reftype[sensor] == mujoco.mjtObj.mjOBJ_SITE
                    and self.model.sensor_refid[sensor] == self.object_site):
                address = int(self.model.sensor_adr[sensor])
                columns[int(self.model.sensor_objid[sensor])] = range(address, address + 3)
        if not self.effector_sites or any(s not in columns for s in self.effector_sites):
            return None
        return torch.tensor([c for s in self.effector_sites for c in columns[s]])

    def distances(self, states: torch.Tensor, sensors: torch.Tensor | None = None
                  ) -> torch.Tensor:
        """
        Mean distance of the effector sites to the object site.

        :param states: States, shape (batch, nx).
        :param sensors: Sensor data of those states, shape (batch, nsensordata), or None.

        :returns: Distances, shape (batch,); zeros where the model has no proximity sites.
        """
        batch = states.shape[0]
        if not self.enabled:
            return torch.zeros(batch)
        if self.sensor_columns is not None and sensors is not None and sensors.shape[-1] > 0:
            vectors = sensors[:, self.sensor_columns].reshape(batch, -1, 3)
            return torch.linalg.vector_norm(vectors, dim=-1).mean(-1)
        # No sensors to read: forward kinematics per state (microseconds each, no physics).
        out = np.empty(batch)
        for i, state in enumerate(states.double().numpy()):
            self._kinematics(state)
            out[i] = self._site_offsets()[1].mean()
        return torch.from_numpy(out).float()

    def gradients(self, states: torch.Tensor) -> torch.Tensor:
        """
        Gradient of the mean site distance with respect to the actuated joint positions.

        :param states: States, shape (batch, nx).

        :returns: Gradients, shape (batch, nu); zeros where the model has no proximity sites.
        """
        batch = states.shape[0]
        out = np.zeros((batch, self.model.nu))
        if not self.enabled:
            return torch.from_numpy(out).float()
        model, data = self.model, self.data
        jac_site = np.empty((3, model.nv))
        jac_object = np.empty((3, model.nv))
        for i, state in enumerate(states.double().numpy()):
            self._kinematics(state)
            mujoco.mj_comPos(model, data)
            offsets, lengths = self._site_offsets()
            mujoco.mj_jacSite(model, data, jac_object, None, self.object_site)
            gradient = np.zeros(model.nv)
            for site, offset, length in zip(self.effector_sites, offsets, lengths):
                mujoco.mj_jacSite(model, data, jac_site, None, site)
                gradient += (jac_site - jac_object).T @ (offset / max(length, 1e-9))
            out[i] = gradient[self.actuated_dofs] / len(self.effector_sites)
        return torch.from_numpy(out).float()

    def _kinematics(self, state: np.ndarray) -> None:
        model, data = self.model, self.data
        data.qpos[:] = state[:model.nq]
        mujoco.mj_kinematics(model, data)

    def _site_offsets(self) -> tuple[np.ndarray, np.ndarray]:
        positions = self.data.site_xpos
        offsets = positions[self.effector_sites] - positions[self.object_site]
        return offsets, np.linalg.norm(offsets, axis=-1)


class StepLinearization:
    """
    How one action step changes the state, linearized at given states.

    ``mujoco.mjd_transitionFD`` gives the one-physics-step derivatives A and B at a state with
    the actuator targets held where the next action starts. With a first-order hold the target
    moves by ``delta = u / N`` per physics step, so the augmented state ``[dx, c, delta]`` evolves
    by ``M = [[A, B, B], [0, I, I], [0, 0, I]]``; ``M^N`` maps ``delta`` to the state change after
    the N physics steps of an action step. ``matrix_power`` composes it in log N products,
    batched over the states. One finite difference per state is the only loop (no physics
    rollout: a handful of perturbed single steps).

    :param plant: The task's simulation.
    :param eps: Finite-difference step.
    """

    def __init__(self, plant: MujocoPlant, eps: float) -> None:
        self.plant = plant
        self.model = plant.model
        self.data = mujoco.MjData(self.model)
        self.eps = eps
        # The derivatives are over [dq (nv), qvel (nv), act (na)]: the state layout itself
        # where nq == nv (hinge and slide joints).
        self.available = self.model.nq == self.model.nv
        self.size = 2 * self.model.nv + self.model.na
        scale = plant.actions.range * plant.actions.time_step
        self.action_scale = torch.from_numpy(np.asarray(scale, dtype=np.float64))

    def jacobians(self, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """
        State change after one action step per unit of normalized relative action.

        :param states: States, shape (batch, nx).
        :param targets: Actuator targets where the step starts, shape (batch, nu).

        :returns: Jacobians, shape (batch, nx, nu), float64.
        """
        model, data = self.model, self.data
        nx, nu, batch = self.size, self.model.nu, states.shape[0]
        if not self.available:
            raise ValueError('step linearization needs nq == nv (no ball or free joints)')
        a = np.zeros((batch, nx, nx))
        b = np.zeros((batch, nx, nu))
        for i, (state, target) in enumerate(zip(states.double().numpy(),
                                                targets.double().numpy())):
            data.qpos[:] = state[:model.nq]
            data.qvel[:] = state[model.nq:model.nq + model.nv]
            data.act[:] = state[model.nq + model.nv:]
            data.ctrl[:] = target
            mujoco.mj_forward(model, data)
            mujoco.mjd_transitionFD(model, data, self.eps, False, a[i], b[i], None, None)
        size = nx + 2 * nu
        m = torch.zeros(batch, size, size, dtype=torch.float64)
        m[:, :nx, :nx] = torch.from_numpy(a)
        m[:, :nx, nx:nx + nu] = torch.from_numpy(b)
        m[:, :nx, nx + nu:] = torch.from_numpy(b)
        eye = torch.eye(nu, dtype=torch.float64)
        m[:, nx:nx + nu, nx:nx + nu] = eye
        m[:, nx:nx + nu, nx + nu:] = eye
        m[:, nx + nu:, nx + nu:] = eye
        substeps = self.plant.substeps
        composed = torch.linalg.matrix_power(m, substeps)
        per_relative = composed[:, :nx, nx + nu:] / substeps
        return per_relative * self.action_scale[None, None, :]


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
    :param generator: Random generator of :meth:`sample_demonstration`; default seeded from
        ``params.seed``.
    """

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
        self.generator = generator or torch.Generator().manual_seed(params.seed + 20_000)
        self.proximity = Proximity(plant.model, params.planner_proximity_site, params.task_file)
        self.distance_scaling = plant.distance_scaling
        self.success_distance = params.learner_final_success_distance
        self.linearization = StepLinearization(plant, params.planner_finite_diff_eps)
        # Reachability looks at the object: unactuated positions that enter the goal distance.
        nq = plant.model.nq
        actuated = set(plant.actuated_pos.tolist())
        self.object_dims = torch.tensor(
            [i for i in range(nq) if i not in actuated and self.distance_scaling[i] > 0],
            dtype=torch.long)
        self.uses_reachability = (params.reward_reachability_scaling > 0
                                  and self.linearization.available
                                  and len(self.object_dims) > 0)
        self.demonstration_attempts = 16
        self._velocities = torch.arange(plant.model.nq, plant.model.nq + plant.model.nv)
        self._settled: torch.Tensor | None = None
        # How the graph was built (set by ``planner.search.demonstration_graph``), for reports.
        self.planning: dict[str, Any] = {}
        self.reset()

    # -- set-up ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Empty the graph and set every search's root to the nominal start state."""
        self.reset_empty()
        self.demonstrations_given = 0
        self.demonstrations_missed = 0
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
        delta = (goals - self.states[ids])[:, self.object_dims] * scaling
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

    # -- demonstrations --------------------------------------------------------------------

    def sample_demonstration(self) -> TensorDict | None:
        """
        Trace a path in the graph from a sampled start to a freshly sampled goal.

        A goal is sampled in the task's goal bounds. Preferred are nodes that, followed by
        ``planner.demonstration_hold`` steps of holding still (zero relative action), come to
        rest within ``learner.final_success_distance`` of it, relative to their own root as the
        learner measures it (see :meth:`settle`): a root is drawn at random among those with
        such a node, and its shortest one taken. The demonstration is the path from the root to
        the node plus the holding steps, labelled with the sampled goal: a success by the
        learner's own measure at its end, where the learner's episodes are judged. If no node
        settles in the goal, the stillest node that meets it in passing is used (no holding
        steps); if none meets it after a few fresh goals, the closest node to the last goal
        (counted in ``demonstrations_missed``).

        :returns: The demonstration's transitions, or None if the graph has no edges.
        """
        if self.num_nodes <= self.searches:
            return None
        with single_threaded():
            return self._sample_demonstration()

    def settle(self) -> int:
        """
        Find where the nodes near the goal region come to rest when the actuators hold still.

        A demonstration that meets its goal in passing teaches an overshoot: the learner is
        judged where its episode ends. So for every node near the goal region (scaled distance
        to the goal bounds below three times the success distance, relative to the nominal
        start), ``planner.demonstration_hold`` action steps with zero relative action are
        simulated, all nodes batched in one dynamics call per step, and the state they settle
        in is kept: :meth:`sample_demonstration` prefers nodes that settle in the goal.

        :returns: Number of nodes settled.
        """
        n, steps = self.num_nodes, self.params.planner_demonstration_hold
        self._settled = torch.full((n, self.plant.state_dimension), torch.nan)
        self._settled_ids = torch.zeros(0, dtype=torch.long)
        if steps <= 0 or n <= self.searches:
            return 0
        lower, upper = self.plant.goal_bounds
        states = self.states[:n]
        gap = self.plant.scaled_distances_to(states, states.clamp(lower, upper))
        scale = self.plant.scaled_distances_to(self.plant.start_state, self.plant.goal_state)
        near = torch.nonzero(gap < _SETTLE_NEAR * self.success_distance * scale).flatten()
        near = near[near >= self.searches]
        if len(near) == 0:
            return 0
        with single_threaded():
            current, previous_end = states[near], self.end_actions[near]
            zero = torch.zeros(len(near), self.plant.action_dimension)
            for _ in range(steps):
                current, previous_end = self.plant.step(current, zero, previous_end)
        self._settled[near] = current
        self._settled_ids = near
        return len(near)

    def _sample_demonstration(self) -> TensorDict:
        if self._settled is None or len(self._settled) != self.num_nodes:
            self.settle()
        near = self._settled_ids
        for _ in range(self.demonstration_attempts if len(near) else 0):
            goal = self.plant.sample_goal_states(1, self.generator)[0]
            relative = self._relative(near, self._settled[near], goal)
            hits = relative < self.success_distance
            if hits.any():
                node = self._pick(near, hits, self.depths[near].float() + relative)
                return self._demonstration(node, goal, self.params.planner_demonstration_hold)
        ids = torch.arange(self.searches, self.num_nodes)  # every node but the roots
        ids_goal = None
        for _ in range(self.demonstration_attempts):
            goal = self.plant.sample_goal_states(1, self.generator)[0]
            relative = self._relative(ids, self.states[ids], goal)
            hits = relative < self.success_distance
            if hits.any():
                # No node settles in this goal: the stillest node that meets it in passing.
                speeds = torch.linalg.vector_norm(self.states[ids][:, self._velocities], dim=-1)
                return self._demonstration(self._pick(ids, hits, speeds), goal, 0)
            ids_goal = goal
        self.demonstrations_missed += 1
        relative = self._relative(ids, self.states[ids], ids_goal)
        return self._demonstration(int(ids[torch.argmin(relative)]), ids_goal, 0)

    def _relative(self, ids: torch.Tensor, states: torch.Tensor, goal: torch.Tensor
                  ) -> torch.Tensor:
        roots = self.states[self.root_ids[ids]]
        initial = self.plant.scaled_distances_to(roots, goal).clamp_min(1e-6)
        return self.plant.scaled_distances_to(states, goal) / initial

    def _pick(self, ids: torch.Tensor, hits: torch.Tensor, scores: torch.Tensor) -> int:
        # A root at random among those with a hit (demonstrations cover every start the graph
        # has), then its hit with the lowest score.
        roots = torch.unique(self.root_ids[ids[hits]])
        root = roots[torch.randint(len(roots), (1,), generator=self.generator)]
        mine = hits & (self.root_ids[ids] == root)
        return int(ids[mine][torch.argmin(scores[mine])])

    def _demonstration(self, node: int, goal: torch.Tensor, hold: int) -> TensorDict:
        """Transitions of the path to a node, then ``hold`` steps of holding still."""
        self.demonstrations_given += 1
        path = self.shortest_path_to(node)
        states = self.states[path]
        relative_actions = self.relative_actions[path[1:]]
        if hold > 0:
            zero = torch.zeros(1, self.plant.action_dimension)
            current, previous_end, held = states[-1:], self.end_actions[node][None], []
            for _ in range(hold):  # one environment: a few microseconds of physics per step
                current, previous_end = self.plant.step(current, zero, previous_end)
                held.append(current[0])
            states = torch.cat([states, torch.stack(held)])
            relative_actions = torch.cat([relative_actions, zero.expand(hold, -1)])
        return trajectory_transitions(states[None], relative_actions[None], goal[None])

    # -- files -----------------------------------------------------------------------------

    def save(self, filename: str | os.PathLike) -> Path:
        """
        Write the graph with ``torch.save`` (tensors and plain values only), atomically.

        The file is written next to its destination and renamed over it, so a reader finds the
        old graph or the new one, never half of one.

        :param filename: Destination file.

        :returns: The destination path.
        """
        path = Path(filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        n = self.num_nodes
        data: dict[str, Any] = {
            'format': GRAPH_FORMAT,
            'version': GRAPH_VERSION,
            'task': self.params.task_name,
            'config_hash': self.params.config_hash(),
            'state_dimension': self.plant.state_dimension,
            'action_dimension': self.plant.action_dimension,
            'searches': self.searches,
            'num_nodes': n,
            'nodes': {name: getattr(self, name)[:n].clone()
                      for name in (*_NODE_TENSORS, *_REACHABILITY_TENSORS)},
            'search': {name: getattr(self, name).clone() for name in _SEARCH_TENSORS},
        }
        with atomic_path(path) as tmp:
            torch.save(data, tmp)
        return path

    def load(self, filename: str | os.PathLike) -> None:
        """
        Replace this graph's contents by a graph file written by :meth:`save`.

        The file must belong to the same task (config hash) and sizes; its capacity becomes
        the larger of this graph's and the file's node count.

        :param filename: The graph file.
        """
        path = Path(filename)
        data = _read_graph_file(path)
        expected = {
            'task': self.params.task_name, 'config_hash': self.params.config_hash(),
            'state_dimension': self.plant.state_dimension,
            'action_dimension': self.plant.action_dimension,
        }
        for key, value in expected.items():
            if data[key] != value:
                raise GraphFileError(f'{path}: {key} is {data[key]!r}, expected {value!r} '
                                     f'(a graph of another task or configuration)')
        n, searches = data['num_nodes'], data['searches']
        sizes = {'nx': (self.plant.state_dimension,), 'nu': (self.plant.action_dimension,),
                 '': ()}
        nodes, search = data['nodes'], data['search']
        for name, (dtype, size) in _NODE_TENSORS.items():
            _check_tensor(path, f'nodes.{name}', nodes.get(name), dtype, (n, *sizes[size]))
        for name in _SEARCH_TENSORS:
            _check_tensor(path, f'search.{name}', search.get(name), torch.float32,
                          (searches, self.plant.state_dimension))
        for name in _REACHABILITY_TENSORS:
            _check_tensor(path, f'nodes.{name}', nodes.get(name), torch.float32,
                          (n, *getattr(self, name).shape[1:]))
        _check_tree(path, nodes, n, searches)
        self.searches = searches
        self.capacity = max(self.capacity, n)
        self._fill(nodes, search, n)

    def _fill(self, nodes: dict[str, torch.Tensor], search: dict[str, torch.Tensor],
              num_nodes: int) -> None:
        self.reset_empty()
        # Only the names this class defines: a file's other keys are never turned into state.
        for name in (*_NODE_TENSORS, *_REACHABILITY_TENSORS):
            getattr(self, name)[:num_nodes] = nodes[name]
        for name in _SEARCH_TENSORS:
            setattr(self, name, search[name].clone())
        self.num_nodes = num_nodes
        ids = torch.arange(num_nodes)
        self.main_distances[ids] = self._scaled_distances(ids, self.goal_states)
        self._update_rewards(ids)

    def reset_empty(self) -> None:
        """Reallocate empty node tensors at the current capacity (no roots)."""
        nx, nu, n = self.plant.state_dimension, self.plant.action_dimension, self.capacity
        sizes = {'nx': (nx,), 'nu': (nu,), '': ()}
        for name, (dtype, size) in _NODE_TENSORS.items():
            setattr(self, name, torch.zeros((n, *sizes[size]), dtype=dtype))
        for name in ('distances', 'main_distances', 'distance_rewards', 'proximity_rewards',
                     'reachability_rewards', 'rewards'):
            setattr(self, name, torch.zeros(n))
        self._settled = None
        k = len(self.object_dims) if self.uses_reachability else 0
        self.reachability_matrices = torch.zeros(n, k, k)
        size = self.linearization.size if self.uses_reachability else 0
        self.step_jacobians = torch.zeros(n, size, nu if size else 0)
        self.num_nodes = 0


def _read_graph_file(path: Path) -> dict[str, Any]:
    try:
        data = torch.load(path, map_location='cpu', weights_only=True)
    except FileNotFoundError:
        raise GraphFileError(f'{path}: graph file not found') from None
    except IsADirectoryError:
        raise GraphFileError(f'{path}: is a directory, expected a graph file') from None
    except Exception as error:  # noqa: BLE001 - torch raises many types for bad files
        raise GraphFileError(
            f'{path}: not a readable graph file (truncated, corrupt, or holding more than '
            f'tensors and plain values): {type(error).__name__}: {error}'
        ) from None
    if not isinstance(data, dict) or data.get('format') != GRAPH_FORMAT:
        raise GraphFileError(f'{path}: not a ddpg_manipulation graph file')
    if data.get('version') != GRAPH_VERSION:
        raise GraphFileError(f'{path}: graph format version {data.get("version")!r}, this '
                             f'package reads version {GRAPH_VERSION}')
    for key, kind in (('task', str), ('config_hash', str), ('state_dimension', int),
                      ('action_dimension', int), ('searches', int), ('num_nodes', int),
                      ('nodes', dict), ('search', dict)):
        if not isinstance(data.get(key), kind):
            raise GraphFileError(f'{path}: field {key!r} missing or not a {kind.__name__}')
    if data['searches'] < 1 or data['num_nodes'] < data['searches']:
        raise GraphFileError(f'{path}: {data["num_nodes"]} nodes cannot hold '
                             f'{data["searches"]} roots')
    return data


def _check_tensor(path: Path, name: str, value: Any, dtype: torch.dtype,
                  shape: tuple[int, ...]) -> None:
    if not isinstance(value, torch.Tensor):
        raise GraphFileError(f'{path}: tensor {name!r} missing')
    if value.dtype != dtype or tuple(value.shape) != shape:
        raise GraphFileError(f'{path}: tensor {name!r} is {value.dtype} {tuple(value.shape)}, '
                             f'expected {dtype} {shape}')
    if value.is_floating_point() and not torch.isfinite(value).all():
        raise GraphFileError(f'{path}: tensor {name!r} holds NaN or inf')


def _check_tree(path: Path, nodes: dict[str, torch.Tensor], n: int, searches: int) -> None:
    ids = torch.arange(n)
    parents, roots = nodes['parents'], nodes['root_ids']
    is_root = ids < searches
    # Roots come first and are their own parents; every other node's parent was added before it.
    valid = torch.where(is_root, parents == ids, (parents >= 0) & (parents < ids))
    if not valid.all():
        bad = int(ids[~valid][0])
        raise GraphFileError(f'{path}: node {bad} has an invalid parent {int(parents[bad])}')
    if not (roots == torch.where(is_root, ids, roots[parents])).all():
        raise GraphFileError(f'{path}: root ids do not follow the parents')
    depths = nodes['depths']
    if not (depths == torch.where(is_root, 0, depths[parents] + 1)).all():
        raise GraphFileError(f'{path}: depths do not follow the parents')
    search = nodes['search_indices']
    if not ((search[:searches] == ids[:searches]).all() and (search == search[roots]).all()):
        raise GraphFileError(f'{path}: search indices do not follow the roots')
