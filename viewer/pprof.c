/* SPDX-License-Identifier: MIT */
/* pprof writer (see pprof.h). The protobuf encoding is small enough to write by hand: every
 * field is a varint (wire type 0) or length-delimited bytes (wire type 2); nested messages are
 * encoded into a scratch buffer first, since their length comes before them. */
#include "pprof.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <zlib.h>

#include "alloc.h"
#include "hash.h"

/* Field numbers of profile.proto. */
enum {
    PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5,
    PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9, PROFILE_PERIOD_TYPE = 11,
    PROFILE_PERIOD = 12, PROFILE_COMMENT = 13, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2,
    LOCATION_ID = 1, LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1, LINE_LINE = 2,
    FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

/* ---- encoder ---- */

struct pb {
    uint8_t *buf;
    size_t n, cap;
    bool oom;
};

static void
pb_raw(struct pb *b, const void *p, size_t len)
{
    if (b->oom)
        return;
    if (b->n + len > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        uint8_t *nb;
        while (ncap < b->n + len)
            ncap *= 2;
        if (!(nb = pm_realloc(b->buf, ncap))) {
            b->oom = true;
            return;
        }
        b->buf = nb;
        b->cap = ncap;
    }
    memcpy(b->buf + b->n, p, len);
    b->n += len;
}

static void
pb_varint(struct pb *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;

    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    pb_raw(b, tmp, n);
}

/* A varint field; int64 values are written as their two's complement, as protobuf does. */
static void
pb_int(struct pb *b, unsigned field, int64_t v)
{
    pb_varint(b, (uint64_t)field << 3);
    pb_varint(b, (uint64_t)v);
}

static void
pb_bytes(struct pb *b, unsigned field, const void *p, size_t len)
{
    pb_varint(b, (uint64_t)field << 3 | 2);
    pb_varint(b, len);
    pb_raw(b, p, len);
}

/* Appends the message built in sub as field `field` of b, and empties sub. */
static void
pb_message(struct pb *b, unsigned field, struct pb *sub)
{
    b->oom |= sub->oom;
    pb_bytes(b, field, sub->buf, sub->n);
    sub->n = 0;
}

/* ---- string table and functions ---- */

struct strtab {
    char **str;                 /* index 0 is "" */
    size_t n, cap;
    uint32_t *slot;             /* open addressing: index + 1, 0 = empty */
    size_t n_slot;
};

/* A copy of s with every byte that is not part of valid UTF-8 replaced by U+FFFD. */
static char *
utf8_clean(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out = pm_malloc(3 * strlen(s) + 1), *w = out;

    while (out && *p) {
        unsigned c = *p, len = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0
                               ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
        bool ok = len > 0;
        for (unsigned i = 1; ok && i < len; i++)
            ok = (p[i] & 0xc0) == 0x80;
        if (ok && len == 3)     /* no overlong forms, no surrogates */
            ok = !(c == 0xe0 && p[1] < 0xa0) && !(c == 0xed && p[1] >= 0xa0);
        if (ok && len == 4)
            ok = !(c == 0xf0 && p[1] < 0x90) && !(c == 0xf4 && p[1] >= 0x90);
        if (!ok) {
            memcpy(w, "\xef\xbf\xbd", 3);
            w += 3;
            p++;
            continue;
        }
        memcpy(w, p, len);
        w += len;
        p += len;
    }
    if (out)
        *w = '\0';
    return out;
}

/* The index of s in the table, adding it if new; -1 if out of memory. */
static int64_t
intern(struct strtab *t, const char *s)
{
    char *clean;
    size_t i;

    if (2 * (t->n + 1) > t->n_slot) {
        size_t n_slot = t->n_slot ? 2 * t->n_slot : 256;
        uint32_t *slot = pm_calloc(n_slot, sizeof(*slot));
        if (!slot)
            return -1;
        for (size_t j = 0; j < t->n; j++) {
            i = pm_hash_bytes(0, t->str[j], strlen(t->str[j])) & (n_slot - 1);
            while (slot[i])
                i = (i + 1) & (n_slot - 1);
            slot[i] = (uint32_t)j + 1;
        }
        pm_free(t->slot);
        t->slot = slot;
        t->n_slot = n_slot;
    }
    if (!(clean = utf8_clean(s)))
        return -1;
    i = pm_hash_bytes(0, clean, strlen(clean)) & (t->n_slot - 1);
    for (; t->slot[i]; i = (i + 1) & (t->n_slot - 1)) {
        if (strcmp(t->str[t->slot[i] - 1], clean) == 0) {
            pm_free(clean);
            return t->slot[i] - 1;
        }
    }
    if (t->n == t->cap) {
        size_t ncap = t->cap ? 2 * t->cap : 64;
        char **ns = pm_realloc(t->str, ncap * sizeof(*ns));
        if (!ns) {
            pm_free(clean);
            return -1;
        }
        t->str = ns;
        t->cap = ncap;
    }
    t->str[t->n] = clean;
    t->slot[i] = (uint32_t)++t->n;
    return (int64_t)t->n - 1;
}

static void
strtab_clear(struct strtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        pm_free(t->str[i]);
    pm_free(t->str);
    pm_free(t->slot);
}

/* ---- the profile ---- */

struct writer {
    struct pb out, msg, sub, packed;
    struct strtab strs;
    uint64_t *func_key;         /* per frame: name index << 32 | file index */
    uint64_t *func_id;          /* per frame: the id of its Function */
};

static void
value_type(struct writer *w, unsigned field, int64_t type, int64_t unit)
{
    pb_int(&w->msg, VALUE_TYPE_TYPE, type);
    pb_int(&w->msg, VALUE_TYPE_UNIT, unit);
    pb_message(&w->out, field, &w->msg);
}

static void
write_samples(struct writer *w, const struct pm_sample_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct pm_sample *s = &l->v[i];
        int64_t v[4] = { s->bytes, s->blocks, s->alloc_bytes, s->alloc_blocks };

        if (!v[0] && !v[1] && !v[2] && !v[3])
            continue;
        for (uint32_t j = s->n_frames; j-- > 0;)    /* pprof wants the leaf first */
            pb_varint(&w->packed, (uint64_t)s->frames[j] + 1);
        pb_message(&w->msg, SAMPLE_LOCATION_ID, &w->packed);
        for (size_t k = 0; k < 4; k++)
            pb_varint(&w->packed, (uint64_t)v[k]);
        pb_message(&w->msg, SAMPLE_VALUE, &w->packed);
        pb_message(&w->out, PROFILE_SAMPLE, &w->msg);
    }
}

