// Envelope → JSON, shared by `show`, `export --format jsonl` and `tail`.
#include "envelope_json.h"

#include <ctime>

namespace mxring::tools::spool {

std::string iso_time(std::int64_t unix_us) {
  const auto seconds = static_cast<std::time_t>(unix_us / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%06lldZ", static_cast<long long>(unix_us % 1'000'000));
  return text;
}

nlohmann::json envelope_json(const engine::spool::RecordView& record) {
  const auto envelope = engine::spool::decode_envelope(record);
  nlohmann::json j;
  const auto& h = record.header;
  j["queue_id"] = std::string(h.queue_id.view());
  j["received_at"] = iso_time(h.received_at_us);
  j["stored_at"] = iso_time(h.stored_at_us);
  j["message_size"] = h.message_length;
  if (!envelope) {
    j["error"] = "undecodable envelope";
    return j;
  }
  const auto& e = *envelope;
  j["client"] = {{"address", e.client_address}, {"port", e.client_port}};
  j["listener"] = e.listener;
  j["role"] = std::string(engine::role_name(e.role));
  j["helo"] = e.helo;
  j["esmtp"] = e.esmtp;
  j["tls"] = e.tls.version.empty()
                 ? nlohmann::json(nullptr)
                 : nlohmann::json{
                       {"version", e.tls.version}, {"cipher", e.tls.cipher}, {"sni", e.tls.sni}};
  j["auth"] = e.auth_identity.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.auth_identity);
  j["mail_from"] = e.mail_from;
  constexpr const char* kBodies[] = {nullptr, "7BIT", "8BITMIME", "BINARYMIME"};
  const auto body = static_cast<std::size_t>(e.body);
  j["body"] = body > 0 && body < 4 ? nlohmann::json(kBodies[body]) : nlohmann::json(nullptr);
  j["smtputf8"] = e.smtputf8;
  j["requiretls"] = e.requiretls;
  j["ret"] = e.ret == parser::Ret::full      ? nlohmann::json("FULL")
             : e.ret == parser::Ret::headers ? nlohmann::json("HDRS")
                                             : nlohmann::json(nullptr);
  j["envid"] = e.envid.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.envid);
  j["mail_auth"] = e.mail_auth.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.mail_auth);
  j["declared_size"] = e.declared_size;
  j["recipients"] = nlohmann::json::array();
  for (const auto& r : e.recipients) {
    nlohmann::json notify = nlohmann::json::array();
    if (r.notify & parser::kNotifyNever) notify.push_back("NEVER");
    if (r.notify & parser::kNotifySuccess) notify.push_back("SUCCESS");
    if (r.notify & parser::kNotifyFailure) notify.push_back("FAILURE");
    if (r.notify & parser::kNotifyDelay) notify.push_back("DELAY");
    j["recipients"].push_back(
        {{"address", r.address},
         {"notify", notify},
         {"orcpt", r.orcpt.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.orcpt)}});
  }
  j["flags"] = {{"eight_bit", e.eight_bit}, {"long_lines", e.long_lines}, {"chunked", e.chunked}};
  return j;
}

}  // namespace mxring::tools::spool
