#!/usr/bin/env bash
# Builds the gotrain CLI. The Dockerfile runs this same script, so a build outside Docker is the
# build inside it.
#
#   scripts/build.sh cpu [OUT]   pure-Go CLI (CGO_ENABLED=0), runs anywhere; default OUT bin/gotrain
#   scripts/build.sh gpu [OUT]   CLI with the CUDA backend (-tags gpu); needs the CUDA toolkit
#                                headers (cuda.h) and a libcuda to link against (the driver or the
#                                toolkit's stub); default OUT bin/gotrain-gpu
set -euo pipefail
cd "$(dirname "$0")/.."
variant=${1:-cpu}
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
ldflags="-s -w -X main.version=${version}"
case "$variant" in
  cpu)
    out=${2:-bin/gotrain}
    CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out" ./cmd/gotrain
    ;;
  gpu)
    out=${2:-bin/gotrain-gpu}
    cuda=${CUDA_HOME:-/usr/local/cuda}
    # Link against the driver API stub when no driver is installed (build machines, docker build);
    # at run time the real libcuda.so.1 comes from the host driver. cuBLAS is loaded with dlopen.
    export CGO_CFLAGS="${CGO_CFLAGS:-} -I${cuda}/include"
    export CGO_LDFLAGS="${CGO_LDFLAGS:-} -L${cuda}/lib64 -L${cuda}/lib64/stubs"
    CGO_ENABLED=1 go build -trimpath -tags gpu -ldflags "$ldflags" -o "$out" ./cmd/gotrain
    ;;
  *)
    echo "usage: scripts/build.sh cpu|gpu [OUT]" >&2
    exit 2
    ;;
esac
echo "built $out ($variant, $version)"
