/**
 * Size checks before anything large is allocated: the compile-time limits of the parameter
 * tensors, and an estimate of a training run's peak resident memory from the manifest and the
 * batch size, compared with the memory this machine has available.
 *
 * The estimate counts float32 tensors of one optimizer step of the compiled training graph:
 * parameters and AdamW state (held by TrainingSession and by the fused Scan), the activations
 * the backward pass keeps (attention maps [B, H, L, L] per layer, the [B, L, width] tensors of
 * each layer), the loss head (full-catalogue logits [N, V] of full-ce, gathered negatives of
 * sampled softmax), the K stacked int64 batches (the fused Scan runs its K steps one after the
 * other, so activations count once: K = 1 and K = 8 peaked alike), a fixed runtime share
 * (Node.js, onnxruntime, the data), and validation's forward pass, which replaces the step's
 * share while it runs (the least a run needs: with memory to spare the trainer keeps both,
 * holdTrainingDuringValidation). The per-tensor counts were read off the graphs in graphs/ and fitted
 * to measured peak RSS (README, "Memory").
 */
import { constants as bufferConstants } from 'node:buffer';
import { freemem, totalmem } from 'node:os';
import type { ModelDefinition } from '../../graphs/types.js';
import type { Manifest } from '../contract/artifacts.js';
import type { Dataset } from '../data/types.js';
import { Graph } from '../dsl/graph.js';
import { ReclmError } from '../errors.js';

/** A size that cannot work: printed as one line, like the other user errors. */
export class SizeError extends ReclmError {}

/** Bytes of memory: `available` is what a new allocation can get now, `total` the machine's RAM. */
export interface MachineMemory {
  available: number;
  total: number;
}

/**
 * This machine's memory: MemAvailable on Linux (os.freemem reads it through libuv), capped
 * by a cgroup limit when Node reports one (process.availableMemory).
 */
export function machineMemory(): MachineMemory {
  const proc = process as NodeJS.Process & { availableMemory?: () => number; constrainedMemory?: () => number };
  const limit = proc.constrainedMemory?.() ?? 0;
  const total = limit > 0 && limit < totalmem() ? limit : totalmem();
  const available = Math.min(proc.availableMemory?.() ?? freemem(), freemem(), total);
  return { available, total };
}

/**
 * The largest typed array (elements) and Buffer (bytes) this Node.js allocates:
 * buffer.constants.MAX_LENGTH (2^32 on Node 20 x64). Parameters are Float32Arrays and
 * checkpoints are read whole into one Buffer.
 */
export const MAX_TYPED_ARRAY_LENGTH = bufferConstants.MAX_LENGTH;

const F32 = 4;
const I64 = 8;
const GB = 1024 ** 3;

/** "1.23 GiB", "250 MiB" (binary units, as free -h and /usr/bin/time's KB figures count). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * GB) return `${(bytes / (1024 * GB)).toFixed(1)} TiB`;
  if (bytes >= GB) return `${(bytes / GB).toFixed(2)} GiB`;
  return `${Math.max(1, Math.round(bytes / 1024 ** 2))} MiB`;
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * float32 copies of the parameters a training run holds: TrainingSession's double buffers of
 * parameters, m and v (6), the fused Scan's loop state for the same three (6: onnxruntime
 * ping-pongs state between iterations), the step's gradients and AdamW temporaries (~4).
 * The last.ckpt/best.ckpt writes stream from these buffers and add nothing.
 */
export const PARAM_COPIES = 16;

/** Parameter shapes as the manifest lists them. */
export type ParamShapes = readonly { name: string; shape: readonly number[] }[];

/** What to make smaller: the catalogue when the item embedding holds most of the parameters, else the layers. */
function shrinkAdvice(largest: ParamShapes[number] | undefined, total: number): string {
  if (largest?.name !== 'item_emb' || count(largest.shape) <= total / 2) return 'lower dim or n_layers';
  return `lower the item count or dim (the item embedding [${largest.shape.join(', ')}] holds ${Math.round((100 * count(largest.shape)) / total)}% of them)`;
}

