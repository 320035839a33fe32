// c10d, thinly: the TCPStore rendezvous torch.distributed's env:// uses, a ProcessGroupGloo (ProcessGroupNCCL when
// built against a CUDA libtorch with NCCL headers), collectives with timeouts, and DDP's Reducer (bucketed gradient
// all-reduce overlapped with backward). The store layout matches Python's init_process_group so a Python rank can
// join: PrefixStore("default_pg") for the store-based barrier, PrefixStore("0") under it for the default group.
// No training logic here: TypeScript decides what to reduce and when.
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#ifdef ERCNN_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <system_error>
#include <thread>
#include <unistd.h>

#include "common.h"

namespace ercnn {

namespace {

using Ms = std::chrono::milliseconds;

// Liveness: each rank bumps ercnn/heartbeat/<rank> on its own store connection every interval. When a collective
// fails, the survivors read the counters twice and name the ranks whose counter stood still.
struct Heartbeat {
  c10::intrusive_ptr<c10d::TCPStore> store;
  std::string key;
  Ms interval;
  std::mutex m;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;

  Heartbeat(const std::string& host, uint16_t port, int rank, Ms interval, Ms timeout)
      : key("ercnn/heartbeat/" + std::to_string(rank)), interval(interval) {
    c10d::TCPStoreOptions o;
    o.port = port;
    o.isServer = false;
    o.waitWorkers = false;
    o.timeout = timeout;
    store = c10::make_intrusive<c10d::TCPStore>(host, o);
    store->add(key, 1);
    thread = std::thread([this] {
      std::unique_lock<std::mutex> lock(m);
      while (!cv.wait_for(lock, this->interval, [this] { return stop; })) {
        try {
          store->add(key, 1);
        } catch (...) {
          return;  // the store (rank 0) is gone: nothing left to tell
        }
      }
    });
  }
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lock(m);
      stop = true;
    }
    cv.notify_all();
    if (thread.joinable()) thread.join();
  }
};

struct Group {
  std::string host;
  uint16_t port = 0;
  int rank = 0, size = 1;
  Ms timeout{0};
  std::string backend;
  c10::intrusive_ptr<c10d::TCPStore> tcp;
  c10::intrusive_ptr<c10d::Store> store;  // PrefixStore("default_pg", tcp)
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  std::unique_ptr<Heartbeat> heartbeat;
};

struct ReducerBox {
  std::unique_ptr<c10d::Reducer> reducer;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;  // keeps the group alive as long as the reducer
  size_t buckets = 0;
};

// When rank 0 dies its store server goes with it, and c10d's TCPStore client thread (1.13) throws from a background
// thread: std::terminate. While a group is live, that one case becomes a clear message naming rank 0 and exit code 3,
// like a failed collective; anything else goes to the previous handler.
std::mutex lostMutex;
std::string lostMessage;
std::terminate_handler previousTerminate = nullptr;

void onTerminate() {
  std::string msg;
  {
    std::lock_guard<std::mutex> lock(lostMutex);
    msg = lostMessage;
  }
  if (!msg.empty()) {
    if (auto e = std::current_exception()) {
      try {
        std::rethrow_exception(e);
      } catch (const std::system_error& se) {
        std::fprintf(stderr, "%s (c10d said: %s)\n", msg.c_str(), se.what());
        std::fflush(stderr);
        _exit(3);
      } catch (...) {
      }
    }
  }
  if (previousTerminate) previousTerminate();
  std::abort();
}

void armLostStore(const Group& g) {
  std::lock_guard<std::mutex> lock(lostMutex);
  if (g.rank == 0) return;
  lostMessage = "ercnn: rank " + std::to_string(g.rank) + ": rank 0 is gone (its rendezvous store at " + g.host + ":" +
                std::to_string(g.port) + " closed the connection)";
  static bool installed = (previousTerminate = std::set_terminate(onTerminate), true);
  (void)installed;
}

void disarmLostStore() {
  std::lock_guard<std::mutex> lock(lostMutex);
  lostMessage.clear();
}

const napi_type_tag kGroupTag = {0x6572636e6e646973ULL, 0x7467726f75703031ULL};
const napi_type_tag kReducerTag = {0x6572636e6e646973ULL, 0x7472656475633031ULL};

