/*
 * sha256_vectors: checks sha256.c against known digests: the FIPS 180-2 appendix examples
 * ("abc", the 448- and 896-bit messages, a million 'a'), the empty message, and runs of 'a' around
 * the padding boundaries (55, 56, 63, 64, 65, 119, 120 bytes: one or two final blocks; digests
 * from Python's hashlib). Each message is hashed whole and streamed in pieces of 1, 7 and 64
 * bytes. Exit 0 when every digest matches; registered with ctest by tests/uv/CMakeLists.txt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

struct vector {
    const char *text; /* NULL: `repeat` times 'a' */
    size_t repeat;
    const char *hex;
};

static const struct vector vectors[] = {
    {"abc", 0, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0,
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
     "opqrsmnopqrstnopqrstu",
     0, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    {NULL, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    {NULL, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
    {NULL, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
    {NULL, 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
    {NULL, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    {NULL, 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
    {NULL, 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
    {NULL, 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
};

/* The digest of @p msg fed in pieces of @p piece bytes (0: at once), in hex. */
static void digest_hex(const unsigned char *msg, size_t len, size_t piece,
                       char hex[SHA256_HEX_SIZE])
{
    sha256_t s;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&s);
    if (piece == 0) {
        sha256_update(&s, msg, len);
    } else {
        for (size_t off = 0; off < len; off += piece)
            sha256_update(&s, msg + off, len - off < piece ? len - off : piece);
    }
    sha256_final(&s, digest);
    sha256_hex(digest, hex);
}

int main(void)
{
    static const size_t pieces[] = {0, 1, 7, 64};
    int failures = 0, checks = 0;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct vector *v = &vectors[i];
        size_t len = v->text != NULL ? strlen(v->text) : v->repeat;
        unsigned char *msg = malloc(len + 1);
        if (msg == NULL)
            return 2;
        if (v->text != NULL)
            memcpy(msg, v->text, len);
        else
            memset(msg, 'a', len);
        for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
            char hex[SHA256_HEX_SIZE];
            digest_hex(msg, len, pieces[p], hex);
            checks++;
            if (strcmp(hex, v->hex) != 0) {
                printf("FAIL: vector %zu (%zu bytes, pieces of %zu): %s, expected %s\n", i, len,
                       pieces[p], hex, v->hex);
                failures++;
            }
        }
        free(msg);
    }
    printf("sha256: %d of %d digests match\n", checks - failures, checks);
    return failures == 0 ? 0 : 1;
}
