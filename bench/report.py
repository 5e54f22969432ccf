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
``--readme README.md`` rewrites the block between the README's ``bench-table`` markers with the
targets table (nothing else in the file changes).
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


README_BEGIN = '<!-- bench-table:begin (python -m bench.report --readme README.md) -->'
README_END = '<!-- bench-table:end -->'


def update_readme(path: Path, results: Sequence[Mapping[str, Any]]) -> None:
    """
    Replace the table between the README's markers, atomically.

    :param path: README file.
    :param results: Results.

    :raises ValueError: If the markers are missing or out of order.
    """
    text = path.read_text(encoding='utf-8')
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        raise ValueError(f'{path}: expected the lines {README_BEGIN!r} and then {README_END!r}')
    head = text[:begin + len(README_BEGIN)]
    table = '\n'.join(targets_table(results))
    write_bytes(path, f'{head}\n{table}\n{text[end:]}'.encode('utf-8'))


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
                        help='rewrite the targets table between the markers of this README')
    args = parser.parse_args(argv)
    results = load_results(args.results, args.names)
    if not results:
        print(f'no results in {args.results}: run python -m bench first')
        return 1
    text = markdown(results, args.all)
    print(text, end='')
    if args.output:
        write_bytes(args.output, text.encode('utf-8'))
    if args.readme:
        try:
            update_readme(args.readme, results)
        except (OSError, ValueError) as error:
            print(f'error: {error}', file=sys.stderr)
            return 2
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
