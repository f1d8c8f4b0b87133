/**
 * The bridge driver's options (`network create -o KEY=VALUE`, POST /networks/create's Options),
 * checked as dockerd's bridge driver parses them (its parse errors word for word) and then held
 * against what skiff's guest can do. A value skiff gives anyway (MTU 1500, ICC on, the "nat"
 * gateway mode...) is accepted; one that would change behaviour the guest agent cannot change is
 * refused with the reason, never dropped. Keys the bridge driver does not know are kept and shown
 * in `network inspect`'s Options, as dockerd keeps them.
 *
 * `com.docker.network.bridge.name` is kept and shown (and two networks may not share one, as in
 * Docker), but the guest's bridge keeps skiff's own name (br-<id>): the agent creates only bridges
 * it names (vm-images/agent/net.c valid_bridge), and no container sees the bridge's name.
 */
import { SkiffError } from '../errors.ts';
import { isIpv4 } from '../runtime/spec/network.ts';

const P = 'com.docker.network.bridge.';
const TRUE = /^(1|t|T|TRUE|true|True)$/;
const FALSE = /^(0|f|F|FALSE|false|False)$/;

const parseErr = (label: string, value: string, why: string) => new SkiffError('INVALID_ARGUMENT', `failed to parse ${label} value: ${value} (${why})`);
const unsupported = (label: string, value: string, why: string) => new SkiffError('UNSUPPORTED', `${label}=${value} is not supported: ${why}`);

/** Go's strconv.ParseBool. */
function bool(label: string, value: string): boolean {
  if (TRUE.test(value)) return true;
  if (FALSE.test(value)) return false;
  throw parseErr(label, value, `strconv.ParseBool: parsing "${value}": invalid syntax`);
}

const GW_MODES = ['nat', 'nat-unprotected', 'routed', 'isolated'];

/** Throws for a value dockerd cannot parse or skiff's guest cannot honour. */
export function checkBridgeOptions(options: Record<string, string>): void {
  for (const [k, v] of Object.entries(options)) {
    switch (k) {
      case `${P}name`:
        if (!/^[^\s/:]{1,15}$/.test(v) || v === '.' || v === '..') throw new SkiffError('INVALID_ARGUMENT', `invalid bridge name "${v}": a Linux interface name of 1 to 15 characters without spaces, "/" or ":"`);
        break;
      case 'com.docker.network.driver.mtu': {
        if (!/^[+-]?\d+$/.test(v)) throw parseErr(k, v, `strconv.Atoi: parsing "${v}": invalid syntax`);
        const mtu = Number(v);
        if (mtu < 0) throw new SkiffError('INVALID_ARGUMENT', `invalid MTU number: ${mtu}`);
        if (mtu !== 0 && mtu !== 1500) throw unsupported(k, v, 'the guest agent sets no MTU (net_setup has no MTU field, vm-images/agent/PROTOCOL.md); interfaces keep 1500');
        break;
      }
      case `${P}enable_icc`:
        if (!bool(k, v)) throw unsupported(k, v, 'the guest has no netfilter to drop traffic between containers of one bridge');
        break;
      case `${P}enable_ip_masquerade`:
        if (!bool(k, v)) throw unsupported(k, v, 'traffic out of the guest always goes through skiff\'s host-side network peer');
        break;
      case `${P}inhibit_ipv4`:
        if (bool(k, v)) throw unsupported(k, v, 'the guest\'s bridge always holds the gateway address');
        break;
      case `${P}default_bridge`:
        if (bool(k, v)) throw unsupported(k, v, 'the default bridge is skiff\'s own "bridge" network');
        break;
      case 'com.docker.network.enable_ipv4':
        if (!bool(k, v)) throw new SkiffError('INVALID_ARGUMENT', 'IPv4 or IPv6 must be enabled');
        break;
      case `${P}gateway_mode_ipv4`:
      case `${P}gateway_mode_ipv6`:
        if (!GW_MODES.includes(v)) throw parseErr(k, v, `unknown gateway mode ${v}`);
        if (k.endsWith('ipv4') && v !== 'nat' && v !== 'nat-unprotected') throw unsupported(k, v, 'the guest routes container subnets out through the host-side peer only (the "nat" behaviour)');
        break;
      case `${P}host_binding_ipv4`:
        if (!isIpv4(v) && !v.includes(':')) throw parseErr(k, v, 'nil ip');
        throw unsupported(k, v, 'give the host address in -p IP:HOST_PORT:CONTAINER_PORT');
      case 'com.docker.network.host_ipv4':
      case 'com.docker.network.host_ipv6':
        if (!isIpv4(v) && !v.includes(':')) throw parseErr(k, v, 'nil ip');
        throw unsupported(k, v, 'skiff does no source NAT; container traffic leaves through the host-side peer');
      case 'com.docker.network.container_iface_prefix':
        if (v !== 'eth') throw unsupported(k, v, 'the guest agent names a container\'s interfaces eth<N>');
        break;
      default:
        // Unknown to the bridge driver (or without effect here, as trusted_host_interfaces): kept.
        break;
    }
  }
}
