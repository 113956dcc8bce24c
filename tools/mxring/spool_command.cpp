// The spool reader commands: list, print a message, show an envelope as JSON, verify CRCs.
#include "spool_command.h"

#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "mxring/engine/spool_reader.h"

namespace mxring::tools {
namespace {

using engine::SpoolReader;
using engine::SpoolRecord;

std::string iso_time(std::int64_t unix_us) {
  const auto seconds = static_cast<std::time_t>(unix_us / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%06lldZ", static_cast<long long>(unix_us % 1'000'000));
  return text;
}

nlohmann::json envelope_json(const SpoolRecord& record) {
  const auto envelope = engine::spool::decode_envelope(record.view);
  nlohmann::json j;
  const auto& h = record.view.header;
  j["queue_id"] = std::string(h.queue_id.view());
  j["received_at"] = iso_time(h.received_at_us);
  j["stored_at"] = iso_time(h.stored_at_us);
  j["segment"] = record.segment;
  j["offset"] = record.offset;
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

int list(const SpoolReader& reader) {
  reader.scan([](const SpoolRecord& r) {
    const auto e = engine::spool::decode_envelope(r.view);
    std::cout << r.view.header.queue_id.view() << ' ' << iso_time(r.view.header.received_at_us)
              << ' ' << r.view.header.message_length << " <" << (e ? e->mail_from : "?") << "> "
              << (e ? e->recipients.size() : 0) << '\n';
  });
  return 0;
}

// Prints the record with queue id `id` through `print`; exit status 1 when absent.
int with_record(const SpoolReader& reader, const std::string& id,
                const std::function<void(const SpoolRecord&)>& print) {
  bool found = false;
  reader.scan([&](const SpoolRecord& r) {
    if (!found && r.view.header.queue_id.view() == id) {
      found = true;
      print(r);
    }
  });
  if (!found) std::cerr << "mxring spool: no message " << id << "\n";
  return found ? 0 : 1;
}

int verify(const SpoolReader& reader) {
  std::size_t records = 0;
  const auto problems = reader.scan([&](const SpoolRecord&) { ++records; });
  int status = 0;
  for (const auto& p : problems) {
    const bool torn_tail = p.status == engine::spool::ParseStatus::truncated && p.last_segment;
    std::cerr << (torn_tail ? "note: incomplete record (a write in progress or torn by a crash; "
                              "never acknowledged) at "
                            : "CORRUPT: ")
              << p.segment << " offset " << p.offset << "\n";
    if (!torn_tail) status = 1;
  }
  std::cout << records << " records in " << reader.segments().size() << " segments"
            << (status == 0 ? ", all CRCs good" : ", CORRUPTION FOUND") << "\n";
  return status;
}

}  // namespace

void add_spool_command(CLI::App& app, int& exit_code) {
  auto* spool = app.add_subcommand("spool", "Read the spool: ls, cat ID, show ID, verify");
  static std::string directory, id;
  spool->add_option("--dir", directory, "Spool directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  spool->require_subcommand(1);
  auto* ls = spool->add_subcommand("ls", "One message a line: id, time, size, from, rcpt count");
  auto* cat = spool->add_subcommand("cat", "The exact stored message bytes");
  cat->add_option("id", id, "Queue id")->required();
  auto* show = spool->add_subcommand("show", "The envelope as JSON");
  show->add_option("id", id, "Queue id")->required();
  auto* check = spool->add_subcommand("verify", "Check every record's CRC; non-zero on corruption");
  ls->callback([&] { exit_code = list(SpoolReader(directory)); });
  cat->callback([&] {
    exit_code = with_record(SpoolReader(directory), id, [](const SpoolRecord& r) {
      std::cout.write(r.view.message.data(), static_cast<std::streamsize>(r.view.message.size()));
    });
  });
  show->callback([&] {
    exit_code = with_record(SpoolReader(directory), id, [](const SpoolRecord& r) {
      std::cout << envelope_json(r).dump(2) << "\n";
    });
  });
  check->callback([&] { exit_code = verify(SpoolReader(directory)); });
}

}  // namespace mxring::tools
