/*
 * tls_cert.c: the self-signed certificate in DATA/tls, fingerprints, key-file loading, and
 * the TLS layer's error strings.
 *
 * The generated key is ECDSA P-256 rather than Ed25519: every TLS 1.3 stack offers
 * ecdsa_secp256r1_sha256, while Ed25519 certificates are refused by several platform TLS
 * libraries a mobile client may use. Clients pin the certificate's SHA-256 fingerprint.
 *
 * Files are written durably: a temporary name created with O_CREAT|O_EXCL (mode 0600 for
 * the key, so it is never readable by others even for an instant), write, fsync, close,
 * rename, then fsync of the directory.
 */
#define _XOPEN_SOURCE 700 /* openat, renameat, fsync, O_CLOEXEC */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls_cert.h"

#define KEY_TMP_NAME "." PL_TLS_KEY_FILE ".tmp"
#define CERT_TMP_NAME "." PL_TLS_CERT_FILE ".tmp"
#define SERIAL_BITS 159 /* RFC 5280 §4.1.2.2: at most 20 octets, positive */

const char *pl_tls_strerror(int code)
{
    switch (code) {
#define PL__TLS_ERR_STR(name, value, msg)                                                          \
    case (value):                                                                                  \
        return (msg);
        PL_TLS_ERRNO_MAP(PL__TLS_ERR_STR)
#undef PL__TLS_ERR_STR
    }
    return "unknown error";
}

const char *pl_tls_errname(int code)
{
    switch (code) {
#define PL__TLS_ERR_NAME(name, value, msg)                                                         \
    case (value):                                                                                  \
        return "PL_TLS_" #name;
        PL_TLS_ERRNO_MAP(PL__TLS_ERR_NAME)
#undef PL__TLS_ERR_NAME
    }
    return "PL_TLS_E_UNKNOWN";
}

int pl__tls_fail(int code, int with_openssl, char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    unsigned long e = with_openssl ? ERR_peek_last_error() : 0;
    const char *reason;
    size_t used;

    if (err && err_len > 0) {
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
        used = strlen(err);
        if (e != 0 && used + 1 < err_len) {
            /* Only OpenSSL's static reason text: it names what failed, never key bytes. */
            reason = ERR_reason_error_string(e);
            snprintf(err + used, err_len - used, " (%s)", reason ? reason : "unknown reason");
        }
    }
    ERR_clear_error();
    return code;
}

/* A passphrase callback that refuses: an encrypted key is an error, never a tty prompt. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

int pl_tls_cert_default_paths(const char *data_dir, char *cert_path, char *key_path, size_t cap)
{
    int a, b;

    a = snprintf(cert_path, cap, "%s/%s/%s", data_dir, PL_TLS_DIR, PL_TLS_CERT_FILE);
    b = snprintf(key_path, cap, "%s/%s/%s", data_dir, PL_TLS_DIR, PL_TLS_KEY_FILE);
    if (a < 0 || b < 0 || (size_t)a >= cap || (size_t)b >= cap)
        return PL_TLS_E_INVALID_ARG;
    return PL_TLS_OK;
}

int pl_tls_cert_fingerprint(const X509 *cert, char out[PL_TLS_FINGERPRINT_BYTES])
{
    static const char digits[] = "0123456789ABCDEF";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    out[0] = '\0';
    if (!X509_digest(cert, EVP_sha256(), md, &n) || n != 32) {
        ERR_clear_error();
        return PL_TLS_E_CRYPTO;
    }
    for (unsigned int i = 0; i < n; i++) {
        out[3 * i] = digits[md[i] >> 4];
        out[3 * i + 1] = digits[md[i] & 15];
        out[3 * i + 2] = (i + 1 < n) ? ':' : '\0';
    }
    return PL_TLS_OK;
}

int pl_tls_cert_fingerprint_file(const char *path, char out[PL_TLS_FINGERPRINT_BYTES], char *err,
                                 size_t err_len)
{
    FILE *f;
    X509 *x;
    int r;

    out[0] = '\0';
    if (!(f = fopen(path, "re")))
        return pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s: %s", path, strerror(errno));
    x = PEM_read_X509(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!x)
        return pl__tls_fail(PL_TLS_E_BAD_CERT, 1, err, err_len, "%s: no PEM certificate", path);
    r = pl_tls_cert_fingerprint(x, out);
    X509_free(x);
    if (r != PL_TLS_OK)
        return pl__tls_fail(r, 1, err, err_len, "%s: cannot hash the certificate", path);
    return PL_TLS_OK;
}

/* Refuses a key that group or others may read, write or execute: 0600 or 0400 only. */
static int check_key_mode(const char *path, const struct stat *st, char *err, size_t err_len)
{
    if (!S_ISREG(st->st_mode))
        return pl__tls_fail(PL_TLS_E_BAD_KEY, 0, err, err_len, "%s: not a regular file", path);
    if (st->st_mode & (S_IRWXG | S_IRWXO))
        return pl__tls_fail(PL_TLS_E_KEY_PERMISSIONS, 0, err, err_len,
                            "%s: private key file is accessible by group or others (mode %04o); "
                            "run chmod 600 on it",
                            path, (unsigned)(st->st_mode & 07777));
    return PL_TLS_OK;
}

