/* Container networks in the guest, over rtnetlink (no ip/iptables binaries, no fork).
 *
 * Boot: lo up; eth0 (v86's virtio-net, if present) 10.0.2.15/24 with a default route via the
 * host-side peer 10.0.2.2; ip_forward=1 (no NAT: the host peer routes container subnets back).
 * Per network: a bridge holding the gateway address. Isolation without netfilter, by policy
 * routing: traffic entering from a bridge may reach its own subnet (rule 100, main table) or the
 * uplink table 200 (10.0.2.0/24, default via 10.0.2.2, and a `prohibit` route per bridge subnet);
 * an internal network's traffic is prohibited past its own subnet but for the DNS server 10.0.2.3. Rule 300 prohibits whatever
 * table 200 did not match, so a guest without an uplink still isolates.
 * Per container: a network namespace bind-mounted at /run/skiff/netns/<id> (crun joins it by
 * path), lo up, and one veth per network: the host end on the bridge, the other end eth<N> in the
 * namespace with the container's address and MAC, the default route via the first gateway.
 *
 * Requests are hostile input: ids are hex, bridge names are ours ("docker0", "br-<hex>"),
 * addresses are parsed with inet_pton, prefixes range-checked. See PROTOCOL.md (net_* ops). */
#define _GNU_SOURCE
#include "agent.h"
#include "net.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define NETNS_DIR "/run/skiff/netns"
#define UPLINK_TABLE 200
#define MAX_BRIDGES 64

struct bridge {
  char name[IFNAMSIZ];
  uint32_t subnet; /* host order */
  int prefix;
  int internal;
};
static struct bridge bridges[MAX_BRIDGES];
static int nbridges;
static int root_ns = -1;

/* An interface's index in the caller's namespace, 0 if none (glibc's if_nametoindex pulls in
 * ~20 KB of strncpy variants and getifaddrs). */
static int ifindex(const char *name) {
  struct ifreq r;
  size_t n = strlen(name);
  if (n >= IFNAMSIZ) return 0;
  memset(&r, 0, sizeof r);
  memcpy(r.ifr_name, name, n);
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return 0;
  int ok = ioctl(s, SIOCGIFINDEX, &r);
  close(s);
  return ok < 0 ? 0 : r.ifr_ifindex;
}

/* ---- rtnetlink ---- */

struct req {
  struct nlmsghdr n;
  char buf[1024];
};

static struct rtattr *addattr(struct nlmsghdr *n, int type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
  a->rta_type = (unsigned short)type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}
static void addu32(struct nlmsghdr *n, int type, uint32_t v) { addattr(n, type, &v, 4); }
static void addstr(struct nlmsghdr *n, int type, const char *s) { addattr(n, type, s, strlen(s) + 1); }
static struct rtattr *nest(struct nlmsghdr *n, int type) { return addattr(n, type, NULL, 0); }
static void nest_end(struct nlmsghdr *n, struct rtattr *a) { a->rta_len = (unsigned short)((char *)n + n->nlmsg_len - (char *)a); }

static int nl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -1;
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

/* Sends one request and reads its ack: 0 or -errno. */
static int nl_talk(int fd, struct nlmsghdr *n) {
  static uint32_t seq;
  n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  n->nlmsg_seq = ++seq;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (sendto(fd, n, n->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) return -errno;
  char buf[4096];
  for (;;) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)r); h = NLMSG_NEXT(h, r)) {
      if (h->nlmsg_seq != n->nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
    }
  }
}

static void link_req(struct req *r, int type, int flags, int index) {
  memset(r, 0, sizeof *r);
  r->n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  r->n.nlmsg_type = (unsigned short)type;
  r->n.nlmsg_flags = (unsigned short)flags;
  struct ifinfomsg *i = NLMSG_DATA(&r->n);
  i->ifi_family = AF_UNSPEC;
  i->ifi_index = index;
}

static int link_up(int fd, int index) {
  struct req r;
  link_req(&r, RTM_NEWLINK, 0, index);
  struct ifinfomsg *i = NLMSG_DATA(&r.n);
  i->ifi_flags = IFF_UP;
  i->ifi_change = IFF_UP;
  return nl_talk(fd, &r.n);
}

