/*
 * test_log.c - the line logger: logfmt quoting, JSON escaping, levels and the
 * name parsers. stderr is redirected into a pipe to read what was written.
 */
#include "core/clock.h"
#include "core/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* 2023-11-14T22:13:20.123Z */
#define T 1700000000123LL

struct capture {
    int pipe_rd;
    int saved_fd;
};

static void capture_start(struct capture *c)
{
    int p[2];

    fflush(stderr);
    assert_int_equal(pipe(p), 0);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(p[1], STDERR_FILENO) >= 0);
    close(p[1]);
    c->pipe_rd = p[0];
}

/* Restores stderr and returns everything written meanwhile (caller frees). Lines
 * are short, so they fit the pipe buffer without a reader thread. */
static char *capture_end(struct capture *c)
{
    char *out = calloc(1, 65536);
    size_t len = 0;
    ssize_t n;

    assert_non_null(out);
    fflush(stderr);
    assert_true(dup2(c->saved_fd, STDERR_FILENO) >= 0);
    close(c->saved_fd);
    while (len < 65535 && (n = read(c->pipe_rd, out + len, 65535 - len)) > 0)
        len += (size_t)n;
    close(c->pipe_rd);
    return out;
}

static int setup(void **state)
{
    (void)state;
    clock_set_fake(T);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clock_set_fake(0);
    log_init(LOG_INFO, LOG_FORMAT_LOGFMT);
    return 0;
}

static void test_logfmt(void **state)
{
    struct capture c;
    char *out;

    (void)state;
    log_init(LOG_INFO, LOG_FORMAT_LOGFMT);
    capture_start(&c);
    log_info("notification sent", "receiver", "team-x", "incident", "42", NULL);
    log_warn("plain", "empty", "", "null", NULL, "space", "a b", "eq", "a=b", "quote", "say \"hi\"",
             "bs", "c:\\dir", "nl", "l1\nl2", "tab", "\t", "ctl", "\x01", "utf8", "héllo", NULL);
    log_error("x", NULL);
    out = capture_end(&c);
    assert_string_equal(
        out, "ts=2023-11-14T22:13:20.123Z level=info msg=\"notification sent\" receiver=team-x "
             "incident=42\n"
             "ts=2023-11-14T22:13:20.123Z level=warn msg=plain empty=\"\" null=\"\" space=\"a b\" "
             "eq=\"a=b\" quote=\"say \\\"hi\\\"\" bs=\"c:\\\\dir\" nl=\"l1\\nl2\" tab=\"\\t\" "
             "ctl=\"\\u0001\" utf8=héllo\n"
             "ts=2023-11-14T22:13:20.123Z level=error msg=x\n");
    free(out);
}

static void test_json(void **state)
{
    struct capture c;
    char *out;

    (void)state;
    log_init(LOG_DEBUG, LOG_FORMAT_JSON);
    capture_start(&c);
    log_debug("hello \"world\"", "k", "v\\w\n\r\t\x1f", "utf8", "日本", "null", NULL, NULL);
    out = capture_end(&c);
    assert_string_equal(out, "{\"ts\":\"2023-11-14T22:13:20.123Z\",\"level\":\"debug\","
                             "\"msg\":\"hello \\\"world\\\"\",\"k\":\"v\\\\w\\n\\r\\t\\u001f\","
                             "\"utf8\":\"日本\",\"null\":\"\"}\n");
    free(out);
}

static void test_levels(void **state)
{
    struct capture c;
    char *out;

    (void)state;
    log_init(LOG_WARN, LOG_FORMAT_LOGFMT);
    assert_false(log_enabled(LOG_DEBUG));
    assert_false(log_enabled(LOG_INFO));
    assert_true(log_enabled(LOG_WARN));
    assert_true(log_enabled(LOG_ERROR));
    capture_start(&c);
    log_debug("no", NULL);
    log_info("no", NULL);
    log_warn("yes1", NULL);
    log_error("yes2", NULL);
    out = capture_end(&c);
    assert_string_equal(out, "ts=2023-11-14T22:13:20.123Z level=warn msg=yes1\n"
                             "ts=2023-11-14T22:13:20.123Z level=error msg=yes2\n");
    free(out);
}

static void test_parse_names(void **state)
{
    enum log_level l = LOG_ERROR;
    enum log_format f = LOG_FORMAT_JSON;

    (void)state;
    assert_int_equal(log_level_parse("debug", &l), 0);
    assert_int_equal(l, LOG_DEBUG);
    assert_int_equal(log_level_parse("info", &l), 0);
    assert_int_equal(l, LOG_INFO);
    assert_int_equal(log_level_parse("warn", &l), 0);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_level_parse("error", &l), 0);
    assert_int_equal(l, LOG_ERROR);
    assert_int_equal(log_level_parse("INFO", &l), -1);
    assert_int_equal(log_level_parse("warning", &l), -1);
    assert_int_equal(log_level_parse("", &l), -1);
    assert_int_equal(l, LOG_ERROR);
    assert_int_equal(log_format_parse("logfmt", &f), 0);
    assert_int_equal(f, LOG_FORMAT_LOGFMT);
    assert_int_equal(log_format_parse("json", &f), 0);
    assert_int_equal(f, LOG_FORMAT_JSON);
    assert_int_equal(log_format_parse("text", &f), -1);
    assert_int_equal(f, LOG_FORMAT_JSON);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_logfmt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
