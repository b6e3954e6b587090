#!/usr/bin/env -S node --import tsx
// Development entry point: runs the TypeScript sources through tsx, with no build.
// The oclif lookup of the commands folder needs ts-node, or a tsx API that does not load here,
// and falls back to dist, so the commands target and the hooks are pointed at the sources
// instead (oclif finds the help class from its dist path by itself).
// (No apostrophes in these comments: the tsx lexer misreads them after the shebang line.)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execute } from '@oclif/core';

const root = fileURLToPath(new globalThis.URL('..', import.meta.url));
const pjson = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
const toSource = (path) => path.replace('./dist/', './').replace(/[.]js$/, '.ts');
pjson.oclif.commands.target = toSource(pjson.oclif.commands.target);
for (const [hook, path] of Object.entries(pjson.oclif.hooks ?? {})) pjson.oclif.hooks[hook] = toSource(path);
await execute({ development: true, dir: import.meta.url, loadOptions: { root, pjson } });