static int link_set(int fd, int index, int attr, const void *data, size_t len) {
  struct req r;
  link_req(&r, RTM_NEWLINK, 0, index);
  addattr(&r.n, attr, data, len);
  return nl_talk(fd, &r.n);
}

static int link_del(int fd, int index) {
  struct req r;
  link_req(&r, RTM_DELLINK, 0, index);
  return nl_talk(fd, &r.n);
}

static int bridge_create(int fd, const char *name) {
  struct req r;
  link_req(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  addstr(&r.n, IFLA_IFNAME, name);
  struct rtattr *li = nest(&r.n, IFLA_LINKINFO);
  addstr(&r.n, IFLA_INFO_KIND, "bridge");
  nest_end(&r.n, li);
  return nl_talk(fd, &r.n);
}

/* A veth pair: `name` here, `peer` created straight inside the namespace `nsfd`. */
static int veth_create(int fd, const char *name, const char *peer, int nsfd) {
  struct req r;
  link_req(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  addstr(&r.n, IFLA_IFNAME, name);
  struct rtattr *li = nest(&r.n, IFLA_LINKINFO);
  addstr(&r.n, IFLA_INFO_KIND, "veth");
  struct rtattr *data = nest(&r.n, IFLA_INFO_DATA);
  struct rtattr *pi = nest(&r.n, VETH_INFO_PEER);
  struct ifinfomsg peerinfo = {.ifi_family = AF_UNSPEC};
  /* VETH_INFO_PEER carries an ifinfomsg, then the peer's attributes. */
  memcpy((char *)&r.n + r.n.nlmsg_len, &peerinfo, sizeof peerinfo);
  r.n.nlmsg_len += NLMSG_ALIGN(sizeof peerinfo);
  addstr(&r.n, IFLA_IFNAME, peer);
  addu32(&r.n, IFLA_NET_NS_FD, (uint32_t)nsfd);
  nest_end(&r.n, pi);
  nest_end(&r.n, data);
  nest_end(&r.n, li);
  return nl_talk(fd, &r.n);
}

static int addr_add(int fd, int index, uint32_t ip, int prefix) {
  struct req r;
  memset(&r, 0, sizeof r);
  r.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
  r.n.nlmsg_type = RTM_NEWADDR;
  r.n.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  struct ifaddrmsg *a = NLMSG_DATA(&r.n);
  a->ifa_family = AF_INET;
  a->ifa_prefixlen = (unsigned char)prefix;
  a->ifa_index = (unsigned)index;
  uint32_t be = htonl(ip);
  addattr(&r.n, IFA_LOCAL, &be, 4);
  addattr(&r.n, IFA_ADDRESS, &be, 4);
  return nl_talk(fd, &r.n);
}

/* A route: `type` RTN_UNICAST (via gw and/or out oif) or RTN_PROHIBIT. */
static int route_add(int fd, int table, uint32_t dst, int prefix, uint32_t gw, int oif, int type) {
  struct req r;
  memset(&r, 0, sizeof r);
  r.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
  r.n.nlmsg_type = RTM_NEWROUTE;
  r.n.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  struct rtmsg *m = NLMSG_DATA(&r.n);
  m->rtm_family = AF_INET;
  m->rtm_dst_len = (unsigned char)prefix;
  m->rtm_table = RT_TABLE_UNSPEC;
  m->rtm_protocol = RTPROT_STATIC;
  m->rtm_scope = type == RTN_UNICAST && !gw ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  m->rtm_type = (unsigned char)type;
  addu32(&r.n, RTA_TABLE, (uint32_t)table);
  uint32_t be = htonl(dst);
  if (prefix) addattr(&r.n, RTA_DST, &be, 4);
  if (gw) { uint32_t g = htonl(gw); addattr(&r.n, RTA_GATEWAY, &g, 4); }
  if (oif) addu32(&r.n, RTA_OIF, (uint32_t)oif);
  return nl_talk(fd, &r.n);
}

static int route_del(int fd, int table, uint32_t dst, int prefix, int type) {
  struct req r;
  memset(&r, 0, sizeof r);
  r.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
  r.n.nlmsg_type = RTM_DELROUTE;
  struct rtmsg *m = NLMSG_DATA(&r.n);
  m->rtm_family = AF_INET;
  m->rtm_dst_len = (unsigned char)prefix;
  m->rtm_type = (unsigned char)type;
  addu32(&r.n, RTA_TABLE, (uint32_t)table);
  uint32_t be = htonl(dst);
  addattr(&r.n, RTA_DST, &be, 4);
  return nl_talk(fd, &r.n);
}

/* `ip rule [del] prio P iif IIF [to DST/PREFIX] lookup TABLE | prohibit`. */
static int rule(int fd, int add, int prio, const char *iif, uint32_t dst, int prefix, int table) {
  struct req r;
  memset(&r, 0, sizeof r);
  r.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct fib_rule_hdr));
  r.n.nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
  r.n.nlmsg_flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
  struct fib_rule_hdr *h = NLMSG_DATA(&r.n);
  h->family = AF_INET;
  h->action = table ? FR_ACT_TO_TBL : FR_ACT_PROHIBIT;
  h->dst_len = (unsigned char)prefix;
  addu32(&r.n, FRA_PRIORITY, (uint32_t)prio);
  addstr(&r.n, FRA_IFNAME, iif);
  if (prefix) { uint32_t be = htonl(dst); addattr(&r.n, FRA_DST, &be, 4); }
  if (table) addu32(&r.n, FRA_TABLE, (uint32_t)table);
  return nl_talk(fd, &r.n);
}

