/*
 * webview.h - the web view handlers (api/webview.c), listed in api_routes:
 *   GET  /                  open incidents and active silences (HTML, meta refresh)
 *   POST /ui/ack/{id}       the page's Acknowledge button (csrf field + Origin check)
 *   POST /ui/expire/{id}    the page's Expire button for a silence
 * ctx = struct api *.
 */
#ifndef AMR_API_WEBVIEW_H
#define AMR_API_WEBVIEW_H

#include "api/server.h"

void api_h_web_index(void *ctx, const struct http_request *req, struct http_response *resp);
void api_h_web_ack(void *ctx, const struct http_request *req, struct http_response *resp);
void api_h_web_expire(void *ctx, const struct http_request *req, struct http_response *resp);

#endif
