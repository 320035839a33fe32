// ercnn's model zoo: torchvision-exact backbones, CIFAR backbones, the adaptation network, the ER model,
// weights loading (safetensors, .pth, timm names) and checkpoints.

export * from "./adapt-augment.ts";
export * from "./adaptation.ts";
export * from "./airbench.ts";
export * from "./airbench-augment.ts";
export * from "./block-resnet.ts";
export * from "./checkpoint.ts";
export * from "./cifar-fast.ts";
export * from "./cifar-resnet.ts";
export * from "./common.ts";
export * from "./convnext.ts";
export * from "./densenet.ts";
export * from "./er-model.ts";
export * from "./pth.ts";
export * from "./registry.ts";
export * from "./resnet.ts";
export * from "./weights.ts";
export * from "./whiten.ts";
