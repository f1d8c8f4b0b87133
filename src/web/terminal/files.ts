/** The page's file affordances: downloads, a file picker, and a whole-page drop zone. */

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

/** Calls `onFiles` for files dropped anywhere on `target`; `over` toggles a class for styling. */
export function installDropZone(target: HTMLElement, onFiles: (files: File[]) => void, overClass = 'dragover'): () => void {
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
    if (files.length) onFiles(files);
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
