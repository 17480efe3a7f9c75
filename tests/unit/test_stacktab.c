/* SPDX-License-Identifier: MIT */
/* lib/stacktab.h: frame and stack interning. The ids end up as primary keys in the profile, and
 * every process of a run must agree on them without talking to each other. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm.h"
#include "stacktab.h"

static struct pm_stacktab tab;

static void
setup(void)
{
    cr_assert_eq(pm_stacktab_init(&tab), 0);
}

static void
teardown(void)
{
    pm_stacktab_release(&tab);
}

TestSuite(stacktab, .init = setup, .fini = teardown);

static uint32_t
frame_in(struct pm_stacktab *t, const char *file, const char *function, int line)
{
    uint32_t idx = 0;

    pm_stacktab_lock(t);
    int rc = pm_stacktab_frame(t, file, strlen(file), function, strlen(function), line, &idx);
    pm_stacktab_unlock(t);
    cr_assert_eq(rc, 0, "frame %s:%s:%d", file, function, line);
    cr_assert_neq(idx, 0, "index 0 means none");
    return idx;
}

static uint32_t
frame(const char *file, const char *function, int line)
{
    return frame_in(&tab, file, function, line);
}

static uint32_t
push_in(struct pm_stacktab *t, uint32_t parent, uint32_t f, bool *is_new)
{
    uint32_t idx = 0;
    bool fresh = false;

    pm_stacktab_lock(t);
    int rc = pm_stacktab_push(t, parent, f, &idx, &fresh);
    pm_stacktab_unlock(t);
    cr_assert_eq(rc, 0, "push(%u, %u)", parent, f);
    cr_assert_neq(idx, 0);
    if (is_new)
        *is_new = fresh;
    return idx;
}

static uint32_t
push(uint32_t parent, uint32_t f, bool *is_new)
{
    return push_in(&tab, parent, f, is_new);
}

Test(stacktab, new_table_holds_only_the_none_entries)
{
    cr_expect_eq(pm_stacktab_frame_count(&tab), 1);
    cr_expect_eq(pm_stacktab_stack_count(&tab), 1);
}

Test(stacktab, same_frame_gets_the_same_index_and_id)
{
    uint32_t a = frame("app.py", "main", 10);
    uint32_t b = frame("app.py", "main", 10);

    cr_expect_eq(a, b);
    cr_expect_eq(pm_stacktab_frame_at(&tab, a)->id, pm_stacktab_frame_at(&tab, b)->id);
    cr_expect_eq(pm_stacktab_frame_count(&tab), 2, "one frame added once");
}

Test(stacktab, frame_record_holds_its_strings_and_line)
{
    char file[] = "pkg/mod.py";
    char func[] = "load_data";
    uint32_t a = frame(file, func, 42);
    const struct pm_frame_rec *r = pm_stacktab_frame_at(&tab, a);

    memset(file, 'x', sizeof(file) - 1);    /* the table owns copies */
    memset(func, 'y', sizeof(func) - 1);
    cr_expect_str_eq(r->file, "pkg/mod.py");
    cr_expect_str_eq(r->function, "load_data");
    cr_expect_eq(r->line, 42);
    cr_expect_gt(r->id, 0, "ids are positive 63-bit numbers");
}

Test(stacktab, strings_need_no_terminator)
{
    uint32_t idx = 0;

    pm_stacktab_lock(&tab);
    cr_assert_eq(pm_stacktab_frame(&tab, "abc.pyXXXX", 6, "runYYYY", 3, 5, &idx), 0);
    pm_stacktab_unlock(&tab);
    const struct pm_frame_rec *r = pm_stacktab_frame_at(&tab, idx);
    cr_expect_str_eq(r->file, "abc.py");
    cr_expect_str_eq(r->function, "run");
    cr_expect_eq(frame("abc.py", "run", 5), idx, "same content, same frame");
}

Test(stacktab, any_difference_gives_a_different_frame)
{
    uint32_t base = frame("a.py", "f", 1);
    uint32_t other[] = {
        frame("a.py", "f", 2),
        frame("a.py", "g", 1),
        frame("b.py", "f", 1),
        frame("a.p", "yf", 1),      /* same bytes, different split */
        frame("a.py", "f", -1),
        frame("", "", 0),
    };
    int64_t ids[ARRAY_SIZE(other) + 1];

    ids[0] = pm_stacktab_frame_at(&tab, base)->id;
    for (size_t i = 0; i < ARRAY_SIZE(other); i++) {
        cr_expect_neq(other[i], base, "variant %zu", i);
        ids[i + 1] = pm_stacktab_frame_at(&tab, other[i])->id;
    }
    for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
        for (size_t j = i + 1; j < ARRAY_SIZE(ids); j++)
            cr_expect_neq(ids[i], ids[j], "ids %zu and %zu collide", i, j);
    cr_expect_eq(pm_stacktab_frame_count(&tab), 1 + 1 + ARRAY_SIZE(other));
}

