// Conversion between JS values and c10::IValue, driven by the operator schema's argument types.
#include "common.h"

namespace ercnn {

at::ScalarType dtypeFromJs(Napi::Env env, const Napi::Value& v) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, "dtype must be a number code");
  int code = v.As<Napi::Number>().Int32Value();
  if (code < 0 || code >= static_cast<int>(at::ScalarType::NumOptions))
    throw Napi::TypeError::New(env, "unknown dtype code " + std::to_string(code));
  return static_cast<at::ScalarType>(code);
}

static double num(Napi::Env env, const Napi::Value& v, const std::string& where) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, where + ": expected a number");
  return v.As<Napi::Number>().DoubleValue();
}

static int64_t integer(Napi::Env env, const Napi::Value& v, const std::string& where) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  double d = num(env, v, where);
  if (d != static_cast<double>(static_cast<int64_t>(d)))
    throw Napi::TypeError::New(env, where + ": expected an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

static at::Tensor tensorArg(Napi::Env env, const Napi::Value& v, const std::string& where) {
  if (!TensorWrap::Is(v)) throw Napi::TypeError::New(env, where + ": expected a Tensor");
  return TensorWrap::Unwrap(v)->tensor();
}

static c10::IValue scalarArg(Napi::Env env, const Napi::Value& v, const std::string& where) {
  if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
  double d = num(env, v, where);
  // JS has one number type: integral values become integer Scalars (keeps integer dtypes).
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15)
    return c10::IValue(static_cast<int64_t>(d));
  return c10::IValue(d);
}

c10::IValue toIValue(Napi::Env env, const Napi::Value& v, const c10::TypePtr& type, const std::string& where,
                     int64_t n) {
  using K = c10::TypeKind;
  switch (type->kind()) {
    case K::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return toIValue(env, v, type->castRaw<c10::OptionalType>()->getElementType(), where, n);
    case K::TensorType:
      return tensorArg(env, v, where);
    case K::IntType:
    case K::SymIntType:
    case K::LayoutType:
    case K::MemoryFormatType:
      return c10::IValue(integer(env, v, where));
    case K::ScalarTypeType:
      return c10::IValue(static_cast<int64_t>(dtypeFromJs(env, v)));
    case K::FloatType:
      return c10::IValue(num(env, v, where));
    case K::BoolType:
      return c10::IValue(v.ToBoolean().Value());
    case K::NumberType:
      return scalarArg(env, v, where);
    case K::StringType:
      if (!v.IsString()) throw Napi::TypeError::New(env, where + ": expected a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case K::DeviceObjType:
      if (!v.IsString()) throw Napi::TypeError::New(env, where + ": expected a device string");
      return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
    case K::ListType: {
      auto elem = type->castRaw<c10::ListType>()->getElementType();
      // PyTorch accepts a bare int where an int[N] is expected (kernel_size=3): so do we.
      if (v.IsNumber() && (elem->kind() == K::IntType || elem->kind() == K::SymIntType))
        return c10::IValue(std::vector<int64_t>(n > 0 ? n : 1, integer(env, v, where)));
      if (!v.IsArray()) throw Napi::TypeError::New(env, where + ": expected an array");
      Napi::Array arr = v.As<Napi::Array>();
      uint32_t n = arr.Length();
      switch (elem->kind()) {
        case K::IntType:
        case K::SymIntType: {
          std::vector<int64_t> out(n);
          for (uint32_t i = 0; i < n; i++) out[i] = integer(env, arr.Get(i), where);
          return c10::IValue(out);
        }
        case K::FloatType: {
          std::vector<double> out(n);
          for (uint32_t i = 0; i < n; i++) out[i] = num(env, arr.Get(i), where);
          return c10::IValue(out);
        }
        case K::BoolType: {
          c10::List<bool> out;
          for (uint32_t i = 0; i < n; i++) out.push_back(arr.Get(i).ToBoolean().Value());
          return c10::IValue(out);
        }
        case K::TensorType: {
          std::vector<at::Tensor> out;
          out.reserve(n);
          for (uint32_t i = 0; i < n; i++) out.push_back(tensorArg(env, arr.Get(i), where));
          return c10::IValue(out);
        }
        case K::OptionalType: {
          c10::List<c10::optional<at::Tensor>> out;
          for (uint32_t i = 0; i < n; i++) {
            Napi::Value e = arr.Get(i);
            if (e.IsNull() || e.IsUndefined()) out.push_back(c10::nullopt);
            else out.push_back(tensorArg(env, e, where));
          }
          return c10::IValue(out);
        }
        case K::NumberType: {
          // Scalar[]: rare (e.g. _foreach_add_.ScalarList); doubles are accepted there.
          std::vector<double> out(n);
          for (uint32_t i = 0; i < n; i++) out[i] = num(env, arr.Get(i), where);
          return c10::IValue(out);
        }
        default:
          break;
      }
      throw Napi::TypeError::New(env, where + ": unsupported list element type " + elem->str());
    }
    default:
      break;
  }
  throw Napi::TypeError::New(env, where + ": unsupported argument type " + type->str());
}

Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (!t.defined()) return env.Null();
    return TensorWrap::Wrap(env, t);
  }
  if (v.isNone()) return env.Null();
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(i, fromIValue(env, c10::IValue(list.get(i))));
    return out;
  }
  if (v.isIntList()) {
    auto list = v.toIntVector();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(i, Napi::Number::New(env, static_cast<double>(list[i])));
    return out;
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    Napi::Array out = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) out.Set(i, fromIValue(env, elems[i]));
    return out;
  }
  throw Napi::TypeError::New(env, "unsupported return type " + v.tagKind());
}

}  // namespace ercnn