template <typename T>
T* unwrapTagged(Napi::Env env, const Napi::Value& v, const napi_type_tag& tag, const char* what) {
  if (!v.IsExternal() || !v.As<Napi::External<T>>().CheckTypeTag(&tag))
    throw Napi::TypeError::New(env, std::string("expected a ") + what + " handle");
  T* p = v.As<Napi::External<T>>().Data();
  if (p == nullptr) throw Napi::Error::New(env, std::string("the ") + what + " was destroyed");
  return p;
}

Group& groupOf(const Napi::CallbackInfo& info) {
  auto* g = unwrapTagged<std::unique_ptr<Group>>(info.Env(), info[0], kGroupTag, "process group");
  if (!*g) throw Napi::Error::New(info.Env(), "the process group was destroyed");
  return **g;
}

std::vector<at::Tensor> tensorList(Napi::Env env, const Napi::Value& v, const char* where) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(where) + ": expected an array of Tensors");
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value e = arr.Get(i);
    if (!TensorWrap::Is(e)) throw Napi::TypeError::New(env, std::string(where) + ": element " + std::to_string(i) + " is not a Tensor");
    out.push_back(TensorWrap::Unwrap(e)->tensor());
  }
  return out;
}

int64_t intOpt(const Napi::Object& o, const char* key, int64_t dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int64Value() : dflt;
}

void waitWork(const c10::intrusive_ptr<c10d::Work>& work, Ms timeout) {
  // Work::wait(timeout) throws when the timeout passes; a peer's failure surfaces as its exception.
  work->wait(timeout);
}

// init({ host, port, rank, worldSize, timeoutMs, backend, heartbeatMs }) -> group handle.
// Blocks until every rank has joined (or the timeout passes), exactly as init_process_group does.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "distInit: expected an options object");
  auto o = info[0].As<Napi::Object>();
  auto g = std::make_unique<Group>();
  g->host = o.Get("host").ToString().Utf8Value();
  int64_t port = intOpt(o, "port", -1);
  g->rank = static_cast<int>(intOpt(o, "rank", -1));
  g->size = static_cast<int>(intOpt(o, "worldSize", -1));
  g->timeout = Ms(intOpt(o, "timeoutMs", 1800000));
  Ms heartbeat(intOpt(o, "heartbeatMs", 1000));
  g->backend = o.Has("backend") ? o.Get("backend").ToString().Utf8Value() : "gloo";
  if (port <= 0 || port > 65535) throw Napi::RangeError::New(env, "distInit: port must be in 1..65535");
  if (g->size < 1 || g->rank < 0 || g->rank >= g->size)
    throw Napi::RangeError::New(env, "distInit: need 0 <= rank < worldSize");
  g->port = static_cast<uint16_t>(port);
  return guard(env, [&]() -> Napi::Value {
    c10d::TCPStoreOptions so;
    so.port = g->port;
    so.isServer = g->rank == 0;
    so.numWorkers = static_cast<size_t>(g->size);
    so.waitWorkers = true;
    so.timeout = g->timeout;
    so.multiTenant = true;
    g->tcp = c10::make_intrusive<c10d::TCPStore>(g->host, so);
    g->store = c10::make_intrusive<c10d::PrefixStore>("default_pg", g->tcp);
    auto groupStore = c10::make_intrusive<c10d::PrefixStore>("0", g->store);
    if (g->backend == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create(g->timeout);
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname && *ifname) {
        std::stringstream ss(ifname);
        std::string name;
        while (std::getline(ss, name, ','))
          if (!name.empty()) opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
      } else {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      opts->threads = static_cast<int>(opts->devices.size() * 2);
      g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(groupStore, g->rank, g->size, opts);
    } else if (g->backend == "nccl") {
#ifdef ERCNN_WITH_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = g->timeout;
      g->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(groupStore, g->rank, g->size, opts);
#else
      throw Napi::Error::New(env, "distInit: backend 'nccl' needs an addon built against a CUDA libtorch with NCCL "
                                  "headers (LIBTORCH=...); this one was built without NCCL: use 'gloo'");
#endif
    } else {
      throw Napi::Error::New(env, "distInit: unknown backend '" + g->backend + "' (gloo or nccl)");
    }
    // torch.distributed's store-based barrier after creating the default group (its key counts groups from 1).
    const std::string key = "store_based_barrier_key:1";
    g->store->add(key, 1);
    auto start = std::chrono::steady_clock::now();
    while (g->store->add(key, 0) < g->size) {
      if (std::chrono::steady_clock::now() - start > g->timeout)
        throw Napi::Error::New(env, "distInit: timed out waiting for all " + std::to_string(g->size) +
                                        " ranks to create the process group");
      std::this_thread::sleep_for(Ms(10));
    }
    g->pg->setSequenceNumberForGroup();
    if (heartbeat.count() > 0)
      g->heartbeat = std::make_unique<Heartbeat>(g->host, g->port, g->rank, heartbeat, g->timeout);
    armLostStore(*g);
    auto* box = new std::unique_ptr<Group>(std::move(g));
    auto ext = Napi::External<std::unique_ptr<Group>>::New(env, box, [](Napi::Env, std::unique_ptr<Group>* p) {
      try {
        delete p;
      } catch (...) {
      }
    });
    ext.TypeTag(&kGroupTag);
    return ext;
  });
}

