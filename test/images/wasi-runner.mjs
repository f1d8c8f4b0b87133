// node wasi-runner.mjs MODULE PREOPEN_DIR ENV_JSON ARGV0 ARGS...
// Runs a WASI command module under node:wasi with PREOPEN_DIR as "/" and
// exits with the module's exit code.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [module, dir, envJson, ...args] = process.argv.slice(2);
const wasi = new WASI({
  version: 'preview1',
  args,
  env: JSON.parse(envJson),
  preopens: { '/': dir },
  returnOnExit: true,
});
const instance = await WebAssembly.instantiate(await WebAssembly.compile(readFileSync(module)), wasi.getImportObject());
process.exitCode = wasi.start(instance);
