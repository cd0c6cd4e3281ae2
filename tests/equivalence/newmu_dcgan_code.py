"""Newmu/dcgan_code's Theano library re-typed in PyTensor, for two equivalence tests.

Used by tests/equivalence/test_dcgan_vs_authors.py (faces/train_uncond_dcgan.py)
and tests/equivalence/test_cdcgan_mnist_newmu_vs_authors.py
(mnist/train_cond_dcgan.py), which re-type the two training scripts on top
of this module.

Authors' code: Newmu/dcgan_code at commit
ee12b2d15a3856794b8dae77d1eb263c67c36e47 (its last commit). The library files
re-typed here are unchanged since c7e43bdddc846df35766275861141ef12ff9e14e
("inital codebase + training mnist"); line numbers are those of either:

* `lib/theano_utils.py` lines 7-11: `floatX`, `sharedX`;
* `lib/activations.py` lines 36-42 `Rectify`, 52-60 `LeakyRectify`, 74-80
  `Tanh`, 82-88 `Sigmoid`;
* `lib/data_utils.py` lines 36-42: `OneHot`;
* `lib/ops.py` lines 17-18 `l2norm` (imported by updates.py), 46-50
  `conv_cond_concat`, 52-83 `batchnorm`, 85-96 `deconv`;
* `lib/updates.py` lines 8-15 `clip_norm`, `clip_norms`; 17-46
  `Regularizer` (`gradient_regularize`: g += p * l2; g += sgn(p) * l1);
  49-55 `Update`; 140-168 `Adam`, with its bias correction `m_t / (1 -
  b1**t)`, `v_t / (1 - b2**t)` and its decay of beta1, `b1_t =
  self.b1*self.l**(t-1)` with l = 1 - 1e-8 (line 151), all as written.
* Not re-typed: `lib/inits.py` (our initial weights are loaded instead:
  `OursInitializer`), `lib/rng.py` (our random numbers are fed instead),
  and what the scripts use only for data, pictures and metrics.

Theano, on which the scripts ran, is replaced by PyTensor 2.34 (its
maintained successor: the same graph language, `shared`, `function` with
`updates`, `grad`, the same rewrites). Where PyTensor lacks a Theano
function the scripts call, it is re-typed from Theano/Theano at commit
a85a44fc70d9bf8faff0d7f91a03127af582d015 (the last change to either file
before the DCGAN code was published in November 2015):

* `T.nnet.binary_crossentropy`: theano/tensor/nnet/nnet.py lines 1809-1826,
  `-(target * log(output) + (1.0 - target) * log(1.0 - output))`.
* `T.nnet.sigmoid`: PyTensor's `sigmoid`, the same scalar op.
* cuDNN's convolution ops of theano/sandbox/cuda/dnn.py, GPU-only there:
  `dnn_conv` (lines 1097-1198) and the `GpuDnnConvDesc`, `GpuDnnConvGradI`,
  `gpu_contiguous` and `gpu_alloc_empty` that lib/ops.py's `deconv` calls.
  They are PyTensor Ops here computing the same three functions with NumPy
  (the convolution, its gradient with respect to the input, which is what
  `deconv` is, and with respect to the kernels), each with the gradients
  dnn.py gives it (lines 526-540, 734-747, 942-955). PyTensor's own CPU
  convolution (`AbstractConv2d`) computes the same numbers with a Python
  loop over every (example, output channel, input channel) and would take
  minutes per update here; test_dcgan_vs_authors.py checks that the two
  agree, gradients included.

Precision. `floatX` is float64 throughout (`pytensor.config.floatX`,
PyTensor's default as it was Theano's; the authors ran on a GPU with
floatX=float32). That changes one thing in `Adam`: Theano makes the Python
float `l = 1 - 1e-8` a constant of floatX's type when floatX is float32
(theano/scalar/basic.py `NumpyAutocaster`, "unsafe downcast of float64
variables when config.floatX == 'float32'", kept in PyTensor), where it
rounds to exactly 1.0 and beta1 never decays; with floatX=float64 the
constant stays 1 - 1e-8 and `b1_t` = 0.5 (1 - 1e-8)^(t - 1) decays, by 5e-7
relative after 100 updates. The class is kept as written, and
paper_gans/optimizers.py's Adam models the decay the same way
(`beta1_decay`, rounded to the variables' dtype as Theano rounds l to
floatX), so the float64 comparison covers it.

Also here, shared by the two tests: the maps from our variables, layouts
and images to Theano's (`scripts_parameters`, `to_theano_images`), the
authors' stream of minibatches built from what our trainer consumed and
drew (`newmu_minibatches`; our side, the trainer run in 'graph' mode with
every random draw recorded, is `ours.run`), the scripts' functions compiled
once (`compiled_once`), and the comparison of every loss and of the
final weights (`loss_differences`, `state_difference`).

The layouts and the 180-degree rotation. Ours are NHWC with convolution
kernels [k, k, in, out] and transposed-convolution kernels [k, k, out, in];
Theano's are NCHW with `dnn_conv` kernels [out, in, k, k] and `deconv`
kernels [in, out, k, k] (the kernels of the forward convolution whose input
gradient the deconv is). Both transpose by (3, 2, 0, 1). The scripts'
layers pad 2 pixels on every side (`border_mode=(2, 2)`); our 'SAME' layers
pad 1 before and 2 after. As paper_gans/networks/dcgan.py's docstring
explains, the two are related by a 180-degree rotation R of the image: with
kernels mapped as above, `same_conv(x) = R(dnn_conv(R(x)))` (Theano's
'conv' mode flips the kernel and R flips it back) and so for the transposed
convolutions (their adjoints). Batch norm, the nonlinearities and constant
label maps commute with R; a reshape of dense units to (C, H, W) and a
flatten of (C, H, W) meet R as the permutation (c, i, j) -> (c, H-1-i,
W-1-j) of those units, applied here to the dense weights (and the
per-unit batch-norm gains and biases) beside them. So the scripts' networks
holding our weights so mapped, fed R(our images), give our logits and
generate R(our samples); their gradients are ours mapped the same way, and
Adam and the L2 term are elementwise, so the two trainings stay each
other's image update after update.
"""

