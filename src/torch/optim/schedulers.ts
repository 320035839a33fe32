// Learning-rate schedules with torch.optim.lr_scheduler's values, in closed form of the step count
// (so a schedule resumes exactly from `lastEpoch`). Each writes `lr` into the optimizer's groups.
import type { BaseGroupOptions, Optimizer } from "./optimizer.ts";

/** A scheduler's resumable state (plain JSON). */
export interface SchedulerStateDict {
  lastEpoch: number;
  baseLrs: number[];
  lastLr: number[];
  children?: SchedulerStateDict[];
}

type AnyOptimizer = Optimizer<BaseGroupOptions>;

export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** Steps taken (0 right after construction, as PyTorch's last_epoch). */
  lastEpoch: number;
  /** Each group's initial learning rate (`initialLr`, set from `lr` by the first scheduler). */
  baseLrs: number[];
  protected lastLr: number[] = [];

  constructor(optimizer: Optimizer<any>, lastEpoch = -1) {
    this.optimizer = optimizer as AnyOptimizer;
    for (const [i, g] of this.optimizer.paramGroups.entries()) {
      if (lastEpoch === -1) g.initialLr ??= g.lr;
      else if (g.initialLr === undefined)
        throw new Error(
          `${this.constructor.name}: group ${i} has no initialLr, needed to resume at lastEpoch ${lastEpoch}`,
        );
    }
    this.baseLrs = this.optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** PyTorch's _initial_step(): every subclass constructor ends with it, once its fields are set. */
  protected initialStep(): void {
    this.step();
  }

  /** The learning rate of a group at `epoch` steps, from its base learning rate. */
  abstract lrAt(epoch: number, baseLr: number, group: number): number;

  /** Advances one step and sets every group's lr. */
  step(): void {
    this.lastEpoch++;
    this.apply();
  }

  protected apply(): void {
    this.lastLr = this.baseLrs.map((b, i) => this.lrAt(this.lastEpoch, b, i));
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.lastLr[i];
    });
  }

  /** The learning rates set by the last step (PyTorch's get_last_lr()). */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr] };
  }

  /** Restores lastEpoch and base learning rates, and sets the groups' lr accordingly. */
  loadStateDict(sd: SchedulerStateDict): void {
    if (sd.baseLrs.length !== this.optimizer.paramGroups.length)
      throw new Error(
        `${this.constructor.name}.loadStateDict: ${sd.baseLrs.length} base learning rates for ${this.optimizer.paramGroups.length} groups`,
      );
    this.lastEpoch = sd.lastEpoch;
    this.baseLrs = [...sd.baseLrs];
    this.apply();
  }
}

/** StepLR: lr = base · gamma^⌊epoch / stepSize⌋. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: Optimizer<any>, o: { stepSize: number; gamma?: number; lastEpoch?: number }) {
    if (!(Number.isInteger(o.stepSize) && o.stepSize > 0))
      throw new RangeError(`StepLR: invalid stepSize ${o.stepSize}`);
    const gamma = o.gamma ?? 0.1;
    super(optimizer, o.lastEpoch ?? -1);
    this.stepSize = o.stepSize;
    this.gamma = gamma;
    this.initialStep();
  }
  lrAt(epoch: number, base: number): number {
    const { stepSize, gamma } = this;
    return base * gamma ** Math.floor(epoch / stepSize);
  }
}

/** MultiStepLR: lr = base · gamma^(number of milestones ≤ epoch). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;
  constructor(optimizer: Optimizer<any>, o: { milestones: number[]; gamma?: number; lastEpoch?: number }) {
    const milestones = [...o.milestones].sort((a, b) => a - b);
    const gamma = o.gamma ?? 0.1;
    super(optimizer, o.lastEpoch ?? -1);
    this.milestones = milestones;
    this.gamma = gamma;
    this.initialStep();
  }
  lrAt(epoch: number, base: number): number {
    const { milestones, gamma } = this;
    return base * gamma ** bisectRight(milestones, epoch);
  }
}

/** CosineAnnealingLR: lr = etaMin + (base − etaMin)·(1 + cos(π·epoch/tMax))/2 (periodic past tMax, as PyTorch). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: Optimizer<any>, o: { tMax: number; etaMin?: number; lastEpoch?: number }) {
    if (!(o.tMax > 0)) throw new RangeError(`CosineAnnealingLR: invalid tMax ${o.tMax}`);
    const etaMin = o.etaMin ?? 0;
    super(optimizer, o.lastEpoch ?? -1);
    this.tMax = o.tMax;
    this.etaMin = etaMin;
    this.initialStep();
  }
  lrAt(epoch: number, base: number): number {
    const { tMax, etaMin } = this;
    return etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * epoch) / tMax))) / 2;
  }
}

/** LinearLR: lr = base · (startFactor + (endFactor − startFactor)·min(epoch, totalIters)/totalIters). */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  constructor(
    optimizer: Optimizer<any>,
    o: { startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number } = {},
  ) {
    const startFactor = o.startFactor ?? 1 / 3;
    const endFactor = o.endFactor ?? 1;
    const totalIters = o.totalIters ?? 5;
    if (!(startFactor > 0 && startFactor <= 1))
      throw new RangeError(`LinearLR: startFactor ${startFactor} not in (0, 1]`);
    if (!(endFactor >= 0 && endFactor <= 1)) throw new RangeError(`LinearLR: endFactor ${endFactor} not in [0, 1]`);
    if (!(Number.isInteger(totalIters) && totalIters > 0))
      throw new RangeError(`LinearLR: invalid totalIters ${totalIters}`);
    super(optimizer, o.lastEpoch ?? -1);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this.initialStep();
  }
  lrAt(epoch: number, base: number): number {
    const { startFactor, endFactor, totalIters } = this;
    return base * (startFactor + ((endFactor - startFactor) * Math.min(totalIters, epoch)) / totalIters);
  }
}

