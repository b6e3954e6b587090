import * as ort from 'onnxruntime-node';
import { InferenceSession } from 'onnxruntime-node';
import { BATCH, CONTROL, OUTPUT } from '../contract/artifacts.js';
import { EvalBatch } from '../data/eval-inputs.js';

/** Scores a batch of evaluation rows over the whole catalogue: [n, V+1], column = item id. */
export interface Scorer {
  readonly maxlen: number;
  /**
   * Batches may be trimmed to their longest row rounded up to this multiple (the model takes
   * any sequence length T ≤ maxlen with the same scores); 0 or absent: every batch is maxlen wide.
   */
  readonly trimMultiple?: number;
  readonly numItems: number;
  readonly needsTimestamps: boolean;
  /** The graph reads `action` [n, L] / `profile` [n, P] (data/features.ts). */
  readonly needsActions?: boolean;
  readonly needsProfile?: boolean;
  score(batch: EvalBatch): Promise<Float32Array>;
  release(): Promise<void>;
}

/**
 * Runs an inference graph (exported inference.onnx, or the artifacts' inference_graph.onnx
 * with the parameters fed as inputs during training) and returns its `scores` output.
 */
export class OnnxScorer implements Scorer {
  readonly needsTimestamps: boolean;
  readonly needsActions: boolean;
  readonly needsProfile: boolean;

  /**
   * @param trimMultiple see Scorer.trimMultiple; give it only for a graph whose `seq` takes any
   *   T ≤ maxlen and whose model is padding-invariant (manifest trimPadding).
   */
  constructor(
    private readonly session: InferenceSession,
    readonly maxlen: number,
    readonly numItems: number,
    private readonly params: ReadonlyMap<string, ort.Tensor> = new Map(),
    readonly trimMultiple = 0,
  ) {
    this.needsTimestamps = session.inputNames.includes(BATCH.tsExt);
    this.needsActions = session.inputNames.includes(BATCH.action);
    this.needsProfile = session.inputNames.includes(BATCH.profile);
    const given: string[] = [BATCH.seq, BATCH.tsExt, BATCH.action, BATCH.profile, CONTROL.k];
    const missing = session.inputNames.filter((n) => !given.includes(n) && !params.has(n));
    if (missing.length) throw new Error(`inference graph needs inputs ${missing.join(', ')} that were not given`);
  }

  async score(batch: EvalBatch): Promise<Float32Array> {
    const T = batch.maxlen;
    const feeds: Record<string, ort.Tensor> = { [BATCH.seq]: new ort.Tensor('int64', batch.seq, [batch.n, T]) };
    if (this.needsTimestamps) {
      feeds[BATCH.tsExt] = new ort.Tensor('int64', batch.ts_ext ?? new BigInt64Array(batch.n * (T + 1)), [batch.n, T + 1]);
    }
    if (this.needsActions && batch.action) feeds[BATCH.action] = new ort.Tensor('int64', batch.action, [batch.n, T]);
    if (this.needsProfile && batch.profile) feeds[BATCH.profile] = new ort.Tensor('int64', batch.profile, [batch.n, batch.profile.length / batch.n]);
    if (this.session.inputNames.includes(CONTROL.k)) feeds[CONTROL.k] = new ort.Tensor('int64', BigInt64Array.of(1n), [1]);
    for (const [name, t] of this.params) feeds[name] = t;
    const out = await this.session.run(feeds, [OUTPUT.scores]);
    return out[OUTPUT.scores].data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
