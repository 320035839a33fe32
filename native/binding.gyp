{
  "targets": [
    {
      "target_name": "ercnn_torch",
      "sources": ["src/addon.cc", "src/tensor.cc", "src/convert.cc", "src/ops.cc", "src/runtime.cc", "src/allocator.cc", "src/distributed.cc", "src/device.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(node torch-paths.cjs include)", "src/shim"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "<!@(node torch-paths.cjs defines)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": ["<!@(node torch-paths.cjs libdirs)", "<!@(node torch-paths.cjs libs)"]
    },
    {
      "target_name": "ercnn_jpeg",
      "sources": ["src/jpeg.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O2"],
      "libraries": ["-lturbojpeg"]
    }
  ]
}