/* ---- helpers ---- */

static void put_sysctl(const char *path, const char *v) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, v, strlen(v)) < 0) dprintf(2, "skiff-agent: %s: %s\n", path, strerror(errno));
  if (fd >= 0) close(fd);
}

static int parse_ip(const char *s, uint32_t *out) {
  struct in_addr a;
  if (!s || inet_pton(AF_INET, s, &a) != 1) return -1;
  *out = ntohl(a.s_addr);
  return 0;
}

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "aa:bb:cc:dd:ee:ff", by hand: sscanf would pull ~100 KB of glibc's scanf into the agent. */
static int parse_mac(const char *s, unsigned char mac[6]) {
  if (!s || strlen(s) != 17) return -1;
  for (int i = 0; i < 6; i++) {
    int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':')) return -1;
    mac[i] = (unsigned char)(hi << 4 | lo);
  }
  return mac[0] & 1 ? -1 : 0; /* a multicast MAC would break ARP */
}

static int valid_id(const char *id) {
  size_t n = id ? strlen(id) : 0;
  if (n < 12 || n > 64) return 0;
  for (size_t i = 0; i < n; i++) if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return 0;
  return 1;
}

/* Only bridges skiff names: "docker0" or "br-" + 1..12 hex. */
static int valid_bridge(const char *b) {
  if (!b) return 0;
  if (!strcmp(b, "docker0")) return 1;
  size_t n = strlen(b);
  if (n < 4 || n > 15 || strncmp(b, "br-", 3)) return 0;
  for (size_t i = 3; i < n; i++) if (!((b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'f'))) return 0;
  return 1;
}

static uint32_t mask(int prefix) { return prefix ? 0xffffffffu << (32 - prefix) : 0; }

/* Runs with the calling process inside namespace `nsfd` long enough to open a netlink socket. */
static int nl_open_in(int nsfd) {
  if (setns(nsfd, CLONE_NEWNET) < 0) return -1;
  int fd = nl_open();
  int e = errno;
  if (setns(root_ns, CLONE_NEWNET) < 0) dprintf(2, "skiff-agent: back to the root netns: %s\n", strerror(errno));
  errno = e;
  return fd;
}

/* ---- boot ---- */