from __future__ import annotations

import collections
import functools
import types
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pytensor
import pytensor.compile.mode
import pytensor.gradient
import pytensor.graph.basic
import pytensor.graph.op
import pytensor.graph.rewriting.basic
import pytensor.scalar.basic
import pytensor.tensor
import pytensor.tensor.elemwise

import ours

# --------------------------------------------------------------------------
# The names the scripts and the library use: `theano`, `T`, `T.nnet`.
# --------------------------------------------------------------------------


def binary_crossentropy(output, target):
  """Theano a85a44f theano/tensor/nnet/nnet.py lines 1809-1826."""
  return -(target * T.log(output) + (1.0 - target) * T.log(1.0 - output))


# `import theano.tensor as T`: PyTensor's tensor module, plus the `nnet`
# functions the scripts call.
T = types.SimpleNamespace(**{
    name: getattr(pytensor.tensor, name) for name in dir(pytensor.tensor)
    if not name.startswith('__')})
T.nnet = types.SimpleNamespace(sigmoid=pytensor.tensor.sigmoid,
                               binary_crossentropy=binary_crossentropy)


@pytensor.graph.rewriting.basic.node_rewriter([pytensor.tensor.elemwise.Elemwise])
def _binary_add_and_mul(fgraph, node):
  """a + b + c -> (a + b) + c, and so for *: NumPy's ufuncs are binary,
  and the 'py' linker runs an Elemwise of more inputs elementwise in
  Python."""
  del fgraph
  scalar_op = node.op.scalar_op
  if (not isinstance(scalar_op, (pytensor.scalar.basic.Add,
                                 pytensor.scalar.basic.Mul))
      or len(node.inputs) <= 2):
    return None
  binary = pytensor.tensor.elemwise.Elemwise(type(scalar_op)(
      scalar_op.output_types_preference))
  out = node.inputs[0]
  for operand in node.inputs[1:]:
    out = binary(out, operand)
  return [T.cast(out, node.outputs[0].dtype)]


# How `theano.function` compiles here. The ops run one by one in NumPy
# (the 'py' linker): PyTensor's default C linker first compiles its ops with
# g++, which took 15 minutes on this (loaded) 2-core machine with a cold
# cache. The graph rewrites are FAST_COMPILE's plus the canonicalisation and
# stabilisation passes (Theano's, kept in PyTensor), among them log(sigmoid(x)) -> -softplus(-x) in the
# costs, as under the authors' FAST_RUN; FAST_RUN's other rewrites change
# nothing but the rounding and took 2.5 times longer to apply (12 s against
# 5 s for train_uncond_dcgan.py's two functions). No elementwise fusion: a
# fused op run by the 'py' linker loops over the elements in Python.
MODE = pytensor.compile.mode.Mode(
    linker='py', optimizer='fast_compile').including(
        'canonicalize', 'stabilize').register(
            (pytensor.graph.rewriting.basic.in2out(_binary_add_and_mul,
                                                   name='binary_add_and_mul'),
             # After the other rewrites, before the in-place ones (position
             # 50 and later).
             49.9))
# `import theano`: the three names the scripts and the library use.
theano = types.SimpleNamespace(
    shared=pytensor.shared,
    function=functools.partial(pytensor.function, mode=MODE),
    config=pytensor.config)


