// `reclm eval --save` results, kept beside the model so that `reclm report` can show them:
// one JSON line per evaluation in DIR/eval.jsonl (appended, so the test split and the sampled
// protocol of the same model are both kept; the report shows the latest of each, per model file).
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BUILTIN } from '../data/open.js';
import { RUN_FILES, sha256 } from '../contract/artifacts.js';
import type { EvaluateResult } from '../eval/evaluate.js';
import { JsonlLogger, readJsonl } from '../util/jsonl.js';

export const EVAL_LOG = RUN_FILES.evalLog;

/** One saved evaluation. Metric maps hold "hr@k", "ndcg@k" and "mrr" (fractions in [0, 1]). */
export interface EvalRecord {
  type: 'eval';
  /** ISO time the evaluation finished. */
  time: string;
  /** The .onnx file that was ranked. */
  model: string;
  /** The data file as given to eval (shown in the report). */
  data: string;
  /**
   * The data file's real path (absolute, symlinks resolved; or `builtin`), which identifies it
   * however it was spelled (`../A`, `/tmp/x/A`, a link to it); absent in records saved before it
   * existed, which are keyed by `data`.
   */
  dataPath?: string;
  split: 'test' | 'valid';
  protocol: string;
  /** The positive rule that chose the targets (`rating>=4`), absent when every event is one. */
  positive?: string;
  /** sha256 of the ranked model file when it was ranked: a later export (train --resume) is another model. */
  modelSha256?: string;
  users: number;
  metrics: Record<string, number>;
  /** The most-popular baseline on the same split and candidates. */
  popularity: Record<string, number>;
  /**
   * What eval warned of before its table (another file than the run's data, targets already in
   * the histories, ...), kept so that the report shows the numbers with it; absent when none.
   */
  warnings?: string[];
}

const withoutUsers = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'users'));

/**
 * Appends an evaluation to eval.jsonl in the folder of the ranked model (the artifact folder
 * for `reclm eval DIR`), with the model file's sha256 and `positive`, the rule that chose the
 * targets (formatPositiveRule; undefined or 'all': every event). Returns the path written.
 */
export function saveEvalResult(r: EvaluateResult, positive?: string): string {
  const path = join(dirname(r.model), EVAL_LOG);
  const record: EvalRecord = {
    type: 'eval', time: new Date().toISOString(), model: r.model, data: r.data, dataPath: dataPathOf(r.data), split: r.split, protocol: r.protocol,
    ...(positive !== undefined && positive !== 'all' ? { positive } : {}), modelSha256: sha256(readFileSync(r.model)), users: r.users,
    metrics: withoutUsers(r.metrics), popularity: withoutUsers(r.popularity),
    ...(r.warnings.length ? { warnings: r.warnings } : {}),
  };
  const log = new JsonlLogger(path);
  try {
    log.write(record as unknown as Record<string, unknown>);
  } finally {
    log.close();
  }
  return path;
}

/** The data file's identity however it is spelled: its real path (symlinks resolved), or `builtin`. */
function dataPathOf(data: string): string {
  if (data === BUILTIN) return BUILTIN;
  const abs = resolve(data);
  return existsSync(abs) ? realpathSync(abs) : abs;
}

/** What readEvalRecords keeps and leaves out. */
export interface SavedEvals {
  /** The latest of each (model file, data, split, protocol, rule, cut-offs), oldest first. */
  records: EvalRecord[];
  /** Records of an earlier export of a model file (its sha256 differs from the file's now), left out. */
  stale: number;
}

/**
 * The saved evaluations of a run folder, keeping only the latest of each (model file, data
 * file, split, protocol, positive rule, metric cut-offs), and only those of the model files as
 * they are now: a record whose modelSha256 differs from its file's (re-exported by `train
 * --resume`, or removed) is left out and counted. Records saved before the hash existed are
 * kept. The model is compared by file name: every model that saves here lies in this folder;
 * the data file by its real path (EvalRecord.dataPath). {records: [], stale: 0} without eval.jsonl.
 */
export function readEvalRecords(dir: string): SavedEvals {
  const path = join(dir, EVAL_LOG);
  if (!existsSync(path)) return { records: [], stale: 0 };
  const latest = new Map<string, EvalRecord>();
  const shaOf = new Map<string, string | null>();
  const current = (file: string) => {
    if (!shaOf.has(file)) shaOf.set(file, existsSync(join(dir, file)) ? sha256(readFileSync(join(dir, file))) : null);
    return shaOf.get(file);
  };
  let stale = 0;
  for (const r of readJsonl(path, { skipInvalid: true }) as EvalRecord[]) {
    if (r?.type !== 'eval' || typeof r.metrics !== 'object' || typeof r.popularity !== 'object') continue;
    const file = typeof r.model === 'string' ? basename(r.model) : '';
    if (typeof r.modelSha256 === 'string' && r.modelSha256 !== current(file)) {
      stale++;
      continue;
    }
    // Two models of one folder (`eval a.onnx --save`, `eval b.onnx --save`) keep a result each; so do two rules or cut-off sets.
    const key = [file, typeof r.dataPath === 'string' ? r.dataPath : r.data, r.split, r.protocol, r.positive ?? 'all', Object.keys(r.metrics).sort().join(',')].join('\n');
    latest.delete(key);
    latest.set(key, r);
  }
  return { records: [...latest.values()], stale };
}