/**
 * Compile-time check of the parameter tensors (shapes only, nothing allocated): the parameters
 * with their training state (PARAM_COPIES float32 copies) must fit this machine's total
 * memory, every tensor must fit a typed array, and a training checkpoint (parameters and both
 * AdamW moments, read whole into one Buffer) must fit a Buffer.
 *
 * @throws SizeError naming the tensor or the totals, in one line.
 */
export function checkParametersFit(params: ParamShapes, memory: MachineMemory = machineMemory()): void {
  let total = 0;
  let largest = params[0];
  for (const p of params) {
    total += count(p.shape);
    if (count(p.shape) > count(largest.shape)) largest = p;
  }
  const what = `the model has ${total.toLocaleString('en-US')} parameters (${formatBytes(total * F32)} as float32)`;
  if (PARAM_COPIES * total * F32 > memory.total) {
    throw new SizeError(
      `${what}; training holds about ${PARAM_COPIES} float32 copies of them (parameters, AdamW moments, gradients: ${formatBytes(PARAM_COPIES * total * F32)}) before any batch, more than this machine's ${formatBytes(memory.total)} of memory; ${shrinkAdvice(largest, total)}`,
    );
  }
  if (largest && count(largest.shape) > MAX_TYPED_ARRAY_LENGTH) {
    throw new SizeError(
      `${what}; parameter ${largest.name} [${largest.shape.join(', ')}] has ${count(largest.shape).toLocaleString('en-US')} elements, more than the ${MAX_TYPED_ARRAY_LENGTH.toLocaleString('en-US')} a typed array can hold; lower dim, n_layers or the FFN width`,
    );
  }
  if (3 * total * F32 > MAX_TYPED_ARRAY_LENGTH) {
    throw new SizeError(
      `${what}; a training checkpoint (parameters and both AdamW moments, ${formatBytes(3 * total * F32)}) exceeds the largest buffer Node.js can read (${formatBytes(MAX_TYPED_ARRAY_LENGTH)}); ${shrinkAdvice(largest, total)}`,
    );
  }
}

/**
 * The same check straight from a model and its raw config, before compiling: builds only the
 * forward training graph (symbolic, no tensor data) to read the parameter shapes. A typed
 * array the graph's own constants cannot get (e.g. an [L, L] table for a huge maxlen) is
 * reported as a SizeError naming the config instead of V8's "Invalid typed array length".
 *
 * @throws SizeError, or the model's ConfigError for an invalid config.
 */
export function checkModelFits(model: ModelDefinition, rawConfig: Record<string, unknown>, loss: Manifest['loss'], memory: MachineMemory = machineMemory()): void {
  const g = new Graph('size-check');
  try {
    model.buildTraining(g, model.resolveConfig(rawConfig), loss, { training: false });
  } catch (e) {
    if (e instanceof RangeError && /typed array length|Array buffer allocation failed/i.test(e.message)) {
      throw new SizeError(`the config ${JSON.stringify(sizeFields(rawConfig))} needs a constant tensor larger than Node.js can allocate (${e.message}); lower maxlen or dim`);
    }
    throw e;
  }
  checkParametersFit(
    g.params.map((p) => ({ name: p.name, shape: p.shape as number[] })),
    memory,
  );
}


function sizeFields(raw: Record<string, unknown>): Record<string, unknown> {
  const keys = ['dim', 'n_layers', 'n_heads', 'maxlen', 'num_items', 'dqk', 'dv', 'multiple_of', 'num_negatives'];
  return Object.fromEntries(keys.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]]));
}

/** Estimated peak resident memory of a training run, in bytes, by part. */
export interface MemoryEstimate {
  /** Parameters, AdamW moments, gradients and their copies (PARAM_COPIES × 4 bytes × P). */
  state: number;
  /** Tensors the encoder keeps for the backward pass, and their gradients, for one step. */
  activations: number;
  /** The loss head: full-catalogue logits [N, V] (full-ce) or the sampled negatives' logits. */
  logits: number;
  /** K stacked int64 batch inputs (sampler arrays and the stacked copy). */
  batches: number;
  /**
   * Validation's forward pass of the inference graph at VALIDATION_BATCH rows. When memory is
   * short the trainer releases the training session while validating, so this replaces
   * activations + logits instead of adding to them (`total` counts it so); see
   * holdTrainingDuringValidation.
   */
  validation: number;
  /** Node.js, onnxruntime, the sessions and the data (measured, see RUNTIME_BYTES). */
  runtime: number;
  /** The least a run needs: the training step's share and validation's replace each other. */
  total: number;
  /** The peak when the training session stays open during validation: both shares at once. */
  bothArenas: number;
  /** Bytes that grow with each batch row (activations + logits + batches per row). */
  perRow: number;
}

