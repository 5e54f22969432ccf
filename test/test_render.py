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

"""Headless rendering: frames of each task, videos, frame strips, eval --render, README script."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from ddpg_manipulation import render
from ddpg_manipulation.cli import main
from ddpg_manipulation.config import ParameterContainer

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope='module')
def backend() -> str:
    """Return the GL backend in use; skip only if there is none at all."""
    try:
        return render.gl_backend()
    except render.RenderError as error:
        pytest.skip(f'no headless OpenGL backend here: {error}')


@pytest.fixture
def writers() -> None:
    """Skip where the render extra (imageio, imageio-ffmpeg, pillow) is not installed."""
    for module in ('imageio', 'imageio_ffmpeg', 'PIL'):
        pytest.importorskip(module, reason='needs the render extra: pip install -e .[render]')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory: pytest.TempPathFactory, backend: str) -> str:
    """Train a tiny box_reach policy for one epoch; its run directory gets a history."""
    from ddpg_manipulation.learning.build import build_learner

    params = ParameterContainer('box_reach', {'learner.cycles': 1, 'learner.batches': 1,
                                              'learner.evals': 2})
    learner = build_learner(params, None, output_dir=tmp_path_factory.mktemp('runs'),
                            verbose=False)
    learner.train(1)
    (learner.run_dir / 'history.json').write_text(json.dumps(learner.history))
    return learner.last_checkpoint


def moved(params: ParameterContainer) -> tuple[np.ndarray, np.ndarray]:
    """Return the start state and a state half way to the nominal goal."""
    start = np.asarray(params.start_state, dtype=np.float64)
    goal = np.asarray(params.goal_state, dtype=np.float64)
    return start, start + 0.5 * (goal - start)


@pytest.mark.parametrize('task', ['box_push', 'planar_hand'])
def test_frames_show_the_scene_and_its_motion(backend: str, task: str) -> None:
    params = ParameterContainer(task)
    start, middle = moved(params)
    goal = np.asarray(params.goal_state)
    with render.SceneRenderer(params, 320, 120) as renderer:
        renderer.fit_camera(np.stack([start, middle, goal]))
        first = renderer.render(start, goal).astype(np.int16)
        later = renderer.render(middle, goal).astype(np.int16)
        no_ghost = renderer.render(start).astype(np.int16)
    assert first.shape == (120, 320, 3)
    assert first.std() > 10, 'blank frame'
    assert changed_pixels(first, later) > 20, 'start and later frames look the same'
    assert changed_pixels(first, no_ghost) > 20, 'the goal ghost is not drawn'


def changed_pixels(a: np.ndarray, b: np.ndarray) -> int:
    """Count the pixels whose colour differs by more than 20 of 255 in some channel."""
    return int((np.abs(a - b).max(axis=-1) > 20).sum())


def test_goal_ghost_covers_the_bodies_the_goal_fixes() -> None:
    for task, bodies in (('box_push', {'object'}), ('box_reach', {'cart'}),
                         ('planar_hand', {'box'})):
        model = ParameterContainer(task).model
        names = {model.body(b).name for b in render.goal_bodies(
            model, ParameterContainer(task).reward_distance_scaling)}
        assert names == bodies, task


def test_videos_and_strip_are_written_atomically(backend: str, writers: None,
                                                 tmp_path: Path) -> None:
    import imageio.v3 as iio

    params = ParameterContainer('planar_hand')
    start, middle = moved(params)
    states = np.stack([start + (middle - start) * a for a in np.linspace(0, 1, 4)])
    goal = np.asarray(params.goal_state)
    gif = render.render_trajectories(params, states, goal, tmp_path / 'hand.gif', width=96,
                                     height=64, hold_s=0.0)
    frames = iio.imread(gif, index=None)
    assert frames.shape[1:3] == (64, 96)
    assert len(frames) >= 2
    mp4 = render.render_trajectories(params, states[None], goal[None], tmp_path / 'hand.mp4',
                                     width=96, height=64)
    assert iio.imread(mp4, index=None, plugin='FFMPEG').shape[1:3] == (64, 96)
    strip = render.render_frame_strip(params, states, goal, tmp_path / 'strip.png', frames=3,
                                      width=80, height=64)
    assert iio.imread(strip).shape == (64, 3 * 80 + 2 * 4, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['hand.gif', 'hand.mp4', 'strip.png']


def test_strip_steps_span_the_episode_or_its_motion() -> None:
    # Within the success distance 0.2 from state 3 on, after passing through it at state 1.
    distances = np.array([1.0, 0.1, 0.6, 0.15, 0.1, 0.12, 0.1, 0.1, 0.1, 0.1, 0.1])
    assert render.strip_steps(distances, 0.2, 5).tolist() == [0, 2, 5, 8, 10]
    assert render.strip_steps(distances, 0.2, 5, motion=True).tolist() == [0, 1, 2, 3, 10]
    assert render.strip_steps(distances, 0.2, 2, motion=True).tolist() == [0, 10]
    # Never settled, or settled only at the end, or from the start: the whole episode.
    for never in (np.full(11, 0.5), np.append(np.full(10, 0.5), 0.1), np.full(11, 0.1)):
        assert render.strip_steps(never, 0.2, 3, motion=True).tolist() == [0, 5, 10]


def test_bad_render_requests_are_clear_errors(backend: str, tmp_path: Path) -> None:
    params = ParameterContainer('box_push')
    states = np.zeros((1, 3, params.state_dimension))
    with pytest.raises(render.RenderError, match='.mp4 or .gif'):
        render.render_trajectories(params, states, states[:, 0], tmp_path / 'video.avi')
    states[0, 1, 0] = np.nan
    with pytest.raises(render.RenderError, match='NaN'):
        render.render_trajectories(params, states, states[:, 0], tmp_path / 'video.gif')
    assert list(tmp_path.iterdir()) == []


def test_disabled_gl_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, '_backend', None)
    monkeypatch.setenv('MUJOCO_GL', 'disable')
    with pytest.raises(render.RenderError, match='disables rendering'):
        render.gl_backend()


def test_eval_render_writes_a_gif(checkpoint: str, writers: None, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    import imageio.v3 as iio

    output = tmp_path / 'eval.gif'
    assert main(['eval', '--checkpoint', checkpoint, '--episodes', '2', '--render',
                 str(output), '--render-episodes', '1']) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary['render'] == str(output)
    assert summary['episodes'] == 2
    frames = iio.imread(output, index=None)
    assert frames.shape[2] >= 320  # a rail task gets wide, flat frames
    assert frames.std() > 10


def test_eval_render_rejects_an_unknown_suffix(checkpoint: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(['eval', '--checkpoint', checkpoint, '--render', str(tmp_path / 'x.avi')]) == 1
    assert '.mp4 or .gif' in capsys.readouterr().err


def load_script() -> ModuleType:
    """Import scripts/make_readme_pictures.py as a module."""
    spec = importlib.util.spec_from_file_location(
        'make_readme_pictures', REPO / 'scripts' / 'make_readme_pictures.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_pictures_from_any_checkpoint(checkpoint: str, writers: None, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script()
    run_dir = Path(checkpoint).parent.parent
    output = tmp_path / 'images'
    assert script.main(['--box-push', checkpoint, '--curve', str(run_dir), '--output',
                        str(output), '--episodes', '2', '--frames', '3']) == 0
    made = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    files = sorted(p.name for p in output.iterdir())
    assert files == ['box_reach_rollout.png', 'learning_curve.png']
    for picture in made['pictures']:
        assert 0 < picture['bytes'] < 300 * 1024


def test_shrink_png_meets_the_limit(writers: None, tmp_path: Path) -> None:
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    path = tmp_path / 'noise.png'
    Image.fromarray(noise).save(path)
    assert path.stat().st_size > 100_000
    load_script().shrink_png(path, 100_000)
    assert path.stat().st_size <= 100_000
    assert [p.name for p in tmp_path.iterdir()] == ['noise.png']
