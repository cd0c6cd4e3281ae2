"""Sample grids show every row: the figure has the grid's aspect ratio."""

import numpy as np
from PIL import Image

from paper_gans import plots


def _saved_size(tmp_path, count, rows, **kwargs):
  images = np.zeros([count, 28, 28, 1], np.float32)
  path = tmp_path / 'grid.png'
  plots.save_image_grid(images, str(path), rows, **kwargs)
  return Image.open(path).size  # (width, height) in pixels


def test_grid_with_title_is_not_cropped(tmp_path):
  # 10 x 10 tiles: the axes (93% of the figure's height, under the title)
  # must be square, so the figure is 1 / 0.93 times as tall as wide. A square
  # figure pushed the grid's last row partly out of the picture.
  width, height = _saved_size(tmp_path, 100, 10, title='t')
  assert abs(height - width / 0.93) <= 1


def test_grid_with_row_labels_is_not_cropped(tmp_path):
  # 10 rows x 6 columns with row labels (94% of the width) and a title.
  width, height = _saved_size(tmp_path, 60, 10, title='t',
                              row_labels=[str(i) for i in range(10)])
  grid_height, grid_width = 10 * 29 - 1, 6 * 29 - 1
  assert abs((height * 0.93) / (width * 0.94)
             - grid_height / grid_width) < 0.01
