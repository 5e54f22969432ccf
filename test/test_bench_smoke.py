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
Benchmark suite smoke test: every benchmark's quick mode writes well-formed JSON.

The suite runs once, as ``python -m bench <names> --quick --out <tmp>`` in a subprocess from
the repository root (as a user runs it); the tests then read what it wrote. Nothing here
asserts a speed: figures only have to exist and be finite numbers.
"""

import json
import math
import os
from pathlib import Path
import subprocess
import sys
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
TASKS = ('box_push', 'planar_hand')
MACHINE_KEYS = ('cpu_model', 'usable_cores', 'load_average', 'torch', 'mujoco', 'numpy',
                'torch_threads', 'mujoco_rollout_threads')
RESULT_KEYS = ('name', 'quick', 'machine', 'load_average_end', 'config', 'figures', 'ratios',
               'targets', 'notes')

# Per benchmark: figures that must be finite numbers, figures that must exist but may be null
# (not reached), and ratios that must be finite.
EXPECTED: dict[str, dict[str, list[str]]] = {
    'rollout_throughput': {
        'figures': [f'{t}_{n}_{k}' for t in TASKS for n in (1, 4)
                    for k in ('policy_steps_per_s', 'raw_steps_per_s')],
        'nullable': [],
        'ratios': [f'{t}_{n}' for t in TASKS for n in (1, 4)],
    },
    'update_throughput': {
        'figures': [f'threads1_her{h}_{k}' for h in ('0.8', '0')
                    for k in ('learner_updates_per_s', 'bare_updates_per_s', 'replay_sample_ms')],
        'nullable': [],
        'ratios': ['threads1_her0.8', 'threads1_her0'],
    },
    'epoch_time': {
        'figures': [f'{t}_{k}' for t in TASKS
                    for k in ('epoch_s', 'floor_s', 'share_updates', 'share_rollouts',
                              'share_eval', 'learner_ms_per_update', 'bare_ms_per_update')],
        'nullable': [],
        'ratios': list(TASKS),
    },
    'contention': {
        'figures': ['default_threads_idle_epoch_s', 'default_threads_loaded_epoch_s'],
        'nullable': [],
        'ratios': ['default_threads'],
    },
    'reach': {
        'figures': ['best_success_rate', 'epochs_run', 'median_epoch_s'],
        'nullable': ['epochs_to_success', 'seconds_to_success'],
        'ratios': [],
    },
    'memory': {
        'figures': ['peak_rss_gb', 'rss_built_mb', 'rss_final_mb', 'growth_after_full'],
        'nullable': [],
        'ratios': [],
    },
    # Where torch sees CUDA the GPU figures are measured; elsewhere the result says it skipped.
    'gpu': {
        'figures': [f'{t}_{k}_updates_per_s' for t in TASKS
                    for k in ('cpu', 'cuda', 'cuda_graphs')] if torch.cuda.is_available() else [],
        'nullable': [],
        'ratios': [],
    },
    'time_to_success': {
        'figures': [f'{t}_{k}' for t in TASKS
                    for k in ('reached_runs', 'runs', 'median_best_success_rate')],
        'nullable': [f'{t}_{k}' for t in TASKS for k in ('median_s', 'median_epochs')],
        'ratios': [],
    },
}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _strict_json(path: Path) -> dict[str, Any]:
    def refuse(constant: str) -> None:
        raise ValueError(f'{path}: non-finite {constant} in JSON')

    return json.loads(path.read_text(encoding='utf-8'), parse_constant=refuse)


def _python(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get('PYTHONPATH', '')]))}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope='module')
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Run every benchmark of this suite in quick mode once; return the results dir and output."""
    out = tmp_path_factory.mktemp('bench_results')
    names = [*sorted(EXPECTED), 'planner_speed']
    done = _python('-m', 'bench', *names, '--quick', '--out', str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done.stdout


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_quick_benchmark_writes_expected_json(name: str, quick_run: tuple[Path, str]) -> None:
    data = _strict_json(quick_run[0] / f'{name}.json')
    for key in RESULT_KEYS:
        assert key in data, key
    assert data['name'] == name and data['quick'] is True
    for key in MACHINE_KEYS:
        assert key in data['machine'], key
    expected = EXPECTED[name]
    for key in expected['figures']:
        assert _finite(data['figures'].get(key)), (key, data['figures'].get(key))
    for key in expected['nullable']:
        assert key in data['figures'], key
    for key in expected['ratios']:
        assert _finite(data['ratios'].get(key)), (key, data['ratios'].get(key))
    for key, value in {**data['figures'], **data['ratios']}.items():
        assert value is None or _finite(value), (key, value)
    for target in data['targets']:
        assert target['passed'] in (True, False, None)
        assert target['op'] in ('>=', '<=', '<', '>')


def test_quick_planner_speed(quick_run: tuple[Path, str]) -> None:
    data = _strict_json(quick_run[0] / 'planner_speed.json')
    if any(note.startswith('skipped') for note in data['notes']):
        assert data['figures'] == {}
        return
    for task in TASKS:
        assert _finite(data['figures'][f'{task}_nodes_per_s'])
        assert _finite(data['ratios'][f'{task}_physics_vs_raw'])
        assert f'{task}_time_to_termination_s' in data['figures']


def test_runner_prints_table(quick_run: tuple[Path, str]) -> None:
    out = quick_run[1]
    assert '| Benchmark | Figure | Target | Measured | Ratio | Pass |' in out
    for name in EXPECTED:
        assert f'| {name} |' in out


def test_report_renders_results_and_foreign_records(quick_run: tuple[Path, str],
                                                    tmp_path: Path) -> None:
    for path in quick_run[0].glob('*.json'):
        (tmp_path / path.name).write_text(path.read_text())
    record = {'bench': 'policy_latency', 'p50_us': 150.0, 'threads': 1,
              'node_action': {'p50': 150.0, 'p99': 400.0, 'mean': 170.0},
              'ratio_p50_to_baseline': 3.1,
              'targets': [{'key': 'p99_us', 'op': '<=', 'value': 500.0, 'measured': 400.0,
                           'passed': True, 'is_ratio': False, 'label': 'node p99 (us)'}]}
    (tmp_path / 'policy_latency.json').write_text(json.dumps(record) + '\n')
    done = _python('-m', 'bench.report', '--results', str(tmp_path), '--all',
                   '--output', str(tmp_path / 'report.md'))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / 'report.md').read_text()
    assert text == done.stdout
    assert '| policy_latency | ratio ratio_p50_to_baseline | 3.100 |' in text
    assert '| policy_latency | node_action_p99 | 400.0 |' in text
    assert '| policy_latency | node p99 (us) | <= 500.0 | 400.0 | — | pass |' in text
    assert 'threads |' not in text.split('### Runs')[0]
    for name in EXPECTED:
        assert f'| {name} |' in text


