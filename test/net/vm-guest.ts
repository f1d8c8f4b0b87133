/**
 * A real guest with its NIC plugged into the host-side peer, for the network tests and benches:
 * the machine boots (no snapshot), the peer gets Node's sockets and resolver, and eth0 in the
 * guest's own namespace gets 10.0.2.15/24 with 10.0.2.2 as its default route, as the agent sets
 * it up for containers. Guest commands run as plain processes (`spawn`), no container needed.
 */
import { nodeMachineOptions } from '../../src/node.ts';
import { nodeDialer, nodeUpstream, publishPort } from '../../src/net/node.ts';
import { Machine } from '../../src/runtime/vm/machine.ts';
import { VmNetwork, type VmNetworkOptions } from '../../src/runtime/vm/network.ts';

export interface NetGuest {
  machine: Machine;
  network: VmNetwork;
  /** Runs `sh -c script` in the guest; resolves with its output and exit code. */
  sh(script: string, timeoutMs?: number): Promise<{ code: number; out: string; err: string }>;
  /** Starts `sh -c script` in the guest and leaves it running. */
  background(script: string): Promise<{ kill(): Promise<void> }>;
  stop(): Promise<void>;
}

/** The guest kernel has no virtio-net driver (vm-images/dist from before networking). */
export class NoNicError extends Error {
  constructor() { super('the guest kernel has no eth0 (no virtio-net driver in vm-images/dist)'); }
}

export async function bootNetGuest(opts: VmNetworkOptions = {}): Promise<NetGuest> {
  // SKIFF_VM_ARTIFACTS: another build of the guest (a kernel being worked on) instead of vm-images/dist.
  const artifactDir = process.env['SKIFF_VM_ARTIFACTS'];
  const machine = await Machine.start({ ...nodeMachineOptions({ snapshots: null, ...(artifactDir ? { artifactDir } : {}) }), bootTimeoutMs: 120_000, requestTimeoutMs: 120_000 });
  const network = new VmNetwork({ dialer: nodeDialer(), upstream: nodeUpstream, publish: publishPort, ...opts });
  network.attach(machine);
  const sh = async (script: string, timeoutMs = 60_000) => {
    const p = await machine.agent.spawn({ args: ['/bin/sh', '-c', script], env: ['PATH=/bin:/sbin:/usr/bin:/usr/sbin'] });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`guest command timed out after ${timeoutMs} ms: ${script}`)), timeoutMs); });
    try {
      const [out, err, status] = await Promise.race([Promise.all([p.stdout.text(), p.stderr.text(), p.wait()]), timeout]);
      return { code: status.exitCode, out, err };
    } finally {
      clearTimeout(timer);
    }
  };
  if ((await sh('test -e /sys/class/net/eth0')).code !== 0) {
    await machine.shutdown();
    throw new NoNicError();
  }
  // The agent may have done this already (it does once containers get networks): idempotent.
  const up = await sh('ip link set lo up; ip link set eth0 up && { ip addr show dev eth0 | grep -q "inet 10.0.2.15/" || ip addr add 10.0.2.15/24 dev eth0; } && ip route replace default via 10.0.2.2 && echo nameserver 10.0.2.3 > /etc/resolv.conf');
  if (up.code !== 0) {
    await machine.shutdown();
    throw new Error(`configuring the guest's eth0 failed (a kernel without virtio-net?): ${up.err || up.out}`);
  }
  return {
    machine, network, sh,
    async background(script) {
      const p = await machine.agent.spawn({ args: ['/bin/sh', '-c', script], env: ['PATH=/bin:/sbin:/usr/bin:/usr/sbin'] });
      return { kill: async () => { await p.signal(9).catch(() => {}); await p.wait().catch(() => {}); } };
    },
    async stop() {
      network.detach();
      await machine.shutdown();
    },
  };
}
