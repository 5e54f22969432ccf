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
Checkpoints: atomic save/load of actor, critic and normalizer with a manifest.

Layout::

    <output>/<task>/<YYYY_MM_DD_HH_MM_SS>[_<n>]/      a run directory (one per training run)
        checkpoints/epoch_000012/                     one checkpoint
            actor.pt  critic.pt  state_norm.pt  [training_state.pt]  manifest.json
        best.json                                     which checkpoint is the run's result
        summary.json  history.json  learning_curve.png  tensorboard/

A checkpoint is written into a hidden staging directory next to its final place and renamed into
place in one step, so a crash never leaves a half checkpoint where a reader looks. Anything that
takes a checkpoint accepts the checkpoint directory itself, a run directory (its newest complete
checkpoint) or an output directory (the newest complete checkpoint of any run).

A run's result is its best checkpoint, chosen by validation during training and named in the
run's ``best.json``; it is kept however many newer checkpoints pruning removes. A run or output
directory resolves to the best checkpoint of the (newest) run by default, to its newest
checkpoint on request (``newest=True``), and always to the newest where a run names no best.

Every ``.pt`` file is read with ``torch.load(..., weights_only=True)``: a pickle that carries code
is refused without running it.
"""

from __future__ import annotations

from dataclasses import dataclass
import datetime
import hashlib
import io
import json
import os
from pathlib import Path
import shutil
import tempfile
from typing import Any, Callable

import fsspec
import torch

from ddpg_manipulation.atomic import usual_permissions, write_json
from ddpg_manipulation.errors import PackageError

MANIFEST = 'manifest.json'
FORMAT_VERSION = 1
MODEL_FILES = ('actor.pt', 'critic.pt', 'state_norm.pt')
TRAINING_STATE = 'training_state.pt'
BEST = 'best.json'


class CheckpointError(PackageError, ValueError):
    """A checkpoint is missing, incomplete, corrupt or belongs to another task."""


@dataclass
class Checkpoint:
    """
    A loaded checkpoint.

    :param path: Where it was read from (directory or URL).
    :param manifest: The parsed manifest.
    :param actor: Actor data (``Actor.load`` input).
    :param critic: Critic data (``Critic.load`` input), None if not loaded.
    :param state_norm: Normalizer data (``Normalizer.load`` input).
    :param training_state: Data to resume training exactly, None if absent or not loaded.
    """

    path: str
    manifest: dict[str, Any]
    actor: dict[str, Any]
    critic: dict[str, Any] | None
    state_norm: dict[str, Any]
    training_state: dict[str, Any] | None = None


def sha256_bytes(data: bytes) -> str:
    """
    Hash bytes.

    :param data: Bytes.

    :returns: Hex sha256.
    """
    return hashlib.sha256(data).hexdigest()


def _serialize(save: Callable[[io.BytesIO], None]) -> bytes:
    buffer = io.BytesIO()
    save(buffer)
    return buffer.getvalue()


def new_run_dir(output_dir: str | os.PathLike, task: str, now: datetime.datetime | None = None
                ) -> Path:
    """
    Create a fresh run directory ``<output>/<task>/<YYYY_MM_DD_HH_MM_SS>[_<n>]``.

    The directory is created exclusively, so two runs started in the same second get
    different directories (the second gets the suffix ``_1``, and so on).

    :param output_dir: Output root.
    :param task: Task name.
    :param now: Time stamp to use (default: now, local time).

    :returns: The new, empty run directory.
    """
    root = Path(output_dir).expanduser() / task
    root.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.datetime.now()).strftime('%Y_%m_%d_%H_%M_%S')
    for n in range(10_000):
        path = root / (stamp if n == 0 else f'{stamp}_{n}')
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise CheckpointError(f'{root}: cannot create a new run directory for {stamp}')


def check_writable(output_dir: str | os.PathLike, reserve_bytes: int = 50 * 2**20) -> Path:
    """
    Check before training that checkpoints can be written under ``output_dir``.

    :param output_dir: Output root (created if missing).
    :param reserve_bytes: Free space required.

    :returns: The output root as an absolute path.
    """
    root = Path(output_dir).expanduser().resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix='.write-test-'):
            pass
    except OSError as error:
        raise CheckpointError(f'output directory {root} is not writable: {error}') from error
    free = shutil.disk_usage(root).free
    if free < reserve_bytes:
        raise CheckpointError(
            f'output directory {root} has {free / 2**20:.1f} MiB free; at least '
            f'{reserve_bytes / 2**20:.0f} MiB are needed for checkpoints'
        )
    return root


def build_files(
    actor: Any, critic: Any, state_norm: Any, training_state: dict[str, Any] | None = None
) -> dict[str, bytes]:
    """
    Serialize the parts of a checkpoint with the seed's ``save`` formats.

    :param actor: An ``Actor``.
    :param critic: A ``Critic``.
    :param state_norm: A ``Normalizer``.
    :param training_state: Optional data to resume training exactly.

    :returns: File name -> bytes.
    """
    files = {
        'actor.pt': _serialize(actor.save),
        'critic.pt': _serialize(critic.save),
        'state_norm.pt': _serialize(state_norm.save),
    }
    if training_state is not None:
        files[TRAINING_STATE] = _serialize(lambda f: torch.save(training_state, f))
    return files


def build_manifest(files: dict[str, bytes], info: dict[str, Any]) -> bytes:
    """
    Compose the manifest of a checkpoint.

    :param files: The checkpoint files (their sha256 go into the manifest).
    :param info: Task name, config hash, sizes, epoch, metrics, ...

    :returns: The manifest as JSON bytes.
    """
    import mujoco  # versions only

    from ddpg_manipulation import __version__

    manifest = {
        'format_version': FORMAT_VERSION,
        **info,
        'versions': {
            'ddpg_manipulation': __version__, 'torch': torch.__version__,
            'mujoco': mujoco.__version__,
        },
        'files': {name: sha256_bytes(data) for name, data in sorted(files.items())},
    }
    return json.dumps(manifest, indent=2, sort_keys=True).encode()


def save_local(checkpoint_dir: str | os.PathLike, files: dict[str, bytes], info: dict[str, Any],
               keep: int = 0, protect: Path | None = None) -> Path:
    """
    Write a checkpoint directory atomically (staging directory + rename).

    :param checkpoint_dir: Final directory, e.g. ``<run>/checkpoints/epoch_000012``; must not
        exist.
    :param files: File name -> bytes (``build_files``).
    :param info: Manifest fields (``build_manifest``).
    :param protect: A checkpoint next to it that pruning keeps in any case (the run's best).
    :param keep: Keep only this many newest checkpoints next to it (0 = keep all); older ones are
        removed only after the new one is in place.

    :returns: The checkpoint directory.
    """
    final = Path(checkpoint_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f'.staging-{final.name}-', dir=final.parent))
    renamed = False
    try:
        # mkdtemp makes the directory private (0700); a checkpoint is as readable as any file.
        os.chmod(staging, usual_permissions(directory=True))
        for name, data in {**files, MANIFEST: build_manifest(files, info)}.items():
            with open(staging / name, 'wb') as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        if final.exists():
            raise CheckpointError(f'{final}: a checkpoint already exists there; not overwritten')
        os.rename(staging, final)
        renamed = True
        _fsync_dir(final.parent)
    finally:
        if not renamed:  # an error or an interrupt: no staging directory is left behind
            shutil.rmtree(staging, ignore_errors=True)
    if keep > 0:
        _prune(final.parent, keep, protect)
    return final


def save_cloud(url: str, files: dict[str, bytes], info: dict[str, Any]) -> str:
    """
    Write a checkpoint to an fsspec URL (``s3://``, ``gs://``, ``file://``, ``memory://``).

    Object stores have no directory rename: the data files are written first and the manifest
    last, so a reader (which requires the manifest and checks every hash) never takes a half
    checkpoint for a whole one.

    :param url: Destination directory URL.
    :param files: File name -> bytes.
    :param info: Manifest fields.

    :returns: The URL written.
    """
    fs, root = fsspec.core.url_to_fs(url)
    fs.makedirs(root, exist_ok=True)
    for name, data in files.items():
        fs.pipe_file(f'{root}/{name}', data)
    fs.pipe_file(f'{root}/{MANIFEST}', build_manifest(files, info))
    return url


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(parent: Path, keep: int, protect: Path | None = None) -> None:
    complete = sorted(p for p in parent.iterdir() if _is_complete(p))
    for old in complete[:-keep]:
        if protect is None or old.resolve() != protect.resolve():
            shutil.rmtree(old, ignore_errors=True)


def write_best(run_dir: Path, checkpoint_dir: Path, record: dict[str, Any]) -> Path:
    """
    Name a run's best checkpoint in its ``best.json`` (written atomically).

    :param run_dir: The run directory.
    :param checkpoint_dir: The best checkpoint, inside ``run_dir``.
    :param record: What made it best (epoch, validation figures).

    :returns: The ``best.json`` path.
    """
    relative = Path(checkpoint_dir).resolve().relative_to(Path(run_dir).resolve())
    return write_json(Path(run_dir) / BEST, {**record, 'checkpoint': relative.as_posix()})


def best_of_run(run_dir: Path, task: str | None = None) -> Path | None:
    """
    Return the checkpoint a run's ``best.json`` names, if it is complete (and of ``task``).

    :param run_dir: A run directory.
    :param task: Only a checkpoint of this task counts.

    :returns: The checkpoint directory, or None.
    """
    try:
        record = json.loads((Path(run_dir) / BEST).read_text())
        candidate = Path(run_dir) / record['checkpoint']
        manifest = verify(candidate)
    except (OSError, ValueError, KeyError, TypeError, CheckpointError):
        return None  # no best named, or it is gone or damaged: the caller takes the newest
    if task is not None and manifest.get('task') != task:
        return None
    return candidate


def resolve(path: str | os.PathLike, task: str | None = None, newest: bool = False) -> Path:
    """
    Resolve a checkpoint, run or output directory to one checkpoint directory.

    :param path: A checkpoint directory (itself), a run directory or an output directory (its
        newest run).
    :param task: Only consider checkpoints of this task.
    :param newest: Take the newest checkpoint of the run instead of its best.

    :returns: The checkpoint directory.
    """
    root = Path(path).expanduser()
    if (root / MANIFEST).is_file():
        return root
    latest = find_latest(root, task)
    if newest or latest.parent.name != 'checkpoints':
        return latest
    return best_of_run(latest.parent.parent, task) or latest


def _is_complete(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith('.') and (path / MANIFEST).is_file()


def find_latest(path: str | os.PathLike, task: str | None = None) -> Path:
    """
    Find the newest complete checkpoint under a checkpoint, run or output directory.

    Staging directories, directories without a manifest, checkpoints whose files do not match
    their manifest hashes, and (if ``task`` is given) checkpoints of other tasks are ignored.

    :param path: A checkpoint directory, a run directory or an output directory.
    :param task: Only consider checkpoints of this task.

    :returns: The checkpoint directory.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise CheckpointError(f'{root}: no such checkpoint, run or output directory')
    candidates = []
    for manifest in root.rglob(MANIFEST):
        directory = manifest.parent
        if any(part.startswith('.staging-') for part in directory.parts):
            continue
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or (task is not None and data.get('task') != task):
            continue
        candidates.append(((data.get('created', ''), data.get('epoch', -1)), directory))
    for _, directory in sorted(candidates, key=lambda c: (c[0][0], c[0][1]), reverse=True):
        try:
            verify(directory)
        except CheckpointError:
            continue
        return directory
    what = f' of task {task!r}' if task else ''
    raise CheckpointError(f'{root}: no complete checkpoint{what} found')


def _read(fs: Any, path: str, name: str) -> bytes:
    try:
        return fs.cat_file(f'{path}/{name}')
    except FileNotFoundError as error:
        raise CheckpointError(f'{path}: missing file {name}') from error
    except OSError as error:
        raise CheckpointError(f'{path}/{name}: cannot read ({error})') from error


def _manifest(fs: Any, path: str) -> dict[str, Any]:
    raw = _read(fs, path, MANIFEST)
    try:
        manifest = json.loads(raw)
    except ValueError as error:
        raise CheckpointError(f'{path}/{MANIFEST}: not valid JSON ({error})') from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get('files'), dict):
        raise CheckpointError(f'{path}/{MANIFEST}: expected an object with a "files" mapping')
    if manifest.get('format_version') != FORMAT_VERSION:
        raise CheckpointError(
            f'{path}/{MANIFEST}: format_version {manifest.get("format_version")!r}, '
            f'expected {FORMAT_VERSION}'
        )
    return manifest


def verify(path: str | os.PathLike) -> dict[str, Any]:
    """
    Check that a checkpoint is complete: manifest present and every file hash matching.

    :param path: Checkpoint directory or URL.

    :returns: The manifest.
    """
    fs, root = fsspec.core.url_to_fs(str(path))
    manifest = _manifest(fs, root)
    for name in MODEL_FILES:
        if name not in manifest['files']:
            raise CheckpointError(f'{path}/{MANIFEST}: does not list {name}')
    for name, digest in manifest['files'].items():
        if sha256_bytes(_read(fs, root, name)) != digest:
            raise CheckpointError(
                f'{path}/{name}: sha256 does not match the manifest (truncated or modified file)'
            )
    return manifest


def _torch_load(data: bytes, where: str) -> Any:
    try:
        return torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many types for bad files
        raise CheckpointError(
            f'{where}: not a loadable weights file ({type(error).__name__}: '
            f'{str(error).splitlines()[0] if str(error) else ""}); files that need code to '
            'load are refused'
        ) from error


def load(
    path: str | os.PathLike, expected: dict[str, Any] | None = None, with_critic: bool = True,
    with_training_state: bool = False, newest: bool = False,
) -> Checkpoint:
    """
    Load and verify a checkpoint from a local directory or an fsspec URL.

    :param path: Checkpoint directory, run or output directory (see :func:`resolve`), or
        URL.
    :param expected: Manifest fields that must match (e.g. task, config_hash, sizes); a mismatch is
        an error naming both values.
    :param with_critic: Also load the critic.
    :param with_training_state: Also load the training state (resume).
    :param newest: Resolve a run or output directory to its newest checkpoint, not its best.

    :returns: The loaded checkpoint.
    """
    text = str(path)
    if '://' not in text or text.startswith('file://'):
        local = Path(text.removeprefix('file://')).expanduser()
        if not local.exists():
            raise CheckpointError(f'{local}: no such checkpoint directory')
        if not (local / MANIFEST).is_file():
            task = expected.get('task') if expected else None
            local = resolve(local, task, newest)
        text = str(local)
    manifest = verify(text)
    for key, value in (expected or {}).items():
        if manifest.get(key) != value:
            raise CheckpointError(
                f'{text}: checkpoint {key} is {manifest.get(key)!r}, expected {value!r}'
            )
    fs, root = fsspec.core.url_to_fs(text)

    def part(name: str) -> Any:
        data = _torch_load(_read(fs, root, name), f'{text}/{name}')
        if not isinstance(data, dict):
            raise CheckpointError(f'{text}/{name}: expected a dict of tensors')
        return data

    return Checkpoint(
        path=text,
        manifest=manifest,
        actor=part('actor.pt'),
        critic=part('critic.pt') if with_critic else None,
        state_norm=part('state_norm.pt'),
        training_state=(part(TRAINING_STATE) if with_training_state
                        and TRAINING_STATE in manifest['files'] else None),
    )