# --------------------------------------------------------------------------
# cuDNN's convolution and its two gradients (theano/sandbox/cuda/dnn.py).
# --------------------------------------------------------------------------

def gpu_contiguous(x):
  """A layout no-op on the CPU."""
  return x


def gpu_alloc_empty(*shape):
  """An (uninitialised, here zero) array of `shape`."""
  return T.zeros(shape, dtype=theano.config.floatX)


ConvDesc = collections.namedtuple('ConvDesc',
                                  'border_mode subsample conv_mode')


class GpuDnnConvDesc:
  """dnn.py's convolution descriptor: border_mode (ph, pw) zero-pads ph
  rows and pw columns on BOTH sides, subsample is the stride, conv_mode
  'conv' flips the kernels (a true convolution) and 'cross' does not. The
  shapes are read from the arrays themselves."""

  def __init__(self, border_mode, subsample=(1, 1), conv_mode='conv'):
    assert isinstance(border_mode, tuple) and len(border_mode) == 2, border_mode
    assert conv_mode in ('conv', 'cross'), conv_mode
    self.desc = ConvDesc(tuple(border_mode), tuple(subsample), conv_mode)

  def __call__(self, img_shape, kern_shape):
    del img_shape, kern_shape
    return self.desc


def _windows(padded, kernel_size, stride, out_size):
  """[B, C, oh, ow, kh, kw]: the padded input under each output position."""
  (kh, kw), (sh, sw), (oh, ow) = kernel_size, stride, out_size
  windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw),
                                                     axis=(2, 3))
  return windows[:, :, :sh * (oh - 1) + 1:sh, :sw * (ow - 1) + 1:sw]


def _out_size(in_size, kernel_size, desc):
  return tuple((n + 2 * p - k) // s + 1 for n, k, p, s in zip(
      in_size, kernel_size, desc.border_mode, desc.subsample))


