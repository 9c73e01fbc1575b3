/*
 * test_email.c - the SMTP request: URL and TLS mode from smarthost, envelope,
 * auth, and the exact RFC 5322 / MIME message (headers, RFC 2047 subject,
 * quoted-printable parts, CRLF line ends).
 */
#include "test_notifiers_fixture.h"

static void test_qp(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 16);
    assert_int_equal(email_qp_encode(&b, "a=b caf\xC3\xA9 \nx\t\n.dot\n"), 0);
    assert_string_equal(buf_str(&b), "a=3Db caf=C3=A9=20\r\nx=09\r\n=2Edot\r\n");
    buf_reset(&b);
    /* 100 'x': soft break so no line passes 76 characters. */
    {
        char s[101];

        memset(s, 'x', 100);
        s[100] = '\0';
        assert_int_equal(email_qp_encode(&b, s), 0);
        assert_int_equal(strcspn(buf_str(&b), "\r"), 76);
        assert_int_equal(strncmp(buf_str(&b) + 75, "=\r\n", 3), 0);
        assert_int_equal(strlen(buf_str(&b)), 100 + 3);
    }
    buf_release(&b);
}

static void test_header_encoding(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 16);
    assert_int_equal(email_encode_header(&b, "plain [FIRING:1]"), 0);
    assert_string_equal(buf_str(&b), "plain [FIRING:1]");
    buf_reset(&b);
    assert_int_equal(email_encode_header(&b, "Caf\xC3\xA9 down"), 0);
    assert_string_equal(buf_str(&b), "=?UTF-8?B?Q2Fmw6kgZG93bg==?=");
    buf_reset(&b);
    /* CR/LF cannot inject a header. */
    assert_int_equal(email_encode_header(&b, "x\r\nBcc: evil@x"), 0);
    assert_string_equal(buf_str(&b), "x  Bcc: evil@x");
    buf_reset(&b);
    /* Long non-ASCII: several words, none split inside a UTF-8 sequence, each <= 75. */
    {
        char s[200] = "";

        for (int i = 0; i < 40; i++)
            memcpy(s + 2 * i, "\xC3\xA9", 3);
        assert_int_equal(email_encode_header(&b, s), 0);
        assert_non_null(strstr(buf_str(&b), "?=\r\n =?UTF-8?B?"));
        for (const char *w = buf_str(&b); w != NULL; w = strstr(w + 1, "=?UTF-8")) {
            size_t len = strcspn(w, "\r");

            assert_true(len <= 75);
        }
    }
    buf_release(&b);
}

static void test_address_encoding(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 16);
    assert_int_equal(email_encode_addresses(&b, "Ops <ops@x.org>, a@b.c"), 0);
    assert_string_equal(buf_str(&b), "Ops <ops@x.org>, a@b.c");
    buf_reset(&b);
    assert_int_equal(
        email_encode_addresses(&b, "\"M\xC3\xBCller, Jo\" <m@x.de>,  Ops <o@x.de> , z@x.de"), 0);
    assert_string_equal(buf_str(&b), "=?UTF-8?B?TcO8bGxlciwgSm8=?= <m@x.de>, Ops <o@x.de>, z@x.de");
    buf_release(&b);
}

static void test_date_and_address(void **state)
{
    char d[64], *a;

    (void)state;
    assert_int_equal(email_date(FIX_NOW, d, sizeof(d)), 0);
    assert_string_equal(d, "Mon, 23 Nov 2026 12:00:00 +0000");
    a = email_bare_address(" Ops Team <ops@example.com> ");
    assert_string_equal(a, "ops@example.com");
    free(a);
    a = email_bare_address("x@y.z");
    assert_string_equal(a, "x@y.z");
    free(a);
}

static const char *find_line(const char *msg, const char *prefix)
{
    const char *p = msg;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            return p;
        p = strstr(p, "\r\n");
        if (p != NULL)
            p += 2;
        if (p != NULL && strncmp(p, "\r\n", 2) == 0)
            break; /* end of headers */
    }
    return NULL;
}

