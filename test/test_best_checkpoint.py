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

"""A run's result is its best checkpoint by validation; run directories resolve to it."""

import json
from pathlib import Path

import pytest
import torch

from ddpg_manipulation.cli import main
from ddpg_manipulation.learning import checkpoint
from ddpg_manipulation.policy import Policy


def scripted(learner, validations):
    """Make the learner's validation return the given (success, distance) pairs in turn."""
    results = iter(validations)
    learner.validate = lambda: next(results)
    return learner


def checkpoints(learner) -> list[str]:
    return sorted(p.name for p in (learner.run_dir / 'checkpoints').iterdir()
                  if not p.name.startswith('.'))


def test_the_best_validation_is_kept_named_and_resolved(make_learner):
    learner = scripted(make_learner(), [(0.5, 0.4), (0.9, 0.2), (0.7, 0.1), (0.9, 0.3)])
    learner.keep_checkpoints = 1
    learner.train(4)
    assert [h['best'] for h in learner.history] == [True, True, False, False]
    assert [h['validation_success_rate'] for h in learner.history] == [0.5, 0.9, 0.7, 0.9]
    # pruning keeps the newest and the best
    assert checkpoints(learner) == ['epoch_000002', 'epoch_000004']
    best = json.loads((learner.run_dir / 'best.json').read_text())
    assert best == {'epoch': 2, 'validation_success_rate': 0.9, 'validation_distance': 0.2,
                    'checkpoint': 'checkpoints/epoch_000002'}
    run, output = learner.run_dir, learner.output_dir
    assert checkpoint.resolve(run).name == 'epoch_000002'
    assert checkpoint.resolve(output).name == 'epoch_000002'  # the newest run's best
    assert checkpoint.resolve(run, newest=True).name == 'epoch_000004'
    assert Path(Policy.load(run).metadata['path']).name == 'epoch_000002'
    assert Path(Policy.load(run, newest=True).metadata['path']).name == 'epoch_000004'
    assert learner.best['epoch'] == 2


def test_equal_success_is_decided_by_the_smaller_distance(make_learner):
    learner = scripted(make_learner(), [(0.9, 0.3), (0.9, 0.2), (0.9, 0.25)])
    learner.train(3)
    assert [h['best'] for h in learner.history] == [True, True, False]
    assert checkpoint.resolve(learner.run_dir).name == 'epoch_000002'


def test_the_best_epoch_is_saved_between_regular_checkpoints(make_learner):
    learner = scripted(make_learner(**{'learner.checkpoint_every': 3}),
                       [(0.2, 0.5), (0.8, 0.3), (0.1, 0.9)])
    learner.train(3)
    assert checkpoints(learner) == ['epoch_000001', 'epoch_000002', 'epoch_000003']
    assert checkpoint.resolve(learner.run_dir).name == 'epoch_000002'


def test_without_validation_the_newest_checkpoint_is_the_result(make_learner):
    learner = make_learner(**{'learner.validation_evals': 0})
    learner.train(2)
    assert not (learner.run_dir / 'best.json').exists()
    assert all(h['best'] for h in learner.history)
    assert 'validation_success_rate' not in learner.history[-1]
    assert checkpoint.resolve(learner.run_dir) == checkpoint.find_latest(learner.run_dir)


def test_a_best_that_is_gone_falls_back_to_the_newest(make_learner):
    learner = scripted(make_learner(), [(0.9, 0.1), (0.1, 0.9)])
    learner.train(2)
    (learner.run_dir / 'checkpoints' / 'epoch_000001' / 'actor.pt').write_bytes(b'damaged')
    assert checkpoint.resolve(learner.run_dir).name == 'epoch_000002'
    (learner.run_dir / 'best.json').write_text('{not json')
    assert checkpoint.resolve(learner.run_dir).name == 'epoch_000002'


def test_validation_has_its_own_episodes(make_learner, monkeypatch):
    learner = make_learner()
    starts = []
    original = learner.plant.rollout

    def spy(act, start_states, goals, length):
        starts.append(start_states.clone())
        return original(act, start_states, goals, length)

    monkeypatch.setattr(learner.plant, 'rollout', spy)
    learner.eval_agent()
    learner.validate()
    learner.eval_agent()
    assert torch.equal(starts[0], starts[2])  # the reported evaluation repeats its episodes
    assert not torch.equal(starts[0], starts[1])


def test_resume_continues_from_the_newest_and_keeps_the_best(make_learner):
    first = scripted(make_learner(), [(0.9, 0.1), (0.2, 0.5)])
    first.train(2)
    resumed = scripted(make_learner(), [(0.3, 0.4)])
    resumed.resume(first.run_dir)
    assert resumed.epoch == 2 and resumed.best['epoch'] == 1
    resumed.train(1)
    assert resumed.run_dir == first.run_dir
    assert checkpoint.resolve(first.run_dir).name == 'epoch_000001'
    assert checkpoint.find_latest(first.run_dir).name == 'epoch_000003'


def test_cli_eval_and_export_take_the_best_or_the_newest(tmp_path, capsys):
    output = tmp_path / 'runs'
    sets = ['--set', 'learner.cycles=1', '--set', 'learner.batches=1', '--set',
            'learner.evals=2', '--set', 'learner.validation_evals=2']
    assert main(['train', '--task', 'box_reach', '--epochs', '2', '--quiet', '--output',
                 str(output), *sets]) == 0
    capsys.readouterr()
    summary = json.loads(next(output.rglob('summary.json')).read_text())
    for flag, expected in (([], summary['checkpoint']), (['--newest'],
                                                         summary['newest_checkpoint'])):
        assert main(['eval', '--checkpoint', str(output), '--episodes', '2', *flag]) == 0
        line = capsys.readouterr().out.strip().splitlines()[-1]
        assert json.loads(line)['checkpoint'] == expected


@pytest.mark.parametrize('option', ['average', 'layer_norm', 'reference'])
def test_resume_is_exact_with_and_without_the_stabilizers(make_learner, option):
    overrides = {'average': {'learner.average_tau': 0.1, 'learner.critic_layer_norm': False},
                 'layer_norm': {'learner.critic_layer_norm': True, 'learner.average_tau': 0.0},
                 'reference': {'learner.critic_layer_norm': False,
                               'learner.average_tau': 0.0}}[option]
    uninterrupted = make_learner(**overrides)
    uninterrupted.save_buffer = True
    uninterrupted.train(2)
    first = make_learner(**overrides)
    first.save_buffer = True
    first.train(1)
    resumed = make_learner(**overrides)
    resumed.resume(first.last_checkpoint, with_buffer=True)
    resumed.train(1)
    nets = [(uninterrupted.actor.action_net, resumed.actor.action_net),
            (uninterrupted.critic.critic_net, resumed.critic.critic_net)]
    if option == 'average':
        nets.append((uninterrupted.actor.average_net, resumed.actor.average_net))
    else:
        assert resumed.actor.average_net is None
    for a, b in nets:
        for pa, pb in zip(a.parameters(), b.parameters()):
            assert torch.equal(pa, pb)
