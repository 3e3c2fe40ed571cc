/*
 * codec_tour: the zcoap message codec in one page, no network.
 *
 * Builds the typical request of a gateway (CON GET, 4-byte token, Uri-Path sensors/temp,
 * Uri-Query unit=c, Accept application/json), prints it as hex and as one line, parses it back
 * (no copy: the view points into the buffer), walks its options, and composes the URI back from
 * them (RFC 7252 §6.5). Then decomposes a URI with "." and ".." segments and percent-encoding
 * (RFC 7252 §6.4).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zcoap/zcoap.h"

static void print_hex(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        printf("%02x%s", buf[i], (i + 1) % 16 == 0 || i + 1 == len ? "\n" : " ");
    }
}

static void print_message(const zcoap_msg_t *msg)
{
    char line[1024];
    if (zcoap_msg_print(msg, line, sizeof line) >= 0) {
        printf("  %s\n", line);
    }
}

/* One option per line, its value decoded by the option's format (RFC 7252 §3.2). */
static void print_option(const zcoap_opt_t *opt)
{
    const zcoap_opt_def_t *def = zcoap_opt_def(opt->num);
    const char *name = def != NULL ? def->name : "(unknown)";
    uint32_t value = 0;
    printf("  %3u %-15s %u byte(s)  ", (unsigned)opt->num, name, (unsigned)opt->len);
    if (def != NULL && def->format == ZCOAP_OPT_FMT_UINT && zcoap_opt_uint(opt, &value) == 0) {
        const char *cf = NULL;
        if (opt->num == ZCOAP_OPT_ACCEPT || opt->num == ZCOAP_OPT_CONTENT_FORMAT) {
            cf = zcoap_content_format_name((uint16_t)value);
        }
        printf("uint %u%s%s%s\n", (unsigned)value, cf ? " (" : "", cf ? cf : "", cf ? ")" : "");
    } else if (def != NULL && def->format == ZCOAP_OPT_FMT_STRING) {
        printf("\"%.*s\"\n", (int)opt->len, (const char *)opt->val);
    } else {
        printf("opaque ");
        print_hex(opt->val, opt->len);
        if (opt->len == 0) {
            printf("(empty)\n");
        }
    }
}

static int tour_typical_request(void)
{
    static const uint8_t token[] = {0xca, 0xfe, 0x00, 0x01};
    uint8_t buf[ZCOAP_MAX_MSG_SIZE];
    zcoap_builder_t b;

    /* Options in any order: the builder emits them sorted, repeats keep their order. */
    zcoap_builder_init(&b, buf, sizeof buf, ZCOAP_TYPE_CON, ZCOAP_GET, 0x1234, token, sizeof token);
    zcoap_builder_add_uint(&b, ZCOAP_OPT_ACCEPT, ZCOAP_CF_JSON);
    zcoap_builder_add_str(&b, ZCOAP_OPT_URI_QUERY, "unit=c");
    zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "sensors");
    zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "temp");
    ptrdiff_t len = zcoap_builder_finish(&b); /* errors are sticky: one check covers all adds */
    if (len < 0) {
        fprintf(stderr, "build failed: %s\n", zcoap_strerror((int)len));
        return 1;
    }

    printf("The typical request, %td bytes on the wire:\n", len);
    print_hex(buf, (size_t)len);

    zcoap_msg_t msg;
    int rc = zcoap_msg_parse(&msg, buf, (size_t)len);
    if (rc != ZCOAP_OK) {
        fprintf(stderr, "parse failed: %s\n", zcoap_err_name(rc));
        return 1;
    }
    printf("Parsed back (a view into those bytes):\n");
    print_message(&msg);

    printf("Options in wire order:\n");
    zcoap_opt_iter_t it;
    zcoap_opt_t opt;
    zcoap_opt_iter_init(&it, &msg);
    while (zcoap_opt_iter_next(&it, &opt)) {
        print_option(&opt);
    }

    char uri[256];
    ptrdiff_t uri_len =
        zcoap_msg_uri(&msg, false, "192.0.2.1", ZCOAP_DEFAULT_PORT, uri, sizeof uri);
    if (uri_len < 0) {
        fprintf(stderr, "URI composition failed: %s\n", zcoap_err_name((int)uri_len));
        return 1;
    }
    printf("URI composed from the options, sent to 192.0.2.1 (RFC 7252 §6.5):\n  %s\n\n", uri);
    return 0;
}

static int tour_uri_decomposition(void)
{
    static const char uri[] = "coap://[2001:db8::1]:61616/a/./b/../%7Euser/x%20y?q=1&r";
    uint8_t buf[256];
    zcoap_builder_t b;
    zcoap_uri_t parts;

    zcoap_builder_init(&b, buf, sizeof buf, ZCOAP_TYPE_NON, ZCOAP_PUT, 7, NULL, 0);
    int rc = zcoap_builder_add_uri(&b, uri, strlen(uri), ZCOAP_URI_OPT_DEFAULT, &parts);
    ptrdiff_t len = zcoap_builder_finish(&b);
    if (rc != ZCOAP_OK || len < 0) {
        fprintf(stderr, "URI decomposition failed: %s\n", zcoap_err_name(rc != 0 ? rc : (int)len));
        return 1;
    }
    printf("URI decomposed into options (RFC 7252 §6.4):\n  %s\n", uri);
    printf("  host %.*s (literal: %s), port %u\n", (int)parts.host_len, parts.host,
           parts.host_is_literal ? "yes" : "no", (unsigned)parts.port);

    zcoap_msg_t msg;
    rc = zcoap_msg_parse(&msg, buf, (size_t)len);
    if (rc != ZCOAP_OK) {
        fprintf(stderr, "parse failed: %s\n", zcoap_err_name(rc));
        return 1;
    }
    print_message(&msg);

    char path[256];
    if (zcoap_msg_path(&msg, false, path, sizeof path) < 0) {
        fprintf(stderr, "path composition failed\n");
        return 1;
    }
    printf("  and back to a path: %s\n", path);
    return 0;
}

int main(void)
{
    printf("zcoap %s codec tour\n\n", zcoap_version());
    if (tour_typical_request() != 0 || tour_uri_decomposition() != 0) {
        return 1;
    }
    return 0;
}