// destroy(group): stops the heartbeat and releases the process group and the store (rank 0's store server too).
Napi::Value Destroy(const Napi::CallbackInfo& info) {
  auto* g = unwrapTagged<std::unique_ptr<Group>>(info.Env(), info[0], kGroupTag, "process group");
  return guard(info.Env(), [&]() -> Napi::Value {
    disarmLostStore();
    g->reset();
    return info.Env().Undefined();
  });
}

c10d::ReduceOp reduceOp(Napi::Env env, const std::string& name) {
  if (name == "sum") return c10d::ReduceOp::SUM;
  if (name == "max") return c10d::ReduceOp::MAX;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  throw Napi::Error::New(env, "allreduce: unknown op '" + name + "' (sum, max, min, product)");
}

// allreduce(group, tensors, op, timeoutMs): in place, like dist.all_reduce (one tensor per call on Gloo/NCCL).
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Group& g = groupOf(info);
  auto tensors = tensorList(env, info[1], "allreduce");
  auto op = reduceOp(env, info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "sum");
  Ms timeout = info[3].IsNumber() ? Ms(info[3].As<Napi::Number>().Int64Value()) : g.timeout;
  return guard(env, [&]() -> Napi::Value {
    at::NoGradGuard ng;
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      c10d::AllreduceOptions opts;
      opts.reduceOp = op;
      opts.timeout = timeout;
      waitWork(g.pg->allreduce(one, opts), timeout);
    }
    return env.Undefined();
  });
}

// torch.distributed.nn.functional.all_reduce(SUM): differentiable. Forward sums the input over ranks; backward
// sums the incoming gradient over ranks (the adjoint of a sum that every rank receives). SyncBatchNorm's statistics
// go through it. It runs on the same process group as DDP's Reducer, as in PyTorch: both issue their collectives
// in the (identical) order of each rank's forward and backward, which is what c10d needs.
struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static at::Tensor sum(const c10::intrusive_ptr<c10d::ProcessGroup>& pg, const at::Tensor& x, Ms timeout) {
    at::NoGradGuard ng;
    std::vector<at::Tensor> one{x.clone(at::MemoryFormat::Contiguous)};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    opts.timeout = timeout;
    waitWork(pg->allreduce(one, opts), timeout);
    return one[0];
  }
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            c10::intrusive_ptr<c10d::ProcessGroup> pg, int64_t timeoutMs) {
    ctx->saved_data["pg"] = pg;
    ctx->saved_data["timeout"] = timeoutMs;
    return sum(pg, x, Ms(timeoutMs));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto pg = ctx->saved_data["pg"].toCustomClass<c10d::ProcessGroup>();
    Ms timeout(ctx->saved_data["timeout"].toInt());
    return {sum(pg, grads[0], timeout), at::Tensor(), at::Tensor()};
  }
};

// allReduceSumAutograd(group, tensor, timeoutMs) -> a new Tensor: the sum over ranks, with a gradient.
Napi::Value AllreduceSumAutograd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Group& g = groupOf(info);
  if (!TensorWrap::Is(info[1])) throw Napi::TypeError::New(env, "allReduceSumAutograd: expected a Tensor");
  at::Tensor x = TensorWrap::Unwrap(info[1])->tensor();
  int64_t timeout = info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : g.timeout.count();
  return guard(env, [&]() -> Napi::Value {
    return TensorWrap::Wrap(env, AllReduceSum::apply(x, g.pg, timeout));
  });
}

