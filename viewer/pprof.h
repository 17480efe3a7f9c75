/* SPDX-License-Identifier: MIT */
/* pprof output of pymem-view export: a gzip-compressed profile.proto message
 * (github.com/google/pprof/proto/profile.proto), encoded by hand. */
#pragma once

#include <stdio.h>

#include "export_text.h"

/* Writes the samples as one Profile: sample types inuse_space/bytes, inuse_objects/count,
 * alloc_space/bytes, alloc_objects/count (default inuse_space); one Sample per stack with
 * its location ids innermost first; one Location per frame; one Function per (name, file).
 * Names that are not UTF-8 get U+FFFD for each bad byte. Returns 0, -ENOMEM, or -EIO if
 * compression fails (write errors are left in f's error flag). */
int pm_export_pprof(FILE *f, const struct pm_export *e);
