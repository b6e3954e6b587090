import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { ArtifactError, MANIFEST_FILE, sha256 } from '../contract/artifacts.js';
import { loadItemMap } from '../data/item-map.js';
import { dataContentFingerprint, dataFingerprint, sideDataFingerprint } from '../data/fingerprint.js';
import { openDataset } from '../data/open.js';
import { leaveOneOutSplit, requireEvaluableUsers, type Split } from '../data/split.js';
import { EVAL_TRIM_MULTIPLE, EvalSplit, evalUsers, targetsInHistory } from '../data/eval-inputs.js';
import { droppedWarning, readPresplit, type PresplitFiles } from '../data/presplit.js';
import { Dataset, DataFormat, ReadOptions } from '../data/types.js';
import { checkTimeBiasData } from '../data/time-bias.js';
import { Rng } from '../data/rng.js';
import { onnx } from '../onnx/proto.js';
import { createSession } from '../onnx/providers.js';
import { AlignReport, MAX_LOST_TARGET_SHARE, alignSplit } from './align.js';
import { RankingMetrics } from './metrics.js';
import { evaluatePopularity, evaluatePopularitySampled } from './popularity.js';
import { SplitRanker, scoreSplit } from './rank.js';
import { OnnxScorer } from './scorer.js';
import { count } from '../util/plural.js';
import { UsageError } from '../errors.js';
import { formatPositiveRule, isAllPositive } from '../data/positive.js';

