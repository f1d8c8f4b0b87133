/* Minimal JSON for the agent's control payloads: parse one object into a flat token array and
 * look values up by key; write answers with a growable buffer. Not a general JSON library. */
#ifndef SKIFF_JSON_H
#define SKIFF_JSON_H
#include <stddef.h>

enum jtype { J_NONE, J_OBJ, J_ARR, J_STR, J_PRIM };

struct jtok {
  enum jtype type;
  int start, end; /* byte range in the source (strings: without quotes) */
  int size;       /* children: object = key count, array = element count */
  int next;       /* index of the token after this one and all its children */
};

struct jdoc {
  const char *src;
  struct jtok *tok;
  int n;
};

/* Parses `src` (len bytes); returns 0 or -1 on malformed input. Free with jfree. */
int jparse(struct jdoc *d, const char *src, size_t len);
void jfree(struct jdoc *d);
/* Index of the value for `key` in the object at token `obj`, or -1. */
int jget(const struct jdoc *d, int obj, const char *key);
/* Unescaped copy of a string token (malloc'd), or NULL if `t` is not a string. */
char *jstr(const struct jdoc *d, int t);
/* Number or boolean value of a primitive token; `def` when absent or not a number. */
long long jnum(const struct jdoc *d, int t, long long def);
int jbool(const struct jdoc *d, int t, int def);
/* NULL-terminated array of strings from an array token (malloc'd); NULL if not an array. */
char **jstrarr(const struct jdoc *d, int t);
void jfreearr(char **a);

struct jbuf {
  char *p;
  size_t len, cap;
};
void jb_raw(struct jbuf *b, const char *s, size_t n);
void jb_fmt(struct jbuf *b, const char *fmt, ...);
void jb_str(struct jbuf *b, const char *s); /* quoted and escaped */

/* Base64 decode; returns malloc'd bytes and sets *outlen, or NULL on bad input. */
unsigned char *b64dec(const char *s, size_t *outlen);

#endif
