import { Flags } from '@oclif/core';
import { join } from 'node:path';
import { MODELS } from '../../graphs/index.js';
import { AUTO_PRESET, PRESET_NAMES, presetNamed, type Preset } from '../../graphs/presets.js';
import { type AutoChoice, autoPreset, describeChoices, describeStats } from '../../graphs/auto-preset.js';
import { modelNamed, type ModelName } from '../../graphs/config.js';
import { datasetStats } from '../data/stats.js';
import { leaveOneOutSplit, onlyTrainOnValidTrains } from '../data/split.js';
import type { Dataset } from '../data/types.js';
import { LOSS_NAMES, parseLossName } from '../../graphs/types.js';
import { SEED_ADAMW } from '../compiler/adamw.js';
import { compileJob } from '../compiler/compile-job.js';
import { openDataset } from '../data/open.js';
import { ReclmCommand } from '../cli/base-command.js';
import { UsageError } from '../errors.js';
import { parseSets, readConfigFile } from '../cli/config-flags.js';
import { checkedStringFlag, dataFormatFlag, fractionFlag, nonNegativeNumberFlag, presetNameCheck, seedFlag } from '../cli/flags.js';
import { columnsFlag, compileFeatures, dataReadOptions, featureFlags } from '../cli/data-flags.js';
import { lossLabel } from '../cli/recipe.js';
import { checkModelFits } from '../runtime/memory.js';

