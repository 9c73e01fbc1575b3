/*
 * silence.h - silences with Alertmanager 0.25's semantics (silence/silence.go and
 * the API v2 handlers), kept in a pure in-memory store.
 *
 * A silence mutes every alert all of whose matchers it matches while it is
 * active. States at time `now` (ms):
 *   pending  now <  starts_at
 *   expired  now >= ends_at      (Go compares at nanoseconds, where the instant
 *                                 ends_at itself is never observed; at ms
 *                                 resolution we count it as expired so that a
 *                                 silence expired "now" reads back expired)
 *   active   otherwise
 *
 * The store owns its silences. Ids are UUIDv4 strings made from 16 random
 * bytes the caller passes in, so this module never reads a random source.
 * Nothing here reads a clock: `now` is an argument everywhere.
 */
#ifndef AMR_ROUTER_SILENCE_H
#define AMR_ROUTER_SILENCE_H

#include "core/matcher.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;
struct labels;

#define SILENCE_ID_LEN 37 /* 36 characters + NUL */

enum silence_state { SILENCE_PENDING, SILENCE_ACTIVE, SILENCE_EXPIRED };

struct silence {
    char id[SILENCE_ID_LEN];
    struct matchers matchers; /* ANDed; owned */
    int64_t starts_at;
    int64_t ends_at;
    int64_t updated_at;
    char *created_by; /* owned, never NULL once stored ("" allowed) */
    char *comment;    /* owned, never NULL once stored */
};

void silence_init(struct silence *s);
void silence_release(struct silence *s);
/* Deep copy into dst (initialised by this call). -1 when memory runs out. */
int silence_copy(struct silence *dst, const struct silence *src);

/* "pending", "active", "expired" (the API v2 status.state strings). */
const char *silence_state_name(enum silence_state st);
enum silence_state silence_state_at(const struct silence *s, int64_t now);

/* True when every matcher of s matches ls (state not considered). */
bool silence_matches(const struct silence *s, const struct labels *ls);

/* Alertmanager's validateSilence(): at least one matcher; not all matchers may
 * match the empty string; non-zero start, end and update times; end not before
 * start. Matchers were already validated when they were made (matcher_init).
 * err gets AM's message, e.g. "at least one matcher required". */
int silence_validate(const struct silence *s, struct error *err);

/* Formats a UUIDv4 from 16 random bytes (version and variant bits are set here). */
void silence_uuid_format(const uint8_t random16[16], char out[SILENCE_ID_LEN]);

/* The silence store. */
struct silences;

struct silences *silences_new(void);
void silences_free(struct silences *ss);

size_t silences_count(const struct silences *ss);
const struct silence *silences_get(const struct silences *ss, const char *id);

/* Result of a put or expire, with the HTTP status Alertmanager's API answers. */
enum silence_status {
    SILENCE_OK = 200,
    SILENCE_BAD = 400, /* invalid silence: err says why, with AM's text */
    SILENCE_NOT_FOUND = 404,
    SILENCE_FAILED = 500, /* out of memory; DELETE of an unknown id (AM 0.25 answers 500) */
};

/*
 * Creates or updates a silence exactly as POST /api/v2/silences does:
 *  - API checks first: "Failed to create silence: start time must be before end
 *    time" (starts_at >= ends_at), "Failed to create silence: end time can't be
 *    in the past" (ends_at < now);
 *  - in->id empty: new silence, id from random16, starts_at clamped to now;
 *  - in->id set and unknown: SILENCE_NOT_FOUND ("silence not found");
 *  - in->id set and known: updated in place when the matchers are identical and
 *    the change is allowed for its state (active: same starts_at, ends_at not in
 *    the past; pending: starts_at not in the past; expired: never); otherwise the
 *    old silence is expired (unless already expired) and a new one is created
 *    with a new id.
 * updated_at is set to now. Takes ownership of in's contents on success and on
 * failure alike (in is left released). On success copies the resulting id into
 * id_out and, when changed_ids is not NULL, calls changed(ctx, id) for every
 * silence it created or modified (the old one too when it was expired).
 */
enum silence_status silences_put(struct silences *ss, struct silence *in, int64_t now,
                                 const uint8_t random16[16], char id_out[SILENCE_ID_LEN],
                                 void (*changed)(void *ctx, const char *id), void *ctx,
                                 struct error *err);

/* Expires a silence as DELETE /api/v2/silence/{id} on Alertmanager 0.25 (checked
 * on the binary): active -> ends_at = now; pending -> starts_at = ends_at = now;
 * already expired -> SILENCE_OK, unchanged; unknown -> SILENCE_FAILED (500) with
 * "silence not found". */
enum silence_status silences_expire(struct silences *ss, const char *id, int64_t now,
                                    struct error *err);

/* Inserts a stored silence as it is (restore at start-up), replacing one with the
 * same id. Takes ownership of s's contents. -1 when memory runs out or the id is
 * empty. */
int silences_load(struct silences *ss, struct silence *s, struct error *err);

/* Deletes silences with ends_at + retention <= now, calling deleted(ctx, id) for each
 * before it is freed. Returns how many were deleted. */
size_t silences_gc(struct silences *ss, int64_t now, int64_t retention,
                   void (*deleted)(void *ctx, const char *id), void *ctx);

/* The ids (sorted) of the silences active at now that match ls: Alertmanager's
 * silencedBy. *ids_out is a malloc'd array the caller frees (NULL when none).
 * Returns the count, or (size_t)-1 when memory runs out. */
size_t silences_active_matching(const struct silences *ss, const struct labels *ls, int64_t now,
                                char (**ids_out)[SILENCE_ID_LEN]);

/* True when some silence active at now matches ls. Both this and
 * silences_active_matching look only at the silences indexed under one of ls's
 * name=value pairs plus those without a usable equality matcher (silence.c). */
bool silences_mutes(const struct silences *ss, const struct labels *ls, int64_t now);

#ifdef UNIT_TEST
/* Index shape, for tests: silences in the always-check list, and the number of
 * (name, value) buckets (empty buckets are freed, so 0 once all are gone). */
size_t silences_index_always(const struct silences *ss);
size_t silences_index_buckets(const struct silences *ss);
#endif

/* Calls fn for every silence in the order GET /api/v2/silences lists them
 * (Alertmanager's SortSilences: active by ends_at ascending, then pending by
 * starts_at ascending, then expired by ends_at descending). Returns -1 when memory
 * runs out (fn not called) or when fn returns non-zero (iteration stops). */
int silences_foreach(const struct silences *ss, int64_t now,
                     int (*fn)(void *ctx, const struct silence *s, enum silence_state st),
                     void *ctx);

#endif