export interface EstimateOptions {
  batchSize: number;
  /** K steps fused into one run (their batches are stacked; activations are per step). */
  fusedSteps: number;
  /** Mean target positions per row (pos != 0), ≤ maxlen; defaults to maxlen. */
  meanTargetsPerRow?: number;
  /** Their standard deviation over rows (0 when not given). */
  sdTargetsPerRow?: number;
}

/**
 * Node.js with onnxruntime loaded, a session created and the data read: ML-100K's
 * ml-1m-llama run (2 layers, the preset until 2026-12-02) at batch 1 peaked at 152 MiB RSS (README, "Memory").
 */
export const RUNTIME_BYTES = 150 * 1024 ** 2;

/**
 * float32 tensors per element of the encoder's shapes that are live at the start of the
 * backward pass (the forward tensors the VJPs need, plus the gradient being formed), from
 * graphs/llama-sasrec.ts and graphs/hstu.ts and fitted to measured peak RSS (README, "Memory").
 * Attention maps dominate at maxlen 200: llama keeps its scores and probabilities and forms
 * their gradient; HSTU keeps qk, qk + rab, its sigmoid and SiLU and the masked product, and
 * forms the gradients of three of them.
 */
const LLAMA = { attention: 3, perDim: 12, perHidden: 4 };
const HSTU = { attention: 8, perDim: 6, perUvqk: 2 };
/**
 * Full CE keeps logits [N, V], their log-softmax, the softmax its gradient is formed from and
 * the logits' gradient.
 */
const FULL_CE_COPIES = 4;
/**
 * The arena keeps the largest step's tensors, so the logits are sized for a batch with more
 * target positions than the mean: TARGET_SDS standard errors above it (a run of 70 epochs of
 * ML-1M draws ~3,000 batches; their largest lies about 3.5 standard errors above the mean).
 */
const TARGET_SDS = 4;
/** Rows per validation batch (rankSplit's default, which training's validation uses). */
export const VALIDATION_BATCH = 256;
/**
 * A forward pass frees each layer's tensors before the next: about four attention maps, eight
 * [L, d] tensors, the masks and two rows of scores per row are live at once.
 */
const VALIDATION = { attention: 4, perDim: 8, scores: 2 };

/**
 * Peak resident memory of `reclm train` for the artifacts' config at a batch size.
 * Shapes: B = batchSize, L = maxlen, V = num_items, N = B × (mean + TARGET_SDS·sd/√B) target positions.
 * Not exact (onnxruntime's allocator decides the final layout): README "Memory" gives how
 * close it came to measured peak RSS.
 */
