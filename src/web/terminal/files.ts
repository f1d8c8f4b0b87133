/**
 * The page's file affordances: downloads, a file picker, and a whole-page drop zone that takes
 * archives and folders (a folder is read through its directory entries, paths kept).
 */

export function downloadBlob(blob: Blob, filename: string, doc: Document = document): void {
  const url = URL.createObjectURL(blob);
  const a = doc.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  doc.body.append(a);
  a.click();
  a.remove();
  // The download has started once click() returns; keep the URL a moment for slow browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Resolves with the chosen files, or [] when the picker is cancelled. */
export function pickFiles(input: HTMLInputElement): Promise<File[]> {
  return new Promise((resolve) => {
    const done = (files: File[]): void => {
      input.removeEventListener('change', onChange);
      input.removeEventListener('cancel', onCancel);
      input.value = '';
      resolve(files);
    };
    const onChange = (): void => done([...(input.files ?? [])]);
    const onCancel = (): void => done([]);
    input.addEventListener('change', onChange);
    input.addEventListener('cancel', onCancel);
    input.click();
  });
}

/** The parts of the File and Directory Entries API the reader uses (real entries, or a test's fakes). */
export interface EntryLike {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
  file?(ok: (f: Blob) => void, fail?: (e: unknown) => void): void;
  createReader?(): { readEntries(ok: (entries: EntryLike[]) => void, fail?: (e: unknown) => void): void };
}

/** What a drop carried: plain files, or folders (as entries, taken while the event is live). */
export interface Dropped {
  files: File[];
  entries: EntryLike[];
}

/** Whether a drop brought at least one folder (then it is a build context, not archives to load). */
export function hasFolder(d: Dropped): boolean {
  return d.entries.some((e) => e.isDirectory);
}

/**
 * Reads dropped entries into folder-relative paths -> bytes. One folder reads as its contents
 * (`docker build DIR` sees DIR's files); several items keep their names at the top.
 */
export async function readEntries(entries: readonly EntryLike[]): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const [only] = entries;
  if (entries.length === 1 && only!.isDirectory) await readDir(only!, '', out);
  else for (const e of entries) await readEntry(e, e.name, out);
  return out;
}

async function readEntry(e: EntryLike, path: string, out: Map<string, Uint8Array>): Promise<void> {
  if (e.isDirectory) return readDir(e, `${path}/`, out);
  if (!e.isFile || !e.file) return;
  const blob = await new Promise<Blob>((ok, fail) => e.file!(ok, fail));
  out.set(path, new Uint8Array(await blob.arrayBuffer()));
}

async function readDir(dir: EntryLike, prefix: string, out: Map<string, Uint8Array>): Promise<void> {
  const reader = dir.createReader!();
  // readEntries hands out a batch at a time (Chromium: 100); an empty batch is the end.
  for (;;) {
    const batch = await new Promise<EntryLike[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) return;
    for (const e of batch) await readEntry(e, prefix + e.name, out);
  }
}

/** Calls `onDrop` for files or folders dropped anywhere on `target`; `overClass` is set while dragging over. */
export function installDropZone(target: HTMLElement, onDrop: (dropped: Dropped) => void, overClass = 'dragover'): () => void {
  let depth = 0;
  const hasFiles = (e: DragEvent): boolean => [...(e.dataTransfer?.types ?? [])].includes('Files');
  const enter = (e: DragEvent): void => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    target.classList.add(overClass);
  };
  const over = (e: DragEvent): void => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
  };
  const leave = (): void => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) target.classList.remove(overClass);
  };
  const drop = (e: DragEvent): void => {
    e.preventDefault();
    depth = 0;
    target.classList.remove(overClass);
    const files = [...(e.dataTransfer?.files ?? [])];
    // Entries must be taken now: the drag data store is unreadable once the event returns.
    const entries: EntryLike[] = [];
    for (const item of [...(e.dataTransfer?.items ?? [])]) {
      if (item.kind !== 'file') continue;
      const entry = item.webkitGetAsEntry?.() as EntryLike | null | undefined;
      if (entry) entries.push(entry);
    }
    if (files.length || entries.length) onDrop({ files, entries });
  };
  target.addEventListener('dragenter', enter);
  target.addEventListener('dragover', over);
  target.addEventListener('dragleave', leave);
  target.addEventListener('drop', drop);
  return () => {
    target.removeEventListener('dragenter', enter);
    target.removeEventListener('dragover', over);
    target.removeEventListener('dragleave', leave);
    target.removeEventListener('drop', drop);
  };
}
