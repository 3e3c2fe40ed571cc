/* Resource table (src/resource.c): dispatch by Uri-Path and method, zcoap_path_matches(), and
 * the /.well-known/core listing (RFC 6690 §5) with its query filters (§4.1), after the ETSI
 * CoAP plugtest LINK_01-09 descriptions. */
#include <stdio.h>

#include "zcoap_test.h"

#include "zcoap/resource.h"

#define GET_BIT ZCOAP_METHOD_BIT(ZCOAP_GET)

static uint8_t req_buf[512];

/* A CON request @p code whose Uri-Path/Uri-Query come from the relative reference @p ref. */
static zcoap_msg_t make_req(uint8_t code, const char *ref)
{
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, req_buf, sizeof(req_buf), ZCOAP_TYPE_CON, code, 0x1234, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_uri_path(&b, ref, strlen(ref)));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n >= 4);
    zcoap_msg_t msg;
    parse_ok(&msg, req_buf, (size_t)n);
    return msg;
}

/* A GET whose Uri-Path options are exactly @p segs (raw values, empty ones included). */
static zcoap_msg_t make_req_segs(const char *const *segs, size_t n_segs)
{
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_builder_init(&b, req_buf, sizeof(req_buf), ZCOAP_TYPE_CON, ZCOAP_GET,
                                       0x1234, NULL, 0));
    for (size_t i = 0; i < n_segs; i++)
        assert_zcoap_ok(zcoap_builder_add_opt(&b, ZCOAP_OPT_URI_PATH, segs[i], strlen(segs[i])));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n >= 4);
    zcoap_msg_t msg;
    parse_ok(&msg, req_buf, (size_t)n);
    return msg;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static const zcoap_resource_t dispatch_table[] = {
    {"", GET_BIT, NULL, false, NULL},
    {"a", GET_BIT | ZCOAP_METHOD_BIT(ZCOAP_PUT), NULL, false, NULL},
    {"a/b", GET_BIT | ZCOAP_METHOD_BIT(ZCOAP_POST), NULL, false, NULL},
    {"with space", GET_BIT, NULL, false, NULL},
    {"fetchable", ZCOAP_METHOD_BIT(ZCOAP_FETCH) | ZCOAP_METHOD_BIT(ZCOAP_IPATCH), NULL, false,
     NULL},
    {"patchable", ZCOAP_METHOD_BIT(ZCOAP_PATCH), NULL, false, NULL},
    {"all", ZCOAP_METHODS_ALL, NULL, false, NULL},
};
#define DISPATCH_N ARRAY_LEN(dispatch_table)

/* Dispatch @p code on @p ref; checks the result code and which entry was found (-1: NULL). */
static void expect_dispatch_at(uint8_t code, const char *ref, uint8_t want_rc, int want_index,
                               const char *file, int line)
{
    zcoap_msg_t req = make_req(code, ref);
    static const zcoap_resource_t poison = {"poison", 0, NULL, false, NULL};
    const zcoap_resource_t *found = &poison; /* must be overwritten */
    uint8_t rc = zcoap_resource_dispatch(dispatch_table, DISPATCH_N, &req, &found);
    long long got_index = found == NULL ? -1 : (long long)(found - dispatch_table);
    if (rc != want_rc || got_index != want_index)
        print_error("%s:%d: dispatch code 0x%02x \"%s\": got rc 0x%02x entry %lld, expected rc "
                    "0x%02x entry %d\n",
                    file, line, code, ref, rc, got_index, want_rc, want_index);
    assert_int_equal(rc, want_rc);
    assert_int_equal(got_index, want_index);
}
#define expect_dispatch(code, ref, rc, idx)                                                        \
    expect_dispatch_at((code), (ref), (rc), (idx), __FILE__, __LINE__)

static void dispatch_root(void **state)
{
    (void)state;
    /* "" and "/" both give no Uri-Path (RFC 7252 §6.4 step 8): the root resource */
    expect_dispatch(ZCOAP_GET, "", 0, 0);
    expect_dispatch(ZCOAP_GET, "/", 0, 0);
    expect_dispatch(ZCOAP_GET, "/?x=1", 0, 0);
    expect_dispatch(ZCOAP_POST, "/", ZCOAP_METHOD_NOT_ALLOWED, 0);
}

