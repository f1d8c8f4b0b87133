/* Container networks in the guest (net.c): boot-time uplink, bridges, namespaces, veths. */
#ifndef SKIFF_NET_H
#define SKIFF_NET_H
#include <stdint.h>

#include "json.h"

void net_boot(void);                                              /* once, at PID 1 start */
void op_net(uint32_t req, const struct jdoc *d, const char *op);  /* the net_* requests */
/* A pooled container's namespace, pinned under `from`, moves to `to` and gets `ifaces` (pool.c). */
int net_adopt(const char *from, const char *to, const struct jdoc *d, int ifaces, char *err, size_t errlen);

#endif
