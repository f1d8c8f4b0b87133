/**
 * Random operation sequences on the Overlay and on a naive reference model (model.ts) must give
 * the same results, errors included; and the overlay's upper, saved with diffUpper, must rebuild
 * the same merged view both as a layer on top of the lower and as a restored upper.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SkiffError } from '../../src/errors.ts';
import { changes, diffUpper, exportMerged } from '../../src/fs/diff.ts';
import { FsError } from '../../src/fs/errno.ts';
import { applyLayer, type LayerTree } from '../../src/fs/layer.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { dumpFs } from './helpers.ts';
import { Model, ModelError } from './model.ts';
import { baseEntries, outcome, randomLayer, randomOp, Rng } from './random-ops.ts';

function check(label: string, got: string[], want: string[], log: string[]): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${label} differs after:\n${log.slice(-25).join('\n')}\n--- got\n${got.join('\n')}\n--- want\n${want.join('\n')}`);
  }
}

function roundTrips(ov: Overlay, lower: LayerTree, want: string[], log: string[]): LayerTree {
  const diff = diffUpper(ov);
  const layered = applyLayer(lower, diff);
  check('diffUpper applied as a layer', dumpFs(new Overlay({ lower: layered })), want, log);
  check('fromUpper', dumpFs(Overlay.fromUpper({ lower, entries: diff })), want, log);
  const marked = diffUpper(ov, { opaqueMarkers: true });
  check('diffUpper with opaque markers applied as a layer', dumpFs(new Overlay({ lower: applyLayer(lower, marked) })), want, log);
  check('fromUpper with opaque markers', dumpFs(Overlay.fromUpper({ lower, entries: marked })), want, log);
  check('exportMerged', dumpFs(new Overlay({ lower: applyLayer(null, exportMerged(ov)) })), want, log);
  // Changes: every D names a path gone from the merged view, every A/C a path present in it.
  const present = new Set(want.map((l) => l.split(' ')[0]));
  for (const c of changes(ov)) expect([c.kind, present.has(c.path)]).toEqual([c.kind, c.kind !== 'D']);
  return layered;
}

describe('Overlay against a reference model', () => {
  // Every path of the test must actually be taken somewhere across the seeds.
  const totals = { accepted: 0, rejected: 0, restores: 0 };
  const seeds = Number(process.env.FS_SEEDS ?? 120);
  let finished = 0;
  afterAll(() => {
    if (finished < seeds) return; // a filtered run (-t) proves nothing about coverage
    expect(totals.accepted).toBeGreaterThan(10);
    expect(totals.rejected).toBeGreaterThan(0);
    expect(totals.restores).toBeGreaterThan(10);
  });

  for (let seed = 1; seed <= seeds; seed++) {
    it(`random ops, seed ${seed}`, () => {
      const r = new Rng(seed * 7919);
      let lower = applyLayer(null, baseEntries());
      const m = Model.fromTree(lower);
      const log: string[] = [];
      let rejected = 0;
      let accepted = 0;
      let restores = 0;
      let ov = new Overlay({ lower });
      for (let round = 0; round < 4; round++) {
        for (let step = 0; step < 50; step++) {
          const op = randomOp(r, m);
          const want = outcome(() => op.model(m), ModelError);
          const got = outcome(() => op.fs(ov), FsError);
          log.push(`${op.text} => ${want}`);
          if (got !== want) throw new Error(`${op.text}: overlay ${got}, model ${want}\n${log.slice(-25).join('\n')}`);
        }
        const want = m.dump();
        check('merged view', dumpFs(ov), want, log);
        const layered = roundTrips(ov, lower, want, log);
        if (r.int(2) === 0) {
          // Keep working on the restored upper (a container saved and reopened).
          ov = Overlay.fromUpper({ lower, entries: diffUpper(ov) });
          log.push('-- restored from the saved upper');
          restores++;
          continue;
        }
        // Commit the container as a layer, then put a random layer on top: applyLayer must
        // match the model's naive whiteout rules.
        lower = layered;
        const layer = randomLayer(r, m);
        let next: LayerTree | null = null;
        try {
          next = applyLayer(lower, layer);
        } catch (e) {
          if (!(e instanceof SkiffError) || e.code !== 'INVALID_ARCHIVE') throw e;
          // Random layers break only these rules (the model would silently "fix" them).
          expect(e.message).toMatch(/symlink|not a directory|does not exist|is a directory|inside the directory|hardlink to itself/);
          rejected++;
        }
        if (next) {
          accepted++;
          m.applyLayer(layer);
          lower = next;
          log.push(`layer ${layer.map((e) => `${e.header.type}:${e.header.name}`).join(' ')}`);
          check('applyLayer', dumpFs(new Overlay({ lower })), m.dump(), log);
        }
        ov = new Overlay({ lower });
      }
      totals.accepted += accepted;
      totals.rejected += rejected;
      totals.restores += restores;
      finished++;
      if (process.env.FS_STATS) console.log(`STATS seed=${seed} accepted=${accepted} restores=${restores} ok=${log.filter((l) => l.endsWith('=> ok')).length} ops=${log.filter((l) => l.includes(' => ')).length}`);
    });
  }
});