static void dispatch_segments(void **state)
{
    (void)state;
    expect_dispatch(ZCOAP_GET, "/a", 0, 1);
    expect_dispatch(ZCOAP_GET, "a", 0, 1);
    expect_dispatch(ZCOAP_GET, "/a/b", 0, 2);
    expect_dispatch(ZCOAP_GET, "a/b?q=1&r", 0, 2);
    expect_dispatch(ZCOAP_GET, "/a/b/c", ZCOAP_NOT_FOUND, -1);
    expect_dispatch(ZCOAP_GET, "/b", ZCOAP_NOT_FOUND, -1);
    expect_dispatch(ZCOAP_GET, "/ab", ZCOAP_NOT_FOUND, -1);
    expect_dispatch(ZCOAP_GET, "/a/bc", ZCOAP_NOT_FOUND, -1);
    expect_dispatch(ZCOAP_GET, "/A", ZCOAP_NOT_FOUND, -1); /* byte for byte */
    /* percent-decoded Uri-Path "with space" */
    expect_dispatch(ZCOAP_GET, "/with%20space", 0, 3);
    expect_dispatch(ZCOAP_GET, "/with/space", ZCOAP_NOT_FOUND, -1);
}

static void dispatch_trailing_empty_segment(void **state)
{
    (void)state;
    /* "/a/" is Uri-Path "a" and "" (RFC 7252 §6.4): not the resource "a" */
    expect_dispatch(ZCOAP_GET, "/a/", ZCOAP_NOT_FOUND, -1);
    const char *const segs[] = {"a", ""};
    zcoap_msg_t req = make_req_segs(segs, ARRAY_LEN(segs));
    const zcoap_resource_t *found = dispatch_table;
    assert_int_equal(zcoap_resource_dispatch(dispatch_table, DISPATCH_N, &req, &found),
                     ZCOAP_NOT_FOUND);
    assert_null(found);
}

static void dispatch_methods(void **state)
{
    (void)state;
    expect_dispatch(ZCOAP_PUT, "/a", 0, 1);
    expect_dispatch(ZCOAP_POST, "/a", ZCOAP_METHOD_NOT_ALLOWED, 1);
    expect_dispatch(ZCOAP_DELETE, "/a", ZCOAP_METHOD_NOT_ALLOWED, 1);
    expect_dispatch(ZCOAP_POST, "/a/b", 0, 2);
    expect_dispatch(ZCOAP_PUT, "/a/b", ZCOAP_METHOD_NOT_ALLOWED, 2);
    /* RFC 8132 methods have their own bits */
    expect_dispatch(ZCOAP_FETCH, "/fetchable", 0, 4);
    expect_dispatch(ZCOAP_IPATCH, "/fetchable", 0, 4);
    expect_dispatch(ZCOAP_PATCH, "/fetchable", ZCOAP_METHOD_NOT_ALLOWED, 4);
    expect_dispatch(ZCOAP_GET, "/fetchable", ZCOAP_METHOD_NOT_ALLOWED, 4);
    expect_dispatch(ZCOAP_PATCH, "/patchable", 0, 5);
    expect_dispatch(ZCOAP_IPATCH, "/patchable", ZCOAP_METHOD_NOT_ALLOWED, 5);
    expect_dispatch(ZCOAP_FETCH, "/patchable", ZCOAP_METHOD_NOT_ALLOWED, 5);
    const uint8_t all[] = {ZCOAP_GET,   ZCOAP_POST,  ZCOAP_PUT,   ZCOAP_DELETE,
                           ZCOAP_FETCH, ZCOAP_PATCH, ZCOAP_IPATCH};
    for (size_t i = 0; i < ARRAY_LEN(all); i++)
        expect_dispatch(all[i], "/all", 0, 6);
    /* not found wins over not allowed */
    expect_dispatch(ZCOAP_IPATCH, "/nowhere", ZCOAP_NOT_FOUND, -1);
}

