import { join } from "node:path";
import { Command } from "commander";
import { loadSafetensors, saveSafetensors, type Tensor } from "../../torch/index.ts";
import { bestAccLabel, train } from "../../train/index.ts";
import { addTrainOptions, configFromFlags, launchedRanks, trainProgress } from "./train.ts";

/**
 * Approach one of the study: pretrain a backbone on PLAIN images of one class set; the ER model then trains on
 * encrypted images of a disjoint set (`--pretrained <out>/backbone.safetensors`), so the backbone has never seen them.
 */
export function pretrainCommand(): Command {
  return addTrainOptions(
    new Command("pretrain")
      .description("train a backbone on a plain store (disjoint classes) and export its weights for --pretrained")
      .argument("<store>", "plain store (ercnn encrypt --plain), e.g. the tiny50 pretraining part"),
  ).action(async (store: string, o) => {
    const cfg = { augment: "plain" as const, ...configFromFlags(store, o), adapt: "none" as const };
    if (await launchedRanks(cfg)) return;
    const r = await train(cfg, { resume: !!o.resume, quiet: !!o.quiet, progress: trainProgress });
    if ((process.env.RANK ?? "0") !== "0") return;
    const { tensors } = await loadSafetensors(join(cfg.out, "best", "model.safetensors"));
    const backbone = new Map<string, Tensor>();
    for (const [k, t] of tensors) if (k.startsWith("backbone.")) backbone.set(k.slice("backbone.".length), t);
    const path = join(cfg.out, "backbone.safetensors");
    await saveSafetensors(path, backbone, { format: "pt", source: "ercnn pretrain" });
    for (const t of tensors.values()) t.dispose();
    process.stdout.write(
      `pretrained backbone: ${path} (${bestAccLabel(r)} ${(100 * r.bestValAcc).toFixed(2)}%); use it with --pretrained\n`,
    );
  });
}
