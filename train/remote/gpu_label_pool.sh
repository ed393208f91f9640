#!/bin/bash
# Label pool molecules beyond QM9 (train/label_pool.py) on a CUDA machine with no internet.
#
#   bash train/remote/gpu_label_pool.sh LABEL_SECONDS WORKERS
#
# Needs, carried from the development machine (train/remote/README.md):
#   /tmp/stage/site.part.*   make_bundle.sh's bundle (PySCF, gpu4pyscf, dask.distributed)
#   .gpu/geometries.npz      `python -m train.label_pool export --pool … --out .gpu/geometries.npz`
# Runs `train.label_pool run --geometries … --device gpu` on a dask LocalCluster of WORKERS
# processes sharing the GPU until the time is up; writes $OUT/labels_pool.tar.gz.
set -u
LABEL_S=${1:-400}; WORKERS=${2:-14}
T0=$(date +%s)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/site /tmp/labels_pool
cat /tmp/stage/site.part.* | xz -d -T0 | tar -C /tmp/site -x || { echo "bundle unpack failed"; exit 2; }
python3 train/remote/patch_gpu4pyscf_libxc.py /tmp/site
export PYTHONPATH=/tmp/site:$PWD OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
python3 -c "import pyscf, gpu4pyscf, dask.distributed; print('pyscf', pyscf.__version__, 'gpu4pyscf', gpu4pyscf.__version__)" || exit 3
LEFT=$(( LABEL_S - ($(date +%s) - T0) )); echo "labelling for $LEFT s with $WORKERS workers"
timeout -k 30 -s INT $LEFT python3 -m train.label_pool run --geometries .gpu/geometries.npz --device gpu \
    --workers "$WORKERS" --out /tmp/labels_pool > /tmp/labels_pool/run.log 2>&1
N=$(ls /tmp/labels_pool | grep -c '\.npz$'); F=$(ls /tmp/labels_pool | grep -c failed)
echo "labelled $N molecules ($F failed) in $LEFT s"; tail -n 3 /tmp/labels_pool/run.log
tar -C /tmp -czf "$OUT/labels_pool.tar.gz" labels_pool; ls -la "$OUT"
