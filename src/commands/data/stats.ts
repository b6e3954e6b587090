import { Args, Flags } from '@oclif/core';
import { openDataset } from '../../data/open.js';
import { datasetStats } from '../../data/stats.js';
import { leaveOneOutSplit } from '../../data/split.js';
import { ReclmCommand } from '../../cli/base-command.js';
import { dataFormatFlag } from '../../cli/flags.js';

export default class DataStats extends ReclmCommand {
  static override summary = 'Summarise an interaction file: users, items, interactions, sequence lengths.';
  static override examples = ['<%= config.bin %> data stats ml-1m.seq.txt.gz', '<%= config.bin %> data stats u.data.gz --json'];
  static override args = { file: Args.string({ description: 'interaction file (.gz ok)', required: true }) };
  static override flags = {
    format: dataFormatFlag(),
    'min-item-count': Flags.integer({ description: 'k-core filter: drop items with fewer than N interactions (repeated with --min-user-count until stable)', min: 1 }),
    'min-user-count': Flags.integer({ description: 'k-core filter: drop users with fewer than N interactions', min: 1 }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(DataStats);
    const ds = openDataset(args.file, { format: flags.format as 'auto', minItemCount: flags['min-item-count'], minUserCount: flags['min-user-count'] });
    const stats = { ...datasetStats(ds), split: leaveOneOutSplit(ds).summary };
    for (const [k, v] of Object.entries(stats)) this.log(`${k.padEnd(18)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
    return stats;
  }
}
