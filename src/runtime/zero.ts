/**
 * ZeRO stage 1 (Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion
 * Parameter Models", SC 2020, §5.1 "P_os"): each rank keeps the AdamW moments m and v of its
 * own shard of the parameters only and updates only that shard; the updated shards then
 * reach every rank (allgather).
 *
 * Shards are flat ranges of the parameters laid end to end in manifest order, cut near
 * r·P/N and moved to the nearest row boundary of the tensor the cut falls in (a row is
 * shape[1..] of the tensor; one element for a vector). A rank's shard is then a list of
 * pieces, each a contiguous range of whole rows of one tensor: a tensor itself, with the
 * tensor's decay flag, so the unmodified AdamW formula of src/compiler/adamw.ts runs on it
 * (one small optimizer graph per rank, built from the manifest's AdamW settings). Flat
 * ranges keep the shards balanced when one tensor dominates (the item embedding [V+1, d]
 * at large V); a rank's share differs from P/N by less than one row.
 *
 * Global-norm clipping needs the norm of the whole gradient: each rank sums the squares of
 * its shard's gradient (float64), the N partial sums are exchanged (one allreduce of N
 * floats) and added in rank order, so every rank clips by the same coefficient.
 *
 * Gradients are still allreduced whole before the step (the sparse item-row exchange and
 * the loss bookkeeping of data-parallel.ts stay as they are): ZeRO-1 here saves optimizer
 * memory, (N-1)/N of 2·P floats per rank, and adds one allgather of the parameters per step.
 */
import * as ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { type AdamWConfig, CONTROL, OUTPUT, gradName, momentName, nextName } from '../contract/artifacts.js';
import type { Graph, ParamInfo } from '../dsl/graph.js';
import type { Collective } from '../dist/collective.js';
import { emitModel } from '../onnx/emit.js';
import { simplify } from '../onnx/simplify.js';
import { type CudaOptions, createSession } from '../onnx/providers.js';
import type { CheckpointState } from './checkpoint.js';
import { int64Scalar } from './feeds.js';
import type { TrainingSession } from './session.js';

/** Rows [rowLo, rowHi) of parameter `param`: elements [lo, hi) of its flat buffer. */
export interface ShardPiece {
  param: string;
  /** Element range inside the parameter's buffer. */
  lo: number;
  hi: number;
  /** The piece's shape: [rows, ...shape[1..]] (the parameter's own shape for a scalar). */
  shape: number[];
  decay: boolean;
}

interface ParamLike {
  name: string;
  shape: readonly number[];
  decay: boolean;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * The ZeRO-1 shards of `params` over `size` ranks: for each rank, its pieces in manifest
 * order (see the module comment). Every element of every parameter is in exactly one piece.
 * A rank may get no piece when there are fewer rows than ranks.
 */
export function shardLayout(params: readonly ParamLike[], size: number): ShardPiece[][] {
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`shardLayout: size must be a positive integer, got ${size}`);
  const starts: number[] = [];
  let total = 0;
  for (const p of params) {
    starts.push(total);
    total += numel(p.shape);
  }
  // Cut points, each snapped to a row boundary of the tensor it falls in, never moving backwards.
  const cuts = [0];
  for (let r = 1; r < size; r++) {
    const target = Math.round((r * total) / size);
    let cut = total;
    for (let i = 0; i < params.length; i++) {
      const end = starts[i] + numel(params[i].shape);
      if (target < end) {
        const row = params[i].shape.length ? numel(params[i].shape.slice(1)) : numel(params[i].shape);
        cut = starts[i] + Math.round((target - starts[i]) / row) * row;
        break;
      }
    }
    cuts.push(Math.max(cuts[r - 1], cut));
  }
  cuts.push(total);
  return Array.from({ length: size }, (_, r) => {
    const pieces: ShardPiece[] = [];
    params.forEach((p, i) => {
      const lo = Math.max(starts[i], cuts[r]) - starts[i];
      const hi = Math.min(starts[i] + numel(p.shape), cuts[r + 1]) - starts[i];
      if (hi <= lo) return;
      const row = p.shape.length ? numel(p.shape.slice(1)) : 1;
      const shape = p.shape.length ? [(hi - lo) / row, ...p.shape.slice(1)] : [];
      pieces.push({ param: p.name, lo, hi, shape, decay: p.decay });
    });
    return pieces;
  });
}

/** Bytes of AdamW state (m and v, float32) of `elements` parameters. */
const stateBytes = (elements: number) => 2 * 4 * elements;

/** Optimizer-state sizes of a run: what one rank holds, and what one process would hold. */
export interface OptimizerStateBytes {
  /** Bytes of m and v on the rank holding the largest shard (all of them without ZeRO). */
  perRank: number;
  /** Bytes of m and v of the whole model. */
  unsharded: number;
  /** 0 (every rank holds every moment) or 1 (ZeRO-1). */
  zero: 0 | 1;
  ranks: number;
}

