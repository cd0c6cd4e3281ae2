"""paper_gans: faithful TensorFlow 2 reproductions of five classic GAN setups."""

import os as _os
import sys as _sys

__version__ = '0.1.0'

# TF_CPP_MIN_LOG_LEVEL for the command lines (TensorFlow's C++ errors only),
# unless the user set it: `python -m paper_gans.<module>` sets it here, before
# the module imports TensorFlow (sys.argv[0] is '-m' while Python imports the
# package of the module it runs), and the reproduction scripts through
# `paper_gans.cli.quiet_tensorflow()`.
TF_QUIET_LOG_LEVEL = '2'
if _sys.argv[:1] == ['-m']:
  _os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', TF_QUIET_LOG_LEVEL)
