// Shared declarations of the ercnn libtorch addon. The addon is deliberately thin:
// a Tensor handle, a boxed call into any ATen operator by schema, autograd and runtime knobs.
#pragma once
#include <napi.h>
#include <torch/torch.h>

namespace ercnn {

// Per-environment state (one per Node.js main thread or worker thread).
struct InstanceData {
  Napi::FunctionReference tensorCtor;
};

// A JS object that owns one at::Tensor. Memory is reported to V8 and released by dispose() or GC.
class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, at::Tensor t);
  static bool Is(Napi::Value v);
  static TensorWrap* Unwrap(Napi::Value v);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;

  at::Tensor& tensor();  // throws a JS Error when disposed
  void set(Napi::Env env, at::Tensor t);

 private:
  void release(Napi::Env env);
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Numel(const Napi::CallbackInfo& info);
  Napi::Value GetRequiresGrad(const Napi::CallbackInfo& info);
  void SetRequiresGrad(const Napi::CallbackInfo& info, const Napi::Value& v);
  Napi::Value IsLeaf(const Napi::CallbackInfo& info);
  Napi::Value Grad(const Napi::CallbackInfo& info);
  Napi::Value SetGrad(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value ToBuffer(const Napi::CallbackInfo& info);
  Napi::Value CopyTo(const Napi::CallbackInfo& info);
  Napi::Value Item(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);

  at::Tensor t_;
  bool disposed_ = false;
  int64_t reported_ = 0;
};

// dtype codes shared with TypeScript (c10::ScalarType values).
at::ScalarType dtypeFromJs(Napi::Env env, const Napi::Value& v);

// JS value -> IValue for a schema argument type, and IValue -> JS value.
c10::IValue toIValue(Napi::Env env, const Napi::Value& v, const c10::TypePtr& type, const std::string& where,
                     int64_t n = 0);
Napi::Value fromIValue(Napi::Env env, const c10::IValue& v);

// Runs fn and turns libtorch (c10::Error) and std exceptions into JS Errors with libtorch's message.
template <typename F>
auto guard(Napi::Env env, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

void InstallAllocator();
void InitAllocator(Napi::Env env, Napi::Object exports);
void InitOps(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);

}  // namespace ercnn
