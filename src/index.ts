// The library entry point: the DSL, the compiler, the runtime and the ranking step, and the
// shipped models and presets (compileJob needs a model definition; the CLI's registry is the one to use).
export * as dsl from './dsl/index.js';
export { gradients } from './compiler/autodiff.js';
export { addGradientOutputs, parameterGradients, gradName } from './compiler/training.js';
export { adamwStep, buildOptimizerGraph, SEED_ADAMW, type AdamWConfig } from './compiler/adamw.js';
export { buildFusedTrainStep } from './compiler/fused.js';
export { compileJob, type CompileJob } from './compiler/compile-job.js';
export { readManifest, type Manifest, type LossName } from './contract/artifacts.js';
export { type ModelDefinition } from '../graphs/types.js';
export { emitModel, OPSET, IR_VERSION } from './onnx/emit.js';
export { exportInference } from './onnx/bake.js';
export { TrainingSession, type SessionOptions } from './runtime/session.js';
export { train, type TrainOptions, type TrainSummary } from './runtime/trainer.js';
export { loadCheckpoint, saveCheckpoint, type CheckpointState } from './runtime/checkpoint.js';
export { parseDevice } from './onnx/providers.js';
export { openDataset } from './data/open.js';
export { readDataset } from './data/read.js';
export { leaveOneOutSplit } from './data/split.js';
export { TrainSampler } from './data/sampler.js';
export { builtinDataset } from './data/builtin.js';
export { evaluate, type EvaluateResult } from './eval/evaluate.js';
export { rankSplit } from './eval/rank.js';
export { MODELS, getModel, resolveConfig, ConfigError, llamaSasrec, hstu, type ModelConfig, type LlamaSasrecConfig, type HstuConfig, type RegisteredModel } from '../graphs/index.js';
export { PRESETS, PRESET_NAMES, AUTO_PRESET, presetNamed, type Preset, type Recipe } from '../graphs/presets.js';
export { autoPreset, describeChoices, describeStats, type AutoChoice, type AutoPreset, type AutoPresetStats } from '../graphs/auto-preset.js';
