// Device moves that keep tensor identity: module.to(device) in PyTorch replaces each parameter's data in place
// (param.data = param.data.to(device)), so every holder of the parameter sees the moved tensor. That is
// Variable::set_data, which the boxed op binding cannot express.
#include "common.h"

namespace ercnn {

// setData(dst, src): dst's data becomes src's (any device/dtype); autograd identity (leaf, requiresGrad) is kept.
static Napi::Value SetData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!TensorWrap::Is(info[0]) || !TensorWrap::Is(info[1])) throw Napi::TypeError::New(env, "setData: expected two Tensors");
  return guard(env, [&]() -> Napi::Value {
    TensorWrap::Unwrap(info[0])->tensor().set_data(TensorWrap::Unwrap(info[1])->tensor());
    return env.Undefined();
  });
}

void InitDevice(Napi::Env env, Napi::Object exports) {
  exports.Set("setData", Napi::Function::New(env, SetData));
}

}  // namespace ercnn
