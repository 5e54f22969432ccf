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

"""Learning curves as PNG: evaluation success rate, relative distance and demonstration share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from matplotlib.figure import Figure

from ddpg_manipulation.atomic import atomic_path


def new_figure(**kwargs: Any) -> Figure:
    """
    Create a figure that draws without pyplot: no display, no global backend state.

    :param kwargs: ``matplotlib.figure.Figure`` arguments (``figsize``, ``layout``, ...).

    :returns: The figure; it is garbage collected like any object (nothing to close).
    """
    return Figure(**kwargs)


def save_figure_atomically(figure: Any, path: str | os.PathLike, dpi: int = 110) -> Path:
    """
    Write a matplotlib figure to PNG through a temporary file and a rename.

    :param figure: The figure.
    :param path: Destination.
    :param dpi: Resolution.

    :returns: The destination path.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi, format='png')
    return path


def plot_learning_curves(
    runs: Mapping[str, Sequence[Mapping[str, Any]]], path: str | os.PathLike, title: str = '',
) -> Path:
    """
    Draw the per-epoch metrics of one or more runs, overlaid.

    Where a run was validated, its validation success is drawn dashed beside the evaluation,
    and its result (the last epoch marked ``best``: the checkpoint the run directory resolves
    to) is circled.

    :param runs: Label -> the run's history (one dict per epoch with ``epoch``, ``success_rate``,
        ``relative_distance`` and ``demo_share``; optionally ``validation_success_rate`` and
        ``best``).
    :param path: PNG to write.
    :param title: Figure title.

    :returns: The PNG path.
    """
    figure = new_figure(figsize=(13, 3.6), layout='constrained')
    axes = figure.subplots(1, 3)
    panels = (
        ('success_rate', 'evaluation success rate', (0.0, 1.02)),
        ('relative_distance', 'mean final relative distance', None),
        ('demo_share', 'demonstration share of new experience', (0.0, 1.02)),
    )
    for axis, (key, label, limits) in zip(axes, panels):
        for name, history in runs.items():
            epochs = [h['epoch'] for h in history]
            (line,) = axis.plot(epochs, [h.get(key, float('nan')) for h in history], marker='o',
                                markersize=3, label=name)
            if key == 'success_rate' and any('validation_success_rate' in h for h in history):
                axis.plot(epochs, [h.get('validation_success_rate', float('nan'))
                                   for h in history], ls='--', lw=1, color=line.get_color(),
                          label=f'{name}: validation')
                result = [h for h in history if h.get('best')][-1:]
                for h in result:
                    axis.plot([h['epoch']], [h['success_rate']], marker='o', markersize=11,
                              markerfacecolor='none', color=line.get_color(),
                              label=f'{name}: result (epoch {h["epoch"]})')
        axis.set_xlabel('epoch')
        axis.set_title(label, fontsize=10)
        axis.grid(alpha=0.3)
        if limits:
            axis.set_ylim(*limits)
    axes[0].legend(fontsize=8)
    if title:
        figure.suptitle(title)
    return save_figure_atomically(figure, path)
