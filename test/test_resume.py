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

"""Exact resume: a run stopped and resumed ends bit-for-bit identical to an uninterrupted one."""

from pathlib import Path

import pytest
from test_learner import FakeGraph
import torch

from ddpg_manipulation.cli import main
from ddpg_manipulation.learning.checkpoint import CheckpointError

SETTINGS = {'learner.her_probability': 0.5, 'learner.use_planner': True,
            'learner.injection_strategy': 'fixed', 'learner.max_planner_experience_share': 0.3,
            'learner.cycles': 3}


def _all_tensors(learner) -> dict[str, torch.Tensor]:
    tensors = {}
    for name, module in (('actor', learner.actor.action_net), ('actor_target',
                         learner.actor.target_net), ('critic', learner.critic.critic_net),
                         ('critic_target', learner.critic.target_net)):
        tensors.update({f'{name}.{k}': v for k, v in module.state_dict().items()})
    for name, optim in (('actor_optim', learner.actor.optim),
                        ('critic_optim', learner.critic.optim)):
        for index, state in optim.state_dict()['state'].items():
            tensors.update({f'{name}.{index}.{k}': v for k, v in state.items()})
    tensors.update({f'norm.{k}': v for k, v in learner.state_norm.state_dict().items()
                    if isinstance(v, torch.Tensor)})
    tensors.update({f'buffer.{k}': v for k, v in
                    learner.replay_buffer.state_dict()['data'].items()})
    return tensors


def _assert_identical(a, b):
    ta, tb = _all_tensors(a), _all_tensors(b)
    assert ta.keys() == tb.keys()
    assert len(ta) > 40
    for key in ta:
        assert torch.equal(ta[key], tb[key]), key
    assert [h['success_rate'] for h in a.history] == [h['success_rate'] for h in b.history]


def _learner(make_learner):
    learner = make_learner(graph=FakeGraph(), **SETTINGS)
    learner.save_buffer = True
    return learner


def test_resume_at_an_epoch_boundary_is_exact(make_learner):
    uninterrupted = _learner(make_learner)
    uninterrupted.train(3)
    first = _learner(make_learner)
    first.train(1)
    resumed = _learner(make_learner)
    resumed.resume(first.last_checkpoint, with_buffer=True)
    assert resumed.epoch == 1 and resumed.run_dir == first.run_dir
    resumed.train(2)
    _assert_identical(uninterrupted, resumed)


def test_resume_after_a_stop_in_the_middle_of_an_epoch_is_exact(make_learner):
    uninterrupted = _learner(make_learner)
    uninterrupted.train(3)
    stopped = _learner(make_learner)
    cycle = stopped._cycle
    calls = []

    def cycle_then_stop():
        cycle()
        calls.append(1)
        if len(calls) == 4:  # epoch 2, after its first cycle
            stopped.stop_event.set()

    stopped._cycle = cycle_then_stop
    stopped.train(3)
    assert (stopped.epoch, stopped.cycle) == (1, 1)
    assert Path(stopped.last_checkpoint).name == 'epoch_000001_cycle_0001'
    resumed = _learner(make_learner)
    resumed.resume(stopped.last_checkpoint, with_buffer=True)
    resumed.train(2)
    _assert_identical(uninterrupted, resumed)


def test_resume_without_the_buffer_continues_but_needs_none(make_learner):
    first = make_learner()
    first.train(1)
    resumed = make_learner()
    with pytest.raises(CheckpointError, match='holds no replay buffer'):
        resumed.resume(first.last_checkpoint, with_buffer=True)
    resumed.resume(first.last_checkpoint)
    assert len(resumed.replay_buffer) == 0 and resumed.epoch == 1
    resumed.train(1)
    assert resumed.epoch == 2


def test_cli_resume_matches_an_uninterrupted_run(tmp_path):
    common = ['train', '--task', 'box_reach', '--quiet', '--threads', '1', '--save-buffer',
              '--set', 'learner.cycles=2', '--set', 'learner.batches=2',
              '--set', 'learner.evals=4', '--set', 'learner.layer_width=32',
              '--set', 'learner.trajectory_length=10', '--set', 'learner.batch_size=32']
    assert main([*common, '--epochs', '3', '--output', str(tmp_path / 'a')]) == 0
    assert main([*common, '--epochs', '1', '--output', str(tmp_path / 'b')]) == 0
    (run_b,) = (tmp_path / 'b' / 'box_reach').iterdir()
    assert main(['train', '--resume', str(run_b), '--resume-buffer', '--epochs', '3',
                 '--quiet', '--threads', '1', '--output', str(tmp_path / 'b')]) == 0
    (run_a,) = (tmp_path / 'a' / 'box_reach').iterdir()
    for name in ('actor.pt', 'critic.pt', 'state_norm.pt'):
        a = torch.load(run_a / 'checkpoints' / 'epoch_000003' / name, weights_only=True)
        b = torch.load(run_b / 'checkpoints' / 'epoch_000003' / name, weights_only=True)
        _assert_nested_equal(a, b, name)


def test_cli_resume_refuses_parameter_changes(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(['train', '--resume', str(tmp_path), '--set', 'learner.batches=2'])
    assert '--resume takes the task and parameters from the checkpoint' in capsys.readouterr().err


def _assert_nested_equal(a, b, where):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_nested_equal(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_nested_equal(x, y, f'{where}[{i}]')
    else:
        assert a == b, where
