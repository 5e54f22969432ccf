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
Run the benchmarks: ``python -m bench [names...] [--quick]``.

Every benchmark (or the named ones) runs in turn, in this process; each writes
``bench/results/<name>.json`` (or ``--out``) and the runner prints the markdown table of what it
ran. A benchmark module exposes ``run(quick, **options) -> dict``; modules that instead have
``main(argv)`` writing their own JSON (the latency benchmarks) are run through it. A benchmark
whose module is not there is skipped with a note. Other modules of ``bench/`` with a ``run``
(long studies such as ``ablation`` or ``soak``) are not part of the default set but run by
name.
"""

from __future__ import annotations

import argparse
from contextlib import redirect_stderr
import importlib
import inspect
import io
import json
from pathlib import Path
import sys
import time
import traceback
from types import ModuleType
from typing import Any, Sequence

from bench import RESULTS_DIR
from bench.report import markdown, normalize

BENCHMARKS = (
    'rollout_throughput', 'update_throughput', 'epoch_time', 'planner_speed', 'contention',
    'reach', 'memory', 'time_to_success', 'policy_latency', 'export_latency', 'gpu',
)
# Modules of bench/ that the benchmarks share: not benchmarks themselves.
SHARED = ('bare_ddpg', 'latency', 'learners', 'machine', 'raw_physics', 'report', 'result',
          'timing')
# Arguments that make a ``main(argv)`` benchmark small, tried if its parser accepts them.
FOREIGN_QUICK = ('--iterations', '200', '--rounds', '2')


def _exists(name: str) -> bool:
    if not name.isidentifier() or name in SHARED:
        return False
    return (Path(__file__).resolve().parent / f'{name}.py').is_file()


def _accepts(module: ModuleType, argv: list[str]) -> bool:
    parse = getattr(module, 'parse_args', None)
    if parse is None:
        return False
    try:
        with redirect_stderr(io.StringIO()):
            parse(argv)
    except SystemExit:
        return False
    return True


def run_foreign(module: ModuleType, name: str, quick: bool, out: Path) -> dict[str, Any]:
    """
    Run a benchmark that has ``main(argv)`` and writes its own JSON.

    :param module: The benchmark module.
    :param name: Its name.
    :param quick: Ask for few iterations, if its parser takes ``--iterations``/``--rounds``.
    :param out: Results directory.

    :returns: Its result, in the suite's shape.
    """
    from bench.machine import load_average, machine_info

    path = out / f'{name}.json'
    argv = ['--output', str(path)]
    if quick and _accepts(module, argv + list(FOREIGN_QUICK)):
        argv += list(FOREIGN_QUICK)
    if not _accepts(module, argv):
        argv, path = [], RESULTS_DIR / f'{name}.json'
    machine = machine_info()
    started = time.perf_counter()
    module.main(argv)
    result = normalize(json.loads(path.read_text(encoding='utf-8')), name)
    result.update({'quick': quick and FOREIGN_QUICK[0] in argv, 'machine': machine,
                   'load_average_end': load_average(),
                   'seconds': round(time.perf_counter() - started, 2)})
    return result


def run_one(name: str, quick: bool, out: Path, options: dict[str, Any]) -> dict[str, Any] | None:
    """
    Run one benchmark and write its result.

    :param name: Benchmark name (module ``bench.<name>``).
    :param quick: Tiny sizes.
    :param out: Results directory.
    :param options: Options for the benchmarks whose ``run`` takes them.

    :returns: The result, or None if the benchmark's module is not there.
    """
    from bench.result import write_result

    try:
        module = importlib.import_module(f'bench.{name}')
    except ModuleNotFoundError as error:
        if error.name == f'bench.{name}':
            print(f'{name}: skipped (module bench.{name} is not there)', flush=True)
            return None
        raise
    if not hasattr(module, 'run'):
        return run_foreign(module, name, quick, out)
    accepted = inspect.signature(module.run).parameters
    kwargs = {k: v for k, v in options.items() if k in accepted and v is not None}
    result = module.run(quick=quick, **kwargs)
    write_result(result, out)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the benchmarks and print the table.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: Exit code: 0, or 1 if a benchmark raised.
    """
    parser = argparse.ArgumentParser(prog='python -m bench',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('names', nargs='*', metavar='name',
                        help=f'benchmarks to run (default: all of {", ".join(BENCHMARKS)}; '
                        'other bench/ modules by name)')
    parser.add_argument('--quick', action='store_true',
                        help='tiny sizes (seconds; the smoke test uses it)')
    parser.add_argument('--out', type=Path, default=RESULTS_DIR,
                        help='results directory (default: %(default)s)')
    parser.add_argument('--cap-minutes', type=float, default=None,
                        help='time_to_success: wall time cap per run (default 15)')
    parser.add_argument('--seeds', type=int, nargs='+', default=None,
                        help='time_to_success, planner_speed: seeds (default 0 1 2)')
    parser.add_argument('--tasks', nargs='+', default=None,
                        help='benchmarks that run per task: the tasks (default: their own)')
    parser.add_argument('--seed', type=int, default=None, help='reach: seed (default 0)')
    parser.add_argument('--epochs', type=int, default=None,
                        help='memory: epochs (default 50); reach: most epochs (default 20)')
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS and not _exists(n)]
    if unknown:
        parser.error(f'unknown benchmark(s) {", ".join(unknown)}; expected some of '
                     f'{", ".join(BENCHMARKS)} or another module of bench/')
    import torch  # after parsing: a wrong command line fails fast

    options = {'cap_minutes': args.cap_minutes, 'seeds': args.seeds, 'seed': args.seed,
               'epochs': args.epochs, 'tasks': args.tasks}
    threads = torch.get_num_threads()
    results, failed = [], []
    for name in args.names or BENCHMARKS:
        started = time.perf_counter()
        print(f'{name}: running{" (quick)" if args.quick else ""} ...', flush=True)
        try:
            result = run_one(name, args.quick, args.out, options)
        except Exception:  # noqa: BLE001 - report, and still run the other benchmarks
            traceback.print_exc()
            failed.append(name)
            continue
        finally:
            torch.set_num_threads(threads)  # a benchmark may have changed it
        if result is not None:
            results.append(result)
            print(f'{name}: done in {time.perf_counter() - started:.1f} s', flush=True)
    if results:
        print()
        print(markdown(results), end='')
    if failed:
        print(f'\nfailed: {", ".join(failed)}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
