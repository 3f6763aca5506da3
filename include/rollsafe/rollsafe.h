/*
 * rollsafe/rollsafe.h: the whole public API of librollsafe.
 *
 * Conventions: fallible functions return 0 or a negative RS_E* code and fill
 * a caller-supplied rs_error (which may be NULL); out-parameters come first;
 * objects returned through `**out` belong to the caller and are freed with
 * their own rs_<type>_free(); pointers returned directly are borrowed.
 */
#ifndef ROLLSAFE_ROLLSAFE_H
#define ROLLSAFE_ROLLSAFE_H

#include "common.h"
#include "errors.h"
#include "options.h"
#include "arena.h"
#include "registry.h"
#include "convert.h"
#include "codec.h"
#include "classify.h"
#include "envelope.h"
#include "headers.h"
#include "confluent.h"
#include "schema.h"
#include "plugin.h"
#include "shop.h"
#include "diff.h"

#endif