/* "a" and "a/b" share a prefix: each request finds its own entry in either table order. */
static void dispatch_shared_prefix_any_order(void **state)
{
    (void)state;
    const zcoap_resource_t ab_first[] = {
        {"a/b", GET_BIT, NULL, false, NULL},
        {"a", GET_BIT, NULL, false, NULL},
    };
    const zcoap_resource_t a_first[] = {
        {"a", GET_BIT, NULL, false, NULL},
        {"a/b", GET_BIT, NULL, false, NULL},
    };
    const zcoap_resource_t *found = NULL;
    zcoap_msg_t req = make_req(ZCOAP_GET, "/a");
    assert_int_equal(zcoap_resource_dispatch(ab_first, 2, &req, &found), 0);
    assert_ptr_equal(found, &ab_first[1]);
    assert_int_equal(zcoap_resource_dispatch(a_first, 2, &req, &found), 0);
    assert_ptr_equal(found, &a_first[0]);
    req = make_req(ZCOAP_GET, "/a/b");
    assert_int_equal(zcoap_resource_dispatch(ab_first, 2, &req, &found), 0);
    assert_ptr_equal(found, &ab_first[0]);
    assert_int_equal(zcoap_resource_dispatch(a_first, 2, &req, &found), 0);
    assert_ptr_equal(found, &a_first[1]);
    /* the handler pointer comes back untouched */
    static int handler_tag;
    const zcoap_resource_t with_handler[] = {{"h", GET_BIT, NULL, false, &handler_tag}};
    req = make_req(ZCOAP_GET, "/h");
    assert_int_equal(zcoap_resource_dispatch(with_handler, 1, &req, &found), 0);
    assert_ptr_equal(found->handler, &handler_tag);
}

/* A hidden resource is only left out of the listing; it is still served. */
static void dispatch_hidden_is_served(void **state)
{
    (void)state;
    const zcoap_resource_t table[] = {{"secret", GET_BIT, NULL, true, NULL}};
    const zcoap_resource_t *found = NULL;
    zcoap_msg_t req = make_req(ZCOAP_GET, "/secret");
    assert_int_equal(zcoap_resource_dispatch(table, 1, &req, &found), 0);
    assert_ptr_equal(found, &table[0]);
}

static void dispatch_empty_table(void **state)
{
    (void)state;
    zcoap_msg_t req = make_req(ZCOAP_GET, "/a");
    const zcoap_resource_t *found = dispatch_table;
    assert_int_equal(zcoap_resource_dispatch(dispatch_table, 0, &req, &found), ZCOAP_NOT_FOUND);
    assert_null(found);
    req = make_req(ZCOAP_GET, "/");
    found = dispatch_table;
    assert_int_equal(zcoap_resource_dispatch(dispatch_table, 0, &req, &found), ZCOAP_NOT_FOUND);
    assert_null(found);
}

/* ---- zcoap_path_matches --------------------------------------------------------------------- */

static void path_matches_segments(void **state)
{
    (void)state;
    zcoap_msg_t req = make_req(ZCOAP_GET, "/a/b?x=1");
    assert_true(zcoap_path_matches(&req, "a/b"));
    assert_false(zcoap_path_matches(&req, "a"));
    assert_false(zcoap_path_matches(&req, "a/"));
    assert_false(zcoap_path_matches(&req, "a/b/"));
    assert_false(zcoap_path_matches(&req, "a/b/c"));
    assert_false(zcoap_path_matches(&req, "a/bc"));
    assert_false(zcoap_path_matches(&req, "ab"));
    assert_false(zcoap_path_matches(&req, "b"));
    assert_false(zcoap_path_matches(&req, ""));

    req = make_req(ZCOAP_GET, "/a");
    assert_true(zcoap_path_matches(&req, "a"));
    assert_false(zcoap_path_matches(&req, "a/b"));
    assert_false(zcoap_path_matches(&req, ""));

    req = make_req(ZCOAP_GET, "/");
    assert_true(zcoap_path_matches(&req, ""));
    assert_false(zcoap_path_matches(&req, "a"));

    req = make_req(ZCOAP_GET, "/a%20b/c%2Fd");
    assert_false(zcoap_path_matches(&req, "a b/c/d")); /* "c/d" is one segment */
    assert_false(zcoap_path_matches(&req, "a b/c"));
    assert_false(zcoap_path_matches(&req, "a%20b/c%2Fd")); /* compared decoded */
}

