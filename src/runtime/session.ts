import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { CONTROL, GRAPH_FILES, Manifest, OUTPUT, gradName, momentName, nextName, readManifest, sha256 } from '../contract/artifacts.js';
import { CheckpointState, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { Feeds, checkFeeds, int64Scalar } from './feeds.js';
import { CudaOptions, DeviceSpec, createSession } from '../onnx/providers.js';
import { exportInference, featureMetadata } from '../onnx/bake.js';
import type { ItemMap } from '../data/item-map.js';

export interface SessionOptions extends CudaOptions {
  device?: DeviceSpec | string;
  threads?: number;
  /** Seed for in-graph dropout masks. */
  seed?: number;
  /**
   * false: hold no AdamW moments (m and v stay empty; optimizerStep and fusedSteps throw).
   * A ZeRO-1 run's ZeroOptimizer (zero.ts) keeps its own shard of them instead. Default true.
   */
  optimizerState?: boolean;
  onNote?: (line: string) => void;
}

type GraphKey = 'training' | 'optimizer' | 'train_step';

/** Two buffers per tensor: the graph reads one and writes its update into the other. */
class DoubleBuffer {
  constructor(
    public current: ort.Tensor,
    public spare: ort.Tensor,
  ) {}
  swap(): void {
    [this.current, this.spare] = [this.spare, this.current];
  }
}

function floatTensor(shape: readonly number[], data?: Float32Array): ort.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new ort.Tensor('float32', data ?? new Float32Array(n), [...shape]);
}

/**
 * ONNX Runtime's training API, over plain inference sessions running the compiled
 * artifacts: trainStep / lazyResetGrad / optimizerStep, the fused fast path
 * fusedSteps, checkpoints and export. Parameters, gradients and moments live in
 * pre-allocated tensors that graph outputs are written into (onnxruntime's preallocated
 * fetches), so a step allocates no parameter-sized buffers.
 */
