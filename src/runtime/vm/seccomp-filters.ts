/**
 * Compiled seccomp filters, reused. crun compiles a container's seccomp profile (spec/seccomp.ts:
 * some 70 rules) into BPF with libseccomp on every create, a few M guest instructions of the
 * ~17 M a container start costs in the emulator. The BPF depends only on the profile and the guest
 * (its architecture and libseccomp), so after a first container with a profile the runtime reads
 * the filter crun wrote into its state directory and gives later containers with that profile the
 * same bytes through crun's `run.oci.seccomp_bpf_data` annotation, which crun installs as they are
 * (and stores for `crun exec` as before). The filter each container gets is byte for byte the one
 * crun would have compiled for it; a profile never seen before is compiled by crun as always.
 */
import { toBase64 } from '../../util/base64.ts';
import type { AgentClient } from './agent-client.ts';

/** crun's state directory in the guest (crun --version: rundir), where create writes seccomp.bpf. */
const CRUN_STATE = '/run/crun';
const ANNOTATION = 'run.oci.seccomp_bpf_data';
/** A seccomp filter is at most 4096 instructions of 8 bytes (BPF_MAXINSNS). */
const MAX_BPF = 4096 * 8;

interface SeccompConfig { linux?: { seccomp?: unknown }; annotations?: Record<string, string> }

export class SeccompFilters {
  /** Profile JSON -> base64 BPF. */
  private readonly compiled = new Map<string, string>();
  private readonly learning = new Set<string>();

  /**
   * The config to hand crun: `config` itself when its profile has not been compiled yet (then
   * `profile` names it, for `learn` after the start), else a copy with the compiled filter in
   * place of the profile.
   */
  prepare<C extends SeccompConfig>(config: C): { config: C; profile: string | null } {
    const seccomp = config.linux?.seccomp;
    if (!seccomp || config.annotations?.[ANNOTATION] !== undefined) return { config, profile: null };
    const profile = JSON.stringify(seccomp);
    const bpf = this.compiled.get(profile);
    if (bpf === undefined) return { config, profile };
    const { seccomp: _, ...linux } = config.linux!;
    return { config: { ...config, linux, annotations: { ...config.annotations, [ANNOTATION]: bpf } }, profile: null };
  }

  /**
   * After container `id` was created with `profile` compiled by crun: keeps the filter crun wrote.
   * Best effort and in the background: a container gone before its state could be read (a quick
   * `--rm`) just leaves the next one to compile it again.
   */
  learn(agent: AgentClient, id: string, profile: string): void {
    if (this.compiled.has(profile) || this.learning.has(profile) || !/^[\w.-]+$/.test(id)) return;
    this.learning.add(profile);
    void (async () => {
      const p = await agent.spawn({ args: ['cat', `${CRUN_STATE}/${id}/seccomp.bpf`] });
      const [bytes, status] = await Promise.all([p.stdout.bytes(), p.wait()]);
      // A filter is whole 8-byte instructions; anything else (a torn read) is not kept.
      if (status.exitCode === 0 && bytes.length > 0 && bytes.length <= MAX_BPF && bytes.length % 8 === 0) this.compiled.set(profile, toBase64(bytes));
    })().catch(() => {}).finally(() => this.learning.delete(profile));
  }
}
