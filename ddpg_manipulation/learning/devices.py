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
The torch device of a run, chosen at run time from a parameter (never fixed at import).

MuJoCo always simulates on the CPU; the networks, the replay storage and the update batches
live on the chosen device. ``auto`` takes the first CUDA device where torch sees one.
"""

from __future__ import annotations

import torch

from ddpg_manipulation.errors import PackageError
from ddpg_manipulation.parameters import DEVICE_FORMS, DEVICE_PATTERN


class DeviceError(PackageError, ValueError):
    """A device parameter names a device that is malformed or not present on this machine."""


def resolve_device(requested: str | torch.device, parameter: str = 'device') -> torch.device:
    """
    Turn a device parameter into a torch device present on this machine.

    :param requested: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (or a torch device).
    :param parameter: The parameter's name as the user set it, for the error message (e.g.
        ``learner.device`` or ``--device``).

    :returns: The device.
    :raises DeviceError: If the text is malformed, or CUDA is asked for where there is none.
    """
    text = str(requested).strip().lower()
    if not DEVICE_PATTERN.fullmatch(text):
        raise DeviceError(f'{parameter} {str(requested)!r}: expected {DEVICE_FORMS}')
    if text == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    device = torch.device(text)
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise DeviceError(
                f'{parameter} {text!r}: no CUDA device is available to this process (torch '
                f'{torch.__version__}, CUDA build: {torch.version.cuda or "no"}); use cpu or auto')
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise DeviceError(f'{parameter} {text!r}: this machine has {count} CUDA '
                              f'device(s), cuda:0 to cuda:{count - 1}')
    return device
