// What a parsed PROXY header says about the client: its socket address and the v2 TLVs
// mxring records (the balancer's TLS facts and SNI).
#pragma once

#include <sys/socket.h>

#include "mxring/engine/envelope.h"
#include "mxring/parser/proxy_header.h"

namespace mxring::engine {

// The client's address (for `proxied`; the TCP peer is kept for `local`). False when a v1
// address is not a valid numeric address of its family.
bool proxied_client(const parser::ProxyHeader& header, sockaddr_storage& client);

// Fills authority, tls_version and tls_cipher from the v2 TLVs (peer is the caller's).
void read_proxy_tlvs(const parser::ProxyHeader& header, ProxyInfo& info);

}  // namespace mxring::engine
