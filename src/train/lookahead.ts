// airbench's Lookahead: an exponential moving average of the whole float state (weights and BatchNorm statistics)
// that the weights are pulled back to every k steps. At step s of S the EMA decay is 0.95^k·(s/S)³: near 0 early
// (the weights lead), near 0.77 late (the average smooths the last steps); the round ends on the EMA.
import type { nn } from "../torch/index.ts";
import { keep, noGrad, type Tensor } from "../torch/index.ts";

export class Lookahead {
  private readonly live: Tensor[];
  private readonly ema: Tensor[];

  constructor(
    model: nn.Module,
    readonly every: number,
    readonly totalSteps: number,
  ) {
    this.live = [...model.stateDict().values()].filter((t) => t.dtype === "float32" || t.dtype === "float64");
    this.ema = noGrad(() => this.live.map((t) => keep(t.detach().clone())));
  }

  /** airbench's decay at `step` (of totalSteps). */
  decayAt(step: number): number {
    return 0.95 ** this.every * Math.min(1, step / this.totalSteps) ** 3;
  }

  /** After optimizer step `step` (1-based, counted over the round): every `every` steps, meet the EMA. */
  afterStep(step: number): void {
    if (step % this.every === 0) this.update(this.decayAt(step));
  }

  /** ema ← decay·ema + (1 − decay)·weights; weights ← ema. decay 1 puts the EMA into the weights unchanged. */
  update(decay: number): void {
    noGrad(() =>
      this.live.forEach((t, i) => {
        this.ema[i].lerp_(t, 1 - decay);
        t.copy_(this.ema[i]);
      }),
    );
  }

  /** The round's end: the weights become the EMA. */
  finish(): void {
    this.update(1);
  }

  dispose(): void {
    for (const t of this.ema) t.dispose();
  }
}