/** The optimizer-state bytes per rank of a run of `params` over `ranks` ranks, with or without ZeRO-1. */
export function optimizerStateBytes(params: readonly ParamLike[], ranks: number, zero: 0 | 1): OptimizerStateBytes {
  const unsharded = stateBytes(params.reduce((a, p) => a + numel(p.shape), 0));
  if (zero === 0) return { perRank: unsharded, unsharded, zero, ranks };
  const largest = Math.max(...shardLayout(params, ranks).map((pieces) => pieces.reduce((a, p) => a + p.hi - p.lo, 0)));
  return { perRank: stateBytes(largest), unsharded, zero, ranks };
}

/** "1.23 MB per rank (ZeRO-1 over 2 ranks; 2.46 MB unsharded)": the line printed at the start of training. */
export function describeOptimizerState(b: OptimizerStateBytes): string {
  const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
  if (b.zero === 1) return `optimizer state: ${mb(b.perRank)} per rank (ZeRO-1 over ${b.ranks} rank${b.ranks > 1 ? 's' : ''}; ${mb(b.unsharded)} unsharded)`;
  return `optimizer state: ${mb(b.perRank)} per rank (AdamW m and v${b.ranks > 1 ? `, on each of ${b.ranks} ranks` : ''})`;
}

/**
 * Builds the optimizer graph of one shard: buildShardOptimizerGraph of src/compiler/adamw.ts
 * (passed in by the caller: the runtime does not depend on the compiler, which depends on it).
 */
export type ShardGraphBuilder = (pieces: readonly ParamInfo[], cfg: AdamWConfig) => Graph;

interface PieceState {
  piece: ShardPiece;
  /** The graph's names for this piece. */
  name: string;
  /** Current and spare buffers of m and v (the graph reads one and writes the other). */
  m: [Float32Array, Float32Array];
  v: [Float32Array, Float32Array];
}

/**
 * The AdamW step of one rank of a ZeRO-1 run over a TrainingSession opened without
 * optimizer state (`optimizerState: false`): it owns its shard's moments, runs the shard's
 * optimizer graph on the session's accumulated gradients, and allgathers the parameters.
 * Every rank creates one with the same session artifacts and collective and makes the
 * same calls in the same order.
 */
export class ZeroOptimizer {
  /** Pieces of every rank, by rank. */
  readonly layout: ShardPiece[][];
  private readonly mine: PieceState[];
  private ort: InferenceSession | null = null;

  constructor(
    private readonly session: TrainingSession,
    private readonly collective: Collective,
    private readonly buildGraph: ShardGraphBuilder,
    private readonly sessionOptions: CudaOptions & { device?: string; threads?: number } = {},
  ) {
    if (session.m.size > 0) throw new Error('ZeroOptimizer: open the TrainingSession with optimizerState: false; the shard owns the moments');
    this.layout = shardLayout(session.manifest.params, collective.size);
    this.mine = this.layout[collective.rank].map((piece, i) => {
      const n = piece.hi - piece.lo;
      return { piece, name: `shard${i}`, m: [new Float32Array(n), new Float32Array(n)], v: [new Float32Array(n), new Float32Array(n)] };
    });
  }

  /** Optimizer-state bytes of this run (see optimizerStateBytes). */
  stateBytes(): OptimizerStateBytes {
    return optimizerStateBytes(this.session.manifest.params, this.collective.size, 1);
  }

  /** Elements of every rank's piece of `param`, and where each starts: allgatherv/gatherv blocks. */
  private blocks(param: string): { counts: number[]; displs: number[] } {
    const counts: number[] = [];
    const displs: number[] = [];
    for (const pieces of this.layout) {
      const p = pieces.find((x) => x.param === param);
      counts.push(p ? p.hi - p.lo : 0);
      displs.push(p ? p.lo : 0);
    }
    return { counts, displs };
  }

  /**
   * Takes this rank's shard of the moments from `state` (rank 0's checkpoint; other ranks
   * pass null): rank 0 broadcasts each tensor's m and v, every rank keeps its rows. Moments
   * the checkpoint lacks are zeros. Every rank calls it at the same point.
   */
  loadMoments(state: CheckpointState | null): void {
    const lead = this.collective.rank === 0;
    if (lead && !state) throw new Error('ZeroOptimizer.loadMoments: rank 0 needs the checkpoint state');
    for (const p of this.session.manifest.params) {
      const n = numel(p.shape);
      for (const which of ['m', 'v'] as const) {
        const full = (lead ? state![which].get(p.name) : undefined) ?? new Float32Array(n);
        if (this.collective.size > 1) this.collective.broadcast(full, 0);
        for (const s of this.mine) if (s.piece.param === p.name) s[which][0].set(full.subarray(s.piece.lo, s.piece.hi));
      }
    }
  }

