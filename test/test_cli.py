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

"""The ``ddpg-manipulation`` CLI end to end: train, eval, bad arguments, signals."""

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

import pytest

from ddpg_manipulation.cli import main
from ddpg_manipulation.learning import checkpoint

TINY_SETS = [
    '--set', 'learner.cycles=2', '--set', 'learner.batches=2', '--set', 'learner.evals=4',
    '--set', 'learner.validation_evals=4',
    '--set', 'learner.layer_width=32', '--set', 'learner.nlayers=2',
    '--set', 'learner.trajectory_length=10', '--set', 'learner.batch_size=32',
]


def _train(tmp_path: Path, *extra: str) -> int:
    return main(['train', '--task', 'box_reach', '--output', str(tmp_path / 'runs'),
                 '--quiet', '--threads', '1', *TINY_SETS, *extra])


def test_train_writes_checkpoint_curve_tensorboard_and_summary(tmp_path, capsys):
    assert _train(tmp_path, '--epochs', '2', '--seed', '3') == 0
    out = capsys.readouterr().out
    assert 'epoch   1  success' in out and 'epoch   2  success' in out
    (run_dir,) = (tmp_path / 'runs' / 'box_reach').iterdir()
    summary = json.loads((run_dir / 'summary.json').read_text())
    assert summary['epochs'] == 2 and summary['seed'] == 3 and summary['task'] == 'box_reach'
    assert 0.0 <= summary['final_success_rate'] <= 1.0
    # the run's result: its best checkpoint by validation, what the run directory resolves to
    assert summary['checkpoint'] == str(checkpoint.resolve(run_dir))
    assert summary['newest_checkpoint'] == str(checkpoint.find_latest(run_dir))
    best = json.loads((run_dir / 'best.json').read_text())
    assert run_dir / best['checkpoint'] == Path(summary['checkpoint'])
    assert summary['result_epoch'] == best['epoch']
    assert summary['wall_time_s'] > 0
    png = (run_dir / 'learning_curve.png').read_bytes()
    assert png.startswith(b'\x89PNG') and len(png) > 5000
    assert list((run_dir / 'tensorboard').glob('events.out.tfevents.*'))
    history = json.loads((run_dir / 'history.json').read_text())
    assert [h['epoch'] for h in history] == [1, 2]


def test_eval_prints_success_rate_and_distance(tmp_path, capsys):
    assert _train(tmp_path, '--epochs', '1') == 0
    capsys.readouterr()
    assert main(['eval', '--checkpoint', str(tmp_path / 'runs'), '--episodes', '5']) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith('success rate ') and 'mean relative distance' in lines[0]
    result = json.loads(lines[-1])
    assert result['episodes'] == 5 and result['task'] == 'box_reach'


@pytest.mark.parametrize('argv,phrase', [
    (['train', '--task', 'box_pull'], 'unknown task'),
    (['train', '--task', 'box_reach', '--set', 'learner.batchs=3'], 'did you mean'),
    (['train', '--task', 'box_reach', '--set', 'learner.tau=2*0.1'], 'never evaluated'),
    (['train', '--task', 'box_reach', '--set', 'nonsense'], 'section.key=value'),
    (['train', '--task', 'box_reach', '--epochs', '0'], '--epochs 0'),
    (['eval', '--checkpoint', '/nonexistent/ckpt'], 'no such checkpoint'),
])
def test_bad_arguments_exit_1_with_a_clear_message(tmp_path, capsys, argv, phrase):
    assert main([*argv, '--output', str(tmp_path)] if argv[0] == 'train' else argv) == 1
    assert phrase in capsys.readouterr().err
    assert not (tmp_path / 'box_reach').exists()  # nothing was started


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(['train', '--epochs', 'many'])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main(['frobnicate'])


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_training_with_a_final_checkpoint_and_exit_0(tmp_path, signum):
    output = tmp_path / 'runs'
    cmd = [sys.executable, '-m', 'ddpg_manipulation.cli', 'train', '--task', 'box_reach',
           '--epochs', '1000', '--output', str(output), '--quiet', '--threads', '1', *TINY_SETS]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, 'PYTHONUNBUFFERED': '1'})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until training is under way
            if list(output.glob('box_reach/*/checkpoints/epoch_*/manifest.json')):
                break
            time.sleep(0.2)
        else:
            pytest.fail('training produced no checkpoint in time')
        process.send_signal(signum)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, err
    summary = json.loads(out[out.index('{'):])
    assert summary['interrupted'] is True and summary['epochs'] < 1000
    latest = checkpoint.find_latest(output)
    assert str(latest) == summary['checkpoint']
    assert json.loads((latest / 'manifest.json').read_text())['epoch'] == summary['epochs']
