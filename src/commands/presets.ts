import { Args } from '@oclif/core';
import { ReclmCommand } from '../cli/base-command.js';
import { AUTO_PRESET, PRESET_NAMES, PRESETS, presetNamed, type Preset, type Recipe } from '../../graphs/presets.js';
import { argumentCheck, presetNameCheck } from '../cli/flags.js';
import { SEED_ADAMW } from '../compiler/adamw.js';
import type { AdamWConfig } from '../contract/artifacts.js';

/**
 * A preset's training recipe in the words `reclm train` prints on its first line: epochs, the lr
 * schedule, batch size, validation and patience (graphs/presets.ts Recipe; lr in absolute units).
 */
function describePresetRecipe(r: Recipe): string {
  const schedule = r.cosine ? `lr ${r.lr} cosine to ${r.minLr} at the last step` : `lr ${r.lr} constant`;
  const validation = r.evalEvery === 0 ? 'no validation' : r.evalEvery === 1 ? 'validation every epoch' : `validation every ${r.evalEvery} epochs`;
  // Patience 0 keeps the whole schedule; the best validated epoch is still the one exported.
  const patience = r.evalEvery === 0 ? [] : [r.patience === 0 ? 'no early stopping' : `patience ${r.patience}`];
  return [`${r.epochs} epochs`, schedule, `warm-up ${r.warmup}`, `batch size ${r.batchSize}`, validation, ...patience, `fused steps ${r.fusedSteps}`].join(', ');
}

const AUTO_TEXT = `model, config and recipe chosen from the training data's statistics (users, items, sequence lengths, timestamps); \`reclm compile --preset ${AUTO_PRESET} --data FILE --out DIR\` prints each choice with its reason (README, section "--preset auto")`;

/** One config object as `key=value` pairs, the spelling `compile --set` takes. */
function pairs(o: Record<string, unknown>): string {
  return Object.entries(o).map(([k, v]) => `${k}=${v}`).join(' ');
}

/** The preset with the optimiser compile stores: reclm's AdamW defaults, then the preset's own values (compile --weight-decay/--max-grad-norm override both). */
function withOptimizer(p: Preset): Omit<Preset, 'optimizer'> & { optimizer: AdamWConfig } {
  return { ...p, optimizer: { ...SEED_ADAMW, ...p.optimizer } };
}

/** The short line of the listing: model, loss, size, epochs and lr. */
function shortLine(p: Preset): string {
  const c = p.config;
  return `${p.model}, ${p.loss}, d=${c.dim}, ${c.n_layers} layers, maxlen ${c.maxlen}; ${p.recipe.epochs} epochs at lr ${p.recipe.lr}${p.recipe.cosine ? ' (cosine)' : ''}`;
}

export default class Presets extends ReclmCommand {
  static override summary = "List the presets, or show one preset's model config, optimiser and training recipe before you compile or train.";
  static override description = `A preset is a named model config plus a training recipe. \`reclm compile --preset NAME\` compiles the config and stores the recipe in the artifacts; \`reclm train\` uses it unless a flag overrides a value (its first line says where each value came from). '${AUTO_PRESET}' is not a fixed table entry: \`compile --preset ${AUTO_PRESET} --data FILE\` chooses the config and recipe from the data's statistics and prints each choice.`;
  static override examples = [
    '<%= config.bin %> presets',
    '<%= config.bin %> presets ml-1m-hstu-large',
    '<%= config.bin %> presets ml-1m-llama --json',
  ];
  static override args = { name: Args.custom<string>({ parse: async (input) => argumentCheck(presetNameCheck(PRESET_NAMES), input) })({ description: `a preset name (${[...Object.keys(PRESETS), AUTO_PRESET].join(', ')}); all presets when left out` }) };

  async run(): Promise<Record<string, unknown>> {
    const { args } = await this.parse(Presets);
    if (args.name === undefined) {
      const width = Math.max(...Object.keys(PRESETS).map((n) => n.length), AUTO_PRESET.length);
      for (const p of Object.values(PRESETS)) this.log(`${p.name.padEnd(width)}  ${shortLine(p)}`);
      this.log(`${AUTO_PRESET.padEnd(width)}  chosen from the data's statistics by compile --preset ${AUTO_PRESET} --data FILE`);
      this.log('details: reclm presets NAME');
      return { presets: [...Object.values(PRESETS).map(withOptimizer), { name: AUTO_PRESET, description: AUTO_TEXT }] };
    }
    if (args.name === AUTO_PRESET) {
      this.log(`${AUTO_PRESET}: ${AUTO_TEXT}`);
      return { name: AUTO_PRESET, description: AUTO_TEXT };
    }
    // An unknown name is refused as compile --preset refuses it: one line listing the names, exit 1.
    const p = withOptimizer(presetNamed(args.name));
    const decayed = p.optimizer.weightDecay > 0 ? ' (weight decay on tensors of rank >= 2)' : '';
    this.log(`${p.name}: ${p.description}`);
    this.log(`model      ${p.model}, loss ${p.loss}`);
    this.log(`config     ${pairs(p.config)}`);
    this.log(`optimiser  AdamW ${pairs({ ...p.optimizer })}${decayed}`);
    this.log(`recipe     ${describePresetRecipe(p.recipe)}`);
    this.log(`compile    reclm compile --preset ${p.name} --data FILE --out DIR`);
    return p;
  }
}