export function estimateTrainingMemory(manifest: Pick<Manifest, 'config' | 'params' | 'graphs' | 'dataset' | 'loss'>, opts: EstimateOptions): MemoryEstimate {
  const c = manifest.config as Record<string, number | boolean | string>;
  const num = (k: string, dflt = 0) => (typeof c[k] === 'number' ? (c[k] as number) : dflt);
  const B = opts.batchSize;
  const K = Math.max(1, opts.fusedSteps);
  const L = manifest.dataset.maxlen;
  const V = manifest.dataset.numItems;
  const d = num('dim');
  const layers = num('n_layers', 1);
  const H = num('n_heads', 1);
  const targets = Math.min(L, (opts.meanTargetsPerRow ?? L) + (TARGET_SDS * (opts.sdTargetsPerRow ?? 0)) / Math.sqrt(B));
  const P = manifest.params.reduce((a, p) => a + count(p.shape), 0);

  // Per row of a batch, in float32 elements. Masks [B, L, L]: llama's key-padding bias; HSTU's
  // allow map, and with the time bias its int64 buckets and the bias itself.
  const masks = manifest.config.model === 'hstu' ? (c.time_bias ? L * L * (1 + I64 / F32) : L * L) : c.key_padding_mask ? L * L : 0;
  let perRowAct: number;
  if (manifest.config.model === 'hstu') {
    perRowAct = layers * (HSTU.attention * H * L * L + HSTU.perDim * L * d + HSTU.perUvqk * L * num('uvqk_width', 4 * d)) + masks;
  } else {
    const attnDrop = num('attn_dropout') > 0 ? 2 : 0; // keep mask and dropped probabilities
    perRowAct = layers * ((LLAMA.attention + attnDrop) * H * L * L + LLAMA.perDim * L * d + LLAMA.perHidden * L * num('ffn_hidden', 4 * d)) + masks;
  }
  const perRowValidation = VALIDATION.attention * H * L * L + VALIDATION.perDim * L * d + masks + VALIDATION.scores * (V + 1);
  let perRowLogits: number;
  if (manifest.loss === 'full-ce') perRowLogits = FULL_CE_COPIES * targets * V;
  else if (manifest.loss === 'sampled-softmax') {
    const R = num('num_negatives', 128);
    // Shared negatives: [B, L, R] logits; per-row negatives also gather [B, L, R, d] item vectors.
    perRowLogits = c.shared_negatives ? FULL_CE_COPIES * L * R : FULL_CE_COPIES * L * R + 2 * L * R * d;
  } else perRowLogits = 6 * L * d + 4 * L; // BCE: gathered positive and negative item vectors, their products with F and gradients; the logits
  // Batch inputs: the sampler's arrays and the stacked [K, B, ...] copy, int64.
  const batchInputs = manifest.graphs.train_step.inputs.filter((i) => i.shape[0] === 'K' && i.name !== 'lr');
  const perRowBatch = 2 * K * batchInputs.reduce((a, i) => a + i.shape.slice(2).reduce<number>((x, y) => x * (typeof y === 'number' ? y : 1), 1), 0) * I64;
  const state = PARAM_COPIES * P * F32;
  const activations = B * perRowAct * F32;
  const logits = B * perRowLogits * F32;
  const batches = B * perRowBatch;
  const validation = VALIDATION_BATCH * perRowValidation * F32;
  const total = RUNTIME_BYTES + state + batches + Math.max(activations + logits, validation);
  const bothArenas = RUNTIME_BYTES + state + batches + activations + logits + validation;
  return { state, activations, logits, batches, validation, runtime: RUNTIME_BYTES, total, bothArenas, perRow: (perRowAct + perRowLogits) * F32 + perRowBatch };
}

/**
 * Whether the training session may stay open while validation runs: when both arenas at their
 * peak (estimate.bothArenas, bytes) take at most WARN_FRACTION of the available memory, with
 * what every other rank on the host holds while it trains counted too (bothArenas − validation
 * each: only rank 0 validates, and the ranks of one host share its memory). `estimate` is one
 * process's: with several ranks, its share of the global batch. Otherwise the trainer releases
 * the training session for each validation pass, and the next step is slow because onnxruntime
 * sets the reopened graph up on its first run (README "Memory" gives the measured cost); in a
 * data-parallel run every rank waits for that step at the next allreduce. `memory.available`
 * is this process's reading at start: ranks that allocated before it lower it, so the rule
 * errs towards releasing.
 *
 * @param ranksOnHost processes of the run on this host, this one included (1 for one process).
 * @throws RangeError when ranksOnHost is not a positive integer.
 */
export function holdTrainingDuringValidation(estimate: MemoryEstimate, memory: MachineMemory, ranksOnHost = 1): boolean {
  if (!(Number.isInteger(ranksOnHost) && ranksOnHost >= 1)) throw new RangeError(`holdTrainingDuringValidation: ranksOnHost must be a positive integer, got ${ranksOnHost}`);
  return estimate.bothArenas + (ranksOnHost - 1) * (estimate.bothArenas - estimate.validation) <= WARN_FRACTION * memory.available;
}

/** Rows per epoch, and the mean and standard deviation of target positions per row, for checkTrainingFits. */
export function trainingRows(data: Pick<Dataset, 'sequences'>, maxlen: number): { numTrainRows: number; meanTargetsPerRow: number; sdTargetsPerRow: number } {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (const s of data.sequences) {
    // Leave-one-out keeps len − 2 items for training (all of them below 3); a row has one target fewer.
    const train = s.length < 3 ? s.length : s.length - 2;
    if (train < 2) continue;
    const t = Math.min(train - 1, maxlen);
    n += 1;
    sum += t;
    sumSq += t * t;
  }
  const mean = n ? sum / n : maxlen;
  const sd = n ? Math.sqrt(Math.max(0, sumSq / n - mean * mean)) : 0;
  return { numTrainRows: data.sequences.length, meanTargetsPerRow: mean, sdTargetsPerRow: sd };
}

