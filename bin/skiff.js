#!/usr/bin/env node
// Runs straight from a clone after `npm install`: tsx compiles the TypeScript sources on the fly.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
