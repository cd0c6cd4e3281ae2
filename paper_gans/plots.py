"""Pictures a researcher expects from a run: sample grids and loss curves."""

from __future__ import annotations

import json
import os
from typing import Dict, List, Optional, Sequence

import matplotlib

matplotlib.use('Agg')  # Headless: CI and the GPU machines have no display.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np


def to_unit_range(images: np.ndarray, value_range: Sequence[float]) -> np.ndarray:
  """Maps images from `value_range` to [0, 1] and clips."""
  low, high = value_range
  return np.clip((np.asarray(images, np.float32) - low) / (high - low), 0.0, 1.0)


def image_grid(images01: np.ndarray, rows: int) -> np.ndarray:
  """Tiles [N, H, W, C] images in [0, 1] into one [rows*H, cols*W, C] array."""
  n, h, w, c = images01.shape
  cols = int(np.ceil(n / rows))
  grid = np.ones([rows * h + rows - 1, cols * w + cols - 1, c], np.float32)
  for index in range(n):
    r, col = divmod(index, cols)
    grid[r * (h + 1):r * (h + 1) + h, col * (w + 1):col * (w + 1) + w] = (
        images01[index])
  return grid


def save_image_grid(images: np.ndarray, path: str, rows: int,
                    value_range: Sequence[float] = (0.0, 1.0),
                    title: Optional[str] = None,
                    row_labels: Optional[Sequence[str]] = None) -> None:
  """Saves a grid of images as a PNG (one row per `rows`)."""
  grid = image_grid(to_unit_range(images, value_range), rows)
  height, width = grid.shape[:2]
  scale = 8.0 / max(height, width)  # inches per grid pixel: 8 in at most
  # The axes take this share of the figure; the rest is for the row labels
  # (left) and the title (top). The figure is sized so that the axes have
  # the grid's own aspect ratio: otherwise imshow's equal aspect pushes the
  # grid's last row out of the figure.
  axes_width = 0.94 if row_labels else 1.0
  axes_height = 0.93 if title else 1.0
  fig = plt.figure(figsize=(max(width * scale / axes_width, 2.0),
                            max(height * scale / axes_height, 2.0)), dpi=100)
  ax = fig.add_axes([1.0 - axes_width, 0, axes_width, axes_height])
  if grid.shape[-1] == 1:
    ax.imshow(grid[..., 0], cmap='gray', vmin=0, vmax=1, interpolation='nearest')
  else:
    ax.imshow(grid, interpolation='nearest')
  ax.set_xticks([])
  if row_labels:
    cell = height / rows
    ax.set_yticks([cell * (i + 0.5) for i in range(rows)])
    ax.set_yticklabels(row_labels)
  else:
    ax.set_yticks([])
  if title:
    fig.suptitle(title, fontsize=9)
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  fig.savefig(path)
  plt.close(fig)


def save_toy_samples(samples: np.ndarray, real: np.ndarray, path: str,
                     title: Optional[str] = None) -> None:
  """Scatter plot of 2-D generated samples over real ones."""
  fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
  ax.scatter(real[:, 0], real[:, 1], s=2, c='tab:orange', label='real')
  ax.scatter(samples[:, 0], samples[:, 1], s=2, c='tab:green', label='generated')
  ax.set_aspect('equal')
  ax.legend(loc='upper right', fontsize=8)
  if title:
    ax.set_title(title, fontsize=9)
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  fig.savefig(path)
  plt.close(fig)


def read_history(path: str) -> List[Dict]:
  if not os.path.exists(path):
    return []
  with open(path, encoding='utf-8') as f:
    return [json.loads(line) for line in f if line.strip()]


def median_filter(values: np.ndarray, width: int) -> np.ndarray:
  """Running median over a centred window (the WGAN paper's plotting)."""
  values = np.asarray(values, np.float64)
  if width <= 1 or len(values) == 0:
    return values
  half = width // 2
  padded = np.pad(values, half, mode='edge')
  return np.array([np.median(padded[i:i + width]) for i in range(len(values))])


def save_loss_curves(history: List[Dict], path: str, title: Optional[str] = None,
                     median_width: int = 1) -> None:
  """Plots the last critic loss and the generator loss of each iteration."""
  if not history:
    return
  iterations = np.array([h['iteration'] for h in history])
  d_loss = np.array([h['discriminator_loss'][-1] for h in history])
  g_loss = np.array([h['generator_loss'] for h in history])
  fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
  ax.plot(iterations, median_filter(d_loss, median_width),
          label='discriminator / critic loss (last step)')
  ax.plot(iterations, median_filter(g_loss, median_width),
          label='generator loss')
  ax.set_xlabel('generator iteration')
  ax.legend(fontsize=8)
  if title:
    ax.set_title(title, fontsize=9)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  fig.savefig(path)
  plt.close(fig)
