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
Atomic file writes: a temporary file next to the destination, then one rename.

A reader sees the old file or the new one, never a half-written one, and a crash leaves at most
a hidden temporary file. Files get the usual permissions (0666 minus the umask), as if written
directly.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator
import uuid


def temporary_path(path: str | os.PathLike) -> Path:
    """
    Name a fresh hidden file next to ``path`` (same file system, so a rename is atomic).

    The suffix is kept, since writers such as imageio or Pillow pick the format from it.

    :param path: The destination.

    :returns: A path that does not exist yet; its directory does.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f'.{path.stem}-{os.getpid()}-{uuid.uuid4().hex[:8]}{path.suffix}')


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """
    Yield a temporary path to write; on success it replaces ``path``, on error it is removed.

    :param path: The destination.

    :yields: The temporary path; the caller creates and writes it.
    """
    tmp = temporary_path(path)
    replaced = False
    try:
        yield tmp
        with open(tmp, 'rb') as handle:
            os.fsync(handle.fileno())  # the data is on disk before the name points at it
        os.replace(tmp, path)
        replaced = True
    finally:
        if not replaced:  # an error or an interrupt: leave nothing behind
            tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """
    Write bytes atomically.

    :param path: The destination.
    :param data: The content.

    :returns: The destination path.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """
    Write JSON (indented, UTF-8) atomically.

    :param path: The destination.
    :param data: JSON-serializable data.

    :returns: The destination path.
    """
    return write_bytes(path, (json.dumps(data, indent=2) + '\n').encode())


def usual_permissions(directory: bool = False) -> int:
    """
    Permissions a newly created file or directory gets under the current umask.

    :param directory: For a directory (0777 minus umask) rather than a file (0666 minus umask).

    :returns: The mode bits.
    """
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask
