/*
 * test_incident_storage.c - incidents in SQLite (issue 6): a row round-trips with
 * its history and escalation position, deletes stick, incidents load before
 * anything else, a bad row is skipped; a job's incident snapshot survives the
 * outbox codec.
 */
#include "core/error.h"
#include "core/labels.h"
#include "router/incident.h"
#include "router/router.h"
#include "storage/codec.h"
#include "storage/storage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/amr-incst-XXXXXX";
    char *d = mkdtemp(tmpl);

    assert_non_null(d);
    return strdup(d);
}

static void rmdir_all(const char *dir)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static struct incident *make_incident(uint64_t id)
{
    struct incident *inc = incident_new();
    struct incident_event ev = {.at = 1000, .kind = IEV_OPENED};
    struct incident_event ack = {.at = 3000, .kind = IEV_ACKNOWLEDGED};

    assert_non_null(inc);
    inc->id = id;
    inc->group_key = strdup("{}/{team=\"db\"}:{alertname=\"Disk\"}");
    inc->route_id = strdup("{}/{team=\"db\"}");
    inc->team = strdup("db");
    inc->policy = strdup("db/oncall");
    assert_int_equal(labels_set(&inc->group_labels, "alertname", "Disk"), 0);
    inc->state = INCIDENT_ACKNOWLEDGED;
    inc->opened_at = 1000;
    inc->acked_by = strdup("alice");
    inc->ack_via = strdup("amctl");
    inc->ack_comment = strdup("on it");
    inc->acked_at = 3000;
    inc->ack_expires_at = 7203000;
    inc->generation = 4;
    inc->base_at = 1000;
    inc->next_step = 2;
    inc->last_step = 2;
    assert_int_equal(incident_add_reached(inc, "db/slack"), 1);
    assert_int_equal(incident_add_reached(inc, "db/email"), 1);
    assert_int_equal(incident_add_event(inc, &ev), 0);
    ack.by = strdup("alice");
    ack.via = strdup("amctl");
    assert_int_equal(incident_add_event(inc, &ack), 0);
    return inc;
}

struct seen {
    struct incident *inc[4];
    size_t n;
    bool alert_before_incident;
    size_t alerts;
};

static int c_incident(void *ctx, struct incident *inc, struct error *err)
{
    struct seen *s = ctx;

    (void)err;
    if (s->alerts > 0)
        s->alert_before_incident = true;
    assert_true(s->n < 4);
    s->inc[s->n++] = inc;
    return 0;
}

static int c_alert(void *ctx, struct alert *a, struct error *err)
{
    struct seen *s = ctx;

    (void)err;
    s->alerts++;
    alert_release(a);
    return 0;
}

static const struct storage_loader ld = {c_alert, NULL, NULL, NULL, NULL, c_incident};