void net_boot(void) {
  root_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  mkdir(NETNS_DIR, 0700);
  int fd = nl_open();
  if (fd < 0) { dprintf(2, "skiff-agent: netlink: %s\n", strerror(errno)); return; }
  link_up(fd, ifindex("lo"));
  put_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
  int eth = ifindex("eth0");
  if (eth > 0) {
    uint32_t guest, gw, lan;
    parse_ip("10.0.2.15", &guest);
    parse_ip("10.0.2.2", &gw);
    parse_ip("10.0.2.0", &lan);
    int e = link_up(fd, eth);
    if (!e) e = addr_add(fd, eth, guest, 24);
    if (!e) e = route_add(fd, RT_TABLE_MAIN, 0, 0, gw, eth, RTN_UNICAST);
    /* The uplink table the bridges' traffic falls through to. */
    if (!e) e = route_add(fd, UPLINK_TABLE, lan, 24, 0, eth, RTN_UNICAST);
    if (!e) e = route_add(fd, UPLINK_TABLE, 0, 0, gw, eth, RTN_UNICAST);
    if (e) dprintf(2, "skiff-agent: eth0 setup: %s\n", strerror(-e));
  }
  close(fd);
}

/* ---- bridges ---- */

static uint32_t dns_server(void) {
  uint32_t ip = 0;
  parse_ip("10.0.2.3", &ip);
  return ip;
}

static void bridge_forget(int fd, int i) {
  struct bridge *b = &bridges[i];
  int idx = ifindex(b->name);
  if (idx > 0) link_del(fd, idx);
  rule(fd, 0, 100, b->name, b->subnet, b->prefix, RT_TABLE_MAIN);
  if (b->internal) rule(fd, 0, 200, b->name, dns_server(), 32, UPLINK_TABLE);
  else rule(fd, 0, 200, b->name, 0, 0, UPLINK_TABLE);
  rule(fd, 0, 300, b->name, 0, 0, 0);
  route_del(fd, UPLINK_TABLE, b->subnet, b->prefix, RTN_PROHIBIT);
  bridges[i] = bridges[--nbridges];
}

/* The bridge for a network, created on first use; a bridge left from a removed network whose
 * subnet overlaps goes first (two connected routes for one subnet would misroute). */
static int bridge_ensure(int fd, const char *name, uint32_t gw, int prefix, int internal, char *err, size_t errlen) {
  uint32_t subnet = gw & mask(prefix);
  for (int i = 0; i < nbridges; i++) {
    if (!strcmp(bridges[i].name, name)) return 0;
  }
  for (int i = 0; i < nbridges;) {
    int p = bridges[i].prefix < prefix ? bridges[i].prefix : prefix;
    if ((bridges[i].subnet & mask(p)) == (subnet & mask(p))) bridge_forget(fd, i);
    else i++;
  }
  if (nbridges == MAX_BRIDGES) { snprintf(err, errlen, "too many networks in the guest (%d)", MAX_BRIDGES); return -ENOSPC; }
  int e = bridge_create(fd, name);
  if (e && e != -EEXIST) { snprintf(err, errlen, "create bridge %s: %s", name, strerror(-e)); return e; }
  int idx = ifindex(name);
  if (idx <= 0) { snprintf(err, errlen, "bridge %s vanished", name); return -ENODEV; }
  if ((e = addr_add(fd, idx, gw, prefix)) || (e = link_up(fd, idx))) { snprintf(err, errlen, "configure bridge %s: %s", name, strerror(-e)); return e; }
  e = rule(fd, 1, 100, name, subnet, prefix, RT_TABLE_MAIN);
  /* An internal network reaches nothing past its bridge but the DNS server (names of its peers). */
  if (!e || e == -EEXIST) e = internal ? rule(fd, 1, 200, name, dns_server(), 32, UPLINK_TABLE) : rule(fd, 1, 200, name, 0, 0, UPLINK_TABLE);
  if (!e || e == -EEXIST) e = rule(fd, 1, 300, name, 0, 0, 0);
  if (!e || e == -EEXIST) e = route_add(fd, UPLINK_TABLE, subnet, prefix, 0, 0, RTN_PROHIBIT);
  if (e && e != -EEXIST) { snprintf(err, errlen, "isolate bridge %s: %s", name, strerror(-e)); return e; }
  struct bridge *b = &bridges[nbridges++];
  snprintf(b->name, sizeof b->name, "%s", name);
  b->subnet = subnet;
  b->prefix = prefix;
  b->internal = internal;
  return 0;
}