// broadcast(group, tensors, root, timeoutMs)
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Group& g = groupOf(info);
  auto tensors = tensorList(env, info[1], "broadcast");
  int root = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
  Ms timeout = info[3].IsNumber() ? Ms(info[3].As<Napi::Number>().Int64Value()) : g.timeout;
  if (root < 0 || root >= g.size) throw Napi::RangeError::New(env, "broadcast: root out of range");
  return guard(env, [&]() -> Napi::Value {
    at::NoGradGuard ng;
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      c10d::BroadcastOptions opts;
      opts.rootRank = root;
      opts.timeout = timeout;
      waitWork(g.pg->broadcast(one, opts), timeout);
    }
    return env.Undefined();
  });
}

// broadcastCoalesced(group, tensors, bufferBytes, root): DDP's start-of-training sync of parameters and buffers.
Napi::Value BroadcastCoalesced(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Group& g = groupOf(info);
  auto tensors = tensorList(env, info[1], "broadcastCoalesced");
  size_t bytes = info[2].IsNumber() ? static_cast<size_t>(info[2].As<Napi::Number>().Int64Value()) : 250u << 20;
  int root = info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : 0;
  return guard(env, [&]() -> Napi::Value {
    at::NoGradGuard ng;
    c10d::broadcast_coalesced(g.pg, tensors, bytes, root);
    return env.Undefined();
  });
}

// barrier(group, timeoutMs)
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Group& g = groupOf(info);
  Ms timeout = info[1].IsNumber() ? Ms(info[1].As<Napi::Number>().Int64Value()) : g.timeout;
  return guard(info.Env(), [&]() -> Napi::Value {
    c10d::BarrierOptions opts;
    opts.timeout = timeout;
    waitWork(g.pg->barrier(opts), timeout);
    return info.Env().Undefined();
  });
}

// storeSet / storeGet / storeAdd on the shared TCPStore, under "ercnn/".
Napi::Value StoreSet(const Napi::CallbackInfo& info) {
  Group& g = groupOf(info);
  std::string key = "ercnn/" + info[1].ToString().Utf8Value();
  std::string value = info[2].ToString().Utf8Value();
  return guard(info.Env(), [&]() -> Napi::Value {
    g.tcp->set(key, std::vector<uint8_t>(value.begin(), value.end()));
    return info.Env().Undefined();
  });
}

Napi::Value StoreGet(const Napi::CallbackInfo& info) {
  Group& g = groupOf(info);
  std::string key = "ercnn/" + info[1].ToString().Utf8Value();
  return guard(info.Env(), [&]() -> Napi::Value {
    auto v = g.tcp->get(key);
    return Napi::String::New(info.Env(), std::string(v.begin(), v.end()));
  });
}

Napi::Value StoreAdd(const Napi::CallbackInfo& info) {
  Group& g = groupOf(info);
  std::string key = "ercnn/" + info[1].ToString().Utf8Value();
  int64_t by = info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : 1;
  return guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(g.tcp->add(key, by)));
  });
}

// silentRanks(group, waitMs) -> { ranks: number[], storeReachable: boolean }: the ranks (other than this one)
// whose heartbeat did not advance during waitMs. Used after a failed collective to name the dead rank.
Napi::Value SilentRanks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Group& g = groupOf(info);
  Ms wait = info[1].IsNumber() ? Ms(info[1].As<Napi::Number>().Int64Value()) : Ms(3000);
  Napi::Object out = Napi::Object::New(env);
  Napi::Array ranks = Napi::Array::New(env);
  bool reachable = true;
  try {
    c10d::TCPStoreOptions o;
    o.port = g.port;
    o.isServer = false;
    o.waitWorkers = false;
    o.timeout = Ms(std::min<int64_t>(g.timeout.count(), 5000));
    auto store = c10::make_intrusive<c10d::TCPStore>(g.host, o);
    std::vector<int64_t> before(g.size);
    for (int r = 0; r < g.size; r++) before[r] = store->add("ercnn/heartbeat/" + std::to_string(r), 0);
    std::this_thread::sleep_for(wait);
    uint32_t n = 0;
    for (int r = 0; r < g.size; r++) {
      if (r == g.rank) continue;
      int64_t after = store->add("ercnn/heartbeat/" + std::to_string(r), 0);
      if (after == before[r]) ranks.Set(n++, Napi::Number::New(env, r));
    }
  } catch (const std::exception&) {
    reachable = false;
  }
  out.Set("ranks", ranks);
  out.Set("storeReachable", Napi::Boolean::New(env, reachable));
  return out;
}