static void test_round_trip_and_delete(void **state)
{
    char *dir = tmpdir();
    struct error err;
    struct storage *st = storage_open(dir, NULL, &err);
    struct incident *a = make_incident(7), *b = make_incident(9);
    struct storage_counts cnt;
    struct seen s;

    (void)state;
    assert_non_null(st);
    assert_int_equal(storage_begin(st, &err), 0);
    assert_int_equal(storage_put_incident(st, a, &err), 0);
    assert_int_equal(storage_put_incident(st, b, &err), 0);
    assert_int_equal(storage_commit(st, &err), 0);
    assert_int_equal(storage_delete_incident(st, 9, &err), 0);
    assert_int_equal(storage_count(st, &cnt, &err), 0);
    assert_int_equal(cnt.incidents, 1);
    storage_close(st);

    st = storage_open(dir, NULL, &err);
    assert_non_null(st);
    memset(&s, 0, sizeof(s));
    assert_int_equal(storage_load(st, &ld, &s, &err), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.inc[0]->id, 7);
    assert_int_equal(s.inc[0]->state, INCIDENT_ACKNOWLEDGED);
    assert_string_equal(s.inc[0]->acked_by, "alice");
    assert_string_equal(s.inc[0]->ack_comment, "on it");
    assert_int_equal(s.inc[0]->ack_expires_at, 7203000);
    assert_int_equal(s.inc[0]->generation, 4);
    assert_int_equal(s.inc[0]->next_step, 2);
    assert_int_equal(s.inc[0]->n_reached, 2);
    assert_string_equal(s.inc[0]->reached[0], "db/email");
    assert_int_equal(s.inc[0]->n_history, 2);
    assert_string_equal(s.inc[0]->history[1].by, "alice");
    assert_string_equal(labels_get(&s.inc[0]->group_labels, "alertname"), "Disk");
    assert_string_equal(s.inc[0]->team, "db");
    incident_free(s.inc[0]);
    storage_close(st);

    /* A row that does not decode is skipped, the rest loads. */
    assert_int_equal(storage_test_exec(dir,
                                       "INSERT INTO incidents(id, state, group_key, data) "
                                       "VALUES (11, 'firing', 'k', '{\"id\":11}')",
                                       &err),
                     0);
    st = storage_open(dir, NULL, &err);
    memset(&s, 0, sizeof(s));
    assert_int_equal(storage_load(st, &ld, &s, &err), 0);
    assert_int_equal(s.n, 1);
    incident_free(s.inc[0]);
    /* Meta keeps the counter as bytes. */
    assert_int_equal(storage_meta_put(st, "incident_seq", "12", 2, &err), 0);
    storage_close(st);
    incident_free(a);
    incident_free(b);
    rmdir_all(dir);
    free(dir);
}

static void test_job_snapshot_codec(void **state)
{
    struct notify_job j, *back = NULL;
    struct error err;
    char *text;

    (void)state;
    memset(&j, 0, sizeof(j));
    labels_init(&j.group_labels);
    j.id = 5;
    j.group_key = (char *)"{}:{}";
    j.receiver_name = (char *)"db/slack";
    j.incident_id = 42;
    j.incident_generation = 3;
    j.incident_state = INCIDENT_ACKNOWLEDGED;
    j.incident_notice = NOTICE_ACK;
    j.incident_step = 2;
    j.incident_opened_at = 1000;
    j.acked_by = (char *)"alice";
    j.ack_via = (char *)"web";
    j.ack_comment = NULL;
    j.acked_at = 2000;
    text = codec_encode_job(&j);
    assert_non_null(text);
    assert_int_equal(codec_decode_job(text, &back, &err), 0);
    assert_int_equal(back->incident_id, 42);
    assert_int_equal(back->incident_generation, 3);
    assert_int_equal(back->incident_state, INCIDENT_ACKNOWLEDGED);
    assert_int_equal(back->incident_notice, NOTICE_ACK);
    assert_int_equal(back->incident_step, 2);
    assert_int_equal(back->incident_opened_at, 1000);
    assert_string_equal(back->acked_by, "alice");
    assert_string_equal(back->ack_via, "web");
    assert_null(back->ack_comment);
    assert_int_equal(back->acked_at, 2000);
    notify_job_free(back);
    free(text);
    /* Old rows without the snapshot still decode. */
    assert_int_equal(codec_decode_job("{\"id\":6,\"groupKey\":\"k\",\"receiver\":\"r\","
                                      "\"integration\":0,\"alerts\":[]}",
                                      &back, &err),
                     0);
    assert_int_equal(back->incident_id, 0);
    notify_job_free(back);
    assert_int_equal(codec_decode_job("{\"id\":6,\"groupKey\":\"k\",\"receiver\":\"r\","
                                      "\"integration\":0,\"alerts\":[],\"incident\":"
                                      "{\"state\":\"x\"}}",
                                      &back, &err),
                     -1);
    assert_non_null(strstr(err.msg, "incident"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_delete),
        cmocka_unit_test(test_job_snapshot_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