def _pad(img, desc):
  (ph, pw) = desc.border_mode
  return np.pad(img, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def conv_forward(img, kerns, desc):
  """out[b, o, i, j] = sum_{c, a, d} pad(img)[b, c, s*i + a, s*j + d]
  * kerns'[o, c, a, d], with kerns' the kernels flipped in 'conv' mode."""
  if desc.conv_mode == 'conv':
    kerns = kerns[:, :, ::-1, ::-1]
  out_size = _out_size(img.shape[2:], kerns.shape[2:], desc)
  windows = _windows(_pad(img, desc), kerns.shape[2:], desc.subsample,
                     out_size)
  out = np.tensordot(windows, kerns, axes=([1, 4, 5], [1, 2, 3]))
  return np.ascontiguousarray(out.transpose(0, 3, 1, 2))  # [B, O, oh, ow]


def conv_grad_input(kerns, top, img_shape, desc):
  """The gradient of `conv_forward(img, kerns)` with respect to img [B, C, H,
  W] (`img_shape`), given the gradient `top` of its result: each kernel
  tap's contribution added where that tap read the padded input."""
  if desc.conv_mode == 'conv':
    kerns = kerns[:, :, ::-1, ::-1]
  (ph, pw), (sh, sw) = desc.border_mode, desc.subsample
  kh, kw = kerns.shape[2:]
  batch, channels, height, width = img_shape
  oh, ow = _out_size((height, width), (kh, kw), desc)
  assert top.shape[2:] == (oh, ow), (top.shape, oh, ow)
  columns = np.tensordot(kerns, top, axes=([0], [1]))  # [C, kh, kw, B, oh, ow]
  padded = np.zeros((channels, batch, height + 2 * ph, width + 2 * pw),
                    top.dtype)
  for a in range(kh):
    for d in range(kw):
      padded[:, :, a:a + sh * (oh - 1) + 1:sh,
             d:d + sw * (ow - 1) + 1:sw] += columns[:, a, d]
  return np.ascontiguousarray(
      padded[:, :, ph:ph + height, pw:pw + width].transpose(1, 0, 2, 3))


def conv_grad_kernels(img, top, kern_shape, desc):
  """The gradient of `conv_forward(img, kerns)` with respect to kerns [O, C,
  kh, kw] (`kern_shape`), given the gradient `top` of its result."""
  out_size = top.shape[2:]
  windows = _windows(_pad(img, desc), kern_shape[2:], desc.subsample,
                     out_size)
  grad = np.tensordot(top, windows, axes=([0, 2, 3], [0, 2, 3]))
  if desc.conv_mode == 'conv':
    grad = grad[:, :, ::-1, ::-1]
  return np.ascontiguousarray(grad)  # [O, C, kh, kw]


class _DnnOp(pytensor.graph.op.Op):
  """One of cuDNN's three convolution ops, computed with NumPy.

  Inputs (a, b, output) as dnn.py's GpuDnnConv(img, kerns, output, desc),
  GpuDnnConvGradI(kerns, top, output, desc) and GpuDnnConvGradW(img, top,
  output, desc): `output` gives only the shape of the result (cuDNN's
  beta = 0: its values are not used), so it is not connected to the
  result. The gradients are dnn.py's (lines 526-540, 734-747, 942-955, with
  alpha = 1, beta = 0).
  """

  __props__ = ('border_mode', 'subsample', 'conv_mode')

  def __init__(self, desc: ConvDesc):
    self.border_mode, self.subsample, self.conv_mode = desc
    self.desc = desc

  def make_node(self, a, b, output):
    a, b, output = (T.as_tensor_variable(v) for v in (a, b, output))
    assert a.ndim == b.ndim == output.ndim == 4, (a.type, b.type, output.type)
    out_type = T.TensorType(output.dtype, shape=(None,) * 4)
    return pytensor.graph.basic.Apply(self, [a, b, output], [out_type()])

  def connection_pattern(self, node):
    return [[True], [True], [False]]

  def perform(self, node, inputs, outputs):
    a, b, output = inputs
    outputs[0][0] = self.compute(a, b, output.shape).astype(output.dtype)


class _Conv(_DnnOp):
  """GpuDnnConv: (img, kerns, output) -> the convolution."""

  def compute(self, img, kerns, shape):
    out = conv_forward(img, kerns, self.desc)
    assert out.shape == tuple(shape), (out.shape, shape)
    return out

  def grad(self, inputs, grads):
    img, kerns, _ = inputs
    top, = grads
    d_img = _GradI(self.desc)(kerns, top, gpu_alloc_empty(*img.shape))
    d_kerns = _GradW(self.desc)(img, top, gpu_alloc_empty(*kerns.shape))
    return [d_img, d_kerns, pytensor.gradient.DisconnectedType()()]


class _GradI(_DnnOp):
  """GpuDnnConvGradI: (kerns, top, output) -> the input gradient."""

  def compute(self, kerns, top, shape):
    return conv_grad_input(kerns, top, tuple(shape), self.desc)

  def grad(self, inputs, grads):
    kerns, top, _ = inputs
    img, = grads
    d_kerns = _GradW(self.desc)(img, top, gpu_alloc_empty(*kerns.shape))
    d_top = _Conv(self.desc)(img, kerns, gpu_alloc_empty(*top.shape))
    return [d_kerns, d_top, pytensor.gradient.DisconnectedType()()]


class _GradW(_DnnOp):
  """GpuDnnConvGradW: (img, top, output) -> the kernel gradient."""

  def compute(self, img, top, shape):
    return conv_grad_kernels(img, top, tuple(shape), self.desc)

  def grad(self, inputs, grads):
    img, top, _ = inputs
    kerns, = grads
    d_img = _GradI(self.desc)(kerns, top, gpu_alloc_empty(*img.shape))
    d_top = _Conv(self.desc)(img, kerns, gpu_alloc_empty(*top.shape))
    return [d_img, d_top, pytensor.gradient.DisconnectedType()()]


class GpuDnnConvGradI:
  """`GpuDnnConvGradI()(kerns, topgrad, output, desc)`, as lib/ops.py calls it."""

  def __call__(self, kerns, topgrad, output, desc):
    return _GradI(desc)(kerns, topgrad, output)


def dnn_conv(img, kerns, border_mode='valid', subsample=(1, 1),
             conv_mode='conv'):
  """dnn.py lines 1097-1198 for the scripts' case: a (ph, pw) border_mode
  (no 'valid' / 'full' strings, no direction hints)."""
  desc = GpuDnnConvDesc(border_mode=border_mode, subsample=subsample,
                        conv_mode=conv_mode)(img.shape, kerns.shape)
  out_shape = [img.shape[0], kerns.shape[0]] + [
      (img.shape[2 + i] + 2 * desc.border_mode[i] - kerns.shape[2 + i])
      // desc.subsample[i] + 1 for i in range(2)]
  return _Conv(desc)(gpu_contiguous(img), gpu_contiguous(kerns),
                     gpu_alloc_empty(*out_shape))


# --------------------------------------------------------------------------
# lib/theano_utils.py, lib/activations.py, lib/data_utils.py.
# --------------------------------------------------------------------------

def floatX(X):  # pylint: disable=invalid-name
  """lib/theano_utils.py lines 7-8."""
  return np.asarray(X, dtype=theano.config.floatX)


def sharedX(X, dtype=None, name=None):  # pylint: disable=invalid-name
  """lib/theano_utils.py lines 10-11.

  The file's default `dtype=theano.config.floatX` is read at call time
  here, not at import.
  """
  dtype = dtype or theano.config.floatX
  return theano.shared(np.asarray(X, dtype=dtype), name=name)


class Rectify(object):
  """lib/activations.py lines 36-42."""

  def __init__(self):
    pass

  def __call__(self, x):
    return (x + abs(x)) / 2.0


class LeakyRectify(object):
  """lib/activations.py lines 52-60."""

  def __init__(self, leak=0.2):
    self.leak = leak

  def __call__(self, x):
    f1 = 0.5 * (1 + self.leak)
    f2 = 0.5 * (1 - self.leak)
    return f1 * x + f2 * abs(x)


class Tanh(object):
  """lib/activations.py lines 74-80."""

  def __init__(self):
    pass

  def __call__(self, x):
    return T.tanh(x)


class Sigmoid(object):
  """lib/activations.py lines 82-88."""

  def __init__(self):
    pass

  def __call__(self, x):
    return T.nnet.sigmoid(x)


# `from lib import activations`.
activations = types.SimpleNamespace(Rectify=Rectify, LeakyRectify=LeakyRectify,
                                    Tanh=Tanh, Sigmoid=Sigmoid)


def OneHot(X, n=None, negative_class=0.):  # pylint: disable=invalid-name
  """lib/data_utils.py lines 36-42."""
  X = np.asarray(X).flatten()
  if n is None:
    n = np.max(X) + 1
  Xoh = np.ones((len(X), n)) * negative_class
  Xoh[np.arange(len(X)), X] = 1.
  return Xoh


# --------------------------------------------------------------------------
# lib/ops.py.
# --------------------------------------------------------------------------

def l2norm(x, axis=1, e=1e-8, keepdims=True):
  """lib/ops.py lines 17-18."""
  return T.sqrt(T.sum(T.sqr(x), axis=axis, keepdims=keepdims) + e)


def conv_cond_concat(x, y):
  """lib/ops.py lines 46-50: concatenate conditioning vector on feature map
  axis."""
  return T.concatenate([x, y*T.ones((x.shape[0], y.shape[1], x.shape[2], x.shape[3]))], axis=1)


def batchnorm(X, g=None, b=None, u=None, s=None, a=1., e=1e-8):
  """lib/ops.py lines 52-83.

  batchnorm with support for not using scale and shift parameters
  as well as inference values (u and s) and partial batchnorm (via a)
  will detect and use convolutional or fully connected version
  """
  if X.ndim == 4:
    if u is not None and s is not None:
      b_u = u.dimshuffle('x', 0, 'x', 'x')
      b_s = s.dimshuffle('x', 0, 'x', 'x')
    else:
      b_u = T.mean(X, axis=[0, 2, 3]).dimshuffle('x', 0, 'x', 'x')
      b_s = T.mean(T.sqr(X - b_u), axis=[0, 2, 3]).dimshuffle('x', 0, 'x', 'x')
    if a != 1:
      b_u = (1. - a)*0. + a*b_u
      b_s = (1. - a)*1. + a*b_s
    X = (X - b_u) / T.sqrt(b_s + e)
    if g is not None and b is not None:
      X = X*g.dimshuffle('x', 0, 'x', 'x') + b.dimshuffle('x', 0, 'x', 'x')
  elif X.ndim == 2:
    if u is None and s is None:
      u = T.mean(X, axis=0)
      s = T.mean(T.sqr(X - u), axis=0)
    if a != 1:
      u = (1. - a)*0. + a*u
      s = (1. - a)*1. + a*s
    X = (X - u) / T.sqrt(s + e)
    if g is not None and b is not None:
      X = X*g + b
  else:
    raise NotImplementedError
  return X


def deconv(X, w, subsample=(1, 1), border_mode=(0, 0), conv_mode='conv'):
  """lib/ops.py lines 85-96.

  sets up dummy convolutional forward pass and uses its grad as deconv
  currently only tested/working with same padding
  """
  img = gpu_contiguous(X)
  kerns = gpu_contiguous(w)
  desc = GpuDnnConvDesc(border_mode=border_mode, subsample=subsample,
                        conv_mode=conv_mode)(gpu_alloc_empty(img.shape[0], kerns.shape[1], img.shape[2]*subsample[0], img.shape[3]*subsample[1]).shape, kerns.shape)
  out = gpu_alloc_empty(img.shape[0], kerns.shape[1], img.shape[2]*subsample[0], img.shape[3]*subsample[1])
  d_img = GpuDnnConvGradI()(kerns, img, out, desc)
  return d_img


# --------------------------------------------------------------------------
# lib/updates.py.
# --------------------------------------------------------------------------

def clip_norm(g, c, n):
  """lib/updates.py lines 8-11."""
  if c > 0:
    g = T.switch(T.ge(n, c), g*c/n, g)
  return g


def clip_norms(gs, c):
  """lib/updates.py lines 13-15."""
  norm = T.sqrt(sum([T.sum(g**2) for g in gs]))
  return [clip_norm(g, c, norm) for g in gs]


class Regularizer(object):
  """lib/updates.py lines 17-46."""

  def __init__(self, l1=0., l2=0., maxnorm=0., l2norm=False, frobnorm=False):  # pylint: disable=redefined-outer-name
    self.__dict__.update(locals())

  def max_norm(self, p, maxnorm):
    if maxnorm > 0:
      norms = T.sqrt(T.sum(T.sqr(p), axis=0))
      desired = T.clip(norms, 0, maxnorm)
      p = p * (desired/ (1e-7 + norms))
    return p

  def l2_norm(self, p):
    return p/l2norm(p, axis=0)

  def frob_norm(self, p, nrows):
    return (p/T.sqrt(T.sum(T.sqr(p))))*T.sqrt(nrows)

  def gradient_regularize(self, p, g):
    g += p * self.l2
    g += T.sgn(p) * self.l1
    return g

  def weight_regularize(self, p):
    p = self.max_norm(p, self.maxnorm)
    if self.l2norm:
      p = self.l2_norm(p)
    if self.frobnorm > 0:
      p = self.frob_norm(p, self.frobnorm)
    return p


class Update(object):
  """lib/updates.py lines 49-55."""

  def __init__(self, regularizer=Regularizer(), clipnorm=0.):
    self.__dict__.update(locals())

  def __call__(self, params, grads):
    raise NotImplementedError


class Adam(Update):
  """lib/updates.py lines 140-168."""

  def __init__(self, lr=0.001, b1=0.9, b2=0.999, e=1e-8, l=1-1e-8, *args, **kwargs):  # pylint: disable=keyword-arg-before-vararg
    Update.__init__(self, *args, **kwargs)
    self.__dict__.update(locals())

  def __call__(self, params, cost):
    updates = []
    grads = T.grad(cost, params)
    grads = clip_norms(grads, self.clipnorm)
    t = theano.shared(floatX(1.))
    b1_t = self.b1*self.l**(t-1)

    for p, g in zip(params, grads):
      g = self.regularizer.gradient_regularize(p, g)
      m = theano.shared(p.get_value() * 0.)
      v = theano.shared(p.get_value() * 0.)

      m_t = b1_t*m + (1 - b1_t)*g
      v_t = self.b2*v + (1 - self.b2)*g**2
      m_c = m_t / (1-self.b1**t)
      v_c = v_t / (1-self.b2**t)
      p_t = p - (self.lr * m_c) / (T.sqrt(v_c) + self.e)
      p_t = self.regularizer.weight_regularize(p_t)
      updates.append((m, m_t))
      updates.append((v, v_t))
      updates.append((p, p_t) )
    updates.append((t, t + 1.))
    return updates


# `from lib import updates`.
updates = types.SimpleNamespace(Regularizer=Regularizer, Adam=Adam)


# --------------------------------------------------------------------------
# From our layouts to Theano's.
# --------------------------------------------------------------------------

def to_theano_images(images: np.ndarray) -> np.ndarray:
  """Our NHWC batch -> the rotated image R(x) in Theano's NCHW."""
  return np.ascontiguousarray(
      np.asarray(images)[:, ::-1, ::-1, :].transpose(0, 3, 1, 2))


def kernel_to_theano(w: np.ndarray) -> np.ndarray:
  """[k, k, in, out] (ours, Conv2D) -> [out, in, k, k] (dnn_conv); and
  [k, k, out, in] (ours, ConvTranspose2D) -> [in, out, k, k] (deconv)."""
  return np.ascontiguousarray(np.transpose(w, (3, 2, 0, 1)))


def rotated_units(channels: int, size: int) -> np.ndarray:
  """The permutation (c, i, j) -> (c, size-1-i, size-1-j) of C*H*W units.

  Theano's unit (c, i, j) of a reshaped or flattened [C, size, size] map
  holds our unit at the rotated position (module docstring).
  """
  index = np.arange(channels * size * size).reshape(channels, size, size)
  return index[:, ::-1, ::-1].ravel()


def units_to_theano(value: np.ndarray, channels: int, size: int,
                    axis: int) -> np.ndarray:
  """Permutes the first channels*size*size entries along `axis` by
  `rotated_units` (entries after them, e.g. label units, keep their place)."""
  permutation = rotated_units(channels, size)
  index = np.concatenate([permutation, np.arange(
      len(permutation), value.shape[axis])])
  return np.ascontiguousarray(np.take(value, index, axis=axis))


# A map from our variables to one of the scripts' parameters:
# {script name: (our variable name, function of our value)}.
ParameterMap = Dict[str, Tuple[str, Callable[[np.ndarray], np.ndarray]]]


def theano_layout(values: Dict[str, np.ndarray],
                  parameter_map: ParameterMap) -> Dict[str, np.ndarray]:
  """Our variables' values (by name) as the scripts' parameters (by name)."""
  return {name: np.asarray(to_theano(values[ours_name]), np.float64)
          for name, (ours_name, to_theano) in parameter_map.items()}


def trainable_names(module) -> List[str]:
  return sorted(v.name for v in module.trainable_variables)


class OursInitializer:
  """Stands in for the scripts' `inits.Normal(...)` and `inits.Constant(...)`
  (lib/inits.py `__call__(shape, name)`): returns the parameter `name` as a
  shared variable holding OUR initial value, after checking that the
  script's shape is its shape."""

  def __init__(self, values: Dict[str, np.ndarray]):
    self.values = values
    self.used = []

  def __call__(self, shape, name=None):
    value = self.values[name]
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    assert value.shape == shape, (name, value.shape, shape)
    self.used.append(name)
    return sharedX(value, name=name)


# --------------------------------------------------------------------------
# The authors' minibatches, from what our trainer consumed and drew.
# --------------------------------------------------------------------------

# One update's minibatch: which of our players updated, the images, the
# labels the update generates for (None if unconditional) and the noise.
Minibatch = collections.namedtuple('Minibatch', 'player images y z')


def newmu_minibatches(run: ours.OurRun, latent_dim: int,
                      conditional: bool) -> List[Minibatch]:
  """One minibatch per update of ours, in our order, for the scripts' loop.

  Per generator iteration our trainer draws, for each discriminator step in
  order, z ~ U(-1, 1) [B, latent_dim] (and, when conditional, labels,
  which `fake_labels_in_critic_step='real_batch'` discards for the real
  batch's), then for the
  generator step z and (conditional) uniform labels [B]. A discriminator
  update's minibatch is its real batch, labels and z. A generator update's
  is its z and labels; its images, which the scripts' generator update
  does not depend on (only the unused d_cost outputs of `_train_g` see
  them), are those of the iteration's last discriminator step, or of the
  next iteration's first for an iteration without one. `y` is the labels
  the update generates for: the real batch's for a discriminator update
  (the scripts' ymb, also given to gen for the fakes), the drawn ones for
  a generator update.
  """
  out = []
  for number, iteration in enumerate(run.iterations):
    draws = list(iteration.draws)
    steps = len(iteration.images)

    def take_noise(batch):
      draw = draws.pop(0)
      assert draw.op == 'stateless_uniform', draw.op
      assert draw.value.shape == (batch, latent_dim), draw.value.shape
      assert draw.value.dtype == np.float64, draw.value.dtype
      labels = None
      if conditional:
        label_draw = draws.pop(0)
        assert label_draw.op == 'stateless_uniform', label_draw.op
        assert label_draw.value.shape == (batch,), label_draw.value.shape
        assert label_draw.value.dtype == np.int32, label_draw.value.dtype
        labels = label_draw.value
      return draw.value, labels

    for step in range(steps):
      images = iteration.images[step]
      z, _ = take_noise(len(images))  # The labels drawn are discarded.
      labels = iteration.labels[step] if conditional else None
      out.append(Minibatch('discriminator', images, labels, z))
    if steps:
      images = iteration.images[-1]
    else:
      images = run.iterations[number + 1].images[0]
    z, labels = take_noise(len(images))
    out.append(Minibatch('generator', images, labels, z))
    assert not draws, f'iteration {number}: {len(draws)} draws left over'
  return out


# --------------------------------------------------------------------------
# The scripts' functions, compiled once.
# --------------------------------------------------------------------------

def logit(p):
  """The input of the sigmoid that made `p` (discrim's last line)."""
  assert p.owner.op == T.nnet.sigmoid, p.owner.op
  return p.owner.inputs[0]


_compiled: Dict[tuple, tuple] = {}


def compiled_once(sizes: tuple, initial: Dict[str, np.ndarray], build):
  """`build()` -> (_train_g, _train_d, parameters), once per `sizes` and
  initial weights; each call restores the state compilation left
  (`Restorable`), so the caller's loop runs the script from its start."""
  key = tuple(sizes) + tuple(sorted(
      (name, value.tobytes()) for name, value in initial.items()))
  if key not in _compiled:
    _train_g, _train_d, parameters = build()
    _compiled[key] = (_train_g, _train_d, parameters,
                      Restorable(_train_g, _train_d))
  _train_g, _train_d, parameters, state = _compiled[key]
  state.restore()
  return _train_g, _train_d, parameters


def scripts_parameters(trainer, parameter_maps: Dict[str, ParameterMap],
                    values=None) -> Dict[str, np.ndarray]:
  """The scripts' parameters by name: our values (by default the trainer's
  current ones) mapped by {'gen': ..., 'discrim': ...}, after checking that
  every trainable variable of ours is one of them."""
  out = {}
  for network, module in (('gen', trainer.generator),
                          ('discrim', trainer.discriminator)):
    sources = sorted(source for source, _ in parameter_maps[network].values())
    assert sources == trainable_names(module), (sources,
                                                trainable_names(module))
    module_values = (ours.values_by_name(module) if values is None
                     else values[network])
    out.update(theano_layout(module_values, parameter_maps[network]))
  return out


# --------------------------------------------------------------------------
# The comparison.
# --------------------------------------------------------------------------

# The scripts' compiled outputs: `cost = [g_cost, d_cost, g_cost_d,
# d_cost_real, d_cost_gen]` (train_uncond_dcgan.py line 141,
# train_cond_dcgan.py line 130), then the mean logits the tests append.
COST_NAMES = ('g_cost', 'd_cost', 'g_cost_d', 'd_cost_real', 'd_cost_gen',
              'mean_logit_real', 'mean_logit_gen')
# (our column, the script's output, floor) for each player's update. Our
# 'discriminator_real' / 'discriminator_fake' are mean logits (the inputs
# of the scripts' final sigmoid). The authors' costs are computed, as ours,
# before the update the same call applies. Differences are relative to
# max(|ours|, floor): a mean logit is a mean of logits of both signs, of
# order 1 each, and can be far smaller than they are, so it is compared
# relative to that order (floor 1); the losses are sums of positive terms.
COLUMNS = {
    'generator': (('generator_loss', 'g_cost', 0.0),),
    'discriminator': (('discriminator_loss', 'd_cost', 0.0),
                      ('discriminator_real', 'mean_logit_real', 1.0),
                      ('discriminator_fake', 'mean_logit_gen', 1.0)),
}


def loss_differences(run: ours.OurRun, rows: Sequence[Dict], rtol: float,
                     updates: Optional[int] = None):
  """(worst relative difference, failures) over every loss of the first
  `updates` updates (default: all of our trajectory).

  failures: [(update, what, ours, theirs)] for each value out of `rtol`,
  and for each update where the two loops ran different players. Our
  'gradient_penalty' must be exactly 0 (there is none in either script).
  """
  trajectory = run.trajectory[:updates]
  assert len(rows) >= len(trajectory), (len(rows), len(trajectory))
  worst, failures = 0.0, []
  for mine, theirs in zip(trajectory, rows):
    update = mine['update']
    if mine['player'] != theirs['player']:
      failures.append((update, 'player', mine['player'], theirs['player']))
      continue
    if mine['player'] == 'discriminator':
      assert mine['gradient_penalty'] == 0.0, mine
    for column, name, floor in COLUMNS[mine['player']]:
      relative, _ = ours.worst_relative_difference([mine[column]],
                                                   [theirs[name]], floor)
      worst = max(worst, relative)
      if relative > rtol:
        failures.append((update, column, mine[column], theirs[name]))
  return worst, failures


def state_difference(ours_values: Dict[str, np.ndarray],
                     shared: Dict[str, object]) -> Tuple[float, str]:
  """Worst difference between our final weights (in the scripts' layout, by
  script name) and the scripts' shared variables, and where: for each
  parameter ||ours - theirs|| / ||ours|| (an elementwise ratio would divide
  by weights that happen to be near zero)."""
  assert sorted(ours_values) == sorted(shared), (sorted(ours_values),
                                                 sorted(shared))
  worst, where = 0.0, ''
  for name, value in ours_values.items():
    theirs = shared[name].get_value()
    assert theirs.shape == value.shape, (name, theirs.shape, value.shape)
    relative = float(np.linalg.norm(value - theirs) / np.linalg.norm(value))
    if relative > worst:
      worst, where = relative, name
  return worst, where


class Restorable:
  """The state of compiled functions, to run a script again from its start.

  Snapshots every shared variable the functions read or update (the
  parameters, Adam's m, v and t, the learning rate) right after
  compilation; `restore()` sets them back, which is what running the
  script's lines up to its `theano.function` calls again would give, without
  compiling again.
  """

  def __init__(self, *functions):
    shared = []
    for function in functions:
      for variable in function.get_shared():
        if not any(variable is seen for seen in shared):
          shared.append(variable)
    self.shared = shared
    self.values = [v.get_value(borrow=False) for v in shared]

  def restore(self) -> None:
    for variable, value in zip(self.shared, self.values):
      variable.set_value(np.copy(value))