/* ---- container namespaces ---- */

struct iface {
  char bridge[IFNAMSIZ];
  uint32_t ip, gw;
  int prefix, internal, index;
  unsigned char mac[6];
};

static int parse_iface(const struct jdoc *d, int t, struct iface *f, char *err, size_t errlen) {
  char *bridge = jstr(d, jget(d, t, "bridge")), *ip = jstr(d, jget(d, t, "ip")), *gw = jstr(d, jget(d, t, "gateway"));
  char *mac = jstr(d, jget(d, t, "mac"));
  int ok = 1;
  memset(f, 0, sizeof *f);
  f->prefix = (int)jnum(d, jget(d, t, "prefix"), -1);
  f->internal = jbool(d, jget(d, t, "internal"), 0);
  f->index = (int)jnum(d, jget(d, t, "index"), -1);
  if (!valid_bridge(bridge)) { snprintf(err, errlen, "bad bridge name"); ok = 0; }
  else if (parse_ip(ip, &f->ip) || parse_ip(gw, &f->gw)) { snprintf(err, errlen, "bad address"); ok = 0; }
  else if (f->prefix < 8 || f->prefix > 30) { snprintf(err, errlen, "bad prefix %d", f->prefix); ok = 0; }
  else if ((f->ip & mask(f->prefix)) != (f->gw & mask(f->prefix)) || f->ip == f->gw) { snprintf(err, errlen, "address %s not in the gateway's subnet", ip); ok = 0; }
  else if (parse_mac(mac, f->mac)) { snprintf(err, errlen, "bad MAC"); ok = 0; }
  else if (f->index < 0 || f->index > 15) { snprintf(err, errlen, "bad interface index"); ok = 0; }
  if (ok) snprintf(f->bridge, sizeof f->bridge, "%s", bridge);
  free(bridge); free(ip); free(gw); free(mac);
  return ok ? 0 : -1;
}

static void host_veth(char out[IFNAMSIZ], const char *id, int index) {
  snprintf(out, IFNAMSIZ, "v%.13s%x", id, index & 15); /* "v" + 13 hex of the id + the index: 15 */
}

/* One interface eth<index> in namespace `nsfd` (netlink socket `in` opened there). */
static int plug(int fd, int in, int nsfd, const char *id, const struct iface *f, char *err, size_t errlen) {
  int e = bridge_ensure(fd, f->bridge, f->gw, f->prefix, f->internal, err, errlen);
  if (e) return e;
  char host[IFNAMSIZ], peer[IFNAMSIZ];
  host_veth(host, id, f->index);
  snprintf(peer, sizeof peer, "eth%d", f->index);
  e = veth_create(fd, host, peer, nsfd);
  if (e == -EEXIST) {
    /* A namespace the kernel has not finished destroying (that is asynchronous) still holds the
     * pair of this container's previous run: delete it and go on. */
    int stale = ifindex(host);
    if (stale > 0) link_del(fd, stale);
    e = veth_create(fd, host, peer, nsfd);
  }
  if (e) { snprintf(err, errlen, "veth %s: %s", host, strerror(-e)); return e; }
  int hidx = ifindex(host), bidx = ifindex(f->bridge);
  e = link_set(fd, hidx, IFLA_MASTER, &bidx, 4);
  if (!e) e = link_up(fd, hidx);
  if (e) { snprintf(err, errlen, "attach %s to %s: %s", host, f->bridge, strerror(-e)); goto undo; }
  /* Inside: the index is read through the namespace's own sysfs-free lookup (netlink by name). */
  struct req r;
  link_req(&r, RTM_NEWLINK, 0, 0);
  addstr(&r.n, IFLA_IFNAME, peer);
  addattr(&r.n, IFLA_ADDRESS, f->mac, 6);
  if ((e = nl_talk(in, &r.n))) { snprintf(err, errlen, "%s MAC: %s", peer, strerror(-e)); goto undo; }
  link_req(&r, RTM_NEWLINK, 0, 0);
  addstr(&r.n, IFLA_IFNAME, peer);
  ((struct ifinfomsg *)NLMSG_DATA(&r.n))->ifi_flags = IFF_UP;
  ((struct ifinfomsg *)NLMSG_DATA(&r.n))->ifi_change = IFF_UP;
  if ((e = nl_talk(in, &r.n))) { snprintf(err, errlen, "%s up: %s", peer, strerror(-e)); goto undo; }
  return 0;
undo:
  if (hidx > 0) link_del(fd, hidx);
  return e;
}

