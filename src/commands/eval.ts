import { Args, Flags } from '@oclif/core';
import { evaluate, fullRankingOnly, inspectInference } from '../eval/evaluate.js';
import { featuresFromMetadata } from '../onnx/bake.js';
import { parseDevice } from '../onnx/providers.js';
import { Progress } from '../util/progress.js';
import { ReclmCommand } from '../cli/base-command.js';
import { UsageError } from '../errors.js';
import { checkedStringFlag, cudaLibDirFlag, dataFormatFlag, parseCutoffs, capThreads, seedFlag } from '../cli/flags.js';
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { columnsFlag, dataReadOptions, featureFlags } from '../cli/data-flags.js';
import { MANIFEST_FILE, readManifest } from '../contract/artifacts.js';
import type { FeatureSchema } from '../data/features.js';
import { describePresplit, resolvePresplit } from '../data/presplit.js';
import { saveEvalResult } from '../report/eval-results.js';
import { formatPositiveRule } from '../data/positive.js';
import { USER_RANKS_HEADER, writeUserRanks } from '../report/user-ranks.js';
import { checkReplaceableFile } from '../util/safe-paths.js';
import { type RunRecipe, storedRecipe } from '../runtime/trainer.js';

export default class Eval extends ReclmCommand {
  static override summary = 'Rank a leave-one-out split (or given pre-split files) with an exported inference.onnx and report HR@k, NDCG@k and MRR.';
  static override description = `Loads only the exported inference graph (the artifact that is served), scores every evaluable user (history of at least 3 interactions) over the whole catalogue, and reports the metrics next to a most-popular baseline on the same split.

Full ranking (default, the protocol of Meta's published SASRec/HSTU numbers): the target is ranked against every item except those in the user's input sequence (the last maxlen items the model reads; the target itself always stays); rank = number of the other candidates scoring higher than or equal to the target (a tie counts against the target, so a model that scores every item the same ranks last, not first); HR@k = [rank < k], NDCG@k = [rank < k] / log2(rank + 2).
--keep-seen: rank against the whole catalogue, seen items included (lower numbers; not what the papers report).
--exclude-last N: exclude only the items of the last N input items, so that a model of maxlen 256 ranks the candidates a model of maxlen 200 ranks (--exclude-last 200); a longer input row otherwise removes more of a long history from the candidates; not with --keep-seen or --negatives.
--negatives N: the SASRec paper's sampled protocol: the target against N items drawn uniformly, with replacement, from those outside the user's train prefix (10,000 users at most), same tie rule; N larger than a user's candidate pool is refused; not with --keep-seen or --exclude-last, which are full-ranking choices.
Pre-split files (--valid-data/--test-data, or --data FOLDER with reczoo's train_data.json, validation_data.json, test_data.json): every item of the user's test list is ranked against the catalogue minus the user's history; HR@k = any test item in the top k, Recall@k, NDCG@k over the set (LightGCN's convention).
Exits non-zero when the numbers would mean nothing: no evaluable user, a NaN or infinite score (the user is named), or more than half of the evaluable users' targets unknown to the model's item map.`;
  static override examples = [
    '<%= config.bin %> eval artifacts/hstu --data ml-1m.seq.txt.gz',
    '<%= config.bin %> eval artifacts/hstu/inference.onnx --data ml-1m.seq.txt.gz --negatives 100 --json',
    '<%= config.bin %> eval artifacts/ml1m-m1 --data Movielens1M_m1/',
    '<%= config.bin %> eval artifacts/hstu --data ml-1m.seq.txt.gz --ranks hstu-ranks.csv',
  ];
  static override args = { model: Args.string({ description: 'artifact folder (uses its inference.onnx) or an .onnx file', required: true }) };
  static override flags = {
    data: Flags.string({ description: 'interaction file to split (the training data), or the train file / folder of pre-split files', required: true }),
    'valid-data': Flags.string({ description: 'pre-split files: the validation file (per-user item lists; --data is then the train file)' }),
    'test-data': Flags.string({ description: 'pre-split files: the test file (per-user item lists; --data is then the train file)' }),
    format: dataFormatFlag(),
    columns: columnsFlag(),
    ...featureFlags(),
    split: Flags.string({ description: 'which held-out item to rank', options: ['test', 'valid'], default: 'test' }),
    negatives: Flags.integer({ description: 'sampled protocol with N negatives (0: full ranking); not with --keep-seen or --exclude-last', default: 0, min: 0 }),
    'keep-seen': Flags.boolean({ description: 'full ranking: keep the items of the input sequence among the candidates; not with --exclude-last or --negatives' }),
    'exclude-last': Flags.integer({ description: "full ranking: exclude only the items of the user's last N input items (N at most the model's maxlen; default: all of them), so that models of different maxlen rank the same candidates; not with --keep-seen or --negatives", min: 1 }),
    k: checkedStringFlag(parseCutoffs)({ description: 'cut-offs k of HR@k and NDCG@k, comma separated', default: '10,50,200' }),
    'batch-size': Flags.integer({ description: 'users scored per run', default: 256, min: 1 }),
    seed: seedFlag('seed of the sampled protocol', 0),
    device: checkedStringFlag(parseDevice)({ description: 'cpu, cuda or cuda:N', default: 'cpu' }),
    'cuda-lib-dir': cudaLibDirFlag(),
    threads: Flags.integer({ description: 'intra-op threads (default: 2, or 1 on a one-core machine)', default: Math.min(2, availableParallelism()), min: 1 }),
    save: Flags.boolean({ description: 'also append the results to eval.jsonl beside the model (shown by reclm report)' }),
    ranks: Flags.string({ description: "write each ranked user's rank to this CSV file (columns user,target,rank; rank 0 = the target scored above every candidate), to compare two models user by user" }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(Eval);
    const ks = parseCutoffs(flags.k);
    // The sampled protocol draws its own candidates from outside the train prefix: --keep-seen would change nothing there.
    if (flags['keep-seen'] && flags.negatives > 0) throw fullRankingOnly('--keep-seen', flags.negatives);
    const presplit = resolvePresplit(flags.data, flags['valid-data'], flags['test-data']);
    if (presplit && !presplit[flags.split as 'test']) throw new UsageError(`--split ${flags.split}: no ${flags.split === 'test' ? 'test' : 'validation'} file was given (--${flags.split}-data)`);
    if (flags.ranks && presplit) throw new UsageError('--ranks: pre-split files have several targets per user; per-user ranks are written for leave-one-out splits only');
    // Before the ranking: a wrong --ranks path fails in a second, and never replaces what reclm did not write.
    if (flags.ranks) checkReplaceableFile(flags.ranks, { flag: '--ranks', header: USER_RANKS_HEADER, protect: [flags.data, args.model, join(args.model, 'inference.onnx')] });
    const json = this.jsonEnabled();
    // More threads than cores only slow the ranking down: capped.
    const cap = capThreads(flags.threads);
    const threads = cap.threads!; // --threads has a default here, so the cap is a number
    if (cap.warning) this.warn(cap.warning);
    if (presplit && !json) this.log(describePresplit(presplit));
    const isDir = existsSync(args.model) && statSync(args.model).isDirectory();
    const features = compiledFeatures(args.model, isDir);
    // The model cannot read what it was not trained with (the positive rule is the evaluator's choice: it only picks the targets).
    const sideFlag = (['actions', 'user-features', 'item-features', 'field'] as const).find((k) => flags[k] !== undefined && flags[k] !== false);
    if (sideFlag && !features) throw new UsageError(`--${sideFlag}: ${args.model} was trained on item ids only (no actions or side files), so it cannot read them; drop the flag`);
    const read = dataReadOptions(flags, (line) => this.note(line), features);
    // The run's recipe, for an export without these in its metadata: other data, the validation items trained on, pre-split training.
    // Read once, and only if asked: loading last.ckpt costs a read of the whole checkpoint.
    let recipe: RunRecipe | null | undefined;
    const stored = () => (recipe === undefined ? (recipe = storedRecipe(args.model)) : recipe);
    const trainedOn = isDir ? () => stored()?.data : undefined;
    const trainedOnValid = isDir ? () => stored()?.trainOnValid : undefined;
    const trainedPresplit = isDir ? () => stored()?.presplit : undefined;
    const progress = new Progress({ label: 'ranking', json });
    const r = await evaluate({
      model: args.model, data: flags.data, presplit, format: flags.format as 'auto', split: flags.split as 'test', negatives: flags.negatives,
      ks, batchSize: flags['batch-size'], seed: flags.seed, keepSeen: flags['keep-seen'], excludeLast: flags['exclude-last'], device: flags.device, cudaLibDir: flags['cuda-lib-dir'], threads,
      read,
      trainedOn,
      trainedOnValid,
      trainedPresplit,
      onProgress: (done, total) => { progress.setTotal(total); progress.update(done, {}); },
    });
    progress.finish();
    // Before the numbers they qualify.
    for (const w of r.warnings) this.warn(w);
    if (flags.ranks && r.perUser) {
      writeUserRanks(flags.ranks, r.perUser);
      if (!json) this.log(`per-user ranks of ${r.perUser.length} users written to ${flags.ranks}`);
    }
    if (flags.save) {
      const saved = saveEvalResult(r, read.positive ? formatPositiveRule(read.positive) : undefined);
      this.log(`results appended to ${saved}`);
    }
    const flat: Record<string, unknown> = {
      model: r.model, data: r.data, split: r.split, protocol: r.protocol, users: r.users, excluded_users: r.excludedUsers, num_items: r.numItems,
      unknown_interactions: r.unknown.unknownInteractions, unknown_items: r.unknown.unknownItems, lost_targets: r.unknown.lostTargets, seconds: r.seconds,
    };
    for (const [k, v] of Object.entries(r.metrics)) if (k !== 'users') flat[k] = v;
    // What was printed before the table, for scripts too.
    flat.warnings = r.warnings;
    if (presplit) flat.presplit = describePresplit(presplit);
    flat.popularity = Object.fromEntries(Object.entries(r.popularity).filter(([k]) => k !== 'users'));
    if (json) return flat;
    const why = presplit ? 'without training items or a target' : read.positive && read.positive.kind !== 'all' ? 'with fewer than 3 positive events' : 'with fewer than 3 interactions';
    this.log(`${r.split} split, ${r.protocol}: ${r.users} users (${r.excludedUsers} ${why} excluded)`);
    this.log(`${'metric'.padEnd(10)}${'model'.padStart(10)}${'most-popular'.padStart(14)}`);
    const perK = presplit ? ['hr', 'recall', 'ndcg'] : ['hr', 'ndcg'];
    for (const key of [...ks.flatMap((k) => perK.map((m) => `${m}@${k}`)), 'mrr']) {
      this.log(`${key.toUpperCase().padEnd(10)}${r.metrics[key].toFixed(4).padStart(10)}${r.popularity[key].toFixed(4).padStart(14)}`);
    }
    const trivial = ks.filter((k) => k >= (flags.negatives > 0 ? flags.negatives + 1 : r.numItems));
    if (trivial.length) this.log(`(k = ${trivial.join(', ')} covers every candidate, so HR@k is 1 by definition)`);
    this.log(`(${r.seconds.toFixed(1)} s)`);
    return flat;
  }
}

/**
 * The positive rule and vocabularies the model was trained with: for an artifact folder its
 * manifest; for a model file named on its own, the metadata of that file (every export carries
 * them), never a manifest that happens to lie beside it (a model copied into another run's
 * folder would take that run's inputs); undefined for a plain item-id model, or when there is
 * no model file (evaluate then says so). `isDir`: whether `model` is a folder (the caller has
 * checked it already). Throws ArtifactError for a folder whose manifest cannot be read.
 */
function compiledFeatures(model: string, isDir: boolean): FeatureSchema | undefined {
  if (isDir && existsSync(join(model, MANIFEST_FILE))) return readManifest(model, false).features;
  const path = isDir ? join(model, 'inference.onnx') : model;
  return existsSync(path) ? featuresFromMetadata(inspectInference(path).metadata) : undefined;
}
