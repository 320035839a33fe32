#include "common.h"

namespace ercnn {

void InitDistributed(Napi::Env env, Napi::Object exports);  // distributed.cc
void InitDevice(Napi::Env env, Napi::Object exports);       // device.cc

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  static bool once = (InstallAllocator(), true);
  (void)once;
  auto* data = new InstanceData();
  env.SetInstanceData<InstanceData>(data);
  exports.Set("Tensor", TensorWrap::Init(env));
  InitOps(env, exports);
  InitRuntime(env, exports);
  InitAllocator(env, exports);
  InitDistributed(env, exports);
  InitDevice(env, exports);
  return exports;
}

}  // namespace ercnn

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return ercnn::Init(env, exports); }

NODE_API_MODULE(ercnn_torch, InitAddon)
