#!/usr/bin/env node
// Development entry point: runs the TypeScript sources through tsx, with no build.
// tsx is registered from this file, so it is found wherever the command is started from.
// The oclif lookup of the commands folder needs ts-node, or a tsx API that does not load here,
// and falls back to dist, so the commands target and the hooks are pointed at the sources
// instead (oclif finds the help class from its dist path by itself).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { execute } = await import('@oclif/core');
const root = fileURLToPath(new globalThis.URL('..', import.meta.url));
const pjson = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
const toSource = (path) => path.replace('./dist/', './').replace(/[.]js$/, '.ts');
pjson.oclif.commands.target = toSource(pjson.oclif.commands.target);
for (const [hook, path] of Object.entries(pjson.oclif.hooks ?? {})) pjson.oclif.hooks[hook] = toSource(path);
await execute({ development: true, dir: import.meta.url, loadOptions: { root, pjson } });