int pl_tls_key_load(const char *path, EVP_PKEY **out, char *err, size_t err_len)
{
    unsigned char chunk[4096];
    struct stat st;
    BIO *mem = NULL;
    EVP_PKEY *pkey = NULL;
    size_t total = 0;
    ssize_t got;
    int fd = -1, r;

    *out = NULL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
        r = pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s: %s", path, strerror(errno));
        goto out;
    }
    /* fstat the descriptor we read from, so the checked file is the loaded one. */
    if (fstat(fd, &st) != 0) {
        r = pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s: %s", path, strerror(errno));
        goto out;
    }
    if ((r = check_key_mode(path, &st, err, err_len)) != PL_TLS_OK)
        goto out;
    /* A secure-memory BIO wipes the PEM text when freed. */
    if (!(mem = BIO_new(BIO_s_secmem()))) {
        r = pl__tls_fail(PL_TLS_E_NOMEM, 1, err, err_len, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        got = read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        total += (size_t)got;
        if (total > PL_TLS_KEY_FILE_MAX_BYTES) {
            r = pl__tls_fail(PL_TLS_E_BAD_KEY, 0, err, err_len, "%s: larger than %d bytes", path,
                             PL_TLS_KEY_FILE_MAX_BYTES);
            goto out;
        }
        if (BIO_write(mem, chunk, (int)got) != (int)got) {
            r = pl__tls_fail(PL_TLS_E_NOMEM, 1, err, err_len, "%s: out of memory", path);
            goto out;
        }
    }
    if (!(pkey = PEM_read_bio_PrivateKey(mem, NULL, no_passphrase, NULL))) {
        r = pl__tls_fail(PL_TLS_E_BAD_KEY, 1, err, err_len, "%s: no unencrypted PEM private key",
                         path);
        goto out;
    }
    *out = pkey;
    pkey = NULL;
    r = PL_TLS_OK;
out:
    OPENSSL_cleanse(chunk, sizeof chunk);
    EVP_PKEY_free(pkey);
    BIO_free(mem);
    if (fd >= 0)
        close(fd);
    return r;
}