// reducerNew(group, params, bucketCapBytes, firstBucketBytes, findUnusedParameters) -> reducer handle.
// The bucket assignment follows DistributedDataParallel: parameters bucketed by size, buckets in reverse order so
// the last layers' gradients (ready first in backward) are reduced first.
Napi::Value ReducerNew(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Group& g = groupOf(info);
  auto params = tensorList(env, info[1], "Reducer");
  if (params.empty()) throw Napi::Error::New(env, "Reducer: no parameters");
  int64_t cap = info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : c10d::kDefaultBucketBytesCap;
  int64_t first = info[3].IsNumber() ? info[3].As<Napi::Number>().Int64Value() : c10d::kDefaultFirstBucketBytes;
  bool findUnused = info[4].ToBoolean().Value();
  return guard(env, [&]() -> Napi::Value {
    std::vector<bool> sparse(params.size(), false);
    auto assigned = c10d::compute_bucket_assignment_by_size(
        params, {static_cast<size_t>(first), static_cast<size_t>(cap)}, sparse);
    auto indices = std::get<0>(assigned);
    auto limits = std::get<1>(assigned);
    std::reverse(indices.begin(), indices.end());
    std::reverse(limits.begin(), limits.end());
    auto box = new ReducerBox();
    box->pg = g.pg;
    box->buckets = indices.size();
    std::unordered_map<size_t, std::string> names;
    box->reducer = std::make_unique<c10d::Reducer>(params, indices, limits, g.pg, sparse, cap, findUnused,
                                                   /*gradient_as_bucket_view=*/false, names, first);
    auto ext = Napi::External<ReducerBox>::New(env, box, [](Napi::Env, ReducerBox* p) {
      try {
        delete p;
      } catch (...) {
      }
    });
    ext.TypeTag(&kReducerTag);
    return ext;
  });
}

// reducerPrepare(reducer, outputs): call after forward, before backward (DDP's forward does this). During the
// backward that follows, each full bucket is averaged across ranks while the rest of backward runs; when
// backward returns every parameter's .grad holds the average.
Napi::Value ReducerPrepare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* box = unwrapTagged<ReducerBox>(env, info[0], kReducerTag, "reducer");
  auto outputs = info[1].IsArray() ? tensorList(env, info[1], "reducerPrepare") : std::vector<at::Tensor>{};
  return guard(env, [&]() -> Napi::Value {
    box->reducer->prepare_for_forward();
    box->reducer->prepare_for_backward(outputs);
    return env.Undefined();
  });
}

Napi::Value ReducerBuckets(const Napi::CallbackInfo& info) {
  auto* box = unwrapTagged<ReducerBox>(info.Env(), info[0], kReducerTag, "reducer");
  return Napi::Number::New(info.Env(), static_cast<double>(box->buckets));
}

Napi::Value NcclBuilt(const Napi::CallbackInfo& info) {
#ifdef ERCNN_WITH_NCCL
  return Napi::Boolean::New(info.Env(), true);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

}  // namespace

void InitDistributed(Napi::Env env, Napi::Object exports) {
  Napi::Object d = Napi::Object::New(env);
  d.Set("init", Napi::Function::New(env, Init));
  d.Set("destroy", Napi::Function::New(env, Destroy));
  d.Set("allreduce", Napi::Function::New(env, Allreduce));
  d.Set("allReduceSumAutograd", Napi::Function::New(env, AllreduceSumAutograd));
  d.Set("broadcast", Napi::Function::New(env, Broadcast));
  d.Set("broadcastCoalesced", Napi::Function::New(env, BroadcastCoalesced));
  d.Set("barrier", Napi::Function::New(env, Barrier));
  d.Set("storeSet", Napi::Function::New(env, StoreSet));
  d.Set("storeGet", Napi::Function::New(env, StoreGet));
  d.Set("storeAdd", Napi::Function::New(env, StoreAdd));
  d.Set("silentRanks", Napi::Function::New(env, SilentRanks));
  d.Set("reducerNew", Napi::Function::New(env, ReducerNew));
  d.Set("reducerPrepare", Napi::Function::New(env, ReducerPrepare));
  d.Set("reducerBuckets", Napi::Function::New(env, ReducerBuckets));
  d.Set("ncclBuilt", Napi::Function::New(env, NcclBuilt));
  exports.Set("distributed", d);
}

}  // namespace ercnn
