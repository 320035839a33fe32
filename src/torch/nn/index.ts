// torch.nn
export * as init from "./init.ts";
export * from "./layers.ts";
export { type LoadResult, Module, type StateDict, StateDictError } from "./module.ts";
export { convertSyncBatchnorm, type StatsGroup, SyncBatchNorm } from "./sync-batchnorm.ts";
