/**
 * Restoring a state into an emulator built for it, without clearing its whole RAM first.
 *
 * v86's `restore_state` clears all of guest RAM (128 MiB) before copying in the pages the state
 * holds (`unpack_memory`). In an emulator that was just built and has not run, RAM is fresh wasm
 * memory, all zero, except what construction wrote: the BIOS and VGA BIOS below 1 MiB (33 pages
 * with our artifacts). Writing 128 MiB of zeros into fresh memory only makes the host fault in
 * every page: ~0.1 s of CPU per restore, and the process keeps all of it resident. So for that one
 * call the clear is limited to the first MiB. If this v86 lays its CPU out differently, nothing is
 * patched and the restore clears everything as before.
 */
type Cpu = { zero_memory?: (addr: number, len: number) => void; memory_size?: ArrayLike<number> };

/** Everything construction may write lies below this (the legacy BIOS area ends at 1 MiB). */
const FIRMWARE_END = 1 << 20;

export async function restoreFresh(emu: { restore_state(s: ArrayBuffer): Promise<void> | void }, state: ArrayBuffer): Promise<void> {
  const cpu = (emu as { v86?: { cpu?: Cpu } }).v86?.cpu;
  const original = cpu?.zero_memory;
  // (memory_size is a view v86 makes with a bound constructor: no instanceof.)
  if (!cpu || typeof original !== 'function' || typeof cpu.memory_size?.[0] !== 'number') {
    await emu.restore_state(state);
    return;
  }
  const size = cpu.memory_size[0]!;
  cpu.zero_memory = (addr, len) => original.call(cpu, addr, addr === 0 && len === size ? Math.min(len, FIRMWARE_END) : len);
  try {
    await emu.restore_state(state);
  } finally {
    cpu.zero_memory = original;
  }
}
