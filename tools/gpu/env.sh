# Sourced by the scripts here: TensorFlow from /tmp/tfw (../shared/gpu), FP32 matrix products.
if [ -f /tmp/tfw/env.sh ]; then . /tmp/tfw/env.sh || return 1; fi
export PYTHONPATH=$PWD:$PYTHONPATH PYTHONUNBUFFERED=1 NVIDIA_TF32_OVERRIDE=0 TF_FORCE_GPU_ALLOW_GROWTH=true
export OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT" /tmp/gpu_runs
