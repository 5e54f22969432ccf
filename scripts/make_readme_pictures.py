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
Make the README's pictures: rollout frame strips of trained policies and a learning curve.

Usage (headless; see ddpg_manipulation/render.py for the GL set-up)::

    python scripts/make_readme_pictures.py --output docs/images
        --box-push runs/box_push/RUN --planar-hand runs/planar_hand/RUN
        --floating-hand runs/floating_hand/RUN --hand-cube runs/hand_cube/RUN
        --curve runs/box_push/RUN [runs/box_push/RUN_WITHOUT_DEMOS]

(one command line, wrapped here).

Each policy is evaluated on seeded episodes and one is drawn as a strip of frames from start to
end, goal as a translucent ghost, through the task's camera (``model.camera``) where it names
one: the first successful episode, else the one that came closest. ``--motion`` spaces the
frames over the motion instead (the hands: the flip or the turn takes the first few seconds of an
episode that then holds the object).
The strip is named after the checkpoint's task (``<task>_rollout.png``), whatever flag brought
it, so a picture is never labelled with the wrong task. ``--curve`` draws ``learning_curve.png``
from the runs' ``history.json`` (two runs: overlaid, e.g. with and without demonstrations).
Every PNG is kept under ``--max-kib`` (palette, then smaller) so the repository stays light.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import sys
from typing import Sequence
import uuid

from ddpg_manipulation.config import ConfigError
from ddpg_manipulation.learning.checkpoint import CheckpointError
from ddpg_manipulation.policy import PolicyFileError
from ddpg_manipulation.render import RenderError


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """
    Parse the command line.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: The parsed arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--box-push', dest='policies', action='append', default=[],
                        metavar='CKPT', help='box_push checkpoint (or run) directory')
    parser.add_argument('--planar-hand', dest='policies', action='append', metavar='CKPT',
                        help='planar_hand checkpoint (or run) directory')
    parser.add_argument('--floating-hand', dest='policies', action='append', metavar='CKPT',
                        help='floating_hand checkpoint (or run) directory: the flip')
    parser.add_argument('--hand-cube', dest='policies', action='append', metavar='CKPT',
                        help='hand_cube checkpoint (or run) directory: the turn')
    parser.add_argument('--policy', dest='policies', action='append', metavar='CKPT',
                        help='checkpoint of any task, or an exported .onnx (repeatable)')
    parser.add_argument('--curve', nargs='+', default=[], metavar='RUN',
                        help='run directory (two: overlaid) for learning_curve.png')
    parser.add_argument('--output', default='docs/images', help='directory (default: %(default)s)')
    parser.add_argument('--episodes', type=int, default=20,
                        help='evaluation episodes to pick the drawn one from (default: '
                             '%(default)s)')
    parser.add_argument('--frames', type=int, default=5,
                        help='frames per strip (default: %(default)s)')
    parser.add_argument('--motion', action='store_true',
                        help='space the frames over the motion: from the start to the state '
                             'from which the episode stays successful, the last frame at its end')
    parser.add_argument('--max-kib', type=int, default=290,
                        help='size limit of each PNG in KiB (default: %(default)s)')
    args = parser.parse_args(argv)
    if not args.policies and not args.curve:
        parser.error('give at least one checkpoint (--box-push, --planar-hand, --floating-hand, '
                     '--hand-cube, --policy) or --curve')
    if len(args.curve) > 2:
        parser.error('--curve takes one or two runs')
    if args.episodes < 1 or args.frames < 2 or args.max_kib < 8:
        parser.error('expected --episodes >= 1, --frames >= 2 and --max-kib >= 8')
    return args


def shrink_png(path: Path, max_bytes: int) -> Path:
    """
    Make a PNG fit a size limit: a 256-colour palette first, then halve the area until it fits.

    :param path: The PNG (rewritten in place, atomically, only if too large).
    :param max_bytes: Size limit.

    :returns: The path.
    """
    from PIL import Image

    if path.stat().st_size <= max_bytes:
        return path
    with Image.open(path) as opened:
        image = opened.convert('RGB')
    scale = 1.0
    while True:
        size = (max(16, int(image.width * scale)), max(16, int(image.height * scale)))
        candidate = image.resize(size, Image.Resampling.LANCZOS) if scale < 1 else image
        candidate = candidate.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        tmp = path.with_name(f'.{path.stem}-{uuid.uuid4().hex[:8]}.png')
        try:
            candidate.save(tmp, format='PNG', optimize=True)
            if tmp.stat().st_size <= max_bytes or min(size) <= 16:
                os.replace(tmp, path)
                return path
        finally:
            tmp.unlink(missing_ok=True)
        scale *= 0.7071


def rollout_strip(checkpoint: str, output: Path, episodes: int, frames: int,
                  motion: bool = False) -> dict:
    """
    Evaluate a checkpoint and draw one episode as a frame strip.

    :param checkpoint: Checkpoint, run or output directory, or an exported ``.onnx`` policy.
    :param output: Directory of the PNG.
    :param episodes: Evaluation episodes to choose from.
    :param frames: Frames in the strip.
    :param motion: Space the frames over the motion (``render.strip_steps``).

    :returns: What was drawn: task, file, episode, its final relative distance and success.
    """
    from ddpg_manipulation.commands.eval import task_params
    from ddpg_manipulation.evaluation import evaluate
    from ddpg_manipulation.policy import Policy
    from ddpg_manipulation.render import render_frame_strip

    policy = Policy.load(checkpoint)
    params = task_params(policy, None)
    result = evaluate(policy, params, episodes)
    distances = result.relative_distances
    successes = (distances < params.learner_final_success_distance).nonzero().flatten()
    episode = int(successes[0]) if len(successes) else int(distances.argmin())
    path = render_frame_strip(params, result.states[episode], result.goals[episode],
                              output / f'{params.task_name}_rollout.png', frames=frames,
                              motion=motion)
    return {'task': params.task_name, 'checkpoint': policy.metadata['path'], 'file': str(path),
            'episode': episode, 'relative_distance': float(distances[episode]),
            'success': bool(len(successes)), 'success_rate': result.success_rate}


def learning_curve(runs: Sequence[str], output: Path) -> dict:
    """
    Draw the learning curve of one run, or two overlaid.

    :param runs: Run directories.
    :param output: Directory of the PNG.

    :returns: The file and the labels.
    """
    from ddpg_manipulation.commands.plot import labels, read_run
    from ddpg_manipulation.plotting import plot_learning_curves

    loaded = [read_run(run) for run in runs]
    names = labels(loaded)
    title = ' vs '.join(names) if len(loaded) > 1 else f'{loaded[0].task}: learning curve'
    path = plot_learning_curves({n: r.history for n, r in zip(names, loaded)},
                                output / 'learning_curve.png', title=title)
    return {'file': str(path), 'labels': names}


def main(argv: Sequence[str] | None = None) -> int:
    """
    Make the pictures and print a JSON line describing them.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: Exit code: 0, or 1 on a bad checkpoint, run or GL set-up.
    """
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    made = []
    try:
        for checkpoint in args.policies:
            made.append(rollout_strip(checkpoint, output, args.episodes, args.frames,
                                      args.motion))
        if args.curve:
            made.append(learning_curve(args.curve, output))
    except (CheckpointError, ConfigError, PolicyFileError, RenderError) as error:
        print(f'make_readme_pictures: error: {error}', file=sys.stderr)
        return 1
    for item in made:
        path = shrink_png(Path(item['file']), args.max_kib * 1024)
        item['bytes'] = path.stat().st_size
    print(json.dumps({'output': str(output), 'pictures': made}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
