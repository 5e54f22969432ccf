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

"""A benchmark's result: figures, ratios to a baseline, targets and notes, written as JSON."""

from __future__ import annotations

import datetime
import math
from pathlib import Path
import time
from typing import Any, Callable, Mapping

import numpy as np
import torch

from bench import RESULTS_DIR
from bench.machine import load_average, machine_info
from ddpg_manipulation.atomic import write_json

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    '>=': lambda a, b: a >= b,
    '<=': lambda a, b: a <= b,
    '<': lambda a, b: a < b,
    '>': lambda a, b: a > b,
}


def clean(value: Any) -> Any:
    """
    Make a value JSON-safe: NaN and infinities become None, numpy and torch scalars plain.

    :param value: Any nesting of dicts, lists and numbers.

    :returns: The cleaned value.
    """
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (np.generic, torch.Tensor)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Bench:
    """
    Collects one benchmark's figures, ratios, targets and notes.

    :param name: Benchmark name (the JSON file's stem).
    :param quick: Whether this is the tiny smoke-test run.
    :param rollout_threads: MuJoCo rollout threads, for the machine info.
    """

    def __init__(self, name: str, quick: bool, rollout_threads: int | None = None) -> None:
        self.name = name
        self.quick = quick
        self.started = time.perf_counter()
        self.started_at = datetime.datetime.now().isoformat(timespec='seconds')
        self.machine = machine_info(rollout_threads)
        self.config: dict[str, Any] = {}
        self.figures: dict[str, Any] = {}
        self.ratios: dict[str, Any] = {}
        self.targets: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.details: dict[str, Any] = {}

    def figure(self, key: str, value: Any) -> None:
        """
        Record a figure, rounded to 6 significant digits.

        :param key: Figure name, with its unit as suffix (``_s``, ``_per_s``, ``_mb``).
        :param value: The value (None = not measured; the notes say why).
        """
        self.figures[key] = _round(value)

    def ratio(self, key: str, value: Any) -> None:
        """
        Record a ratio to a baseline measured in the same run.

        :param key: Ratio name.
        :param value: The ratio.
        """
        self.ratios[key] = _round(value)

    def target(self, key: str, op: str, value: float, label: str, figure: str | None = None,
               missing_fails: bool = False) -> None:
        """
        Declare a target on a ratio or figure.

        :param key: Name in ``ratios`` (searched first) or ``figures``.
        :param op: One of ``>=``, ``<=``, ``<``, ``>``.
        :param value: The bound.
        :param label: Human-readable name of what is compared.
        :param figure: The headline figure the ratio is about (shown next to it in reports).
        :param missing_fails: A missing value (e.g. not reached) fails the target instead of
            counting as not measured.
        """
        if op not in OPERATORS:
            raise ValueError(f'target {key!r}: unknown operator {op!r}')
        self.targets.append({'key': key, 'op': op, 'value': value, 'label': label,
                             'figure': figure, 'missing_fails': missing_fails})

    def note(self, text: str) -> None:
        """
        Add a note: a caveat, or why a figure is missing.

        :param text: The note.
        """
        self.notes.append(text)

    def result(self) -> dict[str, Any]:
        """
        Assemble the result, with each target evaluated.

        :returns: The JSON-ready result.
        """
        targets = []
        for target in self.targets:
            key = target['key']
            measured = self.ratios[key] if key in self.ratios else self.figures.get(key)
            passed = evaluate(target['op'], measured, target['value'])
            if passed is None and target['missing_fails']:
                passed = False
            figure = target['figure']
            targets.append({**target, 'measured': measured, 'passed': passed,
                            'is_ratio': key in self.ratios,
                            'figure_value': self.figures.get(figure) if figure else None})
        return clean({
            'name': self.name,
            'quick': self.quick,
            'started': self.started_at,
            'seconds': round(time.perf_counter() - self.started, 2),
            'machine': self.machine,
            'load_average_end': load_average(),
            'config': self.config,
            'figures': self.figures,
            'ratios': self.ratios,
            'targets': targets,
            'notes': self.notes,
            'details': self.details,
        })


def _round(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value != 0:
        return float(f'{value:.6g}')
    return value


def evaluate(op: str, measured: Any, bound: float) -> bool | None:
    """
    Check a measured value against a target.

    :param op: Comparison operator.
    :param measured: The value (None = not measured).
    :param bound: The target bound.

    :returns: Whether the target is met, or None if nothing was measured.
    """
    if not isinstance(measured, (int, float)) or not math.isfinite(measured):
        return None
    return OPERATORS[op](float(measured), bound)


def write_result(result: Mapping[str, Any], out_dir: Path | None = None) -> Path:
    """
    Write a result, JSON-safe by :func:`clean`, atomically to ``<out_dir>/<name>.json``.

    :param result: A benchmark's result.
    :param out_dir: Directory; default ``bench/results``.

    :returns: The file written.
    """
    directory = Path(out_dir) if out_dir is not None else RESULTS_DIR
    return write_json(directory / f'{result["name"]}.json', clean(result))