static void test_message(void **state)
{
    struct nfix f;
    const struct notify_request *r;
    const char *m, *p;

    (void)state;
    nfix_load(&f, "  email_configs:\n"
                  "  - to: 'Ops <ops@example.com>, dba@example.com'\n"
                  "    from: 'amrouter <am@example.org>'\n"
                  "    smarthost: mail.example.org:587\n"
                  "    hello: am.example.org\n"
                  "    auth_username: am\n"
                  "    auth_password: s3cret\n"
                  "    auth_identity: am-id\n"
                  "    headers:\n"
                  "      X-Team: '{{commonLabels.team}}'\n"
                  "      Reply-To: oncall@example.com\n"
                  "    subject: 'Alarm f\xC3\xBCr {{commonLabels.team}}'\n"
                  "    text: 'T {{receiver}}'\n"
                  "    html: '<b>{{receiver}}</b> \xE2\x9C\x93'\n");
    assert_int_equal(email_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_int_equal(f.out.n, 1);
    r = &f.out.v[0];
    assert_int_equal(r->proto, NOTIFY_PROTO_SMTP);
    assert_string_equal(r->url, "smtp://mail.example.org:587/am.example.org");
    assert_int_equal(r->tls, NOTIFY_TLS_REQUIRED);
    assert_string_equal(r->mail_from, "am@example.org");
    assert_int_equal(r->n_rcpt, 2);
    assert_string_equal(r->rcpt[0], "ops@example.com");
    assert_string_equal(r->rcpt[1], "dba@example.com");
    assert_string_equal(r->username, "am");
    assert_string_equal(r->password, "s3cret");
    assert_string_equal(r->authzid, "am-id");
    assert_null(r->login_options);
    assert_null(strstr(r->redacted_url, "s3cret"));

    m = buf_str(&r->body);
    assert_null(strstr(m, "s3cret"));
    assert_non_null(find_line(m, "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"));
    assert_non_null(find_line(m, "From: amrouter <am@example.org>\r\n"));
    assert_non_null(find_line(m, "To: Ops <ops@example.com>, dba@example.com\r\n"));
    assert_non_null(find_line(m, "Subject: =?UTF-8?B?QWxhcm0gZsO8ciBkYg==?=\r\n"));
    assert_non_null(find_line(m, "MIME-Version: 1.0\r\n"));
    assert_non_null(find_line(m, "X-Team: db\r\n"));
    assert_non_null(find_line(m, "Reply-To: oncall@example.com\r\n"));
    p = find_line(m, "Message-ID: <");
    assert_non_null(p);
    assert_non_null(strstr(p, ".1795435200000@example.org>\r\n"));
    p = find_line(m, "Content-Type: multipart/alternative; boundary=\"=_amrouter_");
    assert_non_null(p);
    /* Both parts, QP-encoded, in order text then html, and the closing boundary. */
    p = strstr(m, "\r\n\r\n--=_amrouter_");
    assert_non_null(p);
    p = strstr(p, "Content-Type: text/plain; charset=UTF-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\nT team-db\r\n--=_amrouter_");
    assert_non_null(p);
    p = strstr(p, "Content-Type: text/html; charset=UTF-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                  "<b>team-db</b> =E2=9C=93\r\n--=_amrouter_");
    assert_non_null(p);
    assert_int_equal(strcmp(m + strlen(m) - 4, "--\r\n"), 0);
    /* No bare LF anywhere. */
    for (const char *q = m; *q != '\0'; q++)
        if (*q == '\n')
            assert_true(q > m && q[-1] == '\r');
    nfix_release(&f);
}

static void test_transport_modes(void **state)
{
    struct nfix f;

    (void)state;
    nfix_load(&f, "  email_configs:\n  - to: a@b.c\n    from: x@y.z\n"
                  "    smarthost: smtp.example.com:465\n    auth_username: u\n"
                  "    auth_secret: cram\n");
    assert_int_equal(email_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_string_equal(f.out.v[0].url, "smtps://smtp.example.com:465/localhost");
    assert_int_equal(f.out.v[0].tls, NOTIFY_TLS_IMPLICIT);
    assert_string_equal(f.out.v[0].password, "cram");
    assert_string_equal(f.out.v[0].login_options, "AUTH=CRAM-MD5");
    nfix_release(&f);

    nfix_load(&f, "  email_configs:\n  - to: a@b.c\n    from: x@y.z\n"
                  "    smarthost: '[::1]:2525'\n    require_tls: false\n    hello: h\n");
    assert_int_equal(email_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_string_equal(f.out.v[0].url, "smtp://[::1]:2525/h");
    assert_int_equal(f.out.v[0].tls, NOTIFY_TLS_TRY);
    assert_null(f.out.v[0].username);
    /* Default templates: multipart with the default subject (ASCII, not encoded). */
    assert_non_null(strstr(buf_str(&f.out.v[0].body),
                           "Subject: [FIRING:2] PostgresDown prod-eu (incident #42)\r\n"));
    assert_non_null(strstr(buf_str(&f.out.v[0].body), "text/html"));
    assert_non_null(strstr(buf_str(&f.out.v[0].body), "text/plain"));
    nfix_release(&f);
}

/* Only a text part: a single-part message, no multipart wrapper. */
static void test_single_part(void **state)
{
    struct nfix f;
    const char *m;

    (void)state;
    nfix_load(&f, "  email_configs:\n  - to: a@b.c\n    from: x@y.z\n"
                  "    smarthost: 'h:25'\n    html: ''\n    text: hello\n");
    assert_int_equal(email_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    m = buf_str(&f.out.v[0].body);
    assert_null(strstr(m, "multipart"));
    assert_non_null(strstr(m, "Content-Type: text/plain; charset=UTF-8\r\n"
                              "Content-Transfer-Encoding: quoted-printable\r\n\r\nhello\r\n"));
    nfix_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qp),
        cmocka_unit_test(test_header_encoding),
        cmocka_unit_test(test_address_encoding),
        cmocka_unit_test(test_date_and_address),
        cmocka_unit_test(test_message),
        cmocka_unit_test(test_transport_modes),
        cmocka_unit_test(test_single_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
