/*
 * jobs.c - tlsrpt-ingest --jobs N (jobs.h).
 *
 * A job is one input on its way: the walker copies the input's bytes into
 * it and queues it on `in`; a parser thread runs it through
 * tr_ingest_input() with a collecting sink, which keeps each outcome (the
 * parsed report, taken over through tr_sink.report_owned, with its JSON
 * compressed by the thread's own tr_zblob; or a rejection with its raw
 * bytes) on the job, and queues the job on `out`; the calling thread takes
 * jobs off `out` and hands their outcomes to the writer.  One mutex guards
 * both queues and the counters; three condition variables wake the parser
 * threads (cv_in), the writer (cv_out) and the walker (cv_room).
 *
 * Bounds: at most max_in_flight jobs exist at a time (queued, being
 * parsed, or waiting for the writer), holding at most JOBS_MAX_BYTES of
 * input unless a single input is larger (then it travels alone).
 *
 * Stopping: when the writer fails, `stop` is set; the walker stops at its
 * next input, parser threads pass the remaining jobs through unparsed, and
 * the writer frees them without storing anything.
 *
 * Ownership: a job and its outcomes belong to whichever queue or thread
 * holds the job; everything in them is owned copies (input callbacks and
 * sink arguments are only borrowed for the call).
 */
#include "jobs.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/gunzip.h"
#include "tlsrpt/report.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_PER_THREAD 16                   /* jobs in flight per parser thread */
#define JOBS_MAX_BYTES ((size_t)64 << 20)    /* input bytes in flight */

enum outcome_kind { OUT_REPORT, OUT_REJECT, OUT_FAIL };

struct outcome {
    struct outcome *next;
    enum outcome_kind kind;
    struct tr_report *r;             /* OUT_REPORT */
    unsigned char *bytes;            /* OUT_REPORT: compressed JSON; OUT_REJECT: raw input */
    size_t n_bytes, raw_len, full_len;
    const char *code;                /* OUT_REJECT: static reason code */
    char *detail;
    struct tr_provenance prov;       /* its strings owned here, except dkim (static) */
    struct tr_err err;               /* OUT_FAIL: why the sink failed */
};

struct job {
    struct job *next;
    char *source, *filename;         /* the input (tr_input), owned copies */
    unsigned char *data;
    size_t len, full_len;
    int truncated;
    int64_t mtime;
    struct outcome *first, **last;   /* outcomes in the order ingest produced them */
};

struct queue {
    struct job *head, **tail;
};

struct jobs {
    pthread_mutex_t mu;
    pthread_cond_t cv_in, cv_out, cv_room;
    struct queue in, out;
    size_t in_flight, bytes_in_flight, max_in_flight;
    int walker_done;                 /* nothing more will enter `in` */
    int workers_left;                /* parser threads still running */
    int stop;                        /* the writer failed */
    const struct tr_ingest_opts *o;
    char *const *paths;
    int n_paths;
    tr_source_error_cb on_error;
    void *err_ctx;
};

struct worker {
    struct jobs *js;
    struct tr_zblob *zb;             /* owned: this thread's compressor */
    struct job *cur;                 /* the job being parsed */
    pthread_t tid;
};

static void push(struct queue *q, struct job *j)
{
    j->next = NULL;
    *q->tail = j;
    q->tail = &j->next;
}

static struct job *pop(struct queue *q)
{
    struct job *j = q->head;
    if (j) {
        q->head = j->next;
        if (q->head == NULL)
            q->tail = &q->head;
    }
    return j;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void free_outcome(struct outcome *o)
{
    tr_report_free(o->r);
    free(o->bytes);
    free(o->detail);
    free((char *)o->prov.source);
    free((char *)o->prov.message_id);
    free((char *)o->prov.report_domain);
    free((char *)o->prov.report_submitter);
    free((char *)o->prov.attachment_name);
    free(o);
}

static void free_job(struct job *j)
{
    struct outcome *o, *next;
    for (o = j->first; o; o = next) {
        next = o->next;
        free_outcome(o);
    }
    free(j->source);
    free(j->filename);
    free(j->data);
    free(j);
}

/* A new outcome of kind k on w's current job, with a copy of p. */
static struct outcome *add_outcome(struct worker *w, enum outcome_kind k, const struct tr_provenance *p)
{
    struct outcome *o = xcalloc(1, sizeof *o);

