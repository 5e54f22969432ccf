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
Headless rendering of trajectories: videos (``.mp4``, ``.gif``) and frame strips (``.png``).

The goal is drawn as a translucent green ghost of the goal state. Only the bodies whose position
enters the task's distance (a nonzero ``reward.distance_scaling`` entry, and their children) are
ghosted: a goal that fixes the object does not also show a hand pose that does not matter.
Marker geoms of group 2 (the coloured faces that show an object's orientation) are ghosted in
a darker green, so the ghost shows the goal's orientation too; the ghost draws no sites.

OpenGL: MuJoCo's offscreen rendering needs a GL context without a display. ``MUJOCO_GL`` picks
the backend (``egl`` or ``osmesa``; ``glfw`` needs a display). When it is unset, ``egl`` and then
``osmesa`` are probed, each in a child process, since a failed attempt can leave PyOpenGL bound
to a platform for the rest of this process; the winner is exported as ``MUJOCO_GL`` and
``PYOPENGL_PLATFORM``. The context is created here rather than through ``mujoco.Renderer``,
because ``mujoco`` fixes its context class when it is first imported, usually before anyone asks
for a picture.
"""

from __future__ import annotations

import copy
import importlib
import math
import os
from pathlib import Path
import subprocess
import sys
from typing import Any, Iterable, Iterator, Sequence

import mujoco
import numpy as np

from ddpg_manipulation.atomic import atomic_path
from ddpg_manipulation.errors import PackageError

HEADLESS_BACKENDS = ('egl', 'osmesa')
VIDEO_SUFFIXES = ('.mp4', '.gif')
APT_HINT = ('install a headless OpenGL: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri '
            'libopengl0 (EGL) or libosmesa6 (OSMesa), or set MUJOCO_GL')
GHOST_RGBA = (0.25, 0.85, 0.35, 0.35)
MARKER_GROUP = 2
GHOST_MARKER_RGBA = (0.02, 0.3, 0.08, 0.75)
# Geoms of this group are hidden by MuJoCo's default visual options (groups 0-2 are shown).
HIDDEN_GROUP = 5
# Frame sizes: mp4 wants multiples of 16 (codec macro blocks); gifs are kept small.
DEFAULT_SIZES = {'.mp4': (640, 480), '.gif': (320, 240), '.png': (320, 240)}
PROBE_TIMEOUT_S = 60.0
MAX_GIF_FRAMES = 2000  # about 460 MB of frames held at 320 x 240
# A scene wider than tall by more than this (a cart on a long rail) gets flat frames, seen more
# from the side, and a frame strip of it stacks them top to bottom.
WIDE_ASPECT = 3.0
DEFAULT_ELEVATION = -20.0
WIDE_ELEVATION = -10.0

_backend: str | None = None


class RenderError(PackageError, RuntimeError):
    """Rendering is impossible here (no GL backend, no video writer) or its input is wrong."""


# -- GL backend ------------------------------------------------------------------------------


def gl_backend() -> str:
    """
    Choose the OpenGL backend for offscreen rendering, probing when ``MUJOCO_GL`` is unset.

    :returns: ``egl``, ``osmesa`` or ``glfw``; also exported as ``MUJOCO_GL`` (and, for ``egl`` and
        ``osmesa``, as ``PYOPENGL_PLATFORM`` if that was unset), so child processes agree.
    """
    global _backend
    if _backend is not None:
        return _backend
    requested = os.environ.get('MUJOCO_GL', '').strip().lower()
    if requested in ('disable', 'disabled', 'off', 'false', '0'):
        raise RenderError(f'MUJOCO_GL={requested} disables rendering; unset it or set egl/osmesa')
    if requested in ('egl', 'osmesa', 'glfw'):
        chosen = requested
    elif requested in ('', 'enable', 'enabled', 'on', 'true', '1'):
        # A PyOpenGL platform chosen by the user leaves only the backend that matches it.
        platform = os.environ.get('PYOPENGL_PLATFORM', '').strip().lower()
        candidates = (platform,) if platform in HEADLESS_BACKENDS else HEADLESS_BACKENDS
        failures = []
        for backend in candidates:
            error = probe_backend(backend)
            if error is None:
                chosen = backend
                break
            failures.append(f'{backend}: {error}')
        else:
            raise RenderError(f'no headless OpenGL backend works ({"; ".join(failures)}); '
                              f'{APT_HINT}')
    else:
        raise RenderError(f'MUJOCO_GL={requested}: expected egl, osmesa or glfw')
    os.environ['MUJOCO_GL'] = chosen
    if chosen in HEADLESS_BACKENDS:
        os.environ.setdefault('PYOPENGL_PLATFORM', chosen)
    _backend = chosen
    return chosen


def probe_backend(backend: str) -> str | None:
    """
    Check in a child process that a GL backend can create a context and a MuJoCo renderer.

    :param backend: ``egl`` or ``osmesa``.

    :returns: None if it works, else the last line of the child's error.
    """
    env = dict(os.environ, MUJOCO_GL=backend, PYOPENGL_PLATFORM=backend)
    package_root = str(Path(__file__).resolve().parent.parent)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (package_root, env.get('PYTHONPATH')) if p)
    try:
        done = subprocess.run(
            [sys.executable, '-m', 'ddpg_manipulation.render', '--probe', backend], env=env,
            capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return f'no answer within {PROBE_TIMEOUT_S:.0f} s'
    if done.returncode == 0:
        return None
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1].strip() if lines else f'exit code {done.returncode}'


def _context_class(backend: str) -> Any:
    if backend in HEADLESS_BACKENDS:
        platform = os.environ.setdefault('PYOPENGL_PLATFORM', backend)
        if platform.lower() != backend:
            raise RenderError(f'PYOPENGL_PLATFORM={platform} conflicts with MUJOCO_GL={backend}; '
                              'unset one of them')
        loaded = sys.modules.get('OpenGL.platform')
        bound = type(getattr(loaded, 'PLATFORM', None)).__name__.lower()
        if loaded is not None and not bound.startswith(backend):
            raise RenderError(f'PyOpenGL is already bound to {bound} in this process; set '
                              f'MUJOCO_GL={backend} before starting Python')
    try:
        return importlib.import_module(f'mujoco.{backend}').GLContext
    except (ImportError, OSError, AttributeError) as error:
        raise RenderError(f'MUJOCO_GL={backend}: cannot load the GL backend ({error}); '
                          f'{APT_HINT}') from error


def _probe_main(backend: str) -> int:
    context = _context_class(backend)(16, 16)
    context.make_current()
    model = mujoco.MjModel.from_xml_string('<mujoco><worldbody><geom size="1"/></worldbody>'
                                           '</mujoco>')
    mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100).free()
    context.free()
    return 0


# -- scene -----------------------------------------------------------------------------------


def goal_bodies(model: mujoco.MjModel, distance_scaling: Sequence[float]) -> set[int]:
    """
    Find the bodies whose pose the goal fixes: a joint with a weighted position, and below.

    :param model: The model.
    :param distance_scaling: Diagonal distance scaling per degree of freedom (positions first).

    :returns: Body ids (never the world body); every moving body if no position is weighted.
    """
    scaling = np.asarray(distance_scaling, dtype=np.float64)[:model.nv]
    widths = {int(mujoco.mjtJoint.mjJNT_FREE): 6, int(mujoco.mjtJoint.mjJNT_BALL): 3}
    direct = set()
    for joint in range(model.njnt):
        start = int(model.jnt_dofadr[joint])
        width = widths.get(int(model.jnt_type[joint]), 1)
        if np.any(scaling[start:start + width] > 0):
            direct.add(int(model.jnt_bodyid[joint]))
    bodies = set()
    for body in range(1, model.nbody):
        ancestor = body
        while ancestor > 0:
            if ancestor in direct:
                bodies.add(body)
                break
            ancestor = int(model.body_parentid[ancestor])
    return bodies or set(range(1, model.nbody))


def relative_distances(params: Any, states: np.ndarray, goals: np.ndarray) -> np.ndarray:
    """
    Compute the relative distance of every state of every episode to its goal.

    :param params: Task parameters (``reward_distance_scaling``, ``state_space``).
    :param states: States, shape (episodes, steps + 1, nx); index 0 is the start.
    :param goals: Goals, shape (episodes, nx).

    :returns: Relative distances, shape (episodes, steps + 1): 1 = no progress, 0 = at the goal.
    """
    scaling = np.asarray(params.reward_distance_scaling, dtype=np.float64)
    distances = params.state_space.scaled_distances(states, goals[:, None], scaling)
    return distances / np.maximum(distances[:, :1], 1e-6)


class SceneRenderer:
    """
    Offscreen renderer of a task's states, with the goal as a translucent ghost.

    Use it as a context manager (or call :meth:`close`): it owns a GL context.

    :param params: Task parameters (``model_path``, ``reward_distance_scaling``).
    :param width: Image width in pixels.
    :param height: Image height in pixels.
    :param camera: Name of a camera of the model; default the task's ``model.camera``, or where
        that is empty a free camera fitted by :meth:`fit_camera`.
    :param antialias: Multisample (4x); costs about twice the time per frame in software GL.
    """

    def __init__(self, params: Any, width: int = 320, height: int = 240,
                 camera: str | None = None, antialias: bool = False) -> None:
        if width < 16 or height < 16:
            raise RenderError(f'image size {width}x{height}: expected at least 16x16 pixels')
        context_class = _context_class(gl_backend())
        self.width, self.height = int(width), int(height)
        self.model = _display_model(params.model_path)
        visual = self.model.vis.global_
        # The offscreen buffer is sized from the model; ours may ask for more than its default.
        visual.offwidth = max(int(visual.offwidth), self.width)
        visual.offheight = max(int(visual.offheight), self.height)
        self.model.vis.quality.offsamples = 4 if antialias else 0
        # MuJoCo's default 4096-pixel shadow map dominates the frame time of software GL
        # (llvmpipe) at these image sizes; 1024 pixels look the same in a small frame.
        self.model.vis.quality.shadowsize = min(int(self.model.vis.quality.shadowsize), 1024)
        self._ghost_model = _ghost_model(self.model, params.reward_distance_scaling)
        self.data = mujoco.MjData(self.model)
        self._ghost_data = mujoco.MjData(self._ghost_model)
        self.option = mujoco.MjvOption()
        self._perturb = mujoco.MjvPerturb()
        self.scene = mujoco.MjvScene(self.model, maxgeom=2 * self.model.ngeom + 100)
        self.viewport = mujoco.MjrRect(0, 0, self.width, self.height)
        self.camera = mujoco.MjvCamera()
        camera = task_camera(params, camera)
        if camera is not None:
            camera_id = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
            if camera_id < 0:
                raise RenderError(f'{params.model_path}: no camera named {camera!r}')
            self.camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
            self.camera.fixedcamid = camera_id
        self._fixed_camera = camera is not None
        self._context: Any = None
        self._mjr: Any = None
        try:
            self._context = context_class(self.width, self.height)
            self._context.make_current()
            self._mjr = mujoco.MjrContext(self.model, mujoco.mjtFontScale.mjFONTSCALE_100)
            mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._mjr)
        except Exception as error:  # noqa: BLE001 - GL failures come as many types
            self.close()
            raise RenderError(f'cannot create an offscreen GL context with MUJOCO_GL='
                              f'{gl_backend()} ({type(error).__name__}: {error}); '
                              f'{APT_HINT}') from error

    def __enter__(self) -> SceneRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the MuJoCo render context and the GL context (safe to call twice)."""
        if self._mjr is not None:
            self._mjr.free()
            self._mjr = None
        if self._context is not None:
            self._context.free()
            self._context = None

    def _set_state(self, model: mujoco.MjModel, data: mujoco.MjData, state: np.ndarray) -> None:
        nq, nv, na = model.nq, model.nv, model.na
        data.qpos[:] = state[:nq]
        data.qvel[:] = state[nq:nq + nv]
        if na:
            data.act[:] = state[nq + nv:nq + nv + na]

    def fit_camera(self, states: np.ndarray, azimuth: float = 90.0,
                   elevation: float = DEFAULT_ELEVATION) -> None:
        """
        Aim the free camera so that every given state fits in the image.

        The default azimuth looks along +y: x to the right, z up, the plane both tasks use.

        :param states: States to fit, shape (n, nx) (e.g. every frame and the goals).
        :param azimuth: Camera azimuth in degrees.
        :param elevation: Camera elevation in degrees (negative looks down).
        """
        if self._fixed_camera:
            return
        low, high = scene_extent(self.model, states)
        half = (high - low) / 2
        half_fov = math.radians(float(self.model.vis.global_.fovy)) / 2
        aspect = self.width / self.height
        distance = max(_view_height(low, high, elevation) / 2 / math.tan(half_fov),
                       half[0] / (math.tan(half_fov) * aspect))
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        self.camera.lookat[:] = (low + high) / 2
        self.camera.distance = 1.15 * distance + half[1]
        self.camera.azimuth = azimuth
        self.camera.elevation = elevation

    def render(self, state: np.ndarray, goal: np.ndarray | None = None,
               overlay: tuple[str, str] | None = None) -> np.ndarray:
        """
        Render one state.

        :param state: State ``[qpos, qvel(, act)]``, shape (nx,).
        :param goal: Goal state drawn as a ghost, shape (nx,), or None.
        :param overlay: Text columns (labels, values) drawn at the top left, or None.

        :returns: RGB image, shape (height, width, 3), uint8.
        """
        if self._mjr is None:
            raise RenderError('the renderer is closed')
        self._set_state(self.model, self.data, np.asarray(state, dtype=np.float64))
        mujoco.mj_forward(self.model, self.data)
        mujoco.mjv_updateScene(self.model, self.data, self.option, self._perturb, self.camera,
                               mujoco.mjtCatBit.mjCAT_ALL, self.scene)
        if goal is not None:
            self._set_state(self._ghost_model, self._ghost_data,
                            np.asarray(goal, dtype=np.float64))
            mujoco.mj_kinematics(self._ghost_model, self._ghost_data)
            mujoco.mjv_addGeoms(self._ghost_model, self._ghost_data, self.option, self._perturb,
                                mujoco.mjtCatBit.mjCAT_DYNAMIC, self.scene)
        self._context.make_current()
        mujoco.mjr_render(self.viewport, self.scene, self._mjr)
        if overlay is not None:
            mujoco.mjr_overlay(mujoco.mjtFont.mjFONT_NORMAL, mujoco.mjtGridPos.mjGRID_TOPLEFT,
                               self.viewport, overlay[0], overlay[1], self._mjr)
        image = np.empty((self.height, self.width, 3), dtype=np.uint8)
        mujoco.mjr_readPixels(image, None, self.viewport, self._mjr)
        return np.ascontiguousarray(image[::-1])  # GL rows run bottom-up


def task_camera(params: Any, camera: str | None = None) -> str | None:
    """
    Choose the camera to render a task with.

    :param params: Task parameters (``model_camera``).
    :param camera: A camera asked for by name, or None.

    :returns: ``camera`` if given, else the task's ``model.camera``; None (a fitted free camera)
        where neither names one.
    """
    if camera:
        return camera
    return getattr(params, 'model_camera', '') or None


def _display_model(model_path: str | os.PathLike) -> mujoco.MjModel:
    spec = mujoco.MjSpec.from_file(str(model_path))
    if not any(t.type == mujoco.mjtTexture.mjTEXTURE_SKYBOX for t in spec.textures):
        # A light backdrop: dark links on MuJoCo's default black background are hard to see.
        sky = spec.add_texture()
        sky.name = 'ddpg_manipulation_render_sky'
        sky.type = mujoco.mjtTexture.mjTEXTURE_SKYBOX
        sky.builtin = mujoco.mjtBuiltin.mjBUILTIN_GRADIENT
        sky.rgb1 = [0.97, 0.97, 0.98]
        sky.rgb2 = [0.78, 0.82, 0.88]
        sky.width = sky.height = 256
    return spec.compile()


def scene_extent(model: mujoco.MjModel, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """
    Bound the shown, non-world geoms over a set of states by an axis-aligned box.

    World geoms (floors, walls) are left out, or they would dominate the box; so are geoms of
    hidden groups (3 and up), which MuJoCo does not draw by default.

    :param model: The model.
    :param states: States, shape (..., nx).

    :returns: Lower and upper corners, shape (3,) each, at least 2 mm apart on every axis.
    """
    data = mujoco.MjData(model)
    shown = (model.geom_bodyid > 0) & (model.geom_group < 3)
    if not shown.any():
        shown = model.geom_group < 3
    radius = model.geom_rbound[shown][:, None]
    low, high = np.full(3, np.inf), np.full(3, -np.inf)
    states = np.asarray(states, dtype=np.float64)
    nq, nv, na = model.nq, model.nv, model.na
    for state in states.reshape(-1, states.shape[-1]):
        data.qpos[:] = state[:nq]
        if na:
            data.act[:] = state[nq + nv:nq + nv + na]
        mujoco.mj_kinematics(model, data)
        positions = data.geom_xpos[shown]
        low = np.minimum(low, (positions - radius).min(axis=0))
        high = np.maximum(high, (positions + radius).max(axis=0))
    centre = (low + high) / 2
    half = np.maximum((high - low) / 2, 1e-3)
    return centre - half, centre + half


def _view_height(low: np.ndarray, high: np.ndarray, elevation: float) -> float:
    # Seen from azimuth 90 tilted by the elevation, the image's vertical spans z and part of y.
    tilt = math.radians(abs(elevation))
    return float((high[2] - low[2]) * math.cos(tilt) + (high[1] - low[1]) * math.sin(tilt))


def _ghost_model(model: mujoco.MjModel, distance_scaling: Sequence[float]) -> mujoco.MjModel:
    ghost = copy.deepcopy(model)
    bodies = goal_bodies(model, distance_scaling)
    for geom in range(model.ngeom):
        if int(model.geom_bodyid[geom]) in bodies:
            marker = int(model.geom_group[geom]) == MARKER_GROUP
            ghost.geom_rgba[geom] = GHOST_MARKER_RGBA if marker else GHOST_RGBA
        else:
            ghost.geom_group[geom] = HIDDEN_GROUP
    # mjv_addGeoms draws sites as well: the ghost's would float where the goal puts the hand.
    ghost.site_group[:] = HIDDEN_GROUP
    ghost.geom_matid[:] = -1  # a material's colour would win over the ghost's rgba
    return ghost


# -- videos and strips -----------------------------------------------------------------------


def _numpy(values: Any) -> np.ndarray:
    if hasattr(values, 'detach'):  # a torch tensor, without importing torch here
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def _episodes(states: Any, goals: Any) -> tuple[np.ndarray, np.ndarray]:
    states, goals = _numpy(states), _numpy(goals)
    if states.ndim == 2:
        states = states[None]
    if states.ndim != 3:
        raise RenderError(f'states: expected shape (episodes, steps + 1, nx), got {states.shape}')
    goals = np.broadcast_to(goals.reshape(-1, states.shape[-1]), (states.shape[0],
                                                                  states.shape[-1]))
    if not (np.all(np.isfinite(states)) and np.all(np.isfinite(goals))):
        raise RenderError('states or goals hold NaN or inf')
    return states, np.array(goals)


def check_video_path(path: str | os.PathLike) -> Path:
    """
    Check that a video can be written to ``path`` (suffix known, writer installed).

    :param path: Destination, ``.mp4`` or ``.gif``.

    :returns: The path.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise RenderError(f'{path}: expected a file name ending in .mp4 or .gif')
    if suffix == '.mp4':
        try:
            importlib.import_module('imageio_ffmpeg')
        except ImportError as error:
            raise RenderError(f'{path}: writing .mp4 needs imageio-ffmpeg (pip install '
                              'imageio-ffmpeg, or pip install -e .[render]); or write a .gif'
                              ) from error
    return path


def write_video(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float) -> Path:
    """
    Write RGB frames to an ``.mp4`` (H.264) or ``.gif`` through a temporary file and a rename.

    :param frames: RGB images, each (height, width, 3) uint8.
    :param path: Destination, ``.mp4`` or ``.gif``.
    :param fps: Frames per second.

    :returns: The destination path.
    """
    import imageio.v2 as imageio  # only writers need it
    import imageio.v3 as iio

    path = check_video_path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == '.gif':
            # Pillow keeps every frame until it saves, so a gif's length is capped (an mp4
            # streams); it stores only what changed between frames, so still scenes stay small.
            with iio.imopen(tmp, 'w', plugin='pillow', extension='.gif') as writer:
                for count, frame in enumerate(frames, start=1):
                    if count > MAX_GIF_FRAMES:
                        raise RenderError(f'{path}: more than {MAX_GIF_FRAMES} frames; write an '
                                          '.mp4 or render fewer episodes')
                    writer.write(frame, is_batch=False, duration=1000.0 / fps, loop=0)
        else:
            with imageio.get_writer(tmp, format='FFMPEG', mode='I', fps=fps, codec='libx264',
                                    quality=7, pixelformat='yuv420p', macro_block_size=16,
                                    ffmpeg_log_level='error') as writer:
                for frame in frames:
                    writer.append_data(frame)
    return path


def frame_size(params: Any, states: np.ndarray, kind: str) -> tuple[int, int, bool]:
    """
    Choose a frame size that suits the scene: a scene much wider than tall gets flat frames.

    :param params: Task parameters (``model_path``).
    :param states: Every state that will be shown (goals included), shape (..., nx).
    :param kind: ``.mp4``, ``.gif`` or ``.png`` (frame strip).

    :returns: Width, height, and whether the scene counts as wide.
    """
    low, high = scene_extent(_display_model(params.model_path), states)
    aspect = float((high[0] - low[0]) / _view_height(low, high, WIDE_ELEVATION))
    width, height = DEFAULT_SIZES[kind]
    if aspect <= WIDE_ASPECT:
        return width, height, False
    width = max(width, 480) if kind != '.png' else 640
    # Room for the bodies plus the one-line overlay above them; multiples of 16 for codecs.
    height = int(np.clip(round(width / aspect * 3 / 16) * 16, 96, height))
    return width, height, True


def _overlay(time_s: float, distance: float, threshold: float, last: bool,
             episode: str = '') -> tuple[str, str]:
    # One line: in a flat frame more would hide the bodies.
    values = f'rel. distance {distance:.3f}'
    if last:
        values += ', success' if distance < threshold else ', failure'
    return f'{episode}{time_s:.1f} s', values


def render_trajectories(
    params: Any, states: Any, goals: Any, path: str | os.PathLike, episodes: int | None = None,
    width: int | None = None, height: int | None = None, speed: float = 4.0,
    hold_s: float = 1.0, camera: str | None = None,
) -> Path:
    """
    Render episodes one after the other into a video, the goal as a ghost, text overlaid.

    Every frame shows the episode, the simulated time and the relative distance to the goal;
    the last frame of each episode is held and says success or failure. A planner path is an
    episode too: pass its states with shape (1, T + 1, nx) (or (T + 1, nx)).

    :param params: Task parameters.
    :param states: States, shape (episodes, steps + 1, nx), torch or numpy.
    :param goals: Goals, shape (episodes, nx) or (nx,).
    :param path: Destination, ``.mp4`` or ``.gif``.
    :param episodes: Render only the first this many episodes (default all).
    :param width: Frame width (default 640 for mp4, 320 for gif; see :func:`frame_size`).
    :param height: Frame height (default 480 for mp4, 240 for gif; less for a wide scene).
    :param speed: Playback speed relative to simulated time (one frame per action step).
    :param hold_s: Seconds of video for which the last frame of each episode is held.
    :param camera: Named model camera (default the task's ``model.camera``, else a fitted free
        camera).

    :returns: The video path.
    """
    path = check_video_path(path)
    states, goals = _episodes(states, goals)
    if episodes is not None:
        if episodes < 1:
            raise RenderError(f'episodes {episodes}: expected an integer >= 1')
        states, goals = states[:episodes], goals[:episodes]
    if speed <= 0:
        raise RenderError(f'speed {speed}: expected a number > 0')
    shown = np.concatenate([states.reshape(-1, states.shape[-1]), goals])
    camera = task_camera(params, camera)
    default_width, default_height, wide = frame_size(params, shown, path.suffix.lower())
    if camera is not None:  # a model camera frames the scene itself: the usual frame size
        (default_width, default_height), wide = DEFAULT_SIZES[path.suffix.lower()], False
    fps = speed / float(params.action_time_step)
    distances = relative_distances(params, states, goals)
    threshold = float(params.learner_final_success_distance)
    hold = max(1, int(round(hold_s * fps)))
    total = states.shape[0] * (states.shape[1] - 1 + hold)
    if path.suffix.lower() == '.gif' and total > MAX_GIF_FRAMES:
        raise RenderError(f'{path}: {states.shape[0]} episodes make {total} frames, more than a '
                          f'gif holds here ({MAX_GIF_FRAMES}); write an .mp4 or render fewer')
    with SceneRenderer(params, width or default_width, height or default_height,
                       camera) as renderer:
        renderer.fit_camera(shown, elevation=WIDE_ELEVATION if wide else DEFAULT_ELEVATION)

        def frames() -> Iterator[np.ndarray]:
            count, last = states.shape[0], states.shape[1] - 1
            for episode in range(count):
                for step in range(last + 1):
                    overlay = _overlay(step * params.action_time_step, distances[episode, step],
                                       threshold, step == last, f'episode {episode + 1}/{count}  ')
                    frame = renderer.render(states[episode, step], goals[episode], overlay)
                    for _ in range(hold if step == last else 1):
                        yield frame

        return write_video(frames(), path, fps)


def strip_steps(distances: np.ndarray, threshold: float, frames: int,
                motion: bool = False) -> np.ndarray:
    """
    Choose the states of an episode that a frame strip shows.

    :param distances: Relative distance of each state to the goal, shape (steps + 1,).
    :param threshold: The success distance.
    :param frames: Number of frames (at least 2).
    :param motion: Space all frames but the last over the motion, from the start to the state
        from which the episode stays within ``threshold``, and show the last state in the last
        frame (a policy that turns the cube in its first seconds and then holds it would
        otherwise show the turn in one frame and the holding in the rest). Where the episode never
        stays within ``threshold``, or is there from the start, the frames span the episode.

    :returns: Sorted state indices, from 0 to the last state.
    """
    last = len(distances) - 1
    if motion:
        outside = np.flatnonzero(np.asarray(distances) >= threshold)
        settled = int(outside[-1]) + 1 if len(outside) else 0
        if 0 < settled < last:
            steps = np.linspace(0, settled, frames - 1).round().astype(int)
            return np.unique(np.append(steps, last))
    return np.unique(np.linspace(0, last, frames).round().astype(int))


def render_frame_strip(
    params: Any, states: Any, goal: Any, path: str | os.PathLike, frames: int = 5,
    width: int | None = None, height: int | None = None, camera: str | None = None,
    motion: bool = False,
) -> Path:
    """
    Render a few frames of one episode, start to end, into one PNG.

    Frames go side by side; a scene much wider than tall (e.g. a cart on a long rail) gets wide,
    flat frames stacked top to bottom instead, so that its bodies are not a few pixels small.

    :param params: Task parameters.
    :param states: States of one episode, shape (steps + 1, nx) (or (1, steps + 1, nx)).
    :param goal: Its goal, shape (nx,).
    :param path: Destination PNG.
    :param frames: Number of frames, evenly spaced from the first to the last state (but see
        ``motion``).
    :param width: Width of one frame (default from the scene's shape: 320, or 640 if stacked).
    :param height: Height of one frame (default from the scene's shape: 240, or less if stacked).
    :param camera: Named model camera (default the task's ``model.camera``, else a fitted free
        camera).
    :param motion: Space the frames over the motion rather than the whole episode
        (``strip_steps``).

    :returns: The PNG path.
    """
    from PIL import Image  # only picture writers need it

    path = Path(path)
    if path.suffix.lower() != '.png':
        raise RenderError(f'{path}: expected a file name ending in .png')
    if frames < 2:
        raise RenderError(f'frames {frames}: expected an integer >= 2')
    states, goals = _episodes(states, goal)
    states, goal = states[0], goals[0]
    distances = relative_distances(params, states[None], goal[None])[0]
    threshold = float(params.learner_final_success_distance)
    steps = strip_steps(distances, threshold, frames, motion)
    shown = np.concatenate([states, goal[None]])
    camera = task_camera(params, camera)
    default_width, default_height, wide = frame_size(params, shown, '.png')
    if camera is not None:  # a model camera frames the scene itself: the usual frame size
        (default_width, default_height), wide = DEFAULT_SIZES['.png'], False
    stacked = wide
    images = []
    with SceneRenderer(params, width or default_width, height or default_height,
                       camera, antialias=True) as renderer:
        renderer.fit_camera(shown, elevation=WIDE_ELEVATION if wide else DEFAULT_ELEVATION)
        for step in steps:
            overlay = _overlay(step * params.action_time_step, distances[step], threshold,
                               step == steps[-1])
            images.append(renderer.render(states[step], goal, overlay))
    axis = 0 if stacked else 1
    gap_shape = (4, images[0].shape[1], 3) if stacked else (images[0].shape[0], 4, 3)
    gap = np.full(gap_shape, 255, dtype=np.uint8)
    strip = np.concatenate([part for image in images for part in (image, gap)][:-1], axis=axis)
    with atomic_path(path) as tmp:
        Image.fromarray(strip).save(tmp, format='PNG', optimize=True)
    return path


if __name__ == '__main__':
    # ``python -m ddpg_manipulation.render --probe egl``: used by probe_backend().
    if len(sys.argv) == 3 and sys.argv[1] == '--probe' and sys.argv[2] in HEADLESS_BACKENDS:
        sys.exit(_probe_main(sys.argv[2]))
    print('usage: python -m ddpg_manipulation.render --probe {egl,osmesa}', file=sys.stderr)
    sys.exit(2)
