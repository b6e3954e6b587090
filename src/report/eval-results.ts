// `reclm eval --save` results, kept beside the model so that `reclm report` can show them:
// one JSON line per evaluation in DIR/eval.jsonl (appended, so the test split and the sampled
// protocol of the same model are both kept; the report shows the latest of each, per model file).
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BUILTIN } from '../data/open.js';
import { RUN_FILES } from '../contract/artifacts.js';
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
   * The data file's absolute path (or `builtin`), which identifies it however it was spelled
   * (`../A`, `/tmp/x/A`); absent in records saved before it existed, which are keyed by `data`.
   */
  dataPath?: string;
  split: 'test' | 'valid';
  protocol: string;
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
 * for `reclm eval DIR`). Returns the path written.
 */
export function saveEvalResult(r: EvaluateResult): string {
  const path = join(dirname(r.model), EVAL_LOG);
  const record: EvalRecord = {
    type: 'eval', time: new Date().toISOString(), model: r.model, data: r.data, dataPath: r.data === BUILTIN ? BUILTIN : resolve(r.data), split: r.split, protocol: r.protocol, users: r.users,
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

/**
 * The saved evaluations of a run folder, oldest first, keeping only the latest of each
 * (model file, data file, split, protocol); [] when there is no eval.jsonl. The model is
 * compared by file name: every model that saves here lies in this folder, named as given; the
 * data file by its absolute path (EvalRecord.dataPath).
 */
export function readEvalRecords(dir: string): EvalRecord[] {
  const path = join(dir, EVAL_LOG);
  if (!existsSync(path)) return [];
  const latest = new Map<string, EvalRecord>();
  for (const r of readJsonl(path, { skipInvalid: true }) as EvalRecord[]) {
    if (r?.type !== 'eval' || typeof r.metrics !== 'object' || typeof r.popularity !== 'object') continue;
    // Two models of one folder (`eval a.onnx --save`, `eval b.onnx --save`) keep a result each.
    const key = `${typeof r.model === 'string' ? basename(r.model) : ''}\n${typeof r.dataPath === 'string' ? r.dataPath : r.data}\n${r.split}\n${r.protocol}`;
    latest.delete(key);
    latest.set(key, r);
  }
  return [...latest.values()];
}
