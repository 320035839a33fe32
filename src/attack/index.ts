/**
 * ercnn attack: what an eavesdropper can do against the block-wise Hill cipher. The ciphertext-only attack
 * (statistical-attack.ts) matches the ciphertexts' block statistics (moments.ts, energy-moments.ts) with those of
 * public photos; store.ts runs it on stores with libtorch (torch-moments.ts, torch-linalg.ts) and is the one entry
 * point the commands, the audit, the trainer's `--adapt-init attack` and the demo use. The known-plaintext recovery
 * (known-plaintext.ts) solves for the key from a few plaintext/ciphertext pairs; the jigsaw (jigsaw.ts) undoes block
 * scrambling from ciphertexts alone. Layering: above data, below models.
 */
export {
  ATTACK_DEFAULTS,
  type AttackDefaults,
  type AttackDefaultsRow,
  attackDefaults,
  attackDefaultsHelp,
  attackDefaultsTable,
} from "./defaults.ts";
export { ENERGY_FLOOR, ENERGY_OFFSETS, EnergyMoments } from "./energy-moments.ts";
export { gridSymmetries, JIGSAW, JigsawTooLarge, orientLike, solveBlockJigsaw } from "./jigsaw.ts";
export {
  applyBlockwise64,
  evaluateRecoveredKey,
  psnr,
  RankDeficientError,
  type RecoveredKey,
  recoverKey,
  relativeError,
} from "./known-plaintext.ts";
export { jsLinalg, type Linalg, type RelationObjective, type RelationStatistics } from "./linalg.ts";
export { BlockMoments, type BlockMomentsJson, channelPairIndex, NEIGHBOUR_OFFSETS } from "./moments.ts";
export {
  AMBIGUITY_DB,
  attackObjectiveAtKey,
  type ChannelReport,
  FAILURE_RATIO,
  type StatisticalAttackOptions,
  type StatisticalAttackResult,
  statisticalAttack,
} from "./statistical-attack.ts";
export * from "./store.ts";
export {
  type DeadLeavesFit,
  fitDeadLeaves,
  openReference,
  SYNTHETIC_IMAGES,
  SYNTHETIC_REFERENCE,
  type SyntheticReference,
  syntheticLines,
} from "./synthetic-reference.ts";
export { attackLinalg, TORCH_MIN_N, torchLinalg } from "./torch-linalg.ts";
