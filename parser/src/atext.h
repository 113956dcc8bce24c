// The octets RFC 5322 §3.2.3 allows in an atom besides letters and digits. Shared by the
// scalar class table (char_class.h) and the mailbox kernel (kernels/mailbox_vbmi.h), so
// includes nothing: kernel files may not pull in standard-library code.
#pragma once

namespace mxring::parser::detail {

inline constexpr char kAtextSpecials[] = "!#$%&'*+-/=?^_`{|}~";

}  // namespace mxring::parser::detail
