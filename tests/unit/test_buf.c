/*
 * test_buf.c - the capped buffer: growth, the cap, detach.
 */
#include "core/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_append_and_cap(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 10);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_appends(&b, "hello"), 0);
    assert_int_equal(buf_printf(&b, "%d", 1234), 0);
    assert_string_equal(buf_str(&b), "hello1234");
    /* Two more bytes would pass the cap of 10: refused, content unchanged. */
    assert_int_equal(buf_appends(&b, "xy"), -1);
    assert_string_equal(buf_str(&b), "hello1234");
    assert_int_equal(buf_appendc(&b, '!'), 0);
    assert_int_equal(b.len, 10);
    assert_int_equal(buf_printf(&b, "%s", "z"), -1);
    buf_release(&b);
}

static void test_growth_and_detach(void **state)
{
    struct buf b;
    char *s;

    (void)state;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(buf_appendc(&b, (char)('a' + i % 26)), 0);
    assert_int_equal(b.len, 10000);
    assert_int_equal(buf_str(&b)[9999], 'a' + 9999 % 26);
    s = buf_detach(&b);
    assert_non_null(s);
    assert_int_equal(strlen(s), 10000);
    assert_null(b.ptr);
    free(s);
    s = buf_detach(&b);
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_cap),
        cmocka_unit_test(test_growth_and_detach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