static void path_matches_raw_segments(void **state)
{
    (void)state;
    const char *const a_empty[] = {"a", ""};
    zcoap_msg_t req = make_req_segs(a_empty, ARRAY_LEN(a_empty));
    assert_true(zcoap_path_matches(&req, "a/"));
    assert_false(zcoap_path_matches(&req, "a"));

    const char *const empty_a[] = {"", "a"};
    req = make_req_segs(empty_a, ARRAY_LEN(empty_a));
    assert_false(zcoap_path_matches(&req, "a"));

    const char *const spaced[] = {"a b", "c"};
    req = make_req_segs(spaced, ARRAY_LEN(spaced));
    assert_true(zcoap_path_matches(&req, "a b/c"));
    assert_false(zcoap_path_matches(&req, "a b"));

    /* a segment holding '/' (sent as %2F) is not two segments */
    const char *const slash[] = {"a/b"};
    req = make_req_segs(slash, ARRAY_LEN(slash));
    assert_false(zcoap_path_matches(&req, "a/b"));
}

/* Paths deeper than the segments read up front are matched by walking the options (the same
 * answers, at each depth around the limit). */
static void path_matches_deep_paths(void **state)
{
    (void)state;
    static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h",
                                        "i", "j", "k", "l", "m", "n", "o", "p"};
    for (size_t depth = 10; depth <= ARRAY_LEN(names); depth++) {
        char path[64] = "";
        for (size_t i = 0; i < depth; i++) {
            if (i > 0)
                strcat(path, "/");
            strcat(path, names[i]);
        }
        zcoap_msg_t req = make_req_segs(names, depth);
        assert_true(zcoap_path_matches(&req, path));
        const zcoap_resource_t table[] = {{"a/b", GET_BIT, NULL, false, NULL},
                                          {path, GET_BIT, NULL, false, NULL}};
        const zcoap_resource_t *found = NULL;
        assert_int_equal(zcoap_resource_dispatch(table, 2, &req, &found), 0);
        assert_ptr_equal(found, &table[1]);
        path[strlen(path) - 1] = 'z'; /* the last segment differs */
        assert_false(zcoap_path_matches(&req, path));
        path[strlen(path) - 2] = '\0'; /* one segment short */
        assert_false(zcoap_path_matches(&req, path));
    }
}

/* Observable: the obs attribute, wherever it stands, not a parameter that merely starts so. */
static void observable_by_its_obs_attribute(void **state)
{
    (void)state;
    const zcoap_resource_t table[] = {
        {"a", GET_BIT, "obs", false, NULL},
        {"b", GET_BIT, "rt=\"temp\";obs;ct=0", false, NULL},
        {"c", GET_BIT, "ct=0;obs", false, NULL},
        {"d", GET_BIT, "rt=\"obs\";ct=0", false, NULL},
        {"e", GET_BIT, "observable;obs2", false, NULL},
        {"f", GET_BIT, NULL, false, NULL},
        {"g", GET_BIT, "title=\"a;obs\"", false, NULL},
    };
    const bool want[] = {true, true, true, false, false, false, false};
    for (size_t i = 0; i < ARRAY_LEN(table); i++)
        assert_int_equal(zcoap_resource_observable(&table[i]), want[i]);
    assert_false(zcoap_resource_observable(NULL));
}

/* Other options around Uri-Path (Uri-Host 3, Observe 6, Content-Format 12, Uri-Query 15). */
static void path_matches_among_other_options(void **state)
{
    (void)state;
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, req_buf, sizeof(req_buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, 40));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_QUERY, "a"));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "x"));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "host"));
    assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "y"));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 4);
    zcoap_msg_t req;
    parse_ok(&req, req_buf, (size_t)n);
    assert_true(zcoap_path_matches(&req, "x/y"));
    assert_false(zcoap_path_matches(&req, "x/y/a"));
    assert_false(zcoap_path_matches(&req, "host/x/y"));
}

/* ---- link format ---------------------------------------------------------------------------- */

/* Like the ETSI plugtest server, plus a sensor and a hidden resource. */
static const zcoap_resource_t plugtest[] = {
    {"test", ZCOAP_METHODS_ALL, "rt=\"test\";ct=0", false, NULL},
    {"separate", GET_BIT, NULL, false, NULL},
    {"seg1/seg2/seg3", GET_BIT, NULL, false, NULL},
    {"query", GET_BIT, "title=\"Query resource\"", false, NULL},
    {"obs", GET_BIT, "obs;rt=\"observe\"", false, NULL},
    {"large", GET_BIT, "rt=\"block\";sz=1280", false, NULL},
    {"sensors/temp", GET_BIT, "rt=\"core.s temperature-c\";if=\"sensor\";ct=0", false, NULL},
    {"secret", GET_BIT, "rt=\"test\";ct=0", true, NULL},
};
#define PLUGTEST_N ARRAY_LEN(plugtest)