/* One Function per distinct (name, file): frames of one function on different lines share
 * it, with the id (index + 1) of its first frame. Then one Location per frame, id index + 1. */
static int
write_functions(struct writer *w, const struct pm_sample_list *l)
{
    size_t n_slot = 16, mask;
    uint32_t *slot;                 /* open addressing over func_key: frame index + 1 */

    while (n_slot < 2 * l->n_frames)
        n_slot *= 2;
    if (!(slot = pm_calloc(n_slot, sizeof(*slot))))
        return -ENOMEM;
    mask = n_slot - 1;
    for (size_t i = 0; i < l->n_frames; i++) {
        int64_t name = intern(&w->strs, l->frames[i].function);
        int64_t file = intern(&w->strs, l->frames[i].file);
        size_t h;

        if (name < 0 || file < 0) {
            pm_free(slot);
            return -ENOMEM;
        }
        w->func_key[i] = (uint64_t)name << 32 | (uint64_t)file;
        for (h = pm_hash_mix(w->func_key[i]) & mask; slot[h]; h = (h + 1) & mask) {
            if (w->func_key[slot[h] - 1] == w->func_key[i])
                break;
        }
        if (slot[h]) {
            w->func_id[i] = w->func_id[slot[h] - 1];
            continue;
        }
        slot[h] = (uint32_t)i + 1;
        w->func_id[i] = i + 1;
        pb_int(&w->msg, FUNCTION_ID, (int64_t)i + 1);
        pb_int(&w->msg, FUNCTION_NAME, name);
        /* pprof "demangles" a function whose system name equals its name, and takes what
         * looks like C++ templates or parameters out: "<module>" would lose its name. A
         * different (empty) system name tells it the name is final. */
        if (!strpbrk(l->frames[i].function, "<>[]") && !strstr(l->frames[i].function, "::"))
            pb_int(&w->msg, FUNCTION_SYSTEM_NAME, name);
        pb_int(&w->msg, FUNCTION_FILENAME, file);
        pb_message(&w->out, PROFILE_FUNCTION, &w->msg);
    }
    pm_free(slot);
    for (size_t i = 0; i < l->n_frames; i++) {
        pb_int(&w->msg, LOCATION_ID, (int64_t)i + 1);
        pb_int(&w->sub, LINE_FUNCTION_ID, (int64_t)w->func_id[i]);
        pb_int(&w->sub, LINE_LINE, l->frames[i].line);
        pb_message(&w->msg, LOCATION_LINE, &w->sub);
        pb_message(&w->out, PROFILE_LOCATION, &w->msg);
    }
    return 0;
}

