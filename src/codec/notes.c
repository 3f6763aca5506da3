/* Lists of reasons and losses, and field paths. */
#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void rs__notes_init(rs__notes *ns, const ProtobufCAllocator *a, size_t max) {
  memset(ns, 0, sizeof *ns);
  ns->a = a;
  ns->max = max;
  ns->track_from = INT_MAX;
}

/* Counts a note left out of the list, and the record's field it is in. */
static void omit(rs__notes *ns, int kind, uint32_t top) {
  ns->omitted++;
  if (kind < ns->track_from) return;
  for (size_t i = 0; i < ns->n_omitted_tops; i++)
    if (ns->omitted_tops[i] == top) return;
  if (ns->n_omitted_tops < RS_MAX_OMITTED_FIELDS)
    ns->omitted_tops[ns->n_omitted_tops++] = top;
  else
    ns->omitted_tops_over = true;
}

void rs__notes_dispose(rs__notes *ns, const ProtobufCAllocator *a) {
  for (size_t i = 0; i < ns->n; i++) {
    rs__free(a, ns->items[i].path);
    rs__free(a, ns->items[i].text);
  }
  rs__free(a, ns->items);
  ns->items = NULL;
  ns->n = ns->cap = 0;
}

/* The note least severe of a full list: the one a new note replaces. */
static size_t weakest(const rs__notes *ns) {
  size_t w = 0;
  for (size_t i = 1; i < ns->n; i++)
    if (ns->items[i].kind < ns->items[w].kind) w = i;
  return w;
}

bool rs__notes_skip(rs__notes *ns, int kind, uint32_t top) {
  if (ns->max == 0 || ns->n < ns->max || ns->n == 0) return false;
  if (ns->items[weakest(ns)].kind < kind) return false;
  omit(ns, kind, top);
  return true;
}

/* Adds a note whose text is already allocated with ns->a (NULL: out of
 * memory); takes the text in every case. */
static int add_note(rs__notes *ns, int kind, int code, const char *path,
                    uint32_t top, uint32_t field, size_t offset, char *text) {
  assert(code >= RS__RC_NONE && code < RS__RC_COUNT);
  if (text == NULL) return RS_ENOMEM;
  if (ns->max != 0 && ns->n >= ns->max) {
    /* Full: one note is dropped and counted. Drop the least severe, so the
     * worst reasons stay visible however many fields are ignored. */
    size_t w = weakest(ns);
    if (ns->items[w].kind >= kind) {
      omit(ns, kind, top);
      rs__free(ns->a, text);
      return 0;
    }
    omit(ns, ns->items[w].kind, ns->items[w].top);
    rs__free(ns->a, ns->items[w].path);
    rs__free(ns->a, ns->items[w].text);
    memmove(&ns->items[w], &ns->items[w + 1],
            (ns->n - w - 1) * sizeof *ns->items);
    ns->n--;
  }
  if (ns->n == ns->cap) {
    size_t cap = ns->cap != 0 ? ns->cap * 2 : 4;
    rs__note *items = rs__alloc(ns->a, cap * sizeof *items);
    if (items == NULL) {
      rs__free(ns->a, text);
      return RS_ENOMEM;
    }
    if (ns->n != 0) memcpy(items, ns->items, ns->n * sizeof *items);
    rs__free(ns->a, ns->items);
    ns->items = items;
    ns->cap = cap;
  }
  rs__note *note = &ns->items[ns->n];
  memset(note, 0, sizeof *note);
  note->kind = kind;
  note->code = code;
  note->field = field;
  note->top = top;
  note->offset = offset;
  note->path = rs__strdup(ns->a, path != NULL ? path : "");
  note->text = text;
  if (note->path == NULL) {
    rs__free(ns->a, text);
    note->text = NULL;
    return RS_ENOMEM;
  }
  ns->n++;
  return 0;
}

int rs__notes_vadd(rs__notes *ns, int kind, int code, const char *path,
                   uint32_t top, uint32_t field, size_t offset, const char *fmt,
                   va_list ap) {
  return add_note(ns, kind, code, path, top, field, offset,
                  rs__vsprintf(ns->a, fmt, ap));
}

int rs__notes_add_text(rs__notes *ns, int kind, int code, const char *path,
                       uint32_t top, uint32_t field, size_t offset,
                       const char *text) {
  return add_note(ns, kind, code, path, top, field, offset,
                  rs__strdup(ns->a, text));
}

int rs__notes_add(rs__notes *ns, int kind, int code, const char *path,
                  uint32_t top, uint32_t field, size_t offset, const char *fmt,
                  ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = rs__notes_vadd(ns, kind, code, path, top, field, offset, fmt, ap);
  va_end(ap);
  return rc;
}

