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

"""Checkpoints: atomic layout, manifest checks, safe loading, find_latest, cloud URLs."""

import datetime
import json
import os
from pathlib import Path
import pickle
import shutil

import numpy as np
import pytest
import torch

from ddpg_manipulation.learning import checkpoint, checkpointing
from ddpg_manipulation.learning.checkpoint import CheckpointError
from ddpg_manipulation.policy import Policy


def _tree(path: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(path.rglob('*')) if p.is_file()}


def test_layout_and_manifest(trained_checkpoint):
    ckpt = trained_checkpoint
    assert ckpt.name == 'epoch_000001' and ckpt.parent.name == 'checkpoints'
    run_dir = ckpt.parent.parent
    assert run_dir.parent.name == 'box_reach'
    datetime.datetime.strptime(run_dir.name, '%Y_%m_%d_%H_%M_%S')
    names = {p.name for p in ckpt.iterdir()}
    assert {'actor.pt', 'critic.pt', 'state_norm.pt', 'manifest.json',
            'training_state.pt'} == names
    manifest = json.loads((ckpt / 'manifest.json').read_text())
    assert manifest['task'] == 'box_reach' and manifest['epoch'] == 1
    assert manifest['state_dimension'] == 4 and manifest['action_dimension'] == 1
    assert set(manifest['files']) == names - {'manifest.json'}
    assert {'torch', 'mujoco', 'ddpg_manipulation'} <= set(manifest['versions'])
    assert 'success_rate' in manifest['metrics']
    assert not any(p.name.startswith('.staging') for p in ckpt.parent.iterdir())


def test_round_trip_into_a_learner(make_learner, trained_checkpoint):
    other = make_learner()
    other.load_models(trained_checkpoint, is_local=True)
    saved = torch.load(trained_checkpoint / 'actor.pt', weights_only=True)
    for name, value in other.actor.action_net.state_dict().items():
        assert saved['net'][name].device.type == 'cpu'  # device-independent on disk
        assert torch.equal(value.cpu(), saved['net'][name])
    assert other.state_norm.count.item() > 0
    # a run directory resolves to its newest checkpoint
    policy = Policy.load(trained_checkpoint.parent.parent)
    assert policy.metadata['path'] == str(trained_checkpoint)


def test_two_runs_in_the_same_second_get_distinct_directories(tmp_path):
    now = datetime.datetime(2026, 1, 2, 3, 4, 5)
    a = checkpoint.new_run_dir(tmp_path, 'box_push', now)
    b = checkpoint.new_run_dir(tmp_path, 'box_push', now)
    assert a.name == '2026_01_02_03_04_05' and b.name == '2026_01_02_03_04_05_1'


def test_keep_prunes_only_after_the_new_checkpoint_exists(make_learner):
    # Without validation no older checkpoint is the run's result (test_best_checkpoint: kept).
    learner = make_learner(**{'learner.checkpoint_every': 1, 'learner.validation_evals': 0})
    learner.keep_checkpoints = 2
    learner.train(4)
    names = sorted(p.name for p in (learner.run_dir / 'checkpoints').iterdir())
    assert names == ['epoch_000003', 'epoch_000004']


def _corrupt(kind):
    def apply(ckpt: Path):
        if kind == 'truncated':
            data = (ckpt / 'actor.pt').read_bytes()
            (ckpt / 'actor.pt').write_bytes(data[: len(data) // 2])
        elif kind == 'zero bytes':
            (ckpt / 'critic.pt').write_bytes(b'')
        elif kind == 'missing file':
            (ckpt / 'state_norm.pt').unlink()
        elif kind == 'missing manifest':
            (ckpt / 'manifest.json').unlink()
        elif kind == 'manifest not json':
            (ckpt / 'manifest.json').write_text('{not json')
    return apply


@pytest.mark.parametrize('kind,phrase', [
    ('truncated', 'sha256 does not match'),
    ('zero bytes', 'sha256 does not match'),
    ('missing file', 'missing file state_norm.pt'),
    ('missing manifest', 'no complete checkpoint'),
    ('manifest not json', 'manifest.json: not valid JSON'),
])
def test_damaged_checkpoints_are_refused_clearly(trained_checkpoint, kind, phrase):
    _corrupt(kind)(trained_checkpoint)
    with pytest.raises(CheckpointError, match=phrase):
        Policy.load(trained_checkpoint)


def test_truncated_file_with_rehashed_manifest_is_still_refused(trained_checkpoint):
    # Someone "fixes" the hash: the file itself must still fail to load, clearly.
    data = (trained_checkpoint / 'actor.pt').read_bytes()[:100]
    (trained_checkpoint / 'actor.pt').write_bytes(data)
    manifest = json.loads((trained_checkpoint / 'manifest.json').read_text())
    manifest['files']['actor.pt'] = checkpoint.sha256_bytes(data)
    (trained_checkpoint / 'manifest.json').write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match='actor.pt: not a loadable weights file'):
        Policy.load(trained_checkpoint)


class Exploit:
    """A pickle payload that would run a shell command when unpickled."""

    def __reduce__(self):
        return (os.system, ('touch /tmp/ddpg_manipulation_pwned',))


@pytest.mark.filterwarnings('ignore:Detected pickle protocol:UserWarning')
def test_pickle_with_code_is_refused_without_running(trained_checkpoint):
    marker = Path('/tmp/ddpg_manipulation_pwned')
    marker.unlink(missing_ok=True)
    payload = pickle.dumps({'net': Exploit()})
    (trained_checkpoint / 'actor.pt').write_bytes(payload)
    manifest = json.loads((trained_checkpoint / 'manifest.json').read_text())
    manifest['files']['actor.pt'] = checkpoint.sha256_bytes(payload)
    (trained_checkpoint / 'manifest.json').write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match='refused'):
        Policy.load(trained_checkpoint)
    assert not marker.exists()


