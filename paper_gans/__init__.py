"""paper_gans: faithful TensorFlow 2 reproductions of five classic GAN setups."""

__version__ = '0.1.0'
