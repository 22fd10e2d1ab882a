/*
 * handle_link.c: LinkPut and LinkGet, the device-link rendezvous (PROTOCOL.md §11.3).
 *
 * A new device ("parley link") and an approving device ("parley approve CODE") swap two
 * sealed blobs through the server before the new device has credentials: the offer in slot
 * 0, the answer in slot 1, under a 16-byte rendezvous id both derive from the code. The
 * server sees only ciphertext and the id, so both requests need no authentication; they run
 * on the loop thread against srv->links (link_table.h) and never reach the store. Cheap
 * checks first: the validator has checked lengths and the slot; LinkPut then takes a token
 * of its address's limit (PL_SERVER_LINK_PUTS_PER_MINUTE) before touching the table.
 */
#include <string.h>

#include "clock.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

#define ST(x) PARLEY__STATUS_CODE__STATUS_##x

void pl_handle_link_put(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    const Parley__LinkPut *m = f->request->link_put;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__Empty empty = PARLEY__EMPTY__INIT;
    uint64_t now = pl_clock_mono_ns();
    uint32_t retry_ms;
    int r;

    (void)frame_bytes;
    if (!pl_addr_limit_take(&c->srv->link_puts, c->peer_ip, now, &retry_ms)) {
        pl_refuse(c, slot, f, ST(RATE_LIMITED),
                  "too many link requests from this address; retry later", retry_ms);
        return;
    }
    r = pl_link_table_put(&c->srv->links, m->rendezvous.data, m->slot, m->blob.data, m->blob.len,
                          now, &retry_ms);
    switch (r) {
    case PL_LINK_OK:
        break;
    case PL_LINK_E_TAKEN:
        pl_refuse(c, slot, f, ST(LINK_SLOT_TAKEN), "that slot of the link was written already", 0);
        return;
    case PL_LINK_E_FULL:
        /* SERVER_BUSY would close the connection (§11.5); this is a retry-later refusal. */
        pl_log(PL_CONFIG_LOG_WARN, "link table full", PL_LOG_U64("conn", c->id),
               PL_LOG_STR("peer", c->peer));
        pl_refuse(c, slot, f, ST(RATE_LIMITED), "too many pending links; retry later", retry_ms);
        return;
    default:
        pl_refuse(c, slot, f, ST(INTERNAL), "out of memory", 0);
        return;
    }
    pl_metrics_inc(m->slot == 0 ? PL_M_LINK_OFFERS : PL_M_LINK_ANSWERS);
    pl_response_ok(&resp, &st, f->request->id, PARLEY__RESPONSE__BODY_LINK_PUT, &empty);
    pl_conn_reply_finish(c, slot, &resp);
    pl_frame_client_free(f);
}

void pl_handle_link_get(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    const Parley__LinkGet *m = f->request->link_get;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__LinkBlob body = PARLEY__LINK_BLOB__INIT;
    uint8_t blob[PL_WIRE_LINK_MAX_BLOB_BYTES];
    size_t len;

    (void)frame_bytes;
    if (pl_link_table_get(&c->srv->links, m->rendezvous.data, m->slot, pl_clock_mono_ns(), blob,
                          &len) != PL_LINK_OK) {
        /* Clients poll about once a second until the other side has written the slot. */
        pl_refuse(c, slot, f, ST(NOT_FOUND), "nothing in that slot of the link (yet)", 0);
        return;
    }
    if (m->slot == 1)
        pl_metrics_inc(PL_M_LINKS_COMPLETED);
    body.blob.data = blob;
    body.blob.len = len;
    pl_response_ok(&resp, &st, f->request->id, PARLEY__RESPONSE__BODY_LINK_GET, &body);
    pl_conn_reply_finish(c, slot, &resp);
    pl_frame_client_free(f);
}