static int is_ip_literal(const char *name)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* A DNS name: labels of letters, digits and '-', separated by single dots; "*." may lead. */
static int is_dns_name(const char *name)
{
    size_t len = strlen(name), label = 0;
    const char *p = name;

    if (len == 0 || len > PL_TLS_CERT_MAX_NAME_LEN)
        return 0;
    if (p[0] == '*' && p[1] == '.')
        p += 2;
    if (*p == '\0')
        return 0;
    for (; *p; p++) {
        char c = *p;
        if (c == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-') {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

static int add_san(GENERAL_NAMES *gens, const char *name)
{
    GENERAL_NAME *g = NULL;
    ASN1_OCTET_STRING *ip = NULL;
    ASN1_IA5STRING *dns = NULL;

    if (!(g = GENERAL_NAME_new()))
        goto fail;
    if (is_ip_literal(name)) {
        if (!(ip = a2i_IPADDRESS(name)))
            goto fail;
        GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
        ip = NULL;
    } else {
        if (!(dns = ASN1_IA5STRING_new()) || !ASN1_STRING_set(dns, name, (int)strlen(name)))
            goto fail;
        GENERAL_NAME_set0_value(g, GEN_DNS, dns);
        dns = NULL;
    }
    if (!sk_GENERAL_NAME_push(gens, g))
        goto fail;
    return 1;
fail:
    ASN1_OCTET_STRING_free(ip);
    ASN1_IA5STRING_free(dns);
    GENERAL_NAME_free(g);
    return 0;
}

static int add_conf_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    if (!(ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value)))
        return 0;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* Builds the key and the self-signed certificate. Names were validated by the caller. */
static int make_self_signed(const char *const *extra, size_t n_extra, EVP_PKEY **pkey_out,
                            X509 **x_out)
{
    static const char *const base_names[] = {"localhost", "127.0.0.1", "::1"};
    EVP_PKEY *pkey = NULL;
    X509 *x = NULL;
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial = NULL;
    X509_NAME *subject;
    GENERAL_NAMES *gens = NULL;
    const char *cn = n_extra > 0 ? extra[0] : "localhost";
    int ok = 0;

    *pkey_out = NULL;
    *x_out = NULL;
    if (!(pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")))
        goto out;
    if (!(x = X509_new()) || !X509_set_version(x, X509_VERSION_3))
        goto out;
    if (!(bn = BN_new()) || !BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        !(serial = BN_to_ASN1_INTEGER(bn, NULL)) || !X509_set_serialNumber(x, serial))
        goto out;
    /* Backdated an hour so a client whose clock lags a little still accepts it. */
    if (!X509_gmtime_adj(X509_getm_notBefore(x), -60 * 60) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), PL_TLS_CERT_VALID_DAYS, 0, NULL))
        goto out;
    subject = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_issuer_name(x, subject) || !X509_set_pubkey(x, pkey))
        goto out;
    if (!add_conf_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_conf_ext(x, NID_key_usage, "critical,digitalSignature") ||
        !add_conf_ext(x, NID_ext_key_usage, "serverAuth") ||
        !add_conf_ext(x, NID_subject_key_identifier, "hash"))
        goto out;
    /* subjectAltName is built from GENERAL_NAMEs, not a config string, so no name can inject
     * a second entry with a comma. */
    if (!(gens = sk_GENERAL_NAME_new_null()))
        goto out;
    for (size_t i = 0; i < sizeof base_names / sizeof base_names[0]; i++)
        if (!add_san(gens, base_names[i]))
            goto out;
    for (size_t i = 0; i < n_extra; i++) {
        int dup = 0;
        for (size_t j = 0; j < sizeof base_names / sizeof base_names[0]; j++)
            dup |= strcmp(extra[i], base_names[j]) == 0;
        for (size_t j = 0; j < i; j++)
            dup |= strcmp(extra[i], extra[j]) == 0;
        if (!dup && !add_san(gens, extra[i]))
            goto out;
    }
    if (!X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT))
        goto out;
    if (X509_sign(x, pkey, EVP_sha256()) <= 0)
        goto out;
    *pkey_out = pkey;
    pkey = NULL;
    *x_out = x;
    x = NULL;
    ok = 1;
out:
    GENERAL_NAMES_free(gens);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return ok;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Creates dir/name fresh (O_EXCL, never following a link) with mode, writes, fsyncs. */
static int write_new_file(int dfd, const char *dir, const char *name, mode_t mode,
                          const unsigned char *p, size_t len, char *err, size_t err_len)
{
    int fd, saved;

    /* A leftover from a crash is ours (the name is private); remove it so O_EXCL works. */
    if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
        return pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s/%s: %s", dir, name, strerror(errno));
    fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s/%s: %s", dir, name, strerror(errno));
    if (write_all(fd, p, len) != 0 || fsync(fd) != 0) {
        saved = errno;
        close(fd);
        unlinkat(dfd, name, 0);
        return pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s/%s: %s", dir, name, strerror(saved));
    }
    if (close(fd) != 0) {
        saved = errno;
        unlinkat(dfd, name, 0);
        return pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s/%s: %s", dir, name, strerror(saved));
    }
    return PL_TLS_OK;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

    if (fd < 0)
        return -1;
    r = fsync(fd);
    close(fd);
    return r;
}

/* 1 if path exists, 0 if not, -1 (errno set) if it cannot be told. */
static int exists(const char *path)
{
    struct stat st;

    if (lstat(path, &st) == 0)
        return 1;
    return errno == ENOENT ? 0 : -1;
}

static int generate(const char *tls_dir, const char *const *extra, size_t n_extra, char *err,
                    size_t err_len)
{
    EVP_PKEY *pkey = NULL;
    X509 *x = NULL;
    BIO *key_pem = NULL, *cert_pem = NULL;
    char *kp, *cp;
    long klen, clen;
    int dfd = -1, r;

    if (!make_self_signed(extra, n_extra, &pkey, &x)) {
        r = pl__tls_fail(PL_TLS_E_CRYPTO, 1, err, err_len, "cannot create a certificate");
        goto out;
    }
    if (!(key_pem = BIO_new(BIO_s_secmem())) || !(cert_pem = BIO_new(BIO_s_mem())) ||
        !PEM_write_bio_PrivateKey(key_pem, pkey, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509(cert_pem, x)) {
        r = pl__tls_fail(PL_TLS_E_CRYPTO, 1, err, err_len, "cannot encode the certificate");
        goto out;
    }
    klen = BIO_get_mem_data(key_pem, &kp);
    clen = BIO_get_mem_data(cert_pem, &cp);
    if ((dfd = open(tls_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        r = pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s: %s", tls_dir, strerror(errno));
        goto out;
    }
    if ((r = write_new_file(dfd, tls_dir, KEY_TMP_NAME, 0600, (const unsigned char *)kp,
                            (size_t)klen, err, err_len)) != PL_TLS_OK)
        goto out;
    if ((r = write_new_file(dfd, tls_dir, CERT_TMP_NAME, 0644, (const unsigned char *)cp,
                            (size_t)clen, err, err_len)) != PL_TLS_OK) {
        unlinkat(dfd, KEY_TMP_NAME, 0);
        goto out;
    }
    /* Key first: a crash between the renames leaves key.pem alone, which the next start
     * reports as PL_TLS_E_CERT_PARTIAL instead of serving a certificate without its key. */
    if (renameat(dfd, KEY_TMP_NAME, dfd, PL_TLS_KEY_FILE) != 0 ||
        renameat(dfd, CERT_TMP_NAME, dfd, PL_TLS_CERT_FILE) != 0) {
        r = pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s: rename: %s", tls_dir, strerror(errno));
        unlinkat(dfd, KEY_TMP_NAME, 0);
        unlinkat(dfd, CERT_TMP_NAME, 0);
        goto out;
    }
    if (fsync(dfd) != 0) {
        r = pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s: fsync: %s", tls_dir, strerror(errno));
        goto out;
    }
    r = PL_TLS_OK;
out:
    if (dfd >= 0)
        close(dfd);
    BIO_free(key_pem); /* secure memory: wiped on free */
    BIO_free(cert_pem);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return r;
}

int pl_tls_cert_ensure(const char *data_dir, const char *const *extra_names, size_t n_extra,
                       int *created, char *err, size_t err_len)
{
    char tls_dir[4096], cert_path[4096], key_path[4096];
    struct stat st;
    int have_cert, have_key, made_dir = 0, r;

    if (created)
        *created = 0;
    if (err && err_len > 0)
        err[0] = '\0';
    if (!data_dir || (n_extra > 0 && !extra_names))
        return pl__tls_fail(PL_TLS_E_INVALID_ARG, 0, err, err_len, "no data directory given");
    if (n_extra > PL_TLS_CERT_MAX_EXTRA_NAMES)
        return pl__tls_fail(PL_TLS_E_INVALID_ARG, 0, err, err_len,
                            "more than %d extra certificate names", PL_TLS_CERT_MAX_EXTRA_NAMES);
    for (size_t i = 0; i < n_extra; i++)
        if (!extra_names[i] || (!is_ip_literal(extra_names[i]) && !is_dns_name(extra_names[i])))
            return pl__tls_fail(PL_TLS_E_INVALID_ARG, 0, err, err_len,
                                "certificate name %zu is neither a DNS name nor an IP address",
                                i + 1);
    if (snprintf(tls_dir, sizeof tls_dir, "%s/%s", data_dir, PL_TLS_DIR) >= (int)sizeof tls_dir ||
        pl_tls_cert_default_paths(data_dir, cert_path, key_path, sizeof cert_path) != PL_TLS_OK)
        return pl__tls_fail(PL_TLS_E_INVALID_ARG, 0, err, err_len, "data directory path too long");

    if (mkdir(tls_dir, 0700) == 0) {
        made_dir = 1;
    } else if (errno != EEXIST) {
        return pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s: %s", tls_dir, strerror(errno));
    }
    if (stat(tls_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s: not a directory", tls_dir);
    /* The new directory's entry in data_dir must be durable too. */
    if (made_dir && fsync_dir(data_dir) != 0)
        return pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s: fsync: %s", data_dir,
                            strerror(errno));

    have_cert = exists(cert_path);
    have_key = exists(key_path);
    if (have_cert < 0 || have_key < 0)
        return pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s: %s",
                            have_cert < 0 ? cert_path : key_path, strerror(errno));
    if (have_cert && have_key) {
        if (stat(key_path, &st) != 0)
            return pl__tls_fail(PL_TLS_E_IO, 0, err, err_len, "%s: %s", key_path, strerror(errno));
        return check_key_mode(key_path, &st, err, err_len);
    }
    if (have_cert || have_key)
        return pl__tls_fail(PL_TLS_E_CERT_PARTIAL, 0, err, err_len,
                            "%s exists but %s does not; refusing to overwrite it: restore the "
                            "missing file, or remove both to generate a new certificate",
                            have_cert ? cert_path : key_path, have_cert ? key_path : cert_path);
    if ((r = generate(tls_dir, extra_names, n_extra, err, err_len)) != PL_TLS_OK)
        return r;
    if (created)
        *created = 1;
    return PL_TLS_OK;
}