export default class Compile extends ReclmCommand {
  static override summary = 'Compile a model and its loss into ONNX training artifacts.';
  static override description = `Writes the artifact set into --out: manifest.json, training.onnx (loss and one gradient per parameter), optimizer.onnx (AdamW with clipping), train_step.onnx (K steps fused in one Scan), inference_graph.onnx, init.ckpt (seeded initial parameters) and, with --data, items.json (the item-id map).

--out must be a new folder, an empty one, or (with --force) a folder of reclm artifacts; reclm never replaces a file or a folder it did not write, nor the folder holding the data or the working directory.

The item count comes from --data (the file you will train on) or --num-items. Config values come from, in increasing priority: the preset, --config (a config object with the field names of docs/models.md; a fixture file works as is, its model field standing in for --model), and --set key=value.`;
  static override examples = [
    '<%= config.bin %> compile --preset ml-1m-hstu --data ml-1m.seq.txt.gz --out artifacts/hstu',
    '<%= config.bin %> compile --model llama-sasrec --loss bce --num-items 3416 --set dim=64 --set n_layers=2 --set n_heads=2 --set maxlen=200 --out artifacts/llama',
    '<%= config.bin %> compile --preset builtin --data builtin --out artifacts/demo',
    "<%= config.bin %> compile --preset ml-1m-hstu --data ratings.dat --positive 'rating>=4' --actions --user-features users.dat --item-features movies.dat --out artifacts/gr",
  ];
  static override flags = {
    model: Flags.string({ description: 'model family (or the model field of --config, or --preset)', options: Object.keys(MODELS) }),
    loss: Flags.string({ description: 'training loss', options: [...LOSS_NAMES] }),
    preset: checkedStringFlag(presetNameCheck(PRESET_NAMES))({ description: `named config + training recipe (${PRESET_NAMES.join(', ')}; auto: chosen from --data's statistics, each choice printed; \`reclm presets NAME\` shows one)` }),
    config: Flags.string({ description: 'JSON file with a config object (field names of docs/models.md)' }),
    set: Flags.string({ description: 'override one config field: key=value (repeatable)', multiple: true }),
    data: Flags.string({ description: 'training data file (SASRec txt, ratings.dat, u.data, CSV, JSON Lines, reczoo JSON; .gz ok)', exclusive: ['num-items'] }),
    format: dataFormatFlag(),
    columns: columnsFlag(),
    ...featureFlags(),
    'num-items': Flags.integer({ description: 'catalogue size V when no data file is given', min: 1 }),
    out: Flags.string({ description: 'output folder', required: true }),
    seed: seedFlag('seed of the initial parameters', 42),
    'weight-decay': nonNegativeNumberFlag({ description: 'AdamW weight decay on tensors of rank >= 2 (default 0.1, or the preset\'s)' }),
    'max-grad-norm': nonNegativeNumberFlag({ description: "global-norm gradient clipping; 0 disables (default 1.0, or the preset's)" }),
    beta1: fractionFlag({ description: "AdamW's β1, the decay of the gradient's moving average (default 0.9, or the preset's)" }),
    beta2: fractionFlag({ description: "AdamW's β2, the decay of the squared gradient's moving average (default 0.95 as LLaMA trains, or the preset's; PyTorch's Adam default is 0.999)" }),
    force: Flags.boolean({ description: 'replace --out when it holds reclm artifacts (a training run in it is deleted too)' }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { flags } = await this.parse(Compile);
    const auto = flags.preset === AUTO_PRESET;
    if (auto && !flags.data) throw new UsageError('--preset auto chooses the model and recipe from the data: give --data FILE');
    let preset: Preset | null = flags.preset && !auto ? presetNamed(flags.preset) : null;
    if (preset && flags.model && flags.model !== preset.model) {
      throw new UsageError(`--preset ${preset.name} is a ${preset.model} model, but --model is ${flags.model}; drop --model (or pick a ${flags.model} preset)`);
    }
    const overrides = { ...(flags.config ? readConfigFile(flags.config) : {}), ...parseSets(flags.set ?? []) };
    // A config that names its model (a fixture's does) may stand in for --model.
    const configModel = overrides.model === undefined ? undefined : modelNamed(overrides.model);
    if (overrides.model !== undefined && !configModel) {
      throw new UsageError(`config field model is ${JSON.stringify(overrides.model)}, not a model reclm knows (llama-sasrec, llama_sasrec or hstu)`);
    }
    if (!flags.model && !flags.preset && !configModel) throw new UsageError('give --model (llama-sasrec or hstu), --preset, or a --config whose model field names the model');
    if (!flags.data && !flags['num-items']) throw new UsageError('give --data FILE (recommended: the file you will train on) or --num-items N');
    const sideFlag = (['actions', 'positive', 'user-features', 'item-features'] as const).find((k) => flags[k] !== undefined && flags[k] !== false);
    if (!flags.data && sideFlag) throw new UsageError(`--${sideFlag} needs --data (the vocabularies and the positive rule come from the training data)`);
    const data = flags.data ? openDataset(flags.data, dataReadOptions(flags, (line) => this.note(line))) : undefined;
    let choices: AutoChoice[] | undefined;
    // Printed once the model compiled: a refused compile (a bad --set, a model too large) ends with its one line only.
    let autoLines: string[] = [];
    if (auto) {
      const stats = datasetStats(data!);
      const chosen = autoPreset(stats, { model: (flags.model as ModelName | undefined) ?? configModel });
      choices = markOverrides(chosen.choices, overrides, flags.loss);
      preset = chosen;
      autoLines = [describeStats(stats), ...describeChoices(choices)];
    }
    const modelName = flags.model ?? preset?.model ?? configModel!;
    // A fixture's config block names its model; one that names another would otherwise be dropped silently.
    if (configModel !== undefined && configModel !== modelName) {
      const from = flags.model ? `--model is ${modelName}` : `--preset ${preset!.name} is a ${modelName} model`;
      throw new UsageError(`config field model is ${JSON.stringify(overrides.model)}, but ${from}; leave model out (it comes from --model or --preset)`);
    }
    const model = MODELS[modelName as keyof typeof MODELS];
    const loss = parseLossName(flags.loss ?? preset?.loss ?? 'bce');
    const config = { ...(preset?.config ?? {}), ...overrides };
    delete config.model;
    const optimizer = { ...SEED_ADAMW, ...(preset?.optimizer ?? {}) };
    optimizer.weightDecay = flags['weight-decay'] ?? optimizer.weightDecay;
    optimizer.maxGradNorm = flags['max-grad-norm'] ?? optimizer.maxGradNorm;
    optimizer.beta1 = flags.beta1 ?? optimizer.beta1;
    optimizer.beta2 = flags.beta2 ?? optimizer.beta2;
    const numItems = data ? data.numItems : flags['num-items'];
    if (config.num_items !== undefined && Number(config.num_items) !== numItems) {
      const from = data ? `${flags.data} has ${numItems} items` : `--num-items is ${numItems}`;
      throw new UsageError(`config field num_items is ${JSON.stringify(config.num_items)}, but ${from}; leave num_items out (it comes from --data or --num-items)`);
    }
    checkModelFits(model, { ...config, num_items: numItems }, loss);
    const manifest = compileJob({
      model,
      loss,
      config,
      optimizer,
      data,
      dataLabel: flags.data,
      numItems: flags['num-items'],
      initSeed: flags.seed,
      // The auto preset's choices and reasons travel with its recipe (train ignores the extra key).
      recipe: preset ? { preset: preset.name, ...preset.recipe, ...(choices ? { choices } : {}) } : undefined,
      outDir: flags.out,
      force: flags.force,
      features: compileFeatures(data),
      onNote: (line) => this.note(line),
    });
    for (const line of autoLines) this.log(line);
    // Data train would refuse with a leave-one-out split; it may still suit pre-split training (--test-data), so a note, not a refusal.
    if (data) for (const line of leaveOneOutNotes(data, flags.data!)) this.note(line);
    // Named beside the loss, as the text summary does (lossLabel), only when the config sets it.
    const labelSmoothing = (manifest.config as { label_smoothing?: number }).label_smoothing;
    const summary = {
      out: flags.out,
      model: manifest.model,
      loss: manifest.loss,
      ...(labelSmoothing !== undefined ? { labelSmoothing } : {}),
      numItems: manifest.dataset.numItems,
      parameters: manifest.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0),
      graphs: Object.fromEntries(Object.entries(manifest.graphs).map(([k, g]) => [k, { file: g.file, nodes: g.nodes }])),
      ...(choices ? { choices } : {}),
    };
    // The SASRec block is an ablation of llama-sasrec (docs/models.md §2.5): say so where the model is named.
    const block = (manifest.config as { block?: string }).block === 'sasrec' ? ', SASRec block' : '';
    this.log(`compiled ${manifest.model} (${lossLabel(manifest.loss, manifest.config)}${block}) for ${summary.numItems} items, ${summary.parameters.toLocaleString('en-US')} parameters -> ${flags.out}`);
    for (const [k, g] of Object.entries(summary.graphs)) this.log(`  ${join(flags.out, g.file)}  ${g.nodes} nodes  (${k})`);
    return summary;
  }
}