/** Linear warmup from startFactor·base (default 0.01) to base over warmupSteps steps, then constant. */
export class LinearWarmup extends LinearLR {
  constructor(optimizer: Optimizer<any>, o: { warmupSteps: number; startFactor?: number; lastEpoch?: number }) {
    super(optimizer, {
      startFactor: o.startFactor ?? 0.01,
      endFactor: 1,
      totalIters: o.warmupSteps,
      lastEpoch: o.lastEpoch,
    });
  }
}

/**
 * SequentialLR: runs schedulers[i] from milestone[i-1] on, each restarting at its own epoch 0
 * (torch.optim.lr_scheduler.SequentialLR).
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];
  constructor(optimizer: Optimizer<any>, schedulers: LRScheduler[], milestones: number[], lastEpoch = -1) {
    if (schedulers.length < 1 || milestones.length !== schedulers.length - 1)
      throw new Error(
        `SequentialLR: ${schedulers.length} schedulers need ${schedulers.length - 1} milestones, got ${milestones.length}`,
      );
    for (const s of schedulers)
      if (s.optimizer !== optimizer) throw new Error("SequentialLR: every scheduler must drive the same optimizer");
    // reset the groups' lr to the initial values the sub-schedulers moved away from
    for (const g of optimizer.paramGroups) if (g.initialLr !== undefined) g.lr = g.initialLr;
    super(optimizer, lastEpoch ?? -1);
    this.schedulers = schedulers;
    this.milestones = milestones;
    this.initialStep();
  }
  /** The sub-scheduler active at `epoch`, and its local epoch. */
  active(epoch: number): [LRScheduler, number] {
    const { schedulers, milestones } = this;
    const i = bisectRight(milestones, epoch);
    return [schedulers[i], i > 0 ? epoch - milestones[i - 1] : epoch];
  }
  lrAt(epoch: number, _base: number, group: number): number {
    const [s, local] = this.active(epoch);
    return s.lrAt(local, s.baseLrs[group], group);
  }
  protected override apply(): void {
    super.apply();
    const [s, local] = this.active(this.lastEpoch);
    s.lastEpoch = local;
  }
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), children: this.schedulers.map((s) => s.stateDict()) };
  }
  override loadStateDict(sd: SchedulerStateDict): void {
    if (sd.children) {
      if (sd.children.length !== this.schedulers.length)
        throw new Error(
          `SequentialLR.loadStateDict: ${sd.children.length} sub-schedulers in the state, ${this.schedulers.length} here`,
        );
      sd.children.forEach((c, i) => {
        this.schedulers[i].lastEpoch = c.lastEpoch;
        this.schedulers[i].baseLrs = [...c.baseLrs];
      });
    }
    super.loadStateDict(sd);
  }
}

/** Linear warmup (from startFactor·base) for warmupSteps, then cosine annealing to etaMin at totalSteps. */
export function warmupCosine(
  optimizer: Optimizer<any>,
  o: { warmupSteps: number; totalSteps: number; startFactor?: number; etaMin?: number },
): LRScheduler {
  if (!(o.totalSteps > o.warmupSteps)) throw new RangeError("warmupCosine: totalSteps must exceed warmupSteps");
  const cosine = () => new CosineAnnealingLR(optimizer, { tMax: o.totalSteps - o.warmupSteps, etaMin: o.etaMin });
  if (o.warmupSteps <= 0) return cosine();
  const warm = new LinearWarmup(optimizer, { warmupSteps: o.warmupSteps, startFactor: o.startFactor });
  return new SequentialLR(optimizer, [warm, cosine()], [o.warmupSteps]);
}

function bisectRight(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < a[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
