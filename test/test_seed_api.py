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

"""The seed API reference (../shared/seeds/) is a contract: names, arguments and defaults."""

import dataclasses
import inspect

import pytest

from ddpg_manipulation.learning import learner as learner_module
from ddpg_manipulation.learning import networks

EMPTY = inspect.Parameter.empty

# (callable path, [(argument, default or EMPTY), ...]) exactly as the seeds list them.
NETWORKS_API = [
    ('soft_update', [('network', EMPTY), ('target', EMPTY), ('tau', EMPTY)]),
    ('Actor.__init__', [('self', EMPTY), ('size_s', EMPTY), ('size_a', EMPTY), ('nlayers', 4),
                        ('layer_width', 256), ('lr', 0.001), ('eps', 0.3),
                        ('action_clip', 1.0)]),
    ('Actor.select_action', [('self', EMPTY), ('state_norm', EMPTY), ('obs', EMPTY)]),
    ('Actor.__call__', [('self', EMPTY), ('states', EMPTY)]),
    ('Actor.backward_step', [('self', EMPTY), ('loss', EMPTY)]),
    ('Actor.target', [('self', EMPTY), ('states', EMPTY)]),
    ('Actor.eval', [('self', EMPTY)]),
    ('Actor.train', [('self', EMPTY)]),
    ('Actor.update_target', [('self', EMPTY), ('tau', 0.05)]),
    ('Actor.load', [('self', EMPTY), ('checkpoint', EMPTY)]),
    ('Actor.save', [('self', EMPTY), ('f', EMPTY)]),
    ('DDP.__init__', [('self', EMPTY), ('size_s', EMPTY), ('size_a', EMPTY),
                      ('nlayers', EMPTY), ('layer_width', EMPTY)]),
    ('DDP.forward', [('self', EMPTY), ('x', EMPTY)]),
    ('Critic.__init__', [('self', EMPTY), ('size_s', EMPTY), ('size_a', EMPTY), ('nlayers', 4),
                         ('layer_width', 256), ('lr', 0.001)]),
    ('Critic.__call__', [('self', EMPTY), ('states', EMPTY), ('actions', EMPTY)]),
    ('Critic.target', [('self', EMPTY), ('states', EMPTY), ('actions', EMPTY)]),
    ('Critic.backward_step', [('self', EMPTY), ('loss', EMPTY)]),
    ('Critic.update_target', [('self', EMPTY), ('tau', 0.05)]),
    ('Critic.load', [('self', EMPTY), ('checkpoint', EMPTY)]),
    ('Critic.save', [('self', EMPTY), ('f', EMPTY)]),
    ('CriticNetwork.__init__', [('self', EMPTY), ('size_s', EMPTY), ('size_a', EMPTY),
                                ('nlayers', EMPTY), ('layer_width', EMPTY)]),
    ('CriticNetwork.forward', [('self', EMPTY), ('state', EMPTY), ('action', EMPTY)]),
]

LEARNER_API = [
    ('__post_init__', [('self', EMPTY)]),
    ('reset', [('self', EMPTY)]),
    ('actor_actions', [('self', EMPTY), ('states', EMPTY), ('goal_state', EMPTY)]),
    ('relative_distances_to', [('self', EMPTY), ('start_states', EMPTY),
                               ('current_states', EMPTY), ('goal_states', EMPTY)]),
    ('reward_function', [('self', EMPTY), ('start_states', EMPTY), ('current_states', EMPTY),
                         ('goal_states', EMPTY)]),
    ('update_norm', [('self', EMPTY), ('states', EMPTY), ('goals', EMPTY)]),
    ('policy_rollout', [('self', EMPTY)]),
    ('graph_rollout', [('self', EMPTY)]),
    ('set_demonstration_injection', [('self', EMPTY)]),
    ('train', [('self', EMPTY), ('num_epochs', 50)]),
    ('preprocess_sample', [('self', EMPTY), ('data', EMPTY)]),
    ('train_actor_critic', [('self', EMPTY), ('data', EMPTY), ('discount_factor', 0.98)]),
    ('eval_agent', [('self', EMPTY)]),
    ('save_models', [('self', EMPTY), ('is_local', EMPTY)]),
    ('load_models', [('self', EMPTY), ('path', EMPTY), ('is_local', EMPTY)]),
]

LEARNER_FIELDS = [
    ('plant', dataclasses.MISSING), ('graph', dataclasses.MISSING),
    ('replay_buffer', dataclasses.MISSING), ('params', dataclasses.MISSING),
    ('save_local', True), ('save_cloud', False), ('load_local', False), ('load_cloud', False),
    ('verbose', True),
]


def _signature(obj, path):
    for part in path.split('.'):
        obj = getattr(obj, part)
    return [(p.name, p.default) for p in inspect.signature(obj).parameters.values()]


@pytest.mark.parametrize('path,expected', NETWORKS_API, ids=[p for p, _ in NETWORKS_API])
def test_networks_signatures_match_the_seed(path, expected):
    assert _signature(networks, path) == expected


def test_network_classes_have_the_seed_bases():
    assert issubclass(networks.DDP, networks.torch.nn.Module)
    assert issubclass(networks.CriticNetwork, networks.torch.nn.Module)


@pytest.mark.parametrize('name,expected', LEARNER_API, ids=[n for n, _ in LEARNER_API])
def test_learner_methods_match_the_seed(name, expected):
    # Methods must not grow extra arguments: every one is called as the seed documents.
    assert _signature(learner_module.Learner, name) == expected


def test_learner_is_a_dataclass_with_the_seed_fields_first():
    assert dataclasses.is_dataclass(learner_module.Learner)
    fields = [f for f in dataclasses.fields(learner_module.Learner) if f.init]
    seed_fields = [(f.name, f.default) for f in fields[:len(LEARNER_FIELDS)]]
    assert seed_fields == LEARNER_FIELDS
    # Fields we add must all have defaults, so the seed's constructor call keeps working.
    for extra in fields[len(LEARNER_FIELDS):]:
        has_default = (extra.default is not dataclasses.MISSING
                       or extra.default_factory is not dataclasses.MISSING)
        assert has_default, extra.name
