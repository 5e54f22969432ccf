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

"""Crash safety: SIGKILL training at random moments; the newest checkpoint always loads."""

import os
from pathlib import Path
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ddpg_manipulation.learning import checkpoint
from ddpg_manipulation.policy import Policy

# Tiny epochs with a checkpoint (and the replay buffer) every epoch: the process spends a large
# share of its time writing checkpoints, so random kills land inside writes too.
TRAIN = [
    sys.executable, '-m', 'ddpg_manipulation.cli', 'train', '--task', 'box_reach',
    '--epochs', '100000', '--quiet', '--threads', '1', '--save-buffer',
    '--set', 'learner.cycles=1', '--set', 'learner.batches=1', '--set', 'learner.evals=2',
    '--set', 'learner.layer_width=64', '--set', 'learner.trajectory_length=10',
    '--set', 'learner.batch_size=16', '--set', 'learner.checkpoint_every=1',
]
KILLS = int(os.environ.get('KILLS', '6'))


def _manifests(output: Path) -> set[Path]:
    return set(output.glob('box_reach/*/checkpoints/epoch_*/manifest.json'))


def _wait_for_new_checkpoint(output: Path, before: set[Path], process: subprocess.Popen,
                             timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if _manifests(output) - before:
            return
        time.sleep(0.02)
    pytest.fail('training wrote no checkpoint in time')


def _wait_for_a_write(output: Path, process: subprocess.Popen, timeout: float) -> int:
    """Poll until a checkpoint write is under way (a staging directory exists); 1 if seen."""
    deadline = time.monotonic() + timeout
    existing = set(output.glob('box_reach/*/checkpoints/.staging-*'))
    while time.monotonic() < deadline and process.poll() is None:
        if set(output.glob('box_reach/*/checkpoints/.staging-*')) - existing:
            return 1
        time.sleep(0.001)
    return 0


def test_sigkill_at_random_moments_never_leaves_a_broken_latest_checkpoint(tmp_path):
    rng = random.Random(1234)
    output = tmp_path / 'runs'
    inside_writes = 0
    for kill in range(KILLS):
        before = _manifests(output)
        process = subprocess.Popen([*TRAIN, '--output', str(output)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_new_checkpoint(output, before, process, timeout=120)
            if kill % 2:
                time.sleep(rng.uniform(0.0, 1.5))  # anywhere: rollout, update, eval, write
            else:
                inside_writes += _wait_for_a_write(output, process, timeout=30)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            process.kill()
        latest = checkpoint.find_latest(output, task='box_reach')
        manifest = checkpoint.verify(latest)  # complete: every hash matches
        assert manifest['task'] == 'box_reach'
        loaded = checkpoint.load(latest, with_training_state=True)
        assert loaded.training_state is not None and 'replay_buffer' in loaded.training_state
        assert Policy.load(latest).act([9.0, 0.0, 0.0, 0.0], [9.0, 2.0, 0.0, 0.0]).shape == (1,)
        # The kill hit this run, after its first checkpoint: its own newest one must load.
        run_checkpoints = _manifests(output) - before
        assert run_checkpoints
    assert inside_writes >= KILLS // 4  # the targeted kills did hit checkpoint writes
    # Staging directories of killed writes may remain, hidden; no visible checkpoint is broken.
    for directory in output.glob('box_reach/*/checkpoints/*'):
        if not directory.name.startswith('.'):
            checkpoint.verify(directory)


def test_full_output_location_is_reported_before_training(tmp_path, monkeypatch):
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, 'disk_usage',
                        lambda path: usage._replace(free=10 * 2**20))
    with pytest.raises(checkpoint.CheckpointError, match='MiB free'):
        checkpoint.check_writable(tmp_path / 'runs')
