import { Flags } from '@oclif/core';

/** Flags several commands share, defined once so their help reads the same everywhere. */
export const dataFormatFlag = () =>
  Flags.string({ description: 'data format; auto detects it from the file name and content', options: ['auto', 'sasrec', 'movielens', 'ml100k', 'csv', 'reczoo'], default: 'auto' });