    o->kind = k;
    if (p) {
        o->prov.source = dup_or_null(p->source);
        o->prov.message_id = dup_or_null(p->message_id);
        o->prov.report_domain = dup_or_null(p->report_domain);
        o->prov.report_submitter = dup_or_null(p->report_submitter);
        o->prov.attachment_name = dup_or_null(p->attachment_name);
        o->prov.dkim = p->dkim;                /* static string or NULL */
        o->prov.received_time = p->received_time;
    }
    *w->cur->last = o;
    w->cur->last = &o->next;
    return o;
}

/* The collecting sink (tr_sink.report_owned): keeps r, compresses the JSON.
 * The count it returns is a placeholder; the writer counts what it stores. */
static int collect_report(void *ctx, struct tr_report *r, const struct tr_provenance *p,
                          const unsigned char *raw_json, size_t raw_len, struct tr_err *err)
{
    struct worker *w = ctx;
    const unsigned char *z;
    size_t zlen;
    struct outcome *o;

    if (p->sent_gz) {
        z = p->sent_gz;                    /* kept as sent (db.h) */
        zlen = p->sent_gz_len;
    } else if (tr_zblob_deflate(w->zb, raw_json, raw_len, &z, &zlen, err) < 0) {
        tr_report_free(r);
        return -1;
    }
    o = add_outcome(w, OUT_REPORT, p);
    o->r = r;
    o->bytes = xmalloc(zlen ? zlen : 1);
    memcpy(o->bytes, z, zlen);
    o->n_bytes = zlen;
    o->raw_len = raw_len;
    return TR_STORED;
}

static int collect_reject(void *ctx, const struct tr_provenance *p, const char *code,
                          const char *detail, const unsigned char *raw, size_t raw_len,
                          size_t full_len, struct tr_err *err)
{
    struct worker *w = ctx;
    struct outcome *o = add_outcome(w, OUT_REJECT, p);

    o->code = code;
    o->detail = dup_or_null(detail);
    o->bytes = xmalloc(raw_len ? raw_len : 1);
    if (raw_len)
        memcpy(o->bytes, raw, raw_len);
    o->n_bytes = raw_len;
    o->full_len = full_len;
    return 0;
}

/* Parses one job, leaving its outcomes on it. */
static void parse_job(struct worker *w, struct job *j)
{
    struct tr_sink sink = { NULL, collect_reject, w, collect_report };
    struct tr_input in = { j->source, j->filename, j->data, j->len, j->full_len,
                           j->truncated, j->mtime };
    struct tr_counts ignored = { 0, 0, 0, 0 };
    struct tr_err err;

    tr_err_clear(&err);
    w->cur = j;
    if (tr_ingest_input(w->js->o, &sink, &in, NULL, &ignored, &err) < 0)
        add_outcome(w, OUT_FAIL, NULL)->err = err;
    w->cur = NULL;
    free(j->data);                 /* the outcomes hold what is still needed */
    j->data = NULL;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct jobs *js = w->js;

    for (;;) {
        struct job *j;
        int stop;

        pthread_mutex_lock(&js->mu);
        while (js->in.head == NULL && !js->walker_done)
            pthread_cond_wait(&js->cv_in, &js->mu);
        j = pop(&js->in);
        if (j == NULL) {
            if (--js->workers_left == 0)
                pthread_cond_broadcast(&js->cv_out);
            pthread_mutex_unlock(&js->mu);
            return NULL;
        }
        stop = js->stop;
        pthread_mutex_unlock(&js->mu);
        if (!stop)
            parse_job(w, j);
        pthread_mutex_lock(&js->mu);
        push(&js->out, j);
        pthread_cond_signal(&js->cv_out);
        pthread_mutex_unlock(&js->mu);
    }
}

/* tr_source_walk callback in the walker thread: copies the input into a job
 * and queues it once there is room.  Returns 1 to stop the walk. */
static int walk_input(void *ctx, const struct tr_input *in)
{
    struct jobs *js = ctx;
    struct job *j = xcalloc(1, sizeof *j);

    j->source = xstrdup(in->source);
    j->filename = dup_or_null(in->filename);
    j->data = xmalloc(in->len + 1);
    if (in->len)
        memcpy(j->data, in->data, in->len);
    j->data[in->len] = '\0';
    j->len = in->len;
    j->full_len = in->full_len;
    j->truncated = in->truncated;
    j->mtime = in->mtime;
    j->last = &j->first;

    pthread_mutex_lock(&js->mu);
    while (!js->stop && (js->in_flight >= js->max_in_flight ||
                         (js->in_flight > 0 && js->bytes_in_flight + j->len > JOBS_MAX_BYTES)))
        pthread_cond_wait(&js->cv_room, &js->mu);
    if (js->stop) {
        pthread_mutex_unlock(&js->mu);
        free_job(j);
        return 1;
    }
    js->in_flight++;
    js->bytes_in_flight += j->len;
    push(&js->in, j);
    pthread_cond_signal(&js->cv_in);
    pthread_mutex_unlock(&js->mu);
    return 0;
}

static void walk_error(void *ctx, const char *path, const struct tr_err *err)
{
    struct jobs *js = ctx;
    if (js->on_error)
        js->on_error(js->err_ctx, path, err);
}

static void *walker_main(void *arg)
{
    struct jobs *js = arg;

    for (int i = 0; i < js->n_paths; i++) {
        struct tr_err err;
        int rc;

        tr_err_clear(&err);
        rc = tr_source_walk(js->paths[i], &js->o->limits, walk_input, walk_error, js, &err);
        if (rc < 0)
            walk_error(js, js->paths[i], &err);
        else if (rc != 0)
            break;                             /* stopped */
    }
    pthread_mutex_lock(&js->mu);
    js->walker_done = 1;
    pthread_cond_broadcast(&js->cv_in);
    pthread_mutex_unlock(&js->mu);
    return NULL;
}

/* Hands one job's outcomes to the writer.  Returns 0 or -1 with err set. */
static int deliver(const struct jobs_writer *w, struct job *j, struct tr_counts *counts,
                   struct tr_err *err)
{
    for (struct outcome *o = j->first; o; o = o->next) {
        int rc;
        switch (o->kind) {
        case OUT_REPORT:
            rc = w->report_z(w->ctx, o->r, &o->prov, o->bytes, o->n_bytes, o->raw_len, err);
            if (rc < 0)
                return -1;
            if (rc == TR_STORED)
                counts->stored++;
            else if (rc == TR_DUPLICATE)
                counts->duplicates++;
            else if (rc == TR_CONFLICTING)
                counts->conflicting++;
            else if (rc == TR_QUARANTINED)
                counts->quarantined++;
            break;
        case OUT_REJECT:
            if (w->reject(w->ctx, &o->prov, o->code, o->detail, o->bytes, o->n_bytes,
                          o->full_len, err) < 0)
                return -1;
            counts->quarantined++;
            break;
        case OUT_FAIL:
            *err = o->err;
            return -1;
        }
    }
    return w->input_done(w->ctx, err);
}

int jobs_run(char *const *paths, int n_paths, int n_threads, const struct tr_ingest_opts *o,
             const struct jobs_writer *w, tr_source_error_cb on_error, void *err_ctx,
             struct tr_counts *counts, struct tr_err *err)
{
    struct jobs js;
    struct worker *workers;
    pthread_t walker;
    int started = 0, failed = 0;