#define L_TEST "</test>;rt=\"test\";ct=0"
#define L_SEPARATE "</separate>"
#define L_SEG "</seg1/seg2/seg3>"
#define L_QUERY "</query>;title=\"Query resource\""
#define L_OBS "</obs>;obs;rt=\"observe\""
#define L_LARGE "</large>;rt=\"block\";sz=1280"
#define L_TEMP "</sensors/temp>;rt=\"core.s temperature-c\";if=\"sensor\";ct=0"
#define L_ALL L_TEST "," L_SEPARATE "," L_SEG "," L_QUERY "," L_OBS "," L_LARGE "," L_TEMP

static char out_buf[1024];

/* The listing of @p table for a GET /.well-known/core with @p query ("" or "?rt=x&..."). */
static void expect_links_at(const zcoap_resource_t *table, size_t n, const char *query,
                            const char *want, const char *file, int line)
{
    char ref[512];
    snprintf(ref, sizeof(ref), "/.well-known/core%s", query);
    zcoap_msg_t req = make_req(ZCOAP_GET, ref);
    memset(out_buf, 0x5A, sizeof(out_buf));
    ptrdiff_t got = zcoap_resource_link_format(table, n, &req, out_buf, sizeof(out_buf));
    size_t want_len = strlen(want);
    if (got != (ptrdiff_t)want_len || memcmp(out_buf, want, want_len + 1) != 0)
        print_error("%s:%d: query \"%s\"\n  got      (%td) %.*s\n  expected (%zu) %s\n", file, line,
                    query, got, got >= 0 ? (int)got : 0, out_buf, want_len, want);
    assert_zcoap_len(got, want_len);
    assert_memory_equal(out_buf, want, want_len + 1); /* NUL included */
}
#define expect_links(table, n, query, want)                                                        \
    expect_links_at((table), (n), (query), (want), __FILE__, __LINE__)
#define expect_plugtest(query, want) expect_links(plugtest, PLUGTEST_N, (query), (want))

static void link_format_full_listing(void **state)
{
    (void)state;
    /* LINK_01: everything but the hidden resource, in table order */
    expect_plugtest("", "</test>;rt=\"test\";ct=0,</separate>,</seg1/seg2/seg3>,</query>;"
                        "title=\"Query resource\",</obs>;obs;rt=\"observe\",</large>;rt=\"block\";"
                        "sz=1280,</sensors/temp>;rt=\"core.s temperature-c\";if=\"sensor\";ct=0");
    expect_plugtest("", L_ALL); /* the macros used below spell the same */
}

static void link_format_root_and_hidden(void **state)
{
    (void)state;
    const zcoap_resource_t root[] = {
        {"", GET_BIT, NULL, false, NULL},
        {"a", GET_BIT, "ct=40", false, NULL},
    };
    expect_links(root, ARRAY_LEN(root), "", "</>,</a>;ct=40");
    /* hidden first and last: no stray separators */
    const zcoap_resource_t hidden_ends[] = {
        {"h1", GET_BIT, NULL, true, NULL}, {"a", GET_BIT, NULL, false, NULL},
        {"h2", GET_BIT, NULL, true, NULL}, {"b", GET_BIT, NULL, false, NULL},
        {"h3", GET_BIT, NULL, true, NULL},
    };
    expect_links(hidden_ends, ARRAY_LEN(hidden_ends), "", "</a>,</b>");
    const zcoap_resource_t only_hidden[] = {{"h", GET_BIT, "rt=\"x\"", true, NULL}};
    expect_links(only_hidden, ARRAY_LEN(only_hidden), "", "");
    expect_links(only_hidden, ARRAY_LEN(only_hidden), "?rt=x", "");
    expect_links(plugtest, 0, "", "");
}

