import { Config, CommandHelp } from '@oclif/core';
import { PACKAGE_ROOT } from './helpers/cli.js';
import Eval from '../src/commands/eval.js';
import Train from '../src/commands/train.js';
import Compile from '../src/commands/compile.js';
import Stats from '../src/commands/data/stats.js';
const cfg = await Config.load(PACKAGE_ROOT);
for (const [id, C] of [['eval', Eval], ['train', Train], ['compile', Compile], ['data:stats', Stats]] as const) {
  const loadable = { id, summary: C.summary, description: C.description, examples: C.examples, flags: Object.fromEntries(Object.entries(C.flags).map(([n, f]) => [n, { ...f, name: n }])), args: Object.fromEntries(Object.entries(C.args ?? {}).map(([n, f]) => [n, { ...f, name: n }])), aliases: [], hiddenAliases: [], pluginType: 'core', load: async () => C };
  console.log(new CommandHelp(loadable as never, cfg, { maxWidth: 100 } as never).generate());
  console.log('==========');
}
