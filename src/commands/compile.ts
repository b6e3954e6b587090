import { Command, Flags } from '@oclif/core';
import { join } from 'node:path';
import { MODELS } from '../../graphs/index.js';
import { PRESETS, presetNamed } from '../../graphs/presets.js';
import { LOSS_NAMES, parseLossName } from '../../graphs/types.js';
import { SEED_ADAMW } from '../compiler/adamw.js';
import { compileJob } from '../compiler/compile-job.js';
import { openDataset } from '../data/open.js';
import { asCliError, UsageError } from '../cli/errors.js';
import { parseSets, readConfigFile } from '../cli/config-flags.js';
import { dataFormatFlag } from '../cli/flags.js';
import { checkModelFits } from '../runtime/memory.js';

export default class Compile extends Command {
  static override summary = 'Compile a model and its loss into ONNX training artifacts.';
  static override description = `Writes the artifact set into --out: manifest.json, training.onnx (loss and one gradient per parameter), eval.onnx, optimizer.onnx (AdamW with clipping), train_step.onnx (K steps fused in one Scan), inference_graph.onnx, init.ckpt (seeded initial parameters) and, with --data, items.json (the item-id map).

The item count comes from --data (the file you will train on) or --num-items. Config values come from, in increasing priority: the preset, --config (a MODELS.md config object; a fixture file works as is), and --set key=value.`;
  static override examples = [
    '<%= config.bin %> compile --preset ml-1m-hstu --data ml-1m.seq.txt.gz --out artifacts/hstu',
    '<%= config.bin %> compile --model llama-sasrec --loss bce --num-items 3416 --set dim=64 --set n_layers=2 --set n_heads=2 --set maxlen=200 --out artifacts/llama',
  ];
  static override flags = {
    model: Flags.string({ description: 'model family', options: Object.keys(MODELS) }),
    loss: Flags.string({ description: 'training loss', options: [...LOSS_NAMES] }),
    preset: Flags.string({ description: `named config + training recipe (${Object.keys(PRESETS).join(', ')})` }),
    config: Flags.string({ description: 'JSON file with a config object (MODELS.md field names)' }),
    set: Flags.string({ description: 'override one config field: key=value (repeatable)', multiple: true }),
    data: Flags.string({ description: 'training data file (SASRec txt, ratings.dat, u.data, CSV, reczoo JSON; .gz ok)', exclusive: ['num-items'] }),
    format: dataFormatFlag(),
    'num-items': Flags.integer({ description: 'catalogue size V when no data file is given', min: 1 }),
    out: Flags.string({ description: 'output folder', required: true }),
    seed: Flags.integer({ description: 'seed of the initial parameters', default: 42, min: 0 }),
    'weight-decay': Flags.string({ description: 'AdamW weight decay on tensors of rank >= 2 (default 0.1, or the preset\'s)' }),
    'max-grad-norm': Flags.string({ description: 'global-norm gradient clipping; 0 disables (default 1.0)' }),
    force: Flags.boolean({ description: 'replace --out even if it holds a training run (checkpoints are deleted)' }),
    json: Flags.boolean({ description: 'print the manifest summary as JSON' }),
  };

  async run(): Promise<void> {
    try {
      const { flags } = await this.parse(Compile);
      const preset = flags.preset ? presetNamed(flags.preset) : null;
      const modelName = flags.model ?? preset?.model;
      if (!modelName) throw new UsageError('give --model (llama-sasrec or hstu) or --preset');
      const model = MODELS[modelName as keyof typeof MODELS];
      const loss = parseLossName(flags.loss ?? preset?.loss ?? 'bce');
      const config = { ...(preset && preset.model === modelName ? preset.config : {}), ...(flags.config ? readConfigFile(flags.config) : {}), ...parseSets(flags.set ?? []) };
      delete config.model;
      const num = (s: string | undefined, name: string) => {
        if (s === undefined) return undefined;
        const v = Number(s);
        if (!Number.isFinite(v) || v < 0) throw new UsageError(`--${name} must be a non-negative number, got '${s}'`);
        return v;
      };
      const optimizer = { ...SEED_ADAMW, ...(preset?.optimizer ?? {}) };
      optimizer.weightDecay = num(flags['weight-decay'], 'weight-decay') ?? optimizer.weightDecay;
      optimizer.maxGradNorm = num(flags['max-grad-norm'], 'max-grad-norm') ?? optimizer.maxGradNorm;
      if (!flags.data && !flags['num-items']) throw new UsageError('give --data FILE (recommended: the file you will train on) or --num-items N');
      const data = flags.data ? openDataset(flags.data, { format: flags.format as 'auto' }) : undefined;
      const numItems = data ? data.numItems : flags['num-items'];
      if (config.num_items !== undefined && Number(config.num_items) !== numItems) {
        const from = data ? `${flags.data} has ${numItems} items` : `--num-items is ${numItems}`;
        throw new UsageError(`config field num_items is ${JSON.stringify(config.num_items)}, but ${from}; leave num_items out (it comes from --data or --num-items)`);
      }
      checkModelFits(model as never, { ...config, num_items: numItems }, loss);
      const manifest = compileJob({
        model: model as never,
        loss,
        config,
        optimizer,
        data,
        dataLabel: flags.data,
        numItems: flags['num-items'],
        initSeed: flags.seed,
        recipe: preset ? { preset: preset.name, ...preset.recipe } : undefined,
        outDir: flags.out,
        force: flags.force,
        onNote: (line) => this.warn(line),
      });
      const summary = {
        out: flags.out,
        model: manifest.model,
        loss: manifest.loss,
        numItems: manifest.dataset.numItems,
        parameters: manifest.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0),
        graphs: Object.fromEntries(Object.entries(manifest.graphs).map(([k, g]) => [k, { file: g.file, nodes: g.nodes }])),
      };
      if (flags.json) this.log(JSON.stringify(summary, null, 2));
      else {
        this.log(`compiled ${manifest.model} (${manifest.loss}) for ${summary.numItems} items, ${summary.parameters.toLocaleString('en-US')} parameters -> ${flags.out}`);
        for (const [k, g] of Object.entries(summary.graphs)) this.log(`  ${join(flags.out, g.file)}  ${g.nodes} nodes  (${k})`);
      }
    } catch (e) {
      asCliError(e);
    }
  }
}
