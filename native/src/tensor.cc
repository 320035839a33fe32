#include "common.h"

namespace ercnn {

static int64_t nbytesOf(const at::Tensor& t) {
  return t.defined() ? static_cast<int64_t>(t.numel() * t.element_size()) : 0;
}

Napi::Function TensorWrap::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(
      env, "Tensor",
      {
          InstanceMethod("shape", &TensorWrap::Shape),
          InstanceMethod("dtype", &TensorWrap::Dtype),
          InstanceMethod("device", &TensorWrap::Device),
          InstanceMethod("numel", &TensorWrap::Numel),
          InstanceAccessor("requiresGrad", &TensorWrap::GetRequiresGrad, &TensorWrap::SetRequiresGrad),
          InstanceMethod("isLeaf", &TensorWrap::IsLeaf),
          InstanceMethod("grad", &TensorWrap::Grad),
          InstanceMethod("setGrad", &TensorWrap::SetGrad),
          InstanceMethod("backward", &TensorWrap::Backward),
          InstanceMethod("toBuffer", &TensorWrap::ToBuffer),
          InstanceMethod("copyTo", &TensorWrap::CopyTo),
          InstanceMethod("item", &TensorWrap::Item),
          InstanceMethod("dispose", &TensorWrap::Dispose),
          InstanceMethod("isDisposed", &TensorWrap::IsDisposed),
      });
  env.GetInstanceData<InstanceData>()->tensorCtor = Napi::Persistent(ctor);
  return ctor;
}

Napi::Object TensorWrap::Wrap(Napi::Env env, at::Tensor t) {
  Napi::Object obj = env.GetInstanceData<InstanceData>()->tensorCtor.New({});
  Unwrap(obj)->set(env, std::move(t));
  return obj;
}

bool TensorWrap::Is(Napi::Value v) {
  if (!v.IsObject()) return false;
  Napi::Env env = v.Env();
  return v.As<Napi::Object>().InstanceOf(env.GetInstanceData<InstanceData>()->tensorCtor.Value());
}

TensorWrap* TensorWrap::Unwrap(Napi::Value v) {
  return Napi::ObjectWrap<TensorWrap>::Unwrap(v.As<Napi::Object>());
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {}

TensorWrap::~TensorWrap() {
  // GC finalizer: memory accounting is adjusted without an env here; V8 tolerates the drift
  // only for tensors nobody disposed, which tidy() makes rare.
  if (reported_ != 0) Napi::MemoryManagement::AdjustExternalMemory(Env(), -reported_);
}

at::Tensor& TensorWrap::tensor() {
  if (disposed_) throw Napi::Error::New(Env(), "Tensor was disposed");
  return t_;
}

void TensorWrap::set(Napi::Env env, at::Tensor t) {
  release(env);
  t_ = std::move(t);
  disposed_ = false;
  reported_ = nbytesOf(t_);
  if (reported_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env, reported_);
}

void TensorWrap::release(Napi::Env env) {
  if (reported_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -reported_);
  reported_ = 0;
  t_ = at::Tensor();
}

Napi::Value TensorWrap::Shape(const Napi::CallbackInfo& info) {
  auto sizes = tensor().sizes();
  Napi::Array out = Napi::Array::New(info.Env(), sizes.size());
  for (size_t i = 0; i < sizes.size(); i++) out.Set(i, Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
  return out;
}

Napi::Value TensorWrap::Dtype(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(tensor().scalar_type()));
}

Napi::Value TensorWrap::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), tensor().device().str());
}

Napi::Value TensorWrap::Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(tensor().numel()));
}

Napi::Value TensorWrap::GetRequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), tensor().requires_grad());
}

void TensorWrap::SetRequiresGrad(const Napi::CallbackInfo& info, const Napi::Value& v) {
  guard(info.Env(), [&] { tensor().requires_grad_(v.ToBoolean().Value()); });
}

Napi::Value TensorWrap::IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), tensor().is_leaf());
}

Napi::Value TensorWrap::Grad(const Napi::CallbackInfo& info) {
  const at::Tensor& g = tensor().grad();
  if (!g.defined()) return info.Env().Null();
  return Wrap(info.Env(), g);
}

// setGrad(tensor | null): assigns .grad (null clears it, like `p.grad = None`).
Napi::Value TensorWrap::SetGrad(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (info[0].IsNull() || info[0].IsUndefined()) {
      tensor().mutable_grad() = at::Tensor();
    } else {
      tensor().mutable_grad() = Unwrap(info[0])->tensor();
    }
    return info.Env().Undefined();
  });
}

// backward(gradient?: Tensor, retainGraph?: boolean, createGraph?: boolean)
Napi::Value TensorWrap::Backward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor grad;
    if (info.Length() > 0 && Is(info[0])) grad = Unwrap(info[0])->tensor();
    bool create = info.Length() > 2 && info[2].ToBoolean().Value();
    c10::optional<bool> retain;
    if (info.Length() > 1 && info[1].IsBoolean()) retain = info[1].As<Napi::Boolean>().Value();
    tensor().backward(grad, retain, create);
    return info.Env().Undefined();
  });
}

// toBuffer(): a fresh ArrayBuffer with the tensor's elements, contiguous, on the CPU.
Napi::Value TensorWrap::ToBuffer(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor c = tensor().detach().to(at::kCPU).contiguous();
    size_t n = static_cast<size_t>(c.numel() * c.element_size());
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(info.Env(), n);
    if (n > 0) std::memcpy(buf.Data(), c.data_ptr(), n);
    return buf;
  });
}

// copyTo(typedArray, dtypeCode): writes the elements (any layout, any device, converting dtype) straight into JS
// memory in one pass — a permuted view is laid out as it is copied. The borrowed view never outlives this call.
Napi::Value TensorWrap::CopyTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "copyTo: expected a TypedArray");
  auto arr = info[0].As<Napi::TypedArray>();
  at::ScalarType dtype = dtypeFromJs(env, info[1]);
  return guard(env, [&]() -> Napi::Value {
    const at::Tensor& src = tensor();
    size_t need = static_cast<size_t>(src.numel()) * c10::elementSize(dtype);
    if (need != arr.ByteLength())
      throw Napi::RangeError::New(env, "copyTo: tensor needs " + std::to_string(need) + " bytes, array has " +
                                           std::to_string(arr.ByteLength()));
    if (need == 0) return info[0];
    void* dst = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    at::NoGradGuard ng;
    at::from_blob(dst, src.sizes(), at::TensorOptions().dtype(dtype)).copy_(src.detach());
    return info[0];
  });
}

Napi::Value TensorWrap::Item(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    at::Scalar s = tensor().item();
    if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
    if (s.isIntegral(false)) return Napi::Number::New(info.Env(), static_cast<double>(s.toLong()));
    return Napi::Number::New(info.Env(), s.toDouble());
  });
}

Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  release(info.Env());
  disposed_ = true;
  return info.Env().Undefined();
}

Napi::Value TensorWrap::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed_);
}

}  // namespace ercnn
