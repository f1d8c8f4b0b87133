#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
  const char *s;
  size_t len, pos;
  struct jtok *tok;
  int n, cap;
};

static int push(struct parser *p, enum jtype t, int start) {
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 32;
    struct jtok *nt = realloc(p->tok, sizeof(struct jtok) * p->cap);
    if (!nt) return -1;
    p->tok = nt;
  }
  p->tok[p->n] = (struct jtok){t, start, start, 0, 0};
  return p->n++;
}

static void ws(struct parser *p) {
  while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos])) p->pos++;
}

static int value(struct parser *p, int depth) {
  if (depth > 32) return -1;
  ws(p);
  if (p->pos >= p->len) return -1;
  char c = p->s[p->pos];
  int me;
  if (c == '{' || c == '[') {
    int obj = c == '{';
    me = push(p, obj ? J_OBJ : J_ARR, (int)p->pos);
    if (me < 0) return -1;
    p->pos++;
    ws(p);
    if (p->pos < p->len && p->s[p->pos] == (obj ? '}' : ']')) {
      p->pos++;
    } else {
      for (;;) {
        if (obj) {
          ws(p);
          if (p->pos >= p->len || p->s[p->pos] != '"') return -1;
          if (value(p, depth + 1) < 0) return -1;
          ws(p);
          if (p->pos >= p->len || p->s[p->pos] != ':') return -1;
          p->pos++;
        }
        if (value(p, depth + 1) < 0) return -1;
        p->tok[me].size++;
        ws(p);
        if (p->pos >= p->len) return -1;
        if (p->s[p->pos] == ',') { p->pos++; continue; }
        if (p->s[p->pos] == (obj ? '}' : ']')) { p->pos++; break; }
        return -1;
      }
    }
    p->tok[me].end = (int)p->pos;
  } else if (c == '"') {
    me = push(p, J_STR, (int)p->pos + 1);
    if (me < 0) return -1;
    p->pos++;
    while (p->pos < p->len && p->s[p->pos] != '"') {
      if (p->s[p->pos] == '\\') p->pos++;
      p->pos++;
    }
    if (p->pos >= p->len) return -1;
    p->tok[me].end = (int)p->pos;
    p->pos++;
  } else {
    me = push(p, J_PRIM, (int)p->pos);
    if (me < 0) return -1;
    while (p->pos < p->len && !strchr(",]} \t\r\n", p->s[p->pos])) p->pos++;
    p->tok[me].end = (int)p->pos;
    if (p->tok[me].end == p->tok[me].start) return -1;
  }
  p->tok[me].next = p->n;
  return me;
}

int jparse(struct jdoc *d, const char *src, size_t len) {
  struct parser p = {src, len, 0, NULL, 0, 0};
  d->src = src;
  d->tok = NULL;
  d->n = 0;
  if (value(&p, 0) != 0 || p.tok[0].type != J_OBJ) {
    free(p.tok);
    return -1;
  }
  d->tok = p.tok;
  d->n = p.n;
  return 0;
}

void jfree(struct jdoc *d) {
  free(d->tok);
  d->tok = NULL;
}

int jget(const struct jdoc *d, int obj, const char *key) {
  if (obj < 0 || obj >= d->n || d->tok[obj].type != J_OBJ) return -1;
  size_t kl = strlen(key);
  int i = obj + 1;
  for (int k = 0; k < d->tok[obj].size; k++) {
    const struct jtok *kt = &d->tok[i];
    int v = kt->next;
    if ((size_t)(kt->end - kt->start) == kl && !memcmp(d->src + kt->start, key, kl)) return v;
    i = d->tok[v].next;
  }
  return -1;
}

static void put_utf8(char **o, unsigned cp) {
  unsigned char *u = (unsigned char *)*o;
  if (cp < 0x80) { *u++ = cp; }
  else if (cp < 0x800) { *u++ = 0xC0 | (cp >> 6); *u++ = 0x80 | (cp & 0x3F); }
  else { *u++ = 0xE0 | (cp >> 12); *u++ = 0x80 | ((cp >> 6) & 0x3F); *u++ = 0x80 | (cp & 0x3F); }
  *o = (char *)u;
}

char *jstr(const struct jdoc *d, int t) {
  if (t < 0 || d->tok[t].type != J_STR) return NULL;
  const char *s = d->src + d->tok[t].start, *e = d->src + d->tok[t].end;
  char *out = malloc((size_t)(e - s) + 1), *o = out;
  if (!out) return NULL;
  while (s < e) {
    if (*s != '\\') { *o++ = *s++; continue; }
    s++;
    if (s >= e) break;
    char c = *s++;
    switch (c) {
      case 'n': *o++ = '\n'; break;
      case 't': *o++ = '\t'; break;
      case 'r': *o++ = '\r'; break;
      case 'b': *o++ = '\b'; break;
      case 'f': *o++ = '\f'; break;
      case 'u': {
        unsigned cp = 0;
        for (int i = 0; i < 4 && s < e; i++, s++) {
          char h = *s;
          cp = cp * 16 + (h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
        }
        put_utf8(&o, cp); /* surrogate pairs are not joined: control payloads are ASCII paths */
        break;
      }
      default: *o++ = c;
    }
  }
  *o = 0;
  return out;
}

long long jnum(const struct jdoc *d, int t, long long def) {
  if (t < 0 || d->tok[t].type != J_PRIM) return def;
  const char *s = d->src + d->tok[t].start;
  if (*s == 't') return 1;
  if (*s == 'f' || *s == 'n') return def;
  return strtoll(s, NULL, 10);
}

int jbool(const struct jdoc *d, int t, int def) {
  if (t < 0 || d->tok[t].type != J_PRIM) return def;
  return d->src[d->tok[t].start] == 't';
}

char **jstrarr(const struct jdoc *d, int t) {
  if (t < 0 || d->tok[t].type != J_ARR) return NULL;
  int n = d->tok[t].size;
  char **a = calloc((size_t)n + 1, sizeof(char *));
  int i = t + 1;
  for (int k = 0; k < n; k++) {
    a[k] = jstr(d, i);
    if (!a[k]) a[k] = strdup("");
    i = d->tok[i].next;
  }
  return a;
}

void jfreearr(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
}

void jb_raw(struct jbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    b->p = realloc(b->p, cap);
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

void jb_fmt(struct jbuf *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof tmp - 1) n = sizeof tmp - 1;
  jb_raw(b, tmp, (size_t)n);
}

void jb_str(struct jbuf *b, const char *s) {
  jb_raw(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { jb_raw(b, "\\", 1); jb_raw(b, s, 1); }
    else if (c < 0x20) jb_fmt(b, "\\u%04x", c);
    else jb_raw(b, s, 1);
  }
  jb_raw(b, "\"", 1);
}

static int b64v(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

unsigned char *b64dec(const char *s, size_t *outlen) {
  size_t n = strlen(s);
  unsigned char *out = malloc(n / 4 * 3 + 3), *o = out;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '=') break;
    int v = b64v(s[i]);
    if (v < 0) { free(out); return NULL; }
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) { bits -= 8; *o++ = (unsigned char)(acc >> bits); }
  }
  *outlen = (size_t)(o - out);
  return out;
}
