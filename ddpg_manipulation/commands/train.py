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

"""``ddpg-manipulation train``: progress bar, checkpoints, TensorBoard, learning curve, summary."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from pathlib import Path
import signal
import sys
import threading
import time
from typing import Any, Iterator

from ddpg_manipulation.atomic import write_json
from ddpg_manipulation.config import bundled_tasks, ConfigError, ParameterContainer, parse_set


def configure(parser: argparse.ArgumentParser) -> None:
    """
    Declare the arguments of ``train``.

    :param parser: The subcommand's parser.
    """
    parser.add_argument('--task', default=None,
                        help=f'bundled task ({", ".join(bundled_tasks())}) or a task YAML path '
                             '(default: box_push)')
    parser.add_argument('--epochs', type=int, default=None,
                        help="epochs to train (default: the task's learner.epochs)")
    parser.add_argument('--seed', type=int, default=None, help="random seed (default: task's)")
    parser.add_argument('--output', default='runs',
                        help='output root; the run goes to OUTPUT/TASK/TIMESTAMP '
                             '(default: %(default)s)')
    parser.add_argument('--set', dest='sets', action='append', default=[], metavar='KEY=VALUE',
                        help='override a parameter, e.g. --set learner.batches=20 (repeatable)')
    parser.add_argument('--no-demos', action='store_true',
                        help='train without planner demonstrations even if the task enables them')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads for torch and MuJoCo (default: the usable cores, '
                        'fewer while another process competes for them)')
    parser.add_argument('--device', default=None,
                        help='torch device of the networks, replay storage and updates: auto, '
                             "cpu, cuda or cuda:N (default: the task's learner.device, auto = "
                             'CUDA where available); MuJoCo always runs on the CPU')
    parser.add_argument('--cloud', default='', metavar='URL',
                        help='also save checkpoints to this fsspec URL (s3://, gs://, file://)')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    parser.add_argument('--resume', default=None, metavar='DIR',
                        help='continue a run from its checkpoint (checkpoint or run directory); '
                             'the task and parameters come from the checkpoint, --epochs is the '
                             "total epoch count (default: the interrupted run's)")
    parser.add_argument('--resume-buffer', action='store_true',
                        help='with --resume: also restore the replay buffer (the run must have '
                             'used --save-buffer); then the resumed run is bit-for-bit the '
                             'uninterrupted one')
    parser.add_argument('--save-buffer', action='store_true',
                        help='store the replay buffer in every checkpoint (for --resume-buffer)')


def resume_params(args: argparse.Namespace) -> tuple[ParameterContainer, dict[str, Any]]:
    """
    Rebuild the parameters of the run to resume from its checkpoint's manifest.

    :param args: Parsed arguments (``--resume``; ``--threads`` may differ from the original run).

    :returns: The parameters and the manifest.
    """
    from ddpg_manipulation.cli import UsageError
    from ddpg_manipulation.learning import checkpoint

    if args.sets or args.seed is not None or args.task is not None or args.no_demos:
        raise UsageError('--resume takes the task and parameters from the checkpoint; drop '
                         '--task, --set, --seed and --no-demos')
    path = Path(args.resume).expanduser()
    manifest = checkpoint.verify(checkpoint.find_latest(path) if path.is_dir()
                                 and not (path / checkpoint.MANIFEST).is_file() else path)
    task_file = Path(manifest.get('task_file', ''))
    task = task_file if task_file.is_file() else manifest['task']
    overrides = _flat(manifest['params'])
    if args.threads is not None:
        overrides['learner.threads'] = overrides['model.nthread'] = args.threads
    params = ParameterContainer(task, overrides)
    if params.config_hash() != manifest['config_hash']:
        raise checkpoint.CheckpointError(
            f'{args.resume}: the task {params.task_name!r} changed since this run was saved '
            f'(config hash {params.config_hash()[:12]} vs {manifest["config_hash"][:12]})')
    return params, manifest


def _flat(tree: dict[str, Any]) -> dict[str, Any]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update({f'{key}.{sub}': v for sub, v in value.items()})
        else:
            flat[key] = value
    return flat


def load_params(args: argparse.Namespace) -> ParameterContainer:
    """
    Build the task parameters from ``--task``, ``--set``, ``--seed``, ``--threads``, ...

    :param args: Parsed arguments.

    :returns: Validated parameters.
    """
    overrides: dict[str, Any] = {}
    for assignment in args.sets:
        key, value = parse_set(assignment)
        overrides[key] = value
    if args.seed is not None:
        overrides['seed'] = args.seed
    if getattr(args, 'threads', None) is not None:
        if args.threads < 0:
            raise ConfigError(f'--threads {args.threads}: expected a number >= 0')
        overrides['learner.threads'] = args.threads
        overrides['model.nthread'] = args.threads
    if getattr(args, 'no_demos', False):
        overrides['learner.use_planner'] = False
    return ParameterContainer(args.task or 'box_push', overrides)


@contextlib.contextmanager
def stop_on_signals(event: threading.Event) -> Iterator[None]:
    """
    Turn SIGINT and SIGTERM into a graceful stop: finish the cycle, checkpoint, exit 0.

    A second signal restores the default handler behaviour (a hard stop).

    :param event: Set when a stop is requested.
    """
    previous = {}

    def handler(signum: int, frame: Any) -> None:
        if event.is_set():
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        event.set()
        print(f'\n{signal.Signals(signum).name}: stopping after this cycle and saving a final '
              'checkpoint (send again to stop at once)', file=sys.stderr, flush=True)

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def run(args: argparse.Namespace) -> int:
    """
    Train, writing checkpoints, TensorBoard scalars, a learning curve and ``summary.json``.

    :param args: Parsed arguments.

    :returns: Exit code 0.
    """
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    from ddpg_manipulation.learning import checkpoint
    from ddpg_manipulation.learning.build import build_learner
    from ddpg_manipulation.learning.devices import resolve_device
    from ddpg_manipulation.learning.metrics import format_metrics
    from ddpg_manipulation.plotting import plot_learning_curves

    if args.epochs is not None and args.epochs < 1:
        raise ConfigError(f'--epochs {args.epochs}: expected an integer >= 1')
    if args.resume_buffer and not args.resume:
        raise ConfigError('--resume-buffer: needs --resume DIR')
    if args.resume:
        params, _ = resume_params(args)
    else:
        params = load_params(args)
    epochs = args.epochs if args.epochs is not None else params.learner_epochs
    checkpoint.check_writable(args.output)  # before any work, not after an hour
    if args.device is not None:
        resolve_device(args.device, '--device')  # likewise

    graph = None
    if params.learner_use_planner:
        from ddpg_manipulation.planner.search import demonstration_graph
        graph = demonstration_graph(params, show_progress=not args.quiet)

    learner = build_learner(params, graph, output_dir=args.output, save_cloud=bool(args.cloud),
                            cloud_url=args.cloud, save_buffer=args.save_buffer,
                            device=args.device or '')
    if args.resume:
        learner.resume(args.resume, with_buffer=args.resume_buffer)
        if args.epochs is None:
            epochs = learner.epochs_requested
        if learner.run_dir is None:
            learner.run_dir = checkpoint.new_run_dir(args.output, params.task_name)
    else:
        learner.run_dir = checkpoint.new_run_dir(args.output, params.task_name)
    run_dir = learner.run_dir
    remaining = max(0, epochs - learner.epoch)
    writer = SummaryWriter(str(run_dir / 'tensorboard'))
    bar = tqdm(total=epochs, initial=learner.epoch, desc=f'train {params.task_name}',
               unit='epoch', disable=args.quiet, file=sys.stderr)

    def progress(metrics: dict[str, Any]) -> None:
        for key in ('success_rate', 'relative_distance', 'demo_share', 'epoch_time'):
            writer.add_scalar(key, metrics[key], metrics['epoch'])
        writer.flush()
        plot_learning_curves({params.task_name: learner.history}, run_dir / 'learning_curve.png',
                             title=f'{params.task_name} (seed {params.seed})')
        write_json(run_dir / 'history.json', learner.history)
        bar.update(1)
        bar.set_postfix(success=f'{metrics["success_rate"]:.2f}',
                        rel_dist=f'{metrics["relative_distance"]:.3f}')
        tqdm.write(format_metrics(metrics), file=sys.stdout)

    learner.progress = progress
    started = time.perf_counter()
    with stop_on_signals(learner.stop_event):
        learner.train(remaining)
    bar.close()
    writer.close()
    last = learner.history[-1] if learner.history else {}
    best = learner.best if learner.best is not None and learner.best['checkpoint'] else None
    best_metrics = learner.history[best['epoch'] - 1] if best else {}
    summary = {
        'task': params.task_name,
        'seed': params.seed,
        'epochs': learner.epoch,
        'epochs_requested': epochs,
        'resumed_from': args.resume,
        'interrupted': learner.stop_event.is_set(),
        'final_success_rate': last.get('success_rate'),
        'final_relative_distance': last.get('relative_distance'),
        'best_success_rate': max((h['success_rate'] for h in learner.history), default=None),
        'wall_time_s': round(time.perf_counter() - started, 2),
        'device': str(learner.device),
        # The run's result: the checkpoint of the epoch with the best validation (what eval,
        # export and the policy node take from this run directory), or the newest without one.
        'checkpoint': best['checkpoint'] if best else learner.last_checkpoint,
        'result_epoch': best['epoch'] if best else learner.epoch,
        'result_success_rate': best_metrics.get('success_rate', last.get('success_rate')),
        'result_validation_success_rate': best_metrics.get('validation_success_rate'),
        'newest_checkpoint': learner.last_checkpoint,
        'run_dir': str(run_dir),
        'learning_curve': str(run_dir / 'learning_curve.png') if learner.history else None,
        'demonstrations': graph is not None,
        # Searches, nodes and seconds of the demonstration graph (None without demonstrations).
        'planning': graph.planning if graph is not None else None,
    }
    write_json(run_dir / 'summary.json', summary)
    print(json.dumps(summary, indent=2))
    return 0