static void link_format_filter_rt(void **state)
{
    (void)state;
    /* LINK_02/04: rt is a space-separated list; any one value matches, whole values only */
    expect_plugtest("?rt=temperature-c", L_TEMP);
    expect_plugtest("?rt=core.s", L_TEMP);
    expect_plugtest("?rt=test", L_TEST); /* the hidden one has rt="test" too */
    expect_plugtest("?rt=observe", L_OBS);
    expect_plugtest("?rt=temperature", "");
    expect_plugtest("?rt=emperature-c", "");
    expect_plugtest("?rt=core", "");
    expect_plugtest("?rt=core.s%20temperature", "");
    expect_plugtest("?rt=tes", "");
    expect_plugtest("?rt=testx", "");
    /* LINK_05: a trailing '*' is a prefix match, against each value of the list */
    expect_plugtest("?rt=temp*", L_TEMP);
    expect_plugtest("?rt=te*", L_TEST "," L_TEMP);
    expect_plugtest("?rt=core.s*", L_TEMP);
    expect_plugtest("?rt=b*", L_LARGE);
    expect_plugtest("?rt=x*", "");
    expect_plugtest("?rt=core.s%20t*", ""); /* a prefix does not span two values */
    /* '*' alone: every link that has an rt attribute */
    expect_plugtest("?rt=*", L_TEST "," L_OBS "," L_LARGE "," L_TEMP);
}

static void link_format_filter_if_ct_sz(void **state)
{
    (void)state;
    expect_plugtest("?if=sensor", L_TEMP); /* LINK_03 */
    expect_plugtest("?if=sens*", L_TEMP);
    expect_plugtest("?if=senso", "");
    expect_plugtest("?if=*", L_TEMP); /* only the link that has an if */
    expect_plugtest("?ct=0", L_TEST "," L_TEMP);
    expect_plugtest("?ct=40", "");
    expect_plugtest("?ct=00", "");
    expect_plugtest("?sz=1280", L_LARGE); /* LINK_06 */
    expect_plugtest("?sz=128", "");
    expect_plugtest("?sz=12800", "");
    expect_plugtest("?sz=12*", L_LARGE);
    expect_plugtest("?sz=*", L_LARGE);
}

static void link_format_filter_href(void **state)
{
    (void)state;
    /* LINK_07/08: href is the link's URI, '/' included; '*' makes it a prefix */
    expect_plugtest("?href=/seg1/seg2/seg3", L_SEG);
    expect_plugtest("?href=/seg*", L_SEG);
    expect_plugtest("?href=/seg1/*", L_SEG);
    expect_plugtest("?href=/s*", L_SEPARATE "," L_SEG "," L_TEMP);
    expect_plugtest("?href=/test", L_TEST);
    expect_plugtest("?href=/seg1", "");
    expect_plugtest("?href=/seg1/seg2/seg3/x", "");
    expect_plugtest("?href=/secret", ""); /* hidden stays hidden */
    expect_plugtest("?href=*", L_ALL);
    expect_plugtest("?href=/*", L_ALL);
    const zcoap_resource_t root[] = {
        {"", GET_BIT, NULL, false, NULL},
        {"a", GET_BIT, NULL, false, NULL},
    };
    expect_links(root, ARRAY_LEN(root), "?href=/", "</>");
}

static void link_format_filter_valueless_and_quoted(void **state)
{
    (void)state;
    /* a value-less attribute matches the name alone, or with an empty value */
    expect_plugtest("?obs", L_OBS);
    expect_plugtest("?obs=", L_OBS);
    expect_plugtest("?ob", "");
    expect_plugtest("?observe", ""); /* a value, not an attribute name */
    /* quoted values compare without their quotes (RFC 6690 §4.1); title is not a list */
    expect_plugtest("?title=Query%20resource", L_QUERY);
    expect_plugtest("?title=Query*", L_QUERY);
    expect_plugtest("?title=Query", "");
    expect_plugtest("?title=resource", "");
    expect_plugtest("?title=Query%20resourc", "");
}