Test(stacktab, push_dedupes_and_records_parent_frame_depth)
{
    uint32_t f1 = frame("a.py", "<module>", 1);
    uint32_t f2 = frame("a.py", "main", 5);
    bool is_new;

    uint32_t s1 = push(0, f1, &is_new);
    cr_expect(is_new);
    cr_expect_eq(push(0, f1, &is_new), s1);
    cr_expect_not(is_new, "second push of the same stack is not new");

    uint32_t s2 = push(s1, f2, &is_new);
    cr_expect(is_new);
    cr_expect_neq(s2, s1);
    cr_expect_eq(push(s1, f2, &is_new), s2);
    cr_expect_not(is_new);

    uint32_t s3 = push(0, f2, &is_new);    /* same frame, other caller: another stack */
    cr_expect(is_new);
    cr_expect_neq(s3, s2);

    const struct pm_stack_rec *r1 = pm_stacktab_stack_at(&tab, s1);
    const struct pm_stack_rec *r2 = pm_stacktab_stack_at(&tab, s2);
    const struct pm_stack_rec *r3 = pm_stacktab_stack_at(&tab, s3);
    cr_expect_eq(r1->parent, 0);
    cr_expect_eq(r1->frame, f1);
    cr_expect_eq(r1->depth, 1);
    cr_expect_eq(r2->parent, s1);
    cr_expect_eq(r2->frame, f2);
    cr_expect_eq(r2->depth, 2);
    cr_expect_eq(r3->parent, 0);
    cr_expect_eq(r3->depth, 1);
    cr_expect_neq(r2->key, r3->key);
    cr_expect_neq(r1->key, r2->key);
    cr_expect_eq(pm_stacktab_stack_count(&tab), 4, "none + 3 stacks");
}

Test(stacktab, depth_counts_frames_from_the_outermost)
{
    uint32_t s = 0;

    for (int d = 1; d <= 300; d++) {
        s = push(s, frame("deep.py", "recurse", d % 7), NULL);
        cr_assert_eq(pm_stacktab_stack_at(&tab, s)->depth, (uint32_t)d);
    }
    /* Walking parents back from the innermost reaches 0 after exactly 300 steps. */
    uint32_t steps = 0;
    for (uint32_t i = s; i != 0; i = pm_stacktab_stack_at(&tab, i)->parent)
        steps++;
    cr_expect_eq(steps, 300);
}

Test(stacktab, ids_are_content_hashes_equal_across_tables)
{
    struct pm_stacktab other;
    uint32_t a1, a2, a3, b1, b2, b3;

    cr_assert_eq(pm_stacktab_init(&other), 0);
    /* Different insertion orders, so the dense indices differ between the tables. */
    frame_in(&other, "noise.py", "pad", 1);
    frame_in(&other, "noise.py", "pad", 2);
    push_in(&other, 0, frame_in(&other, "noise.py", "pad", 1), NULL);

    a1 = push_in(&tab, 0, frame_in(&tab, "m.py", "<module>", 1), NULL);
    a2 = push_in(&tab, a1, frame_in(&tab, "m.py", "main", 7), NULL);
    a3 = push_in(&tab, a2, frame_in(&tab, "lib.py", "load", 99), NULL);

    b1 = push_in(&other, 0, frame_in(&other, "m.py", "<module>", 1), NULL);
    b2 = push_in(&other, b1, frame_in(&other, "m.py", "main", 7), NULL);
    b3 = push_in(&other, b2, frame_in(&other, "lib.py", "load", 99), NULL);

    cr_expect_neq(a3, b3, "the test relies on different indices");
    cr_expect_eq(pm_stacktab_stack_at(&tab, a1)->key, pm_stacktab_stack_at(&other, b1)->key);
    cr_expect_eq(pm_stacktab_stack_at(&tab, a2)->key, pm_stacktab_stack_at(&other, b2)->key);
    cr_expect_eq(pm_stacktab_stack_at(&tab, a3)->key, pm_stacktab_stack_at(&other, b3)->key);
    cr_expect_eq(pm_stacktab_frame_at(&tab, pm_stacktab_stack_at(&tab, a3)->frame)->id,
                 pm_stacktab_frame_at(&other, pm_stacktab_stack_at(&other, b3)->frame)->id);
    pm_stacktab_release(&other);
}

