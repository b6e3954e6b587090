#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/ (built by `npm run build`, also on `npm ci`).
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