/* Address and routes inside: done after plug() because they need the peer's index there. */
static int configure_inside(int in, int nsfd, const struct iface *f, int default_route, char *err, size_t errlen) {
  char peer[IFNAMSIZ];
  snprintf(peer, sizeof peer, "eth%d", f->index);
  /* ifindex looks in the caller's namespace: enter it for the lookup. */
  if (setns(nsfd, CLONE_NEWNET) < 0) { snprintf(err, errlen, "enter netns: %s", strerror(errno)); return -errno; }
  int idx = ifindex(peer);
  setns(root_ns, CLONE_NEWNET);
  if (idx <= 0) { snprintf(err, errlen, "%s missing in the namespace", peer); return -ENODEV; }
  int e = addr_add(in, idx, f->ip, f->prefix);
  if (!e && default_route) e = route_add(in, RT_TABLE_MAIN, 0, 0, f->gw, idx, RTN_UNICAST);
  /* No default route on an internal network, but its names still resolve through the gateway. */
  else if (!e && f->internal) e = route_add(in, RT_TABLE_MAIN, dns_server(), 32, f->gw, idx, RTN_UNICAST);
  if (e) snprintf(err, errlen, "%s address/route: %s", peer, strerror(-e));
  return e;
}

static void ns_path(char *out, size_t n, const char *id) { snprintf(out, n, NETNS_DIR "/%s", id); }

/* Unpins the namespace. Its veths go when the kernel destroys it (asynchronously, after the last
 * process left): deleting them here costs a synchronous RCU grace period (~100 ms of guest time)
 * on every container exit; a quick restart finds the old pair and deletes it then (plug). */
static void netns_drop(const char *id) {
  char path[128];
  ns_path(path, sizeof path, id);
  umount2(path, MNT_DETACH);
  unlink(path);
}

/* A new network namespace pinned at NETNS_DIR/<id>, lo up. Returns its fd or -errno. */
static int netns_create(const char *id, char *err, size_t errlen) {
  char path[128];
  ns_path(path, sizeof path, id);
  int f = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (f < 0 && errno == EEXIST) {
    /* Left by a run whose teardown never came (the host went away): unpin it and start over. */
    netns_drop(id);
    f = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  }
  if (f < 0) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -errno; }
  close(f);
  int e = 0;
  if (unshare(CLONE_NEWNET) < 0) e = -errno;
  else {
    if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0) e = -errno;
    setns(root_ns, CLONE_NEWNET);
  }
  if (e) { unlink(path); snprintf(err, errlen, "new netns: %s", strerror(-e)); return e; }
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) { e = -errno; umount2(path, MNT_DETACH); unlink(path); snprintf(err, errlen, "open netns: %s", strerror(-e)); return e; }
  int in = nl_open_in(nsfd);
  if (in >= 0) {
    /* lo is index 1 in every new namespace. */
    link_up(in, 1);
    close(in);
  }
  return nsfd;
}

/* The interfaces of a request's `ifaces` array (at most 16) into f; returns how many, or -1. */
static int parse_ifaces(const struct jdoc *d, int ifs, struct iface f[16], char *err, size_t errlen) {
  if (ifs >= 0 && d->tok[ifs].type != J_ARR) { snprintf(err, errlen, "ifaces must be an array"); return -1; }
  int n = ifs < 0 ? 0 : d->tok[ifs].size;
  if (n > 16) { snprintf(err, errlen, "at most 16 interfaces"); return -1; }
  for (int i = 0, t = ifs + 1; i < n; i++, t = d->tok[t].next) {
    char why[120] = "";
    if (d->tok[t].type != J_OBJ || parse_iface(d, t, &f[i], why, sizeof why)) { snprintf(err, errlen, "interface %d: %s", i, why[0] ? why : "not an object"); return -1; }
  }
  return n;
}

