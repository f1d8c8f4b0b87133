/** COPY --parents sources (build/copy-parents.ts) straight from a filesystem. */
import { describe, expect, it } from 'vitest';
import { fsParentsSources } from '../../src/build/copy-parents.ts';
import { Overlay } from '../../src/fs/overlay.ts';

describe('COPY --from --parents', () => {
  it('reads only the files its pattern selects (a stage can be a whole distribution)', () => {
    const fs = new Overlay({ lower: null });
    const attr = { mode: 0o755, uid: 0, gid: 0 };
    const etc = fs.mkdir(fs.root(), 'etc', attr);
    const usr = fs.mkdir(fs.root(), 'usr', attr);
    const put = (dir: ReturnType<Overlay['root']>, name: string, text: string) => fs.write(fs.create(dir, name, { ...attr, mode: 0o644 }), 0, new TextEncoder().encode(text));
    put(etc, 'passwd', 'root:x:0:0::/root:/bin/sh\n');
    put(usr, 'big', 'x'.repeat(100_000));
    const read: string[] = [];
    const spy = new Proxy(fs, {
      get(t, k, r) {
        const v = Reflect.get(t, k, r);
        if (k === 'read') return (n: Parameters<Overlay['read']>[0], o: number, l: number) => { read.push(String(l)); return t.read(n, o, l); };
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const [src] = fsParentsSources(spy, ['/./etc/passwd']);
    expect(src!.items.map((i) => i.rel)).toEqual(['', 'etc', 'etc/passwd']);
    expect(new TextDecoder().decode(src!.items.at(-1)!.item.data)).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(read).toEqual(['26']); // /usr/big was never read
  });
});