export class TrainingSession {
  readonly params = new Map<string, DoubleBuffer>();
  readonly m = new Map<string, DoubleBuffer>();
  readonly v = new Map<string, DoubleBuffer>();
  private readonly grads = new Map<string, ort.Tensor>();
  private gradsValid = false;
  private readonly sessions = new Map<GraphKey, ort.InferenceSession>();
  /** Optimizer steps done. */
  step = 0;
  seed: number;

  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly options: SessionOptions,
  ) {
    this.seed = options.seed ?? 0;
    for (const p of manifest.params) {
      this.params.set(p.name, new DoubleBuffer(floatTensor(p.shape), floatTensor(p.shape)));
      if (options.optimizerState === false) continue;
      this.m.set(p.name, new DoubleBuffer(floatTensor(p.shape), floatTensor(p.shape)));
      this.v.set(p.name, new DoubleBuffer(floatTensor(p.shape), floatTensor(p.shape)));
    }
  }

  /**
   * The accumulated gradient of a parameter, allocated on first use: only the unfused
   * trainStep/optimizerStep path needs them (train_step.onnx keeps its gradients inside
   * the Scan), so a fused run never holds these P floats.
   */
  private grad(name: string): ort.Tensor {
    let g = this.grads.get(name);
    if (!g) {
      g = floatTensor(this.manifest.params.find((p) => p.name === name)!.shape);
      this.grads.set(name, g);
    }
    return g;
  }

  /** Opens an artifact folder (verifying its hashes) and loads `checkpoint` if given. */
  static async open(dir: string, checkpoint: string | null, options: SessionOptions = {}): Promise<TrainingSession> {
    const s = new TrainingSession(dir, readManifest(dir), options);
    if (checkpoint) s.loadCheckpoint(checkpoint);
    return s;
  }

  get paramNames(): string[] {
    return this.manifest.params.map((p) => p.name);
  }

  private async session(key: GraphKey): Promise<ort.InferenceSession> {
    let s = this.sessions.get(key);
    if (!s) {
      s = await createSession(join(this.dir, GRAPH_FILES[key]), this.options.device ?? 'cpu', { ...this.options });
      this.sessions.set(key, s);
    }
    return s;
  }

  /**
   * Creates now the onnxruntime sessions a training path will use, instead of on its first
   * step: train_step.onnx for fused steps, else training.onnx (and optimizer.onnx when this
   * session holds the AdamW moments). The trainer calls it before an epoch's progress bar
   * starts, so that loading the graphs is not in the rate an ETA is computed from (onnxruntime
   * still sets a graph up on its first run, which stays in the first step). Sessions already
   * open are kept.
   * Throws what onnxruntime throws for a graph it cannot load.
   */
  async openGraphs(fused: boolean): Promise<void> {
    const keys: GraphKey[] = fused ? ['train_step'] : this.m.size > 0 ? ['training', 'optimizer'] : ['training'];
    for (const key of keys) await this.session(key);
  }

  /** The graphs with an onnxruntime session open now, in the order they were opened. */
  openGraphNames(): string[] {
    return [...this.sessions.keys()];
  }

  private paramFeeds(): Feeds {
    const f: Feeds = {};
    for (const [name, b] of this.params) f[name] = b.current;
    return f;
  }

  private async run(key: GraphKey, feeds: Feeds, fetches?: Record<string, ort.Tensor | null>): Promise<ort.InferenceSession.ReturnType> {
    checkFeeds(key, this.manifest.graphs[key].inputs, feeds);
    const s = await this.session(key);
    return fetches ? s.run(feeds, fetches) : s.run(feeds);
  }

  /** Forward and backward on one batch; gradients accumulate until lazyResetGrad(). Returns the loss. */
  async trainStep(batch: Feeds): Promise<number> {
    // row_offset (graphs with dropout): 0 for a whole batch unless the caller feeds a slice's offset.
    const rowOffset: Feeds = this.manifest.graphs.training.inputs.some((i) => i.name === CONTROL.rowOffset) ? { [CONTROL.rowOffset]: int64Scalar(0) } : {};
    const feeds = { ...this.paramFeeds(), ...rowOffset, ...batch, [CONTROL.seed]: int64Scalar(this.seed), [CONTROL.step]: int64Scalar(this.step) };
    const fetches: Record<string, ort.Tensor | null> = { [OUTPUT.loss]: null };
    for (const name of this.paramNames) fetches[gradName(name)] = this.gradsValid ? null : this.grad(name);
    const out = await this.run('training', feeds, fetches);
    if (this.gradsValid) {
      for (const name of this.paramNames) {
        const acc = this.grad(name).data as Float32Array;
        const g = out[gradName(name)].data as Float32Array;
        for (let i = 0; i < acc.length; i++) acc[i] += g[i];
      }
    }
    this.gradsValid = true;
    return (out[OUTPUT.loss].data as Float32Array)[0];
  }

  /**
   * The accumulated gradients by parameter name: float32 views of the buffers that
   * optimizerStep reads, shaped as the parameters. Scale or reduce them in place between
   * trainStep and optimizerStep (data-parallel allreduce, gradient accumulation weights).
   * Throws when no trainStep ran since the last reset or optimizer step.
   */
  gradientBuffers(): Map<string, Float32Array> {
    if (!this.gradsValid) throw new Error('gradientBuffers: no gradients; run trainStep first');
    return new Map([...this.grads].map(([k, t]) => [k, t.data as Float32Array]));
  }

  /** The next trainStep overwrites the gradients instead of adding to them. */
  lazyResetGrad(): void {
    this.gradsValid = false;
  }

  /** One AdamW step (with clipping) using the accumulated gradients. Returns the raw gradient norm. */
  async optimizerStep(lr: number): Promise<number> {
    if (!this.gradsValid) throw new Error('optimizerStep: no gradients; run trainStep first');
    const feeds: Feeds = { [CONTROL.step]: int64Scalar(this.step + 1), [CONTROL.lr]: new ort.Tensor('float32', Float32Array.of(lr), []) };
    const fetches: Record<string, ort.Tensor | null> = { [OUTPUT.gradNorm]: null, [OUTPUT.clipCoef]: null };
    this.addOptimizerState(feeds, fetches);
    for (const name of this.paramNames) feeds[gradName(name)] = this.grad(name);
    const out = await this.run('optimizer', feeds, fetches);
    this.swapAll();
    this.step += 1;
    this.gradsValid = false;
    return (out[OUTPUT.gradNorm].data as Float32Array)[0];
  }

  /**
   * K optimizer steps in one run of train_step.onnx. `stacked` holds each batch input with
   * a leading K dim; `lrs` the learning rate of each step. Returns losses and gradient norms.
   */
  async fusedSteps(stacked: Feeds, lrs: Float32Array): Promise<{ losses: Float32Array; gradNorms: Float32Array }> {
    const feeds: Feeds = { ...stacked, [CONTROL.step]: int64Scalar(this.step), [CONTROL.seed]: int64Scalar(this.seed), [CONTROL.lr]: new ort.Tensor('float32', lrs, [lrs.length]) };
    const fetches: Record<string, ort.Tensor | null> = { [OUTPUT.losses]: null, [OUTPUT.gradNorms]: null, [nextName(CONTROL.step)]: null };
    this.addOptimizerState(feeds, fetches);
    const out = await this.run('train_step', feeds, fetches);
    this.swapAll();
    this.step += lrs.length;
    this.gradsValid = false;
    return { losses: out[OUTPUT.losses].data as Float32Array, gradNorms: out[OUTPUT.gradNorms].data as Float32Array };
  }

  /** Feeds parameters and moments from the current buffers; their updates go into the spares. */
  private addOptimizerState(feeds: Feeds, fetches: Record<string, ort.Tensor | null>): void {
    if (this.m.size === 0) throw new Error('this session holds no optimizer state (opened with optimizerState: false); step with its ZeroOptimizer');
    for (const name of this.paramNames) {
      for (const [key, buf] of [[name, this.params], [momentName(name, 'm'), this.m], [momentName(name, 'v'), this.v]] as const) {
        feeds[key] = buf.get(name)!.current;
        fetches[nextName(key)] = buf.get(name)!.spare;
      }
    }
  }

  private swapAll(): void {
    for (const map of [this.params, this.m, this.v]) for (const b of map.values()) b.swap();
  }

  /** Current parameter values by name (views, valid until the next step). */
  parameterValues(): Map<string, Float32Array> {
    return new Map([...this.params].map(([k, b]) => [k, b.current.data as Float32Array]));
  }

  /** Checkpoint state of the parameters and optimizer; the caller adds sampler and schedule state. */
  checkpointState(extra: Partial<CheckpointState> = {}): CheckpointState {
    const shapes = new Map(this.manifest.params.map((p) => [p.name, p.shape]));
    return {
      step: this.step,
      epoch: 0,
      stepInEpoch: 0,
      params: new Map([...this.params].map(([k, b]) => [k, { shape: shapes.get(k)!, data: b.current.data as Float32Array }])),
      m: new Map([...this.m].map(([k, b]) => [k, b.current.data as Float32Array])),
      v: new Map([...this.v].map(([k, b]) => [k, b.current.data as Float32Array])),
      schedule: { step: this.step },
      samplerState: null,
      ...extra,
      // The caller's record (the trainer's RunMeta); the session adds nothing nobody reads.
      meta: extra.meta ?? {},
    };
  }

  saveCheckpoint(path: string, extra: Partial<CheckpointState> = {}): void {
    saveCheckpoint(path, this.checkpointState(extra));
  }

  /** Loads parameters and moments (copied into this session's buffers) and returns the full state. */
  loadCheckpoint(path: string): CheckpointState {
    const state = loadCheckpoint(path);
    for (const p of this.manifest.params) {
      const t = state.params.get(p.name);
      if (!t) throw new Error(`checkpoint ${path} has no parameter '${p.name}' (artifacts in ${this.dir} expect ${this.paramNames.length} parameters)`);
      if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`checkpoint ${path}: parameter '${p.name}' has shape [${t.shape.join(', ')}], the artifacts expect [${p.shape.join(', ')}]`);
      }
      (this.params.get(p.name)!.current.data as Float32Array).set(t.data);
      if (this.m.size === 0) continue;
      const zeros = new Float32Array(t.data.length);
      (this.m.get(p.name)!.current.data as Float32Array).set(state.m.get(p.name) ?? zeros);
      (this.v.get(p.name)!.current.data as Float32Array).set(state.v.get(p.name) ?? zeros);
    }
    this.step = state.step;
    this.gradsValid = false;
    return state;
  }

  /** Writes inference.onnx with the current parameters baked in as initializers. */
  exportModelForInferencing(path: string, metadata: Record<string, string> = {}): void {
    exportInference(join(this.dir, GRAPH_FILES.inference_graph), path, this.parameterValues(), {
      model: this.manifest.model,
      loss: this.manifest.loss,
      config: JSON.stringify(this.manifest.config),
      num_items: String(this.manifest.dataset.numItems),
      maxlen: String(this.manifest.dataset.maxlen),
      // inference.onnx takes any T ≤ maxlen; batches may drop their padding columns when this is true.
      trim_padding: String(this.manifest.trimPadding === true),
      // The item-id map travels beside inference.onnx in the artifact folder; its hash lets eval
      // tell it from another run's items.json when the model file is copied elsewhere.
      ...(this.manifest.dataset.itemMap ? { item_map: this.manifest.dataset.itemMap, ...this.itemMapMetadata(this.manifest.dataset.itemMap) } : {}),
      ...featureMetadata(this.manifest.features),
      ...metadata,
    });
  }

  /**
   * `item_map_sha256` of the folder's item map, and `item_ids_remapped` ("false": the ids are
   * the integers 1..V and number the items as they are, so eval can rank data numbered the same
   * way without the map); none when the file is missing (eval then cannot compare, as for older exports).
   */
  private itemMapMetadata(file: string): { item_map_sha256?: string; item_ids_remapped?: string } {
    const path = join(this.dir, file);
    if (!existsSync(path)) return {};
    const bytes = readFileSync(path);
    const map = JSON.parse(bytes.toString('utf8')) as Partial<ItemMap>;
    return { item_map_sha256: sha256(bytes), item_ids_remapped: String(map.remapped !== false) };
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
    this.sessions.clear();
  }
}