/* Every interface into namespace `nsfd` (pinned under `id`), the default route via the first
 * non-internal gateway. On failure the caller drops the namespace (the veths go with it). */
static int plug_all(int nsfd, const char *id, const struct iface *f, int n, char *err, size_t errlen) {
  int fd = nl_open(), in = nl_open_in(nsfd), e = fd < 0 || in < 0 ? -EIO : 0;
  if (e) snprintf(err, errlen, "netlink: %s", strerror(errno));
  int routed = 0;
  for (int i = 0; i < n && !e; i++) {
    int r = plug(fd, in, nsfd, id, &f[i], err, errlen);
    if (r < 0) { e = r; break; }
    int def = !routed && !f[i].internal;
    if ((e = configure_inside(in, nsfd, &f[i], def, err, errlen))) break;
    routed |= def;
  }
  if (fd >= 0) close(fd);
  if (in >= 0) close(in);
  return e;
}

static void op_setup(uint32_t req, const struct jdoc *d, const char *id) {
  char err[200] = "";
  struct iface f[16];
  int n = parse_ifaces(d, jget(d, 0, "ifaces"), f, err, sizeof err);
  if (n < 0) { respond_err(req, EINVAL, "net_setup %.12s: %s", id, err); return; }
  int nsfd = netns_create(id, err, sizeof err);
  if (nsfd < 0) { respond_err(req, -nsfd, "net_setup %.12s: %s", id, err); return; }
  int e = plug_all(nsfd, id, f, n, err, sizeof err);
  close(nsfd);
  if (e) {
    netns_drop(id); /* the veths go with the namespace */
    respond_err(req, -e, "net_setup %.12s: %s", id, err);
    return;
  }
  char out[200];
  snprintf(out, sizeof out, ",\"netns\":\"" NETNS_DIR "/%s\"", id);
  respond_ok(req, out);
}

/* A pooled container is claimed (pool.c): the namespace pinned under the pool's id `from` (made
 * by net_setup with no interfaces, joined by the pooled container) is pinned under the
 * container's id `to` instead, and gets the interfaces of `ifaces` as net_setup would give them. */
int net_adopt(const char *from, const char *to, const struct jdoc *d, int ifaces, char *err, size_t errlen) {
  struct iface f[16];
  if (!valid_id(from) || !valid_id(to)) { snprintf(err, errlen, "need hex ids"); return -EINVAL; }
  int n = parse_ifaces(d, ifaces, f, err, errlen);
  if (n < 0) return -EINVAL;
  char src[128], dst[128];
  ns_path(src, sizeof src, from);
  ns_path(dst, sizeof dst, to);
  int fd = open(dst, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (fd < 0 && errno == EEXIST) { netns_drop(to); fd = open(dst, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400); }
  if (fd < 0) { snprintf(err, errlen, "%s: %s", dst, strerror(errno)); return -errno; }
  close(fd);
  if (mount(src, dst, NULL, MS_BIND, NULL) < 0) { int e = errno; unlink(dst); snprintf(err, errlen, "pin %s: %s", dst, strerror(e)); return -e; }
  netns_drop(from);
  int nsfd = open(dst, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) { snprintf(err, errlen, "open %s: %s", dst, strerror(errno)); return -errno; }
  int e = plug_all(nsfd, to, f, n, err, errlen);
  close(nsfd);
  return e;
}

/* Hot plug (network connect) into a running container's namespace. */
static void op_connect(uint32_t req, const struct jdoc *d, const char *id) {
  char err[200] = "", path[128];
  struct iface f;
  int t = jget(d, 0, "iface");
  if (t < 0 || d->tok[t].type != J_OBJ || parse_iface(d, t, &f, err, sizeof err)) { respond_err(req, EINVAL, "net_connect %.12s: %s", id, err[0] ? err : "need iface"); return; }
  ns_path(path, sizeof path, id);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) { respond_err(req, errno, "net_connect %.12s: no network namespace: %s", id, strerror(errno)); return; }
  int fd = nl_open(), in = nl_open_in(nsfd), e = fd < 0 || in < 0 ? -EIO : 0;
  if (!e) e = plug(fd, in, nsfd, id, &f, err, sizeof err);
  if (!e) e = configure_inside(in, nsfd, &f, jbool(d, jget(d, 0, "default_route"), 0), err, sizeof err);
  if (e < 0 && fd >= 0) {
    char host[IFNAMSIZ];
    host_veth(host, id, f.index);
    int h = ifindex(host);
    if (h > 0) link_del(fd, h);
  }
  if (fd >= 0) close(fd);
  if (in >= 0) close(in);
  close(nsfd);
  if (e < 0) respond_err(req, -e, "net_connect %.12s: %s", id, err[0] ? err : "netlink");
  else respond_ok(req, "");
}

