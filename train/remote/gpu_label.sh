#!/bin/bash
# Label QM9 molecules on a CUDA machine that has no internet (the project's lent H200).
#
#   bash train/remote/gpu_label.sh LABEL_SECONDS WORKERS START COUNT
#
# Needs, carried from the development machine (train/remote/README.md):
#   /tmp/stage/site.part.*   split xz tar of PySCF 2.14.0 + gpu4pyscf-cuda13x 1.9.0 (trimmed)
#   .gpu/entries.npz         `python -m train.label export` of the positions to label
#   .gpu/check_entries.npz   positions already labelled on CPU, relabelled here to compare
# Writes $OUT/labels.tar.gz (one .npz per molecule, as train.label run does) and the logs.
set -u
LABEL_S=${1:-400}; WORKERS=${2:-14}; START=${3:-1062}; COUNT=${4:-6000}
T0=$(date +%s)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/site /tmp/labels /tmp/check /tmp/logs
cat /tmp/stage/site.part.* | xz -d -T0 | tar -C /tmp/site -x || { echo "bundle unpack failed"; exit 2; }
echo "unpacked in $(( $(date +%s) - T0 )) s"
python3 train/remote/patch_gpu4pyscf_libxc.py /tmp/site
if ! python3 -c "import ctypes.util,sys; sys.exit(ctypes.util.find_library('cusolver') is None)"; then
  lib=$(find / -xdev -name 'libcusolver.so*' 2>/dev/null | head -1); echo "cusolver: $lib"
  mkdir -p /tmp/site/nvidia/cusolver/lib && ln -sf "$lib" /tmp/site/nvidia/cusolver/lib/libcusolver.so
fi
export PYTHONPATH=/tmp/site:$PWD OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import pyscf, gpu4pyscf, cupy, numpy; print('pyscf', pyscf.__version__, 'gpu4pyscf', gpu4pyscf.__version__, 'cupy', cupy.__version__, 'numpy', numpy.__version__)" || exit 3
# smoke test: one molecule, so a broken install fails in seconds, not after the whole window
timeout 150 python3 -m train.label run --entries .gpu/check_entries.npz --start 433 --count 1 \
    --device gpu --out /tmp/check 2>&1 | tail -5
ls /tmp/check/000433.npz >/dev/null 2>&1 || { echo "smoke test failed"; cat /tmp/check/*.failed.json 2>/dev/null; exit 4; }
LEFT=$(( LABEL_S - ($(date +%s) - T0) )); echo "labelling for $LEFT s with $WORKERS workers"
timeout -k 20 -s INT $LEFT python3 -m train.label run --entries .gpu/check_entries.npz --start 433 --count 12 \
    --device gpu --out /tmp/check > /tmp/logs/check.log 2>&1 &
for j in $(seq 0 $((WORKERS - 1))); do
  timeout -k 20 -s INT $LEFT python3 -m train.label run --entries .gpu/entries.npz --start $START --count $COUNT \
      --device gpu --shard $j/$WORKERS --out /tmp/labels > /tmp/logs/w$j.log 2>&1 &
done
sleep 60; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader; uptime
wait
N=$(ls /tmp/labels | grep -c '^[0-9]*\.npz$'); F=$(ls /tmp/labels | grep -c failed)
echo "labelled $N molecules ($F failed) in $LEFT s: $(( N * 3600 / LEFT )) mol/h with $WORKERS workers"
tail -n 3 /tmp/logs/w0.log; cat /tmp/labels/*.failed.json 2>/dev/null | head -5
tar -C /tmp -czf "$OUT/labels.tar.gz" labels check logs
ls -la "$OUT"; echo "total $(( $(date +%s) - T0 )) s"
