/*
 * qr.c: draws a QR code in the terminal with libqrencode's symbol and Unicode half blocks:
 * each character covers two rows of modules (upper half, lower half), so the code stays
 * square in a terminal whose cells are about twice as tall as wide.
 *
 * Light modules (and the quiet zone around the symbol) are drawn as the terminal's
 * foreground colour and dark modules are left blank, which reads correctly on the usual
 * light-text-on-dark-background terminal; scanners also accept the inverted image.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>

#include <qrencode.h>

#include "cli.h"

/* Modules of light border on each side (the specification asks for 4; 2 is enough for
 * phone scanners when the terminal's background frames it). */
#define QUIET_ZONE 2

/* 1 if module (x, y) of the bordered image is light. */
static int light_at(const QRcode *q, int x, int y)
{
    int w = q->width;

    x -= QUIET_ZONE;
    y -= QUIET_ZONE;
    if (x < 0 || y < 0 || x >= w || y >= w)
        return 1;
    return !(q->data[y * w + x] & 1u);
}

int cli_qr_print(FILE *out, const char *text)
{
    /* Indexed by (upper light) << 1 | (lower light). */
    static const char *const cell[4] = {" ", "\u2584", "\u2580", "\u2588"};
    QRcode *q;
    int size, x, y;

    if (!(q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1)))
        return -1;
    size = q->width + 2 * QUIET_ZONE;
    for (y = 0; y < size; y += 2) {
        for (x = 0; x < size; x++)
            fputs(cell[light_at(q, x, y) << 1 | light_at(q, x, y + 1)], out);
        fputc('\n', out);
    }
    QRcode_free(q);
    return 0;
}