static void link_format_filter_several_and_unknown(void **state)
{
    (void)state;
    /* several Uri-Query options: all must match */
    expect_plugtest("?rt=test&ct=0", L_TEST);
    expect_plugtest("?ct=0&if=sensor", L_TEMP);
    expect_plugtest("?ct=0&rt=te*", L_TEST "," L_TEMP);
    expect_plugtest("?rt=test&if=sensor", "");
    expect_plugtest("?href=/s*&rt=*", L_TEMP);
    /* an attribute no link has, with or without a value */
    expect_plugtest("?foo", "");
    expect_plugtest("?foo=bar", "");
    expect_plugtest("?foo=*", "");
    expect_plugtest("?rt=test&foo", "");
    /* attribute names are whole: "r" is not "rt", "rtx" is not "rt" */
    expect_plugtest("?r=test", "");
    expect_plugtest("?rtx=test", "");
}

/* ';' and ',' inside a quoted value do not end the attribute (RFC 6690 §2 quoted-string). */
static void link_format_quoted_separator(void **state)
{
    (void)state;
    const zcoap_resource_t table[] = {
        {"q", GET_BIT, "title=\"a;ct=1,b\";ct=2", false, NULL},
    };
    const char *const want = "</q>;title=\"a;ct=1,b\";ct=2";
    expect_links(table, 1, "", want);
    expect_links(table, 1, "?ct=2", want);
    expect_links(table, 1, "?ct=1", "");
    expect_links(table, 1, "?title=a;ct=1,b", want);
}

/* The link's URI-Reference is percent-encoded where RFC 3986 pchar needs it (RFC 6690 §2);
 * an href filter compares the decoded query value with the decoded path. */
static void link_format_encoded_path(void **state)
{
    (void)state;
    const zcoap_resource_t table[] = {
        {"with space", GET_BIT, NULL, false, NULL},
        {"a", GET_BIT, NULL, false, NULL},
    };
    expect_links(table, ARRAY_LEN(table), "", "</with%20space>,</a>");
    expect_links(table, ARRAY_LEN(table), "?href=/with%20space", "</with%20space>");
    expect_links(table, ARRAY_LEN(table), "?href=/with*", "</with%20space>");
}

/* A quoted-pair (RFC 5988 via RFC 6690 §2: quoted-string) stands for the character it
 * escapes, so title="say \"hi\"" has the value: say "hi". */
static void link_format_filter_quoted_pair(void **state)
{
    (void)state;
    const zcoap_resource_t table[] = {
        {"q", GET_BIT, "title=\"say \\\"hi\\\"\";ct=0", false, NULL},
    };
    const char *const want = "</q>;title=\"say \\\"hi\\\"\";ct=0";
    expect_links(table, 1, "", want);
    expect_links(table, 1, "?ct=0", want); /* the escaped quote does not end the value */
    expect_links(table, 1, "?title=say%20%22hi%22", want);
    expect_links(table, 1, "?title=say%20%22h*", want);
}

/* href filters know no length limit the listing does not have. */
static void link_format_filter_href_long_path(void **state)
{
    (void)state;
    static char long_path[301];
    memset(long_path, 'p', sizeof(long_path) - 1);
    long_path[sizeof(long_path) - 1] = '\0';
    const zcoap_resource_t table[] = {{long_path, GET_BIT, NULL, false, NULL}};
    static char want[sizeof(long_path) + 3];
    snprintf(want, sizeof(want), "</%s>", long_path);
    expect_links(table, 1, "", want);
    expect_links(table, 1, "?href=*", want);
    expect_links(table, 1, "?href=/p*", want);
    /* An exact href= of this path cannot be asked: a Uri-Query holds at most 255 bytes. */
}

/* Filtering reads only Uri-Query: the request's path and other options do not matter. */
static void link_format_ignores_path(void **state)
{
    (void)state;
    zcoap_msg_t req = make_req(ZCOAP_GET, "/elsewhere/x?if=sensor");
    ptrdiff_t got =
        zcoap_resource_link_format(plugtest, PLUGTEST_N, &req, out_buf, sizeof(out_buf));
    assert_zcoap_len(got, strlen(L_TEMP));
    assert_string_equal(out_buf, L_TEMP);
}

/* Every capacity below the size needed fails with ENOSPC, writes nothing outside the buffer,
 * and leaves a NUL-terminated string inside it; cap = len + 1 fits exactly. */
