#!/usr/bin/env bash
# ercnn set-up for Debian 12 with Node 20: installs the missing system packages (as root),
# makes OpenBLAS (OpenMP build) the BLAS libtorch uses, runs `npm ci` and builds the addon.
#   bash scripts/setup.sh          # what the library and the demo need
#   bash scripts/setup.sh --test   # also Debian's PyTorch/torchvision/numpy, the tests' references
# LIBTORCH=/path/to/libtorch selects a pytorch.org libtorch (CPU or CUDA) instead of libtorch-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
for a in "$@"; do
  case "$a" in
    --test) with_test=1 ;;
    -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

pkgs=(g++ make python3 libopenblas0-openmp libturbojpeg0-dev)
[ -n "${LIBTORCH:-}" ] || pkgs+=(libtorch-dev libgloo-dev)
[ "$with_test" = 1 ] && pkgs+=(python3-torch python3-torchvision python3-numpy chromium)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: these Debian packages are missing; as root, run:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    echo "then run this script again." >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian's libtorch calls whatever libblas.so.3 the alternatives point at; the reference BLAS is
# 5-10x slower on dense layers and the pthread OpenBLAS fights libtorch's OpenMP threads.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine)
for lib in libblas.so.3 liblapack.so.3; do
  want="/usr/lib/$arch/openblas-openmp/$lib"
  cur=$(readlink -f "/usr/lib/$arch/$lib" 2>/dev/null || true)
  if [ -e "$want" ] && [ "$cur" != "$(readlink -f "$want")" ]; then
    if [ "$(id -u)" -eq 0 ]; then
      update-alternatives --set "$lib-$arch" "$want"
    else
      echo "setup.sh: warning: $lib is $cur; as root: update-alternatives --set $lib-$arch $want" >&2
    fi
  fi
done

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-fund --no-audit
fi

addon=native/build/Release/ercnn_torch.node
if [ ! -f "$addon" ] || [ -n "$(find native/src native/binding.gyp native/torch-paths.cjs -newer "$addon" 2>/dev/null)" ]; then
  echo "setup.sh: building the libtorch addon (about 30 s)"
  (cd native && npx node-gyp rebuild -j "$(nproc)" >/tmp/ercnn-addon-build.log 2>&1) || {
    tail -40 /tmp/ercnn-addon-build.log >&2
    echo "setup.sh: the addon build failed (full log: /tmp/ercnn-addon-build.log)" >&2
    exit 1
  }
fi
# The browser client page (web/ → dist/web/, served by `ercnn serve` at /): esbuild, well under a second.
node scripts/build-web.mjs
node --import tsx -e 'import("./src/torch/index.ts").then((t) => console.log(`setup.sh: ready (libtorch ${t.torchVersion}, ${t.getNumThreads()} threads, cuda ${t.cuda.isAvailable()})`))'
