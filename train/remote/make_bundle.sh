#!/bin/bash
# Build the PySCF + gpu4pyscf bundle that train/remote/gpu_label.sh unpacks on a CUDA machine
# with no internet. Run on the development machine (it downloads from PyPI):
#
#   bash train/remote/make_bundle.sh [PART_BYTES]      → .gpu/parts/site.part.aa, .ab, …
#
# Carry one part per call (each call moves at most 64 MiB, the repository included) and copy
# it to /tmp/stage on the machine while it stays warm; then run gpu_label.sh.
set -eu
PART=${1:-40000000}
W=.gpu/wheels; S=.gpu/site
mkdir -p $W .gpu/parts; rm -rf $S .gpu/parts/*; mkdir -p $S
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d $W \
    pyscf==2.14.0 gpu4pyscf-cuda13x==1.9.0
# dask.distributed (and its pure-Python / manylinux dependencies) for train.label_pool
python3 -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d $W/dask \
    dask==2026.3.0 distributed==2026.3.0
for w in $W/pyscf-2.14.0-*.whl $W/gpu4pyscf_cuda13x-1.9.0-*.whl $W/dask/*.whl; do unzip -q -o "$w" -d $S; done
# trim what a B3LYP/6-31G(2df,p) (+ def2-TZVP/ECP for Br, I) density-fitted SCF never reads;
# keep every shared library
# (gpu4pyscf's DF build imports gpu4pyscf.pbc, which loads libpbc and libmgrid_v3; pyscf.dft
# loads libxcfun)
find $S -type d \( -name tests -o -name test \) -prune -exec rm -rf {} +
(cd $S/pyscf/gto/basis && find . -name '*.dat' ! -path './pople-basis/*' ! -name ano.dat \
    ! -name cc-pvdz-jkfit.dat ! -name def2-universal-jkfit.dat ! -name 'weigend*' \
    ! -name 'def2-tzvp*' ! -name 'def2-*jkfit*' -delete \
 && find . -mindepth 1 -type d ! -name pople-basis -exec rm -rf {} + )
rm -f $S/pyscf/pbc/gto/basis/*.dat
tar -C $S -cf - . | xz -T0 -6 | split -b "$PART" - .gpu/parts/site.part.
ls -l .gpu/parts