def test_other_task_checkpoint_names_both_values(make_learner, trained_checkpoint):
    push = make_learner('box_push')
    with pytest.raises(CheckpointError, match="task is 'box_reach', expected 'box_push'"):
        push.load_models(trained_checkpoint, is_local=True)
    with pytest.raises(CheckpointError, match="'box_reach'.*'box_push'"):
        Policy.load(trained_checkpoint, task='box_push')


def test_wrong_network_shapes(make_learner, trained_checkpoint):
    wide = make_learner(**{'learner.layer_width': 64})
    with pytest.raises(CheckpointError, match='layer_width is 32, expected 64'):
        wide.load_models(trained_checkpoint, is_local=True)


def test_failed_load_leaves_the_last_good_checkpoint_untouched(trained_checkpoint, tmp_path):
    good = _tree(trained_checkpoint)
    bad = tmp_path / 'bad'
    shutil.copytree(trained_checkpoint, bad)
    _corrupt('truncated')(bad)
    with pytest.raises(CheckpointError):
        Policy.load(bad)
    assert _tree(trained_checkpoint) == good
    assert Policy.load(trained_checkpoint) is not None


def test_find_latest_skips_staging_incomplete_and_foreign(make_learner, tmp_path):
    learner = make_learner()
    learner.train(2)
    root = learner.output_dir
    newest = Path(learner.last_checkpoint)
    # A staging directory and an incomplete newer directory must be ignored.
    staging = newest.parent / '.staging-epoch_000003-x'
    shutil.copytree(newest, staging)
    incomplete = newest.parent / 'epoch_000009'
    shutil.copytree(newest, incomplete)
    (incomplete / 'manifest.json').unlink()
    broken = newest.parent / 'epoch_000010'
    shutil.copytree(newest, broken)
    (broken / 'critic.pt').write_bytes(b'x')
    assert checkpoint.find_latest(root) == newest
    assert checkpoint.find_latest(root, task='box_reach') == newest
    with pytest.raises(CheckpointError, match="of task 'box_push'"):
        checkpoint.find_latest(root, task='box_push')


def test_save_refuses_to_overwrite(tmp_path, make_learner):
    learner = make_learner()
    files = checkpoint.build_files(learner.actor, learner.critic, learner.state_norm)
    target = tmp_path / 'ckpt'
    checkpoint.save_local(target, files, checkpointing.manifest_info(learner))
    before = _tree(target)
    with pytest.raises(CheckpointError, match='already exists'):
        checkpoint.save_local(target, files, checkpointing.manifest_info(learner))
    assert _tree(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ['ckpt']  # no staging left behind


def test_cloud_round_trip_through_fsspec_memory(make_learner):
    learner = make_learner()
    learner.save_local = False
    learner.save_cloud = True
    learner.cloud_url = 'memory://bucket/models'
    learner.train(1)
    url = learner.last_checkpoint
    assert url.startswith('memory://bucket/models/box_reach/')
    fresh = make_learner()
    fresh.load_models(url, is_local=False)
    for a, b in zip(fresh.actor.action_net.parameters(), learner.actor.action_net.parameters()):
        assert torch.equal(a, b)
    policy = Policy.load(url)
    assert policy.state_dimension == 4
    relative = make_learner()
    relative.cloud_url = 'memory://bucket/models'
    relative.load_models(url.removeprefix('memory://bucket/models/'), is_local=False)


def test_unwritable_output_is_reported_before_training(make_learner, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    learner = make_learner()
    learner.output_dir = blocker / 'runs'
    with pytest.raises(CheckpointError, match='not writable'):
        learner.train(1)
    assert learner.epoch == 0


def test_the_policy_of_a_checkpoint_is_the_averaged_actor(make_learner):
    learner = make_learner(**{'learner.average_tau': 0.3})
    learner.train(1)
    policy = Policy.load(learner.last_checkpoint)
    saved = torch.load(Path(learner.last_checkpoint) / 'actor.pt', weights_only=True)
    for name, value in policy.network.state_dict().items():
        assert torch.equal(value, saved['average'][name])
        assert not torch.equal(value, saved['net'][name]) or 'bias' in name
    states = torch.tensor([[9.0, 0.5, 0.0, 0.0], [9.0, -0.2, 0.1, 0.0]])
    goals = torch.tensor([[9.0, 2.0, 0.0, 0.0]] * 2)
    learner.actor.evaluation_mode()
    expected = learner.actor_actions(states, goals).cpu().numpy()
    np.testing.assert_allclose(policy.act(states.numpy(), goals.numpy()), expected, atol=1e-6)