    if (n_threads < 1)
        n_threads = 1;
    if (n_threads > JOBS_MAX)
        n_threads = JOBS_MAX;
    memset(&js, 0, sizeof js);
    pthread_mutex_init(&js.mu, NULL);
    pthread_cond_init(&js.cv_in, NULL);
    pthread_cond_init(&js.cv_out, NULL);
    pthread_cond_init(&js.cv_room, NULL);
    js.in.tail = &js.in.head;
    js.out.tail = &js.out.head;
    js.max_in_flight = (size_t)n_threads * JOBS_PER_THREAD;
    js.o = o;
    js.paths = paths;
    js.n_paths = n_paths;
    js.on_error = on_error;
    js.err_ctx = err_ctx;

    workers = xcalloc((size_t)n_threads, sizeof *workers);
    js.workers_left = n_threads;
    for (int i = 0; i < n_threads; i++) {
        workers[i].js = &js;
        workers[i].zb = tr_zblob_new();
        if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) != 0)
            break;
        started++;
    }
    js.workers_left = started;
    if (started == 0 || pthread_create(&walker, NULL, walker_main, &js) != 0) {
        tr_err_set(err, TR_E_IO, "cannot start threads for --jobs");
        pthread_mutex_lock(&js.mu);
        js.walker_done = 1;
        pthread_cond_broadcast(&js.cv_in);
        pthread_mutex_unlock(&js.mu);
        for (int i = 0; i < started; i++)
            pthread_join(workers[i].tid, NULL);
        failed = 1;
        started = -1;               /* no walker to join */
    }

    /* The writer: this thread. */
    while (started >= 0) {
        struct job *j;

        pthread_mutex_lock(&js.mu);
        while (js.out.head == NULL && js.workers_left > 0)
            pthread_cond_wait(&js.cv_out, &js.mu);
        j = pop(&js.out);
        pthread_mutex_unlock(&js.mu);
        if (j == NULL)
            break;
        if (!failed && deliver(w, j, counts, err) < 0) {
            failed = 1;
            pthread_mutex_lock(&js.mu);
            js.stop = 1;
            pthread_cond_broadcast(&js.cv_room);
            pthread_mutex_unlock(&js.mu);
        }
        pthread_mutex_lock(&js.mu);
        js.in_flight--;
        js.bytes_in_flight -= j->len;
        pthread_cond_signal(&js.cv_room);
        pthread_mutex_unlock(&js.mu);
        free_job(j);
    }
    if (started >= 0) {
        pthread_join(walker, NULL);
        for (int i = 0; i < started; i++)
            pthread_join(workers[i].tid, NULL);
    }
    for (int i = 0; i < n_threads; i++)
        tr_zblob_free(workers[i].zb);
    free(workers);
    pthread_cond_destroy(&js.cv_room);
    pthread_cond_destroy(&js.cv_out);
    pthread_cond_destroy(&js.cv_in);
    pthread_mutex_destroy(&js.mu);
    return failed ? -1 : 0;
}
