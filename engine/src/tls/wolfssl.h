// wolfSSL's headers in the order its build needs (options.h first, so the structures match
// the library's configuration), and the one-time library initialisation.
#pragma once

#include <wolfssl/options.h>
// options.h must come first.
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/ecc.h>

namespace mxring::engine::tls {

// wolfSSL_Init, once per process, from whichever thread gets here first.
void initialise_library();

// Frees what wolfSSL keeps per thread (its fixed-point ECC tables, ~3 MB once a thread has
// done a few handshakes): called by each reactor thread as it ends.
void release_thread_state();

}  // namespace mxring::engine::tls
