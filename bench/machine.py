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
The machine a benchmark runs on: CPU, cores, load, versions, memory, thread settings.

Every result records where it was measured: these machines are shared, and their load changes
from run to run. The process's memory use and its torch thread count are read (and the thread
count set) here too.
"""

from __future__ import annotations

from contextlib import contextmanager
import os
import platform
import resource
from typing import Any, Iterator

import mujoco
import numpy as np
import torch

from ddpg_manipulation.sim.plant import usable_cores

# CPU flags that decide which low-precision kernels oneDNN can use.
INTERESTING_FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'avx512_vnni', 'amx_tile', 'amx_bf16')


def _cpuinfo_field(name: str) -> str:
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as handle:
            for line in handle:
                key, _, value = line.partition(':')
                if key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return ''


def cpu_model() -> str:
    """
    Name the CPU model.

    :returns: The model name of /proc/cpuinfo, or the platform's processor string.
    """
    return _cpuinfo_field('model name') or platform.processor() or 'unknown'


def cpu_flags() -> dict[str, bool]:
    """
    Report the CPU flags that matter for low-precision matrix kernels.

    :returns: Flag name -> present.
    """
    flags = set(_cpuinfo_field('flags').split())
    return {flag: flag in flags for flag in INTERESTING_FLAGS}


def load_average() -> list[float]:
    """
    Read the 1, 5 and 15 minute load averages.

    :returns: Three load averages (zeros where the platform has none).
    """
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - platforms without load averages
        return [0.0, 0.0, 0.0]


def machine_info(rollout_threads: int | None = None) -> dict[str, Any]:
    """
    Describe the machine and the software a benchmark runs on.

    :param rollout_threads: MuJoCo rollout threads the benchmark uses (default: usable cores, what
        ``model.nthread: 0`` resolves to).

    :returns: CPU model and flags, usable cores, load average, versions, thread settings.
    """
    import tensordict
    import torchrl

    return {
        'cpu_model': cpu_model(),
        'cpu_flags': cpu_flags(),
        'cpu_count': os.cpu_count(),
        'usable_cores': usable_cores(),
        'load_average': load_average(),
        'python': platform.python_version(),
        'torch': torch.__version__,
        'mujoco': mujoco.__version__,
        'numpy': np.__version__,
        'torchrl': torchrl.__version__,
        'tensordict': tensordict.__version__,
        'torch_threads': torch.get_num_threads(),
        'torch_interop_threads': torch.get_num_interop_threads(),
        'torch_cpu_capability': torch.backends.cpu.get_cpu_capability(),
        'mujoco_rollout_threads': usable_cores() if rollout_threads is None else rollout_threads,
        'omp_env': {k: os.environ[k] for k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS',
                                               'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')
                    if k in os.environ},
    }


def rss_bytes() -> int:
    """
    Read this process's resident set size.

    :returns: VmRSS in bytes (0 where /proc is missing).
    """
    return _status_kib('VmRSS') * 1024


def peak_rss_bytes() -> int:
    """
    Read this process's peak resident set size.

    :returns: VmHWM in bytes, or ``ru_maxrss`` where /proc is missing.
    """
    peak = _status_kib('VmHWM') * 1024
    return peak or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status_kib(field_name: str) -> int:
    try:
        with open('/proc/self/status', encoding='utf-8') as handle:
            for line in handle:
                if line.startswith(field_name + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@contextmanager
def torch_threads(count: int) -> Iterator[int]:
    """
    Run a block with ``count`` torch intra-op threads, then restore the previous count.

    :param count: Threads; 0 = usable cores.

    :yields: The thread count set.
    """
    previous = torch.get_num_threads()
    count = usable_cores() if count <= 0 else count
    torch.set_num_threads(count)
    try:
        yield count
    finally:
        torch.set_num_threads(previous)