/* A container of the same network running in another VM (another skiff process): the bridge
 * answers ARP for it (proxy_arp) and a /32 through 10.0.2.2 sends its packets out eth0, where
 * the host peer relays them to the process that runs it. The bridge must exist already. */
static void op_remote(uint32_t req, const struct jdoc *d) {
  char *bridge = jstr(d, jget(d, 0, "bridge")), *ip = jstr(d, jget(d, 0, "ip"));
  int add = jbool(d, jget(d, 0, "add"), 1), found = -1;
  uint32_t a = 0, gw = 0;
  parse_ip("10.0.2.2", &gw);
  for (int i = 0; valid_bridge(bridge) && i < nbridges; i++) if (!strcmp(bridges[i].name, bridge)) found = i;
  if (found < 0 || parse_ip(ip, &a) || (a & mask(bridges[found].prefix)) != bridges[found].subnet) {
    respond_err(req, EINVAL, "net_remote: need a bridge of this guest and an address in its subnet");
  } else {
    char path[96];
    snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/proxy_arp", bridge);
    if (add) put_sysctl(path, "1");
    /* Proxy replies to broadcast ARP are otherwise delayed by up to proxy_delay (0.8 s). */
    snprintf(path, sizeof path, "/proc/sys/net/ipv4/neigh/%s/proxy_delay", bridge);
    if (add) put_sysctl(path, "0");
    int fd = nl_open(), eth = ifindex("eth0"), e = fd < 0 || eth <= 0 ? -ENODEV : 0;
    if (!e) e = add ? route_add(fd, RT_TABLE_MAIN, a, 32, gw, eth, RTN_UNICAST) : route_del(fd, RT_TABLE_MAIN, a, 32, RTN_UNICAST);
    if (fd >= 0) close(fd);
    if (e == -ESRCH && !add) e = 0;
    if (e) respond_err(req, -e, "net_remote %s %s: %s", bridge, ip, strerror(-e));
    else respond_ok(req, "");
  }
  free(bridge);
  free(ip);
}

void op_net(uint32_t req, const struct jdoc *d, const char *op) {
  if (!strcmp(op, "net_remote")) { op_remote(req, d); return; }
  char *id = jstr(d, jget(d, 0, "id"));
  if (!valid_id(id)) { respond_err(req, EINVAL, "%s: need a hex container id", op); free(id); return; }
  if (!strcmp(op, "net_setup")) op_setup(req, d, id);
  else if (!strcmp(op, "net_connect")) op_connect(req, d, id);
  else if (!strcmp(op, "net_disconnect")) {
    int index = (int)jnum(d, jget(d, 0, "index"), -1);
    char host[IFNAMSIZ];
    int fd = nl_open(), e = -EINVAL;
    if (index >= 0 && index <= 15 && fd >= 0) {
      host_veth(host, id, index);
      int h = ifindex(host);
      e = h > 0 ? link_del(fd, h) : -ENODEV;
    }
    if (fd >= 0) close(fd);
    if (e) respond_err(req, -e, "net_disconnect %.12s eth%d: %s", id, index, strerror(-e));
    else respond_ok(req, "");
  } else if (!strcmp(op, "net_teardown")) {
    netns_drop(id);
    respond_ok(req, "");
  } else respond_err(req, ENOSYS, "unknown op '%s'", op);
  free(id);
}