static void check_capacities(const char *query, const char *want)
{
    enum { CANARY = 32 };
    char ref[128];
    snprintf(ref, sizeof(ref), "/.well-known/core%s", query);
    zcoap_msg_t req = make_req(ZCOAP_GET, ref);
    size_t len = strlen(want);
    char region[CANARY + 1024 + CANARY];
    assert_true(len + 1 <= 1024);
    for (size_t cap = 0; cap <= len + 1; cap++) {
        memset(region, 0x7E, sizeof(region));
        char *out = region + CANARY;
        ptrdiff_t got = zcoap_resource_link_format(plugtest, PLUGTEST_N, &req, out, cap);
        if (cap <= len) {
            if (got != ZCOAP_ENOSPC)
                print_error("query \"%s\" cap %zu\n", query, cap);
            assert_zcoap_err(got, ZCOAP_ENOSPC);
            if (cap > 0)
                assert_non_null(memchr(out, '\0', cap));
        } else {
            assert_zcoap_len(got, len);
            assert_memory_equal(out, want, len + 1);
        }
        for (size_t i = 0; i < CANARY; i++)
            assert_int_equal(region[i], 0x7E);
        for (size_t i = CANARY + cap; i < sizeof(region); i++) {
            if (region[i] != 0x7E)
                print_error("query \"%s\" cap %zu: byte %zu past the end written\n", query, cap,
                            i - CANARY - cap);
            assert_int_equal(region[i], 0x7E);
        }
    }
}

static void link_format_enospc(void **state)
{
    (void)state;
    check_capacities("", L_ALL);
    check_capacities("?ct=0", L_TEST "," L_TEMP);
    check_capacities("?href=/seg1/seg2/seg3", L_SEG);
}

static void link_format_empty_result_fits_in_one_byte(void **state)
{
    (void)state;
    zcoap_msg_t req = make_req(ZCOAP_GET, "/.well-known/core?rt=none");
    char out[3] = {'x', 'x', 'x'};
    assert_zcoap_len(zcoap_resource_link_format(plugtest, PLUGTEST_N, &req, out, 1), 0);
    assert_int_equal(out[0], '\0');
    assert_int_equal(out[1], 'x');
    assert_zcoap_err(zcoap_resource_link_format(plugtest, PLUGTEST_N, &req, out + 1, 0),
                     ZCOAP_ENOSPC);
    assert_int_equal(out[1], 'x');
}

static void link_format_einval(void **state)
{
    (void)state;
    zcoap_msg_t req = make_req(ZCOAP_GET, "/.well-known/core");
    assert_zcoap_err(zcoap_resource_link_format(plugtest, PLUGTEST_N, &req, NULL, 64),
                     ZCOAP_EINVAL);
    memset(out_buf, 0x5A, 8);
    assert_zcoap_err(zcoap_resource_link_format(NULL, 1, &req, out_buf, sizeof(out_buf)),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_resource_link_format(NULL, 3, &req, out_buf, sizeof(out_buf)),
                     ZCOAP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dispatch_root),
        cmocka_unit_test(dispatch_segments),
        cmocka_unit_test(dispatch_trailing_empty_segment),
        cmocka_unit_test(dispatch_methods),
        cmocka_unit_test(dispatch_shared_prefix_any_order),
        cmocka_unit_test(dispatch_hidden_is_served),
        cmocka_unit_test(dispatch_empty_table),
        cmocka_unit_test(path_matches_segments),
        cmocka_unit_test(path_matches_raw_segments),
        cmocka_unit_test(path_matches_deep_paths),
        cmocka_unit_test(observable_by_its_obs_attribute),
        cmocka_unit_test(path_matches_among_other_options),
        cmocka_unit_test(link_format_full_listing),
        cmocka_unit_test(link_format_root_and_hidden),
        cmocka_unit_test(link_format_filter_rt),
        cmocka_unit_test(link_format_filter_if_ct_sz),
        cmocka_unit_test(link_format_filter_href),
        cmocka_unit_test(link_format_filter_valueless_and_quoted),
        cmocka_unit_test(link_format_filter_several_and_unknown),
        cmocka_unit_test(link_format_quoted_separator),
        cmocka_unit_test(link_format_encoded_path),
        cmocka_unit_test(link_format_filter_quoted_pair),
        cmocka_unit_test(link_format_filter_href_long_path),
        cmocka_unit_test(link_format_ignores_path),
        cmocka_unit_test(link_format_enospc),
        cmocka_unit_test(link_format_empty_result_fits_in_one_byte),
        cmocka_unit_test(link_format_einval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
