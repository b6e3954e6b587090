/** Public surface of the data layer: reading, splitting, sampling and the built-in dataset. */
export type { Dataset, DataFormat, ReadOptions, ReadReport } from './types.js';
export { DATA_FORMATS } from './types.js';
export { DataFormatError } from './errors.js';
export { readDataset, parseDataset } from './read.js';
export { detectFormat, formatFromName } from './readers/detect.js';
export { saveItemMap, loadItemMap, itemMapOf, type ItemMap } from './item-map.js';
export { datasetStats, type DatasetStats } from './stats.js';
export { leaveOneOutSplit, type Split, type SplitSummary } from './split.js';
export { Rng, type RngState } from './rng.js';
export { SamplerError, TrainSampler, padBatch, type SamplerOptions, type SamplerState, type TrainBatch } from './sampler.js';
export { EVAL_TRIM_MULTIPLE, evalBatches, evalUsers, historyOf, trimmedLength, type EvalBatch, type EvalOptions, type EvalSplit } from './eval-inputs.js';
export { checkTimeBiasData } from './time-bias.js';
export { userLabel } from './user-label.js';
export { openDataset, BUILTIN } from './open.js';
export { builtinDataset, writeBuiltinDataset, type BuiltinOptions } from './builtin.js';
