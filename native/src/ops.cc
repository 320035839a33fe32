// Boxed calls into any registered ATen operator: resolve a schema once, call it by id.
// Autograd, dtype promotion and error checking are libtorch's own, exactly as from Python.
#include <ATen/core/dispatch/Dispatcher.h>
#include <deque>
#include <mutex>

#include "common.h"

namespace ercnn {

// Shared by every thread that loads the addon (main thread, inference workers): the mutex guards the table, and a
// std::deque never moves its elements on push_back, so a handle returned by opById stays valid while another
// thread's resolve appends (a std::vector could reallocate under it).
static std::mutex opsMutex;
static std::deque<c10::OperatorHandle> ops;

// resolve("aten::conv2d", "") -> op id
static Napi::Value Resolve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string overload = info.Length() > 1 ? info[1].As<Napi::String>().Utf8Value() : "";
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) throw Napi::Error::New(env, "no operator " + name + (overload.empty() ? "" : "." + overload));
  std::lock_guard<std::mutex> lock(opsMutex);
  ops.push_back(*handle);
  return Napi::Number::New(env, static_cast<double>(ops.size() - 1));
}

static const c10::OperatorHandle& opById(Napi::Env env, const Napi::Value& v) {
  uint32_t id = v.As<Napi::Number>().Uint32Value();
  std::lock_guard<std::mutex> lock(opsMutex);
  if (id >= ops.size()) throw Napi::Error::New(env, "bad operator id");
  return ops[id];
}

// schema(id) -> "aten::conv2d(Tensor input, ...) -> Tensor"
static Napi::Value Schema(const Napi::CallbackInfo& info) {
  const auto& op = opById(info.Env(), info[0]);
  std::ostringstream s;
  s << op.schema();
  return Napi::String::New(info.Env(), s.str());
}

// call(id, ...args): positional arguments in schema order; undefined (or missing) takes the default.
static Napi::Value Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const c10::OperatorHandle& op = opById(env, info[0]);
  const auto& schema = op.schema();
  const auto& args = schema.arguments();
  size_t given = info.Length() - 1;
  if (given > args.size())
    throw Napi::TypeError::New(env, schema.name() + ": takes " + std::to_string(args.size()) + " arguments, got " +
                                        std::to_string(given));
  return guard(env, [&]() -> Napi::Value {
    torch::jit::Stack stack;
    stack.reserve(args.size());
    for (size_t i = 0; i < args.size(); i++) {
      Napi::Value v = i < given ? info[i + 1] : env.Undefined();
      if (v.IsUndefined()) {
        if (!args[i].default_value())
          throw Napi::TypeError::New(env, schema.name() + ": missing argument '" + args[i].name() + "'");
        stack.push_back(*args[i].default_value());
      } else {
        stack.push_back(toIValue(env, v, args[i].type(), schema.name() + " argument '" + args[i].name() + "'",
                                 args[i].N() ? *args[i].N() : 0));
      }
    }
    op.callBoxed(&stack);
    if (stack.empty()) return env.Undefined();
    if (stack.size() == 1) return fromIValue(env, stack[0]);
    Napi::Array out = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); i++) out.Set(i, fromIValue(env, stack[i]));
    return out;
  });
}

// fromBuffer(typedArray, shape, dtype) -> Tensor (a copy, CPU)
static Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "fromBuffer: expected a TypedArray");
  auto arr = info[0].As<Napi::TypedArray>();
  Napi::Array shapeArr = info[1].As<Napi::Array>();
  std::vector<int64_t> shape(shapeArr.Length());
  int64_t numel = 1;
  for (uint32_t i = 0; i < shapeArr.Length(); i++) {
    shape[i] = shapeArr.Get(i).As<Napi::Number>().Int64Value();
    numel *= shape[i];
  }
  at::ScalarType dtype = dtypeFromJs(env, info[2]);
  size_t bytes = static_cast<size_t>(numel) * c10::elementSize(dtype);
  if (bytes != arr.ByteLength())
    throw Napi::RangeError::New(env, "fromBuffer: shape needs " + std::to_string(bytes) + " bytes, buffer has " +
                                         std::to_string(arr.ByteLength()));
  return guard(env, [&]() -> Napi::Value {
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (bytes > 0) {
      auto* src = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
      std::memcpy(t.data_ptr(), src, bytes);
    }
    return TensorWrap::Wrap(env, t);
  });
}

void InitOps(Napi::Env env, Napi::Object exports) {
  exports.Set("resolve", Napi::Function::New(env, Resolve));
  exports.Set("schema", Napi::Function::New(env, Schema));
  exports.Set("call", Napi::Function::New(env, Call));
  exports.Set("fromBuffer", Napi::Function::New(env, FromBuffer));
}

}  // namespace ercnn
