#include "reply_reader.h"

namespace mxring::tools::bench {

void ReplyReader::feed(std::string_view bytes, std::vector<ReplyView>& out) {
  // The replies handed out last time are no longer looked at.
  pending_.erase(0, consumed_);
  pending_.append(bytes);
  std::size_t start = 0;  // of the reply being assembled
  std::size_t line = 0;   // of the line being looked at
  for (;;) {
    const auto end = pending_.find("\r\n", line);
    if (end == std::string::npos) break;
    const std::string_view text(pending_.data() + line, end - line);
    const bool last = text.size() < 4 || text[3] != '-';
    line = end + 2;
    if (!last) continue;
    ReplyView reply;
    reply.text = std::string_view(pending_).substr(start, end - start);
    const bool digits = text.size() >= 3 && text[0] >= '2' && text[0] <= '5' && text[1] >= '0' &&
                        text[1] <= '9' && text[2] >= '0' && text[2] <= '9';
    if (digits && (text.size() == 3 || text[3] == ' '))
      reply.code = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
    out.push_back(reply);
    start = line;
  }
  consumed_ = start;
}

void ReplyReader::feed(std::string_view bytes, std::vector<Reply>& out) {
  std::vector<ReplyView> views;
  feed(bytes, views);
  for (const auto& view : views) out.push_back({view.code, std::string(view.text)});
}

}  // namespace mxring::tools::bench