export interface EvaluateOptions {
  /** An artifact folder (its inference.onnx) or an .onnx file. */
  model: string;
  /** The interaction file to split leave-one-out, or (with `presplit`) the train file / folder. */
  data: string;
  format?: DataFormat;
  /** Reader options (columns, notes callback); `format` above still applies. */
  read?: ReadOptions;
  /** Pre-split files (resolvePresplit): ranked instead of a leave-one-out split of `data`. */
  presplit?: PresplitFiles | null;
  split: EvalSplit;
  negatives: number;
  ks: number[];
  batchSize: number;
  seed: number;
  /** Full ranking: keep the user's input-sequence items among the candidates (default: excluded, see rank.ts). */
  keepSeen?: boolean;
  /**
   * Leave-one-out full ranking: exclude only the items of the last N input items, N ≤ the model's
   * maxlen (default: all of its input row). Throws UsageError for a larger N, with keepSeen, with
   * the sampled protocol or with pre-split files.
   */
  excludeLast?: number;
  device?: string;
  /** Folder of the onnxruntime CUDA provider libraries (--cuda-lib-dir), for device cuda. */
  cudaLibDir?: string;
  threads?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * dataFingerprint() of the data the model was trained on, when known: a leave-one-out split
   * of other data gets a warning (its metrics are not the run's). inference.onnx carries it in
   * its `data_fingerprint` metadata; this is asked only for an export without it (the run's
   * recipe in last.ckpt, for models exported before the metadata existed).
   */
  trainedOn?: () => string | undefined;
  /**
   * Whether the model trained on the validation items (--train-on-valid), for an export without
   * the `train_on_valid` metadata (the run's recipe in last.ckpt): its valid split is then no
   * held-out data, and ranking it gets a warning.
   */
  trainedOnValid?: () => boolean | undefined;
  /** Whether the model trained on pre-split files, for an export without the `presplit` metadata (the run's recipe). */
  trainedPresplit?: () => boolean | undefined;
}

export interface EvaluateResult {
  model: string;
  data: string;
  split: EvalSplit;
  protocol: string;
  numItems: number;
  users: number;
  excludedUsers: number;
  metrics: RankingMetrics;
  popularity: RankingMetrics;
  unknown: AlignReport;
  /**
   * Leave-one-out (full or sampled ranking): every ranked user's id (as in the data file), target
   * item id (as in the model's item map) and rank (0 = scored above every candidate; ties count
   * against the target), sorted by user index; null for pre-split files (several targets per user).
   */
  perUser: PerUserRank[] | null;
  /** Things the user should know before reading the numbers (printed before the table). */
  warnings: string[];
  seconds: number;
}

/** One user's ranked target (EvaluateResult.perUser). */
export interface PerUserRank {
  user: string;
  target: string;
  rank: number;
}

/**
 * What the ranking step needs to know of an exported model, read from its ONNX header: maxlen
 * (the `seq` input's length, or the `maxlen` metadata when the input takes any T ≤ maxlen), the
 * item count, the metadata, and whether batches may be trimmed (`trimPadding`: a symbolic
 * sequence length and a padding-invariant model, metadata `trim_padding`).
 */
export function inspectInference(path: string): { maxlen: number; numItems: number; trimPadding: boolean; metadata: Record<string, string> } {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  const bytes = readFileSync(path);
  // protobuf decodes 0 bytes as an empty model, which would be reported as a missing input.
  if (bytes.length === 0) throw new ArtifactError(`${path} is empty (0 bytes): an interrupted copy or write; pass an artifact folder or its inference.onnx`);
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    // protobuf cannot tell a truncated file (a copy cut short, a full disk) from one that is no ONNX at all.
    throw new ArtifactError(`${path} cannot be read as an ONNX model: truncated, corrupted or not ONNX (${(e as Error).message}); pass an artifact folder or its inference.onnx`);
  }
  // A text file may decode as a protobuf message with no graph at all: no ONNX model, rather than one lacking an input.
  if (!model.graph || (model.graph.input ?? []).length === 0) throw new ArtifactError(`${path} is not an ONNX model (it decodes, but holds no graph with inputs); pass an artifact folder or its inference.onnx`);
  const graph = model.graph;
  const dims = (name: string, kind: 'input' | 'output') => {
    const v = (graph[kind] ?? []).find((x) => x.name === name);
    if (!v) throw new ArtifactError(`${path} has no '${name}' ${kind}; is it a reclm inference.onnx?`);
    return v.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue ?? 0));
  };
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key!, p.value!]));
  const fixed = dims('seq', 'input')[1];
  const maxlen = fixed > 0 ? fixed : Number(metadata.maxlen);
  if (!(Number.isInteger(maxlen) && maxlen > 0)) throw new ArtifactError(`${path}: its 'seq' input has no fixed length and its metadata no maxlen; is it a reclm inference.onnx?`);
  const numItems = dims('scores', 'output')[1] - 1;
  return { maxlen, numItems, trimPadding: fixed === 0 && metadata.trim_padding === 'true', metadata };
}

/**
 * The ranking step: loads only the exported inference graph and scores the split.
 * Stops (user-facing errors, non-zero exit from the CLI) when the numbers would mean nothing: no
 * evaluable user (DataFormatError), more than MAX_LOST_TARGET_SHARE of the evaluable users' targets
 * unknown to the model (ArtifactError), a NaN or infinite score (NonFiniteScoreError), --negatives
 * larger than a user's candidate pool (UsageError).
 */
