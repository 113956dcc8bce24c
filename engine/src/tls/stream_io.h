// The I/O callbacks every mxring wolfSSL context carries (implemented by TlsStream): read
// from the slice being fed, append to the outgoing buffer.
#pragma once

#include "wolfssl.h"

namespace mxring::engine::tls {

int stream_receive(WOLFSSL* ssl, char* buffer, int size, void* stream);
int stream_send(WOLFSSL* ssl, char* buffer, int size, void* stream);

}  // namespace mxring::engine::tls
