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

"""``ddpg-manipulation plot``: learning curves of runs, alone, overlaid and compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ddpg_manipulation.cli import main
from ddpg_manipulation.commands.plot import labels, read_run


def make_run(root: Path, name: str, demonstrations: bool | None, epochs: int = 4,
             seed: int = 0, task: str = 'box_push') -> Path:
    """Write a run directory as ``train`` does: history.json and (if finished) summary.json."""
    run = root / task / name
    (run / 'checkpoints' / f'epoch_{epochs:06d}').mkdir(parents=True)
    history = [{'epoch': e, 'success_rate': e / epochs * (0.9 if demonstrations else 0.4),
                'relative_distance': 1.0 - e / (epochs + 1), 'demo_share': 0.25 * bool(
                    demonstrations), 'epoch_time': 2.0, 'replay_size': 100 * e,
                'interrupted': False} for e in range(1, epochs + 1)]
    (run / 'history.json').write_text(json.dumps(history))
    if demonstrations is not None:
        (run / 'summary.json').write_text(json.dumps(
            {'task': task, 'seed': seed, 'epochs': epochs, 'demonstrations': demonstrations}))
    return run


def is_png(path: Path) -> bool:
    """Tell whether a file is a non-empty PNG."""
    return path.stat().st_size > 1000 and path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_compare_writes_a_png_labelled_by_demonstrations(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with_demos = make_run(tmp_path, '2026_01_01_00_00_00', True)
    without = make_run(tmp_path, '2026_01_01_00_00_01', False)
    output = tmp_path / 'compare.png'
    assert main(['plot', '--compare', str(with_demos), str(without), '--output',
                 str(output)]) == 0
    assert is_png(output)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r['label'] for r in summary['runs']] == ['with demonstrations',
                                                     'without demonstrations']
    assert summary['runs'][0]['best_success_rate'] == pytest.approx(0.9)
    assert [p.name for p in tmp_path.iterdir() if p.suffix == '.png'] == ['compare.png']


def test_plot_runs_overlaid_from_any_run_location(tmp_path: Path) -> None:
    first = make_run(tmp_path, 'a', True, seed=1)
    second = make_run(tmp_path, 'b', True, seed=2)
    in_progress = make_run(tmp_path, 'c', None)
    output = tmp_path / 'out' / 'curves.png'
    checkpoint_dir = first / 'checkpoints' / 'epoch_000004'
    assert main(['plot', str(checkpoint_dir), str(second / 'history.json'), str(in_progress),
                 '--output', str(output), '--title', 'three runs']) == 0
    assert is_png(output)


def test_labels_say_what_differs(tmp_path: Path) -> None:
    runs = [read_run(make_run(tmp_path, 'a', True, seed=1)),
            read_run(make_run(tmp_path, 'b', True, seed=2)),
            read_run(make_run(tmp_path, 'c', True, seed=1, task='planar_hand'))]
    assert labels(runs) == ['box_push, seed 1', 'box_push, seed 2', 'planar_hand, seed 1']
    same = [read_run(make_run(tmp_path, 'd', False)), read_run(make_run(tmp_path, 'e', False))]
    assert labels(same) == ['d', 'e']
    assert labels(runs[:1]) == ['box_push, with demonstrations, seed 1']


def test_plot_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(['plot', str(tmp_path / 'missing'), '--output', str(tmp_path / 'x.png')]) == 1
    assert 'no history.json' in capsys.readouterr().err
    broken = make_run(tmp_path, 'broken', True)
    (broken / 'history.json').write_text('{not json')
    assert main(['plot', str(broken), '--output', str(tmp_path / 'x.png')]) == 1
    assert 'not valid JSON' in capsys.readouterr().err
    run = make_run(tmp_path, 'good', True)
    with pytest.raises(SystemExit) as stop:
        main(['plot', str(run), '--compare', str(run), str(run)])
    assert stop.value.code == 2
    with pytest.raises(SystemExit):
        main(['plot', str(run), '--output', str(tmp_path / 'x.jpg')])
    assert not (tmp_path / 'x.png').exists()
