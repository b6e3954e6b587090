import { Flags } from '@oclif/core';
import { DATA_FORMATS } from '../data/types.js';

/** Flags several commands share, defined once so their help reads the same everywhere. */
export const dataFormatFlag = () =>
  Flags.string({ description: 'data format; auto detects it from the file name and content', options: [...DATA_FORMATS], default: 'auto' });