Test(stacktab, counts_are_published_as_records_are_added)
{
    uint32_t f[3];
    bool is_new;

    for (int i = 0; i < 3; i++) {
        f[i] = frame("c.py", "f", i);
        cr_expect_eq(pm_stacktab_frame_count(&tab), (uint32_t)i + 2);
        cr_expect_lt(f[i], pm_stacktab_frame_count(&tab), "index below the published count");
    }
    frame("c.py", "f", 1);
    cr_expect_eq(pm_stacktab_frame_count(&tab), 4, "a duplicate publishes nothing");

    uint32_t s = push(0, f[0], &is_new);
    cr_expect_eq(pm_stacktab_stack_count(&tab), 2);
    cr_expect_lt(s, pm_stacktab_stack_count(&tab));
    push(s, f[1], &is_new);
    push(s, f[1], &is_new);
    push(0, f[0], &is_new);
    cr_expect_eq(pm_stacktab_stack_count(&tab), 3);
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

Test(stacktab, a_hundred_thousand_distinct_stacks)
{
    enum { ROOTS = 100, LEAVES = 1000 };
    static uint32_t leaf_frame[LEAVES], root[ROOTS];
    char name[32];
    int64_t *ids;
    uint32_t n;

    for (int i = 0; i < LEAVES; i++) {
        snprintf(name, sizeof(name), "fn_%d", i);
        leaf_frame[i] = frame("big.py", name, i + 1);
    }
    for (int r = 0; r < ROOTS; r++)
        root[r] = push(0, leaf_frame[r], NULL);
    for (int r = 0; r < ROOTS; r++) {
        for (int l = 0; l < LEAVES; l++) {
            bool is_new;
            push(root[r], leaf_frame[l], &is_new);
            cr_assert(is_new, "stack %d/%d", r, l);
        }
    }
    n = pm_stacktab_stack_count(&tab);
    cr_assert_eq(n, 1 + ROOTS + ROOTS * LEAVES);
    cr_expect_eq(pm_stacktab_frame_count(&tab), 1 + LEAVES);

    /* Pushing them all again finds every one. */
    for (int r = 0; r < ROOTS; r += 7)
        for (int l = 0; l < LEAVES; l++) {
            bool is_new;
            uint32_t s = push(root[r], leaf_frame[l], &is_new);
            cr_assert_not(is_new);
            const struct pm_stack_rec *rec = pm_stacktab_stack_at(&tab, s);
            cr_assert_eq(rec->parent, root[r]);
            cr_assert_eq(rec->frame, leaf_frame[l]);
            cr_assert_eq(rec->depth, 2);
        }
    cr_expect_eq(pm_stacktab_stack_count(&tab), n);

    ids = malloc(sizeof(*ids) * (n - 1));
    cr_assert_not_null(ids);
    for (uint32_t i = 1; i < n; i++)
        ids[i - 1] = pm_stacktab_stack_at(&tab, i)->key;
    qsort(ids, n - 1, sizeof(*ids), cmp_i64);
    for (uint32_t i = 1; i < n - 1; i++)
        cr_assert_neq(ids[i], ids[i - 1], "two stacks share id %lld", (long long)ids[i]);
    cr_expect_gt(ids[0], 0);
    free(ids);

    size_t bytes = pm_stacktab_bytes(&tab);
    cr_expect_gt(bytes, (size_t)n * sizeof(struct pm_stack_rec) / 2);
    cr_expect_leq(bytes / n, 64, "%zu tool bytes for %u stacks", bytes, n);
}

/* Readers use the published count and the records without the lock. */
struct reader {
    atomic_bool stop;
    uint32_t bad, seen_max;
};

static void *
read_published(void *arg)
{
    struct reader *r = arg;

    while (!atomic_load(&r->stop)) {
        uint32_t n = pm_stacktab_stack_count(&tab);
        if (n > 1) {
            const struct pm_stack_rec *rec = pm_stacktab_stack_at(&tab, n - 1);
            if (rec->key <= 0 || rec->depth == 0 || rec->frame == 0 || rec->frame >= pm_stacktab_frame_count(&tab))
                r->bad++;
        }
        if (n > r->seen_max)
            r->seen_max = n;
    }
    return NULL;
}

Test(stacktab, lock_free_readers_see_only_complete_records)
{
    struct reader r = {.stop = false};
    pthread_t th;
    char name[32];
    uint32_t s = 0;

    cr_assert_eq(pthread_create(&th, NULL, read_published, &r), 0);
    for (int i = 0; i < 50000; i++) {
        snprintf(name, sizeof(name), "g%d", i % 5000);
        s = push(i % 100 == 0 ? 0 : s, frame("race.py", name, i), NULL);
    }
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    cr_expect_eq(r.bad, 0, "%u half-written records seen", r.bad);
    cr_expect_leq(r.seen_max, pm_stacktab_stack_count(&tab));
}