void rs__notes_sort(rs__notes *ns) {
  /* Stable insertion sort, worst first; lists are short (RS_MAX_REASONS). */
  for (size_t i = 1; i < ns->n; i++) {
    rs__note t = ns->items[i];
    size_t j = i;
    while (j > 0 && ns->items[j - 1].kind < t.kind) {
      ns->items[j] = ns->items[j - 1];
      j--;
    }
    ns->items[j] = t;
  }
}

int rs__notes_worst(const rs__notes *ns) {
  int worst = 0;
  for (size_t i = 0; i < ns->n; i++)
    if (ns->items[i].kind > worst) worst = ns->items[i].kind;
  return worst;
}

/*
 * Paths are pushed for every field of every record a scan reads, and only a
 * few end up in a reason: appending is plain copying, no printf.
 */
static size_t path_append(rs__path *p, const char *name, char open,
                          uint64_t number, char close) {
  size_t mark = p->len;
  char digits[24];
  size_t nd = 0;
  do {
    digits[nd++] = (char)('0' + number % 10);
    number /= 10;
  } while (number != 0);
  size_t nlen = name != NULL ? strlen(name) : 0;
  size_t need = (p->len ? 1 : 0) + nlen + 2 + nd;
  char *o = p->buf + p->len;
  if (p->len + need < sizeof p->buf) {
    if (p->len) *o++ = '.';
    memcpy(o, name, nlen);
    o += nlen;
    *o++ = open;
    while (nd > 0) *o++ = digits[--nd];
    *o++ = close;
    *o = '\0';
    p->len = (size_t)(o - p->buf);
    return mark;
  }
  /* Too long (a pathological nesting): keep what fits and mark the cut
   * rather than cut silently. */
  if (p->len >= sizeof p->buf - 4) return mark;
  char *end = p->buf + sizeof p->buf - 4;
  if (p->len && o < end) *o++ = '.';
  for (size_t i = 0; i < nlen && o < end; i++) *o++ = name[i];
  memcpy(o, "...", 4);
  p->len = (size_t)(o + 3 - p->buf);
  return mark;
}

size_t rs__path_push_field(rs__path *p, const char *name, uint32_t number) {
  return path_append(p, name, '(', number, ')');
}

size_t rs__path_push_index(rs__path *p, const char *name, size_t index) {
  return path_append(p, name, '[', index, ']');
}

/* ---- public accessors ---------------------------------------------------- */

rs_verdict rs_reason_verdict(const rs_reason *r) {
  return r != NULL ? (rs_verdict)r->n.kind : RS_VERDICT_OK;
}
const char *rs_reason_path(const rs_reason *r) {
  return r != NULL ? r->n.path : NULL;
}
uint32_t rs_reason_field(const rs_reason *r) {
  return r != NULL ? r->n.field : 0;
}
uint32_t rs_reason_top_field(const rs_reason *r) {
  return r != NULL ? r->n.top : 0;
}
size_t rs_reason_offset(const rs_reason *r) {
  return r != NULL ? r->n.offset : RS_OFFSET_NONE;
}
const char *rs_reason_text(const rs_reason *r) {
  return r != NULL ? r->n.text : NULL;
}

static const char *const reason_code_names[RS__RC_COUNT] = {
    NULL,
#define XX(id, name) name,
    RS__REASON_CODE_MAP(XX)
#undef XX
};

const char *rs_reason_code(const rs_reason *r) {
  if (r == NULL || r->n.code <= RS__RC_NONE || r->n.code >= RS__RC_COUNT)
    return NULL;
  return reason_code_names[r->n.code];
}

const char *rs_reason_code_name(size_t i) {
  return i + 1 < RS__RC_COUNT ? reason_code_names[i + 1] : NULL;
}

rs_loss_kind rs_loss_kind_of(const rs_loss *l) {
  return l != NULL ? (rs_loss_kind)l->n.kind : RS_LOSS_DROPPED;
}
const char *rs_loss_path(const rs_loss *l) {
  return l != NULL ? l->n.path : NULL;
}
uint32_t rs_loss_field(const rs_loss *l) {
  return l != NULL ? l->n.field : 0;
}
uint32_t rs_loss_top_field(const rs_loss *l) {
  return l != NULL ? l->n.top : 0;
}
const char *rs_loss_text(const rs_loss *l) {
  return l != NULL ? l->n.text : NULL;
}
unsigned rs_loss_from(const rs_loss *l) {
  return l != NULL ? l->n.from : 0;
}
unsigned rs_loss_to(const rs_loss *l) {
  return l != NULL ? l->n.to : 0;
}