  /**
   * The whole moments, on rank 0 (null on the others): each tensor's shards gathered
   * (gatherv), for one ordinary checkpoint. Every rank calls it at the same point.
   */
  gatherMoments(): { m: Map<string, Float32Array>; v: Map<string, Float32Array> } | null {
    const lead = this.collective.rank === 0;
    const out = { m: new Map<string, Float32Array>(), v: new Map<string, Float32Array>() };
    for (const p of this.session.manifest.params) {
      const { counts, displs } = this.blocks(p.name);
      const own = this.mine.find((s) => s.piece.param === p.name);
      for (const which of ['m', 'v'] as const) {
        const full = lead ? new Float32Array(numel(p.shape)) : null;
        this.collective.gatherv(own ? own[which][0] : new Float32Array(0), full, counts, displs, 0);
        if (full) out[which].set(p.name, full);
      }
    }
    return lead ? out : null;
  }

  private async graph(): Promise<InferenceSession> {
    if (!this.ort) {
      // init and zeroGradRows play no part in the optimizer graph (the gradient is already masked).
      const pieces: ParamInfo[] = this.mine.map((s) => ({ name: s.name, shape: s.piece.shape, decay: s.piece.decay, init: { kind: 'zeros' }, zeroGradRows: [] }));
      const bytes = emitModel(simplify(this.buildGraph(pieces, this.session.manifest.optimizer)), { docString: 'reclm ZeRO-1 optimizer shard', raw: true });
      this.ort = await createSession(bytes, this.sessionOptions.device ?? 'cpu', { threads: this.sessionOptions.threads, cudaLibDir: this.sessionOptions.cudaLibDir });
    }
    return this.ort;
  }

  /**
   * One AdamW step (with global-norm clipping) on the session's accumulated gradients,
   * which every rank holds whole (allreduced): this rank updates its shard, then the
   * parameters are allgathered, the step counter advances and the gradients are spent.
   * Returns the raw global gradient norm, as TrainingSession.optimizerStep does.
   */
  async step(lr: number): Promise<number> {
    const grads = this.session.gradientBuffers();
    // Each rank's sum of squares in its own slot; the exchange adds zeros to the others exactly.
    const partial = new Float32Array(this.collective.size);
    let own = 0;
    for (const s of this.mine) {
      const g = grads.get(s.piece.param)!;
      for (let i = s.piece.lo; i < s.piece.hi; i++) own += g[i] * g[i];
    }
    partial[this.collective.rank] = own;
    this.collective.allreduceSum(partial);
    let sumSq = 0;
    for (const x of partial) sumSq += x;
    const norm = Math.sqrt(sumSq);
    if (this.mine.length) {
      const feeds: Record<string, ort.Tensor> = {
        [CONTROL.step]: int64Scalar(this.session.step + 1),
        [CONTROL.lr]: new ort.Tensor('float32', Float32Array.of(lr), []),
        [OUTPUT.gradNorm]: new ort.Tensor('float32', Float32Array.of(norm), []),
      };
      const fetches: Record<string, ort.Tensor | null> = { [OUTPUT.clipCoef]: null };
      for (const s of this.mine) {
        const { param, lo, hi, shape } = s.piece;
        const t = (data: Float32Array) => new ort.Tensor('float32', data, shape);
        const buf = this.session.params.get(param)!;
        feeds[s.name] = t((buf.current.data as Float32Array).subarray(lo, hi));
        feeds[gradName(s.name)] = t(grads.get(param)!.subarray(lo, hi));
        feeds[momentName(s.name, 'm')] = t(s.m[0]);
        feeds[momentName(s.name, 'v')] = t(s.v[0]);
        fetches[nextName(s.name)] = t((buf.spare.data as Float32Array).subarray(lo, hi));
        fetches[nextName(momentName(s.name, 'm'))] = t(s.m[1]);
        fetches[nextName(momentName(s.name, 'v'))] = t(s.v[1]);
      }
      await (await this.graph()).run(feeds, fetches);
      for (const s of this.mine) {
        s.m.reverse();
        s.v.reverse();
      }
    }
    // The spare buffers now hold this rank's updated rows; the allgather fills in the others'.
    for (const p of this.session.manifest.params) {
      const buf = this.session.params.get(p.name)!;
      const { counts, displs } = this.blocks(p.name);
      this.collective.allgatherv(buf.spare.data as Float32Array, counts, displs);
      buf.swap();
    }
    this.session.step += 1;
    this.session.lazyResetGrad();
    return norm;
  }

  async release(): Promise<void> {
    await this.ort?.release();
    this.ort = null;
  }
}