/**
 * The auto preset's config choices that --config/--set (or --loss) replace, rewritten to say so:
 * the printed lines and the manifest then show the value compiled and the rule's value.
 */
function markOverrides(choices: AutoChoice[], overrides: Record<string, unknown>, loss: string | undefined): AutoChoice[] {
  return choices.map((c) => {
    const given = c.field === 'loss' ? loss : overrides[c.field];
    if (given === undefined || given === c.value) return c;
    return { field: c.field, value: given as AutoChoice['value'], reason: `given with ${c.field === 'loss' ? '--loss' : '--set/--config'}; the rule chose ${c.value}: ${c.reason}` };
  });
}

/**
 * Notes for data that `reclm train` refuses with a leave-one-out split, from the split's own
 * counts (data/split.ts, positive rule included): no user to evaluate, or no user with a
 * training example (the sampler's rule). Empty when the data trains.
 */
function leaveOneOutNotes(data: Dataset, file: string): string[] {
  const split = leaveOneOutSplit(data);
  if (split.summary.evalUsers === 0) {
    return [`no user of ${file} has a validation and a test item (3 or more ${data.positive ? 'positive events' : 'interactions'}), so a leave-one-out split has no one to evaluate: reclm train refuses it unless given pre-split --valid-data/--test-data files`];
  }
  if (split.summary.trainableUsers > 0) return [];
  const withValid = onlyTrainOnValidTrains(split) ? '--train-on-valid or ' : '';
  return [`no user of ${file} has a training example (2 training items before the validation item), so reclm train refuses it unless given ${withValid}pre-split files`];
}