export interface FitOptions extends EstimateOptions {
  /** Rows one epoch draws (one per user): a larger batch only repeats rows. */
  numTrainRows: number;
  /** The machine's memory; tests inject it. */
  memory?: MachineMemory;
  /** Where batchSize came from, for the note when it is capped: 'flag' (the default) names --batch-size, another source (e.g. 'preset builtin') is named as it is. */
  batchSizeFrom?: string;
}

export interface FitResult {
  /** The batch size to train with (capped at numTrainRows). */
  batchSize: number;
  estimate: MemoryEstimate;
  memory: MachineMemory;
  /** Lines to show the user (a capped batch size, a tight fit). */
  notes: string[];
}

/**
 * The margin. The estimate came within −8% … +11% of measured peak RSS (README, "Memory"), so
 * a run is refused only when the estimate exceeds the available memory: its true peak is then
 * at least ~90% of it, where the kernel starts reclaiming and killing. Above WARN_FRACTION of
 * it a note says the run is tight (other processes' memory changes while it runs).
 */
export const WARN_FRACTION = 0.75;

/**
 * The one check `train` calls before allocating: caps the batch size at the rows of an epoch
 * (rows are drawn with replacement, so a larger batch repeats rows and the epoch still has
 * one step), then compares the memory estimate with the machine's available memory.
 *
 * @throws SizeError with the estimate, its parts and the machine's memory, in one line.
 */
export function checkTrainingFits(manifest: Pick<Manifest, 'config' | 'params' | 'graphs' | 'dataset' | 'loss'>, opts: FitOptions): FitResult {
  const notes: string[] = [];
  let batchSize = opts.batchSize;
  if (opts.numTrainRows >= 1 && batchSize > opts.numTrainRows) {
    const asked = opts.batchSizeFrom === undefined || opts.batchSizeFrom === 'flag' ? `--batch-size ${batchSize}` : `batch size ${batchSize} (${opts.batchSizeFrom})`;
    notes.push(`${asked} is larger than the ${opts.numTrainRows} rows of an epoch (one per user); using ${opts.numTrainRows}`);
    batchSize = opts.numTrainRows;
  }
  const stepsPerEpoch = Math.ceil(opts.numTrainRows / batchSize);
  const fusedSteps = Math.max(1, Math.min(opts.fusedSteps, stepsPerEpoch));
  const estimate = estimateTrainingMemory(manifest, { ...opts, batchSize, fusedSteps });
  const memory = opts.memory ?? machineMemory();
  const parts = `parameters and AdamW state ${formatBytes(estimate.state)}, activations ${formatBytes(estimate.activations)}, logits ${formatBytes(estimate.logits)}, batches ${formatBytes(estimate.batches)}, runtime ${formatBytes(estimate.runtime)}; validation ${formatBytes(estimate.validation)} at other times`;
  const machine = `${formatBytes(memory.available)} available of ${formatBytes(memory.total)}`;
  if (estimate.total > memory.available) {
    const fixed = estimate.runtime + estimate.state;
    const fits = fixed + estimate.validation <= memory.available ? Math.floor((memory.available - fixed) / estimate.perRow) : 0;
    const hint = fits >= 1 ? `lower --batch-size (about ${fits} fits)` : 'the model does not fit at any batch size; lower dim, n_layers or maxlen';
    const capped = batchSize < opts.batchSize ? ` (--batch-size ${opts.batchSize} capped at the rows of an epoch)` : '';
    throw new SizeError(`training needs about ${formatBytes(estimate.total)} at batch size ${batchSize}${capped}, but this machine has ${machine}; ${hint}. Estimate: ${parts}`);
  }
  if (estimate.total > WARN_FRACTION * memory.available) {
    notes.push(`training needs about ${formatBytes(estimate.total)} at batch size ${batchSize}, close to the ${machine}`);
  }
  return { batchSize, estimate, memory, notes };
}