def test_tasks_option_narrows_a_per_task_benchmark(tmp_path: Path) -> None:
    done = _python('-m', 'bench', 'rollout_throughput', '--quick', '--tasks', 'box_reach',
                   '--out', str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data = _strict_json(tmp_path / 'rollout_throughput.json')
    assert data['figures'], data
    assert all(key.startswith('box_reach_') for key in data['figures']), sorted(data['figures'])


def test_runner_rejects_unknown_benchmark(tmp_path: Path) -> None:
    done = _python('-m', 'bench', 'no_such_benchmark', '--quick', '--out', str(tmp_path))
    assert done.returncode == 2
    assert 'unknown benchmark' in done.stderr


def test_report_rewrites_only_the_readme_table(quick_run: tuple[Path, str],
                                               tmp_path: Path) -> None:
    from bench.report import README_BEGIN, README_END

    readme = tmp_path / 'README.md'
    readme.write_text(f'# Title\n\nbefore\n{README_BEGIN}\n| old | table |\n{README_END}\nafter\n')
    done = _python('-m', 'bench.report', '--results', str(quick_run[0]),
                   '--readme', str(readme))
    assert done.returncode == 0, done.stderr
    text = readme.read_text()
    assert text.startswith(f'# Title\n\nbefore\n{README_BEGIN}\n| Benchmark | Figure | Target |')
    assert text.endswith(f'|\n{README_END}\nafter\n')
    assert '| old | table |' not in text
    targeted = [json.loads(p.read_text()) for p in quick_run[0].glob('*.json')]
    targeted = [r['name'] for r in targeted if r.get('targets')]
    assert targeted
    for name in targeted:
        assert f'| {name} |' in text
    readme.write_text('no markers\n')
    done = _python('-m', 'bench.report', '--results', str(quick_run[0]),
                   '--readme', str(readme))
    assert done.returncode == 2 and 'bench-table:begin' in done.stderr
    assert readme.read_text() == 'no markers\n'


def test_quick_seed_sweep_reports_every_seed_and_draws_the_curves(tmp_path: Path) -> None:
    done = _python('-m', 'bench.seeds', '--quick', '--tasks', 'box_reach', '--seeds', '3', '4',
                   '--jobs', '2', '--out', str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    data = _strict_json(tmp_path / 'seeds.json')
    runs = data['details']['runs']
    assert [(r['task'], r['seed']) for r in runs] == [('box_reach', 3), ('box_reach', 4)]
    for run in runs:
        assert 0.0 <= run['test_success_rate'] <= 1.0
        assert run['epochs'] == len(run['curve']) == 1
        assert run['result_checkpoint'].startswith('epoch_')
        assert run['side_by_side'] == 2
    assert any('2 of 2 runs trained beside other runs' in n for n in data['notes'])
    figures = data['figures']
    assert figures['box_reach_runs'] == 2 and 'box_reach_median_first_epoch' in figures
    assert {t['key'] for t in data['targets']} >= {'box_reach_worst_test_success',
                                                   'box_reach_worst_lowest_after'}
    assert Path(data['details']['figure']).read_bytes().startswith(b'\x89PNG')
    from bench.report import SEEDS_BEGIN, SEEDS_END

    readme = tmp_path / 'README.md'
    readme.write_text(f'# Results\n{SEEDS_BEGIN}\nold\n{SEEDS_END}\nafter\n')
    done = _python('-m', 'bench.report', '--results', str(tmp_path), '--seeds', str(readme))
    assert done.returncode == 0, done.stderr
    text = readme.read_text()
    assert 'old' not in text and text.endswith(f'{SEEDS_END}\nafter\n')
    assert '| `box_reach` (1 epochs) | 2 |' in text
    assert text.count('| `box_reach` | ') == 2  # one row per seed


def test_a_seed_that_never_reaches_the_bar_fails_the_floor_and_is_named() -> None:
    from bench.result import Bench
    from bench.seeds import summarize

    def run(seed: int, first: int | None, lowest: float | None) -> dict[str, Any]:
        return {'seed': seed, 'first_epoch': first, 'seconds': None, 'lowest_after': lowest,
                'largest_drop': None, 'test_success_rate': 0.95}

    bench = Bench('seeds', quick=True)
    summarize(bench, 'box_reach', [run(0, 5, 0.93), run(1, 7, 0.88)])
    assert bench.figures['box_reach_worst_lowest_after'] == 0.88 and not bench.notes

    bench = Bench('seeds', quick=True)
    summarize(bench, 'box_reach', [run(0, 5, 0.93), run(4, None, None), run(6, None, None)])
    assert bench.figures['box_reach_worst_lowest_after'] == 0.0
    assert bench.figures['box_reach_reached_runs'] == 1
    assert bench.notes == ['box_reach: 2 of 3 runs never reached 0.9 (seeds 4, 6); their lowest '
                           'evaluation after it counts as 0.0 in the worst, which is no measured '
                           'evaluation']
    floor = next(t for t in bench.result()['targets']
                 if t['key'] == 'box_reach_worst_lowest_after')
    assert floor['passed'] is False


def test_a_seed_sweep_reuses_only_finished_runs_of_the_same_command(tmp_path: Path) -> None:
    keep, out = tmp_path / 'runs', tmp_path / 'out'
    sweep = ('-m', 'bench.seeds', '--quick', '--tasks', 'box_reach', '--seeds', '3', '--jobs',
             '1', '--out', str(out), '--keep', str(keep), '--reuse')
    done = _python(*sweep)
    assert done.returncode == 0, done.stderr[-2000:]
    data = _strict_json(out / 'seeds.json')
    first = data['details']['runs'][0]
    assert first['side_by_side'] == 1 and not any('beside' in n for n in data['notes'])
    (summary,) = keep.rglob('summary.json')
    written = summary.stat().st_mtime_ns

    done = _python(*sweep)
    assert done.returncode == 0, done.stderr[-2000:]
    again = _strict_json(out / 'seeds.json')['details']['runs'][0]
    assert list(keep.rglob('summary.json')) == [summary]  # tested again, not trained again
    assert summary.stat().st_mtime_ns == written
    assert again == first

    # the times are those of the training, so a run that does not say how it trained is not
    # labelled idle by this command's --jobs 1
    (summary.parent / 'seeds_sweep.json').unlink()
    done = _python(*sweep)
    assert done.returncode == 0, done.stderr[-2000:]
    data = _strict_json(out / 'seeds.json')
    assert data['details']['runs'][0]['side_by_side'] is None
    assert any('1 of 1 runs trained beside other runs (1 of them reused from a sweep that did '
               'not record it)' in n for n in data['notes'])

    done = _python(*sweep, '--set', 'learner.noise_std=0.3')  # another command: trained anew
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list(keep.rglob('summary.json'))) == 2
    done = _python('-m', 'bench.seeds', '--quick', '--tasks', 'box_reach', '--reuse')
    assert done.returncode != 0 and '--reuse needs --keep' in done.stderr


def test_gpu_benchmark_says_why_it_skipped(quick_run: tuple[Path, str]) -> None:
    data = _strict_json(quick_run[0] / 'gpu.json')
    if torch.cuda.is_available():
        assert data['config']['gpu'] and data['figures']
    else:
        assert data['notes'] == ['skipped: torch sees no CUDA device on this machine']
        assert data['figures'] == {}