static int
encode(struct writer *w, const struct pm_export *e)
{
    static const char *const types[] = {
        "inuse_space", "bytes", "inuse_objects", "count",
        "alloc_space", "bytes", "alloc_objects", "count", "space",
    };
    int64_t idx[ARRAY_SIZE(types)], comment[2];
    char text[200];
    double start = e->proc->start_time + e->snap->time;

    if (intern(&w->strs, "") != 0)
        return -ENOMEM;
    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        if ((idx[i] = intern(&w->strs, types[i])) < 0)
            return -ENOMEM;
    }
    for (size_t i = 0; i < 8; i += 2)
        value_type(w, PROFILE_SAMPLE_TYPE, idx[i], idx[i + 1]);
    write_samples(w, e->samples);
    if (write_functions(w, e->samples) < 0)
        return -ENOMEM;
    snprintf(text, sizeof(text), "pymem: pid %" PRId64 ", snapshot %" PRId64 " at %.3f s",
             e->proc->pid, e->snap->id, e->snap->time);
    if ((comment[0] = intern(&w->strs, text)) < 0 ||
        (comment[1] = intern(&w->strs, e->snap->kind ? e->snap->kind : "")) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < w->strs.n; i++)
        pb_bytes(&w->out, PROFILE_STRING_TABLE, w->strs.str[i], strlen(w->strs.str[i]));
    if (isfinite(start) && start > 0 && start < 1e10)     /* a plausible unix time */
        pb_int(&w->out, PROFILE_TIME_NANOS, (int64_t)(start * 1e9));
    value_type(w, PROFILE_PERIOD_TYPE, idx[8], idx[1]);
    pb_int(&w->out, PROFILE_PERIOD, 1);
    pb_int(&w->out, PROFILE_COMMENT, comment[0]);
    pb_int(&w->out, PROFILE_COMMENT, comment[1]);     /* the kind: "peak", "final", ... */
    pb_int(&w->out, PROFILE_DEFAULT_SAMPLE_TYPE, idx[0]);
    return w->out.oom || w->msg.oom || w->sub.oom || w->packed.oom ? -ENOMEM : 0;
}

/* gzip (not bare zlib: pprof reads both, but gzip is what .pb.gz means). The header has no
 * time and no name, so equal profiles give equal files. */
static int
gzip_write(FILE *f, const uint8_t *data, size_t len)
{
    z_stream z = { 0 };
    uint8_t buf[16384];
    int zrc;

    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        != Z_OK)
        return -ENOMEM;
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;     /* profiles stay far below 4 GiB; checked by the caller */
    do {
        z.next_out = buf;
        z.avail_out = sizeof(buf);
        zrc = deflate(&z, Z_FINISH);
        if (zrc == Z_STREAM_ERROR)
            break;
        fwrite(buf, 1, sizeof(buf) - z.avail_out, f);
    } while (zrc != Z_STREAM_END);
    deflateEnd(&z);
    return zrc == Z_STREAM_END ? 0 : -EIO;
}

int
pm_export_pprof(FILE *f, const struct pm_export *e)
{
    struct writer w = { 0 };
    size_t n = e->samples->n_frames ? e->samples->n_frames : 1;
    int rc = -ENOMEM;

    w.func_key = pm_calloc(n, sizeof(*w.func_key));
    w.func_id = pm_calloc(n, sizeof(*w.func_id));
    if (w.func_key && w.func_id && (rc = encode(&w, e)) == 0)
        rc = w.out.n > UINT32_MAX ? -EFBIG : gzip_write(f, w.out.buf, w.out.n);
    strtab_clear(&w.strs);
    pm_free(w.func_key);
    pm_free(w.func_id);
    pm_free(w.out.buf);
    pm_free(w.msg.buf);
    pm_free(w.sub.buf);
    pm_free(w.packed.buf);
    return rc;
}
