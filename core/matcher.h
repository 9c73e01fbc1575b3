/*
 * matcher.h - label matchers with Alertmanager's syntax and semantics.
 *
 * A matcher is name, operator (=, !=, =~, !~) and value. Regex matchers are
 * anchored like Alertmanager's RE2 ones, "^(?:value)$", and compiled once with
 * PCRE2 (UTF mode) when the matcher is made. A label missing from a set
 * compares as the empty string.
 *
 * Parsing accepts Alertmanager's (0.25, "classic") matcher strings: `a="b"`,
 * `a=b`, `a!="b"`, `a=~"b.*"`, `a!~b`, lists `{a="b", c=~"d"}` or `a="b",c="d"`
 * (optional braces, optional trailing comma, commas inside quotes are part of
 * the value), quoted values with the escapes \" \n \\ (any other backslash is
 * literal). Matcher names are [a-zA-Z_:][a-zA-Z0-9_:]* as in Alertmanager's
 * parser; callers that need strict label names (silences) also check
 * label_name_valid(). Formatting prints `a="b"` with only \ newline and " escaped
 * (OpenMetrics escaping, as Alertmanager's Matcher.String()), so
 * parse(format(m)) == m.
 *
 * Regex dialect: PCRE2 is a superset of RE2 for the regexes people write, so
 * every regex Alertmanager accepts compiles here with the same meaning ('$' is
 * end of text, '.' skips only '\n', \d \w \s \b are ASCII). PCRE-only syntax
 * (backreferences, lookaround) is accepted although Alertmanager rejects it.
 * RE2 never backtracks; here a match that exceeds the step or memory budget
 * (pathological regexes, or repeated groups over values beyond ~100 kB) counts
 * as no match.
 *
 * Ownership: struct matcher owns name, value and the compiled regex.
 */
#ifndef AMR_MATCHER_H
#define AMR_MATCHER_H

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct error;
struct labels;

enum match_op { MATCH_EQ, MATCH_NE, MATCH_RE, MATCH_NRE };

struct matcher {
    enum match_op op;
    char *name;
    char *value;
    void *re; /* compiled regex for MATCH_RE / MATCH_NRE (private to matcher.c), else NULL */
};

struct matchers {
    struct matcher *v;
    size_t n;
    size_t cap;
};

#define MATCHERS_INIT                                                                              \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* "=", "!=", "=~", "!~" */
const char *match_op_str(enum match_op op);

/* Makes a matcher (copies name and value, compiles a regex). Fails on a name
 * outside [a-zA-Z_:][a-zA-Z0-9_:]*, a value that is not UTF-8, or a regex that
 * does not compile: `invalid regular expression "(": missing closing parenthesis`.
 * On failure *m is zeroed (matcher_release on it is harmless). */
int matcher_init(struct matcher *m, enum match_op op, const char *name, const char *value,
                 struct error *err);
/* Frees m's contents and zeroes it; accepts NULL. */
void matcher_release(struct matcher *m);
/* Deep copy (recompiles the regex). */
int matcher_copy(struct matcher *dst, const struct matcher *src);

/* True when value ("" for a missing label; NULL counts as "") satisfies m.
 * Thread-safe on a const matcher. A regex that exceeds the backtracking limit
 * counts as not matching. */
bool matcher_matches(const struct matcher *m, const char *value);

/* Appends name op "value" (Go-quoted value), e.g. severity=~"crit|page". */
int matcher_format(const struct matcher *m, struct buf *out);

void matchers_init(struct matchers *ms);
void matchers_release(struct matchers *ms);
/* Appends a matcher, taking ownership of *m's contents (m is left zeroed). */
int matchers_push(struct matchers *ms, struct matcher *m);
int matchers_copy(struct matchers *dst, const struct matchers *src);

/* Parses a matcher list string (with or without braces) and appends its
 * matchers to ms. An empty string or "{}" appends nothing. Errors name the bad
 * part raw, with Alertmanager's texts: `bad matcher format: a~b`, `matcher value
 * contains unescaped double quote: "a`, `matcher value not valid UTF-8: ...`;
 * and `invalid regular expression "(": missing closing parenthesis`,
 * `invalid label name ...`. On failure ms is unchanged. */
int matchers_parse(struct matchers *ms, const char *s, struct error *err);

/* Parses exactly one matcher such as `a=~"b"`. */
int matcher_parse(struct matcher *m, const char *s, struct error *err);

/* True when every matcher matches ls (an empty list matches everything). */
bool matchers_match(const struct matchers *ms, const struct labels *ls);

/* Formats as {a="b",c=~"d"} (comma without space, in list order):
 * Alertmanager's Matchers.String(), used in route keys. */
int matchers_format(const struct matchers *ms, struct buf *out);

/* Sorts as Alertmanager sorts a route's matchers (by name, then value, then
 * operator in the order = != =~ !~). Routes sort their matchers before keys are made. */
void matchers_sort(struct matchers *ms);

/* True when both lists hold the same matchers in the same order. */
bool matchers_equal(const struct matchers *a, const struct matchers *b);

/* True when m matches the empty string (so a silence made only of such
 * matchers would match everything). */
bool matcher_matches_empty(const struct matcher *m);

#endif