export async function evaluate(opts: EvaluateOptions): Promise<EvaluateResult> {
  const started = Date.now();
  if (!existsSync(opts.model)) throw new ArtifactError(`${opts.model} does not exist; give the folder reclm compile --out wrote, or an .onnx file`);
  const isDir = statSync(opts.model).isDirectory();
  const path = isDir ? join(opts.model, 'inference.onnx') : opts.model;
  // A folder that compile never wrote is a wrong path, not a model waiting for training.
  if (isDir && !existsSync(path) && !existsSync(join(opts.model, MANIFEST_FILE))) throw new ArtifactError(`${opts.model} holds neither inference.onnx nor a compiled model (no ${MANIFEST_FILE}); give the folder reclm compile --out wrote, or an .onnx file`);
  if (!existsSync(path)) throw new ArtifactError(`${path} does not exist; train first (reclm train writes inference.onnx) or pass an .onnx file`);
  const info = inspectInference(path);
  // Before the data is read: a bad --exclude-last fails in a second.
  const excludeLast = checkExcludeLast(opts, info.maxlen);
  const warnings: string[] = [];
  let split: Split;
  let itemIds: string[];
  // Pre-split files: what was dropped at reading (items the train file lacks), for eval's counters; its own warning names it.
  let atRead: { interactions: number; items: number; lost: number } | undefined;
  // Whether the ranked data is the data the model trained on (its fingerprint is known and equal):
  // then the data numbers items as the model does, with or without the item map.
  let trainingData: boolean;
  // Whether the data renumbered its item ids (false: ids 1..V number the items as they are).
  let dataRemapped: boolean;
  if (opts.presplit) {
    const { userCol, itemCol, timeCol, actionCol, onNote } = opts.read ?? {};
    const r = readPresplit(opts.presplit, { format: opts.format, userCol, itemCol, timeCol, actionCol, onNote });
    checkTimeBiasData(info.metadata.config, r.data, 'evaluate');
    const { warning: other, numberedAsTrained } = otherData(r.data, opts.presplit.train, info.metadata, opts);
    if (other) warnings.push(other);
    else pushIfAny(warnings, otherSideData(r.data, opts.presplit.train, info.metadata, opts.model));
    trainingData = numberedAsTrained;
    ({ split } = r);
    itemIds = r.data.itemIds;
    dataRemapped = r.data.remapped;
    const { droppedInteractions: dropped, droppedUserInteractions: ofUsers, droppedItems } = r.report;
    atRead = { interactions: dropped - ofUsers, items: droppedItems, lost: r.report.lostUsers[opts.split] };
    pushIfAny(warnings, droppedWarning(r.report, opts.presplit.train));
    const repeated = targetsInHistory(split, opts.split);
    if (repeated.inHistory) {
      warnings.push(
        `${repeated.inHistory} of ${repeated.targets} ${opts.split} targets (${((100 * repeated.inHistory) / repeated.targets).toFixed(1)}%) are items already in their user's history (${opts.presplit.train}${opts.split === 'test' && opts.presplit.valid ? ` and ${opts.presplit.valid}` : ''}): ` +
          'they stay candidates, so a target file that repeats training interactions inflates the metrics (data with repeat consumption looks the same)',
      );
    }
  } else {
    const data = openDataset(opts.data, { ...opts.read, format: opts.format ?? opts.read?.format });
    checkTimeBiasData(info.metadata.config, data, 'evaluate');
    const presplitModel = info.metadata.presplit === 'true' || (info.metadata.data_fingerprint === undefined && opts.trainedPresplit?.() === true);
    const { warning: other, numberedAsTrained } = otherData(data, opts.data, info.metadata, opts, presplitModel);
    trainingData = numberedAsTrained;
    if (other) warnings.push(other);
    // The same file, but the model trained on pre-split files took every event of it for training.
    else if (presplitModel) {
      warnings.push(`${opts.model} was trained on pre-split files with every event of ${opts.data} a training event, so the leave-one-out targets ranked here are training items (rank it with its validation or test file: --test-data FILE)`);
    }
    if (!other) pushIfAny(warnings, otherSideData(data, opts.data, info.metadata, opts.model));
    split = leaveOneOutSplit(data);
    itemIds = data.itemIds;
    dataRemapped = data.remapped;
    // On other data the events are not the model's training events (its own warning says so).
    const trainedTargets = other ? null : ruleTargetsTrainedOn(split, opts.split, info.metadata, opts);
    if (trainedTargets) warnings.push(trainedTargets);
  }
  // An export with a data fingerprint (every export since it exists) carries train_on_valid when it is true.
  if (opts.split === 'valid' && (info.metadata.train_on_valid === 'true' || (info.metadata.data_fingerprint === undefined && opts.trainedOnValid?.()))) {
    warnings.push(`${opts.model} was trained with --train-on-valid: the validation items were its training targets, so these valid-split figures are not held-out metrics (rank the test split)`);
  }
  const source = opts.presplit ? (opts.presplit[opts.split] ?? opts.data) : opts.data;
  requireEvaluableUsers(split, opts.split, source);
  let unknown: AlignReport = { unknownInteractions: 0, unknownItems: 0, evaluable: evalUsers(split, opts.split).length, lostTargets: 0 };
  const mapPath = info.metadata.item_map ? join(dirname(path), info.metadata.item_map) : null;
  if (mapPath && existsSync(mapPath)) {
    // A model file copied into another run's folder would be scored with that run's catalogue: wrong numbers, silently.
    const want = info.metadata.item_map_sha256;
    if (want !== undefined && sha256(readFileSync(mapPath)) !== want) {
      throw new ArtifactError(`${mapPath} is not the item map ${path} was exported with (its sha256 differs from the model's item_map_sha256): another run's? Copy the model together with its own ${info.metadata.item_map}`);
    }
    const map = loadItemMap(mapPath);
    ({ split, report: unknown } = alignSplit(split, itemIds, map, opts.split));
    itemIds = map.itemIds; // the split now numbers items as the model does
  }
  // Ids 1..V kept as they are, in the model and in the data, number the items alike without the map.
  const numberedById = info.metadata.item_ids_remapped === 'false' && !dataRemapped;
  if (mapPath && !existsSync(mapPath) && !trainingData && !numberedById) {
    throw new ArtifactError(`${path} names its item map ${info.metadata.item_map}, which is not beside it: copy it with the model (without it, items are numbered as ${opts.data} numbers them, which matches the model only on its own training data, or where both keep integer ids 1..V as they are)`);
  }
  if (split.numItems !== info.numItems) {
    throw new ArtifactError(`${path} scores ${info.numItems} items but ${opts.data} has ${split.numItems} (and no item map beside the model to align them)`);
  }
  // Pre-split users whose every target was dropped at reading are lost targets too (counted
  // before the refusal below), and the items the train file lacks unknown ones; the dropped
  // interactions have their own warning, so the alignment's is about the alignment alone.
  const aligned = unknown;
  if (atRead) unknown = { unknownInteractions: unknown.unknownInteractions + atRead.interactions, unknownItems: unknown.unknownItems + atRead.items, evaluable: unknown.evaluable + atRead.lost, lostTargets: unknown.lostTargets + atRead.lost };
  if (unknown.lostTargets > MAX_LOST_TARGET_SHARE * unknown.evaluable) {
    throw new ArtifactError(
      `${unknown.lostTargets} of ${unknown.evaluable} evaluable users in ${source} have a ${opts.split} target (or a whole history) the model's catalogue does not know; this is not the data ${path} was trained on (more than ${MAX_LOST_TARGET_SHARE * 100}% lost)`,
    );
  }
  if (aligned.unknownInteractions) warnings.push(`${aligned.unknownInteractions} interactions with ${aligned.unknownItems} items the model has never seen were dropped`);
  if (unknown.lostTargets) warnings.push(`${unknown.lostTargets} of ${unknown.evaluable} evaluable users are skipped: their ${opts.split} target or whole history is unknown to the model`);
  const keepSeen = opts.keepSeen ?? false;
  const rankOpts = { split: opts.split, ks: opts.ks, batchSize: opts.batchSize, negatives: opts.negatives, seed: opts.seed, keepSeen, excludeLast };
  // Built before the session: --negatives is checked against every user's candidate pool before anything loads.
  const ranker = new SplitRanker(split, rankOpts);
  const session: InferenceSession = await createSession(path, opts.device ?? 'cpu', { threads: opts.threads, cudaLibDir: opts.cudaLibDir });
  const scorer = new OnnxScorer(session, info.maxlen, info.numItems, new Map(), info.trimPadding ? EVAL_TRIM_MULTIPLE : 0);
  try {
    await scoreSplit(scorer, split, { ...rankOpts, onProgress: opts.onProgress }, ranker);
    const metrics = ranker.result();
    const popularity = opts.negatives > 0
      ? evaluatePopularitySampled(split, opts.split, new Rng(opts.seed, 7), opts.ks, 10000, opts.negatives)
      : evaluatePopularity(split, opts.split, opts.ks, { maxlen: info.maxlen, keepSeen, excludeLast });
    return {
      model: path,
      data: opts.data,
      split: opts.split,
      protocol: protocolOf(opts, info.numItems, keepSeen, excludeLast),
      numItems: info.numItems,
      users: metrics.users,
      excludedUsers: split.summary.excludedFromEval,
      metrics,
      popularity,
      unknown,
      perUser: perUserRanks(ranker, split, opts.split, itemIds),
      warnings,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await scorer.release();
  }
}

/**
 * Whether `data` (read from `file`) is the data the model trained on: `warning` for other data,
 * else null; `numberedAsTrained` when it is known to number users and items as the model does
 * (the same file). Compared with the export's `data_fingerprint` metadata, else the run's recipe
 * (opts.trainedOn, for older exports); neither known: no warning, numbering not known. The same
 * events in another row order (`data_content_fingerprint`) are the same data, numbered
 * otherwise. `presplitModel`: the model trained on pre-split files, so the same events without
 * their times are the same data.
 */
function otherData(data: Dataset, file: string, metadata: Record<string, string>, opts: EvaluateOptions, presplitModel = false): { warning: string | null; numberedAsTrained: boolean } {
  const trainedOn = metadata.data_fingerprint ?? opts.trainedOn?.();
  if (!trainedOn) return { warning: null, numberedAsTrained: false };
  const read = dataFingerprint(data);
  if (read === trainedOn) return { warning: null, numberedAsTrained: true };
  // A log given to train as pre-split --data is read without its times (pre-split files carry none): the same events.
  if (presplitModel && data.timestamps && dataFingerprint({ ...data, timestamps: null }) === trainedOn) return { warning: null, numberedAsTrained: true };
  const content = metadata.data_content_fingerprint;
  if (content !== undefined && dataContentFingerprint(data) === content) return { warning: null, numberedAsTrained: false };
  return { numberedAsTrained: false, warning: `${file} is not the data ${opts.model} was trained on (data fingerprint ${read.slice(0, 12)}, the run's ${trainedOn.slice(0, 12)}): its held-out items may be training items of the run, and its users other users, so these are not the run's metrics` };
}

/**
 * The warning for ranking the model's training events with other actions or user features than
 * it trained with, or null: `data`'s sideDataFingerprint against the export's
 * `side_data_fingerprint` metadata (null when the export has none: a plain item-id model, or an
 * export of an older reclm). Another rating column moves the targets of a positive rule; another
 * user-feature file changes the inputs.
 */
function otherSideData(data: Dataset, file: string, metadata: Record<string, string>, model: string): string | null {
  const trainedWith = metadata.side_data_fingerprint;
  if (trainedWith === undefined) return null;
  const read = sideDataFingerprint(data) ?? 'none';
  if (read === trainedWith) return null;
  return `the actions or user features read with ${file} are not those ${model} was trained with (side-data fingerprint ${read.slice(0, 12)}, the run's ${trainedWith.slice(0, 12)}): the same events, but other targets (through the positive rule) or other profile inputs than training had`;
}

function pushIfAny(list: string[], item: string | null): void {
  if (item !== null) list.push(item);
}

/**
 * The warning for ranking, under a `--positive` rule, a model trained with every event a target,
 * or null. Such a model trained on each history through its third-last event (second-last with
 * --train-on-valid: leaveOneOutSplit and trainThroughValid); the rule moves a target earlier
 * whenever the last events are not positive, onto an event the model was trained to predict.
 * Counts the evaluated users whose `which` target lies there (null when none does).
 */
function ruleTargetsTrainedOn(split: Split, which: EvalSplit, metadata: Record<string, string>, opts: EvaluateOptions): string | null {
  const rule = opts.read?.positive;
  // A model with a rule of its own ranks under that rule (eval refuses another); an item-id model has none.
  if (!rule || isAllPositive(rule) || metadata.positive_rule !== undefined || !split.events) return null;
  const tov = metadata.train_on_valid === 'true' || (metadata.data_fingerprint === undefined && opts.trainedOnValid?.() === true);
  const at = which === 'test' ? split.events.testAt : split.events.validAt;
  let trained = 0, evaluated = 0;
  for (let u = 0; u < at.length; u++) {
    if (at[u] < 0) continue;
    evaluated++;
    // The model's last training target: position n-3 (n-2 with --train-on-valid).
    if (at[u] <= split.events.items[u].length - (tov ? 2 : 3)) trained++;
  }
  if (!trained) return null;
  return (
    `${trained} of ${evaluated} ${which} targets (${((100 * trained) / evaluated).toFixed(1)}%) chosen by --positive ${formatPositiveRule(rule)} were training targets of ${opts.model}: it was trained with every event a target ` +
    `(through each history's ${tov ? 'second' : 'third'}-last event), so these metrics are inflated; rank it without --positive, or compile and train with the rule`
  );
}

function perUserRanks(ranker: SplitRanker, split: Split, which: EvalSplit, itemIds: string[]): PerUserRank[] | null {
  const r = ranker.userRanks();
  if (!r) return null;
  const target = which === 'test' ? split.test : split.valid;
  const rows = Array.from(r.users, (u, i) => ({ u, rank: r.ranks[i] })).sort((a, b) => a.u - b.u);
  return rows.map(({ u, rank }) => ({ user: split.users?.[u] ?? String(u), target: itemIds[target[u]], rank }));
}

function protocolOf(opts: EvaluateOptions, V: number, keepSeen: boolean, excludeLast: number | undefined): string {
  if (opts.negatives > 0) return `sampled: target + ${opts.negatives} negatives`;
  if (opts.presplit) return `pre-split files, every ${opts.split} item ranked over ${V} items${keepSeen ? ', seen items kept' : ", the user's history excluded"}`;
  if (excludeLast !== undefined) return `full ranking over ${V} items, items of the last ${count(excludeLast, 'input item')} excluded`;
  return `full ranking over ${V} items${keepSeen ? ', seen items kept' : ', items of the input sequence excluded'}`;
}

/** The refusal of a full-ranking flag (`--keep-seen`, `--exclude-last`) beside the sampled protocol's `--negatives`. */
export function fullRankingOnly(flag: string, negatives: number): UsageError {
  return new UsageError(`${flag} is a full-ranking choice; --negatives ${negatives} draws its candidates from outside the user's train prefix, so give one of them`);
}

/** opts.excludeLast checked against the protocol and the model's maxlen; undefined when not given or equal to maxlen (the default). */
function checkExcludeLast(opts: EvaluateOptions, maxlen: number): number | undefined {
  const n = opts.excludeLast;
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--exclude-last expects a positive integer, got ${n}`);
  if (opts.keepSeen) throw new UsageError('--exclude-last and --keep-seen both choose which seen items are candidates; give one of them');
  if (opts.negatives > 0) throw fullRankingOnly('--exclude-last', opts.negatives);
  if (opts.presplit) throw new UsageError("--exclude-last applies to leave-one-out splits; pre-split files exclude the user's whole history");
  if (n > maxlen) throw new UsageError(`--exclude-last ${n}: the model reads its last ${maxlen} items (maxlen), so at most ${maxlen} can be excluded`);
  // The whole input row is the default protocol: saved and reported as such, not as another one.
  return n === maxlen ? undefined : n;
}
