// Prints libtorch build settings for binding.gyp, the way tch-rs finds libtorch:
// LIBTORCH=/path selects a pytorch.org build (CPU or CUDA); otherwise Debian's libtorch-dev.
// c10d: ProcessGroupGloo's header includes gloo's headers (Debian: libgloo-dev; pytorch.org builds ship them under
// include/). NCCL is compiled in when the libtorch has CUDA and nccl.h is found (NCCL_HOME, the libtorch, /usr).
// Usage: node torch-paths.cjs include|libdirs|libs|defines
const fs = require("node:fs");
const path = require("node:path");

const root = process.env.LIBTORCH;
const what = process.argv[2];
const abi = process.env.LIBTORCH_CXX11_ABI ?? "1";

function out(list) {
  process.stdout.write(list.join(" "));
}

function glooCheck(includeDirs) {
  if (!includeDirs.some((d) => fs.existsSync(path.join(d, "gloo", "algorithm.h"))))
    process.stderr.write(
      "torch-paths.cjs: gloo headers not found (c10d's ProcessGroupGloo needs them): apt-get install libgloo-dev\n",
    );
}

function ncclInclude(lib) {
  if (!fs.existsSync(path.join(lib, "libtorch_cuda.so"))) return null;
  const dirs = [process.env.NCCL_HOME && path.join(process.env.NCCL_HOME, "include"), path.join(root, "include"), "/usr/include", "/usr/local/cuda/include"];
  return dirs.find((d) => d && fs.existsSync(path.join(d, "nccl.h"))) ?? null;
}

const c10dDefines = ["USE_C10D_GLOO", "USE_DISTRIBUTED"];

if (!root) {
  const inc = "/usr/include/torch/csrc/api/include";
  if (what === "include") {
    glooCheck(["/usr/include"]);
    out(["/usr/include", inc]);
  } else if (what === "libdirs") out([]);
  else if (what === "libs") out(["-ltorch", "-ltorch_cpu", "-lc10"]);
  else if (what === "defines") out(["_GLIBCXX_USE_CXX11_ABI=1", ...c10dDefines]);
} else {
  const lib = path.join(root, "lib");
  const nccl = ncclInclude(lib);
  if (what === "include") {
    const dirs = [path.join(root, "include"), path.join(root, "include/torch/csrc/api/include")];
    glooCheck([...dirs, "/usr/include"]);
    out(nccl ? [...dirs, nccl] : dirs);
  } else if (what === "libdirs") out([`-L${lib}`, `-Wl,-rpath,${lib}`]);
  else if (what === "libs") {
    const libs = ["-ltorch", "-ltorch_cpu", "-lc10"];
    // CUDA builds: force-link torch_cuda so its dispatch keys register at load time.
    if (fs.existsSync(path.join(lib, "libtorch_cuda.so"))) libs.push("-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed");
    out(libs);
  } else if (what === "defines") {
    const defs = [`_GLIBCXX_USE_CXX11_ABI=${abi}`, ...c10dDefines];
    if (nccl) defs.push("USE_C10D_NCCL", "ERCNN_WITH_NCCL");
    out(defs);
  }
}
