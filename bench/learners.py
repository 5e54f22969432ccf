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

"""The tasks and learners benchmarks run: bundled tasks, pinned sizes, quiet learners."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.learning.build import build_learner
from ddpg_manipulation.learning.learner import Learner

TASKS = ('box_push', 'planar_hand')
# The reference implementation's learner sizes (shared TASKS.md), which the epoch time
# figures are for: benchmarks of an epoch pin them, whatever a task's YAML tunes for learning.
REFERENCE_EPOCH = {
    'learner.cycles': 50, 'learner.rollouts': 2, 'learner.batches': 40,
    'learner.batch_size': 256, 'learner.nlayers': 4, 'learner.layer_width': 256,
    'learner.evals': 100,
}
# Its network and batch sizes alone: the update and rollout benchmarks compare at these sizes
# (the bare update is 4 x 256 at batch 256), not at the width a task's YAML chose.
REFERENCE_NETWORK = {key: REFERENCE_EPOCH[key] for key in (
    'learner.nlayers', 'learner.layer_width', 'learner.batch_size')}

# Tiny sizes for the smoke runs of the benchmarks that train with demonstrations.
QUICK_TRAINING = {
    'learner.cycles': 2, 'learner.batches': 2, 'learner.batch_size': 32, 'learner.evals': 4,
    'learner.nlayers': 2, 'learner.layer_width': 32, 'learner.trajectory_length': 5,
    'learner.replay_capacity': 20, 'learner.threads': 1, 'model.nthread': 1,
    'planner.max_main_nodes': 40, 'planner.steps_per_goal': 2, 'planner.num_sub_goals': 0,
    'planner.extensions': 4, 'planner.searches': 2, 'planner.demonstrations': 1,
}


def make_params(task: str, overrides: Mapping[str, Any] | None = None) -> ParameterContainer:
    """
    Load a bundled task with overrides.

    :param task: Task name.
    :param overrides: Flat ``section.key`` overrides.

    :returns: The parameters.
    """
    return ParameterContainer(task, dict(overrides or {}))


def make_learner(params: ParameterContainer, graph: Any = None, **kwargs: Any) -> Learner:
    """
    Build a learner that neither prints nor writes checkpoints.

    :param params: Task parameters.
    :param graph: Source of demonstrations, or None.
    :param kwargs: Further ``Learner`` fields.

    :returns: The learner.
    """
    options = {'save_local': False, 'verbose': False, **kwargs}
    return build_learner(params, graph, **options)


def warm_up(learner: Learner, updates: int = 10) -> None:
    """
    Run each part of an epoch once (rollout, updates, evaluation) so that none is first.

    :param learner: The learner.
    :param updates: Updates to run.
    """
    p = learner.params
    learner.policy_rollout()
    learner.train_batches(updates, p.learner_batch_size, p.learner_discount)
    learner.eval_agent()


def fresh_checkpoint(task: str, directory: str) -> str:
    """
    Save a checkpoint of a task's default network (untrained) with a fed normalizer.

    Latency does not depend on the weights, so the latency benchmarks measure this one when no
    trained checkpoint is given.

    :param task: Task name.
    :param directory: Output directory.

    :returns: The checkpoint directory.
    """
    learner = make_learner(make_params(task), output_dir=directory, save_local=True)
    generator = torch.Generator().manual_seed(0)
    learner.state_norm.update(learner.plant.sample_start_states(256, generator))
    learner.state_norm.update(learner.plant.sample_goal_states(256, generator))
    learner.save_checkpoints()
    return learner.last_checkpoint
