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
Markdown performance tables from ``bench/results/*.json``: ``python -m bench.report``.

The first table lists every target (figure, target, measured, ratio to the baseline measured in
the same run, pass/fail), the second the remaining ratios and the figures of benchmarks without
targets, the third when and under what load each benchmark ran. ``--all`` adds every figure.
``--readme docs/performance.md`` rewrites the block between that file's ``bench-table`` markers
with the targets table, and ``--seeds README.md`` the block between the README's
``seeds-table`` markers with the seed sweep of ``results/seeds.json`` (``python -m bench
seeds``); nothing else in those files changes.
Results written by benchmarks with their own JSON format (one flat record, e.g. the latency
benchmarks) are shown with their numbers and ``ratio*`` entries.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
from typing import Any, Iterable, Mapping, Sequence

from bench import RESULTS_DIR
from ddpg_manipulation.atomic import write_bytes

PASS = {True: 'pass', False: '**FAIL**', None: 'n/a'}
# Numbers of a foreign record that are figures (the rest are sizes and settings).
FIGURE_SUFFIXES = ('_us', '_ms', '_s', '_per_s', '_diff')
PERCENTILES = ('p50', 'p99')


def format_value(value: Any) -> str:
    """
    Format a figure for a table.

    :param value: A number, None or text.

    :returns: Compact text.
    """
    if value is None:
        return 'n/a'
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f'{value:,}'
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f'{value:.3g}'
        return f'{value:,.3f}' if abs(value) < 100 else f'{value:,.1f}'
    return str(value)


def normalize(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    """
    Bring a result into the suite's shape (figures, ratios, targets, machine, notes).

    :param raw: The parsed JSON.
    :param name: Name to use when the record has none (the file's stem).

    :returns: The result in the suite's shape; foreign records get their numbers as figures, their
        ``ratio*`` entries as ratios, and their ``targets`` (already evaluated) as they are.
    """
    if 'figures' in raw and 'targets' in raw:
        return dict(raw)
    figures: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, Mapping):
            for sub_key in PERCENTILES:
                if _number(value.get(sub_key)):
                    figures[f'{key}_{sub_key}'] = value[sub_key]
        elif _number(value) and key.startswith('ratio'):
            ratios[key] = value
        elif _number(value) and key.endswith(FIGURE_SUFFIXES):
            figures[key] = value
    machine = raw.get('machine') if isinstance(raw.get('machine'), Mapping) else {}
    return {
        'name': str(raw.get('bench', name)), 'quick': bool(raw.get('quick', False)),
        'machine': dict(machine), 'figures': figures, 'ratios': ratios,
        'targets': list(raw.get('targets', [])),
        'notes': [f'written by bench.{raw.get("bench", name)} in its own format'],
        'foreign': True,
    }


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def load_results(directory: Path | None = None,
                 names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """
    Read the results of a directory.

    :param directory: Results directory (default ``bench/results``).
    :param names: Only these benchmarks (default all).

    :returns: The results, in file name order, in the suite's shape.
    """
    directory = Path(directory) if directory is not None else RESULTS_DIR
    wanted = set(names) if names else None
    results = []
    for path in sorted(directory.glob('*.json')):
        if wanted is not None and path.stem not in wanted:
            continue
        try:
            raw = json.loads(path.read_text(encoding='utf-8'))
        except (OSError, json.JSONDecodeError) as error:
            results.append({'name': path.stem, 'figures': {}, 'ratios': {}, 'targets': [],
                            'machine': {}, 'notes': [f'unreadable: {error}']})
            continue
        if isinstance(raw, Mapping):
            results.append(normalize(raw, path.stem))
    return results


def _row(cells: Sequence[Any]) -> str:
    return '| ' + ' | '.join(str(c).replace('|', '\\|') for c in cells) + ' |'


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    return [_row(header), _row(['---'] * len(header)), *(_row(r) for r in rows)]


def target_rows(results: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """
    Rows of the targets table.

    :param results: Results.

    :returns: Benchmark, figure, target, measured, ratio, pass/fail per target.
    """
    rows = []
    for result in results:
        for target in result.get('targets', []):
            bound = f'{target["op"]} {format_value(target["value"])}'
            if target.get('is_ratio'):
                measured = format_value(target.get('figure_value'))
                ratio = format_value(target['measured'])
                bound = f'ratio {bound}'
            else:
                measured, ratio = format_value(target['measured']), '—'
            if target['measured'] is None and target.get('missing_fails'):
                measured = 'not reached'
            rows.append([result['name'], target['label'], bound, measured, ratio,
                         PASS[target.get('passed')]])
    return rows


def other_rows(results: Sequence[Mapping[str, Any]], everything: bool) -> list[list[str]]:
    """
    Rows of the other figures: ratios without targets, figures of untargeted benchmarks.

    :param results: Results.
    :param everything: Every figure of every benchmark.

    :returns: Benchmark, figure, value per row.
    """
    rows = []
    for result in results:
        targeted = {t['key'] for t in result.get('targets', [])}
        for key, value in result.get('ratios', {}).items():
            if key not in targeted:
                rows.append([result['name'], f'ratio {key}', format_value(value)])
        if everything or not targeted:
            for key, value in result.get('figures', {}).items():
                if key not in targeted:
                    rows.append([result['name'], key, format_value(value)])
    return rows


def run_rows(results: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """
    Rows of the runs table: when, how long, under what load, with which threads.

    :param results: Results.

    :returns: One row per benchmark.
    """
    rows = []
    for result in results:
        machine = result.get('machine', {})
        start = machine.get('load_average', [None])[0] if 'load_average' in machine else None
        end = (result.get('load_average_end') or [None])[0]
        load = f'{format_value(start)} → {format_value(end)}' if start is not None else 'n/a'
        rows.append([result['name'], 'quick' if result.get('quick') else 'full',
                     result.get('started', 'n/a'), format_value(result.get('seconds')), load,
                     format_value(machine.get('torch_threads')),
                     format_value(machine.get('mujoco_rollout_threads'))])
    return rows


def targets_table(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """
    Render the targets table (also the README's short table): one row per target.

    :param results: Results.

    :returns: The table's lines.
    """
    return _table(['Benchmark', 'Figure', 'Target', 'Measured', 'Ratio', 'Pass'],
                  target_rows(results))


def markdown(results: Sequence[Mapping[str, Any]], everything: bool = False) -> str:
    """
    Render results as markdown.

    :param results: Results.
    :param everything: Include every figure.

    :returns: The markdown text.
    """
    lines = ['## Performance', '']
    machine = next((r['machine'] for r in results if r.get('machine', {}).get('cpu_model')), {})
    if machine:
        flags = ', '.join(k for k, v in machine.get('cpu_flags', {}).items() if v) or 'none'
        lines += [
            f'Machine: {machine["cpu_model"]}, {machine.get("usable_cores")} usable cores '
            f'(flags: {flags}); torch {machine.get("torch")}, mujoco {machine.get("mujoco")}, '
            f'numpy {machine.get("numpy")}. Ratios are to baselines measured in the same run '
            '(medians over repeats); absolute figures depend on the load shown below.', '']
    if any(r.get('quick') for r in results):
        lines += ['*Quick (smoke-test) sizes: the figures below are not representative.*', '']
    lines += targets_table(results)
    others = other_rows(results, everything)
    if others:
        lines += ['', '### Other figures', '']
        lines += _table(['Benchmark', 'Figure', 'Value'], others)
    lines += ['', '### Runs', '']
    lines += _table(['Benchmark', 'Size', 'Started', 'Seconds', 'Load avg (1 min) start → end',
                     'Torch threads', 'Rollout threads'], run_rows(results))
    notes = [(r['name'], n) for r in results for n in r.get('notes', [])]
    if notes:
        lines += ['', '### Notes', '']
        lines += [f'- {name}: {note}' for name, note in notes]
    return '\n'.join(lines) + '\n'


README_BEGIN = '<!-- bench-table:begin (python -m bench.report --readme docs/performance.md) -->'
README_END = '<!-- bench-table:end -->'
SEEDS_BEGIN = '<!-- seeds-table:begin (python -m bench.report --seeds README.md) -->'
SEEDS_END = '<!-- seeds-table:end -->'


def update_readme(path: Path, results: Sequence[Mapping[str, Any]]) -> None:
    """
    Replace the targets table between a file's ``bench-table`` markers, atomically.

    :param path: The markdown file.
    :param results: Results.

    :raises ValueError: If the markers are missing or out of order.
    """
    replace_block(path, README_BEGIN, README_END, targets_table(results))


def replace_block(path: Path, begin_marker: str, end_marker: str, lines: Sequence[str]) -> None:
    """
    Replace the lines between two marker lines of a file, atomically.

    :param path: The file.
    :param begin_marker: The line before the block.
    :param end_marker: The line after it.
    :param lines: The new block.

    :raises ValueError: If the markers are missing or out of order.
    """
    text = path.read_text(encoding='utf-8')
    begin, end = text.find(begin_marker), text.find(end_marker)
    if begin < 0 or end < begin:
        raise ValueError(f'{path}: expected the lines {begin_marker!r} and then {end_marker!r}')
    head = text[:begin + len(begin_marker)]
    block = '\n'.join(lines)
    write_bytes(path, f'{head}\n{block}\n{text[end:]}'.encode('utf-8'))


def _cell(value: Any, digits: int = 2, missing: str = 'not reached') -> str:
    if value is None:
        return missing
    return f'{value:.{digits}f}' if isinstance(value, float) else str(value)


def seeds_table(result: Mapping[str, Any]) -> list[str]:
    """
    Render a seed sweep (``python -m bench seeds``): a summary row per task, then every seed.

    :param result: The ``seeds`` result.

    :returns: Markdown lines.
    """
    runs = result['details']['runs']
    figures = result['figures']
    tasks = list(dict.fromkeys(r['task'] for r in runs))
    summary = []
    for task in tasks:
        task_runs = [r for r in runs if r['task'] == task]
        seconds = figures.get(f'{task}_median_s')
        summary.append([
            f'`{task}` ({task_runs[0]["epochs"]} epochs)', str(len(task_runs)),
            f'{_cell(figures.get(f"{task}_median_first_epoch"), 1)} / '
            f'{_cell(figures.get(f"{task}_worst_first_epoch"))}',
            f'{_cell(figures.get(f"{task}_median_test_success"))} / '
            f'{_cell(figures.get(f"{task}_worst_test_success"))}',
            _cell(figures.get(f'{task}_worst_lowest_after')),
            _cell(seconds / 60.0 if seconds is not None else None, 1)])
    lines = _table(['task', 'seeds', 'first epoch >= 0.9: median / worst',
                    'result checkpoint, test success: median / worst',
                    'lowest evaluation after 0.9, worst', 'minutes to 0.9, median'], summary)
    rows = [[f'`{r["task"]}`', str(r['seed']), _cell(r['first_epoch']),
             _cell(r['seconds'] / 60.0 if r['seconds'] is not None else None, 1),
             f'{r["test_success_rate"]:.2f} (epoch {r["result_epoch"]})',
             _cell(r['lowest_after'], missing='-'), _cell(r['largest_drop'], missing='-')]
            for r in runs]
    lines += ['', '<details><summary>every seed</summary>', '']
    lines += _table(['task', 'seed', 'first epoch >= 0.9', 'minutes to 0.9',
                     'result: test success (epoch)', 'lowest after 0.9', 'largest drop'], rows)
    lines += ['', '</details>']
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """
    Print (or write) the markdown report.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: Exit code: 0, or 1 if there are no results.
    """
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('names', nargs='*', help='benchmarks to include (default: all)')
    parser.add_argument('--results', type=Path, default=RESULTS_DIR,
                        help='results directory (default: %(default)s)')
    parser.add_argument('--all', action='store_true', help='include every figure')
    parser.add_argument('--output', type=Path, help='write the markdown to this file too')
    parser.add_argument('--readme', type=Path,
                        help='rewrite the targets table between the markers of this file')
    parser.add_argument('--seeds', type=Path,
                        help='rewrite the seed-sweep table (results/seeds.json) between the '
                             'markers of this file')
    args = parser.parse_args(argv)
    results = load_results(args.results, args.names)
    if not results:
        print(f'no results in {args.results}: run python -m bench first')
        return 1
    text = markdown(results, args.all)
    print(text, end='')
    if args.output:
        write_bytes(args.output, text.encode('utf-8'))
    try:
        if args.readme:
            update_readme(args.readme, results)
        if args.seeds:
            sweep = json.loads((args.results / 'seeds.json').read_text(encoding='utf-8'))
            replace_block(args.seeds, SEEDS_BEGIN, SEEDS_END, seeds_table(sweep))
    except (OSError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
