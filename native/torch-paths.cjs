// Prints libtorch build settings for binding.gyp, the way tch-rs finds libtorch:
// LIBTORCH=/path selects a pytorch.org build (CPU or CUDA); otherwise Debian's libtorch-dev.
// Usage: node torch-paths.cjs include|libdirs|libs|defines
const fs = require("node:fs");
const path = require("node:path");

const root = process.env.LIBTORCH;
const what = process.argv[2];
const abi = process.env.LIBTORCH_CXX11_ABI ?? "1";

function out(list) {
  process.stdout.write(list.join(" "));
}

if (!root) {
  const inc = "/usr/include/torch/csrc/api/include";
  if (what === "include") out(["/usr/include", inc]);
  else if (what === "libdirs") out([]);
  else if (what === "libs") out(["-ltorch", "-ltorch_cpu", "-lc10"]);
  else if (what === "defines") out(["_GLIBCXX_USE_CXX11_ABI=1"]);
} else {
  const lib = path.join(root, "lib");
  if (what === "include") out([path.join(root, "include"), path.join(root, "include/torch/csrc/api/include")]);
  else if (what === "libdirs") out([`-L${lib}`, `-Wl,-rpath,${lib}`]);
  else if (what === "libs") {
    const libs = ["-ltorch", "-ltorch_cpu", "-lc10"];
    // CUDA builds: force-link torch_cuda so its dispatch keys register at load time.
    if (fs.existsSync(path.join(lib, "libtorch_cuda.so"))) libs.push("-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed");
    out(libs);
  } else if (what === "defines") out([`_GLIBCXX_USE_CXX11_ABI=${abi}`]);
}
